"""A scripted difficult conversation, printed step by step: ``serviceplaybook demo``.

An angry customer contacting support for the third time, listening before solving, a summary
confirmed, one specific apology, a refund demand far above the agent's authority answered
with the best counter-offer in policy, the counter-offer declined, the full refund waiting for
a supervisor's approval, an ask for a manager and a warm handover with the brief, the
supervisor's approval, the refund accepted and a follow-up scheduled. Each step prints who
said what, the stage, the signals, the guidance and the decisions with their reasons.

It plays against the embedded default, SQLite: a temporary file removed afterwards, or a file
that is kept (each run on the same file adds a new conversation).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import attrs

from serviceplaybook._desk import Outcome, ServiceDesk
from serviceplaybook._errors import NotFound
from serviceplaybook._records.compensation import CounterOffer
from serviceplaybook._records.issue import Issue
from serviceplaybook._records.money import Money
from serviceplaybook._records.offers import Offer, OfferKind
from serviceplaybook._records.parties import CUSTOMER, Agent, Channel, Customer, Role
from serviceplaybook._records.refusals import ApprovalRequired
from serviceplaybook.adapters.sqlite import SQLiteStorage
from serviceplaybook.testing.fakes import FakeClock

DEMO_START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""When the scripted conversation starts (a Monday morning): its times are reproducible."""

_FLAGS = ("abusive", "threat", "legal_threat", "wants_manager", "repeat_contact", "shouting")


def _show(write: Callable[[str], None], who: str, said: str, outcome: Outcome) -> None:
    write(f"\n{who}: {said}")
    conversation = outcome.conversation
    write(f"  stage: {conversation.stage}   version: {conversation.version}")
    if outcome.signals is not None:
        s = outcome.signals
        flags = [name for name in _FLAGS if getattr(s, name)]
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
        if f.text:
            write(f"  follow-up draft: {' '.join(f.text.split())!r}")
    write("  guidance:")
    for step in outcome.guidance:
        write(f"    - {step}")


def _describe(offer: Offer) -> str:
    what = offer.description or offer.kind.value.replace("_", " ")
    return f"{what} ({offer.value})" if offer.value is not None else what


def _show_counter(write: Callable[[str], None], who: str, counter: CounterOffer) -> None:
    write(f"\n{who}: (asks the policy how to answer a demand for {_describe(counter.requested)})")
    offered = _describe(counter.offer) if counter.offer is not None else "nothing in policy"
    write(f"  counter-offer: {offered}")
    for reason in counter.reasons:
        write(f"    - {reason}")
    if counter.alternatives:
        write(f"    alternatives: {'; '.join(_describe(o) for o in counter.alternatives)}")
    if counter.escalate_to is not None:
        write(f"    review of the full request: {counter.escalate_to.value}")


def _play(
    write: Callable[[str], None], desk: ServiceDesk, clock: FakeClock, customer_id: str
) -> str:
    """The script itself; returns the conversation's id."""
    sam = Agent(id="sam", name="Sam", role=Role.AGENT)
    rita = Agent(id="rita", name="Rita", role=Role.SUPERVISOR)
    conversation = desk.open(
        customer=Customer(
            id=customer_id, name="Jordan", tier="gold", preferred_channel=Channel.EMAIL
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
    write(
        f"Conversation {cid} opened with {sam.name} ({sam.role.value}) for Jordan "
        f"(gold customer), stage {conversation.stage}."
    )

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
    text = "Yes, that's it."
    customer(text, lambda: desk.confirm(cid, text))
    agent(sam, "(apologizes)", lambda: desk.apologize(cid))

    text = "I want my money back, plus 150 dollars for all the time I've wasted on this."
    customer(text, lambda: desk.hear(cid, text))
    demand = Offer(
        kind=OfferKind.REFUND,
        value=Money("390.00", "USD"),
        description="a refund plus compensation for the time lost",
        id="demand",
    )
    clock.advance(minutes=1)
    counter = desk.counter_offer(cid, demand)
    _show_counter(write, sam.id, counter)
    if counter.offer is not None:
        offer = attrs.evolve(counter.offer, id="counter")
        agent(sam, counter.explanation, lambda: desk.propose(cid, offer))
        text = "Fifty dollars? That's an insult. I want my money back."
        customer(text, lambda: desk.decline(cid, "counter", text))

    refund = Offer(
        kind=OfferKind.REFUND, value=Money("240.00", "USD"), description="full refund", id="refund"
    )
    clock.advance(minutes=1)
    approval_id: str | None = None
    try:
        desk.propose(cid, refund)
    except ApprovalRequired as required:
        write(f"\nsam: (proposes a full refund of {refund.value})")
        write(f"  approval required from a {required.approver_role.value}: {required}")
        for reason in required.reasons:
            write(f"    - {reason}")
        approval_id = required.approval_id
    text = "I'm not waiting for anyone's approval again. Get me your manager."
    customer(text, lambda: desk.hear(cid, text))
    text = (
        "I understand. Rita, my supervisor, will join you in about two minutes; she can "
        "approve the full refund, and she has everything you've told me."
    )
    agent(sam, text, lambda: desk.say(cid, text))
    agent(rita, "(takes over with the brief)", lambda: desk.pick_up(cid, rita))
    if approval_id is not None:
        agent(rita, "(approves the refund)", lambda: desk.approve(cid, approval_id, rita))
    customer("(accepts the full refund)", lambda: desk.accept(cid, "refund"))

    write("\nJournal:")
    for entry in desk.history(cid):
        write(
            f"  {entry.seq:>2} {entry.at:%H:%M} {entry.kind:<20} {entry.actor:<9} -> {entry.stage}"
        )
    return cid


def _free_run(desk: ServiceDesk) -> int:
    """The first run number whose conversation id the file does not hold yet."""
    for run in itertools.count(1):
        try:
            desk.get(f"demo-{run}")
        except NotFound:
            return run
    raise AssertionError("unreachable")  # pragma: no cover


def _play_on_file(write: Callable[[str], None], path: Path) -> str:
    storage = SQLiteStorage(path)
    try:
        clock = FakeClock(DEMO_START)
        desk = ServiceDesk(storage, clock=clock)
        run = _free_run(desk)
        cid = f"demo-{run}"
        # the conversation gets the run's id, approvals ids derived from it
        names = itertools.chain([cid], (f"{cid}-approval-{n}" for n in itertools.count(1)))
        desk.ids = lambda: next(names)
        # a customer of their own per run, so that one run's refund and survey do not count
        # against the next run's (repeat claims, survey cooldown)
        return _play(write, desk, clock, customer_id=f"cust-{run}")
    finally:
        storage.close()


def run_demo(
    write: Callable[[str], None] = print,
    desk: ServiceDesk | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
) -> str:
    """Play the scripted conversation and print each step; returns the conversation's id.

    Args:
        write: where each line goes (``print`` by default).
        desk: a desk to play against, with its own clock and ids; by default the demo builds
            a SQLite desk whose clock starts at :data:`DEMO_START` and moves a minute a step.
        db: the SQLite file to keep the conversation in (created if missing; each run on the
            same file adds a conversation ``demo-1``, ``demo-2``...). Without it (and without
            ``desk``) a temporary file is used and removed afterwards.

    Raises:
        StorageError: ``db`` is not a serviceplaybook database.
        OSError: ``db`` cannot be created.
    """
    if desk is not None:
        return _play(write, desk, FakeClock(DEMO_START), customer_id="cust-1")
    if db is not None:
        return _play_on_file(write, Path(db))
    with tempfile.TemporaryDirectory(prefix="serviceplaybook-demo-") as directory:
        return _play_on_file(write, Path(directory) / "demo.db")
