"""Child-process workers for tests/test_postgres_processes.py (not a test module).

* ``python postgres_worker.py DSN LOG SEED``: a never-ending stream of desk calls on the
  PostgreSQL database (the conversations of ``sqlite_worker.SCRIPT``, several at a time);
  after each call *returns*, one line ``<conversation id> <version> <stage>`` appended to
  ``LOG`` and fsync'd. A call that fails with ``StorageError`` (the server restarted under
  it) writes ``? <conversation id>`` (the call's outcome is unknown: its commit may or may
  not have happened) and the stream leaves that conversation for a new one.
* :func:`race`: run in a "spawn" process, it hears on one shared conversation, then accepts
  an offer for a customer that all the racers share, and reports what was accepted.

Top-level functions only, importable by name, so that the "spawn" start method finds them.
"""

from __future__ import annotations

import os
import random
import sys
import time
import traceback
from collections.abc import Iterator
from typing import Any

from serviceplaybook import (
    ConcurrentUpdate,
    Money,
    Offer,
    OfferKind,
    PolicyViolation,
    ServiceDesk,
    StorageError,
)
from sqlite_worker import conversation_calls, open_conversation


def stream(dsn: str, log: str, seed: int, parallel: int = 3) -> None:
    """Forever: ``parallel`` conversations at a time, their calls interleaved at random; one
    fsync'd log line per returned call (and per call whose outcome is unknown)."""
    rng = random.Random(seed)
    desk = ServiceDesk.postgres(dsn, timeout=5)
    tag = f"{os.getpid()}-{seed}"
    started = 0

    def fresh() -> Iterator[tuple[str, int, str]]:
        nonlocal started
        started += 1
        return conversation_calls(desk, f"cust-{tag}-{started}")

    streams = [fresh() for _ in range(parallel)]
    current: list[str | None] = [None] * parallel
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    while True:
        index = rng.randrange(parallel)
        try:
            cid, version, stage = next(streams[index])
        except StopIteration:
            streams[index] = fresh()
            current[index] = None
            continue
        except StorageError:
            # The server went away under the call: its commit may or may not have happened.
            os.write(fd, f"? {current[index] or '-'}\n".encode())
            os.fsync(fd)
            streams[index] = fresh()
            current[index] = None
            time.sleep(0.05)
            continue
        current[index] = cid
        os.write(fd, f"{cid} {version} {stage}\n".encode())
        os.fsync(fd)


def prepare_window(dsn: str, customer_id: str, racers: int) -> list[str]:
    """``racers`` conversations of one customer, each with an open offer of 40 USD credit
    (an agent's authority: 50 per offer, 150 per customer in 30 days, 3 claims)."""
    desk = ServiceDesk.postgres(dsn)
    cids = []
    for _ in range(racers):
        cid = open_conversation(desk, customer_id)
        desk.hear(cid, "My blender arrived broken.")
        desk.summarize(cid, "Your blender arrived broken.")
        desk.confirm(cid)
        desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("40", "USD"), id="o1"))
        cids.append(cid)
    desk.storage.close()  # type: ignore[attr-defined]
    return cids


def race(
    dsn: str, shared: str, own: str, number: int, barrier: Any, results: Any, calls: int
) -> None:
    """Hear ``calls`` times on the ``shared`` conversation (half with a version read just
    before: some refused), then, after every racer is ready, accept the offer of its ``own``
    conversation; put the report on ``results``."""
    report: dict[str, Any] = {"number": number, "accepted": [], "conflicts": 0, "other": []}
    try:
        desk = ServiceDesk.postgres(dsn)
        rng = random.Random(number)
        barrier.wait(timeout=60)
        for call in range(calls):
            text = f"racer {number} message {call}"
            try:
                if rng.random() < 0.5:
                    outcome = desk.hear(shared, text)
                else:
                    version = desk.get(shared).version
                    outcome = desk.hear(shared, text, expected_version=version)
            except ConcurrentUpdate:
                report["conflicts"] += 1
                continue
            report["accepted"].append((outcome.conversation.version, text))
        barrier.wait(timeout=60)
        try:
            desk.accept(own, "o1")
            report["granted"] = True
        except PolicyViolation as refused:
            report["granted"] = False
            report["refusal"] = [reason.code for reason in refused.reasons]
        desk.storage.close()  # type: ignore[attr-defined]
    except BaseException:
        report["other"].append(traceback.format_exc())
    results.put(report)


if __name__ == "__main__":
    stream(sys.argv[1], sys.argv[2], int(sys.argv[3]))
