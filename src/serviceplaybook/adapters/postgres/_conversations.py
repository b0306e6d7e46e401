"""The conversation store: a head row per conversation and one row per message and signals
record, checked against the stored version by the ``UPDATE`` itself, with the decoded
conversations kept by ``(id, version)``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
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
    parse_cursor,
)
from serviceplaybook._serialization import (
    CONVERSATION_LOGS,
    conversation_head,
    from_dict,
    json_text,
    to_dict,
)
from serviceplaybook.adapters.postgres._database import PostgresDatabase
from serviceplaybook.adapters.postgres._transactions import Statement, insert_rows

_DIVISION_BY_ZERO = "22012"  # the SQLSTATE of a checked write that changed no row


def _truncate(rows: list[Any], length: int) -> None:
    del rows[length:]


class PostgresConversationStore:
    """Conversations with optimistic concurrency.

    A save is one ``UPDATE ... WHERE id = %s AND version = %s``: under ``READ COMMITTED`` a
    concurrent save of the same conversation waits for the first to commit, then finds the
    version moved and changes nothing, so the second raises
    :class:`~serviceplaybook.ConcurrentUpdate`. A new conversation is an ``INSERT ... ON
    CONFLICT DO NOTHING``: a second creator of the same id is refused the same way.

    Messages and signals records are rows of their own: a save appends the new ones (the
    stored ones known from the transaction's read, or from the decoded records kept by
    ``(id, version)``: a committed version is never replaced by other content), sent with
    the transaction's commit; the head row's checked ``UPDATE`` is sent at once, so a stale
    save is refused by the call that made it.

    Args:
        database: the database.
        cache_size: how many conversations to keep decoded.
    """

    def __init__(self, database: PostgresDatabase, *, cache_size: int = 1024) -> None:
        self.database = database
        self.cache_size = cache_size
        self._cache: dict[str, Conversation] = {}
        self._cache_lock = threading.Lock()
        self._items_key = object()  # the scratch key of a transaction's item rows
        self._heads_key = object()  # ... and of its deferred head writes

    def _known(self) -> dict[str, Conversation]:
        """What the transaction knows the database holds, by id (read or saved by it)."""
        return self.database.scratch(self, dict)

    def _keep(self, conversation: Conversation) -> None:
        with self._cache_lock:  # the process's threads share the cache
            cache = self._cache
            cache.pop(conversation.id, None)
            cache[conversation.id] = conversation
            if len(cache) > self.cache_size:
                del cache[next(iter(cache))]  # the least recently kept

    def get(self, conversation_id: str) -> Conversation:
        """The stored conversation; raises :class:`NotFound`."""
        database = self.database
        if database.in_transaction:
            known = self._known().get(conversation_id)
            if known is not None:
                return known
        kept = self._cache.get(conversation_id)
        rows = database.query(
            "SELECT version, CASE WHEN version = %s THEN NULL ELSE data END "
            "FROM conversations WHERE id = %s",
            (kept.version if kept is not None else -1, conversation_id),
        )
        if not rows:
            raise NotFound("conversation", conversation_id)
        version, head = rows[0]
        if head is None and kept is not None:
            conversation = kept
        else:
            items = database.query(
                "SELECT field, n, data FROM conversation_items WHERE conversation_id = %s "
                "ORDER BY field, n",
                (conversation_id,),
            )
            conversation = self._decode(conversation_id, head, items)
            if conversation.version != version:
                raise StorageError(
                    database.path,
                    f"row {conversation_id!r} of table 'conversations' is corrupt: column "
                    f"version {version} but the record's version {conversation.version}",
                )
            if not database.in_transaction:
                self._keep(conversation)
        if database.in_transaction:
            self._remember(conversation)
        return conversation

    def find(self, query: ConversationQuery) -> ConversationPage:
        """One page of the conversations that meet ``query``, oldest opened first (ties by
        id), through the indexes on stage, customer, agent, opening and SLA due time. Inside a
        transaction, the conversations it saved are seen as saved (their rows are written at
        once).

        Raises:
            ValidationError: ``query.after`` is not a cursor this query's pages gave.
        """
        conditions: list[str] = []
        parameters: list[Any] = []
        if query.stages:
            conditions.append("stage = ANY(%s)")
            parameters.append(list(query.stages))
        for column, value in (
            ("agent_role", None if query.role is None else query.role.value),
            ("agent_id", query.agent_id),
            ("customer_id", query.customer_id),
            ("waiting_on", query.waiting_on),
            ("escalated_to", None if query.escalated_to is None else query.escalated_to.value),
        ):
            if value is not None:
                conditions.append(f"{column} = %s")
                parameters.append(value)
        if query.sla_due_by is not None:
            conditions.append("sla_due_at <= %s")
            parameters.append(query.sla_due_by)
        if query.after is not None:
            opened, after_id = parse_cursor(query.after)
            conditions.append("(opened_at, id) > (%s::timestamptz, %s)")
            parameters.extend((opened, after_id))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        if self.database.in_transaction:
            self._send_heads()  # the transaction's saves are seen as saved
        rows = self.database.query(
            f"SELECT id FROM conversations {where} ORDER BY opened_at, id LIMIT %s",
            (*parameters, query.limit + 1),
        )
        found = [self.get(conversation_id) for (conversation_id,) in rows]
        more = len(found) > query.limit
        page = tuple(found[: query.limit])
        return ConversationPage(conversations=page, next=cursor_after(page[-1]) if more else None)

    def _remember(self, conversation: Conversation) -> None:
        known = self._known()
        previous = known.get(conversation.id)
        known[conversation.id] = conversation

        def forget() -> None:
            if previous is None:
                known.pop(conversation.id, None)
            else:
                known[conversation.id] = previous

        self.database.on_rollback(forget)

    def _decode(
        self, conversation_id: str, head: Any, items: Sequence[tuple[Any, ...]]
    ) -> Conversation:
        where = f"row {conversation_id!r} of table 'conversations'"
        try:
            if not isinstance(head, dict):
                raise ValidationError(f"the head row is {type(head).__name__}, not an object")
            logs: dict[str, list[Any]] = {name: [] for name in CONVERSATION_LOGS}
            for field, n, data in items:
                where = f"row ({conversation_id!r}, {field!r}, {n}) of table 'conversation_items'"
                log = logs.get(field)
                if log is None or n != len(log):
                    raise ValidationError(
                        f"unexpected item (expected items 0, 1, 2... of {CONVERSATION_LOGS})"
                    )
                log.append(data)
            where = f"conversation {conversation_id!r} (tables 'conversations' and items)"
            return from_dict({**head, **logs}, Conversation)
        except (ValueError, TypeError, PlaybookError) as error:
            raise StorageError(self.database.path, f"{where} is corrupt: {error}") from None

    def save(self, conversation: Conversation, *, expected_version: int) -> None:
        """Store ``conversation`` if the stored one is at ``expected_version`` (0: new).

        Directly in the outermost transaction (a desk call), the checked write is sent with
        the commit, in the one statement that also appends the new items and the journal
        entries: a stale version fails that statement and the call raises
        :class:`ConcurrentUpdate` at its end. Inside a savepoint (a call in
        ``desk.batch()``) it is sent at once, so that only the call that made a stale save
        is undone.

        Raises:
            ConcurrentUpdate: the stored version is another one; nothing was changed.
            ValidationError: ``conversation.version`` is not above ``expected_version``.
        """
        database = self.database
        deferring = database.depth <= 1
        with database.joining() if deferring else database.transaction():
            if conversation.version <= expected_version:  # refused: for which reason?
                actual = self._stored_version(conversation.id)
                if actual != expected_version:
                    raise ConcurrentUpdate(conversation.id, expected_version, actual)
                check_version_rises(conversation, expected_version)
            heads = self._heads()
            held = heads.get(conversation.id)
            if held is not None and held[0].version != expected_version:
                raise ConcurrentUpdate(conversation.id, expected_version, held[0].version)
            if not deferring:
                self._send_heads()  # the stored row first, as the checked UPDATE expects it
            known = self._known().get(conversation.id)
            if known is None or known.version != expected_version:
                kept = self._cache.get(conversation.id)
                known = kept if kept is not None and kept.version == expected_version else None
            self._add_items(conversation, expected_version, known)  # before: it may raise
            if deferring:
                # one write per conversation, checked against the version stored before
                # the transaction's first save of it
                heads[conversation.id] = (
                    conversation,
                    expected_version if held is None else held[1],
                )
                # (no undo: at this depth a rollback ends the transaction and its heads)
                database.before_commit(self, self._flush, self._refusal())
            else:
                written = database.run(*self._head(conversation, expected_version)[:2]).rowcount
                if written != 1:
                    raise ConcurrentUpdate(
                        conversation.id, expected_version, self._stored_version(conversation.id)
                    )
            self._remember(conversation)
            database.after_commit(lambda: self._keep(conversation))

    def _stored_version(self, conversation_id: str) -> int:
        rows = self.database.run(
            "SELECT version FROM conversations WHERE id = %s", (conversation_id,)
        ).fetchall()
        return int(rows[0][0]) if rows else 0

    def _heads(self) -> dict[str, tuple[Conversation, int]]:
        """The transaction's deferred head writes: the conversation and the stored version
        its write is checked against, by id."""
        return self.database.scratch(self._heads_key, dict)

    @staticmethod
    def _unhold(
        heads: dict[str, tuple[Conversation, int]],
        conversation_id: str,
        held: tuple[Conversation, int] | None,
    ) -> None:
        if held is None:
            heads.pop(conversation_id, None)
        else:
            heads[conversation_id] = held

    def _send_heads(self) -> None:
        """Write the deferred heads now (before a savepoint's save of them, or a query of
        the table), each checked as at the commit."""
        heads = self._heads()
        while heads:
            conversation_id, (conversation, expected) = next(iter(heads.items()))
            written = self.database.run(*self._head(conversation, expected)[:2]).rowcount
            if written != 1:
                raise ConcurrentUpdate(
                    conversation_id, expected, self._stored_version(conversation_id)
                )
            del heads[conversation_id]
            self.database.on_rollback(
                functools.partial(self._unhold, heads, conversation_id, (conversation, expected))
            )

    def _refusal(self) -> Callable[[Exception], BaseException | None]:
        heads = self._heads()  # this transaction's, still known after it ended
        return lambda error: self._refused(heads, error)

    def _refused(
        self, heads: dict[str, tuple[Conversation, int]], error: Exception
    ) -> BaseException | None:
        """What a failed commit meant for the deferred heads: the first whose stored version
        is not the one its write expected (read after the rollback)."""
        if getattr(error, "sqlstate", None) != _DIVISION_BY_ZERO:  # not a failed check
            return None
        for conversation_id, (_, expected) in list(heads.items()):
            rows = self.database.query(
                "SELECT version FROM conversations WHERE id = %s", (conversation_id,)
            )
            actual = int(rows[0][0]) if rows else 0
            if actual != expected:
                return ConcurrentUpdate(conversation_id, expected, actual)
        return None

    def _head(self, conversation: Conversation, expected: int) -> Statement:
        """The head row's checked write: an ``INSERT`` of a new conversation, else an
        ``UPDATE`` of the row still at ``expected``."""
        escalated = escalated_to(conversation)
        values = (
            conversation.version,
            conversation.customer.id,
            str(conversation.stage),
            conversation.updated_at,
            conversation.agent.id,
            conversation.agent.role.value,
            conversation.waiting_on,
            None if escalated is None else escalated.value,
            conversation.opened_at,
            conversation.sla_due_at,
            json_text(conversation_head(conversation)),
            conversation.id,
        )
        if expected == 0:
            return Statement(
                "INSERT INTO conversations (version, customer_id, stage, updated_at, agent_id, "
                "agent_role, waiting_on, escalated_to, opened_at, sla_due_at, data, id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s) "
                "ON CONFLICT (id) DO NOTHING",
                values,
                checked=True,
            )
        return Statement(
            "UPDATE conversations SET version = %s, customer_id = %s, stage = %s, "
            "updated_at = %s, agent_id = %s, agent_role = %s, waiting_on = %s, "
            "escalated_to = %s, opened_at = %s, sla_due_at = %s, data = %s::jsonb "
            "WHERE id = %s AND version = %s",
            (*values, expected),
            checked=True,
        )

    def _add_items(
        self, conversation: Conversation, expected: int, stored: Conversation | None
    ) -> None:
        """Queue the item rows the save adds (written with the commit)."""
        database = self.database
        rows = self._items()
        mark = len(rows)
        for name in CONVERSATION_LOGS:
            items: tuple[Any, ...] = getattr(conversation, name)
            before: tuple[Any, ...] | None = getattr(stored, name, None)
            if before is not None and items[: len(before)] == before:
                start = len(before)  # the stored items are a prefix: append the rest
            else:
                start = 0
                if expected:  # stored items unknown or rewritten (an erasure)
                    rows.append((conversation.id, name, -1, ""))  # -1: delete the field's
            rows.extend(
                (conversation.id, name, n, json_text(to_dict(items[n])))
                for n in range(start, len(items))
            )
        if len(rows) > mark:
            database.before_commit(self, self._flush, self._refusal())
            database.on_rollback(lambda: _truncate(rows, mark))

    def _items(self) -> list[tuple[str, str, int, str]]:
        """The transaction's item rows, written with its commit (``n == -1``: first delete
        the conversation's items of that field)."""
        return self.database.scratch(self._items_key, list)

    def _flush(self) -> list[Statement]:
        statements = [
            self._head(conversation, expected) for conversation, expected in self._heads().values()
        ]
        rows: list[tuple[str, str, int, str]] = []
        for row in self._items():
            if row[2] >= 0:
                rows.append(row)
                continue
            if rows:  # keep the order: what came before the delete goes first
                statements.extend(self._insert(rows))
                rows = []
            statements.append(
                Statement(
                    "DELETE FROM conversation_items WHERE conversation_id = %s AND field = %s",
                    row[:2],
                )
            )
        if rows:
            statements.extend(self._insert(rows))
        return statements

    @staticmethod
    def _insert(rows: list[tuple[str, str, int, str]]) -> list[Statement]:
        return insert_rows(
            "conversation_items", "conversation_id, field, n, data", "(%s, %s, %s, %s::jsonb)", rows
        )
