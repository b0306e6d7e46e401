"""Contract suite for compensation policies: run it against your own subclass.

Subclass :class:`CompensationPolicyContract` in your tests and provide the fixture
``compensation_policy``; every test then checks that your policy keeps the promises the desk
relies on (inclusive limits, window caps, four eyes, repeat claims, declined offers never
recommended again, counter offers within authority, currencies never mixed)::

    from serviceplaybook.testing.compensation_contract import CompensationPolicyContract

    class TestMyPolicy(CompensationPolicyContract):
        @pytest.fixture
        def compensation_policy(self):
            return MyCompensationPolicy(...)

The suite builds its conversations with :func:`make_conversation`; override the fixture
``sample_conversations`` to add conversations your rules care about.

Requires pytest (the ``dev`` extra: ``python3 -m pip install '.[dev]'`` in a checkout).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from serviceplaybook._errors import CurrencyMismatch
from serviceplaybook._policies.compensation import CompensationPolicy
from serviceplaybook._records.compensation import Approval, AuthorizationStatus, Grant
from serviceplaybook._records.conversation import Conversation, Message
from serviceplaybook._records.issue import Issue, Severity
from serviceplaybook._records.money import Money
from serviceplaybook._records.offers import (
    MONETARY_KINDS,
    Offer,
    OfferKind,
    OfferStatus,
    ProposedOffer,
)
from serviceplaybook._records.parties import CUSTOMER, Agent, Channel, Customer, Role

__all__ = ["NOW", "CompensationPolicyContract", "grant_at", "make_conversation"]

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""The time the suite authorizes at."""

LADDER = (Role.BOT, Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR, Role.MANAGER)


def make_conversation(
    *,
    category: str = "damaged_item",
    severity: Severity | str = Severity.HIGH,
    tier: str = "gold",
    order_value: Money | None = None,
    customer_id: str = "cust-1",
    agent: Agent | None = None,
    said: str = "I would like to be compensated for this.",
    declined: tuple[Offer, ...] = (),
) -> Conversation:
    """A conversation in the resolving stage, with ``declined`` offers already turned down.

    Args:
        category: the issue's category.
        severity: its severity.
        tier: the customer's tier.
        order_value: the affected order's value.
        customer_id: the customer's id.
        agent: the owning agent (an agent-level one by default).
        said: what the customer said.
        declined: offers the customer declined.
    """
    agent = agent or Agent(id="agent-1", role=Role.AGENT)
    return Conversation(
        id="conv-1",
        stage="resolving",
        customer=Customer(id=customer_id, tier=tier),
        issue=Issue(
            category=category,
            severity=severity,
            summary="The problem the customer reported",
            order_value=order_value,
        ),
        agent=agent,
        channel=Channel.CHAT,
        opened_at=NOW - timedelta(hours=1),
        updated_at=NOW,
        understood=True,
        messages=(Message(author=CUSTOMER, text=said, at=NOW - timedelta(minutes=30)),),
        offers=tuple(
            ProposedOffer(
                offer=offer,
                status=OfferStatus.DECLINED,
                proposed_by=agent.id,
                proposed_at=NOW - timedelta(minutes=20),
                decided_at=NOW - timedelta(minutes=10),
            )
            for offer in declined
        ),
    )


def grant_at(amount: Money, at: datetime, number: int, kind: OfferKind = OfferKind.CREDIT) -> Grant:
    """A past grant of ``amount`` to ``cust-1`` at ``at``."""
    return Grant(
        key=f"grant-{number}",
        customer_id="cust-1",
        conversation_id=f"old-{number}",
        offer=Offer(kind=kind, value=amount, id=f"old-offer-{number}"),
        granted_by="agent-0",
        at=at,
    )


def _minor(currency: str) -> Money:
    return Money.from_minor_units(1, currency)


def _other_currency(currency: str) -> str:
    return "EUR" if currency != "EUR" else "USD"


def _monetary_kind(policy: CompensationPolicy, role: Role) -> OfferKind | None:
    for kind in (OfferKind.CREDIT, OfferKind.PARTIAL_REFUND, OfferKind.DISCOUNT, OfferKind.REFUND):
        if policy.authority.allows_kind(role, kind):
            return kind
    return None


def _amounts(policy: CompensationPolicy) -> list[Money]:
    """Amounts around every limit of the matrix: below, at, and one minor unit above."""
    currency = policy.authority.currency
    minor = _minor(currency)
    amounts = {minor}
    for role in LADDER:
        authority = policy.authority.authority(role)
        for limit in (authority.single, authority.window_total):
            half = Money.from_minor_units(max(limit.minor_units // 2, 1), currency)
            for candidate in (half, limit, limit + minor, limit * 2 + minor):
                if not candidate.is_zero:
                    amounts.add(candidate)
    return sorted(amounts, key=lambda money: money.amount)


def _histories(policy: CompensationPolicy) -> list[list[Grant]]:
    currency = policy.authority.currency
    window = policy.authority.window
    top = policy.authority.top_window_total
    some = Money.from_minor_units(max(top.minor_units // 3, 1), currency)
    return [
        [],
        [grant_at(some, NOW - timedelta(hours=1), 1)],
        [grant_at(some, NOW - window / 2, 1), grant_at(some, NOW - timedelta(hours=1), 2)],
        [grant_at(top, NOW - window, 1)],  # exactly one window old: out of it
        [grant_at(top, NOW - window + timedelta(seconds=1), 1)],
    ]


class CompensationPolicyContract:
    """The promises every :class:`~serviceplaybook.CompensationPolicy` keeps.

    Provide the fixture ``compensation_policy``.
    """

    @pytest.fixture
    def sample_conversations(self, compensation_policy: CompensationPolicy) -> list[Conversation]:
        """Conversations across categories, severities and tiers (override to add yours)."""
        currency = compensation_policy.authority.currency
        categories = {
            category for rule in compensation_policy.rules for category in rule.categories
        } | {"damaged_item", "billing"}
        tiers = {tier for rule in compensation_policy.rules for tier in rule.tiers} | {
            "standard",
            "gold",
        }
        return [
            make_conversation(
                category=category,
                severity=severity,
                tier=tier,
                order_value=Money(120, currency),
            )
            for category, severity, tier in itertools.product(
                sorted(categories), Severity, sorted(tiers)
            )
        ]

    def test_the_matrix_never_gives_a_higher_role_less(
        self, compensation_policy: CompensationPolicy
    ) -> None:
        authority = compensation_policy.authority
        for lower, higher in itertools.pairwise(LADDER):
            assert authority.authority(higher).at_least(authority.authority(lower))

    def test_a_limit_is_inclusive(self, compensation_policy: CompensationPolicy) -> None:
        policy = compensation_policy
        minor = _minor(policy.authority.currency)
        if policy.repeat_claimant(0):
            pytest.skip("every claim is reviewed: no role below the reviewer grants money")
        for role in LADDER:
            kind = _monetary_kind(policy, role)
            single = policy.authority.authority(role).single
            if kind is None or single.is_zero:
                continue
            agent = Agent(id="proposer", role=role)
            at_limit = Offer(kind=kind, value=single)
            assert policy.authorize(at_limit, agent, (), now=NOW).granted, (role, single)
            above = Offer(kind=kind, value=single + minor)
            assert not policy.authorize(above, agent, (), now=NOW).granted, (role, above)

    def test_nothing_granted_exceeds_the_single_or_window_limit(
        self, compensation_policy: CompensationPolicy
    ) -> None:
        policy = compensation_policy
        for history, role, amount in itertools.product(
            _histories(policy), LADDER, _amounts(policy)
        ):
            kind = _monetary_kind(policy, role) or OfferKind.CREDIT
            offer = Offer(kind=kind, value=amount)
            decision = policy.authorize(offer, Agent(id="proposer", role=role), history, now=NOW)
            used = policy.granted_total(policy.in_window(history, NOW))
            if decision.granted:
                authority = policy.authority.authority(role)
                assert amount <= authority.single
                assert used + amount <= authority.window_total
                assert kind in authority.kinds
            if decision.needs_approval:
                assert decision.approver_role is not None
                assert policy.authority.covers(decision.approver_role, offer, used)

    def test_a_grant_one_window_old_no_longer_counts(
        self, compensation_policy: CompensationPolicy
    ) -> None:
        policy = compensation_policy
        window = policy.authority.window
        amount = policy.authority.top_window_total
        if amount.is_zero:
            pytest.skip("the matrix grants nothing of value")
        old = grant_at(amount, NOW - window, 1)
        recent = grant_at(amount, NOW - window + timedelta(seconds=1), 2)
        assert policy.granted_total(policy.in_window([old], NOW)).is_zero
        assert policy.granted_total(policy.in_window([recent], NOW)) == amount

    def test_nobody_approves_their_own_request(
        self, compensation_policy: CompensationPolicy
    ) -> None:
        policy = compensation_policy
        offer = Offer(kind=OfferKind.GOODWILL, description="a note")
        for role in LADDER:
            agent = Agent(id="same-person", role=role)
            approval = Approval(
                id="approval-1",
                offer_id=offer.id,
                requested_by=agent.id,
                approver_role=role,
                requested_at=NOW,
                terms=offer,
            )
            reason = policy.can_approve(agent, approval, offer, (), now=NOW)
            assert reason is not None
            assert reason.code == "self_approval"

    def test_an_approver_needs_authority_covering_the_offer(
        self, compensation_policy: CompensationPolicy
    ) -> None:
        policy = compensation_policy
        for amount, role in itertools.product(_amounts(policy), LADDER):
            offer = Offer(
                kind=_monetary_kind(policy, Role.MANAGER) or OfferKind.CREDIT, value=amount
            )
            approval = Approval(
                id="approval-1",
                offer_id=offer.id,
                requested_by="proposer",
                approver_role=Role.MANAGER,
                requested_at=NOW,
                terms=offer,
            )
            reason = policy.can_approve(Agent(id="approver", role=role), approval, offer, ())
            if reason is None:
                assert policy.authority.covers(role, offer)

    def test_an_edited_offer_is_never_treated_as_approved(
        self, compensation_policy: CompensationPolicy
    ) -> None:
        policy = compensation_policy
        currency = policy.authority.currency
        top_kind = _monetary_kind(policy, Role.MANAGER) or OfferKind.CREDIT
        value = policy.authority.authority(Role.MANAGER).single
        if value.is_zero:
            pytest.skip("the matrix grants nothing of value")
        offer = Offer(kind=top_kind, value=value, id="offer-1")
        approval = Approval(
            id="approval-1",
            offer_id=offer.id,
            requested_by="proposer",
            approver_role=Role.MANAGER,
            requested_at=NOW,
            terms=offer,
        ).approved(Agent(id="manager", role=Role.MANAGER), NOW)
        assert approval.covers(offer)
        edits = [
            attrs.evolve(offer, value=value - _minor(currency))
            if value > _minor(currency)
            else None,
            attrs.evolve(offer, description=offer.description + " (edited)"),
            attrs.evolve(offer, id="offer-2"),
        ]
        for edited in filter(None, edits):
            assert not approval.covers(edited)
            granted = policy.authorize_grant(edited, Role.AGENT, (), approval=approval, now=NOW)
            alone = policy.authorize_role(edited, Role.AGENT, (), now=NOW)
            assert granted.status is alone.status

    def test_recommendations_are_distinct_and_never_declined(
        self,
        compensation_policy: CompensationPolicy,
        sample_conversations: list[Conversation],
    ) -> None:
        policy = compensation_policy
        for conversation in sample_conversations:
            offers = policy.recommend(conversation)
            kinds = [offer.kind for offer in offers]
            assert len(kinds) == len(set(kinds)), kinds
            for offer in offers:
                declined = attrs.evolve(
                    conversation,
                    offers=make_conversation(declined=(offer,)).offers,
                )
                again = policy.recommend(declined)
                assert not any(
                    other.kind is offer.kind
                    and (other.value is None or offer.value is None or other.value <= offer.value)
                    for other in again
                ), (offer, again)

    def test_currencies_never_mix(self, compensation_policy: CompensationPolicy) -> None:
        policy = compensation_policy
        other = _other_currency(policy.authority.currency)
        offer = Offer(kind=OfferKind.CREDIT, value=Money(10, other))
        with pytest.raises(CurrencyMismatch):
            policy.authorize(offer, Agent(id="a", role=Role.MANAGER), (), now=NOW)
        fine = Offer(kind=OfferKind.GOODWILL, description="a note")
        foreign = grant_at(Money(10, other), NOW - timedelta(hours=1), 1)
        with pytest.raises(CurrencyMismatch):
            policy.authorize(fine, Agent(id="a", role=Role.AGENT), [foreign], now=NOW)

    def test_a_counter_offer_is_within_the_agents_authority(
        self, compensation_policy: CompensationPolicy
    ) -> None:
        policy = compensation_policy
        currency = policy.authority.currency
        huge = policy.authority.top_window_total * 3 + Money(1000, currency)
        for role, history, kind in itertools.product(
            LADDER, _histories(policy), sorted(MONETARY_KINDS)
        ):
            agent = Agent(id="agent-x", role=role)
            requested = Offer(kind=kind, value=huge)
            declined = Offer(kind=OfferKind.GOODWILL, description="a handwritten note")
            conversation = make_conversation(
                agent=agent, order_value=Money(200, currency), declined=(declined,)
            )
            counter = policy.counter_offer(
                requested, conversation, agent=agent, history=history, now=NOW
            )
            assert counter.reasons
            for offer in (counter.offer, *counter.alternatives):
                if offer is None:
                    continue
                assert policy.authorize(offer, agent, history, now=NOW).granted
                assert not policy.was_declined(offer, [declined])
                if offer.kind is kind and offer.value is not None:
                    assert offer.value <= huge

    def test_a_repeat_claimant_is_escalated_not_granted(
        self, compensation_policy: CompensationPolicy
    ) -> None:
        policy = compensation_policy
        currency = policy.authority.currency
        small = _minor(currency)
        history = [
            grant_at(small, NOW - timedelta(hours=number + 1), number)
            for number in range(policy.max_claims)
        ]
        offer = Offer(kind=OfferKind.CREDIT, value=small)
        for role in LADDER:
            decision = policy.authorize(offer, Agent(id="a", role=role), history, now=NOW)
            if not policy.reviews_claims(role):
                assert not decision.granted
                if policy.authority.lowest_covering(offer, policy.granted_total(history)):
                    assert decision.status is AuthorizationStatus.ESCALATE
                    assert decision.approver_role is policy.claim_review_role
        # the same claims, all outside the window, do not count
        window = policy.authority.window
        old = [attrs.evolve(g, at=g.at - window) for g in history]
        assert policy.claims(policy.in_window(old, NOW)) == 0
