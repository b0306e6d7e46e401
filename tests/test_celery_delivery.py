"""Celery delivery against a real redis-server and real ``celery worker`` processes.

Each test starts its own redis-server on a Unix socket (``tests/celery_servers.py``) and
workers running ``tests/celery_app.py``, whose dispatcher and claimer log every claim, every
dispatch start and every dispatch end through ``os.write`` (a line survives a SIGKILL). The
claimer runs in the test process, on the same store the workers answer in: a SQLite file, or
(the tests marked ``postgres``) the PostgreSQL server the test session starts
(``tests/postgres_server.py``), a schema of its own per test. Without redis-server (or
PostgreSQL) the tests skip, saying how to install it; in CI (``CI=true``) they fail.

What the logs must show: every follow-up sent, once; a cancelled one never, even when its task
was already queued; a dispatch only ever under the latest claim, inside its lease; a second
dispatch only after a worker died mid-delivery, and then with the same key (at once, by
Celery, when only the pool process died; after the lease, by the claimer, when the whole
worker died).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from celery_servers import RedisServer, Workers, require_celery, require_redis

require_celery()

import redis  # noqa: E402
from celery import Celery  # noqa: E402

from celery_app import build, environment  # noqa: E402
from serviceplaybook import (  # noqa: E402
    Channel,
    ConfigError,
    FollowUp,
    FollowUpScheduler,
    FollowUpStatus,
    SQLiteScheduler,
)
from serviceplaybook.adapters.celery import CeleryDelivery, visibility_timeout  # noqa: E402


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A fresh redis-server per test: no message of one test reaches the next."""
    with RedisServer(require_redis()) as server:
        yield server.url


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Where the follow-ups are held, as ``build`` and ``environment`` take it: a SQLite file,
    or a new schema of the session's PostgreSQL server."""
    if request.param == "sqlite":
        yield {"db": str(tmp_path / "desk.db")}
        return
    import postgres_server

    yield {"dsn": postgres_server.server().fresh_schema()}


def open_scheduler(store: dict[str, str]) -> Any:
    """The test process's own scheduler on ``store`` (it schedules, cancels and checks)."""
    if "dsn" in store:
        from serviceplaybook.adapters.postgres import PostgresStorage

        return PostgresStorage(store["dsn"], max_size=1).follow_ups
    return SQLiteScheduler(store["db"])


def schedule(scheduler: Any, numbers: range, purpose: Callable[[int], str]) -> None:
    due = datetime.now(UTC) - timedelta(minutes=1)
    with scheduler.database.transaction():
        for number in numbers:
            scheduler.schedule(
                FollowUp(
                    id=f"fu-{number:03d}",
                    key=f"conv-{number}:follow-up:1",
                    conversation_id=f"conv-{number}",
                    customer_id=f"cust-{number}",
                    channel=Channel.EMAIL,
                    due_at=due + timedelta(milliseconds=number),
                    purpose=purpose(number),
                )
            )


class Log:
    """The claims, dispatch starts and dispatch ends in a log, per follow-up id."""

    def __init__(self, path: Path) -> None:
        self.claims: dict[str, list[tuple[int, datetime, datetime, int]]] = defaultdict(list)
        self.starts: dict[str, list[tuple[int, str, datetime, int]]] = defaultdict(list)
        self.sent: dict[str, list[tuple[int, str, datetime, int]]] = defaultdict(list)
        for line in path.read_text().splitlines() if path.exists() else []:
            kind, follow_up_id, attempts, *rest = line.split(" ")
            if kind == "claim":
                at, until, pid = rest
                self.claims[follow_up_id].append(
                    (
                        int(attempts),
                        datetime.fromisoformat(at),
                        datetime.fromisoformat(until),
                        int(pid),
                    )
                )
            else:
                key, at, pid = rest
                record = (int(attempts), key, datetime.fromisoformat(at), int(pid))
                (self.starts if kind == "start" else self.sent)[follow_up_id].append(record)

    def check_dispatches_under_their_claim(self) -> None:
        """Every dispatch ran under a claim of its attempt number, inside that claim's lease,
        and the attempt numbers of the claims count up one by one."""
        for follow_up_id, claims in self.claims.items():
            assert [c[0] for c in claims] == list(range(1, len(claims) + 1)), claims
            for attempt, _, at, _ in self.starts[follow_up_id]:
                _, claimed_at, until, _ = claims[attempt - 1]
                assert claimed_at <= at < until, (follow_up_id, attempt, claims)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def settled(scheduler: FollowUpScheduler, ids: list[str]) -> Callable[[], bool]:
    final = {FollowUpStatus.DELIVERED, FollowUpStatus.CANCELLED}
    return lambda: all(scheduler.status(i) in final for i in ids)


class Claimer:
    """``CeleryDelivery.run_claimer`` in a thread of the test process."""

    def __init__(self, delivery: CeleryDelivery) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=delivery.run_claimer, args=(timedelta(seconds=0.1),), kwargs={"stop": self.stop}
        )

    def __enter__(self) -> Claimer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def test_every_follow_up_is_sent_once_and_a_cancelled_one_never(
    tmp_path: Path, redis_url: str, store: dict[str, str]
) -> None:
    values: dict[str, Any] = {
        "broker": redis_url,
        **store,
        "log": str(tmp_path / "dispatch.log"),
        "lease": 8,  # the flaky one's retry waits for it
        "backoff": 0.5,
    }
    scheduler = open_scheduler(store)
    schedule(scheduler, range(40), lambda n: "flaky" if n == 7 else "check_fix_and_feedback")
    _, delivery = build(**values)
    # No worker yet: forty tasks wait in Redis. A cancellation arrives after the claim, while
    # the task is queued: the store, read at delivery, must stop it.
    assert delivery.claim() == 40
    queued = [
        json.loads(message)
        for message in redis.Redis(
            unix_socket_path=redis_url.removeprefix("redis+socket://")
        ).lrange("celery", 0, -1)
    ]
    assert len(queued) == 40
    # due now: no eta, no countdown, nothing for Redis to hold past its visibility timeout
    assert {(m["headers"]["task"], m["headers"]["eta"]) for m in queued} == {
        ("serviceplaybook.deliver_follow_up", None)
    }
    cancelled = [f"fu-{n:03d}" for n in range(0, 40, 4)]
    for number in range(0, 40, 4):
        assert scheduler.cancel(f"conv-{number}") == 1
    schedule(scheduler, range(40, 60), lambda n: "check_fix_and_feedback")
    ids = [f"fu-{n:03d}" for n in range(60)]

    with Workers(environment(**values), tmp_path) as workers, Claimer(delivery):
        workers.start(2)
        wait_until(settled(scheduler, ids), 90, "every follow-up is delivered or cancelled")

    log = Log(Path(values["log"]))
    log.check_dispatches_under_their_claim()
    for follow_up_id in cancelled:
        assert scheduler.status(follow_up_id) is FollowUpStatus.CANCELLED
        assert log.starts[follow_up_id] == []
    for follow_up_id in set(ids) - set(cancelled):
        assert scheduler.status(follow_up_id) is FollowUpStatus.DELIVERED
        [(attempt, key, _, _)] = log.sent[follow_up_id]
        assert key == f"conv-{int(follow_up_id[3:])}:follow-up:1"
        # (attempt 1, unless a loaded machine let a lease lapse before a worker came to it)
        if follow_up_id == "fu-007":
            # failed once, put back in the store with a retry time after the claim's lease,
            # sent on the next claim
            failed, retried = log.starts[follow_up_id]
            assert retried[0] > failed[0]
            assert attempt == retried[0]
            claims = log.claims[follow_up_id]
            assert claims[retried[0] - 1][1] >= claims[failed[0] - 1][2]
        else:
            [(started, *_)] = log.starts[follow_up_id]
            assert attempt == started
    assert scheduler.pending() == []


def test_celery_beat_runs_the_claimer_on_a_worker(tmp_path: Path, redis_url: str) -> None:
    values: dict[str, Any] = {
        "broker": redis_url,
        "db": str(tmp_path / "desk.db"),
        "log": str(tmp_path / "dispatch.log"),
    }
    scheduler = SQLiteScheduler(values["db"])
    schedule(scheduler, range(20), lambda n: "check_fix_and_feedback")
    ids = [f"fu-{n:03d}" for n in range(20)]
    with Workers({**environment(**values), "SP_BEAT": "1"}, tmp_path) as workers:
        workers.start(1)
        workers.start_beat()
        wait_until(settled(scheduler, ids), 90, "beat's claims are delivered")
        schedule(scheduler, range(20, 25), lambda n: "check_fix_and_feedback")
        later = [f"fu-{n:03d}" for n in range(20, 25)]
        wait_until(settled(scheduler, later), 90, "the next beats claim the later ones")
    log = Log(Path(values["log"]))
    log.check_dispatches_under_their_claim()
    # claimed inside the worker (the claim task), not by this process
    assert {claim[3] for claims in log.claims.values() for claim in claims} & {os.getpid()} == set()
    assert sorted(log.sent) == ids + later
    assert all(len(sent) == 1 for sent in log.sent.values())


def test_the_claimer_stops_while_the_queue_is_full(tmp_path: Path, redis_url: str) -> None:
    app = Celery("full", broker=redis_url, set_as_current=False)
    recorder = Recorder()
    delivery = CeleryDelivery(
        app,
        scheduler=lambda: SQLiteScheduler(tmp_path / "desk.db"),
        dispatcher=lambda: recorder,
        batch=4,
        max_queued=10,
    )
    scheduler = delivery.scheduler
    assert isinstance(scheduler, SQLiteScheduler)
    schedule(scheduler, range(30), lambda n: "check_fix_and_feedback")
    assert delivery.queued() == 0
    # No worker: ten tasks wait in Redis, the other twenty wait in the store, unclaimed,
    # their leases not yet started.
    assert delivery.claim() == 10
    assert delivery.queued() == 10
    assert delivery.claim() == 0
    statuses = [scheduler.status(f"fu-{n:03d}") for n in range(30)]
    assert statuses == [FollowUpStatus.CLAIMED] * 10 + [FollowUpStatus.PENDING] * 20


def run_until_killed(
    tmp_path: Path,
    redis_url: str,
    *,
    lease: float,
    kill: Callable[[Workers, int, int], None],
    store: dict[str, str] | None = None,
) -> tuple[Log, int, list[str]]:
    """Two workers deliver 30 follow-ups; the first, ``slow``, is dispatched by one of them
    and ``kill(workers, worker number, pool pid)`` strikes mid-dispatch. Returns the log, the
    pid that was dispatching, and the ids."""
    store = store or {"db": str(tmp_path / "desk.db")}
    values: dict[str, Any] = {
        "broker": redis_url,
        **store,
        "log": str(tmp_path / "dispatch.log"),
        "lease": lease,
        "slow": 120,
    }
    scheduler = open_scheduler(store)
    schedule(scheduler, range(30), lambda n: "slow" if n == 0 else "check_fix_and_feedback")
    ids = [f"fu-{n:03d}" for n in range(30)]
    _, delivery = build(**values)
    with Workers(environment(**values), tmp_path) as workers, Claimer(delivery):
        workers.start(2)
        wait_until(lambda: bool(Log(Path(values["log"])).starts["fu-000"]), 60, "fu-000 starts")
        [(_, _, _, pid)] = Log(Path(values["log"])).starts["fu-000"]
        [number] = [n for n, p in enumerate(workers.processes) if os.getpgid(pid) == p.pid]
        kill(workers, number, pid)
        wait_until(settled(scheduler, ids), 90, "every follow-up is delivered")
    assert {scheduler.status(i) for i in ids} == {FollowUpStatus.DELIVERED}
    return Log(Path(values["log"])), pid, ids


def test_a_worker_killed_mid_delivery_is_replaced_after_the_lease_with_the_same_key(
    tmp_path: Path, redis_url: str, store: dict[str, str]
) -> None:
    lease = 5.0

    def kill_worker(workers: Workers, number: int, pid: int) -> None:
        workers.kill(number)  # the worker and its pool, SIGKILL: nobody acks or rejects

    log, pid, ids = run_until_killed(
        tmp_path, redis_url, lease=lease, kill=kill_worker, store=store
    )
    log.check_dispatches_under_their_claim()
    # The message stays unacknowledged in Redis (until the visibility timeout, 60 s here);
    # the claim's lease ran out first and the claimer handed the follow-up out again.
    first, second = log.starts["fu-000"]
    assert first[3] == pid
    # the attempt the dead worker held (1, unless a loaded machine let a lease lapse first)
    # and a later one, elsewhere
    assert second[0] > first[0]
    assert second[3] != pid
    assert first[1] == second[1] == "conv-0:follow-up:1"
    claims = log.claims["fu-000"]
    assert claims[second[0] - 1][1] >= claims[first[0] - 1][2], "only once the lease ran out"
    assert [s[0] for s in log.sent["fu-000"]] == [second[0]]
    # Nothing else was sent twice, and nothing else was started twice.
    for follow_up_id in ids[1:]:
        assert len(log.sent[follow_up_id]) == 1, follow_up_id
        assert len(log.starts[follow_up_id]) == 1, follow_up_id


def test_a_pool_process_killed_mid_delivery_is_redelivered_at_once_with_the_same_key(
    tmp_path: Path, redis_url: str
) -> None:
    lease = 40.0  # well below the visibility timeout (60 s), well above the test

    def kill_pool_process(workers: Workers, number: int, pid: int) -> None:
        os.kill(pid, 9)  # only the pool process: its worker rejects the message back

    log, pid, ids = run_until_killed(tmp_path, redis_url, lease=lease, kill=kill_pool_process)
    log.check_dispatches_under_their_claim()
    # acks_late + reject_on_worker_lost: the same message runs again, under the same claim
    # (one claim, attempt 1 both times), well inside its lease.
    first, second = log.starts["fu-000"]
    assert first[0] == second[0] == 1
    assert first[3] == pid != second[3]
    assert first[1] == second[1] == "conv-0:follow-up:1"
    assert len(log.claims["fu-000"]) == 1
    assert [s[0] for s in log.sent["fu-000"]] == [1]
    for follow_up_id in ids[1:]:
        assert len(log.sent[follow_up_id]) == 1, follow_up_id
        assert len(log.starts[follow_up_id]) == 1, follow_up_id


# -- the task's rules, run in this process on a real SQLite file (no broker needed) ----------


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int]] = []

    def dispatch(self, follow_up: FollowUp) -> None:
        self.sent.append((follow_up.id, follow_up.key, follow_up.attempts))


def local_delivery(tmp_path: Path, recorder: Recorder, **options: Any) -> CeleryDelivery:
    app = Celery("local", broker="redis://127.0.0.1:1/0", set_as_current=False)
    return CeleryDelivery(
        app,
        scheduler=lambda: SQLiteScheduler(tmp_path / "desk.db"),
        dispatcher=lambda: recorder,
        **options,
    )


def test_a_task_whose_lease_ran_out_sends_nothing(tmp_path: Path) -> None:
    recorder = Recorder()
    delivery = local_delivery(tmp_path, recorder, lease=timedelta(seconds=30))
    scheduler = delivery.scheduler
    assert isinstance(scheduler, SQLiteScheduler)
    schedule(scheduler, range(3), lambda n: "check_fix_and_feedback")
    now = datetime.now(UTC)
    first, second, third = scheduler.claim_due(now, lease=timedelta(seconds=30))
    # A message the broker hands out again after a dead worker's visibility timeout: its
    # claim's lease is over, so the claim may be another worker's by now.
    assert delivery.deliver(first, now - timedelta(seconds=1)) is None
    assert scheduler.status(first.id) is FollowUpStatus.CLAIMED
    # Inside the lease: sent with its key, and completed by its attempt.
    assert delivery.deliver(second, now + timedelta(seconds=30)) is FollowUpStatus.DELIVERED
    assert recorder.sent == [(second.id, second.key, 1)]
    # Cancelled after the claim: the store says so, nothing is sent.
    scheduler.cancel(third.conversation_id)
    assert delivery.deliver(third, now + timedelta(seconds=30)) is FollowUpStatus.CANCELLED
    assert recorder.sent == [(second.id, second.key, 1)]
    # A task that arrives twice (Celery redelivered it) finds its claim answered.
    assert delivery.deliver(second, now + timedelta(seconds=30)) is FollowUpStatus.DELIVERED
    assert len(recorder.sent) == 1


def test_a_broker_that_refuses_a_task_gets_the_claims_back(tmp_path: Path) -> None:
    recorder = Recorder()
    app = Celery("down", broker=f"redis+socket://{tmp_path / 'no-redis.sock'}")
    app.conf.update(
        task_publish_retry=False, broker_connection_retry=False, broker_connection_max_retries=0
    )
    delivery = CeleryDelivery(
        app,
        scheduler=lambda: SQLiteScheduler(tmp_path / "desk.db"),
        dispatcher=lambda: recorder,
        max_queued=None,  # straight to the claim: the enqueue is what fails
    )
    scheduler = delivery.scheduler
    assert isinstance(scheduler, SQLiteScheduler)
    schedule(scheduler, range(5), lambda n: "check_fix_and_feedback")
    with pytest.raises(Exception, match=r"(?i)connect|No such file"):
        delivery.claim()
    # The task the broker refused may have reached it before the error: its lease brings it
    # back. The four after it were never sent: ready again at once.
    statuses = [scheduler.status(f"fu-{n:03d}") for n in range(5)]
    assert statuses == [FollowUpStatus.CLAIMED] + [FollowUpStatus.PENDING] * 4
    assert [f.id for f in scheduler.claim_due(datetime.now(UTC))] == [
        f"fu-{n:03d}" for n in range(1, 5)
    ]


@pytest.mark.parametrize(
    ("url", "options", "expected"),
    [
        ("redis://localhost:6379/0", {}, timedelta(hours=1)),
        ("rediss://localhost:6379/0", {"visibility_timeout": 600}, timedelta(minutes=10)),
        ("redis+socket:///tmp/redis.sock", {"visibility_timeout": 90}, timedelta(seconds=90)),
        ("sqs://", {}, timedelta(hours=1)),
        ("amqp://guest@localhost//", {"visibility_timeout": 5}, None),
    ],
)
def test_visibility_timeout_of_the_broker(
    url: str, options: dict[str, Any], expected: timedelta | None
) -> None:
    app = Celery("vt", broker=url, set_as_current=False)
    app.conf.broker_transport_options = options
    assert visibility_timeout(app) == expected


def test_a_lease_as_long_as_the_visibility_timeout_is_refused(tmp_path: Path) -> None:
    app = Celery("vt", broker="redis://localhost:6379/0", set_as_current=False)
    app.conf.broker_transport_options = {"visibility_timeout": 300}
    make = {"scheduler": lambda: SQLiteScheduler(tmp_path / "d.db"), "dispatcher": Recorder}
    with pytest.raises(ConfigError, match=r"shorter than the broker's visibility timeout"):
        CeleryDelivery(app, lease=timedelta(minutes=5), **make)
    CeleryDelivery(app, lease=timedelta(minutes=4), name="ok", **make)
    for bad, message in [
        ({"max_queued": 0}, "max_queued"),
        ({"lease": timedelta(0)}, "lease"),
        ({"batch": 0}, "batch"),
        ({"max_delivery_attempts": 0}, "max_delivery_attempts"),
        ({"retry_backoff": timedelta(0)}, "retry_backoff"),
    ]:
        with pytest.raises(ConfigError, match=message):
            CeleryDelivery(app, name="bad", **make, **bad)


def test_beat_schedules_the_claim_task(tmp_path: Path) -> None:
    recorder = Recorder()
    delivery = local_delivery(tmp_path, recorder)
    delivery.beat(timedelta(seconds=15))
    entry = delivery.app.conf.beat_schedule["serviceplaybook.claim_follow_ups"]
    assert entry == {
        "task": "serviceplaybook.claim_follow_ups",
        "schedule": 15.0,
        "options": {"expires": 15.0},
    }
    assert delivery.deliver_task.acks_late
    assert delivery.deliver_task.reject_on_worker_lost
    with pytest.raises(ConfigError, match="every"):
        delivery.beat(timedelta(0))
