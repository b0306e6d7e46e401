"""The value formats of a playbook file: one parser per kind of value.

Each parser takes the value TOML gave and returns it converted (``"90m"`` to a
``timedelta``, ``"50.00"`` to :class:`~serviceplaybook.Money`...) or raises
:class:`~serviceplaybook._playbook_file.problems.Bad` with a message that says what is allowed;
the reader records that message at the value's key path. Parsers that need a setting (a
minimum, a currency) are made by a function of that setting. ``docs/playbook-file.md`` is the
reference for every format.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from serviceplaybook._errors import ConfigError, ValidationError, WrongType
from serviceplaybook._playbook import SAME
from serviceplaybook._playbook_file.problems import Bad, article, kind, suggest
from serviceplaybook._policies.calendar import WEEKDAYS, Shift, parse_time
from serviceplaybook._records import facts
from serviceplaybook._records.enums import Choice
from serviceplaybook._records.issue import Severity
from serviceplaybook._records.money import CURRENCY_MINOR_UNITS, Money
from serviceplaybook._records.offers import OfferKind
from serviceplaybook._records.parties import Channel, Role
from serviceplaybook._records.reasons import Guidance, Reason
from serviceplaybook._records.validate import SNAKE_CASE, normal_name

# -- numbers, text, booleans ----------------------------------------------------------------------


def integer(minimum: int, maximum: int | None = None) -> Callable[[Any], int]:
    """A whole number of ``minimum`` or more (and at most ``maximum``, when given)."""
    allowed = f"of {minimum} or more" if maximum is None else f"from {minimum} to {maximum}"

    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Bad(f"must be a whole number {allowed}, got {kind(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            raise Bad(f"must be a whole number {allowed}, got {value}")
        return value

    return parse


def number(low: float, high: float, *, open_range: bool = False) -> Callable[[Any], float]:
    """A number from ``low`` to ``high`` (strictly between them with ``open_range``)."""

    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Bad(f"must be a number from {low} to {high}, got {kind(value)}")
        inside = low < value < high if open_range else low <= value <= high
        if not inside:
            bounds = "strictly between" if open_range else "from"
            joiner = "and" if open_range else "to"
            raise Bad(f"must be a number {bounds} {low} {joiner} {high}, got {value!r}")
        return value

    return parse


def text(value: Any) -> str:
    """A string that is not blank."""
    if not isinstance(value, str):
        raise Bad(f"must be a string, got {kind(value)}")
    if not value.strip():
        raise Bad("must not be empty")
    return value


def boolean(value: Any) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise Bad(f"must be true or false, got {kind(value)}")
    return value


def key_name(value: str) -> str:
    """A table key used as a name (a template, a family, a tier): not blank."""
    if not value.strip():
        raise Bad("a name must not be empty")
    return value


def name(value: Any) -> str:
    """A name the host writes freely (a customer tier, an issue category), kept as the records
    and policies keep it: without surrounding spaces or letter case (``"VIP"`` is ``"vip"``)."""
    try:
        return normal_name(value, "a name")
    except WrongType:
        raise Bad(f"must be a string, got {kind(value)}") from None
    except ValidationError as error:
        raise Bad(str(error)) from None


def pattern(value: Any) -> str:
    """A regular expression, as a string that compiles."""
    found = text(value)
    try:
        re.compile(found)
    except re.error as error:
        raise Bad(f"{value!r} is not a valid regular expression ({error})") from None
    return found


# -- durations and times --------------------------------------------------------------------------

_DURATION = re.compile(
    r"^(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?$"
)
_DURATION_HELP = 'a string with units such as "90m", "36h", "2d" or "1d 12h"'


def duration(
    *, positive: bool = True, business: bool = False, longest: timedelta | None = None
) -> Callable[[Any], timedelta]:
    """A duration with units, ``"1d 12h"``; ``business`` durations (SLA) refuse days; none is
    longer than ``longest`` (when given) or than ``timedelta`` can hold."""

    def parse(value: Any) -> timedelta:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise Bad(f"durations need a unit: write {_DURATION_HELP}, got the number {value!r}")
        if not isinstance(value, str):
            raise Bad(f"must be a duration, {_DURATION_HELP}; got {kind(value)}")
        written = value.strip().lower()
        match = _DURATION.fullmatch(written)
        if not written or match is None or not any(match.groupdict().values()):
            raise Bad(f"{value!r} is not a duration; write {_DURATION_HELP}")
        parts = {unit: int(amount or 0) for unit, amount in match.groupdict().items()}
        if business and match.group("d"):
            raise Bad(
                f"{value!r}: SLA durations are business time, so write hours (for example "
                f'"{parts["d"] * 24 + parts["h"]}h"); a day here would mean 24 business hours, '
                f"three working days of 8 hours"
            )
        try:
            delta = timedelta(
                days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"]
            )
        except OverflowError:
            raise Bad(f"{value!r} is longer than any duration can be") from None
        if positive and delta <= timedelta(0):
            raise Bad(f"must be longer than zero, got {value!r}")
        if longest is not None and delta > longest:
            raise Bad(f"must be at most {longest}, got {value!r}")
        return delta

    return parse


NO_TARGET = "none"


def target(value: Any) -> timedelta | None:
    """An SLA target: a business duration, or ``"none"`` for no target."""
    if value == NO_TARGET:
        return None
    try:
        return duration(business=True)(value)
    except Bad as bad:
        raise Bad(f'{bad} (or "none" for no target)') from None


def show_duration(value: timedelta) -> str:
    """A business duration as a message shows it: ``"12h 30m"``."""
    hours, rest = divmod(int(value.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{seconds}s" if seconds else "",
    ]
    return " ".join(part for part in parts if part) or "0m"


def time_of_day(*, end_of_day: bool = False) -> Callable[[Any], str]:
    """A time of day, ``"09:00"``; ``"24:00"`` too with ``end_of_day``."""
    allowed = '"HH:MM" from "00:00" to "23:59"' + (' or "24:00"' if end_of_day else "")

    def parse(value: Any) -> str:
        if isinstance(value, time):
            raise Bad(f'write times of day as strings, "{value:%H:%M}", not as a TOML time')
        if not isinstance(value, str):
            raise Bad(f"must be a time of day, {allowed}; got {kind(value)}")
        written = value.strip()
        try:  # the calendar's own parser: one definition of a time of day
            parse_time(written, "a time of day", allow_end_of_day=end_of_day)
        except ConfigError:
            raise Bad(f"{value!r} is not a time of day; write {allowed}") from None
        return written

    return parse


def shift(value: Any) -> Shift:
    """One shift of a weekday, ``"09:00-17:00"``."""
    if not isinstance(value, str):
        raise Bad(f'a shift is a string such as "09:00-17:00", got {kind(value)}')
    try:
        return Shift.parse(value.strip(), "the shift")
    except ConfigError as error:
        raise Bad(str(error)) from None


_WEEKDAY_KEYS = (*WEEKDAYS, *(day[:3] for day in WEEKDAYS))


def weekday(value: str) -> str:
    """A weekday key, ``mon`` or ``monday``, as its three letters."""
    if value.strip().lower() not in _WEEKDAY_KEYS:
        raise Bad(f"{value!r} is not a weekday; {suggest(value.lower(), WEEKDAYS)}")
    return value.strip().lower()[:3]


def iso_date(value: Any) -> date:
    """A TOML date, or the same in a string."""
    if isinstance(value, datetime):
        raise Bad(f"must be a date such as 2026-12-25 (a whole day), got {kind(value)}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Bad(f"must be a date such as 2026-12-25, got {kind(value)}")


@functools.cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def time_zone(value: Any) -> str:
    """An IANA time-zone name."""
    if not isinstance(value, str):
        raise Bad(f"must be an IANA time-zone name such as 'Europe/Berlin', got {kind(value)}")
    if value != "UTC" and value not in _zones():
        close = difflib.get_close_matches(value, _zones(), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise Bad(
            f"{value!r} is not a known IANA time zone{hint}; use a name such as 'UTC', "
            f"'Europe/Berlin' or 'America/New_York'"
        )
    return value


# -- choices --------------------------------------------------------------------------------------


def choice(enum: type[Choice], noun: str) -> Callable[[Any], Any]:
    """A member of ``enum`` by its string value, with a did-you-mean."""
    values = [member.value for member in enum]

    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            raise Bad(f"must be {article(noun)}, one of {', '.join(values)}; got {kind(value)}")
        lowered = value.strip().lower()
        if lowered not in values:
            close = difflib.get_close_matches(lowered, values, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise Bad(f"{value!r} is not {article(noun)}{hint}; allowed: {', '.join(values)}")
        return enum(lowered)

    return parse


role = choice(Role, "role")
severity = choice(Severity, "severity")
channel = choice(Channel, "channel")
offer_kind = choice(OfferKind, "offer kind")


# -- money ----------------------------------------------------------------------------------------


def currency(value: Any) -> str:
    """An ISO 4217 currency code."""
    if not isinstance(value, str):
        raise Bad(f'must be an ISO 4217 currency code such as "USD", got {kind(value)}')
    code = value.strip().upper()
    if code not in CURRENCY_MINOR_UNITS:
        close = difflib.get_close_matches(code, list(CURRENCY_MINOR_UNITS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise Bad(f'unknown currency {value!r}{hint}: use an ISO 4217 code such as "USD" or "EUR"')
    return code


def money(
    in_currency: str, where: str = "the matrix's currency, compensation.authority.currency"
) -> Callable[[Any], Money]:
    """An amount, zero or more, written as a string (never a float) in ``in_currency``."""

    def parse(value: Any) -> Money:
        if isinstance(value, float):
            raise Bad(
                f"money given as a float ({value!r}): write amounts as strings, such as "
                f'"{Decimal(repr(value)):.2f}"; a float cannot hold most amounts exactly'
            )
        if isinstance(value, int) and not isinstance(value, bool):
            raise Bad(f'write amounts as strings, such as "{value}.00", got the number {value}')
        if not isinstance(value, str):
            raise Bad(f'must be an amount written as a string, such as "50.00"; got {kind(value)}')
        written = value.strip()
        if re.search(r"[A-Za-z]", written):
            raise Bad(
                f'{value!r}: write only the amount, such as "50.00"; it is in {in_currency} '
                f"({where})"
            )
        try:
            amount = Money(written, in_currency)
        except ValidationError as error:
            raise Bad(str(error)) from None
        if amount.is_negative:
            raise Bad(f"must be zero or more, got {value!r}")
        return amount

    return parse


def share(value: Any) -> Decimal:
    """A share of the order value, more than 0 and at most 1, written as a string."""
    if isinstance(value, float):
        raise Bad(f'a share given as a float ({value!r}): write it as a string, such as "0.20"')
    if not isinstance(value, str):
        raise Bad(
            f'must be a share of the order value as a string, such as "0.20"; got {kind(value)}'
        )
    try:
        found = Decimal(value.strip())
    except InvalidOperation:
        raise Bad(f'{value!r} is not a decimal number; write a share such as "0.20"') from None
    if not found.is_finite() or not Decimal(0) < found <= Decimal(1):
        raise Bad(f"a share must be more than 0 and at most 1, got {value!r}")
    return found


# -- conditions on the facts of a case ------------------------------------------------------------


def fact_name(value: Any) -> str:
    """The name of one of an issue's facts: snake_case, not ``tier``, ``category`` or
    ``severity`` (the case's own)."""
    if not isinstance(value, str):
        raise Bad(f"must be a fact's name as a string, such as 'passengers'; got {kind(value)}")
    try:
        return facts.fact_name(value, "a fact's name")
    except ValidationError as error:
        raise Bad(str(error).removeprefix("a fact's name: ")) from None


def condition_subject(value: Any) -> str:
    """What a condition tests: ``tier``, ``category``, ``severity`` or a fact's name."""
    if isinstance(value, str) and value in facts.SUBJECTS:
        return value
    try:
        return fact_name(value)
    except Bad as bad:
        subjects = ", ".join(facts.SUBJECTS)
        raise Bad(f"{bad} (or one of the case's own: {subjects})") from None


def condition_value(value: Any) -> Any:
    """A value a condition compares with: a string, a whole number, a boolean or a date; a
    decimal is written as a string in ``at_least`` and ``at_most``."""
    if isinstance(value, float):
        raise Bad(
            f'the float {value!r}: write a decimal as a string, such as "{value}", in at_least '
            f"or at_most (both, for one exact value); a float cannot hold most amounts exactly"
        )
    if isinstance(value, datetime):
        raise Bad(f"must be a date such as 2026-12-25 (a whole day), got {kind(value)}")
    if isinstance(value, str | int | date):
        return value
    raise Bad(f"must be a string, a whole number, true or false, or a date; got {kind(value)}")


def condition_bound(value: Any) -> Any:
    """A bound of ``at_least`` or ``at_most``: a whole number, a decimal written as a string
    (``"2.5"``), a date, or a severity's name."""
    found = condition_value(value)
    if isinstance(found, bool):
        raise Bad("a bound must be a number, a date or a severity, not true or false")
    if isinstance(found, str):
        try:
            number = Decimal(found.strip())
        except InvalidOperation:
            return found  # a severity's name; the condition checks it
        if not number.is_finite():
            raise Bad(f'{value!r} is not a number; write a bound such as 2, "2.5" or a date')
        return number
    return found


# -- codes and names ------------------------------------------------------------------------------


def code(value: str) -> str:
    """A reason code (a table key): snake_case."""
    try:
        Reason(code=value, text="check")
    except ValidationError:
        raise Bad(
            f"{value!r} is not a reason code; codes are snake_case, such as 'repeat_contact'"
        ) from None
    return value


def reason_code(value: Any) -> str:
    """A reason code written as a value (an array item): a snake_case string."""
    if not isinstance(value, str):
        raise Bad(f"must be a reason code as a string, such as 'threat'; got {kind(value)}")
    return code(value)


def guidance_code(value: str) -> str:
    """A guidance code (a table key): snake_case."""
    try:
        Guidance(code=value, text="check")
    except ValidationError:
        raise Bad(
            f"{value!r} is not a guidance code; codes are snake_case, such as "
            f"'give_next_update_time'"
        ) from None
    return value


def snake(noun: str, example: str) -> Callable[[Any], str]:
    """A snake_case name of a ``noun``, such as ``example``."""

    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise Bad(f"must be {article(noun)} name as a string, got {kind(value)}")
        if not SNAKE_CASE.fullmatch(value):
            raise Bad(
                f"{value!r} is not {article(noun)} name; {noun} names are snake_case, "
                f"such as {example!r}"
            )
        return value

    return parse


stage_name = snake("stage", "awaiting_parts")
event_name = snake("event", "hand_to_engineering")


def destination(value: Any) -> str:
    """Where a transition goes: a stage, or ``"="`` to stay."""
    if value == SAME:
        return SAME
    try:
        return stage_name(value)
    except Bad as bad:
        raise Bad(f'{bad} (or "{SAME}" to stay in the same stage)') from None


def method_name(value: Any) -> str:
    """The name of a public method of the playbook (a guard or a callback)."""
    if not isinstance(value, str):
        raise Bad(f"must be the name of a playbook method, got {kind(value)}")
    if not value.isidentifier() or value.startswith("_"):
        raise Bad(
            f"{value!r} is not a method name; name a public method of the playbook, such as "
            f"'is_understood'"
        )
    return value
