"""Field validators and converters shared by the records.

They raise :class:`~serviceplaybook.ValidationError` (a ``ValueError``) naming the record,
the field, the value received and what is allowed, so a mistake surfaces at construction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import attrs

from serviceplaybook._errors import ValidationError


def _where(instance: object, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


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
    """Return ``value`` if it is timezone-aware, else raise naming ``what``."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        shown = value.isoformat() if isinstance(value, datetime) else type(value).__name__
        raise ValidationError(
            f"{what} must be a timezone-aware datetime, got {shown}; "
            f"attach a tzinfo, e.g. datetime.now(timezone.utc)"
        )
    return value


def non_empty(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a non-blank ``str``."""
    if not isinstance(value, str):
        raise ValidationError(
            f"{_where(instance, attribute)} must be a str, got {type(value).__name__}"
        )
    if not value or value.isspace():  # blank: what strip() would leave empty
        raise ValidationError(f"{_where(instance, attribute)} must not be empty")


def of_type(*types: type) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """Require an instance of one of ``types`` (``bool`` is not accepted as ``int``)."""
    names = " or ".join(t.__name__ for t in types)

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ValidationError(
                f"{_where(instance, attribute)} must be {names}, got {type(value).__name__} "
                f"{value!r}"
            )

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
