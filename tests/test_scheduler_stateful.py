"""``InMemoryScheduler``, ``SQLiteScheduler`` and a plain model, run side by side.

Every step goes to all three: scheduling (fresh, the same key again, an id reused under
another key), cancelling, moving the clock, claiming through the desk's connection or
through a worker that then dies (its connection closed, its claims never answered),
completing and failing (with the current claim's attempt, a superseded one's, or none),
asking for a customer's follow-ups, and closing and reopening the SQLite file. Both
schedulers must answer exactly as the model does (ties in ready time go by id everywhere),
and after every step: nothing was claimed before it was ready, a cancelled follow-up never
came back, statuses, ``pending()`` and ``failed()`` agree, and times are timezone-aware. At
the end nothing is lost: past every ready time one claim returns every live follow-up.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from scheduler_model import CANCELLED, CLAIMED, DELIVERED, FAILED, LIVE, PENDING, Model
from serviceplaybook import (
    FollowUp,
    InMemoryScheduler,
    NotFound,
    SQLiteScheduler,
    ValidationError,
)
from serviceplaybook.adapters.sqlite._database import SQLiteDatabase
from serviceplaybook.testing import FakeClock
from strategies import follow_ups

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CONVERSATIONS = ("conv-a", "conv-b", "conv-c", "conv-d")
CUSTOMERS = ("cust-1", "cust-2")

# Zones without DST changes in the range the clock covers, so every time is unambiguous.
zones = st.sampled_from(
    (
        UTC,
        timezone(timedelta(hours=-3, minutes=-30)),
        timezone(timedelta(hours=14)),
        ZoneInfo("Asia/Kolkata"),
        ZoneInfo("Asia/Tokyo"),
    )
)
# Whole minutes, so that due times, lease ends and retries often coincide: ties matter.
minutes = st.integers(0, 3 * 24 * 60).map(lambda m: timedelta(minutes=m))
due_offsets = st.integers(-2 * 24 * 60, 4 * 24 * 60).map(lambda m: timedelta(minutes=m))
steps = st.one_of(
    st.integers(1, 120).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 48).map(lambda h: timedelta(hours=h)),
)
leases = st.integers(1, 24 * 60).map(lambda m: timedelta(minutes=m))
limits = st.one_of(st.integers(1, 4), st.just(100))
answers = st.sampled_from(("current", "stale", "none"))

# Files in memory where the system has it: this machine tests logic and what a reopened file
# holds, not the disk, and a new file per example costs little there.
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def is_aware(value: datetime | None) -> bool:
    return value is None or (value.tzinfo is not None and value.utcoffset() is not None)


class SchedulersSideBySide(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="scheduler-stateful-", dir=SCRATCH))
        self.path = self.directory / "desk.db"
        self.clock = FakeClock(START)
        self.memory = InMemoryScheduler()
        self.sqlite = self.open_sqlite()
        self.model = Model()
        self.numbers = 0
        self.never_held: set[str] = set()

    def open_sqlite(self) -> SQLiteScheduler:
        # NORMAL: what is tested here is the logic and what a reopened file holds, not
        # survival of a power loss; it keeps the machine fast.
        return SQLiteScheduler(SQLiteDatabase(self.path, synchronous="NORMAL"))

    def now(self, zone: Any = UTC) -> datetime:
        return self.clock.now.astimezone(zone)

    def claim(
        self, limit: int, lease: timedelta, zone: Any = UTC, sqlite: SQLiteScheduler | None = None
    ) -> list[FollowUp]:
        now = self.now(zone)
        before = {i: s.status for i, s in self.model.slots.items()}
        expected = self.model.claim(now, limit, lease)
        from_memory = self.memory.claim_due(now, limit=limit, lease=lease)
        from_sqlite = (sqlite or self.sqlite).claim_due(now, limit=limit, lease=lease)
        assert from_memory == expected
        assert from_sqlite == expected
        for follow_up in expected:
            assert before[follow_up.id] in LIVE
            assert follow_up.id not in self.model.ever_cancelled, "a cancelled one fired"
            assert follow_up.due_at <= now, "fired early"
        for follow_up in from_sqlite:
            assert is_aware(follow_up.due_at)
            assert is_aware(follow_up.expires_at)
        return expected

    # -- scheduling ------------------------------------------------------------------------

    @rule(
        drawn=follow_ups(),
        conversation_id=st.sampled_from(CONVERSATIONS),
        customer_id=st.sampled_from(CUSTOMERS),
        offset=due_offsets,
        expires=st.none() | st.integers(1, 48).map(lambda h: timedelta(hours=h)),
        zone=zones,
    )
    def schedule(
        self,
        drawn: FollowUp,
        conversation_id: str,
        customer_id: str,
        offset: timedelta,
        expires: timedelta | None,
        zone: Any,
    ) -> None:
        self.numbers += 1
        due = (self.clock.now + offset).astimezone(zone)
        follow_up = attrs.evolve(
            drawn,
            id=f"fu-{self.numbers}",
            key=f"key-{self.numbers}",
            conversation_id=conversation_id,
            customer_id=customer_id,
            due_at=due,
            attempts=0,
            expires_at=None if expires is None else due + expires,
        )
        assert self.model.schedule(follow_up)
        self.memory.schedule(follow_up)
        self.sqlite.schedule(follow_up)

    @precondition(lambda self: self.model.keys)
    @rule(data=st.data(), drawn=follow_ups(), offset=due_offsets)
    def schedule_the_same_key_again(
        self, data: st.DataObject, drawn: FollowUp, offset: timedelta
    ) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.keys)))
        self.numbers += 1
        follow_up = attrs.evolve(
            drawn, id=f"dup-{self.numbers}", key=key, due_at=self.clock.now - offset, attempts=0
        )
        self.never_held.add(follow_up.id)
        assert self.model.schedule(follow_up)
        self.memory.schedule(follow_up)
        self.sqlite.schedule(follow_up)

    @precondition(lambda self: self.model.slots)
    @rule(data=st.data(), drawn=follow_ups())
    def reuse_an_id_under_another_key(self, data: st.DataObject, drawn: FollowUp) -> None:
        follow_up_id = data.draw(st.sampled_from(sorted(self.model.slots)))
        self.numbers += 1
        follow_up = attrs.evolve(drawn, id=follow_up_id, key=f"other-{self.numbers}")
        assert not self.model.schedule(follow_up)
        for scheduler in (self.memory, self.sqlite):
            with pytest.raises(ValidationError, match="its own id"):
                scheduler.schedule(follow_up)

    @rule(conversation_id=st.sampled_from((*CONVERSATIONS, "conv-unknown")))
    def cancel(self, conversation_id: str) -> None:
        expected = self.model.cancel(conversation_id)
        assert self.memory.cancel(conversation_id) == expected
        assert self.sqlite.cancel(conversation_id) == expected

    # -- time and claims -------------------------------------------------------------------

    @rule(step=steps)
    def advance(self, step: timedelta) -> None:
        self.clock.advance(step)

    @precondition(
        lambda self: any(
            self.model.slots[i].ready_at > self.clock.now for i in self.model.with_status(*LIVE)
        )
    )
    @rule(limit=limits, lease=leases, just_before=st.booleans())
    def to_the_next_ready_time(self, limit: int, lease: timedelta, just_before: bool) -> None:
        """Claim a microsecond before, or exactly at, the next due, retry or lease-end time."""
        upcoming = min(
            self.model.slots[i].ready_at
            for i in self.model.with_status(*LIVE)
            if self.model.slots[i].ready_at > self.clock.now
        )
        target = upcoming - timedelta(microseconds=1) if just_before else upcoming
        self.clock.advance(max(target - self.clock.now, timedelta(0)))
        self.claim(limit, lease)

    @rule(limit=limits, lease=leases, zone=zones)
    def claim_due(self, limit: int, lease: timedelta, zone: Any) -> None:
        self.claim(limit, lease, zone)

    @rule(limit=limits, lease=leases)
    def a_worker_claims_and_dies(self, limit: int, lease: timedelta) -> None:
        """Another worker (its own connection to the file) claims, then dies holding them:
        nobody gets them while its lease holds; once it lapses, another worker does."""
        worker = SQLiteScheduler(SQLiteDatabase(self.path, synchronous="NORMAL"))
        held = self.claim(limit, lease, sqlite=worker)
        worker.database.close()
        if held:
            others = self.claim(100, timedelta(minutes=5))
            assert not {f.id for f in held} & {f.id for f in others}

    @precondition(lambda self: self.model.with_status(CLAIMED))
    @rule(data=st.data(), answer=answers)
    def complete(self, data: st.DataObject, answer: str) -> None:
        follow_up_id, attempt = self.pick_claimed(data, answer)
        self.model.complete(follow_up_id, attempt)
        self.memory.complete(follow_up_id, attempt=attempt)
        self.sqlite.complete(follow_up_id, attempt=attempt)

    @precondition(lambda self: self.model.with_status(CLAIMED))
    @rule(
        data=st.data(),
        answer=answers,
        delay=st.none() | minutes,
        zone=zones,
    )
    def fail(self, data: st.DataObject, answer: str, delay: timedelta | None, zone: Any) -> None:
        follow_up_id, attempt = self.pick_claimed(data, answer)
        retry_at = None if delay is None else self.now(zone) + delay
        self.model.fail(follow_up_id, retry_at, attempt)
        self.memory.fail(follow_up_id, retry_at=retry_at, attempt=attempt)
        self.sqlite.fail(follow_up_id, retry_at=retry_at, attempt=attempt)

    @precondition(lambda self: self.model.with_status(CLAIMED))
    @rule(data=st.data(), answer=answers)
    def release(self, data: st.DataObject, answer: str) -> None:
        """A stopping worker gives back a claim it never sent."""
        follow_up_id, attempt = self.pick_claimed(data, answer)
        self.model.release(follow_up_id, attempt)
        self.memory.release(follow_up_id, attempt=attempt)
        self.sqlite.release(follow_up_id, attempt=attempt)

    def pick_claimed(self, data: st.DataObject, answer: str) -> tuple[str, int | None]:
        follow_up_id = data.draw(st.sampled_from(self.model.with_status(CLAIMED)))
        current = self.model.slots[follow_up_id].follow_up.attempts
        attempt = {"current": current, "stale": current - 1, "none": None}[answer]
        return follow_up_id, attempt

    @precondition(lambda self: self.model.with_status(PENDING, DELIVERED, CANCELLED, FAILED))
    @rule(data=st.data(), complete=st.booleans())
    def answer_what_is_not_claimed(self, data: st.DataObject, complete: bool) -> None:
        """A late answer for what was cancelled, answered or never claimed changes nothing."""
        candidates = self.model.with_status(PENDING, DELIVERED, CANCELLED, FAILED)
        follow_up_id = data.draw(st.sampled_from(candidates))
        for scheduler in (self.memory, self.sqlite):
            if complete:
                scheduler.complete(follow_up_id)
            else:
                scheduler.fail(follow_up_id, retry_at=self.now())

    # -- reading, reopening --------------------------------------------------------------

    @rule(
        customer_id=st.sampled_from((*CUSTOMERS, "cust-unknown")),
        since=st.none() | due_offsets,
    )
    def for_customer(self, customer_id: str, since: timedelta | None) -> None:
        when = None if since is None else self.clock.now - since
        expected = self.model.for_customer(customer_id, when)
        assert self.memory.for_customer(customer_id, since=when) == expected
        assert self.sqlite.for_customer(customer_id, since=when) == expected

    @rule()
    def reopen_the_file(self) -> None:
        self.sqlite.database.close()
        self.sqlite = self.open_sqlite()

    @rule()
    def unknown_ids(self) -> None:
        for scheduler in (self.memory, self.sqlite):
            with pytest.raises(NotFound):
                scheduler.status("nobody")
            with pytest.raises(NotFound):
                scheduler.complete("nobody")
            with pytest.raises(NotFound):
                scheduler.fail("nobody", retry_at=None)

    @invariant()
    def agree_with_the_model(self) -> None:
        for scheduler in (self.memory, self.sqlite):
            for follow_up_id, slot in self.model.slots.items():
                assert scheduler.status(follow_up_id) is slot.status, follow_up_id
            for follow_up_id in self.never_held - self.model.slots.keys():
                with pytest.raises(NotFound):
                    scheduler.status(follow_up_id)
            assert scheduler.pending() == self.model.listed(*LIVE)
            assert scheduler.failed() == self.model.listed(FAILED)
        for follow_up in self.sqlite.pending():
            assert is_aware(follow_up.due_at)

    def teardown(self) -> None:
        try:
            # Nothing is lost: past every ready time, one claim returns every live one.
            live = self.model.with_status(*LIVE)
            if live:
                latest = max(self.model.slots[i].ready_at for i in live)
                self.clock.advance(max(latest - self.clock.now, timedelta(0)))
            claimed = self.claim(len(self.model.slots) + 1, timedelta(minutes=5))
            assert sorted(f.id for f in claimed) == live
        finally:
            self.sqlite.database.close()
            shutil.rmtree(self.directory, ignore_errors=True)


TestSchedulersSideBySide = SchedulersSideBySide.TestCase
TestSchedulersSideBySide.settings = settings(settings.default, stateful_step_count=25)
