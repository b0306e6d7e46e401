"""Accurate records without leaks: personal data in customer messages never reaches the
journal or the library's log records, while the conversation keeps the text as given."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from serviceplaybook import Agent, Customer, Issue, Money, Offer, OfferKind, ServiceDesk
from serviceplaybook.testing import FakeClock
from test_redaction import card_numbers, digits_of, emails, phone_numbers

PERSONAL = st.one_of(emails(), phone_numbers(), card_numbers())
SEPARATORS = st.sampled_from([" ", "\n", ", ", ". ", " (", ") "])


@st.composite
def messages_with_personal_data(draw: st.DrawFn) -> tuple[str, list[str]]:
    data = draw(st.lists(PERSONAL, min_size=1, max_size=4))
    words = draw(
        st.lists(st.sampled_from(["my", "card", "is", "call", "me", "on", "mail"]), max_size=3)
    )
    parts: list[str] = []
    for datum in data:
        parts.extend([*words, draw(SEPARATORS), datum, draw(SEPARATORS)])
    return "".join(parts), data


def leaks(text: str, datum: str) -> bool:
    if datum in text:
        return True
    if "@" in datum:
        return False  # an email's digits alone are not the email
    digits = digits_of(datum)
    # a phone or card number leaks if its digits survive together, whatever the grouping
    runs = (re.sub(r"\D", "", run) for run in re.findall(r"[\d][\d \t().+-]*", text))
    return len(digits) >= 7 and any(digits in run for run in runs)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(messages_with_personal_data(), min_size=1, max_size=3))
# An email address asked for the deobfuscated reading, which once read "455" as "ass": two
# such messages escalated the conversation, and proposing an offer was then refused.
@example(
    messages=[
        (
            " 0@0.AA  (200) 000-0000  +1000000  01 00 00 455 ",
            ["0@0.AA", "(200) 000-0000", "+1000000", "01 00 00 455"],
        ),
        (" 0@0.AA  (200) 455-0000 ", ["0@0.AA", "(200) 455-0000"]),
    ]
)
# Abuse after a boundary escalates, a threat ends the conversation: the agent's steps the
# stage then refuses are skipped, and nothing personal is recorded either way.
@example(
    messages=[
        ("you idiot, mail me at ann@example.com", ["ann@example.com"]),
        ("you idiots, call 0201 455 0000", ["0201 455 0000"]),
    ]
)
@example(messages=[("I know where you live, +44 20 7946 0958", ["+44 20 7946 0958"])])
def test_journal_and_logs_hold_no_recognized_personal_data(
    messages: list[tuple[str, list[str]]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    desk = ServiceDesk.in_memory(clock=FakeClock())
    with caplog.at_level(logging.DEBUG, logger="serviceplaybook"):
        conversation = desk.open(
            customer=Customer(id="cust-1", name="Ann Example", email="ann@example.com"),
            issue=Issue(category="billing", severity="low", summary=messages[0][0]),
            agent=Agent(id="agent-1"),
        )
        cid = conversation.id
        for text, _ in messages:
            desk.hear(cid, text)
        # The detector may read abuse or a threat in random text and escalate or end the
        # conversation: each step of the agent's is taken if the stage still allows it, and
        # whatever was recorded is checked below.
        offer = Offer(kind=OfferKind.CREDIT, value=Money("5", "USD"), description=messages[0][0])
        steps: list[tuple[str, Callable[[], object]]] = [
            ("summarize", lambda: desk.summarize(cid, messages[-1][0])),
            ("confirm", lambda: desk.confirm(cid)),
            ("propose", lambda: desk.propose(cid, offer)),
            ("escalate", lambda: desk.escalate(cid, f"Customer gave {messages[0][0]}")),
        ]
        for event, step in steps:
            if event in desk.playbook.allowed_events(desk.get(cid).stage):
                step()

    journal = repr([entry.data for entry in desk.history(cid)])
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records, "the desk logs its events at DEBUG level"
    for _, data in messages:
        for datum in data:
            assert not leaks(journal, datum), f"{datum!r} reached the journal"
            assert not leaks(logged, datum), f"{datum!r} reached the logs"
    # the conversation keeps what the host app gave
    kept = [m.text for m in desk.get(cid).messages if m.from_customer]
    assert kept == [text for text, _ in messages]
