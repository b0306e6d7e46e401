"""The compensation ledger: grants in the ``grants`` table, idempotent by key, with a lock
per customer that holds their authority window under concurrent grants."""

from __future__ import annotations

from datetime import datetime

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.compensation import Grant
from serviceplaybook._records.erasure import erased_grant
from serviceplaybook._serialization import json_text, to_dict
from serviceplaybook.adapters.postgres._database import PostgresDatabase

CUSTOMER_LOCK_CLASS = 0x5E7C
"""The first key of the transaction-level advisory lock ``(class, hashtext(customer id))``
that a transaction takes before it reads or records a customer's grants."""


class PostgresLedger:
    """Compensation grants in the ``grants`` table, idempotent by its primary key.

    Inside a transaction, reading or recording a customer's grants first takes the advisory
    lock ``pg_advisory_xact_lock(CUSTOMER_LOCK_CLASS, hashtext(customer_id))``, held until
    the transaction ends. The desk checks a grant against the customer's window and records
    it in one transaction, so two processes granting to one customer run one after the
    other, and the second sees the first's grant: the window holds. A row lock could not do
    this for a customer's first grant (there is no row yet to lock), and ``SERIALIZABLE``
    would fail and retry whole desk calls instead of queueing them. A hash collision only
    makes two customers queue behind each other.
    """

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database

    def _lock(self, customer_id: str) -> None:
        if self.database.in_transaction:
            self.database.run(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                (CUSTOMER_LOCK_CLASS, customer_id),
            )

    def record(self, grant: Grant) -> Grant:
        """Record ``grant`` once; the same key with other terms is an error."""
        database = self.database
        with database.transaction():
            self._lock(grant.customer_id)
            rows = database.run(
                "WITH new AS (INSERT INTO grants (key, customer_id, at, data) "
                "VALUES (%s, %s, %s, %s::jsonb) ON CONFLICT (key) DO NOTHING RETURNING data) "
                "SELECT data FROM new UNION ALL SELECT data FROM grants WHERE key = %s",
                (grant.key, grant.customer_id, grant.at, json_text(to_dict(grant)), grant.key),
            ).fetchall()
            if not rows:  # another customer's transaction recorded the key meanwhile
                rows = database.run(
                    "SELECT data FROM grants WHERE key = %s", (grant.key,)
                ).fetchall()
        first = database.decode("grants", grant.key, rows[0][0], Grant)
        if (first.customer_id, first.offer) != (grant.customer_id, grant.offer):
            raise ValidationError(
                f"grant key {grant.key!r} was already recorded with other terms; an "
                f"idempotency key must always name the same grant"
            )
        return first

    def reassign(self, customer_id: str, pseudonym: str) -> int:
        """Move the customer's grants to ``pseudonym`` (erasing a customer), keeping every
        amount, key and time; returns how many moved."""
        database = self.database
        with database.transaction():
            self._lock(customer_id)
            self._lock(pseudonym)
            rows = database.query(
                "SELECT key, data FROM grants WHERE customer_id = %s", (customer_id,)
            )
            moved = []
            for key, data in rows:
                grant = database.decode("grants", key, data, Grant)
                moved.append(json_text(to_dict(erased_grant(grant, pseudonym))))
            if rows:
                database.run(
                    "UPDATE grants g SET customer_id = %s, data = t.d::jsonb "
                    "FROM unnest(%s::text[], %s::text[]) AS t(k, d) WHERE g.key = t.k",
                    (pseudonym, [key for key, _ in rows], moved),
                )
        return len(rows)

    def grants(self, customer_id: str, *, since: datetime | None = None) -> list[Grant]:
        """The customer's grants, oldest first, optionally from ``since`` on (inside a
        transaction, under the customer's lock: see the class)."""
        self._lock(customer_id)
        if since is None:
            rows = self.database.query(
                "SELECT key, data FROM grants WHERE customer_id = %s ORDER BY at, key",
                (customer_id,),
            )
        else:
            rows = self.database.query(
                "SELECT key, data FROM grants WHERE customer_id = %s AND at >= %s ORDER BY at, key",
                (customer_id, since),
            )
        return [self.database.decode("grants", key, data, Grant) for key, data in rows]
