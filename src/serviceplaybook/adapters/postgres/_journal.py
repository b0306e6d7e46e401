"""The journal store: one row per entry, keyed by conversation and sequence number."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from serviceplaybook._errors import StorageError
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._serialization import json_text
from serviceplaybook.adapters.postgres._database import PostgresDatabase
from serviceplaybook.adapters.postgres._transactions import Statement, insert_rows


def _truncate(rows: list[Any], length: int) -> None:
    del rows[length:]


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
