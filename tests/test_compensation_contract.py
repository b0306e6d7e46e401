"""The compensation policy contract suite, run against the default policy, a policy in
another currency with a shorter window, and a subclass (the airline example)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from serviceplaybook import AuthorityMatrix, CompensationPolicy
from serviceplaybook.testing.compensation_contract import CompensationPolicyContract

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "airline_compensation.py"


def _airline_module() -> object:
    spec = importlib.util.spec_from_file_location("airline_compensation", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("airline_compensation", module)
    spec.loader.exec_module(module)
    return module


class TestDefaultPolicy(CompensationPolicyContract):
    @pytest.fixture
    def compensation_policy(self) -> CompensationPolicy:
        return CompensationPolicy()


class TestYenPolicyWithAWeekWindow(CompensationPolicyContract):
    @pytest.fixture
    def compensation_policy(self) -> CompensationPolicy:
        return CompensationPolicy(
            authority=AuthorityMatrix.standard("JPY", window=timedelta(days=7)), max_claims=1
        )


class TestAirlinePolicy(CompensationPolicyContract):
    @pytest.fixture
    def compensation_policy(self) -> CompensationPolicy:
        module = _airline_module()
        policy = module.AirlineCompensationPolicy()  # type: ignore[attr-defined]
        assert isinstance(policy, CompensationPolicy)
        return policy
