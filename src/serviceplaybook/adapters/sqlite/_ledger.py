"""The compensation ledger: grants in the ``grants`` table, idempotent by key."""

from __future__ import annotations

from datetime import datetime

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.compensation import Grant
from serviceplaybook._records.erasure import erased_grant
from serviceplaybook._serialization import json_text, to_dict
from serviceplaybook.adapters.sqlite._database import SQLiteDatabase, utc_text


class SQLiteLedger:
    """Compensation grants in the ``grants`` table, idempotent by key."""

    def __init__(self, database: SQLiteDatabase) -> None:
        self.database = database

    def record(self, grant: Grant) -> Grant:
        """Record ``grant`` once; the same key with other terms is an error."""
        with self.database.writing() as connection:
            connection.execute(
                "INSERT INTO grants (key, customer_id, at, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                (grant.key, grant.customer_id, utc_text(grant.at), json_text(to_dict(grant))),
            )
            row = connection.execute(
                "SELECT data FROM grants WHERE key = ?", (grant.key,)
            ).fetchone()
        first = self.database.decode("grants", grant.key, row[0], Grant)
        if (first.customer_id, first.offer) != (grant.customer_id, grant.offer):
            raise ValidationError(
                f"grant key {grant.key!r} was already recorded with other terms; an "
                f"idempotency key must always name the same grant"
            )
        return first

    def grants(self, customer_id: str, *, since: datetime | None = None) -> list[Grant]:
        """The customer's grants, oldest first, optionally from ``since`` on."""
        rows = self.database.query(
            "SELECT key, data FROM grants WHERE customer_id = ? AND at >= ? ORDER BY at, key",
            (customer_id, utc_text(since) if since is not None else ""),
        )
        return [self.database.decode("grants", key, data, Grant) for key, data in rows]

    def reassign(self, customer_id: str, pseudonym: str) -> int:
        """Move the customer's grants to ``pseudonym``, amounts kept; returns how many."""
        with self.database.writing() as connection:
            rows = connection.execute(
                "SELECT key, data FROM grants WHERE customer_id = ?", (customer_id,)
            ).fetchall()
            for key, data in rows:
                grant = self.database.decode("grants", key, data, Grant)
                moved = erased_grant(grant, pseudonym)
                connection.execute(
                    "UPDATE grants SET customer_id = ?, data = ? WHERE key = ?",
                    (pseudonym, json_text(to_dict(moved)), key),
                )
        return len(rows)
