"""The transactions of one SQLite file: ``BEGIN IMMEDIATE`` for the outermost block,
savepoints for nested ones (taken lazily, when a statement first runs inside), the stores'
state of the open transaction (scratch) and the hooks run before and after its commit or on
its rollback.

:class:`TransactionManager` holds that state under one lock; the database
(:class:`~serviceplaybook.adapters.sqlite._database.SQLiteDatabase`) extends it with the
connection it runs the statements on.
"""

from __future__ import annotations

import abc
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar, cast

from serviceplaybook._errors import StorageError

T = TypeVar("T")


class TransactionManager(abc.ABC):
    """The transaction state of one file in one process, shared by its threads under
    :attr:`lock`. A subclass provides the connection (:meth:`_current`) and runs the
    transaction's own statements (:meth:`_run`)."""

    path: Path
    """The database file, named by the errors."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._pending: list[int] = []  # nested blocks whose savepoint is not taken yet
        self._scratch: dict[object, Any] = {}  # the stores' state of the open transaction
        self._before_commit: dict[object, Callable[[], None]] = {}
        self._on_commit: list[Callable[[], None]] = []
        self._on_rollback: list[Callable[[], None]] = []

    def _forget_transactions(self) -> None:
        """Start afresh (in a child after ``fork()``: whatever the parent held, its lock and
        its open transaction among them, belongs to the parent)."""
        self._lock = threading.RLock()
        self._depth = 0
        self._pending = []
        self._scratch = {}
        self._before_commit = {}
        self._on_commit = []
        self._on_rollback = []

    @abc.abstractmethod
    def _current(self) -> sqlite3.Connection:
        """This process's connection, as it is (no pending savepoint opened)."""

    @abc.abstractmethod
    def _run(self, connection: sqlite3.Connection, sql: str) -> None:
        """Run one statement of the transaction's own (BEGIN, SAVEPOINT, COMMIT...)."""

    def connection(self) -> sqlite3.Connection:
        """This process's connection, opened on first use and again after ``fork()``, ready
        for a statement: the savepoints of the enclosing blocks are open."""
        with self._lock:
            connection = self._current()
            if self._pending:
                self._open_pending(connection)
            return connection

    def _open_pending(self, connection: sqlite3.Connection) -> None:
        pending = self._pending
        while pending:
            self._run(connection, f"SAVEPOINT sp{pending[0]}")
            del pending[0]

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


class _Transaction:
    """One (possibly nested) block of :meth:`TransactionManager.transaction`; it holds the
    database's lock from enter to exit. A class, not a generator: it runs on every call."""

    __slots__ = ("_database", "_depth", "_lazy", "_mark", "_undo_mark")

    def __init__(self, database: TransactionManager, *, lazy: bool) -> None:
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

    def _commit(self, database: TransactionManager) -> None:
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

    def _roll_back(self, database: TransactionManager) -> None:
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
    """:meth:`TransactionManager.writing` and :meth:`~TransactionManager.joining`: the open
    transaction (its connection, when ``connect``), else a new transaction."""

    __slots__ = ("_connect", "_database", "_transaction")

    def __init__(self, database: TransactionManager, *, connect: bool) -> None:
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
    """:meth:`TransactionManager.reading`: the connection, under the lock."""

    __slots__ = ("_database",)

    def __init__(self, database: TransactionManager) -> None:
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
