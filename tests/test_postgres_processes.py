"""PostgreSQL with real processes and a real server: a desk process killed with SIGKILL, eight
processes racing on one conversation and on one customer's authority window, a connection
dropped in the middle of a transaction, and the server restarted under load.

Child processes run ``tests/postgres_worker.py``. What must hold after each fault: every call
that returned is stored; a unit of work is there entirely or not at all (conversation,
journal, grant, follow-up); nothing is granted twice or beyond the window.
"""

from __future__ import annotations

import multiprocessing
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import postgres_server
import postgres_worker
from serviceplaybook import Conversation, Money, ServiceDesk, Stage, StorageError
from sqlite_worker import conversation_calls, open_conversation
from test_sqlite_processes import adds_a_message

WORKER = Path(postgres_worker.__file__)


@pytest.fixture
def dsn() -> str:
    """A connection string on a new, empty schema of the session's server."""
    return postgres_server.server().fresh_schema()


def read_log(log: Path) -> tuple[list[tuple[str, int, str]], int]:
    """The complete lines of a stream's log: the returned calls, and how many calls ended
    with their outcome unknown."""
    if not log.exists():
        return [], 0
    calls, doubts = [], 0
    for line in log.read_bytes().decode().split("\n")[:-1]:  # a cut line has no newline
        if line.startswith("? "):
            doubts += 1
            continue
        cid, version, stage = line.split(" ")
        calls.append((cid, int(version), stage))
    return calls, doubts


def start_stream(dsn: str, log: Path, seed: int) -> subprocess.Popen[bytes]:
    errors = log.with_name(f"stream-{seed}.err")
    with errors.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, str(WORKER), dsn, str(log), str(seed)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def wait_for_calls(child: subprocess.Popen[bytes], log: Path, target: int) -> None:
    deadline = time.monotonic() + 60
    while len(read_log(log)[0]) < target:
        if child.poll() is not None:
            pytest.fail(f"the stream stopped by itself:\n{log.with_suffix('.err')}")
        if time.monotonic() > deadline:
            pytest.fail(f"the stream made fewer than {target} calls in 60 s")
        time.sleep(0.002)


def check_database(
    dsn: str, logged: list[tuple[str, int, str]], unknown: int
) -> dict[str, Conversation]:
    """Everything a killed stream (or a restarted server) may leave: every returned call
    stored, and each unit of work entirely there or entirely absent. ``unknown``: the calls
    whose outcome nobody learnt (killed in flight, or the server gone at the commit)."""
    import psycopg

    with psycopg.connect(dsn) as raw:
        ids = [row[0] for row in raw.execute("SELECT id FROM conversations")]
        journaled = {row[0] for row in raw.execute("SELECT DISTINCT conversation_id FROM journal")}
        grants = {row[0] for row in raw.execute("SELECT key FROM grants")}
        follow_ups = {row[0] for row in raw.execute("SELECT id FROM follow_ups")}
    assert journaled == set(ids)  # no conversation without its journal, nor the reverse

    desk = ServiceDesk.postgres(dsn)
    stored: dict[str, Conversation] = {}
    expected_grants: set[str] = set()
    expected_follow_ups: set[str] = set()
    for cid in ids:
        conversation = desk.get(cid)
        history = desk.history(cid)
        assert [entry.seq for entry in history] == list(range(1, conversation.version + 1))
        assert history[-1].stage == conversation.stage
        assert history[-1].at == conversation.updated_at
        kinds = [entry.kind for entry in history]
        assert len(conversation.messages) == sum(map(adds_a_message, history))
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

    latest: dict[str, tuple[int, str]] = {}
    for cid, version, stage in logged:
        assert cid in stored, f"conversation {cid} was returned by open() but is not stored"
        assert stored[cid].version >= version, (cid, stored[cid].version, version)
        latest[cid] = max(latest.get(cid, (0, "")), (version, stage))
    for cid, (version, stage) in latest.items():
        if stored[cid].version == version:
            assert stored[cid].stage == stage
    ahead = [cid for cid in stored if stored[cid].version > latest.get(cid, (0, ""))[0]]
    assert len(ahead) <= unknown, ahead
    desk.storage.close()  # type: ignore[attr-defined]
    return stored


# -- a killed process -----------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "calls"), [(1, 120), (2, 260)])
def test_a_killed_desk_process_leaves_every_returned_call_and_no_half_call(
    dsn: str, tmp_path: Path, seed: int, calls: int
) -> None:
    log = tmp_path / "returned.log"
    for kill, target in enumerate((calls, calls + 90), start=1):
        child = start_stream(dsn, log, seed * 10 + kill)
        try:
            wait_for_calls(child, log, target)
            time.sleep(random.Random(seed).uniform(0, 0.004))  # anywhere in a call
            child.send_signal(signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        logged, doubts = read_log(log)
        assert doubts == 0
        stored = check_database(dsn, logged, unknown=kill)
        assert len(stored) >= 3

    # The database still takes calls: a whole new conversation, and more on an old one.
    desk = ServiceDesk.postgres(dsn)
    made = list(conversation_calls(desk, "cust-after-the-kill"))
    assert made[-1][1:] == (len(made) + 2, Stage.CLOSED)
    desk.storage.close()  # type: ignore[attr-defined]


# -- eight processes racing -----------------------------------------------------------------


def test_eight_processes_race_on_one_conversation_and_one_customer_window(dsn: str) -> None:
    racers, calls = 8, 25
    desk = ServiceDesk.postgres(dsn)
    shared = open_conversation(desk, "cust-shared")
    desk.hear(shared, "My blender arrived broken.")
    own = postgres_worker.prepare_window(dsn, "cust-window", racers)

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(racers)
    results = context.Queue()
    processes = [
        context.Process(
            target=postgres_worker.race,
            args=(dsn, shared, own[number], number, barrier, results, calls),
        )
        for number in range(racers)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=180) for _ in range(racers)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert [other for report in reports for other in report["other"]] == []

    # The conversation: no update lost, no version twice, a gapless journal.
    accepted = [call for report in reports for call in report["accepted"]]
    assert len(accepted) + sum(r["conflicts"] for r in reports) == racers * calls
    versions = Counter(version for version, _ in accepted)
    assert [version for version, seen in versions.items() if seen > 1] == []
    conversation = desk.get(shared)
    history = desk.history(shared)
    assert conversation.version == 2 + len(accepted)
    assert [entry.seq for entry in history] == list(range(1, conversation.version + 1))
    for version, text in accepted:
        assert (history[version - 1].kind, history[version - 1].data["text"]) == ("hear", text)
        assert conversation.messages[version - 2].text == text

    # The window: 40 USD each, an agent may let one customer have 150 in 30 days (and three
    # claims): exactly three of the eight accepts are granted, each once.
    granted = sorted(own[r["number"]] for r in reports if r["granted"])
    assert len(granted) == 3, reports
    ledger = desk.storage.ledger.grants("cust-window")
    assert sorted(grant.conversation_id for grant in ledger) == granted
    assert sum((grant.offer.value for grant in ledger), Money("0", "USD")) == Money("120", "USD")
    refused = [r["refusal"] for r in reports if not r["granted"]]
    assert len(refused) == racers - 3
    assert all(refused)
    for cid in own:
        stage = desk.get(cid).stage
        assert (stage is Stage.RESOLVING) == (cid not in granted)
    desk.storage.close()  # type: ignore[attr-defined]


# -- a connection dropped -------------------------------------------------------------------


def terminate(dsn: str, pids: list[int]) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_dropped_mid_transaction_leaves_nothing_and_the_next_call_works(
    dsn: str,
) -> None:
    desk = ServiceDesk.postgres(dsn)
    cid = open_conversation(desk, "cust-dropped")
    desk.hear(cid, "My blender arrived broken.")
    storage: Any = desk.storage
    before = (desk.get(cid), desk.history(cid))

    # Drop the connection between the unit of work's first writes and its commit.
    def dropped_in_the_middle() -> None:
        with desk.batch():
            desk.ask(cid, "What exactly is broken?")
            connection = storage.database._thread.connection
            terminate(dsn, [connection.info.backend_pid])
            desk.hear(cid, "The jug.")

    with pytest.raises(StorageError):
        dropped_in_the_middle()
    assert (desk.get(cid), desk.history(cid)) == before

    # Idle pooled connections dropped: the next call takes a new one, unnoticed.
    pool = storage.database.pool()
    idle = [pool.getconn() for _ in range(pool.max_size)]
    pids = [connection.info.backend_pid for connection in idle]
    for connection in idle:
        pool.putconn(connection)
    terminate(dsn, pids)
    outcome = desk.hear(cid, "Hello?")
    assert outcome.conversation.version == before[0].version + 1
    assert [entry.kind for entry in desk.history(cid)][-1] == "hear"
    desk.storage.close()  # type: ignore[attr-defined]


# -- the server restarted -------------------------------------------------------------------


def test_the_server_restarted_under_load_loses_no_returned_call(dsn: str, tmp_path: Path) -> None:
    server = postgres_server.server()
    logs = [tmp_path / f"stream-{number}.log" for number in range(3)]
    children = [start_stream(dsn, log, 300 + number) for number, log in enumerate(logs)]
    try:
        for child, log in zip(children, logs, strict=True):
            wait_for_calls(child, log, 40)
        server.restart("immediate")  # a crash: no shutdown checkpoint, clients cut off
        # the streams carry on once the server is back
        before = [len(read_log(log)[0]) for log in logs]
        for child, log, count in zip(children, logs, before, strict=True):
            wait_for_calls(child, log, count + 40)
    finally:
        for child in children:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    logged: list[tuple[str, int, str]] = []
    unknown = len(children)  # the kills at the end
    for log in logs:
        calls, doubts = read_log(log)
        logged.extend(calls)
        unknown += doubts
    check_database(dsn, logged, unknown=unknown)


def test_claims_from_many_threads_never_share_a_follow_up(dsn: str) -> None:
    from datetime import UTC, datetime, timedelta

    from serviceplaybook.testing.contracts import follow_up

    desk = ServiceDesk.postgres(dsn, max_size=8)
    scheduler = desk.storage.follow_ups
    for number in range(1, 401):
        scheduler.schedule(follow_up(number, cid=f"c{number % 7}"))
    now = datetime(2026, 3, 3, tzinfo=UTC)
    claimed: list[list[str]] = [[] for _ in range(8)]

    def claim(slot: int) -> None:
        while batch := scheduler.claim_due(now, limit=7, lease=timedelta(minutes=5)):
            claimed[slot].extend(item.id for item in batch)

    threads = [threading.Thread(target=claim, args=(slot,)) for slot in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = [item for slot in claimed for item in slot]
    assert sorted(every) == sorted(f"fu-{number}" for number in range(1, 401))
    desk.storage.close()  # type: ignore[attr-defined]


def hear_in_child(desk: ServiceDesk, cid: str, results: Any) -> None:
    """In a child forked while the parent's desk was open: calls on a pool of its own."""
    try:
        version = 0
        for number in range(5):
            version = desk.hear(cid, f"from the child {number}").conversation.version
        results.put(version)
    except BaseException as error:
        results.put(repr(error))


def test_a_forked_child_opens_its_own_pool_and_leaves_the_parents_alone(dsn: str) -> None:
    desk = ServiceDesk.postgres(dsn)
    cid = open_conversation(desk, "cust-forked")
    desk.hear(cid, "before the fork")
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=hear_in_child, args=(desk, cid, results))
    child.start()
    assert results.get(timeout=60) == 7
    child.join(timeout=60)
    assert child.exitcode == 0
    # the parent's pooled connections still work after the child exited
    assert desk.hear(cid, "after the child").conversation.version == 8
    assert len(desk.history(cid)) == 8
    desk.storage.close()  # type: ignore[attr-defined]
