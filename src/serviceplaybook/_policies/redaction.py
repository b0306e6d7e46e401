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
more add their own rules with :meth:`Redactor.extended`, or subclass :class:`Redactor`.

:class:`RedactingFilter` applies a redactor to log records. serviceplaybook never configures
logging itself: attach the filter to the handlers (or loggers) of your choice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Self, TypeAlias, TypeVar, overload

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


def _validate_min_digits(_instance: object, _attribute: object, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"a redaction's min_digits must be an int of 0 or more, not {value!r}"
        )


# Decimal digits, as ``\d`` and ``str.isdecimal`` both count them (Unicode category Nd).
_DIGIT = re.compile(r"\d")


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
        min_digits: the fewest decimal digits a replaced match holds (13 for card
            numbers); a text with fewer skips the rule's scan. 0: no such floor.

    :meth:`applies_to` is the rule's precondition, built from ``requires`` and
    ``min_digits``; every :class:`Redactor` asks it before each scan, whatever the rule.

    Raises:
        ValidationError: a field has a value it cannot hold.
    """

    kind: str = attrs.field(validator=_validate_kind)
    pattern: re.Pattern[str] = attrs.field(validator=_validate_pattern)
    replacement: str = attrs.field(validator=_validate_replacement)
    check: Callable[[str], bool] | None = attrs.field(default=None, validator=_validate_check)
    requires: frozenset[str] = attrs.field(default=frozenset(), converter=_characters)
    min_digits: int = attrs.field(default=0, validator=_validate_min_digits)

    def applies_to(self, text: str) -> bool:
        """False when ``text`` cannot contain a match the rule replaces: none of
        :attr:`requires` occurs in it, or it holds fewer than :attr:`min_digits` digits."""
        requires = self.requires
        if len(requires) == 1:
            if next(iter(requires)) not in text:  # one substring search, in C
                return False
        elif requires and requires.isdisjoint(text):
            return False
        return not self.min_digits or len(_DIGIT.findall(text)) >= self.min_digits


_UNCHANGED = frozenset({int, float, bool, type(None)})


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


def _has_digit_count(low: int, high: int) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        return low <= len(_digits(text)) <= high

    check.__name__ = f"has_{low}_to_{high}_digits"
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

# Each rule's min_digits is the fewest digits a match it replaces holds: its check's lower
# bound, or for the North-American pattern (no check) the 3 + 3 + 4 digits every match has.
# A text with fewer digits skips the scan (several lookbehinds at every position, the bulk of
# redacting an ordinary message that mentions a number).
_STANDARD_REDACTIONS: tuple[Redaction, ...] = (
    Redaction(
        kind="card",
        pattern=_CARD,
        replacement="[card]",
        check=_is_card_number,
        requires=_DIGITS,
        min_digits=13,
    ),
    Redaction(kind="email", pattern=_EMAIL, replacement="[email]", requires="@"),
    Redaction(
        kind="phone",
        pattern=_PHONE_INTERNATIONAL,
        replacement="[phone]",
        check=_has_digit_count(7, 15),
        requires="+",
        min_digits=7,
    ),
    Redaction(
        kind="phone",
        pattern=_PHONE_NATIONAL,
        replacement="[phone]",
        check=_has_digit_count(9, 11),
        requires="0",
        min_digits=9,
    ),
    Redaction(
        kind="phone",
        pattern=_PHONE_NORTH_AMERICA,
        replacement="[phone]",
        requires=_DIGITS,
        min_digits=10,
    ),
)


def _validate_redactions(
    _instance: object, _attribute: object, value: tuple[Redaction, ...]
) -> None:
    if not isinstance(value, tuple) or not all(isinstance(item, Redaction) for item in value):
        raise ValidationError(f"redactions must be a tuple of Redaction objects, not {value!r}")


@attrs.define(kw_only=True)
class Redactor:
    """Masks the personal data it recognizes in text and in JSON-like structures.

    The rules in ``redactions`` are applied one after the other, each to the output of the one
    before. The standard rules mask card numbers, then email addresses, then phone numbers (see
    the module documentation for the formats recognized).

    Configure a redactor with :meth:`extended`, or subclass it and override
    :meth:`redact_text`: :meth:`redact` and :class:`RedactingFilter` go through
    :meth:`redact_text` for every string.

    Attributes:
        redactions: the rules, in the order they are applied.

    Raises:
        ValidationError: ``redactions`` is not a tuple of :class:`Redaction` objects.

    Example:
        >>> Redactor.standard().redact_text("mail me at jane.doe+shop@example.co.uk")
        'mail me at [email]'
    """

    redactions: tuple[Redaction, ...] = attrs.field(
        default=_STANDARD_REDACTIONS,
        validator=_validate_redactions,
        on_setattr=attrs.setters.validate,
    )

    @classmethod
    def standard(cls) -> Self:
        """A redactor with the built-in rules for card numbers, emails and phone numbers.

        Returns:
            A new redactor of this class with the standard rules.
        """
        return cls()

    def extended(self, *redactions: Redaction) -> Self:
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
        for redaction in self.redactions:
            if redaction.applies_to(text):
                text = _apply(redaction, text)
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


class RedactingFilter(logging.Filter):
    """A logging filter that masks personal data in log records.

    The filter formats each record's message (``record.getMessage()``), redacts it and stores
    the result in ``record.msg`` with empty ``record.args``, so that handlers only ever see the
    redacted text. Exception and stack text is formatted and redacted the same way. It never
    drops a record.

    serviceplaybook never configures logging. Attach the filter where it covers what you need:
    to a handler it applies to every record that handler emits; to a logger it applies only to
    records logged directly on that logger, not to those propagated from its children::

        handler.addFilter(RedactingFilter(Redactor.standard()))

    Args:
        redactor: the redactor to apply; the standard one when omitted.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor if redactor is not None else Redactor.standard()

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
