"""The Celery delivery task's rules, stateful, against every scheduler that implements the port.

Hypothesis plays the claimer and the broker around a real ``CeleryDelivery.deliver`` (the
delivery task's body) on ``InMemoryScheduler`` and on ``SQLiteScheduler``: it schedules,
claims (each claim becomes a message carrying the claim's attempt and lease end), cancels,
moves the clock, and runs messages in any order, any number of times (Celery redelivering after
a lost worker or a visibility timeout), with a dispatcher that sends, raises ("retry later"),
or sends and then dies before the task answers (a worker killed mid-delivery).

After every step: a dispatch happened only inside its message's lease and under the latest
claim of its follow-up, never after the follow-up's cancellation; every dispatch of one
follow-up carries the same key; a follow-up was sent again only after a send that died
unanswered or failed, and never after a send that was answered. At the end, past every lease
and retry, claiming and running the new messages delivers every follow-up not cancelled or
given up on.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from celery_servers import require_celery

require_celery()

from celery import Celery  # noqa: E402
from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from serviceplaybook import (  # noqa: E402
    Channel,
    FollowUp,
    FollowUpScheduler,
    FollowUpStatus,
    InMemoryScheduler,
    SQLiteScheduler,
)
from serviceplaybook.adapters.celery import CeleryDelivery  # noqa: E402
from serviceplaybook.testing import FakeClock  # noqa: E402

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)
BACKOFF = timedelta(minutes=1)
ATTEMPTS = 3
CONVERSATIONS = ("conv-a", "conv-b", "conv-c")


class WorkerDied(BaseException):
    """The worker is killed after the dispatcher sent, before the task answers."""


class Dispatcher:
    def __init__(self) -> None:
        self.mode = "send"
        self.calls: list[tuple[str, str, int, str]] = []  # id, key, attempt, mode

    def dispatch(self, follow_up: FollowUp) -> None:
        self.calls.append((follow_up.id, follow_up.key, follow_up.attempts, self.mode))
        if self.mode == "raise":
            raise ConnectionError("the mail relay refused it")
        if self.mode == "die":
            raise WorkerDied


class CeleryTaskMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(START)
        self.directory = Path(tempfile.mkdtemp(prefix="sp-celery-stateful-"))
        self.scheduler = self.make_scheduler()
        self.dispatcher = Dispatcher()
        app = Celery("stateful", broker="redis://127.0.0.1:1/0", set_as_current=False)
        self.delivery = CeleryDelivery(
            app,
            scheduler=lambda: self.scheduler,
            dispatcher=lambda: self.dispatcher,
            lease=LEASE,
            retry_backoff=BACKOFF,
            max_delivery_attempts=ATTEMPTS,
            clock=self.clock,
        )
        self.messages: list[tuple[FollowUp, datetime]] = []
        self.latest: dict[str, int] = {}  # the latest claim's attempt, per follow-up
        self.cancelled: dict[str, int] = {}  # how many sends there were when it was cancelled
        self.keys: dict[str, str] = {}
        self.numbers = 0
        self.sends: list[tuple[str, str, int, str, datetime, datetime]] = []

    def make_scheduler(self) -> FollowUpScheduler:
        raise NotImplementedError

    def teardown(self) -> None:
        try:
            self.nothing_is_lost()
        finally:
            database = getattr(self.scheduler, "database", None)
            if database is not None:
                database.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    @rule(conversation=st.sampled_from(CONVERSATIONS), due_minutes=st.integers(-30, 30))
    def schedule(self, conversation: str, due_minutes: int) -> None:
        self.numbers += 1
        follow_up = FollowUp(
            id=f"fu-{self.numbers}",
            key=f"{conversation}:follow-up:{self.numbers}",
            conversation_id=conversation,
            customer_id="cust-1",
            channel=Channel.EMAIL,
            due_at=self.clock() + timedelta(minutes=due_minutes),
        )
        self.scheduler.schedule(follow_up)
        self.keys[follow_up.id] = follow_up.key

    @rule(limit=st.integers(1, 4))
    def claim(self, limit: int) -> None:
        """The claimer's step: each claim becomes one message with its lease's end."""
        now = self.clock()
        for follow_up in self.scheduler.claim_due(now, limit=limit, lease=LEASE):
            assert follow_up.id not in self.cancelled
            self.latest[follow_up.id] = follow_up.attempts
            self.messages.append((follow_up, now + LEASE))

    @rule(conversation=st.sampled_from(CONVERSATIONS))
    def cancel(self, conversation: str) -> None:
        if self.scheduler.cancel(conversation):
            for follow_up_id, key in self.keys.items():
                if key.startswith(f"{conversation}:") and follow_up_id not in self.cancelled:
                    status = self.scheduler.status(follow_up_id)
                    if status is FollowUpStatus.CANCELLED:
                        self.cancelled[follow_up_id] = len(self.sends)

    @rule(minutes=st.integers(1, 8))
    def advance(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @precondition(lambda self: self.messages)
    @rule(data=st.data(), mode=st.sampled_from(["send", "send", "raise", "die"]))
    def run_a_message(self, data: st.DataObject, mode: str) -> None:
        """The broker runs any message ever sent: a first run, a redelivery, a stale one."""
        follow_up, until = data.draw(st.sampled_from(self.messages))
        self.dispatcher.mode = mode
        before = len(self.dispatcher.calls)
        now = self.clock()
        with contextlib.suppress(WorkerDied):
            self.delivery.deliver(follow_up, until)
        for follow_up_id, key, attempt, how in self.dispatcher.calls[before:]:
            # sent under the latest claim, never under one a later claim superseded
            assert attempt == self.latest[follow_up_id]
            self.sends.append((follow_up_id, key, attempt, how, now, until))

    @invariant()
    def dispatches_follow_the_rules(self) -> None:
        answered: set[str] = set()
        for number, (follow_up_id, key, _, how, at, until) in enumerate(self.sends):
            assert at < until, "sent after its lease ran out"
            assert key == self.keys[follow_up_id]
            assert number < self.cancelled.get(follow_up_id, len(self.sends)), "after cancel"
            assert follow_up_id not in answered, "sent again after a send was answered"
            if how == "send":
                answered.add(follow_up_id)
        # one claim sends twice only when its first send died unanswered
        seen: dict[tuple[str, int], str] = {}
        for follow_up_id, _, attempt, how, *_ in self.sends:
            previous = seen.get((follow_up_id, attempt))
            assert previous in (None, "die"), (follow_up_id, attempt, previous)
            seen[(follow_up_id, attempt)] = how

    def nothing_is_lost(self) -> None:
        """Past every lease and retry, new claims deliver everything still live."""
        self.dispatcher.mode = "send"
        for _ in range(ATTEMPTS + 2):
            self.clock.advance(LEASE + BACKOFF * 2**ATTEMPTS)
            for follow_up in self.scheduler.claim_due(self.clock(), limit=1000, lease=LEASE):
                self.delivery.deliver(follow_up, self.clock() + LEASE)
        for follow_up_id in self.keys:
            status = self.scheduler.status(follow_up_id)
            if follow_up_id in self.cancelled:
                assert status is FollowUpStatus.CANCELLED
            else:
                assert status in (FollowUpStatus.DELIVERED, FollowUpStatus.FAILED)
                if status is FollowUpStatus.DELIVERED:
                    assert any(c[0] == follow_up_id for c in self.dispatcher.calls)


class InMemoryTaskMachine(CeleryTaskMachine):
    def make_scheduler(self) -> FollowUpScheduler:
        return InMemoryScheduler()


class SQLiteTaskMachine(CeleryTaskMachine):
    def make_scheduler(self) -> FollowUpScheduler:
        return SQLiteScheduler(self.directory / "follow-ups.db")


TestInMemory = settings(stateful_step_count=30)(InMemoryTaskMachine).TestCase
TestSQLite = settings(stateful_step_count=30, max_examples=40)(SQLiteTaskMachine).TestCase
