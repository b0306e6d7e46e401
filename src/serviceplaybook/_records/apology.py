"""Apology records: an apology, the decision to give one, and a finding on an agent's wording."""

from __future__ import annotations

from datetime import datetime

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.validate import (
    non_empty,
    of_type,
    optional_aware,
    snake_case,
    to_tuple,
)


@attrs.frozen(kw_only=True)
class Apology:
    """An apology, as composed and (once given) as recorded in the conversation.

    Attributes:
        text: the words.
        reasons: why this apology, in this form. From :meth:`ApologyPolicy.compose`:
            ``specific_apology``, ``apology_template``; ``second_apology`` and
            ``after_handover`` for a later one; where what went wrong came from
            (``confirmed_summary`` or ``issue_summary``); and where the impact came from
            (``summary_impact``, ``customer_impact``, ``no_stated_impact`` when none was
            stated and none is named, ``impact_not_repeated`` when a later form leaves it out).
        by: the id of the agent who gave it (empty until given).
        at: when it was given.
    """

    text: str = attrs.field(validator=non_empty, repr=False)
    reasons: tuple[Reason, ...] = attrs.field(default=(), converter=to_tuple)
    by: str = attrs.field(default="", validator=of_type(str))
    at: datetime | None = attrs.field(default=None, validator=optional_aware)


@attrs.frozen(kw_only=True)
class ApologyDecision:
    """Whether to apologize now, and why (or why not).

    Attributes:
        apologize: True when an apology is due now.
        reasons: every rule that refused, or why it is due (codes such as
            ``not_yet_reflected``, ``apologized_already``, ``apology_cap_reached``,
            ``apology_due``).
    """

    apologize: bool = attrs.field(validator=of_type(bool))
    reasons: tuple[Reason, ...] = attrs.field(converter=to_tuple)

    @property
    def codes(self) -> tuple[str, ...]:
        """The reasons' codes, in order."""
        return tuple(reason.code for reason in self.reasons)


def _span(value: object) -> tuple[int, int]:
    if (
        not isinstance(value, tuple | list)
        or len(value) != 2
        or not all(isinstance(item, int) and not isinstance(item, bool) for item in value)
        or not 0 <= value[0] <= value[1]
    ):
        raise ValidationError(
            f"Finding.span must be (start, end) with 0 <= start <= end, got {value!r}"
        )
    return (value[0], value[1])


@attrs.frozen(kw_only=True)
class Finding:
    """Something to change in an agent's wording, found by :meth:`ApologyPolicy.review`
    or, for a whole draft, by :meth:`DraftReview.review` (``ServiceDesk.review``).

    Attributes:
        code: stable snake_case code (``generic_apology``, ``excuse``, ``blame_shifting``,
            ``repeated_sorry``, ``apology_cap_reached``, ``apologized_already``; and from
            the draft review ``promise_above_authority``, ``promise_already_declined``,
            ``fix_before_confirmed``, ``no_acknowledgement``, ``jargon_to_confused``).
        text: one sentence of advice for the agent.
        span: ``(start, end)`` offsets of the offending words in the reviewed text.
        excerpt: the offending words themselves (``text[start:end]`` of the reviewed text).
    """

    code: str = attrs.field(validator=snake_case)
    text: str = attrs.field(validator=non_empty)
    span: tuple[int, int] = attrs.field(converter=_span)
    excerpt: str = attrs.field(validator=of_type(str))

    @property
    def reason(self) -> Reason:
        """The finding as a :class:`Reason` (code and advice), for code that collects reasons."""
        return Reason(code=self.code, text=self.text)
