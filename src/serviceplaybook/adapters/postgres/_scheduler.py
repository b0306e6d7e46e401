"""The follow-up scheduler: follow-ups in the ``follow_ups`` table, claimed with
``SELECT ... FOR UPDATE SKIP LOCKED`` and a lease."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from serviceplaybook._errors import NotFound, StorageError, ValidationError
from serviceplaybook._records.erasure import ERASED
from serviceplaybook._records.followup import FollowUp, FollowUpStatus
from serviceplaybook._records.validate import check_claim, require_aware
from serviceplaybook.adapters.postgres._database import PostgresDatabase

_COLUMNS = (
    "id, key, conversation_id, customer_id, channel, due_at, purpose, expires_at, text, attempts"
)


CLAIM = (
    "WITH claimed AS (UPDATE follow_ups SET lease_until = %s, attempts = attempts + 1 "
    "WHERE ctid = ANY(ARRAY(SELECT ctid FROM follow_ups "
    "WHERE status = 'pending' AND ready_at <= %s "
    "AND (lease_until IS NULL OR lease_until <= %s) "
    "ORDER BY ready_at, id LIMIT %s FOR UPDATE SKIP LOCKED)) "
    f"RETURNING ready_at, {_COLUMNS}) "
    f"SELECT {_COLUMNS} FROM claimed ORDER BY ready_at, id"
)
"""The claim: parameters the lease's end, now, now and limit; rows of the follow-ups'
columns, soonest ready first (``benchmarks/bench_postgres.py`` times it bare). The rows are
locked by a sub-select and updated by their physical address (a TID scan over the array of
``ctid``, about a millisecond quicker per 1,000 than joining a CTE). The server sorts them,
and they come back in binary, which the driver decodes faster than text."""


class PostgresScheduler:
    """Follow-ups in the ``follow_ups`` table, handed out at least once.

    A claim is one statement: it picks the next ready rows through the partial index
    ``follow_ups_ready`` with ``FOR UPDATE SKIP LOCKED`` (claimers in other processes skip
    the rows one is taking instead of waiting for it, and never take the same row) and sets
    their ``lease_until`` and ``attempts``: no indexed column changes, so the rows are
    updated in place (HOT) and the claim costs about what the locking ``SELECT`` costs,
    however many follow-ups are held. A claimed row whose lease ran out is ready again, so a
    worker that died loses its claims to the next claim; a lapsed claim keeps its place by
    due time (which is before its lease's end). Answers (complete, fail, release) count only
    while the row is still claimed by the same attempt; a cancellation is a row state checked
    by every claim and answer. Times come back in UTC.

    Args:
        database: the database.
    """

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database

    def _records(self, rows: Sequence[Sequence[Any]], skip: int = 0) -> list[FollowUp]:
        """Follow-ups from rows of ``_COLUMNS``, after ``skip`` other columns."""
        try:
            return [
                FollowUp(
                    id=row[skip],
                    key=row[skip + 1],
                    conversation_id=row[skip + 2],
                    customer_id=row[skip + 3],
                    channel=row[skip + 4],
                    due_at=row[skip + 5],
                    purpose=row[skip + 6],
                    expires_at=row[skip + 7],
                    text=row[skip + 8],
                    attempts=row[skip + 9],
                )
                for row in rows
            ]
        except (KeyError, TypeError, ValueError) as error:
            raise StorageError(
                self.database.path, f"a row of table 'follow_ups' is corrupt: {error!r}"
            ) from None

    def schedule(self, follow_up: FollowUp) -> None:
        """Hold ``follow_up`` until due; a key already held is ignored.

        Raises:
            ValidationError: the id is already held under another key.
        """
        rows = self.database.run(
            "WITH new AS (INSERT INTO follow_ups (id, key, conversation_id, customer_id, "
            "channel, due_at, purpose, expires_at, text, status, ready_at, attempts) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING key) "
            "SELECT key FROM new UNION ALL "
            "SELECT key FROM follow_ups WHERE NOT EXISTS (SELECT 1 FROM new) "
            "AND (key = %s OR id = %s)",
            (
                follow_up.id,
                follow_up.key,
                follow_up.conversation_id,
                follow_up.customer_id,
                follow_up.channel.value,
                follow_up.due_at,
                follow_up.purpose,
                follow_up.expires_at,
                follow_up.text,
                follow_up.due_at,
                follow_up.attempts,
                follow_up.key,
                follow_up.id,
            ),
        ).fetchall()
        if not rows:
            # The conflicting row was committed by another transaction after this
            # statement's snapshot (ON CONFLICT waited for it): read it with a new one.
            rows = self.database.run(
                "SELECT key FROM follow_ups WHERE key = %s OR id = %s",
                (follow_up.key, follow_up.id),
            ).fetchall()
        if any(key == follow_up.key for (key,) in rows):
            return
        raise ValidationError(
            f"follow-up id {follow_up.id!r} is already held under key {rows[0][0]!r}; "
            f"give each follow-up its own id"
        )

    def cancel(self, conversation_id: str) -> int:
        """Cancel the conversation's pending (and claimed) follow-ups; returns how many."""
        return self.database.run(
            "UPDATE follow_ups SET status = 'cancelled', lease_until = NULL "
            "WHERE conversation_id = %s AND status = 'pending'",
            (conversation_id,),
        ).rowcount

    def claim_due(
        self, now: datetime, *, limit: int = 100, lease: timedelta = timedelta(minutes=5)
    ) -> list[FollowUp]:
        """Claim up to ``limit`` follow-ups ready at ``now``, soonest first: due ones, retries
        whose time came, and claims whose lease ran out (those by the end of their lease);
        ties go by id.

        Raises:
            ValidationError: ``now`` is naive, ``limit`` below 1 or ``lease`` not positive.
        """
        check_claim(limit, lease)
        require_aware(now, "claim_due(now)")
        rows = self.database.run(CLAIM, (now + lease, now, now, limit), binary=True).fetchall()
        return self._records(rows)

    def _answer(self, follow_up_id: str, attempt: int | None, change: str, *extra: Any) -> None:
        """Apply ``change`` (a SET clause) if the follow-up is still claimed, by ``attempt``
        when given; raises :class:`NotFound` for an unknown id."""
        rows = self.database.run(
            f"WITH answered AS (UPDATE follow_ups SET {change}, lease_until = NULL "
            f"WHERE id = %s AND status = 'pending' AND lease_until IS NOT NULL "
            f"AND (%s::integer IS NULL OR attempts = %s) RETURNING 1) "
            f"SELECT EXISTS (SELECT 1 FROM follow_ups WHERE id = %s)",
            (*extra, follow_up_id, attempt, attempt, follow_up_id),
        ).fetchall()
        if not rows[0][0]:
            raise NotFound("follow-up", follow_up_id)

    def complete(self, follow_up_id: str, *, attempt: int | None = None) -> None:
        """Mark a claimed follow-up delivered (ignored if not claimed, or if ``attempt`` is not
        the latest claim's).

        Raises:
            NotFound: no follow-up has this id.
        """
        self._answer(follow_up_id, attempt, "status = 'delivered'")

    def fail(
        self, follow_up_id: str, *, retry_at: datetime | None, attempt: int | None = None
    ) -> None:
        """Retry at ``retry_at``, or give up (``FAILED``, kept visible) when ``None``; ignored
        if not claimed, or if ``attempt`` is not the latest claim's.

        Raises:
            NotFound: no follow-up has this id.
            ValidationError: ``retry_at`` is naive.
        """
        if retry_at is None:
            self._answer(follow_up_id, attempt, "status = 'failed'")
        else:
            require_aware(retry_at, "fail(retry_at)")
            self._answer(
                follow_up_id,
                attempt,
                "ready_at = %s",
                retry_at,
            )

    def release(self, follow_up_id: str, *, attempt: int | None = None) -> None:
        """Give back a claim never sent: ready again at once, as before the claim, without
        counting an attempt (ignored if not claimed, or if ``attempt`` is not the latest
        claim's).

        Raises:
            NotFound: no follow-up has this id.
        """
        self._answer(
            follow_up_id,
            attempt,
            "attempts = attempts - 1",  # ready_at still holds the time from before the claim
        )

    def status(self, follow_up_id: str) -> FollowUpStatus:
        """Where the follow-up stands.

        Raises:
            NotFound: no follow-up has this id.
        """
        rows = self.database.query(
            "SELECT status, lease_until IS NOT NULL FROM follow_ups WHERE id = %s",
            (follow_up_id,),
        )
        if not rows:
            raise NotFound("follow-up", follow_up_id)
        status, claimed = rows[0]
        return FollowUpStatus.CLAIMED if claimed else FollowUpStatus(status)

    def _select(self, where: str, parameters: Sequence[Any] = ()) -> list[FollowUp]:
        return self._records(
            self.database.query(
                f"SELECT {_COLUMNS} FROM follow_ups WHERE {where} ORDER BY due_at, id",
                parameters,
            )
        )

    def for_customer(self, customer_id: str, *, since: datetime | None = None) -> list[FollowUp]:
        """The customer's follow-ups that reached them or still may (pending, claimed or
        delivered; not cancelled or failed), due from ``since`` on, soonest first."""
        if since is None:
            return self._select(
                "customer_id = %s AND status IN ('pending', 'delivered')",
                (customer_id,),
            )
        return self._select(
            "customer_id = %s AND due_at >= %s AND status IN ('pending', 'delivered')",
            (customer_id, since),
        )

    def reassign(self, customer_id: str, pseudonym: str) -> int:
        """Move every follow-up of the customer, whatever its status, to ``pseudonym``;
        returns how many."""
        return self.database.run(
            # the drafted text names the customer and their problem: erased too
            "UPDATE follow_ups SET customer_id = %s, "
            "text = CASE WHEN text = '' THEN '' ELSE %s END WHERE customer_id = %s",
            (pseudonym, ERASED, customer_id),
        ).rowcount

    def pending(self) -> list[FollowUp]:
        """Follow-ups not yet delivered, cancelled or failed, soonest due first."""
        return self._select("status = 'pending'")

    def failed(self) -> list[FollowUp]:
        """Follow-ups given up on after failed deliveries, soonest due first."""
        return self._select("status = 'failed'")
