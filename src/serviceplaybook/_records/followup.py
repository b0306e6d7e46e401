"""Follow-up records: a planned follow-up and the decision to plan one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.enums import Choice
from serviceplaybook._records.parties import Channel
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.validate import (
    aware,
    non_empty,
    non_negative_int,
    of_type,
    optional_aware,
    to_tuple,
)


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
        attempts: delivery attempts so far (a claim counts one).
        expires_at: when it may no longer be sent, if ever (a messaging channel's window
            for a business-initiated message): a delivery after it must not happen.
        text: the message to send, drafted for this customer by
            :meth:`FollowUpPolicy.draft <serviceplaybook.FollowUpPolicy.draft>` (what went
            wrong, what was done, one question); the dispatcher sends it as it is or edits
            it. Empty for follow-ups planned without a draft (and by older releases).
    """

    id: str = attrs.field(validator=non_empty)
    key: str = attrs.field(validator=non_empty)
    conversation_id: str = attrs.field(validator=non_empty)
    customer_id: str = attrs.field(validator=non_empty)
    channel: Channel = attrs.field(converter=Channel)
    due_at: datetime = attrs.field(validator=aware)
    purpose: str = attrs.field(default="check_fix_and_feedback", validator=non_empty)
    attempts: int = attrs.field(default=0, validator=non_negative_int)
    expires_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    text: str = attrs.field(default="", validator=of_type(str), repr=False)

    @expires_at.validator
    def _after_due(self, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
        if value is not None and value <= self.due_at:
            raise ValidationError(
                f"FollowUp.expires_at ({value.isoformat()}) must be after due_at "
                f"({self.due_at.isoformat()}): the follow-up could never be sent"
            )


@attrs.frozen(kw_only=True)
class FollowUpDecision:
    """What :meth:`FollowUpPolicy.decide` concluded: a follow-up, or none, and why.

    Attributes:
        follow_up: the follow-up to schedule, or ``None``.
        reasons: why this channel and time, or why there is no follow-up.
    """

    follow_up: FollowUp | None = None
    reasons: tuple[Reason, ...] = attrs.field(default=(), converter=to_tuple)

    @property
    def planned(self) -> bool:
        """True when there is a follow-up to schedule."""
        return self.follow_up is not None
