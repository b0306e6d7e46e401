"""Four worker processes claim follow-ups from one SQLite file, with a real clock.

Each worker (``tests/scheduler_worker.py``) logs every claim and every delivery before it
acts on it. One more worker claims a few batches and dies by SIGKILL holding its last one.
Afterwards: every follow-up was delivered and is ``DELIVERED``; no follow-up was claimed
twice under one attempt number; a follow-up was claimed again only once the lease of its
previous claim had run out, so no two deliveries of it overlap a lease; and the follow-ups
the dead worker held were delivered by the others after its lease lapsed.
"""

from __future__ import annotations

import itertools
import multiprocessing
import signal
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler_worker import deliver
from serviceplaybook import Channel, FollowUp, FollowUpStatus, SQLiteScheduler

FOLLOW_UPS = 300
WORKERS = 4
LEASE_SECONDS = 2.0
SECONDS = 60.0


def schedule(db: Path) -> list[str]:
    scheduler = SQLiteScheduler(db)
    start = datetime.now(UTC) - timedelta(hours=1)
    ids = []
    with scheduler.database.transaction():
        for number in range(FOLLOW_UPS):
            follow_up = FollowUp(
                id=f"fu-{number:04d}",
                key=f"conv-{number}:follow-up:1",
                conversation_id=f"conv-{number}",
                customer_id=f"cust-{number % 17}",
                channel=Channel.EMAIL,
                due_at=start + timedelta(seconds=number),
            )
            scheduler.schedule(follow_up)
            ids.append(follow_up.id)
    scheduler.database.close()
    return ids


def read_logs(logs: list[Path]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Claims and deliveries per follow-up id, each with the log (worker) it came from."""
    claims: dict[str, list[Any]] = defaultdict(list)
    deliveries: dict[str, list[Any]] = defaultdict(list)
    for worker, log in enumerate(logs):
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            kind, follow_up_id, attempts, *times = line.split(" ")
            stamps = [datetime.fromisoformat(t) for t in times]
            if kind == "claim":
                claims[follow_up_id].append((int(attempts), stamps[0], stamps[1], worker))
            else:
                deliveries[follow_up_id].append((int(attempts), stamps[0], worker))
    return claims, deliveries


def test_four_workers_deliver_everything_once_per_lease(tmp_path: Path) -> None:
    db = tmp_path / "follow-ups.db"
    ids = schedule(db)
    logs = [tmp_path / f"worker-{number}.log" for number in range(WORKERS + 1)]
    dying = WORKERS  # the extra worker, which dies holding a batch

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS + 1)
    queue = context.Queue()
    processes = [
        context.Process(
            target=deliver,
            args=(str(db), str(logs[number]), number, LEASE_SECONDS, barrier, queue, SECONDS),
            kwargs={"die_after": 3 if number == dying else None},
        )
        for number in range(WORKERS + 1)
    ]
    for process in processes:
        process.start()
    try:
        reports = [queue.get(timeout=120) for _ in range(WORKERS)]
        for process in processes:
            process.join(timeout=60)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    assert [report["error"] for report in reports] == [None] * WORKERS
    assert processes[dying].exitcode == -signal.SIGKILL
    assert [p.exitcode for p in processes[:WORKERS]] == [0] * WORKERS

    claims, deliveries = read_logs(logs)
    scheduler = SQLiteScheduler(db)
    try:
        # Every follow-up delivered, and recorded so.
        assert sorted(deliveries) == ids
        assert {scheduler.status(i) for i in ids} == {FollowUpStatus.DELIVERED}
        assert scheduler.pending() == []
        for follow_up_id, claimed in claims.items():
            claimed.sort()
            attempts = [c[0] for c in claimed]
            # Claims are atomic: one claim per attempt number, counting up from 1.
            assert attempts == list(range(1, len(claimed) + 1)), (follow_up_id, claimed)
            # Claimed again only once the previous lease ended.
            for (_, _, until, _), (_, again, _, _) in itertools.pairwise(claimed):
                assert again >= until, (follow_up_id, claimed)
            # A delivery happens under a claim that was the latest one while its lease held.
            for attempt, at, worker in deliveries[follow_up_id]:
                _, start, until, claimer = claimed[attempt - 1]
                assert worker == claimer
                assert start <= at
        # The dead worker's last batch: claimed, never delivered by it, delivered by others.
        held = {i for i, c in claims.items() if any(claim[3] == dying for claim in c)}
        undelivered = held - {i for i, d in deliveries.items() if any(x[2] == dying for x in d)}
        assert undelivered, "the dying worker should have died holding a batch"
        for follow_up_id in undelivered:
            taken_over = claims[follow_up_id][-1]
            assert taken_over[3] != dying
            assert taken_over[0] >= 2
        worked = [report["batches"] for report in reports]
        print(f"batches per worker: {worked}; taken over from the dead worker: {len(undelivered)}")
        assert sum(1 for batches in worked if batches) >= 2  # they really shared the work
    finally:
        scheduler.database.close()
