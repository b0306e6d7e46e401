"""Insights: a week of conversations on SQLite, then what the journal says about them.

Needs the ``report`` extra for the tables and the page (pip install 'serviceplaybook[report]').
"""

import tempfile
from datetime import timedelta
from pathlib import Path

from serviceplaybook import Agent, Customer, Issue, Money, Offer, OfferKind, ServiceDesk
from serviceplaybook.insights import html_report, print_report, report
from serviceplaybook.testing import FakeClock, SequentialIds

clock = FakeClock()  # Monday 2026-01-05, 09:00 UTC
folder = Path(tempfile.mkdtemp())
with ServiceDesk.sqlite(folder / "desk.db", clock=clock, ids=SequentialIds("c")) as desk:
    for number in range(20):
        category = ("late_delivery", "billing", "damaged_item")[number % 3]
        cid = desk.open(
            customer=Customer(id=f"cust-{number}"),
            issue=Issue(category=category, severity="medium", summary=f"order {number}"),
            agent=Agent(id=("ana", "ben")[number % 2]),
        ).id
        desk.hear(cid, "Where is my order? This is taking forever!")
        clock.advance(timedelta(minutes=2 + number % 7))
        desk.ask(cid, "I'm sorry. Which order is it?")
        desk.hear(cid, f"Order {number}.")
        desk.summarize(cid, f"Order {number} hasn't arrived, right?")
        desk.confirm(cid)
        desk.apologize(cid)
        desk.propose(
            cid, Offer(kind=OfferKind.PARTIAL_REFUND, value=Money(15, "USD"), id="partial")
        )
        if number % 4 == 0:
            desk.decline(cid, "partial", "Not enough.")
            desk.hear(cid, "Let me talk to your manager.")
        else:
            desk.accept(cid, "partial")
            desk.complete_follow_up(cid, "Thanks, sorted." if number % 3 else None)
        clock.advance(timedelta(minutes=10))

    found = report(desk)
    print_report(found, width=150)
    page = folder / "report.html"
    page.write_text(html_report(found), encoding="utf-8")
    print(f"the page with charts: {page} ({page.stat().st_size // 1024} KiB, viewable offline)")
