"""The Celery app that the worker processes of the Celery tests and of
``benchmarks/bench_celery_load.py`` run (``celery -A celery_app worker``; not a test module).

Workers build it from the environment; the test process, which claims, calls :func:`build`
with the same values, so both sides register the same tasks:

* ``SP_BROKER``: the broker URL (the test's own redis-server);
* ``SP_DB``: the SQLite file holding the follow-ups, or ``SP_DSN``: the PostgreSQL database
  holding them (a libpq connection string; ``SP_DSN`` wins when both are set);
* ``SP_LOG``: a log that the dispatcher and the claimer append lines to, each with one
  ``os.write`` so that a line written survives a SIGKILL:
  ``claim <id> <attempts> <claimed at> <lease end> <pid>`` for every claim,
  ``start <id> <attempts> <key> <at> <pid>`` when a dispatch begins and
  ``sent <id> <attempts> <key> <at> <pid>`` when it returns;
* ``SP_LEASE`` (seconds), ``SP_VISIBILITY`` (the broker's visibility timeout, seconds),
  ``SP_BACKOFF`` (the first retry's wait, seconds), ``SP_SLOW`` (seconds, below), and
  ``SP_BEAT`` (seconds: ``celery beat`` sends the claim task this often).

The first dispatch of a follow-up whose purpose is ``slow`` takes ``SP_SLOW`` seconds (the
test kills its worker meanwhile); one whose purpose is ``flaky`` fails its first attempt.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from celery import Celery

from serviceplaybook import FollowUp, FollowUpScheduler, SQLiteScheduler
from serviceplaybook.adapters.celery import CeleryDelivery


def log_lines(log: str, lines: list[str]) -> None:
    """Append ``lines`` to ``log`` with one write."""
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, "".join(f"{line}\n" for line in lines).encode())
    finally:
        os.close(descriptor)


def log_claims(log: str, claimed: list[FollowUp], now: datetime, lease: timedelta) -> None:
    """Log each claim (before the claimer acts on it)."""
    if claimed:
        until = (now + lease).isoformat()
        log_lines(
            log,
            [f"claim {f.id} {f.attempts} {now.isoformat()} {until} {os.getpid()}" for f in claimed],
        )


class LoggingScheduler(SQLiteScheduler):
    """The SQLite scheduler, logging each claim before the claimer acts on it."""

    def __init__(self, db: str, log: str) -> None:
        super().__init__(db)
        self.log = log

    def claim_due(
        self, now: datetime, *, limit: int = 100, lease: timedelta = timedelta(minutes=5)
    ) -> list[FollowUp]:
        claimed = super().claim_due(now, limit=limit, lease=lease)
        log_claims(self.log, claimed, now, lease)
        return claimed


def postgres_scheduler(dsn: str, log: str) -> FollowUpScheduler:
    """The PostgreSQL scheduler (a pool of one connection), logging each claim."""
    from serviceplaybook.adapters.postgres import PostgresScheduler, PostgresStorage

    class LoggingPostgresScheduler(PostgresScheduler):
        def claim_due(
            self, now: datetime, *, limit: int = 100, lease: timedelta = timedelta(minutes=5)
        ) -> list[FollowUp]:
            claimed = super().claim_due(now, limit=limit, lease=lease)
            log_claims(log, claimed, now, lease)
            return claimed

    return LoggingPostgresScheduler(PostgresStorage(dsn, max_size=1).database)


def make_scheduler(db: str | None, dsn: str | None, log: str) -> FollowUpScheduler:
    """The logging scheduler on PostgreSQL when ``dsn`` is given, else on the SQLite ``db``."""
    if dsn:
        return postgres_scheduler(dsn, log)
    assert db is not None
    return LoggingScheduler(db, log)


class LoggingDispatcher:
    """Sends nothing: logs the start and the end of each dispatch."""

    def __init__(self, log: str, slow: float) -> None:
        self.log = log
        self.slow = slow

    def dispatch(self, follow_up: FollowUp) -> None:
        fields = f"{follow_up.id} {follow_up.attempts} {follow_up.key}"
        log_lines(self.log, [f"start {fields} {datetime.now(UTC).isoformat()} {os.getpid()}"])
        if follow_up.purpose == "slow" and self._first(follow_up):
            time.sleep(self.slow)
        if follow_up.purpose == "flaky" and follow_up.attempts == 1:
            raise ConnectionError("the mail relay refused the message")
        log_lines(self.log, [f"sent {fields} {datetime.now(UTC).isoformat()} {os.getpid()}"])

    def _first(self, follow_up: FollowUp) -> bool:
        """True the first time any process dispatches ``follow_up`` (a marker file)."""
        try:
            os.close(os.open(f"{self.log}.{follow_up.id}", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return False
        return True


def build(
    *,
    broker: str,
    db: str | None = None,
    dsn: str | None = None,
    log: str,
    lease: float = 30,
    visibility: float = 60,
    backoff: float = 1,
    slow: float = 60,
    batch: int = 20,
) -> tuple[Celery, CeleryDelivery]:
    """The app and its delivery, as the workers build them."""
    app = Celery("celery_app", broker=broker)
    app.conf.update(
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": visibility},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    delivery = CeleryDelivery(
        app,
        scheduler=lambda: make_scheduler(db, dsn, log),
        dispatcher=lambda: LoggingDispatcher(log, slow),
        lease=timedelta(seconds=lease),
        retry_backoff=timedelta(seconds=backoff),
        batch=batch,
    )
    return app, delivery


def environment(
    *,
    broker: str,
    db: str | None = None,
    dsn: str | None = None,
    log: str,
    lease: float = 30,
    visibility: float = 60,
    backoff: float = 1,
    slow: float = 60,
) -> dict[str, str]:
    """The environment that makes a worker build what ``build`` with these values builds."""
    return {
        "SP_BROKER": broker,
        **({"SP_DB": db} if db else {}),
        **({"SP_DSN": dsn} if dsn else {}),
        "SP_LOG": log,
        "SP_LEASE": str(lease),
        "SP_VISIBILITY": str(visibility),
        "SP_BACKOFF": str(backoff),
        "SP_SLOW": str(slow),
    }


if "SP_BROKER" in os.environ:  # a worker process
    app, delivery = build(
        broker=os.environ["SP_BROKER"],
        db=os.environ.get("SP_DB"),
        dsn=os.environ.get("SP_DSN"),
        log=os.environ["SP_LOG"],
        lease=float(os.environ.get("SP_LEASE", "30")),
        visibility=float(os.environ.get("SP_VISIBILITY", "60")),
        backoff=float(os.environ.get("SP_BACKOFF", "1")),
        slow=float(os.environ.get("SP_SLOW", "60")),
    )
    if "SP_BEAT" in os.environ:  # `celery beat` sends the claim task this often (seconds)
        delivery.beat(timedelta(seconds=float(os.environ["SP_BEAT"])))
