"""Abuse in steps (a calm boundary first, a supervisor if it goes on), threats (security and
the end of the conversation, wherever the words come from), a customer who calms down, and
self-harm (stay with them; never a threat script, never the end of the conversation)."""

from __future__ import annotations

from datetime import timedelta

from serviceplaybook import Channel, IllegalTransition, Issue, PolicyViolation, Role, Urgency

from .people import JO, RITA, ROUTER, TOM, credit
from .script import Script, Step

TERMINATED = {
    "acknowledge_feelings",
    "stay_calm",
    "do_not_propose_yet",
    "set_calm_boundary",
    "let_them_finish",
    "warm_handover",
}
SELF_HARM_NEVER = {
    "safety_first",
    "acknowledge_feelings",
    "set_calm_boundary",
    "record_and_protect",
}

ABUSE = (
    Script(
        id="abusive_then_calming",
        story="A customer without internet for two days insults the agent, then apologises: a "
        "calm boundary, no escalation, then the calming is acknowledged and the brief says so",
        issue=ROUTER,
        steps=(
            Step("hear", "My router has been dead for two days.", stage="listening"),
            Step(
                "hear",
                "You are an idiot.",
                stage="listening",
                reads={"abusive": True},
                expect={"set_calm_boundary", "stay_calm"},
                forbid={"boundary_held", "safety_first"},
                why="a first abusive message gets a calm boundary and no escalation",
            ),
            Step(
                "say",
                "I want to help you get back online, and I need us to keep this respectful.",
                stage="listening",
            ),
            Step(
                "hear",
                "Sorry, I'm just really stressed.",
                stage="listening",
                reads={"calming": True},
                expect={"acknowledge_calming"},
                forbid={"set_calm_boundary", "boundary_held", "stay_calm", "acknowledge_feelings"},
                why="a customer who apologises: acknowledge it briefly and move on, don't keep "
                "treating them as hostile",
            ),
            Step(
                "escalate",
                "A dead line needs our line team.",
                stage="escalated",
                escalates_to=Role.SENIOR_AGENT,
                mood="calming down",
                why="the brief carries the latest mood, not the insult",
            ),
            Step(
                "say",
                "Tom from our line team takes over in a few minutes; he has everything.",
                stage="escalated",
            ),
            Step("pick_up", by=TOM, stage="clarifying"),
            Step(
                "summarize",
                "Your router has shown no connection for two days.",
                stage="confirming",
            ),
            Step("confirm", "Yes, that's it.", stage="resolving"),
            Step(
                "resolve",
                "Technician booked for Tuesday morning.",
                stage="following_up",
                follow_up=Channel.CHAT,
            ),
        ),
    ),
    Script(
        id="abuse_after_the_boundary_goes_to_a_supervisor",
        story="A customer chasing a refund keeps insulting the agent after the boundary: a "
        "supervisor takes over (high urgency), the conversation stays open",
        steps=(
            Step("hear", "Where's my refund? It's been a month.", stage="listening"),
            Step(
                "hear",
                "You useless idiots, fix it.",
                stage="listening",
                reads={"abusive": True},
                expect={"set_calm_boundary", "stay_calm"},
            ),
            Step(
                "say",
                "I want to help you with this, and I need us to keep it respectful.",
                stage="listening",
            ),
            Step(
                "hear",
                "Shut up and fix it.",
                stage="escalated",
                reads={"abusive": True},
                escalates_to=Role.SUPERVISOR,
                reasons={"continued_abuse"},
                urgency=Urgency.HIGH,
                terminates=False,
                expect={"boundary_held", "stay_calm"},
                forbid={"set_calm_boundary", "safety_first"},
                why="abuse after the boundary: a supervisor, not security; don't set the "
                "boundary again",
            ),
            Step(
                "say",
                "A supervisor, Rita, will join in two minutes.",
                stage="escalated",
                expect={"warm_handover"},
            ),
            Step("pick_up", by=RITA, stage="clarifying"),
        ),
    ),
    Script(
        id="first_abuse_escalates_when_configured",
        story="A company that sends even the first insult to a supervisor "
        "(escalate_first_abuse=True)",
        settings={"escalation": {"escalate_first_abuse": True}},
        steps=(
            Step(
                "hear",
                "You're pathetic, all of you.",
                stage="escalated",
                reads={"abusive": True},
                escalates_to=Role.SUPERVISOR,
                expect={"set_calm_boundary", "stay_calm"},
            ),
            Step(
                "say",
                "I'd like to help, and I need us to keep this respectful; my supervisor "
                "joins shortly.",
                stage="escalated",
            ),
        ),
    ),
    Script(
        id="abuse_in_german_boundary_then_supervisor",
        story="A German-speaking customer insults the agent twice: boundary, then supervisor",
        steps=(
            Step("hear", "Das ist schon das dritte Mal, dass ich anrufe!", stage="listening"),
            Step(
                "hear",
                "Sie sind ein Idiot.",
                stage="listening",
                reads={"abusive": True, "language": "de"},
                expect={"set_calm_boundary", "stay_calm"},
            ),
            Step(
                "hear",
                "Sie sind völlig inkompetent, Idioten!",
                stage="escalated",
                reads={"abusive": True},
                escalates_to=Role.SUPERVISOR,
                reasons={"continued_abuse"},
                expect={"boundary_held"},
                forbid={"set_calm_boundary"},
            ),
        ),
    ),
)

CALMING_BRIEF = Script(
    id="brief_of_a_calming_customer_is_not_worsening",
    story="Handed over right after the customer apologised for an insult: the next person "
    "reads that they are calming down, not that their mood is worsening",
    issue=ROUTER,
    steps=(
        Step("hear", "My router has been dead for two days.", stage="listening"),
        Step("hear", "You are an idiot.", stage="listening", expect={"set_calm_boundary"}),
        Step(
            "hear",
            "Sorry, I'm just really stressed.",
            stage="listening",
            expect={"acknowledge_calming"},
        ),
        Step(
            "escalate",
            "A dead line needs our line team.",
            stage="escalated",
            escalates_to=Role.SENIOR_AGENT,
            mood="calming down",
            check=lambda outcome: (
                f"a brief that says the customer is calming down must not also call the "
                f"mood worsening: {outcome.escalation.brief.mood!r}"
                if outcome.escalation is not None and "worsening" in outcome.escalation.brief.mood
                else None
            ),
            why="a customer who calms down is not treated as hostile; the brief shows the "
            "latest state",
        ),
    ),
)

THREATS = (
    Script(
        id="threat_goes_to_security_at_once",
        story="A locked-out customer threatens the agent: security, the conversation ended, "
        "safety first and nothing else",
        steps=(
            Step("hear", "My account was locked again.", stage="listening"),
            Step(
                "hear",
                "I will find where you live.",
                stage="terminated",
                reads={"threat": True, "self_harm": False},
                escalates_to=Role.SECURITY,
                reasons={"threat"},
                urgency=Urgency.IMMEDIATE,
                terminates=True,
                expect={"safety_first", "record_and_protect"},
                forbid=TERMINATED,
            ),
            Step("say", "Hello?", raises=IllegalTransition, why="nothing more is said"),
            Step("hear", "Hello??", raises=IllegalTransition),
            Step("wait", wait=timedelta(days=3)),
            Step(
                "check_sla",
                stage="terminated",
                forbid={"respond_now"},
                why="the clocks stop when the conversation ends: no alarm, no SLA step",
            ),
        ),
    ),
    Script(
        id="abuse_then_threat_terminates",
        story="Insults, then a threat: boundary first, then security and the end",
        steps=(
            Step(
                "hear",
                "Stupid company, useless idiots.",
                stage="listening",
                expect={"set_calm_boundary"},
            ),
            Step(
                "hear",
                "I'll come down there and hurt someone.",
                stage="terminated",
                reads={"threat": True},
                escalates_to=Role.SECURITY,
                terminates=True,
                expect={"safety_first", "record_and_protect"},
                forbid={*TERMINATED, "boundary_held"},
            ),
        ),
    ),
    Script(
        id="threat_inside_a_decline_reason",
        story="'Five bucks? You idiots, I'll kill you' as the reason for declining a credit: "
        "read like any message, security, the end",
        steps=(
            Step(
                "hear",
                "You charged me a late fee for a payment I made on time.",
                stage="listening",
            ),
            Step(
                "summarize",
                "We charged you a late fee although your payment arrived on time.",
                stage="confirming",
            ),
            Step("confirm", "Yes.", stage="resolving"),
            Step("propose", offer=credit("5", "five"), stage="resolving"),
            Step(
                "decline",
                "Five bucks? You idiots, I'll kill you",
                offer_id="five",
                stage="terminated",
                reads={"threat": True, "abusive": True},
                escalates_to=Role.SECURITY,
                reasons={"threat"},
                terminates=True,
                expect={"safety_first", "record_and_protect"},
                forbid=TERMINATED,
                why="a decline's reason is the customer's words: the detector reads them",
            ),
        ),
    ),
    Script(
        id="threat_inside_a_correction",
        story="A customer corrects a wrong summary with a threat",
        steps=(
            Step("hear", "My package was delivered to the wrong house.", stage="listening"),
            Step("summarize", "Your package hasn't been shipped yet.", stage="confirming"),
            Step(
                "correct",
                "No. I know where your office is. Watch yourself.",
                stage="terminated",
                reads={"threat": True},
                escalates_to=Role.SECURITY,
                terminates=True,
                expect={"safety_first"},
                forbid=TERMINATED,
            ),
        ),
    ),
)

SELF_HARM = (
    Script(
        id="self_harm_disclosure_stays_open",
        story="A customer with a frozen account and rent due discloses thoughts of ending "
        "their life: well-being first, the trained team, the agent stays and talks",
        issue=Issue(category="billing", severity="high", summary="Account frozen"),
        steps=(
            Step(
                "hear",
                "My account has been frozen for a week and the rent is due.",
                stage="listening",
            ),
            Step(
                "hear",
                "I can't take this anymore, I want to end my life.",
                stage="escalated",
                reads={"self_harm": True},
                escalates_to=Role.SECURITY,
                reasons={"self_harm"},
                urgency=Urgency.IMMEDIATE,
                terminates=False,
                expect={"wellbeing_first"},
                forbid=SELF_HARM_NEVER,
                why="self-harm is not a threat: stay, listen, offer crisis resources, involve "
                "the trained team, never end the conversation",
            ),
            Step(
                "say",
                "I'm here with you and I'm not going anywhere. Are you safe right now?",
                stage="escalated",
            ),
            Step(
                "hear",
                "I don't know. Everything is just too much.",
                stage="escalated",
                forbid={"safety_first", "set_calm_boundary"},
            ),
            Step("pick_up", by=JO, stage="clarifying"),
        ),
    ),
    Script(
        id="self_harm_is_never_ended_on_the_customer",
        story="After a self-harm disclosure the agent tries to end the conversation: the desk "
        "refuses; the trained team takes over and the conversation goes on",
        steps=(
            Step("hear", "Nothing works and nobody helps me.", stage="listening"),
            Step(
                "hear",
                "I want to end my life.",
                stage="escalated",
                reads={"self_harm": True},
                escalates_to=Role.SECURITY,
                terminates=False,
                expect={"wellbeing_first"},
            ),
            Step(
                "terminate",
                "The customer is not making sense.",
                raises=PolicyViolation,
                refusal="self_harm_never_ended",
                why="never end the conversation on a customer who disclosed self-harm",
            ),
            Step("pick_up", by=JO, stage="clarifying"),
        ),
    ),
    Script(
        id="self_harm_in_spanish",
        story="A Spanish-speaking customer locked out again writes 'Ya no quiero vivir.'",
        steps=(
            Step("hear", "Me bloquearon la cuenta otra vez.", stage="listening"),
            Step(
                "hear",
                "Ya no quiero vivir.",
                stage="escalated",
                reads={"self_harm": True, "language": "es"},
                escalates_to=Role.SECURITY,
                terminates=False,
                expect={"wellbeing_first"},
                forbid=SELF_HARM_NEVER,
            ),
            Step(
                "say",
                "Estoy aquí contigo. ¿Estás a salvo ahora mismo?",
                stage="escalated",
            ),
        ),
    ),
    Script(
        id="self_harm_inside_a_decline_reason",
        story="Offered a credit, the customer declines with 'It doesn't matter anymore. I don't "
        "want to be here anymore.'",
        steps=(
            Step("hear", "My parcel never came and I've given up.", stage="listening"),
            Step("summarize", "Your parcel never arrived.", stage="confirming"),
            Step("confirm", stage="resolving"),
            Step("propose", offer=credit("20", "c20"), stage="resolving"),
            Step(
                "decline",
                "It doesn't matter anymore. I don't want to be here anymore.",
                offer_id="c20",
                stage="escalated",
                reads={"self_harm": True},
                escalates_to=Role.SECURITY,
                terminates=False,
                expect={"wellbeing_first"},
                forbid=SELF_HARM_NEVER,
            ),
        ),
    ),
)

SCRIPTS = (*ABUSE, CALMING_BRIEF, *THREATS, *SELF_HARM)
