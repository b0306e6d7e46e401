"""Escalation: when a conversation goes to someone with more authority, to whom, and why.

The craft: elevate when the customer stays unsatisfied or the request exceeds your authority;
an abusive customer gets a calm boundary and then a higher authority; a threat goes to
security, safety first; never toss the customer around, and hand over the whole story so the
customer never has to repeat it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from serviceplaybook._enums import Choice
from serviceplaybook._validate import non_negative_int, of_type, to_tuple
from serviceplaybook.errors import ConfigError, ValidationError
from serviceplaybook.offers import Offer, OfferStatus
from serviceplaybook.parties import Role
from serviceplaybook.reasons import Reason

if TYPE_CHECKING:
    from serviceplaybook.conversation import Conversation
    from serviceplaybook.signals import Signals

__all__ = [
    "EscalationDecision",
    "EscalationLadder",
    "EscalationPolicy",
    "HandoffBrief",
    "Urgency",
]


class Urgency(Choice):
    """How quickly the next person must take over."""

    NORMAL = "normal"
    HIGH = "high"
    IMMEDIATE = "immediate"


@attrs.frozen(kw_only=True)
class HandoffBrief:
    """Everything the next person needs so the customer never repeats their story.

    Attributes:
        summary: the problem as understood (the agent's confirmed summary, else the issue's).
        tried: what was tried so far, one line each.
        offers_declined: offers the customer already turned down (never offer them again).
        apologies: the apologies already given, word for word.
        mood: the customer's mood now and its trend, e.g. ``"angry, worsening"``.
    """

    summary: str = attrs.field(validator=of_type(str), repr=False)
    tried: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, repr=False)
    offers_declined: tuple[Offer, ...] = attrs.field(default=(), converter=to_tuple)
    apologies: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, repr=False)
    mood: str = attrs.field(default="unknown", validator=of_type(str))


def _at_least_one(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not value:
        raise ValidationError("EscalationDecision.reasons must hold at least one Reason")


@attrs.frozen(kw_only=True)
class EscalationDecision:
    """A decision to hand the conversation to a higher role (or to security).

    Attributes:
        to: the role that takes over.
        from_role: the role of the agent who had the conversation.
        urgency: how quickly.
        reasons: every rule that fired, at least one.
        brief: the context for the next person.
        terminate: True when the conversation ends here (a threat, continued abuse).
    """

    to: Role = attrs.field(converter=Role)
    from_role: Role = attrs.field(converter=Role)
    urgency: Urgency = attrs.field(converter=Urgency)
    reasons: tuple[Reason, ...] = attrs.field(converter=to_tuple, validator=_at_least_one)
    brief: HandoffBrief = attrs.field(validator=of_type(HandoffBrief))
    terminate: bool = attrs.field(default=False, validator=of_type(bool))

    @property
    def codes(self) -> tuple[str, ...]:
        """The reasons' codes."""
        return tuple(reason.code for reason in self.reasons)


def _ladder_roles(value: Iterable[Role | str]) -> tuple[Role, ...]:
    roles = tuple(Role(item) for item in to_tuple(value))
    if not roles:
        raise ConfigError("EscalationLadder.roles must name at least one role")
    if Role.SECURITY in roles:
        raise ConfigError(
            "EscalationLadder.roles must not contain Role.SECURITY: security stands aside "
            "from the ladder and is reached by the threat and abuse rules"
        )
    if list(roles) != sorted(set(roles)):
        raise ConfigError(
            f"EscalationLadder.roles must go strictly upwards without repeats, got "
            f"{[r.value for r in roles]}"
        )
    return roles


@attrs.frozen(kw_only=True)
class EscalationLadder:
    """The roles a conversation climbs, lowest first; it never steps down.

    Attributes:
        roles: the rungs, strictly increasing (a bot is the lowest by default).
        max_handoffs: after this many handoffs the next escalation goes straight to the top
            instead of another hop, so the customer is not passed around.
    """

    roles: tuple[Role, ...] = attrs.field(
        default=(Role.BOT, Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR, Role.MANAGER),
        converter=_ladder_roles,
    )
    max_handoffs: int = attrs.field(default=2, validator=non_negative_int)

    @property
    def top(self) -> Role:
        """The highest rung."""
        return self.roles[-1]

    def next_above(self, role: Role) -> Role:
        """The first rung above ``role`` (the top if ``role`` is at or above it)."""
        for rung in self.roles:
            if rung > role:
                return rung
        return self.top

    def target(self, current: Role, *, minimum: Role | None = None, handoffs: int = 0) -> Role:
        """Where the next escalation from ``current`` goes.

        One rung up, at least ``minimum``, never down, and straight to the top once
        ``handoffs`` reached ``max_handoffs``.
        """
        if current is Role.SECURITY:
            return Role.SECURITY
        if handoffs >= self.max_handoffs:
            return max(self.top, current)
        target = self.next_above(current)
        if minimum is not None and minimum.on_ladder and minimum > target:
            target = min(minimum, max(self.top, current))
        return max(target, current)


Rule = Callable[["Conversation", "Signals | None"], Reason | None]

SECURITY_CODES = frozenset({"threat", "continued_abuse"})


@attrs.define(kw_only=True)
class EscalationPolicy:
    """Decides whether a conversation escalates, to whom and why.

    Each rule is a small method returning a :class:`Reason` or ``None``; override one to
    change one rule, or override :meth:`rules` to add your own.

    Attributes:
        ladder: the roles to climb.
        max_declined_offers: escalate once the customer declined this many offers.
        minimum_roles: the lowest role a reason code sends the conversation to.
    """

    ladder: EscalationLadder = attrs.field(factory=EscalationLadder)
    max_declined_offers: int = attrs.field(default=2, validator=non_negative_int)
    minimum_roles: dict[str, Role] = attrs.field(
        factory=lambda: {
            "abusive_language": Role.SUPERVISOR,
            "asked_for_manager": Role.SUPERVISOR,
        }
    )

    def rules(self) -> Sequence[Rule]:
        """The rules checked by :meth:`decide`, in order."""
        return (
            self.threat,
            self.continued_abuse,
            self.abuse,
            self.asked_for_manager,
            self.declined_offers,
        )

    def decide(
        self, conversation: Conversation, signals: Signals | None
    ) -> EscalationDecision | None:
        """Check every rule; return a decision naming all that fired, or ``None``."""
        reasons = [r for r in (rule(conversation, signals) for rule in self.rules()) if r]
        if not reasons:
            return None
        return self.build(conversation, reasons)

    def requested(
        self, conversation: Conversation, reason: Reason | None = None, to: Role | None = None
    ) -> EscalationDecision:
        """The decision for an escalation the agent asked for explicitly."""
        reason = reason or Reason(
            code="agent_request", text="The agent asked for a higher authority to take over."
        )
        return self.build(conversation, [reason], minimum=to)

    # -- rules ---------------------------------------------------------------------------

    def threat(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """A threat of violence or self-harm: security, immediately."""
        if signals is not None and signals.threat:
            return Reason(
                code="threat",
                text="The customer made a threat; safety comes first, security takes over.",
            )
        return None

    def continued_abuse(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """Abuse that goes on after a boundary was set: the conversation ends."""
        if signals is not None and signals.abusive and self._warned(conversation):
            return Reason(
                code="continued_abuse",
                text="The customer kept being abusive after a boundary was set.",
            )
        return None

    def abuse(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """A first abusive message: set a calm boundary and involve a supervisor."""
        if signals is not None and signals.abusive and not self._warned(conversation):
            return Reason(
                code="abusive_language",
                text="The customer used abusive language; a supervisor should be involved.",
            )
        return None

    def asked_for_manager(
        self, conversation: Conversation, signals: Signals | None
    ) -> Reason | None:
        """The customer asked for a manager or a supervisor."""
        if signals is not None and signals.wants_manager:
            return Reason(code="asked_for_manager", text="The customer asked for a manager.")
        return None

    def declined_offers(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """The customer turned down several offers from the current owner and is still
        unsatisfied (declines before the last handoff were the previous owner's to answer)."""
        since = conversation.handoffs[-1].at if conversation.handoffs else None
        declined = sum(
            1
            for p in conversation.offers
            if p.status is OfferStatus.DECLINED
            and (since is None or (p.decided_at is not None and p.decided_at >= since))
        )
        if self.max_declined_offers and declined >= self.max_declined_offers:
            return Reason(
                code="offers_declined",
                text=f"The customer declined {declined} offers and is still unsatisfied.",
            )
        return None

    # -- building the decision -------------------------------------------------------------

    def build(
        self,
        conversation: Conversation,
        reasons: Sequence[Reason],
        *,
        minimum: Role | None = None,
    ) -> EscalationDecision:
        """Turn the reasons that fired into a decision: target, urgency and brief."""
        codes = {reason.code for reason in reasons}
        current = conversation.agent.role
        terminate = bool(codes & SECURITY_CODES)
        to: Role
        if terminate or minimum is Role.SECURITY:
            # security stands aside from the ladder: reached by the safety rules, or when
            # the agent asks for it (fraud, say) without ending the conversation
            to = Role.SECURITY
        else:
            floor: Role | None = minimum
            for code in codes:
                role = self.minimum_roles.get(code)
                if role is not None and (floor is None or role > floor):
                    floor = role
            to = self.ladder.target(current, minimum=floor, handoffs=len(conversation.handoffs))
        return EscalationDecision(
            to=to,
            from_role=current,
            urgency=self.urgency(codes),
            reasons=tuple(reasons),
            brief=self.brief(conversation),
            terminate=terminate,
        )

    def urgency(self, codes: set[str]) -> Urgency:
        """Immediate for safety, high for abuse, normal otherwise."""
        if codes & SECURITY_CODES:
            return Urgency.IMMEDIATE
        if "abusive_language" in codes:
            return Urgency.HIGH
        return Urgency.NORMAL

    def brief(self, conversation: Conversation) -> HandoffBrief:
        """The context handed to the next person."""
        tried = [
            f"{p.status.value}: {p.offer.kind.value}"
            + (f" {p.offer.value}" if p.offer.value is not None else "")
            + (f" ({p.offer.description})" if p.offer.description else "")
            for p in conversation.offers
        ]
        return HandoffBrief(
            summary=conversation.summary or conversation.issue.summary,
            tried=tried,
            offers_declined=[
                p.offer for p in conversation.offers if p.status is OfferStatus.DECLINED
            ],
            apologies=[apology.text for apology in conversation.apologies],
            mood=self.mood(conversation),
        )

    def mood(self, conversation: Conversation) -> str:
        """The customer's mood from the last signals, and its trend over the last three."""
        if not conversation.signals:
            return "unknown"
        last = conversation.signals[-1]
        if last.threat:
            now = "threatening"
        elif last.abusive:
            now = "abusive"
        elif last.anger >= 0.5 or last.shouting:
            now = "angry"
        elif last.sentiment < -0.2:
            now = "unhappy"
        elif last.sentiment > 0.2:
            now = "positive"
        else:
            now = "neutral"
        recent = [s.sentiment for s in conversation.signals[-3:]]
        if len(recent) < 2 or abs(recent[-1] - recent[0]) < 0.2:
            trend = "steady"
        elif recent[-1] < recent[0]:
            trend = "worsening"
        else:
            trend = "improving"
        return f"{now}, {trend}"

    def _warned(self, conversation: Conversation) -> bool:
        return any(s.abusive for s in conversation.signals[:-1])
