"""An agent-assist loop: a drafter proposes replies, the playbook reviews them before sending.

The drafter here is a stand-in for a language model (a list of canned drafts, tried in turn);
in a real tool it is an LLM call, and the findings go back into its prompt or to the agent's
screen. Each reply goes out only when ``desk.review`` finds nothing: the first drafts promise
too much, skip the customer's feeling, or propose a fix before the problem was confirmed.

Run it: ``python examples/draft_review.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from serviceplaybook import Agent, Customer, Issue, Money, ServiceDesk
from serviceplaybook.testing import FakeClock


def drafts_for(turn: str) -> Iterator[str]:
    """A model's attempts for one turn, worst first."""
    canned = {
        "first reply": [
            "Sorry for any inconvenience! I'll send a replacement and refund the whole order.",
            "I'll send a replacement today.",
            "That sounds really frustrating, three weeks and a cracked jug on top. "
            "Can you tell me when it arrived, and whether the box was damaged too?",
        ],
        "summary": [
            "I can hear how much this has cost you. So the jug of your blender arrived cracked "
            "after three weeks of waiting, and you haven't been able to use it. Is that right?",
        ],
        "offer": [
            "I'm sorry the jug arrived cracked after such a long wait. I can offer you a full "
            "refund and a free month of service.",
            "I'm sorry the jug arrived cracked after such a long wait; that's on us. I'll send "
            "a replacement by express today, and I can add a $25 credit for the wait.",
        ],
    }
    yield from canned[turn]


def send_first_clean(desk: ServiceDesk, cid: str, turn: str) -> str:
    for draft in drafts_for(turn):
        findings = desk.review(cid, draft)
        if not findings:
            print(f"  sent: {draft}")
            return draft
        print(f"  held: {draft}")
        for finding in findings:
            print(f"        {finding.code} on {finding.excerpt!r}: {finding.text}")
    raise SystemExit(f"no clean draft for {turn!r}: ask the agent to write it")


def main() -> None:
    desk = ServiceDesk.in_memory(clock=FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC)))
    cid = desk.open(
        customer=Customer(id="ann", name="Ann"),
        issue=Issue(
            category="damaged_item",
            severity="medium",
            summary="The blender arrived with a cracked jug",
            order_value=Money("120.00", "USD"),
        ),
        agent=Agent(id="sam", name="Sam"),
    ).id

    print("customer: I waited THREE WEEKS and the jug is CRACKED. Unbelievable!!")
    desk.hear(cid, "I waited THREE WEEKS and the jug is CRACKED. Unbelievable!!")
    desk.ask(cid, send_first_clean(desk, cid, "first reply"))

    print("customer: Last Tuesday, and yes the box was dented.")
    desk.hear(cid, "Last Tuesday, and yes the box was dented.")
    desk.summarize(cid, send_first_clean(desk, cid, "summary"))
    desk.confirm(cid)
    print("customer: yes, that's it")

    send_first_clean(desk, cid, "offer")
    print(f"stage: {desk.get(cid).stage}; nothing the review held was recorded")


if __name__ == "__main__":
    main()
