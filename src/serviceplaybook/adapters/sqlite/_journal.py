"""The journal store: one row per entry, keyed by conversation and sequence number, the
entries of a transaction written together just before its commit."""

from __future__ import annotations

import functools
import itertools
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
    "kind IN ('say', 'ask', 'summarize') "
    "OR (kind = 'apologize' AND json_extract(data, '$.apology') IS NOT NULL)"
)
_DIGEST_CONVERSATIONS = f"""
SELECT conversation_id, COUNT(*), MIN(at),
    MIN(CASE WHEN actor NOT IN ('customer', 'system') THEN
        CASE WHEN {_AGENT_MESSAGE} THEN at END END),
    MIN(CASE WHEN stage = 'resolved' THEN at END),
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
    SUM(kind = 'terminate'),
    SUM(CASE WHEN kind = 'sla_alert' THEN
        coalesce(json_array_length(data, '$.warnings'), 0) ELSE 0 END),
    SUM(CASE WHEN kind = 'sla_alert' THEN
        coalesce(json_array_length(data, '$.breaches'), 0) ELSE 0 END)
FROM journal GROUP BY conversation_id ORDER BY conversation_id
"""
# The entries of the few kinds that carry offers, decisions, escalations and feedback, and
# each conversation's opening entry, in one pass: each column is read only for the kind it
# belongs to.
_DIGEST_EVENTS = """
SELECT conversation_id, seq, at, kind,
    CASE WHEN kind = 'propose' THEN json_extract(data, '$.offer.id')
        WHEN kind IN ('accept', 'decline') THEN json_extract(data, '$.offer_id') END,
    CASE WHEN kind = 'propose' THEN json_extract(data, '$.offer.kind') END,
    CASE WHEN kind = 'propose' THEN json_extract(data, '$.offer.value.amount') END,
    CASE WHEN kind = 'propose' THEN json_extract(data, '$.offer.value.currency') END,
    CASE WHEN kind = 'propose' THEN json_extract(data, '$.authorization.status') END,
    CASE WHEN kind = 'propose' THEN json_extract(data, '$.authorization.role') END,
    CASE WHEN kind = 'propose' THEN json_extract(data, '$.authorization.approver_role') END,
    CASE WHEN kind IN ('escalate', 'terminate')
        AND json_extract(data, '$.escalation') IS NOT NULL THEN
        json_array(json_extract(data, '$.escalation.to'),
            (SELECT json_group_array(json_extract(r.value, '$.code'))
             FROM json_each(data, '$.escalation.reasons') AS r
             WHERE json_type(r.value, '$.code') = 'text')) END,
    CASE WHEN kind = 'complete_follow_up' AND json_type(data, '$.feedback') = 'text'
        THEN json_extract(data, '$.feedback') END,
    CASE WHEN seq = 1 THEN json_extract(data, '$.issue.category') END,
    CASE WHEN seq = 1 THEN json_extract(data, '$.issue.severity') END,
    CASE WHEN seq = 1 THEN json_extract(data, '$.tier') END,
    CASE WHEN seq = 1 THEN json_extract(data, '$.channel') END,
    CASE WHEN seq = 1 THEN json_extract(data, '$.agent.id') END,
    CASE WHEN seq = 1 THEN json_extract(data, '$.agent.role') END
FROM journal
WHERE seq = 1
    OR kind IN ('propose', 'accept', 'decline', 'escalate', 'terminate', 'complete_follow_up')
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
        """The journal digested for insights, by two aggregate queries over the table (what
        is committed: a report is read outside a unit of work)."""
        with self.database.reading():
            conversations = self.database.query(_DIGEST_CONVERSATIONS)
            events = self.database.query(_DIGEST_EVENTS)
        offers: list[OfferDigest] = []
        escalations: list[EscalationDigest] = []
        feedback: list[FeedbackDigest] = []
        openings: dict[str, tuple[Any, ...]] = {}
        for cid, rows in itertools.groupby(events, key=lambda row: row[0]):
            proposed = []
            decided: dict[Any, tuple[Any, ...]] = {}
            for row in rows:
                kind = row[3]
                if row[1] == 1:
                    openings[cid] = row[13:]
                if kind == "propose":
                    proposed.append(row)
                elif kind in ("accept", "decline"):
                    if row[4] is not None:
                        decided.setdefault(row[4], row)
                elif row[11] is not None:
                    to, reasons = json.loads(row[11])
                    escalations.append(
                        EscalationDigest(
                            conversation_id=cid,
                            seq=row[1],
                            at=from_utc_text(row[2]),
                            kind=kind,
                            to=_str(to),
                            reasons=tuple(reasons),
                        )
                    )
                elif row[12] is not None:
                    feedback.append(
                        FeedbackDigest(
                            conversation_id=cid, seq=row[1], at=from_utc_text(row[2]), text=row[12]
                        )
                    )
            for row in proposed:
                decision = decided.get(row[4]) if row[4] is not None else None
                if decision is not None and decision[1] < row[1]:
                    decision = None
                offers.append(
                    OfferDigest(
                        conversation_id=cid,
                        seq=row[1],
                        at=from_utc_text(row[2]),
                        offer_id=_str(row[4]),
                        kind=_str(row[5]),
                        amount=_str(row[6]),
                        currency=_str(row[7]),
                        status=_str(row[8]),
                        role=_str(row[9]),
                        approver_role=_str(row[10]),
                        outcome=None if decision is None else decision[3],
                        decided_seq=None if decision is None else decision[1],
                        decided_at=None if decision is None else from_utc_text(decision[2]),
                    )
                )
        unknown = (None,) * 6
        digests = []
        for row in conversations:
            category, severity, tier, channel, agent_id, agent_role = openings.get(row[0], unknown)
            digests.append(
                ConversationDigest(
                    conversation_id=row[0],
                    entries=row[1],
                    opened_at=from_utc_text(row[2]),
                    category=_str(category),
                    severity=_str(severity),
                    tier=_str(tier),
                    channel=_str(channel),
                    agent_id=_str(agent_id),
                    agent_role=_str(agent_role),
                    first_response_at=_utc(row[3]),
                    resolved_at=_utc(row[4]),
                    escalations=row[5],
                    apologies=row[6],
                    reopens=row[7],
                    sla_steps=row[8],
                    follow_ups_scheduled=row[9],
                    follow_ups_completed=row[10],
                    feedback=row[11],
                    terminations=row[12],
                    sla_warnings=row[13],
                    sla_breaches=row[14],
                )
            )
        return JournalDigest(
            conversations=tuple(digests),
            offers=tuple(offers),
            escalations=tuple(escalations),
            feedback=tuple(feedback),
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
