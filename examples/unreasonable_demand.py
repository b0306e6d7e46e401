"""An unreasonable demand on the phone, handled as the craft says: say what you can do and why
the rest isn't possible, in the customer's words, ask what substitute would be acceptable, and
follow up on the channel the customer used, with a message that names what went wrong and what
was done and asks one question.

Run it: ``python examples/unreasonable_demand.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from serviceplaybook import (
    Agent,
    Channel,
    CompensationPolicy,
    CompensationRule,
    Conversation,
    Customer,
    Issue,
    Money,
    Offer,
    OfferKind,
    Reason,
    Role,
    ServiceDesk,
)
from serviceplaybook.testing import FakeClock


class Shop(CompensationPolicy):
    """A shop that refunds the delivery fee of a late parcel, and says why not the order."""

    def best_within(
        self, requested: Offer, role: Role, granted: Money, conversation: Conversation
    ) -> tuple[Offer | None, list[Reason]]:
        if conversation.issue.category == "late_delivery" and requested.kind is OfferKind.REFUND:
            return None, []  # a late parcel gets its fee back, not a share of the order
        return super().best_within(requested, role, granted, conversation)

    def why_not(
        self,
        requested: Offer,
        reasons: Sequence[Reason],
        conversation: Conversation | None,
        escalate_to: Role | None,
    ) -> str:
        if (
            conversation is not None
            and conversation.issue.category == "late_delivery"
            and requested.kind is OfferKind.REFUND
        ):
            return (
                f"A refund of the whole {requested.value} order isn't something I can do for a "
                f"late parcel that has now arrived, because the order itself was delivered."
            )
        return super().why_not(requested, reasons, conversation, escalate_to)


FEE = CompensationRule(
    kind=OfferKind.PARTIAL_REFUND,
    description="a refund of the 40.00 USD delivery fee",
    categories={"Late_Delivery"},  # any letter case: categories and tiers are kept in one
    amount=Money(40, "USD"),
)


def main() -> None:
    desk = ServiceDesk.in_memory(clock=FakeClock(), compensation=Shop(rules=(FEE,)))
    cid = desk.open(
        customer=Customer(id="cust-1", name="Jordan", tier=" VIP "),  # kept as "vip"
        issue=Issue(
            category="late_delivery",
            severity="medium",
            summary="Parcel arrived a week late",
            order_value=Money(900, "USD"),
        ),
        agent=Agent(id="ana", name="Ana"),
        channel=Channel.PHONE,  # no stated preference: the follow-up is a call too
    ).id
    desk.hear(cid, "My parcel came a week late and I needed it for a trip.")
    desk.summarize(cid, "The customer's parcel arrived a week late, after their trip.")
    desk.confirm(cid)

    demand = desk.hear(cid, "I want a full refund of the whole order, $900.")
    print("guidance:", [g.code for g in demand.guidance])

    counter = desk.counter_offer(cid, Offer(kind=OfferKind.REFUND, value=Money(900, "USD")))
    print("agent says:", counter.explanation)
    print("counter guidance:", [g.code for g in counter.guidance])

    free_year = Offer(kind=OfferKind.FREE_SERVICE, description="a free year of delivery")
    print("a free year?", desk.counter_offer(cid, free_year).explanation)

    assert counter.offer is not None
    desk.propose(cid, counter.offer)
    outcome = desk.accept(cid, counter.offer.id)
    assert outcome.follow_up is not None
    print("follow-up:", outcome.follow_up.channel.value, outcome.follow_up.due_at.isoformat())
    print(outcome.follow_up.text)


if __name__ == "__main__":
    main()
