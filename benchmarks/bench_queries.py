"""Conversation queries, the SLA checker and a customer's erasure on a SQLite file of many
conversations: what a queue page, a checker run and an erasure (with the file compacted)
cost as the file grows.

Run from the repository root::

    python benchmarks/bench_queries.py            # 20,000 conversations
    python benchmarks/bench_queries.py --quick    # 2,000

It prints the figures; there is no pass or fail.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from serviceplaybook import Agent, Customer, Issue, Role, ServiceDesk
from serviceplaybook.testing import FakeClock, SequentialIds


def timed(call: object, repeat: int = 20) -> float:
    """The median of ``repeat`` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 conversations")
    count = 2_000 if parser.parse_args().quick else 20_000
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "desk.db"
        desk = ServiceDesk.sqlite(path, clock=clock, ids=SequentialIds("c"), synchronous="NORMAL")
        agents = [Agent(id=f"agent-{n}") for n in range(50)]
        start = time.perf_counter()
        with desk.batch():
            for n in range(count):
                cid = desk.open(
                    customer=Customer(id=f"cust-{n % (count // 4)}", name="Ann Example"),
                    issue=Issue(category="billing", severity="medium", summary="Charged twice"),
                    agent=agents[n % len(agents)],
                ).id
                desk.hear(cid, "I was charged twice for one order.")
                if n % 10 == 0:
                    desk.hear(cid, "I want to speak to your manager.")
                elif n % 3 == 0:
                    desk.ask(cid, "Which card was charged?")
                clock.advance(seconds=7)
        built = time.perf_counter() - start
        size = path.stat().st_size
        print(f"{count} conversations written in {built:.1f} s ({size / 1e6:.1f} MB)")
        figures = {
            "queue page: escalated to a supervisor, 50": lambda: desk.find(
                stages="escalated", escalated_to=Role.SUPERVISOR, limit=50
            ),
            "inbox page: one agent, waiting on them, 50": lambda: desk.find(
                agent_id="agent-7", waiting_on="agent", limit=50
            ),
            "one customer's conversations": lambda: desk.find(customer_id="cust-7"),
            "SLA due page, 100": lambda: desk.find(sla_due_by=clock(), limit=100),
        }
        for name, call in figures.items():
            print(f"{name:45} {timed(call):8.2f} ms")
        clock.advance(timedelta(days=1))
        start = time.perf_counter()
        checked = desk.check_slas()
        took = time.perf_counter() - start
        print(
            f"{'SLA checker run (' + str(len(checked)) + ' due)':45} {took * 1000:8.0f} ms "
            f"({took * 1e6 / max(1, len(checked)):.0f} us a conversation)"
        )
        start = time.perf_counter()
        erasure = desk.erase_customer("cust-7", compact=False)
        erased = time.perf_counter() - start
        storage = desk.storage
        start = time.perf_counter()
        storage.compact()
        compacted = time.perf_counter() - start
        print(
            f"{'erase one customer (' + str(erasure.conversations) + ' conversations)':45} "
            f"{erased * 1000:8.1f} ms, then compacting the file {compacted * 1000:.0f} ms"
        )
        desk.shutdown()


if __name__ == "__main__":
    main()
