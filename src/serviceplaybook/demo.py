"""A scripted difficult conversation, printed step by step: ``serviceplaybook demo``.

An angry repeat-contact customer, listening before solving, a summary confirmed, one specific
apology, an offer declined, a refund above the agent's authority, an ask for a manager and a
warm handover with the brief, the supervisor's approval, and a follow-up scheduled. Each step
prints who said what, the stage, the signals, the guidance and the decisions with their
reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from serviceplaybook.conversation import CUSTOMER
from serviceplaybook.desk import Outcome, ServiceDesk
from serviceplaybook.errors import ApprovalRequired
from serviceplaybook.issue import Issue
from serviceplaybook.money import Money
from serviceplaybook.offers import Offer, OfferKind
from serviceplaybook.parties import Agent, Channel, Customer, Role
from serviceplaybook.testing.fakes import FakeClock, SequentialIds

__all__ = ["run_demo"]


def _show(write: Callable[[str], None], who: str, said: str, outcome: Outcome) -> None:
    write(f"\n{who}: {said}")
    conversation = outcome.conversation
    write(f"  stage: {conversation.stage}   version: {conversation.version}")
    if outcome.signals is not None:
        s = outcome.signals
        flags = [
            name
            for name in (
                "abusive",
                "threat",
                "legal_threat",
                "wants_manager",
                "repeat_contact",
                "shouting",
            )
            if getattr(s, name)
        ]
        write(
            f"  signals: sentiment {s.sentiment:+.2f}, anger {s.anger:.2f}"
            + (f", {', '.join(flags)}" if flags else "")
        )
    if outcome.apology is not None:
        write(f"  apology: {outcome.apology.text!r}")
    if outcome.apology_decision is not None:
        for reason in outcome.apology_decision.reasons:
            write(f"  apology decision: {reason}")
    if outcome.authorization is not None:
        write(f"  authorization: {outcome.authorization.status.value}")
        for reason in outcome.authorization.reasons:
            write(f"    - {reason}")
    if outcome.escalation is not None:
        decision = outcome.escalation
        write(f"  escalation: to {decision.to.value} ({decision.urgency.value})")
        for reason in decision.reasons:
            write(f"    - {reason}")
        write(f"    brief: {decision.brief.summary!r}; mood {decision.brief.mood}")
        for line in decision.brief.tried:
            write(f"    tried: {line}")
    if outcome.follow_up is not None:
        f = outcome.follow_up
        write(f"  follow-up: {f.channel.value} on {f.due_at:%a %d %b %H:%M %Z} ({f.purpose})")
    write("  guidance:")
    for step in outcome.guidance:
        write(f"    - {step}")


def run_demo(write: Callable[[str], None] = print, desk: ServiceDesk | None = None) -> ServiceDesk:
    """Play the scripted conversation against ``desk`` (in memory by default), printing it."""
    clock = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    desk = desk or ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"))
    sam = Agent(id="sam", name="Sam", role=Role.AGENT)
    rita = Agent(id="rita", name="Rita", role=Role.SUPERVISOR)
    conversation = desk.open(
        customer=Customer(
            id="cust-42", name="Jordan", tier="gold", preferred_channel=Channel.EMAIL
        ),
        issue=Issue(
            category="damaged_item",
            severity="high",
            summary="The espresso machine arrived with a cracked water tank",
            order_value=Money("240.00", "USD"),
        ),
        agent=sam,
        channel=Channel.CHAT,
    )
    cid = conversation.id
    write(f"Conversation {cid} opened with {sam.name} ({sam.role.value}), stage greeting.")

    def customer(text: str, call: Callable[[], Outcome]) -> None:
        clock.advance(minutes=1)
        _show(write, CUSTOMER, text, call())

    def agent(who: Agent, text: str, call: Callable[[], Outcome]) -> None:
        clock.advance(minutes=1)
        _show(write, who.id, text, call())

    text = (
        "This is the THIRD time I'm contacting you!!! The machine arrived BROKEN and "
        "nobody does anything."
    )
    customer(text, lambda: desk.hear(cid, text))
    text = "I see. Which part is damaged, and can you still use the machine?"
    agent(sam, text, lambda: desk.ask(cid, text))
    text = "The water tank is cracked, it leaks all over the counter. Unusable."
    customer(text, lambda: desk.hear(cid, text))
    text = (
        "So your new espresso machine arrived with a cracked water tank, it leaks, and you "
        "can't use it at all, after contacting us twice already. Is that right?"
    )
    agent(sam, text, lambda: desk.summarize(cid, text))
    customer("(yes, that's it)", lambda: desk.confirm(cid))
    agent(sam, "(apologizes)", lambda: desk.apologize(cid))

    credit = Offer(
        kind=OfferKind.CREDIT, value=Money("40.00", "USD"), description="store credit", id="credit"
    )
    agent(sam, "I can offer you a 40.00 USD store credit.", lambda: desk.propose(cid, credit))
    text = "A credit? I want my money back."
    customer(text, lambda: desk.decline(cid, "credit", text))

    refund = Offer(
        kind=OfferKind.REFUND, value=Money("240.00", "USD"), description="full refund", id="refund"
    )
    clock.advance(minutes=1)
    try:
        desk.propose(cid, refund)
    except ApprovalRequired as required:
        write(f"\nsam: (proposes a full refund of {refund.value})")
        write(f"  approval required from a {required.approver_role.value}: {required}")
        approval_id = required.approval_id
    text = "I'm not waiting for anyone's approval again. Get me your manager."
    customer(text, lambda: desk.hear(cid, text))
    agent(rita, "(takes over with the brief)", lambda: desk.pick_up(cid, rita))
    agent(rita, "(approves the refund)", lambda: desk.approve(cid, approval_id, rita))
    customer("(accepts the full refund)", lambda: desk.accept(cid, "refund"))

    write("\nJournal:")
    for entry in desk.history(cid):
        write(
            f"  {entry.seq:>2} {entry.at:%H:%M} {entry.kind:<20} {entry.actor:<9} -> {entry.stage}"
        )
    return desk
