"""A support team's weeks, played on a real desk (not a test module): what the insights tests,
the benchmark and the docs' screenshot read.

Conversations open across several ISO weeks and run interleaved in time order (an event
queue drives one FakeClock): customers complain, agents ask, sum up and apologize (one of
them twice), offers are proposed and accepted or declined, declined ones lead to a manager
and a supervisor's refund, follow-ups are completed with feedback or the customer reopens,
SLA checks find steps in slow conversations, and a threat ends one now and then. In the
``surge_week`` late deliveries go badly: the partial refund is declined and the customer
escalates, so the report has a pattern to find.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from serviceplaybook import (
    Agent,
    ApprovalRequired,
    BusinessCalendar,
    Customer,
    Issue,
    Money,
    Offer,
    OfferKind,
    PlaybookError,
    Role,
    ServiceDesk,
)
from serviceplaybook.testing import FakeClock

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # Monday of ISO week 45
CATEGORIES = ("late_delivery", "damaged_item", "billing", "account_access", "wrong_item")
AGENTS = tuple(Agent(id=name, name=name.title()) for name in ("ana", "ben", "cleo", "dev", "eli"))
SORRY_TWICE = "ben"  # apologizes again and again: the report should notice
SUPERVISOR = Agent(id="rita", name="Rita", role=Role.SUPERVISOR)
ANGRY = (
    "This is the third time I'm writing and NOTHING happens!!",
    "My order is late again. Unacceptable.",
    "I was charged twice and nobody answers me.",
)
CALM = ("Hello, my order has not arrived yet.", "Hi, I think there is a mistake on my bill.")
FEEDBACK = (
    "Thanks, that solved it.",
    "Quick and friendly, thank you.",
    "Took too long, but it's fixed now.",
    "Still not happy about the wait.",
)

Step = Callable[[], object]


def _script(
    desk: ServiceDesk, rng: random.Random, number: int, surge: bool
) -> Iterator[tuple[timedelta, Step]]:
    """One conversation: each step after a delay (business-ish minutes and days)."""
    category = rng.choice(CATEGORIES)
    if surge and rng.random() < 0.5:
        category = "late_delivery"
    agent = rng.choice(AGENTS)
    customer = Customer(id=f"cust-{number % 700}", tier=rng.choice(("standard", "gold")))
    severity = rng.choice(("low", "medium", "high"))
    issue = Issue(
        category=category,
        severity=severity,
        summary=f"{category.replace('_', ' ')} on order {number}",
        order_value=Money(rng.choice((40, 80, 120, 240)), "USD"),
    )
    cid = desk.open(customer=customer, issue=issue, agent=agent).id
    yield timedelta(minutes=rng.randint(1, 5)), lambda: desk.hear(cid, rng.choice(ANGRY + CALM))
    if rng.random() < 0.03:
        yield (
            timedelta(minutes=2),
            lambda: desk.hear(cid, "I know where you live, I will hurt you."),
        )
        return
    if rng.random() < 0.08:  # nobody answers for days; the SLA checker finds it
        yield timedelta(days=rng.randint(2, 4)), lambda: desk.check_sla(cid)
    # slow first responses: some wait hours (into the evening or the next day)
    wait = timedelta(minutes=rng.randint(2, 30)) if rng.random() < 0.8 else timedelta(hours=9)
    yield wait, lambda: desk.ask(cid, "I'm sorry to hear that. Which order is it about?")
    yield timedelta(minutes=3), lambda: desk.hear(cid, f"Order {number}, placed two weeks ago.")
    yield timedelta(minutes=2), lambda: desk.summarize(cid, f"So order {number} is affected?")
    yield timedelta(minutes=1), lambda: desk.confirm(cid)
    yield timedelta(minutes=1), lambda: desk.apologize(cid)
    if agent.id == SORRY_TWICE:
        yield timedelta(minutes=1), lambda: desk.apologize(cid)
    offer = Offer(
        kind=OfferKind.PARTIAL_REFUND, value=Money(rng.choice((10, 20, 30)), "USD"), id="partial"
    )
    if category == "damaged_item" and rng.random() < 0.5:
        offer = Offer(kind=OfferKind.REPLACEMENT, id="replacement")
    if category == "account_access":
        yield timedelta(minutes=5), lambda: desk.resolve(cid)
    else:
        yield timedelta(minutes=2), lambda: desk.propose(cid, offer)
        declines = 0.85 if surge and category == "late_delivery" else 0.3
        if rng.random() < declines:
            yield timedelta(minutes=2), lambda: desk.decline(cid, "partial", "Not enough.")
            if rng.random() < 0.7:
                yield timedelta(minutes=1), lambda: desk.hear(cid, "Get me your manager now.")
                yield timedelta(minutes=20), lambda: desk.pick_up(cid, SUPERVISOR)
                refund = Offer(kind=OfferKind.REFUND, value=issue.order_value, id="refund")
                yield timedelta(minutes=3), lambda: desk.propose(cid, refund, by=SUPERVISOR)
                yield timedelta(minutes=5), lambda: desk.accept(cid, "refund")
            else:
                credit = Offer(kind=OfferKind.CREDIT, value=Money(25, "USD"), id="credit")
                yield timedelta(minutes=2), lambda: desk.propose(cid, credit)
                yield timedelta(minutes=3), lambda: desk.accept(cid, "credit")
        else:
            yield timedelta(minutes=2), lambda: desk.accept(cid, offer.id)
    if rng.random() < 0.12:
        yield timedelta(days=1), lambda: desk.reopen(cid, "It happened again, same problem.")
        return
    yield (
        timedelta(days=rng.randint(1, 2)),
        lambda: desk.complete_follow_up(cid, rng.choice(FEEDBACK) if rng.random() < 0.6 else None),
    )


def play(
    desk: ServiceDesk,
    clock: FakeClock,
    *,
    conversations: int,
    weeks: int = 5,
    surge_week: int | None = 3,
    seed: int = 7,
) -> None:
    """Play ``conversations`` conversations opening over ``weeks`` ISO weeks from ``START``
    (``clock`` must be at or before it), the ``surge_week``-th (0-based) going badly for
    late deliveries. Steps a playbook refuses are skipped, as a real agent would retry."""
    rng = random.Random(seed)
    clock.advance(max(START - clock(), timedelta()))
    # customers write in business hours (a few in the evening, in the gaps between)
    hours = BusinessCalendar.standard("UTC", open="08:00", close="18:00")
    span = hours.weekly_hours * weeks / max(conversations, 1)
    order = itertools.count()
    queue: list[tuple[datetime, int, Iterator[tuple[timedelta, Step]] | int]] = [
        (hours.add(START, span * n), next(order), n) for n in range(conversations)
    ]
    heapq.heapify(queue)
    while queue:
        at, _, item = heapq.heappop(queue)
        clock.advance(max(at - clock(), timedelta()))
        if isinstance(item, int):
            week = (at - START) // timedelta(weeks=1)
            item = _script(desk, rng, item, surge=week == surge_week)
        try:
            delay, step = next(item)
        except StopIteration:
            continue
        heapq.heappush(queue, (clock() + delay, next(order), _run_then(step, item)))


def _run_then(
    step: Step, rest: Iterator[tuple[timedelta, Step]]
) -> Iterator[tuple[timedelta, Step]]:
    """``rest`` with ``step`` run first, when the queue reaches it."""
    try:
        step()
    except ApprovalRequired:
        pass
    except PlaybookError:
        return
    yield from rest
