"""Compensation records: authorizations, approvals, ledger grants and counter-offers."""

from __future__ import annotations

from datetime import datetime

import attrs

from serviceplaybook._records.enums import Choice
from serviceplaybook._records.money import Money
from serviceplaybook._records.offers import Offer
from serviceplaybook._records.parties import Agent, Role
from serviceplaybook._records.reasons import Guidance, Reason
from serviceplaybook._records.validate import (
    aware,
    non_empty,
    non_negative_int,
    of_type,
    optional_aware,
    require_aware,
    to_tuple,
)


def _optional_role(value: Role | str | None) -> Role | None:
    return None if value is None else Role(value)


class AuthorizationStatus(Choice):
    """The answer to "may this agent make this offer?"."""

    GRANTED = "granted"
    """Within the agent's authority: the offer goes on the table now."""
    NEEDS_APPROVAL = "needs_approval"
    """Above the agent's authority: ``approver_role`` (or higher) must approve it first."""
    ESCALATE = "escalate"
    """The customer has claimed too often in the window: hand the case to ``approver_role``
    instead of granting (repeat-claim protection)."""
    DENIED = "denied"
    """No role may grant it: propose something within policy (see ``counter_offer``)."""


@attrs.frozen(kw_only=True)
class Authorization:
    """Whether an agent may make an offer, and why.

    Attributes:
        status: granted, needs approval, escalate, or denied.
        offer: the offer in question.
        role: the role the offer was checked against (the asking agent's).
        approver_role: who must act: the lowest role that can approve it (needs approval),
            or the role that reviews repeat claims (escalate).
        reasons: why, as codes and sentences.
        granted_in_window: what the customer received within the window before this offer.
        claims_in_window: how many claims the customer made within the window before this one.
        remaining: the largest offer ``role`` could still grant this customer on its own now.
    """

    status: AuthorizationStatus = attrs.field(converter=AuthorizationStatus)
    offer: Offer = attrs.field(validator=of_type(Offer))
    role: Role = attrs.field(converter=Role)
    approver_role: Role | None = attrs.field(default=None, converter=_optional_role)
    reasons: tuple[Reason, ...] = attrs.field(default=(), converter=to_tuple)
    granted_in_window: Money | None = attrs.field(
        default=None, validator=of_type(Money, type(None))
    )
    claims_in_window: int = attrs.field(default=0, validator=non_negative_int)
    remaining: Money | None = attrs.field(default=None, validator=of_type(Money, type(None)))

    @property
    def granted(self) -> bool:
        """True when the agent may make the offer now."""
        return self.status is AuthorizationStatus.GRANTED

    @property
    def needs_approval(self) -> bool:
        """True when ``approver_role`` (or higher) must approve the offer first."""
        return self.status is AuthorizationStatus.NEEDS_APPROVAL

    @property
    def escalate(self) -> bool:
        """True when the case goes to ``approver_role`` instead (repeat claims)."""
        return self.status is AuthorizationStatus.ESCALATE

    @property
    def denied(self) -> bool:
        """True when no role may grant the offer."""
        return self.status is AuthorizationStatus.DENIED


@attrs.frozen(kw_only=True)
class Approval:
    """A request for a higher role to approve an offer above the proposer's authority.

    Four eyes: only a role whose authority covers the offer may approve it, nobody approves
    their own request, and the approval covers exactly the terms it was asked for
    (:meth:`covers`): an offer changed afterwards needs approval again.

    Attributes:
        id: pass it to ``ServiceDesk.approve``.
        offer_id: the offer waiting for approval.
        requested_by: the id of the agent who proposed it (who may not approve it).
        approver_role: the lowest role that may approve it.
        requested_at: when it was asked for.
        approved_by: the id of the approver, once approved.
        approved_at: when it was approved.
        terms: the offer as it stood when approval was asked for; the approval covers only
            these terms. ``None`` on approvals recorded before terms were kept: those cover
            nothing, so the offer is approved again.
        approved_role: the approver's role when they approved (their authority is what the
            grant is checked against).
    """

    id: str = attrs.field(validator=non_empty)
    offer_id: str = attrs.field(validator=non_empty)
    requested_by: str = attrs.field(validator=non_empty)
    approver_role: Role = attrs.field(converter=Role)
    requested_at: datetime = attrs.field(validator=aware)
    approved_by: str | None = None
    approved_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    terms: Offer | None = attrs.field(default=None, validator=of_type(Offer, type(None)))
    approved_role: Role | None = attrs.field(default=None, converter=_optional_role)

    @property
    def pending(self) -> bool:
        """True until someone approves it."""
        return self.approved_by is None

    def covers(self, offer: Offer) -> bool:
        """True if this approval was given for exactly ``offer``: same id and same terms.

        An offer edited after approval (another value, kind or description) is not covered,
        nor is any offer while the approval is pending or when it recorded no terms.
        """
        return (
            not self.pending
            and self.terms is not None
            and offer.id == self.offer_id
            and offer.same_terms(self.terms)
        )

    def approved(self, approver: Agent, at: datetime) -> Approval:
        """This approval given by ``approver`` at ``at`` (a new record; check
        :meth:`CompensationPolicy.can_approve` first)."""
        return attrs.evolve(
            self,
            approved_by=approver.id,
            approved_at=require_aware(at, "Approval.approved(at)"),
            approved_role=approver.role,
        )


@attrs.frozen(kw_only=True)
class Grant:
    """Compensation actually given: an accepted offer, as recorded in the ledger.

    Attributes:
        key: idempotency key; recording the same key twice records once.
        customer_id: who received it (caps over a window are per customer).
        conversation_id: where it was agreed.
        offer: what was given.
        granted_by: the id of the agent who proposed it.
        approved_by: the id of the approver, when it needed approval.
        at: when the customer accepted it.
    """

    key: str = attrs.field(validator=non_empty)
    customer_id: str = attrs.field(validator=non_empty)
    conversation_id: str = attrs.field(validator=non_empty)
    offer: Offer = attrs.field(validator=of_type(Offer))
    granted_by: str = attrs.field(validator=non_empty)
    approved_by: str | None = None
    at: datetime = attrs.field(validator=aware)


@attrs.frozen(kw_only=True)
class CounterOffer:
    """The answer to a demand beyond policy: the best offer the policy allows, why, and what
    else could help.

    Attributes:
        requested: what the customer asked for.
        offer: the best offer the agent may make now, or ``None`` when there is none (the
            case then goes to ``escalate_to``).
        reasons: why the request could not be met as asked, for the agent (codes and
            sentences); the last one is the advice on how to say it.
        alternatives: other offers the agent may make now, best first.
        escalate_to: the role that could review the full request, when there is one.
        explanation: what to tell the customer: what can be done, what of the request
            cannot and why, in their words (never "policy" or "system"), the alternatives
            and who could review the rest.
        guidance: advice for the agent; ``ask_for_substitute`` (ask what would be an
            acceptable substitute) whenever the request cannot be met as asked.
    """

    requested: Offer = attrs.field(validator=of_type(Offer))
    offer: Offer | None = attrs.field(validator=of_type(Offer, type(None)))
    reasons: tuple[Reason, ...] = attrs.field(default=(), converter=to_tuple)
    alternatives: tuple[Offer, ...] = attrs.field(default=(), converter=to_tuple)
    escalate_to: Role | None = attrs.field(default=None, converter=_optional_role)
    explanation: str = attrs.field(default="", validator=of_type(str))
    guidance: tuple[Guidance, ...] = attrs.field(default=(), converter=to_tuple)

    @property
    def meets_request(self) -> bool:
        """True when the request itself is within policy and is the offer."""
        return self.offer is not None and self.offer.same_terms(self.requested)
