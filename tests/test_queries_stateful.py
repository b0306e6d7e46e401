"""Conversation queries: the in-memory store, the SQLite store and a plain model, side by side.

Every step goes to both stores: opening conversations (times in several zones, ties in
opening time on purpose), saving new versions (stage, owner, messages, escalations, SLA due
time), sometimes inside a unit of work that commits or rolls back, and closing and reopening
the SQLite file. After every step, random queries walked page by page (random page sizes)
return exactly the model's answer (``ConversationQuery.matches`` over the model's records,
in ``(opened, id)`` order), every conversation once, on both stores; a query inside an open
unit of work sees that unit's own saves.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from serviceplaybook import (
    Agent,
    Conversation,
    ConversationQuery,
    Customer,
    InMemoryStorage,
    Message,
    Role,
    SQLiteStorage,
    Stage,
    Storage,
)
from serviceplaybook._records.query import order_key
from serviceplaybook.testing.contracts import _escalation, conversation

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
IDS = ("a", "b", "c", "d", "e", "f", "g", "h")
CUSTOMERS = ("cust-1", "cust-2", "cust-3")
AGENTS = (
    Agent(id="ann", role=Role.AGENT),
    Agent(id="bo", role=Role.SENIOR_AGENT),
    Agent(id="sue", role=Role.SUPERVISOR),
    Agent(id="max", role=Role.MANAGER),
)
STAGES = ("listening", "clarifying", "resolving", "escalated", "resolved", "closed")
zones = st.sampled_from(
    (UTC, timezone(timedelta(hours=-5)), ZoneInfo("Asia/Kolkata"), ZoneInfo("Asia/Tokyo"))
)
# whole hours, few of them: conversations often open at the same instant
offsets = st.integers(0, 6).map(lambda h: timedelta(hours=h))
dues = st.none() | st.integers(-3, 9).map(lambda h: START + timedelta(hours=h))

queries = st.builds(
    ConversationQuery,
    stages=st.lists(st.sampled_from(STAGES), max_size=2, unique=True).map(tuple),
    role=st.none() | st.sampled_from([a.role for a in AGENTS]),
    agent_id=st.none() | st.sampled_from([a.id for a in AGENTS]),
    customer_id=st.none() | st.sampled_from(CUSTOMERS),
    waiting_on=st.none() | st.sampled_from(("agent", "customer")),
    escalated_to=st.none() | st.sampled_from((Role.SUPERVISOR, Role.MANAGER)),
    sla_due_by=st.none() | st.integers(-2, 8).map(lambda h: START + timedelta(hours=h)),
    limit=st.integers(1, 4),
)


def walk(storage: Storage, query: ConversationQuery) -> list[Conversation]:
    found: list[Conversation] = []
    next_query: ConversationQuery | None = query
    pages = 0
    while next_query is not None:
        page = storage.conversations.find(next_query)
        assert len(page.conversations) <= query.limit
        assert page.conversations or page.next is None
        found.extend(page.conversations)
        next_query = next_query.next_page(page)
        pages += 1
        assert pages <= len(IDS) + 1
    return found


class Queries(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="queries-"))
        self.path = self.directory / "desk.db"
        self.memory = InMemoryStorage()
        self.sqlite = SQLiteStorage(self.path, synchronous="NORMAL")
        self.model: dict[str, Conversation] = {}

    def teardown(self) -> None:
        self.sqlite.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _save(self, record: Conversation, expected: int) -> None:
        for storage in (self.memory, self.sqlite):
            storage.conversations.save(record, expected_version=expected)

    @precondition(lambda self: len(self.model) < len(IDS))
    @rule(
        data=st.data(),
        customer=st.sampled_from(CUSTOMERS),
        agent=st.sampled_from(AGENTS),
        offset=offsets,
        zone=zones,
        due=dues,
    )
    def open(
        self,
        data: st.DataObject,
        customer: str,
        agent: Agent,
        offset: timedelta,
        zone: Any,
        due: datetime | None,
    ) -> None:
        cid = data.draw(st.sampled_from([i for i in IDS if i not in self.model]))
        opened = (START + offset).astimezone(zone)
        record = conversation(
            cid,
            customer=Customer(id=customer),
            agent=agent,
            opened_at=opened,
            updated_at=opened,
            sla_due_at=due,
        )
        self._save(record, 0)
        self.model[cid] = record

    def _changed(self, data: st.DataObject, record: Conversation) -> Conversation:
        changes: dict[str, Any] = {
            "version": record.version + 1,
            "stage": data.draw(st.sampled_from(STAGES)),
            "sla_due_at": data.draw(dues),
        }
        if data.draw(st.booleans()):
            changes["agent"] = data.draw(st.sampled_from(AGENTS))
        author = data.draw(st.sampled_from(("customer", "ann", None)))
        if author is not None:
            message = Message(author=author, text="more", at=record.opened_at)
            changes["messages"] = (*record.messages, message)
        if data.draw(st.booleans()):
            to = data.draw(st.sampled_from((Role.SUPERVISOR, Role.MANAGER)))
            changes["escalations"] = (*record.escalations, _escalation(to))
        return attrs.evolve(record, **changes)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(sorted(self.model)))
        record = self._changed(data, self.model[cid])
        self._save(record, record.version - 1)
        self.model[cid] = record

    @precondition(lambda self: self.model)
    @rule(data=st.data(), commit=st.booleans(), query=queries)
    def unit_of_work(self, data: st.DataObject, commit: bool, query: ConversationQuery) -> None:
        cids = data.draw(st.lists(st.sampled_from(sorted(self.model)), min_size=1, unique=True))
        changed = {cid: self._changed(data, self.model[cid]) for cid in cids}
        seen = {**self.model, **changed}
        expected = sorted((c for c in seen.values() if query.matches(c)), key=order_key)
        for storage in (self.memory, self.sqlite):
            try:
                with storage.atomic():
                    for record in changed.values():
                        storage.conversations.save(record, expected_version=record.version - 1)
                    assert walk(storage, query) == expected
                    if not commit:
                        raise _RollBack
            except _RollBack:
                pass
        if commit:
            self.model.update(changed)

    @rule()
    def reopen_the_file(self) -> None:
        self.sqlite.close()
        self.sqlite = SQLiteStorage(self.path, synchronous="NORMAL")

    @rule(query=queries)
    def query(self, query: ConversationQuery) -> None:
        expected = sorted((c for c in self.model.values() if query.matches(c)), key=order_key)
        for storage in (self.memory, self.sqlite):
            assert walk(storage, query) == expected

    @invariant()
    def everything_once_in_order(self) -> None:
        expected = sorted(self.model.values(), key=order_key)
        for storage in (self.memory, self.sqlite):
            assert walk(storage, ConversationQuery(limit=3)) == expected

    @invariant()
    def escalated_queue(self) -> None:
        query = ConversationQuery(stages=Stage.ESCALATED, escalated_to=Role.SUPERVISOR)
        expected = [
            c.id
            for c in sorted(self.model.values(), key=order_key)
            if c.stage == "escalated" and c.escalations and c.escalations[-1].to is Role.SUPERVISOR
        ]
        for storage in (self.memory, self.sqlite):
            assert [c.id for c in walk(storage, query)] == expected


class _RollBack(Exception):
    pass


Queries.TestCase.settings = settings(
    max_examples=settings.default.max_examples // 4 or 1, stateful_step_count=20
)
TestQueries = Queries.TestCase
