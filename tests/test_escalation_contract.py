"""The escalation policy's contract suite, run against the default policy and against the
subclass in examples/platinum_escalation.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from serviceplaybook import EscalationLadder, EscalationPolicy, Money, Role
from serviceplaybook.testing.escalation_contract import EscalationPolicyContract

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "platinum_escalation.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("platinum_escalation", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


platinum = load_example()


class TestDefaultPolicy(EscalationPolicyContract):
    @pytest.fixture
    def policy(self) -> EscalationPolicy:
        return EscalationPolicy()


class TestConfiguredPolicy(EscalationPolicyContract):
    """Every knob turned: a short ladder without a bot, no hop before the top, high-value
    customers by tier and by order value."""

    @pytest.fixture
    def policy(self) -> EscalationPolicy:
        return EscalationPolicy(
            ladder=EscalationLadder(
                roles=(Role.AGENT, Role.SUPERVISOR, Role.MANAGER), max_handoffs=0
            ),
            max_declined_offers=1,
            sentiment_window=2,
            repeat_contact_mentions=1,
            high_value_tiers={"gold", "vip"},
            high_value_orders=[Money("1000", "USD")],
        )


class TestPlatinumPolicy(EscalationPolicyContract):
    @pytest.fixture
    def policy(self) -> EscalationPolicy:
        policy: EscalationPolicy = platinum.PlatinumEscalationPolicy()
        return policy


def test_the_example_prints_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    platinum.main()
    out = capsys.readouterr().out
    standard, platinum_part, legal = out.split(" customer: ")[1:]
    assert "no escalation" in standard
    assert "escalation to supervisor (high)" in platinum_part
    assert "platinum_customer" in platinum_part
    assert "escalation to manager" in legal
    assert "legal_mention" in legal
