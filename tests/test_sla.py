"""SlaPolicy: clocks in business time, pauses on the customer, warnings, breaches, steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from serviceplaybook import (
    BusinessCalendar,
    ClockState,
    ConfigError,
    Conversation,
    Customer,
    Message,
    Role,
    Severity,
    SlaPolicy,
    SlaStatus,
    SlaStep,
    SlaStepReached,
    SlaTargets,
    ValidationError,
)
from serviceplaybook.testing.contracts import T0, conversation

AGENT = "agent-1"
HOUR = timedelta(hours=1)
OFFICE = BusinessCalendar.standard("UTC")  # T0 is Monday 09:00 UTC, the opening
ALWAYS = BusinessCalendar.around_the_clock()
STEPS = (
    SlaStep(after=1 * HOUR, to="senior_agent"),
    SlaStep(after=2 * HOUR, to="supervisor"),
    SlaStep(after=3 * HOUR, to="supervisor"),
    SlaStep(after=5 * HOUR, to="manager"),
    SlaStep(after=8 * HOUR, to="manager"),
)


def said(author: str, at: datetime) -> Message:
    return Message(author=author, text="...", at=at)


def with_messages(base: Conversation, *messages: Message) -> Conversation:
    return attrs.evolve(base, messages=base.messages + messages)


def record(c: Conversation, status: SlaStatus) -> Conversation:
    """What the desk does with the steps a check found."""
    return attrs.evolve(c, sla_steps=c.sla_steps + status.steps_due)


# A script of what happens: who writes after how long.
scripts = st.lists(
    st.tuples(st.sampled_from(["customer", AGENT]), st.integers(1, 3 * 24 * 60)), max_size=8
)


def play(script: list[tuple[str, int]], base: Conversation | None = None) -> Conversation:
    c = base or conversation()
    at = T0
    messages = list(c.messages)
    for author, minutes in script:
        at += timedelta(minutes=minutes)
        messages.append(said(author, at))
    return attrs.evolve(c, messages=messages)


def paused_by_oracle(c: Conversation, calendar: BusinessCalendar, now: datetime) -> timedelta:
    """Business time the conversation waited on the customer, read with
    ``Conversation.waiting_on`` on each prefix of its messages."""
    total = timedelta()
    times = [m.at for m in c.messages if m.at <= now] + [now]
    for count in range(1, len(times)):
        prefix = attrs.evolve(c, messages=c.messages[:count])
        if prefix.waiting_on == "customer":
            total += calendar.between(times[count - 1], times[count])
    return total


# -- the clocks --------------------------------------------------------------------------------


def test_first_response_clock_runs_until_an_agent_answers() -> None:
    policy = SlaPolicy(calendar=OFFICE)
    c = conversation()  # medium: first response within 4 business hours
    status = policy.check(c, T0 + 3 * HOUR + timedelta(minutes=30))
    assert status.first_response.state is ClockState.RUNNING
    assert status.first_response.elapsed == 3.5 * HOUR
    assert status.first_response.due_at == T0 + 4 * HOUR
    assert [r.code for r in status.warnings] == ["first_response_due_soon"]
    late = policy.check(c, T0 + 5 * HOUR)
    assert [r.code for r in late.breaches] == ["first_response_breached"]
    answered = with_messages(c, said(AGENT, T0 + 2 * HOUR))
    done = policy.check(answered, T0 + 5 * HOUR).first_response
    assert (done.state, done.elapsed, done.stopped_at) == (
        ClockState.STOPPED,
        2 * HOUR,
        T0 + 2 * HOUR,
    )
    assert done.due_at is None  # answered in time: never due


def test_business_hours_only_count_when_open() -> None:
    policy = SlaPolicy(calendar=OFFICE)
    friday = T0 + timedelta(days=4, hours=7, minutes=30)  # Friday 16:30
    c = conversation(opened_at=friday, updated_at=friday, messages=[said("customer", friday)])
    monday = friday + timedelta(days=3)  # Monday 16:30
    status = policy.check(c, monday)
    assert status.first_response.elapsed == timedelta(hours=8)
    assert status.first_response.due_at == datetime(2026, 3, 9, 12, 30, tzinfo=UTC)


def test_next_response_clock_starts_when_the_customer_writes_after_an_answer() -> None:
    policy = SlaPolicy(calendar=OFFICE)
    c = with_messages(
        conversation(),
        said(AGENT, T0 + HOUR),
        said("customer", T0 + 2 * HOUR),
        said("customer", T0 + 3 * HOUR),
    )
    status = policy.check(c, T0 + 7 * HOUR)
    clock = status.next_response
    assert clock is not None
    assert (clock.started_at, clock.elapsed, clock.state) == (
        T0 + 2 * HOUR,
        5 * HOUR,
        ClockState.RUNNING,
    )
    answered = with_messages(c, said(AGENT, T0 + 7 * HOUR))
    clock = policy.check(answered, T0 + 8 * HOUR).next_response
    assert clock is not None
    assert (clock.stopped_at, clock.state) == (T0 + 7 * HOUR, ClockState.STOPPED)
    assert policy.check(conversation(), T0 + HOUR).next_response is None


def test_resolution_pauses_while_waiting_on_the_customer() -> None:
    policy = SlaPolicy(calendar=OFFICE)
    c = with_messages(conversation(), said(AGENT, T0 + HOUR))
    for days in (0, 1, 5, 30):
        status = policy.check(c, T0 + 2 * HOUR + timedelta(days=days))
        assert status.waiting_on_customer
        assert status.resolution.state is ClockState.PAUSED
        assert status.resolution.elapsed == HOUR
        assert status.resolution.due_at is None
    replied = with_messages(c, said("customer", T0 + timedelta(days=1)))  # Tuesday 09:00
    status = policy.check(replied, T0 + timedelta(days=1, hours=2))
    assert status.resolution.state is ClockState.RUNNING
    assert status.resolution.elapsed == 3 * HOUR
    assert status.resolution.paused == 7 * HOUR  # Monday 10:00-17:00
    # 40 business hours: 1 on Monday, then 39 from Tuesday 09:00: Monday 16:00 next week.
    assert status.resolution.due_at == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)


def test_clocks_stop_at_resolution_and_no_step_comes_after() -> None:
    policy = SlaPolicy(calendar=ALWAYS, steps=STEPS)
    resolved_at = T0 + 30 * HOUR
    c = conversation(stage="resolved", resolved_at=resolved_at, updated_at=resolved_at)
    for later in (resolved_at, resolved_at + timedelta(days=9)):
        status = policy.check(c, later)
        assert all(clock.state is ClockState.STOPPED for clock in status.clocks)
        assert status.resolution.elapsed == 30 * HOUR
        assert status.steps_due == ()
        assert status.warnings == ()
    terminated = conversation(stage="terminated", closed_at=T0 + HOUR, updated_at=T0 + HOUR)
    assert policy.check(terminated, T0 + 50 * HOUR).resolution.elapsed == HOUR


def test_a_reopened_conversation_runs_again() -> None:
    policy = SlaPolicy(calendar=ALWAYS)
    c = conversation(stage="listening", resolved_at=T0 + HOUR, reopens=1)
    status = policy.check(c, T0 + 5 * HOUR)
    assert status.resolution.state is ClockState.RUNNING
    assert status.resolution.elapsed == 5 * HOUR


def test_the_customers_own_business_hours_by_default() -> None:
    tokyo = Customer(id="cust-jp", timezone="Asia/Tokyo")
    c = conversation(customer=tokyo)  # opened Monday 09:00 UTC = 18:00 in Tokyo, closed
    status = SlaPolicy().check(c, T0 + 15 * HOUR)  # Tuesday 09:00 in Tokyo
    assert status.first_response.elapsed == timedelta()
    status = SlaPolicy().check(c, T0 + 17 * HOUR)
    assert status.first_response.elapsed == 2 * HOUR
    assert status.first_response.due_at is not None
    assert status.first_response.due_at.tzinfo is not None
    assert status.first_response.due_at.utcoffset() == timedelta(hours=9)


def test_tier_targets_override_the_severity_targets() -> None:
    fast = SlaTargets(first_response=timedelta(minutes=15), resolution=4 * HOUR)
    policy = SlaPolicy(calendar=OFFICE, tier_targets={"platinum": {"medium": fast}})
    platinum = conversation(customer=Customer(id="vip", tier="platinum"))
    assert policy.check(platinum, T0 + HOUR).targets == fast
    assert [r.code for r in policy.check(platinum, T0 + HOUR).breaches] == [
        "first_response_breached"
    ]
    assert policy.check(conversation(), T0 + HOUR).targets == policy.targets[Severity.MEDIUM]
    high = conversation(customer=Customer(id="vip", tier="platinum"))
    high = attrs.evolve(high, issue=attrs.evolve(high.issue, severity="high"))
    assert policy.check(high, T0).targets == policy.targets[Severity.HIGH]


def test_the_warning_point_is_configurable() -> None:
    c = conversation()  # medium: first response 4 h, resolution 40 h
    early = SlaPolicy(calendar=OFFICE, warning_at=0.25)
    assert [r.code for r in early.check(c, T0 + HOUR).warnings] == ["first_response_due_soon"]
    late = SlaPolicy(calendar=OFFICE, warning_at=0.9)
    assert late.check(c, T0 + 3 * HOUR).warnings == ()
    warned = late.check(c, T0 + 3.6 * HOUR).warnings
    assert [r.code for r in warned] == ["first_response_due_soon"]
    assert "24 business minutes" in warned[0].text


# -- target changes ------------------------------------------------------------------------------


def test_a_severity_change_keeps_the_time_elapsed_and_paused() -> None:
    policy = SlaPolicy(calendar=OFFICE)
    c = with_messages(
        conversation(), said(AGENT, T0 + HOUR), said("customer", T0 + timedelta(days=1))
    )
    now = T0 + timedelta(days=1, hours=6)
    medium = policy.check(c, now)
    critical = policy.check(attrs.evolve(c, issue=attrs.evolve(c.issue, severity="critical")), now)
    assert critical.resolution.elapsed == medium.resolution.elapsed == 7 * HOUR
    assert critical.resolution.paused == medium.resolution.paused == 7 * HOUR
    assert not medium.breached
    assert [r.code for r in critical.breaches] == [
        "first_response_breached",  # an hour, over the 30 minutes of a critical issue
        "next_response_breached",  # 6 hours, over 1
    ]
    assert critical.resolution.due_at == T0 + timedelta(days=1, hours=7)  # 8 h target


@given(
    script=scripts,
    minutes=st.integers(0, 20 * 24 * 60),
    one=st.sampled_from(Severity),
    other=st.sampled_from(Severity),
)
def test_a_target_change_never_changes_elapsed_time(
    script: list[tuple[str, int]], minutes: int, one: Severity, other: Severity
) -> None:
    policy = SlaPolicy(calendar=OFFICE)
    c = play(script)
    now = T0 + timedelta(minutes=minutes)
    before = policy.check(attrs.evolve(c, issue=attrs.evolve(c.issue, severity=one)), now)
    after = policy.check(attrs.evolve(c, issue=attrs.evolve(c.issue, severity=other)), now)
    for first, second in zip(before.clocks, after.clocks, strict=True):
        assert attrs.evolve(first, target=None, due_at=None) == attrs.evolve(
            second, target=None, due_at=None
        )
    assert after.targets == policy.targets[other]


# -- pauses never count --------------------------------------------------------------------------


@given(
    script=scripts,
    minutes=st.integers(0, 25 * 24 * 60),
    calendar=st.sampled_from([OFFICE, ALWAYS, BusinessCalendar.standard("America/New_York")]),
)
def test_pauses_never_count(
    script: list[tuple[str, int]], minutes: int, calendar: BusinessCalendar
) -> None:
    policy = SlaPolicy(calendar=calendar)
    c = play(script)
    now = T0 + timedelta(minutes=minutes)
    clock = policy.check(c, now).resolution
    paused = paused_by_oracle(c, calendar, now)
    assert clock.paused == paused
    assert clock.elapsed == calendar.between(T0, now) - paused
    assert clock.elapsed >= timedelta()


@given(script=scripts, waits=st.lists(st.integers(0, 10 * 24 * 60), min_size=2, max_size=4))
def test_time_waiting_on_the_customer_adds_nothing(
    script: list[tuple[str, int]], waits: list[int]
) -> None:
    policy = SlaPolicy(calendar=OFFICE, steps=STEPS)
    c = play([*script, (AGENT, 1)])
    last = c.messages[-1].at
    statuses = [policy.check(c, last + timedelta(minutes=m)) for m in sorted(waits)]
    assert len({s.resolution.elapsed for s in statuses}) == 1
    assert len({tuple(x.index for x in s.steps_due) for s in statuses}) == 1


@given(script=scripts, minutes=st.integers(0, 20 * 24 * 60))
def test_a_running_clock_reaches_its_target_at_its_due_time(
    script: list[tuple[str, int]], minutes: int
) -> None:
    policy = SlaPolicy(calendar=OFFICE)
    now = T0 + timedelta(minutes=minutes)
    played = play(script)
    # The record as it stands at ``now``: the due time assumes nobody writes after it.
    c = attrs.evolve(played, messages=[m for m in played.messages if m.at <= now])
    clock = policy.check(c, now).resolution
    if clock.due_at is None:
        assert clock.state is ClockState.PAUSED
    else:
        assert policy.check(c, clock.due_at).resolution.elapsed == clock.target
        assert (clock.due_at <= now) == (clock.elapsed >= clock.target)


# -- steps fire once ---------------------------------------------------------------------------

events = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.integers(1, 40 * 60)),
        st.tuples(st.just("check"), st.just(0)),
        st.tuples(st.just("customer"), st.just(0)),
        st.tuples(st.just(AGENT), st.just(0)),
        st.tuples(st.just("severity"), st.integers(0, 3)),
    ),
    max_size=30,
)


@given(
    events=events,
    calendar=st.sampled_from([OFFICE, ALWAYS, BusinessCalendar.standard("Europe/Berlin")]),
)
def test_each_step_fires_exactly_once_under_any_checks_and_outages(
    events: list[tuple[str, int]], calendar: BusinessCalendar
) -> None:
    policy = SlaPolicy(calendar=calendar, steps=STEPS)
    c = conversation()
    now = T0
    checks: list[SlaStatus] = []
    for kind, value in [*events, ("check", 0)]:
        if kind == "wait":
            now += timedelta(minutes=value)
        elif kind == "severity":
            c = attrs.evolve(c, issue=attrs.evolve(c.issue, severity=list(Severity)[value]))
        elif kind == "check":
            status = policy.check(c, now)
            assert policy.check(c, now) == status  # a pure function
            indexes = [step.index for step in status.steps_due]
            assert indexes == sorted(indexes)
            assert not set(indexes) & {step.index for step in c.sla_steps}
            c = record(c, status)
            reached = {i for i, step in enumerate(STEPS) if status.resolution.elapsed >= step.after}
            assert {step.index for step in c.sla_steps} == reached  # nothing missed
            checks.append(status)
        else:
            c = with_messages(c, said(kind, now))
    fired = [step.index for step in c.sla_steps]
    event(f"steps fired: {len(fired)}")
    assert fired == list(range(len(fired)))  # each once, in threshold order
    for step in c.sla_steps:
        assert step.after == STEPS[step.index].after
        assert step.to == STEPS[step.index].to
        # It fired at the first check that saw its threshold passed.
        first = next(s for s in checks if s.resolution.elapsed >= step.after)
        assert step.at == first.at


def test_a_checker_that_was_down_fires_every_missed_step_in_order() -> None:
    policy = SlaPolicy(calendar=OFFICE)  # steps at 12, 24, 48 business hours
    c = conversation()
    status = policy.check(c, T0 + timedelta(days=1, hours=5))  # Tuesday 14:00: 13 hours
    assert status.resolution.elapsed == 13 * HOUR
    assert [(s.index, s.to) for s in status.steps_due] == [(0, Role.SUPERVISOR)]
    c = record(c, status)
    assert policy.check(c, T0 + timedelta(days=1, hours=6)).steps_due == ()
    back = T0 + timedelta(days=14)  # two weeks of outage: 80 business hours
    status = policy.check(c, back)
    assert [(s.index, s.after, s.to, s.at) for s in status.steps_due] == [
        (1, 24 * HOUR, Role.MANAGER, back),
        (2, 48 * HOUR, Role.MANAGER, back),
    ]
    c = record(c, status)
    assert policy.check(c, back + timedelta(days=30)).steps_due == ()
    assert all(isinstance(step, SlaStepReached) for step in c.sla_steps)


def test_steps_pause_with_the_clock() -> None:
    policy = SlaPolicy(calendar=ALWAYS, steps=STEPS)
    c = with_messages(conversation(), said(AGENT, T0 + 30 * timedelta(minutes=1)))
    assert policy.check(c, T0 + timedelta(days=30)).steps_due == ()
    replied = with_messages(c, said("customer", T0 + timedelta(days=30)))
    status = policy.check(replied, T0 + timedelta(days=30, minutes=30))
    assert [s.index for s in status.steps_due] == [0]


# -- refusals ------------------------------------------------------------------------------------


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        SlaPolicy().check(conversation(), datetime(2026, 3, 2, 10, 0))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {
                "steps": [
                    SlaStep(after=24 * HOUR, to="manager"),
                    SlaStep(after=12 * HOUR, to="manager"),
                ]
            },
            "must increase",
        ),
        (
            {
                "steps": [
                    SlaStep(after=12 * HOUR, to="manager"),
                    SlaStep(after=12 * HOUR, to="manager"),
                ]
            },
            "must increase",
        ),
        (
            {
                "steps": [
                    SlaStep(after=12 * HOUR, to="manager"),
                    SlaStep(after=24 * HOUR, to="supervisor"),
                ]
            },
            "step down",
        ),
        ({"steps": [(12 * HOUR, "manager")]}, "SlaStep records"),
        ({"warning_at": 1.0}, "between 0 and 1"),
        ({"warning_at": 0}, "between 0 and 1"),
        ({"targets": {"low": SlaTargets()}}, "no targets for medium, high, critical"),
        ({"targets": {"urgent": SlaTargets()}}, "'urgent'"),
        ({"tier_targets": {"gold": {"medium": 4}}}, "must be SlaTargets"),
        ({"calendar": "UTC"}, "BusinessCalendar"),
    ],
)
def test_bad_configuration_is_a_config_error(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SlaPolicy(**config)  # type: ignore[arg-type]


def test_bad_targets_and_steps_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="positive timedelta"):
        SlaTargets(first_response=timedelta())
    with pytest.raises(ConfigError, match="positive timedelta"):
        SlaStep(after=-HOUR, to="manager")
    with pytest.raises(ConfigError, match="not to a bot or to security"):
        SlaStep(after=HOUR, to="security")
    with pytest.raises(ConfigError, match="'boss' is not a valid Role"):
        SlaStep(after=HOUR, to="boss")


def test_the_customer_calendar_cache_gives_one_answer_from_many_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from serviceplaybook._policies.sla import _customer_calendar

    zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]
    _customer_calendar.cache_clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        calendars = list(pool.map(lambda i: _customer_calendar(zones[i % 4]), range(128)))
    assert calendars == [BusinessCalendar.standard(zones[i % 4]) for i in range(128)]
