"""What the customer's problem is, and how severe."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.enums import Ranked
from serviceplaybook._records.facts import FactValue, to_facts
from serviceplaybook._records.money import Money
from serviceplaybook._records.validate import non_empty, of_type


class Severity(Ranked):
    """How bad the problem is for the customer: ``LOW < MEDIUM < HIGH < CRITICAL``."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@attrs.frozen(kw_only=True)
class Issue:
    """The customer's problem.

    Attributes:
        category: the host app's category ("damaged_item", "billing"...); policies key on it.
        severity: how bad it is for the customer.
        summary: one line, in the company's words; ``repr`` hides it (it may hold personal data).
        order_value: what the affected order was worth, when there is one.
        facts: what the host's own systems know about the case, by snake_case name
            (``{"passengers": 3, "cabin": "business", "insured": True}``): strings, ints,
            Decimals, booleans and dates (floats and other types are refused). Compensation
            rules read them; the names ``tier``, ``category`` and ``severity`` are taken by the
            case itself. ``repr`` hides them (they may hold personal data); the journal
            records them redacted.
    """

    category: str = attrs.field(validator=non_empty)
    severity: Severity = attrs.field(converter=Severity)
    summary: str = attrs.field(validator=non_empty, repr=False)
    order_value: Money | None = attrs.field(default=None, validator=of_type(Money, type(None)))
    # Left out of the hash (a mapping has none); equal issues still hash equal.
    facts: Mapping[str, FactValue] = attrs.field(
        factory=dict, converter=to_facts, repr=False, hash=False
    )

    @order_value.validator
    def _worth_something(self, attribute: attrs.Attribute[Money | None], value: object) -> None:
        if isinstance(value, Money) and value.is_negative:
            raise ValidationError(
                f"Issue.order_value must be zero or more, got {value}; an order is worth "
                f"what the customer paid (record refunds as offers)"
            )
