"""A clock you move by hand and ids that count up: deterministic tests and simulations."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from serviceplaybook._records.validate import require_aware

__all__ = ["FakeClock", "SequentialIds"]


class FakeClock:
    """A :data:`~serviceplaybook.Clock` that stands still until moved.

    Args:
        start: the first time it tells (timezone-aware); defaults to 2026-01-05 09:00 UTC,
            a Monday morning.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.now = require_aware(
            start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "FakeClock(start)"
        )

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)``; returns the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError(f"a clock only moves forward, got {step}")
        self.now += step
        return self.now


class SequentialIds:
    """Ids ``prefix-1``, ``prefix-2``...: pass one as ``ServiceDesk(ids=...)``."""

    def __init__(self, prefix: str = "id") -> None:
        self.prefix = prefix
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self.prefix}-{next(self._counter)}"
