"""The ports: what serviceplaybook needs from its host, as ``typing.Protocol`` classes.

Implement them to keep conversations, the journal, compensation grants and follow-ups in
your own storage; ``serviceplaybook.adapters`` has the ready ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from serviceplaybook._records.compensation import Grant
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.digest import JournalDigest
from serviceplaybook._records.followup import FollowUp, FollowUpStatus
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.query import ConversationPage, ConversationQuery


@runtime_checkable
class Clock(Protocol):
    """A zero-argument callable returning the current time, timezone-aware.

    Any function fits, e.g. ``lambda: datetime.now(timezone.utc)``;
    :class:`serviceplaybook.testing.FakeClock` is one you move by hand.
    """

    def __call__(self) -> datetime:
        """The current time, timezone-aware."""
        ...


@runtime_checkable
class ConversationStore(Protocol):
    """Keeps conversations, refusing stale writes."""

    def get(self, conversation_id: str) -> Conversation:
        """The stored conversation; raises :class:`~serviceplaybook.NotFound`."""
        ...

    def save(self, conversation: Conversation, *, expected_version: int) -> None:
        """Store ``conversation`` if the stored one is at ``expected_version`` (0: new).

        Raises :class:`~serviceplaybook.ConcurrentUpdate` otherwise, storing nothing.
        """
        ...

    def find(self, query: ConversationQuery) -> ConversationPage:
        """One page of the conversations that meet every condition of ``query``
        (:meth:`ConversationQuery.matches` is the reference), oldest opened first, ties by
        id; ``page.next`` is the cursor of the next page, ``None`` after the last.

        Inside a unit of work the conversations it saved are seen as saved.

        Raises:
            ValidationError: ``query.after`` is not a cursor this query's pages gave.
        """
        ...


@runtime_checkable
class Journal(Protocol):
    """The append-only record of every event."""

    def append(self, entries: Sequence[JournalEntry]) -> None:
        """Append ``entries`` (already redacted), in order."""
        ...

    def history(self, conversation_id: str) -> list[JournalEntry]:
        """The conversation's entries, oldest first."""
        ...

    def rewrite(self, entries: Sequence[JournalEntry]) -> None:
        """Replace stored entries by these, matched by ``(conversation_id, seq)``: for
        erasing a customer's data only (the journal is otherwise append-only). Entries not
        stored are ignored."""
        ...


@runtime_checkable
class DigestingJournal(Journal, Protocol):
    """A journal that digests itself where its entries are, for ``serviceplaybook.insights``:
    one pass of aggregate queries instead of reading every conversation's history back.

    A journal without :meth:`digest` still works with insights (they read each history
    through the conversation store, slower); ``serviceplaybook._records.digest`` holds the
    reference in Python that every implementation must agree with.
    """

    def digest(self) -> JournalDigest:
        """One row per conversation, offer proposed, escalation and feedback given, each in
        the order of conversation id then ``seq``, as ``digest_histories`` computes it from
        the entries."""
        ...


@runtime_checkable
class CompensationLedger(Protocol):
    """Every compensation granted, idempotent by key."""

    def record(self, grant: Grant) -> Grant:
        """Record ``grant`` once: the same key again returns the first grant recorded."""
        ...

    def grants(self, customer_id: str, *, since: datetime | None = None) -> list[Grant]:
        """The customer's grants, oldest first, optionally from ``since`` on."""
        ...

    def reassign(self, customer_id: str, pseudonym: str) -> int:
        """Move the customer's grants to ``pseudonym`` (erasing a customer), each as
        ``serviceplaybook._records.erasure.erased_grant`` gives it (the offer's free-text
        description erased; every key, kind, amount and time kept for accounting); returns
        how many moved."""
        ...


@runtime_checkable
class FollowUpScheduler(Protocol):
    """Holds follow-ups until they are due and hands them out to workers, at least once.

    A follow-up is ``PENDING`` until a worker claims it (``CLAIMED``, with a lease), then
    ``DELIVERED`` (``complete``), ``PENDING`` again (``fail`` with a retry time, or the lease
    ran out), ``FAILED`` (``fail`` without a retry time: kept, visible, never dropped) or
    ``CANCELLED`` (``cancel``, checked at every claim and answer). Times are stored and
    returned timezone-aware; a durable scheduler loses nothing it acknowledged.
    """

    def schedule(self, follow_up: FollowUp) -> None:
        """Hold ``follow_up``; scheduling a key that is already held does nothing.

        Raises:
            ValidationError: the follow-up's id is already held under another key.
        """
        ...

    def cancel(self, conversation_id: str) -> int:
        """Cancel the conversation's pending and claimed follow-ups; returns how many."""
        ...

    def claim_due(
        self, now: datetime, *, limit: int = 100, lease: timedelta = timedelta(minutes=5)
    ) -> list[FollowUp]:
        """Claim up to ``limit`` follow-ups ready at ``now``, soonest first: due ones, retries
        whose time came and claims whose lease ran out. Nobody else gets them while the
        lease holds. Each comes back with ``attempts`` counting this claim: pass it as
        ``attempt`` to :meth:`complete` or :meth:`fail`.

        Raises:
            ValidationError: ``now`` is naive, ``limit`` below 1 or ``lease`` not positive.
        """
        ...

    def complete(self, follow_up_id: str, *, attempt: int | None = None) -> None:
        """Mark a claimed follow-up delivered.

        Ignored when the follow-up is not claimed (cancelled meanwhile, or answered), and,
        when ``attempt`` is given, when another claim superseded that one.

        Raises:
            NotFound: no follow-up has this id.
        """
        ...

    def fail(
        self, follow_up_id: str, *, retry_at: datetime | None, attempt: int | None = None
    ) -> None:
        """Record a failed delivery: try again at ``retry_at``, or give up when ``None``.

        Ignored like :meth:`complete`: a worker whose lease ran out cannot put back a
        follow-up that another worker holds.

        Raises:
            NotFound: no follow-up has this id.
        """
        ...

    def release(self, follow_up_id: str, *, attempt: int | None = None) -> None:
        """Give back a claimed follow-up that was never sent (the worker is stopping): it is
        ready again at once, as it was before the claim, and the claim does not count as an
        attempt.

        Ignored like :meth:`complete`.

        Raises:
            NotFound: no follow-up has this id.
        """
        ...

    def status(self, follow_up_id: str) -> FollowUpStatus:
        """Where the follow-up stands; raises :class:`~serviceplaybook.NotFound`."""
        ...

    def for_customer(self, customer_id: str, *, since: datetime | None = None) -> list[FollowUp]:
        """The customer's follow-ups that reached them or still may (pending, claimed or
        delivered; not cancelled or failed), due at or after ``since``, soonest first: what
        a survey cooldown counts."""
        ...

    def reassign(self, customer_id: str, pseudonym: str) -> int:
        """Move every follow-up of the customer, whatever its status, to ``pseudonym``
        (erasing a customer; cancel them first); returns how many moved."""
        ...


@runtime_checkable
class FollowUpDispatcher(Protocol):
    """Sends a due follow-up: the host app emails, messages or books the call.

    Raising means "retry later". ``follow_up.key`` is the same on every attempt, so the host
    can deduplicate a delivery that happened but was not acknowledged.
    """

    def dispatch(self, follow_up: FollowUp) -> None:
        """Send ``follow_up``."""
        ...


class Storage(Protocol):
    """The four stores of one backend, written together as one unit of work.

    A storage is closed with :meth:`close` (or by leaving a ``with`` block on the desk that
    owns it).
    """

    @property
    def conversations(self) -> ConversationStore:
        """The conversations."""
        ...

    @property
    def journal(self) -> Journal:
        """The journal."""
        ...

    @property
    def ledger(self) -> CompensationLedger:
        """The compensation ledger."""
        ...

    @property
    def follow_ups(self) -> FollowUpScheduler:
        """The follow-up scheduler."""
        ...

    def atomic(self) -> AbstractContextManager[None]:
        """Everything written inside is kept together, or, on an exception, not at all.

        Nested blocks join the outer one; an exception inside a nested block undoes only
        that block's writes.
        """
        ...

    def close(self) -> None:
        """Release what the storage holds open (connections, files); calling it again does
        nothing. A storage used after ``close`` opens what it needs again."""
        ...

    def compact(self) -> None:
        """Make data already deleted or overwritten (by an erasure) unrecoverable from the
        storage's own files: SQLite rebuilds the file (``VACUUM``) and empties its
        write-ahead log. Slow on a big store: call it once after a batch of erasures."""
        ...
