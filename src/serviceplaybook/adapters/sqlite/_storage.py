"""The storage: conversations, journal, ledger and follow-ups in one SQLite file."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import Any, Literal

from serviceplaybook.adapters.sqlite._conversations import SQLiteConversationStore
from serviceplaybook.adapters.sqlite._database import SQLiteDatabase
from serviceplaybook.adapters.sqlite._journal import SQLiteJournal
from serviceplaybook.adapters.sqlite._ledger import SQLiteLedger
from serviceplaybook.adapters.sqlite._scheduler import SQLiteScheduler


class SQLiteStorage:
    """Conversations, journal, ledger and follow-ups in one SQLite file; ``atomic()`` is one
    transaction (savepoints when nested).

    Args:
        path: the database file (created if missing).
        synchronous: ``"FULL"`` (the default: a committed unit of work survives power loss)
            or ``"NORMAL"`` (faster; the last commits may be lost on power loss, the file is
            never corrupted).
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
        """Close this process's connection; calling it again does nothing, and a later use
        opens a new one."""
        self.database.close()

    def compact(self) -> None:
        """Rebuild the file (``VACUUM``) and empty the write-ahead log
        (``wal_checkpoint(TRUNCATE)``), so that nothing deleted or overwritten, by an erasure
        or by any earlier save, can be read from the free pages of the file or from old
        frames of its log.

        Raises:
            StorageError: inside a unit of work, or another connection kept the log busy.
        """
        self.database.compact()

    def __enter__(self) -> SQLiteStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
