"""Child-process worker for tests/test_scheduler_workers.py (not a test module).

:func:`deliver` runs in a ``multiprocessing`` process ("spawn"): it claims follow-ups from a
SQLite file in small batches with a real clock and a short lease, "delivers" each one, and
completes it with the claim's attempt. Before it trusts anything to the database it appends
one line to its own log, through ``os.write`` so that a line written survives a SIGKILL:

* ``claim <id> <attempts> <claimed at> <lease end>`` for every follow-up it claimed;
* ``deliver <id> <attempts> <at>`` for every delivery, just before completing it.

With ``die_after`` it kills itself with SIGKILL after that many claimed batches, holding
the last batch undelivered: its leases lapse and the other workers must deliver them.

A top-level function, importable by name, so that the "spawn" start method finds it.
"""

from __future__ import annotations

import os
import random
import signal
import time
import traceback
from datetime import UTC, datetime, timedelta
from typing import Any

from serviceplaybook import SQLiteScheduler


def deliver(
    db: str,
    log: str,
    number: int,
    lease_seconds: float,
    barrier: Any,
    results: Any,
    seconds: float,
    die_after: int | None = None,
) -> None:
    """Claim and deliver until nothing is left (or ``seconds`` passed); put a report."""
    report: dict[str, Any] = {"number": number, "pid": os.getpid(), "batches": 0, "error": None}
    try:
        scheduler = SQLiteScheduler(db)
        lease = timedelta(seconds=lease_seconds)
        rng = random.Random(number)
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        barrier.wait(timeout=60)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            now = datetime.now(UTC)
            batch = scheduler.claim_due(now, limit=rng.randint(1, 8), lease=lease)
            if not batch:
                if not scheduler.pending():
                    break  # everything was delivered
                time.sleep(0.02)  # the rest is held by others, or by a dead worker's lease
                continue
            report["batches"] += 1
            until = now + lease
            os.write(
                fd,
                "".join(
                    f"claim {f.id} {f.attempts} {now.isoformat()} {until.isoformat()}\n"
                    for f in batch
                ).encode(),
            )
            if die_after is not None and report["batches"] >= die_after:
                os.kill(os.getpid(), signal.SIGKILL)  # dies holding this batch
            for follow_up in batch:
                time.sleep(rng.uniform(0, 0.003))  # sending takes a moment
                os.write(
                    fd,
                    f"deliver {follow_up.id} {follow_up.attempts} "
                    f"{datetime.now(UTC).isoformat()}\n".encode(),
                )
                scheduler.complete(follow_up.id, attempt=follow_up.attempts)
        os.close(fd)
        scheduler.database.close()
    except BaseException:
        report["error"] = traceback.format_exc()
    results.put(report)
