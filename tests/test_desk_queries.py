"""The desk's queues and its SLA checker, on every backend: what a supervisor, an agent's inbox
and a cron job ask for; closing a desk; a file from the previous schema version."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from serviceplaybook import (
    Agent,
    ConversationQuery,
    Customer,
    Issue,
    Role,
    ServiceDesk,
    SQLiteStorage,
    Stage,
    ValidationError,
)
from serviceplaybook.adapters.sqlite import _database
from serviceplaybook.testing import FakeClock, SequentialIds
from test_desk import open_conversation

SUPERVISOR = Agent(id="sue", name="Sue", role=Role.SUPERVISOR)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # Monday 2026-01-05 09:00 UTC


@pytest.fixture(params=["memory", "sqlite"])
def desk(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> Iterator[ServiceDesk]:
    if request.param == "memory":
        made = ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"))
    else:
        made = ServiceDesk.sqlite(
            tmp_path / "desk.db", clock=clock, ids=SequentialIds("c"), synchronous="NORMAL"
        )
    with made:
        yield made


def test_a_supervisor_queue_and_an_inbox(desk: ServiceDesk, clock: FakeClock) -> None:
    first = open_conversation(desk)
    desk.hear(first, "I want to speak to your manager right now.")  # escalates to a supervisor
    clock.advance(minutes=1)
    second = open_conversation(desk, id="cust-2")
    desk.hear(second, "My blender arrived broken.")
    clock.advance(minutes=1)
    third = open_conversation(desk, id="cust-1")
    desk.hear(third, "Still broken.")
    desk.ask(third, "Which part is broken?")

    queue = desk.find(stages=Stage.ESCALATED, escalated_to=Role.SUPERVISOR)
    assert [c.id for c in queue.conversations] == [first]
    desk.pick_up(first, SUPERVISOR)
    assert desk.find(stages="escalated", escalated_to="supervisor").conversations == ()
    assert [c.id for c in desk.find(role="supervisor").conversations] == [first]
    assert [c.id for c in desk.find(agent_id="sue").conversations] == [first]

    assert [c.id for c in desk.find(customer_id="cust-1").conversations] == [first, third]
    assert [c.id for c in desk.find(waiting_on="customer").conversations] == [third]
    assert [c.id for c in desk.scan(ConversationQuery(limit=1))] == [first, second, third]


def test_a_query_or_keywords_not_both(desk: ServiceDesk) -> None:
    with pytest.raises(ValidationError, match="not both"):
        desk.find(ConversationQuery(), stages="escalated")
    with pytest.raises(TypeError, match="ConversationQuery"):
        desk.find("escalated")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="limit"):
        desk.find(limit=0)
    with pytest.raises(ValidationError, match="waiting_on"):
        desk.find(waiting_on="nobody")
    with pytest.raises(ValidationError, match="Role"):
        desk.find(role="overlord")


def test_the_sla_due_time_follows_the_turns(desk: ServiceDesk, clock: FakeClock) -> None:
    cid = open_conversation(desk)  # medium: first response within 4 business hours
    opened = desk.get(cid).opened_at
    assert desk.get(cid).sla_due_at == opened + timedelta(hours=4)
    desk.hear(cid, "My blender arrived broken.")
    assert desk.get(cid).sla_due_at == opened + timedelta(hours=4)
    clock.advance(hours=1)
    desk.ask(cid, "Which part is broken?")
    assert desk.get(cid).sla_due_at is None  # the customer has the turn: clocks paused
    clock.advance(hours=1)
    desk.hear(cid, "The jug.")  # next response within 8 business hours
    assert desk.get(cid).sla_due_at == clock() + timedelta(hours=8)


def test_the_sla_checker_checks_only_what_may_be_due(desk: ServiceDesk, clock: FakeClock) -> None:
    waiting = open_conversation(desk)
    desk.hear(waiting, "My blender arrived broken.")
    answered = open_conversation(desk, id="cust-2")
    desk.hear(answered, "My toaster arrived broken.")
    desk.ask(answered, "Which part?")
    clock.advance(minutes=30)
    assert desk.check_slas() == []  # nothing can be due yet
    clock.advance(days=3)  # Thursday: 24 business hours for the one waiting on the agent
    seen = []
    outcomes = desk.check_slas(report=seen.append)
    assert [o.conversation.id for o in outcomes] == [waiting]
    assert seen == outcomes
    assert outcomes[0].events == ("sla_alert", "sla_step", "escalate")
    assert desk.get(waiting).stage == Stage.ESCALATED
    assert desk.get(answered).sla_steps == ()
    # checked again: recorded once, and still in view while overdue
    again = desk.check_slas()
    assert [o.events for o in again] == [()]


def test_leaving_the_with_block_closes_the_storage(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "desk.db"
    with ServiceDesk.sqlite(path, clock=clock) as desk:
        cid = open_conversation(desk)
        storage = desk.storage
        assert isinstance(storage, SQLiteStorage)
    assert storage.database._connection is None
    desk.shutdown()  # again: nothing to do
    with ServiceDesk.sqlite(path, clock=clock) as reopened:
        assert reopened.get(cid).customer.id == "cust-1"


def test_the_storage_closes_even_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), ServiceDesk.sqlite(tmp_path / "desk.db") as desk:
        raise RuntimeError("the host app failed")
    storage = desk.storage
    assert isinstance(storage, SQLiteStorage)
    assert storage.database._connection is None


def test_a_version_1_file_is_migrated_with_its_queue_columns(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "desk.db"
    with ServiceDesk.sqlite(path, clock=clock, ids=SequentialIds("c")) as desk:
        asked = open_conversation(desk)
        desk.hear(asked, "I want to speak to your manager right now.")
        clock.advance(minutes=1)
        answered = open_conversation(desk, id="cust-2")
        desk.hear(answered, "Hello?")
        desk.ask(answered, "Which part is broken?")
    # make it the file release 1 wrote: no query columns, no indexes, schema version 1
    with sqlite3.connect(path) as raw:
        for (index,) in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'conversations_%'"
        ).fetchall():
            raw.execute(f"DROP INDEX {index}")
        for column in (
            "agent_id",
            "agent_role",
            "waiting_on",
            "escalated_to",
            "opened_at",
            "sla_due_at",
        ):
            raw.execute(f"ALTER TABLE conversations DROP COLUMN {column}")
        raw.execute("ALTER TABLE follow_ups DROP COLUMN text")  # added by version 3
        raw.execute("UPDATE serviceplaybook_meta SET value = '1' WHERE key = 'schema_version'")
    with ServiceDesk.sqlite(path, clock=clock) as desk:
        storage = desk.storage
        assert isinstance(storage, SQLiteStorage)
        assert storage.database.schema_version == _database.DATABASE_SCHEMA_VERSION
        assert [c.id for c in desk.find().conversations] == [asked, answered]
        queue = desk.find(stages="escalated", escalated_to="supervisor")
        assert [c.id for c in queue.conversations] == [asked]
        assert [c.id for c in desk.find(waiting_on="customer").conversations] == [answered]
        assert [c.id for c in desk.find(agent_id="agent-7", role="agent").conversations] == [
            asked,
            answered,
        ]
        plan = storage.database.query(
            "EXPLAIN QUERY PLAN SELECT id FROM conversations WHERE customer_id = ? "
            "ORDER BY opened_at, id",
            ("cust-1",),
        )
        assert "conversations_by_customer" in str(plan)


def test_a_customer_with_many_conversations_pages(desk: ServiceDesk, clock: FakeClock) -> None:
    opened = []
    for _ in range(7):
        opened.append(
            desk.open(
                customer=Customer(id="cust-9"),
                issue=Issue(category="billing", severity="low", summary="Charged twice"),
                agent=Agent(id="sam"),
            ).id
        )
    pages = []
    page = desk.find(customer_id="cust-9", limit=3)
    while True:
        pages.append([c.id for c in page.conversations])
        if page.next is None:
            break
        page = desk.find(customer_id="cust-9", limit=3, after=page.next)
    assert pages == [opened[:3], opened[3:6], opened[6:]]


@pytest.mark.parametrize(
    ("conditions", "named"),
    [
        ({"agent_id": "\ud800"}, "agent_id"),
        ({"customer_id": "a\x00b"}, "customer_id"),
        ({"stages": "\ud800"}, "stages"),
        ({"stages": [""]}, "stages"),
        ({"stages": 5}, "stages"),
        ({"role": 5}, "role"),
        ({"escalated_to": "overlord"}, "escalated_to"),
        ({"waiting_on": "nobody"}, "waiting_on"),
        ({"limit": True}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"after": '["2026-01-01T00:00:00+00:00", "\\ud800"]'}, "after"),
        ({"after": 5}, "after"),
        ({"sla_due_by": "now"}, "sla_due_by"),
        ({"sla_due_by": datetime(2026, 1, 1)}, "sla_due_by"),
        (
            {"sla_due_by": datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))},
            "sla_due_by",
        ),
    ],
)
def test_bad_conditions_are_refused_by_name(
    desk: ServiceDesk, conditions: dict[str, object], named: str
) -> None:
    open_conversation(desk)
    with pytest.raises(ValidationError, match=named):
        desk.find(**conditions)
    assert len(desk.find().conversations) == 1


@pytest.mark.parametrize("bad", ["\ud800", "a\x00", "", " "])
def test_bad_customer_ids_are_refused(desk: ServiceDesk, bad: str) -> None:
    cid = open_conversation(desk)
    for call in (desk.erase_customer, desk.export_customer):
        with pytest.raises(ValidationError, match="customer_id"):
            call(bad)
    assert desk.get(cid).customer.id == "cust-1"


def test_check_slas_refuses_bad_arguments(desk: ServiceDesk) -> None:
    with pytest.raises(TypeError, match="report"):
        desk.check_slas(report=5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="now"):
        desk.check_slas(now=datetime(2026, 1, 1))
    # a time at the end of the range is refused at the call, naming the argument
    with pytest.raises(ValidationError, match=r"check_slas\(now\) must be from 1900"):
        desk.check_slas(now=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))
