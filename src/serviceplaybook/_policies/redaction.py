"""Masking of personal data in what serviceplaybook writes to its journal and its logs.

A conversation keeps the customer's messages as they were written. Everything that leaves the
conversation for the journal or for a log record passes through a :class:`Redactor` first, which
replaces what it recognizes with a marker naming the kind of datum:

* payment card numbers (``[card]``): 13 to 19 digits, contiguous or in groups of 4 to 6 digits
  (the last one possibly shorter) separated by single spaces or hyphens, and only when the
  digits pass the Luhn check;
* email addresses (``[email]``): ``local@domain.tld`` with dots and plus-addressing in the local
  part and subdomains in the domain, in any letter case;
* phone numbers (``[phone]``):

  - international numbers: a leading ``+`` and 7 to 15 digits, optionally separated by spaces,
    dots, hyphens or parentheses (``+44 20 7946 0958``, ``+1 (555) 123-4567``,
    ``+44 (0) 20 7946 0958``, ``+4915123456789``);
  - North-American numbers: ``(555) 123-4567``, ``555-123-4567``, ``555.123.4567``,
    ``555 123 4567``, optionally preceded by a ``1`` trunk prefix (``1-800-555-1234``);
  - national numbers that start with ``0`` and have 9 to 11 digits, contiguous or grouped by
    spaces or hyphens (``020 7946 0958``, ``030-12345678``, ``0612345678``).

Short numbers are left alone: order numbers of up to 8 digits, amounts (``$1,234.56``),
ISO dates (``2024-03-15``), times (``17:30``) and version strings (``1.2.3``).

A pattern-based redactor masks what it recognizes, not every possible personal datum: a name,
a street address or a number written in words passes through unchanged. Integrators who need
more add their own rules with :meth:`Redactor.with_extra`, or subclass :class:`Redactor`.

:class:`RedactingFilter` applies a redactor to log records. serviceplaybook never configures
logging itself: attach the filter to the handlers (or loggers) of your choice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, Self, TypeAlias, TypeVar, overload

import attrs

from serviceplaybook._errors import ValidationError

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None
"""A JSON-compatible value, as stored in journal payloads."""

_K = TypeVar("_K")
_V = TypeVar("_V")
_T = TypeVar("_T")


def _validate_kind(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"a redaction's kind must be a non-empty string, not {value!r}")


def _validate_pattern(_instance: object, _attribute: object, value: re.Pattern[str]) -> None:
    if not isinstance(value, re.Pattern) or not isinstance(value.pattern, str):
        raise ValidationError(
            f"a redaction's pattern must be a compiled text pattern (re.compile(str)), "
            f"not {value!r}"
        )


def _validate_replacement(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"a redaction's replacement must be a string, not {value!r}")


def _validate_check(
    _instance: object, _attribute: object, value: Callable[[str], bool] | None
) -> None:
    if value is not None and not callable(value):
        raise ValidationError(f"a redaction's check must be callable or None, not {value!r}")


def _characters(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen(kw_only=True)
class Redaction:
    """One rule of a :class:`Redactor`: what to look for and what to put in its place.

    Every non-empty match of ``pattern`` is replaced by ``replacement``. When ``check`` is
    given, a match is replaced only if ``check(matched_text)`` is true. When the check rejects a
    match, the redactor first tries the shorter matches of the pattern that start at the same
    place and end at a word boundary (right after a letter or digit, before anything else),
    longest first, and then searches again from one character further on. So a card number
    followed by its security code (``4111 1111 1111 1111 123``) is still found, and so is one
    preceded by another number (``ticket 12 4111 1111 1111 1111``).

    Attributes:
        kind: what the rule recognizes, for example ``"email"``.
        pattern: a compiled ``str`` pattern that matches the datum.
        replacement: the text put in place of each accepted match, for example ``"[email]"``.
        check: an optional predicate over the matched text (the Luhn check for card numbers).
        requires: characters of which every match contains at least one (``"@"`` for
            emails, the digits for numbers); a text without any of them skips the rule's
            scan, which is most of the cost on ordinary messages. Empty: always scan.

    Raises:
        ValidationError: a field has a value it cannot hold.
    """

    kind: str = attrs.field(validator=_validate_kind)
    pattern: re.Pattern[str] = attrs.field(validator=_validate_pattern)
    replacement: str = attrs.field(validator=_validate_replacement)
    check: Callable[[str], bool] | None = attrs.field(default=None, validator=_validate_check)
    requires: frozenset[str] = attrs.field(default=frozenset(), converter=_characters)

    def applies_to(self, text: str) -> bool:
        """False when ``text`` cannot contain a match (none of ``requires`` occurs in it)."""
        return not self.requires or not self.requires.isdisjoint(text)


_UNCHANGED = frozenset({int, float, bool, type(None)})

# Decimal digits, as ``\d`` and ``str.isdecimal`` both count them (Unicode category Nd).
_DIGIT = re.compile(r"\d")


def _apply(redaction: Redaction, text: str) -> str:
    """Replace every accepted match of ``redaction`` in ``text``."""
    pattern = redaction.pattern
    pieces: list[str] = []
    copied = 0
    position = 0
    while position <= len(text):
        match = pattern.search(text, position)
        if match is None:
            break
        span = _accepted_span(redaction, text, match)
        if span is None or span[0] == span[1]:
            position = match.start() + 1
            continue
        start, end = span
        pieces.append(text[copied:start])
        pieces.append(redaction.replacement)
        copied = position = end
    if not pieces:
        return text
    pieces.append(text[copied:])
    return "".join(pieces)


def _accepted_span(redaction: Redaction, text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """The span to replace for ``match``, or None when the rule's check rejects it."""
    check = redaction.check
    if check is None or check(match.group()):
        return match.span()
    start = match.start()
    for end in range(match.end() - 1, start, -1):
        if not (text[end - 1].isalnum() and not text[end].isalnum()):
            continue
        shorter = redaction.pattern.match(text, start, end)
        if shorter is not None and shorter.end() > start and check(shorter.group()):
            return shorter.span()
    return None


def _digits(text: str) -> list[int]:
    return [int(char) for char in text if char.isdecimal()]


def _is_card_number(text: str) -> bool:
    """Whether ``text`` holds 13 to 19 digits that pass the Luhn check."""
    digits = _digits(text)
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


# The fewest digits a match accepted by a check holds: a text with fewer digits than that has
# nothing the rule would replace, so its scan (several lookbehinds at every position, the bulk
# of redacting an ordinary message that mentions a number) can be skipped. Keyed by the check
# function itself, so a floor holds whatever pattern the check is paired with.
_CHECK_DIGIT_FLOORS: dict[Callable[[str], bool], int] = {_is_card_number: 13}


def _has_digit_count(low: int, high: int) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        return low <= len(_digits(text)) <= high

    check.__name__ = f"has_{low}_to_{high}_digits"
    _CHECK_DIGIT_FLOORS[check] = low
    return check


# Cards: 13 to 19 digits, either contiguous or in groups of 4 to 6 digits separated by single
# spaces or hyphens, the last group possibly shorter ("4111 1111 1111 1111", "3782 822463 10005",
# "4222-2222-2222-2"). Not inside a longer number; not right after a "+", an international
# calling code or a "(0)" trunk prefix (that is a phone number); not directly before or after
# an "@" (that is part of an email address).
_CARD = re.compile(
    r"(?<![\d+@])(?<!\+\d[ .(-])(?<!\+\d\d[ .(-])(?<!\+\d\d\d[ .(-])(?<!\(0\)[ .-])"
    r"(?:\d{13,19}|(?:\d{4,6}[ -]){1,4}\d{1,6})"
    r"(?![\d@])"
)

# Email: a local part of up to 64 characters (letters, digits, dots, "_%+-"), then a domain of
# dot-separated labels ending in a top-level domain of letters. The length limits keep the
# search linear on long runs of such characters.
_EMAIL = re.compile(
    r"[a-z0-9_%+-][a-z0-9_%+.-]{0,63}"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,126}[a-z]{2,63}",
    re.IGNORECASE,
)

# International: "+", then digit groups separated by a space, dot or hyphen; a group may be put
# in parentheses, with or without a separator around it: "+1 (555) 123-4567", "+44 (0)20 7946".
_PHONE_INTERNATIONAL = re.compile(
    r"(?<![\w+])\+\d{1,15}"
    r"(?:[ .-]?\(\d{1,15}\)?|(?:[ .-]|(?<=\)))\d{1,15}){0,9}"
    r"(?!\d)"
)

# North America: (555) 123-4567, 555-123-4567, 555.123.4567, 555 123 4567, 1-800-555-1234.
_PHONE_NORTH_AMERICA = re.compile(
    r"(?<![\w+])(?:1[ .-])?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)(?![.-]\d)"
)

# National: starts with 0, 9-11 digits, contiguous or grouped by spaces or hyphens.
_PHONE_NATIONAL = re.compile(r"(?<![\w+])0\d{1,10}(?:[ -]\d{1,10}){0,5}(?!\d)(?!\.\d)")

_DIGITS = frozenset("0123456789")

# The same floor for a pattern that has no check: every match of the North-American pattern
# holds ten digits (3 + 3 + 4, with an optional trunk "1" before them).
_PATTERN_DIGIT_FLOORS: dict[re.Pattern[str], int] = {_PHONE_NORTH_AMERICA: 10}

_DEFAULT_REDACTIONS: tuple[Redaction, ...] = (
    Redaction(
        kind="card",
        pattern=_CARD,
        replacement="[card]",
        check=_is_card_number,
        requires=_DIGITS,
    ),
    Redaction(kind="email", pattern=_EMAIL, replacement="[email]", requires="@"),
    Redaction(
        kind="phone",
        pattern=_PHONE_INTERNATIONAL,
        replacement="[phone]",
        check=_has_digit_count(7, 15),
        requires="+",
    ),
    Redaction(
        kind="phone",
        pattern=_PHONE_NATIONAL,
        replacement="[phone]",
        check=_has_digit_count(9, 11),
        requires="0",
    ),
    Redaction(kind="phone", pattern=_PHONE_NORTH_AMERICA, replacement="[phone]", requires=_DIGITS),
)


def _validate_redactions(
    _instance: object, _attribute: object, value: tuple[Redaction, ...]
) -> None:
    if not isinstance(value, tuple) or not all(isinstance(item, Redaction) for item in value):
        raise ValidationError(f"redactions must be a tuple of Redaction objects, not {value!r}")


# One step of a redactor's plan: the rule; its ``requires`` when the redactor may test it
# directly (a single character as a str: ``in`` finds it many times faster than a set test
# walks the text), or None to ask ``applies_to`` (a Redaction subclass may override it); and
# the fewest digits a text needs for the rule to replace anything (0: no such floor known).
_Step: TypeAlias = tuple[Redaction, frozenset[str] | str | None, int]


def _all_required(redactions: tuple[Redaction, ...]) -> frozenset[str]:
    # runs before the validator: anything but Redaction rules is refused right after
    rules = [r for r in redactions if isinstance(r, Redaction)]
    if len(rules) != len(redactions) or not all(r.requires for r in rules):
        return frozenset()
    return frozenset().union(*(r.requires for r in rules))


def _plan(redactions: tuple[Redaction, ...]) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    for rule in redactions:
        if type(rule) is not Redaction:
            # a subclass may compute what it matches differently: no shortcut for it
            steps.append((rule, None, 0))
            continue
        # by identity: a check may be any callable, even one that cannot be hashed
        floors = [n for check, n in _CHECK_DIGIT_FLOORS.items() if check is rule.check]
        floors += [n for pattern, n in _PATTERN_DIGIT_FLOORS.items() if pattern is rule.pattern]
        requires = rule.requires
        steps.append(
            (
                rule,
                next(iter(requires)) if len(requires) == 1 else requires,
                max(floors, default=0),
            )
        )
    return tuple(steps)


def _replan(instance: Redactor, _attribute: object, value: tuple[Redaction, ...]) -> object:
    # ``redactions`` may be reassigned (the class is not frozen): what is derived from the
    # rules must follow, or a new rule could be skipped by a stale shortcut.
    instance._requires = _all_required(value)
    instance._steps = _plan(value)
    return value


@attrs.define(kw_only=True)
class Redactor:
    """Masks the personal data it recognizes in text and in JSON-like structures.

    The rules in ``redactions`` are applied one after the other, each to the output of the one
    before. The default rules mask card numbers, then email addresses, then phone numbers (see
    the module documentation for the formats recognized).

    Configure a redactor with :meth:`with_extra`, or subclass it and override
    :meth:`redact_text`: :meth:`redact` and :class:`RedactingFilter` go through
    :meth:`redact_text` for every string.

    Attributes:
        redactions: the rules, in the order they are applied.

    Raises:
        ValidationError: ``redactions`` is not a tuple of :class:`Redaction` objects.

    Example:
        >>> Redactor.default().redact_text("mail me at jane.doe+shop@example.co.uk")
        'mail me at [email]'
    """

    redactions: tuple[Redaction, ...] = attrs.field(
        default=_DEFAULT_REDACTIONS,
        validator=_validate_redactions,
        on_setattr=attrs.setters.pipe(attrs.setters.validate, _replan),
    )
    # Characters one of which every match of every rule contains; empty if a rule may match
    # anything. A text with none of them (most messages) skips every scan at once.
    _requires: frozenset[str] = attrs.field(init=False, repr=False, eq=False)
    # The rules with what lets redact_text skip a scan cheaply (see _Step).
    _steps: tuple[_Step, ...] = attrs.field(init=False, repr=False, eq=False)
    # True when redact() is this class's own: its walk over a payload may then call itself
    # and redact_text directly instead of going through redact() for every item.
    _own_walk: bool = attrs.field(init=False, repr=False, eq=False)

    @_requires.default
    def _required_by_rules(self) -> frozenset[str]:
        return _all_required(self.redactions)

    @_steps.default
    def _planned_steps(self) -> tuple[_Step, ...]:
        # like _requires, this runs before the validator refuses anything but Redaction rules
        return _plan(self.redactions) if isinstance(self.redactions, tuple) else ()

    @_own_walk.default
    def _walks_itself(self) -> bool:
        return type(self).redact is Redactor.redact

    @classmethod
    def default(cls) -> Self:
        """A redactor with the built-in rules for card numbers, emails and phone numbers.

        Returns:
            A new redactor of this class with the default rules.
        """
        return cls()

    def with_extra(self, *redactions: Redaction) -> Self:
        """A copy of this redactor with more rules, applied after the existing ones.

        Args:
            *redactions: the rules to append, for example one for national ID numbers.

        Returns:
            A new redactor of the same class; this one is left unchanged.

        Raises:
            ValidationError: one of ``redactions`` is not a :class:`Redaction`.
        """
        return attrs.evolve(self, redactions=(*self.redactions, *redactions))

    def redact_text(self, text: str) -> str:
        """Mask what the rules recognize in ``text``.

        Args:
            text: any text, for example a customer's message.

        Returns:
            The text with every accepted match replaced by its rule's replacement.
        """
        if self._requires and self._requires.isdisjoint(text):
            return text
        digits = -1  # counted when a rule first needs it, again once a rule changed the text
        for redaction, requires, floor in self._steps:
            # cheapest test first: most texts hold a digit or two but none has enough of them
            if floor:
                if digits < 0:
                    digits = len(_DIGIT.findall(text))
                if digits < floor:
                    continue
            if requires is None:
                if not redaction.applies_to(text):
                    continue
            elif isinstance(requires, str):
                if requires not in text:
                    continue
            elif requires and requires.isdisjoint(text):
                continue
            redacted = _apply(redaction, text)
            if redacted is not text:
                text, digits = redacted, -1
        return text

    @overload
    def redact(self, value: str) -> str: ...

    @overload
    def redact(self, value: dict[_K, _V]) -> dict[_K, _V]: ...

    @overload
    def redact(self, value: list[_V]) -> list[_V]: ...

    @overload
    def redact(self, value: tuple[_V, ...]) -> tuple[_V, ...]: ...

    @overload
    def redact(self, value: _T) -> _T: ...

    def redact(self, value: object) -> object:
        """Mask the strings inside a JSON-like value, keeping its shape.

        Strings go through :meth:`redact_text`. Dicts, lists and tuples are copied with their
        items redacted (dict keys are kept as they are: they are defined by code, not written by
        customers); subclasses of them come back as plain dicts, lists and tuples. Every other
        value (numbers, booleans, None, other objects) is returned unchanged.

        Args:
            value: the value to redact, typically a :data:`JSONValue` such as a journal payload.

        Returns:
            A redacted copy of the value; the value passed in is not modified.
        """
        if self._own_walk and type(value) is dict:
            return self._walk_dict(value)
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            # numbers and flags are most of a journal payload: skip the call for them
            return {
                key: item if type(item) in _UNCHANGED else self.redact(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [item if type(item) in _UNCHANGED else self.redact(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.redact(item) for item in value)
        return value

    def _walk_dict(self, value: dict[Any, Any]) -> dict[Any, Any]:
        # What redact() returns for a plain dict, in fewer calls: only used while redact() is
        # not overridden, so no override misses an item. A journal payload is mostly a text
        # and a dict of numbers and flags (the signals), which is copied as it is.
        redacted: dict[Any, Any] = {}
        for key, item in value.items():
            kind = type(item)
            if kind in _UNCHANGED:
                redacted[key] = item
            elif kind is str:
                redacted[key] = self.redact_text(item)
            elif kind is dict:
                if _UNCHANGED.issuperset(map(type, item.values())):
                    redacted[key] = item.copy()
                else:
                    redacted[key] = self._walk_dict(item)
            else:  # lists, tuples, subclasses and other objects
                redacted[key] = self.redact(item)
        return redacted


class RedactingFilter(logging.Filter):
    """A logging filter that masks personal data in log records.

    The filter formats each record's message (``record.getMessage()``), redacts it and stores
    the result in ``record.msg`` with empty ``record.args``, so that handlers only ever see the
    redacted text. Exception and stack text is formatted and redacted the same way. It never
    drops a record.

    serviceplaybook never configures logging. Attach the filter where it covers what you need:
    to a handler it applies to every record that handler emits; to a logger it applies only to
    records logged directly on that logger, not to those propagated from its children::

        handler.addFilter(RedactingFilter(Redactor.default()))

    Args:
        redactor: the redactor to apply; the default one when omitted.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor if redactor is not None else Redactor.default()

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place.

        Args:
            record: the log record to redact.

        Returns:
            Always True: the record is kept, with its text redacted.
        """
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break the caller's code
            message = f"{record.msg!s} (arguments: {record.args!r})"
        record.msg = self.redactor.redact_text(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact_text(record.stack_info)
        return True
