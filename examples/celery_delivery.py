"""Follow-ups delivered by a Celery worker: the desk schedules, a claimer enqueues, the worker
sends (here, into an outbox file) and marks the follow-up delivered in the store.

This file is both the Celery app (``celery -A celery_delivery worker`` imports it) and a
script that runs the whole thing once on a throwaway redis-server::

    python examples/celery_delivery.py

It needs ``redis-server`` on the PATH and the ``celery`` extra
(``pip install 'serviceplaybook[celery]'``); without them it says so and stops.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

try:
    from celery import Celery
except ImportError:
    print("This example needs Celery: pip install 'serviceplaybook[celery]'")
    raise SystemExit(0) from None

from serviceplaybook import Agent, Customer, FollowUpStatus, Issue, ServiceDesk, SQLiteScheduler
from serviceplaybook.adapters.celery import CeleryDelivery
from serviceplaybook.adapters.outbox import OutboxDispatcher


def make(broker: str, db: str, outbox: str) -> tuple[Celery, CeleryDelivery]:
    """The host's Celery app, with follow-up delivery on it."""
    app = Celery("celery_delivery", broker=broker)
    app.conf.update(
        worker_prefetch_multiplier=1,  # a worker holds one follow-up at a time
        broker_transport_options={"visibility_timeout": 3600},  # longer than the lease
        broker_connection_retry_on_startup=True,
    )
    delivery = CeleryDelivery(
        app,
        scheduler=lambda: SQLiteScheduler(db),  # one per process, opened after the fork
        dispatcher=lambda: OutboxDispatcher(outbox),  # your email / SMS / call-booking code
        lease=timedelta(minutes=5),
    )
    delivery.beat(every=timedelta(seconds=10))  # for `celery beat`, if you run one
    return app, delivery


# What the worker imports: configured by its environment.
app, delivery = make(
    os.environ.get("EXAMPLE_BROKER", "redis://localhost:6379/0"),
    os.environ.get("EXAMPLE_DB", "desk.db"),
    os.environ.get("EXAMPLE_OUTBOX", "outbox.jsonl"),
)


def main() -> None:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        print("This example needs redis-server (Debian/Ubuntu: apt-get install redis-server)")
        return
    directory = Path(tempfile.mkdtemp(prefix="celery-example-"))
    socket = directory / "redis.sock"
    values = {
        "EXAMPLE_BROKER": f"redis+socket://{socket}",
        "EXAMPLE_DB": str(directory / "desk.db"),
        "EXAMPLE_OUTBOX": str(directory / "outbox.jsonl"),
    }
    redis = subprocess.Popen(
        [redis_server, "--port", "0", "--unixsocket", str(socket), "--save", "",
         "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    worker = None
    try:
        # A conversation resolved last spring: its follow-up is long due.
        last_spring = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        desk = ServiceDesk.sqlite(values["EXAMPLE_DB"], clock=lambda: last_spring)
        cid = desk.open(
            customer=Customer(id="cust-1", name="Ann"),
            issue=Issue(category="late_delivery", severity="medium", summary="Parcel late"),
            agent=Agent(id="sam", name="Sam"),
        ).id
        desk.hear(cid, "My parcel is a week late.")
        desk.summarize(cid, "Your parcel is a week late.")
        desk.confirm(cid)
        follow_up = desk.resolve(cid).follow_up
        assert follow_up is not None
        print(
            f"scheduled: {follow_up.channel.value} follow-up due {follow_up.due_at:%Y-%m-%d %H:%M}"
        )

        while not socket.exists():
            time.sleep(0.02)
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_delivery", "worker",
             "--pool", "solo", "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=Path(__file__).parent,
            env={**os.environ, **values},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        _, claimer = make(values["EXAMPLE_BROKER"], values["EXAMPLE_DB"], values["EXAMPLE_OUTBOX"])
        print(f"claimed and enqueued: {claimer.claim()}")

        scheduler = SQLiteScheduler(values["EXAMPLE_DB"])
        deadline = time.monotonic() + 60
        while scheduler.status(follow_up.id) is not FollowUpStatus.DELIVERED:
            assert time.monotonic() < deadline, "the worker did not deliver the follow-up"
            time.sleep(0.1)
        print(f"status: {scheduler.status(follow_up.id).value}")
        print(f"the worker's outbox: {Path(values['EXAMPLE_OUTBOX']).read_text().strip()}")
    finally:
        for process in (worker, redis):
            if process is not None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
