"""Helpers for testing code built on serviceplaybook: a controllable clock and
deterministic ids, so conversations replay identically."""

from serviceplaybook.testing.fakes import FakeClock, SequentialIds

__all__ = ["FakeClock", "SequentialIds"]
