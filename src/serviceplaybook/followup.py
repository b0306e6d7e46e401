"""Follow-ups: checking back after a resolution that the fix worked, and asking for feedback.

The craft: follow up by the customer's preferred channel, at a sensible hour; don't survey
too often; never follow up after a termination; a reply or a reopen cancels the follow-up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from serviceplaybook._enums import Choice
from serviceplaybook._validate import aware, non_empty, non_negative_int
from serviceplaybook.issue import Severity
from serviceplaybook.parties import Channel
from serviceplaybook.stage import Stage

if TYPE_CHECKING:
    from serviceplaybook.conversation import Conversation

__all__ = ["FollowUp", "FollowUpPolicy", "FollowUpStatus"]


class FollowUpStatus(Choice):
    """Where a follow-up stands in its scheduler."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    FAILED = "failed"


@attrs.frozen(kw_only=True)
class FollowUp:
    """A planned contact with the customer after the conversation was resolved.

    Attributes:
        id: the follow-up's id.
        key: idempotency key: scheduling the same key twice schedules once, and the
            dispatcher receives it so that a re-delivery can be recognized.
        conversation_id: the conversation it follows up.
        customer_id: who to contact.
        channel: how.
        due_at: when it is due (timezone-aware).
        purpose: what it is for, e.g. ``"check_fix_and_feedback"``.
        attempts: delivery attempts so far.
    """

    id: str = attrs.field(validator=non_empty)
    key: str = attrs.field(validator=non_empty)
    conversation_id: str = attrs.field(validator=non_empty)
    customer_id: str = attrs.field(validator=non_empty)
    channel: Channel = attrs.field(converter=Channel)
    due_at: datetime = attrs.field(validator=aware)
    purpose: str = attrs.field(default="check_fix_and_feedback", validator=non_empty)
    attempts: int = attrs.field(default=0, validator=non_negative_int)


@attrs.define(kw_only=True)
class FollowUpPolicy:
    """Plans the follow-up after a resolution: when, by which channel, or not at all.

    Attributes:
        delays: how long after the resolution to follow up, per severity.
        call_from: from this severity on, call (if the customer can be called).
    """

    delays: dict[Severity, timedelta] = attrs.field(
        factory=lambda: {
            Severity.LOW: timedelta(days=3),
            Severity.MEDIUM: timedelta(days=2),
            Severity.HIGH: timedelta(days=1),
            Severity.CRITICAL: timedelta(days=1),
        }
    )
    call_from: Severity = attrs.field(default=Severity.HIGH, converter=Severity)

    def plan(self, conversation: Conversation) -> FollowUp | None:
        """The follow-up for a just-resolved conversation, or ``None`` when there is none."""
        if conversation.stage is Stage.TERMINATED or conversation.termination is not None:
            return None
        channel = self.channel(conversation)
        if channel is None:
            return None
        number = len(conversation.follow_ups) + 1
        key = f"{conversation.id}:follow-up:{number}"
        return FollowUp(
            id=key,
            key=key,
            conversation_id=conversation.id,
            customer_id=conversation.customer.id,
            channel=channel,
            due_at=self.due_at(conversation),
        )

    def channel(self, conversation: Conversation) -> Channel | None:
        """A call for severe issues, else the preferred channel; ``None`` if opted out of both."""
        customer = conversation.customer
        candidates = [customer.preferred_channel, conversation.channel]
        if conversation.issue.severity >= self.call_from:
            candidates.insert(0, Channel.PHONE)
        for channel in candidates:
            if customer.reachable_by(channel):
                return channel
        return None

    def due_at(self, conversation: Conversation) -> datetime:
        """When the follow-up is due: the severity's delay after the last update."""
        return conversation.updated_at + self.delays[conversation.issue.severity]
