"""The PostgreSQL database: its connection pool (one per process, opened again after
``fork()``), and its schema (created, or migrated from an older release, on open; printed by
``serviceplaybook schema --postgres`` for teams that run their own migrations).
"""

from __future__ import annotations

import os
import weakref
from typing import Any, TypeVar

try:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as missing:  # pragma: no cover - depends on the installation
    raise ImportError(
        "serviceplaybook's PostgreSQL adapter needs psycopg 3 and psycopg_pool: "
        "pip install 'serviceplaybook[postgres]'"
    ) from missing

from serviceplaybook._errors import PlaybookError, SchemaVersionError, StorageError, ValidationError
from serviceplaybook._serialization import from_dict
from serviceplaybook.adapters.postgres._schema import (
    DATABASE_SCHEMA_VERSION,
    META,
    MIGRATION_LOCK,
    MIGRATIONS,
    TABLES,
)
from serviceplaybook.adapters.postgres._transactions import Connection, TransactionManager

T = TypeVar("T")


def describe(dsn: str) -> str:
    """The database a connection string names, without its password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "postgresql (an unreadable connection string)"
    shown = " ".join(
        f"{key}={parts[key]}" for key in ("host", "port", "dbname", "user") if parts.get(key)
    )
    return f"postgresql {shown}".strip()


def _set_utc(connection: Connection) -> None:
    # Times come back in UTC, whatever the server's or the role's TimeZone setting.
    connection.execute("SET TIME ZONE 'UTC'")


class PostgresDatabase(TransactionManager):
    """One PostgreSQL database: its pool (one per process, shared by threads), its schema and
    its transactions (see :class:`TransactionManager`).

    Args:
        dsn: a libpq connection string or URI (``postgresql://user@host/dbname``).
        min_size: connections the pool keeps open.
        max_size: connections the pool opens at most (threads beyond wait for one).
        timeout: seconds to wait for a connection from the pool before failing.
        prepare_threshold: psycopg's: statements run this often are prepared on the server;
            ``None`` never prepares (needed behind a transaction-pooling PgBouncer older
            than 1.21).
        migrate: create or migrate the schema on open; ``False`` for teams that run
            ``serviceplaybook schema --postgres`` themselves (the version is still checked).

    Raises:
        StorageError: the server cannot be reached, or the database holds serviceplaybook
            tables without a schema version.
        SchemaVersionError: the database was written by a newer release.
    """

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 30.0,
        prepare_threshold: int | None = 5,
        migrate: bool = True,
    ) -> None:
        if not isinstance(dsn, str) or not dsn:
            raise ValidationError(
                f"dsn must be a PostgreSQL connection string, e.g. "
                f"'postgresql://user@host/dbname', got {dsn!r}"
            )
        if min_size < 0 or max_size < max(min_size, 1):
            raise ValidationError(
                f"the pool needs 0 <= min_size <= max_size and max_size >= 1, got "
                f"min_size={min_size}, max_size={max_size}"
            )
        super().__init__()
        self.dsn = dsn
        self.path = describe(dsn)
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self.prepare_threshold = prepare_threshold
        self._pid = os.getpid()
        self._pool: ConnectionPool[Connection] | None = None
        if migrate:
            self._migrate()
        else:
            self._check_version()
        _OPEN_DATABASES.add(self)

    def describe(self) -> str:
        """The database as errors name it (never with its password)."""
        return self.path

    # -- pool -------------------------------------------------------------------------------

    def pool(self) -> ConnectionPool[Connection]:
        """This process's pool, opened on first use and again after ``fork()``."""
        if self._pid != os.getpid():
            self._forget_parent()
        if self._pool is None:
            pool: ConnectionPool[Connection] = ConnectionPool(
                self.dsn,
                min_size=self.min_size,
                max_size=self.max_size,
                timeout=self.timeout,
                kwargs={"autocommit": True, "prepare_threshold": self.prepare_threshold},
                configure=_set_utc,
                open=False,
                name=f"serviceplaybook-{os.getpid()}",
            )
            try:
                pool.open(wait=self.min_size > 0, timeout=self.timeout)
            except PoolTimeout:
                pool.close()
                raise StorageError(self.path, f"cannot connect within {self.timeout:g} s") from None
            self._pool = pool
        return self._pool

    def _forget_parent(self) -> None:
        # In a child after fork(): the parent's pool and its sockets are the parent's. Closing
        # them here would end the parent's sessions, so the child leaves them alone.
        self._forget_transactions()
        if self._pool is not None:
            _INHERITED.append(self._pool)
        self._pool = None
        self._pid = os.getpid()

    def _take(self) -> Connection:
        try:
            return self.pool().getconn()
        except PoolTimeout:
            raise StorageError(
                self.path,
                f"no connection within {self.timeout:g} s (the server is down or every one of "
                f"the pool's {self.max_size} connections is busy)",
            ) from None

    def _retries(self) -> int:
        return self.max_size

    def _give_back(self, connection: Connection) -> None:
        pool = self._pool
        if pool is not None and self._pid == os.getpid():
            pool.putconn(connection)

    def close(self) -> None:
        """Close this process's pool; calling it again does nothing, and a later use opens a
        new one."""
        pool = self._pool
        self._pool = None
        if pool is not None and self._pid == os.getpid():
            pool.close()

    def compact(self) -> None:
        """``VACUUM`` the schema's tables (outside any transaction)."""
        if self.in_transaction:
            raise StorageError(
                self.path, "compact() cannot run inside a unit of work (VACUUM needs its own)"
            )
        connection = self._take()
        try:
            for table in TABLES:
                connection.execute(f"VACUUM {table}")
        except psycopg.Error as error:
            raise self.error(error, "compact()") from error
        finally:
            self._give_back(connection)

    def error(self, error: psycopg.Error, where: str = "") -> StorageError:
        """A :class:`StorageError` naming the database for a driver error."""
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        detail = f"{where}: {text}" if where else text
        if isinstance(error, psycopg.errors.UniqueViolation) and "journal_pkey" in text:
            detail = f"journal entries must be appended once: {detail}"
        if isinstance(error, psycopg.errors.UndefinedTable):
            detail += " (a table is missing: the database was changed outside serviceplaybook)"
        return StorageError(self.path, detail)

    # -- schema -----------------------------------------------------------------------------

    def _found_version(self) -> int:
        rows = self.query("SELECT value FROM serviceplaybook_meta WHERE key = 'schema_version'")
        return int(rows[0][0]) if rows else 0

    def _refuse_newer(self, found: int) -> None:
        if found > DATABASE_SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.path}: written by a newer serviceplaybook (database schema version "
                f"{found}, this release knows up to {DATABASE_SCHEMA_VERSION}); it was not "
                f"changed; upgrade serviceplaybook to open it"
            )

    def _check_version(self) -> None:
        try:
            found = self._found_version()
        except StorageError as error:
            raise StorageError(
                self.path,
                f"has no serviceplaybook schema ({error.detail}); run the SQL of "
                f"'serviceplaybook schema --postgres' or open with migrate=True",
            ) from None
        self._refuse_newer(found)
        if found < DATABASE_SCHEMA_VERSION:
            raise StorageError(
                self.path,
                f"has database schema version {found}, this release needs "
                f"{DATABASE_SCHEMA_VERSION}; open with migrate=True to migrate it",
            )

    def _migrate(self) -> None:
        try:
            with self.transaction():
                # Processes starting together migrate one after the other.
                self.run("SELECT pg_advisory_xact_lock(%s, %s)", MIGRATION_LOCK)
                self.run(META)
                found = self._found_version()
                self._refuse_newer(found)
                if found == 0:
                    existing = {
                        name
                        for (name,) in self.query(
                            "SELECT tablename FROM pg_tables "
                            "WHERE schemaname = current_schema() AND tablename = ANY(%s)",
                            (list(TABLES),),
                        )
                    }
                    if existing:
                        raise StorageError(
                            self.path,
                            "has serviceplaybook tables but no schema version; it was not changed",
                        )
                for version in range(found + 1, DATABASE_SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[version - 1]:
                        self.run(statement)
                if found != DATABASE_SCHEMA_VERSION:
                    self.run(
                        "INSERT INTO serviceplaybook_meta (key, value) "
                        "VALUES ('schema_version', %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (str(DATABASE_SCHEMA_VERSION),),
                    )
        except PlaybookError:
            self.close()
            raise

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        return self._found_version()

    def decode(self, table: str, key: str, data: Any, cls: type[T]) -> T:
        """A stored JSON value as a record; a corrupt one is a :class:`StorageError`."""
        try:
            return from_dict(data, cls)
        except (ValueError, TypeError, PlaybookError) as error:
            raise StorageError(
                self.path, f"row {key!r} of table {table!r} is corrupt: {error}"
            ) from None


_INHERITED: list[ConnectionPool[Connection]] = []
_OPEN_DATABASES: weakref.WeakSet[PostgresDatabase] = weakref.WeakSet()


def _reset_in_child() -> None:
    for database in list(_OPEN_DATABASES):
        database._forget_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
