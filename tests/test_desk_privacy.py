"""A customer's erasure and export, on every backend: nothing that identifies or quotes them is
left (in SQLite: not in the file's bytes, its free pages or its write-ahead log), and what
accounting counts is kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from serviceplaybook import (
    Agent,
    Customer,
    FollowUpStatus,
    Issue,
    Money,
    Offer,
    ServiceDesk,
    SQLiteStorage,
    ValidationError,
)
from serviceplaybook.testing import FakeClock, SequentialIds

# Words that appear nowhere else: any trace of them in the file is the customer's.
NAME = "Zebedee Quillfeather"
EMAIL = "zebedee.q@example.org"
PHONE = "+44 20 7946 0958"
CUSTOMER_ID = "cust-zq-7781"
WORDS = ("Quillfeather", "Zebedee", "zebedee.q", "7946 0958", CUSTOMER_ID, "Marmalade")
AGENT = Agent(id="agent-7", name="Sam")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite"])
def desk(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> Iterator[ServiceDesk]:
    if request.param == "memory":
        made = ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"))
    else:
        made = ServiceDesk.sqlite(tmp_path / "desk.db", clock=clock, ids=SequentialIds("c"))
    with made:
        yield made


def customer(customer_id: str = CUSTOMER_ID) -> Customer:
    return Customer(id=customer_id, name=NAME, email=EMAIL, phone=PHONE, timezone="Europe/London")


def handled(
    desk: ServiceDesk, who: Customer, amount: str = "25.00", thing: str = "Marmalade"
) -> str:
    """A conversation with every kind of record: messages, a summary, an apology, a described
    offer granted, an escalation brief, a follow-up."""
    cid = desk.open(
        customer=who,
        issue=Issue(
            category="damaged_item",
            severity="medium",
            summary=f"The {thing} jar from Brambleton arrived smashed",
            order_value=Money("80.00", "USD"),
        ),
        agent=AGENT,
    ).id
    contact = ", ".join(c for c in (who.email, who.phone) if c)
    desk.hear(cid, f"Hi, {who.name} here ({contact}): my {thing} jar came smashed.")
    desk.summarize(cid, f"Your {thing} jar from Brambleton arrived smashed.")
    desk.confirm(cid)
    desk.apologize(cid)
    offer = Offer(kind="refund", value=Money(amount, "USD"), description=f"{thing} refund")
    desk.propose(cid, offer)
    desk.accept(cid, offer.id)
    return cid


def test_erasure_keeps_counts_and_amounts_and_drops_the_person(desk: ServiceDesk) -> None:
    mine = [handled(desk, customer()), handled(desk, customer(), amount="15.00")]
    other = handled(desk, Customer(id="cust-other", name="Olive"), thing="Teapot")
    before = {cid: desk.get(cid) for cid in mine}
    journals = {cid: len(desk.history(cid)) for cid in mine}
    pending = sum(
        desk.storage.follow_ups.status(f.id) is FollowUpStatus.PENDING
        for cid in mine
        for f in desk.get(cid).follow_ups
    )
    assert pending  # the first one planned a survey (the cooldown skips the second)

    erasure = desk.erase_customer(CUSTOMER_ID)

    assert erasure.conversations == 2
    assert erasure.grants == 2
    assert erasure.messages == sum(len(c.messages) for c in before.values())
    assert erasure.journal_entries == sum(journals.values())
    assert erasure.cancelled_follow_ups == pending
    assert desk.storage.ledger.grants(CUSTOMER_ID) == []
    grants = desk.storage.ledger.grants(erasure.pseudonym)
    assert sum(g.offer.value.amount for g in grants if g.offer.value) == Decimal("40.00")
    for cid in mine:
        after = desk.get(cid)
        assert after.customer.id == erasure.pseudonym
        assert len(after.messages) == len(before[cid].messages)
        assert [m.author for m in after.messages] == [m.author for m in before[cid].messages]
        assert [o.offer.value for o in after.offers] == [o.offer.value for o in before[cid].offers]
        assert after.stage == before[cid].stage
        history = desk.history(cid)
        assert len(history) == journals[cid] + 1
        assert history[-1].kind == "erase_customer"
        assert dict(history[-1].data) == {
            "messages": len(after.messages),
            "journal_entries": journals[cid],
        }
        for follow_up in after.follow_ups:
            assert desk.storage.follow_ups.status(follow_up.id) is FollowUpStatus.CANCELLED
        text = json.dumps(desk.export_customer(erasure.pseudonym))
        for word in WORDS:
            assert word not in text
    # the other customer is untouched
    assert desk.get(other).customer.name == "Olive"
    assert "Teapot" in json.dumps(desk.export_customer("cust-other"))
    # and the erased id holds nothing any more
    assert desk.export_customer(CUSTOMER_ID)["conversations"] == []
    assert desk.erase_customer(CUSTOMER_ID).conversations == 0


def test_export_holds_everything_about_the_customer(desk: ServiceDesk) -> None:
    cid = handled(desk, customer())
    handled(desk, Customer(id="cust-other"), thing="Teapot")
    exported = desk.export_customer(CUSTOMER_ID)
    again = json.loads(json.dumps(exported))
    assert again == exported
    assert exported["format"] == "serviceplaybook.customer-export/1"
    assert [c["conversation"]["id"] for c in exported["conversations"]] == [cid]
    [held] = exported["conversations"]
    assert held["conversation"]["customer"]["email"] == EMAIL
    assert any(NAME in m["text"] for m in held["conversation"]["messages"])
    assert [e["kind"] for e in held["journal"]] == [e.kind for e in desk.history(cid)]
    assert [g["key"] for g in exported["grants"]] == [
        g.key for g in desk.storage.ledger.grants(CUSTOMER_ID)
    ]
    assert len(exported["follow_ups"]) == 1


@pytest.mark.parametrize("bad", ["", "   "])
def test_a_blank_customer_id_is_refused(desk: ServiceDesk, bad: str) -> None:
    with pytest.raises(ValidationError, match="customer_id"):
        desk.erase_customer(bad)
    with pytest.raises(ValidationError, match="customer_id"):
        desk.export_customer(bad)


def test_a_customer_id_must_be_a_str(desk: ServiceDesk) -> None:
    with pytest.raises(TypeError, match="customer_id"):
        desk.erase_customer(42)  # type: ignore[arg-type]


def _traces(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for file in sorted(path.parent.glob(path.name + "*")):  # the file, its -wal and -shm
        data = file.read_bytes()
        hits = [word for word in WORDS if word.encode() in data]
        if hits:
            found[file.name] = hits
    return found


def test_no_trace_is_left_in_the_sqlite_files(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "desk.db"
    with ServiceDesk.sqlite(path, clock=clock, ids=SequentialIds("c")) as desk:
        for _ in range(3):
            handled(desk, customer())
        for n in range(20):  # others' conversations around theirs
            handled(desk, Customer(id=f"cust-{n}", name="Olive"), amount="5.00", thing="Teapot")
        assert _traces(path)  # the test can see them
        totals = sum(
            g.offer.value.amount
            for n in range(20)
            for g in desk.storage.ledger.grants(f"cust-{n}")
            if g.offer.value
        )
        erasure = desk.erase_customer(CUSTOMER_ID)
        assert erasure.compacted
        assert _traces(path) == {}  # while the desk is still open
        moved = desk.storage.ledger.grants(erasure.pseudonym)
        assert sum(g.offer.value.amount for g in moved if g.offer.value) == Decimal("75.00")
        assert totals == Decimal("100.00")
    assert _traces(path) == {}


def test_without_compaction_old_pages_and_the_log_still_hold_the_words(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Why erasure compacts: rows rewritten in place leave their old bytes in the file's free
    space and in old frames of the write-ahead log until the file is rebuilt."""
    path = tmp_path / "desk.db"
    with ServiceDesk.sqlite(path, clock=clock, ids=SequentialIds("c")) as desk:
        handled(desk, customer())
        desk.erase_customer(CUSTOMER_ID, compact=False)
        assert _traces(path)
        desk.storage.compact()
        assert _traces(path) == {}


def test_compacting_inside_a_batch_is_refused_and_undoes_nothing_else(
    tmp_path: Path, clock: FakeClock
) -> None:
    with ServiceDesk.sqlite(tmp_path / "desk.db", clock=clock) as desk:
        cid = handled(desk, customer())
        with pytest.raises(Exception, match="inside a unit of work"), desk.batch():
            desk.erase_customer(CUSTOMER_ID)
        assert desk.get(cid).customer.id == CUSTOMER_ID  # the batch was undone whole
        with desk.batch():
            desk.erase_customer(CUSTOMER_ID, compact=False)
        desk.storage.compact()
        assert desk.get(cid).customer.id.startswith("erased-")


def test_messages_redacted_at_rest(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "desk.db"
    with ServiceDesk.sqlite(path, clock=clock, redact_messages=True) as desk:
        cid = desk.open(
            customer=Customer(id="cust-1"),
            issue=Issue(category="billing", severity="low", summary="Charged twice"),
            agent=AGENT,
        ).id
        outcome = desk.hear(cid, f"I WANT A MANAGER. Write to {EMAIL} or call {PHONE}.")
        assert outcome.signals is not None
        assert outcome.signals.wants_manager  # read as written
        [message] = desk.get(cid).messages
        assert EMAIL not in message.text
        assert PHONE not in message.text
        assert "I WANT A MANAGER" in message.text
        storage = desk.storage
        assert isinstance(storage, SQLiteStorage)
        storage.compact()
    data = path.read_bytes()
    assert EMAIL.encode() not in data
    assert PHONE.encode() not in data
