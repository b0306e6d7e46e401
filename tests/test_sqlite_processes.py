"""SQLite with real processes on real files: crash safety under SIGKILL, and many processes
writing the same conversations at once.

The child processes run functions of ``tests/sqlite_worker.py``: ``python sqlite_worker.py``
for the stream that gets killed, :func:`sqlite_worker.hammer` in ``multiprocessing``
processes ("spawn", and "fork" with a desk the parent made before forking).
"""

from __future__ import annotations

import multiprocessing
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import sqlite_worker
from serviceplaybook import Conversation, JournalEntry, ServiceDesk, Stage
from sqlite_worker import conversation_calls, hammer, open_conversation

WORKER = Path(sqlite_worker.__file__)

# -- crash safety ---------------------------------------------------------------------------


def logged_calls(log: Path) -> list[tuple[str, int, str]]:
    """The complete lines of the side log: ``(conversation id, version, stage)``."""
    if not log.exists():
        return []
    text = log.read_bytes().decode()
    lines = text.split("\n")[:-1]  # a line cut by the kill has no newline yet
    calls = []
    for line in lines:
        cid, version, stage = line.split(" ")
        calls.append((cid, int(version), stage))
    return calls


def run_and_kill(db: Path, log: Path, seed: int, calls: int) -> None:
    """Start the stream on ``db``; SIGKILL it once the log holds ``calls`` lines more than
    now (plus a random few milliseconds, so the kill lands anywhere in a call)."""
    if log.exists():  # a line the last kill cut short is dropped, not continued
        text = log.read_bytes()
        log.write_bytes(text[: text.rfind(b"\n") + 1])
    target = len(logged_calls(log)) + calls
    errors = db.with_name(f"worker-{seed}.err")
    with errors.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(WORKER), str(db), str(log), str(seed)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 30
        while len(logged_calls(log)) < target:
            if child.poll() is not None:
                pytest.fail(f"the worker stopped by itself:\n{errors.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the worker made fewer than {target} calls in 30 s")
            time.sleep(0.002)
        time.sleep(random.Random(seed).uniform(0, 0.004))
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, errors.read_text()


def adds_a_message(entry: JournalEntry) -> bool:
    if entry.kind in ("hear", "ask", "summarize", "say"):
        return True
    # the customer's words, when a customer event carried any
    if entry.kind in ("reopen", "confirm", "correct", "accept"):
        return bool(entry.data.get("text"))
    if entry.kind == "decline":
        return bool(entry.data.get("reason"))
    return entry.kind == "apologize" and "apology" in entry.data


def check_file(db: Path, logged: list[tuple[str, int, str]], kills: int) -> dict[str, Conversation]:
    """Everything a killed stream may leave: a sound file, every returned call stored, and
    each unit of work entirely there or entirely absent."""
    with closing(sqlite3.connect(db)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        ids = [row[0] for row in raw.execute("SELECT id FROM conversations")]
        journaled = {row[0] for row in raw.execute("SELECT DISTINCT conversation_id FROM journal")}
        grants = {row[0] for row in raw.execute("SELECT key FROM grants")}
        follow_ups = {row[0] for row in raw.execute("SELECT id FROM follow_ups")}
    # A conversation without its journal, or journal entries without their conversation
    # (an open() cut in half), would show here.
    assert journaled == set(ids)

    desk = ServiceDesk.sqlite(db)
    stored: dict[str, Conversation] = {}
    expected_grants: set[str] = set()
    expected_follow_ups: set[str] = set()
    for cid in ids:
        conversation = desk.get(cid)
        history = desk.history(cid)
        # version == len(history), the seqs gapless, and the last entry is the change that
        # made the stored conversation: a conversation change without its journal entry
        # (or the reverse) breaks one of these.
        assert [entry.seq for entry in history] == list(range(1, conversation.version + 1))
        assert history[-1].stage == conversation.stage
        assert history[-1].at == conversation.updated_at
        kinds = [entry.kind for entry in history]
        assert len(conversation.messages) == sum(map(adds_a_message, history))
        # The grant and the follow-up are written in the same unit of work as the entry.
        expected_grants.update(
            f"{cid}:{entry.data['offer_id']}" for entry in history if entry.kind == "accept"
        )
        expected_follow_ups.update(
            f"{cid}:follow-up:{number}"
            for number in range(1, kinds.count("schedule_follow_up") + 1)
        )
        assert len(conversation.follow_ups) == kinds.count("schedule_follow_up")
        stored[cid] = conversation
    assert grants == expected_grants
    assert follow_ups == expected_follow_ups

    # Every call that returned (and was logged) is stored, at its version or beyond.
    latest: dict[str, tuple[int, str]] = {}
    for cid, version, stage in logged:
        assert cid in stored, f"conversation {cid} was returned by open() but is not stored"
        assert stored[cid].version >= version, (cid, stored[cid].version, version)
        latest[cid] = max(latest.get(cid, (0, "")), (version, stage))
    for cid, (version, stage) in latest.items():
        if stored[cid].version == version:
            assert stored[cid].stage == stage
    # Only the call in flight at a kill may be stored without having been logged.
    ahead = [cid for cid in stored if stored[cid].version > latest.get(cid, (0, ""))[0]]
    assert len(ahead) <= kills, ahead
    desk.storage.close()
    return stored


HEARING = (Stage.LISTENING, Stage.CLARIFYING, Stage.CONFIRMING, Stage.RESOLVING)


@pytest.mark.parametrize(("seed", "calls"), [(1, 150), (2, 300), (3, 450)])
def test_a_killed_writer_leaves_every_returned_call_and_no_half_call(
    tmp_path: Path, seed: int, calls: int
) -> None:
    db = tmp_path / "desk.sqlite"
    log = tmp_path / "returned.log"

    run_and_kill(db, log, seed, calls)
    first = check_file(db, logged_calls(log), kills=1)
    assert len(first) >= 3

    # A second writer takes over the file, hot journal and all, and is killed in turn.
    run_and_kill(db, log, seed + 100, 100 + 37 * seed)
    logged = logged_calls(log)
    assert len(logged) >= calls + 100
    second = check_file(db, logged, kills=2)
    assert set(first) <= set(second)

    # The file still takes calls: a whole new conversation, and more on an old one.
    desk = ServiceDesk.sqlite(db)
    made = list(conversation_calls(desk, "cust-after-the-crash"))
    # accept and resolve each add a follow-up event to their call
    assert made[-1][1:] == (len(made) + 2, Stage.CLOSED)
    talking = [cid for cid, c in second.items() if c.stage in HEARING]
    for cid in talking:
        before = desk.get(cid).version
        outcome = desk.hear(cid, "Still there?")
        assert outcome.conversation.version == before + 1
        made.append((cid, outcome.conversation.version, outcome.conversation.stage))
    desk.storage.close()
    check_file(db, logged + made, kills=2)


# -- concurrency ----------------------------------------------------------------------------

SECONDS = 2.5
MAX_CALLS = 200


def shared_conversations(db: Path, count: int = 4) -> tuple[ServiceDesk, list[str]]:
    desk = ServiceDesk.sqlite(db)
    cids = [open_conversation(desk, f"cust-{number}") for number in range(count)]
    for cid in cids:
        desk.hear(cid, "My blender arrived broken.")
    return desk, cids


def collect(queue: Any, processes: list[Any], count: int) -> list[dict[str, Any]]:
    reports = [queue.get(timeout=120) for _ in range(count)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return reports


def check_concurrent(db: Path, cids: list[str], reports: list[dict[str, Any]]) -> Counter[str]:
    """No error but refusals, no lost update, gapless journals; returns the counts."""
    others = [other for report in reports for other in report["other"]]
    assert others == []  # in particular no "database is locked"

    accepted = [call for report in reports for call in report["accepted"]]
    versions = Counter((cid, version) for cid, version, _ in accepted)
    assert [key for key, seen in versions.items() if seen > 1] == []  # no version twice

    with closing(sqlite3.connect(db)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    desk = ServiceDesk.sqlite(db)
    by_conversation: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for cid, version, text in accepted:
        by_conversation[cid].append((version, text))
    for cid in cids:
        conversation = desk.get(cid)
        history = desk.history(cid)
        assert [entry.seq for entry in history] == list(range(1, conversation.version + 1))
        # open and the parent's first hear, then exactly one version per accepted call
        version_count = conversation.version
        assert version_count == 2 + len(by_conversation[cid])
        for version, text in by_conversation[cid]:
            entry = history[version - 1]
            assert (entry.kind, entry.data["text"]) == ("hear", text)
            # each hear adds one message: the parent's first, then one per version
            assert conversation.messages[version - 2].text == text
        assert len(conversation.messages) == version_count - 1
    desk.storage.close()

    counts = Counter(
        calls=sum(report["calls"] for report in reports),
        accepted=len(accepted),
        accepted_with_expected_version=sum(report["checked_accepted"] for report in reports),
        concurrent_updates=sum(report["conflicts"] for report in reports),
    )
    assert counts["calls"] == counts["accepted"] + counts["concurrent_updates"]
    assert counts["concurrent_updates"] > 0  # stale writers are refused...
    assert counts["accepted_with_expected_version"] > 0  # ...fresh ones are not
    return counts


def test_eight_spawned_processes_on_shared_conversations(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    desk, cids = shared_conversations(db)
    desk.storage.close()

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(8)
    queue = context.Queue()
    processes = [
        context.Process(
            target=hammer, args=(str(db), cids, number, barrier, queue, SECONDS, MAX_CALLS)
        )
        for number in range(8)
    ]
    for process in processes:
        process.start()
    try:
        reports = collect(queue, processes, 8)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    assert len({report["pid"] for report in reports}) == 8
    counts = check_concurrent(db, cids, reports)
    print(f"spawn: {dict(counts)}")


def test_forked_children_open_their_own_connection(tmp_path: Path) -> None:
    db = tmp_path / "forked.sqlite"
    desk, cids = shared_conversations(db)  # the parent's connection is open and used

    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    queue = context.Queue()
    processes = [
        context.Process(
            target=hammer, args=(desk, cids, number, barrier, queue, SECONDS / 2, MAX_CALLS)
        )
        for number in (1, 2, 3)
    ]
    for process in processes:
        process.start()
    try:
        # The parent keeps writing through its own connection at the same time.
        parent = hammer(desk, cids, 0, barrier, None, SECONDS / 2, MAX_CALLS)
        children = collect(queue, processes, 3)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    assert [report.get("forked") for report in children] == [True] * 3
    assert [report.get("own_connection") for report in children] == [True] * 3
    assert not parent["forked"]
    counts = check_concurrent(db, cids, [parent, *children])
    desk.hear(cids[0], "Anyone?")  # the parent's connection still works
    desk.storage.close()
    print(f"fork: {dict(counts)}")


def test_a_forked_child_keeps_its_calls_when_the_parent_closes_its_desk(
    tmp_path: Path,
) -> None:
    db = tmp_path / "outlived.sqlite"
    desk, [cid] = shared_conversations(db, count=1)

    context = multiprocessing.get_context("fork")
    called, closed = context.Event(), context.Event()
    queue = context.Queue()
    child = context.Process(
        target=sqlite_worker.outlive_parent_close, args=(desk, cid, called, closed, queue)
    )
    child.start()
    try:
        assert called.wait(30)
        desk.storage.close()
        closed.set()
        returned = queue.get(timeout=30)
        child.join(timeout=30)
    finally:
        if child.is_alive():
            child.kill()
    if not isinstance(returned, int):
        pytest.fail(f"the child failed:\n{returned}")  # not the bug this test is about
    assert returned == 2 + 20

    fresh = ServiceDesk.sqlite(db)
    try:
        assert fresh.get(cid).version == returned  # today: 12, the last ten calls are gone
    finally:
        fresh.storage.close()
