"""ApologyPolicy: when to apologize (decide), what to say (compose), what to avoid (review)."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    Apology,
    ApologyPolicy,
    Channel,
    ConfigError,
    Conversation,
    Customer,
    Finding,
    Handoff,
    Issue,
    Message,
    Reason,
    ServiceDesk,
    Severity,
    Signals,
    Stage,
    ValidationError,
)
from serviceplaybook._policies.apology import DEFAULT_TEMPLATES, PLACEHOLDERS
from strategies import conversations, non_blank_text

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SAM = Agent(id="sam", name="Sam")
RIA = Agent(id="ria", name="Ria")
DATA = Path(__file__).parent / "data" / "apology_review.toml"
WORDING_CODES = {"generic_apology", "excuse", "blame_shifting", "repeated_sorry"}


def conversation(
    *said: str,
    category: str = "damaged_item",
    severity: str = "medium",
    summary: str = "The blender arrived with a cracked jug",
    stage: str = Stage.RESOLVING,
    reflected: bool = True,
    agent_summary: str = "Your blender's jug arrived cracked.",
    **changes: Any,
) -> Conversation:
    """A conversation where the customer said ``said`` and confirmed the agent's summary of the
    problem (``agent_summary``; the issue's own summary is ``summary``)."""
    base = Conversation(
        id="c1",
        stage=stage,
        customer=Customer(id="ann", name="Ann"),
        issue=Issue(category=category, severity=severity, summary=summary),
        agent=SAM,
        channel=Channel.CHAT,
        opened_at=T0,
        updated_at=T0,
        summary=agent_summary if reflected else None,
        understood=reflected,
        messages=[
            Message(author="customer", text=text, at=T0 + timedelta(minutes=i))
            for i, text in enumerate(said)
        ],
    )
    return attrs.evolve(base, **changes)


def apologized(conv: Conversation, *, by: Agent = SAM, minute: int = 30) -> Conversation:
    """``conv`` after ``by`` apologized (apology and message recorded as the desk does)."""
    at = T0 + timedelta(minutes=minute)
    apology = Apology(text=f"I'm sorry ({len(conv.apologies)}).", by=by.id, at=at)
    return attrs.evolve(
        conv,
        apologies=(*conv.apologies, apology),
        messages=(*conv.messages, Message(author=by.id, text=apology.text, at=at)),
    )


def spoke(conv: Conversation, text: str = "OK.", *, minute: int = 31) -> Conversation:
    """``conv`` after the customer said ``text``."""
    at = T0 + timedelta(minutes=minute)
    message = Message(author="customer", text=text, at=at)
    return attrs.evolve(conv, messages=(*conv.messages, message))


def handed_over(conv: Conversation, to: Agent = RIA, *, minute: int = 40) -> Conversation:
    """``conv`` after a handoff to ``to``."""
    at = T0 + timedelta(minutes=minute)
    handoff = Handoff(from_agent=conv.agent, to_agent=to, at=at)
    return attrs.evolve(conv, agent=to, handoffs=(*conv.handoffs, handoff))


policy = ApologyPolicy()


# -- decide: one test per rule ---------------------------------------------------------------


def test_an_apology_is_due_once_the_problem_is_reflected_back() -> None:
    decision = policy.decide(conversation())
    assert decision.apologize
    assert decision.codes == ("apology_due",)


@pytest.mark.parametrize("stage", [Stage.GREETING, Stage.LISTENING, Stage.CLARIFYING])
def test_not_before_the_problem_is_reflected_back(stage: Stage) -> None:
    decision = policy.decide(conversation("It broke!", stage=stage, reflected=False))
    assert not decision.apologize
    assert decision.codes == ("not_yet_reflected",)
    # a summary alone is not enough while still clarifying (after "no, that's not it")
    assert policy.too_early(conversation(stage=stage)) is not None


def test_confirming_counts_as_reflected() -> None:
    assert policy.too_early(conversation(stage=Stage.CONFIRMING)) is None


def test_never_twice_in_a_row_without_the_customer_in_between() -> None:
    once = apologized(conversation("It broke."))
    assert policy.decide(once).codes == ("apologized_already",)
    assert policy.decide(spoke(once)).apologize


def test_twice_in_a_row_follows_message_order_when_times_are_equal() -> None:
    # a frozen clock gives the apology and the customer's answer the same time
    once = apologized(conversation("It broke."), minute=5)
    assert policy.decide(spoke(once, minute=5)).apologize


def test_twice_in_a_row_falls_back_to_times_then_to_who_spoke_last() -> None:
    apology = Apology(text="Sorry.", by="sam", at=T0 + timedelta(minutes=5))
    later = conversation("It broke.", apologies=[apology])  # no message for the apology
    assert policy.twice_in_a_row(later) is not None
    assert policy.twice_in_a_row(spoke(later, minute=6)) is None
    untimed = conversation("It broke.", apologies=[Apology(text="Sorry.", by="sam")])
    assert policy.twice_in_a_row(untimed) is None  # the customer spoke last
    agent_last = attrs.evolve(
        untimed, messages=(*untimed.messages, Message(author="sam", text="Hm.", at=T0))
    )
    assert policy.twice_in_a_row(agent_last) is not None


def test_at_most_two_apologies_per_conversation() -> None:
    conv = spoke(apologized(spoke(apologized(conversation("x")), minute=31), minute=32), minute=33)
    decision = policy.decide(conv)
    assert decision.codes == ("apology_cap_reached",)
    assert "2 apologies" in decision.reasons[0].text


def test_a_new_agent_may_apologize_once_after_a_handoff() -> None:
    used_up = spoke(
        apologized(spoke(apologized(conversation("x")), minute=31), minute=32), minute=33
    )
    taken_over = handed_over(used_up)
    decision = policy.decide(taken_over)
    assert decision.apologize
    assert decision.codes == ("apology_due", "new_agent_apology")
    after = spoke(apologized(taken_over, by=RIA, minute=41), minute=42)
    assert policy.decide(after).codes == ("apology_cap_reached",)


def test_a_handoff_to_the_same_agent_gives_no_extra_apology() -> None:
    used_up = spoke(
        apologized(spoke(apologized(conversation("x")), minute=31), minute=32), minute=33
    )
    assert policy.decide(handed_over(used_up, to=SAM)).codes == ("apology_cap_reached",)


def test_every_refusing_rule_gives_its_reason() -> None:
    conv = apologized(apologized(conversation("x", stage=Stage.CLARIFYING)))
    assert policy.decide(conv).codes == (
        "not_yet_reflected",
        "apologized_already",
        "apology_cap_reached",
    )


def test_a_rule_is_overridden_by_one_method() -> None:
    class Patient(ApologyPolicy):
        def twice_in_a_row(self, conversation: Conversation) -> Reason | None:
            return None

    once = apologized(conversation("x"))
    assert Patient().decide(once).apologize
    assert ApologyPolicy(max_per_conversation=0).decide(conversation()).codes == (
        "apology_cap_reached",
    )


def test_rules_can_be_added() -> None:
    class NoBots(ApologyPolicy):
        def rules(self):  # type: ignore[no-untyped-def]
            return (*super().rules(), self.bot)

        def bot(self, conversation: Conversation) -> Reason | None:
            if conversation.agent.is_bot:
                return Reason(code="bot_does_not_apologize", text="Leave apologies to people.")
            return None

    assert NoBots().decide(conversation(agent=Agent(id="b", role="bot"))).codes == (
        "bot_does_not_apologize",
    )


# -- decide: properties of an agent that follows it ---------------------------------------------

_steps = st.lists(
    st.tuples(st.sampled_from(["customer", "apologize", "apologize", "handoff"]), st.booleans()),
    max_size=40,
)


@given(steps=_steps, cap=st.integers(0, 3), extra=st.integers(0, 2))
def test_an_agent_following_decide_never_exceeds_the_cap_nor_repeats(
    steps: list[tuple[str, bool]], cap: int, extra: int
) -> None:
    sim = ApologyPolicy(max_per_conversation=cap, per_new_agent=extra)
    conv = conversation("It broke.")
    minute = 10
    agents = iter(Agent(id=f"agent-{n}") for n in range(100))
    for action, same_time in steps:
        minute += 0 if same_time else 1  # equal times: a frozen clock
        if action == "customer":
            conv = spoke(conv, minute=minute)
        elif action == "handoff":
            conv = handed_over(conv, next(agents), minute=minute)
        elif sim.decide(conv).apologize:
            conv = apologized(conv, by=conv.agent, minute=minute)
        assert len(conv.apologies) <= cap + extra * len(conv.handoffs)
        assert_never_twice_in_a_row(conv)


def assert_never_twice_in_a_row(conv: Conversation) -> None:
    since_apology: bool | None = None  # None: no apology yet
    texts = {(a.by, a.text) for a in conv.apologies}
    for message in conv.messages:
        if message.from_customer:
            since_apology = True
        elif (message.author, message.text) in texts:
            assert since_apology is not False, "two apologies without the customer in between"
            since_apology = False


# -- compose -----------------------------------------------------------------------------------


def test_compose_names_the_confirmed_problem_and_takes_ownership() -> None:
    apology = policy.compose(conversation("The jug is cracked."))
    # the agent's confirmed summary ("Your blender's jug arrived cracked."), not the issue's
    assert apology.text == (
        "I'm sorry that your blender's jug arrived cracked; that's below the standard we owe "
        "you, and it's ours to fix. I'm going to make it right."
    )
    assert apology.by == ""
    assert apology.at is None
    assert [r.code for r in apology.reasons] == [
        "specific_apology",
        "apology_template",
        "confirmed_summary",
        "no_stated_impact",  # the customer said nothing of an impact: none is invented
    ]


def test_compose_uses_the_issue_summary_until_the_customer_confirms_one() -> None:
    # summarized, not yet confirmed
    unconfirmed = conversation(summary="Order issue", understood=False)
    apology = policy.compose(unconfirmed)
    assert apology.text.startswith("I'm sorry about the order issue;")
    assert "issue_summary" in [r.code for r in apology.reasons]
    confirmed = conversation(
        summary="Order issue",
        agent_summary="You ordered a USB-C cable and we sent a Lightning one",
    )
    assert policy.compose(confirmed).text.startswith(
        "I'm sorry that you ordered a USB-C cable and we sent a Lightning one;"
    )


@pytest.mark.parametrize(
    ("category", "summary", "expected"),
    [
        ("late_delivery", "The parcel is two weeks late", "getting it to you properly"),
        ("billing", "Charged twice", "that you were charged twice"),
        ("damaged_item", "Cracked jug", "about the cracked jug"),
        ("service_outage", "Checkout was down", "keeping the service running"),
        ("account_locked", "Cannot log in", "that you cannot log in"),
        ("warranty", "Repair took a month", "ours to fix"),
        ("gift_wrap", "Gift wrap missing", "that's on us"),
    ],
)
def test_compose_has_a_template_per_category(category: str, summary: str, expected: str) -> None:
    text = policy.compose(conversation(category=category, summary=summary, reflected=False)).text
    assert expected in text


def test_compose_varies_with_the_issue_and_never_with_the_severity_alone() -> None:
    texts = {
        (category, summary): {
            policy.compose(
                conversation(category=category, severity=severity, summary=summary, reflected=False)
            ).text
            for severity in Severity
        }
        for category in ("late_delivery", "billing", "damaged_item", "outage", "login", "other")
        for summary in ("Something went wrong", "The order was wrong")
    }
    # severity invents no impact: one text per issue, whatever the severity
    assert all(len(by_severity) == 1 for by_severity in texts.values())
    assert len({text for by_severity in texts.values() for text in by_severity}) == 6 * 2


@pytest.mark.parametrize(
    ("summary", "impact"),
    [
        (
            "So you were charged twice for the March invoice, and that left your account overdrawn",
            "it left your account overdrawn",
        ),
        (
            "Just to check: your parcel is a week late and you needed it for your daughter's "
            "birthday",
            "you needed it for your daughter's birthday",
        ),
        (
            "Your heating broke on Friday. You've been without hot water since.",
            "you've been without hot water since",
        ),
        ("Your heating broke on Friday and the engineer never came", None),
        ("The customer's router died, leaving them without internet", "it left you without"),
    ],
)
def test_compose_takes_the_impact_the_confirmed_summary_states(
    summary: str, impact: str | None
) -> None:
    apology = policy.compose(conversation(agent_summary=summary))
    codes = [r.code for r in apology.reasons]
    if impact is None:
        assert "I know" not in apology.text
        assert codes[-1] == "no_stated_impact"
    else:
        assert f"I know {impact}" in apology.text
        assert codes[-1] == "summary_impact"
        assert apology.text.count(impact) == 1  # split off, not said twice


def test_an_impact_the_summary_already_names_is_not_said_twice() -> None:
    conv = conversation(
        "My shop was offline all morning.", agent_summary="Your shop was offline all morning."
    )
    apology = policy.compose(conv)
    assert apology.text.count("offline all morning") == 1
    assert [r.code for r in apology.reasons][-1] == "no_stated_impact"


def test_a_customer_who_named_no_impact_gets_none_invented() -> None:
    # reported: "the disruption got in the way of your work... until you're back up and
    # running" to a customer who missed a football match, after the outage had ended
    quiet = conversation(
        "It was down all evening.",
        category="service_outage",
        severity="low",
        summary="TV streaming was down on Saturday evening",
        reflected=False,
    )
    text = policy.compose(quiet).text
    assert text == (
        "I'm sorry that TV streaming was down on Saturday evening; keeping the service running "
        "is our responsibility. I'm going to help you with it now."
    )
    told = spoke(quiet, "I missed the whole football match because of it.")
    assert "I know you missed the whole football match" in policy.compose(told).text


@pytest.mark.parametrize(
    ("said", "impact"),
    [
        ("I missed my flight because the suitcase never came!", "you missed your flight"),
        ("So my shop was offline all morning.", "your shop was offline all morning"),
        ("I had to take a day off work and wait at home.", "you had to take a day off work"),
        ("It cost me a day's sales", "it cost you a day's sales"),
        ("I CAN'T USE MY KITCHEN", "you can't use your kitchen"),
        ("We were stuck at the airport all night.", "you were stuck at the airport all night"),
    ],
)
def test_compose_picks_up_the_impact_the_customer_described(said: str, impact: str) -> None:
    apology = policy.compose(conversation("Hello.", said))
    assert f"I know {impact}" in apology.text
    assert "customer_impact" in [r.code for r in apology.reasons]


@pytest.mark.parametrize(
    "said",
    [
        "I missed my flight, you useless idiots.",  # abuse is never quoted back
        "I missed my flight, call me on +44 20 7946 0958",  # in one clause with personal data
        "I had to email jane.doe@example.com about it",
        "I had to give you my card 4111 1111 1111 1111 again",
        "Did I miss my flight because of this?",  # a question
        "If I miss my flight I will be furious.",  # a condition
        "I can't believe this happened.",  # not an impact
        "I lost all faith in your company.",
        "I had to call order 123456789 twice",  # long numbers: ids, accounts
        "You should have sent it. I had to wait at home.",  # the only impact is fine...
    ],
)
def test_compose_never_quotes_abuse_or_personal_data(said: str) -> None:
    text = policy.compose(conversation(said)).text
    for fragment in ("idiot", "useless", "7946", "jane", "4111", "123456789", "believe", "faith"):
        assert fragment not in text.casefold()
    assert "you should" not in text.casefold()


def test_compose_skips_messages_the_detector_flagged() -> None:
    said = "I missed my flight."
    conv = conversation(said, signals=[Signals(abusive=True)])
    assert "flight" not in policy.compose(conv).text
    assert "flight" in policy.compose(conversation(said, signals=[Signals()])).text


def test_compose_masks_personal_data_in_the_summary() -> None:
    for conv in (
        conversation(summary="Refund to jo@example.com failed", reflected=False),
        conversation(agent_summary="So your refund to jo@example.com failed"),
    ):
        text = policy.compose(conv).text
        assert "jo@example.com" not in text
        assert "[email]" in text


@pytest.mark.parametrize(
    ("summary", "about"),
    [
        ("The parcel is two weeks late.", "that the parcel is two weeks late"),
        ("Charged twice", "that you were charged twice"),
        ("Billed for a cancelled plan", "that you were billed for a cancelled plan"),
        ("Late delivery", "about the late delivery"),
        ("Your order never arrived", "that your order never arrived"),
        ("My card was charged twice", "that your card was charged twice"),
        ("Cannot log in", "that you cannot log in"),
        ("Was charged twice", "that you were charged twice"),
        ("Has not arrived", "that it has not arrived"),
        ("VPN keeps dropping", "that VPN keeps dropping"),
        (
            "Parcel delivered to the wrong address",
            "about the parcel delivered to the wrong address",
        ),
        ("A missing item", "about a missing item"),
    ],
)
def test_about_fits_the_summary_after_im_sorry(summary: str, about: str) -> None:
    assert policy.about(Issue(category="x", severity="low", summary=summary)) == about


def test_templates_are_overridden_by_name_and_the_others_stay() -> None:
    custom = ApologyPolicy(templates={"billing": "Sorry {about}. I know {impact}. Fixing it now."})
    charged = conversation(
        "I missed my rent because of it.", category="billing", summary="Charged twice"
    )
    unconfirmed = attrs.evolve(charged, understood=False)
    assert custom.compose(unconfirmed).text == (
        "Sorry that you were charged twice. I know you missed your rent. Fixing it now."
    )
    # without a stated impact, the sentence holding {impact} is left out
    assert custom.compose(conversation(category="billing", summary="Charged twice")).text == (
        "Sorry that your blender's jug arrived cracked. Fixing it now."
    )
    assert custom.templates["delivery"] == DEFAULT_TEMPLATES["delivery"]
    exact = ApologyPolicy(templates={"damaged_item": "Sorry about the {summary}, {category}."})
    assert exact.compose(conversation(summary="Cracked jug", reflected=False)).text == (
        "Sorry about the cracked jug, damaged item."
    )


@pytest.mark.parametrize(
    ("template", "without"),
    [
        (
            "I'm sorry {about}; that's on us. I know {impact}, and I'm going to put it right.",
            "I'm sorry {about}; that's on us. I'm going to put it right.",
        ),
        ("I'm sorry {about}. I know {impact}.", "I'm sorry {about}."),
        (
            "I'm sorry {about}; I know {impact}, and we'll fix it.",
            "I'm sorry {about}; we'll fix it.",
        ),
        ("I'm sorry {about}; I know {impact}.", "I'm sorry {about}."),
        ("I'm sorry {about}. Fixing it now.", "I'm sorry {about}. Fixing it now."),
    ],
)
def test_a_template_without_a_stated_impact_leaves_its_impact_clause_out(
    template: str, without: str
) -> None:
    assert ApologyPolicy(templates={"default": template}).without_impact(template) == without


def test_an_impact_in_the_clause_that_names_the_issue_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        ApologyPolicy(templates={"billing": "I'm sorry {about} and that {impact}."})
    message = str(caught.value)
    assert "'billing'" in message
    assert "{impact}" in message
    assert "clause of its own" in message


def test_an_unknown_placeholder_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError) as caught:
        ApologyPolicy(templates={"billing": "Sorry {about}, {name}."})
    message = str(caught.value)
    assert "'billing'" in message
    assert "{name}" in message
    for placeholder in PLACEHOLDERS:
        assert "{" + placeholder + "}" in message


@pytest.mark.parametrize(
    "template",
    [
        "Sorry about that.",
        "Sorry {}.",
        "Sorry {about",
        "Sorry {about:d}.",
        "Sorry {about!r}.",
        "Sorry {about.x}",
        "",
    ],
)
def test_bad_templates_are_config_errors(template: str) -> None:
    with pytest.raises(ConfigError, match="apology template 'default'"):
        ApologyPolicy(templates={"default": template})


def test_other_bad_configurations_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="max_per_conversation"):
        ApologyPolicy(max_per_conversation=-1)
    with pytest.raises(ConfigError, match="per_new_agent"):
        ApologyPolicy(per_new_agent=True)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="excuse_patterns"):
        ApologyPolicy(excuse_patterns=("(unclosed",))
    with pytest.raises(ConfigError, match="families"):
        ApologyPolicy(families={"delivery": ("[",)})
    with pytest.raises(ConfigError, match="templates"):
        ApologyPolicy(templates="Sorry {about}")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="apology template"):
        ApologyPolicy().templates = {"x": "{bad}"}  # validated on assignment too


def test_a_custom_family_routes_categories_to_a_template() -> None:
    custom = ApologyPolicy(
        families={"travel": (r"flights?", r"trains?")},
        templates={"travel": "I'm sorry {about}; we should have got you there. I know {impact}."},
    )
    text = custom.compose(conversation(category="flight_cancelled", summary="Flight cancelled"))
    assert "we should have got you there" in text.text
    assert custom.family("late_delivery") == "default"  # the families were replaced


# -- compose: properties -----------------------------------------------------------------------


@given(conversations())
def test_compose_never_raises_and_mentions_the_issue(conv: Conversation) -> None:
    apology = policy.compose(conv)
    problem, _, _ = policy.stated_problem(conv)
    assert policy.about_phrase(problem) in apology.text
    assert policy.names_the_issue(apology.text, conv)


_summaries = st.sampled_from(
    [
        "The parcel is two weeks late",
        "Charged twice for the March subscription",
        "Ordered blue but received red",
        "Late delivery",
        "My card was charged twice",
        "Locked out after a password reset",
        "Checkout was down for six hours",
        "The courier's fault, says the customer",
        "Sorry-bot gave the wrong answer",
        "Refund to jo@example.com never arrived",
        "Straße gesperrt",
    ]
)
_said = st.sampled_from(
    [
        "I missed my flight because of this.",
        "My shop was offline all morning!!!",
        "I HAD TO CANCEL MY DAUGHTER'S PARTY",
        "You idiots, I had to take a day off.",
        "I had to call +44 20 7946 0958 three times.",
        "I should have known better, I had to buy another one.",
        "Where is my order?",
        "It cost me a day's sales, but whatever.",
        "my kids were cold all night because the heater broke",
        "Our policy is never to buy from you again. I lost a client.",
    ]
) | non_blank_text(max_size=40)
_agent_summaries = st.sampled_from(
    [
        "So you were charged twice for the March invoice, and that left your account overdrawn",
        "Just to check: your parcel is a week late and you needed it for your daughter's birthday",
        "The customer can't log in since the password reset",
        "customer does not understand a new bill",
        "You ordered a USB-C cable and we sent a Lightning one. Is that right?",
        "If I understand correctly, they were billed for a plan they cancelled",
        "Late delivery",
        "?",
    ]
) | non_blank_text(max_size=60)
_realistic = st.builds(
    lambda said, **fields: conversation(*said, **fields),
    st.lists(_said, max_size=3),
    category=st.sampled_from(
        ["late_delivery", "billing", "damaged_item", "service_outage", "account_access", "misc"]
    ),
    severity=st.sampled_from(Severity),
    summary=_summaries,
    agent_summary=_agent_summaries,
    understood=st.booleans(),
)


@given(st.one_of(conversations(), _realistic))
def test_a_composed_apology_passes_its_own_review(conv: Conversation) -> None:
    codes = {finding.code for finding in policy.review(policy.compose(conv).text, conv)}
    assert not codes & WORDING_CODES


@given(st.lists(_said, min_size=1, max_size=3), st.sampled_from(Severity))
def test_compose_with_realistic_customer_words_passes_review(
    said: list[str], severity: Severity
) -> None:
    conv = conversation(*said, severity=severity, category="late_delivery")
    text = policy.compose(conv).text
    assert not {f.code for f in policy.review(text, conv)} & WORDING_CODES
    for fragment in ("idiot", "7946", "should have known", "policy"):
        assert fragment not in text.casefold()


# -- review: the labelled set -------------------------------------------------------------------


def _review_data() -> dict[str, Any]:
    with DATA.open("rb") as file:
        return tomllib.load(file)


def _scenario_conversation(scenario: dict[str, Any], context: str) -> Conversation:
    conv = conversation(
        *scenario["customer_said"],
        category=scenario["category"],
        severity=scenario["severity"],
        summary=scenario["summary"],
    )
    if context == "just_apologized":
        return apologized(conv)
    if context == "cap_reached":
        return spoke(apologized(spoke(apologized(conv), minute=31), minute=32), minute=33)
    assert context == "due", context
    return conv


def test_the_labelled_set_is_large_and_varied() -> None:
    data = _review_data()
    examples = data["examples"]
    assert len(examples) >= 60
    assert {e["scenario"] for e in examples} == set(data["scenarios"])
    labelled = Counter(code for e in examples for code in e["codes"])
    assert set(labelled) == {*WORDING_CODES, "apologized_already", "apology_cap_reached"}
    assert sum(1 for e in examples if not e["codes"]) >= 20  # good sentences too


def test_review_matches_every_labelled_sentence() -> None:
    data = _review_data()
    mismatches = []
    still_missed = []
    for number, example in enumerate(data["examples"], start=1):
        conv = _scenario_conversation(
            data["scenarios"][example["scenario"]], example.get("context", "due")
        )
        found = sorted({finding.code for finding in policy.review(example["text"], conv)})
        expected = sorted(example["codes"])
        if "known_miss" in example:
            if found == expected:
                still_missed.append(f"#{number} now passes; drop its known_miss: {example['text']}")
        elif found != expected:
            mismatches.append(f"#{number} {example['text']!r}: expected {expected}, got {found}")
    assert not mismatches + still_missed, "\n".join(mismatches + still_missed)


# -- review: units --------------------------------------------------------------------------------


def test_findings_carry_code_advice_and_the_offending_span() -> None:
    text = "I'm sorry about the cracked jug, but our policy doesn't allow refunds."
    findings = policy.review(text, conversation())
    assert [f.code for f in findings] == ["excuse", "excuse"]
    for finding in findings:
        assert text[finding.span[0] : finding.span[1]] == finding.excerpt
        assert finding.reason == Reason(code="excuse", text=finding.text)
    assert [f.excerpt for f in findings] == ["but", "policy doesn't"]


@pytest.mark.parametrize(
    ("text", "excerpt"),
    [
        ("Our system was down that week, so the jug wasn't checked.", "system was down"),
        ("The website was slow yesterday, which is why it didn't go through.", "website was slow"),
    ],
)
def test_the_companys_tools_down_as_the_reason_is_an_excuse(text: str, excerpt: str) -> None:
    [finding] = policy.review(text, conversation())
    assert finding.code == "excuse"
    assert excerpt in finding.excerpt
    # asking whether the customer sees an outage is not an excuse
    assert policy.review("The system is down for you? Let me check.", conversation()) == ()


def test_review_of_text_without_an_apology_has_no_apology_findings() -> None:
    conv = apologized(apologized(conversation()))
    assert policy.review("", conv) == ()
    assert policy.review("Let me check the tracking for you.", conv) == ()


def test_words_quoted_from_the_summary_are_not_held_against_the_agent() -> None:
    conv = conversation(summary="Ordered blue but received red", category="wrong_item")
    assert policy.review("I'm sorry that you ordered blue but received red.", conv) == ()
    assert [f.code for f in policy.review("I'm sorry, but it happens.", conv)] == [
        "generic_apology",
        "excuse",
        "excuse",
    ]


def test_review_uses_the_policys_own_patterns() -> None:
    strict = ApologyPolicy(excuse_patterns=(r"\bunfortunately\b",))
    text = "Unfortunately the jug is cracked; I'm sorry."
    assert [f.code for f in strict.review(text, conversation())] == ["excuse"]
    assert policy.review(text, conversation()) == ()


def test_a_check_is_overridden_by_one_method() -> None:
    class NoGeneric(ApologyPolicy):
        def find_generic(self, text: str, conversation: Conversation) -> list[Finding]:
            return []

    assert NoGeneric().review("Sorry for any inconvenience.", conversation()) == ()


def test_finding_validates_its_fields() -> None:
    Finding(code="excuse", text="Say why not.", span=(0, 3), excerpt="but")
    with pytest.raises(ValidationError, match=r"Finding\.code"):
        Finding(code="Not Snake", text="x", span=(0, 1), excerpt="x")
    with pytest.raises(ValidationError, match=r"Finding\.span"):
        Finding(code="excuse", text="x", span=(3, 1), excerpt="x")
    with pytest.raises(ValidationError, match=r"Finding\.span"):
        Finding(code="excuse", text="x", span=(0, True), excerpt="x")  # type: ignore[arg-type]


# -- with the desk --------------------------------------------------------------------------------


def test_the_desk_uses_a_subclassed_policy() -> None:
    class Terse(ApologyPolicy):
        def compose(self, conversation: Conversation) -> Apology:
            return Apology(text=f"Sorry: {conversation.issue.summary}.")

    desk = ServiceDesk.in_memory(apology=Terse())
    cid = desk.open(
        customer=Customer(id="ann"),
        issue=Issue(category="billing", severity="low", summary="Charged twice"),
        agent=SAM,
    ).id
    desk.hear(cid, "You charged me twice.")
    desk.summarize(cid, "You were charged twice.")
    outcome = desk.apologize(cid)
    assert outcome.apology is not None
    assert outcome.apology.text == "Sorry: Charged twice."
    assert outcome.apology.by == "sam"


def test_the_pattern_cache_gives_one_answer_from_many_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from serviceplaybook._policies.apology import _compiled

    sets = [("sorry", "but"), ("if you felt",), ("unfortunately", "policy")]
    _compiled.cache_clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        compiled = list(pool.map(lambda i: _compiled(sets[i % 3]), range(96)))
    assert [[p.pattern for p in c] for c in compiled] == [list(sets[i % 3]) for i in range(96)]


def test_the_patterns_compiled_on_first_use_give_one_answer_from_many_threads() -> None:
    """Composing and reviewing compile their long patterns on first use; threads that arrive
    together get the same pattern, and the policy's answer does not depend on who was first."""
    from concurrent.futures import ThreadPoolExecutor

    from serviceplaybook._policies import apology

    texts = (apology._IMPACT_CLAUSE, apology._GENERIC_HEDGES, apology._PROFANITY)
    apology._pattern.cache_clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        compiled = list(pool.map(lambda i: apology._pattern(texts[i % 3]), range(96)))
    assert [c.pattern for c in compiled] == [texts[i % 3] for i in range(96)]
    assert all(c.flags & re.IGNORECASE for c in compiled)
    policy = ApologyPolicy()
    findings = policy.review("Sorry for any inconvenience.", conversation())
    assert "generic_apology" in [f.code for f in findings]


# -- compose: a later apology never repeats an earlier one ------------------------------------

_turns = st.lists(st.sampled_from(["apologize", "apologize", "customer", "handoff"]), max_size=12)


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


@given(st.one_of(conversations(), _realistic), _turns)
def test_a_later_apology_never_repeats_an_earlier_ones_words(
    conv: Conversation, turns: list[str]
) -> None:
    """Whoever gives it, and whatever was said before, every apology composed differs from
    every earlier apology's text in the conversation."""
    agents = iter(Agent(id=f"agent-{n}") for n in range(20))
    for turn in turns:
        if turn == "customer":
            conv = attrs.evolve(
                conv, messages=(*conv.messages, Message(author="customer", text="OK.", at=T0))
            )
        elif turn == "handoff":
            handoff = Handoff(from_agent=conv.agent, to_agent=next(agents), at=T0)
            conv = attrs.evolve(conv, agent=handoff.to_agent, handoffs=(*conv.handoffs, handoff))
        else:
            apology = policy.compose(conv)
            assert _normal(apology.text) not in {_normal(a.text) for a in conv.apologies}
            if conv.apologies:
                assert "second_apology" in [reason.code for reason in apology.reasons]
            given_apology = attrs.evolve(apology, by=conv.agent.id)
            conv = attrs.evolve(
                conv,
                apologies=(*conv.apologies, given_apology),
                messages=(*conv.messages, Message(author=conv.agent.id, text=apology.text, at=T0)),
            )


def test_a_second_apology_is_shorter_and_goes_to_the_solution() -> None:
    first_time = conversation("I missed my flight because of it.", category="late_delivery")
    first = policy.compose(first_time)
    assert first.text == (
        "I'm sorry that your blender's jug arrived cracked; getting it to you properly was our "
        "job, and we let you down. I know you missed your flight, and I'm going to sort it out "
        "with you now."
    )
    again = spoke(apologized(first_time), "Still nothing has happened!")
    again = attrs.evolve(again, apologies=(attrs.evolve(first, by="sam"),))
    second = policy.compose(again)
    assert second.text == (
        "Once more, I'm sorry that your blender's jug arrived cracked. Let me go straight to "
        "putting it right."
    )
    assert [r.code for r in second.reasons] == [
        "specific_apology",
        "apology_template",
        "second_apology",
        "confirmed_summary",
        "impact_not_repeated",
    ]
    taken_over = handed_over(again)
    third = policy.compose(taken_over)
    assert third.text == (
        "I've taken over from my colleague and read everything you've told us, so you won't "
        "need to explain it again. I'm sorry that your blender's jug arrived cracked; let's "
        "get it sorted now."
    )
    assert "after_handover" in [r.code for r in third.reasons]


def test_when_the_usual_forms_were_all_used_a_variant_is_found() -> None:
    conv = conversation(category="billing")
    for _ in range(8):
        apology = policy.compose(conv)
        assert _normal(apology.text) not in {_normal(a.text) for a in conv.apologies}
        conv = attrs.evolve(conv, apologies=(*conv.apologies, attrs.evolve(apology, by="sam")))
    assert len({a.text for a in conv.apologies}) == 8


@pytest.mark.parametrize(
    "empathy",
    [
        "I can hear how frustrating this has been.",
        "That sounds really stressful.",
        "I completely understand how annoying that is.",
        "I'm sorry you've had such a difficult week.",
    ],
)
def test_empathy_before_the_summary_is_not_restated(empathy: str) -> None:
    agent_summary = (
        f"{empathy} Let me make sure I have this right: your blender's jug arrived cracked."
    )
    text = policy.compose(conversation(agent_summary=agent_summary)).text
    assert text.startswith("I'm sorry that your blender's jug arrived cracked;")
    assert "hear how" not in text
    assert "sounds" not in text
