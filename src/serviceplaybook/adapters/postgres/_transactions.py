"""The transactions of one PostgreSQL database, per thread: each thread's outermost block
takes a connection from the pool and returns it at the end; nested blocks are savepoints.

``BEGIN`` and the savepoints are taken lazily, sent with the first statement that runs inside
them, so a block that runs no statement costs no round trip. The first statement of a
transaction that finds its pooled connection broken (the server restarted, the connection was
terminated) is retried on the next pooled connection (the pool's size at most): nothing of
the transaction reached the server yet, so the retry cannot apply anything twice.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar, cast

import psycopg

from serviceplaybook._errors import StorageError

T = TypeVar("T")

Connection = psycopg.Connection[Any]


class _Thread(threading.local):
    """One thread's open transaction."""

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.depth = 0
        self.begun = False  # BEGIN was sent
        self.pending: list[int] = []  # nested blocks whose savepoint is not taken yet
        self.scratch: dict[object, Any] = {}
        self.on_commit: list[Callable[[], None]] = []
        self.on_rollback: list[Callable[[], None]] = []


class TransactionManager(abc.ABC):
    """Per-thread transactions on pooled connections (``autocommit`` connections: a read
    outside a transaction is one round trip; a transaction begins with an explicit
    ``BEGIN``). A subclass provides the pool (:meth:`_take`, :meth:`_give_back`) and names
    the database in errors (:meth:`error`)."""

    def __init__(self) -> None:
        self._thread = _Thread()

    def _forget_transactions(self) -> None:
        """Start afresh (in a child after ``fork()``: the parent's transactions are its own)."""
        self._thread = _Thread()

    @abc.abstractmethod
    def _take(self) -> Connection:
        """A connection from the pool."""

    @abc.abstractmethod
    def _give_back(self, connection: Connection) -> None:
        """Return ``connection`` to the pool (a broken one is discarded there)."""

    @abc.abstractmethod
    def error(self, error: psycopg.Error, where: str = "") -> StorageError:
        """A :class:`StorageError` naming the database for a driver error."""

    # -- statements -------------------------------------------------------------------------

    def run(self, sql: str, parameters: Any = None) -> psycopg.Cursor[Any]:
        """Run one statement inside the open transaction (its ``BEGIN`` and savepoints sent
        first if still pending); outside one, as a transaction of its own."""
        state = self._thread
        if not state.depth:
            with self.transaction():
                return self.run(sql, parameters)
        connection = self._ready(state)
        try:
            return connection.execute(sql, parameters)
        except psycopg.Error as error:
            raise self.error(error) from error

    def query(self, sql: str, parameters: Any = None) -> list[tuple[Any, ...]]:
        """Rows of one read: in the open transaction, else on a pooled connection in
        autocommit (retried on the next pooled connection if one was broken: a read
        changes nothing)."""
        state = self._thread
        if state.depth:
            return self.run(sql, parameters).fetchall()
        attempts = self._retries() + 1
        for attempt in range(1, attempts + 1):
            connection = self._take()
            try:
                return connection.execute(sql, parameters).fetchall()
            except psycopg.OperationalError as error:
                if attempt == attempts or not connection.closed:
                    raise self.error(error) from error
            except psycopg.Error as error:
                raise self.error(error) from error
            finally:
                self._give_back(connection)
        raise AssertionError("unreachable")  # pragma: no cover

    def _ready(self, state: _Thread) -> Connection:
        """The transaction's connection with ``BEGIN`` and the pending savepoints sent."""
        connection = state.connection
        assert connection is not None
        if not state.begun:
            connection = self._begin(state, connection)
        if state.pending:
            try:
                while state.pending:
                    connection.execute(f"SAVEPOINT sp{state.pending[0]}")
                    del state.pending[0]
            except psycopg.Error as error:
                raise self.error(error) from error
        return connection

    def _begin(self, state: _Thread, connection: Connection) -> Connection:
        # Pooled connections that died while idle (the server restarted, an administrator
        # terminated them) fail here, before anything of the transaction reached the
        # server: each is discarded and the next one tried, the pool's size at most.
        for _ in range(self._retries()):
            try:
                connection.execute("BEGIN")
            except psycopg.OperationalError as error:
                if not connection.closed:
                    raise self.error(error) from error
                self._give_back(connection)
                state.connection = None
                connection = self._take()
                state.connection = connection
            except psycopg.Error as error:
                raise self.error(error) from error
            else:
                state.begun = True
                return connection
        try:
            connection.execute("BEGIN")
        except psycopg.Error as error:
            raise self.error(error) from error
        state.begun = True
        return connection

    @abc.abstractmethod
    def _retries(self) -> int:
        """How many broken pooled connections a transaction may discard before it fails."""

    # -- blocks -----------------------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[None]:
        """A transaction; nested blocks become savepoints, so an exception inside one undoes
        only that block."""
        return self._block()

    @contextmanager
    def _block(self) -> Iterator[None]:
        state = self._thread
        depth = state.depth
        if depth == 0:
            state.connection = self._take()
            state.begun = False
        else:
            state.pending.append(depth)
        state.depth = depth + 1
        commit_mark = len(state.on_commit)
        undo_mark = len(state.on_rollback)
        try:
            yield
        except BaseException:
            self._roll_back(state, depth, commit_mark, undo_mark)
            raise
        self._commit(state, depth, commit_mark, undo_mark)

    def _commit(self, state: _Thread, depth: int, commit_mark: int, undo_mark: int) -> None:
        if depth:
            state.depth = depth
            if state.pending and state.pending[-1] == depth:
                state.pending.pop()  # no statement ran inside: no savepoint to release
                return
            try:
                self._connection(state).execute(f"RELEASE sp{depth}")
            except psycopg.Error as error:
                self._roll_back(state, depth, commit_mark, undo_mark)
                raise self.error(error) from error
            return
        connection = self._connection(state)
        try:
            if state.begun:
                connection.execute("COMMIT")
        except psycopg.Error as error:
            # The outcome of a COMMIT whose connection broke is unknown: say so.
            self._roll_back(state, depth, commit_mark, undo_mark)
            raise self.error(error, "the commit did not complete") from error
        callbacks = state.on_commit
        self._end(state)
        for callback in callbacks:
            callback()

    def _roll_back(self, state: _Thread, depth: int, commit_mark: int, undo_mark: int) -> None:
        state.depth = depth
        del state.on_commit[commit_mark:]
        undone = state.on_rollback[undo_mark:]
        del state.on_rollback[undo_mark:]
        try:
            for callback in reversed(undone):
                callback()
        finally:
            connection = state.connection
            if depth == 0:
                try:
                    if state.begun and connection is not None and not connection.closed:
                        connection.execute("ROLLBACK")
                except psycopg.Error:
                    pass  # a broken connection: the server rolls back; the pool discards it
                finally:
                    self._end(state)
            elif state.pending and state.pending[-1] == depth:
                state.pending.pop()
            elif connection is not None and not connection.closed:
                try:
                    connection.execute(f"ROLLBACK TO sp{depth}")
                    connection.execute(f"RELEASE sp{depth}")
                except psycopg.Error as error:
                    raise self.error(error) from error

    def _end(self, state: _Thread) -> None:
        connection = state.connection
        state.connection = None
        state.depth = 0
        state.begun = False
        state.pending = []
        state.scratch = {}
        state.on_commit = []
        state.on_rollback = []
        if connection is not None:
            self._give_back(connection)

    @staticmethod
    def _connection(state: _Thread) -> Connection:
        assert state.connection is not None
        return state.connection

    # -- the stores' hooks ------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        """True inside a transaction opened by this thread."""
        return self._thread.depth > 0

    def scratch(self, owner: object, make: Callable[[], T]) -> T:
        """``owner``'s state for this thread's open transaction, made by ``make`` at first
        use, forgotten when the transaction ends."""
        state = self._thread
        if not state.depth:
            raise StorageError(self.describe(), "scratch() needs an open transaction")
        found = state.scratch.get(owner)
        if found is None:
            found = state.scratch[owner] = make()
        return cast(T, found)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the open transaction commits (dropped if it rolls back)."""
        state = self._thread
        if state.depth:
            state.on_commit.append(callback)
        else:
            callback()

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` if the open block (transaction or savepoint) rolls back."""
        state = self._thread
        if state.depth:
            state.on_rollback.append(callback)

    @abc.abstractmethod
    def describe(self) -> str:
        """The database as errors name it (never with its password)."""
