"""The transactions of one PostgreSQL database, per thread: each thread's outermost block
takes a connection from the pool and returns it at the end; nested blocks are savepoints.

Round trips and statements are what a desk call costs on PostgreSQL (each one costs the
client and the server CPU, and under load the CPU is the limit), so a transaction sends as
few as it can, with the same guarantees:

- Reads before the transaction's first write run without ``BEGIN`` (the connections are in
  autocommit). Under ``READ COMMITTED`` every statement takes its own snapshot, inside a
  transaction or not, so such a read sees exactly what it would have seen inside one.
- ``BEGIN`` and the pending savepoints are sent with the first write (or lock), in one
  pipeline: a block that writes nothing costs no round trip of its own.
- Writes whose result nobody waits for (the journal's entries, a conversation's new items)
  and checked writes (a conversation's head, whose version check fails the transaction
  rather than returning a count) are deferred to the commit. There inserts and updates
  become one statement of data-modifying ``WITH`` queries (:func:`checked_sql`); in a
  transaction that wrote nothing before, that statement alone is the transaction (one
  statement in autocommit is atomic), so it needs no ``BEGIN`` nor ``COMMIT``.

So a desk call that reads its conversation and saves it is two round trips and two
statements: the read, then the conversation's checked ``UPDATE`` with its new items and
journal entries.

A transaction that finds its pooled connection broken before anything of it could be
applied (the server restarted, the connection was terminated) moves to the next pooled
connection (the pool's size at most). A statement that may have committed is never sent
twice: a commit cut off raises :class:`StorageError` saying its outcome is unknown. That is
why the one-statement commit is used only once the transaction's connection has answered
(its read): a connection that broke while idle in the pool is found by that read.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NamedTuple, TypeVar, cast

try:
    import psycopg
except ImportError as missing:  # pragma: no cover - depends on the installation
    raise ImportError(
        "serviceplaybook's PostgreSQL adapter needs psycopg 3 and psycopg_pool: "
        "pip install 'serviceplaybook[postgres]'"
    ) from missing

from serviceplaybook._errors import StorageError, ValidationError

T = TypeVar("T")

Connection = psycopg.Connection[Any]


class Statement(NamedTuple):
    """One statement and its parameters; a ``checked`` one (an ``INSERT`` or ``UPDATE``)
    must change a row, or the transaction fails (see :func:`checked_sql`)."""

    sql: str
    parameters: Any = None
    checked: bool = False


def checked_sql(statements: Sequence[Statement]) -> Statement:
    """One statement that runs ``statements`` (``INSERT`` and ``UPDATE`` statements on
    distinct rows) as data-modifying ``WITH`` queries, and fails with ``division_by_zero``
    when a checked one changed no row: a single statement is a transaction of its own, so a
    stale check leaves nothing of the others either. (Plain SQL has no ``RAISE``; the
    division is the assertion, and :meth:`TransactionManager.before_commit`'s ``refused``
    callbacks say what it meant.)"""
    parts: list[str] = []
    checks: list[str] = []
    parameters: list[Any] = []
    for number, statement in enumerate(statements):
        parameters.extend(statement.parameters or ())
        if statement.checked:
            parts.append(f"w{number} AS ({statement.sql} RETURNING 1)")
            checks.append(f"(SELECT count(*) FROM w{number})")
        else:
            parts.append(f"w{number} AS ({statement.sql})")
    return Statement(
        f"WITH {', '.join(parts)} SELECT 1 / ({' * '.join(checks) or '1'})", parameters
    )


def _combinable(statements: Sequence[Statement]) -> bool:
    """Whether :func:`checked_sql` may run ``statements`` as one: inserts and updates only
    (each sees the statement's one snapshot: a delete then an insert of the same key would
    collide), within PostgreSQL's 65,535 parameters."""
    if not statements or sum(len(s.parameters or ()) for s in statements) > 65_535:
        return False
    return all(s.sql.startswith(("INSERT INTO ", "UPDATE ")) for s in statements)


def insert_rows(
    table: str, columns: str, row: str, rows: Sequence[Sequence[Any]]
) -> list[Statement]:
    """``INSERT`` statements of ``rows`` as multi-row ``VALUES`` lists (``row`` is one row's
    placeholders, casts included), 500 rows each at most (a statement takes 65,535
    parameters): scalar parameters cost the client far less to send than arrays, and the few
    distinct row counts keep the statements few and prepared."""
    statements: list[Statement] = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        values = ", ".join([row] * len(chunk))
        statements.append(
            Statement(
                f"INSERT INTO {table} ({columns}) VALUES {values}",
                [value for each in chunk for value in each],
            )
        )
    return statements


_ROWS_PER_INSERT = 500
_BEGIN = Statement("BEGIN")
_COMMIT = Statement("COMMIT")


class _Thread(threading.local):
    """One thread's open transaction."""

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.depth = 0
        self.begun = False  # BEGIN was sent
        self.used = False  # the connection answered a statement of this transaction
        self.pending: list[int] = []  # nested blocks whose savepoint is not taken yet
        self.scratch: dict[object, Any] = {}
        self.before_commit: dict[object, Callable[[], list[Statement]]] = {}
        self.refused: dict[object, Callable[[psycopg.Error], BaseException | None]] = {}
        self.on_commit: list[Callable[[], None]] = []
        self.on_rollback: list[Callable[[], None]] = []


class TransactionManager(abc.ABC):
    """Per-thread transactions on pooled autocommit connections. A subclass provides the
    pool (:meth:`_take`, :meth:`_give_back`, :meth:`_retries`) and names the database in
    errors (:meth:`error`, :meth:`describe`)."""

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
    def _retries(self) -> int:
        """How many broken pooled connections a call may discard before it fails."""

    @abc.abstractmethod
    def error(self, error: psycopg.Error, where: str = "") -> StorageError:
        """A :class:`StorageError` naming the database for a driver error."""

    def _refusal(self, error: psycopg.Error) -> StorageError | ValidationError:
        """The error to raise for a driver error: text PostgreSQL cannot hold is the
        caller's value (a ``ValidationError``), anything else a :class:`StorageError`."""
        if isinstance(error, psycopg.DataError) and "NUL" in str(error):
            return ValidationError(
                "PostgreSQL text cannot hold a NUL character (\\x00); remove it from the ids "
                "and texts given to serviceplaybook"
            )
        return self.error(error)

    @abc.abstractmethod
    def describe(self) -> str:
        """The database as errors name it (never with its password)."""

    # -- statements -------------------------------------------------------------------------

    def query(self, sql: str, parameters: Any = None) -> list[tuple[Any, ...]]:
        """Rows of one read (no lock taken): in the open transaction once it has written,
        else on its connection, or a pooled one, in autocommit."""
        state = self._thread
        if state.depth and state.begun:
            connection = self._connection(state)
            try:
                return connection.execute(sql, parameters).fetchall()
            except psycopg.Error as error:
                raise self._refusal(error) from error
        attempts = self._retries() + 1
        for attempt in range(1, attempts + 1):
            held = state.connection if state.depth else None
            connection = held if held is not None else self._take()
            try:
                rows = connection.execute(sql, parameters).fetchall()
                state.used = state.used or held is not None
                return rows
            except psycopg.OperationalError as error:
                if attempt == attempts or not connection.closed:
                    raise self._refusal(error) from error
                self._discard(state, connection)  # a read changes nothing: try the next
            except psycopg.Error as error:
                raise self._refusal(error) from error
            finally:
                if not state.depth:
                    self._give_back(connection)
        raise AssertionError("unreachable")  # pragma: no cover

    def run(self, sql: str, parameters: Any = None, *, binary: bool = False) -> psycopg.Cursor[Any]:
        """Run one statement that writes or locks, inside the open transaction (its
        ``BEGIN`` and pending savepoints sent first, in the same round trip); outside one,
        as a transaction of its own. Its rows are read from the cursor returned (in binary
        format with ``binary``: quicker to decode for many rows)."""
        state = self._thread
        if not state.depth:
            with self.transaction():
                return self.run(sql, parameters, binary=binary)
        prefix: list[Statement] = []
        if not state.begun:
            prefix.append(_BEGIN)
        prefix.extend(Statement(f"SAVEPOINT sp{depth}") for depth in state.pending)
        if not prefix:
            try:
                return self._connection(state).execute(sql, parameters, binary=binary)
            except psycopg.Error as error:
                raise self._refusal(error) from error
        # BEGIN without a COMMIT: if the connection turns out broken, nothing was applied
        cursors = self._send(
            state, [*prefix, Statement(sql, parameters)], retry=not state.begun, binary=binary
        )
        state.pending = []
        return cursors[-1]

    def _send(
        self,
        state: _Thread,
        statements: Sequence[Statement],
        *,
        retry: bool = False,
        binary: bool = False,
    ) -> list[psycopg.Cursor[Any]]:
        """Send ``statements`` in one pipeline; the first is ``BEGIN`` when the transaction
        has not begun. With ``retry`` (nothing sent can be applied without a later
        ``COMMIT``), a broken connection is swapped for the next pooled one."""
        beginning = not state.begun
        attempts = self._retries() + 1 if retry else 1
        for attempt in range(1, attempts + 1):
            connection = self._connection(state)
            try:
                with connection.pipeline():
                    cursors = [
                        connection.execute(sql, values, binary=binary)
                        for sql, values, _ in statements
                    ]
            except psycopg.OperationalError as error:
                if attempt < attempts and connection.closed:
                    self._discard(state, connection)
                    continue
                state.begun = state.begun or beginning  # the server may hold it: roll back
                raise self._refusal(error) from error
            except psycopg.Error as error:
                state.begun = state.begun or beginning
                raise self._refusal(error) from error
            state.begun = True
            state.used = True
            return cursors
        raise AssertionError("unreachable")  # pragma: no cover

    def _finish(self, state: _Thread, deferred: list[Statement]) -> None:
        """Send the deferred statements and the ``COMMIT`` in as few round trips and
        statements as the guarantees allow: inserts and checked updates become one statement
        (:func:`checked_sql`); a transaction that has sent nothing else then needs no
        ``BEGIN`` nor ``COMMIT`` (one statement in autocommit is a transaction), provided
        its connection already answered in it: a connection that broke while idle in the
        pool is found by the transaction's read, and a statement that may have committed is
        never sent twice."""
        if not deferred:
            if state.begun:
                self._send(state, [_COMMIT])
            return
        if _combinable(deferred):
            writes = [checked_sql(deferred)]
        else:
            writes = [checked_sql([s]) if s.checked else s for s in deferred]
        if state.begun:
            self._send(state, [*writes, _COMMIT])
        elif not state.used:
            # nothing of it reached the server yet: begin where a broken connection can be
            # swapped, commit apart
            self._send(state, [_BEGIN, *writes], retry=True)
            self._send(state, [_COMMIT])
        elif len(writes) == 1:
            try:
                self._connection(state).execute(writes[0].sql, writes[0].parameters)
            except psycopg.Error as error:
                raise self._refusal(error) from error
        else:
            self._send(state, [_BEGIN, *writes, _COMMIT])

    def _discard(self, state: _Thread, connection: Connection) -> None:
        """Give a broken connection back (the pool drops it); a transaction takes the next."""
        if state.depth:
            self._give_back(connection)
            state.connection = self._take()

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
                state.pending.pop()  # nothing was written inside: no savepoint to release
                return
            try:
                self._connection(state).execute(f"RELEASE sp{depth}")
            except psycopg.Error as error:
                self._roll_back(state, depth, commit_mark, undo_mark)
                raise self._refusal(error) from error
            return
        try:
            deferred: list[Statement] = []
            for flush in state.before_commit.values():
                deferred.extend(flush())
            self._finish(state, deferred)
        except BaseException as error:
            refusals = list(state.refused.values())
            self._roll_back(state, depth, commit_mark, undo_mark)
            cause = error.__cause__
            if (
                isinstance(error, StorageError)
                and isinstance(cause, psycopg.Error)
                and not isinstance(cause, psycopg.OperationalError)
            ):
                for refused in refusals:  # a store names what a failed check meant
                    better = refused(cause)
                    if better is not None:
                        raise better from cause
            if isinstance(error, StorageError) and isinstance(
                error.__cause__, psycopg.OperationalError
            ):
                raise StorageError(
                    error.path,
                    f"{error.detail} (the connection was lost at the commit: the unit of "
                    f"work may or may not have been stored)",
                ) from error.__cause__
            raise
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
                    raise self._refusal(error) from error

    def _end(self, state: _Thread) -> None:
        connection = state.connection
        state.connection = None
        state.depth = 0
        state.begun = False
        state.used = False
        state.pending = []
        state.scratch = {}
        state.before_commit = {}
        state.refused = {}
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

    def before_commit(
        self,
        key: object,
        flush: Callable[[], list[Statement]],
        refused: Callable[[psycopg.Error], BaseException | None] | None = None,
    ) -> None:
        """At the commit, send the statements ``flush`` returns then (once, however often it
        was registered under ``key``) in the same round trip as the ``COMMIT``; an error in
        one of them rolls the transaction back. If the commit then fails with a driver
        error, ``refused(error)`` (called after the rollback, outside the transaction) may
        return the error to raise instead (a checked statement that changed no row fails
        with ``division_by_zero``: see :func:`checked_sql`)."""
        state = self._thread
        if not state.depth:
            raise StorageError(self.describe(), "before_commit() needs an open transaction")
        state.before_commit.setdefault(key, flush)
        if refused is not None:
            state.refused.setdefault(key, refused)

    @property
    def depth(self) -> int:
        """How many blocks this thread has open: 0 outside a transaction, 1 directly in
        one, more inside savepoints."""
        return self._thread.depth

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

    @contextmanager
    def joining(self) -> Iterator[None]:
        """The open transaction, else a new one: for stores that defer their writes."""
        if self._thread.depth:
            yield
        else:
            with self.transaction():
                yield
