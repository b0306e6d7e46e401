"""Compensation: what to offer, what an agent may give on their own authority, what needs a
second pair of eyes, and what to say when the customer asks for more than the policy allows.

The craft: empower the front line to settle within clear limits without asking; beyond them
a named role approves, quickly; for an unreasonable demand, offer the best the policy allows
and explain why; and protect the company from the same customer claiming again and again.

The pieces, each overridable:

- :class:`CompensationRule` rows make the recommendation matrix (issue category x severity x
  customer tier, and conditions on the facts of the case, :mod:`.conditions`), each giving a
  fixed amount, a share of the order value or of a fact, or an amount per unit of a fact
  (per passenger, per day late), capped; :meth:`CompensationPolicy.recommend` applies them,
  proactively or only once the customer asked (``on_request``).
- :class:`AuthorityMatrix` holds one :class:`RoleAuthority` per role: the largest single
  offer, the largest total per customer over a rolling window, and the kinds allowed.
- :meth:`CompensationPolicy.authorize` answers with an :class:`Authorization`: granted,
  needs approval from a named role, escalate (repeat claims), or denied.
- :class:`Approval` records a four-eyes approval and the terms it covers.
- :meth:`CompensationPolicy.counter_offer` gives a :class:`CounterOffer`: the best offer in
  policy, the reasons, and alternatives.

Money is :class:`~serviceplaybook.Money` throughout; an amount in another currency than the
authority matrix raises :class:`~serviceplaybook.CurrencyMismatch`, never converts.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Self

import attrs

from serviceplaybook._errors import ConfigError, CurrencyMismatch, ValidationError
from serviceplaybook._policies.conditions import AllOf, AnyOf, Condition, When
from serviceplaybook._records.compensation import (
    Approval,
    Authorization,
    AuthorizationStatus,
    CounterOffer,
    Grant,
)
from serviceplaybook._records.facts import fact_name
from serviceplaybook._records.issue import Severity
from serviceplaybook._records.money import Money
from serviceplaybook._records.offers import (
    DESCRIBED_KINDS,
    MONETARY_KINDS,
    Offer,
    OfferKind,
    OfferStatus,
)
from serviceplaybook._records.parties import Agent, Role
from serviceplaybook._records.reasons import Guidance, Reason
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import (
    counted,
    non_empty,
    normal_name,
    normal_names,
    of_type,
    require_aware,
    to_tuple,
)

if TYPE_CHECKING:
    from serviceplaybook._records.conversation import Conversation


_LADDER = tuple(sorted((r for r in Role if r.on_ladder), key=lambda r: r.rank or 0))
STANDARD_KINDS = frozenset(OfferKind) - DESCRIBED_KINDS
"""The kinds a :class:`RoleAuthority` allows unless told otherwise: every kind but free
service, upgrades and other remedies, which have no bounded value, so a matrix grants them
only to the roles it lists them for."""


def _words(value: str) -> str:
    """``"senior_agent"`` -> ``"senior agent"``: enum values as they read in a sentence."""
    return value.replace("_", " ")


def _article(text: str) -> str:
    return f"an {text}" if text[:1] in "aeiou" else f"a {text}"


def _kinds(value: Iterable[OfferKind | str]) -> frozenset[OfferKind]:
    if isinstance(value, str):
        raise ValidationError(f"kinds must be a collection of OfferKind, got the string {value!r}")
    return frozenset(OfferKind(kind) for kind in value)


def _categories(value: Iterable[str]) -> frozenset[str]:
    # The host app's free text: compared as tiers are, without letter case or spaces.
    return normal_names(value, "CompensationRule.categories")


def _tiers(value: Iterable[str]) -> frozenset[str]:
    return normal_names(value, "CompensationRule.tiers")


# -- authority -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RoleAuthority:
    """What one role may grant on its own.

    Attributes:
        single: the largest single offer (inclusive: an offer of exactly this much is fine).
        window_total: the largest total one customer may have received within the window,
            this offer included (inclusive).
        kinds: the kinds of offer the role may make at all; by default
            :data:`STANDARD_KINDS`: every kind but free service, upgrades and other
            remedies. Those are granted by kind alone (a free year of service has no amount
            to check unless its worth is given), so a role may make them only when they are
            listed here.

    Raises:
        ConfigError: a negative limit, or a single limit above the window total (such an
            offer could never be granted in full).
        CurrencyMismatch: the two limits are in different currencies.
    """

    single: Money = attrs.field(validator=of_type(Money))
    window_total: Money = attrs.field(validator=of_type(Money))
    kinds: frozenset[OfferKind] = attrs.field(default=STANDARD_KINDS, converter=_kinds)

    def __attrs_post_init__(self) -> None:
        if self.single.is_negative or self.window_total.is_negative:
            raise ConfigError(
                f"RoleAuthority limits must be zero or more, got single={self.single}, "
                f"window_total={self.window_total}"
            )
        if self.single > self.window_total:
            raise ConfigError(
                f"RoleAuthority.single ({self.single}) is above window_total "
                f"({self.window_total}); an offer that large could never be granted"
            )

    @classmethod
    def none(cls, currency: str) -> RoleAuthority:
        """No authority at all: nothing of value, no kind of offer."""
        zero = Money.zero(currency)
        return cls(single=zero, window_total=zero, kinds=frozenset())

    def at_least(self, other: RoleAuthority) -> bool:
        """True if this authority covers everything ``other`` covers."""
        return (
            self.single >= other.single
            and self.window_total >= other.window_total
            and self.kinds >= other.kinds
        )


def _currency(code: str) -> str:
    return Money.zero(code).currency


def _authority_roles(value: Mapping[Any, RoleAuthority]) -> dict[Role, RoleAuthority]:
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"AuthorityMatrix.roles must be a mapping of Role to RoleAuthority, got {value!r}"
        )
    roles: dict[Role, RoleAuthority] = {}
    for role, authority in value.items():
        if not isinstance(authority, RoleAuthority):
            raise ValidationError(
                f"AuthorityMatrix.roles[{role!r}] must be a RoleAuthority, "
                f"got {type(authority).__name__}"
            )
        roles[Role(role)] = authority
    return roles


def _positive_window(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigError(
            f"AuthorityMatrix.window must be a positive timedelta, got {value!r}; "
            f"for example timedelta(days=30)"
        )


@attrs.frozen(kw_only=True)
class AuthorityMatrix:
    """Per role: the largest single offer, the largest total per customer over a rolling
    window, and the kinds of offer allowed.

    A ladder role missing from ``roles`` has the authority of the nearest listed role below
    it (none if there is none); security has authority only when listed.

    Attributes:
        currency: the currency of every limit; offers in another currency are refused with
            :class:`~serviceplaybook.CurrencyMismatch`.
        roles: each role's :class:`RoleAuthority`.
        window: the length of the rolling window for per-customer totals and claim counts.

    Raises:
        CurrencyMismatch: a limit is in another currency than ``currency``.
        ConfigError: a higher role has less authority than a lower one (a smaller limit, or
            fewer kinds), or the window is not positive.
    """

    currency: str = attrs.field(converter=_currency)
    roles: dict[Role, RoleAuthority] = attrs.field(converter=_authority_roles)
    window: timedelta = attrs.field(default=timedelta(days=30), validator=_positive_window)

    def __attrs_post_init__(self) -> None:
        for role, authority in self.roles.items():
            for limit in (authority.single, authority.window_total):
                if limit.currency != self.currency:
                    raise CurrencyMismatch(self.currency, limit.currency, f"use {role} limits in")
        listed = [role for role in _LADDER if role in self.roles]
        for lower, higher in itertools.pairwise(listed):
            if not self.roles[higher].at_least(self.roles[lower]):
                raise ConfigError(
                    f"AuthorityMatrix gives {_words(higher)} less authority than "
                    f"{_words(lower)} ({self.roles[higher]} vs {self.roles[lower]}); a higher "
                    f"role must cover at least as much, in amounts and in kinds"
                )

    @classmethod
    def standard(cls, currency: str = "USD", window: timedelta = timedelta(days=30)) -> Self:
        """The defaults, in ``currency``, over ``window``.

        Single offer / total per customer per window: agent 50 / 150, senior agent 150 /
        400, supervisor 500 / 1,500, manager 2,000 / 5,000. A bot may offer expedited
        shipping or a goodwill gesture, nothing with a value. Free service and upgrades
        are a supervisor's decision (and a manager's); anything else a customer asks for
        (``other``) is a manager's.
        """
        beyond = STANDARD_KINDS | {OfferKind.FREE_SERVICE, OfferKind.UPGRADE}
        return cls(
            currency=currency,
            window=window,
            roles={
                Role.BOT: RoleAuthority(
                    single=Money(0, currency),
                    window_total=Money(0, currency),
                    kinds={OfferKind.EXPEDITED_SHIPPING, OfferKind.GOODWILL},
                ),
                Role.AGENT: RoleAuthority(
                    single=Money(50, currency), window_total=Money(150, currency)
                ),
                Role.SENIOR_AGENT: RoleAuthority(
                    single=Money(150, currency), window_total=Money(400, currency)
                ),
                Role.SUPERVISOR: RoleAuthority(
                    single=Money(500, currency), window_total=Money(1500, currency), kinds=beyond
                ),
                Role.MANAGER: RoleAuthority(
                    single=Money(2000, currency),
                    window_total=Money(5000, currency),
                    kinds=beyond | {OfferKind.OTHER},
                ),
            },
        )

    def authority(self, role: Role) -> RoleAuthority:
        """``role``'s authority, inherited from the nearest listed role below when unlisted."""
        role = Role(role)
        if role in self.roles:
            return self.roles[role]
        if role.on_ladder:
            below = [r for r in _LADDER if r in self.roles and r < role]
            if below:
                return self.roles[below[-1]]
        return RoleAuthority.none(self.currency)

    @property
    def top_window_total(self) -> Money:
        """The largest total any role may let one customer receive within the window."""
        return max(
            (self.authority(role).window_total for role in _LADDER),
            key=lambda m: m.amount,
        )

    def check_currency(self, amount: Money | None, what: str = "offer") -> None:
        """Raise :class:`CurrencyMismatch` unless ``amount`` is in the matrix's currency.

        Args:
            amount: the amount to check (``None`` passes: nothing to compare).
            what: what it is, for the message.
        """
        if amount is not None and amount.currency != self.currency:
            raise CurrencyMismatch(self.currency, amount.currency, f"check a {what} against")

    def allows_kind(self, role: Role, kind: OfferKind) -> bool:
        """True if ``role`` may offer ``kind`` at all."""
        return OfferKind(kind) in self.authority(role).kinds

    def shortfall(self, role: Role, offer: Offer, granted: Money | None = None) -> Reason | None:
        """Why ``role`` may not grant ``offer`` on its own, or ``None`` if it may.

        Args:
            role: the role to check.
            offer: the offer.
            granted: what the customer already received within the window.

        Raises:
            CurrencyMismatch: the offer or ``granted`` is in another currency.
        """
        self.check_currency(offer.value)
        self.check_currency(granted, "total granted")
        authority = self.authority(role)
        who = _words(Role(role).value)
        if offer.kind not in authority.kinds:
            return Reason(
                code="kind_not_allowed",
                text=f"{_article(who).capitalize()} may not offer "
                f"{_article(_words(offer.kind.value))}.",
            )
        if offer.value is None:
            return None
        if offer.value > authority.single:
            return Reason(
                code="above_single_limit",
                text=f"The offer of {offer.value} is above the {authority.single} "
                f"{_article(who)} may grant in one offer.",
            )
        total = offer.value + (granted if granted is not None else Money.zero(self.currency))
        if total > authority.window_total:
            return Reason(
                code="above_window_limit",
                text=f"With this offer the customer would receive {total} within "
                f"{self.window.days} days, above the {authority.window_total} "
                f"{_article(who)} may grant.",
            )
        return None

    def covers(self, role: Role, offer: Offer, granted: Money | None = None) -> bool:
        """True if ``role`` may grant ``offer`` on its own (limits are inclusive), given what
        the customer already received within the window (``granted``)."""
        return self.shortfall(role, offer, granted) is None

    def remaining(self, role: Role, granted: Money | None = None) -> Money:
        """The largest single offer ``role`` could still grant a customer who received
        ``granted`` within the window (zero when none)."""
        authority = self.authority(role)
        used = granted if granted is not None else Money.zero(self.currency)
        self.check_currency(used, "total granted")
        left = authority.window_total - used
        room = min(authority.single, left, key=lambda m: m.amount)
        return room if not room.is_negative else Money.zero(self.currency)

    def lowest_covering(self, offer: Offer, granted: Money | None = None) -> Role | None:
        """The lowest ladder role that may grant ``offer``, or ``None`` if nobody may."""
        for role in _LADDER:
            if self.covers(role, offer, granted):
                return role
        return None


# -- the recommendation matrix ---------------------------------------------------------------


def _share(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float | bool) or not isinstance(value, Decimal | int | str):
        raise ValidationError(
            f"CompensationRule.share must be a Decimal such as Decimal('0.2'), got {value!r}"
        )
    share = Decimal(value)
    if not share.is_finite() or not Decimal(0) < share <= Decimal(1):
        raise ValidationError(
            f"CompensationRule.share must be more than 0 and at most 1, got {value!r}"
        )
    return share


def _share_of(value: object) -> str | None:
    return None if value is None else fact_name(value, "CompensationRule.share_of")


def _per(value: object) -> str | None:
    return None if value is None else fact_name(value, "CompensationRule.per")


@attrs.frozen(kw_only=True)
class CompensationRule:
    """One row of the recommendation matrix: issues of these categories, at least this
    severe, for customers of these tiers, where the conditions on the case hold, get this
    offer.

    The amount is one of: fixed (``amount``); a share of the order value (``share``) or of a
    fact (``share`` with ``share_of``); or ``amount`` per unit of a fact (``per``: per
    passenger, per day late). A share or a per-unit amount may be capped (``cap``). A fact
    read as an amount is in the authority matrix's currency; a fact the issue lacks, or that
    is not a number above zero, gives no offer.

    Attributes:
        kind: the kind of offer.
        description: what the customer is offered, in their words.
        categories: issue categories it applies to (any letter case); empty for every one.
        tiers: customer tiers it applies to (any letter case); empty for every one.
        min_severity: the least severe issue it applies to.
        when: conditions on the case (its facts, tier, category, severity) that must hold:
            a :class:`~serviceplaybook.Condition`, or several in an
            :class:`~serviceplaybook.AllOf` or :class:`~serviceplaybook.AnyOf`.
        share: for a refund-like offer, the share (0 < share <= 1) of the issue's order value,
            or of the fact ``share_of``; the rule gives nothing without one.
        share_of: the fact (a number, in the matrix's currency) the share is of.
        amount: a fixed amount, or the amount per unit with ``per``.
        per: the fact (a number of units: passengers, days) ``amount`` is given for each of.
        cap: the most a share or a per-unit amount gives.

    Raises:
        ValidationError: both ``share`` and ``amount``; a kind that needs a value with
            neither; ``per`` without ``amount``, ``share_of`` without ``share``; a cap on a
            fixed amount, in another currency, or not above zero.
    """

    kind: OfferKind = attrs.field(converter=OfferKind)
    description: str = attrs.field(validator=non_empty)
    categories: frozenset[str] = attrs.field(default=frozenset(), converter=_categories)
    tiers: frozenset[str] = attrs.field(default=frozenset(), converter=_tiers)
    min_severity: Severity = attrs.field(default=Severity.LOW, converter=Severity)
    when: When | None = attrs.field(
        default=None, validator=of_type(Condition, AllOf, AnyOf, type(None))
    )
    share: Decimal | None = attrs.field(default=None, converter=_share)
    share_of: str | None = attrs.field(default=None, converter=_share_of)
    amount: Money | None = attrs.field(default=None, validator=of_type(Money, type(None)))
    per: str | None = attrs.field(default=None, converter=_per)
    cap: Money | None = attrs.field(default=None, validator=of_type(Money, type(None)))

    def __attrs_post_init__(self) -> None:
        if self.share is not None and self.amount is not None:
            raise ValidationError("a CompensationRule gives a share or an amount, not both")
        if self.kind in MONETARY_KINDS and self.share is None and self.amount is None:
            raise ValidationError(
                f"a CompensationRule of kind {self.kind.value!r} needs a share of the order "
                f"value or a fixed amount"
            )
        if self.amount is not None and (self.amount.is_zero or self.amount.is_negative):
            raise ValidationError(f"CompensationRule.amount must be above zero, got {self.amount}")
        if self.per is not None and self.amount is None:
            raise ValidationError(
                f"CompensationRule.per ({self.per!r}) needs the amount per unit: give amount"
            )
        if self.share_of is not None and self.share is None:
            raise ValidationError(
                f"CompensationRule.share_of ({self.share_of!r}) needs the share: give share"
            )
        if self.cap is not None:
            if self.per is None and self.share is None:
                raise ValidationError(
                    "CompensationRule.cap limits a share or a per-unit amount; a fixed amount "
                    "is its own cap"
                )
            if self.cap.is_zero or self.cap.is_negative:
                raise ValidationError(f"CompensationRule.cap must be above zero, got {self.cap}")
            if self.amount is not None and self.amount.currency != self.cap.currency:
                raise CurrencyMismatch(self.amount.currency, self.cap.currency, "cap an amount in")

    def matches(self, conversation: Conversation) -> bool:
        """True if the rule applies to the conversation's issue and customer: category, tier,
        severity, and the conditions of ``when``."""
        issue = conversation.issue
        return (
            (
                not self.categories
                or normal_name(issue.category, "Issue.category") in self.categories
            )
            # Customer.tier is normalised on the record, as the rule's tiers are here.
            and (not self.tiers or conversation.customer.tier in self.tiers)
            and issue.severity >= self.min_severity
            and (self.when is None or self.when.holds(conversation))
        )

    def units(self, conversation: Conversation, name: str) -> Decimal | None:
        """The fact ``name`` of the conversation's issue as a number above zero, or ``None``
        (missing, not a number, a boolean, or zero or less)."""
        value = conversation.issue.facts.get(name)
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            return None
        number = Decimal(value)
        return number if number > 0 else None


def standard_rules(currency: str = "USD") -> tuple[CompensationRule, ...]:
    """The default matrix, with fixed amounts in ``currency``.

    - every issue with an order value: a partial refund of 10% (low), 20% (medium), 50%
      (high) of it, a full refund when critical;
    - damaged, defective or wrong items: a replacement;
    - late or lost deliveries: expedited shipping on the next order;
    - gold and platinum customers, from medium severity: a 25 credit;
    - every customer, from high severity: 15 off the next order;
    - every issue from medium severity: a goodwill gesture (a handwritten apology note).
    """
    money = Money(25, currency)
    return (
        CompensationRule(
            kind=OfferKind.PARTIAL_REFUND,
            description="a partial refund on the affected order",
            share=Decimal("0.10"),
        ),
        CompensationRule(
            kind=OfferKind.PARTIAL_REFUND,
            description="a partial refund on the affected order",
            share=Decimal("0.20"),
            min_severity=Severity.MEDIUM,
        ),
        CompensationRule(
            kind=OfferKind.PARTIAL_REFUND,
            description="a partial refund on the affected order",
            share=Decimal("0.50"),
            min_severity=Severity.HIGH,
        ),
        CompensationRule(
            kind=OfferKind.REFUND,
            description="a full refund of the affected order",
            share=Decimal(1),
            min_severity=Severity.CRITICAL,
        ),
        CompensationRule(
            kind=OfferKind.REPLACEMENT,
            description="a replacement sent at no cost",
            categories={"damaged_item", "defective_item", "wrong_item"},
        ),
        CompensationRule(
            kind=OfferKind.EXPEDITED_SHIPPING,
            description="free expedited shipping on the next order",
            categories={"late_delivery", "lost_parcel", "delivery"},
        ),
        CompensationRule(
            kind=OfferKind.CREDIT,
            description="store credit",
            tiers={"gold", "platinum"},
            min_severity=Severity.MEDIUM,
            amount=money,
        ),
        CompensationRule(
            kind=OfferKind.DISCOUNT,
            description="a discount on the next order",
            min_severity=Severity.HIGH,
            amount=Money(15, currency),
        ),
        CompensationRule(
            kind=OfferKind.GOODWILL,
            description="a handwritten apology note from the team",
            min_severity=Severity.MEDIUM,
        ),
    )


# -- counter offers --------------------------------------------------------------------------


def _phrase(offer: Offer) -> str:
    """The offer as a customer reads it: "a free year of service", "a partial refund (50.00
    USD)", "a refund of 900.00 USD"."""
    if not offer.description.strip():
        words = _words(offer.kind.value)
        value = "" if offer.value is None else f" of {offer.value}"
        return f"{_article(words)}{value}"
    text = " ".join(offer.description.split())
    if offer.value is not None and str(offer.value) not in text:
        return f"{text} ({offer.value})"
    return text


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- what the customer asks for ---------------------------------------------------------------

_CURRENCY_WORDS = {
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
}
# A currency code counts only in capitals ("USD 40", "40 EUR"): "for 40" names no currency.
_AMOUNT = re.compile(
    r"(?:(?P<before>[$€£¥]|(?-i:\b[A-Z]{3}\b))\s?(?P<number>\d[\d,]*(?:\.\d+)?)"
    r"|(?P<number2>\d[\d,]*(?:\.\d+)?)\s?(?P<after>[$€£¥]|(?-i:\b[A-Z]{3}\b)|"
    r"\b(?:dollars?|bucks|euros?|pounds?|quid)\b))",
    re.IGNORECASE,
)
_WHOLE_ORDER = re.compile(
    r"\b(?:full|whole|entire|complete|total)\s+(?:refund|order|amount|price|cost)\b"
    r"|\b(?:refund|money back)\s+(?:for\s+)?(?:everything|all of it|the lot|in full)\b"
    r"|\ball (?:of )?my money back\b",
    re.IGNORECASE,
)


# -- the policy ------------------------------------------------------------------------------


@attrs.define(kw_only=True)
class CompensationPolicy:
    """Recommends offers, checks them against the authority matrix and the customer's recent
    claims, approves with four eyes, and counters demands beyond policy.

    Every rule is a small method: subclass and override the one you need.

    Attributes:
        authority: who may grant what, and the window.
        rules: the recommendation matrix (defaults: :func:`standard_rules` in the matrix's
            currency).
        max_claims: the claims one customer may receive within the window; the next one is
            escalated to ``claim_review_role`` instead of granted.
        claim_review_role: who reviews repeat claims (roles at or above it are not stopped).
        max_alternatives: how many alternatives a counter offer lists.
        on_request: recommend compensation only once the customer asked for it
            (:meth:`customer_asked`), never proactively; the desk's guidance then tells the
            agent not to offer it unprompted.
    """

    authority: AuthorityMatrix = attrs.field(
        factory=AuthorityMatrix.standard, validator=of_type(AuthorityMatrix)
    )
    rules: tuple[CompensationRule, ...] = attrs.field(
        default=attrs.Factory(
            lambda self: standard_rules(self.authority.currency), takes_self=True
        ),
        converter=to_tuple,
    )
    max_claims: int = attrs.field(default=3, validator=counted())
    claim_review_role: Role = attrs.field(default=Role.SUPERVISOR, converter=Role)
    max_alternatives: int = attrs.field(default=3, validator=counted())
    on_request: bool = attrs.field(default=False, validator=of_type(bool))

    # -- recommending ----------------------------------------------------------------------

    def recommend(self, conversation: Conversation) -> list[Offer]:
        """Offers for this issue, severity, customer tier and facts, best first per the rule
        order.

        One offer per kind (the most generous the rules give), and never one the customer
        already declined (see :meth:`was_declined`). With :attr:`on_request`, nothing until
        the customer asked for compensation (:meth:`customer_asked`).

        Raises:
            CurrencyMismatch: a rule's amount or the order value is in another currency than
                the authority matrix.
        """
        if self.on_request and not self.customer_asked(conversation):
            return []
        offers = [
            offer
            for rule in self.rules_for(conversation)
            if (offer := self.offer_for(rule, conversation)) is not None
        ]
        return self.without_declined(self.deduplicate(offers), conversation)

    def rules_for(self, conversation: Conversation) -> list[CompensationRule]:
        """The rules that apply to the conversation (override to add your own conditions)."""
        return [rule for rule in self.rules if rule.matches(conversation)]

    def offer_for(self, rule: CompensationRule, conversation: Conversation) -> Offer | None:
        """The offer ``rule`` gives in this conversation, or ``None`` (a share or a per-unit
        rule whose base is missing, not a number or not above zero, or an amount that rounds
        to nothing)."""
        value = self.value_for(rule, conversation)
        if value is None and (rule.share is not None or rule.amount is not None):
            return None
        self.authority.check_currency(value)
        return Offer(kind=rule.kind, value=value, description=rule.description)

    def value_for(self, rule: CompensationRule, conversation: Conversation) -> Money | None:
        """What ``rule`` is worth in this conversation: the fixed amount; the share of the
        order value or of the fact ``share_of``; or the amount times the fact ``per``; capped
        at ``cap``. ``None`` when the rule gives no value here (or has none)."""
        currency = self.authority.currency
        value: Money | None = rule.amount
        if rule.share is not None:
            if rule.share_of is None:
                base = conversation.issue.order_value
                if base is None or base.is_zero or base.is_negative:
                    return None
                value = base * rule.share
            else:
                units = rule.units(conversation, rule.share_of)
                if units is None:
                    return None
                # Money's one rounding: the product, half to even, to the minor unit.
                value = Money(1, currency) * (units * rule.share)
        elif rule.per is not None and rule.amount is not None:
            units = rule.units(conversation, rule.per)
            if units is None:
                return None
            value = rule.amount * units
        if value is None or value.is_zero:
            return None
        if rule.cap is not None:
            self.authority.check_currency(rule.cap, "cap")
            value = min(value, rule.cap, key=lambda money: money.amount)
        return value

    def deduplicate(self, offers: Iterable[Offer]) -> list[Offer]:
        """One offer per kind: where two rules give the same kind, the most generous one, in
        the place of the first."""
        kept: dict[OfferKind, Offer] = {}
        for offer in offers:
            first = kept.get(offer.kind)
            more = offer.value is not None and (
                first is None or first.value is None or offer.value > first.value
            )
            if first is None or more:
                kept[offer.kind] = offer
        return list(kept.values())

    def was_declined(self, offer: Offer, declined: Iterable[Offer]) -> bool:
        """True if the customer already declined ``offer``: the same kind with the same or a
        larger value (offering less of what they turned down does not help)."""
        for other in declined:
            if other.kind is not offer.kind:
                continue
            if offer.value is None or other.value is None:
                if offer.value == other.value:
                    return True
            elif offer.value.currency == other.value.currency and offer.value <= other.value:
                return True
        return False

    def without_declined(self, offers: Iterable[Offer], conversation: Conversation) -> list[Offer]:
        """Drop offers the customer declined already (:meth:`was_declined`)."""
        declined = [p.offer for p in conversation.offers if p.status is OfferStatus.DECLINED]
        return [offer for offer in offers if not self.was_declined(offer, declined)]

    # -- proactive or on request -----------------------------------------------------------

    def customer_asked(self, conversation: Conversation) -> bool:
        """True once one of the customer's messages asked for compensation (the detector's
        :attr:`Signals.asks_for_compensation <serviceplaybook.Signals.asks_for_compensation>`);
        override to read it elsewhere (a button in the host's chat, a form field)."""
        return any(signals.asks_for_compensation for signals in conversation.signals)

    def guidance(
        self, conversation: Conversation, signals: Signals | None = None
    ) -> tuple[Guidance, ...]:
        """Advice on compensation for the agent, added to the playbook's by the desk.

        When the customer's latest message asks for compensation: find out what the policy
        gives before promising anything; and when they ask for more than the agent can offer
        (:meth:`asks_beyond`), ask what would be an acceptable substitute
        (``ask_for_substitute``). With :attr:`on_request`, while the customer has not
        asked and the conversation is resolving: solve the problem and don't offer
        compensation unprompted.
        """
        if signals is not None and signals.asks_for_compensation:
            requested = (
                Guidance(
                    code="compensation_requested",
                    text="The customer asked to be compensated: confirm the problem first, "
                    "then offer what the policy recommends for this case, within your "
                    "authority; don't promise an amount before you know it.",
                ),
            )
            if self.asks_beyond(conversation):
                return (*requested, ASK_FOR_SUBSTITUTE)
            return requested
        if (
            self.on_request
            and conversation.stage == Stage.RESOLVING
            and not self.customer_asked(conversation)
        ):
            return (
                Guidance(
                    code="compensate_on_request",
                    text="Compensation here is given on request: solve the problem, and don't "
                    "offer compensation unless the customer asks for it.",
                ),
            )
        return ()

    def asks_beyond(self, conversation: Conversation) -> bool:
        """True when the customer asks for more than the agent can offer: they already
        declined an offer in this conversation, or their latest message names an amount
        (:meth:`amounts_in`) above the agent's single-offer limit, or the whole order when
        it is worth more than that. Override to read the demand elsewhere (a form field)."""
        if conversation.declined_offers:
            return True
        last = conversation.last_customer_message
        if last is None:
            return False
        limit = self.authority.authority(conversation.agent.role).single
        if any(amount > limit for amount in self.amounts_in(last.text)):
            return True
        order = conversation.issue.order_value
        return (
            order is not None
            and order.currency == limit.currency
            and order > limit
            and _WHOLE_ORDER.search(last.text) is not None
        )

    def amounts_in(self, text: str) -> list[Money]:
        """The amounts of money ``text`` names in the authority matrix's currency ("$900",
        "900 dollars", "€ 45,50", "120 EUR"); amounts in other currencies are left out, never
        converted."""
        found: list[Money] = []
        currency = self.authority.currency
        for match in _AMOUNT.finditer(text):
            named = match.group("before") or match.group("after") or ""
            code = _CURRENCY_WORDS.get(named.casefold(), named.upper())
            number = match.group("number") or match.group("number2") or ""
            if "," in number and "." not in number and len(number.rpartition(",")[2]) == 2:
                number = number.replace(",", ".")  # "45,50": a decimal comma
            number = number.replace(",", "")
            if code != currency or not number:
                continue
            try:
                found.append(Money(Decimal(number), currency))
            except (ArithmeticError, ValidationError):
                continue
        return found

    # -- the window ------------------------------------------------------------------------

    def in_window(
        self, history: Iterable[Grant | Offer], now: datetime | None = None
    ) -> list[Grant | Offer]:
        """The history that counts at ``now``: grants within the rolling window.

        A grant exactly one window old has left it. Without ``now``, and for bare offers
        (whose time is unknown), everything counts: the cautious reading.
        """
        if now is None:
            return list(history)
        require_aware(now, "now")
        start = now - self.authority.window
        return [item for item in history if not isinstance(item, Grant) or item.at > start]

    def granted_total(self, history: Iterable[Grant | Offer]) -> Money:
        """The total value of ``history``.

        Raises:
            CurrencyMismatch: an item is in another currency than the authority matrix.
        """
        total = Money.zero(self.authority.currency)
        for item in history:
            offer = item.offer if isinstance(item, Grant) else item
            if offer.value is not None:
                self.authority.check_currency(offer.value, "past grant")
                total = total + offer.value
        return total

    def counts_as_claim(self, offer: Offer) -> bool:
        """True if ``offer`` counts toward repeat claims: anything with a value,
        replacements, free service, upgrades and other remedies. Expedited shipping and
        goodwill gestures rebuild trust and cost little, so they do not."""
        return (
            offer.value is not None
            or offer.kind is OfferKind.REPLACEMENT
            or offer.kind in DESCRIBED_KINDS
        )

    def claims(self, history: Iterable[Grant | Offer]) -> int:
        """How many items of ``history`` count as claims."""
        return sum(
            1
            for item in history
            if self.counts_as_claim(item.offer if isinstance(item, Grant) else item)
        )

    def repeat_claimant(self, claims: int) -> bool:
        """True when a customer with ``claims`` claims in the window has reached the limit."""
        return claims >= self.max_claims

    def reviews_claims(self, role: Role) -> bool:
        """True if ``role`` may grant past the repeat-claim limit (``claim_review_role`` or
        above on the ladder)."""
        role = Role(role)
        return role.on_ladder and role >= self.claim_review_role

    # -- authorizing -----------------------------------------------------------------------

    def authorize(
        self,
        offer: Offer,
        agent: Agent,
        history: Iterable[Grant | Offer] = (),
        *,
        now: datetime | None = None,
    ) -> Authorization:
        """May ``agent`` make ``offer`` to a customer with this ``history``?

        In order: no role may grant it (denied); the customer reached the repeat-claim limit
        and the agent ranks below ``claim_review_role`` (escalate); within the agent's single
        and window limits and kinds (granted); else needs approval from the lowest covering
        role. Limits are inclusive.

        Args:
            offer: the offer.
            agent: who proposes it.
            history: the customer's grants (from the ledger); those within the window at
                ``now`` count toward the window total and the claims.
            now: the current time; without it every grant counts.

        Raises:
            CurrencyMismatch: the offer or a grant is in another currency than the matrix.
        """
        return self.authorize_role(offer, agent.role, history, now=now)

    def authorize_role(
        self,
        offer: Offer,
        role: Role,
        history: Iterable[Grant | Offer] = (),
        *,
        now: datetime | None = None,
    ) -> Authorization:
        """:meth:`authorize` for a role rather than an agent."""
        role = Role(role)
        self.authority.check_currency(offer.value)
        window = self.in_window(history, now)
        granted = self.granted_total(window)
        claims = self.claims(window)
        facts: dict[str, Any] = {
            "offer": offer,
            "role": role,
            "granted_in_window": granted,
            "claims_in_window": claims,
            "remaining": self.authority.remaining(role, granted),
        }
        approver = self.authority.lowest_covering(offer, granted)
        if approver is None:
            return Authorization(
                status=AuthorizationStatus.DENIED,
                reasons=self.denial_reasons(offer, granted),
                **facts,
            )
        if (
            self.counts_as_claim(offer)
            and self.repeat_claimant(claims)
            and not self.reviews_claims(role)
        ):
            return Authorization(
                status=AuthorizationStatus.ESCALATE,
                approver_role=self.claim_review_role,
                reasons=(self.repeat_claim_reason(claims),),
                **facts,
            )
        shortfall = self.authority.shortfall(role, offer, granted)
        if shortfall is None:
            return Authorization(
                status=AuthorizationStatus.GRANTED,
                reasons=(
                    Reason(code="within_authority", text="The offer is within your authority."),
                ),
                **facts,
            )
        return Authorization(
            status=AuthorizationStatus.NEEDS_APPROVAL,
            approver_role=approver,
            reasons=(
                shortfall,
                Reason(
                    code="above_authority",
                    text=f"{_article(_words(approver.value)).capitalize()} must approve it; "
                    f"tell the customer who decides and when they will hear.",
                ),
            ),
            **facts,
        )

    def denial_reasons(self, offer: Offer, granted: Money) -> tuple[Reason, ...]:
        """Why no role may grant ``offer`` (override to word it your way)."""
        top = self.authority.authority(_LADDER[-1])
        if offer.kind not in top.kinds:
            why = f"nobody may offer {_article(_words(offer.kind.value))}"
        elif offer.value is not None and offer.value > top.single:
            why = f"it is above the largest single offer anyone may grant ({top.single})"
        else:
            why = (
                f"the customer already received {granted} within {self.authority.window.days} "
                f"days, and it would take them past the most anyone may grant "
                f"({top.window_total})"
            )
        text = f"No role may grant this offer: {why}."
        return (
            Reason(code="beyond_any_authority", text=text),
            Reason(
                code="offer_within_policy",
                text="Propose something within policy instead, and explain what you can do.",
            ),
        )

    def repeat_claim_reason(self, claims: int) -> Reason:
        """The reason given when a repeat claimant is escalated."""
        return Reason(
            code="repeat_claims",
            text=f"The customer already received {claims} claims within "
            f"{self.authority.window.days} days; a {_words(self.claim_review_role.value)} "
            f"reviews further compensation.",
        )

    def authorize_grant(
        self,
        offer: Offer,
        role: Role,
        history: Iterable[Grant | Offer] = (),
        *,
        approval: Approval | None = None,
        now: datetime | None = None,
    ) -> Authorization:
        """The final check when the customer accepts: may ``offer`` be granted now?

        The history may have grown since the offer was proposed (another conversation, the
        same customer), so the limits are checked again, inside the unit of work that records
        the grant. An approval that covers exactly this offer (:meth:`Approval.covers`) lends
        its approver's role; one that does not is ignored, so an edited offer is never
        treated as approved.

        Args:
            offer: the accepted offer.
            role: the proposer's role.
            history: the customer's grants.
            approval: the offer's approval, if it had one.
            now: the current time.
        """
        role = Role(role)
        if approval is not None and approval.covers(offer) and approval.approved_role is not None:
            approver_role = approval.approved_role
            if approver_role.on_ladder and (not role.on_ladder or approver_role > role):
                role = approver_role
        return self.authorize_role(offer, role, history, now=now)

    # -- approvals -------------------------------------------------------------------------

    def request_approval(
        self,
        offer: Offer,
        agent: Agent,
        authorization: Authorization,
        *,
        id: str,
        now: datetime,
    ) -> Approval:
        """The pending :class:`Approval` for an offer that needs one, recording its terms.

        Raises:
            ValidationError: the authorization does not name an approver role.
        """
        if authorization.approver_role is None:
            raise ValidationError(
                f"authorization {authorization.status.value!r} names no approver role; only an "
                f"offer that needs approval (or escalates) gets an Approval"
            )
        return Approval(
            id=id,
            offer_id=offer.id,
            requested_by=agent.id,
            approver_role=authorization.approver_role,
            requested_at=now,
            terms=offer,
        )

    def can_approve(
        self,
        approver: Agent,
        approval: Approval,
        offer: Offer,
        history: Iterable[Grant | Offer] = (),
        *,
        now: datetime | None = None,
    ) -> Reason | None:
        """``None`` if ``approver`` may approve ``offer``, else the reason they may not.

        Nobody approves their own request; an approval is given once; the offer must be the
        one the approval was asked for, unchanged; and the approver's own authority must
        cover it, given what the customer received within the window.
        """
        if approver.id == approval.requested_by:
            return Reason(
                code="self_approval",
                text="Nobody approves their own request; ask someone else with the authority.",
            )
        if not approval.pending:
            return Reason(
                code="already_approved",
                text=f"This approval was already given by {approval.approved_by}.",
            )
        if offer.id != approval.offer_id or (
            approval.terms is not None and not offer.same_terms(approval.terms)
        ):
            return Reason(
                code="offer_changed",
                text="The offer is not the one approval was asked for; propose it again so "
                "its new terms are approved.",
            )
        granted = self.granted_total(self.in_window(history, now))
        # The approval names the lowest role that may give it, which can be above what the
        # offer's declared terms need (its words promised more: DraftReview.authorize_offer).
        named = approval.approver_role
        below = (
            named is not None
            and named.on_ladder
            and not (approver.role.on_ladder and approver.role >= named)
        )
        if below or not self.authority.covers(approver.role, offer, granted):
            return Reason(
                code="approver_lacks_authority",
                text=f"{_article(_words(approver.role.value)).capitalize()} may not grant this "
                f"offer; it needs {_article(_words(approval.approver_role.value))} or higher.",
            )
        return None

    # -- counter offers --------------------------------------------------------------------

    def counter_offer(
        self,
        requested: Offer,
        conversation: Conversation,
        *,
        agent: Agent | None = None,
        history: Iterable[Grant | Offer] = (),
        now: datetime | None = None,
    ) -> CounterOffer:
        """For a demand beyond policy, the best offer ``agent`` may make now, with the reasons
        to explain it and alternatives.

        The best offer is the request capped at what policy allows: the agent's single limit,
        what remains of their window total for this customer, and :meth:`ceiling` (a refund
        is never more than the order). When the agent may not offer that kind, the nearest
        kind they may (:meth:`substitute_kind`). Alternatives are the recommended offers the
        agent may grant. Nothing the customer declined is offered again.

        Args:
            requested: what the customer asks for.
            conversation: the conversation (issue, customer, declined offers).
            agent: who answers; the conversation's agent by default.
            history: the customer's grants.
            now: the current time.

        Raises:
            CurrencyMismatch: the request or a grant is in another currency than the matrix.
        """
        agent = agent or conversation.agent
        history = list(history)
        asked = self.authorize(requested, agent, history, now=now)
        declined = [p.offer for p in conversation.offers if p.status is OfferStatus.DECLINED]
        if asked.granted and not self.was_declined(requested, declined):
            return CounterOffer(
                requested=requested,
                offer=requested,
                reasons=(
                    Reason(
                        code="request_within_policy",
                        text="The request is within your authority; you can agree to it.",
                    ),
                ),
                explanation=f"I can arrange {_phrase(requested)} for you right away.",
            )
        granted = asked.granted_in_window or Money.zero(self.authority.currency)
        reasons: list[Reason] = [r for r in asked.reasons if r.code != "offer_within_policy"]
        candidates: list[Offer] = []
        if asked.escalate:
            escalate_to: Role | None = asked.approver_role
        else:
            escalate_to = asked.approver_role if asked.needs_approval else None
            best, why = self.best_within(requested, agent.role, granted, conversation)
            reasons.extend(why)
            if best is not None:
                candidates.append(best)
        candidates.extend(self.recommend(conversation))
        allowed = [
            offer
            for offer in candidates
            if not self.was_declined(offer, declined)
            and self.authorize(offer, agent, history, now=now).granted
        ]
        offers = self.deduplicate(allowed)
        offer = offers[0] if offers else None
        alternatives = tuple(offers[1 : 1 + self.max_alternatives])
        reasons.append(
            Reason(
                code="explain_compromise",
                text="Say what you can do rather than what you cannot, explain briefly why, "
                "and offer the alternatives; a supervisor can review the rest if the customer "
                "stays unhappy.",
            )
        )
        return CounterOffer(
            requested=requested,
            offer=offer,
            reasons=reasons,
            alternatives=alternatives,
            escalate_to=escalate_to,
            explanation=self.explain(
                requested,
                offer,
                alternatives,
                escalate_to,
                reasons=reasons,
                conversation=conversation,
            ),
            guidance=self.counter_guidance(requested, conversation),
        )

    def ceiling(self, requested: Offer, conversation: Conversation) -> Money | None:
        """The most a fair offer of this kind could be, whoever grants it: a refund or partial
        refund never exceeds the order value. ``None`` when there is no such bound."""
        order_value = conversation.issue.order_value
        if (
            requested.kind in {OfferKind.REFUND, OfferKind.PARTIAL_REFUND}
            and order_value is not None
            and not order_value.is_negative
        ):
            self.authority.check_currency(order_value, "order value")
            return order_value
        return None

    def substitute_kind(self, kind: OfferKind, role: Role) -> OfferKind | None:
        """The kind to offer when ``role`` may not offer ``kind``: for money, the first of
        partial refund, credit, discount that the role may offer; else ``None``."""
        if kind not in MONETARY_KINDS:
            return None
        for substitute in (OfferKind.PARTIAL_REFUND, OfferKind.CREDIT, OfferKind.DISCOUNT):
            if self.authority.allows_kind(role, substitute):
                return substitute
        return None

    def best_within(
        self, requested: Offer, role: Role, granted: Money, conversation: Conversation
    ) -> tuple[Offer | None, list[Reason]]:
        """The request cut down to what ``role`` may grant now, and why it was cut.

        Returns ``(None, reasons)`` when nothing of the kind (or a substitute) fits.
        """
        reasons: list[Reason] = []
        kind = requested.kind
        if not self.authority.allows_kind(role, kind):
            substitute = self.substitute_kind(kind, role)
            if substitute is None:
                return None, reasons
            reasons.append(
                Reason(
                    code="substitute_kind",
                    text=f"You may not offer {_article(_words(kind.value))}; "
                    f"{_article(_words(substitute.value))} is the closest you can offer.",
                )
            )
            kind = substitute
        if requested.value is None:
            return Offer(kind=kind, description=requested.description), reasons
        value = requested.value
        ceiling = self.ceiling(requested, conversation)
        if ceiling is not None and value > ceiling:
            value = ceiling
            reasons.append(
                Reason(
                    code="above_order_value",
                    text=f"A refund is never more than what the order cost ({ceiling}).",
                )
            )
        room = self.authority.remaining(role, granted)
        if value > room:
            value = room
            reasons.append(
                Reason(
                    code="capped_at_authority",
                    text=f"{room} is the most you may offer this customer on your own now.",
                )
            )
        if value.is_zero:
            return None, reasons
        description = requested.description
        if kind is OfferKind.REFUND and value < requested.value:
            if ceiling is not None and value == ceiling:
                description = "a full refund of the order"
            else:
                # Less than was asked for, and less than the order: a partial refund.
                kind = OfferKind.PARTIAL_REFUND
                description = "a partial refund"
        return Offer(kind=kind, value=value, description=description), reasons

    def explain(
        self,
        requested: Offer,
        offer: Offer | None,
        alternatives: Sequence[Offer],
        escalate_to: Role | None,
        *,
        reasons: Sequence[Reason] = (),
        conversation: Conversation | None = None,
    ) -> str:
        """What to tell the customer: what can be done now, what of their request cannot and
        why (:meth:`why_not`, in their words, never "policy" or "system"), the alternatives,
        and who could review the rest.

        Args:
            requested: what the customer asked for.
            offer: the best offer the agent may make now, if any.
            alternatives: other offers the agent may make now.
            escalate_to: the role that could review the full request, if any.
            reasons: the counter-offer's reasons (their codes say what cut the request).
            conversation: the conversation, for the order and the problem.
        """
        parts: list[str] = []
        if offer is not None:
            parts.append(f"I can offer you {_phrase(offer)} today.")
        why = self.why_not(requested, reasons, conversation, escalate_to)
        if why:
            parts.append(why)
        if alternatives:
            parts.append(
                "If you'd prefer, I could offer "
                + " or ".join(_phrase(alternative) for alternative in alternatives)
                + " instead."
            )
        if escalate_to is not None:
            who = _article(_words(escalate_to.value))
            if offer is not None or alternatives:
                parts.append(
                    f"If that doesn't feel like enough, I can ask {who} to look at your full "
                    f"request and come back to you."
                )
            else:
                parts.append(f"I can ask {who} to look at your request and come back to you.")
        if not parts:
            parts.append("Let me find out who can help you further with this.")
        return " ".join(parts)

    def why_not(
        self,
        requested: Offer,
        reasons: Sequence[Reason],
        conversation: Conversation | None,
        escalate_to: Role | None,
    ) -> str:
        """The sentence that says what of the request cannot be done and why, in the
        customer's words: the reason the policy applied, never the word "policy" nor an
        excuse. ``""`` when nothing needs saying.

        The reasons, most fundamental first: no role may grant it (``beyond_any_authority``);
        a refund above the order (``above_order_value``); repeat claims (``repeat_claims``);
        a kind the agent may not offer (``kind_not_allowed``); an amount above the agent's
        authority. Override to give the reason of your business ("because the order itself
        was delivered").

        Args:
            requested: what the customer asked for.
            reasons: the counter-offer's reasons.
            conversation: the conversation, for the order value.
            escalate_to: the role that could review it.
        """
        codes = {reason.code for reason in reasons}
        asked = _capitalised(_phrase(requested))
        days = self.authority.window.days
        if "beyond_any_authority" in codes:
            top = self.authority.authority(_LADDER[-1])
            if requested.kind not in top.kinds:
                because = "it isn't something we give to put a problem right"
            elif requested.value is not None and requested.value > top.single:
                because = "it's more than we can give back for any one problem"
            else:
                because = (
                    f"together with what we've already given you in the last {days} days, it "
                    f"would go past the most we can give any one customer"
                )
            return f"{asked} isn't something we can offer, because {because}."
        ceiling = None if conversation is None else self.ceiling(requested, conversation)
        if "above_order_value" in codes and ceiling is not None:
            return (
                f"{asked} isn't something I can do, because a refund can't be more than the "
                f"order itself cost ({ceiling})."
            )
        if "repeat_claims" in codes:
            who = _article(_words(self.claim_review_role.value))
            return (
                f"{asked} isn't something I can arrange myself: we've already put things right "
                f"for you several times in the last {days} days, and {who} looks at anything "
                f"further."
            )
        if "kind_not_allowed" in codes:
            decides = (
                f"that's a decision for {_article(_words(escalate_to.value))}"
                if escalate_to is not None
                else "that's a decision for someone else on the team"
            )
            return f"{asked} isn't something I can arrange myself; {decides}."
        if codes & _AUTHORITY_CODES:
            return f"{asked} is more than I can agree to on my own."
        return ""

    def counter_guidance(
        self, requested: Offer, conversation: Conversation
    ) -> tuple[Guidance, ...]:
        """Advice carried on a counter-offer whose request cannot be met as asked:
        ``ask_for_substitute`` (say what you can do and why not the rest, then ask what would
        be an acceptable substitute). Override to add your own."""
        return (ASK_FOR_SUBSTITUTE,)


ASK_FOR_SUBSTITUTE = Guidance(
    code="ask_for_substitute",
    text="The request can't be met as asked: say what you can do and why the rest isn't "
    "possible, in the customer's terms, then ask what would be an acceptable substitute, e.g. "
    "'What else would help put this right for you?'",
)
"""The guidance when a customer's demand cannot be met as asked."""

_AUTHORITY_CODES = frozenset(
    {"above_single_limit", "above_window_limit", "capped_at_authority", "above_authority"}
)
