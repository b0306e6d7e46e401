"""The in-memory adapters run beside plain models, step by step.

(``InMemoryScheduler`` alone runs beside the scheduler model and the SQLite scheduler in
``test_scheduler_stateful``.)

* ``InMemoryStorage`` units of work against a dict model that applies a block's writes only
  when it commits (and drops a nested block's writes when only that block raises).
* A few threads: read-then-save inside ``atomic()`` stays gapless, and one grant key raced
  by two threads is recorded once.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from scheduler_model import CANCELLED, FAILED, LIVE, PENDING, Model
from serviceplaybook import (
    Agent,
    ConcurrentUpdate,
    Conversation,
    Customer,
    FollowUp,
    FollowUpStatus,
    Grant,
    InMemoryScheduler,
    InMemoryStorage,
    Issue,
    JournalEntry,
    Money,
    NotFound,
    Offer,
    OfferKind,
    ValidationError,
)
from serviceplaybook.testing import FakeClock
from strategies import conversations, follow_ups, grants, journal_entries

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# Zones without DST changes in the range the clock covers, so every time is unambiguous.
ZONES = (
    UTC,
    timezone(timedelta(hours=-3, minutes=-30)),
    timezone(timedelta(hours=14)),
    ZoneInfo("Asia/Kathmandu"),
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Asia/Tokyo"),
)

zones = st.sampled_from(ZONES)
minutes = st.integers(0, 3 * 24 * 60).map(lambda m: timedelta(minutes=m))
steps = st.one_of(
    st.integers(1, 120).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 72).map(lambda h: timedelta(hours=h)),
    st.integers(1, 4).map(lambda d: timedelta(days=d)),
)
leases = st.one_of(
    st.integers(1, 60).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 48).map(lambda h: timedelta(hours=h)),
)
limits = st.one_of(st.integers(1, 4), st.just(100))
due_offsets = st.integers(-2 * 24 * 60, 5 * 24 * 60).map(lambda m: timedelta(minutes=m))


def machine_settings(step_count: int, *, runs: int | None = None) -> settings:
    """The loaded profile (dev or ci), with a bounded number of steps per run (and of runs,
    when given)."""
    if runs is None:
        return settings(settings.default, stateful_step_count=step_count)
    return settings(
        settings.default,
        stateful_step_count=step_count,
        max_examples=min(settings.default.max_examples, runs),
    )


CONVERSATION_IDS = ("conv-a", "conv-b", "conv-c")


# -- units of work ---------------------------------------------------------------------

FOLLOW_UP_NUMBERS = range(5)
GRANT_KEYS = ("grant-1", "grant-2", "grant-3", "grant-4")
CUSTOMER_IDS = ("cust-1", "cust-2")  # few, so that customers get several grants


class Boom(Exception):
    """Raised at the end of a block to make it roll back."""


def check_grants(stored: list[Grant], expected: list[Grant]) -> None:
    """The same grants (keys are unique), oldest first; equal times in any order."""
    assert sorted(stored, key=by_time_and_key) == sorted(expected, key=by_time_and_key)
    times = [grant.at for grant in stored]
    assert times == sorted(times), "grants are not oldest first"


def by_time_and_key(grant: Grant) -> tuple[datetime, str]:
    return (grant.at, grant.key)


class StorageModel:
    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self.journal: dict[str, list[JournalEntry]] = {}
        self.grants: dict[str, Grant] = {}
        self.by_customer: dict[str, list[Grant]] = {}
        self.scheduler = Model()

    def copy(self) -> StorageModel:
        copy = StorageModel()
        copy.conversations = dict(self.conversations)
        copy.journal = {k: list(v) for k, v in self.journal.items()}
        copy.grants = dict(self.grants)
        copy.by_customer = {k: list(v) for k, v in self.by_customer.items()}
        copy.scheduler = self.scheduler.copy()
        return copy


Op = tuple[Any, ...]

operations: st.SearchStrategy[Op] = st.one_of(
    st.tuples(st.just("save"), st.sampled_from(CONVERSATION_IDS), st.integers(0, 1)),
    st.tuples(
        st.just("stale_save"),
        st.sampled_from(CONVERSATION_IDS),
        st.integers(1, 3),
        st.booleans(),
    ),
    st.tuples(
        st.just("journal"),
        st.lists(st.tuples(st.sampled_from(CONVERSATION_IDS), journal_entries()), max_size=3),
    ),
    st.tuples(
        st.just("grant"),
        st.sampled_from(GRANT_KEYS),
        grants().map(lambda grant: grant.customer_id) | st.sampled_from(CUSTOMER_IDS),
        grants(),
    ),
    st.tuples(st.just("grant_again"), st.sampled_from(GRANT_KEYS), st.just(""), grants()),
    st.tuples(
        st.just("schedule"),
        st.sampled_from(FOLLOW_UP_NUMBERS),
        st.sampled_from(CONVERSATION_IDS),
        due_offsets,
        zones,
    ),
    st.tuples(st.just("cancel"), st.sampled_from(CONVERSATION_IDS)),
    st.tuples(st.just("claim"), limits, leases),
)
op_lists = st.lists(operations, max_size=4)
outcomes = st.sampled_from(["commit", "commit", "raise", "stale"])


class StorageMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(START)
        self.storage = InMemoryStorage()
        self.model = StorageModel()
        self.customers: set[str] = set()  # every customer a grant was ever tried for

    @initialize(bases=st.lists(conversations(), min_size=1, max_size=2), follow_up=follow_ups())
    def draw_bases(self, bases: list[Conversation], follow_up: FollowUp) -> None:
        self.bases = bases
        self.base_follow_up = follow_up

    # -- the operations, on the storage and on the model at once

    def version(self, conversation_id: str) -> int:
        stored = self.model.conversations.get(conversation_id)
        return 0 if stored is None else stored.version

    def record(self, conversation_id: str, version: int, variant: int) -> Conversation:
        base = self.bases[variant % len(self.bases)]
        return attrs.evolve(base, id=conversation_id, version=version)

    def run(self, op: Op) -> None:
        kind, *args = op
        storage, model = self.storage, self.model
        if kind == "save":
            conversation_id, variant = args
            actual = self.version(conversation_id)
            conversation = self.record(conversation_id, actual + 1, variant)
            storage.conversations.save(conversation, expected_version=actual)
            model.conversations[conversation_id] = conversation
        elif kind == "stale_save":
            conversation_id, distance, below = args
            actual = self.version(conversation_id)
            stale = actual - distance if below and actual >= distance else actual + distance
            conversation = self.record(conversation_id, stale + 1, distance)
            with pytest.raises(ConcurrentUpdate) as raised:
                storage.conversations.save(conversation, expected_version=stale)
            assert (raised.value.expected, raised.value.actual) == (stale, actual)
        elif kind == "journal":
            entries = [attrs.evolve(e, conversation_id=c) for c, e in args[0]]
            storage.journal.append(entries)
            for entry in entries:
                model.journal.setdefault(entry.conversation_id, []).append(entry)
        elif kind in ("grant", "grant_again"):
            key, customer_id, drawn = args
            grant = attrs.evolve(drawn, key=key, customer_id=customer_id or drawn.customer_id)
            first = model.grants.get(key)
            if kind == "grant_again" and first is not None:
                # the same terms, told again by someone else at another time
                grant = attrs.evolve(grant, customer_id=first.customer_id, offer=first.offer)
            self.customers.add(grant.customer_id)
            if first is None:
                assert storage.ledger.record(grant) == grant
                model.grants[key] = grant
                model.by_customer.setdefault(grant.customer_id, []).append(grant)
            elif (first.customer_id, first.offer) == (grant.customer_id, grant.offer):
                assert storage.ledger.record(grant) == first
            else:
                with pytest.raises(ValidationError):
                    storage.ledger.record(grant)
        elif kind == "schedule":
            number, conversation_id, offset, zone = args
            follow_up = attrs.evolve(
                self.base_follow_up,
                id=f"fu-{number}",
                key=f"key-{number}",
                conversation_id=conversation_id,
                due_at=(self.clock.now + offset).astimezone(zone),
            )
            storage.follow_ups.schedule(follow_up)
            model.scheduler.schedule(follow_up)
        elif kind == "cancel":
            (conversation_id,) = args
            cancelled = storage.follow_ups.cancel(conversation_id)
            assert cancelled == model.scheduler.cancel(conversation_id)
        elif kind == "claim":
            limit, lease = args
            claimed = storage.follow_ups.claim_due(self.clock.now, limit=limit, lease=lease)
            assert claimed == model.scheduler.claim(self.clock.now, limit, lease)
        else:  # pragma: no cover
            raise AssertionError(kind)
        self.check()  # a block reads its own writes

    def finish(self, outcome: str) -> None:
        if outcome == "raise":
            raise Boom
        if outcome == "stale":  # a stale save, not caught: the whole block goes
            conversation_id = CONVERSATION_IDS[0]
            actual = self.version(conversation_id)
            self.storage.conversations.save(
                self.record(conversation_id, actual + 2, 0), expected_version=actual + 1
            )

    def block(self, ops: list[Op], outcome: str) -> bool:
        """Run ``ops`` in a unit of work ending with ``outcome``; True if it committed."""
        before = self.model.copy()
        try:
            with self.storage.atomic():
                for op in ops:
                    self.run(op)
                self.finish(outcome)
        except (Boom, ConcurrentUpdate):
            assert outcome != "commit"
            self.model = before
            return False
        assert outcome == "commit"
        return True

    @rule(ops=op_lists, outcome=outcomes)
    def unit_of_work(self, ops: list[Op], outcome: str) -> None:
        self.block(ops, outcome)

    @rule(
        before=op_lists,
        inner=op_lists,
        inner_outcome=outcomes,
        after=op_lists,
        outcome=outcomes,
    )
    def nested_unit_of_work(
        self,
        before: list[Op],
        inner: list[Op],
        inner_outcome: str,
        after: list[Op],
        outcome: str,
    ) -> None:
        snapshot = self.model.copy()
        try:
            with self.storage.atomic():
                for op in before:
                    self.run(op)
                self.block(inner, inner_outcome)  # an exception here is caught out here
                for op in after:
                    self.run(op)
                self.finish(outcome)
        except (Boom, ConcurrentUpdate):
            assert outcome != "commit"
            self.model = snapshot
        else:
            assert outcome == "commit"

    @rule(ops=op_lists)
    def outside_any_block(self, ops: list[Op]) -> None:
        for op in ops:
            self.run(op)

    @rule(step=steps)
    def advance(self, step: timedelta) -> None:
        self.clock.advance(step)

    @invariant()
    def agrees_with_model(self) -> None:
        self.check()

    def check(self) -> None:
        storage, model = self.storage, self.model
        for conversation_id in CONVERSATION_IDS:
            if conversation_id in model.conversations:
                assert (
                    storage.conversations.get(conversation_id)
                    == (model.conversations[conversation_id])
                )
            else:
                with pytest.raises(NotFound):
                    storage.conversations.get(conversation_id)
            assert storage.journal.history(conversation_id) == model.journal.get(
                conversation_id, []
            )
        assert len(storage.conversations) == len(model.conversations)
        since = datetime(2050, 1, 1, tzinfo=UTC)
        for customer_id in self.customers:
            recorded = model.by_customer.get(customer_id, [])
            check_grants(storage.ledger.grants(customer_id), recorded)
            later = [grant for grant in recorded if grant.at >= since]
            check_grants(storage.ledger.grants(customer_id, since=since), later)
        scheduler = storage.follow_ups
        for follow_up_id in (f"fu-{n}" for n in FOLLOW_UP_NUMBERS):
            slot = model.scheduler.slots.get(follow_up_id)
            if slot is None:
                with pytest.raises(NotFound):
                    scheduler.status(follow_up_id)
            else:
                assert scheduler.status(follow_up_id) is slot.status, follow_up_id
        assert scheduler.pending() == model.scheduler.listed(*LIVE)


TestStorage = StorageMachine.TestCase
# Drawing whole conversations for each run is most of its cost: 100 runs of 20 steps keep
# finding bugs within the suite's time budget (the ci profile's 200 took 30 s).
TestStorage.settings = machine_settings(20, runs=100)


# -- plain examples -----------------------------------------------------------------------


def make_follow_up(number: int = 1, due_at: datetime = START) -> FollowUp:
    return FollowUp(
        id=f"fu-{number}",
        key=f"key-{number}",
        conversation_id="conv-a",
        customer_id="cust-1",
        channel="email",
        due_at=due_at,
    )


def make_conversation(conversation_id: str = "conv-x", version: int = 1) -> Conversation:
    return Conversation(
        id=conversation_id,
        stage="listening",
        customer=Customer(id="cust-1"),
        issue=Issue(category="billing", severity="medium", summary="charged twice"),
        agent=Agent(id="agent-1"),
        channel="chat",
        opened_at=START,
        updated_at=START,
        version=version,
    )


def make_grant(key: str = "grant-1", **changes: Any) -> Grant:
    fields: dict[str, Any] = {
        "key": key,
        "customer_id": "cust-1",
        "conversation_id": "conv-x",
        "offer": Offer(kind=OfferKind.CREDIT, value=Money("10.00", "USD"), id="offer-1"),
        "granted_by": "agent-1",
        "at": START,
    }
    fields.update(changes)
    return Grant(**fields)


def rolled_back(storage: InMemoryStorage, action: Any) -> None:
    """Run ``action`` in a unit of work that then raises :class:`Boom`."""
    with storage.atomic():
        action()
        raise Boom


def test_claim_due_refuses_a_naive_time() -> None:
    scheduler = InMemoryScheduler()
    scheduler.schedule(make_follow_up())
    with pytest.raises(ValidationError):
        scheduler.claim_due(datetime(2026, 1, 5, 9, 0))
    assert scheduler.status("fu-1") is PENDING


def test_a_retry_time_is_respected_and_attempts_count_up() -> None:
    scheduler = InMemoryScheduler()
    scheduler.schedule(make_follow_up())
    assert scheduler.claim_due(START - timedelta(seconds=1)) == []
    [first] = scheduler.claim_due(START, lease=timedelta(minutes=5))
    assert first.attempts == 1
    scheduler.fail("fu-1", retry_at=START + timedelta(hours=1))
    assert scheduler.claim_due(START + timedelta(minutes=59)) == []
    [second] = scheduler.claim_due(START + timedelta(hours=1))
    assert second.attempts == 2
    scheduler.fail("fu-1", retry_at=None)
    assert scheduler.status("fu-1") is FAILED
    assert scheduler.claim_due(START + timedelta(days=30)) == []


def test_a_cancelled_claim_is_not_revived_by_its_worker() -> None:
    scheduler = InMemoryScheduler()
    scheduler.schedule(make_follow_up())
    scheduler.claim_due(START)
    assert scheduler.cancel("conv-a") == 1
    scheduler.fail("fu-1", retry_at=START)
    scheduler.complete("fu-1")
    assert scheduler.status("fu-1") is CANCELLED
    assert scheduler.claim_due(START + timedelta(days=1)) == []


def test_a_rolled_back_claim_is_claimable_again() -> None:
    storage = InMemoryStorage()
    storage.follow_ups.schedule(make_follow_up())
    with pytest.raises(Boom):
        rolled_back(storage, lambda: storage.follow_ups.claim_due(START))
    assert storage.follow_ups.status("fu-1") is PENDING
    [again] = storage.follow_ups.claim_due(START)
    assert again.attempts == 1


def test_rolled_back_schedule_frees_its_key() -> None:
    storage = InMemoryStorage()
    with pytest.raises(Boom):
        rolled_back(storage, lambda: storage.follow_ups.schedule(make_follow_up()))
    with pytest.raises(NotFound):
        storage.follow_ups.status("fu-1")
    storage.follow_ups.schedule(make_follow_up(due_at=START + timedelta(hours=1)))
    assert storage.follow_ups.claim_due(START) == []
    assert [f.id for f in storage.follow_ups.claim_due(START + timedelta(hours=1))] == ["fu-1"]


@pytest.mark.parametrize("lease", [timedelta(0), timedelta(seconds=-1)])
def test_a_lease_must_be_positive(lease: timedelta) -> None:
    scheduler = InMemoryScheduler()
    scheduler.schedule(make_follow_up())
    with pytest.raises(ValidationError, match="positive duration"):
        scheduler.claim_due(START, limit=3, lease=lease)
    assert scheduler.status("fu-1") is FollowUpStatus.PENDING  # nothing was claimed


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads very often, so that races show up quickly."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


@pytest.mark.usefixtures("fast_switching")
def test_pending_is_safe_while_another_thread_schedules() -> None:
    scheduler = InMemoryScheduler()
    for number in range(50):
        scheduler.schedule(make_follow_up(number))
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        number = 1000
        while not stop.is_set():
            scheduler.schedule(make_follow_up(number))
            number += 1

    def reader() -> None:
        while not stop.is_set():
            try:
                scheduler.pending()
            except RuntimeError as error:  # pragma: no cover - the bug
                errors.append(error)
                stop.set()

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    stop.wait(0.5)  # before the fix the race showed within milliseconds
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []


# -- 3. threads ---------------------------------------------------------------------------


def run_threads(count: int, target: Any) -> list[BaseException]:
    """Run ``target(index)`` in ``count`` threads; the exceptions they raised."""
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            target(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hangs"
    return errors


@pytest.mark.usefixtures("fast_switching")
def test_read_then_save_inside_atomic_is_gapless_across_threads() -> None:
    threads, saves = 8, 25
    storage = InMemoryStorage()
    storage.conversations.save(make_conversation(version=1), expected_version=0)
    start = threading.Barrier(threads)

    def worker(index: int) -> None:
        start.wait()
        for _ in range(saves):
            with storage.atomic():
                current = storage.conversations.get("conv-x")
                time.sleep(0)  # invite another thread in between the read and the write
                saved = attrs.evolve(current, version=current.version + 1)
                storage.conversations.save(saved, expected_version=current.version)
                storage.journal.append(
                    [
                        JournalEntry(
                            conversation_id="conv-x",
                            seq=saved.version,
                            at=START,
                            kind="hear",
                            actor=f"worker-{index}",
                            stage="listening",
                        )
                    ]
                )

    assert run_threads(threads, worker) == []
    assert storage.conversations.get("conv-x").version == 1 + threads * saves
    seqs = [entry.seq for entry in storage.journal.history("conv-x")]
    assert seqs == list(range(2, 2 + threads * saves))
    actors = [entry.actor for entry in storage.journal.history("conv-x")]
    assert {actor: actors.count(actor) for actor in set(actors)} == {
        f"worker-{i}": saves for i in range(threads)
    }


@pytest.mark.usefixtures("fast_switching")
def test_optimistic_retries_outside_atomic_stay_gapless() -> None:
    """Reading outside the block may be stale: the save refuses it, and a retry succeeds."""
    threads, saves = 8, 10
    storage = InMemoryStorage()
    storage.conversations.save(make_conversation(version=1), expected_version=0)

    def worker(index: int) -> None:
        done = 0
        while done < saves:
            current = storage.conversations.get("conv-x")
            time.sleep(0)
            try:
                with storage.atomic():
                    storage.conversations.save(
                        attrs.evolve(current, version=current.version + 1),
                        expected_version=current.version,
                    )
            except ConcurrentUpdate:
                continue
            done += 1

    assert run_threads(threads, worker) == []
    assert storage.conversations.get("conv-x").version == 1 + threads * saves


def race_grants(
    told: list[Grant], *, inside_atomic: bool
) -> tuple[InMemoryStorage, list[Grant], list[BaseException]]:
    """Two threads record ``told[0]`` and ``told[1]``, released together by a barrier."""
    storage = InMemoryStorage()
    barrier = threading.Barrier(2)
    results: list[Grant] = []

    def worker(index: int) -> None:
        barrier.wait()
        if inside_atomic:
            with storage.atomic():
                results.append(storage.ledger.record(told[index]))
        else:
            results.append(storage.ledger.record(told[index]))

    errors = run_threads(2, worker)
    return storage, results, errors


@pytest.mark.usefixtures("fast_switching")
@pytest.mark.parametrize("inside_atomic", [False, True])
def test_one_grant_key_raced_by_two_threads_is_recorded_once(inside_atomic: bool) -> None:
    for _ in range(25):
        # the same terms, told by two agents at slightly different times
        told = [
            make_grant(granted_by=f"agent-{i}", at=START + timedelta(seconds=i)) for i in (1, 2)
        ]
        storage, results, errors = race_grants(told, inside_atomic=inside_atomic)
        assert errors == []
        recorded = storage.ledger.grants("cust-1")
        assert len(recorded) == 1
        assert recorded[0] in told
        assert results == [recorded[0], recorded[0]]


@pytest.mark.usefixtures("fast_switching")
@pytest.mark.parametrize("inside_atomic", [False, True])
def test_one_grant_key_raced_with_other_terms_records_one_and_refuses_the_other(
    inside_atomic: bool,
) -> None:
    other_terms = Offer(kind=OfferKind.GOODWILL, description="sorry", id="offer-2")
    for _ in range(25):
        told = [make_grant(), make_grant(offer=other_terms)]
        storage, results, errors = race_grants(told, inside_atomic=inside_atomic)
        assert len(errors) == 1
        assert isinstance(errors[0], ValidationError)
        assert len(results) == 1
        assert storage.ledger.grants("cust-1") == results
