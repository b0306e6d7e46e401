"""Bots and people (a bot waits while a person owns the conversation, until handed back),
one survey per customer within the cooldown, self-harm never cut off, corrections read."""

from __future__ import annotations

import pytest

from serviceplaybook import (
    Agent,
    Customer,
    Issue,
    PolicyViolation,
    Role,
    ServiceDesk,
    Stage,
)
from serviceplaybook.testing import FakeClock, SequentialIds

BOT = Agent(id="helper-bot", role=Role.BOT)
PERSON = Agent(id="sam", role=Role.AGENT)


def open_for(desk: ServiceDesk, agent: Agent, issue: Issue | None = None) -> str:
    """A conversation of customer ``cust-1`` owned by ``agent`` (a late parcel by default)."""
    late = Issue(category="delivery", severity="low", summary="Parcel is late")
    return desk.open(customer=Customer(id="cust-1"), issue=issue or late, agent=agent).id


@pytest.fixture
def desk() -> ServiceDesk:
    return ServiceDesk.in_memory(clock=FakeClock(), ids=SequentialIds("c"))


def test_a_bot_waits_while_a_person_owns_the_conversation(desk: ServiceDesk) -> None:
    cid = open_for(desk, BOT)
    desk.hear(cid, "Where is my parcel?")
    desk.ask(cid, "Could you give me the order number?", by=BOT)
    escalated = desk.escalate(cid, "The customer wants a person")
    assert escalated.conversation.stage == Stage.ESCALATED
    with pytest.raises(PolicyViolation):
        desk.ask(cid, "Still there?", by=BOT)  # waiting for a person
    desk.pick_up(cid, PERSON)

    before = desk.get(cid), desk.history(cid)
    with pytest.raises(PolicyViolation) as refused:
        desk.ask(cid, "Anything else?", by=BOT)
    assert refused.value.reasons[0].code == "person_owns_conversation"
    assert (desk.get(cid), desk.history(cid)) == before  # nothing recorded

    said = desk.ask(cid, "Which address was it sent to?", by=PERSON)
    assert said.conversation.messages[-1].author == PERSON.id

    with pytest.raises(PolicyViolation):
        desk.hand_back(cid, PERSON, by=PERSON)  # only to a bot
    with pytest.raises(PolicyViolation):
        desk.hand_back(cid, BOT, by=BOT)  # only a person hands back
    back = desk.hand_back(cid, BOT, by=PERSON)
    assert back.conversation.agent == BOT
    assert back.conversation.handoffs[-1].to_agent == BOT
    desk.ask(cid, "I will track it for you.", by=BOT)
    assert desk.history(cid)[-1].actor == BOT.id


def test_one_survey_per_customer_within_the_cooldown() -> None:
    clock = FakeClock()
    desk = ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"))
    follow_ups = []
    for _ in range(2):
        cid = open_for(desk, PERSON)
        desk.hear(cid, "Where is my parcel?")
        desk.summarize(cid, "Your parcel has not arrived yet.")
        desk.confirm(cid)
        follow_ups.append(desk.resolve(cid).follow_up)
        clock.advance(days=5)
    assert follow_ups[0] is not None
    assert follow_ups[1] is None  # surveyed 5 days ago: not again within 30 days


def test_self_harm_is_never_cut_off(desk: ServiceDesk) -> None:
    cid = open_for(
        desk, PERSON, Issue(category="billing", severity="high", summary="Account frozen")
    )
    outcome = desk.hear(cid, "I can't take this anymore, I want to end my life.")
    assert outcome.signals is not None
    assert outcome.signals.self_harm
    assert outcome.escalation is not None
    assert outcome.escalation.codes == ("self_harm",)
    assert outcome.escalation.to is Role.SECURITY
    assert not outcome.escalation.terminate
    assert outcome.conversation.stage == Stage.ESCALATED  # still open, a person takes over


def test_a_correction_is_read_like_any_customer_message(desk: ServiceDesk) -> None:
    cid = open_for(desk, PERSON)
    desk.hear(cid, "Where is my parcel?")
    desk.summarize(cid, "Your parcel is late.")
    corrected = desk.correct(cid, "No, it arrived damaged, this is ridiculous!!!")
    assert corrected.signals is not None
    assert corrected.signals.shouting
    customer_messages = [m for m in corrected.conversation.messages if m.from_customer]
    assert len(corrected.conversation.signals) == len(customer_messages)
