"""Playbook files: every problem reported at once with its key path, the example playbooks
loaded and exercised through a desk, subclasses combined with the file's numbers."""

from __future__ import annotations

import inspect
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    ApologyPolicy,
    ApprovalRequired,
    AuthorityMatrix,
    BusinessCalendar,
    CompensationPolicy,
    CompensationRule,
    Condition,
    ConfigError,
    Conversation,
    Customer,
    EscalationLadder,
    EscalationPolicy,
    Event,
    FollowUpPolicy,
    Guidance,
    IllegalTransition,
    Issue,
    Money,
    Offer,
    OfferKind,
    Playbook,
    PlaybookFile,
    PlaybookFileError,
    Problem,
    Role,
    RoleAuthority,
    ServiceDesk,
    Severity,
    SlaPolicy,
    SlaStep,
    SlaTargets,
    Stage,
    Transition,
)
from serviceplaybook._cli import main
from serviceplaybook._playbook_file import keys
from serviceplaybook.testing import FakeClock, SequentialIds

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ROOT / "examples" / "playbooks"
AGENT = Agent(id="ana", name="Ana", role=Role.AGENT)


# -- a tiny TOML writer (no dependency): tables as headers, nested values inline -------------


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def to_toml(document: dict[str, Any]) -> str:
    lines = [f"{_key(k)} = {_value(v)}" for k, v in document.items() if not isinstance(v, dict)]
    for name, table in document.items():
        if isinstance(table, dict):
            lines.append(f"[{_key(name)}]")
            lines.extend(f"{_key(k)} = {_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "playbook.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> dict[str, str]:
    path = write(tmp_path, text)
    with pytest.raises(PlaybookFileError) as caught:
        PlaybookFile.load(path)
    assert caught.value.problems == PlaybookFile.check(path)
    return {problem.key: problem.message for problem in caught.value.problems}


# -- one test per kind of problem --------------------------------------------------------------

CASES = [
    (
        "[escalation]\nmax_declined_ofers = 2\n",
        "escalation.max_declined_ofers",
        "did you mean 'max_declined_offers'",
    ),
    ("[escalaton]\n", "escalaton", "did you mean 'escalation'"),
    (
        "[escalation]\nmax_handoffs = 2\n",
        "escalation.max_handoffs",
        "escalation.ladder.max_handoffs",
    ),
    ('[escalation]\nmax_declined_offers = "2"\n', "escalation.max_declined_offers", "whole number"),
    ("[escalation]\nsentiment_floor = 3\n", "escalation.sentiment_floor", "from -1 to 1"),
    (
        '[compensation.authority.agent]\nsingle = 50.0\nwindow_total = "150.00"\n',
        "compensation.authority.agent.single",
        'money given as a float (50.0): write amounts as strings, such as "50.00"',
    ),
    (
        '[compensation.authority.agent]\nsingle = 50\nwindow_total = "150.00"\n',
        "compensation.authority.agent.single",
        "as strings",
    ),
    (
        '[compensation.authority.agent]\nsingle = "50.005"\nwindow_total = "150.00"\n',
        "compensation.authority.agent.single",
        "more decimal places",
    ),
    (
        '[compensation.authority.agent]\nsingle = "50 EUR"\nwindow_total = "150.00"\n',
        "compensation.authority.agent.single",
        "write only the amount",
    ),
    (
        '[compensation.authority]\ncurrency = "USX"\n',
        "compensation.authority.currency",
        "unknown currency 'USX'",
    ),
    (
        '[escalation.ladder]\nroles = ["agent", "superviser"]\n',
        "escalation.ladder.roles[1]",
        "did you mean 'supervisor'",
    ),
    (
        '[escalation.ladder]\nroles = ["manager", "agent"]\n',
        "escalation.ladder.roles",
        "strictly upwards",
    ),
    (
        '[compensation]\nclaim_review_role = "boss"\n',
        "compensation.claim_review_role",
        "allowed: bot, agent, senior_agent, supervisor, manager, security",
    ),
    (
        '[follow_up]\ncall_from = "urgent"\n',
        "follow_up.call_from",
        "allowed: low, medium, high, critical",
    ),
    (
        '[follow_up.channel_windows]\nwhatsapp = "24h"\n',
        "follow_up.channel_windows.whatsapp",
        "allowed: email, phone, chat, sms, messaging",
    ),
    (
        '[[compensation.rules]]\nkind = "voucher"\ndescription = "x"\n',
        "compensation.rules[0].kind",
        "allowed: refund, partial_refund",
    ),
    ('[[compensation.rules]]\ndescription = "x"\n', "compensation.rules[0].kind", "missing"),
    (
        '[[compensation.rules]]\nkind = "refund"\ndescription = "x"\n',
        "compensation.rules[0]",
        "needs a share",
    ),
    (
        '[[compensation.rules]]\nkind = "refund"\ndescription = "x"\nshare = 0.5\n',
        "compensation.rules[0].share",
        'as a string, such as "0.20"',
    ),
    (
        '[sla.targets.urgent]\nresolution = "8h"\n',
        "sla.targets.urgent",
        "allowed: low, medium, high, critical",
    ),
    ('[sla.targets.high]\nresolution = "2d"\n', "sla.targets.high.resolution", "business time"),
    (
        "[sla.targets.high]\nresolution = 16\n",
        "sla.targets.high.resolution",
        "durations need a unit",
    ),
    ('[playbook]\nreopen_window = "two weeks"\n', "playbook.reopen_window", "is not a duration"),
    ('[playbook]\nreopen_window = "0m"\n', "playbook.reopen_window", "longer than zero"),
    ("[desk]\nmax_delivery_attempts = 0\n", "desk.max_delivery_attempts", "from 1 to 100"),
    ('[follow_up]\nopen = "9am"\n', "follow_up.open", '"HH:MM"'),
    ("[follow_up]\nopen = 09:00:00\n", "follow_up.open", 'as strings, "09:00"'),
    ('[follow_up]\nopen = "18:00"\nclose = "09:00"\n', "follow_up.close", "not after it opens"),
    (
        '[calendar]\ntimezone = "Europe/Berln"\n',
        "calendar.timezone",
        "did you mean 'Europe/Berlin'",
    ),
    (
        '[calendar.hours]\nmonday = ["09:00-12:00", "11:00-17:00"]\n',
        "calendar.hours.monday",
        "overlap",
    ),
    ('[calendar.hours]\nfunday = ["09:00-12:00"]\n', "calendar.hours.funday", "not a weekday"),
    ('[calendar]\nholidays = ["xmas"]\n', "calendar.holidays[0]", "must be a date"),
    ('[calendar]\nopen = "09:00"\naround_the_clock = true\n', "calendar", "one way only"),
    (
        '[apology.templates]\ndelivery = "Sorry for {whatever}."\n',
        "apology.templates.delivery",
        "unknown placeholder {whatever}",
    ),
    (
        '[apology.families]\nbaggage = ["bag("]\n',
        "apology.families.baggage",
        "not a valid regular expression",
    ),
    (
        '[escalation.minimum_roles]\nRepeat-Contact = "supervisor"\n',
        "escalation.minimum_roles.Repeat-Contact",
        "snake_case",
    ),
    ("[sla]\nwarning_at = 1\n", "sla.warning_at", "strictly between 0 and 1"),
    (
        '[[sla.steps]]\nafter = "12h"\nto = "security"\n',
        "sla.steps[0].to",
        "a person on the escalation ladder",
    ),
    ("escalation = 3\n", "escalation", "must be a table"),
]


@pytest.mark.parametrize(("text", "key", "fragment"), CASES, ids=[case[1] for case in CASES])
def test_each_kind_of_problem_names_its_key(
    tmp_path: Path, text: str, key: str, fragment: str
) -> None:
    found = problems_of(tmp_path, text)
    assert key in found, found
    assert fragment in found[key]


def test_an_authority_matrix_where_a_higher_role_may_grant_less(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        """
[compensation.authority.agent]
single = "50.00"
window_total = "150.00"
kinds = ["refund", "credit"]

[compensation.authority.supervisor]
single = "40.00"
window_total = "400.00"
kinds = ["credit"]
""",
    )
    assert set(found) == {
        "compensation.authority.supervisor.single",
        "compensation.authority.supervisor.kinds",
    }
    assert (
        "supervisor may grant less than agent (40.00 USD < 50.00 USD)"
        in found["compensation.authority.supervisor.single"]
    )
    assert "refund" in found["compensation.authority.supervisor.kinds"]


def test_a_single_limit_above_the_window_total(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path, '[compensation.authority.agent]\nsingle = "500.00"\nwindow_total = "100.00"\n'
    )
    assert "above window_total" in found["compensation.authority.agent.single"]


def test_sla_steps_that_do_not_increase_or_step_down(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        """
[[sla.steps]]
after = "12h"
to = "supervisor"
[[sla.steps]]
after = "24h"
to = "manager"
[[sla.steps]]
after = "20h"
to = "agent"
""",
    )
    assert set(found) == {"sla.steps[2].after", "sla.steps[2].to"}
    assert "20h is not after the step before it (24h)" in found["sla.steps[2].after"]


def test_every_problem_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[escalation.ladder]
max_handofs = 2

[compensation.authority]
currency = "EUR"

[compensation.authority.agent]
single = 50.0
window_total = "150.00"

[follow_up]
call_from = "severe"

[sla]
[[sla.steps]]
after = "24h"
to = "supervisor"
[[sla.steps]]
after = "12h"
to = "manager"

[playbook]
reopen_window = 14
""",
        "shop.toml",
    )
    with pytest.raises(PlaybookFileError) as caught:
        PlaybookFile.load(path)
    error = caught.value
    keys = [problem.key for problem in error.problems]
    assert keys == [
        "escalation.ladder.max_handofs",
        "compensation.authority.agent.single",
        "follow_up.call_from",
        "sla.steps[1].after",
        "playbook.reopen_window",
    ]
    lines = str(error).splitlines()
    assert len(lines) == 5
    for line, problem in zip(lines, error.problems, strict=True):
        assert line == f"{path}: {problem.key}: {problem.message}"
    assert isinstance(error, ConfigError)


def test_toml_syntax_errors_name_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "[escalation]\nmax_declined_offers = \n")
    (problem,) = PlaybookFile.check(path)
    assert problem.key == ""
    assert problem.message.startswith("line 2, column 23: TOML syntax error")
    assert str(problem) == f"{path}: {problem.message}"


def test_a_missing_file_and_one_that_is_not_utf8(tmp_path: Path) -> None:
    (missing,) = PlaybookFile.check(tmp_path / "nope.toml")
    assert missing.message == "no such file"
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    (problem,) = PlaybookFile.check(latin)
    assert "is not UTF-8" in problem.message
    assert "line 1" in problem.message


def test_problems_are_frozen_records() -> None:
    problem = Problem(file="a.toml", key="sla.warning_at", message="bad")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        problem.key = "x"  # type: ignore[misc]
    assert str(problem) == "a.toml: sla.warning_at: bad"


def test_an_empty_file_keeps_every_default(tmp_path: Path) -> None:
    loaded = PlaybookFile.load(write(tmp_path, "# nothing to change\n"))
    assert loaded.escalation_policy() == EscalationPolicy()
    assert loaded.apology_policy() == ApologyPolicy()
    assert loaded.compensation_policy() == CompensationPolicy()
    assert loaded.follow_up_policy() == FollowUpPolicy()
    assert loaded.sla_policy() == SlaPolicy()
    assert loaded.calendar() is None
    assert loaded.playbook().reopen_window == Playbook().reopen_window
    assert loaded.desk_options() == {}


def test_partial_tables_merge_with_the_defaults(tmp_path: Path) -> None:
    loaded = PlaybookFile.load(
        write(
            tmp_path,
            """
[escalation.minimum_roles]
repeat_contact = "supervisor"
[follow_up.delays]
high = "4h"
[sla.targets.high]
first_response = "15m"
next_response = "none"
[apology.families]
baggage = ["bag\\\\w*", "luggage"]
""",
        )
    )
    escalation = loaded.escalation_policy()
    assert escalation.minimum_roles["repeat_contact"] is Role.SUPERVISOR
    assert escalation.minimum_roles["self_harm"] is Role.SECURITY  # a default kept
    delays = loaded.follow_up_policy().delays
    assert delays[Severity.HIGH] == timedelta(hours=4)
    assert delays[Severity.LOW] == FollowUpPolicy().delays[Severity.LOW]
    high = loaded.sla_policy().targets[Severity.HIGH]
    assert high.first_response == timedelta(minutes=15)
    assert high.next_response is None
    assert high.resolution == SlaPolicy().targets[Severity.HIGH].resolution
    families = list(loaded.apology_policy().families)
    assert families[0] == "baggage"
    assert "delivery" in families


# -- subclasses combine with the file ---------------------------------------------------------


@attrs.define(kw_only=True)
class StricterEscalation(EscalationPolicy):
    def asked_for_manager(self, conversation: Any, signals: Any) -> None:
        return None  # a company that first tries to help before bringing a manager in


def test_a_subclassed_policy_gets_the_files_numbers() -> None:
    loaded = PlaybookFile.load(PLAYBOOKS / "airline.toml")
    policy = loaded.escalation_policy(cls=StricterEscalation)
    assert type(policy) is StricterEscalation
    assert policy.ladder.max_handoffs == 1
    assert policy.high_value_tiers == frozenset({"gold"})
    assert policy.high_value_orders == (Money("1500.00", "USD"),)
    overridden = loaded.escalation_policy(cls=StricterEscalation, max_declined_offers=5)
    assert overridden.max_declined_offers == 5


def test_the_desk_builder_takes_classes_and_overrides() -> None:
    desk = ServiceDesk.from_config(
        PLAYBOOKS / "airline.toml",
        escalation_cls=StricterEscalation,
        clock=FakeClock(),
    )
    assert type(desk.escalation) is StricterEscalation
    assert desk.escalation.ladder.max_handoffs == 1
    assert desk.compensation.authority.currency == "USD"
    assert desk.playbook.reopen_window == timedelta(days=60)


@attrs.define(kw_only=True)
class PickyCompensation(CompensationPolicy):
    def __attrs_post_init__(self) -> None:
        if self.max_claims < 3:
            raise ConfigError("PickyCompensation needs max_claims of 3 or more")


class Counting(EscalationPolicy):
    built = 0

    def __attrs_post_init__(self) -> None:
        type(self).built += 1


def test_a_class_that_refuses_the_files_values_builds_no_desk() -> None:
    Counting.built = 0
    with pytest.raises(PlaybookFileError) as caught:
        ServiceDesk.from_config(
            PLAYBOOKS / "saas.toml", compensation_cls=PickyCompensation, escalation_cls=Counting
        )
    (problem,) = caught.value.problems
    assert problem.key == "compensation"
    assert "max_claims of 3" in problem.message


def test_a_bad_file_creates_no_database(tmp_path: Path) -> None:
    path = write(tmp_path, "[desk]\nlease = 5\n")
    db = tmp_path / "desk.db"
    with pytest.raises(PlaybookFileError):
        ServiceDesk.from_config(path, db=db)
    assert not db.exists()


# -- the example playbooks, loaded and exercised ----------------------------------------------


@pytest.mark.parametrize("name", ["online_shop", "airline", "saas"])
def test_the_example_playbooks_are_valid(name: str) -> None:
    path = PLAYBOOKS / f"{name}.toml"
    assert PlaybookFile.check(path) == ()
    loaded = PlaybookFile.load(path)
    assert loaded.name
    assert loaded.settings["compensation"]["authority"].roles


def open_case(
    desk: Any,
    *,
    category: str,
    severity: str,
    value: Money,
    tier: str = "standard",
    timezone: str = "UTC",
) -> str:
    conversation = desk.open(
        customer=Customer(id="cust-1", name="Sam", tier=tier, timezone=timezone),
        issue=Issue(category=category, severity=severity, summary="the problem", order_value=value),
        agent=AGENT,
    )
    desk.hear(conversation.id, "This is not what I paid for.")
    desk.summarize(conversation.id, "So the item you received is not usable, is that right?")
    desk.confirm(conversation.id)
    return str(conversation.id)


def test_online_shop_agents_have_the_files_authority() -> None:
    clock = FakeClock()
    desk = ServiceDesk.from_config(
        PLAYBOOKS / "online_shop.toml", clock=clock, ids=SequentialIds("c")
    )
    cid = open_case(desk, category="damaged_item", severity="medium", value=Money("120.00", "USD"))
    refund = Offer(kind=OfferKind.PARTIAL_REFUND, value=Money("45.00", "USD"))
    with pytest.raises(ApprovalRequired) as caught:  # the library's default agent may give 50
        desk.propose(cid, refund)
    assert caught.value.approver_role is Role.SUPERVISOR  # no senior agents in this shop
    recommended = {offer.kind: offer.value for offer in desk.recommend(cid)}
    assert recommended[OfferKind.PARTIAL_REFUND] == Money("18.00", "USD")  # 15% of 120.00
    assert OfferKind.REPLACEMENT in recommended


def test_airline_agents_may_grant_the_cancellation_compensation() -> None:
    clock = FakeClock(datetime(2026, 1, 6, 19, 0, tzinfo=UTC))  # Tuesday evening
    desk = ServiceDesk.from_config(PLAYBOOKS / "airline.toml", clock=clock, ids=SequentialIds("c"))
    conversation = desk.open(
        customer=Customer(id="cust-1", name="Sam", tier="gold"),
        issue=Issue(
            category="flight_cancelled",
            severity="medium",
            summary="the flight was cancelled",
            facts={"passengers": 2, "cabin": "economy", "flight_status": "cancelled"},
        ),
        agent=AGENT,
    )
    cid = conversation.id
    desk.hear(cid, "My flight was cancelled and we missed the wedding.")
    desk.summarize(cid, "So your flight was cancelled and you missed a wedding, is that right?")
    confirmed = desk.confirm(cid)
    assert "compensate_on_request" in [step.code for step in confirmed.guidance]
    assert desk.recommend(cid) == []  # on request only: the customer has not asked yet
    asked = desk.hear(cid, "What will you do to make up for it?")
    assert asked.signals is not None
    assert asked.signals.asks_for_compensation
    assert "compensation_requested" in [step.code for step in asked.guidance]
    [credit] = desk.recommend(cid)
    assert credit.value == Money("200.00", "USD")  # 100 per passenger
    outcome = desk.propose(cid, credit)
    assert outcome.authorization is not None
    assert outcome.authorization.granted
    clock.advance(minutes=5)
    resolved = desk.accept(cid, credit.id)
    assert resolved.conversation.stage == Stage.FOLLOWING_UP
    (follow_up,) = desk.storage.follow_ups.for_customer("cust-1")
    # gold: 12 hours after the resolution, Wednesday 07:05, moved to the file's opening time
    # of 08:00 in the customer's time zone (the library's defaults, a day and 09:00-17:00,
    # would give Thursday 09:00)
    assert follow_up.due_at == datetime(2026, 1, 7, 8, 0, tzinfo=UTC)


def test_saas_sla_steps_fire_at_the_files_business_hours() -> None:
    # Monday 2026-01-05 08:00 in Chicago (14:00 UTC): the team opens.
    clock = FakeClock(datetime(2026, 1, 5, 14, 0, tzinfo=UTC))
    desk = ServiceDesk.from_config(PLAYBOOKS / "saas.toml", clock=clock, ids=SequentialIds("c"))
    conversation = desk.open(
        customer=Customer(id="acme", name="Acme Corp", tier="enterprise"),
        issue=Issue(category="outage", severity="high", summary="the dashboard is down"),
        agent=AGENT,
    )
    cid = conversation.id
    desk.hear(cid, "Our dashboard has been down all morning.")
    early = desk.check_sla(cid, now=datetime(2026, 1, 5, 15, 59, tzinfo=UTC))
    assert early.conversation.sla_steps == ()
    assert early.sla is not None
    assert early.sla.targets.first_response == timedelta(minutes=30)
    due = desk.check_sla(cid, now=datetime(2026, 1, 5, 16, 0, tzinfo=UTC))  # 2 business hours
    assert [step.to for step in due.conversation.sla_steps] == [Role.SENIOR_AGENT]
    assert due.escalation is not None
    assert due.escalation.to is Role.SENIOR_AGENT


def test_saas_calendar_closes_on_public_and_company_holidays() -> None:
    calendar = PlaybookFile.load(PLAYBOOKS / "saas.toml").calendar()
    assert calendar is not None
    assert date(2026, 12, 25) in calendar.holidays  # Christmas, from the holidays package
    assert date(2026, 12, 24) in calendar.holidays  # a company day off
    assert not calendar.is_open(
        datetime(2026, 7, 3, 15, 0, tzinfo=UTC)
    )  # Independence Day observed


# -- every setting of a configured class has a key, or a reason not to ----------------------

CONFIGURED = {
    Playbook, Transition, BusinessCalendar, EscalationPolicy, EscalationLadder, ApologyPolicy,
    CompensationPolicy, AuthorityMatrix, RoleAuthority, CompensationRule, Condition,
    FollowUpPolicy, SlaPolicy, SlaTargets, SlaStep,
}  # fmt: skip


def settings_in_code(cls: type) -> list[str]:
    """What code may set on ``cls``: every attrs field a constructor takes (a field with
    ``init=False`` is internal state, never an argument), or for Playbook its keyword
    arguments and the class attributes a subclass sets."""
    if attrs.has(cls):
        return [field.alias for field in attrs.fields(cls) if field.init]
    return [*inspect.signature(cls).parameters, *Playbook.__annotations__]


def test_every_class_the_file_configures_has_a_table() -> None:
    assert {table.configures for table in keys.TABLES.values()} == CONFIGURED


@pytest.mark.parametrize("where", list(keys.TABLES))
def test_every_setting_is_a_key_of_its_table_or_excluded_with_a_reason(where: str) -> None:
    """A setting added to a class later fails here until the file reads it (and the probe
    test below sees it read) or the table excludes it, saying why."""
    table = keys.TABLES[where]
    for name in settings_in_code(table.configures):
        if name in table.excluded:
            assert table.excluded[name].strip(), f"{where}: say why {name} is excluded"
            assert table.renamed.get(name, name) not in table.allowed
        else:
            assert table.renamed.get(name, name) in table.allowed, (
                f"{table.configures.__name__}.{name} is neither a key of {where} nor excluded"
            )


# A value no format accepts: each key it is given to must be reported, so each key is read.
PROBE = "1979-05-27T07:32:00Z"
PROBED_AT = {
    "playbook.transitions[]": ("[[playbook.transitions]]", "playbook.transitions[0]"),
    "compensation.authority.<role>": (
        "[compensation.authority.agent]",
        "compensation.authority.agent",
    ),
    "compensation.rules[]": ("[[compensation.rules]]", "compensation.rules[0]"),
    "compensation.rules[].when": (
        "[[compensation.rules]]\n[compensation.rules.when]",
        "compensation.rules[0].when",
    ),
    "sla.targets.<severity>": ("[sla.targets.high]", "sla.targets.high"),
    "sla.steps[]": ("[[sla.steps]]", "sla.steps[0]"),
}


@pytest.mark.parametrize("where", list(keys.TABLES))
def test_the_reader_reads_every_key_of_its_table(tmp_path: Path, where: str) -> None:
    header, path = PROBED_AT.get(where, (f"[{where}]", where))
    for name in keys.TABLES[where].allowed:
        key = f"{path}.{name}"
        found = problems_of(tmp_path, f"{header}\n{name} = {PROBE}\n")
        assert [k for k in found if k == key or k.startswith((f"{key}.", f"{key}["))], (
            f"{key} is allowed but not read: {found}"
        )


def test_the_exclusions_say_why() -> None:
    assert dict(keys.APOLOGY.excluded).keys() == {"redactor"}
    assert dict(keys.SLA.excluded).keys() == {"calendar"}
    assert dict(keys.AUTHORITY.excluded).keys() == {"roles"}
    assert dict(keys.PLAYBOOK.excluded).keys() == {"initial"}
    with pytest.raises(ValueError, match="has no setting"):
        keys.Keys(configures=SlaPolicy, excluded={"calender": "a typo"})


def test_a_setting_the_file_takes_another_way_says_so(tmp_path: Path) -> None:
    text = '[apology]\nredactor = "strict"\n[[playbook.transitions]]\nsource = "resolving"\n'
    found = problems_of(tmp_path, text)
    assert found["apology.redactor"] == (
        "not a key of the file: a Redactor is code (pass one to ApologyPolicy), not data"
    )
    assert found["playbook.transitions[0].source"] == "not a key of the file: write it as 'from'"


# -- terminating codes, excuse and blame patterns ----------------------------------------------

PATTERNS = r"""
[escalation]
terminating_codes = ["threat", "continued_abuse", "fraud_attempt"]

[apology]
excuse_patterns = ['\bour warehouse is (?:swamped|backed up)\b']
blame_patterns = ['\byou should have read\b', '\bnot our (?:fault|problem)\b']
"""


def test_terminating_codes_and_the_apology_patterns_come_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, PATTERNS)
    loaded = PlaybookFile.load(path)
    escalation = loaded.escalation_policy()
    assert escalation.terminating_codes == {"threat", "continued_abuse", "fraud_attempt"}
    apology = loaded.apology_policy()
    assert apology.excuse_patterns == (r"\bour warehouse is (?:swamped|backed up)\b",)
    assert apology.blame_patterns == (r"\byou should have read\b", r"\bnot our (?:fault|problem)\b")
    desk = ServiceDesk.from_config(path)
    assert desk.escalation.terminating_codes == escalation.terminating_codes
    assert desk.apology.excuse_patterns == apology.excuse_patterns
    # without them, the class's own
    empty = PlaybookFile.load(write(tmp_path, "", "empty.toml"))
    assert empty.escalation_policy().terminating_codes == EscalationPolicy().terminating_codes
    assert empty.apology_policy().excuse_patterns == ApologyPolicy().excuse_patterns


PATTERN_CASES = [
    ('[escalation]\nterminating_codes = ["threat", "Fraud attempt"]\n',
     "escalation.terminating_codes[1]",
     "'Fraud attempt' is not a reason code; codes are snake_case, such as 'repeat_contact'"),
    ("[escalation]\nterminating_codes = [3]\n", "escalation.terminating_codes[0]",
     "must be a reason code as a string, such as 'threat'; got the number 3"),
    ('[escalation]\nterminating_codes = "threat"\n', "escalation.terminating_codes",
     "must be an array, got the string 'threat'"),
    ('[apology]\nexcuse_patterns = ["policy", "(unclosed"]\n', "apology.excuse_patterns[1]",
     "'(unclosed' is not a valid regular expression (missing ), unterminated subpattern at "
     "position 0)"),
    ('[apology]\nblame_patterns = [""]\n', "apology.blame_patterns[0]", "must not be empty"),
    ('[apology]\nexcuse_pattern = []\n', "apology.excuse_pattern",
     "unknown key; did you mean 'excuse_patterns'?"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "message"), PATTERN_CASES)
def test_bad_terminating_codes_and_patterns(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    assert problems_of(tmp_path, text) == {key: message}


# -- the reference page's TOML is valid --------------------------------------------------------

FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_reference_pages_toml_blocks_load(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "playbook-file.md").read_text()
    blocks = [body for lang, body in FENCE.findall(page) if lang == "toml"]
    assert blocks
    for number, body in enumerate(blocks):
        path = write(tmp_path, body, f"block{number}.toml")
        assert PlaybookFile.check(path) == (), number


# -- properties -----------------------------------------------------------------------------

durations_hours = st.integers(min_value=1, max_value=200)


@st.composite
def valid_settings(draw: st.DrawFn) -> dict[str, Any]:
    currency = draw(st.sampled_from(["USD", "EUR", "JPY", "GBP"]))
    agent_single = draw(st.integers(0, 100))
    agent_total = agent_single + draw(st.integers(0, 100))
    boss_single = agent_single + draw(st.integers(0, 500))
    boss_total = max(boss_single, agent_total) + draw(st.integers(0, 500))
    steps = sorted(draw(st.sets(durations_hours, min_size=1, max_size=3)))
    roles = sorted(
        draw(
            st.lists(
                st.sampled_from([Role.SUPERVISOR, Role.MANAGER]),
                min_size=len(steps),
                max_size=len(steps),
            )
        )
    )
    return {
        "currency": currency,
        "amounts": (agent_single, agent_total, boss_single, boss_total),
        "max_handoffs": draw(st.integers(0, 5)),
        "max_declined_offers": draw(st.integers(0, 5)),
        "sentiment_floor": draw(st.sampled_from([-0.5, -0.25, 0, 0.5])),
        "tiers": sorted(draw(st.sets(st.sampled_from(["gold", "platinum", "vip"]), max_size=2))),
        "max_per_conversation": draw(st.integers(0, 4)),
        "delay_hours": {s: draw(st.integers(0, 96)) for s in Severity},
        "cooldown_days": draw(st.integers(0, 60)),
        "call_from": draw(st.sampled_from(list(Severity))),
        "steps": list(zip(steps, roles, strict=True)),
        "warning_at": draw(st.sampled_from([0.5, 0.75, 0.9])),
        "resolution_hours": draw(durations_hours),
        "reopen_days": draw(st.integers(1, 90)),
        "attempts": draw(st.integers(1, 10)),
        "hold_from": draw(
            st.one_of(st.none(), st.lists(st.sampled_from(HOLD_FROM), min_size=1, unique=True))
        ),
    }


HOLD_FROM = [Stage.LISTENING, Stage.CLARIFYING, Stage.RESOLVING, Stage.ESCALATED]
HOLD_TEXT = "Say why the conversation is on hold and when you will be back with news."


def playbook_section(s: dict[str, Any]) -> dict[str, Any]:
    """``[playbook]``, with an ``on_hold`` stage when the settings ask for one."""
    section: dict[str, Any] = {"reopen_window": f"{s['reopen_days']}d"}
    sources = s.get("hold_from")
    if sources:
        section["stages"] = ["on_hold"]
        section["transitions"] = [
            {"event": "hold", "from": [str(stage) for stage in sources], "to": "on_hold"},
            {
                "event": "resume",
                "from": "on_hold",
                "to": "resolving",
                "conditions": "is_understood",
            },
            {"event": "resume", "from": "on_hold", "to": "clarifying"},
            {"event": "hear", "from": "on_hold", "to": "="},
        ]
        section["guidance"] = {"on_hold": {"say_when_back": HOLD_TEXT}}
    return section


def document(s: dict[str, Any]) -> dict[str, Any]:
    a_single, a_total, b_single, b_total = s["amounts"]
    return {
        "name": "generated",
        "playbook": playbook_section(s),
        "desk": {"max_delivery_attempts": s["attempts"], "lease": "90m"},
        "escalation": {
            "max_declined_offers": s["max_declined_offers"],
            "sentiment_floor": s["sentiment_floor"],
            "high_value_tiers": s["tiers"],
            "ladder": {
                "roles": ["agent", "supervisor", "manager"],
                "max_handoffs": s["max_handoffs"],
            },
        },
        "apology": {"max_per_conversation": s["max_per_conversation"]},
        "compensation": {
            "max_claims": 2,
            "authority": {
                "currency": s["currency"],
                "window": "60d",
                "agent": {"single": str(a_single), "window_total": str(a_total)},
                "manager": {"single": str(b_single), "window_total": str(b_total)},
            },
        },
        "follow_up": {
            "delays": {sev.value: f"{hours}h" for sev, hours in s["delay_hours"].items()},
            "cooldown": f"{s['cooldown_days']}d",
            "call_from": s["call_from"].value,
        },
        "sla": {
            "warning_at": s["warning_at"],
            "targets": {"high": {"resolution": f"{s['resolution_hours']}h"}},
            "steps": [{"after": f"{hours}h", "to": role.value} for hours, role in s["steps"]],
        },
    }


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(s=valid_settings())
def test_generated_files_load_into_the_policies_built_directly(
    tmp_path: Path, s: dict[str, Any]
) -> None:
    loaded = PlaybookFile.load(write(tmp_path, to_toml(document(s))))
    a_single, a_total, b_single, b_total = s["amounts"]

    def money(amount: int) -> Money:
        return Money(amount, s["currency"])

    assert loaded.escalation_policy() == EscalationPolicy(
        ladder=EscalationLadder(
            roles=(Role.AGENT, Role.SUPERVISOR, Role.MANAGER), max_handoffs=s["max_handoffs"]
        ),
        max_declined_offers=s["max_declined_offers"],
        sentiment_floor=s["sentiment_floor"],
        high_value_tiers=frozenset(s["tiers"]),
    )
    assert loaded.apology_policy() == ApologyPolicy(max_per_conversation=s["max_per_conversation"])
    assert loaded.compensation_policy() == CompensationPolicy(
        authority=AuthorityMatrix(
            currency=s["currency"],
            window=timedelta(days=60),
            roles={
                Role.AGENT: RoleAuthority(single=money(a_single), window_total=money(a_total)),
                Role.MANAGER: RoleAuthority(single=money(b_single), window_total=money(b_total)),
            },
        ),
        max_claims=2,
    )
    assert loaded.follow_up_policy() == FollowUpPolicy(
        delays={sev: timedelta(hours=hours) for sev, hours in s["delay_hours"].items()},
        cooldown=timedelta(days=s["cooldown_days"]),
        call_from=s["call_from"],
    )
    targets = dict(SlaPolicy().targets)
    targets[Severity.HIGH] = attrs.evolve(
        targets[Severity.HIGH], resolution=timedelta(hours=s["resolution_hours"])
    )
    assert loaded.sla_policy() == SlaPolicy(
        warning_at=s["warning_at"],
        targets=targets,
        steps=tuple(SlaStep(after=timedelta(hours=h), to=role) for h, role in s["steps"]),
    )
    playbook = loaded.playbook()
    assert playbook.reopen_window == timedelta(days=s["reopen_days"])
    if s["hold_from"] is None:
        assert type(playbook) is Playbook
    else:
        assert playbook.stages == (*Playbook.stages, "on_hold")
        for stage in Stage:
            expected = {"hold", *Playbook().allowed_events(stage)}
            if stage not in s["hold_from"]:
                expected.discard("hold")
            assert set(playbook.allowed_events(stage)) == expected
        assert playbook.allowed_events("on_hold") == ("hear", "resume")
        assert playbook.stage_guidance_texts["on_hold"] == (
            Guidance(code="say_when_back", text=HOLD_TEXT),
        )
    assert loaded.desk_options() == {
        "max_delivery_attempts": s["attempts"],
        "lease": timedelta(minutes=90),
    }


def leaves(value: Any, path: str = "") -> list[tuple[str, tuple[Any, ...]]]:
    """Every leaf as (key path, location in the document)."""
    found: list[tuple[str, tuple[Any, ...]]] = []

    def walk(node: Any, key: str, where: tuple[Any, ...]) -> None:
        if isinstance(node, dict) and node:
            for name, item in node.items():
                walk(item, f"{key}.{name}" if key else name, (*where, name))
        elif isinstance(node, list) and node and all(isinstance(i, dict) for i in node):
            for index, item in enumerate(node):
                walk(item, f"{key}[{index}]", (*where, index))
        else:
            found.append((key, where))

    walk(value, path, ())
    return found


SAMPLE = document(
    {
        "currency": "USD",
        "amounts": (40, 100, 1000, 3000),
        "max_handoffs": 2,
        "max_declined_offers": 2,
        "sentiment_floor": -0.25,
        "tiers": ["gold"],
        "max_per_conversation": 2,
        "delay_hours": dict.fromkeys(Severity, 24),
        "cooldown_days": 30,
        "call_from": Severity.HIGH,
        "steps": [(12, Role.SUPERVISOR), (24, Role.MANAGER)],
        "warning_at": 0.75,
        "resolution_hours": 16,
        "reopen_days": 14,
        "attempts": 5,
    }
)
LEAVES = leaves(SAMPLE)


def _container(doc: Any, where: tuple[Any, ...]) -> Any:
    node = doc
    for step in where[:-1]:
        node = node[step]
    return node


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(leaf=st.sampled_from(LEAVES), rename=st.booleans())
def test_one_broken_key_is_named_and_nothing_is_built(
    tmp_path: Path, leaf: tuple[str, tuple[Any, ...]], rename: bool
) -> None:
    key, where = leaf
    doc = json.loads(json.dumps(SAMPLE))
    parent, name = _container(doc, where), where[-1]
    if rename:
        parent[f"{name}x"] = parent.pop(name)
        expected = f"{key}x"
    else:
        parent[name] = {"oops": 1} if not isinstance(parent[name], dict) else True
        expected = key
    path = write(tmp_path, to_toml(doc))
    Counting.built = 0
    with pytest.raises(PlaybookFileError) as caught:
        ServiceDesk.from_config(path, escalation_cls=Counting)
    assert expected in [problem.key for problem in caught.value.problems], caught.value
    assert Counting.built == 0


def test_the_sample_document_is_valid(tmp_path: Path) -> None:
    assert PlaybookFile.check(write(tmp_path, to_toml(SAMPLE))) == ()
    assert len(LEAVES) > 20


def test_the_file_record_is_frozen(tmp_path: Path) -> None:
    loaded = PlaybookFile.load(write(tmp_path, to_toml(SAMPLE)))
    assert isinstance(loaded, PlaybookFile)
    with pytest.raises(TypeError):
        loaded.settings["sla"]["warning_at"] = 0.1  # type: ignore[index]
    assert loaded.settings["compensation"]["authority"].roles[Role.AGENT].single == Money(
        "40", "USD"
    )
    assert loaded.calendar(BusinessCalendar, timezone="UTC", hours={0: ["09:00-17:00"]}) is not None


# -- ServiceDesk.from_config ------------------------------------------------------------------


class FirmerEscalation(EscalationPolicy):
    """A subclass from code: one rule changed, the file's numbers kept."""

    def asked_for_manager(self, *args: Any, **kwargs: Any) -> Any:
        return None


def test_from_config_combines_a_subclass_with_the_file_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    desk = ServiceDesk.from_config(
        PLAYBOOKS / "airline.toml", db=db, escalation_cls=FirmerEscalation, clock=FakeClock()
    )
    expected = PlaybookFile.load(PLAYBOOKS / "airline.toml").escalation_policy()
    assert type(desk.escalation) is FirmerEscalation
    assert desk.escalation.ladder == expected.ladder
    assert desk.escalation.max_declined_offers == expected.max_declined_offers
    assert desk.compensation.authority.currency == "USD"
    assert db.exists()
    desk.storage.close()  # type: ignore[attr-defined]


def test_from_config_with_a_bad_file_builds_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[escalation]\nmax_declined_offer = 2\n\n[sla]\nwarning_at = "soon"\n')
    db = tmp_path / "desk.db"
    with pytest.raises(PlaybookFileError) as raised:
        ServiceDesk.from_config(bad, db=db)
    assert [p.key for p in raised.value.problems] == [
        "escalation.max_declined_offer",
        "sla.warning_at",
    ]
    assert "did you mean 'max_declined_offers'?" in str(raised.value)
    assert not db.exists()  # no empty database file left behind


# -- [playbook]: stages, transitions and guidance ---------------------------------------------

ENGINEERING = "waiting_on_engineering"
ENGINEERING_GUIDANCE = [
    "say_engineering_has_it",
    "give_next_update_time",
    "never_leave_without_news",
]


def bug_case(desk: Any) -> str:
    conversation = desk.open(
        customer=Customer(id="acme", name="Acme Corp", tier="enterprise"),
        issue=Issue(category="bug", severity="high", summary="CSV exports fail"),
        agent=AGENT,
    )
    cid = str(conversation.id)
    desk.hear(cid, "Our CSV exports have failed since yesterday's release.")
    desk.summarize(cid, "Every CSV export fails since the release yesterday, is that right?")
    desk.confirm(cid)
    return cid


def test_a_saas_desk_hands_a_bug_to_engineering_and_back() -> None:
    clock = FakeClock(datetime(2026, 1, 5, 14, 0, tzinfo=UTC))
    desk = ServiceDesk.from_config(PLAYBOOKS / "saas.toml", clock=clock, ids=SequentialIds("c"))
    assert isinstance(desk.playbook, Playbook)
    assert type(desk.playbook).__name__ == "PlaybookFromFile"
    assert desk.playbook.reopen_window == timedelta(days=30)
    cid = bug_case(desk)

    waiting = desk.fire(cid, "hand_to_engineering")
    assert waiting.conversation.stage == ENGINEERING
    assert [step.code for step in waiting.guidance] == ENGINEERING_GUIDANCE
    clock.advance(minutes=20)
    heard = desk.hear(cid, "Any news on the exports?")
    assert heard.conversation.stage == ENGINEERING  # "=": the customer's message keeps it there
    with pytest.raises(IllegalTransition) as refused:
        desk.resolve(cid)
    assert refused.value.allowed == (
        "engineering_fixed",
        "escalate",
        "hear",
        "sla_step",
        "terminate",
    )

    clock.advance(minutes=20)
    back = desk.fire(cid, "engineering_fixed")
    assert back.conversation.stage == Stage.RESOLVING
    assert "offer_solutions" in [step.code for step in back.guidance]
    assert desk.resolve(cid).conversation.stage in (Stage.RESOLVED, Stage.FOLLOWING_UP)
    kinds = [entry.kind for entry in desk.history(cid)]
    assert kinds.index("hand_to_engineering") < kinds.index("engineering_fixed")
    assert desk.get(cid).stage in (Stage.RESOLVED, Stage.FOLLOWING_UP)


def test_sla_steps_escalation_and_termination_still_reach_a_waiting_bug() -> None:
    # Monday 08:00 in Chicago: the high-severity step after 2 business hours still fires
    # while engineering works, and the agent may escalate or end an abusive conversation.
    clock = FakeClock(datetime(2026, 1, 5, 14, 0, tzinfo=UTC))
    desk = ServiceDesk.from_config(PLAYBOOKS / "saas.toml", clock=clock, ids=SequentialIds("c"))
    cid = bug_case(desk)
    desk.fire(cid, "hand_to_engineering")
    # the clock runs while the customer spoke last (it pauses on who spoke last, not on stages)
    desk.hear(cid, "Thanks, please keep me posted.")
    due = desk.check_sla(cid, now=datetime(2026, 1, 5, 16, 0, tzinfo=UTC))
    assert [step.to for step in due.conversation.sla_steps] == [Role.SENIOR_AGENT]
    assert due.conversation.stage == Stage.ESCALATED

    other = bug_case(desk)
    desk.fire(other, "hand_to_engineering")
    assert desk.escalate(other, "the customer's launch depends on it").conversation.stage == (
        Stage.ESCALATED
    )
    third = bug_case(desk)
    desk.fire(third, "hand_to_engineering")
    assert desk.terminate(third, "threats").conversation.stage == Stage.TERMINATED


def test_the_saas_diagram_draws_the_new_stage(capsys: pytest.CaptureFixture[str]) -> None:
    path = PLAYBOOKS / "saas.toml"
    diagram = PlaybookFile.load(path).playbook().diagram()
    assert "waiting_on_engineering --> resolving: engineering_fixed" in diagram
    assert "resolving --> waiting_on_engineering: hand_to_engineering" in diagram
    assert "waiting_on_engineering" not in Playbook.diagram()
    assert main(["diagram", "--playbook", str(path)]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == (diagram, "")


def test_a_file_that_adds_nothing_keeps_the_class_itself() -> None:
    loaded = PlaybookFile.load(PLAYBOOKS / "online_shop.toml")
    assert type(loaded.playbook()) is Playbook
    assert loaded.playbook_class(Quiet) is Quiet
    saas = PlaybookFile.load(PLAYBOOKS / "saas.toml")
    built = saas.playbook_class(Quiet)
    assert issubclass(built, Quiet)
    assert built.__name__ == "QuietFromFile"
    assert saas.playbook_class(Quiet) is built  # built and compiled once per class
    assert type(saas.playbook(Quiet)) is built
    assert saas.playbook_class() is type(saas.playbook())
    assert ENGINEERING not in Quiet.stages  # the class given is left as it was


class Quiet(Playbook):
    """A subclass from code, with a guard of its own."""

    def has_ticket(self, conversation: Conversation, event: Event) -> bool:
        """Engineering takes a bug only with the ticket that tracks it."""
        return bool(str(event.data.get("ticket", "")).strip())


PARTS = """
[playbook]
stages = ["awaiting_parts"]

[[playbook.transitions]]
event = "order_parts"
from = ["resolving", "escalated"]
to = "awaiting_parts"

[[playbook.transitions]]
event = "parts_arrived"
from = "awaiting_parts"
to = "resolving"

[[playbook.transitions]]
event = "terminate"
from = "awaiting_parts"
to = "terminated"

[playbook.guidance.awaiting_parts]
give_delivery_date = "Say when the part should arrive and when you will update the customer."
"""

STAGE_CASES = [
    ('from = ["resolving", "escalated"]', 'from = ["resolving", "escalatd"]',
     "playbook.transitions[0].from[1]", "unknown stage 'escalatd' (did you mean 'escalated'?)"),
    ('from = "awaiting_parts"\nto = "resolving"', 'from = "awaitng_parts"\nto = "resolving"',
     "playbook.transitions[1].from",
     "unknown stage 'awaitng_parts' (did you mean 'awaiting_parts'?); stages: greeting, "),
    ('to = "resolving"', 'to = "resolvng"',
     "playbook.transitions[1].to", "unknown stage 'resolvng' (did you mean 'resolving'?)"),
    ("[playbook.guidance.awaiting_parts]", "[playbook.guidance.awaiting_part]",
     "playbook.guidance.awaiting_part", "(did you mean 'awaiting_parts'?)"),
    ('stages = ["awaiting_parts"]', 'stages = ["awaiting_parts", "resolving"]',
     "playbook.stages[1]", "'resolving' is already a stage of Playbook"),
    ('stages = ["awaiting_parts"]', 'stages = ["awaiting_parts", "awaiting_parts"]',
     "playbook.stages[1]", "'awaiting_parts' is listed twice"),
    ('stages = ["awaiting_parts"]', 'stages = ["awaiting_parts", "Parked"]',
     "playbook.stages[1]", "stage names are snake_case"),
    ('event = "order_parts"', 'event = "Order parts"',
     "playbook.transitions[0].event", "event names are snake_case"),
    ('to = "resolving"', 'to = "same"',
     "playbook.transitions[1].to", "unknown stage 'same'"),
    ('to = "resolving"', 'to = "Same"',
     "playbook.transitions[1].to", 'snake_case, such as \'awaiting_parts\' (or "=" to stay'),
    ('from = "awaiting_parts"\nto = "resolving"', 'from = []\nto = "resolving"',
     "playbook.transitions[1].from", "must not be an empty array"),
    ('from = "awaiting_parts"\nto = "resolving"', "from = 3\nto = \"resolving\"",
     "playbook.transitions[1].from", "a string or an array of strings, got the number 3"),
    ('event = "parts_arrived"\n', "",
     "playbook.transitions[1].event", "every transition needs an event, from and to"),
    ('event = "parts_arrived"', 'event = "parts_arrived"\nwhen = "now"',
     "playbook.transitions[1].when", "unknown key"),
    ('event = "parts_arrived"', 'event = "parts_arrived"\nafter = "_reset"',
     "playbook.transitions[1].after", "'_reset' is not a method name"),
    ("give_delivery_date =", '"Give date" =',
     'playbook.guidance.awaiting_parts."Give date"', "codes are snake_case"),
    ('give_delivery_date = "Say', 'give_delivery_date = " "\nx = "Say',
     "playbook.guidance.awaiting_parts.give_delivery_date", "must not be empty"),
    ("[playbook]\n", "[playbook]\nstage = []\n",
     "playbook.stage", "did you mean 'stages'?"),
]  # fmt: skip


def test_transitions_and_guidance_of_the_wrong_shape(tmp_path: Path) -> None:
    found = problems_of(tmp_path, '[playbook]\ntransitions = "order_parts"\nguidance = []\n')
    assert found == {
        "playbook.transitions": "must be an array of tables ([[playbook.transitions]]), got the "
        "string 'order_parts'",
        "playbook.guidance": "must be a table, got an array",
    }
    found = problems_of(tmp_path, "[playbook.guidance.resolving]\n")
    assert "no guidance given" in found["playbook.guidance.resolving"]


def test_the_parts_example_is_valid_and_its_events_fire(tmp_path: Path) -> None:
    path = write(tmp_path, PARTS)
    desk = ServiceDesk.from_config(path, clock=FakeClock(), ids=SequentialIds("c"))
    cid = bug_case(desk)
    parked = desk.fire(cid, "order_parts")
    assert parked.conversation.stage == "awaiting_parts"
    assert [step.code for step in parked.guidance] == ["give_delivery_date"]
    assert desk.fire(cid, "parts_arrived").conversation.stage == Stage.RESOLVING


@pytest.mark.parametrize(("old", "new", "key", "fragment"), STAGE_CASES)
def test_each_stage_problem_names_its_key(
    tmp_path: Path, old: str, new: str, key: str, fragment: str
) -> None:
    assert PARTS.count(old) == 1, old
    found = problems_of(tmp_path, PARTS.replace(old, new))
    assert key in found, found
    assert fragment in found[key]


def test_an_unknown_method_has_a_did_you_mean_and_a_subclass_may_provide_it(
    tmp_path: Path,
) -> None:
    text = PARTS.replace(
        'to = "awaiting_parts"', 'to = "awaiting_parts"\nconditions = "is_understod"'
    )
    found = problems_of(tmp_path, text)
    assert found["playbook.transitions[0].conditions"].startswith(
        "unknown method 'is_understod' (did you mean 'is_understood'?); conditions name methods "
        "of Playbook (a subclass may add its own): "
    )
    # has_ticket is a method only the subclass from code has
    path = write(
        tmp_path,
        PARTS.replace(
            'to = "awaiting_parts"', 'to = "awaiting_parts"\nconditions = ["has_ticket"]'
        ),
    )
    (problem,) = PlaybookFile.check(path)
    assert problem.key == "playbook.transitions[0].conditions"
    assert "unknown method 'has_ticket'" in problem.message
    assert PlaybookFile.check(path, playbook_cls=Quiet) == ()
    desk = ServiceDesk.from_config(path, playbook_cls=Quiet, clock=FakeClock())
    assert isinstance(desk.playbook, Quiet)
    cid = bug_case(desk)
    with pytest.raises(IllegalTransition) as refused:
        desk.fire(cid, "order_parts")
    assert refused.value.failed_guards == ("has_ticket",)
    parked = desk.fire(cid, "order_parts", data={"ticket": "ENG-4411"})
    assert parked.conversation.stage == "awaiting_parts"
    # loaded for the subclass, built with a class that lacks the method: refused, named
    loaded = PlaybookFile.load(path, playbook_cls=Quiet)
    with pytest.raises(PlaybookFileError) as caught:
        loaded.playbook(Playbook)
    assert [p.key for p in caught.value.problems] == ["playbook.transitions[0].conditions"]
    Counting.built = 0
    with pytest.raises(PlaybookFileError) as caught:
        ServiceDesk.from_config(loaded, escalation_cls=Counting)
    assert [p.key for p in caught.value.problems] == ["playbook.transitions[0].conditions"]


def test_an_unreachable_stage_and_a_dead_end(tmp_path: Path) -> None:
    unreachable = (
        PARTS.replace(
            'event = "order_parts"', 'event = "order_parts"\nunless = "is_understood"'
        ).replace('stages = ["awaiting_parts"]', 'stages = ["awaiting_parts", "on_hold"]')
        + '\n[[playbook.transitions]]\nevent = "resume"\nfrom = "on_hold"\nto = "resolving"\n'
    )
    found = problems_of(tmp_path, unreachable)
    assert found == {
        "playbook.stages[1]": "no transition reaches 'on_hold' from 'greeting': add a "
        "[[playbook.transitions]] whose to is 'on_hold'"
    }
    # the only ways out of awaiting_parts removed: "=" keeps a customer where they are
    dead_end = PARTS.replace('to = "resolving"', 'to = "="').replace(
        'to = "terminated"', 'to = "awaiting_parts"'
    )
    found = problems_of(tmp_path, dead_end)
    assert list(found) == ["playbook.stages[0]"]
    assert (
        "no transition leads out of 'awaiting_parts': a customer would be stuck"
        in found["playbook.stages[0]"]
    )


def test_two_added_stages_that_only_lead_to_each_other_are_a_dead_end(tmp_path: Path) -> None:
    text = PARTS.replace('stages = ["awaiting_parts"]', 'stages = ["awaiting_parts", "in_transit"]')
    text = text.replace('to = "resolving"', 'to = "in_transit"').replace(
        'from = "awaiting_parts"\nto = "terminated"', 'from = "in_transit"\nto = "awaiting_parts"'
    )
    found = problems_of(tmp_path, text)
    assert sorted(found) == ["playbook.stages[0]", "playbook.stages[1]"]
    assert all("stuck" in message for message in found.values())


def test_every_stage_problem_at_once(tmp_path: Path) -> None:
    text = """
[playbook]
stages = ["awaiting_parts", "Parked"]

[[playbook.transitions]]
event = "order_parts"
from = ["resolving", "awaitng_parts"]
to = "awaiting_part"
conditions = "is_understod"

[[playbook.transitions]]
event = "Bad Event"
from = "awaiting_parts"
to = "resolving"

[playbook.guidance.awaiting_prts]
tell_them = "Tell the customer when the part arrives."

[escalation]
max_declined_ofers = 1
"""
    found = problems_of(tmp_path, text)
    assert sorted(found) == [
        "escalation.max_declined_ofers",
        "playbook.guidance.awaiting_prts",
        "playbook.stages[1]",
        "playbook.transitions[0].conditions",
        "playbook.transitions[0].from[1]",
        "playbook.transitions[0].to",
        "playbook.transitions[1].event",
    ]
    assert all(
        "did you mean" in found[key] for key in sorted(found) if "prts" in key or "[0]" in key
    )


class Unstartable(Playbook):
    """A class whose own machine does not compile: it starts in a stage it does not have."""

    initial = "nowhere"


def test_what_the_machine_refuses_is_a_problem_not_a_half_built_desk(tmp_path: Path) -> None:
    path = write(tmp_path, PARTS)
    problems = PlaybookFile.check(path, playbook_cls=Unstartable)
    assert [problem.key for problem in problems] == ["playbook.transitions"]
    assert "'nowhere' is not one of its stages" in problems[0].message
    with pytest.raises(PlaybookFileError):
        ServiceDesk.from_config(path, playbook_cls=Unstartable)
    with pytest.raises(PlaybookFileError) as caught:
        PlaybookFile.load(path).playbook(Unstartable)
    assert caught.value.problems == problems
