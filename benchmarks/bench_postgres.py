"""PostgreSQL benchmarks: desk events per second from 1 and 8 processes beside the floor (a
bare single-row INSERT + COMMIT loop from as many processes), and claiming the next 1,000
due follow-ups with 10,000 / 100,000 / 1,000,000 pending beside a bare indexed
``SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1000``.

Run from the repository root::

    python benchmarks/bench_postgres.py              # full run, about 3 minutes
    python benchmarks/bench_postgres.py --quick      # shorter runs, 100,000 pending at most
    python benchmarks/bench_postgres.py --dsn "host=... dbname=..."   # your own server

Without ``--dsn`` it starts a throwaway server the way the tests do
(``tests/postgres_server.py``: a temporary directory, socket only, ``fsync=off``). It prints
plain tables and always exits 0; the PASS/FAIL lines compare against the targets of
``benchmarks/README.md``.

Method, in short:

* Throughput: each process is a "spawn" child that prepares untimed (its own desk and pool
  or its own connection; for the desk, conversations opened and moved to ``listening`` in
  one batch), waits at a barrier, then runs for the same number of seconds. The figure is
  the calls of every process over the longest process's wall time. A desk event is the mix
  ``hear``, ``ask``, ``hear``... with a fresh conversation every 10 calls, as in
  ``bench_storage.py``. The floor is ``INSERT INTO floor (data) VALUES (%s)`` then
  ``commit()`` on a psycopg connection (``BEGIN``, ``INSERT``, ``COMMIT``), with a 2 KB
  payload, about a conversation row. "its SQL" separates the database's work from the
  desk's Python: the statements one desk sent for a conversation's 10 events (recorded
  once, on a scratch schema, by wrapping ``psycopg.Connection.execute``) are sent again
  exactly, ids renamed and parameters built before the timing, on a plain autocommit
  connection, conversation after conversation. Cases alternate (floor, its SQL, desk; 1
  process, then 8) for several rounds; the median round is reported.
* Claims: a fresh schema made by the library, then N pending follow-ups all due, written by
  one ``INSERT ... SELECT generate_series``, then ``VACUUM ANALYZE``. One claim is
  ``PostgresScheduler.claim_due(now, limit=1000)`` (its own transaction). The bare query is
  the same index's ``SELECT id ... ORDER BY ready_at, id LIMIT 1000 FOR UPDATE SKIP LOCKED``
  in a transaction, committed. "its SQL" is claim_due's own statement (``_scheduler.CLAIM``)
  run on a plain connection and committed, the rows fetched as tuples (in binary, as
  claim_due fetches them): claim_due minus the FollowUp records it builds. After each
  timed claim the claimed rows are put back (untimed), so N stays N; the median of the
  rounds is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import queue
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

THROUGHPUT_TARGET = 0.5  # desk events/s at 8 processes over the floor's rows/s at 8
CLAIM_TARGET = 3.0  # claim_due(limit=1000) over the bare SKIP LOCKED select, at 1,000,000
EVENTS_PER_CONVERSATION = 10
HEAR_TEXT = "My parcel has not arrived and the tracking page shows nothing."
ASK_TEXT = "Could you tell me the order number?"
PAYLOAD = "x" * 2000


# -- throughput workers (top level: the "spawn" children import them by name) ----------------


def floor_worker(dsn: str, seconds: float, barrier: Any, results: Any) -> None:
    import psycopg

    with psycopg.connect(dsn) as connection:
        barrier.wait()
        count = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for _ in range(20):
                connection.execute("INSERT INTO floor (data) VALUES (%s)", (PAYLOAD,))
                connection.commit()
            count += 20
        results.put((count, time.perf_counter() - start))


def desk_worker(dsn: str, seconds: float, barrier: Any, results: Any, number: int) -> None:
    from serviceplaybook import Agent, Customer, Issue, ServiceDesk

    desk = ServiceDesk.postgres(dsn, max_size=1)
    # Enough conversations for the run, opened untimed in one batch each of 200.
    ids: list[str] = []
    per_batch = 200
    needed = int(seconds * 1500 / EVENTS_PER_CONVERSATION) + per_batch
    while len(ids) < needed:
        with desk.batch():
            for _ in range(per_batch):
                i = len(ids)
                conversation = desk.open(
                    customer=Customer(id=f"customer-{number}-{i}", name="Ann"),
                    issue=Issue(category="delivery", severity="medium", summary="Late parcel"),
                    agent=Agent(id=f"agent-{number}", name="Sam"),
                )
                desk.hear(conversation.id, HEAR_TEXT)
                ids.append(conversation.id)
    barrier.wait()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        cid = ids[(count // EVENTS_PER_CONVERSATION) % len(ids)]
        for i in range(EVENTS_PER_CONVERSATION):
            if i % 2:
                desk.ask(cid, ASK_TEXT)
            else:
                desk.hear(cid, f"{HEAR_TEXT} ({count + i})")
        count += EVENTS_PER_CONVERSATION
    results.put((count, time.perf_counter() - start))
    desk.storage.close()  # type: ignore[attr-defined]


Recorded = list[tuple[str, Any, bool]]  # (sql, parameters, binary) as the desk sent them


@contextlib.contextmanager
def recording(into: Recorded) -> Iterator[None]:
    """Record every statement sent through ``psycopg.Connection.execute`` (the only way the
    adapter sends statements) while the block runs."""
    import psycopg

    original = psycopg.Connection.execute

    def execute(self: Any, query: Any, params: Any = None, **options: Any) -> Any:
        into.append(
            (query if isinstance(query, str) else str(query), params, bool(options.get("binary")))
        )
        return original(self, query, params, **options)

    psycopg.Connection.execute = execute  # type: ignore[method-assign]
    try:
        yield
    finally:
        psycopg.Connection.execute = original  # type: ignore[method-assign]


def record_template(dsn: str) -> tuple[Recorded, Recorded, list[str]]:
    """The statements a desk sends to open a conversation and move it to ``listening``
    (``setup``), then for ``EVENTS_PER_CONVERSATION`` desk events of the timed mix
    (``events``), recorded on a scratch schema; and the ids they name."""
    from serviceplaybook import Agent, Customer, Issue, ServiceDesk

    desk = ServiceDesk.postgres(dsn, max_size=1)
    setup: Recorded = []
    events: Recorded = []
    with recording(setup):
        conversation = desk.open(
            customer=Customer(id="customer-template", name="Ann"),
            issue=Issue(category="delivery", severity="medium", summary="Late parcel"),
            agent=Agent(id="agent-template", name="Sam"),
        )
        desk.hear(conversation.id, HEAR_TEXT)
    with recording(events):
        for i in range(EVENTS_PER_CONVERSATION):
            if i % 2:
                desk.ask(conversation.id, ASK_TEXT)
            else:
                desk.hear(conversation.id, f"{HEAR_TEXT} ({i})")
    desk.storage.close()  # type: ignore[attr-defined]
    return setup, events, [conversation.id, "customer-template"]


def renamed(
    statements: Recorded, names: Sequence[str], token: str, number: int, k: int
) -> Recorded:
    """``statements`` with each of ``names`` replaced by a name for conversation ``k`` of
    process ``number`` in the run ``token`` (in every text parameter, JSON included)."""
    out: Recorded = []
    new = [f"{name[:-18]}{token}{number:03d}x{k:08d}" for name in names]
    for sql, parameters, binary in statements:
        if parameters is not None:
            changed = []
            for value in parameters:
                if isinstance(value, str):
                    for old, replacement in zip(names, new, strict=True):
                        value = value.replace(old, replacement)
                changed.append(value)
            parameters = changed
        out.append((sql, parameters, binary))
    return out


def replay_worker(
    dsn: str,
    seconds: float,
    barrier: Any,
    results: Any,
    number: int,
    template: tuple[Recorded, Recorded, list[str]],
) -> None:
    """The desk's own statements without the desk: the recorded ``events`` of one
    conversation, sent as recorded (ids renamed, parameters built untimed) on a plain
    autocommit connection, one conversation after another."""
    import psycopg

    setup, events, names = template
    token = os.urandom(3).hex()  # every run replays onto conversations of its own
    needed = int(seconds * 5000 / EVENTS_PER_CONVERSATION) + 10
    with psycopg.connect(dsn, autocommit=True) as connection:
        with connection.pipeline():
            for k in range(needed):
                for sql, parameters, binary in renamed(setup, names, token, number, k):
                    connection.execute(sql, parameters, binary=binary)
        scripts = [renamed(events, names, token, number, k) for k in range(needed)]
        barrier.wait()
        count = 0
        start = time.perf_counter()
        deadline = start + seconds
        for script in scripts:
            if time.perf_counter() >= deadline:
                break
            for sql, parameters, binary in script:
                cursor = connection.execute(sql, parameters, binary=binary)
                if cursor.description is not None:
                    cursor.fetchall()
            count += EVENTS_PER_CONVERSATION
        results.put((count, time.perf_counter() - start))


def run_processes(
    kind: str,
    dsn: str,
    processes: int,
    seconds: float,
    template: tuple[Recorded, Recorded, list[str]] | None = None,
) -> float:
    """Calls per second of ``processes`` children of ``kind`` running together."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    children = []
    for number in range(processes):
        if kind == "floor":
            args: tuple[Any, ...] = (dsn, seconds, barrier, results)
            target: Any = floor_worker
        elif kind == "replay":
            args = (dsn, seconds, barrier, results, number, template)
            target = replay_worker
        else:
            args = (dsn, seconds, barrier, results, number)
            target = desk_worker
        child = context.Process(target=target, args=args)
        child.start()
        children.append(child)
    reports = []
    while len(reports) < processes:
        try:
            reports.append(results.get(timeout=1))
        except queue.Empty:
            failed = [child.exitcode for child in children if child.exitcode not in (None, 0)]
            if failed:  # its siblings wait at the barrier for it: stop them all
                for child in children:
                    child.kill()
                raise RuntimeError(f"a {kind} process failed (exit codes {failed})") from None
    for child in children:
        child.join(timeout=60)
    return sum(count for count, _ in reports) / max(elapsed for _, elapsed in reports)


# -- claims -----------------------------------------------------------------------------------


def fill(dsn: str, pending: int) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO follow_ups (id, key, conversation_id, customer_id, channel, due_at, "
            "purpose, status, ready_at, attempts) "
            "SELECT 'fu-' || n, 'c' || n || ':follow-up:1', 'c' || n, 'cust-' || (n %% 5000), "
            "'email', t, 'survey', 'pending', t, 0 "
            "FROM generate_series(1, %s) AS n, "
            "LATERAL (SELECT timestamptz '2026-01-01 00:00+00' + n * interval '1 second') AS d(t)",
            (pending,),
        )
        connection.execute("VACUUM ANALYZE follow_ups")


def claims(dsn: str, pending: int, rounds: int) -> tuple[float, float, float]:
    """Median milliseconds of claim_due(limit=1000), of its statement alone, and of the bare
    select."""
    import psycopg

    from serviceplaybook.adapters.postgres import PostgresScheduler, PostgresStorage
    from serviceplaybook.adapters.postgres._scheduler import CLAIM

    storage = PostgresStorage(dsn)
    fill(dsn, pending)
    scheduler: PostgresScheduler = storage.follow_ups
    now = datetime(2027, 1, 1, tzinfo=UTC)
    bare_sql = (
        "SELECT id FROM follow_ups WHERE status = 'pending' AND ready_at <= %s "
        "ORDER BY ready_at, id LIMIT 1000 FOR UPDATE SKIP LOCKED"
    )
    put_back = (
        "UPDATE follow_ups SET lease_until = NULL, attempts = attempts - 1 WHERE id = ANY(%s)"
    )
    library, statement, bare = [], [], []
    with psycopg.connect(dsn) as connection:
        for _ in range(rounds + 1):  # the first round warms up
            start = time.perf_counter()
            claimed = scheduler.claim_due(now, limit=1000, lease=timedelta(minutes=5))
            library.append(time.perf_counter() - start)
            assert len(claimed) == 1000
            connection.execute(put_back, ([item.id for item in claimed],))
            connection.commit()
            start = time.perf_counter()
            rows = connection.execute(
                CLAIM, (now + timedelta(minutes=5), now, now, 1000), binary=True
            ).fetchall()
            connection.commit()
            statement.append(time.perf_counter() - start)
            connection.execute(put_back, ([row[0] for row in rows],))
            connection.commit()
            start = time.perf_counter()
            rows = connection.execute(bare_sql, (now,)).fetchall()
            connection.commit()
            bare.append(time.perf_counter() - start)
            assert len(rows) == 1000
    storage.close()
    return (
        statistics.median(library[1:]) * 1000,
        statistics.median(statement[1:]) * 1000,
        statistics.median(bare[1:]) * 1000,
    )


# -- main -------------------------------------------------------------------------------------


def fresh_dsn(base: str, name: str) -> str:
    import psycopg

    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        connection.execute(f"CREATE SCHEMA {name}")
    return f"{base} options='-c search_path={name}'"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--dsn", help="an existing server (default: start a throwaway one)")
    args = parser.parse_args(argv)
    seconds, rounds = (2.0, 1) if args.quick else (4.0, 3)
    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)

    server = None
    if args.dsn:
        base = args.dsn
    else:
        sys.path.insert(0, str(ROOT / "tests"))
        import postgres_server

        bindir = postgres_server.find_bindir()
        if bindir is None:
            print(postgres_server.INSTALL)
            return 0
        server = postgres_server.PostgresServer(bindir)
        base = server.dsn()
    try:
        import psycopg

        print(f"PostgreSQL benchmarks: {os.cpu_count()} cores, psycopg {psycopg.__version__}")
        with psycopg.connect(base) as connection:
            version = connection.execute("SHOW server_version").fetchone()
            fsync = connection.execute("SHOW fsync").fetchone()
        print(f"server {version[0] if version else '?'}, fsync={fsync[0] if fsync else '?'}")

        print("\n1. Desk events per second beside the floor (INSERT + COMMIT per row)")
        dsn = fresh_dsn(base, "bench_throughput")
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute("CREATE TABLE floor (id bigserial PRIMARY KEY, data text)")
        from serviceplaybook.adapters.postgres import PostgresStorage

        PostgresStorage(dsn).close()
        template_dsn = fresh_dsn(base, "bench_template")
        PostgresStorage(template_dsn).close()
        template = record_template(template_dsn)
        figures: dict[tuple[str, int], list[float]] = {}
        for _ in range(rounds):
            for processes in (1, 8):
                for kind in ("floor", "replay", "desk"):
                    rate = run_processes(kind, dsn, processes, seconds, template)
                    figures.setdefault((kind, processes), []).append(rate)
        print(
            f"{'processes':>10} {'floor rows/s':>13} {'its SQL/s':>10} {'desk events/s':>14} "
            f"{'SQL/floor':>10} {'desk/floor':>11} {'desk/SQL':>9}"
        )
        ratio = {}
        for processes in (1, 8):
            floor = statistics.median(figures[("floor", processes)])
            replay = statistics.median(figures[("replay", processes)])
            desk = statistics.median(figures[("desk", processes)])
            ratio[processes] = desk / floor
            print(
                f"{processes:>10} {floor:>13,.0f} {replay:>10,.0f} {desk:>14,.0f} "
                f"{replay / floor:>9.2f}x {desk / floor:>10.2f}x {desk / replay:>8.2f}x"
            )
        statements = len(template[1]) / EVENTS_PER_CONVERSATION
        print(
            f"(its SQL: the {statements:g} statements per event the desk sent, recorded and "
            f"replayed without the desk)"
        )
        grows = statistics.median(figures[("desk", 8)]) > statistics.median(figures[("desk", 1)])
        print(
            f"{verdict(ratio[8] >= THROUGHPUT_TARGET)} desk events at 8 processes >= "
            f"{THROUGHPUT_TARGET}x the floor ({ratio[8]:.2f}x)"
        )
        print(f"{verdict(grows)} desk throughput grows from 1 to 8 processes")

        print("\n2. Claiming the next 1,000 due follow-ups (median ms of a claim)")
        print(
            f"{'pending':>10} {'claim_due':>10} {'its SQL':>8} {'bare select':>12} "
            f"{'claim_due/bare':>15} {'SQL/bare':>9}"
        )
        at: dict[int, tuple[float, float, float]] = {}
        for pending in sizes:
            dsn = fresh_dsn(base, f"bench_claims_{pending}")
            at[pending] = claims(dsn, pending, rounds=7 if not args.quick else 3)
            library, sql, bare = at[pending]
            print(
                f"{pending:>10,} {library:>10.1f} {sql:>8.1f} {bare:>12.1f} "
                f"{library / bare:>14.2f}x {sql / bare:>8.2f}x"
            )
        largest = sizes[-1]
        library, sql, bare = at[largest]
        print(
            f"{verdict(library / bare <= CLAIM_TARGET)} claim_due at {largest:,} pending <= "
            f"{CLAIM_TARGET}x the bare select ({library / bare:.2f}x; its statement alone "
            f"{sql / bare:.2f}x, the rest is building the FollowUp records)"
        )
        spread = at[largest][0] / at[sizes[0]][0]
        print(
            f"{verdict(spread <= 2.0)} flat: claim_due at {largest:,} pending is {spread:.2f}x "
            f"its time at {sizes[0]:,} (at most 2x)"
        )
    finally:
        if server is not None:
            server.close()
    return 0


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


if __name__ == "__main__":
    raise SystemExit(main())
