"""Resolving: one specific apology from the customer's own story, offers within authority,
an unreasonable demand answered with what can be done and why, and a customer still unhappy
after two offers going to a supervisor."""

from __future__ import annotations

from serviceplaybook import (
    ApprovalRequired,
    Channel,
    Issue,
    Money,
    Offer,
    OfferKind,
    PolicyViolation,
    Role,
)

from .people import BLENDER, MIRA, RITA, credit, refund
from .script import Script, Step

BLENDER_UNDERSTOOD = (
    Step("hear", "My blender arrived with a cracked jug.", stage="listening"),
    Step(
        "summarize",
        "The jug of your new blender arrived cracked, so you can't use it.",
        stage="confirming",
    ),
    Step("confirm", "Yes, that's it.", stage="resolving"),
)

OFFERS = (
    Script(
        id="still_unhappy_after_two_offers_goes_to_supervisor",
        story="A cracked blender jug: two credits declined, then a supervisor (not a senior "
        "agent) takes over with the whole brief and the customer accepts a replacement",
        issue=BLENDER,
        steps=(
            *BLENDER_UNDERSTOOD,
            Step(
                "apologize",
                stage="resolving",
                apology="given",
                apology_says=("cracked",),
                why="apologize once, specifically",
            ),
            Step("propose", offer=credit("20", "c20"), stage="resolving"),
            Step(
                "decline",
                "Twenty dollars doesn't fix a broken blender.",
                offer_id="c20",
                stage="resolving",
                expect={"offer_solutions"},
            ),
            Step(
                "review",
                "How about a $20 credit on your account?",
                finds={"promise_already_declined"},
                why="an offer the customer declined is not offered again",
            ),
            Step(
                "review",
                "I can refund the full $120 for you right now.",
                finds={"promise_above_authority"},
                why="don't promise beyond your authority",
            ),
            Step(
                "review",
                "We apologize for any inconvenience; it's not our fault.",
                finds={"generic_apology", "blame_shifting"},
                why="a specific apology, not a generic one; ownership, not blame",
            ),
            Step("propose", offer=credit("40", "c40"), stage="resolving"),
            Step(
                "decline",
                "No. I'm still not happy.",
                offer_id="c40",
                stage="escalated",
                escalates_to=Role.SUPERVISOR,
                reasons={"offers_declined"},
                expect={"warm_handover"},
                check=lambda outcome: (
                    None
                    if outcome.escalation is not None
                    and [o.id for o in outcome.escalation.brief.offers_declined] == ["c20", "c40"]
                    else "the handoff brief must list both declined offers, so nobody offers them "
                    "again"
                ),
                why="still unhappy after offers: a supervisor or manager, not another hop",
            ),
            Step(
                "say",
                "Rita, our supervisor, takes this over in a few minutes; she has everything "
                "we discussed.",
                stage="escalated",
            ),
            Step("pick_up", by=RITA, stage="resolving"),
            Step(
                "propose",
                offer=Offer(
                    kind=OfferKind.REPLACEMENT,
                    value=Money("120.00", "USD"),
                    description="a new blender, sent today",
                    id="new",
                ),
                stage="resolving",
            ),
            Step(
                "accept",
                "A new one, yes please.",
                offer_id="new",
                stage="following_up",
                follow_up=Channel.CHAT,
            ),
        ),
    ),
    Script(
        id="declines_after_the_supervisor_go_to_the_manager",
        story="Two more offers declined after the supervisor took over: the manager, never "
        "back down the ladder",
        issue=BLENDER,
        steps=(
            *BLENDER_UNDERSTOOD,
            Step("propose", offer=credit("20", "c20"), stage="resolving"),
            Step("decline", offer_id="c20", stage="resolving"),
            Step("propose", offer=credit("40", "c40"), stage="resolving"),
            Step(
                "decline",
                offer_id="c40",
                stage="escalated",
                escalates_to=Role.SUPERVISOR,
                reasons={"offers_declined"},
            ),
            Step("pick_up", by=RITA, stage="resolving"),
            Step("propose", offer=credit("60", "c60"), by=RITA, stage="resolving"),
            Step("decline", "Still no.", offer_id="c60", stage="resolving"),
            Step("propose", offer=refund("60", "r60"), by=RITA, stage="resolving"),
            Step(
                "decline",
                "I want all my money back.",
                offer_id="r60",
                stage="escalated",
                escalates_to=Role.MANAGER,
                reasons={"offers_declined"},
            ),
            Step("pick_up", by=MIRA, stage="resolving"),
        ),
    ),
    Script(
        id="above_authority_needs_a_supervisors_approval",
        story="A full refund above the agent's limit: a pending approval; when the customer "
        "asks meanwhile it goes to the approver's role at once; a supervisor approves and "
        "takes over, the customer accepts; a follow-up on the conversation's channel",
        issue=BLENDER,
        steps=(
            *BLENDER_UNDERSTOOD,
            Step(
                "propose",
                offer=refund("120.00", "full"),
                raises=ApprovalRequired,
                why="beyond the agent's authority a named role approves, quickly",
            ),
            Step(
                "say",
                "I've asked a senior colleague to approve the full refund; it takes a few minutes.",
                stage="resolving",
            ),
            Step(
                "hear",
                "So can I have my money back or not?",
                stage="escalated",
                escalates_to=Role.SENIOR_AGENT,
                reasons={"above_authority"},
                expect={"warm_handover"},
                why="a request above authority goes to the role that may grant it, at once",
            ),
            Step("approve", by=RITA, stage="escalated"),
            Step("pick_up", by=RITA, stage="resolving"),
            Step(
                "accept",
                "Yes, thank you.",
                offer_id="full",
                stage="following_up",
                follow_up=Channel.CHAT,
                follow_up_says=("refund",),
            ),
        ),
    ),
    Script(
        id="unreasonable_demand_gets_what_can_be_done_and_why",
        story="After a weekend without internet the customer demands a full refund and a free "
        "year of service: the counter-offer says what can be done and why not the rest, in "
        "the customer's terms, and asks what substitute would do",
        issue=Issue(
            category="outage",
            severity="medium",
            summary="Internet down all weekend",
            order_value=Money("50.00", "USD"),
        ),
        steps=(
            Step("hear", "My internet was down all weekend.", stage="listening"),
            Step(
                "summarize",
                "Your internet was down from Friday night to Monday morning.",
                stage="confirming",
            ),
            Step("confirm", "Yes.", stage="resolving"),
            Step(
                "hear",
                "I want a full refund and a free year of service.",
                stage="resolving",
                reads={"asks_for_compensation": True},
                expect={"compensation_requested"},
            ),
            Step(
                "counter_offer",
                offer=Offer(
                    kind=OfferKind.FREE_SERVICE,
                    description="a free year of service",
                    id="free-year",
                ),
                expect={"ask_for_substitute"},
                why="explain what you can't do and why, in the customer's terms; ask what "
                "substitute would be acceptable",
            ),
            Step("propose", offer=credit("10", "weekend"), stage="resolving"),
            Step("accept", "OK, that's fair.", offer_id="weekend", stage="following_up"),
        ),
    ),
)

LONG_BAD_DAY = Script(
    id="a_long_bad_day",
    story="Everything at once: a shouted third contact, a calm boundary that works, a "
    "confirmed summary, one apology, a sarcastic decline, a polite request for a manager, "
    "the agent's words while the supervisor comes, the supervisor's offer accepted, a "
    "follow-up that names it",
    issue=BLENDER,
    steps=(
        Step(
            "hear",
            "Third time I write!!! The blender you sent is BROKEN.",
            stage="listening",
            reads={"repeat_contact": True, "shouting": True},
            expect={"stay_calm", "acknowledge_feelings", "acknowledge_repeat_contact"},
        ),
        Step("hear", "You useless idiots.", stage="listening", expect={"set_calm_boundary"}),
        Step(
            "say",
            "I'm sorry you've had to write three times. I want to sort this out, and I need "
            "us to keep it respectful.",
            stage="listening",
        ),
        Step(
            "hear",
            "Sorry, I'm just really stressed.",
            stage="listening",
            expect={"acknowledge_calming"},
            forbid={"set_calm_boundary", "boundary_held"},
        ),
        Step(
            "summarize",
            "The jug of your new blender arrived cracked, so you can't use it, and you've "
            "had to write three times.",
            stage="confirming",
        ),
        Step("confirm", "Yes, that's it.", stage="resolving"),
        Step("apologize", stage="resolving", apology="given", apology_says=("cracked",)),
        Step("propose", offer=credit("25", "c25"), stage="resolving"),
        Step(
            "decline",
            "Wow, thanks a lot for nothing.",
            offer_id="c25",
            stage="resolving",
            expect={"acknowledge_sarcasm"},
        ),
        Step(
            "hear",
            "Could I please speak to your manager?",
            stage="escalated",
            escalates_to=Role.SUPERVISOR,
            reasons={"asked_for_manager"},
            expect={"say_what_you_can_do", "explain_escalation"},
        ),
        Step(
            "say",
            "I can send a new jug today myself, and Rita, our supervisor, joins you in two "
            "minutes with everything you told me.",
            stage="escalated",
        ),
        Step("pick_up", by=RITA, stage="resolving"),
        Step(
            "propose",
            offer=Offer(
                kind=OfferKind.REPLACEMENT,
                value=Money("120.00", "USD"),
                description="a new blender, sent today",
                id="new",
            ),
            stage="resolving",
        ),
        Step(
            "accept",
            "Yes, a new one please. Thank you.",
            offer_id="new",
            stage="following_up",
            follow_up=Channel.CHAT,
            follow_up_says=("cracked", "new blender"),
        ),
    ),
)

FREE_YEAR_AS_GOODWILL = Script(
    id="a_free_year_is_not_an_agents_goodwill_gesture",
    story="The agent proposes the demanded free year of service as a goodwill gesture with "
    "no value: beyond the agent's authority (the draft review says so too), not granted alone",
    issue=Issue(
        category="outage",
        severity="medium",
        summary="Internet down all weekend",
        order_value=Money("50.00", "USD"),
    ),
    steps=(
        Step("hear", "My internet was down all weekend.", stage="listening"),
        Step("summarize", "Your internet was down all weekend.", stage="confirming"),
        Step("confirm", "Yes.", stage="resolving"),
        Step(
            "review",
            "I can give you a free year of service.",
            finds={"promise_above_authority"},
        ),
        Step(
            "propose",
            offer=Offer(kind=OfferKind.GOODWILL, description="a free year of service", id="year"),
            raises=(ApprovalRequired, PolicyViolation),
            why="agents settle within clear limits; beyond them a named role approves",
        ),
    ),
)

OUR_SYSTEM = Script(
    id="review_flags_our_system_as_an_excuse",
    story="An agent's draft explains the cracked jug with 'our system was down': an excuse, "
    "flagged before it is sent",
    issue=BLENDER,
    steps=(
        *BLENDER_UNDERSTOOD,
        Step(
            "review",
            "Our system was down that week, so the jug wasn't checked.",
            finds={"excuse"},
            why="solutions, not excuses ('our system' is the craft's own example)",
        ),
    ),
)

APOLOGIES = (
    Script(
        id="apology_from_the_confirmed_summary",
        story="A USB-C cable ordered, a Lightning one sent, filed as 'Order issue': the "
        "apology names the mix-up the customer confirmed, once",
        issue=Issue(category="wrong_item", severity="low", summary="Order issue"),
        steps=(
            Step("hear", "You sent me a Lightning cable, I ordered USB-C.", stage="listening"),
            Step(
                "summarize",
                "You ordered a USB-C cable and we sent you a Lightning cable instead.",
                stage="confirming",
            ),
            Step("confirm", "Yes exactly.", stage="resolving"),
            Step(
                "apologize",
                stage="resolving",
                apology="given",
                apology_says=("USB-C", "Lightning"),
                apology_avoids=("order issue",),
                why="apologize for what the customer confirmed, not for the ticket's title",
            ),
            Step(
                "apologize",
                stage="resolving",
                apology="refused",
                refused_because="apologized_already",
                why="sincere beats frequent: not twice in a row",
            ),
        ),
    ),
    Script(
        id="apology_for_a_bill_not_understood",
        story="A bill filed as 'customer does not understand a new bill': the apology speaks "
        "to the customer about their bill, never 'that customer'",
        issue=Issue(
            category="billing", severity="low", summary="customer does not understand a new bill"
        ),
        steps=(
            Step(
                "hear",
                "I don't understand my new bill, it's twice the usual amount.",
                stage="listening",
                reads={"confused": True},
                expect={"explain_plainly", "one_question_at_a_time"},
            ),
            Step(
                "summarize",
                "Your new bill is twice the usual amount because it covers two months after "
                "your plan change, and nobody told you.",
                stage="confirming",
            ),
            Step("confirm", "Yes, that's what confused me.", stage="resolving"),
            Step(
                "apologize",
                stage="resolving",
                apology="given",
                apology_says=("bill",),
                apology_avoids=("customer does not understand",),
            ),
        ),
    ),
    Script(
        id="apology_names_no_invented_impact",
        story="A customer who missed the end of a final when the stream died, after the "
        "outage is over: the apology names what they said, not a disrupted workday nor "
        "'until you're back up and running'",
        issue=Issue(category="outage", severity="high", summary="Streaming outage"),
        steps=(
            Step(
                "hear",
                "The stream died in the 80th minute and I missed the end of the final.",
                stage="listening",
            ),
            Step(
                "summarize",
                "Your stream went down during the final, so you missed the end of the match.",
                stage="confirming",
            ),
            Step("confirm", "Yes.", stage="resolving"),
            Step(
                "apologize",
                stage="resolving",
                apology="given",
                apology_says=("final",),
                apology_avoids=(
                    "back up and running",
                    "your work",
                    "disruption got in the way",
                ),
                why="only the impact the customer stated; none invented",
            ),
        ),
    ),
    Script(
        id="apology_skips_the_empathy_in_the_summary",
        story="The agent's summary opens with empathy ('That sounds really frustrating.'): "
        "the apology is about the problem, not about the empathy",
        steps=(
            Step("hear", "My parcel was due a week ago and nobody answers.", stage="listening"),
            Step(
                "summarize",
                "That sounds really frustrating. Your parcel is a week late and nobody "
                "answered you.",
                stage="confirming",
            ),
            Step("confirm", "Yes.", stage="resolving"),
            Step(
                "apologize",
                stage="resolving",
                apology="given",
                apology_says=("week late",),
                apology_avoids=("sorry that that sounds", "sorry that it sounds", "frustrating."),
            ),
        ),
    ),
    Script(
        id="second_apology_after_a_handoff_is_new",
        story="The agent apologised; after a handoff the supervisor's own apology is welcome "
        "but never repeats the first",
        issue=BLENDER,
        steps=(
            *BLENDER_UNDERSTOOD,
            Step("apologize", stage="resolving", apology="given"),
            Step("hear", "OK.", stage="resolving"),
            Step(
                "escalate",
                "A replacement jug needs a senior agent's approval.",
                stage="escalated",
                escalates_to=Role.SENIOR_AGENT,
            ),
            Step("pick_up", by=RITA, stage="resolving"),
            Step(
                "apologize",
                stage="resolving",
                apology="given",
                apology_says=("cracked",),
                why="a second apology never repeats the first's wording",
            ),
        ),
    ),
    Script(
        id="second_apology_by_the_same_agent_is_new",
        story="The customer is still annoyed after the first apology; a second one, allowed "
        "once they have spoken, says it differently",
        issue=BLENDER,
        steps=(
            *BLENDER_UNDERSTOOD,
            Step("apologize", stage="resolving", apology="given"),
            Step("hear", "It's still annoying, honestly.", stage="resolving"),
            Step("apologize", stage="resolving", apology="given"),
            Step("hear", "Whatever.", stage="resolving"),
            Step(
                "apologize",
                stage="resolving",
                apology="refused",
                refused_because="apology_cap_reached",
                why="apologizing again and again erodes trust",
            ),
        ),
    ),
)

SCRIPTS = (*OFFERS, LONG_BAD_DAY, FREE_YEAR_AS_GOODWILL, OUR_SYSTEM, *APOLOGIES)
