"""The desk and the compensation policy: limits over a window across conversations, repeat
claims escalated instead of granted, the final check when the customer accepts, counter
offers."""

from __future__ import annotations

import pytest

from serviceplaybook import (
    Agent,
    Money,
    Offer,
    OfferKind,
    OfferStatus,
    PolicyViolation,
    Role,
    ServiceDesk,
    Stage,
)
from serviceplaybook.testing import FakeClock, SequentialIds
from test_desk import SUPERVISOR, understood


@pytest.fixture
def desk() -> ServiceDesk:
    return ServiceDesk.in_memory(clock=FakeClock(), ids=SequentialIds("c"))


def credit(amount: str, offer_id: str) -> Offer:
    return Offer(kind=OfferKind.CREDIT, value=Money(amount, "USD"), id=offer_id)


def test_a_repeat_claimant_is_escalated_instead_of_granted(desk: ServiceDesk) -> None:
    for number in range(3):  # three claims within the window: the policy's maximum
        cid = understood(desk)
        desk.propose(cid, credit("20.00", f"o{number}"))
        desk.accept(cid, f"o{number}")
    cid = understood(desk)
    outcome = desk.propose(cid, credit("20.00", "fourth"))
    assert outcome.authorization is not None
    assert outcome.authorization.escalate
    assert outcome.escalation is not None
    assert outcome.escalation.to is Role.SUPERVISOR
    assert "repeat_claims" in outcome.escalation.codes
    assert outcome.conversation.stage == Stage.ESCALATED
    assert outcome.conversation.offer("fourth").status is OfferStatus.PENDING_APPROVAL
    assert len(desk.storage.ledger.grants("cust-1")) == 3  # nothing granted

    desk.pick_up(cid, SUPERVISOR)
    [approval] = desk.get(cid).approvals
    desk.approve(cid, approval.id, SUPERVISOR)
    desk.accept(cid, "fourth")
    grant = desk.storage.ledger.grants("cust-1")[-1]
    assert (grant.offer.id, grant.approved_by) == ("fourth", SUPERVISOR.id)


def test_accepting_checks_the_window_again(desk: ServiceDesk) -> None:
    # The agent may grant 150.00 to one customer within the window. Two conversations each
    # propose 30.00 on top of an approved 120.00: each fits on its own, both together do not,
    # so the second acceptance is refused and changes nothing.
    first = understood(desk)
    big = Offer(kind=OfferKind.REFUND, value=Money("120.00", "USD"), id="big")
    with pytest.raises(PolicyViolation):
        desk.propose(first, big)
    approval_id = desk.get(first).offer("big").approval_id
    assert approval_id is not None
    desk.approve(first, approval_id, SUPERVISOR)
    desk.accept(first, "big")
    second, third = understood(desk), understood(desk)
    desk.propose(second, credit("30.00", "c"))
    desk.propose(third, credit("30.00", "d"))
    desk.accept(second, "c")
    before = desk.get(third), desk.history(third)
    with pytest.raises(PolicyViolation, match="can no longer be granted"):
        desk.accept(third, "d")
    assert (desk.get(third), desk.history(third)) == before
    assert [g.offer.id for g in desk.storage.ledger.grants("cust-1")] == ["big", "c"]


def test_a_counter_offer_stays_within_authority_and_records_nothing(desk: ServiceDesk) -> None:
    cid = understood(desk)
    version = desk.get(cid).version
    demand = Offer(kind=OfferKind.CREDIT, value=Money("500.00", "USD"), id="demand")
    counter = desk.counter_offer(cid, demand)
    assert counter.offer is not None
    assert counter.offer.value is not None
    assert counter.offer.value <= Money("50.00", "USD")
    assert counter.reasons
    assert counter.explanation
    assert not counter.meets_request
    assert desk.get(cid).version == version
    desk.propose(cid, counter.offer)  # the agent may make it as it is
    assert desk.get(cid).offer(counter.offer.id).status is OfferStatus.OPEN


def test_the_approver_is_named_on_the_grant(desk: ServiceDesk) -> None:
    cid = understood(desk)
    big = Offer(kind=OfferKind.REFUND, value=Money("120.00", "USD"), id="big")
    with pytest.raises(PolicyViolation):
        desk.propose(cid, big)
    senior = Agent(id="senior-1", role=Role.SENIOR_AGENT)
    approval_id = desk.get(cid).offer("big").approval_id
    assert approval_id is not None
    desk.approve(cid, approval_id, senior)
    desk.accept(cid, "big")
    [grant] = desk.storage.ledger.grants("cust-1")
    assert grant.approved_by == "senior-1"


def test_an_offer_is_judged_by_what_its_words_promise(desk: ServiceDesk) -> None:
    """A plain agent declares "a free year of service" as an unvalued goodwill gesture: the
    customer will hold the desk to a free year, which free service's approvers decide (a
    supervisor and up), so it waits for one; another agent may not approve it."""
    cid = understood(desk)
    year = Offer(kind=OfferKind.GOODWILL, description="a free year of service", id="year")
    with pytest.raises(PolicyViolation) as raised:  # ApprovalRequired is a PolicyViolation
        desk.propose(cid, year)
    assert "supervisor" in str(raised.value)
    proposed = desk.get(cid).offer("year")
    assert proposed.status is OfferStatus.PENDING_APPROVAL
    approval = desk.get(cid).approval(proposed.approval_id or "")
    assert approval.approver_role is Role.SUPERVISOR
    [entry] = [e for e in desk.history(cid) if e.kind == "propose"]
    codes = [reason["code"] for reason in entry.data["authorization"]["reasons"]]
    assert codes[0] == "offer_words_promise"
    with pytest.raises(PolicyViolation, match="supervisor or higher"):
        desk.approve(cid, approval.id, Agent(id="agent-2", role=Role.AGENT))
    desk.approve(cid, approval.id, SUPERVISOR)
    desk.accept(cid, "year")
    [grant] = desk.storage.ledger.grants("cust-1")
    assert grant.approved_by == SUPERVISOR.id


def test_words_within_the_declared_terms_change_nothing(desk: ServiceDesk) -> None:
    cid = understood(desk)
    offer = Offer(
        kind=OfferKind.CREDIT,
        value=Money("10.00", "USD"),
        description="a $10 credit for the cracked jug",
        id="ten",
    )
    outcome = desk.propose(cid, offer)
    assert outcome.authorization is not None
    assert outcome.authorization.granted
    assert desk.get(cid).offer("ten").status is OfferStatus.OPEN
