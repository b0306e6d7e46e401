"""The conversation store: a head row per conversation and one row per message and signals
record, written behind (once per transaction, just before its commit), with the decoded
conversations kept by ``(id, version)``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from serviceplaybook._errors import (
    ConcurrentUpdate,
    NotFound,
    PlaybookError,
    StorageError,
    ValidationError,
)
from serviceplaybook._records.conversation import Conversation, check_version_rises
from serviceplaybook._records.query import (
    ConversationPage,
    ConversationQuery,
    cursor_after,
    escalated_to,
    page_of,
    parse_cursor,
)
from serviceplaybook._serialization import (
    CONVERSATION_LOGS,
    conversation_head,
    from_dict,
    json_text,
    to_dict,
)
from serviceplaybook.adapters.sqlite._database import SQLiteDatabase, utc_text


def _dumps(record: object) -> str:
    """The JSON text of one record (a message or a signals record): one item row's data."""
    return json_text(to_dict(record))


def _head_text(conversation: Conversation) -> str:
    """The JSON text of the conversation's head row: :func:`conversation_head`, compact."""
    return json_text(conversation_head(conversation))


class _Conversations:
    """A transaction's conversations: those it saved (written at its commit), and what the
    file held when it first looked at each (the version, and the record equal to the stored
    rows when known). Nobody else writes while it holds the write lock, so both stay true
    until the commit."""

    __slots__ = ("stored", "written")

    def __init__(self) -> None:
        self.written: dict[str, Conversation] = {}
        self.stored: dict[str, tuple[int, Conversation | None]] = {}

    def unwrite(self, conversation_id: str, previous: Conversation | None) -> None:
        """Undo a save of a rolled-back block: back to the conversation saved before it."""
        if previous is None:
            self.written.pop(conversation_id, None)
        else:
            self.written[conversation_id] = previous


class SQLiteConversationStore:
    """Conversations with optimistic concurrency, written once per transaction.

    A conversation is kept as a head row in ``conversations`` (every field but the
    :data:`~serviceplaybook._serialization.CONVERSATION_LOGS`) and one row per message and per
    signals record in ``conversation_items``; a save appends the new items and rewrites only
    the head, so an event costs the same in a long conversation as in a short one.

    Saves inside a transaction are checked at once (version, ``ConcurrentUpdate``) and read
    back by the same transaction's gets, but reach the file just before it commits: a batch
    of events on one conversation writes it once.

    Decoded conversations are kept by ``(id, version)``: a committed version is never
    replaced by other content (a save must raise the version), so a read whose stored
    version matches returns the kept record without decoding the rows again.

    Args:
        database: the file.
        cache_size: how many conversations to keep decoded.
    """

    def __init__(self, database: SQLiteDatabase, *, cache_size: int = 1024) -> None:
        self.database = database
        self.cache_size = cache_size
        self._cache: dict[str, Conversation] = {}

    def _state(self) -> _Conversations:
        return self.database.scratch(self, _Conversations)

    def _keep(self, conversation: Conversation) -> None:
        cache = self._cache
        cache.pop(conversation.id, None)
        cache[conversation.id] = conversation
        if len(cache) > self.cache_size:
            oldest = next(iter(cache))  # the least recently kept
            del cache[oldest]

    def get(self, conversation_id: str) -> Conversation:
        """The stored conversation (or, inside a transaction, the one it saved); raises
        :class:`NotFound`."""
        with self.database.lock:
            if self.database.in_transaction:
                written = self._state().written.get(conversation_id)
                if written is not None:
                    return written
            return self._read(conversation_id)

    def _read(self, conversation_id: str) -> Conversation:
        kept = self._cache.get(conversation_id)
        if kept is not None:
            rows = self.database.query(
                "SELECT version FROM conversations WHERE id = ?", (conversation_id,)
            )
            if rows and rows[0][0] == kept.version:
                self._note_stored(conversation_id, kept.version, kept)
                return kept
        rows = self.database.query(
            "SELECT version, data FROM conversations WHERE id = ?", (conversation_id,)
        )
        if not rows:
            raise NotFound("conversation", conversation_id)
        version, head = rows[0]
        items = self.database.query(
            "SELECT field, n, data FROM conversation_items WHERE conversation_id = ? "
            "ORDER BY field, n",
            (conversation_id,),
        )
        conversation = self._decode(conversation_id, head, items)
        self._keep(conversation)
        self._note_stored(conversation_id, version, conversation)
        return conversation

    def _decode(
        self, conversation_id: str, head: str, items: Sequence[tuple[str, int, str]]
    ) -> Conversation:
        where = f"row {conversation_id!r} of table 'conversations'"
        try:
            data = json.loads(head)
            if not isinstance(data, dict):
                raise ValidationError(f"the head row is {type(data).__name__}, not an object")
            logs: dict[str, list[Any]] = {name: [] for name in CONVERSATION_LOGS}
            for field, n, text in items:
                where = f"row ({conversation_id!r}, {field!r}, {n}) of table 'conversation_items'"
                log = logs.get(field)
                if log is None or n != len(log):
                    raise ValidationError(
                        f"unexpected item (expected items 0, 1, 2... of {CONVERSATION_LOGS})"
                    )
                log.append(json.loads(text))
            where = f"conversation {conversation_id!r} (tables 'conversations' and items)"
            return from_dict({**data, **logs}, Conversation)
        except (ValueError, PlaybookError) as error:
            raise StorageError(self.database.path, f"{where} is corrupt: {error}") from None

    def _note_stored(self, conversation_id: str, version: int, record: Conversation | None) -> None:
        if self.database.in_transaction:
            self._state().stored.setdefault(conversation_id, (version, record))

    def _stored_version(self, state: _Conversations, conversation_id: str) -> int:
        known = state.stored.get(conversation_id)
        if known is None:
            rows = self.database.query(
                "SELECT version FROM conversations WHERE id = ?", (conversation_id,)
            )
            version = rows[0][0] if rows else 0
            kept = self._cache.get(conversation_id)
            known = (version, kept if kept is not None and kept.version == version else None)
            state.stored[conversation_id] = known
        return known[0]

    def save(self, conversation: Conversation, *, expected_version: int) -> None:
        """Store ``conversation`` if the stored one is at ``expected_version`` (0: new).

        Raises:
            ConcurrentUpdate: the stored version is another one; nothing was changed.
            ValidationError: ``conversation.version`` is not above ``expected_version``.
        """
        conversation_id = conversation.id
        with self.database.joining():
            state = self._state()
            written = state.written
            previous = written.get(conversation_id)
            actual = (
                previous.version
                if previous is not None
                else self._stored_version(state, conversation_id)
            )
            if actual != expected_version:
                raise ConcurrentUpdate(conversation_id, expected_version, actual)
            check_version_rises(conversation, expected_version)
            if not written:  # the first save of this transaction
                self.database.before_commit(self, self._flush)
            written[conversation_id] = conversation
            self.database.on_rollback(lambda: state.unwrite(conversation_id, previous))

    def _flush(self) -> None:
        connection = self.database.connection()
        state = self._state()
        written = list(state.written.values())
        for conversation in written:
            version, stored = state.stored[conversation.id]
            self._write(connection, conversation, version, stored)
        self.database.after_commit(lambda: self._committed(written))

    def _write(
        self,
        connection: sqlite3.Connection,
        conversation: Conversation,
        stored_version: int,
        stored: Conversation | None,
    ) -> None:
        escalated = escalated_to(conversation)
        due = conversation.sla_due_at
        values = (
            conversation.version,
            conversation.customer.id,
            str(conversation.stage),
            utc_text(conversation.updated_at),
            _head_text(conversation),
            conversation.agent.id,
            conversation.agent.role.value,
            conversation.waiting_on,
            None if escalated is None else escalated.value,
            utc_text(conversation.opened_at),
            None if due is None else utc_text(due),
            conversation.id,
        )
        try:
            if stored_version == 0:
                cursor = connection.execute(
                    "INSERT INTO conversations (version, customer_id, stage, updated_at, data, "
                    "agent_id, agent_role, waiting_on, escalated_to, opened_at, sla_due_at, id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
            else:
                cursor = connection.execute(
                    "UPDATE conversations SET version = ?, customer_id = ?, stage = ?, "
                    "updated_at = ?, data = ?, agent_id = ?, agent_role = ?, waiting_on = ?, "
                    "escalated_to = ?, opened_at = ?, sla_due_at = ? "
                    "WHERE id = ? AND version = ?",
                    (*values, stored_version),
                )
            if cursor.rowcount != 1:  # only if the file was changed behind our lock
                raise ConcurrentUpdate(conversation.id, stored_version, -1)
            rows: list[tuple[str, str, int, str]] = []
            for name in CONVERSATION_LOGS:
                items: tuple[Any, ...] = getattr(conversation, name)
                before: tuple[Any, ...] | None = getattr(stored, name, None)
                if before is not None and items[: len(before)] == before:
                    start = len(before)  # the stored items are a prefix: append the rest
                else:
                    start = 0
                    if stored_version:  # stored items unknown or rewritten (an erasure)
                        connection.execute(
                            "DELETE FROM conversation_items WHERE conversation_id = ? "
                            "AND field = ?",
                            (conversation.id, name),
                        )
                rows.extend(
                    (conversation.id, name, n, _dumps(items[n])) for n in range(start, len(items))
                )
            if rows:
                connection.executemany(
                    "INSERT INTO conversation_items (conversation_id, field, n, data) "
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.DatabaseError as error:
            raise self.database.error(error, f"saving conversation {conversation.id!r}") from None

    def find(self, query: ConversationQuery) -> ConversationPage:
        """One page of the conversations that meet ``query``, oldest opened first (ties by
        id), through the indexes on stage, customer, agent, opening and SLA due time. Inside a
        transaction, the conversations it saved are seen as saved."""
        conditions: list[str] = []
        parameters: list[Any] = []
        if query.stages:
            conditions.append(f"stage IN ({', '.join('?' * len(query.stages))})")
            parameters.extend(query.stages)
        for column, value in (
            ("agent_role", None if query.role is None else query.role.value),
            ("agent_id", query.agent_id),
            ("customer_id", query.customer_id),
            ("waiting_on", query.waiting_on),
            ("escalated_to", None if query.escalated_to is None else query.escalated_to.value),
        ):
            if value is not None:
                conditions.append(f"{column} = ?")
                parameters.append(value)
        if query.sla_due_by is not None:
            conditions.append("sla_due_at <= ?")
            parameters.append(utc_text(query.sla_due_by))
        if query.after is not None:
            conditions.append("(opened_at, id) > (?, ?)")
            parameters.extend(parse_cursor(query.after))
        with self.database.lock:
            written = list(self._state().written.values()) if self.database.in_transaction else []
            if written:  # saved by this transaction, not in the table until its commit
                conditions.append(f"id NOT IN ({', '.join('?' * len(written))})")
                parameters.extend(c.id for c in written)
            where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
            rows = self.database.query(
                f"SELECT id FROM conversations {where} ORDER BY opened_at, id LIMIT ?",
                (*parameters, query.limit + 1),
            )
            found = [self._read(conversation_id) for (conversation_id,) in rows]
        if not written:
            more = len(found) > query.limit
            page = found[: query.limit]
            return ConversationPage(
                conversations=page, next=cursor_after(page[-1]) if more else None
            )
        # the table's rows after the cursor and this transaction's own saves, merged
        return page_of(query, [*found, *(c for c in written if query.matches(c))])

    def _committed(self, conversations: Sequence[Conversation]) -> None:
        for conversation in conversations:
            self._keep(conversation)
