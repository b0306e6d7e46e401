"""Conditions on the facts of a case: the small declarative grammar compensation rules use.

A :class:`Condition` tests one subject of the case: the customer's ``tier``, the issue's
``category`` or ``severity``, or one of the issue's facts (any other name). :class:`AllOf`
and :class:`AnyOf` combine conditions and each other. There is no expression language and
nothing is evaluated: each test is one of five, with these exact semantics.

- ``equals``: the subject equals the value. Strings compare without letter case and
  surrounding spaces (as tiers and categories always have); ints and Decimals compare as
  numbers (``3`` equals ``Decimal("3.0")``); a boolean equals only a boolean; a date only a
  date. Values of different kinds are never equal.
- ``one_of``: the subject equals (as above) one of the values.
- ``at_least`` / ``at_most``: the subject is a number (int or Decimal, never a boolean) and
  so is the bound, or both are dates, or the subject is ``severity`` (ranked ``low <
  medium < high < critical``); inclusive. Both may be given: a range. A subject of another
  kind does not hold.
- ``present``: ``true`` holds when the issue has the fact, ``false`` when it has not.

A fact the issue does not have holds no test but ``present = false``: a rule over an unknown
fact never fires. ``tier`` and ``category`` take ``equals`` and ``one_of`` (they have no
order); ``severity`` takes every test but ``present`` (every issue has one).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.facts import SUBJECTS, FactValue, fact_name, fact_value
from serviceplaybook._records.issue import Severity
from serviceplaybook._records.validate import of_type

if TYPE_CHECKING:
    from serviceplaybook._records.conversation import Conversation

TESTS: tuple[str, ...] = ("equals", "one_of", "at_least", "at_most", "present")
"""The tests a :class:`Condition` may make, one per condition (``at_least`` with
``at_most`` makes a range)."""

_MISSING = object()


def _subject(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, str) and value in SUBJECTS:
        return
    fact_name(value, f"Condition.on ({'/'.join(SUBJECTS)} or a fact's name)")


def _optional_value(value: object) -> FactValue | None:
    return None if value is None else fact_value(value, "a Condition's value")


def _values(value: object) -> tuple[FactValue, ...] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(
            f"Condition.one_of must be a list of values, got {type(value).__name__} {value!r}"
        )
    values = tuple(fact_value(item, "Condition.one_of[...]") for item in value)
    if not values:
        raise ValidationError("Condition.one_of must list at least one value")
    return values


def _optional_bool(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        of_type(bool)(instance, attribute, value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _is_day(value: object) -> bool:
    return isinstance(value, date)


def same(value: object, expected: object) -> bool:
    """The equality ``equals`` and ``one_of`` use (see the module's docstring)."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return type(value) is type(expected) and value == expected
    if isinstance(value, str) and isinstance(expected, str):
        return value.strip().casefold() == expected.strip().casefold()
    if _is_number(value) and _is_number(expected):
        return Decimal(value) == Decimal(expected)  # type: ignore[arg-type]
    if _is_day(value) and _is_day(expected):
        return value == expected
    return False


@attrs.frozen(kw_only=True)
class Condition:
    """One test on one subject of the case.

    ``Condition(on="cabin", equals="business")``, ``Condition(on="passengers",
    at_least=2)``, ``Condition(on="tier", one_of=["silver", "gold"])``,
    ``Condition(on="severity", at_least="high")``, ``Condition(on="insured", present=True)``.
    The exact semantics of each test are in :mod:`this module's docstring
    <serviceplaybook._policies.conditions>` and ``docs/compensation-rules.md``.

    Attributes:
        on: ``"tier"`` (the customer's), ``"category"`` or ``"severity"`` (the issue's), or
            the snake_case name of one of the issue's facts.
        equals: the subject equals this value.
        one_of: the subject equals one of these values.
        at_least: the subject is this much or more (numbers, dates, severities).
        at_most: the subject is this much or less (numbers, dates, severities).
        present: whether the issue has the fact.

    Raises:
        ValidationError: no test or several (but ``at_least`` with ``at_most``); a float or
            another type as a value; a test the subject does not take (``at_least`` on a
            tier, ``present`` on the severity); an unknown severity; a bound of no order (a
            string or a boolean); ``at_least`` above ``at_most``.
    """

    on: str = attrs.field(validator=_subject)
    equals: FactValue | None = attrs.field(default=None, converter=_optional_value)
    one_of: tuple[FactValue, ...] | None = attrs.field(default=None, converter=_values)
    at_least: FactValue | None = attrs.field(default=None, converter=_optional_value)
    at_most: FactValue | None = attrs.field(default=None, converter=_optional_value)
    present: bool | None = attrs.field(default=None, validator=_optional_bool)

    def __attrs_post_init__(self) -> None:
        given = [name for name in TESTS if getattr(self, name) is not None]
        if not given:
            raise ValidationError(
                f"Condition on {self.on!r} makes no test; give one of {', '.join(TESTS)}"
            )
        if len(given) > 1 and set(given) != {"at_least", "at_most"}:
            raise ValidationError(
                f"Condition on {self.on!r} makes {len(given)} tests ({', '.join(given)}); give "
                f"one per condition (at_least with at_most makes a range), and combine "
                f"conditions with AllOf or AnyOf"
            )
        if self.on in ("tier", "category"):
            if not set(given) <= {"equals", "one_of"}:
                raise ValidationError(
                    f"a {self.on} has no order and is always there: a Condition on "
                    f"{self.on!r} takes equals or one_of, not {given[0]}"
                )
            for value in self._compared():
                if not isinstance(value, str):
                    raise ValidationError(
                        f"a Condition on {self.on!r} compares names (strings), got {value!r}"
                    )
        elif self.on == "severity":
            if self.present is not None:
                raise ValidationError(
                    "every issue has a severity: a Condition on 'severity' takes equals, "
                    "one_of, at_least or at_most, not present"
                )
            for named in (*self._compared(), self.at_least, self.at_most):
                if named is not None:
                    self._severity(named)
        else:
            for name in ("at_least", "at_most"):
                bound = getattr(self, name)
                if bound is not None and not (_is_number(bound) or _is_day(bound)):
                    raise ValidationError(
                        f"Condition.{name} on {self.on!r} must be a number (an int or a "
                        f"Decimal) or a date, got {type(bound).__name__} {bound!r}"
                    )
        low, high = self.at_least, self.at_most
        if low is not None and high is not None:
            ordered = self._ordered(low, high)
            if ordered is None:
                raise ValidationError(
                    f"Condition on {self.on!r}: at_least ({low!r}) and at_most ({high!r}) are "
                    f"of different kinds"
                )
            if not ordered:
                raise ValidationError(
                    f"Condition on {self.on!r}: at_least ({low!r}) is above at_most "
                    f"({high!r}); nothing could hold it"
                )

    def _compared(self) -> tuple[FactValue, ...]:
        return (*(() if self.equals is None else (self.equals,)), *(self.one_of or ()))

    def _severity(self, value: object) -> Severity:
        names = [severity.value for severity in Severity]
        if not isinstance(value, str) or value.strip().lower() not in names:
            close = difflib.get_close_matches(str(value).strip().lower(), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(
                f"a Condition on 'severity' compares severities, one of {', '.join(names)}; "
                f"got {value!r}{hint}"
            )
        return Severity(value.strip().lower())

    def _ordered(self, low: object, high: object) -> bool | None:
        """True when ``low <= high``, None when they cannot be compared."""
        if self.on == "severity":
            return self._severity(low) <= self._severity(high)
        if _is_number(low) and _is_number(high):
            return Decimal(low) <= Decimal(high)  # type: ignore[arg-type]
        if isinstance(low, date) and isinstance(high, date):
            return low <= high
        return None

    def subject(self, conversation: Conversation) -> object:
        """The value the condition tests in ``conversation`` (a sentinel when the fact is
        missing)."""
        if self.on == "tier":
            return conversation.customer.tier
        if self.on == "category":
            return conversation.issue.category
        if self.on == "severity":
            return conversation.issue.severity
        return conversation.issue.facts.get(self.on, _MISSING)

    def holds(self, conversation: Conversation) -> bool:
        """True when the test holds for ``conversation``'s customer and issue."""
        value = self.subject(conversation)
        if self.present is not None:
            return (value is not _MISSING) is self.present
        if value is _MISSING:
            return False
        if isinstance(value, Severity):
            value = value.value
        if self.equals is not None:
            return self._same(value, self.equals)
        if self.one_of is not None:
            return any(self._same(value, option) for option in self.one_of)
        if self.at_least is not None and self._ordered(self.at_least, value) is not True:
            return False
        return self.at_most is None or self._ordered(value, self.at_most) is True

    def _same(self, value: object, expected: object) -> bool:
        if self.on == "severity":
            return self._severity(expected).value == value
        return same(value, expected)


def _members(value: object) -> tuple[When, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(
            f"AllOf and AnyOf take a list of conditions, got {type(value).__name__} {value!r}"
        )
    members = tuple(value)
    if not members:
        raise ValidationError("AllOf and AnyOf need at least one condition")
    for member in members:
        if not isinstance(member, Condition | AllOf | AnyOf):
            raise ValidationError(
                f"AllOf and AnyOf combine Condition, AllOf and AnyOf, got "
                f"{type(member).__name__} {member!r}"
            )
    return members


@attrs.frozen
class AllOf:
    """Holds when every one of its conditions holds: ``AllOf([c1, c2])``.

    Attributes:
        conditions: the conditions (:class:`Condition`, :class:`AllOf` or :class:`AnyOf`),
            at least one.
    """

    conditions: tuple[When, ...] = attrs.field(converter=_members)

    def holds(self, conversation: Conversation) -> bool:
        """True when every condition holds for ``conversation``."""
        return all(condition.holds(conversation) for condition in self.conditions)


@attrs.frozen
class AnyOf:
    """Holds when at least one of its conditions holds: ``AnyOf([c1, c2])``.

    Attributes:
        conditions: the conditions (:class:`Condition`, :class:`AllOf` or :class:`AnyOf`),
            at least one.
    """

    conditions: tuple[When, ...] = attrs.field(converter=_members)

    def holds(self, conversation: Conversation) -> bool:
        """True when at least one condition holds for ``conversation``."""
        return any(condition.holds(conversation) for condition in self.conditions)


When = Condition | AllOf | AnyOf
"""A rule's condition: one :class:`Condition`, or conditions combined."""
