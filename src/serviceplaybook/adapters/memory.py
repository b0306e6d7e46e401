"""In-memory implementations of the ports: for tests, simulations and single-process demos.

They keep the same guarantees as the durable backends within one process: a unit of work is
kept whole or undone whole, stale saves are refused, grants and follow-ups are idempotent by
key. Nothing survives the process.
"""

from __future__ import annotations

import functools
import heapq
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import NamedTuple

import attrs

from serviceplaybook._errors import ConcurrentUpdate, NotFound, ValidationError
from serviceplaybook._records.compensation import Grant
from serviceplaybook._records.conversation import Conversation, check_version_rises
from serviceplaybook._records.digest import JournalDigest, digest_histories
from serviceplaybook._records.erasure import erased_follow_up, erased_grant
from serviceplaybook._records.followup import FollowUp, FollowUpStatus
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.query import ConversationPage, ConversationQuery, page_of
from serviceplaybook._records.validate import check_claim, require_aware

__all__ = [
    "InMemoryConversationStore",
    "InMemoryJournal",
    "InMemoryLedger",
    "InMemoryScheduler",
    "InMemoryStorage",
]

Undo = Callable[[], object]


class _UndoLog:
    """Records how to reverse each write made inside ``atomic()``; a no-op outside it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.entries: list[Undo] | None = None

    def record(self, undo: Undo) -> None:
        if self.entries is not None:
            self.entries.append(undo)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with self.lock:
            outermost = self.entries is None
            if outermost:
                self.entries = []
            assert self.entries is not None
            mark = len(self.entries)
            try:
                yield
            except BaseException:
                undone = self.entries[mark:]
                del self.entries[mark:]
                for undo in reversed(undone):
                    undo()
                raise
            finally:
                if outermost:
                    self.entries = None


class InMemoryConversationStore:
    """Conversations in a dict, with optimistic concurrency on ``version``."""

    def __init__(self, undo: _UndoLog | None = None) -> None:
        self._undo = undo or _UndoLog()
        self._conversations: dict[str, Conversation] = {}

    def get(self, conversation_id: str) -> Conversation:
        """The stored conversation; raises :class:`NotFound`."""
        try:
            return self._conversations[conversation_id]
        except KeyError:
            raise NotFound("conversation", conversation_id) from None

    def save(self, conversation: Conversation, *, expected_version: int) -> None:
        """Store ``conversation`` if the stored one is at ``expected_version`` (0: new)."""
        with self._undo.lock:
            previous = self._conversations.get(conversation.id)
            actual = 0 if previous is None else previous.version
            if actual != expected_version:
                raise ConcurrentUpdate(conversation.id, expected_version, actual)
            check_version_rises(conversation, expected_version)
            self._conversations[conversation.id] = conversation
            if previous is None:
                self._undo.record(lambda: self._conversations.pop(conversation.id, None))
            else:
                self._undo.record(
                    lambda: self._conversations.__setitem__(conversation.id, previous)
                )

    def find(self, query: ConversationQuery) -> ConversationPage:
        """One page of the conversations that meet ``query``, oldest opened first."""
        with self._undo.lock:
            found = [c for c in self._conversations.values() if query.matches(c)]
        return page_of(query, found)

    def __len__(self) -> int:
        return len(self._conversations)

    def __iter__(self) -> Iterator[Conversation]:
        return iter(list(self._conversations.values()))


class InMemoryJournal:
    """Journal entries in per-conversation lists."""

    def __init__(self, undo: _UndoLog | None = None) -> None:
        self._undo = undo or _UndoLog()
        self._entries: dict[str, list[JournalEntry]] = {}

    def append(self, entries: Sequence[JournalEntry]) -> None:
        """Append ``entries`` in order."""
        with self._undo.lock:
            for entry in entries:
                log = self._entries.setdefault(entry.conversation_id, [])
                log.append(entry)
                self._undo.record(log.pop)

    def history(self, conversation_id: str) -> list[JournalEntry]:
        """The conversation's entries, oldest first (empty for an unknown id)."""
        return list(self._entries.get(conversation_id, ()))

    def digest(self) -> JournalDigest:
        """The journal digested for insights (``digest_histories`` over every conversation)."""
        with self._undo.lock:
            histories = [list(log) for log in self._entries.values()]
        return digest_histories(histories)

    def rewrite(self, entries: Sequence[JournalEntry]) -> None:
        """Replace the stored entries with the same conversation and ``seq`` (erasure)."""
        with self._undo.lock:
            for entry in entries:
                log = self._entries.get(entry.conversation_id, [])
                for index, stored in enumerate(log):
                    if stored.seq == entry.seq:
                        log[index] = entry
                        self._undo.record(functools.partial(log.__setitem__, index, stored))
                        break


class InMemoryLedger:
    """Compensation grants, idempotent by key."""

    def __init__(self, undo: _UndoLog | None = None) -> None:
        self._undo = undo or _UndoLog()
        self._by_key: dict[str, Grant] = {}
        self._by_customer: dict[str, list[Grant]] = {}

    def record(self, grant: Grant) -> Grant:
        """Record ``grant`` once; the same key with other terms is an error."""
        with self._undo.lock:
            first = self._by_key.get(grant.key)
            if first is not None:
                if (first.customer_id, first.offer) != (grant.customer_id, grant.offer):
                    raise ValidationError(
                        f"grant key {grant.key!r} was already recorded with other terms; "
                        f"an idempotency key must always name the same grant"
                    )
                return first
            self._by_key[grant.key] = grant
            grants = self._by_customer.setdefault(grant.customer_id, [])
            grants.append(grant)
            self._undo.record(lambda: (self._by_key.pop(grant.key), grants.pop()))
            return grant

    def grants(self, customer_id: str, *, since: datetime | None = None) -> list[Grant]:
        """The customer's grants, oldest first, optionally from ``since`` on."""
        grants = self._by_customer.get(customer_id, [])
        return sorted(
            (g for g in grants if since is None or g.at >= since), key=lambda g: (g.at, g.key)
        )

    def reassign(self, customer_id: str, pseudonym: str) -> int:
        """Move the customer's grants to ``pseudonym``, amounts kept; returns how many."""
        with self._undo.lock:
            before = self._by_customer.pop(customer_id, [])
            if not before:
                return 0
            target = self._by_customer.get(pseudonym, [])
            moved = [erased_grant(g, pseudonym) for g in before]
            previous_keys = {g.key: self._by_key[g.key] for g in before}
            self._by_customer[pseudonym] = target + moved
            self._by_key.update((g.key, g) for g in moved)

            def undo() -> None:
                self._by_customer[customer_id] = before
                self._by_customer[pseudonym] = target
                self._by_key.update(previous_keys)

            self._undo.record(undo)
            return len(moved)


class _Held(NamedTuple):
    follow_up: FollowUp
    status: FollowUpStatus
    ready_at: datetime  # due time, retry time, or the end of a claim's lease
    # while claimed: the ready time before the first claim, which a release restores
    before: datetime | None = None


class InMemoryScheduler:
    """Follow-ups in a heap ordered by the next moment each needs attention.

    A claim holds a follow-up for the lease; if it is neither completed nor failed by then,
    it is handed out again (at-least-once delivery), before anything due later (ties go
    by id). A
    cancellation is checked at claim time, and an answer (``complete``, ``fail``) for a claim
    that was superseded is ignored when it names its ``attempt``.
    """

    def __init__(self, undo: _UndoLog | None = None) -> None:
        self._undo = undo or _UndoLog()
        self._held: dict[str, _Held] = {}
        self._keys: dict[str, str] = {}
        self._by_conversation: dict[str, list[str]] = {}
        self._by_customer: dict[str, list[str]] = {}
        # (ready_at, id): ties go by id, as in every backend; an entry whose time no longer
        # matches the held one was superseded by a later change and is skipped
        self._heap: list[tuple[datetime, str]] = []

    def _set(self, follow_up_id: str, held: _Held) -> None:
        previous = self._held.get(follow_up_id)
        self._put(follow_up_id, held)
        if previous is None:
            self._undo.record(lambda: self._held.pop(follow_up_id, None))
        else:
            self._undo.record(lambda: self._put(follow_up_id, previous))

    def _put(self, follow_up_id: str, held: _Held) -> None:
        self._held[follow_up_id] = held
        if held.status in _LIVE:  # delivered, cancelled and failed ones never come up again
            heapq.heappush(self._heap, (held.ready_at, follow_up_id))

    def schedule(self, follow_up: FollowUp) -> None:
        """Hold ``follow_up`` until due; a key already held is ignored.

        Raises:
            ValidationError: the id is already held under another key.
        """
        with self._undo.lock:
            if follow_up.key in self._keys:
                return
            if follow_up.id in self._held:
                raise ValidationError(
                    f"follow-up id {follow_up.id!r} is already held under key "
                    f"{self._held[follow_up.id].follow_up.key!r}; give each follow-up its own id"
                )
            follow_up_id = follow_up.id
            self._keys[follow_up.key] = follow_up_id
            by_conversation = self._by_conversation.get(follow_up.conversation_id)
            if by_conversation is None:
                by_conversation = self._by_conversation[follow_up.conversation_id] = []
            by_conversation.append(follow_up_id)
            by_customer = self._by_customer.get(follow_up.customer_id)
            if by_customer is None:
                by_customer = self._by_customer[follow_up.customer_id] = []
            by_customer.append(follow_up_id)
            due = follow_up.due_at
            self._held[follow_up_id] = _Held(follow_up, _PENDING, due)
            heapq.heappush(self._heap, (due, follow_up_id))
            if self._undo.entries is not None:
                self._undo.record(
                    lambda: (
                        self._keys.pop(follow_up.key),
                        by_conversation.pop(),
                        by_customer.pop(),
                        self._held.pop(follow_up_id),
                    )
                )

    def cancel(self, conversation_id: str) -> int:
        """Cancel the conversation's pending (and claimed) follow-ups; returns how many."""
        cancelled = 0
        with self._undo.lock:
            for follow_up_id in self._by_conversation.get(conversation_id, ()):
                held = self._held[follow_up_id]
                if held.status in _LIVE:
                    self._set(follow_up_id, held._replace(status=FollowUpStatus.CANCELLED))
                    cancelled += 1
        return cancelled

    def claim_due(
        self, now: datetime, *, limit: int = 100, lease: timedelta = timedelta(minutes=5)
    ) -> list[FollowUp]:
        """Claim up to ``limit`` follow-ups ready at ``now``, soonest first: due ones, retries
        whose time came, and claims whose lease ran out.

        Raises:
            ValidationError: ``now`` is naive, ``limit`` below 1 or ``lease`` not positive.
        """
        require_aware(now, "claim_due(now)")
        check_claim(limit, lease)
        claimed: list[FollowUp] = []
        heap = self._heap
        with self._undo.lock:
            while heap and len(claimed) < limit and heap[0][0] <= now:
                ready_at, follow_up_id = heapq.heappop(heap)
                held = self._held.get(follow_up_id)
                if held is None or held.ready_at != ready_at or held.status not in _LIVE:
                    continue  # superseded by a later change, or no longer live
                follow_up = _with_attempts(held.follow_up, held.follow_up.attempts + 1)
                # a lapsed claim taken over keeps the ready time from before the first claim
                before = held.before if held.status is FollowUpStatus.CLAIMED else ready_at
                self._set(
                    follow_up_id,
                    _Held(follow_up, FollowUpStatus.CLAIMED, now + lease, before),
                )
                claimed.append(follow_up)
        return claimed

    def _get(self, follow_up_id: str) -> _Held:
        held = self._held.get(follow_up_id)
        if held is None:
            raise NotFound("follow-up", follow_up_id)
        return held

    def _answerable(self, follow_up_id: str, attempt: int | None) -> _Held | None:
        held = self._get(follow_up_id)
        if held.status is not FollowUpStatus.CLAIMED:
            return None  # cancelled meanwhile, or already answered
        if attempt is not None and attempt != held.follow_up.attempts:
            return None  # the lease ran out and another worker claimed it since
        return held

    def complete(self, follow_up_id: str, *, attempt: int | None = None) -> None:
        """Mark a claimed follow-up delivered (ignored if not claimed, or if ``attempt`` is not
        the latest claim's).

        Raises:
            NotFound: no follow-up has this id.
        """
        with self._undo.lock:
            held = self._answerable(follow_up_id, attempt)
            if held is not None:
                self._set(follow_up_id, held._replace(status=FollowUpStatus.DELIVERED))

    def fail(
        self, follow_up_id: str, *, retry_at: datetime | None, attempt: int | None = None
    ) -> None:
        """Retry at ``retry_at``, or give up (``FAILED``, kept visible) when ``None``; ignored
        if not claimed, or if ``attempt`` is not the latest claim's.

        Raises:
            NotFound: no follow-up has this id.
            ValidationError: ``retry_at`` is naive.
        """
        if retry_at is not None:
            require_aware(retry_at, "fail(retry_at)")
        with self._undo.lock:
            held = self._answerable(follow_up_id, attempt)
            if held is None:
                return
            if retry_at is None:
                self._set(follow_up_id, held._replace(status=FollowUpStatus.FAILED))
            else:
                self._set(
                    follow_up_id,
                    held._replace(status=FollowUpStatus.PENDING, ready_at=retry_at),
                )

    def release(self, follow_up_id: str, *, attempt: int | None = None) -> None:
        """Give back a claim never sent: ready again at once, as before the claim, without
        counting an attempt (ignored if not claimed, or if ``attempt`` is not the latest
        claim's).

        Raises:
            NotFound: no follow-up has this id.
        """
        with self._undo.lock:
            held = self._answerable(follow_up_id, attempt)
            if held is None:
                return
            assert held.before is not None  # set by every claim
            self._set(
                follow_up_id,
                _Held(
                    _with_attempts(held.follow_up, held.follow_up.attempts - 1),
                    FollowUpStatus.PENDING,
                    held.before,
                ),
            )

    def status(self, follow_up_id: str) -> FollowUpStatus:
        """Where the follow-up stands.

        Raises:
            NotFound: no follow-up has this id.
        """
        return self._get(follow_up_id).status

    def for_customer(self, customer_id: str, *, since: datetime | None = None) -> list[FollowUp]:
        """The customer's follow-ups that reached them or still may (pending, claimed or
        delivered; not cancelled or failed), due from ``since`` on, soonest first."""
        if since is not None:
            require_aware(since, "for_customer(since)")
        with self._undo.lock:
            held = [self._held[i] for i in self._by_customer.get(customer_id, ())]
        return _soonest_first(
            h.follow_up
            for h in held
            if h.status in _CONTACTED and (since is None or h.follow_up.due_at >= since)
        )

    def reassign(self, customer_id: str, pseudonym: str) -> int:
        """Move every follow-up of the customer to ``pseudonym``; returns how many."""
        with self._undo.lock:
            ids = self._by_customer.get(customer_id, [])
            for follow_up_id in ids:
                held = self._held[follow_up_id]
                moved = erased_follow_up(held.follow_up, pseudonym)
                self._held[follow_up_id] = held._replace(follow_up=moved)
                self._undo.record(functools.partial(self._held.__setitem__, follow_up_id, held))
            if ids:
                before = self._by_customer.pop(customer_id)
                target = self._by_customer.get(pseudonym, [])
                self._by_customer[pseudonym] = target + before

                def undo() -> None:
                    self._by_customer[customer_id] = before
                    self._by_customer[pseudonym] = target

                self._undo.record(undo)
            return len(ids)

    def pending(self) -> list[FollowUp]:
        """Follow-ups not yet delivered, cancelled or failed, soonest due first."""
        return self._with_status(_LIVE)

    def failed(self) -> list[FollowUp]:
        """Follow-ups given up on after failed deliveries, soonest due first."""
        return self._with_status((FollowUpStatus.FAILED,))

    def _with_status(self, statuses: tuple[FollowUpStatus, ...]) -> list[FollowUp]:
        with self._undo.lock:
            held = list(self._held.values())
        return _soonest_first(h.follow_up for h in held if h.status in statuses)

    def __len__(self) -> int:
        return len(self._held)


_PENDING = FollowUpStatus.PENDING
_LIVE = (FollowUpStatus.PENDING, FollowUpStatus.CLAIMED)
_CONTACTED = (FollowUpStatus.PENDING, FollowUpStatus.CLAIMED, FollowUpStatus.DELIVERED)


def _soonest_first(follow_ups: Iterator[FollowUp]) -> list[FollowUp]:
    return sorted(follow_ups, key=lambda f: (f.due_at, f.id))


def _with_attempts(follow_up: FollowUp, attempts: int) -> FollowUp:
    return attrs.evolve(follow_up, attempts=attempts)


class InMemoryStorage:
    """The four in-memory stores sharing one undo log, so a unit of work is all or nothing."""

    def __init__(self) -> None:
        self._undo = _UndoLog()
        self.conversations = InMemoryConversationStore(self._undo)
        self.journal = InMemoryJournal(self._undo)
        self.ledger = InMemoryLedger(self._undo)
        self.follow_ups = InMemoryScheduler(self._undo)

    def atomic(self) -> AbstractContextManager[None]:
        """Keep every write inside together, or undo them all on an exception."""
        return self._undo.atomic()

    def close(self) -> None:
        """Nothing to release: memory goes with the object. Kept for the port, so code that
        closes its storage runs on every backend."""

    def compact(self) -> None:
        """Nothing to do: erased records are gone from memory once nothing refers to them."""

    def __enter__(self) -> InMemoryStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
