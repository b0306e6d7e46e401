"""The follow-up scheduler's contract as a plain model, for the stateful tests that run
schedulers beside it (``test_scheduler_stateful``: in memory and SQLite side by side;
``test_memory_adapters``: schedulers inside units of work)."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from serviceplaybook import FollowUp, FollowUpStatus

PENDING = FollowUpStatus.PENDING
CLAIMED = FollowUpStatus.CLAIMED
DELIVERED = FollowUpStatus.DELIVERED
CANCELLED = FollowUpStatus.CANCELLED
FAILED = FollowUpStatus.FAILED
LIVE = (PENDING, CLAIMED)
CONTACTED = (PENDING, CLAIMED, DELIVERED)


@attrs.frozen
class Slot:
    follow_up: FollowUp  # as held, attempts included
    status: FollowUpStatus
    ready_at: datetime  # due time, retry time or the end of the lease
    before: datetime | None = None  # while claimed: the ready time before the first claim


class Model:
    """The scheduler's contract, written as plainly as possible."""

    def __init__(self) -> None:
        self.slots: dict[str, Slot] = {}
        self.keys: dict[str, str] = {}
        self.ever_cancelled: set[str] = set()

    def copy(self) -> Model:
        """A copy to go back to when a unit of work rolls back."""
        copy = Model()
        copy.slots = dict(self.slots)
        copy.keys = dict(self.keys)
        copy.ever_cancelled = set(self.ever_cancelled)
        return copy

    def schedule(self, follow_up: FollowUp) -> bool:
        """False when the id is held under another key (an error)."""
        if follow_up.key in self.keys:
            return True
        if follow_up.id in self.slots:
            return False
        self.keys[follow_up.key] = follow_up.id
        self.slots[follow_up.id] = Slot(follow_up, PENDING, follow_up.due_at)
        return True

    def cancel(self, conversation_id: str) -> int:
        cancelled = 0
        for i, slot in self.slots.items():
            if slot.follow_up.conversation_id == conversation_id and slot.status in LIVE:
                self.slots[i] = attrs.evolve(slot, status=CANCELLED)
                self.ever_cancelled.add(i)
                cancelled += 1
        return cancelled

    def claim(self, now: datetime, limit: int, lease: timedelta) -> list[FollowUp]:
        ready = sorted(
            (slot.ready_at, i)
            for i, slot in self.slots.items()
            if slot.status in LIVE and slot.ready_at <= now
        )
        claimed = []
        for _, i in ready[:limit]:
            slot = self.slots[i]
            follow_up = attrs.evolve(slot.follow_up, attempts=slot.follow_up.attempts + 1)
            before = slot.before if slot.status is CLAIMED else slot.ready_at
            self.slots[i] = Slot(follow_up, CLAIMED, now + lease, before)
            claimed.append(follow_up)
        return claimed

    def answerable(self, follow_up_id: str, attempt: int | None) -> Slot | None:
        slot = self.slots[follow_up_id]
        if slot.status is not CLAIMED:
            return None
        if attempt is not None and attempt != slot.follow_up.attempts:
            return None
        return slot

    def complete(self, follow_up_id: str, attempt: int | None) -> None:
        slot = self.answerable(follow_up_id, attempt)
        if slot is not None:
            self.slots[follow_up_id] = attrs.evolve(slot, status=DELIVERED)

    def fail(self, follow_up_id: str, retry_at: datetime | None, attempt: int | None) -> None:
        slot = self.answerable(follow_up_id, attempt)
        if slot is None:
            return
        if retry_at is None:
            self.slots[follow_up_id] = attrs.evolve(slot, status=FAILED)
        else:
            self.slots[follow_up_id] = attrs.evolve(slot, status=PENDING, ready_at=retry_at)

    def release(self, follow_up_id: str, attempt: int | None) -> None:
        slot = self.answerable(follow_up_id, attempt)
        if slot is not None and slot.before is not None:
            follow_up = attrs.evolve(slot.follow_up, attempts=slot.follow_up.attempts - 1)
            self.slots[follow_up_id] = Slot(follow_up, PENDING, slot.before)

    def with_status(self, *statuses: FollowUpStatus) -> list[str]:
        return sorted(i for i, s in self.slots.items() if s.status in statuses)

    def listed(self, *statuses: FollowUpStatus) -> list[FollowUp]:
        held = [self.slots[i].follow_up for i in self.with_status(*statuses)]
        return sorted(held, key=lambda f: (f.due_at, f.id))

    def for_customer(self, customer_id: str, since: datetime | None) -> list[FollowUp]:
        return [
            f
            for f in self.listed(*CONTACTED)
            if f.customer_id == customer_id and (since is None or f.due_at >= since)
        ]
