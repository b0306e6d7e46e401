"""The storage: conversations, journal, ledger and follow-ups in one PostgreSQL database."""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self

from serviceplaybook.adapters.postgres._conversations import PostgresConversationStore
from serviceplaybook.adapters.postgres._database import PostgresDatabase
from serviceplaybook.adapters.postgres._journal import PostgresJournal
from serviceplaybook.adapters.postgres._ledger import PostgresLedger
from serviceplaybook.adapters.postgres._scheduler import PostgresScheduler


class PostgresStorage:
    """Conversations, journal, ledger and follow-ups in one PostgreSQL database, for several
    processes and machines; ``atomic()`` is one transaction (savepoints when nested).

    Args:
        dsn: a libpq connection string or URI (``postgresql://user@host/dbname``).
        min_size: connections the process's pool keeps open.
        max_size: connections the pool opens at most (one per thread in a desk call).
        timeout: seconds to wait for a connection before a call fails.
        prepare_threshold: psycopg's (``None`` behind a transaction-pooling PgBouncer older
            than 1.21).
        migrate: create or migrate the schema on open (``False``: the team runs the SQL of
            ``serviceplaybook schema --postgres`` itself).
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
        self.database = PostgresDatabase(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            prepare_threshold=prepare_threshold,
            migrate=migrate,
        )
        self.conversations = PostgresConversationStore(self.database)
        self.journal = PostgresJournal(self.database)
        self.ledger = PostgresLedger(self.database)
        self.follow_ups = PostgresScheduler(self.database)

    def atomic(self) -> AbstractContextManager[Any]:
        """One transaction: everything inside commits together, or nothing does."""
        return self.database.transaction()

    def close(self) -> None:
        """Close this process's connection pool; calling it again does nothing, and a later
        use opens a new one."""
        self.database.close()

    def compact(self) -> None:
        """``VACUUM`` the tables, so that the row versions an erasure (or any earlier save)
        left behind are removed from them. Copies outside the tables are beyond the
        library's reach: the server's write-ahead log until it is recycled, its archives,
        replicas and backups.

        Raises:
            StorageError: inside a unit of work (``VACUUM`` cannot run in a transaction).
        """
        self.database.compact()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
