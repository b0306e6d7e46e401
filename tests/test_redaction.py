"""Tests for serviceplaybook.redaction: what is masked, what is left alone, and where."""

from __future__ import annotations

import io
import logging
import re
import string
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serviceplaybook import Redactor, ValidationError
from serviceplaybook._policies.redaction import JSONValue, RedactingFilter, Redaction

MARKERS = {"card": "[card]", "email": "[email]", "phone": "[phone]"}

# Separators that end a datum: none of them can continue a card, an email or a phone number.
BOUNDARIES = (", ", ". ", "; ", "\n", " | ", " and ", ": ", "! ", "? ")


def digits_of(text: str) -> str:
    return "".join(char for char in text if char.isdecimal())


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:  # doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return luhn_check_digit(number[:-1]) == number[-1]


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits
_DIGITS = st.text(alphabet=string.digits, min_size=1, max_size=1)


def _digit_string(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=size, max_size=size)


def _group(draw: st.DrawFn, digits: str, sizes: st.SearchStrategy[int]) -> list[str]:
    """Split ``digits`` into groups whose sizes are drawn from ``sizes`` (last may be shorter)."""
    groups: list[str] = []
    rest = digits
    while rest:
        size = draw(sizes)
        groups.append(rest[:size])
        rest = rest[size:]
    if len(groups) > 1 and len(groups[-1]) == 1:
        groups[-2:] = [groups[-2] + groups[-1]]
    return groups


@st.composite
def emails(draw: st.DrawFn) -> str:
    """Email addresses: dotted local parts, plus-addressing, subdomains, mixed case."""
    atom = st.text(alphabet=_ALNUM + "_-%", min_size=1, max_size=8)
    local = ".".join(draw(st.lists(atom, min_size=1, max_size=3)))
    if draw(st.booleans()):
        local += "+" + draw(st.text(alphabet=_ALNUM, min_size=1, max_size=8))
    label = st.text(alphabet=_ALNUM, min_size=1, max_size=10) | st.builds(
        lambda a, b, c: f"{a}-{b}{c}",
        st.text(alphabet=_ALNUM, min_size=1, max_size=4),
        st.text(alphabet=_ALNUM + "-", max_size=3),
        st.text(alphabet=_ALNUM, min_size=1, max_size=3),
    )
    domain = ".".join(draw(st.lists(label, min_size=1, max_size=3)))
    tld = draw(st.text(alphabet=string.ascii_letters, min_size=2, max_size=6))
    return f"{local}@{domain}.{tld}"


@st.composite
def _international_numbers(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from("123456789")) + draw(st.text(alphabet=string.digits, max_size=2))
    trunk = draw(st.booleans()) and len(country) <= 2  # "+44 (0) 20 7946 0958"
    budget = 15 - len(country) - (1 if trunk else 0)
    size = draw(st.integers(min_value=max(7 - len(country), 4), max_value=budget))
    national = draw(_digit_string(size))
    if not trunk and draw(st.booleans()):  # "+4915123456789"
        return f"+{country}{national}"
    groups = _group(draw, national, st.integers(min_value=2, max_value=4))
    separators = [draw(st.sampled_from([" ", "-", "."])) for _ in groups[1:]]
    if trunk:
        head = f"+{country} (0) {groups[0]}"
    elif draw(st.booleans()):  # "+1 (555) 123-4567", "+1 (555)123-4567"
        head = f"+{country} ({groups[0]})"
        if separators:
            separators[0] = draw(st.sampled_from(["", " ", "-", "."]))
    else:
        head = f"+{country}{draw(st.sampled_from([' ', '-', '.']))}{groups[0]}"
    return head + "".join(map(str.__add__, separators, groups[1:]))


@st.composite
def _north_american_numbers(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from("23456789")) + draw(_digit_string(2))
    exchange = draw(_digit_string(3))
    line = draw(_digit_string(4))
    layout = draw(
        st.sampled_from(
            [
                "({a}) {e}-{l}",
                "({a}){e}-{l}",
                "{a}-{e}-{l}",
                "{a}.{e}.{l}",
                "{a} {e} {l}",
                "1-{a}-{e}-{l}",
            ]
        )
    )
    return layout.format(a=area, e=exchange, l=line)


@st.composite
def _national_numbers(draw: st.DrawFn) -> str:
    number = (
        "0"
        + draw(st.sampled_from("123456789"))
        + draw(st.integers(min_value=7, max_value=9).flatmap(_digit_string))
    )
    separator = draw(st.sampled_from(["", " ", "-"]))
    if not separator:
        return number
    groups = _group(draw, number, st.integers(min_value=2, max_value=5))
    return separator.join(groups)


def phone_numbers() -> st.SearchStrategy[str]:
    """International, North-American and national (leading 0) phone numbers."""
    return st.one_of(_international_numbers(), _north_american_numbers(), _national_numbers())


@st.composite
def card_numbers(draw: st.DrawFn, min_digits: int = 13, max_digits: int = 19) -> str:
    """Luhn-valid card numbers, contiguous or grouped in 4s by spaces or hyphens."""
    size = draw(st.integers(min_value=min_digits, max_value=max_digits))
    payload = draw(_digit_string(size - 1))
    number = payload + luhn_check_digit(payload)
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(number[index : index + 4] for index in range(0, size, 4))


def filler() -> st.SearchStrategy[str]:
    """Ordinary words (letters only, in any script)."""
    word = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=10)
    return st.lists(word, min_size=1, max_size=4).map(" ".join)


# --------------------------------------------------------------------------------------------
# The strategies themselves
# --------------------------------------------------------------------------------------------


@given(card_numbers())
def test_generated_card_numbers_are_luhn_valid(number: str) -> None:
    digits = digits_of(number)
    assert 13 <= len(digits) <= 19
    assert luhn_valid(digits)


@given(phone_numbers())
def test_generated_phone_numbers_have_plausible_lengths(number: str) -> None:
    assert 7 <= len(digits_of(number)) <= 15


# --------------------------------------------------------------------------------------------
# What is masked
# --------------------------------------------------------------------------------------------

DATA = st.one_of(
    st.tuples(st.just("card"), card_numbers()),
    st.tuples(st.just("email"), emails()),
    st.tuples(st.just("phone"), phone_numbers()),
)


@given(
    pieces=st.lists(
        st.one_of(st.tuples(st.just("text"), filler()), DATA),
        min_size=1,
        max_size=8,
    ),
    separators=st.lists(st.sampled_from(BOUNDARIES), min_size=8, max_size=8),
)
def test_no_recognized_datum_survives_in_running_text(
    pieces: list[tuple[str, str]], separators: list[str]
) -> None:
    text = ""
    expected = ""
    for index, (kind, value) in enumerate(pieces):
        separator = separators[index - 1] if index else ""
        text += separator + value
        expected += separator + (value if kind == "text" else MARKERS[kind])

    redacted = Redactor.standard().redact_text(text)

    for kind, value in pieces:
        if kind == "text":
            continue
        assert value not in redacted
        if kind in ("card", "phone"):
            assert digits_of(value) not in redacted
        assert MARKERS[kind] in redacted
    assert not any(char.isdecimal() for char in redacted)
    assert redacted == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 please", "card [card] please"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("visa 4222-2222-2222-2", "visa [card]"),
        ("card 4111111111111111.", "card [card]."),
        ("amex 3782 822463 10005", "amex [card]"),
        ("4111 1111 1111 1111 123 (the code on the back)", "[card] 123 (the code on the back)"),
        ("4111111111111111 12/27", "[card] 12/27"),
        ("ticket 12 4111 1111 1111 1111", "ticket 12 [card]"),
        ("mail Jane.Doe+shop@Mail.Example.CO.UK.", "mail [email]."),
        ("<a@b.com>", "<[email]>"),
        ("call +44 20 7946 0958", "call [phone]"),
        ("call +44 (0) 20 7946 0958", "call [phone]"),
        ("call +1 (555) 123-4567 today", "call [phone] today"),
        ("call +33.6.12.34.56.78", "call [phone]"),
        ("call +4915123456789", "call [phone]"),
        ("call (555) 123-4567", "call [phone]"),
        ("call 555-123-4567", "call [phone]"),
        ("call 555.123.4567", "call [phone]"),
        ("call 555 123 4567", "call [phone]"),
        ("call 1-800-555-1234", "call [phone]"),
        ("call 020 7946 0958", "call [phone]"),
        ("call 030-12345678", "call [phone]"),
        ("call 0612345678", "call [phone]"),
        ("call 06 12 34 56 78", "call [phone]"),
        ("Tel.0612345678", "Tel.[phone]"),
    ],
)
def test_examples_are_masked(text: str, expected: str) -> None:
    assert Redactor.standard().redact_text(text) == expected


@given(card_numbers(min_digits=16, max_digits=16), st.integers(min_value=1, max_value=9))
def test_luhn_invalid_numbers_are_not_reported_as_cards(number: str, shift: int) -> None:
    last = str((int(number[-1]) + shift) % 10)
    invalid = number[:-1] + last
    assert not luhn_valid(digits_of(invalid))
    assert "[card]" not in Redactor.standard().redact_text(f"number {invalid} here")


# --------------------------------------------------------------------------------------------
# What is left alone
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "order 12345678",
        "order #1234",
        "order 01234567",
        "your refund of $1,234.56 is on its way",
        "that is 12.50 EUR",
        "1.234,56 €",
        "on 2024-03-15",
        "on 2024-03-15T17:30:00Z",
        "15.03.2024 at 17:30",
        "at 17:30",
        "version 1.2.3",
        "v10.20.30",
        "10.0.0.1",
        "room 1234, floor 3",
        "invoice 2024-000123",
        "1 2 3 4 5",
        "items 12 15 18 20 22 25 30 31 44 and 1 2 3 4 5 6 7 8 9 10 11 12 13 14",
        "@support please help",
        "root@localhost",
        "4111 1111 1111 1112",
        "",
    ],
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert Redactor.standard().redact_text(text) == text


@given(filler())
def test_plain_words_are_unchanged(text: str) -> None:
    assert Redactor.standard().redact_text(text) == text


# --------------------------------------------------------------------------------------------
# redact(): JSON-like structures
# --------------------------------------------------------------------------------------------


def test_redact_walks_nested_structures() -> None:
    payload: dict[str, JSONValue] = {
        "message": "mail me at a@b.com",
        "count": 3,
        "ratio": 0.5,
        "urgent": True,
        "note": None,
        "contacts": [{"phone": "call 020 7946 0958", "level": 2}, ["4111 1111 1111 1111"]],
        "a@b.com": "keys are kept",
    }
    redacted = Redactor.standard().redact(payload)
    assert redacted == {
        "message": "mail me at [email]",
        "count": 3,
        "ratio": 0.5,
        "urgent": True,
        "note": None,
        "contacts": [{"phone": "call [phone]", "level": 2}, ["[card]"]],
        "a@b.com": "keys are kept",
    }
    assert payload["message"] == "mail me at a@b.com"  # the input is not modified


def test_redact_keeps_tuples_and_lists_and_leaves_other_values_alone() -> None:
    redactor = Redactor.standard()
    assert redactor.redact(("a@b.com", 1)) == ("[email]", 1)
    assert redactor.redact(["a@b.com"]) == ["[email]"]
    assert redactor.redact("a@b.com") == "[email]"
    marker = object()
    assert redactor.redact(marker) is marker
    assert redactor.redact(b"a@b.com") == b"a@b.com"
    for scalar in (0, 1.5, False, None):
        assert redactor.redact(scalar) == scalar


def test_redact_returns_plain_containers_for_subclasses() -> None:
    redacted = Redactor.standard().redact(OrderedDict(email="a@b.com"))
    assert type(redacted) is dict
    assert redacted == {"email": "[email]"}


json_values: st.SearchStrategy[JSONValue] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_redact_agrees_with_redact_text_and_keeps_the_shape(value: JSONValue) -> None:
    redactor = Redactor.standard()

    def expected(item: JSONValue) -> JSONValue:
        if isinstance(item, str):
            return redactor.redact_text(item)
        if isinstance(item, list):
            return [expected(child) for child in item]
        if isinstance(item, dict):
            return {key: expected(child) for key, child in item.items()}
        return item

    assert redactor.redact(value) == expected(value)


@given(st.text())
def test_redaction_is_idempotent(text: str) -> None:
    redactor = Redactor.standard()
    once = redactor.redact_text(text)
    assert redactor.redact_text(once) == once


# --------------------------------------------------------------------------------------------
# Configuration and subclassing
# --------------------------------------------------------------------------------------------

NATIONAL_ID = Redaction(
    kind="national_id", pattern=re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), replacement="[id]"
)


def test_default_has_the_built_in_rules_in_order() -> None:
    redactor = Redactor.standard()
    assert redactor == Redactor()
    assert [r.kind for r in redactor.redactions] == ["card", "email", "phone", "phone", "phone"]


def test_extended_appends_rules_and_leaves_the_original_alone() -> None:
    base = Redactor.standard()
    extended = base.extended(NATIONAL_ID)
    assert extended.redactions == (*base.redactions, NATIONAL_ID)
    assert extended.redact_text("id 123-45-6789, a@b.com") == "id [id], [email]"
    assert base.redact_text("id 123-45-6789") == "id 123-45-6789"


def test_a_check_decides_which_matches_are_replaced() -> None:
    even = Redaction(
        kind="even",
        pattern=re.compile(r"\b\d+\b"),
        replacement="[even]",
        check=lambda text: int(text) % 2 == 0,
    )
    redactor = Redactor(redactions=(even,))
    assert redactor.redact_text("1 2 3 44") == "1 [even] 3 [even]"


def test_rules_that_match_empty_text_change_nothing() -> None:
    empty = Redaction(kind="empty", pattern=re.compile(r"x*"), replacement="[x]")
    assert Redactor(redactions=(empty,)).redact_text("abxc") == "ab[x]c"


class NameRedactor(Redactor):
    """Also masks the names of customers the integrator knows about."""

    def redact_text(self, text: str) -> str:
        return super().redact_text(text).replace("Jane Doe", "[name]")


def test_a_subclass_is_honoured_by_redact_and_by_the_constructors() -> None:
    redactor = NameRedactor.standard()
    assert isinstance(redactor, NameRedactor)
    assert redactor.redact({"m": ["Jane Doe <jane@doe.org>"]}) == {"m": ["[name] <[email]>"]}
    extended = redactor.extended(NATIONAL_ID)
    assert isinstance(extended, NameRedactor)
    assert extended.redact(("Jane Doe", "123-45-6789")) == ("[name]", "[id]")


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "", "pattern": re.compile("x"), "replacement": "[x]"},
        {"kind": "x", "pattern": "x", "replacement": "[x]"},
        {"kind": "x", "pattern": re.compile(b"x"), "replacement": "[x]"},
        {"kind": "x", "pattern": re.compile("x"), "replacement": None},
        {"kind": "x", "pattern": re.compile("x"), "replacement": "[x]", "check": "yes"},
    ],
)
def test_invalid_redactions_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Redaction(**fields)  # type: ignore[arg-type]


def test_invalid_rule_lists_are_refused() -> None:
    with pytest.raises(ValidationError):
        Redactor(redactions=[NATIONAL_ID])  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Redactor.standard().extended("not a rule")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------------------------


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("serviceplaybook.tests.redaction")
    redacting = RedactingFilter(Redactor.standard())
    log.addFilter(redacting)
    try:
        yield log
    finally:
        log.removeFilter(redacting)


def test_filter_redacts_formatted_messages(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("customer wrote %s", "mail me at a@b.com")
    (record,) = caplog.records
    assert record.getMessage() == "customer wrote mail me at [email]"
    assert record.args == ()
    assert "a@b.com" not in caplog.text


def test_filter_redacts_exception_text(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger=logger.name):
        try:
            raise ValueError("unknown address a@b.com")
        except ValueError:
            logger.exception("lookup failed for %s", "call 020 7946 0958")
    assert "a@b.com" not in caplog.text
    assert "020 7946 0958" not in caplog.text
    assert "unknown address [email]" in caplog.text
    assert "lookup failed for call [phone]" in caplog.text


def test_filter_survives_bad_format_arguments(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("%d orders for %s", "a@b.com")
    (record,) = caplog.records
    assert "a@b.com" not in record.getMessage()
    assert "[email]" in record.getMessage()


def test_filter_on_a_handler_covers_child_loggers() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    parent = logging.getLogger("serviceplaybook.tests.redaction_handler")
    parent.addHandler(handler)
    parent.setLevel(logging.INFO)
    try:
        logging.getLogger(f"{parent.name}.child").info("card %s", "4111 1111 1111 1111")
    finally:
        parent.removeHandler(handler)
        parent.setLevel(logging.NOTSET)
    assert stream.getvalue() == "card [card]\n"


@given(DATA)
def test_filter_never_lets_a_datum_through(datum: tuple[str, str]) -> None:
    kind, value = datum
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "got %s and %r", (value, value), None
    )
    assert RedactingFilter().filter(record) is True
    assert value not in record.getMessage()
    assert record.getMessage().count(MARKERS[kind]) == 2


# -- a rule's precondition (requires, min_digits) only skips scans that find nothing -------


def _without_preconditions(redactor: Redactor) -> Redactor:
    return Redactor(
        redactions=tuple(
            attrs.evolve(r, requires=frozenset(), min_digits=0) for r in redactor.redactions
        )
    )


_NUMBERISH = "0123456789" * 2 + " -+().@\u0663\u0661"


@given(
    st.one_of(
        st.lists(
            st.one_of(emails(), phone_numbers(), card_numbers(), st.text(max_size=20)),
            max_size=5,
        ).map(" ".join),
        st.text(alphabet=_NUMBERISH, max_size=40),
    )
)
def test_preconditions_never_change_the_result(text: str) -> None:
    standard = Redactor.standard()
    assert standard.redact_text(text) == _without_preconditions(standard).redact_text(text)


def test_the_standard_rules_state_their_digit_floors() -> None:
    floors = {(r.kind, r.min_digits) for r in Redactor.standard().redactions}
    assert floors == {("card", 13), ("email", 0), ("phone", 7), ("phone", 9), ("phone", 10)}


def test_a_rule_is_skipped_when_the_text_has_too_few_digits() -> None:
    rule = Redaction(kind="ticket", pattern=re.compile(r"T-\d+"), replacement="[t]", min_digits=3)
    assert rule.applies_to("see T-123")
    assert not rule.applies_to("see T-12")
    assert Redactor(redactions=(rule,)).redact_text("T-12, T-345") == "[t], [t]"
    assert Redactor(redactions=(rule,)).redact_text("T-12") == "T-12"


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_min_digits_must_be_a_count(bad: object) -> None:
    with pytest.raises(ValidationError, match="min_digits"):
        Redaction(kind="x", pattern=re.compile("x"), replacement="y", min_digits=bad)  # type: ignore[arg-type]


def test_a_rule_is_skipped_when_the_text_lacks_what_it_requires() -> None:
    rule = Redaction(kind="ticket", pattern=re.compile(r"T-\d+"), replacement="[t]", requires="T")
    assert rule.applies_to("see T-12")
    assert not rule.applies_to("see t-12")
    assert Redactor(redactions=(rule,)).redact_text("T-12 and t-12") == "[t] and t-12"
    assert Redaction(kind="any", pattern=re.compile("x"), replacement="y").applies_to("")


# -- overrides take effect: every redactor runs the same code -----------------------------


def test_a_redaction_subclass_states_its_own_precondition() -> None:
    @attrs.frozen(kw_only=True)
    class OnlyInTickets(Redaction):
        def applies_to(self, text: str) -> bool:
            return text.startswith("ticket") and super().applies_to(text)

    rule = OnlyInTickets(kind="email", pattern=re.compile(r"\S+@\S+"), replacement="[email]")
    redactor = Redactor(redactions=(rule,))
    assert redactor.redact_text("ticket: jane@example.com") == "ticket: [email]"
    assert redactor.redact_text("note: jane@example.com") == "note: jane@example.com"


def test_an_overridden_precondition_is_asked_for_every_rule_of_every_redactor() -> None:
    asked: list[str] = []

    @attrs.frozen(kw_only=True)
    class Watched(Redaction):
        def applies_to(self, text: str) -> bool:
            asked.append(self.kind)
            return super().applies_to(text)

    rules = tuple(Watched(**attrs.asdict(r, recurse=False)) for r in Redactor.standard().redactions)

    class Custom(Redactor):
        pass

    for redactor in (Redactor(redactions=rules), Custom(redactions=rules)):
        asked.clear()
        assert redactor.redact_text("call 020 7946 0958") == "call [phone]"
        assert asked == [r.kind for r in rules]


def test_an_overridden_redact_text_sees_every_string() -> None:
    class Upper(Redactor):
        def redact_text(self, text: str) -> str:
            return super().redact_text(text).upper()

    payload = {"text": "mail jane@example.com", "signals": {"note": "calm", "anger": 0.1}}
    assert Upper().redact(payload) == {
        "text": "MAIL [EMAIL]",
        "signals": {"note": "CALM", "anger": 0.1},
    }


def test_an_overridden_redact_sees_every_text() -> None:
    class Shouting(Redactor):
        def redact(self, value: Any) -> Any:
            return value.upper() if isinstance(value, str) else super().redact(value)

    payload = {"text": "hi", "signals": {"note": "calm", "anger": 0.1}, "ids": [1, "a"]}
    assert Shouting().redact(payload) == {
        "text": "HI",
        "signals": {"note": "CALM", "anger": 0.1},
        "ids": [1, "A"],
    }


def test_rules_assigned_later_are_applied() -> None:
    redactor = Redactor.standard()
    redactor.redactions = (
        *redactor.redactions,
        Redaction(kind="code", pattern=re.compile(r"secret\w*"), replacement="[code]"),
    )
    assert redactor.redact_text("the secretword") == "the [code]"
