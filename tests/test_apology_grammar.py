"""A grammar corpus of composed apologies: what the library says, for a reviewer to read.

Summaries as agents write them (second person, with lead-ins and confirmation questions, the
third person "the customer", the customer's own first person, noun phrases, with and without
an impact clause), composed with every template family, first and later apologies. Every
apology must be a well-formed sentence spoken to the customer: it starts "I'm sorry" (a first
apology), says "sorry" once, never "the customer" or the customer's "my"/"I was", no doubled
word, no " ." or ",.", ends with a full stop, and names an impact only when one was stated.
``EXPECTED`` shows the exact text for a good number of them.
"""

# The expected apologies stay one string a line, so that a reviewer reads each as it is said.
# ruff: noqa: E501

from __future__ import annotations

import re
from datetime import timedelta

import attrs
import pytest

from serviceplaybook import Agent, Apology, ApologyPolicy, Conversation, Handoff, Message
from serviceplaybook.testing.apology_contract import sample_conversation
from serviceplaybook.testing.contracts import T0

policy = ApologyPolicy()

FAMILIES = {
    "delivery": "late_delivery",
    "billing": "billing",
    "defect": "damaged_item",
    "outage": "service_outage",
    "account": "account_access",
    "default": "wrong_item",
}

# (summary the customer confirmed, kind): kinds say what a reviewer should look for.
SUMMARIES: list[tuple[str, str]] = [
    # second person, as agents write them
    (
        "So you were charged twice for the March invoice, and that left your account overdrawn",
        "you",
    ),
    (
        "Just to check: your parcel is a week late and you needed it for your daughter's birthday",
        "you",
    ),
    ("Your internet has been down since Monday", "you"),
    ("You ordered a USB-C cable and we sent a Lightning one", "you"),
    ("So your refund still hasn't arrived after three weeks", "you"),
    ("You were billed for a plan you cancelled in January", "you"),
    ("Your new phone arrived with a cracked screen, so you can't use it", "you"),
    (
        "So you've been locked out of your account since the password reset, which means you "
        "can't pay your staff",
        "you",
    ),
    ("Your order arrived without the charger", "you"),
    ("You've called us three times about the missing refund", "you"),
    (
        "Your heating engineer didn't turn up on Tuesday and you took the day off for nothing",
        "you",
    ),
    ("You were promised a callback yesterday and nobody called", "you"),
    ("Your sofa was delivered to the wrong address.", "you"),
    ("You can't download your invoices from the portal", "you"),
    ("Your two-factor codes aren't arriving, so you're stuck at the login screen", "you"),
    ("Your parcel was marked delivered but it never came", "you"),
    # lead-ins, some shaped as questions
    ("If I understand correctly, your website was offline for six hours during your sale", "lead"),
    ("Let me make sure I have this right: the app crashes every time you open the camera", "lead"),
    ("Just to confirm, you were charged a late fee even though you paid on time?", "lead"),
    ("Am I right that your washing machine leaks from the door?", "lead"),
    (
        "So what I'm hearing is that your subscription renewed without any warning. Is that right?",
        "lead",
    ),
    ("Okay, so the blender arrived with a cracked jug, correct?", "lead"),
    (
        "It sounds like your email has been bouncing since the migration, and you've lost two "
        "orders",
        "lead",
    ),
    ("To recap: your flight booking vanished from the app. Did I get that right?", "lead"),
    ("From what you've told me, the courier left your parcel in the rain and it's ruined", "lead"),
    ("Let me just recap: your meter reading was estimated and the bill doubled", "lead"),
    ("If I've got this right, your account was suspended by mistake", "lead"),
    ("Just to check I've got this right: you've been without hot water since Friday", "lead"),
    ("I understand that the replacement part is the wrong size", "lead"),
    ("You're telling me the technician broke your fence", "lead"),
    ("Do I have it right that your voucher code was rejected at checkout?", "lead"),
    ("Thanks for explaining. So your parcel is late and you needed it for Saturday.", "lead"),
    ("Sorry to hear that your parcel is late", "lead"),
    ("I've checked and your parcel is lost", "lead"),
    # third person: "the customer", and "they"/"she"/"he" for them
    ("The customer can't log in since the password reset", "third"),
    ("customer does not understand a new bill", "third"),
    ("The customer was charged twice and has not been refunded", "third"),
    ("Customer says the parcel is two weeks late", "third"),
    ("The customer's router keeps dropping the connection", "third"),
    ("The customer reports that their card was charged three times", "third"),
    ("The customer has been waiting ten days for a refund", "third"),
    ("The customer is unable to reset their password", "third"),
    ("The customer says she was overcharged and her rent payment bounced", "third"),
    ("The customer's delivery was left outside and he wasn't home", "third"),
    ("They were charged twice for the same order", "third"),
    ("Customer's internet is down and they work from home", "third"),
    ("The client was sent the wrong size and has to return it", "third"),
    ("The customer needs the invoice corrected for their accountant", "third"),
    ("The customer doesn't know why the price went up", "third"),
    ("The customer ordered two lamps but they arrived broken", "things"),  # they: the lamps
    # first person: the customer's own words
    ("I was charged twice and my account went overdrawn", "first"),
    ("My parcel is two weeks late", "first"),
    ("I can't get into my account", "first"),
    ("My fridge stopped working a week after delivery", "first"),
    ("I've been waiting a month for my refund", "first"),
    ("I'm being charged for a service I cancelled", "first"),
    ("I ordered a blue jacket and got a red one", "first"),
    ("My card was declined and I missed my train", "first"),
    # noun phrases and fragments
    ("Late delivery of the sofa", "noun"),
    ("Double charge on the March invoice", "noun"),
    ("Broken kettle", "noun"),
    ("Wrong item sent", "noun"),
    ("Charged twice", "noun"),
    ("Cannot log in", "noun"),
    ("Outage on Saturday evening", "noun"),
    ("Missing refund", "noun"),
    ("Being charged after cancelling", "noun"),
    ("Account locked after too many attempts", "noun"),
    ("VPN keeps dropping", "noun"),
]

# Phrases of the impacts the library used to make up from the severity: never again.
INVENTED = (
    "back up and running",
    "got in the way of your work",
    "the disruption",
    "left waiting without what you ordered",
    "out of pocket",
    "hit your finances",
    "couldn't spare",
    "being locked out is frustrating",
    "real trouble",
    "serious impact",
    "disrupted your work",
)
LEAD_IN_LEFT = re.compile(
    r"^(?:so|just|if|let|ok|okay|right|to recap|it sounds|from what|am i|do i|i understand|"
    r"you're telling)\b",
    re.IGNORECASE,
)


def conversation_about(summary: str, category: str, *said: str) -> Conversation:
    """The customer said ``said`` and confirmed ``summary``; the issue's label says little."""
    return sample_conversation(*said, category=category, summary="Problem", agent_summary=summary)


def given(conversation: Conversation, apology: Apology, minutes: int) -> Conversation:
    """``conversation`` after the apology was given and the customer answered."""
    at = T0 + timedelta(minutes=minutes)
    given_apology = attrs.evolve(apology, by=conversation.agent.id, at=at)
    return attrs.evolve(
        conversation,
        apologies=(*conversation.apologies, given_apology),
        messages=(
            *conversation.messages,
            Message(author=conversation.agent.id, text=apology.text, at=at),
            Message(author="customer", text="OK.", at=at + timedelta(seconds=30)),
        ),
    )


def flaws(text: str, problem: str, kind: str, *, first: bool) -> list[str]:
    """What is wrong with one composed apology (empty when it is well-formed)."""
    found = []
    if first and not text.startswith("I'm sorry "):
        found.append('does not start with "I\'m sorry"')
    if len(re.findall(r"\bsorry\b", text, re.IGNORECASE)) != 1:
        found.append("says sorry more or less than once")
    if not text.endswith("."):
        found.append("does not end with a full stop")
    for bad in (" .", " ,", " ;", ",.", ";.", "..", ",,", ";;", "?", "  "):
        if bad in text:
            found.append(f"has {bad!r}")
    if re.search(r"\bcustomers?\b|\bclient\b", text, re.IGNORECASE):
        found.append("speaks of the customer instead of to them")
    doubled = re.search(r"\b(\w+)\s+\1\b", text, re.IGNORECASE)
    if doubled:
        found.append(f"doubles {doubled.group(0)!r}")
    if re.search(r"\b(?:I|me|my|mine|myself)\b", problem) or re.search(r"\bI was\b", text):
        found.append("keeps the customer's first person")
    if re.search(r"\bmy\b(?! colleague)", text):
        found.append("says 'my' about the customer's things")
    if kind == "third" and re.search(r"\b(?:they|them|their|he|she|his|him|her)\b", problem):
        found.append("keeps a third-person pronoun for the customer")
    if LEAD_IN_LEFT.search(problem):
        found.append("keeps the agent's lead-in")
    for invented in INVENTED:
        if invented in text.casefold():
            found.append(f"invents an impact ({invented!r})")
    return found


@pytest.mark.parametrize(("summary", "kind"), SUMMARIES)
def test_every_family_composes_a_well_formed_first_and_second_apology(
    summary: str, kind: str
) -> None:
    problems = []
    for family, category in FAMILIES.items():
        conversation = conversation_about(summary, category)
        problem, stated, source = policy.stated_problem(conversation)
        assert source == "confirmed_summary"
        first = policy.compose(conversation)
        codes = [reason.code for reason in first.reasons]
        problems += [
            f"{family}: {flaw}: {first.text}"
            for flaw in flaws(first.text, problem, kind, first=True)
        ]
        if stated is None:  # nothing stated, nothing named
            assert codes[-1] == "no_stated_impact", (family, first.text)
            assert "I know" not in first.text, (family, first.text)
        else:
            assert codes[-1] == "summary_impact", (family, first.text)
            assert first.text.count(stated) == 1, (family, first.text)
        later = given(conversation, first, 1)
        second = policy.compose(later)
        problems += [
            f"{family}, second: {flaw}: {second.text}"
            for flaw in flaws(second.text, problem, kind, first=False)
        ]
        assert second.text != first.text
        assert "I know" not in second.text  # shorter: it goes to the solution
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("summary", "kind"), SUMMARIES[::3])
def test_an_impact_the_customer_described_is_named_once(summary: str, kind: str) -> None:
    for family, category in FAMILIES.items():
        conversation = conversation_about(summary, category, "I had to take a day off work.")
        apology = policy.compose(conversation)
        problem, stated, _ = policy.stated_problem(conversation)
        assert not flaws(apology.text, problem, kind, first=True), apology.text
        impact = stated or "you had to take a day off work"
        assert apology.text.count(f"I know {impact}") == 1, (family, apology.text)


@pytest.mark.parametrize(("summary", "kind"), SUMMARIES[::4])
def test_a_new_agent_after_a_handoff_says_so_in_other_words(summary: str, kind: str) -> None:
    for category in FAMILIES.values():
        conversation = conversation_about(summary, category)
        first = policy.compose(conversation)
        later = given(conversation, first, 1)
        at = T0 + timedelta(minutes=5)
        handoff = Handoff(from_agent=later.agent, to_agent=Agent(id="ria"), at=at)
        taken_over = attrs.evolve(later, agent=handoff.to_agent, handoffs=(handoff,))
        apology = policy.compose(taken_over)
        problem, _, _ = policy.stated_problem(taken_over)
        assert not flaws(apology.text, problem, kind, first=False), apology.text
        assert apology.text.startswith("I've taken over from my colleague")
        assert "after_handover" in [reason.code for reason in apology.reasons]
        assert apology.text != first.text


# The issue's own summary (before the customer confirmed one) goes the same way; there the
# customer's "we" is theirs, not the company's.
ISSUE_SUMMARIES = [
    ("We were double billed for March", "that you were double billed for March"),
    ("Customer does not understand a new bill", "that you do not understand a new bill"),
    ("My order never arrived", "that your order never arrived"),
    ("The customer's parcel is late", "that your parcel is late"),
    ("Order issue", "about the order issue"),
    ("They can't log in", "that you can't log in"),
]


@pytest.mark.parametrize(("summary", "about"), ISSUE_SUMMARIES)
def test_the_issue_summary_is_turned_the_same_way_until_one_is_confirmed(
    summary: str, about: str
) -> None:
    conversation = sample_conversation(category="billing", summary=summary, reflected=False)
    apology = policy.compose(conversation)
    assert apology.text.startswith(f"I'm sorry {about};")
    assert "issue_summary" in [reason.code for reason in apology.reasons]
    problem, _, _ = policy.stated_problem(conversation)
    assert not flaws(apology.text, problem, "third", first=True)


# (category, the summary the customer confirmed, the apology composed): what the library says.
EXPECTED: list[tuple[str, str, str]] = [
    (
        "billing",
        "So you were charged twice for the March invoice, and that left your account overdrawn",
        "I'm sorry that you were charged twice for the March invoice; anything to do with your money should be clear and right, and that's on us. I know it left your account overdrawn, and I'm going to put it right with you now.",
    ),
    (
        "late_delivery",
        "Just to check: your parcel is a week late and you needed it for your daughter's birthday",
        "I'm sorry that your parcel is a week late; getting it to you properly was our job, and we let you down. I know you needed it for your daughter's birthday, and I'm going to sort it out with you now.",
    ),
    (
        "account_access",
        "The customer can't log in since the password reset",
        "I'm sorry that you can't log in since the password reset; getting you into your account safely is our job. I'm going to work through it with you now.",
    ),
    (
        "service_outage",
        "Your internet has been down since Monday",
        "I'm sorry that your internet has been down since Monday; keeping the service running is our responsibility. I'm going to help you with it now.",
    ),
    (
        "billing",
        "customer does not understand a new bill",
        "I'm sorry that you do not understand a new bill; anything to do with your money should be clear and right, and that's on us. I'm going to put it right with you now.",
    ),
    (
        "wrong_item",
        "You ordered a USB-C cable and we sent a Lightning one",
        "I'm sorry that you ordered a USB-C cable and we sent a Lightning one; that's on us. I'm going to put it right.",
    ),
    (
        "billing",
        "If I understand correctly, the customer was charged twice and has not been refunded. Is that right?",
        "I'm sorry that you were charged twice and have not been refunded; anything to do with your money should be clear and right, and that's on us. I'm going to put it right with you now.",
    ),
    (
        "damaged_item",
        "Your new phone arrived with a cracked screen, so you can't use it",
        "I'm sorry that your new phone arrived with a cracked screen; that's below the standard we owe you, and it's ours to fix. I know you can't use it, and I'm going to make it right.",
    ),
    (
        "account_access",
        "So you've been locked out of your account since the password reset, which means you can't pay your staff",
        "I'm sorry that you've been locked out of your account since the password reset; getting you into your account safely is our job. I know you can't pay your staff, and I'm going to work through it with you now.",
    ),
    (
        "missed_appointment",
        "Your heating engineer didn't turn up on Tuesday and you took the day off for nothing",
        "I'm sorry that your heating engineer didn't turn up on Tuesday; that's on us. I know you took the day off for nothing, and I'm going to put it right.",
    ),
    (
        "service_outage",
        "If I understand correctly, your website was offline for six hours during your sale",
        "I'm sorry that your website was offline for six hours during your sale; keeping the service running is our responsibility. I'm going to help you with it now.",
    ),
    (
        "app_crash",
        "Let me make sure I have this right: the app crashes every time you open the camera",
        "I'm sorry that the app crashes every time you open the camera; that's on us. I'm going to put it right.",
    ),
    (
        "billing",
        "Just to confirm, you were charged a late fee even though you paid on time?",
        "I'm sorry that you were charged a late fee even though you paid on time; anything to do with your money should be clear and right, and that's on us. I'm going to put it right with you now.",
    ),
    (
        "damaged_item",
        "Am I right that your washing machine leaks from the door?",
        "I'm sorry that your washing machine leaks from the door; that's below the standard we owe you, and it's ours to fix. I'm going to make it right.",
    ),
    (
        "subscription",
        "So what I'm hearing is that your subscription renewed without any warning. Is that right?",
        "I'm sorry that your subscription renewed without any warning; anything to do with your money should be clear and right, and that's on us. I'm going to put it right with you now.",
    ),
    (
        "email_outage",
        "It sounds like your email has been bouncing since the migration, and you've lost two orders",
        "I'm sorry that your email has been bouncing since the migration; keeping the service running is our responsibility. I know you've lost two orders, and I'm going to help you with it now.",
    ),
    (
        "late_delivery",
        "Customer says the parcel is two weeks late",
        "I'm sorry that the parcel is two weeks late; getting it to you properly was our job, and we let you down. I'm going to sort it out with you now.",
    ),
    (
        "internet_outage",
        "The customer's router keeps dropping the connection",
        "I'm sorry that your router keeps dropping the connection; keeping the service running is our responsibility. I'm going to help you with it now.",
    ),
    (
        "refund",
        "The customer has been waiting ten days for a refund",
        "I'm sorry that you have been waiting ten days for a refund; anything to do with your money should be clear and right, and that's on us. I'm going to put it right with you now.",
    ),
    (
        "account_access",
        "The customer is unable to reset their password",
        "I'm sorry that you are unable to reset your password; getting you into your account safely is our job. I'm going to work through it with you now.",
    ),
    (
        "billing",
        "The customer says she was overcharged and her rent payment bounced",
        "I'm sorry that you were overcharged; anything to do with your money should be clear and right, and that's on us. I know your rent payment bounced, and I'm going to put it right with you now.",
    ),
    (
        "late_delivery",
        "The customer's delivery was left outside and he wasn't home",
        "I'm sorry that your delivery was left outside and you weren't home; getting it to you properly was our job, and we let you down. I'm going to sort it out with you now.",
    ),
    (
        "billing",
        "They were charged twice for the same order",
        "I'm sorry that you were charged twice for the same order; anything to do with your money should be clear and right, and that's on us. I'm going to put it right with you now.",
    ),
    (
        "wrong_item",
        "The client was sent the wrong size and has to return it",
        "I'm sorry that you were sent the wrong size and have to return it; that's on us. I'm going to put it right.",
    ),
    (
        "billing",
        "I was charged twice and my account went overdrawn",
        "I'm sorry that you were charged twice; anything to do with your money should be clear and right, and that's on us. I know your account went overdrawn, and I'm going to put it right with you now.",
    ),
    (
        "late_delivery",
        "My parcel is two weeks late",
        "I'm sorry that your parcel is two weeks late; getting it to you properly was our job, and we let you down. I'm going to sort it out with you now.",
    ),
    (
        "refund",
        "I've been waiting a month for my refund",
        "I'm sorry that you've been waiting a month for your refund; anything to do with your money should be clear and right, and that's on us. I'm going to put it right with you now.",
    ),
    (
        "late_delivery",
        "Late delivery of the sofa",
        "I'm sorry about the late delivery of the sofa; getting it to you properly was our job, and we let you down. I'm going to sort it out with you now.",
    ),
    (
        "billing",
        "Double charge on the March invoice",
        "I'm sorry about the double charge on the March invoice; anything to do with your money should be clear and right, and that's on us. I'm going to put it right with you now.",
    ),
    (
        "damaged_item",
        "Broken kettle",
        "I'm sorry about the broken kettle; that's below the standard we owe you, and it's ours to fix. I'm going to make it right.",
    ),
    (
        "billing",
        "Being charged after cancelling",
        "I'm sorry about being charged after cancelling; anything to do with your money should be clear and right, and that's on us. I'm going to put it right with you now.",
    ),
    (
        "account_access",
        "Account locked after too many attempts",
        "I'm sorry about the account locked after too many attempts; getting you into your account safely is our job. I'm going to work through it with you now.",
    ),
    (
        "damaged_item",
        "So your new espresso machine arrived with a cracked water tank, it leaks, and you can't use it at all, after contacting us twice already. Is that right?",
        "I'm sorry that your new espresso machine arrived with a cracked water tank and it leaks; that's below the standard we owe you, and it's ours to fix. I know you can't use it at all, and I'm going to make it right.",
    ),
    (
        "late_delivery",
        "Your parcel was marked delivered but it never came",
        "I'm sorry that your parcel was marked delivered but it never came; getting it to you properly was our job, and we let you down. I'm going to sort it out with you now.",
    ),
    (
        "defect",
        "From what you've told me, the courier left your parcel in the rain and it's ruined",
        "I'm sorry that the courier left your parcel in the rain and it's ruined; that's below the standard we owe you, and it's ours to fix. I'm going to make it right.",
    ),
]


@pytest.mark.parametrize(("category", "summary", "expected"), EXPECTED)
def test_what_the_library_says(category: str, summary: str, expected: str) -> None:
    assert policy.compose(conversation_about(summary, category)).text == expected


def test_the_corpus_is_large_and_varied() -> None:
    kinds = [kind for _, kind in SUMMARIES]
    assert len(SUMMARIES) >= 60
    assert len(EXPECTED) >= 30
    assert all(kinds.count(kind) >= 5 for kind in ("you", "lead", "third", "first", "noun"))
    read = [policy.read_summary(summary, by_agent=True) for summary, _ in SUMMARIES]
    assert sum(1 for found in read if found is not None and found[1] is not None) >= 10


@pytest.mark.parametrize(
    ("text", "flaw"),
    [
        (
            "I'm sorry that customer does not understand a new bill; that's on us.",
            "speaks of the customer instead of to them",
        ),
        (
            "I'm sorry that the outage happened. I know the disruption got in the way of your "
            "work, and I'll stay on this with you until you're back up and running.",
            "invents an impact ('back up and running')",
        ),
        ("I'm sorry that that your parcel is late.", "doubles 'that that'"),
        ("I'm sorry about the late parcel .", "has ' .'"),
        ("I'm sorry about my parcel.", "says 'my' about the customer's things"),
        ("Sorry, I'm so sorry about the parcel.", 'does not start with "I\'m sorry"'),
        ("I'm sorry about the parcel", "does not end with a full stop"),
    ],
)
def test_the_checks_catch_the_failures_reported(text: str, flaw: str) -> None:
    """The well-formedness checks are not vacuous: the reported apologies fail them."""
    assert flaw in flaws(text, "", "you", first=True)
