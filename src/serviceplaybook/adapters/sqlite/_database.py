"""The SQLite file: its connection (one per process, shared by threads, opened again after
``fork()``), the pragmas that make it durable, and its schema (created, or migrated from an
older release, on open).

Indexed times are stored as fixed-width UTC ISO strings (:func:`utc_text`), which sort as
text in time order.
"""

from __future__ import annotations

import json
import os
import sqlite3
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from serviceplaybook._errors import PlaybookError, SchemaVersionError, StorageError, ValidationError
from serviceplaybook._records.validate import require_aware
from serviceplaybook._serialization import from_dict
from serviceplaybook.adapters.sqlite._transactions import TransactionManager

DATABASE_SCHEMA_VERSION = 3
"""The version of the database schema (its tables and indexes) this release writes; stored
in the file's ``serviceplaybook_meta`` table under the key ``schema_version``."""

T = TypeVar("T")


def _query_columns_of_older_rows(connection: sqlite3.Connection) -> None:
    """Fill the query columns of conversations written before version 2 from their rows
    (the SLA due time stays empty: the desk sets it at the conversation's next event)."""
    heads = connection.execute("SELECT id, data FROM conversations").fetchall()
    for conversation_id, head in heads:
        data = json.loads(head)
        last = connection.execute(
            "SELECT data FROM conversation_items WHERE conversation_id = ? AND field = "
            "'messages' ORDER BY n DESC LIMIT 1",
            (conversation_id,),
        ).fetchone()
        author = json.loads(last[0])["author"] if last else None
        escalations = data.get("escalations") or []
        connection.execute(
            "UPDATE conversations SET agent_id = ?, agent_role = ?, waiting_on = ?, "
            "escalated_to = ?, opened_at = ? WHERE id = ?",
            (
                data["agent"]["id"],
                data["agent"]["role"],
                "customer" if author not in (None, "customer") else "agent",
                escalations[-1]["to"] if escalations else None,
                utc_text(datetime.fromisoformat(data["opened_at"])),
                conversation_id,
            ),
        )


Migration = str | Callable[[sqlite3.Connection], None]

# Each entry migrates a file from version N-1 to N; a new release appends, never edits.
_MIGRATIONS: tuple[tuple[Migration, ...], ...] = (
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
    # 2: conversation queries (queues, inboxes, the SLA checker's work list)
    (
        "ALTER TABLE conversations ADD COLUMN agent_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE conversations ADD COLUMN agent_role TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE conversations ADD COLUMN waiting_on TEXT NOT NULL DEFAULT 'agent'",
        "ALTER TABLE conversations ADD COLUMN escalated_to TEXT",
        "ALTER TABLE conversations ADD COLUMN opened_at TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE conversations ADD COLUMN sla_due_at TEXT",
        _query_columns_of_older_rows,
        # every query lists in (opened_at, id) order: each index ends with it
        "CREATE INDEX conversations_by_opening ON conversations (opened_at, id)",
        "CREATE INDEX conversations_by_stage ON conversations (stage, opened_at, id)",
        "CREATE INDEX conversations_by_customer ON conversations (customer_id, opened_at, id)",
        "CREATE INDEX conversations_by_agent ON conversations (agent_id, opened_at, id)",
        "CREATE INDEX conversations_sla_due ON conversations (sla_due_at) "
        "WHERE sla_due_at IS NOT NULL",
    ),
    # 3: the follow-up's drafted text (empty for follow-ups planned before it existed)
    ("ALTER TABLE follow_ups ADD COLUMN text TEXT NOT NULL DEFAULT ''",),
)

_TABLES = ("conversations", "conversation_items", "journal", "grants", "follow_ups")


def utc_text(value: datetime) -> str:
    """A fixed-width UTC ISO string: sorts as text in time order."""
    if value.tzinfo is not UTC:  # the desk's own times are UTC already: skip the checks
        value = require_aware(value, "a stored time").astimezone(UTC)
    # isoformat is twice as fast as strftime and zero-pads the year (fixed width)
    return value.isoformat(timespec="microseconds")


def from_utc_text(value: str) -> datetime:
    """The time :func:`utc_text` wrote."""
    return datetime.fromisoformat(value)


class SQLiteDatabase(TransactionManager):
    """One SQLite file: its connection (one per process, shared by threads), its schema and
    its transactions (see :class:`TransactionManager`).

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
        super().__init__()
        self.path = Path(path)
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout
        self._pid = os.getpid()
        self._connection: sqlite3.Connection | None = None
        self._migrate()
        _OPEN_DATABASES.add(self)

    # -- connection -----------------------------------------------------------------------

    def _current(self) -> sqlite3.Connection:
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
        self._forget_transactions()
        if self._connection is not None:
            _INHERITED.append(self._connection)
        self._connection = None
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

    def compact(self) -> None:
        """``VACUUM`` then ``wal_checkpoint(TRUNCATE)``: no free page and no old log frame
        keeps deleted content."""
        with self._lock:
            if self._depth:
                raise StorageError(
                    self.path,
                    "cannot be compacted inside a unit of work; compact after it commits",
                )
            connection = self.connection()
            try:
                connection.execute("VACUUM")
                busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.DatabaseError as error:
                raise self.error(error, "compacting") from None
            if busy:
                raise StorageError(
                    self.path,
                    "was compacted but its write-ahead log is still held by another "
                    "connection (a reader in another process); compact again once it is done",
                )

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
                if found > DATABASE_SCHEMA_VERSION:
                    raise SchemaVersionError(
                        f"{self.path}: written by a newer serviceplaybook (database schema "
                        f"version {found}, this release knows up to {DATABASE_SCHEMA_VERSION}); "
                        f"it was not changed; upgrade serviceplaybook to open it"
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
                for version in range(found + 1, DATABASE_SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[version - 1]:
                        if isinstance(statement, str):
                            connection.execute(statement)
                        else:
                            statement(connection)
                connection.execute(
                    "INSERT INTO serviceplaybook_meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(DATABASE_SCHEMA_VERSION),),
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
