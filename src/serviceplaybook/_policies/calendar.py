"""Business time: opening hours in a time zone, holidays, and arithmetic in business time.

A :class:`BusinessCalendar` says when a support team is open (shifts per weekday in a
``zoneinfo`` time zone, split shifts and days off allowed, holidays closed) and counts time
the way service levels are promised: ``add(t, duration)`` finds when ``duration`` of open
time has passed after ``t``, ``between(a, b)`` measures the open time between two instants.

The daylight-saving rule: opening and closing times are wall-clock times, and each one means
*the first instant at which the local clock reads that time or later*. A time that occurs
twice (the clocks go back) means its first occurrence; a time that does not exist (the clocks
go forward) means the instant the clocks jump. A shift is then counted in real elapsed time
between those two instants: a 00:00-04:00 shift lasts 3 hours on the night the clocks go
forward and 5 hours on the night they go back.

The optional ``holidays`` package (``python3 -m pip install holidays``, or the ``holidays``
extra of a checkout) provides public holidays per country; :func:`public_holidays` wraps it,
and any iterable of dates (a ``holidays.HolidayBase`` included) is accepted as ``holidays=``.
This module never imports it unless :func:`public_holidays` is called.
"""

from __future__ import annotations

import functools
import itertools
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import attrs

from serviceplaybook._errors import ConfigError, ValidationError
from serviceplaybook._records.validate import require_aware

_ONE_DAY = timedelta(days=1)
_ONE_WEEK = timedelta(days=7)
_MIDNIGHT = time(0, 0)
_END_OF_DAY = "24:00"
_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""Weekday names, Monday first (index = ``date.weekday()``)."""


# -- configuration parsing ----------------------------------------------------------------


def parse_time(value: object, what: str, *, allow_end_of_day: bool) -> time | None:
    """A wall-clock time from ``"HH:MM"`` or a ``datetime.time``; ``None`` for ``"24:00"``."""
    if value is None and allow_end_of_day:
        return None
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ConfigError(
                f"{what} must be a wall-clock time without a tzinfo (the calendar's time "
                f"zone applies), got {value.isoformat()}"
            )
        return value
    if isinstance(value, str):
        text = value.strip()
        if allow_end_of_day and text == _END_OF_DAY:
            return None
        match = _HH_MM.fullmatch(text)
        if match:
            return time(int(match.group(1)), int(match.group(2)))
    allowed = '"HH:MM" from "00:00" to "23:59"' + (
        ' or "24:00" (midnight at the end of the day)' if allow_end_of_day else ""
    )
    raise ConfigError(f"{what} must be {allowed} or a datetime.time, got {value!r}")


def _opening(value: object) -> time:
    opens = parse_time(value, "Shift.opens", allow_end_of_day=False)
    assert opens is not None  # "24:00" is refused as an opening time
    return opens


def _closing(value: object) -> time | None:
    return parse_time(value, "Shift.closes", allow_end_of_day=True)


def _minutes(value: time | None) -> float:
    """Position in the day, for ordering and overlap checks (``None`` is 24:00)."""
    if value is None:
        return 24 * 60.0
    return value.hour * 60 + value.minute + (value.second + value.microsecond / 1e6) / 60


def _show(value: time | None) -> str:
    if value is None:
        return _END_OF_DAY
    return value.strftime("%H:%M:%S" if value.second or value.microsecond else "%H:%M")


@attrs.frozen(kw_only=True)
class Shift:
    """One opening period within a day, in wall-clock time.

    Attributes:
        opens: when it opens (local wall-clock time; ``"HH:MM"`` is converted).
        closes: when it closes; ``None`` (or ``"24:00"``) means midnight at the end of the day.

    Raises:
        ConfigError: for a bad ``"HH:MM"``, or a shift that closes before (or when) it opens.
    """

    opens: time = attrs.field(converter=_opening)
    closes: time | None = attrs.field(converter=_closing)

    @classmethod
    def parse(cls, value: object, what: str = "shift") -> Shift:
        """Build a shift from ``("09:00", "17:00")``, ``"09:00-17:00"`` or a :class:`Shift`.

        Args:
            value: the shift as written in a configuration.
            what: how to name it in an error message.

        Raises:
            ConfigError: naming ``what`` and the value when it cannot be a shift.
        """
        if isinstance(value, Shift):
            return value
        if isinstance(value, str):
            parts = value.split("-")
            if len(parts) != 2:
                raise ConfigError(
                    f'{what} must be written "HH:MM-HH:MM" (for example "09:00-17:00"), '
                    f"got {value!r}"
                )
            opens_raw, closes_raw = parts[0], parts[1]
        elif isinstance(value, tuple | list) and len(value) == 2:
            opens_raw, closes_raw = value[0], value[1]
        else:
            raise ConfigError(
                f'{what} must be an (opens, closes) pair such as ("09:00", "17:00") or a '
                f'string "09:00-17:00", got {value!r}'
            )
        opens = parse_time(opens_raw, f"{what} opening time", allow_end_of_day=False)
        closes = parse_time(closes_raw, f"{what} closing time", allow_end_of_day=True)
        return cls(opens=opens, closes=closes)

    def __attrs_post_init__(self) -> None:
        if _minutes(self.closes) <= _minutes(self.opens):
            raise ConfigError(
                f"shift {self} closes at {_show(self.closes)}, which is not after it opens at "
                f"{_show(self.opens)}; a shift past midnight is two shifts, one ending at "
                f'"24:00" and one starting at "00:00" the next day'
            )

    @property
    def nominal(self) -> timedelta:
        """Its length on the wall clock (the real length differs on a daylight-saving day)."""
        end = timedelta(days=1) if self.closes is None else _as_delta(self.closes)
        return end - _as_delta(self.opens)

    def __str__(self) -> str:
        return f"{_show(self.opens)}-{_show(self.closes)}"


def _as_delta(value: time) -> timedelta:
    return timedelta(
        hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
    )


def _weekday(key: object) -> int:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return key
    if isinstance(key, str):
        name = key.strip().lower()
        for index, day in enumerate(WEEKDAYS):
            if name in (day, day[:3]):
                return index
    raise ConfigError(
        f"opening hours are keyed by weekday: 0 (Monday) to 6 (Sunday) or a name such as "
        f"'monday' or 'mon', got {key!r}"
    )


def _hours(value: object) -> tuple[tuple[Shift, ...], ...]:
    """Normalize ``{weekday: shifts}`` to seven sorted, non-overlapping tuples of shifts."""
    if isinstance(value, tuple) and len(value) == 7 and all(isinstance(d, tuple) for d in value):
        # Already normalized (attrs.evolve passes the stored value back through here).
        items: Iterable[tuple[object, object]] = enumerate(value)
    elif isinstance(value, Mapping):
        items = value.items()
    else:
        raise ConfigError(
            f"BusinessCalendar.hours must be a mapping of weekday to shifts, such as "
            f'{{"mon": [("09:00", "17:00")]}}, got {value!r}'
        )
    days: list[tuple[Shift, ...] | None] = [None] * 7
    for key, shifts in items:
        index = _weekday(key)
        name = WEEKDAYS[index]
        if days[index] is not None:
            raise ConfigError(f"opening hours for {name} are given twice")
        if isinstance(shifts, str | Shift):
            shifts = [shifts]
        if not isinstance(shifts, Iterable):
            raise ConfigError(f"opening hours for {name} must be a list of shifts, got {shifts!r}")
        parsed = sorted(
            (Shift.parse(shift, f"{name} shift") for shift in shifts),
            key=lambda shift: _minutes(shift.opens),
        )
        for earlier, later in itertools.pairwise(parsed):
            if _minutes(later.opens) < _minutes(earlier.closes):
                raise ConfigError(
                    f"{name} shifts {earlier} and {later} overlap; shifts of one day must "
                    f"follow each other (they may touch)"
                )
        days[index] = tuple(parsed)
    return tuple(day or () for day in days)


def _zone(value: object) -> zoneinfo.ZoneInfo:
    if isinstance(value, zoneinfo.ZoneInfo):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    raise ConfigError(
        f"BusinessCalendar.timezone must be an IANA time-zone name such as 'Europe/Berlin' or "
        f"'America/New_York' (or a zoneinfo.ZoneInfo), got {value!r}"
    )


def _holidays(value: object) -> frozenset[date]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigError(
            f"BusinessCalendar.holidays must be a collection of dates (or a holidays.HolidayBase), "
            f"got {value!r}"
        )
    days: set[date] = set()
    for day in value:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ConfigError(
                f"BusinessCalendar.holidays must hold datetime.date values (whole local days), "
                f"got {day!r}"
            )
        days.add(day)
    return frozenset(days)


# -- the calendar -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BusinessCalendar:
    """When a team is open, and arithmetic in open ("business") time.

    Build one with :meth:`standard` (Monday to Friday, one shift) or directly::

        BusinessCalendar(
            timezone="Europe/Berlin",
            hours={"mon": ["08:00-12:00", "13:00-17:00"], "sat": [("10:00", "14:00")]},
            holidays={date(2026, 12, 25)},
        )

    Opening periods are half-open: open at the opening instant, closed at the closing
    instant. Every method takes timezone-aware datetimes (naive ones raise
    :class:`ValidationError`) and returns them in the calendar's zone. See the module
    docstring for the daylight-saving rule.

    The calendar is an immutable value: share it freely. To change a rule, subclass it and
    override :meth:`shifts_on` (the open periods of one local date).

    Attributes:
        timezone: the zone the opening hours are written in (an IANA name is converted).
        hours: shifts per weekday, Monday (0) first; a day without shifts is closed. Given as
            a mapping of weekday (0-6, ``"monday"`` or ``"mon"``) to shifts
            (``("09:00", "17:00")``, ``"09:00-17:00"``; ``"24:00"`` closes at midnight).
        holidays: local dates on which the team is closed all day.

    Raises:
        ConfigError: for an unknown zone, a bad time, a shift that closes before it opens,
            overlapping shifts, a holiday that is not a date, or no opening hours at all.
    """

    timezone: zoneinfo.ZoneInfo = attrs.field(converter=_zone)
    hours: tuple[tuple[Shift, ...], ...] = attrs.field(converter=_hours)
    holidays: frozenset[date] = attrs.field(default=frozenset(), converter=_holidays, repr=False)
    _week: timedelta = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        week = sum((shift.nominal for day in self.hours for shift in day), timedelta())
        if not week:
            raise ConfigError(
                "BusinessCalendar has no opening hours on any weekday; give at least one shift"
            )
        object.__setattr__(self, "_week", week)

    @classmethod
    def standard(
        cls,
        timezone: str | zoneinfo.ZoneInfo,
        open: str | time = "09:00",
        close: str | time = "17:00",
        holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Monday to Friday, one shift a day.

        Args:
            timezone: IANA name (``"America/New_York"``) or a ``ZoneInfo``.
            open: opening time, ``"HH:MM"``.
            close: closing time, ``"HH:MM"`` (``"24:00"`` for midnight).
            holidays: dates closed all day, e.g. :func:`public_holidays` or
                ``holidays.country_holidays("US", years=range(2025, 2031))``.

        Raises:
            ConfigError: for a bad zone or time, or a close not after the open.
        """
        shift = Shift.parse((open, close), "standard shift")
        return cls(timezone=timezone, hours={day: [shift] for day in range(5)}, holidays=holidays)

    @classmethod
    def around_the_clock(
        cls, timezone: str | zoneinfo.ZoneInfo = "UTC", holidays: Iterable[date] = ()
    ) -> BusinessCalendar:
        """Open every day, all day (business time is then real elapsed time).

        Args:
            timezone: the zone holidays are local to.
            holidays: dates closed all day.
        """
        return cls(
            timezone=timezone,
            hours={day: [(_MIDNIGHT, _END_OF_DAY)] for day in range(7)},
            holidays=holidays,
        )

    @property
    def weekly_hours(self) -> timedelta:
        """Open time in a week without holidays or clock changes."""
        return self._week

    # -- the rules (override to change them) -------------------------------------------

    def is_holiday(self, day: date) -> bool:
        """True when ``day`` (a local date) is closed all day.

        Args:
            day: the local date.
        """
        return day in self.holidays

    def shifts_on(self, day: date) -> tuple[Shift, ...]:
        """The shifts of one local date: its weekday's, or none on a holiday.

        Args:
            day: the local date.
        """
        if self.is_holiday(day):
            return ()
        return self.hours[day.weekday()]

    # -- queries -----------------------------------------------------------------------

    def is_open(self, t: datetime) -> bool:
        """True when ``t`` falls inside an opening period (closed at the closing instant).

        Args:
            t: a timezone-aware datetime.

        Raises:
            ValidationError: for a naive datetime.
        """
        at = self._utc(t, "BusinessCalendar.is_open(t)")
        for start, end in self._periods_from(at):
            if start > at:
                return False
            if start <= at < end:
                return True
        raise AssertionError("unreachable: periods never run out")  # pragma: no cover

    def next_open(self, t: datetime) -> datetime:
        """``t`` itself if the team is open then, else the next opening instant.

        Idempotent: ``next_open(next_open(t)) == next_open(t)``.

        Args:
            t: a timezone-aware datetime.

        Returns:
            An aware datetime in the calendar's zone.

        Raises:
            ValidationError: for a naive datetime.
        """
        at = self._utc(t, "BusinessCalendar.next_open(t)")
        for start, end in self._periods_from(at):
            if end > at:
                return self._local(max(start, at))
        raise AssertionError("unreachable: periods never run out")  # pragma: no cover

    def add(self, t: datetime, business_duration: timedelta) -> datetime:
        """The earliest instant at which ``business_duration`` of open time has passed since
        ``t``.

        Friday 16:30 plus one hour on a Monday-Friday 09:00-17:00 calendar is Monday 09:30;
        Friday 16:00 plus one hour is Friday 17:00 (the closing instant, not Monday 09:00).
        A positive duration always ends inside an opening period or exactly at a closing
        instant; a zero duration returns ``t`` (in the calendar's zone) unchanged.

        Whole weeks without holidays or clock changes are skipped in one step, so long
        durations cost one step per week, not per day or per minute.

        Args:
            t: where to start, timezone-aware.
            business_duration: how much open time to add (0 or more).

        Returns:
            An aware datetime in the calendar's zone.

        Raises:
            ValidationError: for a naive ``t``, a negative or non-timedelta duration, or a
                result past the year 9999.
        """
        at = self._utc(t, "BusinessCalendar.add(t)")
        if not isinstance(business_duration, timedelta):
            raise ValidationError(
                f"BusinessCalendar.add(business_duration) must be a timedelta, "
                f"got {type(business_duration).__name__}"
            )
        if business_duration < timedelta():
            raise ValidationError(
                f"BusinessCalendar.add(business_duration) must be 0 or more, got "
                f"{business_duration}; to go back in business time, measure with between()"
            )
        if not business_duration:
            return self._local(at)
        remaining = business_duration
        try:
            day = self._first_day(at)
            # The first days may hold ``at`` itself (or, around a fold at midnight, straddle
            # it): count them period by period. Later days start after ``at``.
            for _ in range(3):
                for start, end in self._periods_on(day):
                    if end <= at:
                        continue
                    start = max(start, at)
                    if remaining <= end - start:
                        return self._local(start + remaining)
                    remaining -= end - start
                day += _ONE_DAY
            while True:
                # ``>`` keeps the last partial week on the exact path, so the result is
                # always computed from a real period.
                if remaining > self._week and self._regular_week(day):
                    remaining -= self._week
                    day += _ONE_WEEK
                    continue
                for start, end in self._periods_on(day):
                    if remaining <= end - start:
                        return self._local(start + remaining)
                    remaining -= end - start
                day += _ONE_DAY
        except OverflowError:
            raise ValidationError(
                f"BusinessCalendar.add: {business_duration} of business time after "
                f"{t.isoformat()} ends past the year 9999"
            ) from None

    def between(self, a: datetime, b: datetime) -> timedelta:
        """The open time between ``a`` and ``b``; negative when ``b`` is before ``a``.

        ``between(t, add(t, d)) == d`` for every ``d >= 0``.

        Args:
            a: start, timezone-aware.
            b: end, timezone-aware.

        Raises:
            ValidationError: for a naive datetime.
        """
        start_at = self._utc(a, "BusinessCalendar.between(a)")
        end_at = self._utc(b, "BusinessCalendar.between(b)")
        if end_at < start_at:
            return -self.between(b, a)
        total = timedelta()
        day = self._first_day(start_at)
        while True:
            if (
                self._regular_week(day)
                and self._midnight(day) >= start_at
                and self._midnight(day + _ONE_WEEK) <= end_at
            ):
                total += self._week
                day += _ONE_WEEK
                continue
            for start, end in self._periods_on(day):
                if start >= end_at:
                    return total
                overlap = min(end, end_at) - max(start, start_at)
                if overlap > timedelta():
                    total += overlap
            if self._midnight(day + _ONE_DAY) >= end_at:
                return total
            day += _ONE_DAY

    # -- internals -------------------------------------------------------------------------

    def _utc(self, value: datetime, what: str) -> datetime:
        return require_aware(value, what).astimezone(UTC)

    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self.timezone)

    def _first_day(self, at: datetime) -> date:
        # One day early: when the clocks go back across midnight, an instant shown on date D
        # can lie after the start of D + 1, and periods of D - 1 can still be ahead of it.
        return at.astimezone(self.timezone).date() - _ONE_DAY

    def _instant(self, day: date, wall: time | None) -> datetime:
        """The first instant (UTC) at which the local clock reads ``wall`` on ``day`` or
        later (``None`` is 24:00, the next day's midnight)."""
        if wall is None:
            day, wall = day + _ONE_DAY, _MIDNIGHT
        return _first_instant(self.timezone, datetime.combine(day, wall))

    def _midnight(self, day: date) -> datetime:
        return self._instant(day, _MIDNIGHT)

    def _periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        periods = []
        for shift in self.shifts_on(day):
            start = self._instant(day, shift.opens)
            end = self._instant(day, shift.closes)
            if end > start:  # a shift inside a daylight-saving gap has no length
                periods.append((start, end))
        return periods

    def _periods_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Every opening period that ends after ``at``, in order, without end."""
        day = self._first_day(at)
        while True:
            for start, end in self._periods_on(day):
                if end > at:
                    yield start, end
            day += _ONE_DAY

    def _regular_week(self, day: date) -> bool:
        """True when the seven days from ``day`` have their weekdays' shifts (no holiday, no
        other rule changes them) and no clock change, so their open time is exactly
        :attr:`weekly_hours`.

        It asks :meth:`shifts_on` for each day, so a subclass's rules take effect here as
        everywhere; a week it changes is counted day by day. The tz database never changes a
        zone's offset twice within a day (since 1970 changes are at least six days apart), so
        equal offsets at all eight midnights (both folds) mean no change in the week.
        """
        for n in range(7):
            current = day + timedelta(days=n)
            if self.shifts_on(current) != self.hours[current.weekday()]:
                return False
        return _steady_offset(self.timezone, day)


@functools.lru_cache(maxsize=4096)
def _steady_offset(zone: zoneinfo.ZoneInfo, day: date) -> bool:
    offset = zone.utcoffset(datetime(day.year, day.month, day.day))
    for n in range(8):
        midnight = day + timedelta(days=n)
        for fold in (0, 1):
            wall = datetime(midnight.year, midnight.month, midnight.day, fold=fold)
            if zone.utcoffset(wall) != offset:
                return False
    return True


def _first_instant(zone: zoneinfo.ZoneInfo, wall: datetime) -> datetime:
    """The first instant (UTC) at which the clock in ``zone`` reads ``wall`` or later.

    For a wall time that exists, that is its first occurrence (``fold=0``). For one inside a
    gap (the clocks went forward), it is the instant of the jump, found by bisection between
    the two readings PEP 495 gives the imaginary time.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(first, other), max(first, other)
    # Invariant: the clock reads before ``wall`` at ``low`` and at or after it at ``high``.
    while high - low > timedelta(microseconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def public_holidays(
    country: str, years: Iterable[int] | int, *, subdiv: str | None = None, **options: Any
) -> frozenset[date]:
    """Public holidays of a country (and region) from the ``holidays`` package.

    Needs the ``holidays`` package (``python3 -m pip install holidays``, or the ``holidays``
    extra of a checkout). Pass the years the calendar will be used for: dates outside them
    are not holidays.

    Args:
        country: ISO 3166-1 alpha-2 code, e.g. ``"US"`` or ``"DE"``.
        years: the years to cover.
        subdiv: a state or region code, e.g. ``"CA"`` or ``"BY"``.
        **options: passed on to ``holidays.country_holidays`` (``language``, ``categories``).

    Returns:
        The holiday dates, ready for ``BusinessCalendar(..., holidays=...)``.

    Raises:
        ConfigError: when the package is missing, or the country or region is unknown.
    """
    try:
        import holidays as holidays_package
    except ImportError:
        raise ConfigError(
            "public_holidays() needs the 'holidays' package: python3 -m pip install holidays "
            "(or, in a serviceplaybook checkout, python3 -m pip install '.[holidays]')"
        ) from None
    year_list = [years] if isinstance(years, int) else list(years)
    try:
        found = holidays_package.country_holidays(
            country, subdiv=subdiv, years=year_list, **options
        )
    except NotImplementedError as error:
        raise ConfigError(f"no public holidays known for {country!r}: {error}") from None
    return frozenset(found.keys())
