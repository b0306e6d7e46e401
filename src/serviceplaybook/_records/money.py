"""Exact amounts of money in one ISO 4217 currency.

:class:`Money` pairs a :class:`~decimal.Decimal` amount with a currency code and keeps the
amount at exactly the currency's minor unit (two places for USD and EUR, none for JPY, three
for KWD, four for CLF).

Why floats are refused: a binary float cannot hold most decimal amounts exactly. ``0.1`` is
really ``0.1000000000000000055511151231257827...``, so ``0.1 + 0.2 != 0.3`` and a refund built
from floats can end up a cent off after a few additions. Rather than guess which decimal the
caller meant, ``Money`` refuses floats (even integral ones such as ``1.0``) with a
:class:`~serviceplaybook.ValidationError`: pass a string such as ``"12.50"``, an int or
a ``Decimal``.

The same care applies to decimal places: an amount with more places than its currency allows
(``Money("10.005", "USD")``) is refused, never silently rounded. Trailing zeros are fine
(``Money("10.500", "USD")`` is ``10.50 USD``). Addition and subtraction are exact; the only
operation that rounds is multiplication by a factor (for example a percentage), which rounds
half to even to the minor unit.

Currencies never mix: adding, subtracting or ordering amounts in different currencies raises
:class:`~serviceplaybook.CurrencyMismatch`; ``==`` across currencies is simply False.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType

import attrs

from serviceplaybook._errors import CurrencyMismatch, ValidationError, WrongType
from serviceplaybook._records.validate import shown, wrong_type

CURRENCY_MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {
        "AED": 2,
        "AFN": 2,
        "ALL": 2,
        "AMD": 2,
        "ANG": 2,
        "AOA": 2,
        "ARS": 2,
        "AUD": 2,
        "AWG": 2,
        "AZN": 2,
        "BAM": 2,
        "BBD": 2,
        "BDT": 2,
        "BGN": 2,
        "BHD": 3,
        "BIF": 0,
        "BMD": 2,
        "BND": 2,
        "BOB": 2,
        "BOV": 2,
        "BRL": 2,
        "BSD": 2,
        "BTN": 2,
        "BWP": 2,
        "BYN": 2,
        "BZD": 2,
        "CAD": 2,
        "CDF": 2,
        "CHE": 2,
        "CHF": 2,
        "CHW": 2,
        "CLF": 4,
        "CLP": 0,
        "CNY": 2,
        "COP": 2,
        "COU": 2,
        "CRC": 2,
        "CUC": 2,
        "CUP": 2,
        "CVE": 2,
        "CZK": 2,
        "DJF": 0,
        "DKK": 2,
        "DOP": 2,
        "DZD": 2,
        "EGP": 2,
        "ERN": 2,
        "ETB": 2,
        "EUR": 2,
        "FJD": 2,
        "FKP": 2,
        "GBP": 2,
        "GEL": 2,
        "GHS": 2,
        "GIP": 2,
        "GMD": 2,
        "GNF": 0,
        "GTQ": 2,
        "GYD": 2,
        "HKD": 2,
        "HNL": 2,
        "HTG": 2,
        "HUF": 2,
        "IDR": 2,
        "ILS": 2,
        "INR": 2,
        "IQD": 3,
        "IRR": 2,
        "ISK": 0,
        "JMD": 2,
        "JOD": 3,
        "JPY": 0,
        "KES": 2,
        "KGS": 2,
        "KHR": 2,
        "KMF": 0,
        "KPW": 2,
        "KRW": 0,
        "KWD": 3,
        "KYD": 2,
        "KZT": 2,
        "LAK": 2,
        "LBP": 2,
        "LKR": 2,
        "LRD": 2,
        "LSL": 2,
        "LYD": 3,
        "MAD": 2,
        "MDL": 2,
        "MGA": 2,
        "MKD": 2,
        "MMK": 2,
        "MNT": 2,
        "MOP": 2,
        "MRU": 2,
        "MUR": 2,
        "MVR": 2,
        "MWK": 2,
        "MXN": 2,
        "MXV": 2,
        "MYR": 2,
        "MZN": 2,
        "NAD": 2,
        "NGN": 2,
        "NIO": 2,
        "NOK": 2,
        "NPR": 2,
        "NZD": 2,
        "OMR": 3,
        "PAB": 2,
        "PEN": 2,
        "PGK": 2,
        "PHP": 2,
        "PKR": 2,
        "PLN": 2,
        "PYG": 0,
        "QAR": 2,
        "RON": 2,
        "RSD": 2,
        "RUB": 2,
        "RWF": 0,
        "SAR": 2,
        "SBD": 2,
        "SCR": 2,
        "SDG": 2,
        "SEK": 2,
        "SGD": 2,
        "SHP": 2,
        "SLE": 2,
        "SOS": 2,
        "SRD": 2,
        "SSP": 2,
        "STN": 2,
        "SVC": 2,
        "SYP": 2,
        "SZL": 2,
        "THB": 2,
        "TJS": 2,
        "TMT": 2,
        "TND": 3,
        "TOP": 2,
        "TRY": 2,
        "TTD": 2,
        "TWD": 2,
        "TZS": 2,
        "UAH": 2,
        "UGX": 0,
        "USD": 2,
        "USN": 2,
        "UYI": 0,
        "UYU": 2,
        "UYW": 4,
        "UZS": 2,
        "VED": 2,
        "VES": 2,
        "VND": 0,
        "VUV": 0,
        "WST": 2,
        "XAF": 0,
        "XCD": 2,
        "XCG": 2,
        "XOF": 0,
        "XPF": 0,
        "YER": 2,
        "ZAR": 2,
        "ZMW": 2,
        "ZWG": 2,
    }
)
"""ISO 4217 active currency codes and their minor-unit exponent (decimal places).

Codes without a minor unit (precious metals such as ``XAU``, ``XDR``, the testing code ``XTS``
and ``XXX``) are left out: an amount in them cannot be held to a fixed number of places.
Read-only.
"""

_MAX_INTEGER_DIGITS = 24
"""At most this many digits before the decimal point (amounts below 10**24 in absolute value).

With at most four places that keeps every amount within 28 significant digits, the precision
of Python's default decimal context, and it refuses absurd values such as ``"1E+999999"``
before they can cost memory or time.
"""

_EXACT = decimal.Context(
    prec=_MAX_INTEGER_DIGITS + 16,
    rounding=ROUND_HALF_EVEN,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.Inexact, decimal.Overflow, decimal.DivisionByZero],
)
"""Context for additions and subtractions of bounded amounts: wide enough to be exact, and
trapping Inexact so that an inexact result could never pass silently."""

_ROUNDING = _EXACT.copy()
_ROUNDING.traps[decimal.Inexact] = False
"""Like ``_EXACT`` but for quantizing, where dropping digits is the point (and is checked)."""

_FLOAT_REFUSED = (
    "floats are refused because they cannot hold exact amounts "
    "(0.1 is really 0.1000000000000000055...); "
    'pass a string such as "12.50" or a Decimal'
)


_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""What an amount written as text may look like: ASCII digits, an optional sign, point and
exponent. ``Decimal`` alone would also read "1_000", " 1 " and other scripts' digits
("١٢"), which a host more likely got by mistake than meant."""


def _to_decimal(value: Decimal | int | str) -> Decimal:
    """Convert an amount to a finite Decimal, refusing floats, bools and non-numbers."""
    if isinstance(value, float):
        raise ValidationError(f"amount {value!r} is a float: {_FLOAT_REFUSED}")
    if isinstance(value, bool):
        raise ValidationError(
            f"amount {value!r} is a bool, not an amount; "
            'pass a string such as "12.50", an int or a Decimal'
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value):
        raise ValidationError(
            f"amount {shown(value)} is not a decimal number written plainly: write a finite "
            'amount in ASCII digits with an optional sign and point, such as "12.50" or "-3"'
        )
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except decimal.InvalidOperation:
            raise ValidationError(
                f"amount {value!r} is not a decimal number; "
                'pass a string such as "12.50", an int or a Decimal'
            ) from None
    else:
        raise WrongType(
            f"amount {shown(value)} has type {type(value).__name__}; Money.amount must be "
            'a decimal str such as "12.50", an int or a Decimal'
        )
    if not result.is_finite():
        raise ValidationError(f"amount {value!r} is not a finite number; amounts must be finite")
    return result


def _to_currency(value: str) -> str:
    """Upper-case a currency code and check it is an ISO 4217 code with a minor unit."""
    if not isinstance(value, str):
        raise wrong_type("Money.currency", 'an ISO 4217 code str such as "USD"', value)
    code = value.upper()
    if code not in CURRENCY_MINOR_UNITS:
        raise ValidationError(
            f'unknown currency {value!r}: it must be an ISO 4217 code such as "USD" or "EUR"'
        )
    return code


def _check_magnitude(amount: Decimal, currency: str) -> None:
    """Refuse amounts with more than ``_MAX_INTEGER_DIGITS`` digits before the point."""
    if not amount.is_zero() and amount.adjusted() >= _MAX_INTEGER_DIGITS:
        raise ValidationError(
            f"amount {_short(amount)} {currency} is too large: amounts must be below "
            f"10**{_MAX_INTEGER_DIGITS} in absolute value"
        )


def _short(amount: Decimal) -> str:
    """The amount as text, in scientific notation when it would be too long to read."""
    text = str(amount)
    return text if len(text) <= 40 else f"{amount:.6E}"


def _quantum(currency: str) -> Decimal:
    """The currency's minor unit as a Decimal exponent template: 0.01 for USD, 1 for JPY."""
    return Decimal((0, (1,), -CURRENCY_MINOR_UNITS[currency]))


def _normalize_zero(amount: Decimal) -> Decimal:
    """Turn a negative zero into a positive one, so that ``str`` never shows ``-0.00``."""
    return amount.copy_abs() if amount.is_zero() else amount


@attrs.frozen
class Money:
    """An exact amount in one ISO 4217 currency.

    ``Money("12.50", "USD")``, ``Money(10, "EUR")`` and ``Money(Decimal("1.5"), "usd")`` all
    work. The amount is held at exactly the currency's minor unit (``Money("10", "USD")`` has
    amount ``Decimal("10.00")``); more places than the currency allows are refused, never
    rounded. Negative amounts are allowed (a refund in a ledger).

    Args:
        amount: a ``Decimal``, an ``int`` or a decimal string. Floats are refused.
        currency: an ISO 4217 code, in any case (it is upper-cased).

    Raises:
        ValidationError: the amount is a float, a bool, not a finite number, has more decimal
            places than the currency allows or is too large; or the currency is unknown.

    Attributes:
        amount: the amount, quantized to the currency's minor unit.
        currency: the upper-case ISO 4217 code.
    """

    amount: Decimal = attrs.field(converter=_to_decimal)
    currency: str = attrs.field(converter=_to_currency)

    def __attrs_post_init__(self) -> None:
        _check_magnitude(self.amount, self.currency)
        places = CURRENCY_MINOR_UNITS[self.currency]
        quantized = self.amount.quantize(_quantum(self.currency), context=_ROUNDING)
        if quantized != self.amount:
            raise ValidationError(
                f"{self.amount} has more decimal places than {self.currency} allows ({places}); "
                f"round it explicitly first"
            )
        object.__setattr__(self, "amount", _normalize_zero(quantized))

    # -- construction helpers ------------------------------------------------------------

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``.

        Args:
            currency: an ISO 4217 code, in any case.

        Returns:
            ``Money(0, currency)``, for example ``0.00 USD``.
        """
        return cls(0, currency)

    @classmethod
    def from_minor_units(cls, minor_units: int, currency: str) -> Money:
        """Build an amount from a whole number of minor units (cents, fils, yen...).

        Args:
            minor_units: the amount in minor units, for example ``1050`` for 10.50 USD.
            currency: an ISO 4217 code, in any case.

        Returns:
            The amount, for example ``Money("10.50", "USD")``.

        Raises:
            ValidationError: ``minor_units`` is not an int, or the currency is unknown.
        """
        if not isinstance(minor_units, int) or isinstance(minor_units, bool):
            raise ValidationError(
                f"minor units {minor_units!r} must be an int, for example 1050 for 10.50 USD"
            )
        code = _to_currency(currency)
        places = CURRENCY_MINOR_UNITS[code]
        if abs(minor_units) >= 10 ** (_MAX_INTEGER_DIGITS + places):
            raise ValidationError(
                f"minor units {minor_units} {code} is too large: amounts must be below "
                f"10**{_MAX_INTEGER_DIGITS} in absolute value"
            )
        amount = Decimal(minor_units).scaleb(-places, context=_EXACT)
        return cls(amount, code)

    # -- properties ------------------------------------------------------------------------

    @property
    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.amount.is_zero()

    @property
    def is_negative(self) -> bool:
        """True when the amount is below zero (a refund or a debit)."""
        return self.amount < 0

    @property
    def minor_units(self) -> int:
        """The amount as a whole number of minor units: ``1050`` for 10.50 USD."""
        return int(self.amount.scaleb(CURRENCY_MINOR_UNITS[self.currency], context=_EXACT))

    # -- arithmetic ------------------------------------------------------------------------

    def _same_currency(self, other: object, operation: str) -> Money | None:
        """``other`` when it is Money in this currency; None when it is not Money at all.

        Raises:
            CurrencyMismatch: ``other`` is Money in another currency.
        """
        if not isinstance(other, Money):
            return None
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, operation)
        return other

    def __add__(self, other: Money) -> Money:
        """Exact sum of two amounts in the same currency.

        Raises:
            CurrencyMismatch: the currencies differ.
        """
        same = self._same_currency(other, "add")
        if same is None:
            return NotImplemented
        return Money(_EXACT.add(self.amount, same.amount), self.currency)

    def __radd__(self, other: int) -> Money:
        """Support ``sum(amounts)``, which starts from the int ``0``."""
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: Money) -> Money:
        """Exact difference of two amounts in the same currency.

        Raises:
            CurrencyMismatch: the currencies differ.
        """
        same = self._same_currency(other, "subtract")
        if same is None:
            return NotImplemented
        return Money(_EXACT.subtract(self.amount, same.amount), self.currency)

    def __neg__(self) -> Money:
        """The amount with its sign flipped."""
        return Money(self.amount.copy_negate(), self.currency)

    def __abs__(self) -> Money:
        """The amount without its sign."""
        return Money(self.amount.copy_abs(), self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        """Multiply by an int or a Decimal, rounding half to even to the minor unit.

        This is the only operation on Money that rounds: ``Money("0.05", "USD") *
        Decimal("0.5")`` is ``0.02 USD`` (0.025 rounds to the even cent).

        Args:
            factor: an ``int`` or a finite ``Decimal``. Floats are refused; multiplying two
                amounts of money has no meaning and raises ``TypeError``.

        Raises:
            ValidationError: the factor is a float or not finite, or the product is too large.
        """
        exact = _as_factor(factor)
        if exact is None:
            return NotImplemented
        digits = len(self.amount.as_tuple().digits) + len(exact.as_tuple().digits)
        context = _EXACT.copy()
        context.prec = max(context.prec, digits + 2)
        try:
            product = context.multiply(self.amount, exact)
        except decimal.Overflow:
            raise ValidationError(
                f"{self} * {_short(exact)} is too large: amounts must be below "
                f"10**{_MAX_INTEGER_DIGITS} in absolute value"
            ) from None
        _check_magnitude(product, self.currency)
        context.traps[decimal.Inexact] = False
        rounded = product.quantize(_quantum(self.currency), ROUND_HALF_EVEN, context)
        return Money(rounded, self.currency)

    def __rmul__(self, factor: int | Decimal) -> Money:
        """``factor * money``: the same as ``money * factor``."""
        return self.__mul__(factor)

    # -- ordering (attrs provides == and hash) ---------------------------------------------

    def __lt__(self, other: Money) -> bool:
        """Order two amounts in the same currency.

        Raises:
            CurrencyMismatch: the currencies differ.
        """
        same = self._same_currency(other, "compare")
        if same is None:
            return NotImplemented
        return self.amount < same.amount

    def __le__(self, other: Money) -> bool:
        """Order two amounts in the same currency.

        Raises:
            CurrencyMismatch: the currencies differ.
        """
        same = self._same_currency(other, "compare")
        if same is None:
            return NotImplemented
        return self.amount <= same.amount

    def __gt__(self, other: Money) -> bool:
        """Order two amounts in the same currency.

        Raises:
            CurrencyMismatch: the currencies differ.
        """
        same = self._same_currency(other, "compare")
        if same is None:
            return NotImplemented
        return self.amount > same.amount

    def __ge__(self, other: Money) -> bool:
        """Order two amounts in the same currency.

        Raises:
            CurrencyMismatch: the currencies differ.
        """
        same = self._same_currency(other, "compare")
        if same is None:
            return NotImplemented
        return self.amount >= same.amount

    # -- text ------------------------------------------------------------------------------

    def __str__(self) -> str:
        """``"10.50 USD"``."""
        return f"{self.amount} {self.currency}"

    def __repr__(self) -> str:
        """``"Money('10.50', 'USD')"``: evaluates back to an equal Money."""
        return f"Money({str(self.amount)!r}, {self.currency!r})"


def _as_factor(factor: object) -> Decimal | None:
    """A multiplication factor as a finite Decimal; None when it is not a number at all.

    Raises:
        ValidationError: the factor is a float, a bool or a non-finite Decimal.
    """
    if isinstance(factor, float):
        raise ValidationError(f"cannot multiply Money by the float {factor!r}: {_FLOAT_REFUSED}")
    if isinstance(factor, bool):
        raise ValidationError(f"cannot multiply Money by the bool {factor!r}; use an int")
    if isinstance(factor, int):
        return Decimal(factor)
    if isinstance(factor, Decimal):
        if not factor.is_finite():
            raise ValidationError(f"cannot multiply Money by {factor!r}: factors must be finite")
        return factor
    return None
