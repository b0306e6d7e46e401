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
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs

from serviceplaybook._validate import require_aware
from serviceplaybook.compensation import Grant
from serviceplaybook.conversation import Conversation, check_version_rises
from serviceplaybook.errors import (
    ConcurrentUpdate,
    NotFound,
    PlaybookError,
    SchemaVersionError,
    StorageError,
    ValidationError,
)
from serviceplaybook.followup import FollowUp, FollowUpStatus
from serviceplaybook.journal import JournalEntry
from serviceplaybook.serialization import (
    CONVERSATION_LOGS,
    conversation_head,
    from_dict,
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
        """CREATE TABLE follow_ups (
            id TEXT PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            conversation_id TEXT NOT NULL,
            status TEXT NOT NULL,
            ready_at TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        # Partial index: claiming reads the next due rows, never scans delivered ones.
        "CREATE INDEX follow_ups_due ON follow_ups (ready_at) "
        "WHERE status IN ('pending', 'claimed')",
        "CREATE INDEX follow_ups_by_conversation ON follow_ups (conversation_id)",
    ),
)

_TABLES = ("conversations", "conversation_items", "journal", "grants", "follow_ups")


def utc_text(value: datetime) -> str:
    """A fixed-width UTC ISO string: sorts as text in time order."""
    return (
        require_aware(value, "a stored time").astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    )


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
        self._number = 0
        self._before_commit: dict[object, Callable[[], None]] = {}
        self._on_commit: list[Callable[[], None]] = []
        self._on_rollback: list[Callable[[], None]] = []
        self._migrate()
        _OPEN_DATABASES.add(self)

    # -- connection -----------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This process's connection, opened on first use and again after ``fork()``."""
        with self._lock:
            if self._pid != os.getpid():
                self._forget_parent()
            if self._connection is None:
                self._connection = self._open()
                self._pid = os.getpid()
            return self._connection

    def _forget_parent(self) -> None:
        # In a child after fork(): whatever the parent held belongs to the parent. A
        # connection inherited from a parent inside a transaction must be neither used nor
        # closed here (SQLite's locks are the parent's): it is kept, untouched, for good.
        self._lock = threading.RLock()
        if self._connection is not None:
            _INHERITED.append(self._connection)
        self._connection = None
        self._depth = 0
        self._number += 1
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

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); nested blocks become savepoints, so an
        exception inside one undoes only that block."""
        with self._lock:
            connection = self.connection()
            depth = self._depth
            savepoint = f"sp{depth}"
            self._run(connection, "BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}")
            if depth == 0:
                self._number += 1
            self._depth = depth + 1
            mark, undo_mark = len(self._on_commit), len(self._on_rollback)
            try:
                yield connection
                if depth == 0:
                    while self._before_commit:
                        flushes = list(self._before_commit.values())
                        self._before_commit.clear()
                        for flush in flushes:
                            flush()
            except BaseException:
                self._depth = depth
                del self._on_commit[mark:]
                undone = self._on_rollback[undo_mark:]
                del self._on_rollback[undo_mark:]
                for callback in reversed(undone):
                    callback()
                if depth == 0:
                    self._before_commit.clear()
                    if connection.in_transaction:
                        self._run(connection, "ROLLBACK")
                else:
                    self._run(connection, f"ROLLBACK TO {savepoint}")
                    self._run(connection, f"RELEASE {savepoint}")
                raise
            self._depth = depth
            self._run(connection, "COMMIT" if depth == 0 else f"RELEASE {savepoint}")
            if depth == 0:
                callbacks, self._on_commit, self._on_rollback = self._on_commit, [], []
                for callback in callbacks:
                    callback()

    def before_commit(self, key: object, flush: Callable[[], None]) -> None:
        """Run ``flush`` once, inside the open transaction, just before it commits (however
        often it is registered under ``key``); an exception from it rolls the transaction
        back. Stores use it to write a transaction's changes once, at the end."""
        with self._lock:
            if not self._depth:
                raise StorageError(self.path, "before_commit() needs an open transaction")
            self._before_commit.setdefault(key, flush)

    @property
    def transaction_number(self) -> int:
        """Changes with every transaction begun (state kept for one transaction checks it)."""
        return self._number

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

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """The connection inside a transaction: the open one, else a new one. Unlike
        :meth:`transaction` it adds no savepoint: for a write that is one statement."""
        with self._lock:
            if self._depth:
                yield self.connection()
            else:
                with self.transaction() as connection:
                    yield connection

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (inside a transaction when one is open)."""
        with self._lock:
            yield self.connection()

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


def _close_before_fork() -> None:
    for database in list(_OPEN_DATABASES):
        database._before_fork()


def _reset_in_child() -> None:
    for database in list(_OPEN_DATABASES):
        database._forget_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_close_before_fork, after_in_child=_reset_in_child)


def _dumps(record: object) -> str:
    return json.dumps(to_dict(record), separators=(",", ":"), ensure_ascii=False)


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
        # State of one transaction (its number): what it saved, and what the file held when
        # it first looked (version, and the record equal to the stored rows when known).
        # Nobody else writes while it holds the write lock, so both stay true until COMMIT.
        self._number = -1
        self._written: dict[str, Conversation] = {}
        self._stored: dict[str, tuple[int, Conversation | None]] = {}

    def _transaction_state(self) -> None:
        number = self.database.transaction_number
        if number != self._number:
            self._number = number
            self._written = {}
            self._stored = {}

    def _keep(self, conversation: Conversation) -> None:
        cache = self._cache
        cache.pop(conversation.id, None)
        cache[conversation.id] = conversation
        if len(cache) > self.cache_size:
            del cache[next(iter(cache))]  # the least recently kept

    def get(self, conversation_id: str) -> Conversation:
        """The stored conversation (or, inside a transaction, the one it saved); raises
        :class:`NotFound`."""
        with self.database.reading():
            if self.database.in_transaction:
                self._transaction_state()
                written = self._written.get(conversation_id)
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
            self._transaction_state()
            self._stored.setdefault(conversation_id, (version, record))

    def _stored_version(self, conversation_id: str) -> int:
        known = self._stored.get(conversation_id)
        if known is None:
            rows = self.database.query(
                "SELECT version FROM conversations WHERE id = ?", (conversation_id,)
            )
            version = rows[0][0] if rows else 0
            kept = self._cache.get(conversation_id)
            known = (version, kept if kept is not None and kept.version == version else None)
            self._stored[conversation_id] = known
        return known[0]

    def save(self, conversation: Conversation, *, expected_version: int) -> None:
        """Store ``conversation`` if the stored one is at ``expected_version`` (0: new).

        Raises:
            ConcurrentUpdate: the stored version is another one; nothing was changed.
            ValidationError: ``conversation.version`` is not above ``expected_version``.
        """
        conversation_id = conversation.id
        with self.database.writing():
            self._transaction_state()
            previous = self._written.get(conversation_id)
            actual = (
                previous.version if previous is not None else self._stored_version(conversation_id)
            )
            if actual != expected_version:
                raise ConcurrentUpdate(conversation_id, expected_version, actual)
            check_version_rises(conversation, expected_version)
            self._written[conversation_id] = conversation
            self.database.on_rollback(lambda: self._unwrite(conversation_id, previous))
            self.database.before_commit(self, self._flush)

    def _unwrite(self, conversation_id: str, previous: Conversation | None) -> None:
        if self._number != self.database.transaction_number:
            return
        if previous is None:
            self._written.pop(conversation_id, None)
        else:
            self._written[conversation_id] = previous

    def _flush(self) -> None:
        connection = self.database.connection()
        written = list(self._written.values())
        for conversation in written:
            version, stored = self._stored[conversation.id]
            self._write(connection, conversation, version, stored)
        self.database.after_commit(lambda: self._committed(written))

    def _write(
        self,
        connection: sqlite3.Connection,
        conversation: Conversation,
        stored_version: int,
        stored: Conversation | None,
    ) -> None:
        values = (
            conversation.version,
            conversation.customer.id,
            str(conversation.stage),
            utc_text(conversation.updated_at),
            json.dumps(conversation_head(conversation), separators=(",", ":"), ensure_ascii=False),
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
                start = 0
                if stored is not None:
                    before: tuple[Any, ...] = getattr(stored, name)
                    start = len(before)
                    if items[:start] != before:  # rewritten (e.g. erased): write it all again
                        start = 0
                        connection.execute(
                            "DELETE FROM conversation_items WHERE conversation_id = ? "
                            "AND field = ?",
                            (conversation.id, name),
                        )
                elif stored_version:
                    connection.execute(
                        "DELETE FROM conversation_items WHERE conversation_id = ? AND field = ?",
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

    def _committed(self, written: Sequence[Conversation]) -> None:
        for conversation in written:
            self._keep(conversation)


class SQLiteJournal:
    """The journal in the ``journal`` table, keyed by conversation and sequence number."""

    def __init__(self, database: SQLiteDatabase) -> None:
        self.database = database

    def append(self, entries: Sequence[JournalEntry]) -> None:
        """Append ``entries``; a sequence number used twice is refused."""
        rows = [
            (
                e.conversation_id,
                e.seq,
                utc_text(e.at),
                e.kind,
                e.actor,
                e.stage,
                json.dumps(dict(e.data), separators=(",", ":"), ensure_ascii=False),
            )
            for e in entries
        ]
        # several rows: a savepoint keeps them all-or-nothing; one row needs none
        block = self.database.transaction() if len(rows) > 1 else self.database.writing()
        with block as connection:
            try:
                connection.executemany(
                    "INSERT INTO journal (conversation_id, seq, at, kind, actor, stage, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except sqlite3.IntegrityError as error:
                raise self.database.error(error, "journal entries must be appended once") from None

    def history(self, conversation_id: str) -> list[JournalEntry]:
        """The conversation's entries, oldest first."""
        rows = self.database.query(
            "SELECT seq, at, kind, actor, stage, data FROM journal "
            "WHERE conversation_id = ? ORDER BY seq",
            (conversation_id,),
        )
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
    """Follow-ups in the ``follow_ups`` table: claims are atomic across processes, a lease
    that runs out hands the follow-up to another worker, a cancellation is durable.

    Args:
        database: the file; pass a path to open one of its own.
    """

    def __init__(self, database: SQLiteDatabase | str | os.PathLike[str]) -> None:
        self.database = (
            database if isinstance(database, SQLiteDatabase) else SQLiteDatabase(database)
        )

    def _row_to_follow_up(self, follow_up_id: str, data: str, attempts: int) -> FollowUp:
        follow_up = self.database.decode("follow_ups", follow_up_id, data, FollowUp)
        if follow_up.attempts == attempts:
            return follow_up
        return attrs.evolve(follow_up, attempts=attempts)

    def schedule(self, follow_up: FollowUp) -> None:
        """Hold ``follow_up`` until due; a key already held is ignored."""
        with self.database.transaction() as connection:
            held = connection.execute(
                "SELECT key FROM follow_ups WHERE id = ? OR key = ?",
                (follow_up.id, follow_up.key),
            ).fetchall()
            if any(key == follow_up.key for (key,) in held):
                return
            if held:
                raise ValidationError(
                    f"follow-up id {follow_up.id!r} is already held under key {held[0][0]!r}; "
                    f"give each follow-up its own id"
                )
            connection.execute(
                "INSERT INTO follow_ups "
                "(id, key, conversation_id, status, ready_at, attempts, data) "
                "VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                (
                    follow_up.id,
                    follow_up.key,
                    follow_up.conversation_id,
                    utc_text(follow_up.due_at),
                    follow_up.attempts,
                    _dumps(follow_up),
                ),
            )

    def cancel(self, conversation_id: str) -> int:
        """Cancel the conversation's pending (and claimed) follow-ups."""
        cursor = self.database.execute(
            "UPDATE follow_ups SET status = 'cancelled' "
            "WHERE conversation_id = ? AND status IN ('pending', 'claimed')",
            (conversation_id,),
        )
        return cursor.rowcount

    def claim_due(
        self, now: datetime, *, limit: int = 100, lease: timedelta = timedelta(minutes=5)
    ) -> list[FollowUp]:
        """Claim up to ``limit`` follow-ups due at ``now`` (and those whose lease ran out)."""
        if lease <= timedelta(0):
            raise ValidationError(
                f"claim_due(lease) must be a positive duration, got {lease}: a claim without a "
                f"lease could be handed out again at once"
            )
        now_text = utc_text(now)
        until = utc_text(now + lease)
        with self.database.transaction() as connection:
            rows = connection.execute(
                "SELECT id, data, attempts FROM follow_ups "
                "WHERE status IN ('pending', 'claimed') AND ready_at <= ? "
                "ORDER BY ready_at LIMIT ?",
                (now_text, limit),
            ).fetchall()
            connection.executemany(
                "UPDATE follow_ups SET status = 'claimed', ready_at = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                [(until, row[0]) for row in rows],
            )
        return [self._row_to_follow_up(i, data, attempts + 1) for i, data, attempts in rows]

    def _status_row(self, follow_up_id: str) -> str:
        rows = self.database.query("SELECT status FROM follow_ups WHERE id = ?", (follow_up_id,))
        if not rows:
            raise NotFound("follow-up", follow_up_id)
        return str(rows[0][0])

    def complete(self, follow_up_id: str) -> None:
        """Mark a claimed follow-up delivered."""
        with self.database.transaction():
            self._status_row(follow_up_id)
            self.database.execute(
                "UPDATE follow_ups SET status = 'delivered' WHERE id = ? AND status = 'claimed'",
                (follow_up_id,),
            )

    def fail(self, follow_up_id: str, *, retry_at: datetime | None) -> None:
        """Retry at ``retry_at``, or give up (``FAILED``, kept visible) when ``None``."""
        with self.database.transaction():
            self._status_row(follow_up_id)
            if retry_at is None:
                self.database.execute(
                    "UPDATE follow_ups SET status = 'failed' WHERE id = ? AND status = 'claimed'",
                    (follow_up_id,),
                )
            else:
                self.database.execute(
                    "UPDATE follow_ups SET status = 'pending', ready_at = ? "
                    "WHERE id = ? AND status = 'claimed'",
                    (utc_text(retry_at), follow_up_id),
                )

    def status(self, follow_up_id: str) -> FollowUpStatus:
        """Where the follow-up stands."""
        return FollowUpStatus(self._status_row(follow_up_id))

    def pending(self) -> list[FollowUp]:
        """Follow-ups not yet delivered, cancelled or failed, soonest due first."""
        rows = self.database.query(
            "SELECT id, data, attempts FROM follow_ups WHERE status IN ('pending', 'claimed')"
        )
        follow_ups = [self._row_to_follow_up(i, data, attempts) for i, data, attempts in rows]
        return sorted(follow_ups, key=lambda f: f.due_at)


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
        return self.database.transaction()

    def close(self) -> None:
        """Close the connection."""
        self.database.close()
