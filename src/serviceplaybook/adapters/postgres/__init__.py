"""PostgreSQL: conversations, the journal, compensation grants and follow-ups in the
database a support product already runs, shared by several processes and machines.

Install with ``pip install serviceplaybook[postgres]`` (psycopg 3 and psycopg_pool). The
guarantees and what each rests on are in ``docs/scale-out.md``:

- one transaction per desk call (``READ COMMITTED``; nested blocks are savepoints);
- optimistic concurrency: a save is ``UPDATE ... WHERE version = expected``;
- idempotent grants: the key is the primary key of ``grants``;
- per-customer authority windows: a transaction-level advisory lock per customer, taken
  before the customer's grants are read or recorded;
- follow-up claims with ``FOR UPDATE SKIP LOCKED`` and a lease;
- a versioned schema, created or migrated on open (``serviceplaybook schema --postgres``
  prints it for teams that run their own migrations).

The package's modules, each private: ``_transactions`` (per-thread transactions on pooled
connections), ``_database`` (the pool, fork handling, schema and migrations),
``_conversations``, ``_journal``, ``_ledger``, ``_scheduler`` (one store per table family)
and ``_storage`` (:class:`PostgresStorage`, the four stores on one database).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from serviceplaybook.adapters.postgres._schema import DATABASE_SCHEMA_VERSION, schema_script

if TYPE_CHECKING:
    from serviceplaybook.adapters.postgres._scheduler import PostgresScheduler
    from serviceplaybook.adapters.postgres._storage import PostgresStorage

# The stores need psycopg; the schema does not: they load when first asked for (PEP 562).
_LAZY = {
    "PostgresScheduler": "serviceplaybook.adapters.postgres._scheduler",
    "PostgresStorage": "serviceplaybook.adapters.postgres._storage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["DATABASE_SCHEMA_VERSION", "PostgresScheduler", "PostgresStorage", "schema_script"]
