"""BusinessCalendar: opening hours, holidays and business-time arithmetic across DST."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from serviceplaybook import BusinessCalendar, ConfigError, Shift, ValidationError
from serviceplaybook._policies.calendar import public_holidays

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")

ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "UTC",
    "Australia/Lord_Howe",  # half-hour DST
    "America/Havana",  # clocks change at midnight
    "America/Sao_Paulo",  # changed at midnight until 2019
)

# Instants (UTC) of clock changes in those zones, around which the instants below cluster.
DST_MOMENTS = (
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # New York forward
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # New York back
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Berlin forward
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Berlin back
    datetime(2026, 4, 4, 15, 0, tzinfo=UTC),  # Lord Howe back half an hour
    datetime(2026, 3, 8, 5, 0, tzinfo=UTC),  # Havana forward at midnight
    datetime(2026, 11, 1, 5, 0, tzinfo=UTC),  # Havana back at 01:00
    datetime(2018, 11, 4, 3, 0, tzinfo=UTC),  # Sao Paulo forward at midnight
    datetime(2018, 2, 18, 2, 0, tzinfo=UTC),  # Sao Paulo back to 23:00 the day before
)


def _wall(mark: int) -> str:
    """A quarter-hour mark of the day (0-96) as "HH:MM" (96 is "24:00")."""
    return f"{mark * 15 // 60:02d}:{mark * 15 % 60:02d}"


@st.composite
def day_shifts(draw: st.DrawFn) -> list[tuple[str, str]]:
    marks = sorted(draw(st.lists(st.integers(0, 96), unique=True, max_size=6)))
    if len(marks) % 2:
        marks = marks[:-1]
    return [(_wall(marks[i]), _wall(marks[i + 1])) for i in range(0, len(marks), 2)]


@st.composite
def calendars(draw: st.DrawFn, zones: tuple[str, ...] = ZONES) -> BusinessCalendar:
    hours = {day: draw(day_shifts()) for day in range(7)}
    assume(any(hours.values()))
    holidays = draw(st.frozensets(st.dates(date(2017, 12, 1), date(2027, 2, 1)), max_size=8))
    return BusinessCalendar(timezone=draw(st.sampled_from(zones)), hours=hours, holidays=holidays)


_near_changes = st.tuples(
    st.sampled_from(DST_MOMENTS), st.integers(-3 * 24 * 3600, 3 * 24 * 3600)
).map(lambda pair: pair[0] + timedelta(seconds=pair[1]))
_anywhere = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)
instants = st.one_of(_near_changes, _anywhere).flatmap(
    lambda at: st.sampled_from([at, at.astimezone(NEW_YORK), at.astimezone(BERLIN)])
)
durations = st.one_of(
    st.integers(0, 48 * 3600).map(lambda s: timedelta(seconds=s)),
    st.integers(0, 400 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us)),
)


def same(a: datetime, b: datetime) -> bool:
    """Same instant. (Python finds an ambiguous wall time unequal to any datetime in another
    zone, and equal to the other occurrence of that wall time in the same zone: PEP 495.)"""
    return a.astimezone(UTC) == b.astimezone(UTC)


class DayByDay(BusinessCalendar):
    """The same calendar counted day by day: no week is taken as a whole."""

    def _regular_week(self, day: date) -> bool:
        return False


def day_by_day(calendar: BusinessCalendar) -> DayByDay:
    return DayByDay(timezone=calendar.timezone, hours=calendar.hours, holidays=calendar.holidays)


# -- the examples the design fixes ----------------------------------------------------------


def test_friday_afternoon_plus_one_hour_is_monday_morning() -> None:
    calendar = BusinessCalendar.standard("America/New_York")
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=NEW_YORK)
    monday = calendar.add(friday, timedelta(hours=1))
    # The clocks went forward on the Sunday between: Monday is in EDT, still 09:30 local.
    assert monday == datetime(2026, 3, 9, 9, 30, tzinfo=NEW_YORK)
    assert monday.tzinfo is NEW_YORK
    assert calendar.between(friday, monday) == timedelta(hours=1)


def test_a_duration_that_ends_at_closing_time_ends_there() -> None:
    calendar = BusinessCalendar.standard("UTC")
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    assert calendar.add(friday, timedelta(hours=1)) == datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    assert not calendar.is_open(datetime(2026, 3, 6, 17, 0, tzinfo=UTC))
    assert calendar.next_open(datetime(2026, 3, 6, 17, 0, tzinfo=UTC)) == datetime(
        2026, 3, 9, 9, 0, tzinfo=UTC
    )


def test_results_come_back_in_the_calendars_zone() -> None:
    calendar = BusinessCalendar.standard("Europe/Berlin")
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    for result in (calendar.add(start, timedelta(hours=3)), calendar.next_open(start)):
        assert result.tzinfo is BERLIN
    assert calendar.add(start, timedelta()) == start
    assert calendar.add(start, timedelta()).tzinfo is BERLIN


def test_split_shifts_and_days_off() -> None:
    calendar = BusinessCalendar(
        timezone="Europe/Berlin",
        hours={"mon": ["08:00-12:00", "13:00-17:00"], "saturday": [("10:00", "14:00")]},
    )
    monday_noon = datetime(2026, 6, 1, 11, 30, tzinfo=BERLIN)
    assert calendar.add(monday_noon, timedelta(hours=1)) == datetime(
        2026, 6, 1, 13, 30, tzinfo=BERLIN
    )
    assert not calendar.is_open(datetime(2026, 6, 1, 12, 30, tzinfo=BERLIN))
    # Monday 17:00 -> Saturday 10:00 (Tuesday to Friday are days off).
    assert calendar.add(monday_noon, timedelta(hours=5)) == datetime(
        2026, 6, 6, 10, 30, tzinfo=BERLIN
    )
    assert calendar.weekly_hours == timedelta(hours=12)


# -- daylight saving ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        ("America/New_York", date(2026, 3, 8), timedelta(hours=3)),  # 02:00 -> 03:00
        ("America/New_York", date(2026, 11, 1), timedelta(hours=5)),  # 02:00 -> 01:00
        ("Europe/Berlin", date(2026, 3, 29), timedelta(hours=3)),  # 02:00 -> 03:00
        ("Europe/Berlin", date(2026, 10, 25), timedelta(hours=5)),  # 03:00 -> 02:00
    ],
)
def test_a_night_shift_is_counted_in_real_elapsed_time(
    zone: str, day: date, expected: timedelta
) -> None:
    calendar = BusinessCalendar(timezone=zone, hours={d: ["00:00-04:00"] for d in range(7)})
    start = datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(zone))
    assert calendar.between(start, start + timedelta(hours=12)) == expected
    assert calendar.add(start, expected) == datetime.combine(day, time(4, 0), tzinfo=ZoneInfo(zone))


def test_an_opening_time_in_the_gap_opens_when_the_clocks_jump() -> None:
    calendar = BusinessCalendar(timezone="Europe/Berlin", hours={6: ["02:30-05:00"]})
    sunday = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    opens = calendar.next_open(sunday)
    assert opens == datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)
    assert opens.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert calendar.between(sunday, sunday + timedelta(days=1)) == timedelta(hours=2)


def test_a_time_that_occurs_twice_means_its_first_occurrence() -> None:
    calendar = BusinessCalendar(timezone="America/New_York", hours={6: ["01:00-01:30"]})
    sunday = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)
    assert calendar.next_open(sunday).utcoffset() == timedelta(hours=-4)  # EDT, first pass
    assert calendar.between(sunday, sunday + timedelta(days=1)) == timedelta(minutes=30)
    second_pass = datetime(2026, 11, 1, 1, 10, fold=1, tzinfo=NEW_YORK)
    assert not calendar.is_open(second_pass)


def _first_reading(zone: ZoneInfo, day: date, wall: str) -> datetime:
    """Oracle for the DST rule: scan the minutes around ``day`` for the first instant whose
    local reading is ``wall`` or later ("24:00" is the next day's midnight)."""
    target = (
        datetime.combine(day + timedelta(days=1), time(0))
        if wall == "24:00"
        else datetime.combine(day, time.fromisoformat(wall))
    )
    at = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=16)
    while at.astimezone(zone).replace(tzinfo=None) < target:
        at += timedelta(minutes=15)
    return at


@given(calendar=calendars(), moment=st.sampled_from(DST_MOMENTS), shift_days=st.integers(-1, 1))
def test_each_day_counts_as_the_oracle_of_the_dst_rule_says(
    calendar: BusinessCalendar, moment: datetime, shift_days: int
) -> None:
    zone = calendar.timezone
    day = moment.astimezone(zone).date() + timedelta(days=shift_days)
    expected = timedelta()
    if not calendar.is_holiday(day):
        for opens, closes in (
            (str(s).split("-")[0], str(s).split("-")[1]) for s in calendar.shifts_on(day)
        ):
            length = _first_reading(zone, day, closes) - _first_reading(zone, day, opens)
            expected += max(length, timedelta())
    start, end = _first_reading(zone, day, "00:00"), _first_reading(zone, day, "24:00")
    assert calendar.between(start, end) == expected


@given(
    zone=st.sampled_from(["America/New_York", "Europe/Berlin"]), a=_near_changes, b=_near_changes
)
def test_around_the_clock_business_time_is_real_elapsed_time(
    zone: str, a: datetime, b: datetime
) -> None:
    calendar = BusinessCalendar.around_the_clock(zone)
    assert calendar.between(a, b) == b - a
    if b >= a:
        assert same(calendar.add(a, b - a), b)


# -- properties ------------------------------------------------------------------------------


@given(calendar=calendars(), start=instants, duration=durations)
def test_add_then_between_gives_the_duration_back(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    end = calendar.add(start, duration)
    assert end >= start
    assert end.tzinfo is calendar.timezone
    assert calendar.between(start, end) == duration
    assert calendar.between(end, start) == -duration


@given(calendar=calendars(), start=instants, duration=durations)
def test_results_are_inside_opening_hours_or_exactly_at_a_close(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    assume(duration > timedelta())
    end = calendar.add(start, duration)
    # The earliest instant with the whole duration counted: open, or the closing instant of
    # a period that was open the microsecond before.
    assert calendar.is_open(end) or calendar.is_open(end - timedelta(microseconds=1))
    assert calendar.between(start, end - timedelta(microseconds=1)) < duration


@given(calendar=calendars(), start=instants)
def test_next_open_is_idempotent_and_open(calendar: BusinessCalendar, start: datetime) -> None:
    opens = calendar.next_open(start)
    assert opens >= start
    assert calendar.is_open(opens)
    assert same(calendar.next_open(opens), opens)
    assert calendar.between(start, opens) == timedelta()
    assert calendar.is_open(start) == same(opens, start)


@given(calendar=calendars(), a=instants, b=instants, c=instants)
def test_between_adds_up(calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    assert calendar.between(a, c) == calendar.between(a, b) + calendar.between(b, c)


@given(calendar=calendars(), start=instants, duration=durations)
def test_skipping_whole_weeks_changes_nothing(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    slow = day_by_day(calendar)
    end = calendar.add(start, duration)
    assert same(slow.add(start, duration), end)
    later = start + duration * 3
    assert slow.between(start, later) == calendar.between(start, later)


@given(calendar=calendars(), start=instants, duration=durations)
def test_holidays_are_skipped(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    assume(duration > timedelta())
    end = calendar.add(start, duration)
    counted_from = calendar.next_open(start)
    assert not calendar.is_holiday(counted_from.date())
    closing = end - timedelta(microseconds=1)
    assert not calendar.is_holiday(closing.astimezone(calendar.timezone).date())


def test_a_holiday_is_closed_all_day() -> None:
    christmas = date(2026, 12, 25)  # a Friday
    calendar = BusinessCalendar.standard("Europe/Berlin", holidays={christmas})
    assert not calendar.is_open(datetime(2026, 12, 25, 10, 0, tzinfo=BERLIN))
    thursday = datetime(2026, 12, 24, 16, 0, tzinfo=BERLIN)
    assert calendar.add(thursday, timedelta(hours=2)) == datetime(
        2026, 12, 28, 10, 0, tzinfo=BERLIN
    )


# -- the holidays package ----------------------------------------------------------------------


def test_the_holidays_package_closes_public_holidays() -> None:
    holidays = pytest.importorskip("holidays")
    thursday = datetime(2026, 7, 2, 16, 30, tzinfo=NEW_YORK)  # Friday the 3rd is observed
    given_directly = BusinessCalendar.standard(
        "America/New_York", holidays=holidays.country_holidays("US", years=2026)
    )
    through_helper = BusinessCalendar.standard(
        "America/New_York", holidays=public_holidays("US", range(2026, 2027))
    )
    assert given_directly == through_helper
    for calendar in (given_directly, through_helper):
        assert calendar.add(thursday, timedelta(hours=1)) == datetime(
            2026, 7, 6, 9, 30, tzinfo=NEW_YORK
        )
    bavaria = public_holidays("DE", 2026, subdiv="BY")
    assert date(2026, 1, 6) in bavaria  # Epiphany, Bavarian only
    assert date(2026, 1, 6) not in public_holidays("DE", 2026, subdiv="BE")


def test_an_unknown_country_is_a_config_error() -> None:
    pytest.importorskip("holidays")
    with pytest.raises(ConfigError, match="XX"):
        public_holidays("XX", 2026)


# -- long durations ------------------------------------------------------------------------------


def test_a_thousand_business_hours_take_whole_week_steps() -> None:
    calendar = BusinessCalendar.standard("America/New_York")
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=NEW_YORK)
    started = clock.perf_counter()
    end = calendar.add(friday, timedelta(hours=1000))
    elapsed = clock.perf_counter() - started
    assert end == datetime(2026, 8, 28, 16, 30, tzinfo=NEW_YORK)  # 25 weeks of 40 hours
    assert calendar.between(friday, end) == timedelta(hours=1000)
    assert elapsed < 0.5  # about a millisecond; generous for a loaded machine
    far = calendar.add(friday, timedelta(hours=40 * 52 * 20))  # twenty years
    assert calendar.between(friday, far) == timedelta(hours=40 * 52 * 20)


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"mon": [("17:00", "09:00")]}, "closes at 09:00, which is not after it opens at 17:00"),
        ({"mon": ["09:00-09:00"]}, "not after"),
        ({"tue": ["09:00-13:00", "12:00-17:00"]}, "tuesday shifts 09:00-13:00 and 12:00-17:00"),
        ({"mon": [("9am", "17:00")]}, "'9am'"),
        ({"mon": [("09:00", "25:00")]}, "'25:00'"),
        ({"mon": [("24:00", "24:00")]}, "opening time"),
        ({"funday": ["09:00-17:00"]}, "'funday'"),
        ({0: ["09:00-17:00"], "monday": ["10:00-11:00"]}, "monday are given twice"),
        ({"mon": ["09:00-12:00-17:00"]}, "HH:MM-HH:MM"),
        ({}, "no opening hours"),
        ({"sun": []}, "no opening hours"),
    ],
)
def test_bad_hours_are_config_errors_naming_the_problem(hours: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        BusinessCalendar(timezone="UTC", hours=hours)


def test_bad_zones_and_holidays_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        BusinessCalendar.standard("Mars/Olympus")
    with pytest.raises(ConfigError, match=r"datetime\.date"):
        BusinessCalendar.standard("UTC", holidays=[datetime(2026, 12, 25, tzinfo=UTC)])
    with pytest.raises(ConfigError, match="not after"):
        BusinessCalendar.standard("UTC", open="17:00", close="09:00")


def test_touching_shifts_are_fine() -> None:
    calendar = BusinessCalendar(timezone="UTC", hours={"mon": ["09:00-12:00", "12:00-24:00"]})
    assert calendar.weekly_hours == timedelta(hours=15)
    monday = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
    assert calendar.add(monday, timedelta(hours=2)) == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    calendar = BusinessCalendar.standard("UTC")
    naive = datetime(2026, 6, 1, 10, 0)
    aware = naive.replace(tzinfo=UTC)
    for call in (
        lambda: calendar.is_open(naive),
        lambda: calendar.next_open(naive),
        lambda: calendar.add(naive, timedelta(hours=1)),
        lambda: calendar.between(naive, aware),
        lambda: calendar.between(aware, naive),
    ):
        with pytest.raises(ValidationError, match="timezone-aware"):
            call()


def test_negative_durations_are_refused() -> None:
    calendar = BusinessCalendar.standard("UTC")
    with pytest.raises(ValidationError, match="0 or more"):
        calendar.add(datetime(2026, 6, 1, tzinfo=UTC), timedelta(hours=-1))
    with pytest.raises(ValidationError, match="year 9999"):
        calendar.add(datetime(9999, 12, 1, tzinfo=UTC), timedelta(days=30))


def test_the_clock_change_cache_gives_one_answer_from_many_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from serviceplaybook._policies.calendar import _steady_offset

    zone = ZoneInfo("Europe/Berlin")
    days = [date(2025, 3, 20) + timedelta(days=n) for n in range(16)]  # around the spring change
    _steady_offset.cache_clear()
    expected = [_steady_offset.__wrapped__(zone, day) for day in days]
    _steady_offset.cache_clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: _steady_offset(zone, days[i % 16]), range(256)))
    assert answers == [expected[i % 16] for i in range(256)]
    assert False in expected
    assert True in expected


class ClosedOnMondays(BusinessCalendar):
    """A subclass rule: closed every Monday, whatever the hours say."""

    def shifts_on(self, day: date) -> tuple[Shift, ...]:
        return () if day.weekday() == 0 else super().shifts_on(day)


class ClosedOnMondaysDayByDay(ClosedOnMondays, DayByDay):
    pass


def test_an_overridden_rule_takes_effect_over_long_durations() -> None:
    standard = BusinessCalendar.standard("America/New_York")
    custom = ClosedOnMondays(timezone=standard.timezone, hours=standard.hours)
    slow = ClosedOnMondaysDayByDay(timezone=standard.timezone, hours=standard.hours)
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=NEW_YORK)
    end = custom.add(friday, timedelta(hours=1000))
    assert end == slow.add(friday, timedelta(hours=1000))
    assert end > standard.add(friday, timedelta(hours=1000))  # 32 hours a week, not 40
    assert custom.between(friday, end) == timedelta(hours=1000)
    monday = datetime(2026, 6, 1, tzinfo=NEW_YORK)
    assert custom.between(monday, monday + timedelta(days=1)) == timedelta()
