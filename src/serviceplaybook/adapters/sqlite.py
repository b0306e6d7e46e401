"""SQLite: the embedded default. One file holds conversations, the journal, compensation
grants and follow-ups, written together by one transaction per unit of work.

Durability settings: WAL, ``synchronous=FULL`` (``NORMAL`` only when asked for: it may lose
the last transactions on power loss, never corrupt the file), a busy timeout, and writers
that start with ``BEGIN IMMEDIATE`` so that a read-then-write transaction waits for the write
lock instead of failing with "database is locked". A process shares one connection between
its threads and opens a new one after ``fork()``. Only JSON is stored (never pickle); amounts
are strings; indexed times are UTC ISO strings; records come back timezone-aware.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from serviceplaybook._errors import (
    ConcurrentUpdate,
    NotFound,
    PlaybookError,
    SchemaVersionError,
    StorageError,
    ValidationError,
)
from serviceplaybook._records.compensation import Grant
from serviceplaybook._records.conversation import Conversation, check_version_rises
from serviceplaybook._records.followup import FollowUp, FollowUpStatus
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.validate import require_aware
from serviceplaybook._serialization import (
    CONVERSATION_LOGS,
    ConversationHeadJson,
    from_dict,
    json_text,
    text_of_last,
    to_dict,
)

__all__ = [
    "SCHEMA_VERSION",
    "SQLiteConversationStore",
    "SQLiteDatabase",
    "SQLiteJournal",
    "SQLiteLedger",
    "SQLiteScheduler",
    "SQLiteStorage",
]

SCHEMA_VERSION = 1
"""The version of the database schema this release writes."""

T = TypeVar("T")

# Each entry migrates a file from version N-1 to N; a new release appends, never edits.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            customer_id TEXT NOT NULL,
            stage TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        # One row per message and per signals record: a save appends, it never rewrites
        # the whole conversation.
        """CREATE TABLE conversation_items (
            conversation_id TEXT NOT NULL,
            field TEXT NOT NULL,
            n INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (conversation_id, field, n)
        ) WITHOUT ROWID""",
        """CREATE TABLE journal (
            conversation_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            stage TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        ) WITHOUT ROWID""",
        """CREATE TABLE grants (
            key TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            at TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX grants_by_customer ON grants (customer_id, at)",
        # status: pending (claimed too: see follow_up_claims), delivered, cancelled or failed;
        # ready_at: the due time, or the retry time after a failed delivery; attempts: the
        # claims that ended (a claim in flight is attempt number attempts + 1).
        """CREATE TABLE follow_ups (
            id TEXT PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            conversation_id TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            due_at TEXT NOT NULL,
            purpose TEXT NOT NULL,
            expires_at TEXT,
            status TEXT NOT NULL,
            ready_at TEXT NOT NULL,
            attempts INTEGER NOT NULL
        )""",
        # Partial index: claiming reads the next ready rows, never scans finished ones.
        "CREATE INDEX follow_ups_ready ON follow_ups (ready_at, id) WHERE status = 'pending'",
        "CREATE INDEX follow_ups_by_conversation ON follow_ups (conversation_id)",
        "CREATE INDEX follow_ups_by_customer ON follow_ups (customer_id, due_at)",
        "CREATE INDEX follow_ups_failed ON follow_ups (due_at) WHERE status = 'failed'",
        # The claims in flight, apart from the follow-ups: a claim writes a few pages of this
        # small table instead of one page per follow-up scattered over the big one.
        """CREATE TABLE follow_up_claims (
            id TEXT PRIMARY KEY,
            until TEXT NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX follow_up_claims_by_end ON follow_up_claims (until)",
    ),
)

_TABLES = ("conversations", "conversation_items", "journal", "grants", "follow_ups")


@text_of_last
def utc_text(value: datetime) -> str:
    """A fixed-width UTC ISO string: sorts as text in time order."""
    if value.tzinfo is not UTC:  # the desk's own times are UTC already: skip the checks
        value = require_aware(value, "a stored time").astimezone(UTC)
    # isoformat is twice as fast as strftime and zero-pads the year (fixed width)
    return value.isoformat(timespec="microseconds")


def _from_utc_text(value: str) -> datetime:
    return datetime.fromisoformat(value)


class SQLiteDatabase:
    """One SQLite file: its connection (one per process, shared by threads), its schema and
    its transactions.

    Args:
        path: the database file (created if missing).
        synchronous: ``"FULL"`` (the default: a committed unit of work survives power loss)
            or ``"NORMAL"`` (faster; the last commits may be lost on power loss, the file is
            never corrupted).
        busy_timeout: seconds a writer waits for another process's write lock.

    Raises:
        StorageError: the file is not a serviceplaybook database or cannot be opened.
        SchemaVersionError: the file was written by a newer release.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout: float = 30.0,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValidationError(
                f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}; FULL keeps "
                f"every committed unit of work through a power loss"
            )
        self.path = Path(path)
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._connection: sqlite3.Connection | None = None
        self._depth = 0
        self._pending: list[int] = []  # nested blocks whose savepoint is not taken yet
        self._scratch: dict[object, Any] = {}  # the stores' state of the open transaction
        self._before_commit: dict[object, Callable[[], None]] = {}
        self._on_commit: list[Callable[[], None]] = []
        self._on_rollback: list[Callable[[], None]] = []
        self._migrate()
        _OPEN_DATABASES.add(self)

    # -- connection -----------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This process's connection, opened on first use and again after ``fork()``, ready
        for a statement: the savepoints of the enclosing blocks are open."""
        with self._lock:
            connection = self._current()
            if self._pending:
                self._open_pending(connection)
            return connection

    def _current(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            self._forget_parent()
        if self._connection is None:
            self._connection = self._open()
            self._pid = os.getpid()
        return self._connection

    def _open_pending(self, connection: sqlite3.Connection) -> None:
        pending = self._pending
        while pending:
            self._run(connection, f"SAVEPOINT sp{pending[0]}")
            del pending[0]

    def _forget_parent(self) -> None:
        # In a child after fork(): whatever the parent held belongs to the parent. A
        # connection inherited from a parent inside a transaction must be neither used nor
        # closed here (SQLite's locks are the parent's): it is kept, untouched, for good.
        self._lock = threading.RLock()
        if self._connection is not None:
            _INHERITED.append(self._connection)
        self._connection = None
        self._depth = 0
        self._pending = []
        self._scratch = {}
        self._before_commit = {}
        self._on_commit = []
        self._on_rollback = []
        self._pid = os.getpid()

    def _open(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,  # transactions are begun explicitly
                check_same_thread=False,  # shared by threads under self._lock
            )
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            connection.execute(f"PRAGMA synchronous = {self.synchronous}")
            connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as error:
            raise StorageError(
                self.path, f"cannot be opened as a SQLite database: {error}"
            ) from None
        if str(mode).lower() != "wal":
            raise StorageError(self.path, f"cannot use write-ahead logging (journal mode {mode})")
        return connection

    def _before_fork(self) -> None:
        # SQLite must not see one connection in two processes: a child that inherits it
        # also inherits SQLite's record of the parent's locks, its new connection then takes
        # no real lock, and the parent closing its desk would checkpoint and delete the WAL
        # under the child's writes. Closing here (the next use reopens) avoids all of that.
        with self._lock:
            if self._depth == 0:
                self.close()

    def close(self) -> None:
        """Close this process's connection (a later use opens a new one)."""
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None

    # -- transactions ---------------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); nested blocks become savepoints, so an
        exception inside one undoes only that block."""
        return _Transaction(self, lazy=False)

    def unit_of_work(self) -> AbstractContextManager[None]:
        """:meth:`transaction` for blocks that do not use the connection themselves.

        A nested block takes its savepoint only once a statement runs inside it
        (:meth:`connection` opens the pending ones first): the stores defer their writes to
        the commit, so most desk calls inside a batch run no statement and need none. An
        exception still undoes the block, statements and stores' state alike.
        """
        return _Transaction(self, lazy=True)

    def before_commit(self, key: object, flush: Callable[[], None]) -> None:
        """Run ``flush`` once, inside the open transaction, just before it commits (however
        often it is registered under ``key``); an exception from it rolls the transaction
        back. Stores use it to write a transaction's changes once, at the end."""
        with self._lock:
            if not self._depth:
                raise StorageError(self.path, "before_commit() needs an open transaction")
            self._before_commit.setdefault(key, flush)

    def scratch(self, owner: object, make: Callable[[], T]) -> T:
        """``owner``'s state for the open transaction: made by ``make`` at its first use in
        the transaction, forgotten when the transaction ends (committed or rolled back).
        Stores keep in it what the transaction saved or appended until :meth:`before_commit`
        writes it; their :meth:`on_rollback` callbacks undo a rolled-back block's part."""
        with self._lock:
            if not self._depth:
                raise StorageError(self.path, "scratch() needs an open transaction")
            state = self._scratch.get(owner)
            if state is None:
                state = self._scratch[owner] = make()
            return cast(T, state)

    @property
    def lock(self) -> threading.RLock:
        """The lock a thread holds while it uses the connection or a transaction's state."""
        return self._lock

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the open transaction commits (dropped if it rolls back)."""
        with self._lock:
            if self._depth:
                self._on_commit.append(callback)
            else:
                callback()

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` if the open transaction (or savepoint) rolls back."""
        with self._lock:
            if self._depth:
                self._on_rollback.append(callback)

    @property
    def in_transaction(self) -> bool:
        """True inside a transaction opened by this process (any thread holding the lock)."""
        return self._depth > 0

    def writing(self) -> AbstractContextManager[sqlite3.Connection]:
        """The connection inside a transaction: the open one, else a new one. Unlike
        :meth:`transaction` it adds no savepoint: for a write that is one statement."""
        return _Writing(self, connect=True)

    def joining(self) -> AbstractContextManager[None]:
        """The open transaction, else a new one, for stores that change only their own state
        now and write at the commit (:meth:`before_commit`): no savepoint, no statement."""
        return _Writing(self, connect=False)

    def reading(self) -> AbstractContextManager[sqlite3.Connection]:
        """The connection for reads (inside a transaction when one is open)."""
        return _Reading(self)

    def _run(self, connection: sqlite3.Connection, sql: str) -> None:
        try:
            connection.execute(sql)
        except sqlite3.DatabaseError as error:
            raise self.error(error) from error

    def error(self, error: sqlite3.Error, where: str = "") -> StorageError:
        """A :class:`StorageError` naming this file for a sqlite3 error."""
        detail = f"{where}: {error}" if where else str(error)
        if "no such table" in str(error):
            detail += " (a table is missing: the file was changed outside serviceplaybook)"
        return StorageError(self.path, detail)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one statement, in the open transaction if any (else in its own)."""
        with self._lock:
            connection = self.connection()
            try:
                if self._depth:
                    return connection.execute(sql, parameters)
                with self.transaction():
                    return connection.execute(sql, parameters)
            except sqlite3.DatabaseError as error:
                raise self.error(error) from error

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read."""
        with self.reading() as connection:
            try:
                return connection.execute(sql, parameters).fetchall()
            except sqlite3.DatabaseError as error:
                raise self.error(error) from error

    # -- schema ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        try:
            with self.transaction() as connection:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS serviceplaybook_meta "
                    "(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                )
                row = connection.execute(
                    "SELECT value FROM serviceplaybook_meta WHERE key = 'schema_version'"
                ).fetchone()
                found = int(row[0]) if row else 0
                if found > SCHEMA_VERSION:
                    raise SchemaVersionError(
                        f"{self.path}: written by a newer serviceplaybook (database schema "
                        f"version {found}, this release knows up to {SCHEMA_VERSION}); it was "
                        f"not changed; upgrade serviceplaybook to open it"
                    )
                if found == 0:
                    existing = {
                        name
                        for (name,) in connection.execute(
                            "SELECT name FROM sqlite_master WHERE type = 'table'"
                        )
                    }
                    if existing & set(_TABLES):
                        raise StorageError(
                            self.path,
                            "has serviceplaybook tables but no schema version; it was not changed",
                        )
                for version in range(found + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[version - 1]:
                        connection.execute(statement)
                connection.execute(
                    "INSERT INTO serviceplaybook_meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(SCHEMA_VERSION),),
                )
        except PlaybookError:
            raise
        except sqlite3.DatabaseError as error:
            raise StorageError(self.path, f"is not a usable database: {error}") from None

    @property
    def schema_version(self) -> int:
        """The schema version of the file."""
        rows = self.query("SELECT value FROM serviceplaybook_meta WHERE key = 'schema_version'")
        return int(rows[0][0])

    def decode(self, table: str, key: str, text: str, cls: type[T]) -> T:
        """A stored JSON row as a record; a corrupt row is a :class:`StorageError`."""
        try:
            return from_dict(json.loads(text), cls)
        except (ValueError, PlaybookError) as error:
            raise StorageError(
                self.path, f"row {key!r} of table {table!r} is corrupt: {error}"
            ) from None


_INHERITED: list[sqlite3.Connection] = []
_OPEN_DATABASES: weakref.WeakSet[SQLiteDatabase] = weakref.WeakSet()


class _Transaction:
    """One (possibly nested) block of :meth:`SQLiteDatabase.transaction`; it holds the
    database's lock from enter to exit. A class, not a generator: it runs on every call."""

    __slots__ = ("_database", "_depth", "_lazy", "_mark", "_undo_mark")

    def __init__(self, database: SQLiteDatabase, *, lazy: bool) -> None:
        self._database = database
        self._lazy = lazy

    def __enter__(self) -> Any:
        database = self._database
        database._lock.acquire()
        try:
            depth = database._depth
            if depth == 0:
                connection = database._current()
                database._run(connection, "BEGIN IMMEDIATE")
            elif self._lazy:
                connection = None
                database._pending.append(depth)
            else:
                connection = database.connection()
                database._run(connection, f"SAVEPOINT sp{depth}")
        except BaseException:
            database._lock.release()
            raise
        database._depth = depth + 1
        self._depth = depth
        self._mark = len(database._on_commit)
        self._undo_mark = len(database._on_rollback)
        return connection

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        database = self._database
        try:
            if kind is None:
                self._commit(database)
            else:
                self._roll_back(database)
        finally:
            database._lock.release()

    def _commit(self, database: SQLiteDatabase) -> None:
        depth = self._depth
        try:
            if depth == 0:
                while database._before_commit:
                    flushes = list(database._before_commit.values())
                    database._before_commit.clear()
                    for flush in flushes:
                        flush()
                database._depth = 0
                database._run(database._current(), "COMMIT")
                database._scratch = {}
            else:
                database._depth = depth
                pending = database._pending
                if pending and pending[-1] == depth:
                    pending.pop()  # no statement ran inside: there is no savepoint
                else:
                    database._run(database._current(), f"RELEASE sp{depth}")
        except BaseException:
            self._roll_back(database)
            raise
        if depth == 0:
            callbacks = database._on_commit
            database._on_commit, database._on_rollback = [], []
            for callback in callbacks:
                callback()

    def _roll_back(self, database: SQLiteDatabase) -> None:
        depth = self._depth
        database._depth = depth
        del database._on_commit[self._mark :]
        undone = database._on_rollback[self._undo_mark :]
        del database._on_rollback[self._undo_mark :]
        try:
            for callback in reversed(undone):
                callback()
        finally:
            connection = database._current()
            if depth == 0:
                database._before_commit.clear()
                database._pending = []
                database._scratch = {}
                if connection.in_transaction:
                    database._run(connection, "ROLLBACK")
            else:
                pending = database._pending
                if pending and pending[-1] == depth:
                    pending.pop()
                else:
                    database._run(connection, f"ROLLBACK TO sp{depth}")
                    database._run(connection, f"RELEASE sp{depth}")


class _Writing:
    """:meth:`SQLiteDatabase.writing` and :meth:`~SQLiteDatabase.joining`: the open
    transaction (its connection, when ``connect``), else a new transaction."""

    __slots__ = ("_connect", "_database", "_transaction")

    def __init__(self, database: SQLiteDatabase, *, connect: bool) -> None:
        self._database = database
        self._connect = connect
        self._transaction: _Transaction | None = None

    def __enter__(self) -> Any:
        database = self._database
        database._lock.acquire()
        try:
            if database._depth:
                return database.connection() if self._connect else None
            self._transaction = _Transaction(database, lazy=not self._connect)
            return self._transaction.__enter__()
        except BaseException:
            database._lock.release()
            raise

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        try:
            if self._transaction is not None:
                self._transaction.__exit__(kind, error, traceback)
        finally:
            self._database._lock.release()


class _Reading:
    """:meth:`SQLiteDatabase.reading`: the connection, under the lock."""

    __slots__ = ("_database",)

    def __init__(self, database: SQLiteDatabase) -> None:
        self._database = database

    def __enter__(self) -> sqlite3.Connection:
        database = self._database
        database._lock.acquire()
        try:
            return database.connection()
        except BaseException:
            database._lock.release()
            raise

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        self._database._lock.release()


def _close_before_fork() -> None:
    for database in list(_OPEN_DATABASES):
        database._before_fork()


def _reset_in_child() -> None:
    for database in list(_OPEN_DATABASES):
        database._forget_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_close_before_fork, after_in_child=_reset_in_child)


def _dumps(record: object) -> str:
    return json_text(to_dict(record))


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
    :data:`~serviceplaybook.serialization.CONVERSATION_LOGS`) and one row per message and per
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
        # The JSON of each kept conversation's last written head: the next write encodes
        # only the fields that changed.
        self._heads: dict[str, ConversationHeadJson] = {}

    def _state(self) -> _Conversations:
        return self.database.scratch(self, _Conversations)

    def _keep(self, conversation: Conversation) -> None:
        cache = self._cache
        cache.pop(conversation.id, None)
        cache[conversation.id] = conversation
        if len(cache) > self.cache_size:
            oldest = next(iter(cache))  # the least recently kept
            del cache[oldest]
            self._heads.pop(oldest, None)

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
        heads = []
        for conversation in state.written.values():
            version, stored = state.stored[conversation.id]
            heads.append(self._write(connection, conversation, version, stored))
        self.database.after_commit(lambda: self._committed(heads))

    def _write(
        self,
        connection: sqlite3.Connection,
        conversation: Conversation,
        stored_version: int,
        stored: Conversation | None,
    ) -> ConversationHeadJson:
        head = ConversationHeadJson(conversation, self._heads.get(conversation.id))
        values = (
            conversation.version,
            conversation.customer.id,
            str(conversation.stage),
            utc_text(conversation.updated_at),
            head.text,
            conversation.id,
        )
        try:
            if stored_version == 0:
                cursor = connection.execute(
                    "INSERT INTO conversations (version, customer_id, stage, updated_at, data, id)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    values,
                )
            else:
                cursor = connection.execute(
                    "UPDATE conversations SET version = ?, customer_id = ?, stage = ?, "
                    "updated_at = ?, data = ? WHERE id = ? AND version = ?",
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
        return head

    def _committed(self, heads: Sequence[ConversationHeadJson]) -> None:
        for head in heads:
            self._keep(head.conversation)
            self._heads[head.conversation.id] = head


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
                    at=_from_utc_text(at),
                    kind=kind,
                    actor=actor,
                    stage=stage,
                    data=payload,
                )
            )
        return entries


class SQLiteLedger:
    """Compensation grants in the ``grants`` table, idempotent by key."""

    def __init__(self, database: SQLiteDatabase) -> None:
        self.database = database

    def record(self, grant: Grant) -> Grant:
        """Record ``grant`` once; the same key with other terms is an error."""
        with self.database.writing() as connection:
            connection.execute(
                "INSERT INTO grants (key, customer_id, at, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                (grant.key, grant.customer_id, utc_text(grant.at), _dumps(grant)),
            )
            row = connection.execute(
                "SELECT data FROM grants WHERE key = ?", (grant.key,)
            ).fetchone()
        first = self.database.decode("grants", grant.key, row[0], Grant)
        if (first.customer_id, first.offer) != (grant.customer_id, grant.offer):
            raise ValidationError(
                f"grant key {grant.key!r} was already recorded with other terms; an "
                f"idempotency key must always name the same grant"
            )
        return first

    def grants(self, customer_id: str, *, since: datetime | None = None) -> list[Grant]:
        """The customer's grants, oldest first, optionally from ``since`` on."""
        rows = self.database.query(
            "SELECT key, data FROM grants WHERE customer_id = ? AND at >= ? ORDER BY at, key",
            (customer_id, utc_text(since) if since is not None else ""),
        )
        return [self.database.decode("grants", key, data, Grant) for key, data in rows]


class SQLiteScheduler:
    """Follow-ups in the ``follow_ups`` table, claims in flight in ``follow_up_claims``.

    Claims are atomic across processes (one ``BEGIN IMMEDIATE`` transaction picks and
    leases them), a lease that runs out hands the follow-up to another worker, and a
    cancellation is a durable row state checked by every claim and every answer. Claiming
    reads the next ready rows through a partial index and writes one row each to the small
    claims table, never the scattered pages of the big one, so its cost does not grow with
    the number of follow-ups held. Times come back in UTC.

    Args:
        database: the file; pass a path to open one of its own.
    """

    # follow_ups.attempts counts the claims that ended; a claim in flight is attempt + 1.
    _COLUMNS = (
        "f.id, f.key, f.conversation_id, f.customer_id, f.channel, f.due_at, f.purpose, "
        "f.expires_at"
    )
    _CLAIMED = "LEFT JOIN follow_up_claims c ON c.id = f.id"

    def __init__(self, database: SQLiteDatabase | str | os.PathLike[str]) -> None:
        self.database = (
            database if isinstance(database, SQLiteDatabase) else SQLiteDatabase(database)
        )

    def _records(self, rows: Sequence[Sequence[Any]], skip: int = 0) -> list[FollowUp]:
        """Follow-ups from rows of ``_COLUMNS`` then attempts, after ``skip`` other columns."""
        parse = _from_utc_text
        try:
            return [
                FollowUp(
                    id=row[skip],
                    key=row[skip + 1],
                    conversation_id=row[skip + 2],
                    customer_id=row[skip + 3],
                    channel=row[skip + 4],
                    due_at=parse(row[skip + 5]),
                    purpose=row[skip + 6],
                    expires_at=None if row[skip + 7] is None else parse(row[skip + 7]),
                    attempts=row[skip + 8],
                )
                for row in rows
            ]
        except (KeyError, TypeError, ValueError) as error:
            raise StorageError(
                self.database.path, f"a row of table 'follow_ups' is corrupt: {error!r}"
            ) from None

    def schedule(self, follow_up: FollowUp) -> None:
        """Hold ``follow_up`` until due; a key already held is ignored.

        Raises:
            ValidationError: the id is already held under another key.
        """
        due = utc_text(follow_up.due_at)
        expires = None if follow_up.expires_at is None else utc_text(follow_up.expires_at)
        with self.database.writing() as connection:
            inserted = connection.execute(
                "INSERT INTO follow_ups (id, key, conversation_id, customer_id, channel, due_at, "
                "purpose, expires_at, status, ready_at, attempts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING",
                (
                    follow_up.id,
                    follow_up.key,
                    follow_up.conversation_id,
                    follow_up.customer_id,
                    follow_up.channel.value,
                    due,
                    follow_up.purpose,
                    expires,
                    due,
                    follow_up.attempts,
                ),
            ).rowcount
            if inserted:
                return
            held = connection.execute(
                "SELECT key FROM follow_ups WHERE key = ? OR id = ?",
                (follow_up.key, follow_up.id),
            ).fetchall()
        if any(key == follow_up.key for (key,) in held):
            return
        raise ValidationError(
            f"follow-up id {follow_up.id!r} is already held under key {held[0][0]!r}; "
            f"give each follow-up its own id"
        )

    def cancel(self, conversation_id: str) -> int:
        """Cancel the conversation's pending (and claimed) follow-ups; returns how many."""
        with self.database.transaction() as connection:
            cancelled = connection.execute(
                "UPDATE follow_ups SET status = 'cancelled', attempts = attempts + "
                "EXISTS (SELECT 1 FROM follow_up_claims c WHERE c.id = follow_ups.id) "
                "WHERE conversation_id = ? AND status = 'pending'",
                (conversation_id,),
            ).rowcount
            if cancelled:
                connection.execute(
                    "DELETE FROM follow_up_claims WHERE id IN "
                    "(SELECT id FROM follow_ups WHERE conversation_id = ?)",
                    (conversation_id,),
                )
        return cancelled

    def claim_due(
        self, now: datetime, *, limit: int = 100, lease: timedelta = timedelta(minutes=5)
    ) -> list[FollowUp]:
        """Claim up to ``limit`` follow-ups ready at ``now``, soonest first: due ones, retries
        whose time came, and claims whose lease ran out (those by the end of their lease);
        ties go by id.

        Raises:
            ValidationError: ``now`` is naive, ``limit`` below 1 or ``lease`` not positive.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"claim_due(limit) must be an int of 1 or more, got {limit!r}")
        if lease <= timedelta(0):
            raise ValidationError(
                f"claim_due(lease) must be a positive duration, got {lease}: a claim without a "
                f"lease could be handed out again at once"
            )
        now_text = utc_text(now)
        until = utc_text(now + lease)
        with self.database.transaction() as connection:
            # Claims whose worker died or stalled, by the end of their lease...
            lapsed = connection.execute(
                f"SELECT c.until, {self._COLUMNS}, f.attempts + 2 FROM follow_up_claims c "
                f"JOIN follow_ups f ON f.id = c.id "
                f"WHERE c.until <= ? ORDER BY c.until, c.id LIMIT ?",
                (now_text, limit),
            ).fetchall()
            # ...and follow-ups nobody holds, by due or retry time: the partial index gives
            # them in order; the claims table is checked for the few in flight.
            fresh = connection.execute(
                f"SELECT f.ready_at, {self._COLUMNS}, f.attempts + 1 FROM follow_ups f "
                f"WHERE f.status = 'pending' AND f.ready_at <= ? "
                f"AND NOT EXISTS (SELECT 1 FROM follow_up_claims c WHERE c.id = f.id) "
                f"ORDER BY f.ready_at, f.id LIMIT ?",
                (now_text, limit),
            ).fetchall()
            if lapsed:
                rows = sorted(lapsed + fresh, key=lambda row: (row[0], row[1]))[:limit]
                held = {row[1] for row in lapsed}
                again = [row[1] for row in rows if row[1] in held]
                # rare (a worker died): the lapsed claim ended, the new one counts one more
                connection.executemany(
                    "UPDATE follow_ups SET attempts = attempts + 1 WHERE id = ?",
                    [(follow_up_id,) for follow_up_id in again],
                )
                connection.execute(
                    "UPDATE follow_up_claims SET until = ? "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (until, json.dumps(again)),
                )
                new = [row[1] for row in rows if row[1] not in held]
            else:
                rows = fresh
                new = [row[1] for row in rows]
            # One statement for the lot: far cheaper than a thousand INSERTs.
            connection.execute(
                "INSERT INTO follow_up_claims (id, until) SELECT value, ? FROM json_each(?)",
                (until, json.dumps(new)),
            )
        return self._records(rows, skip=1)

    def _answerable(
        self, connection: sqlite3.Connection, follow_up_id: str, attempt: int | None
    ) -> bool:
        """True if this answer counts: claimed, by the claim with ``attempt`` if given."""
        row = connection.execute(
            f"SELECT f.attempts + 1, c.id IS NOT NULL FROM follow_ups f {self._CLAIMED} "
            f"WHERE f.id = ?",
            (follow_up_id,),
        ).fetchone()
        if row is None:
            raise NotFound("follow-up", follow_up_id)
        current, claimed = row
        # not claimed (cancelled, answered), or the lease ran out and another claim took over
        return bool(claimed) and (attempt is None or attempt == current)

    def complete(self, follow_up_id: str, *, attempt: int | None = None) -> None:
        """Mark a claimed follow-up delivered (ignored if not claimed, or if ``attempt`` is not
        the latest claim's).

        Raises:
            NotFound: no follow-up has this id.
        """
        with self.database.transaction() as connection:
            if not self._answerable(connection, follow_up_id, attempt):
                return
            connection.execute(
                "UPDATE follow_ups SET status = 'delivered', attempts = attempts + 1 WHERE id = ?",
                (follow_up_id,),
            )
            connection.execute("DELETE FROM follow_up_claims WHERE id = ?", (follow_up_id,))

    def fail(
        self, follow_up_id: str, *, retry_at: datetime | None, attempt: int | None = None
    ) -> None:
        """Retry at ``retry_at``, or give up (``FAILED``, kept visible) when ``None``; ignored
        if not claimed, or if ``attempt`` is not the latest claim's.

        Raises:
            NotFound: no follow-up has this id.
            ValidationError: ``retry_at`` is naive.
        """
        retry = None if retry_at is None else utc_text(retry_at)
        with self.database.transaction() as connection:
            if not self._answerable(connection, follow_up_id, attempt):
                return
            if retry is None:
                connection.execute(
                    "UPDATE follow_ups SET status = 'failed', attempts = attempts + 1 WHERE id = ?",
                    (follow_up_id,),
                )
            else:
                connection.execute(
                    "UPDATE follow_ups SET ready_at = ?, attempts = attempts + 1 WHERE id = ?",
                    (retry, follow_up_id),
                )
            connection.execute("DELETE FROM follow_up_claims WHERE id = ?", (follow_up_id,))

    def release(self, follow_up_id: str, *, attempt: int | None = None) -> None:
        """Give back a claim never sent: ready again at once, as before the claim, without
        counting an attempt (ignored if not claimed, or if ``attempt`` is not the latest
        claim's).

        Raises:
            NotFound: no follow-up has this id.
        """
        with self.database.transaction() as connection:
            if self._answerable(connection, follow_up_id, attempt):
                # ready_at still holds the time from before the claim
                connection.execute("DELETE FROM follow_up_claims WHERE id = ?", (follow_up_id,))

    def status(self, follow_up_id: str) -> FollowUpStatus:
        """Where the follow-up stands.

        Raises:
            NotFound: no follow-up has this id.
        """
        rows = self.database.query(
            f"SELECT f.status, c.id IS NOT NULL FROM follow_ups f {self._CLAIMED} WHERE f.id = ?",
            (follow_up_id,),
        )
        if not rows:
            raise NotFound("follow-up", follow_up_id)
        status, claimed = rows[0]
        return FollowUpStatus.CLAIMED if claimed else FollowUpStatus(status)

    def _select(self, where: str, parameters: Sequence[Any] = ()) -> list[FollowUp]:
        return self._records(
            self.database.query(
                f"SELECT {self._COLUMNS}, f.attempts + (c.id IS NOT NULL) FROM follow_ups f "
                f"{self._CLAIMED} WHERE {where} ORDER BY f.due_at, f.id",
                parameters,
            )
        )

    def for_customer(self, customer_id: str, *, since: datetime | None = None) -> list[FollowUp]:
        """The customer's follow-ups that reached them or still may (pending, claimed or
        delivered; not cancelled or failed), due from ``since`` on, soonest first."""
        return self._select(
            "f.customer_id = ? AND f.due_at >= ? AND f.status IN ('pending', 'delivered')",
            (customer_id, "" if since is None else utc_text(since)),
        )

    def pending(self) -> list[FollowUp]:
        """Follow-ups not yet delivered, cancelled or failed, soonest due first."""
        return self._select("f.status = 'pending'")

    def failed(self) -> list[FollowUp]:
        """Follow-ups given up on after failed deliveries, soonest due first."""
        return self._select("f.status = 'failed'")


class SQLiteStorage:
    """Conversations, journal, ledger and follow-ups in one SQLite file; ``atomic()`` is one
    transaction (savepoints when nested).

    Args:
        path: the database file (created if missing).
        synchronous: ``"FULL"`` (default) or ``"NORMAL"``; see :class:`SQLiteDatabase`.
        busy_timeout: seconds a writer waits for another process's write lock.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout: float = 30.0,
    ) -> None:
        self.database = SQLiteDatabase(path, synchronous=synchronous, busy_timeout=busy_timeout)
        self.conversations = SQLiteConversationStore(self.database)
        self.journal = SQLiteJournal(self.database)
        self.ledger = SQLiteLedger(self.database)
        self.follow_ups = SQLiteScheduler(self.database)

    def atomic(self) -> AbstractContextManager[Any]:
        """One transaction: everything inside commits together, or nothing does."""
        return self.database.unit_of_work()

    def close(self) -> None:
        """Close the connection."""
        self.database.close()
