"""A customer's right to erasure and to a copy of their data, on the ports alone (so every
storage that implements them gets both).

Erasure keeps what accounting and reporting count: every conversation, message, event and
grant stays, with its times, stages, kinds, amounts and codes; what identifies or quotes the
customer goes (their id becomes a random pseudonym, their words, names and contact details
are blanked, journal payloads are emptied).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import attrs

from serviceplaybook._ports import Storage
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.erasure import ERASED
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.query import ConversationQuery
from serviceplaybook._records.validate import check_identifier
from serviceplaybook._serialization import from_dict, to_dict

EXPORT_FORMAT = "serviceplaybook.customer-export/1"
"""The ``format`` of :meth:`ServiceDesk.export_customer`'s JSON."""

# Free text anywhere in a conversation: the customer's words, and what agents and policies
# wrote about them (summaries, apologies composed from the issue, briefs, reason sentences).
_TEXT_KEYS = frozenset(
    {"text", "summary", "feedback", "description", "decline_reason", "excerpt", "resolution_note"}
)
_TEXT_LIST_KEYS = frozenset({"tried", "facts"})
_CONTACT_KEYS = {"name": "", "email": None, "phone": None}


def check_customer_id(customer_id: object) -> str:
    """The customer id, refused as every id is (``check_identifier``)."""
    return check_identifier(customer_id, "customer_id")


def new_pseudonym() -> str:
    """A random id for an erased customer: it links their records to each other only."""
    return f"erased-{uuid.uuid4().hex}"


def customer_conversations(storage: Storage, customer_id: str) -> Iterator[Conversation]:
    """Every conversation of the customer, page by page."""
    query: ConversationQuery | None = ConversationQuery(customer_id=customer_id, limit=200)
    while query is not None:
        page = storage.conversations.find(query)
        yield from page.conversations
        query = query.next_page(page)


def _scrub(value: Any, key: str | None, customer_id: str, pseudonym: str) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, k, customer_id, pseudonym) for k, v in value.items()}
    if isinstance(value, list):
        if key in _TEXT_LIST_KEYS:
            return [ERASED for _ in value]
        return [_scrub(item, key, customer_id, pseudonym) for item in value]
    if isinstance(value, str):
        if value == customer_id:
            return pseudonym
        if key in _CONTACT_KEYS:
            return _CONTACT_KEYS[key] if value else value
        if key in _TEXT_KEYS:
            return ERASED
        if key == "apologies":  # a brief's apology texts
            return ERASED
    return value


def erased_conversation(conversation: Conversation, pseudonym: str, now: datetime) -> Conversation:
    """``conversation`` with the customer's personal data blanked, one version on."""
    customer_id = conversation.customer.id
    data = _scrub(to_dict(conversation), None, customer_id, pseudonym)
    data["customer"]["timezone"] = "UTC"  # where they live is personal too
    erased = from_dict(data, Conversation)
    return attrs.evolve(erased, version=conversation.version + 1, updated_at=now)


def erased_entry(entry: JournalEntry) -> JournalEntry:
    """``entry`` with its payload emptied: the kind, actor, stage and time stay."""
    return attrs.evolve(entry, data={"erased": True})


def erasure_entry(
    conversation: Conversation, now: datetime, erasure: dict[str, int]
) -> JournalEntry:
    """The journal entry that records an erasure: counts only, no personal data."""
    return JournalEntry(
        conversation_id=conversation.id,
        seq=conversation.version,
        at=now,
        kind="erase_customer",
        actor="system",
        stage=str(conversation.stage),
        data=dict(erasure),
    )


def export_data(storage: Storage, customer_id: str, now: datetime) -> dict[str, Any]:
    """Everything ``storage`` holds about the customer, JSON-safe."""
    conversations = []
    for conversation in customer_conversations(storage, customer_id):
        conversations.append(
            {
                "conversation": to_dict(conversation),
                "journal": [to_dict(e) for e in storage.journal.history(conversation.id)],
            }
        )
    return {
        "format": EXPORT_FORMAT,
        "customer_id": customer_id,
        "exported_at": now.isoformat(),
        "conversations": conversations,
        "grants": [to_dict(grant) for grant in storage.ledger.grants(customer_id)],
        "follow_ups": [to_dict(f) for f in storage.follow_ups.for_customer(customer_id)],
    }
