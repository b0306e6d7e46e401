"""The schedulers' stateful test (tests/test_scheduler_stateful.py: the in-memory scheduler
and a plain model side by side, the same rules) with the PostgreSQL scheduler in the second
seat, against a real server; workers that claim and die are other pools.

Two differences, both deliberate:

- Every claim takes everything ready (the model's, the in-memory scheduler's and
  PostgreSQL's), and PostgreSQL's claim is compared as a set: it orders a claim whose lease
  ran out by its due time, not by its lease's end (see ``PostgresScheduler``), so with a
  small limit it may pick other follow-ups than the model.
- Follow-ups whose text holds a NUL character are left out: PostgreSQL text cannot hold it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

from hypothesis import assume, settings
from hypothesis.stateful import PRECONDITIONS_MARKER, RULE_MARKER, rule

import postgres_server
from scheduler_model import LIVE
from serviceplaybook import FollowUp
from test_scheduler_stateful import SchedulersSideBySide, is_aware, leases, limits

EVERYTHING = 10_000


def _without_nul(function: Callable[..., None]) -> Callable[..., None]:
    """``function``'s rule (same strategies and preconditions), skipping drawn follow-ups
    with a NUL character in their text."""
    marked = getattr(function, RULE_MARKER)

    def body(self: Any, **kwargs: Any) -> None:
        drawn: FollowUp = kwargs["drawn"]
        texts = (drawn.id, drawn.key, drawn.conversation_id, drawn.customer_id, drawn.purpose)
        assume(not any("\x00" in text for text in texts))
        marked.function(self, **kwargs)

    setattr(body, PRECONDITIONS_MARKER, marked.preconditions)
    return rule(**marked.arguments)(body)  # type: ignore[no-any-return]


class PostgresSchedulers(SchedulersSideBySide):
    schedule = _without_nul(SchedulersSideBySide.schedule)
    schedule_the_same_key_again = _without_nul(SchedulersSideBySide.schedule_the_same_key_again)
    reuse_an_id_under_another_key = _without_nul(SchedulersSideBySide.reuse_an_id_under_another_key)

    def open_sqlite(self) -> Any:
        from serviceplaybook.adapters.postgres import PostgresStorage

        if not hasattr(self, "dsn"):
            self.dsn = postgres_server.server().fresh_schema()
        return PostgresStorage(self.dsn).follow_ups

    def claim(
        self, limit: int, lease: timedelta, zone: Any = UTC, sqlite: Any = None
    ) -> list[FollowUp]:
        now = self.now(zone)
        before = {i: s.status for i, s in self.model.slots.items()}
        expected = self.model.claim(now, EVERYTHING, lease)
        assert self.memory.claim_due(now, limit=EVERYTHING, lease=lease) == expected
        found = (sqlite or self.sqlite).claim_due(now, limit=EVERYTHING, lease=lease)
        assert sorted(found, key=lambda f: f.id) == sorted(expected, key=lambda f: f.id)
        for follow_up in expected:
            assert before[follow_up.id] in LIVE
            assert follow_up.id not in self.model.ever_cancelled, "a cancelled one fired"
            assert follow_up.due_at <= now, "fired early"
        for follow_up in found:
            assert is_aware(follow_up.due_at)
            assert is_aware(follow_up.expires_at)
        return expected

    @rule(limit=limits, lease=leases)
    def a_worker_claims_and_dies(self, limit: int, lease: timedelta) -> None:
        """Another worker (its own pool) claims, then stops answering."""
        from serviceplaybook.adapters.postgres import PostgresStorage

        worker = PostgresStorage(self.dsn)
        held = self.claim(limit, lease, sqlite=worker.follow_ups)
        worker.close()
        if held:
            others = self.claim(100, timedelta(minutes=5))
            assert not {f.id for f in held} & {f.id for f in others}


TestPostgresSchedulers = PostgresSchedulers.TestCase
TestPostgresSchedulers.settings = settings(
    settings.default,
    max_examples=max(settings.default.max_examples // 3, 1),
    stateful_step_count=25,
)
