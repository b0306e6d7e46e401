"""The journal store: one row per entry, keyed by conversation and sequence number, the
entries of a transaction written together just before its commit."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from serviceplaybook._errors import StorageError
from serviceplaybook._records.digest import (
    ConversationDigest,
    EscalationDigest,
    FeedbackDigest,
    JournalDigest,
    OfferDigest,
)
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._serialization import json_text
from serviceplaybook.adapters.sqlite._database import SQLiteDatabase, from_utc_text, utc_text


def _truncate(rows: list[Any], length: int) -> None:
    del rows[length:]


# The digest's queries (``serviceplaybook._records.digest`` says what each column means and
# is the reference they are tested against). JSON is read only from the entries of the kinds
# that need it: most entries are customer messages, whose data is never parsed here.
_AGENT_MESSAGE = (
    "actor NOT IN ('customer', 'system') AND (json_extract(data, '$.text') IS NOT NULL "
    "OR json_extract(data, '$.apology') IS NOT NULL)"
)
_DIGEST_CONVERSATIONS = f"""
SELECT conversation_id, COUNT(*), MIN(at),
    MAX(CASE WHEN seq = 1 THEN json_extract(data, '$.issue.category') END),
    MAX(CASE WHEN seq = 1 THEN json_extract(data, '$.issue.severity') END),
    MAX(CASE WHEN seq = 1 THEN json_extract(data, '$.tier') END),
    MAX(CASE WHEN seq = 1 THEN json_extract(data, '$.channel') END),
    MAX(CASE WHEN seq = 1 THEN json_extract(data, '$.agent.id') END),
    MAX(CASE WHEN seq = 1 THEN json_extract(data, '$.agent.role') END),
    MIN(CASE WHEN actor NOT IN ('customer', 'system') THEN
        CASE WHEN {_AGENT_MESSAGE} THEN at END END),
    MIN(CASE WHEN stage = 'resolved' THEN at END),
    substr(MAX(printf('%012d', seq) || stage), 13),
    SUM(CASE WHEN kind IN ('escalate', 'terminate') THEN
        json_extract(data, '$.escalation') IS NOT NULL ELSE 0 END),
    SUM(CASE WHEN kind = 'apologize' THEN json_extract(data, '$.apology') IS NOT NULL
        ELSE 0 END),
    SUM(kind = 'reopen'),
    SUM(CASE WHEN kind = 'sla_step' THEN
        coalesce(json_array_length(data, '$.steps'), 0) ELSE 0 END),
    SUM(kind = 'schedule_follow_up'),
    SUM(kind = 'complete_follow_up'),
    SUM(CASE WHEN kind = 'complete_follow_up' THEN
        json_extract(data, '$.feedback') IS NOT NULL ELSE 0 END),
    SUM(kind = 'terminate')
FROM journal GROUP BY conversation_id ORDER BY conversation_id
"""
_DIGEST_OFFERS = """
WITH decided AS (
    SELECT conversation_id, json_extract(data, '$.offer_id') AS offer_id, MIN(seq) AS seq
    FROM journal WHERE kind IN ('accept', 'decline') GROUP BY 1, 2
)
SELECT p.conversation_id, p.seq, p.at, json_extract(p.data, '$.offer.id'),
    json_extract(p.data, '$.offer.kind'), json_extract(p.data, '$.offer.value.amount'),
    json_extract(p.data, '$.offer.value.currency'),
    json_extract(p.data, '$.authorization.status'),
    json_extract(p.data, '$.authorization.role'),
    json_extract(p.data, '$.authorization.approver_role'),
    d.kind, d.seq, d.at
FROM journal p
LEFT JOIN decided c ON c.conversation_id = p.conversation_id
    AND c.offer_id = json_extract(p.data, '$.offer.id') AND c.seq > p.seq
LEFT JOIN journal d ON d.conversation_id = c.conversation_id AND d.seq = c.seq
WHERE p.kind = 'propose'
ORDER BY p.conversation_id, p.seq
"""
_DIGEST_ESCALATIONS = """
SELECT conversation_id, seq, at, kind, json_extract(data, '$.escalation.to'),
    (SELECT json_group_array(json_extract(r.value, '$.code'))
     FROM json_each(data, '$.escalation.reasons') AS r
     WHERE json_type(r.value, '$.code') = 'text')
FROM journal
WHERE kind IN ('escalate', 'terminate') AND json_extract(data, '$.escalation') IS NOT NULL
ORDER BY conversation_id, seq
"""
_DIGEST_FEEDBACK = """
SELECT conversation_id, seq, at, json_extract(data, '$.feedback') FROM journal
WHERE kind = 'complete_follow_up' AND json_type(data, '$.feedback') = 'text'
ORDER BY conversation_id, seq
"""


def _utc(value: str | None) -> Any:
    return None if value is None else from_utc_text(value)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class SQLiteJournal:
    """The journal in the ``journal`` table, keyed by conversation and sequence number.

    Entries appended inside a transaction reach the table together, just before it commits
    (one statement for the lot); a rolled-back savepoint takes its entries with it, and the
    transaction's own reads see them.
    """

    _INSERT = (
        "INSERT INTO journal (conversation_id, seq, at, kind, actor, stage, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    )

    def __init__(self, database: SQLiteDatabase) -> None:
        self.database = database

    def _rows(self) -> list[tuple[str, int, str, str, str, str, str]]:
        return self.database.scratch(self, list)

    def append(self, entries: Sequence[JournalEntry]) -> None:
        """Append ``entries``; a sequence number used twice is refused (at once outside a
        transaction, at its commit inside one)."""
        rows = [
            (
                e.conversation_id,
                e.seq,
                utc_text(e.at),
                e.kind,
                e.actor,
                e.stage,
                json_text(e.data if type(e.data) is dict else dict(e.data)),
            )
            for e in entries
        ]
        database = self.database
        with database.joining():
            pending = self._rows()
            if not pending:
                database.before_commit(self, self._flush)
            mark = len(pending)
            pending.extend(rows)
            database.on_rollback(lambda: _truncate(pending, mark))

    def _flush(self) -> None:
        rows = self._rows()
        if not rows:
            return
        try:
            self.database.connection().executemany(self._INSERT, rows)
        except sqlite3.IntegrityError as error:
            raise self.database.error(error, "journal entries must be appended once") from None
        rows.clear()  # written: a later flush of this transaction must not write them again

    def rewrite(self, entries: Sequence[JournalEntry]) -> None:
        """Replace the stored entries with the same conversation and ``seq`` (erasure only:
        the journal is otherwise append-only); entries not stored are ignored."""
        database = self.database
        with database.writing() as connection:
            pending = self._rows()
            for e in entries:
                row = (
                    e.conversation_id,
                    e.seq,
                    utc_text(e.at),
                    e.kind,
                    e.actor,
                    e.stage,
                    json_text(dict(e.data)),
                )
                # entries appended by this transaction are not in the table yet
                for index, held in enumerate(pending):
                    if held[:2] == row[:2]:
                        pending[index] = row
                        database.on_rollback(functools.partial(pending.__setitem__, index, held))
                connection.execute(
                    "UPDATE journal SET at = ?, kind = ?, actor = ?, stage = ?, data = ? "
                    "WHERE conversation_id = ? AND seq = ?",
                    (*row[2:], *row[:2]),
                )

    def digest(self) -> JournalDigest:
        """The journal digested for insights, by aggregate queries over the table (what is
        committed: a report is read outside a unit of work)."""
        with self.database.reading():
            conversations = self.database.query(_DIGEST_CONVERSATIONS)
            offers = self.database.query(_DIGEST_OFFERS)
            escalations = self.database.query(_DIGEST_ESCALATIONS)
            feedback = self.database.query(_DIGEST_FEEDBACK)
        return JournalDigest(
            conversations=tuple(
                ConversationDigest(
                    conversation_id=row[0],
                    entries=row[1],
                    opened_at=from_utc_text(row[2]),
                    category=_str(row[3]),
                    severity=_str(row[4]),
                    tier=_str(row[5]),
                    channel=_str(row[6]),
                    agent_id=_str(row[7]),
                    agent_role=_str(row[8]),
                    first_response_at=_utc(row[9]),
                    resolved_at=_utc(row[10]),
                    last_stage=row[11],
                    escalations=row[12],
                    apologies=row[13],
                    reopens=row[14],
                    sla_steps=row[15],
                    follow_ups_scheduled=row[16],
                    follow_ups_completed=row[17],
                    feedback=row[18],
                    terminations=row[19],
                )
                for row in conversations
            ),
            offers=tuple(
                OfferDigest(
                    conversation_id=row[0],
                    seq=row[1],
                    at=from_utc_text(row[2]),
                    offer_id=_str(row[3]),
                    kind=_str(row[4]),
                    amount=_str(row[5]),
                    currency=_str(row[6]),
                    status=_str(row[7]),
                    role=_str(row[8]),
                    approver_role=_str(row[9]),
                    outcome=row[10],
                    decided_seq=row[11],
                    decided_at=_utc(row[12]),
                )
                for row in offers
            ),
            escalations=tuple(
                EscalationDigest(
                    conversation_id=row[0],
                    seq=row[1],
                    at=from_utc_text(row[2]),
                    kind=row[3],
                    to=_str(row[4]),
                    reasons=tuple(json.loads(row[5])),
                )
                for row in escalations
            ),
            feedback=tuple(
                FeedbackDigest(
                    conversation_id=row[0], seq=row[1], at=from_utc_text(row[2]), text=row[3]
                )
                for row in feedback
            ),
        )

    def history(self, conversation_id: str) -> list[JournalEntry]:
        """The conversation's entries, oldest first."""
        with self.database.reading():
            rows = self.database.query(
                "SELECT seq, at, kind, actor, stage, data FROM journal "
                "WHERE conversation_id = ? ORDER BY seq",
                (conversation_id,),
            )
            # this transaction reads what it appended (flushing here instead would put
            # the outer transaction's rows inside a savepoint that may roll back)
            if self.database.in_transaction:
                pending = [row[1:] for row in self._rows() if row[0] == conversation_id]
                if pending:
                    rows = sorted(rows + pending, key=lambda row: int(row[0]))
        entries = []
        for seq, at, kind, actor, stage, data in rows:
            try:
                payload = json.loads(data)
            except ValueError as error:
                raise StorageError(
                    self.database.path,
                    f"journal entry {seq} of {conversation_id!r} is corrupt: {error}",
                ) from None
            entries.append(
                JournalEntry(
                    conversation_id=conversation_id,
                    seq=seq,
                    at=from_utc_text(at),
                    kind=kind,
                    actor=actor,
                    stage=stage,
                    data=payload,
                )
            )
        return entries
