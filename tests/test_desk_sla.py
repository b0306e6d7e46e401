"""The desk and the SLA clocks: steps recorded once each, in order, and acted on; pauses
while the conversation waits on the customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from serviceplaybook import Role, ServiceDesk, Stage, ValidationError
from serviceplaybook.testing import FakeClock, SequentialIds
from test_desk import open_conversation


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # Monday 2026-01-05 09:00 UTC


@pytest.fixture
def desk(clock: FakeClock) -> ServiceDesk:
    return ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"))


def test_steps_missed_while_nobody_checked_all_fire_once_in_order(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    cid = open_conversation(desk)
    desk.hear(cid, "My blender arrived broken.")  # now it waits on the agent
    clock.advance(days=3)  # Thursday 09:00: 24 business hours (09:00-17:00, Mon-Fri)
    outcome = desk.check_sla(cid)
    assert outcome.sla is not None
    steps = outcome.conversation.sla_steps
    assert [(s.index, s.to) for s in steps] == [(0, Role.SUPERVISOR), (1, Role.MANAGER)]
    assert outcome.events == ("sla_alert", "sla_step", "escalate")
    assert outcome.escalation is not None
    assert outcome.escalation.to is Role.MANAGER
    assert outcome.conversation.stage == Stage.ESCALATED

    again = desk.check_sla(cid)
    assert again.events == ()
    assert again.conversation.sla_steps == steps
    assert [e.kind for e in desk.history(cid)].count("sla_step") == 1


def test_warnings_and_breaches_are_journaled_once_per_clock(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    cid = open_conversation(desk)
    desk.hear(cid, "My blender arrived broken.")
    clock.advance(days=3)
    first = desk.check_sla(cid)
    assert first.sla is not None
    [alert] = [e for e in desk.history(cid) if e.kind == "sla_alert"]
    assert set(alert.data["breaches"]) == {r.code for r in first.sla.breaches}
    assert list(alert.data["warnings"]) == []
    clock.advance(hours=1)
    desk.check_sla(cid)  # the same breaches: nothing new to record
    assert [e.kind for e in desk.history(cid)].count("sla_alert") == 1
    # the customer writes again: a new next-response clock, whose breach counts anew
    desk.say(cid, "I'm on it.")
    desk.hear(cid, "Any news?")
    clock.advance(days=3)
    desk.check_sla(cid)
    alerts = [e for e in desk.history(cid) if e.kind == "sla_alert"]
    assert len(alerts) == 2
    assert "next_response_breached" in alerts[1].data["breaches"]


def test_the_clock_pauses_while_waiting_on_the_customer(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    cid = open_conversation(desk)
    desk.hear(cid, "My blender arrived broken.")
    clock.advance(hours=1)
    desk.ask(cid, "Which part is broken?")  # waits on the customer from here
    clock.advance(days=10)
    outcome = desk.check_sla(cid)
    assert outcome.events == ()
    assert outcome.conversation.sla_steps == ()
    assert outcome.sla is not None


def test_check_sla_refuses_a_naive_time(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    with pytest.raises(ValidationError):
        desk.check_sla(cid, now=datetime(2026, 1, 9, 9, 0))


def test_check_sla_at_a_given_time(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    desk.hear(cid, "My blender arrived broken.")
    later = datetime(2026, 1, 6, 13, 0, tzinfo=UTC)  # Tuesday 13:00: 12 business hours
    outcome = desk.check_sla(cid, now=later + timedelta(minutes=1))
    assert [s.to for s in outcome.conversation.sla_steps] == [Role.SUPERVISOR]
