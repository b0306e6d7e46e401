"""The follow-up scheduler: follow-ups in the ``follow_ups`` table, the claims in flight in
``follow_up_claims``."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from serviceplaybook._errors import NotFound, StorageError, ValidationError
from serviceplaybook._records.erasure import ERASED
from serviceplaybook._records.followup import FollowUp, FollowUpStatus
from serviceplaybook._records.validate import check_claim
from serviceplaybook.adapters.sqlite._database import SQLiteDatabase, from_utc_text, utc_text


class SQLiteScheduler:
    """Follow-ups in the ``follow_ups`` table, claims in flight in ``follow_up_claims``.

    Claims are atomic across processes (one ``BEGIN IMMEDIATE`` transaction picks and
    leases them), a lease that runs out hands the follow-up to another worker, and a
    cancellation is a durable row state checked by every claim and every answer. Claiming
    reads the next ready rows through a partial index and writes one row each to the small
    claims table, never the scattered pages of the big one, so its cost does not grow with
    the number of follow-ups held. Times come back in UTC.

    Args:
        database: the file; pass a path to open one of its own.
    """

    # follow_ups.attempts counts the claims that ended; a claim in flight is attempt + 1.
    _COLUMNS = (
        "f.id, f.key, f.conversation_id, f.customer_id, f.channel, f.due_at, f.purpose, "
        "f.expires_at, f.text"
    )
    _CLAIMED = "LEFT JOIN follow_up_claims c ON c.id = f.id"

    def __init__(self, database: SQLiteDatabase | str | os.PathLike[str]) -> None:
        self.database = (
            database if isinstance(database, SQLiteDatabase) else SQLiteDatabase(database)
        )

    def _records(self, rows: Sequence[Sequence[Any]], skip: int = 0) -> list[FollowUp]:
        """Follow-ups from rows of ``_COLUMNS`` then attempts, after ``skip`` other columns."""
        parse = from_utc_text
        try:
            return [
                FollowUp(
                    id=row[skip],
                    key=row[skip + 1],
                    conversation_id=row[skip + 2],
                    customer_id=row[skip + 3],
                    channel=row[skip + 4],
                    due_at=parse(row[skip + 5]),
                    purpose=row[skip + 6],
                    expires_at=None if row[skip + 7] is None else parse(row[skip + 7]),
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
        due = utc_text(follow_up.due_at)
        expires = None if follow_up.expires_at is None else utc_text(follow_up.expires_at)
        with self.database.writing() as connection:
            inserted = connection.execute(
                "INSERT INTO follow_ups (id, key, conversation_id, customer_id, channel, due_at, "
                "purpose, expires_at, text, status, ready_at, attempts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING",
                (
                    follow_up.id,
                    follow_up.key,
                    follow_up.conversation_id,
                    follow_up.customer_id,
                    follow_up.channel.value,
                    due,
                    follow_up.purpose,
                    expires,
                    follow_up.text,
                    due,
                    follow_up.attempts,
                ),
            ).rowcount
            if inserted:
                return
            held = connection.execute(
                "SELECT key FROM follow_ups WHERE key = ? OR id = ?",
                (follow_up.key, follow_up.id),
            ).fetchall()
        if any(key == follow_up.key for (key,) in held):
            return
        raise ValidationError(
            f"follow-up id {follow_up.id!r} is already held under key {held[0][0]!r}; "
            f"give each follow-up its own id"
        )

    def cancel(self, conversation_id: str) -> int:
        """Cancel the conversation's pending (and claimed) follow-ups; returns how many."""
        with self.database.transaction() as connection:
            cancelled = connection.execute(
                "UPDATE follow_ups SET status = 'cancelled', attempts = attempts + "
                "EXISTS (SELECT 1 FROM follow_up_claims c WHERE c.id = follow_ups.id) "
                "WHERE conversation_id = ? AND status = 'pending'",
                (conversation_id,),
            ).rowcount
            if cancelled:
                connection.execute(
                    "DELETE FROM follow_up_claims WHERE id IN "
                    "(SELECT id FROM follow_ups WHERE conversation_id = ?)",
                    (conversation_id,),
                )
        return cancelled

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
        now_text = utc_text(now)
        until = utc_text(now + lease)
        with self.database.transaction() as connection:
            # Claims whose worker died or stalled, by the end of their lease...
            lapsed = connection.execute(
                f"SELECT c.until, {self._COLUMNS}, f.attempts + 2 FROM follow_up_claims c "
                f"JOIN follow_ups f ON f.id = c.id "
                f"WHERE c.until <= ? ORDER BY c.until, c.id LIMIT ?",
                (now_text, limit),
            ).fetchall()
            # ...and follow-ups nobody holds, by due or retry time: the partial index gives
            # them in order; the claims table is checked for the few in flight.
            fresh = connection.execute(
                f"SELECT f.ready_at, {self._COLUMNS}, f.attempts + 1 FROM follow_ups f "
                f"WHERE f.status = 'pending' AND f.ready_at <= ? "
                f"AND NOT EXISTS (SELECT 1 FROM follow_up_claims c WHERE c.id = f.id) "
                f"ORDER BY f.ready_at, f.id LIMIT ?",
                (now_text, limit),
            ).fetchall()
            if lapsed:
                rows = sorted(lapsed + fresh, key=lambda row: (row[0], row[1]))[:limit]
                held = {row[1] for row in lapsed}
                again = [row[1] for row in rows if row[1] in held]
                # rare (a worker died): the lapsed claim ended, the new one counts one more
                connection.executemany(
                    "UPDATE follow_ups SET attempts = attempts + 1 WHERE id = ?",
                    [(follow_up_id,) for follow_up_id in again],
                )
                connection.execute(
                    "UPDATE follow_up_claims SET until = ? "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (until, json.dumps(again)),
                )
                new = [row[1] for row in rows if row[1] not in held]
            else:
                rows = fresh
                new = [row[1] for row in rows]
            # One statement for the lot: far cheaper than a thousand INSERTs.
            connection.execute(
                "INSERT INTO follow_up_claims (id, until) SELECT value, ? FROM json_each(?)",
                (until, json.dumps(new)),
            )
        return self._records(rows, skip=1)

    def _answerable(
        self, connection: sqlite3.Connection, follow_up_id: str, attempt: int | None
    ) -> bool:
        """True if this answer counts: claimed, by the claim with ``attempt`` if given."""
        row = connection.execute(
            f"SELECT f.attempts + 1, c.id IS NOT NULL FROM follow_ups f {self._CLAIMED} "
            f"WHERE f.id = ?",
            (follow_up_id,),
        ).fetchone()
        if row is None:
            raise NotFound("follow-up", follow_up_id)
        current, claimed = row
        # not claimed (cancelled, answered), or the lease ran out and another claim took over
        return bool(claimed) and (attempt is None or attempt == current)

    def complete(self, follow_up_id: str, *, attempt: int | None = None) -> None:
        """Mark a claimed follow-up delivered (ignored if not claimed, or if ``attempt`` is not
        the latest claim's).

        Raises:
            NotFound: no follow-up has this id.
        """
        with self.database.transaction() as connection:
            if not self._answerable(connection, follow_up_id, attempt):
                return
            connection.execute(
                "UPDATE follow_ups SET status = 'delivered', attempts = attempts + 1 WHERE id = ?",
                (follow_up_id,),
            )
            connection.execute("DELETE FROM follow_up_claims WHERE id = ?", (follow_up_id,))

    def fail(
        self, follow_up_id: str, *, retry_at: datetime | None, attempt: int | None = None
    ) -> None:
        """Retry at ``retry_at``, or give up (``FAILED``, kept visible) when ``None``; ignored
        if not claimed, or if ``attempt`` is not the latest claim's.

        Raises:
            NotFound: no follow-up has this id.
            ValidationError: ``retry_at`` is naive.
        """
        retry = None if retry_at is None else utc_text(retry_at)
        with self.database.transaction() as connection:
            if not self._answerable(connection, follow_up_id, attempt):
                return
            if retry is None:
                connection.execute(
                    "UPDATE follow_ups SET status = 'failed', attempts = attempts + 1 WHERE id = ?",
                    (follow_up_id,),
                )
            else:
                connection.execute(
                    "UPDATE follow_ups SET ready_at = ?, attempts = attempts + 1 WHERE id = ?",
                    (retry, follow_up_id),
                )
            connection.execute("DELETE FROM follow_up_claims WHERE id = ?", (follow_up_id,))

    def release(self, follow_up_id: str, *, attempt: int | None = None) -> None:
        """Give back a claim never sent: ready again at once, as before the claim, without
        counting an attempt (ignored if not claimed, or if ``attempt`` is not the latest
        claim's).

        Raises:
            NotFound: no follow-up has this id.
        """
        with self.database.transaction() as connection:
            if self._answerable(connection, follow_up_id, attempt):
                # ready_at still holds the time from before the claim
                connection.execute("DELETE FROM follow_up_claims WHERE id = ?", (follow_up_id,))

    def status(self, follow_up_id: str) -> FollowUpStatus:
        """Where the follow-up stands.

        Raises:
            NotFound: no follow-up has this id.
        """
        rows = self.database.query(
            f"SELECT f.status, c.id IS NOT NULL FROM follow_ups f {self._CLAIMED} WHERE f.id = ?",
            (follow_up_id,),
        )
        if not rows:
            raise NotFound("follow-up", follow_up_id)
        status, claimed = rows[0]
        return FollowUpStatus.CLAIMED if claimed else FollowUpStatus(status)

    def _select(self, where: str, parameters: Sequence[Any] = ()) -> list[FollowUp]:
        return self._records(
            self.database.query(
                f"SELECT {self._COLUMNS}, f.attempts + (c.id IS NOT NULL) FROM follow_ups f "
                f"{self._CLAIMED} WHERE {where} ORDER BY f.due_at, f.id",
                parameters,
            )
        )

    def for_customer(self, customer_id: str, *, since: datetime | None = None) -> list[FollowUp]:
        """The customer's follow-ups that reached them or still may (pending, claimed or
        delivered; not cancelled or failed), due from ``since`` on, soonest first."""
        return self._select(
            "f.customer_id = ? AND f.due_at >= ? AND f.status IN ('pending', 'delivered')",
            (customer_id, "" if since is None else utc_text(since)),
        )

    def count_ready(self, now: datetime) -> int:
        """How many follow-ups a claim at ``now`` could hand out: pending ones ready by then
        and claims whose lease ran out (a progress display's total)."""
        moment = utc_text(now)
        rows = self.database.query(
            "SELECT (SELECT count(*) FROM follow_ups f WHERE f.status = 'pending' "
            "AND f.ready_at <= ? AND NOT EXISTS "
            "(SELECT 1 FROM follow_up_claims c WHERE c.id = f.id)) + "
            "(SELECT count(*) FROM follow_up_claims WHERE until <= ?)",
            (moment, moment),
        )
        return int(rows[0][0])

    def reassign(self, customer_id: str, pseudonym: str) -> int:
        """Move every follow-up of the customer to ``pseudonym``; returns how many."""
        with self.database.writing() as connection:
            cursor = connection.execute(
                # the drafted text names the customer and their problem: erased too
                "UPDATE follow_ups SET customer_id = ?, "
                "text = CASE WHEN text = '' THEN '' ELSE ? END WHERE customer_id = ?",
                (pseudonym, ERASED, customer_id),
            )
        return cursor.rowcount

    def pending(self) -> list[FollowUp]:
        """Follow-ups not yet delivered, cancelled or failed, soonest due first."""
        return self._select("f.status = 'pending'")

    def failed(self) -> list[FollowUp]:
        """Follow-ups given up on after failed deliveries, soonest due first."""
        return self._select("f.status = 'failed'")
