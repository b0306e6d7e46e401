"""The journal store: one row per entry, keyed by conversation and sequence number."""

from __future__ import annotations

import functools
import json
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
from serviceplaybook.adapters.postgres._database import PostgresDatabase
from serviceplaybook.adapters.postgres._transactions import Statement, insert_rows


def _truncate(rows: list[Any], length: int) -> None:
    del rows[length:]


# The digest's queries (``serviceplaybook._records.digest`` says what each column means and
# is the reference they are tested against), on the jsonb ``data`` column; ordered by code
# point (the "C" collation), as Python sorts ids, whatever the database's own collation.
_DIGEST_CONVERSATIONS = """
SELECT conversation_id, COUNT(*), MIN(at),
    MAX(data #>> '{issue,category}') FILTER (WHERE seq = 1),
    MAX(data #>> '{issue,severity}') FILTER (WHERE seq = 1),
    MAX(data ->> 'tier') FILTER (WHERE seq = 1),
    MAX(data ->> 'channel') FILTER (WHERE seq = 1),
    MAX(data #>> '{agent,id}') FILTER (WHERE seq = 1),
    MAX(data #>> '{agent,role}') FILTER (WHERE seq = 1),
    MIN(at) FILTER (WHERE actor NOT IN ('customer', 'system')
        AND (kind IN ('say', 'ask', 'summarize')
        OR (kind = 'apologize' AND data ->> 'apology' IS NOT NULL))),
    MIN(at) FILTER (WHERE stage = 'resolved'),
    COUNT(*) FILTER (WHERE kind IN ('escalate', 'terminate')
        AND data ->> 'escalation' IS NOT NULL),
    COUNT(*) FILTER (WHERE kind = 'apologize' AND data ->> 'apology' IS NOT NULL),
    COUNT(*) FILTER (WHERE kind = 'reopen'),
    coalesce(SUM(CASE WHEN jsonb_typeof(data -> 'steps') = 'array'
        THEN jsonb_array_length(data -> 'steps') ELSE 0 END)
        FILTER (WHERE kind = 'sla_step'), 0),
    COUNT(*) FILTER (WHERE kind = 'schedule_follow_up'),
    COUNT(*) FILTER (WHERE kind = 'complete_follow_up'),
    COUNT(*) FILTER (WHERE kind = 'complete_follow_up' AND data ->> 'feedback' IS NOT NULL),
    COUNT(*) FILTER (WHERE kind = 'terminate'),
    coalesce(SUM(CASE WHEN jsonb_typeof(data -> 'warnings') = 'array'
        THEN jsonb_array_length(data -> 'warnings') ELSE 0 END)
        FILTER (WHERE kind = 'sla_alert'), 0),
    coalesce(SUM(CASE WHEN jsonb_typeof(data -> 'breaches') = 'array'
        THEN jsonb_array_length(data -> 'breaches') ELSE 0 END)
        FILTER (WHERE kind = 'sla_alert'), 0)
FROM journal GROUP BY conversation_id ORDER BY conversation_id COLLATE "C"
"""
_DIGEST_OFFERS = """
WITH decided AS (
    SELECT conversation_id, data ->> 'offer_id' AS offer_id, MIN(seq) AS seq
    FROM journal WHERE kind IN ('accept', 'decline') GROUP BY 1, 2
)
SELECT p.conversation_id, p.seq, p.at, p.data #>> '{offer,id}', p.data #>> '{offer,kind}',
    p.data #>> '{offer,value,amount}', p.data #>> '{offer,value,currency}',
    p.data #>> '{authorization,status}', p.data #>> '{authorization,role}',
    p.data #>> '{authorization,approver_role}', d.kind, d.seq, d.at
FROM journal p
LEFT JOIN decided c ON c.conversation_id = p.conversation_id
    AND c.offer_id = p.data #>> '{offer,id}' AND c.seq > p.seq
LEFT JOIN journal d ON d.conversation_id = c.conversation_id AND d.seq = c.seq
WHERE p.kind = 'propose'
ORDER BY p.conversation_id COLLATE "C", p.seq
"""
_DIGEST_ESCALATIONS = """
SELECT conversation_id, seq, at, kind, data #>> '{escalation,to}',
    ARRAY(SELECT r ->> 'code' FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(data #> '{escalation,reasons}') = 'array'
        THEN data #> '{escalation,reasons}' ELSE '[]'::jsonb END) WITH ORDINALITY AS t(r, n)
        WHERE jsonb_typeof(r -> 'code') = 'string' ORDER BY n)
FROM journal
WHERE kind IN ('escalate', 'terminate') AND data ->> 'escalation' IS NOT NULL
ORDER BY conversation_id COLLATE "C", seq
"""
_DIGEST_FEEDBACK = """
SELECT conversation_id, seq, at, data ->> 'feedback' FROM journal
WHERE kind = 'complete_follow_up' AND jsonb_typeof(data -> 'feedback') = 'string'
ORDER BY conversation_id COLLATE "C", seq
"""


class PostgresJournal:
    """The journal in the ``journal`` table, keyed by conversation and sequence number: a
    sequence number used twice is refused by the primary key. A transaction's entries are
    written with its commit."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database

    def _rows(self) -> list[tuple[Any, ...]]:
        return self.database.scratch(self, list)

    def append(self, entries: Sequence[JournalEntry]) -> None:
        """Append ``entries``: they reach the table with the transaction's commit, in one
        statement with the rest of its entries (a rolled-back savepoint takes its own
        with it).

        Raises:
            StorageError: a sequence number of the conversation is used already (at the
                commit, which it undoes).
        """
        rows = [
            (
                e.conversation_id,
                e.seq,
                e.at,
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

    def _flush(self) -> list[Statement]:
        rows = self._rows()
        if not rows:
            return []
        return insert_rows(
            "journal",
            "conversation_id, seq, at, kind, actor, stage, data",
            "(%s, %s, %s, %s, %s, %s, %s::jsonb)",
            rows,
        )

    def rewrite(self, entries: Sequence[JournalEntry]) -> None:
        """Replace the stored entries with the same conversation and ``seq`` (erasure only:
        the journal is otherwise append-only), those this transaction appended included;
        entries not stored are ignored."""
        database = self.database
        with database.transaction():
            pending = self._rows()
            rows = []
            for e in entries:
                row = (
                    e.conversation_id,
                    e.seq,
                    e.at,
                    e.kind,
                    e.actor,
                    e.stage,
                    json_text(dict(e.data)),
                )
                for index, held in enumerate(pending):
                    if held[:2] == row[:2]:  # appended by this transaction: not stored yet
                        pending[index] = row
                        database.on_rollback(functools.partial(pending.__setitem__, index, held))
                rows.append(row)
            if rows:
                columns = tuple(list(column) for column in zip(*rows, strict=True))
                database.run(
                    "UPDATE journal j SET at = t.a, kind = t.k, actor = t.w, stage = t.g, "
                    "data = t.d::jsonb FROM unnest(%s::text[], %s::int[], %s::timestamptz[], "
                    "%s::text[], %s::text[], %s::text[], %s::text[]) AS t(c, s, a, k, w, g, d) "
                    "WHERE j.conversation_id = t.c AND j.seq = t.s",
                    columns,
                )

    def digest(self) -> JournalDigest:
        """The journal digested for insights, by aggregate queries over the table (what is
        committed: a report is read outside a unit of work)."""
        conversations = self.database.query(_DIGEST_CONVERSATIONS)
        offers = self.database.query(_DIGEST_OFFERS)
        escalations = self.database.query(_DIGEST_ESCALATIONS)
        feedback = self.database.query(_DIGEST_FEEDBACK)
        return JournalDigest(
            conversations=tuple(
                ConversationDigest(
                    conversation_id=row[0],
                    entries=row[1],
                    opened_at=row[2],
                    category=row[3],
                    severity=row[4],
                    tier=row[5],
                    channel=row[6],
                    agent_id=row[7],
                    agent_role=row[8],
                    first_response_at=row[9],
                    resolved_at=row[10],
                    escalations=row[11],
                    apologies=row[12],
                    reopens=row[13],
                    sla_steps=int(row[14]),
                    follow_ups_scheduled=row[15],
                    follow_ups_completed=row[16],
                    feedback=row[17],
                    terminations=row[18],
                    sla_warnings=int(row[19]),
                    sla_breaches=int(row[20]),
                )
                for row in conversations
            ),
            offers=tuple(
                OfferDigest(
                    conversation_id=row[0],
                    seq=row[1],
                    at=row[2],
                    offer_id=row[3],
                    kind=row[4],
                    amount=row[5],
                    currency=row[6],
                    status=row[7],
                    role=row[8],
                    approver_role=row[9],
                    outcome=row[10],
                    decided_seq=row[11],
                    decided_at=row[12],
                )
                for row in offers
            ),
            escalations=tuple(
                EscalationDigest(
                    conversation_id=row[0],
                    seq=row[1],
                    at=row[2],
                    kind=row[3],
                    to=row[4],
                    reasons=tuple(row[5]),
                )
                for row in escalations
            ),
            feedback=tuple(
                FeedbackDigest(conversation_id=row[0], seq=row[1], at=row[2], text=row[3])
                for row in feedback
            ),
        )

    def history(self, conversation_id: str) -> list[JournalEntry]:
        """The conversation's entries, oldest first."""
        rows = self.database.query(
            "SELECT seq, at, kind, actor, stage, data FROM journal "
            "WHERE conversation_id = %s ORDER BY seq",
            (conversation_id,),
        )
        if self.database.in_transaction:  # this transaction reads what it appended
            mine = [
                (row[1], row[2], row[3], row[4], row[5], json.loads(row[6]))
                for row in self._rows()
                if row[0] == conversation_id
            ]
            if mine:
                rows = sorted([*rows, *mine], key=lambda row: int(row[0]))
        entries = []
        for seq, at, kind, actor, stage, data in rows:
            if not isinstance(data, dict):
                raise StorageError(
                    self.database.path,
                    f"journal entry {seq} of {conversation_id!r} is corrupt: its data is "
                    f"{type(data).__name__}, not an object",
                )
            entries.append(
                JournalEntry(
                    conversation_id=conversation_id,
                    seq=seq,
                    at=at,
                    kind=kind,
                    actor=actor,
                    stage=stage,
                    data=data,
                )
            )
        return entries
