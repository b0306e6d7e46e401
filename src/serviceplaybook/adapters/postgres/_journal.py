"""The journal store: one row per entry, keyed by conversation and sequence number."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from serviceplaybook._errors import StorageError
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._serialization import json_text
from serviceplaybook.adapters.postgres._database import PostgresDatabase


class PostgresJournal:
    """The journal in the ``journal`` table, keyed by conversation and sequence number: a
    sequence number used twice is refused by the primary key."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database

    def append(self, entries: Sequence[JournalEntry]) -> None:
        """Append ``entries`` (one statement for the lot).

        Raises:
            StorageError: a sequence number of the conversation is used already.
        """
        if not entries:
            return
        columns: tuple[list[object], ...] = ([], [], [], [], [], [], [])
        for e in entries:
            for column, value in zip(
                columns,
                (
                    e.conversation_id,
                    e.seq,
                    e.at,
                    e.kind,
                    e.actor,
                    e.stage,
                    json_text(e.data if type(e.data) is dict else dict(e.data)),
                ),
                strict=True,
            ):
                column.append(value)
        try:
            self.database.run(
                "INSERT INTO journal (conversation_id, seq, at, kind, actor, stage, data) "
                "SELECT c, s, a, k, w, g, d::jsonb FROM unnest(%s::text[], %s::int[], "
                "%s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::text[]) "
                "AS t(c, s, a, k, w, g, d)",
                columns,
            )
        except StorageError as error:
            if isinstance(error.__cause__, psycopg.errors.UniqueViolation):
                raise StorageError(
                    self.database.path, "journal entries must be appended once"
                ) from None
            raise

    def history(self, conversation_id: str) -> list[JournalEntry]:
        """The conversation's entries, oldest first."""
        rows = self.database.query(
            "SELECT seq, at, kind, actor, stage, data FROM journal "
            "WHERE conversation_id = %s ORDER BY seq",
            (conversation_id,),
        )
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
