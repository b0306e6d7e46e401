"""SQLite storage: beside the in-memory store and a dict model through random saves, stale
saves, journal appends, grants and reopens of the file; and bad files refused clearly."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import strategies as sts
from serviceplaybook import (
    ConcurrentUpdate,
    Conversation,
    InMemoryStorage,
    NotFound,
    SchemaVersionError,
    ServiceDesk,
    SQLiteStorage,
    StorageError,
    ValidationError,
)
from serviceplaybook._serialization import (
    CONVERSATION_LOGS,
    RECORD_FORMAT_VERSION,
    conversation_head,
    to_dict,
)
from serviceplaybook.adapters.sqlite import _database
from serviceplaybook.testing import FakeClock, SequentialIds
from serviceplaybook.testing.contracts import entry, grant

IDS = st.sampled_from(["c1", "c2", "c3"])


class _Undo(Exception):
    """Raised to undo a block of a batch."""


class StorageComparison(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp())
        self.path = self.directory / "desk.db"
        # NORMAL only to keep the test quick: this machine checks logic, not power loss
        self.sql = SQLiteStorage(self.path, synchronous="NORMAL")
        self.memory = InMemoryStorage()
        self.model: dict[str, Conversation] = {}
        self.journal: dict[str, int] = {}
        self.grants: dict[str, str] = {}

    def teardown(self) -> None:
        self.sql.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def both(self, action):  # type: ignore[no-untyped-def]
        """Run ``action`` on both stores: the same result or the same error."""
        outcomes = []
        for storage in (self.memory, self.sql):
            try:
                outcomes.append(("ok", action(storage)))
            except (ConcurrentUpdate, ValidationError, NotFound) as error:
                outcomes.append((type(error).__name__, getattr(error, "actual", None)))
        assert outcomes[0] == outcomes[1]
        return outcomes[0]

    @rule(cid=IDS, conversation=sts.conversations())
    def save_new(self, cid: str, conversation: Conversation) -> None:
        record = attrs.evolve(conversation, id=cid, version=1)
        kind, _ = self.both(lambda s: s.conversations.save(record, expected_version=0))
        assert (kind == "ok") == (cid not in self.model)
        if kind == "ok":
            self.model[cid] = record

    @rule(cid=IDS, stage=st.sampled_from(["clarifying", "resolving", "closed"]), data=st.data())
    def save_update(self, cid: str, stage: str, data: st.DataObject) -> None:
        if cid not in self.model:
            return
        current = self.model[cid]
        stale = data.draw(st.booleans())
        expected = current.version - 1 if stale else current.version
        # the messages grow (stores may append them), stay, or are rewritten (an erasure)
        change = data.draw(st.sampled_from(["append", "same", "rewrite"]))
        if change == "append":
            said = data.draw(st.lists(sts.messages(), min_size=1, max_size=3))
            messages = (*current.messages, *said)
        elif change == "rewrite":
            messages = tuple(attrs.evolve(m, text="[erased]") for m in current.messages[1:])
        else:
            messages = current.messages
        record = attrs.evolve(current, version=current.version + 1, stage=stage, messages=messages)
        kind, actual = self.both(lambda s: s.conversations.save(record, expected_version=expected))
        if stale:
            assert (kind, actual) == ("ConcurrentUpdate", current.version)
        else:
            assert kind == "ok"
            self.model[cid] = record

    @rule(cid=IDS, count=st.integers(1, 3))
    def append(self, cid: str, count: int) -> None:
        start = self.journal.get(cid, 0)
        entries = [entry(cid, start + n + 1) for n in range(count)]
        self.both(lambda s: s.journal.append(entries))
        self.journal[cid] = start + count

    @rule(key=st.sampled_from(["g1", "g2"]), amount=st.sampled_from(["10.00", "20.00"]))
    def record_grant(self, key: str, amount: str) -> None:
        kind, _ = self.both(lambda s: s.ledger.record(grant(key, amount=amount)))
        if key in self.grants:
            assert (kind == "ok") == (self.grants[key] == amount)
        else:
            assert kind == "ok"
            self.grants[key] = amount

    @rule(
        blocks=st.lists(
            st.tuples(IDS, st.integers(0, 2), st.sampled_from([None, "g3", "g4"]), st.booleans()),
            min_size=1,
            max_size=4,
        ),
        give_up=st.booleans(),
    )
    def batch(self, blocks: list[tuple[str, int, str | None, bool]], give_up: bool) -> None:
        """Saves, appends and grants in nested blocks of one transaction, some of which fail
        (SQLite takes a block's savepoint only once a statement runs inside it): both stores
        keep exactly the blocks that did not fail, or nothing when the caller gives up."""
        model, journal, grants = dict(self.model), dict(self.journal), dict(self.grants)
        steps = []
        for cid, count, key, fails in blocks:
            record = None
            if cid in model:
                current = model[cid]
                record = attrs.evolve(current, version=current.version + 1, stage="resolving")
            start = journal.get(cid, 0)
            steps.append((cid, record, [entry(cid, start + n + 1) for n in range(count)], key))
            if not fails:
                if record is not None:
                    model[cid] = record
                journal[cid] = start + count
                if key is not None:
                    grants[key] = "30.00"

        def run(storage):  # type: ignore[no-untyped-def]
            try:
                with storage.atomic():
                    for (cid, record, entries, key), (*_, fails) in zip(steps, blocks, strict=True):
                        try:
                            with storage.atomic():
                                if record is not None:
                                    storage.conversations.save(
                                        record, expected_version=record.version - 1
                                    )
                                    assert storage.conversations.get(cid) == record
                                storage.journal.append(entries)
                                if key is not None:
                                    storage.ledger.record(grant(key, amount="30.00"))
                                if fails:
                                    raise _Undo
                        except _Undo:
                            pass
                    if give_up:
                        raise _Undo
            except _Undo:
                pass

        self.both(run)
        if not give_up:
            self.model, self.journal, self.grants = model, journal, grants

    @rule()
    def reopen(self) -> None:
        self.sql.close()
        self.sql = SQLiteStorage(self.path, synchronous="NORMAL")

    @invariant()
    def agree(self) -> None:
        for cid in ("c1", "c2", "c3"):
            if cid in self.model:
                assert self.sql.conversations.get(cid) == self.model[cid]
                assert self.memory.conversations.get(cid) == self.model[cid]
            else:
                with pytest.raises(NotFound):
                    self.sql.conversations.get(cid)
            assert self.sql.journal.history(cid) == self.memory.journal.history(cid)
            assert [e.seq for e in self.sql.journal.history(cid)] == list(
                range(1, self.journal.get(cid, 0) + 1)
            )
        assert self.sql.ledger.grants("cust-1") == self.memory.ledger.grants("cust-1")
        assert {g.key: str(g.offer.value.amount) for g in self.sql.ledger.grants("cust-1")} == (
            self.grants
        )


TestStorageComparison = StorageComparison.TestCase
# Each run opens a fresh SQLite file, which is most of its cost: 100 runs of 50 steps keep
# finding bugs within the suite's time budget (the ci profile's 200 took 30 s).
TestStorageComparison.settings = settings(
    settings.default, max_examples=min(settings.default.max_examples, 100)
)


# -- a desk on a file ------------------------------------------------------------------------


def test_a_desk_on_a_file_survives_reopening(tmp_path: Path) -> None:
    from serviceplaybook._demo import run_demo

    path = tmp_path / "desk.db"
    desk = ServiceDesk.sqlite(path, clock=FakeClock(), ids=SequentialIds("c"))
    run_demo(write=lambda line: None, desk=desk)
    before = desk.get("c-1"), desk.history("c-1")
    desk.storage.close()  # type: ignore[attr-defined]

    again = ServiceDesk.sqlite(path)
    assert (again.get("c-1"), again.history("c-1")) == before
    assert again.get("c-1").version == len(again.history("c-1")) == 18
    [pending] = again.storage.follow_ups.pending()  # type: ignore[attr-defined]
    assert pending.conversation_id == "c-1"


def test_settings_that_keep_data(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "desk.db")
    connection = storage.database.connection()
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    normal = SQLiteStorage(tmp_path / "fast.db", synchronous="NORMAL")
    assert normal.database.connection().execute("PRAGMA synchronous").fetchone()[0] == 1
    with pytest.raises(ValidationError, match="'FULL' or 'NORMAL'"):
        SQLiteStorage(tmp_path / "x.db", synchronous="OFF")  # type: ignore[arg-type]


def test_only_json_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    desk = ServiceDesk.sqlite(path, clock=FakeClock(), ids=SequentialIds("c"))
    from serviceplaybook._demo import run_demo

    run_demo(write=lambda line: None, desk=desk)
    with sqlite3.connect(path) as raw:
        for table in ("conversations", "conversation_items", "journal", "grants"):
            for (data,) in raw.execute(f"SELECT data FROM {table}"):
                json.loads(data)  # every payload is JSON text
        # follow-ups are plain columns: text and numbers only, times as UTC ISO strings
        for row in raw.execute("SELECT * FROM follow_ups"):
            assert all(isinstance(value, str | int) or value is None for value in row)
        amount = json.loads(raw.execute("SELECT data FROM grants").fetchone()[0])
        assert amount["offer"]["value"] == {"amount": "240.00", "currency": "USD"}
        at = raw.execute("SELECT at FROM journal LIMIT 1").fetchone()[0]
        assert at.endswith("+00:00")


# -- bad files -------------------------------------------------------------------------------


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list: milk, eggs\n" * 200)
    with pytest.raises(StorageError) as refused:
        SQLiteStorage(path)
    assert str(path) in str(refused.value)
    assert "not a database" in str(refused.value)
    assert path.read_text().startswith("shopping list")  # untouched


def test_a_file_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    SQLiteStorage(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE serviceplaybook_meta SET value = '99' WHERE key = 'schema_version'")
    before = path.read_bytes()
    with pytest.raises(SchemaVersionError, match="newer serviceplaybook") as refused:
        SQLiteStorage(path)
    assert str(path) in str(refused.value)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT value FROM serviceplaybook_meta").fetchone()[0] == "99"
    assert len(path.read_bytes()) == len(before)


def test_an_older_file_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "desk.db"
    SQLiteStorage(path).close()
    migration = ("CREATE TABLE notes (id TEXT PRIMARY KEY)",)
    newer = _database.DATABASE_SCHEMA_VERSION + 1
    monkeypatch.setattr(_database, "DATABASE_SCHEMA_VERSION", newer)
    monkeypatch.setattr(_database, "_MIGRATIONS", (*_database._MIGRATIONS, migration))
    storage = SQLiteStorage(path)
    assert storage.database.schema_version == newer
    assert storage.database.query("SELECT count(*) FROM notes") == [(0,)]


def _compact(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def test_the_stored_rows_are_the_records_compact_json(tmp_path: Path) -> None:
    """Version after version, the head row holds exactly the compact JSON of
    ``conversation_head`` and each item row that of the item's ``to_dict``, non-ASCII text
    kept as it is: what a file written by an earlier release holds, so it still opens."""
    from serviceplaybook import Agent, Customer, Issue

    path = tmp_path / "desk.db"
    desk = ServiceDesk.sqlite(path, clock=FakeClock(), ids=SequentialIds("c"), synchronous="NORMAL")
    cid = desk.open(
        customer=Customer(id="cust", name="Zoë Ångström"),
        issue=Issue(category="billing", severity="low", summary="Débité deux fois"),
        agent=Agent(id="sam"),
    ).id
    for text in ("Où est mon remboursement ?", "Still nothing \u2014 2 weeks!", "谢谢"):
        desk.hear(cid, text)
        desk.ask(cid, "Which card was charged?")
        conversation = desk.get(cid)
        with sqlite3.connect(path) as raw:
            (head,) = raw.execute("SELECT data FROM conversations WHERE id = ?", (cid,)).fetchone()
            items = raw.execute(
                "SELECT field, n, data FROM conversation_items WHERE conversation_id = ? "
                "ORDER BY field, n",
                (cid,),
            ).fetchall()
        assert head == _compact(conversation_head(conversation))
        assert json.loads(head)["schema_version"] == RECORD_FORMAT_VERSION
        assert items == [
            (log, n, _compact(to_dict(item)))
            for log in sorted(CONVERSATION_LOGS)
            for n, item in enumerate(getattr(conversation, log))
        ]
    desk.storage.close()  # type: ignore[attr-defined]


def test_a_corrupt_row_names_the_file_table_and_key(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    desk = ServiceDesk.sqlite(path, clock=FakeClock(), ids=SequentialIds("c"))
    from serviceplaybook import Agent, Customer, Issue

    desk.open(
        customer=Customer(id="cust"),
        issue=Issue(category="billing", severity="low", summary="Charged twice"),
        agent=Agent(id="sam"),
    )
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE conversations SET data = '{\"id\": 3' WHERE id = 'c-1'")
    desk.storage.close()  # type: ignore[attr-defined]
    desk = ServiceDesk.sqlite(path)  # a process that has not read the row before
    with pytest.raises(StorageError) as refused:
        desk.get("c-1")
    message = str(refused.value)
    assert str(path) in message
    assert "'conversations'" in message
    assert "'c-1'" in message
    with pytest.raises(StorageError):
        desk.hear("c-1", "hello")  # refused, and nothing written
    assert len(desk.history("c-1")) == 1


def test_a_corrupt_message_row_names_the_table_and_key(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    desk = ServiceDesk.sqlite(path, clock=FakeClock(), ids=SequentialIds("c"))
    from serviceplaybook import Agent, Customer, Issue

    cid = desk.open(
        customer=Customer(id="cust"),
        issue=Issue(category="billing", severity="low", summary="Charged twice"),
        agent=Agent(id="sam"),
    ).id
    desk.hear(cid, "I was charged twice")
    desk.storage.close()  # type: ignore[attr-defined]
    for damage in (
        "UPDATE conversation_items SET data = 'not json' WHERE field = 'messages'",
        "DELETE FROM conversation_items WHERE field = 'signals'",
        "UPDATE conversation_items SET n = 5 WHERE field = 'messages'",
    ):
        copy = tmp_path / "copy.db"
        shutil.copy(path, copy)
        with sqlite3.connect(copy) as raw:
            raw.execute(damage)
        with pytest.raises(StorageError) as refused:
            ServiceDesk.sqlite(copy).get(cid)
        assert str(copy) in str(refused.value)
        assert "'c-1'" in str(refused.value)
        copy.unlink()


def test_a_batch_writes_each_conversation_once(tmp_path: Path) -> None:
    from serviceplaybook import Agent, Customer, Issue

    desk = ServiceDesk.sqlite(tmp_path / "desk.db", clock=FakeClock(), ids=SequentialIds("c"))
    ids = [
        desk.open(
            customer=Customer(id=f"cust-{n}"),
            issue=Issue(category="billing", severity="low", summary="Charged twice"),
            agent=Agent(id="sam"),
        ).id
        for n in range(3)
    ]
    statements: list[str] = []
    connection = desk.storage.database.connection()  # type: ignore[attr-defined]
    connection.set_trace_callback(statements.append)
    with desk.batch():
        for number in range(10):
            for cid in ids:
                desk.hear(cid, f"message {number}")
    connection.set_trace_callback(None)
    updates = [s for s in statements if s.startswith("UPDATE conversations")]
    assert len(updates) == 3
    # a call takes its savepoint only for a statement: here the first read of each conversation
    assert [s for s in statements if s.startswith("SAVEPOINT")] == ["SAVEPOINT sp1"] * 3
    # those 3 (SAVEPOINT, SELECT, RELEASE), BEGIN + COMMIT, the 3 UPDATEs, and one row per
    # call in each of the journal, the messages and the signals
    assert len(statements) == 3 * 3 + 2 + 3 + 30 * 3
    for cid in ids:
        assert len(desk.get(cid).messages) == 10
    other = ServiceDesk.sqlite(tmp_path / "desk.db")
    assert [other.get(cid) for cid in ids] == [desk.get(cid) for cid in ids]


def test_a_missing_table_is_named(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    storage = SQLiteStorage(path)
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TABLE journal")
    with pytest.raises(StorageError, match="missing") as refused:
        storage.journal.history("c1")
    assert str(path) in str(refused.value)


def test_batch_is_one_transaction(tmp_path: Path) -> None:
    from serviceplaybook import Agent, Customer, Issue

    desk = ServiceDesk.sqlite(tmp_path / "desk.db", clock=FakeClock(), ids=SequentialIds("c"))
    cid = desk.open(
        customer=Customer(id="cust"),
        issue=Issue(category="billing", severity="low", summary="Charged twice"),
        agent=Agent(id="sam"),
    ).id

    def many() -> None:
        with desk.batch():
            for number in range(20):
                desk.hear(cid, f"message {number}")
            raise KeyboardInterrupt  # the caller gives up: nothing of the batch is kept

    with pytest.raises(KeyboardInterrupt):
        many()
    assert desk.get(cid).version == 1
    with desk.batch():
        for number in range(20):
            desk.hear(cid, f"message {number}")
    assert desk.get(cid).version == len(desk.history(cid)) == 21


def test_kept_records_never_hide_another_writer_or_a_rollback(tmp_path: Path) -> None:
    from serviceplaybook.testing.contracts import conversation

    path = tmp_path / "desk.db"
    mine, theirs = SQLiteStorage(path), SQLiteStorage(path)
    mine.conversations.save(conversation(version=1), expected_version=0)
    assert mine.conversations.get("c1").stage == "listening"

    theirs.conversations.save(conversation(version=2, stage="clarifying"), expected_version=1)
    assert mine.conversations.get("c1").stage == "clarifying"  # the other writer's version

    def rolled_back() -> None:
        with mine.atomic():
            mine.conversations.save(conversation(version=3, stage="closed"), expected_version=2)
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        rolled_back()
    assert mine.conversations.get("c1").stage == "clarifying"
    assert theirs.conversations.get("c1").version == 2


def test_a_transaction_reads_its_own_writes_and_forgets_undone_ones(tmp_path: Path) -> None:
    from serviceplaybook.testing.contracts import conversation

    storage = SQLiteStorage(tmp_path / "desk.db")
    with storage.atomic():
        storage.conversations.save(conversation(version=1), expected_version=0)
        assert storage.conversations.get("c1").version == 1
        try:
            with storage.atomic():
                storage.conversations.save(
                    conversation(version=2, stage="closed"), expected_version=1
                )
                assert storage.conversations.get("c1").stage == "closed"
                raise RuntimeError("undo the inner block")
        except RuntimeError:
            pass
        assert storage.conversations.get("c1").stage == "listening"
        storage.conversations.save(conversation(version=2, stage="resolving"), expected_version=1)
    other = SQLiteStorage(tmp_path / "desk.db")
    assert other.conversations.get("c1").stage == "resolving"
    assert storage.conversations.get("c1").stage == "resolving"


# -- journal rows written at the commit --------------------------------------------------------


def test_journal_entries_reach_the_file_at_commit_and_leave_with_their_savepoint(
    tmp_path: Path,
) -> None:
    storage = SQLiteStorage(tmp_path / "desk.db", synchronous="NORMAL")
    other = SQLiteStorage(tmp_path / "desk.db", synchronous="NORMAL")  # another process
    with storage.atomic():
        storage.journal.append([entry("c1", 1), entry("c1", 2)])
        assert [e.seq for e in storage.journal.history("c1")] == [1, 2]  # read its own

        def failing_call() -> None:
            with storage.atomic():
                storage.journal.append([entry("c1", 3)])
                assert [e.seq for e in storage.journal.history("c1")] == [1, 2, 3]
                raise RuntimeError("this call fails and is undone alone")

        with pytest.raises(RuntimeError):
            failing_call()
        storage.journal.append([entry("c1", 3, kind="ask")])
        assert other.journal.history("c1") == []  # nothing before the commit
    assert storage.journal.history("c1") == other.journal.history("c1")
    assert [(e.seq, e.kind) for e in other.journal.history("c1")] == [
        (1, "hear"),
        (2, "hear"),
        (3, "ask"),
    ]
    storage.close()
    other.close()


def test_a_journal_seq_used_twice_in_a_transaction_undoes_the_whole_transaction(
    tmp_path: Path,
) -> None:
    storage = SQLiteStorage(tmp_path / "desk.db", synchronous="NORMAL")
    storage.journal.append([entry("c1", 1)])

    def twice() -> None:
        with storage.atomic():
            storage.journal.append([entry("c1", 2)])
            storage.journal.append([entry("c1", 1, kind="ask")])  # seen at the commit

    with pytest.raises(StorageError, match="journal entries must be appended once"):
        twice()
    assert [(e.seq, e.kind) for e in storage.journal.history("c1")] == [(1, "hear")]
    storage.journal.append([entry("c1", 2)])  # the next transaction starts clean
    assert [e.seq for e in storage.journal.history("c1")] == [1, 2]
    storage.close()


def test_a_commit_that_fails_rolls_the_transaction_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A COMMIT can fail (a full disk, an I/O error): the transaction is rolled back, nothing of
    it stays in the stores' state, and the next transaction starts clean."""
    from serviceplaybook.testing.contracts import conversation

    storage = SQLiteStorage(tmp_path / "desk.db", synchronous="NORMAL")
    storage.conversations.save(conversation(version=1), expected_version=0)
    run = _database.SQLiteDatabase._run

    def failing_commit(self: _database.SQLiteDatabase, connection: object, sql: str) -> None:
        if sql == "COMMIT":
            raise StorageError(self.path, "disk I/O error (simulated)")
        run(self, connection, sql)  # type: ignore[arg-type]

    def call() -> None:
        with storage.atomic():
            storage.conversations.save(conversation(version=2, stage="closed"), expected_version=1)
            storage.journal.append([entry("c1", 2)])

    monkeypatch.setattr(_database.SQLiteDatabase, "_run", failing_commit)
    with pytest.raises(StorageError, match="simulated"):
        call()
    monkeypatch.undo()
    assert not storage.database.in_transaction
    assert not storage.database.connection().in_transaction
    assert storage.conversations.get("c1").stage == "listening"
    assert storage.journal.history("c1") == []
    storage.conversations.save(conversation(version=2, stage="resolving"), expected_version=1)
    storage.journal.append([entry("c1", 2)])
    other = SQLiteStorage(tmp_path / "desk.db")
    assert other.conversations.get("c1").stage == "resolving"
    assert [e.seq for e in other.journal.history("c1")] == [2]
    storage.close()
    other.close()
