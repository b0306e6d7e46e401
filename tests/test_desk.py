"""ServiceDesk: each call one unit of work, with the craft's decisions in its outcome."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from serviceplaybook import (
    Agent,
    ApprovalRequired,
    Channel,
    ConcurrentUpdate,
    Customer,
    FollowUp,
    FollowUpStatus,
    IllegalTransition,
    Issue,
    Money,
    NotFound,
    Offer,
    OfferKind,
    OfferStatus,
    PolicyViolation,
    Role,
    ServiceDesk,
    Stage,
    ValidationError,
)
from serviceplaybook.testing import FakeClock, SequentialIds

AGENT = Agent(id="agent-7", name="Sam", role=Role.AGENT)
SUPERVISOR = Agent(id="sup-1", name="Rita", role=Role.SUPERVISOR)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def desk(clock: FakeClock) -> ServiceDesk:
    return ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"))


def open_conversation(desk: ServiceDesk, **customer: object) -> str:
    conversation = desk.open(
        customer=Customer(**{"id": "cust-1", "name": "Ann", **customer}),  # type: ignore[arg-type]
        issue=Issue(
            category="damaged_item",
            severity="medium",
            summary="The blender arrived with a cracked jug",
            order_value=Money("120.00", "USD"),
        ),
        agent=AGENT,
    )
    return conversation.id


def understood(desk: ServiceDesk, **customer: object) -> str:
    cid = open_conversation(desk, **customer)
    desk.hear(cid, "My blender arrived broken.")
    desk.summarize(cid, "The jug of your new blender arrived cracked, so you can't use it.")
    desk.confirm(cid)
    return cid


def test_open_records_version_one_and_its_journal_entry(desk: ServiceDesk) -> None:
    cid = open_conversation(desk, preferred_channel=Channel.CHAT)
    conversation = desk.get(cid)
    assert conversation.stage == Stage.GREETING
    assert conversation.version == 1
    assert conversation.channel is Channel.CHAT
    [entry] = desk.history(cid)
    assert (entry.seq, entry.kind, entry.stage) == (1, "open", "greeting")
    assert entry.data["customer_id"] == "cust-1"
    assert "Ann" not in repr(entry.data)  # the customer's name is not journaled


def test_angry_message_guidance_acknowledges_feelings_first(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    outcome = desk.hear(cid, "This is the THIRD time I write!!! Absolutely RIDICULOUS.")
    codes = [g.code for g in outcome.guidance]
    assert {"stay_calm", "acknowledge_feelings", "do_not_propose_yet"} <= set(codes)
    assert "acknowledge_repeat_contact" in codes
    assert outcome.signals is not None
    assert outcome.signals.shouting
    assert outcome.signals.repeat_contact
    assert outcome.escalation is None


def test_abuse_in_steps_boundary_then_supervisor_then_security(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    first = desk.hear(cid, "You are an idiot.")
    # the boundary gets its chance: guidance, no escalation
    assert first.events == ("hear",)
    assert first.conversation.stage == Stage.LISTENING
    assert first.escalation is None
    assert "set_calm_boundary" in [g.code for g in first.guidance]
    desk.say(cid, "I want to help you with this, and I need us to keep it respectful.")

    second = desk.hear(cid, "Idiot. Useless idiot.")
    assert second.events == ("hear", "escalate")
    assert second.conversation.stage == Stage.ESCALATED
    assert second.escalation is not None
    assert second.escalation.to is Role.SUPERVISOR
    assert second.escalation.codes == ("continued_abuse",)
    assert not second.escalation.terminate
    codes = [g.code for g in second.guidance]
    assert "boundary_held" in codes
    assert "set_calm_boundary" not in codes

    third = desk.hear(cid, "I will find where you live.")
    assert third.events == ("hear", "terminate")
    assert third.conversation.stage == Stage.TERMINATED
    assert third.escalation is not None
    assert third.escalation.to is Role.SECURITY
    assert third.escalation.terminate
    assert third.conversation.termination is not None
    assert third.conversation.termination.code == "threat"


def test_a_threat_goes_to_security_at_once(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    outcome = desk.hear(cid, "I will find where you live.")
    assert outcome.events == ("hear", "terminate")
    assert outcome.escalation is not None
    assert outcome.escalation.to is Role.SECURITY
    assert "safety_first" in [g.code for g in outcome.guidance]


def test_within_authority_then_above_it_with_four_eyes(desk: ServiceDesk) -> None:
    cid = understood(desk)
    small = Offer(kind=OfferKind.CREDIT, value=Money("50.00", "USD"), id="small")
    outcome = desk.propose(cid, small)  # the limit is inclusive
    assert outcome.authorization is not None
    assert outcome.authorization.granted

    big = Offer(kind=OfferKind.REFUND, value=Money("120.00", "USD"), id="big")
    with pytest.raises(ApprovalRequired) as required:
        desk.propose(cid, big)
    assert required.value.approver_role is Role.SENIOR_AGENT
    assert desk.get(cid).offer("big").status is OfferStatus.PENDING_APPROVAL
    with pytest.raises(IllegalTransition):
        desk.accept(cid, "big")  # not on the table until approved

    with pytest.raises(PolicyViolation, match="Nobody approves their own"):
        desk.approve(cid, required.value.approval_id, AGENT)
    with pytest.raises(PolicyViolation, match="may not grant"):
        desk.approve(cid, required.value.approval_id, Agent(id="a2", role=Role.AGENT))
    desk.approve(cid, required.value.approval_id, SUPERVISOR)
    assert desk.get(cid).offer("big").status is OfferStatus.OPEN

    accepted = desk.accept(cid, "big")
    assert accepted.events == ("accept", "schedule_follow_up")
    assert accepted.conversation.stage == Stage.FOLLOWING_UP
    [grant] = desk.storage.ledger.grants("cust-1")
    assert grant.offer == big
    assert grant.approved_by == "sup-1"


def test_denied_offer_changes_nothing(desk: ServiceDesk) -> None:
    cid = understood(desk)
    before = desk.get(cid), desk.history(cid)
    with pytest.raises(PolicyViolation, match="No role may grant"):
        desk.propose(cid, Offer(kind=OfferKind.REFUND, value=Money("99999", "USD")))
    assert (desk.get(cid), desk.history(cid)) == before


def test_offer_in_another_currency_is_refused(desk: ServiceDesk) -> None:
    from serviceplaybook import CurrencyMismatch

    cid = understood(desk)
    with pytest.raises(CurrencyMismatch):
        desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("10", "EUR")))


def test_a_declined_offer_is_not_proposed_again(desk: ServiceDesk) -> None:
    cid = understood(desk)
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("20", "USD"), id="o1"))
    desk.decline(cid, "o1", "Not enough")
    with pytest.raises(PolicyViolation, match="already declined"):
        desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("20", "USD"), id="o2"))


def test_two_declines_escalate_with_a_brief(desk: ServiceDesk) -> None:
    cid = understood(desk)
    desk.apologize(cid)
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("20", "USD"), id="o1"))
    assert desk.decline(cid, "o1").escalation is None
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("40", "USD"), id="o2"))
    outcome = desk.decline(cid, "o2", "Still not enough")
    assert outcome.events == ("decline", "escalate")
    decision = outcome.escalation
    assert decision is not None
    assert decision.codes == ("offers_declined",)
    assert decision.to is Role.SUPERVISOR
    assert [o.id for o in decision.brief.offers_declined] == ["o1", "o2"]
    assert decision.brief.summary.startswith("The jug of your new blender")
    assert len(decision.brief.apologies) == 1

    picked = desk.pick_up(cid, SUPERVISOR)
    assert picked.conversation.stage == Stage.RESOLVING  # understood: no questions again
    assert picked.conversation.handoffs[-1].brief == decision.brief


def test_apology_waits_for_the_summary_and_is_capped(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    desk.hear(cid, "My blender arrived broken.")
    with pytest.raises(IllegalTransition):
        desk.apologize(cid)  # listening: empathy, not yet an apology
    desk.summarize(cid, "The jug of your blender arrived cracked.")
    first = desk.apologize(cid)
    assert first.apology is not None
    assert "cracked jug" in first.apology.text
    again = desk.apologize(cid)
    assert again.apology is None
    assert again.apology_decision is not None
    assert again.apology_decision.reasons[0].code == "apologized_already"


def test_stale_version_is_refused(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    seen = desk.get(cid).version
    desk.hear(cid, "Hello?")
    with pytest.raises(ConcurrentUpdate) as caught:
        desk.ask(cid, "What happened?", expected_version=seen)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert desk.get(cid).version == 2


def test_a_failing_write_leaves_nothing_half_done(desk: ServiceDesk) -> None:
    cid = understood(desk)
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("20", "USD"), id="o1"))
    before = desk.get(cid), desk.history(cid)

    def broken(follow_up: FollowUp) -> None:
        raise OSError("disk full")

    desk.storage.follow_ups.schedule = broken  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        desk.accept(cid, "o1")
    assert (desk.get(cid), desk.history(cid)) == before
    assert desk.storage.ledger.grants("cust-1") == []


def test_unknown_ids_are_not_found(desk: ServiceDesk) -> None:
    with pytest.raises(NotFound, match="no conversation with id 'nope'"):
        desk.hear("nope", "hello")
    with pytest.raises(NotFound):
        desk.history("nope")
    cid = understood(desk)
    with pytest.raises(NotFound, match="offers in conversation"):
        desk.accept(cid, "missing")


def test_naive_clock_is_refused() -> None:
    desk = ServiceDesk.in_memory(clock=lambda: datetime(2026, 1, 1, 9, 0))
    with pytest.raises(ValidationError, match="timezone-aware"):
        open_conversation(desk)


class Outbox:
    def __init__(self, failures: int = 0) -> None:
        self.sent: list[FollowUp] = []
        self.failures = failures

    def dispatch(self, follow_up: FollowUp) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("mail server down for ann@example.com")
        self.sent.append(follow_up)


def test_follow_up_is_delivered_when_due_and_only_then(desk: ServiceDesk, clock: FakeClock) -> None:
    cid = understood(desk)
    outcome = desk.resolve(cid)
    follow_up = outcome.follow_up
    assert follow_up is not None
    assert follow_up.due_at == clock.now + timedelta(days=2)
    outbox = Outbox()
    assert desk.run_follow_ups(outbox) == 0
    clock.advance(days=2)
    assert desk.run_follow_ups(outbox) == 1
    assert [f.key for f in outbox.sent] == [follow_up.key]
    assert desk.run_follow_ups(outbox) == 0  # delivered once
    closed = desk.complete_follow_up(cid, "Works now, thanks")
    assert closed.conversation.stage == Stage.CLOSED
    assert closed.conversation.feedback == "Works now, thanks"


def test_failing_dispatch_retries_with_backoff_then_fails_visibly(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    desk = ServiceDesk.in_memory(clock=clock, max_delivery_attempts=3)
    cid = understood(desk)
    follow_up = desk.resolve(cid).follow_up
    assert follow_up is not None
    clock.advance(days=2)
    outbox = Outbox(failures=10)
    assert desk.run_follow_ups(outbox) == 0
    assert desk.storage.follow_ups.status(follow_up.id) is FollowUpStatus.PENDING
    clock.advance(minutes=5)
    assert desk.run_follow_ups(outbox) == 0
    assert outbox.failures == 8
    clock.advance(minutes=9)  # the second wait is twice the first: not due yet
    assert desk.run_follow_ups(outbox) == 0
    assert outbox.failures == 8
    assert desk.storage.follow_ups.status(follow_up.id) is FollowUpStatus.PENDING
    clock.advance(minutes=1)
    assert desk.run_follow_ups(outbox) == 0
    assert desk.storage.follow_ups.status(follow_up.id) is FollowUpStatus.FAILED
    assert outbox.failures == 7  # three attempts, no more
    assert "ann@example.com" not in caplog.text
    assert "[email]" in caplog.text


class Interrupted:
    """Sends two follow-ups, then the operator presses Ctrl-C during the third."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def dispatch(self, follow_up: FollowUp) -> None:
        if len(self.sent) == 2:
            raise KeyboardInterrupt
        self.sent.append(follow_up.id)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_ctrl_c_gives_back_every_unsent_claim(
    backend: str, clock: FakeClock, tmp_path: Path
) -> None:
    desk = (
        ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"))
        if backend == "memory"
        else ServiceDesk.sqlite(tmp_path / "desk.db", clock=clock, ids=SequentialIds("c"))
    )
    # five customers: one survey per customer within the cooldown
    resolved = [desk.resolve(understood(desk, id=f"cust-{n}")).follow_up for n in range(5)]
    clock.advance(days=2)
    interrupted = Interrupted()
    reported: list[tuple[str, FollowUpStatus]] = []
    with pytest.raises(KeyboardInterrupt):
        desk.run_follow_ups(interrupted, limit=4, report=lambda f, s: reported.append((f.id, s)))
    assert reported == [(i, FollowUpStatus.DELIVERED) for i in interrupted.sent]
    scheduler = desk.storage.follow_ups
    statuses = [scheduler.status(f.id) for f in resolved if f is not None]
    assert statuses.count(FollowUpStatus.CLAIMED) == 0  # nothing waits for a lease
    assert statuses.count(FollowUpStatus.PENDING) == 3
    outbox = Outbox()
    assert desk.run_follow_ups(outbox) == 3  # at once: no lease to wait for
    assert sorted(interrupted.sent + [f.id for f in outbox.sent]) == sorted(
        f.id for f in resolved if f is not None
    )
    # the interrupted send never counted as an attempt
    assert all(f.attempts == 1 for f in outbox.sent)


def test_reopen_cancels_the_follow_up(desk: ServiceDesk, clock: FakeClock) -> None:
    cid = understood(desk)
    follow_up = desk.resolve(cid).follow_up
    assert follow_up is not None
    clock.advance(days=1)
    reopened = desk.reopen(cid, "It broke again")
    # back with the same problem: the agent listens and confirms before anyone else is
    # brought in (repeat contact alone waits until the agent has tried)
    assert reopened.events == ("reopen",)
    assert reopened.escalation is None
    assert reopened.conversation.stage == Stage.LISTENING
    assert reopened.signals is not None
    assert len(reopened.conversation.signals) == 2  # one per customer message
    assert not reopened.conversation.understood
    assert reopened.conversation.reopens == 1
    clock.advance(days=5)
    outbox = Outbox()
    assert desk.run_follow_ups(outbox) == 0
    assert desk.storage.follow_ups.status(follow_up.id) is FollowUpStatus.CANCELLED


def test_no_follow_up_when_the_customer_opted_out_of_every_channel(desk: ServiceDesk) -> None:
    cid = understood(desk, opted_out=set(Channel))
    outcome = desk.resolve(cid)
    assert outcome.follow_up is None
    assert outcome.conversation.stage == Stage.RESOLVED
    assert desk.close(cid).conversation.stage == Stage.CLOSED


def test_approval_while_escalated(desk: ServiceDesk) -> None:
    cid = understood(desk)
    with pytest.raises(ApprovalRequired) as required:
        desk.propose(cid, Offer(kind=OfferKind.REFUND, value=Money("120", "USD"), id="big"))
    desk.escalate(cid, "The refund needs a senior agent.")
    desk.approve(cid, required.value.approval_id, SUPERVISOR)
    picked = desk.pick_up(cid, SUPERVISOR)
    assert picked.conversation.open_offers[0].offer.id == "big"
    assert desk.accept(cid, "big").conversation.stage == Stage.FOLLOWING_UP


def test_declines_count_again_after_a_handoff(desk: ServiceDesk, clock: FakeClock) -> None:
    cid = understood(desk)
    for number in (1, 2):
        desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money(number, "USD"), id=f"o{number}"))
        desk.decline(cid, f"o{number}")
    clock.advance(minutes=5)
    desk.pick_up(cid, SUPERVISOR)
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money(30, "USD"), id="o3"))
    assert desk.decline(cid, "o3").escalation is None  # one decline for the new owner
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money(35, "USD"), id="o4"))
    outcome = desk.decline(cid, "o4")
    assert outcome.escalation is not None
    assert outcome.escalation.to is Role.MANAGER


def test_an_agent_may_hand_a_conversation_to_security(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    desk.hear(cid, "Please change the delivery address on someone else's account.")
    outcome = desk.escalate(cid, "Looks like an account takeover attempt.", to=Role.SECURITY)
    assert outcome.escalation is not None
    assert outcome.escalation.to is Role.SECURITY
    assert not outcome.escalation.terminate
    with pytest.raises(IllegalTransition):
        desk.pick_up(cid, SUPERVISOR)  # only security takes a security escalation
    picked = desk.pick_up(cid, Agent(id="sec-1", role=Role.SECURITY))
    assert picked.conversation.stage == Stage.CLARIFYING
