"""SQLite: the embedded default. One file holds conversations, the journal, compensation
grants and follow-ups, written together by one transaction per unit of work.

Durability settings: WAL, ``synchronous=FULL`` (``NORMAL`` only when asked for: it may lose
the last transactions on power loss, never corrupt the file), a busy timeout, and writers
that start with ``BEGIN IMMEDIATE`` so that a read-then-write transaction waits for the write
lock instead of failing with "database is locked". A process shares one connection between
its threads and opens a new one after ``fork()``. Only JSON is stored (never pickle); amounts
are strings; indexed times are UTC ISO strings; records come back timezone-aware.

The package's modules, each private:

- ``_transactions``: the transaction manager (``BEGIN IMMEDIATE``, lazy savepoints, the
  stores' scratch state of the open transaction, the hooks around its commit);
- ``_database``: the file (connection, pragmas, fork handling, schema and migrations);
- ``_conversations``, ``_journal``, ``_ledger``, ``_scheduler``: one store per table family;
- ``_storage``: :class:`SQLiteStorage`, the four stores on one file.
"""

from __future__ import annotations

from serviceplaybook.adapters.sqlite._scheduler import SQLiteScheduler
from serviceplaybook.adapters.sqlite._storage import SQLiteStorage

__all__ = ["SQLiteScheduler", "SQLiteStorage"]
