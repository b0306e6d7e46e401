"""Role-play training without a terminal: a persona played against the playbook-following
agent and against one that rushes, each conversation scored, and a real desk conversation
scored the same way.

Run it: ``python examples/roleplay_training.py``. The interactive trainer is
``serviceplaybook roleplay --persona unreasonable_demand``.
"""

from __future__ import annotations

from serviceplaybook import Agent, Customer, Issue, Money, ServiceDesk
from serviceplaybook.testing import FakeClock
from serviceplaybook.training import builtin_personas, judge_for, play, scorecard, strategies


def show(title: str, messages: list[tuple[str, str]]) -> None:
    print(f"--- {title}")
    for author, text in messages:
        print(f"{author:>14}: {text}")


def main() -> None:
    persona = builtin_personas()["unreasonable_demand"]
    agents = strategies()
    for name in ("playbook", "rushing"):
        run = play(persona, agents[name], seed=1)
        show(
            f"{persona.title} vs {name}: {run.ending}, mood {run.mood}, score {run.score}",
            [(m.author, m.text) for m in run.conversation.messages],
        )
        for item in run.scorecard.failed:
            print(f"  FAILED {item.title}: {item.reason}")
            for evidence in item.evidence[:2]:
                print(f"         {evidence}")

    # the same scorecard, on a conversation an agent had on a real desk
    desk = ServiceDesk.in_memory(clock=FakeClock())
    cid = desk.open(
        customer=Customer(id="ann"),
        issue=Issue(
            category="damaged_item",
            severity="medium",
            summary="The blender's jug arrived cracked",
            order_value=Money("120", "USD"),
        ),
        agent=Agent(id="sam"),
    ).id
    desk.hear(cid, "My blender arrived with a cracked jug, and I needed it for a party!")
    desk.ask(cid, "That sounds really frustrating. When did it arrive?")
    desk.hear(cid, "Yesterday.")
    desk.summarize(cid, "So your blender's jug arrived cracked yesterday. Is that right?")
    desk.confirm(cid, "Yes.")
    desk.apologize(cid)
    desk.hear(cid, "Why did it happen?")
    desk.say(cid, "Our system was down that week, so it was packed badly.")  # an excuse
    card = scorecard(desk.get(cid), desk.history(cid), judge=judge_for(desk))
    print(f"--- a real conversation: score {card.score}")
    for item in card.items:
        print(f"  [{item.status}] {item.title}: {item.reason}")
    assert card.item("apologies").status == "fail"


if __name__ == "__main__":
    main()
