"""Insights from the journal: the digest every backend computes where its entries are equals
the one computed in Python from the histories, and the report's counts equal counts taken from
the raw journal, on histories a desk generates (memory and SQLite side by side; PostgreSQL on
the tests' server); business time, patterns and their evidence, erased and custom journals."""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import insights_world
from serviceplaybook import (
    Agent,
    BusinessCalendar,
    ConfigError,
    Customer,
    DigestingJournal,
    Issue,
    Money,
    Offer,
    OfferKind,
    PlaybookError,
    Role,
    ServiceDesk,
    SlaPolicy,
    ValidationError,
    WrongType,
)
from serviceplaybook._records.digest import digest_histories
from serviceplaybook.adapters.memory import InMemoryStorage
from serviceplaybook.insights import PatternFinder, Report, digest, histories, iso_week, report
from serviceplaybook.insights._business import BusinessClock
from serviceplaybook.testing import FakeClock, SequentialIds

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SUPERVISOR = Agent(id="sue", role=Role.SUPERVISOR)
CATEGORIES = ("late_delivery", "billing", "damaged_item")
AGENTS = (Agent(id="ana"), Agent(id="ben"), Agent(id="bot", role=Role.BOT))
TEXTS = (
    "Where is my order?",
    "This is the THIRD time I write!!!",
    "Get me your manager.",
    "I know where you live, I will hurt you.",
    "Thanks, that helps.",
)
KINDS = (OfferKind.PARTIAL_REFUND, OfferKind.CREDIT, OfferKind.REPLACEMENT, OfferKind.REFUND)

ACTIONS = st.one_of(
    st.tuples(st.just("hear"), st.sampled_from(TEXTS)),
    st.tuples(st.sampled_from(["ask", "summarize"]), st.just("Which order is it?")),
    st.tuples(
        st.sampled_from(
            [
                "confirm",
                "correct",
                "apologize",
                "resolve",
                "escalate",
                "pick_up",
                "close",
                "accept",
                "terminate",
            ]
        ),
        st.none(),
    ),
    st.tuples(st.just("decline"), st.sampled_from([None, "Not enough."])),
    st.tuples(st.just("propose"), st.tuples(st.sampled_from(KINDS), st.sampled_from([0, 20, 90]))),
    st.tuples(st.just("reopen"), st.sampled_from([None, "It broke again."])),
    st.tuples(st.just("complete_follow_up"), st.sampled_from([None, "All good now."])),
    st.tuples(st.just("check_sla"), st.integers(1, 4)),
)
SCRIPTS = st.lists(
    st.tuples(
        st.sampled_from(CATEGORIES),
        st.sampled_from(AGENTS),
        st.lists(st.tuples(ACTIONS, st.integers(1, 600)), max_size=14),
    ),
    min_size=1,
    max_size=4,
)


def drive(desk: ServiceDesk, clock: FakeClock, scripts: list[Any]) -> list[str]:
    """Play ``scripts`` on ``desk``, skipping what the playbook refuses; the ids opened."""
    ids = []
    for number, (category, agent, steps) in enumerate(scripts):
        issue = Issue(
            category=category,
            severity="medium",
            summary="order trouble",
            order_value=Money(100, "USD"),
        )
        cid = desk.open(customer=Customer(id=f"cust-{number}"), issue=issue, agent=agent).id
        ids.append(cid)
        offers: list[str] = []
        for index, ((action, argument), minutes) in enumerate(steps):
            clock.advance(timedelta(minutes=minutes))
            try:
                if action == "propose":
                    kind, amount = argument
                    offer_id = f"o{index}"
                    value = Money(amount, "USD") if amount and kind != "replacement" else None
                    offers.append(offer_id)
                    desk.propose(cid, Offer(kind=kind, value=value, id=offer_id))
                elif action in ("accept", "decline"):
                    if offers:
                        if action == "accept":
                            desk.accept(cid, offers[-1])
                        else:
                            desk.decline(cid, offers[-1], argument)
                elif action == "pick_up":
                    desk.pick_up(cid, SUPERVISOR)
                elif action == "terminate":
                    desk.terminate(cid, "abusive language after a warning")
                elif action == "escalate":
                    desk.escalate(cid, "the customer wants a specialist")
                elif action == "check_sla":
                    desk.check_sla(cid, now=clock() + timedelta(days=argument))
                elif argument is None and action not in ("reopen", "complete_follow_up"):
                    getattr(desk, action)(cid)
                else:
                    getattr(desk, action)(cid, argument)
            except PlaybookError:
                pass
    return ids


def recount(desk: ServiceDesk, ids: list[str]) -> dict[str, Any]:
    """The report's counts taken again from the raw journal, entry by entry."""
    counts: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    offers: dict[str, Counter[str]] = {}
    for cid in ids:
        entries = desk.history(cid)
        categories[entries[0].data["issue"]["category"]] += 1
        kinds = [e.kind for e in entries]
        escalations = [
            e for e in entries if e.kind in ("escalate", "terminate") and "escalation" in e.data
        ]
        counts["escalations"] += len(escalations)
        counts["escalated"] += bool(escalations)
        for e in escalations:
            reasons.update(r["code"] for r in e.data["escalation"]["reasons"])
        counts["apologies"] += sum(e.kind == "apologize" and "apology" in e.data for e in entries)
        counts["resolved"] += any(e.stage == "resolved" for e in entries)
        counts["reopened"] += "reopen" in kinds
        counts["sla_steps"] += sum(len(e.data["steps"]) for e in entries if e.kind == "sla_step")
        for name in ("warnings", "breaches"):
            counts[f"sla_{name}"] += sum(
                len(e.data[name]) for e in entries if e.kind == "sla_alert"
            )
        counts["scheduled"] += kinds.count("schedule_follow_up")
        counts["completed"] += kinds.count("complete_follow_up")
        counts["feedback"] += sum(
            e.kind == "complete_follow_up" and "feedback" in e.data for e in entries
        )
        counts["terminated"] += "terminate" in kinds
        outcome = {
            e.data["offer_id"]: e.kind for e in reversed(entries) if e.kind in ("accept", "decline")
        }
        for e in entries:
            if e.kind == "propose":
                tally = offers.setdefault(e.data["offer"]["kind"], Counter())
                tally["proposed"] += 1
                tally[outcome.get(e.data["offer"]["id"], "undecided")] += 1
    return {
        "counts": counts,
        "categories": categories,
        "reasons": reasons,
        "offers": offers,
        "entries": sum(len(desk.history(cid)) for cid in ids),
    }


def assert_counts_match(found: Report, expected: dict[str, Any]) -> None:
    counts, overall = expected["counts"], found.overall
    assert found.entries == expected["entries"]
    assert overall.conversations == sum(expected["categories"].values())
    assert (overall.escalations, overall.escalated) == (counts["escalations"], counts["escalated"])
    assert overall.apologies == counts["apologies"]
    assert (overall.resolved, overall.reopened) == (counts["resolved"], counts["reopened"])
    assert overall.sla_steps == counts["sla_steps"]
    assert (overall.sla_warnings, overall.sla_breaches) == (
        counts["sla_warnings"],
        counts["sla_breaches"],
    )
    assert overall.follow_ups_scheduled == counts["scheduled"]
    assert overall.follow_ups_completed == counts["completed"]
    assert overall.feedback == counts["feedback"]
    assert overall.terminated == counts["terminated"]
    assert dict(found.escalation_reasons) == dict(expected["reasons"])
    assert {k: f.conversations for k, f in found.by_category.items()} == dict(
        expected["categories"]
    )
    assert {
        kind: (o.proposed, o.accepted, o.declined, o.undecided) for kind, o in found.offers.items()
    } == {
        kind: (t["proposed"], t["accept"], t["decline"], t["undecided"])
        for kind, t in expected["offers"].items()
    }
    for groups in (found.by_category, found.by_agent, found.by_week):
        assert sum(f.conversations for f in groups.values()) == overall.conversations
        assert sum(f.escalations for f in groups.values()) == overall.escalations


# each example drives two desks, one on a SQLite file: fewer examples than the profile's
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(scripts=SCRIPTS)
def test_counts_equal_the_raw_journal_in_memory_and_on_sqlite(scripts: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        desks = []
        for make in (
            lambda clock: ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c")),
            lambda clock: ServiceDesk.sqlite(
                Path(folder) / "desk.db", clock=clock, ids=SequentialIds("c")
            ),
        ):
            clock = FakeClock(MONDAY)
            desk = make(clock)
            desks.append((desk, drive(desk, clock, scripts)))
        (memory, ids), (sqlite, _) = desks
        with sqlite:
            expected = recount(memory, ids)
            found = report(memory)
            assert_counts_match(found, expected)
            # the SQL digest is the Python one, row for row, so every figure agrees
            assert digest(sqlite.storage) == digest(memory.storage)
            assert digest(sqlite.storage) == digest_histories(histories(sqlite.storage))
            assert report(sqlite) == found


@pytest.fixture(scope="module")
def world() -> ServiceDesk:
    """Five weeks of a support team, the fourth bad for late deliveries."""
    clock = FakeClock(insights_world.START)
    desk = ServiceDesk.in_memory(clock=clock, ids=SequentialIds("w"))
    insights_world.play(desk, clock, conversations=500)
    return desk


def test_the_surge_is_flagged_with_its_evidence(world: ServiceDesk) -> None:
    found = report(world)
    surges = [p for p in found.patterns if p.code == "escalation_surge"]
    assert [(p.subject, "2026-W48" in p.text) for p in surges] == [("late_delivery", True)]
    [surge] = surges
    assert "after a declined partial_refund" in surge.text
    assert any(line.startswith("week 2026-W47: ") for line in surge.evidence)
    assert any("came after the customer declined an offer" in line for line in surge.evidence)
    week = next(
        w for w in found.escalation_weeks if (w.category, w.week) == ("late_delivery", "2026-W48")
    )
    assert f"in week 2026-W48: {week.escalations}," in surge.text
    # the ISO weeks of the data, Monday to Sunday
    assert list(found.by_week)[:2] == ["2026-W45", "2026-W46"]
    assert found.scorecards is None  # the training half fills them; nothing stands in


def test_thresholds_are_the_integrators(world: ServiceDesk) -> None:
    found = report(world, patterns=PatternFinder(low_acceptance=0.99, min_offers=1))
    assert {p.subject for p in found.patterns if p.code == "low_acceptance"} >= {"partial_refund"}
    quiet = report(world, patterns=PatternFinder(surge_factor=100))
    assert not [p for p in quiet.patterns if p.code == "escalation_surge"]
    with pytest.raises(ConfigError, match="surge_factor must be a positive number"):
        PatternFinder(surge_factor=0)


def test_outliers_name_the_agent_and_the_category() -> None:
    clock = FakeClock(MONDAY)
    desk = ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"))
    for number in range(12):
        agent = AGENTS[number % 2]
        cid = desk.open(
            customer=Customer(id=f"c{number}"),
            issue=Issue(
                category="billing" if number < 6 else "late_delivery", severity="low", summary="x"
            ),
            agent=agent,
        ).id
        desk.hear(cid, "I was charged twice.")
        desk.summarize(cid, "You were charged twice?")
        desk.confirm(cid)
        if agent.id == "ana":
            desk.apologize(cid)
        desk.resolve(cid)
        if number < 6:
            desk.reopen(cid, "Charged twice again.")
    found = report(desk, patterns=PatternFinder(outlier_factor=1.5, min_conversations=5))
    codes = {(p.code, p.subject) for p in found.patterns}
    assert ("apology_outlier", "ana") in codes
    assert ("reopen_outlier", "billing") in codes


def test_times_are_business_time_in_the_desks_calendar() -> None:
    clock = FakeClock(datetime(2026, 11, 6, 16, 50, tzinfo=UTC))  # a Friday, ten to five
    berlin = BusinessCalendar.standard("Europe/Berlin", open="08:00", close="18:00")
    desk = ServiceDesk.in_memory(clock=clock, sla=SlaPolicy(calendar=berlin))
    cid = desk.open(
        customer=Customer(id="c"),
        issue=Issue(category="billing", severity="low", summary="x"),
        agent=AGENTS[0],
    ).id
    desk.hear(cid, "Hello?")
    clock.advance(timedelta(days=2, hours=16, minutes=20))  # Monday 09:10 UTC, 10:10 in Berlin
    desk.ask(cid, "Which invoice?")
    found = report(desk)
    # Friday 17:50-18:00 and Monday 08:00-10:10 in Berlin: 2 h 20 min of business time
    assert found.overall.first_response.median == timedelta(hours=2, minutes=20)
    assert "Europe/Berlin" in found.calendar
    utc = report(desk, calendar=BusinessCalendar.standard("UTC"))
    assert utc.overall.first_response.median == timedelta(minutes=10 + 10)
    assert found.overall.resolution.count == 0


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_the_agents_own_message_is_a_first_response(backend: str, tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 9, 9, 0, tzinfo=UTC))  # a Monday
    desk = (
        ServiceDesk.in_memory(clock=clock)
        if backend == "memory"
        else ServiceDesk.sqlite(tmp_path / "desk.db", clock=clock)
    )
    cid = desk.open(
        customer=Customer(id="c"),
        issue=Issue(category="billing", severity="low", summary="x"),
        agent=AGENTS[0],
    ).id
    desk.hear(cid, "Hello?")
    clock.advance(timedelta(minutes=7))
    desk.say(cid, "Hi, I'm Ana; tell me what happened and I'll look into it.")
    clock.advance(timedelta(minutes=30))
    desk.ask(cid, "Which invoice?")
    assert report(desk).overall.first_response.median == timedelta(minutes=7)


def test_an_empty_journal_and_an_erased_customer() -> None:
    desk = ServiceDesk.in_memory(clock=FakeClock(MONDAY))
    empty = report(desk)
    assert (empty.overall.conversations, empty.entries, empty.patterns) == (0, 0, ())
    assert empty.overall.escalation_rate is None
    assert empty.first_opened is None
    cid = desk.open(
        customer=Customer(id="gone"),
        issue=Issue(category="billing", severity="low", summary="x"),
        agent=AGENTS[0],
    ).id
    desk.hear(cid, "Get me your manager.")
    desk.erase_customer("gone")
    found = report(desk)
    assert list(found.by_category) == ["(unknown)"]
    assert found.entries == len(desk.history(cid))


class _PlainJournalStorage(InMemoryStorage):
    """A storage whose journal has no digest of its own, as an integrator's might."""

    def __init__(self) -> None:
        super().__init__()
        inner = self.journal

        class Plain:
            def append(self, entries: Any) -> None:
                inner.append(entries)

            def history(self, conversation_id: str) -> Any:
                return inner.history(conversation_id)

            def rewrite(self, entries: Any) -> None:
                inner.rewrite(entries)

        self.journal = Plain()  # type: ignore[assignment]


def test_a_journal_without_a_digest_is_read_history_by_history() -> None:
    reports = []
    for storage in (_PlainJournalStorage(), InMemoryStorage()):
        clock = FakeClock(insights_world.START)
        desk = ServiceDesk(storage, clock=clock, ids=SequentialIds("w"))
        insights_world.play(desk, clock, conversations=60)
        reports.append(report(desk))
    plain, digesting = reports
    assert not isinstance(_PlainJournalStorage().journal, DigestingJournal)
    assert isinstance(InMemoryStorage().journal, DigestingJournal)
    assert plain == digesting
    assert plain.overall.conversations == 60


def test_compensation_is_the_ledgers_grants_summed_exactly(world: ServiceDesk) -> None:
    found = report(world)
    ledger: Counter[tuple[str, str]] = Counter()
    for customer in {c.customer.id for c in world.scan()}:
        for grant in world.storage.ledger.grants(customer):
            if grant.offer.value is not None:
                ledger[grant.offer.value.currency, "sum"] += grant.offer.value.amount
                ledger[grant.offer.value.currency, "count"] += 1
    assert sum((s.amount for s in found.compensation), Decimal(0)) == ledger["USD", "sum"]
    assert sum(s.offers for s in found.compensation) == ledger["USD", "count"]
    assert {s.role for s in found.compensation} == {"agent", "supervisor"}


CALENDARS = (
    BusinessCalendar.standard("UTC"),
    BusinessCalendar.standard("Europe/Berlin", open="08:00", close="18:00", holidays=[]),
    BusinessCalendar(
        timezone="America/New_York",
        hours={
            "mon": ["08:00-12:00", "13:00-17:00"],
            "sat": ["10:00-14:00"],
            "sun": ["00:00-24:00"],
        },
        holidays=[date(2026, 3, 9)],
    ),
    BusinessCalendar.around_the_clock("Australia/Lord_Howe"),  # a half-hour clock change
)


@given(
    calendar=st.sampled_from(CALENDARS),
    pairs=st.lists(
        st.tuples(
            st.datetimes(datetime(2026, 2, 20), datetime(2026, 4, 20), timezones=st.just(UTC)),
            st.timedeltas(timedelta(days=-30), timedelta(days=30)),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_business_clock_counts_as_the_calendar_does(
    calendar: BusinessCalendar, pairs: list[tuple[datetime, timedelta]]
) -> None:
    """The report's table of days gives ``between``'s very microseconds: across clock
    changes, holidays, split shifts, in any order of days asked."""
    clock = BusinessClock(calendar)
    for start, span in pairs:
        assert clock.between(start, start + span) == calendar.between(start, start + span)


def test_bad_arguments_are_named() -> None:
    desk = ServiceDesk.in_memory()
    with pytest.raises(WrongType, match=r"report\(source\) must be a ServiceDesk or a Storage"):
        report("desk.db")  # type: ignore[arg-type]
    with pytest.raises(WrongType, match=r"report\(calendar\) must be a BusinessCalendar"):
        report(desk, calendar="Europe/Berlin")  # type: ignore[arg-type]
    with pytest.raises(WrongType, match=r"report\(patterns\) must be a PatternFinder"):
        report(desk, patterns=object())  # type: ignore[arg-type]


def test_iso_weeks_are_monday_to_sunday_in_utc() -> None:
    assert iso_week(datetime(2026, 11, 23, 0, 0, tzinfo=UTC)) == "2026-W48"
    assert iso_week(datetime(2026, 11, 29, 23, 59, tzinfo=UTC)) == "2026-W48"
    assert iso_week(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-W53"


def test_postgres_digests_as_memory_does() -> None:
    import postgres_server

    dsn = postgres_server.server().fresh_schema()
    desks = []
    for make in (
        lambda clock: ServiceDesk.in_memory(clock=clock, ids=SequentialIds("w")),
        lambda clock: ServiceDesk.postgres(dsn, clock=clock, ids=SequentialIds("w")),
    ):
        clock = FakeClock(insights_world.START)
        desk = make(clock)
        insights_world.play(desk, clock, conversations=80, surge_week=1)
        desks.append(desk)
    memory, postgres = desks
    with postgres:
        assert digest(postgres.storage) == digest(memory.storage)
        assert report(postgres) == report(memory)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.integers(-2, 40),
    days=st.one_of(st.none(), st.integers(1, 45)),
    open_start=st.booleans(),
)
def test_a_period_reports_the_conversations_opened_in_it(
    world: ServiceDesk, start: int, days: int | None, open_start: bool
) -> None:
    """``report(since=..., until=...)`` counts the conversations opened from ``since`` up
    to ``until``, with everything that happened to them, as the raw journal has it."""
    since = None if open_start else insights_world.START + timedelta(days=start)
    base = since or insights_world.START
    until = None if days is None else base + timedelta(days=days)
    opened = [
        history[0]
        for history in histories(world.storage)
        if (since is None or history[0].at >= since) and (until is None or history[0].at < until)
    ]
    found = report(world, since=since, until=until)
    assert_counts_match(found, recount(world, [entry.conversation_id for entry in opened]))
    if opened:
        assert found.first_opened == min(entry.at for entry in opened)
        assert found.last_opened == max(entry.at for entry in opened)


def test_a_period_must_be_aware_and_run_forward(world: ServiceDesk) -> None:
    with pytest.raises(ValidationError, match=r"report\(since\) must be a timezone-aware"):
        report(world, since=datetime(2026, 11, 1))
    with pytest.raises(ValidationError, match=r"report\(until\) must be after since"):
        report(world, since=insights_world.START, until=insights_world.START)
    with pytest.raises(WrongType, match=r"report\(until\)"):
        report(world, until="2026-12-01")  # type: ignore[arg-type]
