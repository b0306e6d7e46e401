"""Subclassing the escalation policy: platinum customers and legal mentions.

A company looks after its "platinum" customers with a supervisor: the first negative message
from a platinum customer, however mild, brings a supervisor in (the default high-value rule
waits until a customer is clearly upset). And it adds a rule of its own: a customer who
mentions lawyers or legal action goes to a manager, who involves the legal team; the
detector reports it as ``Signals.legal_threat``, which the default policy leaves to
guidance. Each change is one overridden method; every other rule stays as it is.

The policy's contract suite runs against this subclass in tests/test_escalation_contract.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from serviceplaybook import (
    Agent,
    Conversation,
    Customer,
    EscalationPolicy,
    Issue,
    Reason,
    Role,
    Rule,
    ServiceDesk,
    Signals,
    Urgency,
)
from serviceplaybook.testing import FakeClock


class PlatinumEscalationPolicy(EscalationPolicy):
    """The default policy, plus: platinum at the first negative message, legal to a manager."""

    def high_value(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """Platinum customers: a supervisor at the first negative message."""
        if (
            signals is not None
            and conversation.customer.tier == "platinum"
            and signals.sentiment < 0
        ):
            return Reason(
                code="platinum_customer",
                text="A platinum customer is unhappy; their account supervisor takes over.",
            )
        return super().high_value(conversation, signals)

    def legal_mention(self, conversation: Conversation, signals: Signals | None) -> Reason | None:
        """The customer mentions lawyers or legal action: a manager handles it."""
        if signals is not None and signals.legal_threat:
            return Reason(
                code="legal_mention",
                text="The customer mentioned legal action; a manager takes over with the "
                "legal team.",
            )
        return None

    def rules(self) -> Sequence[Rule]:
        """The default rules, then the legal one."""
        return (*super().rules(), self.legal_mention)

    def urgency(self, codes: set[str]) -> Urgency:
        """Platinum customers are taken over quickly."""
        if "platinum_customer" in codes:
            return max(super().urgency(codes), Urgency.HIGH, key=list(Urgency).index)
        return super().urgency(codes)

    def role_needed(self, conversation: Conversation, reason: Reason) -> Role | None:
        """Who the two new reasons need; the rest as by default."""
        if reason.code == "platinum_customer":
            return Role.SUPERVISOR
        if reason.code == "legal_mention":
            return Role.MANAGER
        return super().role_needed(conversation, reason)


def main() -> None:
    """Play three customers against the company's desk, printing what happens."""
    clock = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    desk = ServiceDesk.in_memory(clock=clock, escalation=PlatinumEscalationPolicy())
    sam = Agent(id="sam", name="Sam", role=Role.AGENT)
    issue = Issue(category="late_delivery", severity="medium", summary="The parcel is late")
    cases = [
        ("standard", "The delivery is late and that is a bit disappointing."),
        ("platinum", "The delivery is late and that is a bit disappointing."),
        ("gold", "If this is not sorted out this week I will call my lawyer."),
    ]
    for tier, text in cases:
        conversation = desk.open(
            customer=Customer(id=f"cust-{tier}", tier=tier), issue=issue, agent=sam
        )
        clock.advance(minutes=1)
        outcome = desk.hear(conversation.id, text)
        print(f"{tier} customer: {text!r}")
        assert outcome.signals is not None
        print(f"  sentiment {outcome.signals.sentiment:+.2f}, stage {outcome.conversation.stage}")
        decision = outcome.escalation
        if decision is None:
            print("  no escalation: the agent carries on")
            continue
        print(f"  escalation to {decision.to.value} ({decision.urgency.value})")
        for reason in decision.reasons:
            print(f"    - {reason}")
        print(f"    brief: {decision.brief.summary!r}, mood {decision.brief.mood}")


if __name__ == "__main__":
    main()
