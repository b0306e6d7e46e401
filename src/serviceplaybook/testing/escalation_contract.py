"""The escalation policy's contract: run it against your own :class:`EscalationPolicy` subclass.

The suite is a pytest class. Subclass it in your tests and provide a ``policy`` fixture;
every test then runs against your policy, exactly as it runs against the default one::

    from serviceplaybook.testing.escalation_contract import EscalationPolicyContract

    class TestMyPolicy(EscalationPolicyContract):
        @pytest.fixture
        def policy(self):
            return MyEscalationPolicy(...)

It checks what every policy must keep, whatever its own rules: escalation never lowers the
role; a threat always reaches security and ends the conversation; abuse after a boundary
ends it too; every decision has at least one reason and comes from the owner's role; the
brief mentions every declined offer; a chain of escalations and pick-ups never makes more
than ``ladder.max_handoffs + 1`` handoffs; decisions survive storage; an explicit request
always escalates; and a bot may not act once a person owns the conversation. The property
tests draw conversations from :func:`conversations`, which you may reuse.

Override the ``calm_conversation`` fixture if your policy escalates the default calm one
(a first, friendly message from a standard customer) on purpose.

Requires pytest and hypothesis (the ``dev`` extra: ``python3 -m pip install '.[dev]'`` in a
checkout).
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceplaybook._policies.escalation import EscalationPolicy
from serviceplaybook._records.compensation import Approval
from serviceplaybook._records.conversation import Conversation, Handoff, Message
from serviceplaybook._records.escalation import EscalationDecision, HandoffBrief, Urgency
from serviceplaybook._records.issue import Issue, Severity
from serviceplaybook._records.money import Money
from serviceplaybook._records.offers import Offer, OfferKind, OfferStatus, ProposedOffer
from serviceplaybook._records.parties import CUSTOMER, Agent, Channel, Customer, Role
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.sla import SlaStepReached
from serviceplaybook._records.stage import Stage
from serviceplaybook._serialization import from_dict, to_dict
from serviceplaybook.testing.contracts import T0

__all__ = [
    "EscalationPolicyContract",
    "a_calm_conversation",
    "conversations",
    "hear",
    "never_lower",
    "signals",
]

TIERS = ("standard", "gold", "platinum", "vip")
LADDER_ROLES = (Role.BOT, Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR, Role.MANAGER)

# The policy comes from a fixture and is pure, so one per test (not per example) is safe; and
# one test method runs under each subclass of the suite, which is the point of a contract.
_fixtures = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors]
)


@functools.cache
def signals(*, threat: bool | None = None) -> st.SearchStrategy[Signals]:
    """Signals with every flag; ``threat`` fixed when given."""
    return st.builds(
        Signals,
        sentiment=st.sampled_from([-1.0, -0.6, -0.3, 0.0, 0.3, 0.8]) | st.floats(-1.0, 1.0),
        anger=st.floats(0.0, 1.0),
        abusive=st.booleans(),
        threat=st.booleans() if threat is None else st.just(threat),
        legal_threat=st.booleans(),
        wants_manager=st.booleans(),
        repeat_contact=st.booleans(),
        shouting=st.booleans(),
    )


# Strategies drawn inside the composite are built once: building them per draw is slow.
_ANY_ROLE = st.sampled_from(Role)
_STATUSES = st.sampled_from(OfferStatus)
_DESCRIPTIONS = st.sampled_from(["", "store credit", "goodwill credit"])
_DECLINE_REASONS = st.sampled_from([None, "not enough"])
_STAGES = st.sampled_from([Stage.LISTENING, Stage.CLARIFYING, Stage.RESOLVING])
_TIERS = st.sampled_from(TIERS)
_CATEGORIES = st.sampled_from(["billing", "damaged_item", "late_delivery"])
_SEVERITIES = st.sampled_from(Severity)
_ORDER_VALUES = st.none() | st.builds(Money, st.integers(1, 5000), st.sampled_from(["USD", "EUR"]))
_SUMMARIES = st.none() | st.just("The blender's jug arrived cracked")
_GAPS = st.integers(1, 30)
_HANDOFF_GAPS = st.integers(0, 30)
_AMOUNTS = st.integers(1, 500)
_UP_TO = {n: st.integers(0, n) for n in (2, 4, 5)}
_BOOLS = st.booleans()
_STEP_OFFSETS = st.integers(0, 90)


def _minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


@st.composite
def _conversations(draw: st.DrawFn, roles: st.SearchStrategy[Role]) -> Conversation:
    role = draw(roles)
    agent = Agent(id=f"owner-{role.value}", role=role)
    clock = 0
    messages: list[Message] = []
    conversation_signals: list[Signals] = []
    for _ in range(draw(_UP_TO[5])):
        clock += draw(_GAPS)
        if draw(_BOOLS):
            messages.append(Message(author=CUSTOMER, text="...", at=_minutes(clock)))
            conversation_signals.append(draw(signals(threat=False)))
        else:
            messages.append(Message(author=agent.id, text="...", at=_minutes(clock)))

    offers: list[ProposedOffer] = []
    approvals: list[Approval] = []
    for index in range(draw(_UP_TO[4])):
        status = draw(_STATUSES)
        clock += draw(_GAPS)
        offer = Offer(
            kind=OfferKind.CREDIT,
            value=Money(draw(_AMOUNTS), "USD"),
            description=draw(_DESCRIPTIONS),
            id=f"offer-{index}",
        )
        decided = status in (OfferStatus.DECLINED, OfferStatus.ACCEPTED)
        approval_id = None
        if status is OfferStatus.PENDING_APPROVAL:
            approval_id = f"approval-{index}"
            approvals.append(
                Approval(
                    id=approval_id,
                    offer_id=offer.id,
                    requested_by=agent.id,
                    approver_role=draw(_ANY_ROLE),
                    requested_at=_minutes(clock),
                )
            )
        offers.append(
            ProposedOffer(
                offer=offer,
                status=status,
                proposed_by=agent.id,
                proposed_at=_minutes(clock),
                decided_at=_minutes(clock + 1) if decided else None,
                decline_reason=draw(_DECLINE_REASONS) if status is OfferStatus.DECLINED else None,
                approval_id=approval_id,
            )
        )

    handoffs = []
    for number in range(draw(_UP_TO[2])):
        clock += draw(_HANDOFF_GAPS)
        handoffs.append(
            Handoff(
                from_agent=Agent(id=f"earlier-{number}", role=Role.AGENT),
                to_agent=agent,
                at=_minutes(clock),
            )
        )
    sla_steps = [
        SlaStepReached(
            index=index,
            after=timedelta(hours=12 * (index + 1)),
            to=draw(_ANY_ROLE),
            at=_minutes(clock - 30 + draw(_STEP_OFFSETS)),
        )
        for index in range(draw(_UP_TO[2]))
    ]
    clock += 1
    return Conversation(
        id="conv-contract",
        stage=draw(_STAGES),
        customer=Customer(id="cust-contract", tier=draw(_TIERS)),
        issue=Issue(
            category=draw(_CATEGORIES),
            severity=draw(_SEVERITIES),
            summary="The order arrived damaged",
            order_value=draw(_ORDER_VALUES),
        ),
        agent=agent,
        channel=Channel.CHAT,
        opened_at=T0,
        updated_at=_minutes(clock),
        messages=messages,
        signals=conversation_signals,
        summary=draw(_SUMMARIES),
        offers=offers,
        approvals=approvals,
        handoffs=handoffs,
        reopens=draw(_UP_TO[2]),
        sla_steps=sla_steps,
    )


@functools.cache
def conversations(roles: tuple[Role, ...] = tuple(Role)) -> st.SearchStrategy[Conversation]:
    """Conversations owned by one of ``roles``, with messages and their signals (no threats),
    offers in every status (pending ones with their approval), handoffs, reopens and SLA
    steps, in time order."""
    return _conversations(st.sampled_from(roles))


def hear(conversation: Conversation, new: Signals, *, minutes: int = 1) -> Conversation:
    """``conversation`` after a customer message with ``new`` signals, as the desk builds it."""
    at = conversation.updated_at + timedelta(minutes=minutes)
    return attrs.evolve(
        conversation,
        messages=(*conversation.messages, Message(author=CUSTOMER, text="...", at=at)),
        signals=(*conversation.signals, new),
        updated_at=at,
        version=conversation.version + 1,
    )


def never_lower(decision: EscalationDecision) -> bool:
    """True when ``decision`` goes to security, or up (or level at the top), never down."""
    if decision.to is Role.SECURITY:
        return True
    return decision.from_role is not Role.SECURITY and decision.to >= decision.from_role


def a_calm_conversation() -> Conversation:
    """A standard customer's first, friendly message to an agent."""
    base = Conversation(
        id="conv-calm",
        stage=Stage.LISTENING,
        customer=Customer(id="cust-calm"),
        issue=Issue(category="billing", severity="low", summary="A question about an invoice"),
        agent=Agent(id="agent-calm", role=Role.AGENT),
        channel=Channel.CHAT,
        opened_at=T0,
        updated_at=T0,
    )
    return hear(base, Signals(sentiment=0.5))


def _pick_up(conversation: Conversation, decision: EscalationDecision) -> Conversation:
    at = conversation.updated_at + timedelta(minutes=5)
    agent = Agent(id=f"picked-{len(conversation.handoffs)}", role=decision.to)
    return attrs.evolve(
        conversation,
        escalations=(*conversation.escalations, decision),
        handoffs=(
            *conversation.handoffs,
            Handoff(from_agent=conversation.agent, to_agent=agent, at=at, brief=decision.brief),
        ),
        agent=agent,
        stage=Stage.RESOLVING,
        updated_at=at,
    )


class EscalationPolicyContract:
    """What every escalation policy must keep. Provide a ``policy`` fixture."""

    @pytest.fixture
    def calm_conversation(self) -> Conversation:
        """A conversation the policy must not escalate."""
        return a_calm_conversation()

    def test_a_calm_conversation_does_not_escalate(
        self, policy: EscalationPolicy, calm_conversation: Conversation
    ) -> None:
        signals = calm_conversation.signals[-1] if calm_conversation.signals else None
        assert policy.decide(calm_conversation, signals) is None

    @_fixtures
    @given(conversation=conversations(), new=signals())
    def test_escalation_never_lowers_the_role(
        self, policy: EscalationPolicy, conversation: Conversation, new: Signals
    ) -> None:
        heard = hear(conversation, new)
        for decision in (policy.decide(heard, new), policy.decide(conversation, None)):
            if decision is not None:
                assert never_lower(decision), decision

    @_fixtures
    @given(conversation=conversations(), new=signals(threat=True))
    def test_a_threat_always_reaches_security(
        self, policy: EscalationPolicy, conversation: Conversation, new: Signals
    ) -> None:
        decision = policy.decide(hear(conversation, new), new)
        assert decision is not None
        assert decision.to is Role.SECURITY
        assert decision.terminate
        assert decision.urgency is Urgency.IMMEDIATE
        assert "threat" in decision.codes

    def test_abuse_is_answered_in_steps(
        self, policy: EscalationPolicy, calm_conversation: Conversation
    ) -> None:
        """The craft: a calm boundary first, then a higher authority; the conversation goes
        on (only a threat ends it)."""
        abusive = Signals(sentiment=-0.8, anger=0.9, abusive=True)
        first = hear(calm_conversation, abusive)
        boundary = policy.decide(first, abusive)
        if boundary is not None:  # a policy may still hand a first insult up at once
            assert not boundary.terminate
        second = hear(first, abusive)
        decision = policy.decide(second, abusive)
        assert decision is not None
        assert not decision.terminate
        assert decision.to is Role.SECURITY or decision.to >= Role.SUPERVISOR

    @_fixtures
    @given(conversation=conversations(), new=signals())
    def test_every_decision_has_reasons_and_comes_from_the_owner(
        self, policy: EscalationPolicy, conversation: Conversation, new: Signals
    ) -> None:
        heard = hear(conversation, new)
        decision = policy.decide(heard, new)
        if decision is not None:
            assert decision.reasons
            assert all(isinstance(reason, Reason) for reason in decision.reasons)
            assert len(set(decision.codes)) == len(decision.codes)
            assert decision.from_role is heard.agent.role

    @_fixtures
    @given(conversation=conversations())
    def test_the_brief_mentions_every_declined_offer(
        self, policy: EscalationPolicy, conversation: Conversation
    ) -> None:
        brief = policy.brief(conversation)
        assert isinstance(brief, HandoffBrief)
        for proposed in conversation.declined_offers:
            assert proposed.offer in brief.offers_declined
        assert len(brief.offers_declined) == len(conversation.declined_offers)
        decision = policy.requested(conversation)
        assert decision.brief.offers_declined == brief.offers_declined

    @_fixtures
    @given(
        start=conversations(roles=LADDER_ROLES),
        messages=st.lists(signals(threat=False), min_size=1, max_size=12),
    )
    def test_handoffs_never_exceed_the_cap_plus_one(
        self,
        policy: EscalationPolicy,
        start: Conversation,
        messages: list[Signals],
    ) -> None:
        conversation = attrs.evolve(start, handoffs=(), escalations=())
        cap = policy.ladder.max_handoffs + 1
        for new in messages:
            conversation = hear(conversation, new)
            decision = policy.decide(conversation, new)
            if decision is None:
                continue
            assert never_lower(decision)
            if decision.terminate:
                break
            conversation = _pick_up(conversation, decision)
            assert len(conversation.handoffs) <= cap

    @_fixtures
    @given(conversation=conversations(), new=signals())
    def test_decisions_survive_storage(
        self, policy: EscalationPolicy, conversation: Conversation, new: Signals
    ) -> None:
        decision = policy.decide(hear(conversation, new), new) or policy.requested(conversation)
        assert from_dict(to_dict(decision), EscalationDecision) == decision

    @_fixtures
    @given(conversation=conversations(), to=st.none() | st.sampled_from(Role))
    def test_an_explicit_request_always_escalates_never_down(
        self, policy: EscalationPolicy, conversation: Conversation, to: Role | None
    ) -> None:
        reason = Reason(code="agent_request", text="The agent asked for help.")
        decision = policy.requested(conversation, reason, to)
        assert reason in decision.reasons
        assert never_lower(decision)
        if to is Role.SECURITY:
            assert decision.to is Role.SECURITY

    def test_a_bot_may_not_act_once_a_person_owns_the_conversation(
        self, policy: EscalationPolicy, calm_conversation: Conversation
    ) -> None:
        bot = Agent(id="bot-1", role=Role.BOT)
        person = Agent(id="person-1", role=Role.AGENT)
        with_bot = attrs.evolve(calm_conversation, agent=bot)
        assert policy.ladder.may_act(with_bot, bot) is None
        with_person = attrs.evolve(calm_conversation, agent=person)
        refusal = policy.ladder.may_act(with_person, bot)
        assert refusal is not None
        assert policy.ladder.may_act(with_person, person) is None
        assert policy.ladder.may_hand_back(with_person, person, bot) is None
