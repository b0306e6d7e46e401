"""The escalation policy and ladder: one test per rule, the ladder's rules, and properties
over generated conversations: the shared strategies (tests/strategies.py: unicode, any time
zone, any nested record) where the records' variety matters, and the contract suite's lighter
conversations (in time order, with pending approvals and SLA steps) where the rules do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    Apology,
    Approval,
    ConfigError,
    Conversation,
    Customer,
    EscalationDecision,
    EscalationLadder,
    EscalationPolicy,
    Handoff,
    Issue,
    Message,
    Money,
    Offer,
    OfferKind,
    OfferStatus,
    ProposedOffer,
    Reason,
    Role,
    Signals,
    SlaStepReached,
    Stage,
    Urgency,
)
from serviceplaybook._records.parties import CUSTOMER
from serviceplaybook._serialization import from_dict, to_dict
from serviceplaybook.testing.escalation_contract import conversations as light_conversations
from strategies import conversations, reasons, signals

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = Agent(id="sam", role=Role.AGENT)
SUPERVISOR = Agent(id="rita", role=Role.SUPERVISOR)
CALM = Signals(sentiment=0.4)
ABUSIVE = Signals(sentiment=-0.8, anger=0.9, abusive=True)


def conversation(**changes: Any) -> Conversation:
    base = Conversation(
        id="c1",
        stage=Stage.RESOLVING,
        customer=Customer(id="cust-1"),
        issue=Issue(category="damaged_item", severity="high", summary="The jug arrived cracked"),
        agent=AGENT,
        channel="chat",
        opened_at=T0,
        updated_at=T0,
    )
    return attrs.evolve(base, **changes)


def hear(c: Conversation, new: Signals, minutes: int = 1) -> Conversation:
    at = c.updated_at + timedelta(minutes=minutes)
    return attrs.evolve(
        c,
        messages=(*c.messages, Message(author=CUSTOMER, text="...", at=at)),
        signals=(*c.signals, new),
        updated_at=at,
    )


def decide(c: Conversation, new: Signals | None = None, **config: Any) -> EscalationDecision | None:
    policy = EscalationPolicy(**config)
    if new is None:
        return policy.decide(c, None)
    return policy.decide(hear(c, new), new)


def proposed(
    number: int, status: OfferStatus, minutes: int = 0, reason: str | None = None
) -> ProposedOffer:
    at = T0 + timedelta(minutes=minutes)
    decided = status in (OfferStatus.DECLINED, OfferStatus.ACCEPTED)
    return ProposedOffer(
        offer=Offer(kind=OfferKind.CREDIT, value=Money(10 * number, "USD"), id=f"o{number}"),
        status=status,
        proposed_by=AGENT.id,
        proposed_at=at,
        decided_at=at if decided else None,
        decline_reason=reason,
    )


def tried(**changes: Any) -> Conversation:
    """A conversation whose agent confirmed the problem and made an offer."""
    return conversation(understood=True, offers=[proposed(9, OfferStatus.OPEN)], **changes)


def handoff(to: Agent, minutes: int) -> Handoff:
    return Handoff(from_agent=AGENT, to_agent=to, at=T0 + timedelta(minutes=minutes))


def picked_up(c: Conversation, decision: EscalationDecision, minutes: int = 5) -> Conversation:
    """``c`` after ``decision`` was applied and a person of its role picked it up."""
    at = c.updated_at + timedelta(minutes=minutes)
    agent = Agent(id=f"p{len(c.handoffs)}", role=decision.to)
    return attrs.evolve(
        c,
        escalations=(*c.escalations, decision),
        handoffs=(*c.handoffs, Handoff(from_agent=c.agent, to_agent=agent, at=at)),
        agent=agent,
        updated_at=at,
    )


# -- no rule, and the rules one by one ----------------------------------------------------------


def test_no_rule_fired_no_decision() -> None:
    assert decide(conversation(), CALM) is None
    assert decide(conversation()) is None
    assert EscalationPolicy().fired(hear(conversation(), CALM), CALM) == []


def test_a_threat_goes_to_security_and_ends_it() -> None:
    decision = decide(conversation(), Signals(sentiment=-1.0, threat=True))
    assert decision is not None
    assert (decision.to, decision.terminate, decision.urgency) == (
        Role.SECURITY,
        True,
        Urgency.IMMEDIATE,
    )
    assert decision.codes == ("threat",)


def test_first_abuse_gives_the_boundary_its_chance() -> None:
    # the agent sets a calm boundary (guidance); nobody takes the customer away yet
    assert decide(conversation(), ABUSIVE) is None


def test_first_abuse_may_go_to_a_supervisor_at_once_when_configured() -> None:
    decision = decide(conversation(), ABUSIVE, escalate_first_abuse=True)
    assert decision is not None
    assert decision.codes == ("abusive_language",)
    assert (decision.to, decision.urgency, decision.terminate) == (
        Role.SUPERVISOR,
        Urgency.HIGH,
        False,
    )
    assert decide(conversation(agent=SUPERVISOR), ABUSIVE, escalate_first_abuse=True) is None


def test_continued_abuse_after_the_boundary_goes_to_a_supervisor() -> None:
    warned = hear(conversation(), ABUSIVE)
    decision = decide(warned, ABUSIVE)
    assert decision is not None
    assert decision.codes == ("continued_abuse",)
    assert (decision.to, decision.urgency, decision.terminate) == (
        Role.SUPERVISOR,
        Urgency.HIGH,
        False,
    )
    # a policy that ends abusive conversations says so
    ended = decide(warned, ABUSIVE, terminating_codes={"threat", "continued_abuse"})
    assert ended is not None
    assert (ended.to, ended.terminate) == (Role.SECURITY, True)


def test_an_escalation_for_abuse_counts_as_the_boundary() -> None:
    first = EscalationPolicy(escalate_first_abuse=True).decide(
        hear(conversation(), ABUSIVE), ABUSIVE
    )
    assert first is not None
    # the abusive message itself was lost (say, stored elsewhere): the decision remembers it
    after = conversation(escalations=(first,))
    decision = decide(after, ABUSIVE)
    assert decision is not None
    assert decision.codes == ("continued_abuse",)


def test_two_declined_offers_escalate_one_rung() -> None:
    one = conversation(offers=[proposed(1, OfferStatus.DECLINED)])
    assert decide(one) is None
    two = conversation(
        offers=[proposed(1, OfferStatus.DECLINED), proposed(2, OfferStatus.DECLINED)]
    )
    decision = decide(two)
    assert decision is not None
    assert decision.codes == ("offers_declined",)
    assert decision.to is Role.SUPERVISOR  # still unhappy after offers: a supervisor
    assert decide(two, max_declined_offers=3) is None
    assert decide(two, max_declined_offers=0) is None  # turned off


def test_declines_count_since_the_last_handoff() -> None:
    offers = [proposed(n, OfferStatus.DECLINED, minutes=n) for n in (1, 2, 10)]
    after_handoff = conversation(
        agent=SUPERVISOR, offers=offers, handoffs=[handoff(SUPERVISOR, minutes=5)]
    )
    assert decide(after_handoff) is None  # one decline for the supervisor
    more = attrs.evolve(after_handoff, offers=[*offers, proposed(4, OfferStatus.DECLINED, 11)])
    decision = decide(more)
    assert decision is not None
    assert decision.to is Role.MANAGER


def test_a_request_above_authority_goes_to_the_approver() -> None:
    pending = attrs.evolve(proposed(1, OfferStatus.PENDING_APPROVAL), approval_id="a1")
    approval = Approval(
        id="a1",
        offer_id="o1",
        requested_by=AGENT.id,
        approver_role=Role.SUPERVISOR,
        requested_at=T0,
    )
    waiting = conversation(offers=[pending], approvals=[approval])
    decision = decide(waiting, CALM)
    assert decision is not None
    assert decision.codes == ("above_authority",)
    assert decision.to is Role.SUPERVISOR
    assert "supervisor" in decision.reasons[0].text
    assert any("approval pending from a supervisor" in f for f in decision.brief.facts)

    approved = attrs.evolve(approval, approved_by="boss", approved_at=T0)
    open_again = conversation(
        offers=[attrs.evolve(pending, status=OfferStatus.OPEN)], approvals=[approved]
    )
    assert decide(open_again, CALM) is None
    assert decide(attrs.evolve(waiting, agent=SUPERVISOR), CALM) is None  # the approver owns it


def test_asking_for_a_manager_brings_a_supervisor() -> None:
    decision = decide(conversation(), Signals(wants_manager=True))
    assert decision is not None
    assert decision.codes == ("asked_for_manager",)
    assert decision.to is Role.SUPERVISOR


@pytest.mark.parametrize(
    ("scores", "fires"),
    [
        ([0.2, -0.1, -0.4], True),
        ([0.5, 0.3, 0.1], False),  # falling but still positive
        ([0.2, -0.4, -0.4], False),  # not strictly lower
        ([-0.1, -0.4], False),  # too few messages
        ([-0.4, 0.5, 0.2, -0.1, -0.5], True),  # the last three fall
    ],
)
def test_sentiment_falling_across_the_last_turns(scores: list[float], fires: bool) -> None:
    c = tried()
    for score in scores[:-1]:
        c = hear(c, Signals(sentiment=score))
    decision = decide(c, Signals(sentiment=scores[-1]))
    assert (decision is not None and decision.codes == ("sentiment_falling",)) is fires


def test_sentiment_window_is_configurable_and_restarts_at_a_handoff() -> None:
    c = hear(tried(), Signals(sentiment=0.1))
    decision = decide(c, Signals(sentiment=-0.2), sentiment_window=2)
    assert decision is not None
    assert decision.to is Role.SENIOR_AGENT
    assert decide(c, Signals(sentiment=-0.2), sentiment_window=0) is None
    # two messages fell for the previous owner: the new owner has heard only one
    c = hear(hear(tried(), Signals(sentiment=0.5)), Signals(sentiment=0.1))
    taken = attrs.evolve(
        c,
        agent=Agent(id="s", role=Role.SENIOR_AGENT),
        handoffs=[handoff(Agent(id="s", role=Role.SENIOR_AGENT), minutes=3)],
    )
    assert decide(taken, Signals(sentiment=-0.3)) is None
    assert decide(c, Signals(sentiment=-0.3)) is not None


def test_sentiment_needs_a_new_message() -> None:
    c = conversation()
    for score in (0.2, -0.1, -0.4):
        c = hear(c, Signals(sentiment=score))
    assert decide(c) is None  # a decline, not a message: the mood was already judged


def test_repeat_contact_by_reopen_or_said_twice() -> None:
    unhappy = Signals(sentiment=-0.4)
    reopened = decide(tried(reopens=1), unhappy)
    assert reopened is not None
    assert reopened.codes == ("repeat_contact",)
    assert reopened.to is Role.SENIOR_AGENT
    assert decide(tried(reopens=1), CALM) is None  # back, but not unhappy with the new try
    assert decide(tried(reopens=1), unhappy, reopens_to_escalate=2) is None

    said = Signals(sentiment=-0.3, repeat_contact=True)
    assert decide(tried(), said) is None  # the first mention: acknowledge it
    again = decide(hear(tried(), said), said)
    assert again is not None
    assert again.codes == ("repeat_contact",)
    assert decide(tried(), said, repeat_contact_mentions=1) is not None
    assert decide(tried(), said, repeat_contact_mentions=0) is None


def test_repeat_contact_and_falling_mood_wait_until_the_agent_has_tried() -> None:
    said = Signals(sentiment=-0.3, repeat_contact=True)
    twice = hear(conversation(), said)
    # nobody confirmed the problem or offered anything yet: the customer is not passed on
    assert decide(twice, said) is None
    assert decide(attrs.evolve(twice, understood=True), said) is None  # confirmed, not tried
    assert decide(twice, said, wait_until_tried=()) is not None  # configurable
    # the reason travels with one that escalates at once
    ask = Signals(sentiment=-0.3, repeat_contact=True, wants_manager=True)
    decision = decide(twice, ask)
    assert decision is not None
    assert decision.codes == ("asked_for_manager", "repeat_contact")
    # an offer made before a reopen is not a try at the new round
    before = tried(reopens=1, reopened_at=T0 + timedelta(minutes=30))
    assert decide(before, Signals(sentiment=-0.4)) is None


def test_repeat_contact_does_not_climb_again_once_a_senior_owns_it() -> None:
    senior = Agent(id="s", role=Role.SENIOR_AGENT)
    assert decide(conversation(reopens=2, agent=senior), CALM) is None


UPSET = Signals(sentiment=-0.6, anger=0.6)


def test_high_value_by_tier_when_upset() -> None:
    platinum = conversation(customer=Customer(id="p", tier="platinum"))
    assert decide(platinum, UPSET) is None  # no tier is high value by default
    decision = decide(platinum, UPSET, high_value_tiers={"platinum"})
    assert decision is not None
    assert decision.codes == ("high_value_customer",)
    assert (decision.to, decision.urgency) == (Role.SENIOR_AGENT, Urgency.HIGH)
    assert "tier platinum" in decision.reasons[0].text
    assert decide(platinum, CALM, high_value_tiers={"platinum"}) is None


def test_high_value_by_order_value_in_the_same_currency_only() -> None:
    def order(amount: str, currency: str) -> Conversation:
        issue = Issue(
            category="billing", severity="low", summary="x", order_value=Money(amount, currency)
        )
        return conversation(issue=issue)

    thresholds = [Money("1000", "USD"), Money("900", "EUR")]
    assert decide(order("1000.00", "USD"), UPSET, high_value_orders=thresholds) is not None
    assert decide(order("999.99", "USD"), UPSET, high_value_orders=thresholds) is None
    assert decide(order("950", "EUR"), UPSET, high_value_orders=thresholds) is not None
    # no threshold in yen: never converted, so never high value
    assert decide(order("5000000", "JPY"), UPSET, high_value_orders=thresholds) is None
    one = EscalationPolicy(high_value_orders=Money("10", "USD"))
    assert one.high_value_orders == (Money("10", "USD"),)


def test_high_value_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="USD twice"):
        EscalationPolicy(high_value_orders=[Money(1, "USD"), Money(2, "USD")])
    with pytest.raises(ConfigError, match="string 'platinum'"):
        EscalationPolicy(high_value_tiers="platinum")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="must hold Money"):
        EscalationPolicy(high_value_orders=["1000 USD"])  # type: ignore[list-item]


def step(index: int, to: Role, minutes: int) -> SlaStepReached:
    return SlaStepReached(
        index=index,
        after=timedelta(hours=12 * (index + 1)),
        to=to,
        at=T0 + timedelta(minutes=minutes),
    )


def test_an_sla_step_escalates_to_its_role_once() -> None:
    late = conversation(sla_steps=[step(0, Role.SUPERVISOR, 0)], updated_at=T0)
    decision = decide(late)
    assert decision is not None
    assert decision.codes == ("sla_step_reached",)
    assert (decision.to, decision.urgency) == (Role.SUPERVISOR, Urgency.HIGH)
    assert "12 business hours" in decision.reasons[0].text
    assert decision.at == T0

    acted = picked_up(late, decision)
    assert decide(acted) is None  # recorded before the escalation: acted on
    next_step = attrs.evolve(acted, sla_steps=[*acted.sla_steps, step(1, Role.MANAGER, 30)])
    again = decide(next_step)
    assert again is not None
    assert again.to is Role.MANAGER


def test_an_sla_step_to_security_means_the_top_and_old_decisions_count_as_acted_on() -> None:
    to_security = conversation(sla_steps=[step(0, Role.SECURITY, 0)])
    decision = decide(to_security)
    assert decision is not None
    assert (decision.to, decision.terminate) == (Role.MANAGER, False)
    timeless = attrs.evolve(decision, at=None)
    assert decide(attrs.evolve(to_security, escalations=[timeless])) is None


def test_all_reasons_are_named_and_the_highest_need_wins() -> None:
    c = conversation(
        reopens=1,
        offers=[proposed(1, OfferStatus.DECLINED, reason="Not enough"), proposed(2, "declined")],
    )
    decision = decide(c, Signals(sentiment=-0.5, wants_manager=True))
    assert decision is not None
    assert decision.codes == ("asked_for_manager", "offers_declined", "repeat_contact")
    assert decision.to is Role.SUPERVISOR


def test_a_threat_outranks_everything_and_names_every_reason() -> None:
    decision = decide(tried(reopens=1), Signals(sentiment=-0.6, threat=True, wants_manager=True))
    assert decision is not None
    assert decision.codes == ("threat", "asked_for_manager", "repeat_contact")
    assert (decision.to, decision.terminate) == (Role.SECURITY, True)


def test_security_owns_what_it_took_over() -> None:
    guard = Agent(id="sec", role=Role.SECURITY)
    assert decide(conversation(agent=guard), Signals(wants_manager=True)) is None
    threat = decide(conversation(agent=guard), Signals(threat=True))
    assert threat is not None
    assert threat.terminate


def test_minimum_roles_may_send_a_reason_to_security_without_ending_it() -> None:
    class FraudPolicy(EscalationPolicy):
        def rules(self) -> tuple[Any, ...]:
            return (*super().rules(), self.fraud)

        def fraud(self, c: Conversation, s: Signals | None) -> Reason | None:
            return Reason(code="fraud_suspected", text="The account may be taken over.")

    policy = FraudPolicy(minimum_roles={"fraud_suspected": "security"})
    decision = policy.decide(conversation(), None)
    assert decision is not None
    assert (decision.to, decision.terminate) == (Role.SECURITY, False)


def test_minimum_roles_are_checked() -> None:
    with pytest.raises(ConfigError, match="snake_case"):
        EscalationPolicy(minimum_roles={"Not A Code": Role.MANAGER})
    with pytest.raises(ConfigError, match="not a valid Role"):
        EscalationPolicy(minimum_roles={"asked_for_manager": "ceo"})


def test_overriding_one_rule_changes_only_that_rule() -> None:
    class NoManagerAsks(EscalationPolicy):
        def asked_for_manager(self, c: Conversation, s: Signals | None) -> Reason | None:
            return None

    policy = NoManagerAsks()
    ask = Signals(wants_manager=True)
    assert policy.decide(hear(conversation(), ask), ask) is None
    abused = hear(conversation(), ABUSIVE)
    assert policy.decide(hear(abused, ABUSIVE), ABUSIVE) is not None


# -- the brief ----------------------------------------------------------------------------------


def test_the_brief_carries_the_whole_story() -> None:
    c = conversation(
        summary="Your blender's jug arrived cracked and you can't use it.",
        understood=True,
        apologies=[Apology(text="I'm sorry the jug arrived cracked.", by="sam", at=T0)],
        offers=[
            proposed(1, OfferStatus.DECLINED, reason="Not enough"),
            proposed(2, OfferStatus.OPEN),
        ],
        reopens=1,
    )
    for score in (0.3, 0.0, -0.6):
        c = hear(c, Signals(sentiment=score, repeat_contact=score < 0))
    brief = EscalationPolicy().brief(c)
    assert brief.summary.startswith("Your blender's jug")
    assert brief.confirmed
    assert brief.tried == (
        "declined: credit 10.00 USD; the customer said: Not enough",
        "open: credit 20.00 USD",
    )
    assert [o.id for o in brief.offers_declined] == ["o1"]
    assert brief.apologies == ("I'm sorry the jug arrived cracked.",)
    assert brief.mood == "unhappy, worsening"
    assert "issue: damaged_item, severity high" in brief.facts
    assert "reopened 1 time(s)" in brief.facts
    assert "the customer says they contacted us before about this" in brief.facts


def test_the_brief_falls_back_to_the_issue_and_records_handoffs() -> None:
    c = conversation(handoffs=[handoff(SUPERVISOR, 1)], agent=SUPERVISOR)
    brief = EscalationPolicy().brief(c)
    assert brief.summary == "The jug arrived cracked"
    assert not brief.confirmed
    assert brief.mood == "unknown"
    assert brief.tried == ("handed from agent sam to supervisor rita",)


# -- the ladder --------------------------------------------------------------------------------


def test_the_ladder_climbs_one_rung_and_never_down() -> None:
    ladder = EscalationLadder()
    assert ladder.bottom is Role.BOT
    assert ladder.target(Role.BOT) is Role.AGENT
    assert ladder.target(Role.AGENT) is Role.SENIOR_AGENT
    assert ladder.target(Role.AGENT, minimum=Role.SUPERVISOR) is Role.SUPERVISOR
    assert ladder.target(Role.SUPERVISOR, minimum=Role.AGENT) is Role.MANAGER
    assert ladder.target(Role.MANAGER) is Role.MANAGER
    assert ladder.target(Role.AGENT, handoffs=2) is Role.MANAGER  # no more hops
    assert ladder.target(Role.AGENT, minimum=Role.SECURITY) is Role.SECURITY
    assert ladder.target(Role.SECURITY) is Role.SECURITY


def test_a_short_ladder_rounds_up_to_its_rungs() -> None:
    ladder = EscalationLadder(roles=("agent", "supervisor"))
    assert ladder.rung_for(Role.SENIOR_AGENT) is Role.SUPERVISOR
    assert ladder.rung_for(Role.MANAGER) is Role.SUPERVISOR
    assert ladder.target(Role.BOT) is Role.AGENT
    assert ladder.target(Role.MANAGER) is Role.MANAGER  # above the top: never down


@pytest.mark.parametrize(
    ("roles", "match"),
    [
        ((), "at least one role"),
        ((Role.AGENT, Role.SECURITY), "must not contain Role.SECURITY"),
        ((Role.MANAGER, Role.AGENT), "strictly upwards"),
        ((Role.AGENT, Role.AGENT), "strictly upwards"),
    ],
)
def test_a_bad_ladder_is_a_config_error(roles: tuple[Role, ...], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        EscalationLadder(roles=roles)


def test_handing_back_to_a_bot_does_not_count_as_a_hop() -> None:
    bot = Agent(id="bot", role=Role.BOT)
    c = conversation(handoffs=[handoff(AGENT, 1), handoff(bot, 2), handoff(AGENT, 3)])
    assert EscalationLadder().hops(c) == 2


def test_a_bot_is_refused_once_a_person_owns_the_conversation() -> None:
    ladder = EscalationLadder()
    bot = Agent(id="bot", role=Role.BOT)
    with_bot = conversation(agent=bot)
    assert ladder.may_act(with_bot, bot) is None
    assert ladder.may_act(with_bot, AGENT) is None  # people may always act
    waiting = attrs.evolve(with_bot, stage=Stage.ESCALATED)
    refused = ladder.may_act(waiting, bot)
    assert refused is not None
    assert refused.code == "awaiting_person"
    owned = conversation(agent=AGENT, handoffs=[Handoff(from_agent=bot, to_agent=AGENT, at=T0)])
    refused = ladder.may_act(owned, bot)
    assert refused is not None
    assert refused.code == "person_owns_conversation"
    # handed back by the person: the bot may act again
    assert ladder.may_hand_back(owned, AGENT, bot) is None
    handed_back = attrs.evolve(owned, agent=bot)
    assert ladder.may_act(handed_back, bot) is None


def test_who_may_hand_back_to_a_bot() -> None:
    ladder = EscalationLadder()
    bot = Agent(id="bot", role=Role.BOT)
    owned = conversation(agent=SUPERVISOR)
    assert ladder.may_hand_back(owned, AGENT, bot) is not None  # below the owner
    assert ladder.may_hand_back(owned, bot, bot) is not None  # a bot cannot
    assert ladder.may_hand_back(owned, SUPERVISOR, AGENT) is not None  # not a bot
    assert ladder.may_hand_back(owned, Agent(id="m", role=Role.MANAGER), bot) is None
    waiting = attrs.evolve(owned, stage=Stage.ESCALATED)
    assert ladder.may_hand_back(waiting, SUPERVISOR, bot) is not None


# -- explicit requests and storage -------------------------------------------------------------


def test_an_explicit_request() -> None:
    policy = EscalationPolicy()
    decision = policy.requested(conversation())
    assert decision.codes == ("agent_request",)
    assert decision.to is Role.SENIOR_AGENT
    later = T0 + timedelta(hours=1)
    to_security = policy.requested(conversation(), None, Role.SECURITY, at=later)
    assert (to_security.to, to_security.terminate, to_security.at) == (Role.SECURITY, False, later)


def test_a_decision_survives_storage_with_its_time() -> None:
    decision = decide(conversation(reopens=1), Signals(wants_manager=True))
    assert decision is not None
    assert decision.at is not None
    assert from_dict(to_dict(decision), EscalationDecision) == decision


# -- properties over generated conversations ---------------------------------------------------


def never_lower(decision: EscalationDecision) -> bool:
    if decision.to is Role.SECURITY:
        return True
    return decision.from_role is not Role.SECURITY and decision.to >= decision.from_role


@given(c=conversations(), new=signals())
def test_escalation_never_lowers_the_role(c: Conversation, new: Signals) -> None:
    policy = EscalationPolicy()
    for decision in (policy.decide(hear(c, new), new), policy.decide(c, None)):
        if decision is not None:
            assert never_lower(decision)
            assert decision.from_role is c.agent.role


@given(c=light_conversations(), to=st.none() | st.sampled_from(Role), reason=st.none() | reasons())
def test_an_explicit_request_never_lowers_the_role(
    c: Conversation, to: Role | None, reason: Reason | None
) -> None:
    decision = EscalationPolicy().requested(c, reason, to)
    assert never_lower(decision)
    assert len(decision.reasons) == 1


@given(c=light_conversations(), new=signals())
def test_a_threat_always_reaches_security(c: Conversation, new: Signals) -> None:
    threat = attrs.evolve(new, threat=True)
    decision = EscalationPolicy().decide(hear(c, threat), threat)
    assert decision is not None
    assert (decision.to, decision.terminate, decision.urgency) == (
        Role.SECURITY,
        True,
        Urgency.IMMEDIATE,
    )


@given(c=light_conversations(), new=signals())
def test_every_decision_has_at_least_one_reason(c: Conversation, new: Signals) -> None:
    policy = EscalationPolicy()
    heard = hear(c, new)
    decision = policy.decide(heard, new)
    fired = policy.fired(heard, new)
    assert (decision is None) or (len(decision.reasons) >= 1)
    if decision is not None:
        assert list(decision.reasons) == fired
    if not fired:
        assert decision is None


@given(c=light_conversations(), new=signals())
def test_the_brief_mentions_every_declined_offer(c: Conversation, new: Signals) -> None:
    policy = EscalationPolicy()
    decision = policy.decide(hear(c, new), new) or policy.requested(c)
    declined = [p.offer for p in c.offers if p.status is OfferStatus.DECLINED]
    assert list(decision.brief.offers_declined) == declined
    for offer in declined:
        assert any(
            line.startswith(f"declined: {offer.kind.value}") for line in decision.brief.tried
        )


_LADDER_ROLES = st.sampled_from(
    [Role.BOT, Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR, Role.MANAGER]
)
_EVENTS = st.lists(
    st.one_of(
        signals().map(lambda s: attrs.evolve(s, threat=False)),
        st.sampled_from(["decline", "reopen", "sla_step"]),
    ),
    min_size=1,
    max_size=15,
)


@given(
    start=light_conversations(),
    role=_LADDER_ROLES,
    events=_EVENTS,
    max_handoffs=st.integers(0, 3),
    sla_role=st.sampled_from(Role),
)
def test_the_handoff_count_never_exceeds_max_handoffs_plus_one(
    start: Conversation,
    role: Role,
    events: list[Signals | str],
    max_handoffs: int,
    sla_role: Role,
) -> None:
    policy = EscalationPolicy(ladder=EscalationLadder(max_handoffs=max_handoffs))
    c = attrs.evolve(
        start,
        agent=Agent(id="first", role=role),
        handoffs=(),
        escalations=(),
        sla_steps=(),
        offers=(),
        approvals=(),
        stage=Stage.RESOLVING,
    )
    current = role
    for number, event in enumerate(events):
        new: Signals | None = None
        if isinstance(event, Signals):
            new = event
            c = hear(c, new)
        elif event == "decline":
            at = c.updated_at + timedelta(minutes=1)
            offer = ProposedOffer(
                offer=Offer(kind=OfferKind.GOODWILL, id=f"o{number}"),
                status=OfferStatus.DECLINED,
                proposed_by=c.agent.id,
                proposed_at=at,
                decided_at=at,
            )
            c = attrs.evolve(c, offers=(*c.offers, offer), updated_at=at)
        elif event == "reopen":
            c = attrs.evolve(c, reopens=c.reopens + 1, updated_at=c.updated_at + timedelta(1))
        else:
            at = c.updated_at + timedelta(minutes=1)
            reached = SlaStepReached(
                index=len(c.sla_steps), after=timedelta(hours=12), to=sla_role, at=at
            )
            c = attrs.evolve(c, sla_steps=(*c.sla_steps, reached), updated_at=at)
        decision = policy.decide(c, new)
        if decision is None:
            continue
        assert never_lower(decision)
        assert decision.to is Role.SECURITY or decision.to >= current
        if decision.terminate:
            break
        c = picked_up(c, decision)
        current = decision.to
        assert len(c.handoffs) <= max_handoffs + 1


# -- every policy runs every rule; an override takes effect -------------------------------

_RULE_NAMES = [
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
]
_ALWAYS = Reason(code="custom_rule", text="The integrator's rule fired.")


def test_rules_lists_every_rule_once() -> None:
    policy = EscalationPolicy()
    assert [rule.__name__ for rule in policy.rules()] == _RULE_NAMES


@pytest.mark.parametrize("name", _RULE_NAMES)
def test_an_overridden_rule_is_called_even_where_the_stock_rule_cannot_fire(name: str) -> None:
    def rule(self: EscalationPolicy, conversation: Conversation, latest: Signals | None) -> Reason:
        return _ALWAYS

    policy = attrs.define(type("Custom", (EscalationPolicy,), {name: rule}))()
    calm = conversation(stage=Stage.LISTENING, signals=(Signals(),))
    assert EscalationPolicy().fired(calm, Signals()) == []
    assert policy.fired(calm, Signals()) == [_ALWAYS]
    decision = policy.decide(calm, Signals())
    assert decision is not None
    assert decision.codes == ("custom_rule",)


@pytest.mark.parametrize("latest", [None, Signals(), ABUSIVE])
def test_the_stock_policy_and_a_subclass_call_the_same_rules(latest: Signals | None) -> None:
    called: list[str] = []

    def watched(policy: EscalationPolicy) -> list[Any]:
        def wrap(rule: Any) -> Any:
            def call(c: Conversation, s: Signals | None) -> Reason | None:
                called.append(rule.__name__)
                return rule(c, s)  # type: ignore[no-any-return]

            return call

        return [wrap(rule) for rule in EscalationPolicy.rules(policy)]

    class Watching(EscalationPolicy):
        def rules(self) -> Any:
            return watched(self)

    class Subclass(Watching):
        pass

    calm = conversation(stage=Stage.LISTENING)
    for policy in (Watching(), Subclass()):
        called.clear()
        policy.fired(calm, latest)
        assert called == _RULE_NAMES


def test_an_overridden_reading_is_used_even_without_approvals() -> None:
    waiting = Approval(
        id="ap1",
        offer_id="o1",
        requested_by="a1",
        approver_role=Role.MANAGER,
        requested_at=T0,
    )

    class FromElsewhere(EscalationPolicy):
        def pending_approvals(self, conversation: Conversation) -> tuple[Approval, ...]:
            return (waiting,)  # e.g. read from the host application's own approval queue

    calm = conversation(stage=Stage.LISTENING, signals=(Signals(),))
    assert [r.code for r in FromElsewhere().fired(calm, Signals())] == ["above_authority"]
