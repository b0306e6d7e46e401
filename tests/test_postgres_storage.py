"""The PostgreSQL storage against a real server (tests/postgres_server.py starts it): every
port's contract suite, and what the SQLite tests check of a database: the schema created,
versioned and refused when newer, corrupt rows named, one transaction per unit of work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import postgres_server
from serviceplaybook.testing.contracts import StorageContract


@pytest.fixture
def dsn() -> str:
    """A connection string on a new, empty schema of the session's server."""
    return postgres_server.server().fresh_schema()


class TestPostgresStorage(StorageContract):
    @pytest.fixture
    def storage(self, dsn: str) -> Iterator[object]:
        from serviceplaybook.adapters.postgres import PostgresStorage

        storage = PostgresStorage(dsn)
        yield storage
        storage.close()
