"""Business time for many intervals at once, exactly as the calendar counts it.

A report measures two intervals per conversation, hundreds of thousands on a big journal;
``BusinessCalendar.between`` walks the days of each one. Business time is a measure (the open
time inside an interval), so it is additive: ``between(a, c) == between(a, b) +
between(b, c)``. :class:`BusinessClock` uses that to ask the calendar once per UTC day (its
total, and where its open periods lie, through ``between`` and ``next_open``), then answers
each interval from that table: the same microseconds as ``between``, holidays, split shifts,
daylight-saving changes and a subclass's ``shifts_on`` included, since only the calendar's own
public methods are asked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from serviceplaybook._policies.calendar import BusinessCalendar

_DAY = timedelta(days=1)
_ZERO = timedelta()
_TICK = timedelta(microseconds=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class BusinessClock:
    """``calendar``'s business time between instants, from a table of UTC days built on
    first use of each stretch of days."""

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self._first: int | None = None  # the table's first UTC day, as an ordinal
        # business time from the first day's midnight to each day's midnight, and each day's
        # open periods (UTC), for the days from ``_first`` on
        self._before: list[timedelta] = []
        self._periods: list[list[tuple[datetime, datetime]]] = []

    def prepare(self, instants: list[datetime]) -> None:
        """Build the table for the span of ``instants`` at once, so that it is never rebuilt
        for an earlier day."""
        if instants:
            first = min(instants).astimezone(UTC).toordinal()
            self._cover(first, max(instants).astimezone(UTC).toordinal())

    def between(self, a: datetime, b: datetime) -> timedelta:
        """The open time between ``a`` and ``b`` (negative when ``b`` is before ``a``), as
        ``calendar.between(a, b)`` gives it."""
        start, end = a.astimezone(UTC), b.astimezone(UTC)
        first, last = start.toordinal(), end.toordinal()
        if first > last:
            first, last = last, first
        if self._first is None or first < self._first or last >= self._first + len(self._periods):
            self._cover(first, last)
        return self._since_first(end) - self._since_first(start)

    def positions(self, instants: list[datetime | None]) -> list[timedelta | None]:
        """Business time from a fixed origin to each instant (``None`` stays ``None``): the
        business time between two instants is the difference of their positions."""
        known = [t.astimezone(UTC) for t in instants if t is not None]
        self.prepare(known)
        since = self._since_first
        return [None if t is None else since(t.astimezone(UTC)) for t in instants]

    def _since_first(self, at: datetime) -> timedelta:
        assert self._first is not None
        index = at.toordinal() - self._first
        inside = _ZERO
        for start, end in self._periods[index]:
            if start >= at:
                break
            inside += min(end, at) - start
        return self._before[index] + inside

    def _cover(self, first: int, last: int) -> None:
        """Make the table hold the days ``first`` to ``last`` (proleptic ordinals)."""
        if self._first is None or first < self._first:
            # start the table at this earlier day: rebuilt once, it only grows afterwards
            if self._first is not None:
                last = max(last, self._first + len(self._periods) - 1)
            self._first, self._before, self._periods = first, [], []
        while self._first + len(self._periods) <= last:
            current = date.fromordinal(self._first + len(self._periods))
            before = _ZERO
            if self._periods:
                before = self._before[-1] + sum(
                    (end - start for start, end in self._periods[-1]), _ZERO
                )
            self._before.append(before)
            self._periods.append(self._open_periods(_midnight(current), _midnight(current + _DAY)))

    def _open_periods(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open periods inside ``[start, end)``, from the calendar's answers."""
        calendar = self.calendar
        periods: list[tuple[datetime, datetime]] = []
        left = calendar.between(start, end)
        cursor = start
        while left > _ZERO:
            opens = calendar.next_open(cursor).astimezone(UTC)
            rest = calendar.between(opens, end)  # all the open time left in the day
            if calendar.between(opens, opens + rest) == rest:
                length = rest  # one period runs on to the day's last open instant
            else:
                length = self._open_run(opens, rest)
            periods.append((opens, opens + length))
            left -= length
            cursor = opens + length
        return periods

    def _open_run(self, opens: datetime, most: timedelta) -> timedelta:
        """How long the calendar stays open from ``opens`` (less than ``most``): the longest
        run that is open all through, found by halving (split shifts only)."""
        low, high = _ZERO, most  # open all through ``low``; not all through ``high``
        while high - low > _TICK:
            middle = low + (high - low) // 2
            if self.calendar.between(opens, opens + middle) == middle:
                low = middle
            else:
                high = middle
        return low
