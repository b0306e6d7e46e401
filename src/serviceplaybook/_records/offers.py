"""Offers: what the company puts on the table to set things right, and their status."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.enums import Choice
from serviceplaybook._records.money import Money
from serviceplaybook._records.parties import Role
from serviceplaybook._records.validate import (
    aware,
    blank,
    identifier,
    non_empty,
    of_type,
    optional_aware,
)


class OfferKind(Choice):
    """The kinds of remedy an agent can offer, or a customer can ask for.

    The last three name what customers ask for beyond money and goods: they say what they
    are only in words (``description``), may carry what they are worth (``value``), and an
    :class:`~serviceplaybook.AuthorityMatrix` grants them only to the roles it lists them
    for.
    """

    REFUND = "refund"
    PARTIAL_REFUND = "partial_refund"
    CREDIT = "credit"
    DISCOUNT = "discount"
    REPLACEMENT = "replacement"
    EXPEDITED_SHIPPING = "expedited_shipping"
    GOODWILL = "goodwill"
    FREE_SERVICE = "free_service"
    """A period of the service at no charge: "a free year of service"."""
    UPGRADE = "upgrade"
    """A better class, plan or model: "an upgrade to business class"."""
    OTHER = "other"
    """Anything else, described in words: "a personal call from the CEO"."""


MONETARY_KINDS = frozenset(
    {OfferKind.REFUND, OfferKind.PARTIAL_REFUND, OfferKind.CREDIT, OfferKind.DISCOUNT}
)
"""Kinds that are an amount of money and so must carry a ``value``."""

DESCRIBED_KINDS = frozenset({OfferKind.FREE_SERVICE, OfferKind.UPGRADE, OfferKind.OTHER})
"""Kinds that say what they are only in words, and so must carry a ``description``; their
``value``, when given, is what they are worth."""


_EXAMPLES = {
    OfferKind.FREE_SERVICE: "a free year of service",
    OfferKind.UPGRADE: "an upgrade to business class",
    OfferKind.OTHER: "a personal call from the head of support",
}


def _new_offer_id() -> str:
    return f"offer-{uuid.uuid4().hex[:12]}"


@attrs.frozen(kw_only=True)
class Offer:
    """A concrete remedy: a refund, a credit, a replacement...

    A demand that is not money is an offer too: ``Offer(kind=OfferKind.FREE_SERVICE,
    description="a free year of service")``, ``Offer(kind=OfferKind.UPGRADE,
    description="an upgrade to business class", value=Money(900, "EUR"))``,
    ``Offer(kind=OfferKind.REPLACEMENT, description="a new phone")``.

    Attributes:
        kind: what sort of remedy it is.
        value: its value in money: required for refunds, partial refunds, credits and
            discounts; optional for the others (the cost of a replacement, what a free year
            of service is worth).
        description: what the customer is offered, in words they understand; required for
            free service, upgrades and other remedies (:data:`DESCRIBED_KINDS`).
        id: stable identifier; pass your own for deterministic ids, otherwise one is made.
    """

    kind: OfferKind = attrs.field(converter=OfferKind)
    value: Money | None = attrs.field(default=None, validator=of_type(Money, type(None)))
    description: str = attrs.field(default="", validator=of_type(str))
    id: str = attrs.field(factory=_new_offer_id, validator=identifier)

    def __attrs_post_init__(self) -> None:
        if self.kind in MONETARY_KINDS and self.value is None:
            raise ValidationError(
                f"an offer of kind {self.kind.value!r} needs a value, e.g. "
                f"Offer(kind=OfferKind.{self.kind.name}, value=Money('25.00', 'USD'))"
            )
        if self.kind in DESCRIBED_KINDS and blank(self.description):
            raise ValidationError(
                f"an offer of kind {self.kind.value!r} needs a description that says what it "
                f"is, e.g. Offer(kind=OfferKind.{self.kind.name}, "
                f"description={_EXAMPLES[self.kind]!r})"
            )
        if self.value is not None and (self.value.is_negative or self.value.is_zero):
            raise ValidationError(
                f"Offer.value must be more than zero, got {self.value}; "
                f"leave it out for a remedy without a monetary value"
            )

    def same_terms(self, other: Offer) -> bool:
        """True when ``other`` offers the same thing (ids aside)."""
        return (self.kind, self.value, self.description) == (
            other.kind,
            other.value,
            other.description,
        )


class OfferStatus(Choice):
    """Where an offer stands in the conversation."""

    PENDING_APPROVAL = "pending_approval"
    """Above the proposing agent's authority: waits for a covering role to approve it."""
    OPEN = "open"
    """On the table: the customer may accept or decline it."""
    DECLINED = "declined"
    ACCEPTED = "accepted"


@attrs.frozen(kw_only=True)
class ProposedOffer:
    """An offer as proposed in one conversation, with its status.

    Attributes:
        offer: the remedy.
        status: pending approval, open, declined or accepted.
        proposed_by: the id of the agent who proposed it.
        proposed_at: when.
        decided_at: when the customer accepted or declined it.
        decline_reason: what the customer said when declining, if recorded.
        approval_id: the pending or granted approval, for offers above authority.
        proposed_role: the proposer's role when they proposed it (their authority).
    """

    offer: Offer = attrs.field(validator=of_type(Offer))
    status: OfferStatus = attrs.field(converter=OfferStatus)
    proposed_by: str = attrs.field(validator=non_empty)
    proposed_at: datetime = attrs.field(validator=aware)
    decided_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    decline_reason: str | None = attrs.field(default=None, repr=False)
    approval_id: str | None = None
    proposed_role: Role | None = attrs.field(
        default=None, converter=attrs.converters.optional(Role)
    )

    @property
    def is_open(self) -> bool:
        """True while the customer can still accept or decline it."""
        return self.status is OfferStatus.OPEN
