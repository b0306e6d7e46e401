"""Three seconds of ``benchmarks/bench_celery_load.py``: 8 processes driving desk calls that
schedule follow-ups, 4 real Celery workers delivering them from a real redis-server, the
follow-ups held in the PostgreSQL server the test session starts. Every follow-up scheduled
is sent exactly once and ends delivered. (The 30-second run with its figures is the
benchmark's, on PostgreSQL or, with ``--store sqlite``, one SQLite file; no speed is asserted
here. The Celery delivery on SQLite is tested in ``test_celery_delivery.py``.)"""

from __future__ import annotations

import sys
from pathlib import Path

import postgres_server
from celery_servers import require_celery, require_redis

require_celery()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_celery_load  # noqa: E402


def test_desk_calls_and_celery_workers_lose_nothing_and_send_nothing_twice() -> None:
    require_redis()
    dsn = postgres_server.server().fresh_schema()
    figures = bench_celery_load.run(seconds=3, drivers=8, workers=4, drain=90, dsn=dsn)
    print(figures)
    assert figures["store"] == "postgresql"
    assert figures["desk_calls"] > 0
    assert figures["scheduled"] > 0
    assert figures["scheduled"] == figures["scheduled_per_driver_report"]
    assert figures["sent"] == figures["scheduled"]
    assert figures["lost"] == 0
    assert figures["sent_twice"] == 0
    assert figures["not_delivered_status"] == 0
