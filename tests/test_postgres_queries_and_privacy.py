"""On the PostgreSQL store, against a real server: the conversation queries beside the
in-memory store and the model (tests/test_queries_stateful.py's machine, the database
opened again now and then), and a customer's erasure and export (tests/test_desk_privacy.py's
checks, then no trace of the customer in any table after compaction)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings
from hypothesis.stateful import rule

import postgres_server
import test_desk_privacy
from serviceplaybook import ServiceDesk, StorageError
from serviceplaybook.testing import FakeClock, SequentialIds
from test_queries_stateful import Queries


class PostgresQueries(Queries):
    """The same rules and invariants; the second store (``self.sqlite`` in the machine) is
    a PostgreSQL storage on a fresh schema."""

    def __init__(self) -> None:
        super().__init__()
        from serviceplaybook.adapters.postgres import PostgresStorage

        self.sqlite.close()
        self.dsn = postgres_server.server().fresh_schema()
        self.sqlite = PostgresStorage(self.dsn)  # type: ignore[assignment]

    @rule()
    def reopen_the_file(self) -> None:
        from serviceplaybook.adapters.postgres import PostgresStorage

        self.sqlite.close()
        self.sqlite = PostgresStorage(self.dsn)  # type: ignore[assignment]


TestPostgresQueries = PostgresQueries.TestCase
TestPostgresQueries.settings = settings(
    max_examples=max(settings.default.max_examples // 5, 1), stateful_step_count=20
)


@pytest.fixture
def desk(clock: FakeClock) -> Iterator[ServiceDesk]:
    made = ServiceDesk.postgres(
        postgres_server.server().fresh_schema(), clock=clock, ids=SequentialIds("c")
    )
    with made:
        yield made


clock = test_desk_privacy.clock
test_erasure_keeps_counts_and_amounts_and_drops_the_person = (
    test_desk_privacy.test_erasure_keeps_counts_and_amounts_and_drops_the_person
)
test_export_holds_everything_about_the_customer = (
    test_desk_privacy.test_export_holds_everything_about_the_customer
)


def test_no_trace_of_an_erased_customer_is_left_in_any_table(desk: ServiceDesk) -> None:
    import psycopg

    test_desk_privacy.handled(desk, test_desk_privacy.customer())
    desk.erase_customer(test_desk_privacy.CUSTOMER_ID)
    dsn = desk.storage.database.dsn  # type: ignore[attr-defined]
    with psycopg.connect(dsn) as raw:
        for table in ("conversations", "conversation_items", "journal", "grants", "follow_ups"):
            text = "\n".join(
                str(row) for row in raw.execute(f"SELECT t::text FROM {table} t").fetchall()
            )
            for word in test_desk_privacy.WORDS:
                assert word not in text, (table, word)


def test_compacting_inside_a_batch_is_refused(desk: ServiceDesk) -> None:
    def compact_in_a_batch() -> None:
        with desk.batch():
            desk.storage.compact()  # type: ignore[attr-defined]

    with pytest.raises(StorageError, match="inside a unit of work"):
        compact_in_a_batch()
    desk.storage.compact()  # type: ignore[attr-defined]
