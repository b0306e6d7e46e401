"""The conversation record: everything that happened, as a plain immutable value.

A :class:`Conversation` is never a state-machine model: the :class:`~serviceplaybook.Playbook`
computes its next stage and the desk stores the new record. That keeps it cheap (a few
hundred bytes) and safe to share between threads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from serviceplaybook._errors import NotFound, ValidationError
from serviceplaybook._records.apology import Apology
from serviceplaybook._records.compensation import Approval
from serviceplaybook._records.escalation import EscalationDecision, HandoffBrief
from serviceplaybook._records.followup import FollowUp
from serviceplaybook._records.issue import Issue
from serviceplaybook._records.offers import OfferStatus, ProposedOffer
from serviceplaybook._records.parties import CUSTOMER, Agent, Channel, Customer
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.sla import SlaStepReached
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import (
    aware,
    identifier,
    non_empty,
    non_negative_int,
    of_type,
    optional_aware,
    to_tuple,
)


def _text_repr(value: str) -> str:
    return f"<{len(value)} chars>"


@attrs.frozen(kw_only=True)
class Message:
    """One message in the conversation.

    Attributes:
        author: ``"customer"`` for the customer, else the agent's id.
        text: the words as the host app gave them (``repr`` shows only their length).
        at: when it was written (timezone-aware).
    """

    author: str = attrs.field(validator=identifier)
    text: str = attrs.field(validator=non_empty, repr=_text_repr)
    at: datetime = attrs.field(validator=aware)

    @property
    def from_customer(self) -> bool:
        """True for the customer's messages."""
        return self.author == CUSTOMER


@attrs.frozen(kw_only=True)
class Handoff:
    """The conversation passing from one agent to another.

    Attributes:
        from_agent: who had it.
        to_agent: who took it over.
        at: when.
        brief: the context handed over.
    """

    from_agent: Agent = attrs.field(validator=of_type(Agent))
    to_agent: Agent = attrs.field(validator=of_type(Agent))
    at: datetime = attrs.field(validator=aware)
    brief: HandoffBrief | None = None


_STAGES: dict[str, Stage] = {stage.value: stage for stage in Stage}


def _stage(value: object) -> str:
    if isinstance(value, Stage):
        return value
    if not isinstance(value, str) or not value:
        raise ValidationError(f"Conversation.stage must be a non-empty str, got {value!r}")
    # a dict lookup, not Stage(value): the enum's call costs a microsecond on every event
    return _STAGES.get(value, value)  # not a Stage: one a playbook subclass added


def _channel(value: Channel | str) -> Channel:
    # an isinstance test first: the enum's call costs half a microsecond on every event
    return value if isinstance(value, Channel) else Channel(value)


def _items(value: Any) -> tuple[Any, ...]:
    # every event copies the record with attrs.evolve, which passes each tuple back through
    # its converter: return a tuple as it is, before to_tuple's checks
    return value if type(value) is tuple else to_tuple(value)


@attrs.frozen(kw_only=True)
class Conversation:
    """One customer conversation, as a plain immutable record.

    Attributes:
        id: the conversation's id.
        stage: where it stands (a :class:`Stage`, or a stage a playbook subclass added).
        customer: who the customer is.
        issue: their problem.
        agent: who owns the conversation now.
        channel: where it takes place.
        opened_at: when it was opened.
        updated_at: when it last changed.
        version: grows by one with every accepted event; stale writers are refused.
        messages: everything said, oldest first.
        signals: the detected signals of each customer message, oldest first.
        summary: the problem as the agent reflected it back, once they did.
        understood: True once the customer confirmed the summary.
        apologies: apologies given.
        offers: offers proposed, with their status.
        approvals: approvals asked for offers above the proposer's authority.
        escalations: escalation decisions, oldest first.
        handoffs: agent changes, oldest first.
        follow_ups: follow-ups planned.
        reopens: how many times it was reopened.
        reopened_at: when it was last reopened.
        resolution_note: what the agent noted was done at the last resolution without an
            offer (``ServiceDesk.resolve(note=...)``): the follow-up's draft says it.
        corrections: how many times the customer said the agent's summary was wrong.
        resolved_at: when it was last resolved.
        closed_at: when it was closed or terminated.
        termination: why it was terminated, if it was.
        feedback: what the customer said at the follow-up.
        sla_steps: SLA escalation steps that fired, in the order they fired.
        sla_alerts: the SLA warnings and breaches already recorded, one key per clock and
            alert (``"first_response_breached@2026-01-05T09:00:00+00:00"``: the code and
            when its clock started), so each is journaled once (``SlaPolicy.alerts``).
        sla_due_at: the earliest moment the SLA checker may find something due (a target
            or an escalation step, counted in wall-clock time, which business time never
            outruns; in the past once reached, until the next event); ``None`` while every
            clock is paused or stopped. The desk sets it with every event
            (:meth:`SlaPolicy.next_due`); queries use it (``ConversationQuery.sla_due_by``).
    """

    id: str = attrs.field(validator=identifier)
    stage: str = attrs.field(converter=_stage)
    customer: Customer = attrs.field(validator=of_type(Customer))
    issue: Issue = attrs.field(validator=of_type(Issue))
    agent: Agent = attrs.field(validator=of_type(Agent))
    channel: Channel = attrs.field(converter=_channel)
    opened_at: datetime = attrs.field(validator=aware)
    updated_at: datetime = attrs.field(validator=aware)
    version: int = attrs.field(default=0, validator=non_negative_int)
    messages: tuple[Message, ...] = attrs.field(default=(), converter=_items, repr=False)
    signals: tuple[Signals, ...] = attrs.field(default=(), converter=_items, repr=False)
    summary: str | None = attrs.field(default=None, repr=False)
    understood: bool = False
    apologies: tuple[Apology, ...] = attrs.field(default=(), converter=_items, repr=False)
    offers: tuple[ProposedOffer, ...] = attrs.field(default=(), converter=_items)
    approvals: tuple[Approval, ...] = attrs.field(default=(), converter=_items, repr=False)
    escalations: tuple[EscalationDecision, ...] = attrs.field(
        default=(), converter=_items, repr=False
    )
    handoffs: tuple[Handoff, ...] = attrs.field(default=(), converter=_items, repr=False)
    follow_ups: tuple[FollowUp, ...] = attrs.field(default=(), converter=_items, repr=False)
    reopens: int = attrs.field(default=0, validator=non_negative_int)
    reopened_at: datetime | None = attrs.field(default=None, validator=optional_aware, repr=False)
    resolution_note: str | None = attrs.field(default=None, repr=False)
    corrections: int = attrs.field(default=0, validator=non_negative_int, repr=False)
    resolved_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    closed_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    termination: Reason | None = None
    feedback: str | None = attrs.field(default=None, repr=False)
    sla_steps: tuple[SlaStepReached, ...] = attrs.field(default=(), converter=_items, repr=False)
    sla_alerts: tuple[str, ...] = attrs.field(default=(), converter=_items, repr=False)
    sla_due_at: datetime | None = attrs.field(default=None, validator=optional_aware, repr=False)

    @property
    def waiting_on(self) -> str:
        """``"customer"`` after an agent spoke last, else ``"agent"`` (SLA clocks pause on the
        customer)."""
        if self.messages and not self.messages[-1].from_customer:
            return CUSTOMER
        return "agent"

    @property
    def last_customer_message(self) -> Message | None:
        """The customer's latest message, if any."""
        for message in reversed(self.messages):
            if message.from_customer:
                return message
        return None

    def abusive_before(self, latest: Signals | None = None) -> bool:
        """True when a customer message before ``latest`` (the signals of the message being
        handled, already recorded or not) was abusive: a calm boundary was called for then."""
        earlier = self.signals
        if earlier and latest is not None and earlier[-1] == latest:
            earlier = earlier[:-1]
        return any(s.abusive for s in earlier)

    @property
    def open_offers(self) -> tuple[ProposedOffer, ...]:
        """Offers the customer can still accept or decline."""
        return tuple(p for p in self.offers if p.status is OfferStatus.OPEN)

    @property
    def declined_offers(self) -> tuple[ProposedOffer, ...]:
        """Offers the customer turned down."""
        return tuple(p for p in self.offers if p.status is OfferStatus.DECLINED)

    def offer(self, offer_id: str) -> ProposedOffer:
        """The proposed offer with ``offer_id``; raises :class:`NotFound`."""
        for proposed in self.offers:
            if proposed.offer.id == offer_id:
                return proposed
        known = ", ".join(p.offer.id for p in self.offers) or "none yet"
        raise NotFound("offer", offer_id, f"offers in conversation {self.id!r}: {known}")

    def approval(self, approval_id: str) -> Approval:
        """The approval with ``approval_id``; raises :class:`NotFound`."""
        for approval in self.approvals:
            if approval.id == approval_id:
                return approval
        pending = ", ".join(a.id for a in self.approvals if a.pending) or "none"
        raise NotFound(
            "approval", approval_id, f"pending approvals in conversation {self.id!r}: {pending}"
        )

    def replace_offer(self, offer_id: str, **changes: Any) -> tuple[ProposedOffer, ...]:
        """The offers with the one named ``offer_id`` changed (for building the next record)."""
        return tuple(
            attrs.evolve(p, **changes) if p.offer.id == offer_id else p for p in self.offers
        )


def check_version_rises(conversation: Conversation, expected_version: int) -> None:
    """Refuse a save that would not raise the stored version: a version names one content,
    which is what lets stores and their caches compare versions instead of records.

    Raises:
        ValidationError: ``conversation.version`` is not above ``expected_version``.
    """
    if conversation.version <= expected_version:
        raise ValidationError(
            f"conversation {conversation.id!r} is saved at version {conversation.version}, "
            f"which must be above the stored version {expected_version}"
        )
