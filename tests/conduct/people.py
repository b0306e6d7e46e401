"""The cast of the conduct conversations: customers, agents and what they are offered."""

from __future__ import annotations

from datetime import timedelta

from serviceplaybook import Agent, Issue, Money, Offer, OfferKind, Role

SAM = Agent(id="sam", name="Sam", role=Role.AGENT)
TOM = Agent(id="tom", name="Tom", role=Role.SENIOR_AGENT)
RITA = Agent(id="rita", name="Rita", role=Role.SUPERVISOR)
MIRA = Agent(id="mira", name="Mira", role=Role.MANAGER)
JO = Agent(id="jo", name="Jo", role=Role.SECURITY)
BOT = Agent(id="helper-bot", name="Parcel helper", role=Role.BOT)

BLENDER = Issue(
    category="damaged_item",
    severity="medium",
    summary="The blender arrived with a cracked jug",
    order_value=Money("120.00", "USD"),
)
DOUBLE_CHARGE = Issue(
    category="billing", severity="medium", summary="Charged twice for the subscription"
)
ROUTER = Issue(category="outage", severity="medium", summary="The customer's router is dead")


def credit(amount: str, offer_id: str) -> Offer:
    """A store credit of ``amount`` US dollars."""
    return Offer(kind=OfferKind.CREDIT, value=Money(amount, "USD"), id=offer_id)


def refund(amount: str, offer_id: str) -> Offer:
    """A refund of ``amount`` US dollars."""
    return Offer(kind=OfferKind.REFUND, value=Money(amount, "USD"), id=offer_id)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
