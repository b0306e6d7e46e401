"""Scheduler benchmarks: scheduling rates, and claiming the next 1,000 due follow-ups among a
million pending, beside the floor of a bare indexed SELECT of the same rows.

Run from the repository root (not run by CI)::

    python benchmarks/bench_scheduler.py            # 1,000,000 pending, a few minutes
    python benchmarks/bench_scheduler.py --quick    # 100,000 pending, well under a minute

It prints every figure and ratio with PASS/FAIL against the targets of issue 6 and always
exits 0. Method:

* Follow-ups are built before the timed loops (building records is not scheduling). Their
  due times are a random permutation of one per second: the order in which follow-ups are
  scheduled says nothing about when they fall due, the worst case for where their rows lie.
* Schedule rates: ``InMemoryScheduler.schedule`` over all of them; ``SQLiteScheduler``
  (``synchronous=FULL``) one follow-up per transaction (a commit and an fsync each), and
  batched, 10,000 per transaction. The batched run fills the file the claims use.
* Claims, at 10k, 100k and 1M pending (one file each): a round claims the next 1,000 due
  (``claim_due(limit=1000)``: one transaction that reads them, leases them and commits) and
  runs the floor: the same SELECT of the same columns through the same partial index, with
  nothing else (no transaction, no lease, no records built). The two alternate which goes
  first. The claimed ones are then completed, untimed, so the next round claims the next
  1,000. Medians of the rounds; the files live in one temporary directory, deleted at the end.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from serviceplaybook import Channel, FollowUp, InMemoryScheduler, SQLiteScheduler
from serviceplaybook.adapters.sqlite._database import SQLiteDatabase, utc_text

MEMORY_TARGET = 100_000  # schedules per second in memory
RATIO_TARGET = 3.0  # claim of the next 1,000 / bare SELECT of them
ABSOLUTE_TARGET_MS = 50.0  # claim of the next 1,000 at 1M pending
FLAT_TARGET = 1.5  # per-claim cost at 1M / at 10k ("flat": the index, not a scan)
CLAIM = 1_000
BATCH = 10_000
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FLOOR_SQL = (
    "SELECT id, key, conversation_id, customer_id, channel, due_at, purpose, expires_at, "
    "attempts FROM follow_ups WHERE status = 'pending' AND ready_at <= ? "
    "ORDER BY ready_at, id LIMIT ?"
)


def build(count: int, seed: int) -> list[FollowUp]:
    seconds = list(range(count))
    random.Random(seed).shuffle(seconds)
    return [
        FollowUp(
            id=f"fu-{seed}-{number:08d}",
            key=f"conv-{seed}-{number:08d}:follow-up:1",
            conversation_id=f"conv-{seed}-{number:08d}",
            customer_id=f"cust-{number % 50_000:06d}",
            channel=Channel.EMAIL,
            due_at=START + timedelta(seconds=second),
        )
        for number, second in enumerate(seconds)
    ]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def schedule_in_memory(follow_ups: list[FollowUp]) -> float:
    scheduler = InMemoryScheduler()
    schedule = scheduler.schedule

    def run() -> None:
        for follow_up in follow_ups:
            schedule(follow_up)

    seconds = timed(run)
    del scheduler
    return len(follow_ups) / seconds


def fill(path: str, follow_ups: list[FollowUp]) -> tuple[SQLiteScheduler, float]:
    """Schedule in transactions of BATCH; returns the scheduler and the rate."""
    scheduler = SQLiteScheduler(SQLiteDatabase(path))
    schedule = scheduler.schedule

    def run() -> None:
        for start in range(0, len(follow_ups), BATCH):
            with scheduler.database.transaction():
                for follow_up in follow_ups[start : start + BATCH]:
                    schedule(follow_up)

    return scheduler, len(follow_ups) / timed(run)


def one_per_transaction(path: str, follow_ups: list[FollowUp]) -> float:
    scheduler = SQLiteScheduler(SQLiteDatabase(path))
    schedule = scheduler.schedule

    def run() -> None:
        for follow_up in follow_ups:
            schedule(follow_up)

    rate = len(follow_ups) / timed(run)
    scheduler.database.close()
    return rate


def claim_into(scheduler: SQLiteScheduler, now: datetime, claimed: list[FollowUp]) -> None:
    claimed.extend(scheduler.claim_due(now, limit=CLAIM, lease=timedelta(minutes=5)))


def floor_into(connection: sqlite3.Connection, now: datetime, rows: list[Any]) -> None:
    rows.extend(connection.execute(FLOOR_SQL, (utc_text(now), CLAIM)).fetchall())


def complete_all(scheduler: SQLiteScheduler, claimed: list[FollowUp]) -> None:
    with scheduler.database.transaction():
        for follow_up in claimed:
            scheduler.complete(follow_up.id, attempt=follow_up.attempts)


def claims(scheduler: SQLiteScheduler, rounds: int) -> tuple[list[float], list[float], float]:
    """Claim and floor times (seconds) per round, and the untimed completion's median."""
    connection = scheduler.database.connection()
    now = START + timedelta(days=400)  # everything is due
    claim_times: list[float] = []
    floor_times: list[float] = []
    complete_times: list[float] = []
    for round_number in range(rounds + 1):  # the first round warms up, untimed
        claimed: list[FollowUp] = []
        rows: list[tuple[object, ...]] = []
        claim = functools.partial(claim_into, scheduler, now, claimed)
        floor = functools.partial(floor_into, connection, now, rows)
        if round_number % 2:
            claim_time, floor_time = timed(claim), timed(floor)
        else:
            floor_time, claim_time = timed(floor), timed(claim)
        assert [f.id for f in claimed] == [row[0] for row in rows], "not the same rows"
        complete = functools.partial(complete_all, scheduler, claimed)
        complete_time = timed(complete)
        if round_number:
            claim_times.append(claim_time)
            floor_times.append(floor_time)
            complete_times.append(complete_time)
    return claim_times, floor_times, statistics.median(complete_times)


def in_memory_claim(follow_ups: list[FollowUp], rounds: int) -> float:
    scheduler = InMemoryScheduler()
    for follow_up in follow_ups:
        scheduler.schedule(follow_up)
    now = START + timedelta(days=400)
    times = [
        timed(lambda: scheduler.claim_due(now, limit=CLAIM, lease=timedelta(minutes=5)))
        for _ in range(rounds)
    ]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 pending instead of 1M")
    parser.add_argument("--rounds", type=int, default=9)
    options = parser.parse_args()
    largest = 100_000 if options.quick else 1_000_000
    sizes = [size for size in (10_000, 100_000, 1_000_000) if size <= largest]
    durable_count = 300 if options.quick else 1_000

    print(f"serviceplaybook scheduler benchmark; Python {sys.version.split()[0]}, ", end="")
    print(f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    directory = tempfile.mkdtemp(prefix="serviceplaybook-bench-scheduler-")
    began = time.perf_counter()
    try:
        print(f"\nbuilding {largest:,} follow-ups (untimed)...")
        everything = build(largest, seed=1)

        print("\n1. schedule rates")
        memory_rate = schedule_in_memory(everything)
        print(
            f"  in memory, {largest:,} follow-ups        {memory_rate:>12,.0f} /s   "
            f"target >= {MEMORY_TARGET:,}  {verdict(memory_rate >= MEMORY_TARGET)}"
        )
        durable = one_per_transaction(
            os.path.join(directory, "durable.db"), build(durable_count, seed=2)
        )
        print(f"  SQLite FULL, one per transaction     {durable:>12,.0f} /s   ({durable_count:,})")

        schedulers: dict[int, SQLiteScheduler] = {}
        for size in sizes:
            follow_ups = everything if size == largest else build(size, seed=10 + size)
            scheduler, rate = fill(os.path.join(directory, f"claims-{size}.db"), follow_ups)
            schedulers[size] = scheduler
            print(
                f"  SQLite FULL, {BATCH:,} per transaction  {rate:>12,.0f} /s   "
                f"(filling the {size:,} file)"
            )

        print(f"\n2. claiming the next {CLAIM:,} due ({options.rounds} rounds, medians)")
        print(
            "  pending      claim    bare SELECT   ratio   per claimed   "
            "complete 1,000 (untimed in rounds)"
        )
        per_claim: dict[int, float] = {}
        ratios: dict[int, float] = {}
        medians: dict[int, float] = {}
        for size in sizes:
            claim_times, floor_times, complete = claims(schedulers[size], options.rounds)
            claim, floor = statistics.median(claim_times), statistics.median(floor_times)
            by_round = statistics.median(
                c / f for c, f in zip(claim_times, floor_times, strict=True)
            )
            medians[size], ratios[size] = claim, claim / floor
            per_claim[size] = claim / CLAIM
            print(
                f"  {size:>9,}  {claim * 1e3:7.2f} ms  {floor * 1e3:7.2f} ms   {ratios[size]:5.2f}x"
                f"   {per_claim[size] * 1e6:7.2f} us   {complete * 1e3:8.2f} ms"
                f"   (ratio by rounds {by_round:.2f}x; claims "
                f"{min(claim_times) * 1e3:.2f}-{max(claim_times) * 1e3:.2f} ms)"
            )
        memory_claim = in_memory_claim(everything, options.rounds)
        print(f"  in memory, {largest:,} pending: {memory_claim * 1e3:.2f} ms per 1,000 claimed")

        print("\n3. targets")
        top = sizes[-1]
        print(
            f"  claim / bare SELECT at {top:,}: {ratios[top]:.2f}x   target <= {RATIO_TARGET}  "
            f"{verdict(ratios[top] <= RATIO_TARGET)}"
        )
        print(
            f"  claim at {top:,}: {medians[top] * 1e3:.2f} ms   target <= {ABSOLUTE_TARGET_MS} ms"
            f"  {verdict(medians[top] * 1e3 <= ABSOLUTE_TARGET_MS)}"
        )
        flat = per_claim[top] / per_claim[sizes[0]]
        print(
            f"  per claimed follow-up, {top:,} / {sizes[0]:,}: {flat:.2f}x   "
            f"target <= {FLAT_TARGET} (flat)  {verdict(flat <= FLAT_TARGET)}"
        )
        print(
            f"  in-memory schedules: {memory_rate:,.0f} /s   target >= {MEMORY_TARGET:,}  "
            f"{verdict(memory_rate >= MEMORY_TARGET)}"
        )
        if options.quick:
            print("  (--quick: the targets are stated at 1,000,000 pending)")
        for scheduler in schedulers.values():
            scheduler.database.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"\ntotal run time {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
