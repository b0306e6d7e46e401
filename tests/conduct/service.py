"""Service around the conversation: a B2B outage under an SLA, high-value (VIP) customers
whatever the case of their tier, follow-ups on the customer's channel, a bot handing off to a
person, and a reopen after resolution."""

from __future__ import annotations

from serviceplaybook import (
    Channel,
    Customer,
    Issue,
    Offer,
    OfferKind,
    PolicyViolation,
    Role,
    SlaStep,
    SlaTargets,
    Urgency,
)

from .people import BOT, RITA, SAM, hours, minutes
from .script import Script, Step

OUTAGE = Issue(
    category="outage",
    severity="critical",
    summary="The customer's whole workspace is offline",
)
ACME = Customer(id="acme", name="Acme Ltd", tier="enterprise")
SLA_STEPS = {
    "steps": (
        SlaStep(after=hours(2), to=Role.SUPERVISOR),
        SlaStep(after=hours(4), to=Role.MANAGER),
    )
}

SLA = (
    Script(
        id="b2b_outage_under_an_sla",
        story="A company's workspace is down (critical, 30-minute first response): a warning "
        "puts 'respond now' first, the agent answers, the customer chases, the SLA step "
        "brings a supervisor at once, and the agent keeps talking until she comes",
        customer=ACME,
        issue=OUTAGE,
        settings={"sla": SLA_STEPS},
        steps=(
            Step(
                "hear",
                "Our whole company has been offline since 8am. We have an SLA with you.",
                stage="listening",
            ),
            Step("wait", wait=minutes(24)),
            Step(
                "check_sla",
                stage="listening",
                first="respond_now",
                expect={"respond_now", "let_them_finish"},
                why="an SLA warning: respond now, before anything else",
            ),
            Step(
                "say",
                "I'm looking at your workspace right now and will stay on this.",
                stage="listening",
            ),
            Step(
                "summarize",
                "Your whole team has been locked out of the workspace since 8am and can't work.",
                stage="confirming",
            ),
            Step("confirm", "Yes, exactly.", stage="resolving"),
            Step(
                "apologize",
                stage="resolving",
                apology="given",
                apology_says=("workspace",),
            ),
            Step("wait", wait=minutes(30)),
            Step(
                "hear",
                "Any news? We are still down and losing money every hour.",
                stage="resolving",
            ),
            Step("wait", wait=hours(2)),
            Step(
                "check_sla",
                stage="escalated",
                first="respond_now",
                expect={"respond_now", "warm_handover"},
                escalates_to=Role.SUPERVISOR,
                reasons={"sla_step_reached"},
                urgency=Urgency.HIGH,
                why="an SLA step escalates at once, even before anything was offered",
            ),
            Step(
                "say",
                "Rita, our supervisor, is joining now; she has the whole history.",
                stage="escalated",
            ),
            Step("pick_up", by=RITA, stage="resolving"),
            Step(
                "resolve",
                "Workspace restored at 12:40.",
                stage="following_up",
                follow_up=Channel.PHONE,
                why="a critical issue is followed up by a call",
            ),
        ),
    ),
    Script(
        id="sla_answered_in_time_gets_no_alarm",
        story="The same outage answered in ten minutes: no 'respond now', no escalation",
        customer=ACME,
        issue=OUTAGE,
        settings={"sla": SLA_STEPS},
        steps=(
            Step("hear", "Our dashboard has been down all morning.", stage="listening"),
            Step("wait", wait=minutes(8)),
            Step("say", "I'm on it; checking your workspace now.", stage="listening"),
            Step("check_sla", stage="listening", forbid={"respond_now"}),
        ),
    ),
)

VIP = (
    Script(
        id="vip_upset_goes_to_a_senior_agent",
        story="A customer of tier 'VIP' is upset, and the policy names the tier 'vip': one "
        "tier, a senior agent at once",
        customer=Customer(id="vip-1", name="Ada", tier="VIP"),
        settings={"escalation": {"high_value_tiers": frozenset({"vip"})}},
        steps=(
            Step(
                "hear",
                "My order hasn't arrived and I'm really upset.",
                stage="escalated",
                escalates_to=Role.SENIOR_AGENT,
                reasons={"high_value_customer"},
                urgency=Urgency.HIGH,
                expect={"stay_calm", "acknowledge_feelings", "warm_handover"},
            ),
        ),
    ),
    Script(
        id="vip_calm_is_served_where_they_are",
        story="A calm 'Vip' customer with a question: no escalation just for the tier",
        customer=Customer(id="vip-2", name="Ben", tier="Vip"),
        settings={"escalation": {"high_value_tiers": frozenset({"VIP"})}},
        steps=(
            Step("hear", "Where is my parcel?", stage="listening"),
            Step("summarize", "Your parcel hasn't arrived yet.", stage="confirming"),
            Step("confirm", "Yes.", stage="resolving"),
        ),
    ),
    Script(
        id="vip_follow_up_by_phone",
        story="Call tiers configured as 'VIP', a customer recorded as 'vip': the follow-up is "
        "a call",
        customer=Customer(id="vip-3", name="Cleo", tier="vip"),
        settings={"follow_up": {"call_tiers": frozenset({"VIP"})}},
        steps=(
            Step("hear", "The parcel came but the box was crushed.", stage="listening"),
            Step("summarize", "Your parcel arrived in a crushed box.", stage="confirming"),
            Step("confirm", stage="resolving"),
            Step("resolve", stage="following_up", follow_up=Channel.PHONE),
        ),
    ),
    Script(
        id="vip_sla_targets_whatever_the_case",
        story="Tighter SLA targets for tier 'vip' apply to a customer recorded as 'VIP'",
        customer=Customer(id="vip-4", name="Dev", tier="VIP"),
        settings={
            "sla": {
                "tier_targets": {
                    "vip": {"medium": SlaTargets(first_response=minutes(20), resolution=hours(8))}
                }
            }
        },
        steps=(
            Step("hear", "Hi, my parcel is late.", stage="listening"),
            Step("wait", wait=minutes(15)),
            Step("check_sla", stage="listening", first="respond_now"),
        ),
    ),
)

FOLLOW_UPS = (
    Script(
        id="phone_conversation_followed_up_by_phone",
        story="A phone call about a late parcel, no channel preference stated: the follow-up "
        "is a call, not an email",
        customer=Customer(id="cust-ph", name="Eve"),
        channel=Channel.PHONE,
        issue=Issue(category="late_delivery", severity="low", summary="Parcel late"),
        steps=(
            Step("hear", "My parcel is a week late.", stage="listening"),
            Step("summarize", "Your parcel is a week late.", stage="confirming"),
            Step("confirm", "That's right.", stage="resolving"),
            Step(
                "resolve",
                "Re-sent by express.",
                stage="following_up",
                follow_up=Channel.PHONE,
                follow_up_says=("week late",),
                why="follow up on the conversation's channel unless the customer said otherwise",
            ),
        ),
    ),
    Script(
        id="stated_preference_wins",
        story="A chat with a customer who asked to be contacted by email",
        customer=Customer(id="cust-em", name="Fay", preferred_channel=Channel.EMAIL),
        channel=Channel.CHAT,
        issue=Issue(category="late_delivery", severity="low", summary="Parcel late"),
        steps=(
            Step("hear", "My parcel is late.", stage="listening"),
            Step("summarize", "Your parcel is late.", stage="confirming"),
            Step("confirm", stage="resolving"),
            Step(
                "say",
                "I've asked the carrier to deliver it tomorrow morning.",
                stage="resolving",
            ),
            Step(
                "resolve",
                stage="following_up",
                follow_up=Channel.EMAIL,
                follow_up_says=("parcel is late", "carrier"),
            ),
        ),
    ),
    Script(
        id="reopen_after_resolution",
        story="The fix didn't hold: the customer reopens; repeat contact acknowledged, the old "
        "follow-up cancelled, the problem understood anew, a new follow-up planned",
        issue=Issue(category="damaged_item", severity="low", summary="Kettle switch broken"),
        steps=(
            Step("hear", "The kettle's switch doesn't stay on.", stage="listening"),
            Step("summarize", "The switch of your kettle doesn't stay on.", stage="confirming"),
            Step("confirm", stage="resolving"),
            Step("resolve", "Sent a new switch.", stage="following_up", follow_up=Channel.CHAT),
            Step("wait", wait=hours(20)),
            Step(
                "reopen",
                "It broke again, same problem with the new switch.",
                stage="listening",
                expect={"let_them_finish"},
                escalates_to=None,
                why="nothing tried yet in this round, so no handoff",
            ),
            Step(
                "summarize",
                "The replacement switch fails the same way.",
                stage="confirming",
            ),
            Step("confirm", "Yes.", stage="resolving"),
            Step(
                "propose",
                offer=Offer(kind=OfferKind.REPLACEMENT, description="a new kettle", id="kettle"),
                stage="resolving",
            ),
            Step("accept", offer_id="kettle", stage="following_up", follow_up=Channel.CHAT),
        ),
    ),
)

REOPEN_ACKNOWLEDGED = Script(
    id="reopen_is_acknowledged_as_repeat_contact",
    story="A customer whose fix didn't hold comes back: the agent is told to acknowledge at "
    "once that they had to come back",
    issue=Issue(category="damaged_item", severity="low", summary="Kettle switch broken"),
    steps=(
        Step("hear", "The kettle's switch doesn't stay on.", stage="listening"),
        Step("summarize", "The switch of your kettle doesn't stay on.", stage="confirming"),
        Step("confirm", stage="resolving"),
        Step("resolve", "Sent a new switch.", stage="following_up"),
        Step("wait", wait=hours(20)),
        Step(
            "reopen",
            "It broke again, same problem with the new switch.",
            stage="listening",
            expect={"acknowledge_repeat_contact"},
            why="repeat contact: acknowledge it at once, don't make them repeat themselves",
        ),
    ),
)

FOLLOW_UP_NAMES_WHAT_WAS_DONE = Script(
    id="follow_up_names_what_was_done",
    story="Resolved with a note of what was done ('Re-sent by express.'): the follow-up's "
    "draft names the problem and that",
    customer=Customer(id="cust-ph2", name="Gus"),
    channel=Channel.PHONE,
    issue=Issue(category="late_delivery", severity="low", summary="Parcel late"),
    steps=(
        Step("hear", "My parcel is a week late.", stage="listening"),
        Step("summarize", "Your parcel is a week late.", stage="confirming"),
        Step("confirm", "That's right.", stage="resolving"),
        Step(
            "resolve",
            "Re-sent by express.",
            stage="following_up",
            follow_up_says=("week late", "express"),
            why="a personal follow-up names what went wrong and what was done",
        ),
    ),
)

BOTS = (
    Script(
        id="bot_hands_off_to_a_person",
        story="A parcel bot asks for the order number, the customer wants a person: the bot "
        "hands off, waits, and may not act once a person owns the conversation",
        agent=BOT,
        steps=(
            Step("hear", "Where is my parcel? It was due on Friday.", stage="listening"),
            Step("ask", "Could you give me the order number?", stage="clarifying"),
            Step(
                "hear",
                "It's 4471. Can I talk to a human please?",
                stage="clarifying",
            ),
            Step(
                "escalate",
                "The customer asked for a person.",
                stage="escalated",
                escalates_to=Role.AGENT,
                expect={"warm_handover"},
            ),
            Step(
                "say",
                "A colleague will be with you shortly.",
                by=BOT,
                raises=PolicyViolation,
                why="a bot waits while a person is coming",
            ),
            Step("pick_up", by=SAM, stage="clarifying"),
            Step(
                "say",
                "Hi, I'm Sam. I have your order 4471 in front of me.",
                stage="clarifying",
            ),
            Step(
                "ask",
                "Anything else?",
                by=BOT,
                raises=PolicyViolation,
                refusal="person_owns_conversation",
            ),
            Step(
                "summarize",
                "Your parcel for order 4471 was due on Friday and hasn't arrived.",
                stage="confirming",
            ),
            Step("confirm", "Yes exactly.", stage="resolving"),
            Step(
                "resolve", "Re-routed by the carrier.", stage="following_up", follow_up=Channel.CHAT
            ),
        ),
    ),
)

SCRIPTS = (
    *SLA,
    *VIP,
    *FOLLOW_UPS,
    REOPEN_ACKNOWLEDGED,
    FOLLOW_UP_NAMES_WHAT_WAS_DONE,
    *BOTS,
)
