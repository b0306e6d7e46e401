"""Compensation on the facts of a case: ``Issue.facts``, conditions over them, per-unit and
share-of-fact amounts with caps, the same rules in code and in a playbook file, and the
file's problems with their key paths."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    AllOf,
    AnyOf,
    AuthorityMatrix,
    CompensationPolicy,
    CompensationRule,
    Condition,
    Conversation,
    Customer,
    IllegalTransition,
    Issue,
    Money,
    OfferKind,
    PlaybookFile,
    ServiceDesk,
    Severity,
    Signals,
    ValidationError,
    from_dict,
    to_dict,
)
from serviceplaybook._serialization import RECORD_FORMAT_VERSION
from serviceplaybook.testing import FakeClock
from serviceplaybook.testing.compensation_contract import (
    CompensationPolicyContract,
    make_conversation,
)
from strategies import FACT_NAMES, fact_values

AIRLINE = Path(__file__).resolve().parent.parent / "examples" / "playbooks" / "airline.toml"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIERS = ("regular", "silver", "gold")
CATEGORIES = ("flight_cancelled", "flight_delayed", "billing")


def usd(amount: str | int) -> Money:
    return Money(amount, "USD")


def case(
    facts: dict[str, Any] | None = None,
    *,
    tier: str = "regular",
    category: str = "flight_cancelled",
    severity: str = "high",
) -> Conversation:
    return Conversation(
        id="c1",
        stage="resolving",
        customer=Customer(id="cust", tier=tier),
        issue=Issue(category=category, severity=severity, summary="s", facts=facts or {}),
        agent=Agent(id="ana"),
        channel="chat",
        opened_at=NOW,
        updated_at=NOW,
    )


# -- Issue.facts ----------------------------------------------------------------------------------


def test_facts_hold_the_five_kinds_of_value_read_only() -> None:
    issue = Issue(
        category="x",
        severity="low",
        summary="s",
        facts={"passengers": 3, "cabin": "business", "insured": True,
               "fare": Decimal("412.50"), "flown_on": date(2024, 5, 15)},
    )  # fmt: skip
    assert issue.facts["fare"] == Decimal("412.50")
    with pytest.raises(TypeError):
        issue.facts["passengers"] = 4  # type: ignore[index]
    assert "412.50" not in repr(issue)  # facts may hold personal data
    assert hash(issue) == hash(attrs.evolve(issue))


@pytest.mark.parametrize(
    ("facts", "fragment"),
    [
        ({"fare": 12.5}, "Issue.facts['fare'] is the float 12.5"),
        ({"fare": 12.5}, "Decimal('12.5')"),
        ({"booked": datetime(2026, 1, 1, tzinfo=UTC)}, "is a datetime"),
        ({"lines": [1, 2]}, "Issue.facts['lines'] must be a str, an int, a Decimal, a bool or"),
        ({"total": None}, "got NoneType None"),
        ({"Passengers": 3}, "fact names are snake_case"),
        ({"tier": "gold"}, "'tier' is the case's own tier"),
        ({"severity": "high"}, "'severity' is the case's own severity"),
        ({"fare": Decimal("NaN")}, "finite"),
    ],
)
def test_bad_facts_are_refused_naming_the_key_and_what_is_allowed(
    facts: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Issue(category="x", severity="low", summary="s", facts=facts)
    assert fragment in str(caught.value)


def test_facts_must_be_a_mapping() -> None:
    with pytest.raises(ValidationError, match="mapping of fact names"):
        Issue(category="x", severity="low", summary="s", facts=[("a", 1)])  # type: ignore[arg-type]


@given(facts=st.dictionaries(st.sampled_from(FACT_NAMES), fact_values(), max_size=5))
def test_facts_keep_their_types_through_json(facts: dict[str, Any]) -> None:
    issue = Issue(category="x", severity="low", summary="s", facts=facts)
    rebuilt = from_dict(json.loads(json.dumps(to_dict(issue))), Issue)
    assert rebuilt == issue
    assert [type(value) for value in rebuilt.facts.values()] == [type(v) for v in facts.values()]


def test_a_conversation_of_format_1_still_loads_without_facts() -> None:
    data = to_dict(case({"passengers": 2}))
    assert data["schema_version"] == RECORD_FORMAT_VERSION
    assert data["issue"]["facts"] == {"passengers": 2}
    data["schema_version"] = 1
    del data["issue"]["facts"]
    assert from_dict(data, Conversation).issue.facts == {}


def test_stored_facts_of_a_wrong_shape_are_refused() -> None:
    data = to_dict(case({"fare": Decimal("1.50")}))
    data["issue"]["facts"]["fare"] = {"decimal": "lots"}
    with pytest.raises(ValidationError, match=r"Issue.facts\['fare'\]"):
        from_dict(data, Conversation)
    data["issue"]["facts"]["fare"] = 1.5
    with pytest.raises(ValidationError, match="float"):
        from_dict(data, Conversation)


def test_facts_are_journaled_redacted() -> None:
    desk = ServiceDesk.in_memory(clock=FakeClock(NOW))
    cid = desk.open(
        customer=Customer(id="cust"),
        issue=Issue(
            category="billing",
            severity="low",
            summary="s",
            facts={"contact": "jane.doe@example.com", "fare": Decimal("12.50")},
        ),
        agent=Agent(id="ana"),
    ).id
    desk.note_facts(cid, {"backup_contact": "+1 415 555 0100", "passengers": 2})
    journal = json.dumps([to_dict(entry) for entry in desk.history(cid)])
    assert "jane.doe@example.com" not in journal
    assert "555 0100" not in journal
    opened, noted = desk.history(cid)
    assert opened.data["issue"]["facts"]["fare"] == {"decimal": "12.50"}
    assert noted.kind == "note_facts"
    assert noted.data["facts"]["passengers"] == 2
    assert set(noted.data["facts"]) == {"backup_contact", "passengers"}
    # the conversation itself keeps what the host recorded
    assert desk.get(cid).issue.facts["contact"] == "jane.doe@example.com"


def test_note_facts_updates_the_issue_and_refuses_bad_facts_recording_nothing() -> None:
    desk = ServiceDesk.in_memory(clock=FakeClock(NOW))
    cid = desk.open(
        customer=Customer(id="cust"),
        issue=Issue(category="billing", severity="low", summary="s", facts={"passengers": 1}),
        agent=Agent(id="ana"),
    ).id
    outcome = desk.note_facts(cid, {"passengers": 3, "insured": True})
    assert dict(outcome.conversation.issue.facts) == {"passengers": 3, "insured": True}
    assert outcome.events == ("note_facts",)
    version = desk.get(cid).version
    with pytest.raises(ValidationError, match="float"):
        desk.note_facts(cid, {"fare": 1.5})
    with pytest.raises(ValidationError, match="mapping"):
        desk.note_facts(cid, "passengers=3")  # type: ignore[arg-type]
    assert desk.get(cid).version == version
    assert len(desk.history(cid)) == version
    desk.hear(cid, "hello")
    desk.terminate(cid, "test")
    with pytest.raises(IllegalTransition):
        desk.note_facts(cid, {"passengers": 4})


# -- conditions: their exact semantics ------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "facts", "holds"),
    [
        (Condition(on="cabin", equals="business"), {"cabin": " Business "}, True),
        (Condition(on="cabin", equals="business"), {"cabin": "economy"}, False),
        (Condition(on="cabin", equals="business"), {}, False),
        (Condition(on="passengers", equals=3), {"passengers": Decimal("3.0")}, True),
        (Condition(on="insured", equals=True), {"insured": True}, True),
        (Condition(on="insured", equals=True), {"insured": 1}, False),
        (Condition(on="passengers", equals=1), {"passengers": True}, False),
        (Condition(on="passengers", equals="3"), {"passengers": 3}, False),
        (Condition(on="status", one_of=["cancelled", "delayed"]), {"status": "Delayed"}, True),
        (Condition(on="status", one_of=["cancelled", "delayed"]), {"status": "landed"}, False),
        (Condition(on="days_late", at_least=2), {"days_late": 2}, True),
        (Condition(on="days_late", at_least=2), {"days_late": Decimal("1.99")}, False),
        (Condition(on="days_late", at_least=2), {"days_late": "3"}, False),
        (Condition(on="days_late", at_least=2), {"days_late": True}, False),
        (Condition(on="days_late", at_most=Decimal("2.5")), {"days_late": 2}, True),
        (Condition(on="days_late", at_least=1, at_most=3), {"days_late": 4}, False),
        (
            Condition(on="flown_on", at_least=date(2024, 5, 1)),
            {"flown_on": date(2024, 5, 15)},
            True,
        ),
        (Condition(on="flown_on", at_least=date(2024, 5, 1)), {"flown_on": 20240515}, False),
        (Condition(on="fare", present=True), {"fare": Decimal(0)}, True),
        (Condition(on="fare", present=False), {}, True),
        (Condition(on="fare", present=False), {"fare": 1}, False),
    ],
)
def test_fact_conditions(condition: Condition, facts: dict[str, Any], holds: bool) -> None:
    assert condition.holds(case(facts)) is holds


def test_tier_category_and_severity_conditions() -> None:
    gold = case(tier="Gold", category="Flight_Cancelled", severity="medium")
    assert Condition(on="tier", one_of=["silver", "gold"]).holds(gold)
    assert Condition(on="category", equals="flight_cancelled").holds(gold)
    assert Condition(on="severity", at_least="medium").holds(gold)
    assert not Condition(on="severity", at_least="high").holds(gold)
    assert Condition(on="severity", at_most="medium").holds(gold)
    assert Condition(on="severity", one_of=["low", "medium"]).holds(gold)
    assert not Condition(on="severity", equals="high").holds(gold)


def test_groups_combine_and_nest() -> None:
    eligible = AnyOf([Condition(on="tier", equals="gold"), Condition(on="insured", equals=True)])
    rule = AllOf([Condition(on="status", equals="cancelled"), eligible])
    assert rule.holds(case({"status": "cancelled", "insured": True}))
    assert not rule.holds(case({"status": "cancelled", "insured": False}))
    assert rule.holds(case({"status": "cancelled"}, tier="gold"))
    assert not rule.holds(case({"status": "delayed"}, tier="gold"))


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: Condition(on="cabin"), "makes no test"),
        (lambda: Condition(on="cabin", equals="a", one_of=["b"]), "makes 2 tests"),
        (lambda: Condition(on="fare", at_least=2.5), "float"),
        (lambda: Condition(on="fare", at_least="two"), "must be a number"),
        (lambda: Condition(on="fare", at_least=True), "must be a number"),
        (lambda: Condition(on="fare", at_least=3, at_most=1), "is above at_most"),
        (lambda: Condition(on="fare", at_least=3, at_most=date(2024, 1, 1)), "different kinds"),
        (lambda: Condition(on="tier", at_least="gold"), "takes equals or one_of"),
        (lambda: Condition(on="category", present=True), "takes equals or one_of"),
        (lambda: Condition(on="tier", equals=3), "compares names"),
        (lambda: Condition(on="severity", present=True), "not present"),
        (lambda: Condition(on="severity", at_least="hgh"), "did you mean 'high'"),
        (lambda: Condition(on="Cabin", equals="x"), "snake_case"),
        (lambda: Condition(on="cabin", one_of="business"), "list of values"),
        (lambda: Condition(on="cabin", one_of=[]), "at least one value"),
        (lambda: AllOf([]), "at least one condition"),
        (lambda: AnyOf(["cabin"]), "combine Condition"),
    ],
)
def test_bad_conditions_are_refused(build: Any, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (
            lambda: CompensationRule(kind="goodwill", description="x", per="passengers"),
            "needs the amount per unit",
        ),
        (
            lambda: CompensationRule(
                kind="refund", description="x", share_of="fare", amount=usd(1)
            ),
            "share_of",
        ),
        (
            lambda: CompensationRule(kind="credit", description="x", amount=usd(5), cap=usd(3)),
            "a fixed amount is its own cap",
        ),
        (
            lambda: CompensationRule(
                kind="credit", description="x", amount=usd(5), per="days", cap=Money(0, "USD")
            ),
            "above zero",
        ),
        (
            lambda: CompensationRule(kind="credit", description="x", amount=usd(5), per="category"),
            "case's own category",
        ),
        (
            lambda: CompensationRule(kind="credit", description="x", amount=usd(5), when="x"),
            "must be Condition or AllOf or AnyOf",
        ),
    ],
)
def test_bad_rules_are_refused(build: Any, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the fragment is checked
        build()
    assert fragment in str(caught.value)


# -- amounts --------------------------------------------------------------------------------------

cents = st.integers(1, 100_000).map(lambda n: Money(Decimal(n).scaleb(-2), "USD"))
units = st.one_of(
    st.integers(-3, 60),
    st.decimals(min_value=-2, max_value=60, places=2, allow_nan=False, allow_infinity=False),
)


@given(amount=cents, count=units, cap=st.none() | cents)
def test_a_per_unit_amount_is_the_unit_amount_times_the_fact_capped(
    amount: Money, count: int | Decimal, cap: Money | None
) -> None:
    rule = CompensationRule(
        kind=OfferKind.CREDIT, description="per day late", amount=amount, per="days", cap=cap
    )
    policy = CompensationPolicy(rules=[rule])
    offers = policy.recommend(case({"days": count}))
    product = amount * count if count > 0 else None
    if product is None or product.is_zero:
        assert offers == []
        return
    expected = product if cap is None else min(product, cap, key=lambda m: m.amount)
    assert [offer.value for offer in offers] == [expected]
    assert expected <= product
    if cap is not None:
        assert expected <= cap


@given(share=st.decimals(min_value="0.01", max_value=1, places=2), fare=units)
def test_a_share_of_a_fact(share: Decimal, fare: int | Decimal) -> None:
    rule = CompensationRule(
        kind=OfferKind.PARTIAL_REFUND, description="part of the fare", share=share, share_of="fare"
    )
    offers = CompensationPolicy(rules=[rule]).recommend(case({"fare": fare}))
    expected = Money(1, "USD") * (Decimal(fare) * share) if fare > 0 else None
    if expected is None or expected.is_zero:
        assert offers == []
    else:
        assert [offer.value for offer in offers] == [expected]


@pytest.mark.parametrize("value", [None, "3", True, Decimal(0), -1])
def test_a_per_unit_rule_over_a_missing_or_unusable_fact_gives_nothing(value: object) -> None:
    rule = CompensationRule(kind="credit", description="x", amount=usd(5), per="passengers")
    facts = {} if value is None else {"passengers": value}
    assert CompensationPolicy(rules=[rule]).recommend(case(facts)) == []


# -- conditions that do not hold never fire -------------------------------------------------------

SEVERITIES = [severity.value for severity in Severity]
fact_names = st.sampled_from(("passengers", "cabin", "insured", "days_late", "flown_on"))
values = st.one_of(
    st.sampled_from(["economy", "business", "cancelled", "Business"]),
    st.integers(-1, 6),
    st.booleans(),
    st.dates(min_value=date(2024, 5, 1), max_value=date(2024, 5, 31)),
)
bounds = st.one_of(
    st.integers(-1, 6),
    st.decimals(min_value=-1, max_value=6, places=1, allow_nan=False, allow_infinity=False),
    st.dates(min_value=date(2024, 5, 1), max_value=date(2024, 5, 31)),
)


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    """Every shape of valid condition, with the values a playbook file can write."""
    subject = draw(st.sampled_from(("fact", "fact", "fact", "tier", "category", "severity")))
    if subject in ("tier", "category"):
        names = TIERS if subject == "tier" else CATEGORIES
        if draw(st.booleans()):
            return Condition(on=subject, equals=draw(st.sampled_from(names)))
        return Condition(on=subject, one_of=draw(st.lists(st.sampled_from(names), min_size=1)))
    if subject == "severity":
        test = draw(st.sampled_from(("equals", "one_of", "at_least", "at_most")))
        if test == "one_of":
            return Condition(
                on="severity", one_of=draw(st.lists(st.sampled_from(SEVERITIES), min_size=1))
            )
        return Condition(on="severity", **{test: draw(st.sampled_from(SEVERITIES))})
    name = draw(fact_names)
    test = draw(st.sampled_from(("equals", "one_of", "at_least", "at_most", "range", "present")))
    if test == "present":
        return Condition(on=name, present=draw(st.booleans()))
    if test == "equals":
        return Condition(on=name, equals=draw(values))
    if test == "one_of":
        return Condition(on=name, one_of=draw(st.lists(values, min_size=1, max_size=3)))
    if test == "range":
        low = draw(bounds)
        if isinstance(low, date):
            high: Any = draw(st.dates(min_value=low, max_value=date(2024, 6, 30)))
        else:
            high = draw(st.integers(int(low) + 1, 9))
        return Condition(on=name, at_least=low, at_most=high)
    return Condition(on=name, **{test: draw(bounds)})


whens = st.recursive(
    conditions(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(AllOf),
        st.lists(inner, min_size=1, max_size=3).map(AnyOf),
    ),
    max_leaves=6,
)
cases = st.builds(
    case,
    st.dictionaries(fact_names, values, max_size=4),
    tier=st.sampled_from(TIERS),
    category=st.sampled_from(CATEGORIES),
    severity=st.sampled_from(SEVERITIES),
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(when=whens, conversation=cases)
def test_a_rule_whose_conditions_do_not_hold_never_fires(
    when: Condition | AllOf | AnyOf, conversation: Conversation
) -> None:
    rule = CompensationRule(
        kind=OfferKind.CREDIT, description="a credit", amount=usd(10), when=when
    )
    policy = CompensationPolicy(rules=[rule])
    fired = policy.recommend(conversation)
    if not when.holds(conversation):
        assert fired == []
        assert policy.rules_for(conversation) == []
    else:
        assert [offer.value for offer in fired] == [usd(10)]


# -- the same rules in code and in a file ---------------------------------------------------------


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return json.dumps(str(value))  # a decimal bound is written as a string
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise AssertionError(value)


def toml_when(when: Condition | AllOf | AnyOf) -> str:
    if isinstance(when, Condition):
        fields = {name: getattr(when, name) for name in ("equals", "one_of", "at_least",
                                                         "at_most", "present")}  # fmt: skip
        written = [f"on = {toml_value(when.on)}"] + [
            f"{name} = {toml_value(value)}" for name, value in fields.items() if value is not None
        ]
        return "{ " + ", ".join(written) + " }"
    name = "all" if isinstance(when, AllOf) else "any"
    return "{ " + name + " = [" + ", ".join(toml_when(item) for item in when.conditions) + "] }"


@st.composite
def rules(draw: st.DrawFn) -> CompensationRule:
    amount = Money(Decimal(draw(st.integers(1, 20_000))).scaleb(-2), "USD")
    per = draw(st.none() | st.just("passengers"))
    cap = draw(st.none() | st.integers(1, 500).map(usd)) if per else None
    return CompensationRule(
        kind=draw(st.sampled_from([OfferKind.CREDIT, OfferKind.DISCOUNT, OfferKind.REFUND])),
        description=draw(st.sampled_from(["a certificate", "a refund of the fare"])),
        categories=draw(st.lists(st.sampled_from(CATEGORIES), max_size=2)),
        tiers=draw(st.lists(st.sampled_from(TIERS), max_size=2)),
        min_severity=draw(st.sampled_from(SEVERITIES)),
        when=draw(st.none() | whens),
        amount=amount,
        per=per,
        cap=cap,
    )


def toml_rule(rule: CompensationRule) -> str:
    lines = [
        "[[compensation.rules]]",
        f"kind = {toml_value(rule.kind.value)}",
        f"description = {toml_value(rule.description)}",
        f"categories = {toml_value(sorted(rule.categories))}",
        f"tiers = {toml_value(sorted(rule.tiers))}",
        f"min_severity = {toml_value(rule.min_severity.value)}",
    ]
    if rule.amount is not None:
        lines.append(f'amount = "{rule.amount.amount}"')
    if rule.per is not None:
        lines.append(f"per = {toml_value(rule.per)}")
    if rule.cap is not None:
        lines.append(f'cap = "{rule.cap.amount}"')
    if rule.when is not None:
        lines.append(f"when = {toml_when(rule.when)}")
    return "\n".join(lines)


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(
    written=st.lists(rules(), min_size=1, max_size=4),
    on_request=st.booleans(),
    conversations=st.lists(cases, min_size=1, max_size=5),
)
def test_the_same_rules_in_code_and_in_a_file_recommend_the_same_offers(
    tmp_path_factory: pytest.TempPathFactory,
    written: list[CompensationRule],
    on_request: bool,
    conversations: list[Conversation],
) -> None:
    text = "\n".join(
        [
            "[compensation]",
            f"on_request = {toml_value(on_request)}",
            "[compensation.authority]",
            'currency = "USD"',
            *(toml_rule(rule) for rule in written),
        ]
    )
    path = Path(tmp_path_factory.mktemp("rules")) / "rules.toml"
    path.write_text(text, encoding="utf-8")
    from_file = PlaybookFile.load(path).compensation_policy()
    in_code = CompensationPolicy(
        authority=AuthorityMatrix.standard("USD"), rules=written, on_request=on_request
    )
    assert from_file.rules == in_code.rules
    for conversation in conversations:
        coded = [(o.kind, o.value, o.description) for o in in_code.recommend(conversation)]
        filed = [(o.kind, o.value, o.description) for o in from_file.recommend(conversation)]
        assert filed == coded


# -- the file's problems --------------------------------------------------------------------------

HEAD = '[[compensation.rules]]\nkind = "credit"\ndescription = "a certificate"\namount = "50.00"\n'


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        (HEAD + 'per = "Passengers"\n', "compensation.rules[0].per", "snake_case"),
        (HEAD + 'per = "tier"\n', "compensation.rules[0].per", "case's own tier"),
        (HEAD + "per = 3\n", "compensation.rules[0].per", "must be a fact's name"),
        (HEAD + 'per = "days"\ncap = 80.5\n', "compensation.rules[0].cap", "float"),
        (HEAD + 'cap = "80.00"\n', "compensation.rules[0]", "is its own cap"),
        (HEAD + 'share_of = "fare"\n', "compensation.rules[0]", "needs the share"),
        (HEAD + 'when = "gold"\n', "compensation.rules[0].when", "must be a table"),
        (
            HEAD + 'when = { on = "cabin", equal = "business" }\n',
            "compensation.rules[0].when.equal",
            "did you mean 'equals'?",
        ),
        (
            HEAD + 'when = { onn = "cabin", equals = "business" }\n',
            "compensation.rules[0].when.onn",
            "did you mean 'on'?",
        ),
        (HEAD + 'when = { equals = "business" }\n', "compensation.rules[0].when.on", "missing"),
        (HEAD + 'when = { on = "cabin" }\n', "compensation.rules[0].when", "makes one test"),
        (
            HEAD + 'when = { on = "cabin", equals = "a", one_of = ["b"] }\n',
            "compensation.rules[0].when",
            "makes 2 tests",
        ),
        (
            HEAD + 'when = { on = "fare", at_least = 12.5 }\n',
            "compensation.rules[0].when.at_least",
            'write a decimal as a string, such as "12.5"',
        ),
        (
            HEAD + 'when = { on = "fare", at_least = "lots" }\n',
            "compensation.rules[0].when",
            "must be a number (an int or a Decimal) or a date, got str 'lots'",
        ),
        (
            HEAD + 'when = { on = "severity", at_least = "hgh" }\n',
            "compensation.rules[0].when",
            "did you mean 'high'?",
        ),
        (
            HEAD + 'when = { on = "tier", at_least = "gold" }\n',
            "compensation.rules[0].when",
            "takes equals or one_of",
        ),
        (
            HEAD + 'when = { on = "flown", equals = 2024-05-15T10:00:00Z }\n',
            "compensation.rules[0].when.equals",
            "a whole day",
        ),
        (HEAD + "when = { all = [] }\n", "compensation.rules[0].when.all", "at least one"),
        (HEAD + 'when = { any = "x" }\n', "compensation.rules[0].when.any", "must be an array"),
        (
            HEAD + 'when = { all = [{ on = "a", present = true }], on = "b" }\n',
            "compensation.rules[0].when",
            "alone",
        ),
        (
            HEAD + 'when = { all = [{ on = "a", present = true }, { any = [{ on = "B" }] }] }\n',
            "compensation.rules[0].when.all[1].any[0].on",
            "snake_case",
        ),
        ("[compensation]\non_request = 1\n", "compensation.on_request", "true or false"),
    ],
)
def test_the_files_rule_problems_name_their_key(
    tmp_path: Path, text: str, key: str, fragment: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    problems = {problem.key: problem.message for problem in PlaybookFile.check(path)}
    assert key in problems, problems
    assert fragment in problems[key]


def test_every_problem_of_a_when_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        HEAD
        + 'when = { all = [{ on = "cabin", equal = "x" }, { on = "severity", at_most = "hi" }],'
        + " any = [] }\n",
        encoding="utf-8",
    )
    keys = [problem.key for problem in PlaybookFile.check(path)]
    assert keys == [
        "compensation.rules[0].when",
        "compensation.rules[0].when.all[0].equal",
        "compensation.rules[0].when.all[0]",
        "compensation.rules[0].when.all[1]",
        "compensation.rules[0].when.any",
    ]


# -- the contract suite, on a policy whose rules read facts ------------------------------------


class TestAPolicyOverFacts(CompensationPolicyContract):
    @pytest.fixture
    def compensation_policy(self) -> CompensationPolicy:
        return PlaybookFile.load(AIRLINE).compensation_policy()

    @pytest.fixture
    def sample_conversations(self) -> list[Conversation]:
        return [
            make_conversation(
                category=f"flight_{status}",
                tier=tier,
                facts={
                    "passengers": passengers,
                    "cabin": "economy",
                    "flight_status": status,
                    "changed_or_cancelled": True,
                },
            )
            for status in ("cancelled", "delayed")
            for tier in ("regular", "gold")
            for passengers in (1, 5)
        ]

    def test_the_samples_ask_and_get_certificates(
        self, compensation_policy: CompensationPolicy, sample_conversations: list[Conversation]
    ) -> None:
        # make_conversation's customer asks ("I would like to be compensated"): read it as the
        # desk's detector would, so that on_request lets the rules speak
        asked = [
            attrs.evolve(conversation, signals=(Signals(asks_for_compensation=True),))
            for conversation in sample_conversations
        ]
        found = [[o.value for o in compensation_policy.recommend(c)] for c in asked]
        assert found == [[], [], [usd(100)], [usd(500)], [], [], [usd(50)], [usd(250)]]
        assert all(compensation_policy.recommend(c) == [] for c in sample_conversations)
