"""Escalation: when a conversation goes to someone with more authority, to whom, and why.

The craft: elevate when the customer stays unsatisfied or the request exceeds your authority;
an abusive customer gets a calm boundary and then a higher authority; a threat goes to
security, safety first; never toss the customer around, and hand over the whole story so the
customer never has to repeat it.

:class:`EscalationPolicy` checks its rules (one small method each) and returns an
:class:`EscalationDecision` naming every rule that fired, the role that takes over, how
urgently, and a :class:`HandoffBrief`. :class:`EscalationLadder` orders the roles, never
steps down, caps the number of hops, and says when a bot may no longer act.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import attrs

from serviceplaybook._errors import ConfigError, ValidationError
from serviceplaybook._records.escalation import EscalationDecision, HandoffBrief, Urgency
from serviceplaybook._records.money import Money
from serviceplaybook._records.offers import OfferStatus, ProposedOffer
from serviceplaybook._records.parties import Agent, Role
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import counted, normal_names, of_type, to_tuple

if TYPE_CHECKING:
    from serviceplaybook._records.compensation import Approval
    from serviceplaybook._records.conversation import Conversation
    from serviceplaybook._records.signals import Signals
    from serviceplaybook._records.sla import SlaStepReached


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

    A bot is the lowest rung: the handoff from a bot to a person is the first step of the
    same ladder, and once a person owns the conversation a bot may not act on it until a
    person hands it back (:meth:`may_act`). Security stands aside from the ladder.

    Attributes:
        roles: the rungs, strictly increasing (a bot is the lowest by default).
        max_handoffs: after this many handoffs to people the next escalation goes straight
            to the top instead of another hop, so the customer is not passed around.
    """

    roles: tuple[Role, ...] = attrs.field(
        default=(Role.BOT, Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR, Role.MANAGER),
        converter=_ladder_roles,
    )
    max_handoffs: int = attrs.field(default=2, validator=counted())

    @property
    def top(self) -> Role:
        """The highest rung."""
        return self.roles[-1]

    @property
    def bottom(self) -> Role:
        """The lowest rung (a bot, by default)."""
        return self.roles[0]

    def next_above(self, role: Role) -> Role:
        """The first rung above ``role`` (the top if ``role`` is at or above it)."""
        for rung in self.roles:
            if rung > role:
                return rung
        return self.top

    def rung_for(self, role: Role) -> Role:
        """The lowest rung at or above ``role`` (the top if none is; security stays
        security)."""
        if role is Role.SECURITY:
            return Role.SECURITY
        for rung in self.roles:
            if rung >= role:
                return rung
        return self.top

    def hops(self, conversation: Conversation) -> int:
        """The handoffs that count against :attr:`max_handoffs`: those to a person (a person
        handing the conversation back to a bot is not passing the customer around)."""
        return sum(1 for handoff in conversation.handoffs if not handoff.to_agent.is_bot)

    def target(self, current: Role, *, minimum: Role | None = None, handoffs: int = 0) -> Role:
        """Where the next escalation from ``current`` goes.

        One rung up, at least the rung for ``minimum``, never down, and straight to the top
        once ``handoffs`` reached :attr:`max_handoffs`. Security owns what it took over, and
        a ``minimum`` of security goes to security.

        Args:
            current: the role of the conversation's owner now.
            minimum: the lowest role that may take over, if a rule or the agent named one.
            handoffs: the hops so far (see :meth:`hops`).
        """
        if current is Role.SECURITY or minimum is Role.SECURITY:
            return Role.SECURITY
        if handoffs >= self.max_handoffs:
            return max(self.top, current)
        target = self.next_above(current)
        if minimum is not None:
            target = max(target, self.rung_for(minimum))
        return max(target, current)

    def may_act(self, conversation: Conversation, actor: Agent) -> Reason | None:
        """Whether ``actor`` may act on ``conversation`` now: ``None`` if so, else why not.

        People may always act (the playbook and the desk check the rest). A bot may act only
        while a bot owns the conversation and no escalation to a person is waiting: once a
        person owns it, the bot waits until a person hands it back by a handoff to a bot.

        Args:
            conversation: the conversation as it stands.
            actor: who wants to act (send a message, propose, resolve...).
        """
        if not actor.is_bot:
            return None
        owner = conversation.agent
        if not owner.is_bot:
            return Reason(
                code="person_owns_conversation",
                text=f"A person ({owner.role.value}) owns this conversation; a bot may act on "
                f"it again only after a person hands it back.",
            )
        if conversation.stage == Stage.ESCALATED:
            return Reason(
                code="awaiting_person",
                text="The conversation was escalated to a person; a bot may not act on it "
                "while it waits to be picked up.",
            )
        return None

    def may_hand_back(self, conversation: Conversation, by: Agent, to: Agent) -> Reason | None:
        """Whether ``by`` may hand ``conversation`` back to the bot ``to``: ``None`` if so.

        Only a person at or above the owner's role may, and only to a bot; a conversation
        waiting for an escalation to be picked up is not handed back.

        Args:
            conversation: the conversation as it stands.
            by: the person handing it back.
            to: the bot taking it over again.
        """
        if not to.is_bot:
            return Reason(
                code="hand_back_to_bot_only",
                text=f"Handing back is to a bot; {to.id!r} is a {to.role.value}: use a "
                f"pick-up or an escalation instead.",
            )
        owner = conversation.agent.role
        if by.is_bot or (
            by.role is not owner and (Role.SECURITY in (by.role, owner) or by.role < owner)
        ):
            return Reason(
                code="hand_back_needs_owner",
                text=f"Only a person at or above the owner's role ({owner.value}) may hand the "
                f"conversation back to a bot.",
            )
        if conversation.stage == Stage.ESCALATED:
            return Reason(
                code="awaiting_person",
                text="The conversation waits for a person to pick up an escalation; it "
                "cannot go back to a bot now.",
            )
        return None


class Rule(Protocol):
    """An escalation rule: what :meth:`EscalationPolicy.rules` returns a sequence of.

    Any callable of this shape is one (the policy's own rules are bound methods): the
    conversation (with the latest signals appended) and the latest signals, or ``None`` when
    the event was not a customer message, in; a reason to escalate, or ``None``, out.
    """

    def __call__(self, conversation: Conversation, signals: Signals | None, /) -> Reason | None:
        """The reason to escalate, or ``None``."""
        ...


SECURITY_CODES = frozenset({"threat"})
"""Reason codes that end the conversation and send it to security."""

WAIT_UNTIL_TRIED = frozenset({"repeat_contact", "sentiment_falling"})
"""Reason codes that wait until the agent has confirmed the problem and tried: alone, they
do not take the customer away from an agent who has not had the chance to help."""


def _roles_by_code(value: Mapping[str, Role | str]) -> dict[str, Role]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"EscalationPolicy.minimum_roles must map reason codes to roles, got {value!r}"
        )
    roles: dict[str, Role] = {}
    for code, role in value.items():
        try:
            Reason(code=code, text="check")
            roles[code] = Role(role)
        except ValidationError as error:
            raise ConfigError(f"EscalationPolicy.minimum_roles[{code!r}]: {error}") from None
    return roles


def _tiers(value: Iterable[str]) -> frozenset[str]:
    # Compared with Customer.tier, which is normalised the same way on the record.
    return normal_names(value, "EscalationPolicy.high_value_tiers", error=ConfigError)


def _thresholds(value: Money | Iterable[Money]) -> tuple[Money, ...]:
    amounts = (value,) if isinstance(value, Money) else tuple(value)
    seen: set[str] = set()
    for amount in amounts:
        if not isinstance(amount, Money):
            raise ConfigError(f"EscalationPolicy.high_value_orders must hold Money, got {amount!r}")
        if amount.currency in seen:
            raise ConfigError(
                f"EscalationPolicy.high_value_orders names {amount.currency} twice; give one "
                f"threshold per currency"
            )
        seen.add(amount.currency)
    return amounts


def _default_minimum_roles() -> dict[str, Role]:
    return {
        "self_harm": Role.SECURITY,
        "abusive_language": Role.SUPERVISOR,
        "continued_abuse": Role.SUPERVISOR,
        "asked_for_manager": Role.SUPERVISOR,
        "offers_declined": Role.SUPERVISOR,
        "repeat_contact": Role.SENIOR_AGENT,
        "high_value_customer": Role.SENIOR_AGENT,
    }


@attrs.define(kw_only=True)
class EscalationPolicy:
    """Decides whether a conversation escalates, to whom and why.

    Each rule is a small method returning a :class:`Reason` or ``None``; override one to
    change one rule, or override :meth:`rules` to add your own (and :meth:`role_needed` or
    :attr:`minimum_roles` to say who a new reason needs).

    Every reason that fired needs a role: the one :attr:`minimum_roles` names for its code,
    the approver's role (``above_authority``), the SLA step's role (``sla_step_reached``), or
    else one rung above the owner. The decision goes to the highest of them, then the
    ladder's rules apply (never down; straight to the top after ``max_handoffs`` hops). When
    the owner already has every role the fired rules need, nothing escalates.

    Attributes:
        ladder: the roles to climb.
        max_declined_offers: escalate once the customer declined this many offers since the
            last handoff (0 turns the rule off).
        minimum_roles: the lowest role a reason code sends the conversation to.
        sentiment_window: escalate when this many customer messages in a row, since the last
            handoff, each scored lower than the one before (0 or 1 turns the rule off) ...
        sentiment_floor: ... and the last of them scored below this.
        repeat_contact_mentions: escalate when the customer says this is a repeat contact in
            this many messages (the first mention calls for acknowledgement; 0 turns it off).
        reopens_to_escalate: escalate once the conversation was reopened this many times (the
            fix did not hold; 0 turns it off).
        high_value_tiers: customer tiers treated as high value.
        high_value_orders: order values at or above which a customer is high value, one
            threshold per currency; an order in a currency without a threshold never matches
            (amounts are never converted).
        terminating_codes: reason codes that end the conversation with security.
        wait_until_tried: reason codes that do not escalate until the agent has confirmed the
            problem and tried (:meth:`has_tried`); the others (safety, a request for a
            manager, authority, SLA steps) escalate at once.
        escalate_first_abuse: hand a first abusive message to a supervisor at once; off by
            default, so the agent's calm boundary gets its chance (abuse after the boundary
            always escalates).
    """

    ladder: EscalationLadder = attrs.field(
        factory=EscalationLadder, validator=of_type(EscalationLadder)
    )
    max_declined_offers: int = attrs.field(default=2, validator=counted())
    minimum_roles: dict[str, Role] = attrs.field(
        factory=_default_minimum_roles, converter=_roles_by_code
    )
    sentiment_window: int = attrs.field(default=3, validator=counted())
    sentiment_floor: float = attrs.field(default=0.0, validator=of_type(float, int))
    repeat_contact_mentions: int = attrs.field(default=2, validator=counted())
    reopens_to_escalate: int = attrs.field(default=1, validator=counted())
    high_value_tiers: frozenset[str] = attrs.field(factory=frozenset, converter=_tiers)
    high_value_orders: tuple[Money, ...] = attrs.field(default=(), converter=_thresholds)
    terminating_codes: frozenset[str] = attrs.field(default=SECURITY_CODES, converter=frozenset)
    wait_until_tried: frozenset[str] = attrs.field(default=WAIT_UNTIL_TRIED, converter=frozenset)
    escalate_first_abuse: bool = attrs.field(default=False, validator=of_type(bool))

    def rules(self) -> Sequence[Rule]:
        """The rules checked by :meth:`decide`, in the order their reasons are listed."""
        return (
            self.threat,
            self.continued_abuse,
            self.abuse,
            self.asked_for_manager,
            self.above_authority,
            self.declined_offers,
            self.sentiment_falling,
            self.repeat_contact,
            self.high_value,
            self.sla_step,
        )

    def decide(
        self, conversation: Conversation, signals: Signals | None
    ) -> EscalationDecision | None:
        """Check every rule; return a decision naming all that fired, or ``None``.

        ``None`` when no rule fired, or when the conversation's owner already holds every
        role the rules that fired need (a supervisor does not escalate to a supervisor).

        Args:
            conversation: the conversation after the event, with ``signals`` appended to
                its ``signals`` when the event was a customer message (as the desk does).
            signals: the latest customer message's signals, or ``None`` for other events
                (a declined offer, an SLA step, a reopen).
        """
        reasons = self.ready(conversation, self.fired(conversation, signals))
        if not reasons:
            return None
        to = self.target(conversation, reasons)
        if to is None:
            return None
        return self.build(conversation, reasons, to=to)

    def fired(self, conversation: Conversation, signals: Signals | None) -> list[Reason]:
        """The reasons of every rule that fires, in rule order, without repeated codes.

        Every rule :meth:`rules` returns is called, for this class and for a subclass alike;
        a rule that cannot fire on these inputs answers ``None`` from its first lines.
        """
        reasons: dict[str, Reason] = {}
        for rule in self.rules():
            reason = rule(conversation, signals)
            if reason is not None and reason.code not in reasons:
                reasons[reason.code] = reason
        return list(reasons.values())

    def ready(self, conversation: Conversation, reasons: Sequence[Reason]) -> list[Reason]:
        """The fired ``reasons`` that escalate now: those in :attr:`wait_until_tried` wait
        until the agent has confirmed the problem and tried (:meth:`has_tried`), so a
        customer is not passed on before anyone helped; when any other reason escalates,
        they travel with it in the decision."""
        if self.has_tried(conversation):
            return list(reasons)
        urgent = [reason for reason in reasons if reason.code not in self.wait_until_tried]
        return list(reasons) if urgent else []

    def has_tried(self, conversation: Conversation) -> bool:
        """True once the customer confirmed the agent's summary and the conversation's owner
        proposed an offer since taking it over (and since the last reopen)."""
        if not conversation.understood:
            return False
        since = [conversation.handoffs[-1].at] if conversation.handoffs else []
        if conversation.reopened_at is not None:
            since.append(conversation.reopened_at)
        start = max(since, default=None)
        return any(
            p.proposed_by == conversation.agent.id and (start is None or p.proposed_at >= start)
            for p in conversation.offers
        )

    def may_terminate(self, conversation: Conversation) -> Reason | None:
        """Whether the conversation's owner may end it now: ``None`` if so, else why not.

        A customer who spoke of harming themselves is never cut off: while the self-harm
        escalation waits for the trained team, or anyone but them owns the conversation, it
        is not terminated (the trained person ends it when the customer is safe).
        """
        if conversation.agent.role is Role.SECURITY:
            return None
        if any("self_harm" in decision.codes for decision in conversation.escalations):
            return Reason(
                code="self_harm_never_ended",
                text="The customer spoke of harming themselves: stay with them and never end "
                "the conversation on them; the trained team closes it once they are safe.",
            )
        return None

    def requested(
        self,
        conversation: Conversation,
        reason: Reason | None = None,
        to: Role | None = None,
        *,
        at: datetime | None = None,
    ) -> EscalationDecision:
        """The decision for an escalation the agent asked for explicitly.

        It always escalates: one rung up, at least to ``to``, never down, to the top after
        ``max_handoffs`` hops; ``to=Role.SECURITY`` hands it to security without ending it.

        Args:
            conversation: the conversation before the escalation.
            reason: why, as the agent put it (``agent_request`` when not given).
            to: the lowest role the agent wants to take over.
            at: when (defaults to the conversation's last change).
        """
        reason = reason or Reason(
            code="agent_request", text="The agent asked for a higher authority to take over."
        )
        return self.build(conversation, [reason], minimum=to, at=at)

    # -- rules ---------------------------------------------------------------------------

    def threat(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """A threat of violence: security, immediately, and the conversation ends. A customer
        who speaks of harming themselves is never cut off: the safety team takes over at once
        (``self_harm``, immediate, the conversation stays open)."""
        if signals is None or not (signals.self_harm or signals.threat):
            return None
        if signals.self_harm:
            return Reason(
                code="self_harm",
                text="The customer spoke of harming themselves: stay with them, stay calm and "
                "kind, share crisis support, and hand over to the safety team now; never end "
                "the conversation.",
            )
        return Reason(
            code="threat",
            text="The customer made a threat; safety comes first, security takes over.",
        )

    def continued_abuse(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """Abuse that goes on after a calm boundary was called for: a supervisor takes over
        (the conversation goes on; only a threat ends it)."""
        if signals is None or not signals.abusive:
            return None
        if self.warned(conversation, signals):
            return Reason(
                code="continued_abuse",
                text="The customer kept being abusive after a calm boundary was set; a "
                "supervisor takes over.",
            )
        return None

    def abuse(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """A first abusive message: the agent sets a calm boundary (guidance); it escalates
        only with :attr:`escalate_first_abuse`."""
        if not self.escalate_first_abuse or signals is None or not signals.abusive:
            return None
        if not self.warned(conversation, signals):
            return Reason(
                code="abusive_language",
                text="The customer used abusive language; set a calm boundary and involve "
                "a supervisor.",
            )
        return None

    def asked_for_manager(
        self, conversation: Conversation, signals: Signals | None
    ) -> Reason | None:
        """The customer asked for a manager or a supervisor."""
        if signals is None or not signals.wants_manager:
            return None
        return Reason(code="asked_for_manager", text="The customer asked for a manager.")

    def above_authority(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """The customer's request is above the owner's authority: an offer waits for approval
        by a higher role, who should take over (see :meth:`role_needed`)."""
        pending = self.pending_approvals(conversation)
        if not pending:
            return None
        role = max((a.approver_role for a in pending), key=_rank_key)
        return Reason(
            code="above_authority",
            text=f"The customer's request is above the agent's authority; a "
            f"{role.value.replace('_', ' ')} must approve it.",
        )

    def declined_offers(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """The customer turned down several offers from the current owner and is still
        unsatisfied (declines before the last handoff were the previous owner's to answer)."""
        if not self.max_declined_offers or not conversation.offers:
            return None
        since = conversation.handoffs[-1].at if conversation.handoffs else None
        declined = sum(
            1
            for p in conversation.offers
            if p.status is OfferStatus.DECLINED
            and (since is None or (p.decided_at is not None and p.decided_at >= since))
        )
        if declined >= self.max_declined_offers:
            return Reason(
                code="offers_declined",
                text=f"The customer declined {declined} offers and is still unsatisfied.",
            )
        return None

    def sentiment_falling(
        self, conversation: Conversation, signals: Signals | None
    ) -> Reason | None:
        """The customer's mood fell with every message of the last ``sentiment_window``
        (since the last handoff) and ended below ``sentiment_floor``."""
        window = self.sentiment_window
        if signals is None or window < 2:
            return None
        since = self.signals_since_handoff(conversation)
        if isinstance(since, tuple):
            since = since[-window:]  # read only the window's scores, not the whole history
        recent = [s.sentiment for s in since][-window:]
        if len(recent) < window or recent[-1] >= self.sentiment_floor:
            return None
        if all(later < earlier for earlier, later in itertools.pairwise(recent)):
            return Reason(
                code="sentiment_falling",
                text=f"The customer's mood has worsened with each of their last {window} messages.",
            )
        return None

    def repeat_contact(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """The customer keeps coming back about the same issue: the conversation was
        reopened and the customer is still unhappy (a negative message, a decline, an SLA
        step), or the customer keeps saying they contacted the company before."""
        if not conversation.reopens and (signals is None or not signals.repeat_contact):
            return None
        unhappy = signals is None or signals.repeat_contact or signals.polarity == "negative"
        if (
            self.reopens_to_escalate
            and conversation.reopens >= self.reopens_to_escalate
            and unhappy
        ):
            return Reason(
                code="repeat_contact",
                text=f"The customer came back about the same issue after it was resolved "
                f"({conversation.reopens} reopen{'s' if conversation.reopens > 1 else ''}).",
            )
        needed = self.repeat_contact_mentions
        if needed and signals is not None and signals.repeat_contact:
            mentions = sum(1 for s in conversation.signals if s.repeat_contact)
            # the desk appends the latest signals before deciding; count them if it did not
            if not conversation.signals or conversation.signals[-1] != signals:
                mentions += 1
            if mentions >= needed:
                return Reason(
                    code="repeat_contact",
                    text="The customer has contacted us about this before and had to say so again.",
                )
        return None

    def high_value(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """A high-value customer (see :meth:`is_high_value`) is upset: a senior person takes
        over before it gets worse."""
        if signals is None or not signals.upset:
            return None
        why = self.is_high_value(conversation)
        if why is None:
            return None
        return Reason(
            code="high_value_customer",
            text=f"A high-value customer ({why}) is upset; a senior person should take over.",
        )

    def sla_step(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """An SLA escalation step was reached and not yet acted on (see
        :meth:`pending_sla_steps`)."""
        steps = self.pending_sla_steps(conversation)
        if not steps:
            return None
        late = max(steps, key=lambda step: step.after)
        hours = late.after.total_seconds() / 3600
        return Reason(
            code="sla_step_reached",
            text=f"The conversation reached its SLA escalation step after {hours:g} business "
            f"hours without a resolution.",
        )

    # -- what the rules read -----------------------------------------------------------------

    def warned(self, conversation: Conversation, signals: Signals | None = None) -> bool:
        """True when a calm boundary was already called for: an abusive message before the
        latest one, or an escalation for abuse."""
        return conversation.abusive_before(signals) or any(
            "abusive_language" in e.codes for e in conversation.escalations
        )

    def pending_approvals(self, conversation: Conversation) -> tuple[Approval, ...]:
        """Approvals still waiting for an offer that is still pending approval."""
        if not conversation.approvals:
            return ()  # the common case: skip gathering the offers
        waiting = {
            p.offer.id for p in conversation.offers if p.status is OfferStatus.PENDING_APPROVAL
        }
        return tuple(a for a in conversation.approvals if a.pending and a.offer_id in waiting)

    def pending_sla_steps(self, conversation: Conversation) -> tuple[SlaStepReached, ...]:
        """SLA steps recorded after the last escalation: the ones nobody acted on yet.

        A stored escalation without a time (written before decisions carried one) counts as
        having acted on every step recorded before it.
        """
        if not conversation.escalations:
            return conversation.sla_steps
        last = conversation.escalations[-1].at
        if last is None:
            return ()
        return tuple(step for step in conversation.sla_steps if step.at > last)

    def signals_since_handoff(self, conversation: Conversation) -> tuple[Signals, ...]:
        """The signals of the customer's messages since the last handoff, oldest first.

        Signals are matched to customer messages from the end (a reopen may add a message
        without signals).
        """
        if not conversation.handoffs:
            return conversation.signals
        since = conversation.handoffs[-1].at
        count = sum(1 for m in conversation.messages if m.from_customer and m.at >= since)
        return conversation.signals[-count:] if count else ()

    def is_high_value(self, conversation: Conversation) -> str | None:
        """Why the customer is high value (``"tier platinum"``, ``"order 900.00 USD"``), or
        ``None``.

        The order value is compared with the threshold in its own currency only; an order in
        a currency without a threshold does not match (no silent conversion).
        """
        tier = conversation.customer.tier
        if tier in self.high_value_tiers:
            return f"tier {tier}"
        value = conversation.issue.order_value
        if value is not None:
            for threshold in self.high_value_orders:
                if threshold.currency == value.currency and value >= threshold:
                    return f"order {value}"
        return None

    # -- building the decision -------------------------------------------------------------

    def role_needed(self, conversation: Conversation, reason: Reason) -> Role | None:
        """The lowest role that answers ``reason``, or ``None`` for one rung above the owner.

        :attr:`minimum_roles` by code; for ``offers_declined`` also one rung above the owner;
        for ``above_authority`` the pending approvals' approver role and for
        ``sla_step_reached`` the pending steps' role (either of which, if it names security,
        means the ladder's top: only the safety rules and an explicit request reach
        security).
        """
        needs: list[Role] = []
        fixed = self.minimum_roles.get(reason.code)
        if fixed is not None:
            needs.append(fixed)
        dynamic: list[Role] = []
        if reason.code == "offers_declined" and conversation.agent.role is not Role.SECURITY:
            # unhappy with the owner's offers: someone above the owner, a supervisor at least
            needs.append(self.ladder.next_above(conversation.agent.role))
        if reason.code == "above_authority":
            dynamic = [a.approver_role for a in self.pending_approvals(conversation)]
        elif reason.code == "sla_step_reached":
            dynamic = [step.to for step in self.pending_sla_steps(conversation)]
        needs.extend(self.ladder.top if r is Role.SECURITY else r for r in dynamic)
        if not needs:
            return None
        if Role.SECURITY in needs:
            return Role.SECURITY
        return max(needs)

    def target(self, conversation: Conversation, reasons: Sequence[Reason]) -> Role | None:
        """The role the fired ``reasons`` send the conversation to, or ``None`` when its
        owner already holds every role they need."""
        codes = {reason.code for reason in reasons}
        current = conversation.agent.role
        if codes & self.terminating_codes:
            return Role.SECURITY
        needs = [self.role_needed(conversation, reason) for reason in reasons]
        if Role.SECURITY in needs:
            return Role.SECURITY
        if current is Role.SECURITY:
            return None  # security owns it; only the safety rules apply
        required = max(
            self.ladder.next_above(current) if need is None else self.ladder.rung_for(need)
            for need in needs
        )
        if required <= current:
            return None
        return self.ladder.target(
            current, minimum=required, handoffs=self.ladder.hops(conversation)
        )

    def build(
        self,
        conversation: Conversation,
        reasons: Sequence[Reason],
        *,
        minimum: Role | None = None,
        to: Role | None = None,
        at: datetime | None = None,
    ) -> EscalationDecision:
        """Turn the reasons into a decision: target, urgency and brief.

        Args:
            conversation: the conversation the decision is about.
            reasons: why, at least one.
            minimum: the lowest role wanted (an explicit request); ignored when ``to`` given.
            to: the target, when already worked out (:meth:`target`).
            at: when (defaults to the conversation's last change).
        """
        codes = {reason.code for reason in reasons}
        current = conversation.agent.role
        terminate = bool(codes & self.terminating_codes)
        if terminate:
            to = Role.SECURITY
        elif to is None:
            to = self.ladder.target(
                current, minimum=minimum, handoffs=self.ladder.hops(conversation)
            )
        urgency = Urgency.IMMEDIATE if terminate else self.urgency(codes)
        return EscalationDecision(
            to=to,
            from_role=current,
            urgency=urgency,
            reasons=tuple(reasons),
            brief=self.brief(conversation),
            terminate=terminate,
            at=conversation.updated_at if at is None else at,
        )

    def urgency(self, codes: set[str]) -> Urgency:
        """Immediate for safety; high for abuse, an SLA step or an upset high-value customer;
        normal otherwise."""
        if codes & (self.terminating_codes | {"self_harm"}):
            return Urgency.IMMEDIATE
        if codes & {
            "abusive_language",
            "continued_abuse",
            "sla_step_reached",
            "high_value_customer",
        }:
            return Urgency.HIGH
        return Urgency.NORMAL

    def brief(self, conversation: Conversation) -> HandoffBrief:
        """The context handed to the next person, so the customer never repeats the story."""
        tried = [self.describe_offer(p) for p in conversation.offers]
        tried.extend(
            f"handed from {h.from_agent.role.value} {h.from_agent.id} to "
            f"{h.to_agent.role.value} {h.to_agent.id}"
            for h in conversation.handoffs
        )
        return HandoffBrief(
            summary=conversation.summary or conversation.issue.summary,
            tried=tried,
            offers_declined=[p.offer for p in conversation.declined_offers],
            apologies=[apology.text for apology in conversation.apologies],
            mood=self.mood(conversation),
            confirmed=conversation.understood and conversation.summary is not None,
            facts=self.facts(conversation),
        )

    def describe_offer(self, proposed: ProposedOffer) -> str:
        """One line of the brief for an offer and what became of it."""
        offer = proposed.offer
        line = f"{proposed.status.value}: {offer.kind.value}"
        if offer.value is not None:
            line += f" {offer.value}"
        if offer.description:
            line += f" ({offer.description})"
        if proposed.decline_reason:
            line += f"; the customer said: {proposed.decline_reason}"
        return line

    def facts(self, conversation: Conversation) -> tuple[str, ...]:
        """What the next person should know without asking the customer."""
        issue = conversation.issue
        facts = [f"issue: {issue.category}, severity {issue.severity.value}"]
        if issue.order_value is not None:
            facts.append(f"order value: {issue.order_value}")
        facts.append(f"customer tier: {conversation.customer.tier}")
        if conversation.reopens:
            facts.append(f"reopened {conversation.reopens} time(s)")
        if any(s.repeat_contact for s in conversation.signals):
            facts.append("the customer says they contacted us before about this")
        facts.extend(
            f"approval pending from a {a.approver_role.value}"
            for a in self.pending_approvals(conversation)
        )
        facts.extend(
            f"SLA step {step.index + 1} reached (to {step.to.value})"
            for step in conversation.sla_steps
        )
        return tuple(facts)

    def mood(self, conversation: Conversation) -> str:
        """The customer's mood from the last signals, and its trend over the sentiment
        window (at least the last two messages)."""
        if not conversation.signals:
            return "unknown"
        last = conversation.signals[-1]
        if last.self_harm:
            now = "in distress (spoke of self-harm)"
        elif last.threat:
            now = "threatening"
        elif last.abusive:
            now = "abusive"
        elif last.calming and not last.upset:
            now = "calming down"
        elif last.anger >= 0.5 or last.shouting:
            now = "angry"
        elif last.sentiment < -0.2:
            now = "unhappy"
        elif last.sentiment > 0.2:
            now = "positive"
        else:
            now = "neutral"
        recent = [s.sentiment for s in conversation.signals[-max(2, self.sentiment_window) :]]
        if now == "calming down":
            trend = "improving"  # de-escalating is the trend, whatever words it took
        elif len(recent) < 2 or abs(recent[-1] - recent[0]) < 0.2:
            trend = "steady"
        elif recent[-1] < recent[0]:
            trend = "worsening"
        else:
            trend = "improving"
        return f"{now}, {trend}"


def _rank_key(role: Role) -> int:
    # security outranks every approver: an approval only security can give goes there
    return 1_000 if role.rank is None else role.rank
