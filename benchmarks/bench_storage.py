"""Storage benchmarks: what one durable desk event costs on SQLite, against the physical floor.

Run from the repository root::

    python benchmarks/bench_storage.py            # full run, about 30 s
    python benchmarks/bench_storage.py --quick    # smaller counts, about 10 s

It prints plain tables and always exits 0; PASS/FAIL lines compare against the targets in
``benchmarks/README.md``, which also explains every figure.

Method, in short:

* Every file lives in one ``tempfile.mkdtemp()`` directory (under the default temporary
  directory), one file per case, deleted at the end.
* The floor is one bare single-row ``INSERT`` + ``COMMIT`` with the desk's settings: WAL,
  ``synchronous=FULL``, the same busy timeout, ``isolation_level=None`` and an explicit
  ``BEGIN IMMEDIATE`` ... ``COMMIT``, into a table with a TEXT payload the size of a
  conversation row.
* A desk event is the mix ``hear``, ``ask``, ``hear``, ``ask``... on a conversation opened and
  moved to ``listening`` untimed; a fresh conversation after every 10 calls, so the rows stay
  2-4 KB.
* Timings use ``time.perf_counter_ns`` around a slice of calls; a round is 4 slices of every
  case, interleaved (slice 1 of every case, then slice 2...) so that a slow patch of the disk
  or the CPU hits all cases alike; the median of 7 rounds is reported, with this thread's CPU
  time (``time.thread_time_ns``, which includes the kernel's time in ``fsync``) beside it.
* Section 3 takes one desk event apart (durable, NORMAL and inside ``desk.batch()``): the
  statements it sends (a trace callback), the time of each part (wrappers that measure
  exclusive time around the desk's and the adapter's functions, put back afterwards) and a
  cProfile listing of durable events.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from typing import Any

from serviceplaybook import Agent, Customer, Issue, ServiceDesk
from serviceplaybook.adapters.sqlite import SQLiteStorage, _conversations, _transactions
from serviceplaybook.adapters.sqlite._conversations import SQLiteConversationStore
from serviceplaybook.adapters.sqlite._database import SQLiteDatabase
from serviceplaybook.adapters.sqlite._journal import SQLiteJournal

RATIO_TARGET = 1.5  # one durable desk event / one bare INSERT + COMMIT (synchronous=FULL)
BATCH_TARGET = 10_000  # desk events per second inside desk.batch()

ROUNDS = 7
DISSECTION_PASSES = 3  # section 3: interleaved passes, summed
SLICES = 4  # each round's calls of a case run in this many interleaved slices
EVENTS_PER_CONVERSATION = 10  # a fresh conversation after this many timed calls
HEAR_TEXT = "The parcel still has not arrived"
ASK_TEXT = "When did you place the order?"
PAYLOAD_BYTES = 2_500  # the bare row's TEXT payload: a conversation row is ~1-4 KB
BUSY_TIMEOUT = 30.0  # seconds, the desk's default


# -- sizes ---------------------------------------------------------------------------------------


class Sizes:
    """Calls per slice; ``--quick`` shrinks everything but the round count."""

    def __init__(self, quick: bool) -> None:
        scale = 4 if quick else 1
        self.quick = quick
        self.rounds = ROUNDS
        self.durable = 100 // scale  # one commit (one fsync) per call
        self.fast = 500 // scale  # in memory, synchronous=NORMAL bare commits
        self.batch = 1_000 // scale  # calls inside one desk.batch()
        self.profile_events = 100 if quick else 300


# -- timing --------------------------------------------------------------------------------------

Prepare = Callable[[int], Callable[[], object]]


class Case:
    def __init__(self, name: str, per_slice: int, prepare: Prepare, *, opt_in: bool = False):
        self.name = name
        self.per_slice = per_slice
        self.prepare = prepare
        self.opt_in = opt_in
        self.samples: list[float] = []  # wall ns per call, one per round
        self.cpu_samples: list[float] = []  # CPU ns per call (this thread), one per round

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_samples)

    @property
    def per_second(self) -> float:
        return 1e9 / self.median


def run_cases(cases: Sequence[Case], rounds: int) -> None:
    """Warm every case up (one slice, untimed), then time ``rounds`` interleaved rounds."""
    for case in cases:
        case.prepare(case.per_slice)()
    for _ in range(rounds):
        wall = [0] * len(cases)
        cpu = [0] * len(cases)
        calls = [0] * len(cases)
        for _ in range(SLICES):
            for index, case in enumerate(cases):
                batch = case.prepare(case.per_slice)  # untimed
                gc.collect()
                cpu_start = time.thread_time_ns()
                start = time.perf_counter_ns()
                batch()
                wall[index] += time.perf_counter_ns() - start
                cpu[index] += time.thread_time_ns() - cpu_start
                calls[index] += case.per_slice
        for index, case in enumerate(cases):
            case.samples.append(wall[index] / calls[index])
            case.cpu_samples.append(cpu[index] / calls[index])


# -- fixtures ------------------------------------------------------------------------------------


def bare_connection(path: str, synchronous: str) -> sqlite3.Connection:
    """A connection opened exactly as ``SQLiteDatabase`` opens its own."""
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
    )
    connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
    mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    assert str(mode).lower() == "wal", mode
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, data TEXT NOT NULL)"
    )
    return connection


def payload(i: int) -> str:
    """A JSON-like TEXT of PAYLOAD_BYTES characters, different for every row."""
    head = f'{{"id":"{i:032x}","messages":['
    return (head + "x" * PAYLOAD_BYTES)[: PAYLOAD_BYTES - 2] + "]}"


def party(i: int) -> tuple[Customer, Issue, Agent]:
    return (
        Customer(id=f"customer-{i:08d}", name=f"Customer {i}"),
        Issue(category="delivery", severity="medium", summary=f"Parcel {i} has not arrived"),
        Agent(id=f"agent-{i:08d}", name="Sam"),
    )


class Conversations:
    """Hands out conversations opened and moved to listening, untimed (in one batch)."""

    def __init__(self, desk: ServiceDesk) -> None:
        self.desk = desk
        self.numbers = itertools.count()

    def fresh(self, count: int) -> list[str]:
        ids = []
        with self.desk.batch():
            for _ in range(count):
                customer, issue, agent = party(next(self.numbers))
                conversation = self.desk.open(customer=customer, issue=issue, agent=agent)
                self.desk.hear(conversation.id, HEAR_TEXT)
                ids.append(conversation.id)
        return ids


def event_mix(desk: ServiceDesk, ids: Sequence[str], n: int) -> Callable[[], None]:
    """``n`` calls: hear, ask, hear, ask... ``EVENTS_PER_CONVERSATION`` per conversation."""
    hear, ask = desk.hear, desk.ask
    per = EVENTS_PER_CONVERSATION
    # each customer message differs: the detector reads a message repeated word for word as
    # repeat contact, which would escalate the conversation
    plan = [(ids[i // per], i % 2, f"{HEAR_TEXT} ({i % per})") for i in range(n)]

    def run() -> None:
        for conversation_id, asking, said in plan:
            if asking:
                ask(conversation_id, ASK_TEXT)
            else:
                hear(conversation_id, said)

    return run


def conversations_for(n: int) -> int:
    return -(-n // EVENTS_PER_CONVERSATION)


# -- the cases -----------------------------------------------------------------------------------


class Files:
    """The temporary directory and everything opened in it, closed and deleted at the end."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="serviceplaybook-bench-")
        self.connections: list[sqlite3.Connection] = []
        self.desks: list[ServiceDesk] = []

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def bare(self, name: str, synchronous: str) -> sqlite3.Connection:
        connection = bare_connection(self.path(name), synchronous)
        self.connections.append(connection)
        return connection

    def desk(self, name: str, synchronous: Any = "FULL") -> ServiceDesk:
        desk = ServiceDesk.sqlite(
            self.path(name), synchronous=synchronous, busy_timeout=BUSY_TIMEOUT
        )
        self.desks.append(desk)
        return desk

    def cleanup(self) -> None:
        for connection in self.connections:
            connection.close()
        for desk in self.desks:
            close = getattr(desk.storage, "close", None)
            if close is not None:
                close()
        shutil.rmtree(self.directory, ignore_errors=True)


def bare_commits(connection: sqlite3.Connection) -> Prepare:
    rows = itertools.count()

    def prepare(n: int) -> Callable[[], None]:
        values = [(payload(next(rows)),) for _ in range(n)]
        execute = connection.execute

        def run() -> None:
            for value in values:
                execute("BEGIN IMMEDIATE")
                execute("INSERT INTO floor (data) VALUES (?)", value)
                execute("COMMIT")

        return run

    return prepare


def desk_events(desk: ServiceDesk) -> Prepare:
    conversations = Conversations(desk)

    def prepare(n: int) -> Callable[[], None]:
        return event_mix(desk, conversations.fresh(conversations_for(n)), n)

    return prepare


def fresh_memory_desk_events(n: int) -> Callable[[], None]:
    """A new in-memory desk for every slice, so that the conversations of earlier slices do
    not stay on the heap (the garbage collector would walk them in every other case)."""
    desk = ServiceDesk.in_memory()
    return event_mix(desk, Conversations(desk).fresh(conversations_for(n)), n)


def batched_desk_events(desk: ServiceDesk) -> Prepare:
    conversations = Conversations(desk)

    def prepare(n: int) -> Callable[[], None]:
        run = event_mix(desk, conversations.fresh(conversations_for(n)), n)

        def batched() -> None:
            with desk.batch():
                run()

        return batched

    return prepare


def desk_statements(database: SQLiteDatabase) -> Prepare:
    """The nine statements of one durable desk event, with its values encoded beforehand:
    what SQLite and the disk cost for the desk's writes, with no Python work around them."""
    connection = database.connection()
    numbers = itertools.count()
    journal_data = '{"text":"The parcel still has not arrived","signals":{}}'

    def prepare(n: int) -> Callable[[], None]:
        ids = []
        with database.transaction():
            for _ in range(conversations_for(n)):
                i = next(numbers)
                ids.append(f"{i:032x}")
                connection.execute(
                    "INSERT INTO conversations (id, version, customer_id, stage, updated_at, data)"
                    " VALUES (?, 1, ?, 'listening', '2025-03-14T09:30:00.000000+00:00', ?)",
                    (ids[-1], f"customer-{i:08d}", payload(i)),
                )
        per = EVENTS_PER_CONVERSATION
        plan = [(ids[i // per], i % per + 1, payload(i)) for i in range(n)]
        execute = connection.execute
        at = "2025-03-14T09:30:00.000000+00:00"

        def run() -> None:
            for conversation_id, version, data in plan:
                execute("BEGIN IMMEDIATE")
                execute("SELECT data FROM conversations WHERE id = ?", (conversation_id,))
                execute("SAVEPOINT sp1")
                execute(
                    "UPDATE conversations SET version = ?, customer_id = ?, stage = ?, "
                    "updated_at = ?, data = ? WHERE id = ? AND version = ?",
                    (version + 1, "customer", "listening", at, data, conversation_id, version),
                )
                execute("RELEASE sp1")
                execute("SAVEPOINT sp1")
                execute(
                    "INSERT INTO journal (conversation_id, seq, at, kind, actor, stage, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        conversation_id,
                        version + 1,
                        at,
                        "hear",
                        "customer",
                        "listening",
                        journal_data,
                    ),
                )
                execute("RELEASE sp1")
                execute("COMMIT")

        return run

    return prepare


FLOOR = "bare INSERT + COMMIT, FULL  [floor]"
DURABLE = "desk event, SQLite FULL  [durable]"
BATCHED = "desk event, SQLite FULL, in desk.batch()"
MEMORY = "desk event, in memory"
STATEMENTS = "desk's 9 statements only, FULL"
FLOOR_NORMAL = "bare INSERT + COMMIT, NORMAL  (opt-in)"
DESK_NORMAL = "desk event, SQLite NORMAL  (opt-in)"


def timing_cases(sizes: Sizes, files: Files) -> list[Case]:
    statements_desk = files.desk("statements.db")
    assert isinstance(statements_desk.storage, SQLiteStorage)
    return [
        Case(FLOOR, sizes.durable, bare_commits(files.bare("floor-full.db", "FULL"))),
        Case(DURABLE, sizes.durable, desk_events(files.desk("desk-full.db"))),
        Case(STATEMENTS, sizes.durable, desk_statements(statements_desk.storage.database)),
        Case(BATCHED, sizes.batch, batched_desk_events(files.desk("desk-batch.db"))),
        Case(MEMORY, sizes.fast, fresh_memory_desk_events),
        Case(
            FLOOR_NORMAL,
            sizes.fast,
            bare_commits(files.bare("floor-normal.db", "NORMAL")),
            opt_in=True,
        ),
        Case(
            DESK_NORMAL,
            sizes.durable,
            desk_events(files.desk("desk-normal.db", "NORMAL")),
            opt_in=True,
        ),
    ]


# -- section 3: one durable desk event taken apart ----------------------------------------------


class ExclusiveTimer:
    """Wall time per part, each part's own time only (time spent in a wrapped callee is the
    callee's part); the parts add up to the whole call."""

    def __init__(self) -> None:
        self.totals: defaultdict[str, int] = defaultdict(int)
        self.calls: Counter[str] = Counter()
        self._children = [0]

    def wrap(self, part: str | Callable[..., str], function: Callable[..., Any]) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._children.append(0)
            start = time.perf_counter_ns()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter_ns() - start
                children = self._children.pop()
                name = part if isinstance(part, str) else part(*args, **kwargs)
                self.totals[name] += elapsed - children
                self.calls[name] += 1
                self._children[-1] += elapsed

        return timed


DESK_PART = "desk: playbook, signals, redaction, records"
BEGIN_PART = "BEGIN IMMEDIATE"
SELECT_PART = "get: the version check (SELECT), decode on a miss"
SAVE_PART = "save: checks, kept for the commit"
APPEND_PART = "journal.append: rows kept for the commit"
ENCODE_PART = "encode: the head, new items"
WRITE_PART = "at commit: UPDATE + INSERT items (+ own code)"
JOURNAL_PART = "at commit: INSERT journal rows"
SAVEPOINT_PART = "SAVEPOINT + RELEASE (only around a statement)"
TRANSACTION_PART = "transaction bookkeeping, after-commit work"
COMMIT_PART = "COMMIT (WAL write + fsync)"
PARTS = (
    DESK_PART,
    BEGIN_PART,
    SELECT_PART,
    SAVE_PART,
    APPEND_PART,
    ENCODE_PART,
    WRITE_PART,
    JOURNAL_PART,
    SAVEPOINT_PART,
    TRANSACTION_PART,
    COMMIT_PART,
)


def _statement_part(self: object, connection: object, sql: str) -> str:
    if sql == "COMMIT":
        return COMMIT_PART
    if sql.startswith("BEGIN"):
        return BEGIN_PART
    return SAVEPOINT_PART


@contextmanager
def timed_parts(timer: ExclusiveTimer, encoded: list[int]) -> Iterator[list[str]]:
    """Wrap the desk's and the SQLite adapter's functions (and put them back afterwards);
    yields the names of the functions that were not found (renamed since this was written).
    ``encoded`` gets the bytes of JSON each conversation write encodes (its head and its new
    items)."""
    head_text = getattr(_conversations, "_head_text", None)
    dumps = getattr(_conversations, "_dumps", None)

    def head(conversation: object) -> str:
        assert head_text is not None
        text: str = head_text(conversation)
        encoded.append(len(text.encode()))
        return text

    def item(record: object) -> str:
        assert dumps is not None
        text: str = dumps(record)
        encoded[-1] += len(text.encode())
        return text

    targets: list[tuple[Any, str, str | Callable[..., str], Any]] = [
        (ServiceDesk, "hear", DESK_PART, None),
        (ServiceDesk, "ask", DESK_PART, None),
        (SQLiteDatabase, "_run", _statement_part, None),
        (SQLiteDatabase, "query", SELECT_PART, None),
        (SQLiteConversationStore, "get", SELECT_PART, None),
        (SQLiteConversationStore, "_decode", SELECT_PART, None),
        (SQLiteConversationStore, "save", SAVE_PART, None),
        (SQLiteJournal, "append", APPEND_PART, None),
        (_conversations, "_head_text", ENCODE_PART, head),
        (_conversations, "_dumps", ENCODE_PART, item),
        (SQLiteConversationStore, "_flush", WRITE_PART, None),
        (SQLiteJournal, "_flush", JOURNAL_PART, None),
        (_transactions._Transaction, "__enter__", TRANSACTION_PART, None),
        (_transactions._Transaction, "__exit__", TRANSACTION_PART, None),
    ]
    missing: list[str] = []
    saved: list[tuple[Any, str, Any]] = []
    try:
        for owner, name, part, counting in targets:
            original = vars(owner).get(name)
            if original is None:
                missing.append(f"{getattr(owner, '__name__', owner)}.{name}")
                continue
            saved.append((owner, name, original))
            setattr(owner, name, timer.wrap(part, counting or original))
        yield missing
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def short_function(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    parts = filename.replace("\\", "/").split("/")
    where = "/".join(parts[-2:]) if "serviceplaybook" in parts else parts[-1]
    return f"{where}:{line} {name}"


class Dissection:
    """One way of calling the desk (each call its own transaction, or n calls in one
    desk.batch()), taken apart: its statements, the time of each part (summed over the
    passes), and a cProfile listing when asked for."""

    def __init__(self, label: str, desk: ServiceDesk, n: int, batched: bool) -> None:
        self.label = label
        self.desk = desk
        self.n = n  # calls per pass
        self.batched = batched
        self.conversations = Conversations(desk)
        self.timer = ExclusiveTimer()
        self.encoded: list[int] = []
        self.missing: list[str] = []
        self.total = 0  # wall ns over all timed passes
        self.passes = 0
        self.calls()()  # warm up
        storage = desk.storage
        assert isinstance(storage, SQLiteStorage)
        statements: list[str] = []
        connection = storage.database.connection()
        run = self.calls()
        connection.set_trace_callback(statements.append)
        try:
            run()
        finally:
            connection.set_trace_callback(None)
        self.statements = Counter(sql.split(None, 1)[0].upper() for sql in statements)

    def calls(self) -> Callable[[], None]:
        """One pass: n calls of the mix on fresh conversations (opened here, untimed)."""
        run = event_mix(self.desk, self.conversations.fresh(conversations_for(self.n)), self.n)
        if not self.batched:
            return run

        def in_batch() -> None:
            with self.desk.batch():
                run()

        return in_batch

    def timed_pass(self) -> None:
        ids = self.conversations.fresh(conversations_for(self.n))
        gc.collect()
        with timed_parts(self.timer, self.encoded) as self.missing:
            run = event_mix(self.desk, ids, self.n)  # binds the wrapped desk.hear and desk.ask
            start = time.perf_counter_ns()
            if self.batched:
                with self.desk.batch():
                    run()
            else:
                run()
            self.total += time.perf_counter_ns() - start
        self.passes += 1

    def profile(self) -> pstats.Stats:
        run = self.calls()
        profiler = cProfile.Profile()
        gc.collect()
        profiler.enable()
        run()
        profiler.disable()
        return pstats.Stats(profiler)

    @property
    def events(self) -> int:
        return self.n * self.passes

    def per_event(self, part: str) -> float:
        return self.timer.totals.get(part, 0) / self.events

    @property
    def statements_line(self) -> str:
        total = sum(self.statements.values())
        kinds = ", ".join(
            f"{kind} {count / self.n:.2f}" for kind, count in self.statements.most_common()
        )
        return f"{total / self.n:.2f}  ({kinds})"


def take_apart(sizes: Sizes, files: Files, floor_median: float) -> None:
    n = sizes.profile_events
    durable = Dissection("durable", files.desk("desk-profile.db"), n, batched=False)
    normal = Dissection("NORMAL", files.desk("desk-profile-normal.db", "NORMAL"), n, batched=False)
    batched = Dissection("in batch", files.desk("desk-profile-batch.db"), sizes.batch, batched=True)
    dissections = (durable, normal, batched)
    for _ in range(DISSECTION_PASSES):  # interleaved, like the rounds of section 1
        for dissection in dissections:
            dissection.timed_pass()
    print("3. one desk event taken apart (the mix, fresh files):")
    print(f"   durable  = {n} calls, each its own transaction, synchronous=FULL;")
    print("   NORMAL   = the same with synchronous=NORMAL (opt-in);")
    print(f"   in batch = {sizes.batch:,} calls in one desk.batch(), synchronous=FULL;")
    print(f"   {DISSECTION_PASSES} passes of each, interleaved, on fresh conversations")
    for dissection in dissections:
        print(f"  statements per event, {dissection.label + ':':<9} {dissection.statements_line}")
        if dissection.missing:
            print(f"  WARNING: not found, so not timed: {', '.join(dissection.missing)}")
    written = durable.encoded or [0]
    print(
        f"  conversation JSON written per durable event (head + new items): "
        f"{statistics.mean(written):,.0f} B on average ({min(written):,}-{max(written):,}); "
        f"the floor's payload: {PAYLOAD_BYTES:,} B"
    )
    print()
    print("  wall time per event by part (each part's own time, measured by wrappers)")
    print(
        f"  {'part':<50} {'durable':>10} {'share':>6} {'NORMAL':>10} {'share':>6} "
        f"{'in batch':>10} {'share':>6}"
    )
    for part in (*PARTS, None):
        cells = []
        for dissection in dissections:
            if part is None:
                spent = dissection.total - sum(dissection.timer.totals.values())
            else:
                spent = dissection.timer.totals.get(part, 0)
            cells.append(
                f"{spent / dissection.events / 1000:>7.1f} us {spent / dissection.total:>6.0%}"
            )
        label = part or "(unaccounted: the loop, the wrappers)"
        print(f"  {label:<50} {' '.join(cells)}")
    wholes = " ".join(f"{d.total / d.events / 1000:>7.1f} us {'':>6}" for d in dissections)
    print(f"  {'whole event':<50} {wholes}".rstrip())
    beyond = durable.total / durable.events - durable.per_event(COMMIT_PART)
    beyond_normal = normal.total / normal.events - normal.per_event(COMMIT_PART)
    print(
        f"  durable, beyond the COMMIT: {beyond / 1000:.1f} us per event = "
        f"{beyond / floor_median:.2f}x the floor of section 1 ({floor_median / 1000:.1f} us);"
    )
    print(
        f"  the same work with NORMAL: {beyond_normal / 1000:.1f} us (it runs slower right after "
        f"a wait in fsync)"
    )
    print()

    stats = durable.profile()
    rows = sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda item: item[1][2],  # tottime
        reverse=True,
    )[:14]
    print(
        f"  cProfile of {n} more durable events: top 14 by own time (tottime), per event "
        f"(cProfile adds its own overhead)"
    )
    print(f"  {'function':<62} {'calls':>6} {'own':>9} {'cumul.':>9}")
    for key, (_, ncalls, tottime, cumtime, _) in rows:
        print(
            f"  {short_function(key)[:62]:<62} {ncalls / n:>6.1f} "
            f"{tottime / n * 1e6:>6.1f} us {cumtime / n * 1e6:>6.1f} us"
        )
    print()


# -- report --------------------------------------------------------------------------------------


def after_a_wait(sizes: Sizes, files: Files) -> None:
    """Section 4: the same Python work, timed back to back and right after a bare FULL
    commit (untimed): how much slower code runs after the thread waited in fsync."""
    connection = files.bare("after-a-wait.db", "FULL")
    commit = bare_commits(connection)
    count = sizes.durable * SLICES
    samples: dict[str, list[float]] = {"back to back": [], "after a FULL commit": []}
    for _ in range(sizes.rounds):
        for label in samples:
            desk = ServiceDesk.in_memory()
            ids = Conversations(desk).fresh(conversations_for(count))
            hear, ask = desk.hear, desk.ask
            commits = commit(count) if label != "back to back" else None
            total = 0
            gc.collect()
            for i in range(count):
                if commits is not None:
                    connection.execute("BEGIN IMMEDIATE")
                    connection.execute("INSERT INTO floor (data) VALUES (?)", (payload(i),))
                    connection.execute("COMMIT")
                cid = ids[i // EVENTS_PER_CONVERSATION]
                start = time.perf_counter_ns()
                if i % 2:
                    ask(cid, ASK_TEXT)
                else:
                    hear(cid, f"{HEAR_TEXT} ({i % EVENTS_PER_CONVERSATION})")
                total += time.perf_counter_ns() - start
            samples[label].append(total / count)
    warm = statistics.median(samples["back to back"])
    cold = statistics.median(samples["after a FULL commit"])
    print("4. the in-memory desk event (no storage at all), timed alone: back to back, and")
    print(f"   right after an untimed bare FULL commit; median of {sizes.rounds} rounds")
    print(f"  back to back                  {warm / 1000:7.1f} us")
    print(f"  right after a FULL commit     {cold / 1000:7.1f} us   ({cold / warm:.2f}x)")
    print("  the same code runs slower once the thread has waited in fsync (caches and the CPU")
    print("  go cold while it sleeps): a durable event pays this on top of its own work")
    print()


def version_of(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def header(sizes: Sizes, files: Files) -> None:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print("serviceplaybook storage benchmarks" + ("  (--quick)" if sizes.quick else ""))
    print(f"python        {platform.python_implementation()} {sys.version.split()[0]}")
    print(f"sqlite        {sqlite3.sqlite_version}")
    print(f"attrs/cattrs  {version_of('attrs')} / {version_of('cattrs')}")
    print(f"cpu count     {os.cpu_count()} (usable: {affinity})")
    print(f"platform      {platform.platform()}")
    print(f"files in      {files.directory} ({filesystem_of(files.directory)}; deleted at the end)")
    if hasattr(os, "getloadavg"):
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"load average  {load} (1, 5, 15 min) at the start")
    print()


def filesystem_of(path: str) -> str:
    """The file system type and device holding ``path`` (Linux: /proc/mounts), or "?"."""
    best = ("", "?")
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                device, mount_point, kind = line.split()[:3]
                inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
                if inside and len(mount_point) >= len(best[0]):
                    best = (mount_point, f"{kind} on {device}")
    except OSError:
        pass
    return best[1]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def per_round(case: Case, base: Case) -> float:
    return statistics.median(
        mine / theirs for mine, theirs in zip(case.samples, base.samples, strict=True)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (about 10 s)")
    args = parser.parse_args(argv)
    sizes = Sizes(args.quick)
    began = time.perf_counter()
    files = Files()
    try:
        header(sizes, files)
        cases = timing_cases(sizes, files)
        run_cases(cases, sizes.rounds)
        by_name = {case.name: case for case in cases}
        floor, durable, batched = by_name[FLOOR], by_name[DURABLE], by_name[BATCHED]
        memory, statements = by_name[MEMORY], by_name[STATEMENTS]
        desk_normal, floor_normal = by_name[DESK_NORMAL], by_name[FLOOR_NORMAL]

        print(f"1. time per call: wall-clock median of {sizes.rounds} rounds (perf_counter_ns),")
        print("   min-max of the rounds, cpu: this thread's CPU time (thread_time_ns, with the")
        print("   kernel's time in fsync) median, and calls per second from the wall median")
        print(
            f"  {'case':<42} {'calls/round':>11} {'median':>10} {'min-max':>18} "
            f"{'cpu':>10} {'per second':>11}"
        )
        for case in cases:
            if case.opt_in and not cases[cases.index(case) - 1].opt_in:
                print("  opt-in: synchronous=NORMAL may lose the last commits on power loss")
            low, high = min(case.samples), max(case.samples)
            spread = f"{low / 1000:.1f}-{high / 1000:.1f} us"
            print(
                f"  {case.name:<42} {case.per_slice * SLICES:>11,} {case.median / 1000:>7.1f} us "
                f"{spread:>18} {case.cpu_median / 1000:>7.1f} us {case.per_second:>11,.0f}"
            )
        print(
            f"  desk events: hear, ask, hear, ask...; a fresh conversation every "
            f"{EVENTS_PER_CONVERSATION} calls (opened and moved to listening untimed);"
        )
        print(
            f"  desk.batch(): {sizes.batch:,} calls per transaction; bare rows: "
            f"{PAYLOAD_BYTES:,} B TEXT"
        )
        print()

        ratio = durable.median / floor.median
        rounds = per_round(durable, floor)
        print("2. targets. Ratios: of the wall medians; median of the per-round wall ratios;")
        print("   of the cpu medians. PASS needs the two wall ratios in target.")
        print(f"  {'':<48} {'medians':>8} {'rounds':>8} {'cpu':>8}")

        def ratio_line(label: str, case: Case, base: Case, judged: str) -> None:
            print(
                f"  {label:<48} {case.median / base.median:7.2f}x {per_round(case, base):7.2f}x "
                f"{case.cpu_median / base.cpu_median:7.2f}x   {judged}"
            )

        ratio_line(
            "durable desk event / bare commit",
            durable,
            floor,
            f"target <= {RATIO_TARGET:.1f}  {verdict(max(ratio, rounds) <= RATIO_TARGET)}",
        )
        ratio_line("desk's 9 statements only / bare commit", statements, floor, "(reference)")
        ratio_line("NORMAL desk event / bare commit FULL", desk_normal, floor, "(opt-in)")
        ratio_line("NORMAL desk event / bare commit NORMAL", desk_normal, floor_normal, "(opt-in)")
        print(
            f"  {'batched desk events per second':<48} {batched.per_second:>8,.0f}"
            f"{'':>18}   target >= {BATCH_TARGET:,}  {verdict(batched.per_second >= BATCH_TARGET)}"
        )
        extra = (batched.median - memory.median) / 1000
        print(
            f"    ({batched.median / 1000:.0f} us per event = the in-memory desk event + "
            f"{extra:.0f} us of storage work)"
        )
        print(f"  {'in-memory desk events per second':<48} {memory.per_second:>8,.0f}")
        print(f"  {'durable desk events per second':<48} {durable.per_second:>8,.0f}")
        print(f"  {'NORMAL desk events per second (opt-in)':<48} {desk_normal.per_second:>8,.0f}")
        print(f"  {'bare commits per second (floor)':<48} {floor.per_second:>8,.0f}")
        over = durable.median - floor.median
        print(
            f"  durable desk event - bare commit: {over / 1000:.1f} us (in-memory desk event: "
            f"{memory.median / 1000:.1f} us; the target allows "
            f"{(RATIO_TARGET - 1) * floor.median / 1000:.1f} us)"
        )
        print(
            f"  the ratio target holds on a disk whose bare commit takes at least "
            f"{over / (RATIO_TARGET - 1) / 1000:.0f} us ({over / 1000:.0f} us / "
            f"{RATIO_TARGET - 1:.1f})"
        )
        print()

        take_apart(sizes, files, floor.median)
        after_a_wait(sizes, files)
    finally:
        files.cleanup()
    print(f"total run time {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
