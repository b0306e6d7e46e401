"""The insights report over a big SQLite journal: the journal's own aggregate queries (the
digest) against a Python loop over ``history()`` for every conversation, in the same run.

The journal is made by a real desk playing a support team's weeks (tests/insights_world.py:
complaints, questions, apologies, offers accepted and declined, escalations, SLA steps,
reopens, follow-ups with feedback), then copied under new conversation ids until it holds
the entries asked for: every row is one the desk wrote.

Run from the repository root::

    python benchmarks/bench_insights.py                 # 1,000,000 entries
    python benchmarks/bench_insights.py --entries 100000

Targets (issue 17): the full report at most 1/5 of the loop's time, and under 10 s.
It prints the figures; there is no pass or fail.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import insights_world  # noqa: E402
from serviceplaybook import BusinessCalendar, ServiceDesk  # noqa: E402
from serviceplaybook._records.digest import digest_histories  # noqa: E402
from serviceplaybook.adapters.sqlite import SQLiteStorage  # noqa: E402
from serviceplaybook.insights import PatternFinder, report  # noqa: E402
from serviceplaybook.insights._compute import build_report  # noqa: E402
from serviceplaybook.testing import FakeClock, SequentialIds  # noqa: E402

BASE_CONVERSATIONS = 3_000


def build(path: Path, entries: int) -> None:
    clock = FakeClock(insights_world.START)
    with (
        ServiceDesk.sqlite(path, clock=clock, ids=SequentialIds("c"), synchronous="NORMAL") as desk,
        desk.batch(),
    ):
        insights_world.play(desk, clock, conversations=BASE_CONVERSATIONS)
    storage = SQLiteStorage(path)
    connection = storage.database.connection()
    [(base,)] = connection.execute("SELECT COUNT(*) FROM journal").fetchall()
    copy = 1
    while base * (copy + 1) <= entries:
        with connection:
            connection.execute(
                "INSERT INTO journal SELECT conversation_id || '~' || ?, seq, at, kind, actor, "
                "stage, data FROM journal WHERE instr(conversation_id, '~') = 0",
                (copy,),
            )
        copy += 1
    storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="journal entries")
    parser.add_argument(
        "--keep", metavar="FILE", type=Path, help="build the journal in FILE, or reuse FILE"
    )
    options = parser.parse_args()
    calendar = BusinessCalendar.standard("UTC")
    with tempfile.TemporaryDirectory() as folder:
        path = options.keep or Path(folder) / "desk.db"
        if not path.exists():
            start = time.perf_counter()
            build(path, options.entries)
            print(f"built the journal in {time.perf_counter() - start:.1f} s")
        with SQLiteStorage(path) as storage:
            connection = storage.database.connection()
            [(entries, conversations)] = connection.execute(
                "SELECT COUNT(*), COUNT(DISTINCT conversation_id) FROM journal"
            ).fetchall()
            print(f"{entries:,} journal entries, {conversations:,} conversations")

            start, cpu = time.perf_counter(), time.process_time()
            digest = storage.journal.digest()
            digest_seconds = time.perf_counter() - start
            start, cpu = time.perf_counter(), time.process_time()
            fast = report(storage, calendar=calendar)
            report_seconds = time.perf_counter() - start
            report_cpu = time.process_time() - cpu

            start, cpu = time.perf_counter(), time.process_time()
            ids = [
                row[0] for row in connection.execute("SELECT DISTINCT conversation_id FROM journal")
            ]
            histories = [storage.journal.history(cid) for cid in ids]
            read_seconds = time.perf_counter() - start
            built = build_report(digest_histories(histories), calendar, calendar_text=fast.calendar)
            slow = PatternFinder().find(built)
            loop_seconds = time.perf_counter() - start
            loop_cpu = time.process_time() - cpu

        assert digest.conversations == digest_histories(histories).conversations
        assert built.overall == fast.overall
        assert tuple(slow) == fast.patterns
        print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"digest (aggregate SQL) alone:     {digest_seconds:6.2f} s")
        print(f"full report via the digest:       {report_seconds:6.2f} s ({report_cpu:.2f} s CPU)")
        print(
            f"loop over history() for every conversation, same report: {loop_seconds:6.2f} s "
            f"({loop_cpu:.2f} s CPU; reading alone {read_seconds:.2f} s)"
        )
        share = report_seconds / loop_seconds
        print(
            f"report / loop: {share:.3f} wall, {report_cpu / loop_cpu:.3f} CPU (target <= 0.2: "
            f"{'met' if share <= 0.2 else 'MISSED'}); report under 10 s: "
            f"{'met' if report_seconds < 10 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
