"""The PostgreSQL storage against a real server (tests/postgres_server.py starts it): every
port's contract suite, and what the SQLite tests check of a database: the schema created,
versioned and refused when newer, corrupt rows named, one transaction per unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import postgres_server
from serviceplaybook import (
    IllegalTransition,
    SchemaVersionError,
    ServiceDesk,
    StorageError,
    ValidationError,
)
from serviceplaybook.testing import FakeClock, SequentialIds
from serviceplaybook.testing.contracts import StorageContract
from sqlite_worker import open_conversation


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


def run_sql(dsn: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(sql)


def test_the_printed_schema_is_what_the_library_creates(
    dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A team that runs its own migrations applies ``schema --postgres``, then opens the
    storage with ``migrate=False``; it holds the same tables and indexes as one the
    library created."""
    import psycopg

    from serviceplaybook._cli import main
    from serviceplaybook.adapters.postgres import DATABASE_SCHEMA_VERSION, PostgresStorage

    assert main(["schema", "--postgres"]) == 0
    script = capsys.readouterr().out
    run_sql(dsn, script)
    storage = PostgresStorage(dsn, migrate=False)
    assert storage.database.schema_version == DATABASE_SCHEMA_VERSION
    desk = ServiceDesk(storage)
    cid = open_conversation(desk, "cust-1")
    assert desk.hear(cid, "Hello").conversation.version == 2
    storage.close()

    def shape(target: str) -> list[tuple[str, ...]]:
        with psycopg.connect(target) as connection:
            return connection.execute(
                "SELECT tablename, indexname, regexp_replace(indexdef, ' ON \\S+\\.', ' ON ') "
                "FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2"
            ).fetchall()

    created = postgres_server.server().fresh_schema()
    PostgresStorage(created).close()
    assert shape(dsn) == shape(created)


def test_a_database_is_refused_without_the_schema_or_from_a_newer_release(dsn: str) -> None:
    from serviceplaybook.adapters.postgres import PostgresStorage

    with pytest.raises(StorageError, match="schema --postgres"):
        PostgresStorage(dsn, migrate=False)
    PostgresStorage(dsn).close()
    run_sql(dsn, "UPDATE serviceplaybook_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError, match="newer serviceplaybook"):
        PostgresStorage(dsn)
    run_sql(dsn, "DELETE FROM serviceplaybook_meta")
    with pytest.raises(StorageError, match="tables but no schema version"):
        PostgresStorage(dsn)


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    from serviceplaybook.adapters.postgres import PostgresStorage

    postgres_server.server()  # skips without psycopg
    with pytest.raises(StorageError, match="cannot connect within"):
        PostgresStorage(f"host={tmp_path} port=5999 user=nobody dbname=none", timeout=0.5)
    with pytest.raises(ValidationError, match="connection string"):
        PostgresStorage("")


def test_a_corrupt_row_names_the_table_and_key(dsn: str) -> None:
    desk = ServiceDesk.postgres(dsn)
    cid = open_conversation(desk, "cust-1")
    desk.storage.close()  # type: ignore[attr-defined]  # (its cache holds the good record)
    run_sql(dsn, "UPDATE conversations SET data = '[1]'::jsonb")
    desk = ServiceDesk.postgres(dsn)
    with pytest.raises(StorageError, match=f"row '{cid}' of table 'conversations' is corrupt"):
        desk.get(cid)
    desk.storage.close()  # type: ignore[attr-defined]


def test_a_desk_survives_reopening_and_the_password_is_never_shown(dsn: str) -> None:
    desk = ServiceDesk.postgres(dsn, clock=FakeClock(), ids=SequentialIds("c"))
    cid = open_conversation(desk, "cust-1")
    desk.hear(cid, "My blender arrived broken.")
    first = desk.get(cid)
    desk.storage.close()  # type: ignore[attr-defined]
    again = ServiceDesk.postgres(dsn)
    assert again.get(cid) == first
    assert [entry.kind for entry in again.history(cid)] == ["open", "hear"]
    again.storage.close()  # type: ignore[attr-defined]
    from serviceplaybook.adapters.postgres._database import describe

    assert "s3cret" not in describe("postgresql://ann:s3cret@db.example/desk")
    assert "db.example" in describe("postgresql://ann:s3cret@db.example/desk")


def test_a_batch_is_one_transaction_and_rolls_back_whole(dsn: str) -> None:
    desk = ServiceDesk.postgres(dsn)
    cid = open_conversation(desk, "cust-1")

    class Undo(Exception):
        pass

    def undone() -> None:
        with desk.batch():
            desk.hear(cid, "one")
            desk.hear(cid, "two")
            assert desk.get(cid).version == 3  # the batch reads its own writes
            raise Undo

    with pytest.raises(Undo):
        undone()
    assert desk.get(cid).version == 1
    assert len(desk.history(cid)) == 1
    with desk.batch():
        desk.hear(cid, "one")
        with pytest.raises(IllegalTransition):
            desk.confirm(cid)  # refused inside: undoes only itself
        desk.hear(cid, "two")
    assert [m.text for m in desk.get(cid).messages] == ["one", "two"]
    desk.storage.close()  # type: ignore[attr-defined]


def test_without_psycopg_the_error_says_what_to_install() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from serviceplaybook import ServiceDesk\n"
        "from serviceplaybook.adapters.postgres import schema_script\n"
        "assert 'CREATE TABLE' in schema_script()\n"  # the schema needs no driver
        "try:\n"
        "    ServiceDesk.postgres('dbname=x')\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'serviceplaybook[postgres]'" in done.stdout


def test_text_postgresql_cannot_hold_is_refused_clearly(dsn: str) -> None:
    from serviceplaybook.adapters.postgres import PostgresStorage
    from serviceplaybook.testing.contracts import follow_up

    with PostgresStorage(dsn) as storage:
        with pytest.raises(ValidationError, match="NUL character"):
            storage.follow_ups.schedule(follow_up(1, cid="c\x00"))
        storage.follow_ups.schedule(follow_up(1))  # nothing half done: the id is free
        assert storage.follow_ups.status("fu-1").value == "pending"
