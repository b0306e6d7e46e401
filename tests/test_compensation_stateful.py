"""The compensation policy driven the way a desk drives it: propose, approve, edit, decline,
accept and counter-offer for two customers over moving time, with a real ledger.

After every step: each grant is within the single and window limits of the role that
granted it (the approver's when approved), the customer's total within any window never
exceeds the matrix's top window cap, nobody approved their own request, an approval never
covers an offer edited after it, a repeat claimant was never granted a claim by a role below
the reviewer, and the ledger holds each idempotency key once.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import attrs
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from serviceplaybook import (
    Agent,
    Approval,
    CompensationPolicy,
    Conversation,
    Grant,
    Money,
    Offer,
    OfferKind,
    OfferStatus,
    ProposedOffer,
    Role,
)
from serviceplaybook.adapters.memory import InMemoryLedger
from serviceplaybook.testing.compensation_contract import NOW, make_conversation

PEOPLE = {
    person.id: person
    for person in (
        Agent(id="bot", role=Role.BOT),
        Agent(id="ann", role=Role.AGENT),
        Agent(id="al", role=Role.AGENT),
        Agent(id="sid", role=Role.SENIOR_AGENT),
        Agent(id="sue", role=Role.SUPERVISOR),
        Agent(id="max", role=Role.MANAGER),
    )
}
CUSTOMERS = ("cust-a", "cust-b")
AMOUNTS = st.sampled_from(
    ["5.00", "49.99", "50.00", "50.01", "120.00", "150.00", "480.00", "1999.00", "2600.00"]
)
KINDS = st.sampled_from(
    [OfferKind.CREDIT, OfferKind.PARTIAL_REFUND, OfferKind.REPLACEMENT, OfferKind.GOODWILL]
)


@attrs.define
class Proposal:
    customer: str
    offer: Offer
    proposer: Agent
    status: str  # open, pending, declined, accepted
    approval: Approval | None = None


class CompensationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.policy = CompensationPolicy(max_claims=4)
        self.ledger = InMemoryLedger()
        self.now = NOW
        self.proposals: dict[str, Proposal] = {}
        self.effective_role: dict[str, Role] = {}  # grant key -> role whose authority granted it
        self.recorded: list[Grant] = []  # in the order the ledger recorded them
        self.ids = itertools.count(1)

    # -- helpers ------------------------------------------------------------------------------

    def history(self, customer: str) -> list[Grant]:
        return self.ledger.grants(customer)

    def conversation(self, customer: str, agent: Agent) -> Conversation:
        proposals = [p for p in self.proposals.values() if p.customer == customer]
        return attrs.evolve(
            make_conversation(customer_id=customer, agent=agent, order_value=Money(300, "USD")),
            offers=tuple(
                ProposedOffer(
                    offer=p.offer,
                    status={
                        "open": OfferStatus.OPEN,
                        "pending": OfferStatus.PENDING_APPROVAL,
                        "declined": OfferStatus.DECLINED,
                        "accepted": OfferStatus.ACCEPTED,
                    }[p.status],
                    proposed_by=p.proposer.id,
                    proposed_at=NOW,
                )
                for p in proposals
            ),
        )

    def make_offer(self, kind: OfferKind, amount: str) -> Offer:
        value = (
            Money(amount, "USD") if kind in {OfferKind.CREDIT, OfferKind.PARTIAL_REFUND} else None
        )
        return Offer(kind=kind, value=value, id=f"offer-{next(self.ids)}", description="x")

    def with_status(self, status: str) -> list[str]:
        return sorted(k for k, p in self.proposals.items() if p.status == status)

    def put_on_table(self, customer: str, offer: Offer, proposer: Agent) -> None:
        decision = self.policy.authorize(offer, proposer, self.history(customer), now=self.now)
        event(f"propose: {decision.status.value}")
        if decision.granted:
            assert self.policy.authority.covers(
                proposer.role,
                offer,
                self.policy.granted_total(self.policy.in_window(self.history(customer), self.now)),
            )
            self.proposals[offer.id] = Proposal(customer, offer, proposer, "open")
        elif decision.needs_approval or decision.escalate:
            if decision.escalate:
                assert (
                    self.policy.claims(self.policy.in_window(self.history(customer), self.now))
                    >= self.policy.max_claims
                )
                assert not self.policy.reviews_claims(proposer.role)
            approval = self.policy.request_approval(
                offer, proposer, decision, id=f"approval-{offer.id}", now=self.now
            )
            self.proposals[offer.id] = Proposal(customer, offer, proposer, "pending", approval)
        else:
            assert (
                self.policy.authority.lowest_covering(
                    offer,
                    self.policy.granted_total(
                        self.policy.in_window(self.history(customer), self.now)
                    ),
                )
                is None
            )

    # -- rules --------------------------------------------------------------------------------

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        proposer=st.sampled_from(sorted(PEOPLE)),
        kind=KINDS,
        amount=AMOUNTS,
    )
    def propose(self, customer: str, proposer: str, kind: OfferKind, amount: str) -> None:
        self.put_on_table(customer, self.make_offer(kind, amount), PEOPLE[proposer])

    @precondition(lambda self: self.with_status("pending"))
    @rule(data=st.data())
    def approve_by_a_senior_colleague(self, data: st.DataObject) -> None:
        """The usual case: someone else, at or above the named role, approves."""
        key = data.draw(st.sampled_from(self.with_status("pending")))
        proposal = self.proposals[key]
        assert proposal.approval is not None
        needed = proposal.approval.approver_role
        candidates = sorted(
            person.id
            for person in PEOPLE.values()
            if person.role >= needed and person.id != proposal.proposer.id
        )
        if candidates:
            self.approve_as(key, data.draw(st.sampled_from(candidates)))

    @precondition(lambda self: self.with_status("pending"))
    @rule(data=st.data(), approver=st.sampled_from(sorted(PEOPLE)))
    def approve(self, data: st.DataObject, approver: str) -> None:
        self.approve_as(data.draw(st.sampled_from(self.with_status("pending"))), approver)

    def approve_as(self, key: str, approver: str) -> None:
        proposal = self.proposals[key]
        assert proposal.approval is not None
        person = PEOPLE[approver]
        history = self.history(proposal.customer)
        reason = self.policy.can_approve(
            person, proposal.approval, proposal.offer, history, now=self.now
        )
        if person.id == proposal.proposer.id:
            assert reason is not None
            assert reason.code == "self_approval"
        event(f"approve: {reason.code if reason else 'approved'}")
        if reason is None:
            granted = self.policy.granted_total(self.policy.in_window(history, self.now))
            assert self.policy.authority.covers(person.role, proposal.offer, granted)
            proposal.approval = proposal.approval.approved(person, self.now)
            proposal.status = "open"

    @precondition(lambda self: self.with_status("open") + self.with_status("pending"))
    @rule(data=st.data(), cents=st.integers(1, 20_000))
    def edit(self, data: st.DataObject, cents: int) -> None:
        """Someone changes the terms of an offer after it was proposed (or approved)."""
        key = data.draw(st.sampled_from(self.with_status("open") + self.with_status("pending")))
        proposal = self.proposals[key]
        offer = proposal.offer
        if offer.value is not None:
            edited = attrs.evolve(offer, value=offer.value + Money.from_minor_units(cents, "USD"))
        else:
            edited = attrs.evolve(offer, description=offer.description + " and more")
        proposal.offer = edited
        if proposal.approval is not None:
            assert not proposal.approval.covers(edited)

    @precondition(lambda self: self.with_status("open"))
    @rule(data=st.data())
    def decline(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(self.with_status("open")))
        self.proposals[key].status = "declined"

    @precondition(lambda self: self.with_status("open"))
    @rule(data=st.data(), retries=st.integers(0, 2))
    def accept(self, data: st.DataObject, retries: int) -> None:
        key = data.draw(st.sampled_from(self.with_status("open")))
        proposal = self.proposals[key]
        history = self.history(proposal.customer)
        decision = self.policy.authorize_grant(
            proposal.offer,
            proposal.proposer.role,
            history,
            approval=proposal.approval,
            now=self.now,
        )
        event(f"accept: {decision.status.value}")
        if not decision.granted:
            return  # the desk refuses the acceptance: the offer must be proposed again
        approval = proposal.approval
        approved = approval is not None and approval.covers(proposal.offer)
        grant = Grant(
            key=f"conv-{proposal.customer}:{key}",
            customer_id=proposal.customer,
            conversation_id=f"conv-{proposal.customer}",
            offer=proposal.offer,
            granted_by=proposal.proposer.id,
            approved_by=approval.approved_by if approved and approval else None,
            at=self.now,
        )
        for _ in range(1 + retries):  # a retried acceptance records once
            assert self.ledger.record(grant) == grant
        proposal.status = "accepted"
        self.effective_role[grant.key] = decision.role
        self.recorded.append(grant)

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        who=st.sampled_from(sorted(PEOPLE)),
        amount=st.integers(1, 500_000),
        kind=st.sampled_from([OfferKind.REFUND, OfferKind.CREDIT]),
    )
    def counter_offer(self, customer: str, who: str, amount: int, kind: OfferKind) -> None:
        person = PEOPLE[who]
        requested = Offer(kind=kind, value=Money.from_minor_units(amount, "USD"))
        conversation = self.conversation(customer, person)
        history = self.history(customer)
        counter = self.policy.counter_offer(
            requested, conversation, agent=person, history=history, now=self.now
        )
        declined = [
            p.offer
            for p in self.proposals.values()
            if p.customer == customer and p.status == "declined"
        ]
        for offer in (counter.offer, *counter.alternatives):
            if offer is None:
                continue
            assert self.policy.authorize(offer, person, history, now=self.now).granted
            assert not self.policy.was_declined(offer, declined)
        if counter.offer is not None:
            offer = attrs.evolve(counter.offer, id=f"offer-{next(self.ids)}")
            self.put_on_table(customer, offer, person)

    @rule(hours=st.sampled_from([1, 24, 24 * 7, 24 * 20]))
    def advance(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def grants_are_within_the_granting_roles_limits(self) -> None:
        window = self.policy.authority.window
        for customer in CUSTOMERS:
            grants = self.ledger.grants(customer)
            assert len({g.key for g in grants}) == len(grants)
            mine = [g for g in self.recorded if g.customer_id == customer]
            assert sorted(g.key for g in mine) == sorted(g.key for g in grants)
            for index, grant in enumerate(mine):
                role = self.effective_role[grant.key]
                limits = self.policy.authority.authority(role)
                earlier = [g for g in mine[:index] if g.at > grant.at - window]
                total = self.policy.granted_total([*earlier, grant])
                assert total <= self.policy.authority.top_window_total
                if grant.offer.value is not None:
                    # an offer of value keeps the customer's window total within the limit of
                    # the role that granted it (one without value adds nothing to the total)
                    assert total <= limits.window_total
                    assert grant.offer.value <= limits.single
                assert grant.offer.kind in limits.kinds
                if grant.approved_by is not None:
                    assert grant.approved_by != grant.granted_by
                if self.policy.counts_as_claim(grant.offer) and self.policy.repeat_claimant(
                    self.policy.claims(earlier)
                ):
                    assert self.policy.reviews_claims(role)

    @invariant()
    def four_eyes(self) -> None:
        for proposal in self.proposals.values():
            approval = proposal.approval
            if approval is None or approval.pending:
                continue
            assert approval.approved_by != approval.requested_by
            assert approval.covers(proposal.offer) == proposal.offer.same_terms(
                approval.terms  # type: ignore[arg-type]
            )


TestCompensationMachine = CompensationMachine.TestCase
