"""Tests for serviceplaybook.money: exact amounts, one currency at a time."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from serviceplaybook import CurrencyMismatch, Money, ValidationError
from serviceplaybook._records.money import CURRENCY_MINOR_UNITS
from strategies import money

CODES = sorted(CURRENCY_MINOR_UNITS)

# Amounts stay well inside Money's range so that sums of a few of them stay valid.
MAX_MINOR = 10**15

currencies = st.sampled_from(CODES)


@st.composite
def same_currency(draw: st.DrawFn, n: int) -> tuple[Money, ...]:
    code = draw(currencies)
    return tuple(draw(money(code)) for _ in range(n))


@st.composite
def two_currencies(draw: st.DrawFn) -> tuple[Money, Money]:
    left, right = draw(st.lists(currencies, min_size=2, max_size=2, unique=True))
    return draw(money(left)), draw(money(right))


# -- the currency table --------------------------------------------------------------------


def test_currency_table_shape() -> None:
    assert isinstance(CURRENCY_MINOR_UNITS, MappingProxyType)
    assert 150 <= len(CURRENCY_MINOR_UNITS) <= 190
    for code, places in CURRENCY_MINOR_UNITS.items():
        assert re.fullmatch(r"[A-Z]{3}", code), code
        assert places in (0, 2, 3, 4), (code, places)
    with pytest.raises(TypeError):
        CURRENCY_MINOR_UNITS["ZZZ"] = 2  # type: ignore[index]


@pytest.mark.parametrize(
    ("code", "places"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("GBP", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("CLP", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("JOD", 3),
        ("CLF", 4),
        ("UYW", 4),
    ],
)
def test_currency_table_known_exponents(code: str, places: int) -> None:
    assert CURRENCY_MINOR_UNITS[code] == places


@pytest.mark.parametrize("code", ["XAU", "XAG", "XDR", "XTS", "XXX", "HRK"])
def test_codes_without_minor_unit_or_withdrawn_are_absent(code: str) -> None:
    assert code not in CURRENCY_MINOR_UNITS


# -- construction --------------------------------------------------------------------------


def test_accepted_amount_forms() -> None:
    assert Money("12.50", "USD").amount == Decimal("12.50")
    assert str(Money(10, "EUR").amount) == "10.00"
    assert Money(Decimal("1.5"), "usd") == Money("1.50", "USD")
    assert Money(Decimal("1.5"), "usd").currency == "USD"


@given(st.floats(allow_nan=True, allow_infinity=True), currencies)
def test_no_float_is_ever_accepted(value: float, code: str) -> None:
    with pytest.raises(ValidationError, match="float") as info:
        Money(value, code)  # type: ignore[arg-type]
    message = str(info.value)
    assert "exact" in message
    assert '"12.50"' in message
    assert "Decimal" in message


@pytest.mark.parametrize("value", [1.0, 0.0, -3.0, 12.5, 0.1])
def test_integral_and_simple_floats_are_refused_too(value: float) -> None:
    with pytest.raises(ValidationError, match=re.escape(repr(value))):
        Money(value, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, False])
def test_bools_are_refused(value: bool) -> None:
    with pytest.raises(ValidationError, match="bool"):
        Money(value, "USD")


@pytest.mark.parametrize(
    "value",
    ["NaN", "-nan", "sNaN", "Infinity", "-Infinity", "inf", Decimal("NaN"), Decimal("-Infinity")],
)
def test_non_finite_amounts_are_refused_naming_the_value(value: str | Decimal) -> None:
    with pytest.raises(ValidationError, match="finite") as info:
        Money(value, "USD")
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", ["", "abc", "12,50", "1.2.3", "$5", "five"])
def test_unparsable_strings_are_refused_naming_the_value(value: str) -> None:
    with pytest.raises(ValidationError, match="not a decimal number") as info:
        Money(value, "USD")
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [None, [1], object()])
def test_other_types_are_refused(value: object) -> None:
    with pytest.raises(ValidationError, match="type"):
        Money(value, "USD")  # type: ignore[arg-type]


@given(
    st.text(alphabet=string.ascii_letters, min_size=3, max_size=3)
    | st.text(max_size=6)
    | st.sampled_from(["XAU", "XXX", "US", "USDD", "", " usd"])
)
def test_unknown_currency_is_refused(code: str) -> None:
    assume(code.upper() not in CURRENCY_MINOR_UNITS)
    with pytest.raises(ValidationError, match="ISO 4217") as info:
        Money("1", code)
    message = str(info.value)
    assert repr(code) in message
    assert '"USD"' in message
    assert '"EUR"' in message


@pytest.mark.parametrize("code", [5, None, b"USD"])
def test_non_string_currency_is_refused(code: object) -> None:
    with pytest.raises(ValidationError, match="ISO 4217"):
        Money("1", code)  # type: ignore[arg-type]


@given(currencies, st.data())
def test_lower_and_mixed_case_codes_are_normalised(code: str, data: st.DataObject) -> None:
    mixed = "".join(data.draw(st.sampled_from([c.lower(), c])) for c in code)
    money = Money(1, mixed)
    assert money.currency == code
    assert money == Money(1, code)


def test_lower_case_examples() -> None:
    assert Money("3", "jpy").currency == "JPY"
    assert str(Money("3.1", "kWd")) == "3.100 KWD"


@given(currencies, st.integers(-MAX_MINOR, MAX_MINOR), st.integers(1, 5))
def test_too_many_decimal_places_are_refused_never_rounded(
    code: str, minor: int, extra: int
) -> None:
    assume(minor % 10 != 0)
    places = CURRENCY_MINOR_UNITS[code]
    value = Decimal(minor).scaleb(-(places + extra))
    with pytest.raises(ValidationError, match="more decimal places") as info:
        Money(value, code)
    message = str(info.value)
    assert str(value) in message
    assert code in message
    assert f"({places})" in message


def test_too_many_places_message_example() -> None:
    with pytest.raises(
        ValidationError, match=re.escape("10.005 has more decimal places than USD allows (2)")
    ):
        Money("10.005", "USD")
    with pytest.raises(ValidationError, match=re.escape("JPY allows (0)")):
        Money("10.5", "JPY")


@given(currencies, st.integers(-MAX_MINOR, MAX_MINOR), st.integers(1, 5))
def test_trailing_zeros_beyond_the_minor_unit_are_fine(code: str, minor: int, extra: int) -> None:
    places = CURRENCY_MINOR_UNITS[code]
    padded = Decimal(minor * 10**extra).scaleb(-(places + extra))
    money = Money(padded, code)
    assert money.amount == padded
    assert money.amount.as_tuple().exponent == -places


def test_trailing_zero_example() -> None:
    assert str(Money("10.500", "USD").amount) == "10.50"
    assert str(Money("10.0", "JPY").amount) == "10"


@given(money())
def test_amount_is_always_at_the_minor_unit(money: Money) -> None:
    assert money.amount.as_tuple().exponent == -CURRENCY_MINOR_UNITS[money.currency]


def test_quantization_examples() -> None:
    assert str(Money("10", "USD").amount) == "10.00"
    assert str(Money("10", "JPY").amount) == "10"
    assert str(Money("1E+3", "JPY").amount) == "1000"
    assert str(Money("-0", "USD").amount) == "0.00"


def test_negative_amounts_are_allowed() -> None:
    refund = Money("-12.50", "EUR")
    assert refund.is_negative
    assert refund.amount == Decimal("-12.50")


def test_absurdly_large_amounts_are_refused() -> None:
    Money("9" * 24, "USD")
    with pytest.raises(ValidationError, match="too large"):
        Money("1E+24", "USD")
    with pytest.raises(ValidationError, match="too large"):
        Money("1E+999999999", "USD")


def test_money_is_frozen() -> None:
    money = Money("1", "USD")
    with pytest.raises(AttributeError):
        money.amount = Decimal(2)  # type: ignore[misc]


# -- equality, hashing and ordering --------------------------------------------------------


def test_equality_ignores_the_spelling_of_the_amount() -> None:
    assert Money("1.0", "USD") == Money("1.00", "USD") == Money(1, "usd")
    assert hash(Money("1.0", "USD")) == hash(Money("1.00", "USD"))
    assert len({Money("1.0", "USD"), Money(1, "USD"), Money("1", "EUR")}) == 2


@given(two_currencies())
def test_no_currency_mixing(pair: tuple[Money, Money]) -> None:
    a, b = pair
    cases: list[tuple[str, Callable[[], object]]] = [
        ("add", lambda: a + b),
        ("subtract", lambda: a - b),
        ("compare", lambda: a < b),
        ("compare", lambda: a <= b),
        ("compare", lambda: a > b),
        ("compare", lambda: a >= b),
    ]
    for operation, combine in cases:
        with pytest.raises(CurrencyMismatch) as info:
            combine()
        assert (info.value.left, info.value.right, info.value.operation) == (
            a.currency,
            b.currency,
            operation,
        )
        assert a.currency in str(info.value)
        assert b.currency in str(info.value)
    assert (a == b) is False
    assert a != b


def test_equal_numbers_in_different_currencies_are_not_equal() -> None:
    assert Money("1", "USD") != Money("1", "EUR")
    assert (Money("1", "USD") == Money("1", "EUR")) is False


def test_currency_mismatch_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        Money("1", "USD") + Money("1", "EUR")


@given(same_currency(2))
def test_ordering_within_a_currency_follows_the_amounts(pair: tuple[Money, ...]) -> None:
    a, b = pair
    assert (a < b) == (a.amount < b.amount)
    assert (a <= b) == (a.amount <= b.amount)
    assert (a > b) == (a.amount > b.amount)
    assert (a >= b) == (a.amount >= b.amount)
    assert (a == b) == (a.amount == b.amount)


@pytest.mark.parametrize("other", [0, 1, Decimal("1.00"), "1.00 USD", None, 1.0])
def test_comparison_with_non_money(other: object) -> None:
    money = Money("1", "USD")
    assert money != other
    assert (money == other) is False
    for compare in (money.__lt__, money.__le__, money.__gt__, money.__ge__):
        assert compare(other) is NotImplemented  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        money < other  # type: ignore[operator]  # noqa: B015
    with pytest.raises(TypeError):
        money >= other  # type: ignore[operator]  # noqa: B015


# -- arithmetic ----------------------------------------------------------------------------


@given(same_currency(3))
def test_addition_is_exact_associative_and_commutative(trio: tuple[Money, ...]) -> None:
    a, b, c = trio
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert (a + b).amount == a.amount + b.amount
    assert (a + b).currency == a.currency


@given(same_currency(2))
def test_subtraction_undoes_addition(pair: tuple[Money, ...]) -> None:
    a, b = pair
    assert a - b + b == a
    assert str((a - b + b).amount) == str(a.amount)
    assert (a - b).amount == a.amount - b.amount
    assert a - a == Money.zero(a.currency)


@given(money())
def test_negation_and_abs(money: Money) -> None:
    negated = -money
    assert -negated == money
    assert negated.amount == -money.amount
    assert money + (-money) == Money.zero(money.currency)
    assert abs(money).amount == abs(money.amount)
    assert not abs(money).is_negative
    assert abs(-money) == abs(money)


def test_negating_zero_gives_a_positive_zero() -> None:
    assert str(-Money.zero("USD")) == "0.00 USD"


@given(st.lists(money("CHF"), max_size=10))
def test_sum_matches_decimal_sum(amounts: list[Money]) -> None:
    total = sum(amounts, Money.zero("CHF"))
    assert total.amount == sum((m.amount for m in amounts), Decimal(0))
    if amounts:
        assert sum(amounts) == total


def test_sum_examples() -> None:
    amounts = [Money("0.10", "USD"), Money("0.20", "USD"), Money("0.70", "USD")]
    assert sum(amounts) == Money("1.00", "USD")
    assert sum([Money("1", "USD")]) == Money("1", "USD")
    with pytest.raises(CurrencyMismatch):
        sum([Money("1", "USD"), Money("1", "EUR")])


def test_radd_only_accepts_the_int_zero() -> None:
    money = Money("1", "USD")
    assert 0 + money == money
    with pytest.raises(TypeError):
        1 + money
    with pytest.raises(TypeError):
        money + 0  # type: ignore[operator]
    assert money.__radd__(False) is NotImplemented
    assert money.__radd__(0.0) is NotImplemented  # type: ignore[operator]


def _half_even_minor_units(money: Money, factor: int | Decimal) -> int:
    """Oracle: the exact product as a Fraction, rounded with Python's half-to-even round()."""
    places = CURRENCY_MINOR_UNITS[money.currency]
    exact: Fraction = Fraction(money.amount) * Fraction(factor) * 10**places
    return round(exact)


factors = st.integers(-1000, 1000) | st.decimals(
    min_value=Decimal(-1000), max_value=Decimal(1000), allow_nan=False, places=6
)


@given(money(), factors)
def test_multiplication_rounds_half_even_to_the_minor_unit(
    money: Money, factor: int | Decimal
) -> None:
    product = money * factor
    assert product.currency == money.currency
    assert product.minor_units == _half_even_minor_units(money, factor)
    assert product.amount.as_tuple().exponent == -CURRENCY_MINOR_UNITS[money.currency]
    assert factor * money == product


@given(money(), st.integers(-(10**6), 10**6))
def test_multiplication_by_an_int_is_exact(money: Money, factor: int) -> None:
    assert (money * factor).amount == money.amount * factor


@pytest.mark.parametrize(
    ("amount", "currency", "factor", "expected"),
    [
        ("0.05", "USD", Decimal("0.5"), "0.02"),  # 0.025 -> even cent below
        ("0.15", "USD", Decimal("0.5"), "0.08"),  # 0.075 -> even cent above
        ("0.25", "USD", Decimal("0.5"), "0.12"),  # 0.125 -> 0.12
        ("-0.05", "USD", Decimal("0.5"), "-0.02"),
        ("5", "JPY", Decimal("0.5"), "2"),  # 2.5 -> 2
        ("7", "JPY", Decimal("0.5"), "4"),  # 3.5 -> 4
        ("0.005", "KWD", Decimal("0.5"), "0.002"),  # 0.0025 -> 0.002
        ("100.00", "EUR", Decimal("0.15"), "15.00"),
        ("19.99", "USD", 3, "59.97"),
    ],
)
def test_multiplication_examples(
    amount: str, currency: str, factor: int | Decimal, expected: str
) -> None:
    assert str((Money(amount, currency) * factor).amount) == expected


@pytest.mark.parametrize("factor", [1.0, 0.5, 2.0, float("nan")])
def test_multiplication_by_float_is_refused(factor: float) -> None:
    money = Money("1", "USD")
    with pytest.raises(ValidationError, match="float"):
        money * factor  # type: ignore[operator]
    with pytest.raises(ValidationError, match="float"):
        factor * money  # type: ignore[operator]


def test_multiplication_by_money_bool_or_non_finite_is_refused() -> None:
    money = Money("1", "USD")
    with pytest.raises(TypeError):
        money * money  # type: ignore[operator]
    with pytest.raises(TypeError):
        money * "2"  # type: ignore[operator]
    with pytest.raises(ValidationError, match="bool"):
        money * True
    with pytest.raises(ValidationError, match="finite"):
        money * Decimal("Infinity")
    with pytest.raises(ValidationError, match="too large"):
        money * 10**30
    with pytest.raises(ValidationError, match="too large"):
        money * Decimal("9E+999999999999999999")


# -- helpers and text ----------------------------------------------------------------------


@given(currencies)
def test_zero(code: str) -> None:
    zero = Money.zero(code.lower())
    assert zero.is_zero
    assert not zero.is_negative
    assert zero.minor_units == 0
    assert zero.currency == code


@given(money())
def test_is_zero_and_is_negative(money: Money) -> None:
    assert money.is_zero == (money.amount == 0)
    assert money.is_negative == (money.amount < 0)


@given(currencies, st.integers(-MAX_MINOR, MAX_MINOR))
def test_minor_units_round_trip(code: str, minor: int) -> None:
    money = Money.from_minor_units(minor, code)
    assert money.minor_units == minor
    assert Money.from_minor_units(money.minor_units, money.currency) == money
    assert money.amount == Fraction(minor, 10 ** CURRENCY_MINOR_UNITS[code])


@given(money())
def test_from_minor_units_inverts_minor_units(money: Money) -> None:
    again = Money.from_minor_units(money.minor_units, money.currency)
    assert again == money
    assert str(again.amount) == str(money.amount)


def test_minor_units_examples() -> None:
    assert Money("10.50", "USD").minor_units == 1050
    assert Money("10", "JPY").minor_units == 10
    assert Money("1.234", "KWD").minor_units == 1234
    assert Money.from_minor_units(1050, "usd") == Money("10.50", "USD")
    assert Money.from_minor_units(-7, "JPY") == Money(-7, "JPY")
    assert Money.from_minor_units(1, "CLF") == Money("0.0001", "CLF")


@pytest.mark.parametrize("value", [10.5, True, "1050", Decimal(1050)])
def test_from_minor_units_requires_an_int(value: object) -> None:
    with pytest.raises(ValidationError, match="must be an int"):
        Money.from_minor_units(value, "USD")  # type: ignore[arg-type]


def test_from_minor_units_refuses_unknown_currency_and_huge_values() -> None:
    with pytest.raises(ValidationError, match="ISO 4217"):
        Money.from_minor_units(1, "ABC")
    with pytest.raises(ValidationError, match="too large"):
        Money.from_minor_units(10**40, "USD")


@given(money())
def test_json_round_trip_is_exact(money: Money) -> None:
    text = json.dumps({"amount": str(money.amount), "currency": money.currency})
    data = json.loads(text)
    again = Money(data["amount"], data["currency"])
    assert again == money
    assert str(again.amount) == str(money.amount)
    assert again.amount.as_tuple() == money.amount.as_tuple()


@given(money())
def test_repr_evaluates_back(money: Money) -> None:
    assert eval(repr(money), {"Money": Money}) == money


def test_str_and_repr_examples() -> None:
    assert str(Money("10.5", "USD")) == "10.50 USD"
    assert repr(Money("10.5", "USD")) == "Money('10.50', 'USD')"
    assert str(Money(1500, "JPY")) == "1500 JPY"
    assert repr(Money("-1.5", "kwd")) == "Money('-1.500', 'KWD')"


# -- per-currency examples -----------------------------------------------------------------


def test_jpy_has_no_minor_unit() -> None:
    yen = Money("1500", "JPY")
    assert yen.amount == Decimal(1500)
    assert yen.minor_units == 1500
    assert yen + Money(1, "JPY") == Money(1501, "JPY")
    assert Money.from_minor_units(1500, "JPY") == yen
    with pytest.raises(ValidationError, match="JPY allows"):
        Money("1.5", "JPY")
    assert Money("1.0", "JPY") == Money(1, "JPY")


def test_kwd_has_three_places() -> None:
    dinar = Money("1.5", "KWD")
    assert str(dinar.amount) == "1.500"
    assert dinar.minor_units == 1500
    assert Money("0.001", "KWD").minor_units == 1
    assert dinar + Money("0.001", "KWD") == Money("1.501", "KWD")
    with pytest.raises(ValidationError, match=re.escape("KWD allows (3)")):
        Money("1.0005", "KWD")
    assert Money("1.0050", "KWD") == Money("1.005", "KWD")
