"""The PostgreSQL schema: its versioned migrations, and the SQL script that creates it (kept
apart from the driver, so that printing it needs no psycopg)."""

from __future__ import annotations

DATABASE_SCHEMA_VERSION = 2
"""The version of the database schema (its tables and indexes) this release writes; stored
in the ``serviceplaybook_meta`` table under the key ``schema_version``."""

# The advisory lock (class, object) that serialises schema migrations across processes.
MIGRATION_LOCK = (0x5E7B, 0)

META = "CREATE TABLE IF NOT EXISTS serviceplaybook_meta (key text PRIMARY KEY, value text NOT NULL)"

# Each entry migrates a database from version N-1 to N; a new release appends, never edits.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # fillfactor 80 (here and on follow_ups): room on each page for the new version of
        # an updated row, so that saves and claims are HOT updates that leave the indexes
        # alone.
        # ids in the "C" collation: pages are ordered by (opened_at, id) on every backend,
        # ids compared by code point as SQLite and Python compare them.
        """CREATE TABLE conversations (
    id text COLLATE "C" PRIMARY KEY,
    version integer NOT NULL,
    customer_id text NOT NULL,
    stage text NOT NULL,
    updated_at timestamptz NOT NULL,
    agent_id text NOT NULL,
    agent_role text NOT NULL,
    waiting_on text NOT NULL,
    escalated_to text,
    opened_at timestamptz NOT NULL,
    sla_due_at timestamptz,
    data jsonb NOT NULL
) WITH (fillfactor = 80)""",
        # The conversation queries: each condition's index, in page order.
        "CREATE INDEX conversations_by_opening ON conversations (opened_at, id)",
        "CREATE INDEX conversations_by_stage ON conversations (stage, opened_at, id)",
        "CREATE INDEX conversations_by_customer ON conversations (customer_id, opened_at, id)",
        "CREATE INDEX conversations_by_agent ON conversations (agent_id, opened_at, id)",
        "CREATE INDEX conversations_sla_due ON conversations (sla_due_at) "
        "WHERE sla_due_at IS NOT NULL",
        # One row per message and per signals record: a save appends, it never rewrites
        # the whole conversation.
        """CREATE TABLE conversation_items (
    conversation_id text NOT NULL,
    field text NOT NULL,
    n integer NOT NULL,
    data jsonb NOT NULL,
    PRIMARY KEY (conversation_id, field, n)
)""",
        """CREATE TABLE journal (
    conversation_id text NOT NULL,
    seq integer NOT NULL,
    at timestamptz NOT NULL,
    kind text NOT NULL,
    actor text NOT NULL,
    stage text NOT NULL,
    data jsonb NOT NULL,
    PRIMARY KEY (conversation_id, seq)
)""",
        # key: the idempotency key; a retried grant finds its first record here.
        """CREATE TABLE grants (
    key text PRIMARY KEY,
    customer_id text NOT NULL,
    at timestamptz NOT NULL,
    data jsonb NOT NULL
)""",
        "CREATE INDEX grants_by_customer ON grants (customer_id, at)",
        # status: pending (claimed too while lease_until is set), delivered, cancelled or
        # failed; ready_at: the due time, or the retry time after a failed delivery;
        # lease_until: the end of the claim in flight; attempts: the claims made, the one in
        # flight included. A claim sets only lease_until and attempts, neither indexed, so
        # it is a HOT update that leaves every index alone.
        """CREATE TABLE follow_ups (
    id text PRIMARY KEY,
    key text NOT NULL UNIQUE,
    conversation_id text NOT NULL,
    customer_id text NOT NULL,
    channel text NOT NULL,
    due_at timestamptz NOT NULL,
    purpose text NOT NULL,
    expires_at timestamptz,
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'cancelled', 'failed')),
    ready_at timestamptz NOT NULL,
    lease_until timestamptz,
    attempts integer NOT NULL
) WITH (fillfactor = 80)""",
        # Partial index: a claim reads the next ready rows in order, never scanning the
        # finished ones, however many there are.
        "CREATE INDEX follow_ups_ready ON follow_ups (ready_at, id) WHERE status = 'pending'",
        "CREATE INDEX follow_ups_by_conversation ON follow_ups (conversation_id)",
        "CREATE INDEX follow_ups_by_customer ON follow_ups (customer_id, due_at)",
    ),
    # 2: the follow-up's drafted text (empty for follow-ups planned before it existed)
    ("ALTER TABLE follow_ups ADD COLUMN text text NOT NULL DEFAULT ''",),
)

TABLES = ("conversations", "conversation_items", "journal", "grants", "follow_ups")
"""The tables of the schema (``compact()`` vacuums them)."""


def schema_script() -> str:
    """The SQL that creates the current schema in an empty database, for teams that run
    their own migrations (``serviceplaybook schema --postgres``)."""
    statements = [META]
    for migration in MIGRATIONS:
        statements.extend(migration)
    statements.append(
        "INSERT INTO serviceplaybook_meta (key, value) "
        f"VALUES ('schema_version', '{DATABASE_SCHEMA_VERSION}')"
    )
    body = ";\n\n".join(statements)
    return (
        f"-- serviceplaybook PostgreSQL schema, version {DATABASE_SCHEMA_VERSION}\n"
        f"BEGIN;\n\n{body};\n\nCOMMIT;\n"
    )
