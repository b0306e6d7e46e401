"""Escalation that doesn't toss the customer around: repeat contact and a falling mood wait
until the agent has confirmed the problem and tried; an explicit request for a manager, the
agent's own call, and the agent still talking to the customer while the next person comes."""

from __future__ import annotations

from serviceplaybook import Channel, Offer, OfferKind, Role, Urgency

from .people import BOT, DOUBLE_CHARGE, RITA, SAM, TOM, credit, refund
from .script import Script, Step

REPEAT_CONTACT = (
    Script(
        id="repeat_contact_waits_until_tried",
        story="A customer chasing a late parcel for the third time, who says so twice before "
        "anyone has summarized or offered anything",
        steps=(
            Step(
                "hear",
                "This is the third time I'm contacting you about this. My parcel still "
                "hasn't arrived.",
                stage="listening",
                reads={"repeat_contact": True},
                expect={"acknowledge_repeat_contact", "let_them_finish", "do_not_propose_yet"},
                why="repeat contact: acknowledge it at once",
            ),
            Step(
                "hear",
                "I already called twice last week and nobody fixed it.",
                stage="listening",
                reads={"repeat_contact": True},
                expect={"acknowledge_repeat_contact"},
                why="repeat contact alone waits until the agent confirmed the problem and tried",
            ),
            Step(
                "ask",
                "I'm sorry you've had to chase this. Which order is it?",
                stage="clarifying",
                expect={"ask_open_questions"},
            ),
            Step("hear", "Order 4471, placed on the 2nd.", stage="clarifying"),
            Step(
                "review",
                "I'll send you a replacement by express today.",
                finds={"fix_before_confirmed"},
                why="nothing is proposed before the customer confirmed the problem",
            ),
            Step(
                "summarize",
                "Your order 4471 from the 2nd still hasn't arrived, and you've had to chase "
                "it three times.",
                stage="confirming",
                expect={"wait_for_confirmation"},
            ),
            Step(
                "confirm",
                "Yes, exactly.",
                stage="resolving",
                expect={"offer_solutions", "no_excuses"},
            ),
            Step("apologize", stage="resolving", apology="given", apology_says=("4471",)),
            Step(
                "propose",
                offer=Offer(
                    kind=OfferKind.EXPEDITED_SHIPPING,
                    description="a replacement sent by express delivery",
                    id="express",
                ),
                stage="resolving",
            ),
            Step(
                "hear",
                "I've told you three times already, this keeps happening.",
                stage="escalated",
                reads={"repeat_contact": True},
                escalates_to=Role.SENIOR_AGENT,
                reasons={"repeat_contact"},
                expect={"warm_handover", "acknowledge_repeat_contact"},
                check=lambda outcome: (
                    None
                    if outcome.escalation is not None
                    and outcome.escalation.brief.confirmed
                    and outcome.escalation.brief.summary.startswith("Your order 4471")
                    and outcome.escalation.brief.apologies
                    else "the brief must carry the confirmed summary and the apology given, so the "
                    "customer never repeats the story"
                ),
                why="after the agent tried, repeat contact goes to a senior agent",
            ),
            Step(
                "say",
                "I'm bringing in Tom, a senior colleague; he joins in two minutes and has "
                "the whole history.",
                stage="escalated",
                expect={"warm_handover"},
                why="while the next person comes, the agent still talks to the customer",
            ),
            Step(
                "pick_up",
                by=TOM,
                stage="resolving",
                check=lambda outcome: (
                    None
                    if outcome.conversation.handoffs[-1].brief is not None
                    and outcome.conversation.handoffs[-1].brief.confirmed
                    else "the person taking over gets the brief with the confirmed summary"
                ),
                why="understood: no questions again",
            ),
            Step(
                "accept",
                "OK, the express replacement works for me.",
                offer_id="express",
                stage="following_up",
            ),
        ),
    ),
    Script(
        id="repeat_contact_escalates_at_once_when_configured",
        story="A company that wants repeat contact escalated at the second mention, before "
        "anything was tried (wait_until_tried emptied)",
        settings={"escalation": {"wait_until_tried": frozenset()}},
        steps=(
            Step(
                "hear",
                "This is the third time I'm contacting you about this.",
                stage="listening",
                expect={"acknowledge_repeat_contact"},
            ),
            Step(
                "hear",
                "I already called twice last week and nobody fixed it.",
                stage="escalated",
                escalates_to=Role.SENIOR_AGENT,
                reasons={"repeat_contact"},
                expect={"warm_handover"},
            ),
            Step(
                "summarize",
                "Your parcel hasn't arrived and you've called twice already.",
                stage="escalated",
                why="while waiting for pick-up the agent may still summarize",
            ),
            Step("confirm", "Yes.", stage="escalated"),
            Step("pick_up", by=TOM, stage="resolving"),
        ),
    ),
    Script(
        id="agent_escalates_when_stuck",
        story="A refund too old for the agent: the agent's own 'I can't do this myself' "
        "escalates at once, and the agent tells the customer who comes and when",
        issue=DOUBLE_CHARGE,
        steps=(
            Step(
                "hear",
                "Second time I'm writing about this refund, it's been three weeks.",
                stage="listening",
                reads={"repeat_contact": True},
                expect={"acknowledge_repeat_contact"},
            ),
            Step(
                "escalate",
                "I can't approve a refund this old myself.",
                stage="escalated",
                escalates_to=Role.SENIOR_AGENT,
                reasons={"agent_request"},
                expect={"warm_handover"},
                why="the agent's own escalation always escalates",
            ),
            Step(
                "say",
                "I've asked Tom, a senior colleague, to take this; he'll be with you within "
                "ten minutes and has everything you told me.",
                stage="escalated",
                expect={"warm_handover"},
            ),
            Step(
                "ask",
                "While we wait: which card was charged twice?",
                stage="escalated",
                why="while waiting for pick-up the agent may still ask",
            ),
            Step("hear", "The Visa ending 4242.", stage="escalated"),
            Step("pick_up", by=TOM, stage="clarifying"),
        ),
    ),
)

HOPS = (
    Script(
        id="no_more_than_two_hops",
        story="A bot hands to an agent, the agent to a senior agent; when the senior agent "
        "needs help too, it goes straight to the top instead of another hop",
        agent=BOT,
        steps=(
            Step("hear", "My blender arrived with a cracked jug.", stage="listening"),
            Step(
                "escalate",
                "The customer wants a person.",
                stage="escalated",
                escalates_to=Role.AGENT,
            ),
            Step("pick_up", by=SAM, stage="clarifying"),
            Step(
                "escalate",
                "The replacement needs a senior agent.",
                stage="escalated",
                escalates_to=Role.SENIOR_AGENT,
            ),
            Step("pick_up", by=TOM, stage="clarifying"),
            Step(
                "escalate",
                "This needs someone above me.",
                stage="escalated",
                escalates_to=Role.MANAGER,
                why="don't toss the customer around: after two hops, the top",
            ),
        ),
    ),
)

MOOD = (
    Script(
        id="falling_mood_waits_until_tried",
        story="A customer whose mood worsens with every message: no handoff before the agent "
        "understood and tried, then a senior agent when it keeps falling",
        steps=(
            Step(
                "hear",
                "The internet is slow again.",
                stage="listening",
                expect={"let_them_finish"},
            ),
            Step(
                "hear",
                "This is really bad, I'm losing patience.",
                stage="listening",
                expect={"stay_calm", "acknowledge_feelings", "do_not_propose_yet"},
            ),
            Step(
                "review",
                "Please provide your account number.",
                finds={"no_acknowledgement"},
                why="an upset customer's feeling is acknowledged before the facts",
            ),
            Step(
                "review",
                "I'm sorry this has dragged on, that sounds really frustrating. Which "
                "account is it?",
                clean={"no_acknowledgement"},
            ),
            Step(
                "hear",
                "This is awful, absolutely terrible, I'm furious.",
                stage="listening",
                expect={"stay_calm", "acknowledge_feelings"},
                why="a falling mood alone waits until the agent confirmed the problem and tried",
            ),
            Step(
                "summarize",
                "Your internet has been slow for days and it keeps getting worse.",
                stage="confirming",
            ),
            Step("confirm", stage="resolving"),
            Step("propose", offer=credit("15", "c15"), stage="resolving"),
            Step(
                "hear",
                "Horrible, awful, terrible, the worst experience of my life.",
                stage="escalated",
                escalates_to=Role.SENIOR_AGENT,
                reasons={"sentiment_falling"},
                expect={"warm_handover", "stay_calm"},
                forbid={"do_not_propose_yet"},
                why="understood and tried, and the mood still falls: a senior person",
            ),
        ),
    ),
)

MANAGER = (
    Script(
        id="polite_manager_request",
        story="A calm customer charged twice who politely asks for a manager: the agent "
        "first says what they can do, the supervisor comes at once",
        issue=DOUBLE_CHARGE,
        steps=(
            Step(
                "hear",
                "Hello, I was charged twice for my subscription this month.",
                stage="listening",
                forbid={"stay_calm", "acknowledge_feelings"},
            ),
            Step(
                "hear",
                "Could I please speak to your manager?",
                stage="escalated",
                reads={"wants_manager": True},
                escalates_to=Role.SUPERVISOR,
                reasons={"asked_for_manager"},
                urgency=Urgency.NORMAL,
                expect={"say_what_you_can_do", "explain_escalation", "warm_handover"},
                order=(("say_what_you_can_do", "explain_escalation"),),
                forbid={"stay_calm", "acknowledge_feelings", "set_calm_boundary"},
                why="a polite request is not anger; an explicit manager request escalates at "
                "once, after saying what you can do yourself",
            ),
            Step(
                "say",
                "I can refund the duplicate charge myself right now, and Rita, our "
                "supervisor, will join you in two minutes.",
                stage="escalated",
                expect={"warm_handover"},
            ),
            Step("hear", "Thank you, I'll wait.", stage="escalated", forbid={"stay_calm"}),
            Step("pick_up", by=RITA, stage="clarifying", expect={"ask_open_questions"}),
            Step(
                "summarize",
                "You were charged twice for this month's subscription.",
                stage="confirming",
            ),
            Step("confirm", "Yes exactly.", stage="resolving"),
            Step("propose", offer=refund("12.99", "dup"), stage="resolving"),
            Step(
                "accept",
                offer_id="dup",
                stage="following_up",
                follow_up=Channel.CHAT,
                why="a follow-up goes on the conversation's channel when no preference was stated",
            ),
        ),
    ),
    Script(
        id="angry_manager_demand",
        story="A shouting customer who demands a manager: calm, acknowledge, say what you can "
        "do, and the supervisor comes at once",
        issue=DOUBLE_CHARGE,
        steps=(
            Step(
                "hear",
                "I want to speak to your manager NOW.",
                stage="escalated",
                reads={"wants_manager": True},
                escalates_to=Role.SUPERVISOR,
                reasons={"asked_for_manager"},
                expect={
                    "stay_calm",
                    "acknowledge_feelings",
                    "say_what_you_can_do",
                    "explain_escalation",
                },
                order=(("say_what_you_can_do", "explain_escalation"),),
            ),
            Step(
                "say",
                "I hear you. Rita, our supervisor, is joining in two minutes; meanwhile I "
                "can stop the second charge right now.",
                stage="escalated",
            ),
            Step("pick_up", by=RITA, stage="clarifying"),
        ),
    ),
)

SCRIPTS = (*REPEAT_CONTACT, *HOPS, *MOOD, *MANAGER)
