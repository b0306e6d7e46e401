"""The journal: an append-only record of every event and decision, free of raw personal data."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from serviceplaybook._records.validate import aware, non_empty, non_negative_int


@attrs.frozen(kw_only=True)
class JournalEntry:
    """One accepted event of one conversation, with the decisions it produced.

    Attributes:
        conversation_id: the conversation.
        seq: its position in the conversation's journal, from 1; equal to the conversation's
            version once the event was applied, so the journal and the record never disagree.
        at: when it happened.
        kind: the event's name (``"open"``, ``"hear"``, ``"propose"``...).
        actor: ``"customer"``, the acting agent's id, or ``"system"``.
        stage: the stage after the event.
        data: the event's details and decisions, JSON-safe, with personal data redacted.
    """

    conversation_id: str = attrs.field(validator=non_empty)
    seq: int = attrs.field(validator=non_negative_int)
    at: datetime = attrs.field(validator=aware)
    kind: str = attrs.field(validator=non_empty)
    actor: str
    stage: str
    data: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
