"""What a playbook file cannot say, as a CompensationPolicy subclass.

``examples/playbooks/airline.toml`` says the whole compensation policy of tau-bench's airline
(certificates per passenger, who is eligible, only when the customer asks) over the facts of
the case. One rule of the same airline needs more than facts: "All reservations can be
cancelled within 24 hours of booking" with a full refund. Whether it applies depends on when
the booking was made, which the host's booking system knows to the minute, and on the time
now; a file holds neither a clock nor a lookup, so the rule is code: a subclass that keeps the
file's rules and numbers and adds this one by overriding ``recommend``.

The refund is the customer's right, not a gesture: it is offered whether or not they asked
(``on_request`` holds back only the file's rules).

Run it: ``python examples/airline_compensation.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs

from serviceplaybook import (
    Agent,
    CompensationPolicy,
    Conversation,
    Customer,
    Issue,
    Money,
    Offer,
    OfferKind,
    PlaybookFile,
    ServiceDesk,
)
from serviceplaybook.testing import FakeClock

PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "airline.toml"
NOW = datetime(2024, 5, 15, 19, 0, tzinfo=UTC)  # the benchmark's "now": 15:00 EST


@attrs.define(kw_only=True)
class AirlineCompensationPolicy(CompensationPolicy):
    """The library's policy (with a file's rules, when built from one) plus a full refund of
    a reservation cancelled within :attr:`free_cancellation` of booking.

    Attributes:
        booked_at: when each reservation was booked, by reservation id (the host's lookup).
        clock: the time now.
        free_cancellation: how long after booking a cancellation is refunded in full.
    """

    booked_at: Mapping[str, datetime] = attrs.field(factory=dict)
    clock: Callable[[], datetime] = attrs.field(default=lambda: datetime.now(UTC))
    free_cancellation: timedelta = timedelta(hours=24)

    def recommend(self, conversation: Conversation) -> list[Offer]:
        """The file's offers, and the free-cancellation refund first when it applies."""
        offers = super().recommend(conversation)
        refund = self.free_cancellation_refund(conversation)
        if refund is None:
            return offers
        return self.without_declined(self.deduplicate([refund, *offers]), conversation)

    def free_cancellation_refund(self, conversation: Conversation) -> Offer | None:
        """A refund of the fare when the customer cancels (fact ``cancelling``) a reservation
        (fact ``reservation``) booked less than :attr:`free_cancellation` ago."""
        facts = conversation.issue.facts
        booked = self.booked_at.get(str(facts.get("reservation", "")))
        fare = facts.get("fare")
        if booked is None or facts.get("cancelling") is not True:
            return None
        if isinstance(fare, bool) or not isinstance(fare, int | Decimal) or fare <= 0:
            return None
        if self.clock() - booked > self.free_cancellation:
            return None
        return Offer(
            kind=OfferKind.REFUND,
            value=Money(fare, self.authority.currency),
            description="a full refund: the reservation is cancelled within 24 hours of booking",
        )


def policy() -> AirlineCompensationPolicy:
    """The file's authority, rules and ``on_request`` on the subclass, with the host's lookup."""
    return PlaybookFile.load(PLAYBOOK).compensation_policy(
        cls=AirlineCompensationPolicy,
        booked_at={
            "4WQ150": NOW - timedelta(hours=3),  # booked this afternoon
            "M61CQM": NOW - timedelta(days=10),
        },
        clock=lambda: NOW,
    )


def conversation(
    airline: AirlineCompensationPolicy,
    *,
    tier: str,
    category: str,
    facts: Mapping[str, object],
    said: str,
) -> Conversation:
    """A conversation in which the customer said ``said`` (built by a desk, as in real use)."""
    desk = ServiceDesk.in_memory(clock=FakeClock(NOW), compensation=airline)
    opened = desk.open(
        customer=Customer(id="traveller", tier=tier),
        issue=Issue(category=category, severity="high", summary="Trip disrupted", facts=facts),
        agent=Agent(id="ana", name="Ana"),
    )
    return desk.hear(opened.id, said).conversation


def main() -> None:
    """Walk through the airline's cases and print what the policy recommends."""
    airline = policy()
    cases = [
        (
            "booked 3 hours ago, cancels, does not ask",
            "regular",
            "cancel_reservation",
            {"reservation": "4WQ150", "fare": Decimal("389.00"), "cancelling": True},
            "I need to cancel the trip I booked this afternoon.",
        ),
        (
            "booked 10 days ago, cancels",
            "regular",
            "cancel_reservation",
            {"reservation": "M61CQM", "fare": Decimal("389.00"), "cancelling": True},
            "I need to cancel my trip.",
        ),
        (
            "silver, 3 passengers, flight cancelled, asks (the file's rule)",
            "silver",
            "flight_cancelled",
            {"passengers": 3, "cabin": "economy", "flight_status": "cancelled"},
            "My flight was cancelled. What will you do to make up for it?",
        ),
        (
            "silver, 3 passengers, flight cancelled, does not ask",
            "silver",
            "flight_cancelled",
            {"passengers": 3, "cabin": "economy", "flight_status": "cancelled"},
            "My flight was cancelled. When is the next one?",
        ),
    ]
    for label, tier, category, facts, said in cases:
        talk = conversation(airline, tier=tier, category=category, facts=facts, said=said)
        offers = airline.recommend(talk)
        shown = "; ".join(f"{o.description} = {o.value}" for o in offers) or "nothing"
        print(f"{label}: {shown}")


if __name__ == "__main__":
    main()
