"""The facts of a case: what the host's own systems know about the customer's problem.

An :class:`~serviceplaybook.Issue` carries them as ``facts``, a read-only mapping of
snake_case names to plain values (:data:`FactValue`): passengers on a booking, the cabin,
whether the trip was insured, the plan, the number of days late. Compensation rules read them
(:class:`~serviceplaybook.Condition`, and amounts per unit or as a share of a fact).

Values are strings, whole numbers, decimals, booleans and dates, nothing else: a float is
refused (it cannot hold most amounts exactly; write ``Decimal("12.50")``), and so is a
date-time (a fact is a whole day; keep times in the host's own records).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.validate import SNAKE_CASE, shown, text_problem, wrong_type

FactValue = str | int | Decimal | bool | date
"""What a fact may hold: a string, a whole number, a :class:`~decimal.Decimal`, a boolean or
a date."""

SUBJECTS: tuple[str, ...] = ("tier", "category", "severity")
"""The names a condition reads from the case itself (the customer's tier, the issue's category
and severity); a fact may not take one of them, so a condition's subject is never ambiguous."""

ALLOWED = "a str, an int, a Decimal, a bool or a date"


def fact_value(value: object, where: str) -> FactValue:
    """``value`` if it is a fact value, else raise naming ``where`` and what is allowed."""
    if isinstance(value, float):
        raise ValidationError(
            f"{where} is the float {value!r}: floats cannot hold most amounts exactly; write "
            f"Decimal({str(value)!r}) (or an int), one of {ALLOWED}"
        )
    if isinstance(value, datetime):
        raise ValidationError(
            f"{where} is a datetime ({value.isoformat()}): a fact is {ALLOWED}; give the day, "
            f"{value.date()!r}"
        )
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(f"{where} must be a finite Decimal, got {shown(value)}")
        return value
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValidationError(f"{where} {problem}")
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 63:
        raise ValidationError(
            f"{where} is {shown(value)}; a whole-number fact must fit in 64 bits (every store "
            f"holds it as a number)"
        )
    if isinstance(value, int | date):  # bool is an int
        return value
    raise wrong_type(where, ALLOWED, value)


def fact_name(name: object, where: str) -> str:
    """``name`` if it is a fact's name: snake_case, and not one of :data:`SUBJECTS`."""
    if not isinstance(name, str) or not SNAKE_CASE.fullmatch(name):
        raise ValidationError(
            f"{where}: fact names are snake_case, such as 'passengers' or 'days_late'; got {name!r}"
        )
    if name in SUBJECTS:
        raise ValidationError(
            f"{where}: {name!r} is the case's own {name} (conditions read it from the "
            f"{'customer' if name == 'tier' else 'issue'}); name the fact otherwise, such as "
            f"'fare_{name}'"
        )
    return name


def to_facts(value: Mapping[str, FactValue]) -> Mapping[str, FactValue]:
    """A read-only copy of ``value`` after checking every name and value (``Issue.facts``)."""
    if not isinstance(value, Mapping):
        raise wrong_type("Issue.facts", f"a mapping of fact names to values ({ALLOWED})", value)
    facts: dict[str, FactValue] = {}
    for name, item in value.items():
        where = f"Issue.facts[{name!r}]"
        facts[fact_name(name, where)] = fact_value(item, where)
    return MappingProxyType(facts)
