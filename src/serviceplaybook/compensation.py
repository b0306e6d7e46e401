"""Compensation: what an agent may offer on their own authority, and what needs approval.

The craft: empower the front line to settle within clear limits without asking; beyond them
a named role approves, quickly; for an unreasonable demand, offer the best the policy allows
and explain why.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from serviceplaybook._enums import Choice
from serviceplaybook._validate import aware, non_empty, of_type, optional_aware, to_tuple
from serviceplaybook.errors import ConfigError
from serviceplaybook.issue import Severity
from serviceplaybook.money import Money
from serviceplaybook.offers import Offer, OfferKind, OfferStatus
from serviceplaybook.parties import Agent, Role
from serviceplaybook.reasons import Reason

if TYPE_CHECKING:
    from serviceplaybook.conversation import Conversation

__all__ = [
    "Approval",
    "AuthorityMatrix",
    "Authorization",
    "AuthorizationStatus",
    "CompensationPolicy",
    "Grant",
]


class AuthorizationStatus(Choice):
    """The answer to "may this agent make this offer?"."""

    GRANTED = "granted"
    NEEDS_APPROVAL = "needs_approval"
    DENIED = "denied"


@attrs.frozen(kw_only=True)
class Authorization:
    """Whether an agent may make an offer, and why.

    Attributes:
        status: granted, needs approval, or denied.
        offer: the offer in question.
        role: the role of the agent who asked.
        approver_role: the lowest role that can approve it (when approval is needed).
        reasons: why.
    """

    status: AuthorizationStatus = attrs.field(converter=AuthorizationStatus)
    offer: Offer = attrs.field(validator=of_type(Offer))
    role: Role = attrs.field(converter=Role)
    approver_role: Role | None = None
    reasons: tuple[Reason, ...] = attrs.field(default=(), converter=to_tuple)

    @property
    def granted(self) -> bool:
        """True when the agent may make the offer now."""
        return self.status is AuthorizationStatus.GRANTED


@attrs.frozen(kw_only=True)
class Approval:
    """A request for a higher role to approve an offer above the proposer's authority.

    Attributes:
        id: pass it to ``ServiceDesk.approve``.
        offer_id: the offer waiting for approval.
        requested_by: the id of the agent who proposed it (who may not approve it).
        approver_role: the lowest role that may approve it.
        requested_at: when it was asked for.
        approved_by: the id of the approver, once approved.
        approved_at: when it was approved.
    """

    id: str = attrs.field(validator=non_empty)
    offer_id: str = attrs.field(validator=non_empty)
    requested_by: str = attrs.field(validator=non_empty)
    approver_role: Role = attrs.field(converter=Role)
    requested_at: datetime = attrs.field(validator=aware)
    approved_by: str | None = None
    approved_at: datetime | None = attrs.field(default=None, validator=optional_aware)

    @property
    def pending(self) -> bool:
        """True until someone approves it."""
        return self.approved_by is None


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


_ALL_KINDS = frozenset(OfferKind)


def _limits(value: Mapping[Role, Money]) -> dict[Role, Money]:
    limits = {Role(role): amount for role, amount in value.items()}
    currencies = {amount.currency for amount in limits.values()}
    if len(currencies) > 1:
        raise ConfigError(
            f"AuthorityMatrix limits must share one currency, got {sorted(currencies)}"
        )
    ladder = sorted((r for r in limits if r.on_ladder), key=lambda r: r.rank or 0)
    for lower, higher in itertools.pairwise(ladder):
        if limits[higher] < limits[lower]:
            raise ConfigError(
                f"AuthorityMatrix gives {higher.value} ({limits[higher]}) less authority than "
                f"{lower.value} ({limits[lower]}); a higher role must cover at least as much"
            )
    return limits


@attrs.frozen(kw_only=True)
class AuthorityMatrix:
    """Per role: the largest single offer and the kinds of offer allowed.

    Attributes:
        limits: the largest single offer each role may grant on its own (inclusive).
            Roles that are missing may grant nothing with a monetary value.
        kinds: the kinds each role may offer; a missing role may offer every kind.
    """

    limits: dict[Role, Money] = attrs.field(converter=_limits)
    kinds: dict[Role, frozenset[OfferKind]] = attrs.field(factory=dict)

    @classmethod
    def standard(cls, currency: str = "USD") -> AuthorityMatrix:
        """Defaults: agents up to 50, senior agents 150, supervisors 500, managers 2,000;
        a bot may offer expedited shipping or a goodwill gesture, nothing with a value."""
        return cls(
            limits={
                Role.BOT: Money(0, currency),
                Role.AGENT: Money(50, currency),
                Role.SENIOR_AGENT: Money(150, currency),
                Role.SUPERVISOR: Money(500, currency),
                Role.MANAGER: Money(2000, currency),
            },
            kinds={Role.BOT: frozenset({OfferKind.EXPEDITED_SHIPPING, OfferKind.GOODWILL})},
        )

    @property
    def currency(self) -> str | None:
        """The currency of the limits (``None`` when no limit is set)."""
        for amount in self.limits.values():
            return amount.currency
        return None

    def allows_kind(self, role: Role, kind: OfferKind) -> bool:
        """True if ``role`` may offer ``kind`` at all."""
        return kind in self.kinds.get(role, _ALL_KINDS)

    def covers(self, role: Role, offer: Offer) -> bool:
        """True if ``role`` may grant ``offer`` on its own (the limit is inclusive)."""
        if not self.allows_kind(role, offer.kind):
            return False
        if offer.value is None:
            return True
        limit = self.limits.get(role)
        return limit is not None and offer.value <= limit

    def lowest_covering(self, offer: Offer) -> Role | None:
        """The lowest ladder role that may grant ``offer``, or ``None`` if nobody may."""
        ladder = sorted((r for r in Role if r.on_ladder), key=lambda r: r.rank or 0)
        for role in ladder:
            if self.covers(role, offer):
                return role
        return None


@attrs.define(kw_only=True)
class CompensationPolicy:
    """Recommends offers and checks them against the authority matrix.

    Attributes:
        authority: who may grant what.
        refund_share: the share of the order value a partial refund gives, per severity.
    """

    authority: AuthorityMatrix = attrs.field(factory=AuthorityMatrix.standard)
    refund_share: dict[Severity, Decimal] = attrs.field(
        factory=lambda: {
            Severity.LOW: Decimal("0.10"),
            Severity.MEDIUM: Decimal("0.20"),
            Severity.HIGH: Decimal("0.50"),
            Severity.CRITICAL: Decimal("1"),
        }
    )

    def recommend(self, conversation: Conversation) -> list[Offer]:
        """Offers that fit the issue, leaving out what the customer already declined."""
        issue = conversation.issue
        offers: list[Offer] = []
        if issue.order_value is not None:
            share = self.refund_share[issue.severity]
            kind = OfferKind.REFUND if share >= 1 else OfferKind.PARTIAL_REFUND
            offers.append(
                Offer(
                    kind=kind,
                    value=issue.order_value * share,
                    description=f"{kind.value.replace('_', ' ')} on the affected order",
                )
            )
        offers.append(Offer(kind=OfferKind.GOODWILL, description="a goodwill gesture"))
        return self.without_declined(offers, conversation)

    def without_declined(self, offers: Iterable[Offer], conversation: Conversation) -> list[Offer]:
        """Drop offers the customer declined already and duplicates of the same terms."""
        declined = [p.offer for p in conversation.offers if p.status is OfferStatus.DECLINED]
        kept: list[Offer] = []
        for offer in offers:
            if any(offer.same_terms(other) for other in [*declined, *kept]):
                continue
            kept.append(offer)
        return kept

    def authorize(self, offer: Offer, agent: Agent, history: Iterable[Offer] = ()) -> Authorization:
        """May ``agent`` make ``offer``? Granted, needs approval from a role, or denied."""
        del history  # cumulative caps over a window come with the compensation rules
        if self.authority.covers(agent.role, offer):
            return Authorization(
                status=AuthorizationStatus.GRANTED,
                offer=offer,
                role=agent.role,
                reasons=(
                    Reason(code="within_authority", text="The offer is within your authority."),
                ),
            )
        approver = self.authority.lowest_covering(offer)
        if approver is None:
            return Authorization(
                status=AuthorizationStatus.DENIED,
                offer=offer,
                role=agent.role,
                reasons=(
                    Reason(
                        code="beyond_any_authority",
                        text="No role may grant this offer; propose something within policy.",
                    ),
                ),
            )
        return Authorization(
            status=AuthorizationStatus.NEEDS_APPROVAL,
            offer=offer,
            role=agent.role,
            approver_role=approver,
            reasons=(
                Reason(
                    code="above_authority",
                    text=f"The offer is above your authority; a {approver.value.replace('_', ' ')}"
                    " must approve it.",
                ),
            ),
        )

    def can_approve(self, approver: Agent, approval: Approval, offer: Offer) -> Reason | None:
        """``None`` if ``approver`` may approve, else the reason they may not."""
        if approver.id == approval.requested_by:
            return Reason(
                code="self_approval",
                text="Nobody approves their own request; ask someone else with the authority.",
            )
        if not self.authority.covers(approver.role, offer):
            return Reason(
                code="approver_lacks_authority",
                text=f"A {approver.role.value.replace('_', ' ')} may not grant this offer; "
                f"it needs a {approval.approver_role.value.replace('_', ' ')} or higher.",
            )
        return None
