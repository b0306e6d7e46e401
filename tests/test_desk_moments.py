"""The desk in the moments that need their own words: the agent's own messages, every
customer text read through one path, escalation that waits until the agent has tried, abuse
in steps, guidance that fits the moment (CRAFT.md)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    Conversation,
    IllegalTransition,
    LexiconSignalDetector,
    Money,
    Offer,
    OfferKind,
    PolicyViolation,
    Role,
    ServiceDesk,
    Signals,
    Stage,
)
from serviceplaybook._playbook import EMPATHY_CODES
from serviceplaybook.testing import FakeClock, SequentialIds
from test_desk import AGENT, SUPERVISOR, open_conversation, understood


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def desk(clock: FakeClock) -> ServiceDesk:
    return ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"))


def codes(outcome: Any) -> list[str]:
    return [g.code for g in outcome.guidance]


# -- the agent keeps talking --------------------------------------------------------------------


def test_say_records_an_agent_message_in_any_open_stage(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    greeted = desk.say(cid, "Hi Ann, I'm Sam. Tell me what happened?")
    assert greeted.conversation.stage == Stage.GREETING
    assert greeted.conversation.messages[-1].author == AGENT.id
    assert greeted.conversation.waiting_on == "customer"
    desk.hear(cid, "My blender arrived broken.")
    assert desk.say(cid, "I see, that sounds frustrating.").conversation.stage == Stage.LISTENING
    assert [e.kind for e in desk.history(cid)][-1] == "say"


def test_while_escalated_the_owner_keeps_talking_with_the_customer(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    desk.hear(cid, "I want to speak to your manager right now.")
    assert desk.get(cid).stage == Stage.ESCALATED
    # nobody can leave the customer waiting in silence
    said = desk.say(cid, "A supervisor will join in about two minutes; I'm staying with you.")
    assert said.conversation.stage == Stage.ESCALATED
    desk.ask(cid, "Meanwhile, which order is it about?")
    desk.hear(cid, "Order 1234, the blender.")
    summary = desk.summarize(cid, "The blender from order 1234 arrived with a cracked jug.")
    assert summary.conversation.stage == Stage.ESCALATED
    confirmed = desk.confirm(cid, "Yes, exactly.")
    assert confirmed.conversation.understood
    assert confirmed.conversation.messages[-1].text == "Yes, exactly."
    # the supervisor starts from the confirmed problem: no questions again
    assert desk.pick_up(cid, SUPERVISOR).conversation.stage == Stage.RESOLVING


def test_nothing_to_confirm_while_escalated_without_a_summary(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    desk.hear(cid, "Get me a supervisor right now.")
    with pytest.raises(IllegalTransition) as refused:
        desk.confirm(cid, "Yes.")
    assert "summary_pending" in str(refused.value)
    assert not desk.get(cid).understood


def test_a_bot_stays_silent_while_a_person_is_awaited(desk: ServiceDesk) -> None:
    bot = Agent(id="bot-1", role=Role.BOT)
    cid = desk.open(
        customer=desk.get(open_conversation(desk)).customer,
        issue=desk.get("c-1").issue,
        agent=bot,
    ).id
    desk.hear(cid, "I want to talk to a human manager.")
    assert desk.get(cid).stage == Stage.ESCALATED
    with pytest.raises(PolicyViolation):
        desk.say(cid, "I can help you!", by=bot)


def test_say_is_refused_once_the_conversation_ended(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    desk.terminate(cid, "Spam.")
    with pytest.raises(IllegalTransition):
        desk.say(cid, "Hello?")


# -- one path for every customer text ----------------------------------------------------------


class Recording:
    """A detector that notes every text it is given, then reads it with the lexicon."""

    def __init__(self) -> None:
        self.lexicon = LexiconSignalDetector()
        self.texts: list[str] = []

    def detect(self, text: str, conversation: Conversation | None) -> Signals:
        self.texts.append(text)
        return self.lexicon.detect(text, conversation)


def test_a_threat_inside_a_decline_reaches_security(clock: FakeClock) -> None:
    desk = ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"))
    cid = understood(desk)
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("5", "USD"), id="o1"))
    outcome = desk.decline(cid, "o1", "Five bucks? You idiots, I'll kill you")
    assert outcome.signals is not None
    assert outcome.signals.threat
    assert outcome.events == ("decline", "terminate")
    assert outcome.escalation is not None
    assert outcome.escalation.to is Role.SECURITY
    assert outcome.conversation.messages[-1].text == "Five bucks? You idiots, I'll kill you"
    assert "acknowledge_feelings" not in codes(outcome)


@settings(max_examples=25)
@given(
    words=st.lists(
        st.sampled_from(
            [
                "Yes exactly",
                "No, that's not it",
                "Fine.",
                "This is useless!!!",
                "I want a manager",
                "ok thanks",
            ]
        ),
        min_size=6,
        max_size=6,
    )
)
def test_every_customer_text_reaches_the_detector(words: list[str]) -> None:
    detector = Recording()
    desk = ServiceDesk.in_memory(clock=FakeClock(), ids=SequentialIds("c"), detector=detector)
    cid = open_conversation(desk)
    hear, correct, confirm, decline, accept, reopen = words
    desk.hear(cid, hear)
    carried = [hear]
    if desk.get(cid).stage == Stage.LISTENING:
        desk.summarize(cid, "Your blender arrived with a cracked jug.")
        desk.correct(cid, correct)
        carried.append(correct)
        desk.summarize(cid, "The jug of your blender is cracked.")
        desk.confirm(cid, confirm)
        carried.append(confirm)
    if desk.get(cid).stage == Stage.RESOLVING:
        desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("5", "USD"), id="o1"))
        desk.decline(cid, "o1", decline)
        carried.append(decline)
    if desk.get(cid).stage == Stage.RESOLVING:
        desk.propose(cid, Offer(kind=OfferKind.REPLACEMENT, id="o2"))
        desk.accept(cid, "o2", accept)
        carried.append(accept)
    if desk.get(cid).stage in (Stage.RESOLVED, Stage.FOLLOWING_UP):
        desk.reopen(cid, reopen)
        carried.append(reopen)
    assert detector.texts == carried
    conversation = desk.get(cid)
    said = [m.text for m in conversation.messages if m.from_customer]
    assert said == carried
    assert len(conversation.signals) == len(carried)  # one reading per customer text


# -- escalation waits until the agent has tried ------------------------------------------------


def test_repeat_contact_is_acknowledged_not_tossed_until_the_agent_tried(
    desk: ServiceDesk,
) -> None:
    cid = open_conversation(desk)
    first = desk.hear(cid, "This is the third time I'm contacting you about this blender.")
    assert "acknowledge_repeat_contact" in codes(first)
    second = desk.hear(cid, "I already called twice and nobody helped.")
    assert second.escalation is None  # nobody has tried yet: the agent keeps the customer
    assert second.conversation.stage == Stage.LISTENING
    desk.summarize(cid, "Your new blender's jug arrived cracked and you've asked twice already.")
    desk.confirm(cid, "Yes.")
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("10", "USD"), id="o1"))
    third = desk.hear(cid, "I've called you three times already, this is not enough.")
    assert third.escalation is not None
    assert "repeat_contact" in third.escalation.codes
    assert third.escalation.brief.confirmed


def test_an_explicit_request_for_a_manager_still_escalates_at_once(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    outcome = desk.hear(cid, "Could I please speak to a supervisor?")
    assert outcome.escalation is not None
    assert outcome.escalation.to is Role.SUPERVISOR
    steps = codes(outcome)
    assert steps.index("say_what_you_can_do") < steps.index("explain_escalation")


def test_two_declined_offers_bring_a_supervisor(desk: ServiceDesk) -> None:
    cid = understood(desk)
    for number in (1, 2):
        desk.propose(
            cid, Offer(kind=OfferKind.CREDIT, value=Money(number * 5, "USD"), id=f"o{number}")
        )
        outcome = desk.decline(cid, f"o{number}", "That's not enough.")
    assert outcome.escalation is not None
    assert outcome.escalation.to is Role.SUPERVISOR


# -- abuse in steps, calming, safety --------------------------------------------------------------


def test_a_calming_customer_is_recognised_and_handed_over_as_calming(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    first = desk.hear(cid, "You useless idiots broke my blender.")
    assert first.escalation is None
    assert "set_calm_boundary" in codes(first)
    calmer = desk.hear(cid, "Sorry, I'm just really stressed.")
    assert "acknowledge_calming" in codes(calmer)
    assert not {"set_calm_boundary", "stay_calm", "boundary_held"} & set(codes(calmer))
    handed = desk.escalate(cid, "Needs a replacement from stock I can't reach.")
    assert handed.escalation is not None
    assert handed.escalation.brief.mood == "calming down, improving"


def test_self_harm_gets_the_wellbeing_script_and_is_never_ended(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    outcome = desk.hear(cid, "Honestly I don't want to live anymore.")
    assert outcome.signals is not None
    assert outcome.signals.self_harm
    steps = codes(outcome)
    assert steps[0] == "wellbeing_first"
    assert not {"safety_first", "acknowledge_feelings", "set_calm_boundary"} & set(steps)
    assert outcome.escalation is not None
    assert not outcome.escalation.terminate
    assert outcome.conversation.stage == Stage.ESCALATED
    assert "self-harm" in outcome.escalation.brief.mood
    # the reminder stays while the trained team is on its way
    assert codes(desk.say(cid, "I'm here with you. Can you tell me where you are?"))[0] == (
        "wellbeing_first"
    )


def test_a_self_harm_disclosure_is_never_ended_by_the_agent(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    desk.hear(cid, "I want to end my life.")
    with pytest.raises(PolicyViolation, match="never end the conversation") as refused:
        desk.terminate(cid, "The customer is not making sense.")
    assert refused.value.reasons[0].code == "self_harm_never_ended"
    assert desk.get(cid).stage == Stage.ESCALATED
    # the trained team takes over, and closes it once the customer is safe
    desk.pick_up(cid, Agent(id="care-1", role=Role.SECURITY))
    assert desk.terminate(cid, "The customer is safe with family.").conversation.stage == (
        Stage.TERMINATED
    )


def test_a_terminated_conversation_gets_no_empathy_script(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    outcome = desk.hear(cid, "You idiots, I will find where you live and hurt you.")
    assert outcome.conversation.stage == Stage.TERMINATED
    assert set(codes(outcome)) == {"safety_first", "record_and_protect"}


@settings(max_examples=30)
@given(
    text=st.sampled_from(
        [
            "THIS IS RIDICULOUS!!!",
            "You idiots.",
            "Great, just great. Thanks for nothing.",
            "I don't understand, did I do something wrong?",
            "I want your manager NOW.",
            "I'll see you in court.",
            "Sorry, I'm just stressed.",
            "I called three times already!",
        ]
    )
)
def test_terminated_never_gets_empathy_guidance(text: str) -> None:
    desk = ServiceDesk.in_memory(clock=FakeClock(), ids=SequentialIds("c"))
    cid = open_conversation(desk)
    desk.hear(cid, "I will find where you live.")
    conversation = desk.get(cid)
    assert conversation.stage == Stage.TERMINATED
    signals = desk.detector.detect(text, conversation)
    guidance = desk.playbook.guidance(conversation, signals)
    assert not {g.code for g in guidance} & EMPATHY_CODES


# -- the moment's own words --------------------------------------------------------------------


def test_sarcasm_confusion_and_a_second_failed_summary(desk: ServiceDesk) -> None:
    cid = open_conversation(desk)
    sarcastic = desk.hear(cid, "Oh great, just great. Another broken blender. Thanks so much.")
    assert "acknowledge_sarcasm" in codes(sarcastic)
    confused = desk.hear(cid, "I don't understand what to do, did I do something wrong?")
    assert {"explain_plainly", "one_question_at_a_time"} <= set(codes(confused))
    desk.summarize(cid, "So the blender doesn't turn on.")
    first = desk.correct(cid, "No, that's not what I said.")
    assert "own_the_misunderstanding" not in codes(first)
    desk.summarize(cid, "So the blender's motor is noisy.")
    second = desk.correct(cid, "No!! That's still not what I meant.")
    assert codes(second)[0] == "own_the_misunderstanding"
    assert second.conversation.corrections == 2


def test_an_sla_warning_or_breach_puts_respond_now_first(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    cid = open_conversation(desk)
    desk.hear(cid, "Our whole team cannot log in.")
    clock.advance(days=3)
    outcome = desk.check_sla(cid)
    assert outcome.sla is not None
    assert outcome.sla.breaches
    assert codes(outcome)[0] == "respond_now"


def test_a_customer_back_after_a_resolution_is_acknowledged_at_once(desk: ServiceDesk) -> None:
    cid = understood(desk)
    desk.resolve(cid, "Sent a new jug.")
    back = desk.reopen(cid, "The new jug leaks too.")
    assert codes(back)[0] == "acknowledge_repeat_contact"
    # until the agent answers; then the listening craft as usual
    answered = desk.say(cid, "I'm sorry you're back with this; I have everything from before.")
    assert "acknowledge_repeat_contact" not in codes(answered)


@pytest.mark.parametrize(
    "text",
    [
        "Я уже третий раз пишу вам, и никто не отвечает. Это возмутительно, верните деньги!",
        "これは三回目の連絡です。誰も返事をくれません。",
        "Nie rozumiem, dlaczego zamówienie nie dotarło, to już trzeci raz piszę do was.",
        "Bu üçüncü kez yazıyorum, siparişim hala gelmedi.",  # noqa: RUF001 (Turkish)
    ],
)
def test_a_language_the_lists_cannot_read_says_so(desk: ServiceDesk, text: str) -> None:
    outcome = desk.hear(open_conversation(desk), text)
    assert outcome.signals is not None
    assert not outcome.signals.assessed
    assert codes(outcome)[0] == "read_it_yourself"


def test_a_foreign_name_in_an_english_message_is_still_read(desk: ServiceDesk) -> None:
    outcome = desk.hear(open_conversation(desk), "This is Łukasz Wąsik: you idiots lost it AGAIN!")
    assert outcome.signals is not None
    assert outcome.signals.assessed
    assert outcome.signals.abusive
