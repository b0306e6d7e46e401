"""The policies' shortcuts change no result, and an integrator's override still takes effect.

Each shortcut of the hot path is compared with the same policy made to take the long way:

* ``EscalationPolicy.fired`` leaves out rules that cannot fire; a subclass that overrides
  ``rules`` (even only to call ``super()``) has every rule called, and must agree.
* ``Redactor.redact_text`` skips scans a text has too few digits for, and ``Redactor.redact``
  walks a payload without a call per item; rules of a ``Redaction`` subclass and a redactor
  that overrides ``redact`` take no shortcut, and must agree.
* ``Playbook.guidance`` returns the stage's advice as it is when nothing needs deduplicating,
  and ``Playbook.apply`` stores a stage converted once per playbook: both must equal what the
  general code gives.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    Approval,
    Channel,
    Conversation,
    Customer,
    EscalationPolicy,
    Event,
    Guidance,
    Issue,
    Money,
    Offer,
    OfferKind,
    Playbook,
    PlaybookError,
    Reason,
    Redactor,
    Role,
    ServiceDesk,
    Signals,
    Stage,
    Transition,
)
from serviceplaybook._policies.escalation import Rule
from serviceplaybook._policies.redaction import Redaction
from strategies import conversations, json_values, signals

# -- escalation ------------------------------------------------------------------------------


class EveryRule(EscalationPolicy):
    """Overrides ``rules`` without changing it: every rule is called, as before the shortcut."""

    def rules(self) -> Sequence[Rule]:
        return super().rules()


_POLICY_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "max_declined_offers": st.integers(0, 3),
        "sentiment_window": st.integers(0, 4),
        "sentiment_floor": st.sampled_from([-0.5, 0.0, 0.5]),
        "repeat_contact_mentions": st.integers(0, 3),
        "reopens_to_escalate": st.integers(0, 2),
        "high_value_tiers": st.just(frozenset({"gold", "standard"})),
        "high_value_orders": st.just((Money("100", "USD"), Money("1", "EUR"))),
    },
)


@st.composite
def _decision_inputs(draw: st.DrawFn) -> tuple[Conversation, Signals | None]:
    """A conversation and the latest signals, the way the desk and other callers pass them:
    appended to the conversation, not appended, or none (an event other than a message)."""
    conversation = draw(conversations())
    how = draw(st.sampled_from(["appended", "latest", "separate", "none"]))
    if how == "none":
        return conversation, None
    if how == "latest" and conversation.signals:
        return conversation, conversation.signals[-1]
    latest = draw(
        st.one_of(
            signals(),
            st.builds(Signals, threat=st.just(True), self_harm=st.booleans()),
            st.builds(Signals, abusive=st.just(True), wants_manager=st.booleans()),
        )
    )
    if how == "appended":
        conversation = attrs.evolve(conversation, signals=(*conversation.signals, latest))
    return conversation, latest


@given(_decision_inputs(), _POLICY_OPTIONS)
def test_fired_and_decide_agree_with_every_rule_called(
    inputs: tuple[Conversation, Signals | None], options: dict[str, Any]
) -> None:
    conversation, latest = inputs
    quick, full = EscalationPolicy(**options), EveryRule(**options)
    assert quick.fired(conversation, latest) == full.fired(conversation, latest)
    assert quick.decide(conversation, latest) == full.decide(conversation, latest)


def _calm_conversation() -> Conversation:
    at = datetime(2024, 3, 4, 9, tzinfo=UTC)
    return Conversation(
        id="c1",
        stage=Stage.LISTENING,
        customer=Customer(id="cu1"),
        issue=Issue(category="delivery", severity="low", summary="Parcel late"),
        agent=Agent(id="a1"),
        channel=Channel.CHAT,
        opened_at=at,
        updated_at=at,
        version=2,
        signals=(Signals(),),
    )


_ALWAYS = Reason(code="custom_rule", text="The integrator's rule fired.")


@pytest.mark.parametrize(
    "name",
    [
        "threat",
        "continued_abuse",
        "abuse",
        "asked_for_manager",
        "above_authority",
        "declined_offers",
        "sentiment_falling",
        "repeat_contact",
        "high_value",
        "sla_step",
    ],
)
def test_an_overridden_rule_is_called_even_where_the_stock_rule_cannot_fire(name: str) -> None:
    def rule(self: EscalationPolicy, conversation: Conversation, latest: Signals | None) -> Reason:
        return _ALWAYS

    policy = attrs.define(type("Custom", (EscalationPolicy,), {name: rule}))()
    calm = _calm_conversation()
    assert EscalationPolicy().fired(calm, Signals()) == []
    assert policy.fired(calm, Signals()) == [_ALWAYS]
    decision = policy.decide(calm, Signals())
    assert decision is not None
    assert decision.codes == ("custom_rule",)


def test_an_overridden_reading_is_used_even_without_approvals() -> None:
    waiting = Approval(
        id="ap1",
        offer_id="o1",
        requested_by="a1",
        approver_role=Role.MANAGER,
        requested_at=datetime(2024, 3, 4, 9, tzinfo=UTC),
    )

    class FromElsewhere(EscalationPolicy):
        def pending_approvals(self, conversation: Conversation) -> tuple[Approval, ...]:
            return (waiting,)  # e.g. read from the host application's own approval queue

    calm = _calm_conversation()
    assert [r.code for r in FromElsewhere().fired(calm, Signals())] == ["above_authority"]


# -- redaction -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LongWayRedaction(Redaction):
    """A rule of a Redaction subclass: the redactor takes no shortcut for it."""


class LongWayRedactor(Redactor):
    """Overrides ``redact`` without changing it: every item goes through ``redact``."""

    def redact(self, value: Any) -> Any:
        return super().redact(value)


def _long_way(redactor: Redactor) -> Redactor:
    rules = tuple(LongWayRedaction(**attrs.asdict(r, recurse=False)) for r in redactor.redactions)
    return LongWayRedactor(redactions=rules)


_NATIONAL_ID = Redaction(
    kind="national_id", pattern=re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), replacement="[id]"
)
_REDACTORS = [Redactor.default(), Redactor.default().with_extra(_NATIONAL_ID)]

_PII = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111 123",
    "4222222222222",
    "378282246310005",
    "+44 20 7946 0958",
    "+1 (555) 123-4567",
    "(555) 123-4567",
    "1-800-555-1234",
    "020 7946 0958",
    "0612345678",
    "jane.doe+shop@example.co.uk",
    "123-45-6789",
    "order 12345678",
    " ".join(["\u0664\u0661\u0661\u0661"] + ["\u0661" * 4] * 3),  # Arabic-Indic digits
]
_NUMBERISH = "0123456789" * 2 + " -+().@\u0663\u0661"
texts = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=_NUMBERISH, max_size=40),
    st.tuples(st.text(max_size=8), st.sampled_from(_PII), st.text(_NUMBERISH, max_size=12)).map(
        "".join
    ),
)
payloads = st.one_of(
    json_values(),
    st.fixed_dictionaries(
        {"text": texts, "signals": st.builds(lambda s: attrs.asdict(s), signals())}
    ),
    st.recursive(
        texts | st.integers() | st.booleans(),
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.lists(children, max_size=2).map(tuple),
            st.dictionaries(st.text(max_size=4), children, max_size=3),
        ),
        max_leaves=6,
    ),
)


@pytest.mark.parametrize("redactor", _REDACTORS, ids=["default", "with_extra"])
@given(text=texts)
def test_redact_text_agrees_with_the_long_way(redactor: Redactor, text: str) -> None:
    assert redactor.redact_text(text) == _long_way(redactor).redact_text(text)


@pytest.mark.parametrize("redactor", _REDACTORS, ids=["default", "with_extra"])
@given(value=payloads)
@example(value={"notes": ["call 020 7946 0958", 3], "deep": {"card": ("4111 1111 1111 1111",)}})
@example(value={"text": "mail jane@example.com", "signals": {"anger": 0.5, "note": "123-45-6789"}})
def test_redact_agrees_with_the_long_way(redactor: Redactor, value: Any) -> None:
    quick, slow = redactor.redact(value), _long_way(redactor).redact(value)
    assert quick == slow
    assert repr(quick) == repr(slow)  # same shapes: dicts, lists and tuples where they were


def test_rules_assigned_later_are_applied() -> None:
    redactor = Redactor.default()
    redactor.redactions = (
        *redactor.redactions,
        Redaction(kind="code", pattern=re.compile(r"secret\w*"), replacement="[code]"),
    )
    assert redactor.redact_text("the secretword") == "the [code]"


def test_an_overridden_redact_sees_every_text() -> None:
    class Shouting(Redactor):
        def redact(self, value: Any) -> Any:
            return value.upper() if isinstance(value, str) else super().redact(value)

    payload = {"text": "hi", "signals": {"note": "calm", "anger": 0.1}, "ids": [1, "a"]}
    assert Shouting().redact(payload) == {
        "text": "HI",
        "signals": {"note": "CALM", "anger": 0.1},
        "ids": [1, "A"],
    }


# -- playbook --------------------------------------------------------------------------------


class Repeating(Playbook):
    """Advice with a repeated code, and a stage of its own."""

    stages = (*Playbook.stages, "awaiting_customer")
    transitions = (
        *Playbook.transitions,
        Transition(event="wait", source=Stage.RESOLVING, dest="awaiting_customer"),
    )
    stage_guidance_texts: ClassVar[Mapping[str, tuple[Guidance, ...]]] = {
        **Playbook.stage_guidance_texts,
        Stage.CLARIFYING: (
            Guidance(code="ask_open_questions", text="Ask one open question."),
            Guidance(code="ask_open_questions", text="Ask one open question at a time."),
        ),
    }


def _deduplicated(playbook: Playbook, conversation: Conversation, latest: Signals | None) -> Any:
    steps = [
        *playbook.signal_guidance(conversation, latest),
        *playbook.stage_guidance(conversation),
    ]
    return tuple({step.code: step for step in steps}.values())


_EVENTS = sorted({t.event for t in Repeating.transitions})


# one test for both shortcuts: generating conversations is most of its time
@given(
    playbook=st.sampled_from([Playbook(), Repeating()]),
    conversation=conversations(),
    latest=st.none() | signals(),
    name=st.sampled_from(_EVENTS),
)
def test_guidance_and_apply_agree_with_the_general_code(
    playbook: Playbook, conversation: Conversation, latest: Signals | None, name: str
) -> None:
    assert playbook.guidance(conversation, latest) == _deduplicated(playbook, conversation, latest)
    event = Event(name=name, at=conversation.updated_at, actor="a1", data={})
    if playbook.can(conversation, event):
        # apply stores the stage exactly as the record's own converter does
        dest = playbook.next_stage(conversation, event)
        updated = playbook.apply(conversation, event)
        expected = attrs.evolve(conversation, stage=dest).stage
        assert updated.stage == expected
        assert type(updated.stage) is type(expected)


# -- the desk, end to end --------------------------------------------------------------------

_SAID = [
    "The parcel still has not arrived (3)",
    "This is awful, worst service ever",
    "You are an idiot",
    "I want to speak to your manager",
    "I already called twice about this",
    "Call me on 020 7946 0958 or at jane@example.com",
    "My card is 4111 1111 1111 1111",
    "Thanks, that helps",
]
# offers and declines are where most rules fire: call them more often
_NAMES = ("hear", "hear", "ask", "summarize", "confirm", "propose", "propose", "decline")
_NAMES += ("decline", "approve", "accept", "escalate", "pick_up", "reopen")
_CALLS = st.lists(st.tuples(st.sampled_from(_NAMES), st.integers(0, 15)), max_size=15)
_BOSS = Agent(id="boss", role=Role.MANAGER)


def _desk(escalation: EscalationPolicy, redactor: Redactor) -> ServiceDesk:
    ticks = itertools.count()
    ids = itertools.count()
    return ServiceDesk.in_memory(
        clock=lambda: datetime(2024, 3, 4, 9, tzinfo=UTC) + timedelta(minutes=7 * next(ticks)),
        ids=lambda: f"id{next(ids)}",
        escalation=escalation,
        redactor=redactor,
    )


def _call(desk: ServiceDesk, cid: str, name: str, n: int) -> object:
    conversation = desk.get(cid)
    try:
        if name == "hear":
            return desk.hear(cid, _SAID[n % len(_SAID)])
        if name in ("ask", "summarize"):
            return getattr(desk, name)(cid, "So the parcel is late?")
        if name in ("confirm", "reopen"):
            return getattr(desk, name)(cid)
        if name == "propose":
            value = Money(("5", "50", "500", "5000")[n % 4], "USD")
            return desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=value, id=f"o{n}"))
        if name in ("decline", "accept") and conversation.offers:
            offer = conversation.offers[n % len(conversation.offers)].offer
            return getattr(desk, name)(cid, offer.id)
        if name == "approve" and conversation.approvals:
            return desk.approve(
                cid, conversation.approvals[-1].id, Agent(id="boss", role=Role.MANAGER)
            )
        if name == "escalate":
            return desk.escalate(cid)
        if name == "pick_up":
            role = (Role.SENIOR_AGENT, Role.SUPERVISOR, Role.MANAGER, Role.AGENT)[n % 4]
            return desk.pick_up(cid, Agent(id=f"p{n}", role=role))
    except PlaybookError as error:
        return (type(error).__name__, str(error))
    return None


@given(calls=_CALLS, options=_POLICY_OPTIONS, tier=st.sampled_from(["standard", "gold"]))
def test_a_desk_with_the_shortcuts_agrees_with_one_without(
    calls: list[tuple[str, int]], options: dict[str, Any], tier: str
) -> None:
    quick = _desk(EscalationPolicy(**options), Redactor.default())
    slow = _desk(EveryRule(**options), _long_way(Redactor.default()))
    issue = Issue(category="delivery", severity="high", summary="Parcel late")
    for desk in (quick, slow):
        desk.open(customer=Customer(id="cu1", tier=tier), issue=issue, agent=Agent(id="a1"))
    for name, n in [("hear", 0), ("ask", 0), ("summarize", 0), ("confirm", 0), *calls]:
        assert _call(quick, "id0", name, n) == _call(slow, "id0", name, n)
    assert quick.history("id0") == slow.history("id0")
