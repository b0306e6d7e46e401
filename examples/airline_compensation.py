"""An airline's compensation rules, expressed as a CompensationPolicy subclass.

The airline compensates a cancelled flight with a 100 USD travel certificate per passenger
and a delay with a 50 USD certificate per passenger, only for gold or silver members or
business-class travellers, and only when the customer asks for compensation. Everything
else (authority limits, four-eyes approvals, repeat claims, counter offers) is the library's.

Run it: ``python examples/airline_compensation.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import attrs

from serviceplaybook import (
    Agent,
    AuthorityMatrix,
    CompensationPolicy,
    CompensationRule,
    Conversation,
    Customer,
    Issue,
    Money,
    Offer,
    OfferKind,
    Role,
    RoleAuthority,
    ServiceDesk,
)
from serviceplaybook.testing import FakeClock


@attrs.frozen(kw_only=True)
class Booking:
    """What the airline knows about the customer's trip.

    Attributes:
        passengers: how many people travel on the booking.
        cabin: ``"economy"``, ``"premium"`` or ``"business"``.
    """

    passengers: int = 1
    cabin: str = "economy"


def airline_authority() -> AuthorityMatrix:
    """Agents settle a family's cancelled flight on their own; larger groups need a senior."""
    usd = "USD"
    return AuthorityMatrix(
        currency=usd,
        window=timedelta(days=90),
        roles={
            Role.BOT: RoleAuthority(
                single=Money(0, usd), window_total=Money(0, usd), kinds={OfferKind.GOODWILL}
            ),
            Role.AGENT: RoleAuthority(single=Money(300, usd), window_total=Money(600, usd)),
            Role.SENIOR_AGENT: RoleAuthority(single=Money(800, usd), window_total=Money(1500, usd)),
            Role.SUPERVISOR: RoleAuthority(single=Money(2000, usd), window_total=Money(4000, usd)),
            Role.MANAGER: RoleAuthority(single=Money(5000, usd), window_total=Money(10000, usd)),
        },
    )


def airline_rules() -> tuple[CompensationRule, ...]:
    """One travel certificate per passenger: 100 USD for a cancellation, 50 USD for a delay."""
    return (
        CompensationRule(
            kind=OfferKind.CREDIT,
            description="travel certificates, one per passenger",
            categories={"flight_cancelled"},
            amount=Money(100, "USD"),
        ),
        CompensationRule(
            kind=OfferKind.CREDIT,
            description="travel certificates, one per passenger",
            categories={"flight_delayed"},
            amount=Money(50, "USD"),
        ),
    )


@attrs.define(kw_only=True)
class AirlineCompensationPolicy(CompensationPolicy):
    """The library's policy with the airline's matrix, eligibility and per-passenger amounts.

    Attributes:
        bookings: the customer's current booking, by customer id (the host app's lookup).
        eligible_tiers: loyalty tiers that qualify on their own.
        eligible_cabins: cabins that qualify whatever the tier.
        asking_words: words that show the customer asked for compensation.
    """

    authority: AuthorityMatrix = attrs.field(factory=airline_authority)
    rules: tuple[CompensationRule, ...] = attrs.field(factory=airline_rules)
    bookings: Mapping[str, Booking] = attrs.field(factory=dict)
    eligible_tiers: frozenset[str] = frozenset({"gold", "silver"})
    eligible_cabins: frozenset[str] = frozenset({"business"})
    asking_words: tuple[str, ...] = (
        "compensat",
        "certificate",
        "voucher",
        "refund",
        "money back",
        "make up for",
    )

    def booking(self, conversation: Conversation) -> Booking:
        """The customer's booking (one economy passenger when unknown)."""
        return self.bookings.get(conversation.customer.id, Booking())

    def eligible(self, conversation: Conversation) -> bool:
        """Gold or silver members, or anyone travelling in business class."""
        tier = conversation.customer.tier.lower()
        return (
            tier in self.eligible_tiers or self.booking(conversation).cabin in self.eligible_cabins
        )

    def customer_asked(self, conversation: Conversation) -> bool:
        """True once the customer asked for compensation in their own words."""
        return any(
            word in message.text.lower()
            for message in conversation.messages
            if message.from_customer
            for word in self.asking_words
        )

    def rules_for(self, conversation: Conversation) -> list[CompensationRule]:
        """The airline's rules apply only to eligible customers who asked."""
        if not (self.eligible(conversation) and self.customer_asked(conversation)):
            return []
        return super().rules_for(conversation)

    def offer_for(self, rule: CompensationRule, conversation: Conversation) -> Offer | None:
        """One certificate per passenger on the booking."""
        offer = super().offer_for(rule, conversation)
        if offer is None or offer.value is None:
            return offer
        passengers = self.booking(conversation).passengers
        return Offer(
            kind=offer.kind,
            value=offer.value * passengers,
            description=f"{passengers} travel certificate(s) of {offer.value}, one per passenger",
        )


NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ASKS = "My flight was cancelled and I missed my sister's wedding. I want compensation."
LATE = "We landed three hours late and missed our connection. Can you make up for it?"
QUIET = "My flight was cancelled. When is the next one?"


def conversation(
    policy: AirlineCompensationPolicy,
    *,
    customer: Customer,
    category: str,
    said: str,
    agent: Agent | None = None,
) -> Conversation:
    """A conversation in which the customer said ``said`` (built by a desk, as in real use)."""
    desk = ServiceDesk.in_memory(clock=FakeClock(NOW), compensation=policy)
    opened = desk.open(
        customer=customer,
        issue=Issue(category=category, severity="high", summary="Flight disrupted"),
        agent=agent or Agent(id="ana", name="Ana"),
    )
    return desk.hear(opened.id, said).conversation


def main() -> None:
    """Walk through the airline's cases and print what the policy decides."""
    policy = AirlineCompensationPolicy(
        bookings={
            "gold-family": Booking(passengers=3, cabin="economy"),
            "business-pair": Booking(passengers=2, cabin="business"),
            "economy-solo": Booking(passengers=1, cabin="economy"),
            "silver-group": Booking(passengers=5, cabin="economy"),
        }
    )
    ana = Agent(id="ana", name="Ana")
    cases = [
        ("gold member, cancelled, asks", "gold-family", "gold", "flight_cancelled", ASKS),
        ("business class, delayed, asks", "business-pair", "standard", "flight_delayed", LATE),
        (
            "economy, standard, cancelled, asks",
            "economy-solo",
            "standard",
            "flight_cancelled",
            ASKS,
        ),
        ("silver, cancelled, does not ask", "silver-group", "silver", "flight_cancelled", QUIET),
    ]
    for label, customer_id, tier, category, said in cases:
        customer = Customer(id=customer_id, tier=tier)
        talk = conversation(policy, customer=customer, category=category, said=said)
        offers = policy.recommend(talk)
        shown = "; ".join(f"{o.description} = {o.value}" for o in offers) or "nothing"
        print(f"{label}: {shown}")

    # Five passengers: 500 USD is above an agent's 300, so a senior agent approves it.
    silver = Customer(id="silver-group", tier="silver")
    talk = conversation(policy, customer=silver, category="flight_cancelled", said=ASKS)
    [certificates] = policy.recommend(talk)
    decision = policy.authorize(certificates, ana, (), now=NOW)
    approver = decision.approver_role.value if decision.approver_role else "-"
    print(f"5 passengers, {certificates.value}: {decision.status.value}, approver {approver}")
    approval = policy.request_approval(certificates, ana, decision, id="approval-1", now=NOW)
    print("  Ana approves her own request:", policy.can_approve(ana, approval, certificates))
    sid = Agent(id="sid", role=Role.SENIOR_AGENT)
    refusal = policy.can_approve(sid, approval, certificates, (), now=NOW)
    print("  Sid (senior agent) approves:", "yes" if refusal is None else refusal.text)
    approval = approval.approved(sid, NOW)
    final = policy.authorize_grant(certificates, ana.role, (), approval=approval, now=NOW)
    print("  at acceptance:", final.status.value)
    edited = attrs.evolve(certificates, value=Money(900, "USD"))
    print("  the same offer edited to 900 USD still approved?", approval.covers(edited))

    # A demand beyond policy: the best offer within Ana's authority, and how to say it.
    demand = Offer(kind=OfferKind.REFUND, value=Money(2500, "USD"), description="cash refund")
    counter = policy.counter_offer(demand, talk, agent=ana, now=NOW)
    best = counter.offer.value if counter.offer else "-"
    print(f"demand of {demand.value}: counter with {best}")
    print("  reasons:", ", ".join(reason.code for reason in counter.reasons))
    print(f'  to the customer: "{counter.explanation}"')


if __name__ == "__main__":
    main()
