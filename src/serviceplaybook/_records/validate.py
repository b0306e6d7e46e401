"""Field validators and converters shared by the records, and the argument checks built on
the same rules.

They raise :class:`~serviceplaybook.ValidationError` (a ``ValueError``) naming the record
and field (or the call and argument), the value received and what is allowed, so a mistake
surfaces at construction or at the call; a value of the wrong type raises
:class:`~serviceplaybook.WrongType`, which is also a ``TypeError``.

The rules every backend can hold (``docs/bad-input.md`` lists them for users):

- text (a message, a name, a summary) is any Unicode text of at most :data:`MAX_TEXT_LENGTH`
  characters without NUL characters or lone surrogates: SQLite cannot encode a lone
  surrogate as UTF-8, and PostgreSQL refuses NUL in text. Texts that must say something
  must not be blank (nothing but white space and invisible format characters).
- an identifier (a customer, agent, offer or conversation id) is 1 to
  :data:`MAX_ID_LENGTH` printable characters (``str.isprintable``: no control, format,
  zero-width, surrogate or unassigned characters, no space but the ASCII one), without
  white space at either end.
- an instant is timezone-aware and between :data:`EARLIEST` and :data:`LATEST`, so that
  adding targets, leases and windows to it never runs past the year 9999.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from serviceplaybook._errors import PlaybookError, ValidationError, WrongType

MAX_TEXT_LENGTH = 100_000
"""The longest text accepted, in characters (a long e-mail with its quotes is ~20,000)."""

MAX_ID_LENGTH = 200
"""The longest identifier accepted, in characters."""

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
"""The earliest instant accepted."""

LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""The latest instant accepted: a millennium short of ``datetime.max``, so that every target,
lease, retry and window added to it stays a valid ``datetime``."""

MAX_COUNT = 1000
"""The largest count a policy setting accepts (handoffs, declined offers, claims...)."""

MAX_DELIVERY_ATTEMPTS = 100
"""The most attempts a desk gives a follow-up."""

MAX_RETRY_BACKOFF = timedelta(days=7)
"""The longest first wait before a follow-up's retry (it doubles, up to a year, each time)."""

MAX_LEASE = timedelta(days=7)
"""The longest a worker may hold a claimed follow-up."""

V = TypeVar("V")

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _where(instance: object, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut short: an error message names a huge value, it does not hold it."""
    if isinstance(value, int) and value.bit_length() > 256:  # repr() of 10**5000 raises
        return f"an int of {value.bit_length()} bits"
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # nested thousands deep; a failing __repr__
        return f"a {type(value).__name__} that cannot be shown"
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


def wrong_type(what: str, expected: str, value: object) -> WrongType:
    """The error for ``what`` given ``value`` where ``expected`` belongs."""
    got = type(value).__name__
    detail = "" if isinstance(value, str | bytes) else f" {shown(value)}"
    return WrongType(f"{what} must be {expected}, got {got}{detail}")


def text_problem(value: str) -> str | None:
    """What keeps ``value`` from being stored as text (too long, a NUL character, a lone
    surrogate), or ``None`` when every backend can hold it."""
    if len(value) > MAX_TEXT_LENGTH:
        return f"is {len(value):,} characters long; at most {MAX_TEXT_LENGTH:,} are allowed"
    bad = _UNSTORABLE.search(value)
    if bad is None:
        return None
    found = bad.group()
    name = "a NUL character" if found == "\x00" else f"a lone surrogate (U+{ord(found):04X})"
    return (
        f"holds {name} at position {bad.start()}; text must be valid Unicode without NUL "
        f"characters (a lone surrogate cannot be encoded as UTF-8, and NUL cannot be stored)"
    )


def blank(value: str) -> bool:
    """True when ``value`` shows nothing: only white space and invisible format characters
    (zero-width spaces, joiners, direction marks)."""
    # a plain loop that stops at the first visible character (every record's text checks
    # come here, and its first character is almost always visible)
    for character in value:
        if not character.isspace() and unicodedata.category(character) != "Cf":
            return False
    return True


def check_text(value: object, what: str, *, may_be_blank: bool = False) -> str:
    """Return ``value`` if it is a storable text (non-blank unless ``may_be_blank``), else
    raise naming ``what`` (``WrongType`` for a non-str)."""
    if not isinstance(value, str):
        raise wrong_type(what, "a str", value)
    problem = text_problem(value)
    if problem is not None:
        raise ValidationError(f"{what} {problem}")
    if not may_be_blank and blank(value):
        raise ValidationError(
            f"{what} must not be blank, got {shown(value)}; write at least one visible character"
        )
    return value


def check_identifier(value: object, what: str) -> str:
    """Return ``value`` if it is an identifier (see the module's rules), else raise naming
    ``what`` (``WrongType`` for a non-str)."""
    if not isinstance(value, str):
        raise wrong_type(what, "an id (a str)", value)
    if value and len(value) <= MAX_ID_LENGTH and value.isprintable() and value == value.strip():
        return value
    if not value or value.isspace():
        problem = "must not be empty"
    elif len(value) > MAX_ID_LENGTH:
        problem = f"is {len(value):,} characters long; at most {MAX_ID_LENGTH} are allowed"
    elif value != value.strip():
        problem = f"must not start or end with white space, got {shown(value)}"
    else:
        position, char = next((i, c) for i, c in enumerate(value) if not c.isprintable())
        problem = (
            f"holds the invisible or control character U+{ord(char):04X} at position "
            f"{position}, got {shown(value)}"
        )
    raise ValidationError(
        f"{what} {problem}; an id is 1 to {MAX_ID_LENGTH} printable characters "
        f"(letters, digits, punctuation, inner spaces)"
    )


def check_count(value: object, what: str, low: int = 0, high: int = MAX_COUNT) -> int:
    """Return ``value`` if it is an int from ``low`` to ``high``, else raise naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(what, "an int", value)
    if not low <= value <= high:
        raise ValidationError(
            f"{what} must be a whole number from {low} to {high}, got {shown(value)}"
        )
    return value


def normal_name(value: object, what: str) -> str:
    """A name the host application writes freely (a customer tier, an issue category) as
    every record and policy compares it: without white space at either end and without letter
    case (``str.casefold``), so ``"VIP"``, ``"vip"`` and ``" Vip "`` are one tier.

    Raises:
        WrongType: ``value`` is not a str.
        ValidationError: it is blank or cannot be stored (see :func:`check_text`).
    """
    return check_text(value, what).strip().casefold()


def normal_names(
    value: object, what: str, *, error: type[PlaybookError] = ValidationError
) -> frozenset[str]:
    """A collection of names, each as :func:`normal_name` gives it.

    Args:
        value: the names (a set, list or tuple; a lone string is refused, since it would be
            read as its letters).
        what: the setting, for the message.
        error: the error raised for a lone string or a bad name (``ConfigError`` for a
            policy's setting).
    """
    if isinstance(value, str | bytes):
        raise error(
            f"{what} must be a collection of names, got the string {shown(value)}; write "
            f"{{{shown(value)}}}"
        )
    if not isinstance(value, Iterable):
        raise error(f"{what} must be a collection of names, got {shown(value)}")
    try:
        return frozenset(normal_name(item, f"{what} item") for item in value)
    except ValidationError as problem:
        if error is ValidationError or isinstance(problem, error):
            raise
        raise error(str(problem)) from None


def normal_keyed(
    value: object,
    what: str,
    item: Callable[[str, Any], V],
    *,
    error: type[PlaybookError] = ValidationError,
) -> dict[str, V]:
    """A mapping keyed by names (a policy's per-tier settings), each key as
    :func:`normal_name` gives it and each value as ``item(key, value)`` returns it.

    Raises ``error`` when ``value`` is not a mapping, a key is not a name, or two keys are the
    same name once normalised (``"VIP"`` and ``"vip"``: which setting would win is a guess).
    """
    if not isinstance(value, Mapping):
        raise error(f"{what} must map names to settings, got {shown(value)}")
    found: dict[str, V] = {}
    written: dict[str, object] = {}
    for key, entry in value.items():
        try:
            name = normal_name(key, f"{what} key")
        except ValidationError as problem:
            raise (problem if isinstance(problem, error) else error(str(problem))) from None
        if name in found:
            raise error(
                f"{what} has both {written[name]!r} and {key!r}, which are the same name "
                f"{name!r} (names compare without letter case and surrounding spaces); keep one"
            )
        found[name] = item(name, entry)
        written[name] = key
    return found


def identifier(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require an identifier: 1 to ``MAX_ID_LENGTH`` printable characters, no white space at
    either end."""
    check_identifier(value, _where(instance, attribute))


def counted(
    low: int = 0, high: int = MAX_COUNT
) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """Require an ``int`` from ``low`` to ``high`` (a policy's count setting)."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check_count(value, _where(instance, attribute), low, high)

    return check


SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
"""A stable code: lower-case words joined by underscores (``customer_is_angry``)."""


def snake_case(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a snake_case code, such as a reason's."""
    if not isinstance(value, str) or not SNAKE_CASE.fullmatch(value):
        raise ValidationError(
            f"{_where(instance, attribute)} must be a snake_case identifier such as "
            f"'customer_is_angry', got {value!r}"
        )


def aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a timezone-aware ``datetime``."""
    if type(value) is datetime and value.tzinfo is UTC:
        return  # the desk's own times: every record of a call checks the same one
    if not isinstance(value, datetime):
        raise ValidationError(
            f"{_where(instance, attribute)} must be a timezone-aware datetime, "
            f"got {type(value).__name__}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{_where(instance, attribute)} must be timezone-aware, got the naive datetime "
            f"{value.isoformat()}; attach a tzinfo, e.g. datetime.now(timezone.utc)"
        )


def optional_aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require ``None`` or a timezone-aware ``datetime``."""
    if value is not None:
        aware(instance, attribute, value)


def require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` if it is a timezone-aware datetime from :data:`EARLIEST` to
    :data:`LATEST`, else raise naming ``what`` (``WrongType`` for a non-datetime)."""
    if not isinstance(value, datetime):
        raise wrong_type(what, "a timezone-aware datetime", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{what} must be a timezone-aware datetime, got {value.isoformat()}; "
            f"attach a tzinfo, e.g. datetime.now(timezone.utc)"
        )
    try:
        inside = EARLIEST <= value <= LATEST
    except OverflowError:  # an offset that takes it past datetime's own range
        inside = False
    if not inside:
        raise ValidationError(
            f"{what} must be from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} (UTC), got "
            f"{value.isoformat()}; later times leave no room to add targets and windows "
            f"before the year 9999"
        )
    return value


def non_empty(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a storable, non-blank ``str`` (see :func:`check_text`)."""
    if (
        isinstance(value, str)
        and len(value) <= MAX_TEXT_LENGTH
        and _UNSTORABLE.search(value) is None
        and not blank(value)
    ):
        return  # the same checks as check_text; the error's wording is built only on failure
    check_text(value, _where(instance, attribute))


def of_type(*types: type) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """Require an instance of one of ``types`` (``bool`` is not accepted as ``int``); a
    ``str`` must also be storable text (:func:`text_problem`)."""
    names = " or ".join(t.__name__ for t in types)

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise wrong_type(_where(instance, attribute), names, value)
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                raise ValidationError(f"{_where(instance, attribute)} {problem}")

    return check


def between(low: float, high: float) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """Require a real number in ``[low, high]``."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (low <= value <= high)
        ):
            raise ValidationError(
                f"{_where(instance, attribute)} must be a number from {low} to {high}, "
                f"got {value!r}"
            )

    return check


def non_negative_int(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require an ``int`` >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"{_where(instance, attribute)} must be an int of 0 or more, got {value!r}"
        )


def read_only(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """A read-only copy of a mapping, so a frozen record's mapping cannot change under it."""
    return MappingProxyType(dict(value))


def to_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    """Convert any iterable (but not a lone string) to a tuple, so records stay immutable."""
    if isinstance(value, str | bytes):
        raise ValidationError(f"expected a sequence of items, got the string {value!r}")
    return tuple(value)


def check_period(what: str, since: datetime | None, until: datetime | None) -> None:
    """A period given as ``since`` (included) and ``until`` (excluded), either end open
    (``None``): aware datetimes, ``until`` after ``since``."""
    if since is not None:
        require_aware(since, f"{what}(since)")
    if until is not None:
        require_aware(until, f"{what}(until)")
    if since is not None and until is not None and until <= since:
        raise ValidationError(
            f"{what}(until) must be after since, got since={since.isoformat()} and "
            f"until={until.isoformat()}; the period runs from since up to, not including, until"
        )


def in_period(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    """True when ``moment`` falls in the period :func:`check_period` checks: from ``since``
    (included) up to ``until`` (excluded), ``None`` leaving that end open."""
    return (since is None or moment >= since) and (until is None or moment < until)


def check_claim(limit: object, lease: timedelta) -> None:
    """A scheduler's ``claim_due(limit=..., lease=...)``: at least one follow-up, for a
    positive lease (every scheduler checks its claims the same way)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError(f"claim_due(limit) must be an int of 1 or more, got {limit!r}")
    if lease <= timedelta(0):
        raise ValidationError(
            f"claim_due(lease) must be a positive duration, got {lease}: a claim without a "
            f"lease could be handed out again at once"
        )
