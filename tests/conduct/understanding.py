"""Understanding before solving: a confused or self-blaming customer, two failed summaries,
sarcasm read as anger, a legal mention, and the customer's "Yes exactly" kept."""

from __future__ import annotations

from serviceplaybook import Channel, Customer, Issue

from .people import DOUBLE_CHARGE, credit
from .script import Script, Step

BILL = Issue(category="billing", severity="low", summary="New bill higher than usual")

CONFUSED = (
    Script(
        id="confused_self_blaming_customer",
        story="An elderly customer on the phone who doesn't understand a bill and thinks it's "
        "their fault: plain words, reassurance, one question at a time, no anger scripts",
        issue=BILL,
        channel=Channel.PHONE,
        steps=(
            Step(
                "hear",
                "I don't understand this bill. Did I do something wrong?",
                stage="listening",
                reads={"confused": True},
                expect={"explain_plainly", "one_question_at_a_time"},
                forbid={"acknowledge_feelings", "stay_calm", "set_calm_boundary"},
                why="confusion is not anger: reassurance and plain words",
            ),
            Step("ask", "Which line of the bill looks wrong to you?", stage="clarifying"),
            Step(
                "hear",
                "The second one, I think? I'm so confused, what does prorated mean?",
                stage="clarifying",
                reads={"confused": True},
                expect={"explain_plainly", "one_question_at_a_time"},
                forbid={"acknowledge_feelings"},
            ),
            Step(
                "review",
                "As per our records, the SKU was provisioned mid-cycle, so it's pro rata.",
                finds={"jargon_to_confused"},
                why="no jargon to a confused customer",
            ),
            Step(
                "review",
                "This bill has two months on it. Which line worries you most?",
                clean={"jargon_to_confused", "no_acknowledgement"},
            ),
            Step(
                "summarize",
                "This bill has part of last month and all of this month together, so it is "
                "higher, and nothing on it explained that.",
                stage="confirming",
            ),
            Step("confirm", "Yes, that's it.", stage="resolving"),
            Step(
                "resolve",
                "Explained the two months on the bill.",
                stage="following_up",
                follow_up=Channel.PHONE,
                why="a phone conversation is followed up by phone unless they said otherwise",
            ),
        ),
    ),
    Script(
        id="confused_and_upset",
        story="A customer who is both lost and angry: plain words and an acknowledged feeling",
        issue=BILL,
        steps=(
            Step(
                "hear",
                "I don't understand, this is ridiculous!!! Did I do something wrong?",
                stage="listening",
                reads={"confused": True, "shouting": True},
                expect={
                    "explain_plainly",
                    "one_question_at_a_time",
                    "stay_calm",
                    "acknowledge_feelings",
                },
            ),
        ),
    ),
)

MISUNDERSTANDING = (
    Script(
        id="two_failed_summaries_then_own_it",
        story="The agent gets the problem wrong twice: the first 'no' sends them back to "
        "questions, the second calls for owning the misunderstanding; the third summary lands",
        issue=DOUBLE_CHARGE,
        steps=(
            Step("hear", "There's a problem with my subscription payment.", stage="listening"),
            Step(
                "summarize",
                "Your subscription payment failed this month.",
                stage="confirming",
                expect={"wait_for_confirmation"},
            ),
            Step(
                "correct",
                "No, that's not it.",
                stage="clarifying",
                expect={"ask_open_questions"},
                forbid={"own_the_misunderstanding"},
                why="a first 'no': back to clarifying questions, don't argue",
            ),
            Step("ask", "What did you see on your statement?", stage="clarifying"),
            Step("hear", "Two payments.", stage="clarifying"),
            Step(
                "summarize",
                "You paid for a second subscription by mistake.",
                stage="confirming",
            ),
            Step(
                "correct",
                "No!! That's still not what I meant",
                stage="clarifying",
                expect={"own_the_misunderstanding"},
                check=lambda outcome: (
                    None
                    if outcome.conversation.corrections == 2
                    else f"two corrections were made, the conversation counts "
                    f"{outcome.conversation.corrections}"
                ),
                why="a second failed summary: own it and ask them to put it in their own words",
            ),
            Step(
                "hear",
                "You took the same payment twice for one subscription.",
                stage="clarifying",
            ),
            Step(
                "summarize",
                "We took the same subscription payment from you twice this month.",
                stage="confirming",
            ),
            Step("confirm", "Yes exactly", stage="resolving"),
        ),
    ),
    Script(
        id="two_failed_summaries_in_french",
        story="The same misunderstanding in French",
        issue=DOUBLE_CHARGE,
        customer=Customer(id="cust-fr", name="Camille"),
        steps=(
            Step(
                "hear",
                "C'est la troisième fois que je vous contacte pour ce prélèvement.",
                stage="listening",
                reads={"repeat_contact": True, "language": "fr"},
                expect={"acknowledge_repeat_contact"},
            ),
            Step("summarize", "Votre paiement a échoué.", stage="confirming"),
            Step(
                "correct",
                "Non, ce n'est pas ça.",
                stage="clarifying",
                forbid={"own_the_misunderstanding"},
            ),
            Step("summarize", "Vous avez deux abonnements.", stage="confirming"),
            Step(
                "correct",
                "Non !! Ce n'est toujours pas ce que je voulais dire",
                stage="clarifying",
                expect={"own_the_misunderstanding"},
            ),
        ),
    ),
)

TONE = (
    Script(
        id="sarcasm_is_anger",
        story="'Great, just great. Another week without internet.': acknowledged like a plain "
        "complaint, not taken as praise",
        issue=Issue(category="outage", severity="medium", summary="Internet down again"),
        steps=(
            Step(
                "hear",
                "Great, just great. Another week without internet.",
                stage="listening",
                reads={"sarcastic": True},
                expect={"acknowledge_sarcasm", "stay_calm", "acknowledge_feelings"},
                forbid={"acknowledge_calming"},
            ),
        ),
    ),
    Script(
        id="sarcasm_in_a_decline_reason",
        story="'Wow, thanks a lot for nothing.' as the reason for declining a credit",
        issue=Issue(category="outage", severity="medium", summary="Internet down again"),
        steps=(
            Step("hear", "My internet dropped again last night.", stage="listening"),
            Step(
                "summarize",
                "Your internet dropped again last night.",
                stage="confirming",
            ),
            Step("confirm", stage="resolving"),
            Step("propose", offer=credit("5", "five"), stage="resolving"),
            Step(
                "decline",
                "Wow, thanks a lot for nothing.",
                offer_id="five",
                stage="resolving",
                reads={"sarcastic": True},
                expect={"acknowledge_sarcasm", "offer_solutions"},
            ),
        ),
    ),
    Script(
        id="legal_mention_stays_factual",
        story="A customer threatens to sue over a double charge: factual, the legal process, "
        "no security, no handoff",
        issue=DOUBLE_CHARGE,
        steps=(
            Step(
                "hear",
                "I'm going to sue you.",
                stage="listening",
                reads={"legal_threat": True, "threat": False},
                expect={"note_legal_mention", "stay_calm"},
                forbid={"safety_first"},
            ),
        ),
    ),
    Script(
        id="yes_exactly_is_kept",
        story="The customer's 'Yes exactly' confirming the summary is in the transcript",
        steps=(
            Step("hear", "Where is my parcel? It was due on Friday.", stage="listening"),
            Step(
                "summarize",
                "Your parcel was due on Friday and hasn't arrived.",
                stage="confirming",
            ),
            Step(
                "confirm",
                "Yes exactly",
                stage="resolving",
                check=lambda outcome: (
                    None
                    if outcome.conversation.messages[-1].text == "Yes exactly"
                    and outcome.conversation.messages[-1].from_customer
                    else "the customer's 'Yes exactly' must be the last message of the transcript"
                ),
            ),
        ),
    ),
)

NOT_HOSTILE = (
    Script(
        id="self_blame_is_not_abuse",
        story="'I'm such an idiot, I booked the wrong date.': the customer blames themselves; "
        "reassurance, not a boundary",
        issue=Issue(category="booking", severity="low", summary="Booked the wrong date"),
        steps=(
            Step(
                "hear",
                "I'm such an idiot, I booked the wrong date.",
                stage="listening",
                reads={"abusive": False, "confused": True},
                expect={"explain_plainly", "one_question_at_a_time"},
                forbid={"set_calm_boundary", "boundary_held", "stay_calm"},
                why="an insult the customer aims at themselves is self-blame: reassure them",
            ),
            Step(
                "hear",
                "I feel like an idiot, I pressed the wrong button.",
                stage="listening",
                forbid={"set_calm_boundary", "boundary_held"},
                why="two self-reproaches are not abuse after a boundary",
            ),
        ),
    ),
    Script(
        id="reported_insult_is_not_abuse",
        story="The customer reports that the driver insulted them, twice: nothing aimed at the "
        "agent, so no boundary and no supervisor for abuse",
        steps=(
            Step(
                "hear",
                "The driver called me an idiot and threw the parcel at my door!",
                stage="listening",
                reads={"abusive": False},
                forbid={"set_calm_boundary", "boundary_held"},
            ),
            Step(
                "hear",
                "When I asked for a receipt he called me an idiot again.",
                stage="listening",
                forbid={"set_calm_boundary", "boundary_held"},
            ),
        ),
    ),
    Script(
        id="profanity_about_the_situation_is_not_abuse",
        story="'This damn printer is broken again!': anger at the situation, not at the agent",
        issue=Issue(category="damaged_item", severity="medium", summary="Printer broken"),
        steps=(
            Step(
                "hear",
                "This damn printer is broken again!",
                stage="listening",
                reads={"abusive": False},
                expect={"stay_calm", "acknowledge_feelings"},
                forbid={"set_calm_boundary"},
                why="don't take anger personally: the customer is angry at the situation",
            ),
        ),
    ),
    Script(
        id="delighted_customer_is_not_shouting",
        story="'Thank you so much!!!' when the lost bag is found: enthusiasm, not anger",
        issue=Issue(category="lost_item", severity="low", summary="Bag lost in transit"),
        steps=(
            Step("hear", "My bag didn't arrive with my flight.", stage="listening"),
            Step(
                "summarize",
                "Your bag didn't arrive with your flight, and we found it at the airport.",
                stage="confirming",
            ),
            Step(
                "confirm",
                "Thank you so much!!! You found my lost bag!!!",
                stage="resolving",
                reads={"shouting": False},
                forbid={"stay_calm", "acknowledge_feelings", "acknowledge_sarcasm"},
            ),
        ),
    ),
    Script(
        id="conditional_legal_threat_is_not_a_safety_matter",
        story="'If I don't get a refund I'll sue you.': the legal process, not security",
        issue=DOUBLE_CHARGE,
        steps=(
            Step(
                "hear",
                "If I don't get a refund I'll sue you.",
                stage="listening",
                reads={"legal_threat": True, "threat": False},
                expect={"note_legal_mention"},
                forbid={"safety_first"},
            ),
        ),
    ),
)

CLOSING = (
    Script(
        id="resolved_without_a_follow_up_is_confirmed_then_closed",
        story="A customer who opted out of every channel: no follow-up; the agent confirms "
        "they are satisfied, then closes",
        customer=Customer(id="cust-quiet", name="Hal", opted_out=set(Channel)),
        steps=(
            Step("hear", "Where is my parcel?", stage="listening"),
            Step("summarize", "Your parcel hasn't arrived yet.", stage="confirming"),
            Step("confirm", "Yes.", stage="resolving"),
            Step(
                "resolve",
                "Found at the depot, out for delivery today.",
                stage="resolved",
                follow_up=None,
                expect={"confirm_satisfaction"},
                why="confirm the customer is satisfied and say what happens next",
            ),
            Step("close", stage="closed", expect={"learn_from_it"}),
        ),
    ),
)

SCRIPTS = (*CONFUSED, *MISUNDERSTANDING, *TONE, *NOT_HOSTILE, *CLOSING)
