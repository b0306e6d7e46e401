"""Child-process workers for tests/test_sqlite_processes.py (not a test module).

Two roles:

* ``python sqlite_worker.py DB LOG SEED``: a never-ending stream of desk calls on the SQLite
  file ``DB`` (several conversations at once, each driven through a full conversation), and
  after each call *returns* one line ``<conversation id> <version> <stage>`` appended to
  ``LOG`` and fsync'd. The parent kills it with SIGKILL somewhere in the stream.
* :func:`hammer`: run in a process (``multiprocessing``, "spawn" or "fork"), it hears on a
  small shared set of conversations, with and without ``expected_version``, and reports what
  the store accepted and refused.

Top-level functions only, importable by name, so that the "spawn" start method finds them.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from serviceplaybook import (
    Agent,
    ConcurrentUpdate,
    Customer,
    Issue,
    Money,
    Offer,
    OfferKind,
    Role,
    ServiceDesk,
)

AGENT = Agent(id="agent-7", name="Sam", role=Role.AGENT)
SENIOR = Agent(id="senior-2", name="Kim", role=Role.SENIOR_AGENT)

Step = Callable[[ServiceDesk, str], Any]


def open_conversation(desk: ServiceDesk, customer_id: str) -> str:
    """A new conversation for ``customer_id`` (a blender with a cracked jug)."""
    conversation = desk.open(
        customer=Customer(id=customer_id, name="Ann"),
        issue=Issue(
            category="damaged_item",
            severity="medium",
            summary="The blender arrived with a cracked jug",
            order_value=Money("120.00", "USD"),
        ),
        agent=AGENT,
    )
    return conversation.id


# One conversation, from the first message to its end: two offers (one declined, one
# accepted: a grant and a follow-up in the same unit of work), a reopening
# (the customer is back: the agent hands it up, a senior agent picks it up), a resolution without an
# offer (a second follow-up) and the follow-up's completion.
SCRIPT: tuple[Step, ...] = (
    lambda d, c: d.hear(c, "My blender arrived broken."),
    lambda d, c: d.ask(c, "What exactly is broken?"),
    lambda d, c: d.hear(c, "The jug has a crack along the side."),
    lambda d, c: d.summarize(c, "The jug of your new blender arrived cracked."),
    lambda d, c: d.confirm(c),
    lambda d, c: d.apologize(c),
    lambda d, c: d.propose(c, Offer(kind=OfferKind.CREDIT, value=Money("20", "USD"), id="o1")),
    lambda d, c: d.decline(c, "o1", "Not enough"),
    lambda d, c: d.propose(c, Offer(kind=OfferKind.CREDIT, value=Money("30", "USD"), id="o2")),
    lambda d, c: d.accept(c, "o2"),
    lambda d, c: d.reopen(c, "The replacement jug leaks."),
    lambda d, c: d.hear(c, "Water comes out at the bottom."),
    lambda d, c: d.escalate(c, "The fix did not hold; a senior agent should take it."),
    lambda d, c: d.pick_up(c, SENIOR),
    lambda d, c: d.summarize(c, "The replacement jug leaks at the bottom."),
    lambda d, c: d.confirm(c),
    lambda d, c: d.resolve(c, "Sent a new seal"),
    lambda d, c: d.complete_follow_up(c, "Works now, thanks"),
)


def conversation_calls(desk: ServiceDesk, customer_id: str) -> Iterator[tuple[str, int, str]]:
    """Drive one conversation through :data:`SCRIPT`; yields ``(id, version, stage)`` after
    each call returned."""
    cid = open_conversation(desk, customer_id)
    yield cid, 1, "greeting"
    for step in SCRIPT:
        outcome = step(desk, cid)
        yield cid, outcome.conversation.version, str(outcome.conversation.stage)


def crash_stream(db: str, log: str, seed: int, parallel: int = 3) -> None:
    """Forever: ``parallel`` conversations at a time, their calls interleaved at random; one
    fsync'd log line per returned call."""
    rng = random.Random(seed)
    desk = ServiceDesk.sqlite(db)
    tag = f"{os.getpid()}-{seed}"
    started = 0

    def fresh() -> Iterator[tuple[str, int, str]]:
        nonlocal started
        started += 1
        return conversation_calls(desk, f"cust-{tag}-{started}")

    streams = [fresh() for _ in range(parallel)]
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    while True:
        index = rng.randrange(parallel)
        try:
            cid, version, stage = next(streams[index])
        except StopIteration:
            streams[index] = fresh()
            continue
        os.write(fd, f"{cid} {version} {stage}\n".encode())
        os.fsync(fd)


def hammer(
    target: ServiceDesk | str,
    cids: list[str],
    number: int,
    barrier: Any,
    results: Any,
    seconds: float,
    max_calls: int,
    stale_reads: bool = True,
) -> dict[str, Any]:
    """Hear on ``cids`` until ``seconds`` passed or ``max_calls`` were made; put the report
    on ``results`` (unless ``None``) and return it: the accepted calls as
    ``(cid, version, text)``, the number of refusals, any other error.

    ``target`` is a path (a new desk) or a desk made by the parent before ``fork()``. Half
    of the calls carry no ``expected_version`` (they must always succeed); the others pass
    a version read earlier: the one seen a few calls ago (``stale_reads``, mostly refused)
    or one read just before (mostly accepted).
    """
    report: dict[str, Any] = {
        "number": number,
        "pid": os.getpid(),
        "accepted": [],
        "conflicts": 0,
        "checked_accepted": 0,
        "other": [],
    }
    try:
        if isinstance(target, ServiceDesk):
            desk = target
            database = desk.storage.database  # type: ignore[attr-defined]
            # The desk closes its connection before fork() and forgets the parent's in the
            # child, which must open its own.
            forked = multiprocessing.parent_process() is not None
            assert not forked or database._connection is None, "inherited a connection"
            report["forked"] = forked
        else:
            desk = ServiceDesk.sqlite(target)
            forked = False
        rng = random.Random(number)
        seen: dict[str, int] = {cid: desk.get(cid).version for cid in cids}
        barrier.wait(timeout=60)
        deadline = time.monotonic() + seconds
        calls = 0
        while calls < max_calls and time.monotonic() < deadline:
            calls += 1
            cid = rng.choice(cids)
            text = f"w{number}m{calls} any news on my order?"
            checked = rng.random() < 0.5
            try:
                if not checked:
                    outcome = desk.hear(cid, text)
                else:
                    if not stale_reads or rng.random() < 0.3:
                        seen[cid] = desk.get(cid).version
                    outcome = desk.hear(cid, text, expected_version=seen[cid])
                    report["checked_accepted"] += 1
            except ConcurrentUpdate as refused:
                report["conflicts"] += 1
                if refused.expected != seen[cid] or refused.actual <= refused.expected:
                    report["other"].append(f"odd refusal: {refused!r} (expected {seen[cid]})")
                seen[cid] = refused.actual
                continue
            except Exception as error:  # reported, not raised: the parent asserts none
                report["other"].append(f"{type(error).__qualname__}: {error}")
                continue
            version = outcome.conversation.version
            if outcome.events != ("hear",):
                report["other"].append(f"unexpected events {outcome.events} for {text!r}")
            report["accepted"].append((cid, version, text))
            # Keep the version of an earlier call now and then: stale on the next use.
            if not stale_reads or rng.random() < 0.5:
                seen[cid] = version
        report["calls"] = calls
        if forked:
            database = desk.storage.database  # type: ignore[attr-defined]
            report["own_connection"] = (
                database._connection is not None and database._pid == os.getpid()
            )
    except BaseException:
        report["other"].append(traceback.format_exc())
    if results is not None:
        results.put(report)
    return report


def outlive_parent_close(
    desk: ServiceDesk, cid: str, called: Any, closed: Any, results: Any, calls: int = 10
) -> None:
    """In a child forked while the parent's ``desk`` was open: make ``calls`` calls, let the
    parent close its desk, make ``calls`` more; put the version the last call returned."""
    try:
        for number in range(calls):
            desk.hear(cid, f"before close {number}")
        called.set()
        if not closed.wait(30):
            raise TimeoutError("the parent did not close its desk")
        version = 0
        for number in range(calls):
            version = desk.hear(cid, f"after close {number}").conversation.version
        results.put(version)
    except BaseException:
        results.put(traceback.format_exc())


if __name__ == "__main__":
    crash_stream(sys.argv[1], sys.argv[2], int(sys.argv[3]))
