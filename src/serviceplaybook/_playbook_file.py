"""Playbooks as data: every policy's numbers in a TOML file that support operations can read,
review and change, validated completely before anything is built.

:meth:`PlaybookFile.load` reads a file (stdlib :mod:`tomllib`) and returns a
:class:`PlaybookFile`, or raises :class:`PlaybookFileError` listing **every** problem at once,
each a :class:`Problem` naming the file, the dotted key path (``sla.steps[2].after``) and what
is wrong: unknown keys (with a did-you-mean), wrong types, money written as a float, unknown
currencies, roles, severities, channels, offer kinds; an authority matrix in which a higher
role may grant less than a lower one; SLA steps that do not increase; bad durations and times;
unknown stages and guard or callback methods in ``[playbook]``, and a stage the file adds that
no transition reaches or that has no way out; TOML syntax errors (with line and column); a
missing file or one that is not UTF-8. Errors the policy constructors (and the state machine)
raise come back as problems too, with the key path of what they were built from.

A :class:`PlaybookFile` holds what the file said and builds each policy with a class the
caller gives, so a subclassed policy combines with the file's numbers::

    file = PlaybookFile.load("shop.toml")
    escalation = file.escalation_policy(cls=MyEscalationPolicy)

``[playbook]`` may add stages, transitions and per-stage guidance: the playbook built is then
a subclass of the class given (``PlaybookFromFile``), so a stage added in the file works like
one added by subclassing, and ``ServiceDesk.fire`` fires its events.

Sections and keys the file omits keep the library's defaults (the defaults of the class
given, for tables merged key by key). :meth:`ServiceDesk.from_config` builds every policy
first and only then the desk, so a bad file never yields a half-configured desk.

The formats, one for each kind of value (the reference is ``docs/playbook-file.md``):

- durations: strings with units ``d`` (24 hours), ``h``, ``m``, ``s``, largest first:
  ``"90m"``, ``"36h"``, ``"2d"``, ``"1d 12h"``. A number without a unit is refused. SLA
  durations are business time and are written without ``d`` (``"40h"``).
- times of day: ``"09:00"`` (``"24:00"`` closes at midnight).
- money: a string holding the amount, ``"50.00"``, in the authority matrix's currency;
  floats and bare numbers are refused (a float cannot hold most amounts exactly).
- dates: TOML dates (``2026-12-25``) or ``"2026-12-25"``.
- roles, severities, channels and offer kinds: their string values (``"senior_agent"``).
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import itertools
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, TypeVar, overload

import attrs

from serviceplaybook._errors import ConfigError, ValidationError
from serviceplaybook._playbook import SAME, Playbook, Transition
from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._policies.calendar import (
    WEEKDAYS,
    BusinessCalendar,
    Shift,
    _parse_time,
    public_holidays,
)
from serviceplaybook._policies.compensation import (
    AuthorityMatrix,
    CompensationPolicy,
    CompensationRule,
    RoleAuthority,
)
from serviceplaybook._policies.escalation import EscalationLadder, EscalationPolicy
from serviceplaybook._policies.followup import FollowUpPolicy
from serviceplaybook._policies.sla import SlaPolicy
from serviceplaybook._records.enums import Choice
from serviceplaybook._records.issue import Severity
from serviceplaybook._records.money import CURRENCY_MINOR_UNITS, Money
from serviceplaybook._records.offers import OfferKind
from serviceplaybook._records.parties import Channel, Role
from serviceplaybook._records.reasons import Guidance, Reason
from serviceplaybook._records.sla import SlaStep, SlaTargets

E = TypeVar("E", bound=EscalationPolicy)
A = TypeVar("A", bound=ApologyPolicy)
C = TypeVar("C", bound=CompensationPolicy)
F = TypeVar("F", bound=FollowUpPolicy)
S = TypeVar("S", bound=SlaPolicy)
P = TypeVar("P", bound=Playbook)
B = TypeVar("B", bound=BusinessCalendar)
T = TypeVar("T")


# -- problems ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Problem:
    """One thing wrong with a playbook file.

    Attributes:
        file: the file, as it was given.
        key: the dotted key path, array items by index (``compensation.authority.agent.single``,
            ``sla.steps[2].after``); empty when the problem concerns the whole file (it does
            not exist, is not UTF-8, is not valid TOML).
        message: what is wrong and what is allowed.
    """

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        if not self.key:
            return f"{self.file}: {self.message}"
        return f"{self.file}: {self.key}: {self.message}"


class PlaybookFileError(ConfigError):
    """A playbook file cannot be used: ``problems`` lists everything wrong with it.

    ``str(error)`` lists every problem, one per line, as ``FILE: KEY: MESSAGE``.

    Attributes:
        problems: every problem found, section by section in the order of the file.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class _Bad(Exception):
    """A value cannot be used; the message says why (recorded at the value's key path)."""


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _join(path: str, name: str) -> str:
    shown = name if _BARE_KEY.fullmatch(name) else '"' + name.replace('"', '\\"') + '"'
    return f"{path}.{shown}" if path else shown


def _item(path: str, index: int) -> str:
    return f"{path}[{index}]"


def _kind(value: object) -> str:
    """How a TOML value reads in a message."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the float {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, datetime):
        return f"the date-time {value.isoformat()}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, time):
        return f"the time {value.isoformat()}"
    return type(value).__name__


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


_ELSEWHERE = {
    "max_handoffs": "escalation.ladder.max_handoffs",
    "roles": "escalation.ladder.roles",
    "currency": "compensation.authority.currency",
    "window": "compensation.authority.window",
    "timezone": "calendar.timezone",
    "holidays": "calendar.holidays",
}


def _suggest(name: str, allowed: Iterable[str]) -> str:
    choices = list(allowed)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    moved = difflib.get_close_matches(name, list(_ELSEWHERE), n=1, cutoff=0.75)
    if moved:
        return f"did you mean {_ELSEWHERE[moved[0]]}? it goes there"
    return "allowed: " + ", ".join(choices)


class _Reader:
    """Collects problems while reading one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(file=self.file, key=key, message=message))

    def count(self, prefix: str) -> int:
        """Problems recorded under ``prefix`` (a section name)."""
        return sum(
            1
            for p in self.problems
            if p.key == prefix or p.key.startswith((prefix + ".", prefix + "["))
        )

    def table(
        self, value: object, key: str, allowed: Collection[str] | None
    ) -> dict[str, Any] | None:
        """``value`` as a table whose keys are all in ``allowed`` (``None``: any key)."""
        if not isinstance(value, dict):
            self.add(key, f"must be a table, got {_kind(value)}")
            return None
        if allowed is not None:
            for name in value:
                if name not in allowed:
                    self.add(_join(key, name), f"unknown key; {_suggest(name, allowed)}")
        return value

    def value(self, table: Mapping[str, Any], path: str, name: str, parse: Callable[[Any], T]) -> T:
        """Parse ``table[name]``; raise :class:`_Bad` (already recorded) when it is bad."""
        key = _join(path, name)
        try:
            return parse(table[name])
        except _Bad as bad:
            self.add(key, str(bad))
            raise _Bad(str(bad)) from None

    def put(
        self,
        table: Mapping[str, Any],
        path: str,
        name: str,
        parse: Callable[[Any], Any],
        out: dict[str, Any],
        arg: str | None = None,
    ) -> None:
        """Parse ``table[name]`` into ``out[arg or name]`` when present; record a problem if bad."""
        if name not in table:
            return
        with contextlib.suppress(_Bad):
            out[arg or name] = self.value(table, path, name, parse)

    def array(self, value: object, key: str, parse: Callable[[Any], T]) -> list[T] | None:
        """Every item of an array parsed, or ``None`` (recorded) when one is bad."""
        if not isinstance(value, list):
            self.add(key, f"must be an array, got {_kind(value)}")
            return None
        items: list[T] = []
        ok = True
        for index, item in enumerate(value):
            try:
                items.append(parse(item))
            except _Bad as bad:
                self.add(_item(key, index), str(bad))
                ok = False
        return items if ok else None

    def mapping(
        self,
        value: object,
        key: str,
        parse_key: Callable[[str], Any],
        parse_value: Callable[[Any], Any],
    ) -> dict[Any, Any] | None:
        """A table with parsed keys and values, or ``None`` (recorded) when one is bad."""
        table = self.table(value, key, None)
        if table is None:
            return None
        result: dict[Any, Any] = {}
        ok = True
        for name, item in table.items():
            where = _join(key, name)
            try:
                parsed_key = parse_key(name)
            except _Bad as bad:
                self.add(where, str(bad))
                ok = False
                continue
            try:
                result[parsed_key] = parse_value(item)
            except _Bad as bad:
                self.add(where, str(bad))
                ok = False
        return result if ok else None

    def attempt(self, key: str, build: Callable[[], T]) -> T | None:
        """Run a constructor; a ConfigError or ValidationError it raises becomes a problem
        (the problems of a :class:`PlaybookFileError`, with their own keys)."""
        try:
            return build()
        except PlaybookFileError as error:
            self.problems.extend(error.problems)
            return None
        except (ConfigError, ValidationError) as error:
            self.add(key, str(error))
            return None


# -- scalar formats ------------------------------------------------------------------------------

_DURATION = re.compile(
    r"^(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?$"
)
_DURATION_HELP = 'a string with units such as "90m", "36h", "2d" or "1d 12h"'


def _integer(minimum: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"must be a whole number of {minimum} or more, got {_kind(value)}")
        if value < minimum:
            raise _Bad(f"must be {minimum} or more, got {value}")
        return value

    return parse


def _number(low: float, high: float, *, open_range: bool = False) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad(f"must be a number from {low} to {high}, got {_kind(value)}")
        inside = low < value < high if open_range else low <= value <= high
        if not inside:
            bounds = "strictly between" if open_range else "from"
            joiner = "and" if open_range else "to"
            raise _Bad(f"must be a number {bounds} {low} {joiner} {high}, got {value!r}")
        return value

    return parse


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"must be a string, got {_kind(value)}")
    if not value.strip():
        raise _Bad("must not be empty")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"must be true or false, got {_kind(value)}")
    return value


def _duration(*, positive: bool = True, business: bool = False) -> Callable[[Any], timedelta]:
    def parse(value: Any) -> timedelta:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise _Bad(f"durations need a unit: write {_DURATION_HELP}, got the number {value!r}")
        if not isinstance(value, str):
            raise _Bad(f"must be a duration, {_DURATION_HELP}; got {_kind(value)}")
        text = value.strip().lower()
        match = _DURATION.fullmatch(text)
        if not text or match is None or not any(match.groupdict().values()):
            raise _Bad(f"{value!r} is not a duration; write {_DURATION_HELP}")
        parts = {unit: int(amount or 0) for unit, amount in match.groupdict().items()}
        if business and match.group("d"):
            raise _Bad(
                f"{value!r}: SLA durations are business time, so write hours (for example "
                f'"{parts["d"] * 24 + parts["h"]}h"); a day here would mean 24 business hours, '
                f"three working days of 8 hours"
            )
        delta = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
        if positive and delta <= timedelta(0):
            raise _Bad(f"must be longer than zero, got {value!r}")
        return delta

    return parse


_NO_TARGET = "none"


def _target(value: Any) -> timedelta | None:
    if value == _NO_TARGET:
        return None
    try:
        return _duration(business=True)(value)
    except _Bad as bad:
        raise _Bad(f'{bad} (or "none" for no target)') from None


def _time(*, end_of_day: bool = False) -> Callable[[Any], str]:
    allowed = '"HH:MM" from "00:00" to "23:59"' + (' or "24:00"' if end_of_day else "")

    def parse(value: Any) -> str:
        if isinstance(value, time):
            raise _Bad(f'write times of day as strings, "{value:%H:%M}", not as a TOML time')
        if not isinstance(value, str):
            raise _Bad(f"must be a time of day, {allowed}; got {_kind(value)}")
        text = value.strip()
        try:  # the calendar's own parser: one definition of a time of day
            _parse_time(text, "a time of day", allow_end_of_day=end_of_day)
        except ConfigError:
            raise _Bad(f"{value!r} is not a time of day; write {allowed}") from None
        return text

    return parse


def _choice(enum: type[Choice], noun: str) -> Callable[[Any], Any]:
    values = [member.value for member in enum]

    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            raise _Bad(f"must be {_article(noun)}, one of {', '.join(values)}; got {_kind(value)}")
        lowered = value.strip().lower()
        if lowered not in values:
            close = difflib.get_close_matches(lowered, values, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _Bad(f"{value!r} is not {_article(noun)}{hint}; allowed: {', '.join(values)}")
        return enum(lowered)

    return parse


_role = _choice(Role, "role")
_severity = _choice(Severity, "severity")
_channel = _choice(Channel, "channel")
_offer_kind = _choice(OfferKind, "offer kind")


def _currency(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f'must be an ISO 4217 currency code such as "USD", got {_kind(value)}')
    code = value.strip().upper()
    if code not in CURRENCY_MINOR_UNITS:
        close = difflib.get_close_matches(code, list(CURRENCY_MINOR_UNITS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _Bad(f'unknown currency {value!r}{hint}: use an ISO 4217 code such as "USD" or "EUR"')
    return code


def _money(
    currency: str, where: str = "the matrix's currency, compensation.authority.currency"
) -> Callable[[Any], Money]:
    def parse(value: Any) -> Money:
        if isinstance(value, float):
            raise _Bad(
                f"money given as a float ({value!r}): write amounts as strings, such as "
                f'"{Decimal(repr(value)):.2f}"; a float cannot hold most amounts exactly'
            )
        if isinstance(value, int) and not isinstance(value, bool):
            raise _Bad(f'write amounts as strings, such as "{value}.00", got the number {value}')
        if not isinstance(value, str):
            raise _Bad(
                f'must be an amount written as a string, such as "50.00"; got {_kind(value)}'
            )
        text = value.strip()
        if re.search(r"[A-Za-z]", text):
            raise _Bad(
                f'{value!r}: write only the amount, such as "50.00"; it is in {currency} ({where})'
            )
        try:
            amount = Money(text, currency)
        except ValidationError as error:
            raise _Bad(str(error)) from None
        if amount.is_negative:
            raise _Bad(f"must be zero or more, got {value!r}")
        return amount

    return parse


def _share(value: Any) -> Decimal:
    if isinstance(value, float):
        raise _Bad(f'a share given as a float ({value!r}): write it as a string, such as "0.20"')
    if not isinstance(value, str):
        raise _Bad(
            f'must be a share of the order value as a string, such as "0.20"; got {_kind(value)}'
        )
    try:
        share = Decimal(value.strip())
    except InvalidOperation:
        raise _Bad(f'{value!r} is not a decimal number; write a share such as "0.20"') from None
    if not share.is_finite() or not Decimal(0) < share <= Decimal(1):
        raise _Bad(f"a share must be more than 0 and at most 1, got {value!r}")
    return share


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        raise _Bad(f"must be a date such as 2026-12-25 (a whole day), got {_kind(value)}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Bad(f"must be a date such as 2026-12-25, got {_kind(value)}")


def _code(value: str) -> str:
    try:
        Reason(code=value, text="check")
    except ValidationError:
        raise _Bad(
            f"{value!r} is not a reason code; codes are snake_case, such as 'repeat_contact'"
        ) from None
    return value


_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _snake(noun: str, example: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise _Bad(f"must be {_article(noun)} name as a string, got {_kind(value)}")
        if not _SNAKE.fullmatch(value):
            raise _Bad(
                f"{value!r} is not {_article(noun)} name; {noun} names are snake_case, "
                f"such as {example!r}"
            )
        return value

    return parse


_stage_name = _snake("stage", "awaiting_parts")
_event_name = _snake("event", "hand_to_engineering")


def _destination(value: Any) -> str:
    if value == SAME:
        return SAME
    try:
        return _stage_name(value)
    except _Bad as bad:
        raise _Bad(f'{bad} (or "{SAME}" to stay in the same stage)') from None


def _method_name(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"must be the name of a playbook method, got {_kind(value)}")
    if not value.isidentifier() or value.startswith("_"):
        raise _Bad(
            f"{value!r} is not a method name; name a public method of the playbook, such as "
            f"'is_understood'"
        )
    return value


def _guidance_code(value: str) -> str:
    try:
        Guidance(code=value, text="check")
    except ValidationError:
        raise _Bad(
            f"{value!r} is not a guidance code; codes are snake_case, such as "
            f"'give_next_update_time'"
        ) from None
    return value


def _name(value: str) -> str:
    if not value.strip():
        raise _Bad("a name must not be empty")
    return value


@functools.cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def _timezone(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"must be an IANA time-zone name such as 'Europe/Berlin', got {_kind(value)}")
    if value != "UTC" and value not in _zones():
        close = difflib.get_close_matches(value, _zones(), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _Bad(
            f"{value!r} is not a known IANA time zone{hint}; use a name such as 'UTC', "
            f"'Europe/Berlin' or 'America/New_York'"
        )
    return value


_WEEKDAY_KEYS = (*WEEKDAYS, *(day[:3] for day in WEEKDAYS))


def _weekday(value: str) -> str:
    if value.strip().lower() not in _WEEKDAY_KEYS:
        raise _Bad(f"{value!r} is not a weekday; {_suggest(value.lower(), WEEKDAYS)}")
    return value.strip().lower()[:3]


# -- sections -------------------------------------------------------------------------------------

_TOP = ("name", "description", "desk", "playbook", "calendar", "escalation", "apology",
        "compensation", "follow_up", "sla")  # fmt: skip
_DESK = ("max_delivery_attempts", "retry_backoff", "lease")
_PLAYBOOK = ("reopen_window", "stages", "transitions", "guidance")
_TRANSITION = ("event", "from", "to", "conditions", "unless", "after")
_CALENDAR = ("timezone", "open", "close", "hours", "around_the_clock", "holidays",
             "public_holidays")  # fmt: skip
_PUBLIC_HOLIDAYS = ("country", "years", "subdiv")
_ESCALATION = ("ladder", "max_declined_offers", "minimum_roles", "sentiment_window",
               "sentiment_floor", "repeat_contact_mentions", "reopens_to_escalate",
               "high_value_tiers", "high_value_orders")  # fmt: skip
_LADDER = ("roles", "max_handoffs")
_APOLOGY = ("max_per_conversation", "per_new_agent", "templates", "families")
_COMPENSATION = ("authority", "rules", "max_claims", "claim_review_role", "max_alternatives")
_AUTHORITY_KEYS = ("currency", "window")
_ROLE_AUTHORITY = ("single", "window_total", "kinds")
_RULE = ("kind", "description", "categories", "tiers", "min_severity", "share", "amount")
_FOLLOW_UP = ("delays", "tier_delays", "call_from", "call_tiers", "cooldown", "channel_windows",
              "open", "close", "purpose")  # fmt: skip
_SLA = ("targets", "tier_targets", "warning_at", "steps")
_TARGETS = ("first_response", "next_response", "resolution")
_STEP = ("after", "to")
_LADDER_ROLES = tuple(role for role in Role if role.on_ladder)


def _read_desk(r: _Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    r.put(table, "desk", "max_delivery_attempts", _integer(1), out)
    r.put(table, "desk", "retry_backoff", _duration(), out)
    r.put(table, "desk", "lease", _duration(), out)
    return out


def _read_playbook(
    r: _Reader, table: dict[str, Any], cls: type[Playbook] = Playbook
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    r.put(table, "playbook", "reopen_window", _duration(), out)
    stages: list[tuple[int, str]] = []
    if "stages" in table:
        key = "playbook.stages"
        listed = r.array(table["stages"], key, lambda value: value)
        for index, value in enumerate(listed or ()):
            try:
                stage = _stage_name(value)
            except _Bad as bad:
                r.add(_item(key, index), str(bad))
                continue
            if stage in (name for _, name in stages):
                r.add(_item(key, index), f"{stage!r} is listed twice")
                continue
            stages.append((index, stage))
        out["stages"] = tuple(stage for _, stage in stages)
    transitions: list[tuple[int, Transition]] = []
    if "transitions" in table:
        key = "playbook.transitions"
        value = table["transitions"]
        if not isinstance(value, list):
            r.add(key, f"must be an array of tables ([[playbook.transitions]]), got {_kind(value)}")
        else:
            for index, item in enumerate(value):
                transition = _read_transition(r, item, _item(key, index))
                if transition is not None:
                    transitions.append((index, transition))
            out["transitions"] = tuple(transition for _, transition in transitions)
    if "guidance" in table:
        out["guidance"] = _read_guidance(r, table["guidance"])
    # Names are checked against the class now, so that they are reported with every other
    # problem; the machine itself is built in the dry run, once the section reads cleanly.
    for key, message in _name_problems(stages, transitions, out.get("guidance", {}), cls):
        r.add(key, message)
    return out


def _one_or_many(
    r: _Reader, table: Mapping[str, Any], path: str, name: str, parse: Callable[[Any], str]
) -> tuple[str, ...] | None:
    """``table[name]`` as a string or an array of strings, each parsed; ``None`` when bad."""
    key = _join(path, name)
    value = table[name]
    if isinstance(value, str):
        with contextlib.suppress(_Bad):
            return (r.value(table, path, name, parse),)
        return None
    if not isinstance(value, list):
        r.add(key, f"must be a string or an array of strings, got {_kind(value)}")
        return None
    if not value:
        r.add(key, "must not be an empty array")
        return None
    items = r.array(value, key, parse)
    return None if items is None else tuple(items)


def _read_transition(r: _Reader, value: object, key: str) -> Transition | None:
    table = r.table(value, key, _TRANSITION)
    if table is None:
        return None
    before = len(r.problems)
    for required in ("event", "from", "to"):
        if required not in table:
            r.add(_join(key, required), "missing; every transition needs an event, from and to")
    values: dict[str, Any] = {}
    r.put(table, key, "event", _event_name, values)
    r.put(table, key, "to", _destination, values, "dest")
    if "from" in table:
        sources = _one_or_many(r, table, key, "from", _stage_name)
        if sources is not None:
            values["source"] = sources
    for name in ("conditions", "unless", "after"):
        if name in table:
            methods = _one_or_many(r, table, key, name, _method_name)
            if methods is not None:
                values[name] = methods
    if len(r.problems) > before:
        return None
    return r.attempt(key, lambda: Transition(**values))


def _read_guidance(r: _Reader, value: object) -> Mapping[str, tuple[Guidance, ...]]:
    """The guidance per stage; a stage whose table is bad is left out (and recorded)."""
    key = "playbook.guidance"
    table = r.table(value, key, None)
    if table is None:
        return _EMPTY
    guidance: dict[str, tuple[Guidance, ...]] = {}
    for stage, entries in table.items():
        where = _join(key, stage)
        try:
            _stage_name(stage)
        except _Bad as bad:
            r.add(where, str(bad))
            continue
        texts = r.mapping(entries, where, _guidance_code, _text)
        if texts is None:
            continue
        if not texts:
            r.add(where, 'no guidance given; write one or more code = "text" lines')
            continue
        guidance[stage] = tuple(Guidance(code=code, text=text) for code, text in texts.items())
    return MappingProxyType(guidance)


def _read_calendar(r: _Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    r.put(table, "calendar", "timezone", _timezone, out)
    r.put(table, "calendar", "open", _time(), settings)
    r.put(table, "calendar", "close", _time(end_of_day=True), settings)
    r.put(table, "calendar", "around_the_clock", _boolean, settings)
    ways: list[str] = [name for name in ("hours", "around_the_clock") if name in table]
    if "open" in table or "close" in table:
        ways.insert(0, "open/close")
    if len(ways) > 1:
        r.add(
            "calendar",
            f"give the opening hours one way only, not {' and '.join(ways)}: open/close "
            f"(Monday to Friday), hours (per weekday) or around_the_clock",
        )
    if "hours" in table:
        hours = r.table(table["hours"], "calendar.hours", None)
        if hours is not None:
            days: dict[str, list[Shift]] = {}
            for name, shifts in hours.items():
                key = _join("calendar.hours", name)
                try:
                    day = _weekday(name)
                except _Bad as bad:
                    r.add(key, str(bad))
                    continue
                if day in days:
                    r.add(key, "this weekday is given twice")
                    continue
                items = [shifts] if isinstance(shifts, str) else shifts
                parsed = r.array(items, key, _shift)
                if parsed is None:
                    continue
                if parsed and (
                    r.attempt(
                        key, functools.partial(BusinessCalendar, timezone="UTC", hours={0: parsed})
                    )
                    is None
                ):
                    continue
                days[day] = parsed
            if days and not any(days.values()):
                r.add("calendar.hours", "no weekday has opening hours; give at least one shift")
            out["hours"] = days
    elif settings.get("around_the_clock"):
        out["hours"] = {day: ["00:00-24:00"] for day in range(7)}
    elif "open" in settings or "close" in settings or "around_the_clock" not in table:
        open_, close = settings.get("open", "09:00"), settings.get("close", "17:00")
        shift = r.attempt(
            "calendar.close" if "close" in settings else "calendar.open",
            lambda: Shift.parse((open_, close), "the standard shift"),
        )
        if shift is not None:
            out["hours"] = {day: [shift] for day in range(5)}
    elif "around_the_clock" in settings:
        r.add("calendar.around_the_clock", "false gives no opening hours: give open/close or hours")
    holidays: set[date] = set()
    if "holidays" in table:
        listed = r.array(table["holidays"], "calendar.holidays", _date)
        holidays.update(listed or ())
    if "public_holidays" in table:
        found = _read_public_holidays(r, table["public_holidays"])
        holidays.update(found or ())
    out["holidays"] = frozenset(holidays)
    return out


def _shift(value: Any) -> Shift:
    if not isinstance(value, str):
        raise _Bad(f'a shift is a string such as "09:00-17:00", got {_kind(value)}')
    try:
        return Shift.parse(value.strip(), "the shift")
    except ConfigError as error:
        raise _Bad(str(error)) from None


def _read_public_holidays(r: _Reader, value: object) -> frozenset[date] | None:
    key = "calendar.public_holidays"
    table = r.table(value, key, _PUBLIC_HOLIDAYS)
    if table is None:
        return None
    settings: dict[str, Any] = {}
    before = len(r.problems)
    for required in ("country", "years"):
        if required not in table:
            r.add(_join(key, required), "missing; public holidays need a country and years")
    r.put(table, key, "country", _text, settings)
    r.put(table, key, "subdiv", _text, settings)
    if "years" in table:
        years = table["years"]
        if isinstance(years, int) and not isinstance(years, bool):
            years = [years]
        parsed = r.array(years, _join(key, "years"), _integer(1900))
        if parsed is not None:
            settings["years"] = parsed
    if len(r.problems) > before:
        return None
    return r.attempt(
        key,
        lambda: public_holidays(
            settings["country"], settings["years"], subdiv=settings.get("subdiv")
        ),
    )


def _read_escalation(r: _Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    path = "escalation"
    for name in ("max_declined_offers", "sentiment_window", "repeat_contact_mentions",
                 "reopens_to_escalate"):  # fmt: skip
        r.put(table, path, name, _integer(0), out)
    r.put(table, path, "sentiment_floor", _number(-1, 1), out)
    if "high_value_tiers" in table:
        tiers = r.array(table["high_value_tiers"], "escalation.high_value_tiers", _text)
        if tiers is not None:
            out["high_value_tiers"] = frozenset(tiers)
    if "high_value_orders" in table:
        key = "escalation.high_value_orders"
        raw = r.table(table["high_value_orders"], key, None)
        if raw is not None:
            orders: list[Money] = []
            for code, amount in raw.items():
                where = _join(key, code)
                try:
                    currency = _currency(code)
                    orders.append(_money(currency, "the currency of its key")(amount))
                except _Bad as bad:
                    r.add(where, str(bad))
            out["high_value_orders"] = tuple(orders)
    if "minimum_roles" in table:
        roles = r.mapping(table["minimum_roles"], "escalation.minimum_roles", _code, _role)
        if roles is not None:
            out["minimum_roles"] = roles
    if "ladder" in table:
        ladder = r.table(table["ladder"], "escalation.ladder", _LADDER)
        if ladder is not None:
            settings: dict[str, Any] = {}
            r.put(ladder, "escalation.ladder", "max_handoffs", _integer(0), settings)
            if "roles" in ladder:
                roles_list = r.array(ladder["roles"], "escalation.ladder.roles", _role)
                if roles_list is not None:
                    settings["roles"] = tuple(roles_list)
                    built = r.attempt(
                        "escalation.ladder.roles", lambda: EscalationLadder(roles=roles_list)
                    )
                    if built is None:
                        settings.pop("roles")
            out["ladder"] = settings
    return out


def _read_apology(r: _Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    r.put(table, "apology", "max_per_conversation", _integer(0), out)
    r.put(table, "apology", "per_new_agent", _integer(0), out)
    if "templates" in table:
        templates = r.mapping(table["templates"], "apology.templates", _name, _text)
        if templates is not None:
            for name, text in templates.items():
                r.attempt(
                    _join("apology.templates", name),
                    functools.partial(ApologyPolicy, templates={name: text}),
                )
            out["templates"] = templates
    if "families" in table:
        key = "apology.families"
        families = r.mapping(table["families"], key, _name, lambda v: v)
        if families is not None:
            checked: dict[str, tuple[str, ...]] = {}
            for name, words in families.items():
                where = _join(key, name)
                parsed = r.array(words, where, _text)
                if parsed is not None and (
                    r.attempt(
                        where, functools.partial(ApologyPolicy, families={name: tuple(parsed)})
                    )
                    is not None
                ):
                    checked[name] = tuple(parsed)
            out["families"] = checked
    return out


def _read_compensation(r: _Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    r.put(table, "compensation", "max_claims", _integer(0), out)
    r.put(table, "compensation", "claim_review_role", _role, out)
    r.put(table, "compensation", "max_alternatives", _integer(0), out)
    currency = "USD"
    window = timedelta(days=30)
    authority_table: dict[str, Any] | None = None
    if "authority" in table:
        allowed = (*_AUTHORITY_KEYS, *(role.value for role in Role))
        authority_table = r.table(table["authority"], "compensation.authority", allowed)
    settings: dict[str, Any] = {}
    if authority_table is not None:
        r.put(authority_table, "compensation.authority", "currency", _currency, settings)
        r.put(authority_table, "compensation.authority", "window", _duration(), settings)
        currency = settings.get("currency", currency)
        window = settings.get("window", window)
    if authority_table is not None and "currency" in authority_table and "currency" not in settings:
        currency = ""  # unknown currency: amounts cannot be checked against it
    if currency and authority_table is not None:
        authority = _read_authority(r, authority_table, currency, window)
        if authority is not None:
            out["authority"] = authority
    if "rules" in table:
        rules = table["rules"]
        if not isinstance(rules, list):
            r.add(
                "compensation.rules",
                f"must be an array of tables ([[compensation.rules]]), got {_kind(rules)}",
            )
        elif currency:
            built = [
                _read_rule(r, rule, _item("compensation.rules", index), currency)
                for index, rule in enumerate(rules)
            ]
            out["rules"] = tuple(rule for rule in built if rule is not None)
    return out


def _read_authority(
    r: _Reader, table: Mapping[str, Any], currency: str, window: timedelta
) -> AuthorityMatrix | None:
    path = "compensation.authority"
    listed = [name for name in table if name not in _AUTHORITY_KEYS]
    if not any(name in {role.value for role in Role} for name in listed):
        return r.attempt(path, lambda: AuthorityMatrix.standard(currency, window))
    roles: dict[Role, RoleAuthority] = {}
    before = len(r.problems)
    money = _money(currency)
    for role in Role:
        if role.value not in table:
            continue
        key = _join(path, role.value)
        entry = r.table(table[role.value], key, _ROLE_AUTHORITY)
        if entry is None:
            continue
        values: dict[str, Any] = {}
        for name in ("single", "window_total"):
            if name not in entry:
                r.add(_join(key, name), "missing; every role listed needs single and window_total")
        r.put(entry, key, "single", money, values)
        r.put(entry, key, "window_total", money, values)
        if "kinds" in entry:
            kinds = r.array(entry["kinds"], _join(key, "kinds"), _offer_kind)
            if kinds is not None:
                values["kinds"] = frozenset(kinds)
        if "single" in values and "window_total" in values:
            if values["single"] > values["window_total"]:
                r.add(
                    _join(key, "single"),
                    f"{values['single']} is above window_total ({values['window_total']}); an "
                    f"offer that large could never be granted",
                )
                continue
            authority = r.attempt(key, functools.partial(RoleAuthority, **values))
            if authority is not None:
                roles[role] = authority
    if len(r.problems) > before:
        return None
    ladder = [role for role in _LADDER_ROLES if role in roles]
    for lower, higher in itertools.pairwise(ladder):
        low, high = roles[lower], roles[higher]
        key = _join(path, higher.value)
        who, than = higher.value.replace("_", " "), lower.value.replace("_", " ")
        rule = "a higher role must cover at least as much as a lower one"
        for name in ("single", "window_total"):
            mine, theirs = getattr(high, name), getattr(low, name)
            if mine < theirs:
                r.add(
                    _join(key, name),
                    f"{who} may grant less than {than} ({mine} < {theirs}); {rule}",
                )
        missing = low.kinds - high.kinds
        if missing:
            shown = ", ".join(sorted(kind.value for kind in missing))
            r.add(
                _join(key, "kinds"),
                f"{who} may not offer {shown}, which {than} may; {rule}, in kinds too",
            )
    if len(r.problems) > before:
        return None
    return r.attempt(path, lambda: AuthorityMatrix(currency=currency, roles=roles, window=window))


def _read_rule(r: _Reader, value: object, key: str, currency: str) -> CompensationRule | None:
    table = r.table(value, key, _RULE)
    if table is None:
        return None
    before = len(r.problems)
    for required in ("kind", "description"):
        if required not in table:
            r.add(_join(key, required), "missing; every rule needs a kind and a description")
    values: dict[str, Any] = {}
    r.put(table, key, "kind", _offer_kind, values)
    r.put(table, key, "description", _text, values)
    r.put(table, key, "min_severity", _severity, values)
    r.put(table, key, "share", _share, values)
    r.put(table, key, "amount", _money(currency), values)
    for name in ("categories", "tiers"):
        if name in table:
            names = r.array(table[name], _join(key, name), _text)
            if names is not None:
                values[name] = frozenset(names)
    if len(r.problems) > before:
        return None
    return r.attempt(key, lambda: CompensationRule(**values))


def _read_follow_up(r: _Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    path = "follow_up"
    nonnegative = _duration(positive=False)
    if "delays" in table:
        delays = r.mapping(table["delays"], "follow_up.delays", _severity, nonnegative)
        if delays is not None:
            out["delays"] = delays
    if "tier_delays" in table:
        tiers = r.mapping(table["tier_delays"], "follow_up.tier_delays", _name, nonnegative)
        if tiers is not None:
            out["tier_delays"] = tiers
    if "channel_windows" in table:
        windows = r.mapping(
            table["channel_windows"], "follow_up.channel_windows", _channel, _duration()
        )
        if windows is not None:
            out["channel_windows"] = windows
    r.put(table, path, "call_from", _severity, out)
    if "call_tiers" in table:
        tiers_list = r.array(table["call_tiers"], "follow_up.call_tiers", _text)
        if tiers_list is not None:
            out["call_tiers"] = frozenset(tiers_list)
    r.put(table, path, "cooldown", nonnegative, out)
    r.put(table, path, "open", _time(), out)
    r.put(table, path, "close", _time(end_of_day=True), out)
    r.put(table, path, "purpose", _text, out)
    if ("open" in out or "close" in out) and r.attempt(
        "follow_up.close" if "close" in out else "follow_up.open",
        lambda: Shift.parse(
            (out.get("open", "09:00"), out.get("close", "17:00")), "follow-up hours"
        ),
    ) is None:
        out.pop("open", None)
        out.pop("close", None)
    return out


def _read_targets(r: _Reader, value: object, key: str) -> dict[str, timedelta | None] | None:
    table = r.table(value, key, _TARGETS)
    if table is None:
        return None
    before = len(r.problems)
    out: dict[str, Any] = {}
    for name in _TARGETS:
        r.put(table, key, name, _target, out)
    return out if len(r.problems) == before else None


def _read_severity_targets(
    r: _Reader, value: object, key: str
) -> dict[Severity, dict[str, timedelta | None]] | None:
    table = r.table(value, key, [s.value for s in Severity])
    if table is None:
        return None
    result: dict[Severity, dict[str, timedelta | None]] = {}
    for name, item in table.items():
        if name not in {s.value for s in Severity}:
            continue  # reported as an unknown key
        targets = _read_targets(r, item, _join(key, name))
        if targets is not None:
            result[Severity(name)] = targets
    return result


def _read_sla(r: _Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    r.put(table, "sla", "warning_at", _number(0, 1, open_range=True), out)
    if "targets" in table:
        targets = _read_severity_targets(r, table["targets"], "sla.targets")
        if targets is not None:
            out["targets"] = targets
    if "tier_targets" in table:
        tiers = r.table(table["tier_targets"], "sla.tier_targets", None)
        if tiers is not None:
            found: dict[str, dict[Severity, dict[str, timedelta | None]]] = {}
            for tier, item in tiers.items():
                where = _join("sla.tier_targets", tier)
                if not tier.strip():
                    r.add(where, "a tier name must not be empty")
                    continue
                targets = _read_severity_targets(r, item, where)
                if targets is not None:
                    found[tier] = targets
            out["tier_targets"] = found
    if "steps" in table:
        steps = _read_steps(r, table["steps"])
        if steps is not None:
            out["steps"] = steps
    return out


def _read_steps(r: _Reader, value: object) -> tuple[SlaStep, ...] | None:
    key = "sla.steps"
    if not isinstance(value, list):
        r.add(key, f"must be an array of tables ([[sla.steps]]), got {_kind(value)}")
        return None
    before = len(r.problems)
    steps: list[tuple[int, SlaStep]] = []
    for index, item in enumerate(value):
        where = _item(key, index)
        step = r.table(item, where, _STEP)
        if step is None:
            continue
        values: dict[str, Any] = {}
        for required in _STEP:
            if required not in step:
                r.add(_join(where, required), "missing; every step needs after and to")
        r.put(step, where, "after", _duration(business=True), values)
        r.put(step, where, "to", _role, values)
        if len(values) == 2:
            built = r.attempt(_join(where, "to"), functools.partial(SlaStep, **values))
            if built is not None:
                steps.append((index, built))
    for (_, earlier), (index, later) in itertools.pairwise(steps):
        where = _item(key, index)
        if later.after <= earlier.after:
            r.add(
                _join(where, "after"),
                f"steps must increase: {_show_duration(later.after)} is not after the step "
                f"before it ({_show_duration(earlier.after)}); list the steps in the order "
                f"they fire",
            )
        if later.to < earlier.to:
            r.add(
                _join(where, "to"),
                f"steps never step down the ladder: {later.to.value!r} comes after "
                f"{earlier.to.value!r}",
            )
    if len(r.problems) > before:
        return None
    return tuple(step for _, step in steps)


def _show_duration(value: timedelta) -> str:
    hours, rest = divmod(int(value.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{seconds}s" if seconds else "",
    ]
    return " ".join(part for part in parts if part) or "0m"


_READERS: Mapping[
    str, tuple[tuple[str, ...], Callable[[_Reader, dict[str, Any]], dict[str, Any]]]
] = {
    "desk": (_DESK, _read_desk),
    "playbook": (_PLAYBOOK, _read_playbook),
    "calendar": (_CALENDAR, _read_calendar),
    "escalation": (_ESCALATION, _read_escalation),
    "apology": (_APOLOGY, _read_apology),
    "compensation": (_COMPENSATION, _read_compensation),
    "follow_up": (_FOLLOW_UP, _read_follow_up),
    "sla": (_SLA, _read_sla),
}


# -- stages and transitions -----------------------------------------------------------------------


def _methods(cls: type[Playbook]) -> list[str]:
    """The public methods of ``cls``: what a transition's guards and callbacks may name."""
    return sorted(
        name for name in dir(cls) if not name.startswith("_") and callable(getattr(cls, name))
    )


def _unknown(noun: str, name: str, known: list[str], listed: str) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {noun} {name!r}{hint}; {listed}: {', '.join(known)}"


def _name_problems(
    stages: Iterable[tuple[int, str]],
    transitions: Iterable[tuple[int, Transition]],
    guidance: Mapping[str, object],
    cls: type[Playbook],
) -> list[tuple[str, str]]:
    """(key, message) for every stage or method the file names that ``cls`` and the file's
    own stages do not define; ``stages`` and ``transitions`` carry their index in the file."""
    problems: list[tuple[str, str]] = []
    stages = list(stages)
    known = [str(stage) for stage in cls.stages]
    for index, stage in stages:
        if stage in known:
            problems.append(
                (
                    _item("playbook.stages", index),
                    f"{stage!r} is already a stage of {cls.__name__}; list only the stages the "
                    f"file adds",
                )
            )
    known += [stage for _, stage in stages if stage not in known]
    methods = _methods(cls)
    for index, transition in transitions:
        key = _item("playbook.transitions", index)
        many = len(transition.source) > 1
        for number, stage in enumerate(transition.source):
            if stage not in known:
                where = _item(_join(key, "from"), number) if many else _join(key, "from")
                problems.append((where, _unknown("stage", stage, known, "stages")))
        if transition.dest != SAME and transition.dest not in known:
            problems.append((_join(key, "to"), _unknown("stage", transition.dest, known, "stages")))
        for name in ("conditions", "unless", "after"):
            names: tuple[str, ...] = getattr(transition, name)
            for number, method in enumerate(names):
                if method not in methods:
                    where = _item(_join(key, name), number) if len(names) > 1 else _join(key, name)
                    listed = f"{name} name methods of {cls.__name__} (a subclass may add its own)"
                    problems.append((where, _unknown("method", method, methods, listed)))
    for stage in guidance:
        if stage not in known:
            problems.append(
                (_join("playbook.guidance", stage), _unknown("stage", stage, known, "stages"))
            )
    return problems


def _playbook_class(
    cls: type[Playbook],
    stages: tuple[str, ...],
    transitions: tuple[Transition, ...],
    guidance: Mapping[str, tuple[Guidance, ...]],
) -> type[Playbook]:
    """A subclass of ``cls`` with the file's stages, transitions and guidance."""
    attributes: dict[str, Any] = {
        "__doc__": f"{cls.__name__} with the stages, transitions and guidance of a playbook file.",
        "__module__": __name__,
        "stages": (*cls.stages, *stages),
        "transitions": (*cls.transitions, *transitions),
        "stage_guidance_texts": MappingProxyType({**cls.stage_guidance_texts, **guidance}),
    }
    return type(f"{cls.__name__}FromFile", (cls,), attributes)


def _machine_problems(cls: type[Playbook], added: tuple[str, ...]) -> list[tuple[str, str]]:
    """Compile ``cls``'s machine; (key, message) for what ``transitions`` refuses and for each
    added stage a conversation could not reach or could not leave."""
    try:
        # The playbook's own compile (cached on the class): the table every desk call uses.
        table = cls._compile().table
    except (ConfigError, ValueError) as error:
        return [("playbook.transitions", str(error))]
    arrows: dict[str, set[str]] = {}
    for (source, _event), candidates in table.items():
        arrows.setdefault(source, set()).update(
            source if dest is None else dest for dest, *_guards in candidates
        )

    def reachable(start: str) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for stage in arrows.get(todo.pop(), ()):
                if stage not in seen:
                    seen.add(stage)
                    todo.append(stage)
        return seen

    problems: list[tuple[str, str]] = []
    from_start = reachable(str(cls.initial))
    for index, stage in enumerate(added):
        key = _item("playbook.stages", index)
        if stage not in from_start:
            problems.append(
                (
                    key,
                    f"no transition reaches {stage!r} from {str(cls.initial)!r}: add a "
                    f"[[playbook.transitions]] whose to is {stage!r}",
                )
            )
        if reachable(stage) <= set(added):
            problems.append(
                (
                    key,
                    f"no transition leads out of {stage!r}: a customer would be stuck there; add "
                    f"a way back, and escalate and terminate from it",
                )
            )
    return problems


# -- the file --------------------------------------------------------------------------------------


def _default(cls: type, name: str) -> Any:
    """The default of attrs field ``name`` on ``cls`` (a subclass's own default wins)."""
    default: Any = attrs.fields_dict(cls)[name].default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory()
    return default


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


_EMPTY: Mapping[str, Any] = MappingProxyType({})


_SECTIONS = ("desk", "playbook", "calendar", "escalation", "apology", "compensation",
             "follow_up", "sla")  # fmt: skip


def _sections(value: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    unknown = set(value) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"PlaybookFile.settings has unknown sections: {sorted(unknown)}")
    return MappingProxyType({name: _frozen(value.get(name, {})) for name in _SECTIONS})


@attrs.frozen(kw_only=True)
class PlaybookFile:
    """What a playbook file said, validated, able to build each policy with a given class.

    ``settings`` holds, per section, the values the file set, already converted (durations
    as ``timedelta``, amounts as :class:`~serviceplaybook.Money`, enums as members); keys the
    file omits are absent, so the class built keeps its own defaults for them. Every builder
    takes ``cls`` (a subclass combines with the file's numbers) and ``**overrides``, keyword
    arguments that win over the file.

    Attributes:
        path: the file it was read from.
        name: the playbook's name (the file's ``name``), or ``""``.
        description: what it is for (the file's ``description``), or ``""``.
        settings: per section (``desk``, ``playbook``, ``calendar``, ``escalation``,
            ``apology``, ``compensation``, ``follow_up``, ``sla``), what the file set; every
            section is present, empty when the file omits it. ``compensation["authority"]`` is
            the built :class:`~serviceplaybook.AuthorityMatrix` and ``compensation["rules"]``
            the built rules; ``sla["targets"]`` holds only the clocks the file set;
            ``playbook["stages"]`` the stage names the file adds, ``playbook["transitions"]``
            its :class:`~serviceplaybook.Transition` records and ``playbook["guidance"]`` its
            :class:`~serviceplaybook.Guidance` per stage.
    """

    path: str
    name: str = ""
    description: str = ""
    settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict, converter=_sections)
    # The playbook class built for each class given, so that every desk made from this file
    # shares one class and its compiled machine.
    _classes: dict[type[Playbook], type[Playbook]] = attrs.field(
        factory=dict, init=False, eq=False, repr=False
    )

    # -- builders ----------------------------------------------------------------------------------

    @overload
    def calendar(self, cls: None = None, **overrides: Any) -> BusinessCalendar | None: ...

    @overload
    def calendar(self, cls: type[B], **overrides: Any) -> B | None: ...

    def calendar(
        self, cls: type[BusinessCalendar] | None = None, **overrides: Any
    ) -> BusinessCalendar | None:
        """The team's business calendar from ``[calendar]``, or ``None`` without one.

        Args:
            cls: the calendar class (a subclass overriding ``shifts_on`` works).
            **overrides: ``timezone``, ``hours`` or ``holidays`` to use instead of the file's.
        """
        if not self.settings["calendar"] and not overrides:
            return None
        settings = {"timezone": "UTC", **self.settings["calendar"], **overrides}
        return (cls or BusinessCalendar)(**settings)

    @overload
    def escalation_policy(self, cls: None = None, **overrides: Any) -> EscalationPolicy: ...

    @overload
    def escalation_policy(self, cls: type[E], **overrides: Any) -> E: ...

    def escalation_policy(
        self, cls: type[EscalationPolicy] | None = None, **overrides: Any
    ) -> EscalationPolicy:
        """The escalation policy: the file's numbers on ``cls``.

        ``minimum_roles`` in the file add to (or replace codes of) the class's defaults.

        Args:
            cls: :class:`~serviceplaybook.EscalationPolicy` or a subclass.
            **overrides: keyword arguments that win over the file.
        """
        settings = dict(self.settings["escalation"])
        if "ladder" in settings:
            settings["ladder"] = EscalationLadder(**settings["ladder"])
        if "minimum_roles" in settings:
            settings["minimum_roles"] = {
                **_default(cls or EscalationPolicy, "minimum_roles"),
                **settings["minimum_roles"],
            }
        return (cls or EscalationPolicy)(**{**settings, **overrides})

    @overload
    def apology_policy(self, cls: None = None, **overrides: Any) -> ApologyPolicy: ...

    @overload
    def apology_policy(self, cls: type[A], **overrides: Any) -> A: ...

    def apology_policy(
        self, cls: type[ApologyPolicy] | None = None, **overrides: Any
    ) -> ApologyPolicy:
        """The apology policy: caps, templates and families from the file on ``cls``.

        Templates replace the defaults of the same name; families named in the file are tried
        first, in the file's order, then the class's other families.

        Args:
            cls: :class:`~serviceplaybook.ApologyPolicy` or a subclass.
            **overrides: keyword arguments that win over the file.
        """
        settings = dict(self.settings["apology"])
        if "families" in settings:
            mine: Mapping[str, tuple[str, ...]] = settings["families"]
            defaults: Mapping[str, tuple[str, ...]] = _default(cls or ApologyPolicy, "families")
            settings["families"] = {
                **mine,
                **{name: words for name, words in defaults.items() if name not in mine},
            }
        return (cls or ApologyPolicy)(**{**settings, **overrides})

    @overload
    def compensation_policy(self, cls: None = None, **overrides: Any) -> CompensationPolicy: ...

    @overload
    def compensation_policy(self, cls: type[C], **overrides: Any) -> C: ...

    def compensation_policy(
        self, cls: type[CompensationPolicy] | None = None, **overrides: Any
    ) -> CompensationPolicy:
        """The compensation policy: the authority matrix, the rules and the claim limits.

        Without ``rules`` in the file, the class's default rules in the matrix's currency.

        Args:
            cls: :class:`~serviceplaybook.CompensationPolicy` or a subclass.
            **overrides: keyword arguments that win over the file.
        """
        return (cls or CompensationPolicy)(**{**self.settings["compensation"], **overrides})

    @overload
    def follow_up_policy(self, cls: None = None, **overrides: Any) -> FollowUpPolicy: ...

    @overload
    def follow_up_policy(self, cls: type[F], **overrides: Any) -> F: ...

    def follow_up_policy(
        self, cls: type[FollowUpPolicy] | None = None, **overrides: Any
    ) -> FollowUpPolicy:
        """The follow-up policy; ``delays`` in the file replace the class's for the
        severities they name.

        Args:
            cls: :class:`~serviceplaybook.FollowUpPolicy` or a subclass.
            **overrides: keyword arguments that win over the file.
        """
        settings = dict(self.settings["follow_up"])
        if "delays" in settings:
            settings["delays"] = {**_default(cls or FollowUpPolicy, "delays"), **settings["delays"]}
        return (cls or FollowUpPolicy)(**{**settings, **overrides})

    @overload
    def sla_policy(
        self,
        cls: None = None,
        *,
        calendar_cls: type[BusinessCalendar] = ...,
        **overrides: Any,
    ) -> SlaPolicy: ...

    @overload
    def sla_policy(
        self,
        cls: type[S],
        *,
        calendar_cls: type[BusinessCalendar] = ...,
        **overrides: Any,
    ) -> S: ...

    def sla_policy(
        self,
        cls: type[SlaPolicy] | None = None,
        *,
        calendar_cls: type[BusinessCalendar] = BusinessCalendar,
        **overrides: Any,
    ) -> SlaPolicy:
        """The SLA policy, counting in the file's ``[calendar]`` (the customer's own business
        hours without one).

        Targets the file sets replace the class's clock by clock; tier targets start from the
        severity's targets.

        Args:
            cls: :class:`~serviceplaybook.SlaPolicy` or a subclass.
            calendar_cls: the calendar class for ``[calendar]``.
            **overrides: keyword arguments that win over the file (``calendar`` included).
        """
        sla = self.settings["sla"]
        settings: dict[str, Any] = {
            key: value for key, value in sla.items() if key not in ("targets", "tier_targets")
        }
        calendar = self.calendar(calendar_cls)
        if calendar is not None:
            settings["calendar"] = calendar
        base: dict[Severity, SlaTargets] = dict(_default(cls or SlaPolicy, "targets"))
        for severity, clocks in sla.get("targets", {}).items():
            base[severity] = attrs.evolve(base[severity], **clocks)
        if "targets" in sla:
            settings["targets"] = base
        if "tier_targets" in sla:
            settings["tier_targets"] = {
                tier: {
                    severity: attrs.evolve(base[severity], **clocks)
                    for severity, clocks in severities.items()
                }
                for tier, severities in sla["tier_targets"].items()
            }
        return (cls or SlaPolicy)(**{**settings, **overrides})

    @overload
    def playbook(self, cls: None = None, **overrides: Any) -> Playbook: ...

    @overload
    def playbook(self, cls: type[P], **overrides: Any) -> P: ...

    def playbook(self, cls: type[Playbook] | None = None, **overrides: Any) -> Playbook:
        """The conversation playbook with the file's ``reopen_window``, stages, transitions
        and guidance.

        When the file adds stages, transitions or guidance, the playbook is an instance of
        :meth:`playbook_class`, a subclass of ``cls``; otherwise of ``cls`` itself.

        Args:
            cls: :class:`~serviceplaybook.Playbook` or a subclass.
            **overrides: keyword arguments that win over the file.

        Raises:
            PlaybookFileError: ``cls`` lacks a method the file's transitions name, already has
                a stage the file adds, or its machine refuses the file's transitions.
        """
        settings = {
            key: value
            for key, value in self.settings["playbook"].items()
            if key not in ("stages", "transitions", "guidance")
        }
        return self.playbook_class(cls)(**{**settings, **overrides})

    @overload
    def playbook_class(self, cls: None = None) -> type[Playbook]: ...

    @overload
    def playbook_class(self, cls: type[P]) -> type[P]: ...

    def playbook_class(self, cls: type[Playbook] | None = None) -> type[Playbook]:
        """The playbook class the file describes: ``cls`` itself when the file adds no
        stages, transitions or guidance, else a subclass of it named ``<cls>FromFile`` that
        carries them (built and compiled once per ``cls``).

        Args:
            cls: :class:`~serviceplaybook.Playbook` or a subclass; its methods are the guards
                and callbacks the file's transitions may name.

        Raises:
            PlaybookFileError: as for :meth:`playbook`.
        """
        base = cls or Playbook
        section = self.settings["playbook"]
        stages: tuple[str, ...] = section.get("stages", ())
        transitions: tuple[Transition, ...] = section.get("transitions", ())
        guidance: Mapping[str, tuple[Guidance, ...]] = section.get("guidance", _EMPTY)
        if not (stages or transitions or guidance):
            return base
        built = self._classes.get(base)
        if built is not None:
            return built
        problems = _name_problems(enumerate(stages), enumerate(transitions), guidance, base)
        if not problems:
            built = _playbook_class(base, stages, transitions, guidance)
            problems = _machine_problems(built, stages)
        if problems or built is None:
            raise PlaybookFileError(
                Problem(file=self.path, key=key, message=message) for key, message in problems
            )
        self._classes[base] = built
        return built

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, playbook_cls: type[Playbook] = Playbook
    ) -> PlaybookFile:
        """Read and validate a playbook file.

        Args:
            path: the TOML file.
            playbook_cls: the playbook class the file's ``[playbook]`` extends: its stages and
                methods are the ones the file may name (a subclass from code may add its own).

        Returns:
            The validated :class:`PlaybookFile`.

        Raises:
            PlaybookFileError: anything is wrong; ``problems`` lists every problem at once.
        """
        playbook_file, problems = _read(path, playbook_cls)
        if playbook_file is None:
            raise PlaybookFileError(problems)
        return playbook_file

    @classmethod
    def check(
        cls, path: str | os.PathLike[str], *, playbook_cls: type[Playbook] = Playbook
    ) -> tuple[Problem, ...]:
        """Every problem with a playbook file; empty when it is valid.

        Args:
            path: the TOML file.
            playbook_cls: the playbook class the file's ``[playbook]`` extends.
        """
        return _read(path, playbook_cls)[1]

    def desk_options(self) -> dict[str, Any]:
        """The ``ServiceDesk`` keyword arguments of ``[desk]`` the file sets
        (``max_delivery_attempts``, ``retry_backoff``, ``lease``)."""
        return dict(self.settings["desk"])

    def desk_keywords(
        self,
        *,
        playbook_cls: type[Playbook] = Playbook,
        escalation_cls: type[EscalationPolicy] = EscalationPolicy,
        apology_cls: type[ApologyPolicy] = ApologyPolicy,
        compensation_cls: type[CompensationPolicy] = CompensationPolicy,
        follow_up_cls: type[FollowUpPolicy] = FollowUpPolicy,
        sla_cls: type[SlaPolicy] = SlaPolicy,
        calendar_cls: type[BusinessCalendar] = BusinessCalendar,
    ) -> dict[str, Any]:
        """Every ``ServiceDesk`` keyword argument the file configures, each policy built with
        the class given: ``playbook``, ``escalation``, ``apology``, ``compensation``,
        ``follow_up``, ``sla`` and the :meth:`desk_options`.

        Raises:
            PlaybookFileError: a policy class refused the file's values (a subclass's own
                validation); nothing is returned half-built.
        """
        reader = _Reader(self.path)
        built: dict[str, Any] = {
            "playbook": reader.attempt("playbook", lambda: self.playbook(playbook_cls)),
            "escalation": reader.attempt(
                "escalation", lambda: self.escalation_policy(escalation_cls)
            ),
            "apology": reader.attempt("apology", lambda: self.apology_policy(apology_cls)),
            "compensation": reader.attempt(
                "compensation", lambda: self.compensation_policy(compensation_cls)
            ),
            "follow_up": reader.attempt("follow_up", lambda: self.follow_up_policy(follow_up_cls)),
            "sla": reader.attempt(
                "sla", lambda: self.sla_policy(sla_cls, calendar_cls=calendar_cls)
            ),
        }
        if reader.problems:
            raise PlaybookFileError(reader.problems)
        return {**built, **self.desk_options()}


# -- reading ---------------------------------------------------------------------------------------

_AT = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


def _parse(file: str, path: str | os.PathLike[str]) -> dict[str, Any] | Problem:
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        return Problem(file=file, key="", message="no such file")
    except IsADirectoryError:
        return Problem(file=file, key="", message="is a directory, not a playbook file")
    except OSError as error:
        return Problem(file=file, key="", message=f"cannot be read: {error.strerror or error}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return Problem(
            file=file,
            key="",
            message=f"is not UTF-8 text (byte 0x{raw[error.start]:02x} on line {line}); "
            f"save it as UTF-8",
        )
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _AT.search(message)
        where = "at the end of the file"
        if match is not None:
            message = message[: match.start()]
            if match.group(1):
                where = f"line {match.group(1)}, column {match.group(2)}"
        return Problem(file=file, key="", message=f"{where}: TOML syntax error: {message}")


def _read(
    path: str | os.PathLike[str], playbook_cls: type[Playbook]
) -> tuple[PlaybookFile | None, tuple[Problem, ...]]:
    file = os.fspath(path)
    parsed = _parse(file, path)
    if isinstance(parsed, Problem):
        return None, (parsed,)
    r = _Reader(file)
    r.table(parsed, "", _TOP)
    meta: dict[str, Any] = {}
    r.put(parsed, "", "name", _text, meta)
    r.put(parsed, "", "description", _text, meta)
    sections: dict[str, dict[str, Any]] = {}
    for section in parsed:  # in the file's order, so the problems are too
        if section not in _READERS:
            continue
        allowed, read = _READERS[section]
        if section == "playbook":
            read = functools.partial(_read_playbook, cls=playbook_cls)
        table = r.table(parsed[section], section, allowed)
        if table is not None:
            sections[section] = read(r, table)
    try:
        playbook_file = PlaybookFile(
            path=file,
            name=meta.get("name", ""),
            description=meta.get("description", ""),
            settings=sections,
        )
    except (ConfigError, ValidationError) as error:  # pragma: no cover - the readers checked
        r.add("", str(error))
        return None, tuple(r.problems)
    # A dry run: every policy built with the library's classes, so that what the constructors
    # refuse is reported now, under the section it came from, and never while building a desk.
    calendar_ok = "calendar" not in sections or not r.count("calendar")
    builds: dict[str, Callable[[], object]] = {
        "playbook": functools.partial(playbook_file.playbook, playbook_cls),
        "calendar": playbook_file.calendar,
        "escalation": playbook_file.escalation_policy,
        "apology": playbook_file.apology_policy,
        "compensation": playbook_file.compensation_policy,
        "follow_up": playbook_file.follow_up_policy,
        "sla": playbook_file.sla_policy
        if calendar_ok
        else functools.partial(playbook_file.sla_policy, calendar=None),
    }
    for section, build in builds.items():
        if section in sections and not r.count(section):
            r.attempt(section, build)
    if r.problems:
        return None, tuple(r.problems)
    return playbook_file, ()
