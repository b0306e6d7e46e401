"""The shipped contract suites, run against the in-memory and the SQLite backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from serviceplaybook import InMemoryStorage, SQLiteStorage
from serviceplaybook.testing.contracts import StorageContract


class TestInMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> InMemoryStorage:
        return InMemoryStorage()


class TestSQLiteStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[SQLiteStorage]:
        storage = SQLiteStorage(tmp_path / "desk.db")
        yield storage
        storage.close()
