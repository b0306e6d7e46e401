"""Celery delivery under load: desk calls that schedule follow-ups in several processes, and
Celery workers delivering them, on a real redis-server and a real PostgreSQL server (or one
SQLite file).

Run from the repository root, with the ``dev`` extra installed, ``redis-server`` on the PATH
and PostgreSQL's server programs installed (not run by CI; ``tests/test_celery_load.py`` runs
a few seconds of it on each store)::

    python benchmarks/bench_celery_load.py                       # 8 drivers, 4 workers, 30 s
    python benchmarks/bench_celery_load.py --seconds 10 --drivers 4 --workers 2
    python benchmarks/bench_celery_load.py --store sqlite        # one SQLite file instead
    python benchmarks/bench_celery_load.py --dsn "host=... dbname=..."   # your own server

Without ``--dsn`` a throwaway PostgreSQL server is started the way the tests start it
(``tests/postgres_server.py``: a temporary directory, socket only, ``fsync=off``).

Method:

* A redis-server on a Unix socket in a temporary directory; ``--workers`` ``celery worker``
  processes (``tests/celery_app.py``, prefork, one pool process each, prefetch 1) whose
  dispatcher logs each follow-up it sends; one claimer (``CeleryDelivery.run_claimer``) in
  this process, claiming every 0.2 s when idle, with a 60 s lease.
* ``--drivers`` processes drive conversations through ``ServiceDesk.postgres`` (one
  connection each) or ``ServiceDesk.sqlite`` for ``--seconds``: open, hear, summarize,
  confirm, resolve. The resolution schedules a follow-up
  (a ``FollowUpPolicy`` without delay or cooldown, a desk clock set in business hours, so it
  is due at once) in the same unit of work as the call.
* Then the drivers stop and the follow-ups left drain. Figures: desk calls per second,
  follow-ups scheduled and sent, the latency from scheduling to sending (p50, p95, max) and
  its two halves (scheduling to the first claim, that claim to sending: p50), lost ones
  (scheduled, never sent) and ones sent twice. Always exits 0; every follow-up sent
  exactly once is the expectation, and the last line says PASS or FAIL.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# this checkout's library (as its workers run it), the worker app and the tests' servers
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from celery_app import build, environment  # noqa: E402
from celery_servers import RedisServer, Workers  # noqa: E402
from serviceplaybook import (  # noqa: E402
    Agent,
    Channel,
    Customer,
    FollowUpPolicy,
    Issue,
    ServiceDesk,
    Severity,
    Stage,
)

# A Monday in business hours: the desk's clock runs from here, so follow-ups fall due at once.
BASE = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
LEASE = 60.0


def open_desk(store: dict[str, str], **options: Any) -> ServiceDesk:
    """A desk on ``store``: ``{"dsn": ...}`` for PostgreSQL, ``{"db": ...}`` for SQLite."""
    if "dsn" in store:
        return ServiceDesk.postgres(store["dsn"], max_size=1, **options)
    return ServiceDesk.sqlite(store["db"], **options)


def drive(store: dict[str, str], number: int, go: Any, seconds: float, results: Any) -> None:
    """One driver process: whole conversations through the desk for ``seconds`` from the
    moment the parent sets ``go`` (a shared double: the start time)."""
    report: dict[str, Any] = {"number": number, "calls": 0, "follow_ups": 0, "error": None}
    try:
        started = [0.0]  # the parent's start time, once it says go
        # opened before the start (a PostgreSQL desk checks the schema and fills its pool)
        desk = open_desk(
            store,
            clock=lambda: BASE + timedelta(seconds=time.time() - started[0]),
            follow_up=FollowUpPolicy(
                delays=dict.fromkeys(Severity, timedelta(0)), tier_delays={}, cooldown=timedelta(0)
            ),
        )
        results.put("ready")
        while go.value == 0:
            time.sleep(0.01)
        start = started[0] = go.value
        agent = Agent(id=f"agent-{number}", name="Sam")
        deadline = start + seconds
        conversation = 0
        while time.time() < deadline:
            conversation += 1
            opened = desk.open(
                customer=Customer(id=f"cust-{number}-{conversation}", name="Ann"),
                issue=Issue(category="delivery", severity=Severity.LOW, summary="late parcel"),
                agent=agent,
                channel=Channel.EMAIL,
            )
            desk.hear(opened.id, "My parcel is a week late.")
            desk.summarize(opened.id, "Your parcel is a week late; let me check.")
            desk.confirm(opened.id)
            outcome = desk.resolve(opened.id)
            report["calls"] += 5
            report["follow_ups"] += outcome.conversation.stage is Stage.FOLLOWING_UP
        desk.storage.close()  # type: ignore[attr-defined]
    except BaseException:
        report["error"] = traceback.format_exc()
    results.put(report)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def stored_follow_ups(store: dict[str, str]) -> list[tuple[str, datetime, str]]:
    """Every follow-up in the store: id, due time, status."""
    if "dsn" in store:
        import psycopg

        with psycopg.connect(store["dsn"]) as connection:
            rows = connection.execute("SELECT id, due_at, status FROM follow_ups").fetchall()
        return [(i, due, status) for i, due, status in rows]
    with sqlite3.connect(store["db"]) as connection:
        rows = connection.execute("SELECT id, due_at, status FROM follow_ups").fetchall()
    return [(i, datetime.fromisoformat(due), status) for i, due, status in rows]


def run(
    *,
    seconds: float,
    drivers: int,
    workers: int,
    drain: float = 120.0,
    dsn: str | None = None,
) -> dict[str, Any]:
    """Run the load on the PostgreSQL database ``dsn`` (an empty schema), or on a SQLite file
    when ``None``; returns the figures (and prints nothing)."""
    directory = Path(tempfile.mkdtemp(prefix="sp-celery-load-"))
    log = str(directory / "dispatch.log")
    store = {"dsn": dsn} if dsn else {"db": str(directory / "desk.db")}
    try:
        open_desk(store).storage.close()  # type: ignore[attr-defined]  # the schema first
        with RedisServer() as redis:
            values: dict[str, Any] = {
                "broker": redis.url,
                **store,
                "log": log,
                "lease": LEASE,
                "visibility": 300,
            }
            _, delivery = build(**values, batch=100)
            with Workers(environment(**values), directory) as fleet:
                fleet.start(workers)
                stop = threading.Event()
                claimer = threading.Thread(
                    target=delivery.run_claimer,
                    args=(timedelta(seconds=0.2),),
                    kwargs={"stop": stop},
                )
                claimer.start()
                context = multiprocessing.get_context("spawn")
                queue = context.Queue()
                go = context.Value("d", 0.0)
                processes = [
                    context.Process(target=drive, args=(store, n, go, seconds, queue))
                    for n in range(drivers)
                ]
                for process in processes:
                    process.start()
                assert [queue.get(timeout=120) for _ in processes] == ["ready"] * drivers
                start = go.value = time.time()  # every driver starts its clock at once
                reports = [queue.get(timeout=seconds + 120) for _ in processes]
                for process in processes:
                    process.join(timeout=60)
                driven = time.time()
                errors = [r["error"] for r in reports if r["error"]]
                if errors:
                    raise RuntimeError(f"a driver failed:\n{errors[0]}")
                scheduler = delivery.scheduler
                deadline = time.monotonic() + drain
                while scheduler.pending() and time.monotonic() < deadline:  # type: ignore[attr-defined]
                    time.sleep(0.2)
                drained = time.time()
                stop.set()
                claimer.join(timeout=30)
                close = getattr(getattr(scheduler, "database", None), "close", None)
                if close is not None:
                    close()
        rows = stored_follow_ups(store)
        sent: Counter[str] = Counter()
        sent_at: dict[str, datetime] = {}
        claimed_at: dict[str, datetime] = {}
        for line in Path(log).read_text().splitlines() if Path(log).exists() else []:
            kind, follow_up_id, _, third, fourth, _ = line.split(" ")
            if kind == "claim":  # claim <id> <attempts> <at> <until> <pid>
                claimed_at.setdefault(follow_up_id, datetime.fromisoformat(third))
            elif kind == "sent":  # sent <id> <attempts> <key> <at> <pid>
                sent[follow_up_id] += 1
                sent_at.setdefault(follow_up_id, datetime.fromisoformat(fourth))
        offset = BASE - datetime.fromtimestamp(start, UTC)
        scheduled_at = {i: due - offset for i, due, _ in rows}
        latencies = [(sent_at[i] - scheduled_at[i]).total_seconds() for i in sent_at]
        to_claim = [(claimed_at[i] - scheduled_at[i]).total_seconds() for i in claimed_at]
        claim_to_sent = [(sent_at[i] - claimed_at[i]).total_seconds() for i in sent_at]
        calls = sum(r["calls"] for r in reports)
        return {
            "store": "postgresql" if dsn else "sqlite",
            "seconds": seconds,
            "drivers": drivers,
            "workers": workers,
            "desk_calls": calls,
            "desk_calls_per_second": calls / seconds,
            "scheduled": len(rows),
            "scheduled_per_driver_report": sum(r["follow_ups"] for r in reports),
            "sent": len(sent),
            "sent_per_second": len(sent) / max(drained - start, 1e-9),
            "lost": len({i for i, _, _ in rows} - set(sent)),
            "sent_twice": sum(1 for count in sent.values() if count > 1),
            "not_delivered_status": sum(1 for *_, status in rows if status != "delivered"),
            "drain_seconds": drained - driven,
            "latency_p50": percentile(latencies, 0.50),
            "latency_p95": percentile(latencies, 0.95),
            "latency_max": max(latencies, default=0.0),
            "scheduled_to_claimed_p50": percentile(to_claim, 0.50),
            "claimed_to_sent_p50": percentile(claim_to_sent, 0.50),
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--drivers", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--dsn", help="an existing PostgreSQL database (an empty schema)")
    options = parser.parse_args(argv)
    if shutil.which("redis-server") is None:
        print("redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)")
        return 0
    server = None
    dsn = options.dsn
    if options.store == "postgres" and dsn is None:
        import postgres_server

        bindir = postgres_server.find_bindir()
        if bindir is None:
            print(postgres_server.INSTALL)
            return 0
        server = postgres_server.PostgresServer(bindir)
        dsn = server.fresh_schema()
    try:
        figures = run(
            seconds=options.seconds,
            drivers=options.drivers,
            workers=options.workers,
            dsn=dsn if options.store == "postgres" else None,
        )
    finally:
        if server is not None:
            server.close()
    print(f"cores: {os.cpu_count()}; python {sys.version.split()[0]}")
    for name, value in figures.items():
        if isinstance(value, str):
            shown = value
        else:
            shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
        print(f"{name:28} {shown:>12}")
    ok = figures["lost"] == figures["sent_twice"] == figures["not_delivered_status"] == 0
    ok = ok and figures["sent"] == figures["scheduled"] > 0
    print(f"every follow-up sent exactly once: {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
