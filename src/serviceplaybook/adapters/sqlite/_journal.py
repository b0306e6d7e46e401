"""The journal store: one row per entry, keyed by conversation and sequence number, the
entries of a transaction written together just before its commit."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from serviceplaybook._errors import StorageError
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._serialization import json_text
from serviceplaybook.adapters.sqlite._database import SQLiteDatabase, from_utc_text, utc_text


def _truncate(rows: list[Any], length: int) -> None:
    del rows[length:]


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
