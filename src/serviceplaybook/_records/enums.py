"""Base classes for the library's string enums."""

from __future__ import annotations

import enum
from typing import Any

from serviceplaybook._errors import ValidationError


class Choice(enum.StrEnum):
    """A string enum whose constructor accepts a member or its value, in any letter case, and
    refuses anything else with a :class:`ValidationError` that lists the allowed values."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            for member in cls:
                if member.value == value.lower():
                    return member
        allowed = ", ".join(repr(member.value) for member in cls)
        raise ValidationError(f"{value!r} is not a valid {cls.__name__}; allowed: {allowed}")


class Ranked(Choice):
    """A :class:`Choice` ordered by :meth:`_rank` (definition order unless overridden).

    A member whose rank is ``None`` stands outside the order: comparing it raises
    ``TypeError``.
    """

    def _rank(self) -> int | None:
        return list(type(self)).index(self)

    def _ranks(self, other: object) -> tuple[int, int] | None:
        if not isinstance(other, type(self)):
            if not isinstance(other, str) or isinstance(other, enum.Enum):
                return None
            # A plain value such as "manager" compares by rank too, never alphabetically.
            try:
                other = type(self)(other)
            except ValidationError:
                raise TypeError(
                    f"cannot order {self.value!r} and {other!r}: {other!r} is not a "
                    f"{type(self).__name__}"
                ) from None
        mine, theirs = self._rank(), other._rank()
        if mine is None or theirs is None:
            raise TypeError(
                f"cannot order {self.value!r} and {other.value!r}: "
                f"{(self if mine is None else other).value!r} stands outside the "
                f"{type(self).__name__} order"
            )
        return mine, theirs

    def __lt__(self, other: str) -> bool:
        ranks = self._ranks(other)
        return NotImplemented if ranks is None else ranks[0] < ranks[1]

    def __le__(self, other: str) -> bool:
        ranks = self._ranks(other)
        return NotImplemented if ranks is None else ranks[0] <= ranks[1]

    def __gt__(self, other: str) -> bool:
        ranks = self._ranks(other)
        return NotImplemented if ranks is None else ranks[0] > ranks[1]

    def __ge__(self, other: str) -> bool:
        ranks = self._ranks(other)
        return NotImplemented if ranks is None else ranks[0] >= ranks[1]

    __hash__ = enum.StrEnum.__hash__
