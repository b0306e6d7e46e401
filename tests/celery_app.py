"""The Celery app that the worker processes of the Celery tests and of
``benchmarks/bench_celery_load.py`` run (``celery -A celery_app worker``; not a test module).

Configured by the environment, so that every process (workers, and the test that claims)
builds the same app:

* ``SP_BROKER``: the broker URL (the test's own redis-server);
* ``SP_DB``: the SQLite file holding the follow-ups;
* ``SP_LOG``: a log that the dispatcher and the claimer append lines to, each with one
  ``os.write`` so that a line written survives a SIGKILL:
  ``claim <id> <attempts> <claimed at> <lease end> <pid>`` for every claim,
  ``start <id> <attempts> <key> <at> <pid>`` when a dispatch begins and
  ``sent <id> <attempts> <key> <at> <pid>`` when it returns;
* ``SP_LEASE`` (seconds), ``SP_VISIBILITY`` (the broker's visibility timeout, seconds),
  ``SP_BACKOFF`` (the first retry's wait, seconds).

A follow-up whose purpose is ``slow`` takes ``SP_SLOW`` seconds on its first attempt (the
test kills the worker meanwhile); one whose purpose is ``flaky`` fails its first attempt.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from celery import Celery

from serviceplaybook import FollowUp, SQLiteScheduler
from serviceplaybook.adapters.celery import CeleryDelivery

LOG = os.environ.get("SP_LOG", os.devnull)


def log_line(*fields: object) -> None:
    descriptor = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, (" ".join(str(f) for f in fields) + "\n").encode())
    finally:
        os.close(descriptor)


class LoggingScheduler(SQLiteScheduler):
    """The SQLite scheduler, logging each claim before the claimer acts on it."""

    def claim_due(
        self, now: datetime, *, limit: int = 100, lease: timedelta = timedelta(minutes=5)
    ) -> list[FollowUp]:
        claimed = super().claim_due(now, limit=limit, lease=lease)
        if claimed:
            until = (now + lease).isoformat()
            descriptor = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(
                    descriptor,
                    "".join(
                        f"claim {f.id} {f.attempts} {now.isoformat()} {until} {os.getpid()}\n"
                        for f in claimed
                    ).encode(),
                )
            finally:
                os.close(descriptor)
        return claimed


class LoggingDispatcher:
    """Sends nothing: logs the start and the end of each dispatch."""

    def dispatch(self, follow_up: FollowUp) -> None:
        fields = (follow_up.id, follow_up.attempts, follow_up.key)
        log_line("start", *fields, datetime.now(UTC).isoformat(), os.getpid())
        if follow_up.purpose == "slow" and follow_up.attempts == 1:
            time.sleep(float(os.environ.get("SP_SLOW", "60")))
        if follow_up.purpose == "flaky" and follow_up.attempts == 1:
            raise ConnectionError("the mail relay refused the message")
        log_line("sent", *fields, datetime.now(UTC).isoformat(), os.getpid())


app = Celery("celery_app", broker=os.environ.get("SP_BROKER", "redis://127.0.0.1:1/0"))
app.conf.update(
    worker_prefetch_multiplier=1,
    broker_transport_options={"visibility_timeout": float(os.environ.get("SP_VISIBILITY", "60"))},
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

delivery = CeleryDelivery(
    app,
    scheduler=lambda: LoggingScheduler(os.environ["SP_DB"]),
    dispatcher=LoggingDispatcher,
    lease=timedelta(seconds=float(os.environ.get("SP_LEASE", "30"))),
    retry_backoff=timedelta(seconds=float(os.environ.get("SP_BACKOFF", "1"))),
    batch=20,
)
