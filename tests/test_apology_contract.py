"""The apology contract suite, run against the default policy and a typical subclass."""

from __future__ import annotations

import pytest

from serviceplaybook import ApologyPolicy, Conversation, Reason
from serviceplaybook.testing.apology_contract import ApologyPolicyContract, sample_conversation


class TestDefaultApologyPolicy(ApologyPolicyContract):
    @pytest.fixture
    def apology_policy(self) -> ApologyPolicy:
        return ApologyPolicy()


class AirlineApologies(ApologyPolicy):
    """An integrator's policy: its own templates, a stricter cap, one more excuse, one more
    rule (no apology from a bot)."""

    def __init__(self) -> None:
        super().__init__(
            max_per_conversation=1,
            templates={
                "delivery": "I'm sorry {about}; your bags are our responsibility. I know "
                "{impact}, and I'm tracing them now.",
                "default": "I'm sorry {about}. I know {impact}; that's on us to fix.",
            },
            excuse_patterns=(*ApologyPolicy().excuse_patterns, r"\bair traffic control\b"),
        )

    def bot(self, conversation: Conversation) -> Reason | None:
        if conversation.agent.is_bot:
            return Reason(code="bot_does_not_apologize", text="Leave apologies to people.")
        return None

    def rules(self):  # type: ignore[no-untyped-def]
        return (*super().rules(), self.bot)


class TestAirlineApologies(ApologyPolicyContract):
    @pytest.fixture
    def apology_policy(self) -> ApologyPolicy:
        return AirlineApologies()


def test_the_subclass_really_differs() -> None:
    policy = AirlineApologies()
    assert policy.max_per_conversation == 1
    assert [
        f.code for f in policy.review("Air traffic control, sorry.", sample_conversation("x"))
    ] == [
        "excuse",
        "generic_apology",
    ]
