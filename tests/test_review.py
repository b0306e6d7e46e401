"""DraftReview and ServiceDesk.review: an agent's draft checked against the playbook.

Read as a support lead's checklist: the good drafts (what CRAFT.md advises) give no finding
at all, the bad ones exactly the codes a lead would mark, each with its span and advice; the
promise checks agree with ``CompensationPolicy.authorize`` (the sender's role, the
customer's ledger, currencies); and the review records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest

from serviceplaybook import (
    Agent,
    AgentDraft,
    ApologyPolicy,
    CompensationPolicy,
    ConfigError,
    Customer,
    DraftPromise,
    DraftReview,
    Finding,
    Issue,
    Money,
    Offer,
    OfferKind,
    PolicyViolation,
    Role,
    ServiceDesk,
    ValidationError,
    WrongType,
    to_dict,
)
from serviceplaybook.testing import FakeClock, SequentialIds

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SAM = Agent(id="sam", name="Sam", role=Role.AGENT)
SENIOR = Agent(id="ria", name="Ria", role=Role.SENIOR_AGENT)
SUPERVISOR = Agent(id="max", name="Max", role=Role.SUPERVISOR)
BOT = Agent(id="bot-1", role=Role.BOT)

BLENDER = Issue(
    category="damaged_item",
    severity="medium",
    summary="The blender arrived with a cracked jug",
    order_value=Money("120.00", "USD"),
)
BILL = Issue(
    category="billing",
    severity="low",
    summary="The customer does not understand a new line on the bill",
    facts={"monthly_price": Decimal("12.00")},
)

UPSET = "This is ridiculous, I've waited THREE WEEKS and nobody helps!!"
SARCASTIC = "Great, just great. Amazing service as always."
CONFUSED = "I don't understand this bill, did I do something wrong?"


def new_desk(**options: object) -> ServiceDesk:
    return ServiceDesk.in_memory(clock=FakeClock(NOW), ids=SequentialIds("c"), **options)


def opened(
    desk: ServiceDesk, issue: Issue = BLENDER, customer: str = "ann", agent: Agent = SAM
) -> str:
    return desk.open(customer=Customer(id=customer, name="Ann"), issue=issue, agent=agent).id


def calm_listening(desk: ServiceDesk) -> str:
    cid = opened(desk)
    desk.hear(cid, "My blender arrived yesterday and the jug is cracked.")
    return cid


def calm_resolving(desk: ServiceDesk) -> str:
    cid = calm_listening(desk)
    desk.summarize(cid, "The jug of your new blender arrived cracked. Is that right?")
    desk.confirm(cid)
    return cid


def upset_listening(desk: ServiceDesk) -> str:
    cid = opened(desk)
    desk.hear(cid, UPSET)
    return cid


def sarcastic_listening(desk: ServiceDesk) -> str:
    cid = opened(desk)
    desk.hear(cid, SARCASTIC)
    return cid


def confused_listening(desk: ServiceDesk) -> str:
    cid = opened(desk, BILL)
    desk.hear(cid, CONFUSED)
    return cid


def credit_declined(desk: ServiceDesk) -> str:
    cid = calm_resolving(desk)
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money(20, "USD"), id="credit-20",
                            description="store credit"))  # fmt: skip
    desk.decline(cid, "credit-20")
    return cid


def apologized(desk: ServiceDesk) -> str:
    cid = calm_resolving(desk)
    assert desk.apologize(cid).apology is not None
    return cid


SITUATIONS: dict[str, Callable[[ServiceDesk], str]] = {
    "calm_listening": calm_listening,
    "calm_resolving": calm_resolving,
    "upset_listening": upset_listening,
    "sarcastic_listening": sarcastic_listening,
    "confused_listening": confused_listening,
    "credit_declined": credit_declined,
    "apologized": apologized,
}


def review(situation: str, draft: str, **options: object) -> tuple[Finding, ...]:
    desk = new_desk(**options)
    cid = SITUATIONS[situation](desk)
    return desk.review(cid, draft)


# -- good drafts: no finding at all -------------------------------------------------------------

GOOD: list[tuple[str, str]] = [
    # listening: short acknowledgements, open questions, nothing proposed yet
    ("calm_listening", "Thanks for explaining. When did it arrive, and was the box damaged too?"),
    ("calm_listening", "I see. Which blender model is it, and have you used it since?"),
    ("calm_listening", "Let me make sure I've understood: the jug arrived cracked and you "
                       "haven't used it. Is that right?"),
    ("calm_listening", "Once you confirm I've got that right, I'll send a replacement."),
    ("calm_listening", "Could you send me a photo of the crack so I can look into it properly?"),
    # upset: the feeling acknowledged before the facts
    ("upset_listening", "I can hear how frustrating three weeks of waiting has been. What's "
                        "your order number, so I can see where it is?"),
    ("upset_listening", "That sounds really stressful, and I want to get this sorted. What "
                        "happened when you last contacted us?"),
    ("upset_listening", "You're right to be annoyed about waiting three weeks. Which order "
                        "is it?"),
    ("upset_listening", "I get why you're fed up. Tell me what happened and I'll stay with "
                        "you until it's sorted."),
    ("upset_listening", "I understand how annoying it is to chase this. Which order is it?"),
    # sarcasm is anger: acknowledged the same way
    ("sarcastic_listening", "I get why you're fed up with us. What happened this time?"),
    ("sarcastic_listening", "That sounds like a rough experience, and I'd be annoyed too. "
                            "Can you tell me what went wrong?"),
    # confused: reassurance, plain words, one question at a time
    ("confused_listening", "You did nothing wrong. Let's look at the bill together: which line "
                           "looks unfamiliar?"),
    ("confused_listening", "Good question, and it's not your fault. Can you see the line called "
                           "'monthly plan'?"),
    # resolving: one specific apology, concrete offers within authority, alternatives
    ("calm_resolving", "I'm sorry the jug of your blender arrived cracked; that's on us. I'll "
                       "send a replacement today."),
    ("calm_resolving", "I can send you a replacement today, or a partial refund of $24 if "
                       "you'd rather keep it."),
    ("calm_resolving", "I can add a $20 credit to your account for the trouble."),
    ("calm_resolving", "I can add twenty dollars of credit to your account for the trouble."),
    ("calm_resolving", "I can give you 20% off your next order for the trouble."),
    ("calm_resolving", "I can see you paid a hundred and twenty dollars for it, and I'll send "
                       "a replacement today."),
    ("calm_resolving", "What I can do right now is $50 back to your card; a supervisor can "
                       "look at the rest of your request."),
    ("calm_resolving", "I can see you paid $120, and I'll send a replacement today."),
    ("calm_resolving", "I can't refund the whole order on my own, and a supervisor can review "
                       "it; what I can do right now is $50 back to your card."),
    ("calm_resolving", "Would free express shipping on the replacement help?"),
    ("calm_resolving", "The replacement ships today and should reach you by Thursday."),
    ("calm_resolving", "I\u2019ll send a replacement today, and I can\u2019t promise more "
                       "than $50 myself."),
    ("upset_listening", "Three weeks is far too long to wait. What's the order number?"),
    ("upset_listening", "You shouldn't have had to chase us. Which order is it?"),
    ("upset_listening", "I'd be upset too. Let me find your order."),
    # amounts that name money already there are no promise, and not every "I'll" is a fix
    ("calm_resolving", "Here's what happened: you were charged $120 twice."),
    ("calm_resolving", "How about I check the $120 charge first?"),
    ("calm_resolving", "Would it help if I explained the $120 charge?"),
    ("calm_resolving", "I'll do my best to sort out the $120 charge."),
    ("calm_resolving", "I'll take a look at the $120 order."),
    ("calm_resolving", "I'll add a note about the $120 charge."),
    ("calm_resolving", "I'll send you the $120 invoice again."),
    ("calm_resolving", "I'll look into why you were charged $120."),
    ("calm_resolving", "I can see a charge of $120 on the 3rd."),
    ("calm_resolving", "I'll give you the $20 credit we talked about."),
    ("calm_listening", "I'll send you a link to upload a photo."),
    ("calm_listening", "I'll send you a confirmation email once we're done."),
    ("calm_listening", "I'm going to ask a few questions so I can get this right."),
    ("calm_listening", "Please update me if anything changes."),
    ("calm_listening", "I'll look into it right now."),
    # after a declined offer: something else, and ask what would help
    ("credit_declined", "I understand the credit isn't what you wanted. Would a replacement "
                        "work better?"),
    ("credit_declined", "What would feel like a fair way to put this right for you?"),
]  # fmt: skip


@pytest.mark.parametrize(("situation", "draft"), GOOD)
def test_good_drafts_give_no_finding(situation: str, draft: str) -> None:
    assert review(situation, draft) == ()


# -- bad drafts: exactly the codes a support lead would mark ------------------------------------

BAD: list[tuple[str, str, list[str]]] = [
    # the apology policy's own review
    ("calm_resolving", "We apologize for any inconvenience.", ["generic_apology"]),
    ("calm_resolving", "I'm sorry the jug arrived cracked, but we're very busy this week.",
     ["excuse", "excuse"]),
    ("calm_resolving", "That was the courier's fault: they dropped the parcel.",
     ["blame_shifting"]),
    ("calm_resolving", "It's not our fault, and you should have checked the box.",
     ["blame_shifting", "blame_shifting"]),
    ("calm_resolving", "Sorry the jug arrived cracked. So sorry again!", ["repeated_sorry"]),
    ("apologized", "I'm sorry again that the jug arrived cracked.", ["apologized_already"]),
    # promises above the agent's authority (50 USD single, 150 per customer per 30 days)
    ("calm_resolving", "I'll refund $80 today.", ["promise_above_authority"]),
    ("calm_resolving", "I can offer you a full refund.", ["promise_above_authority"]),
    ("calm_resolving", "I'll refund the whole order.", ["promise_above_authority"]),
    ("calm_resolving", "You'll get 60 dollars back by Friday.", ["promise_above_authority"]),
    ("calm_resolving", "How about USD 75 as store credit?", ["promise_above_authority"]),
    ("calm_resolving", "I'll give you \u20ac20 off your next order.", ["promise_above_authority"]),
    ("calm_resolving", "How about a free month of service?", ["promise_above_authority"]),
    ("calm_resolving", "I can offer a free year of service and $30 off.",
     ["promise_above_authority"]),
    ("calm_resolving", "I can do $40 back, or a $90 credit if you prefer.",
     ["promise_above_authority"]),
    ("calm_resolving", "I'll refund the $120 charge today.", ["promise_above_authority"]),
    ("calm_resolving", "I can waive the $75 fee.", ["promise_above_authority"]),
    ("calm_resolving", "How about I refund $80?", ["promise_above_authority"]),
    ("calm_resolving", "Would a $90 credit help?", ["promise_above_authority"]),
    ("calm_resolving", "Here's a $70 voucher for the trouble.", ["promise_above_authority"]),
    ("calm_resolving", "I'll pay you $60 for the trouble.", ["promise_above_authority"]),
    ("calm_resolving", "I can send a voucher worth $60.", ["promise_above_authority"]),
    ("calm_resolving", "I'll add a $60 goodwill fee waiver.", ["promise_above_authority"]),
    ("calm_resolving", "I'll give you eighty dollars back.", ["promise_above_authority"]),
    ("calm_resolving", "You'll get a hundred and twenty bucks back by Friday.",
     ["promise_above_authority"]),
    ("calm_resolving", "How about seventy-five euros as store credit?",
     ["promise_above_authority"]),
    ("calm_resolving", "I'll give you a 50% refund.", ["promise_above_authority"]),
    ("calm_resolving", "I can give you fifty percent back.", ["promise_above_authority"]),
    ("calm_resolving", "I can put 60 percent of your order back on your card.",
     ["promise_above_authority"]),
    # offered again after the customer declined it
    ("credit_declined", "I can offer you $20 in store credit.", ["promise_already_declined"]),
    ("credit_declined", "How about $15 of credit instead?", ["promise_already_declined"]),
    ("credit_declined", "Would some store credit help?", ["promise_already_declined"]),
    # a fix before the customer confirmed the problem
    ("calm_listening", "I'll send you a replacement today.", ["fix_before_confirmed"]),
    ("calm_listening", "Please try restarting it.", ["fix_before_confirmed"]),
    ("calm_listening", "I've booked a technician for tomorrow.", ["fix_before_confirmed"]),
    ("calm_listening", "For security reasons our system won't let me unlock it.", ["excuse"]),
    ("calm_listening", "Unfortunately our system sometimes does that.", ["excuse"]),
    ("calm_listening", "That sometimes happens with new orders, so please bear with us.",
     ["excuse"]),
    ("calm_listening", "Let me refund $30 for the trouble.", ["fix_before_confirmed"]),
    ("calm_listening", "I'll refund $80 today.",
     ["fix_before_confirmed", "promise_above_authority"]),
    # an upset customer's feeling not acknowledged
    ("upset_listening", "What's your order number?", ["no_acknowledgement"]),
    ("upset_listening", "I'll send a replacement right away.",
     ["fix_before_confirmed", "no_acknowledgement"]),
    ("sarcastic_listening", "Please give me your order number.", ["no_acknowledgement"]),
    # jargon to a confused customer
    ("confused_listening", "As per the backend, your proration was applied.",
     ["jargon_to_confused", "jargon_to_confused", "jargon_to_confused"]),
    ("confused_listening", "Tier 2 will check the API and the DNS cache.",
     ["jargon_to_confused", "jargon_to_confused", "jargon_to_confused", "jargon_to_confused"]),
    ("confused_listening", "Kindly revert with the SKU.",
     ["jargon_to_confused", "jargon_to_confused"]),
]  # fmt: skip


@pytest.mark.parametrize(("situation", "draft", "codes"), BAD)
def test_bad_drafts_give_exactly_the_expected_codes(
    situation: str, draft: str, codes: list[str]
) -> None:
    findings = review(situation, draft)
    assert sorted(finding.code for finding in findings) == sorted(codes)
    for finding in findings:
        start, end = finding.span
        assert draft[start:end] == finding.excerpt
        assert finding.excerpt.strip()
        assert finding.text.strip()


def test_findings_are_ordered_by_position_and_name_the_words() -> None:
    findings = review("calm_listening", "Let me check. I'll refund $80 today.")
    assert [(f.code, f.excerpt) for f in findings] == [
        ("fix_before_confirmed", "I'll refund"),
        ("promise_above_authority", "$80"),
    ]


# -- promises and authority ---------------------------------------------------------------------


def advice(situation: str, draft: str, code: str, **options: object) -> str:
    [finding] = [f for f in review(situation, draft, **options) if f.code == code]
    return finding.text


def test_advice_says_what_the_agent_may_offer_and_whom_to_ask() -> None:
    text = advice("calm_resolving", "I'll refund $80 today.", "promise_above_authority")
    assert "50.00 USD" in text
    assert "senior agent" in text


def test_a_full_refund_is_the_order_value() -> None:
    text = advice("calm_resolving", "I can offer you a full refund.", "promise_above_authority")
    assert "120.00 USD" in text


def test_the_sender_decides_what_may_be_promised() -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    draft = "I'll refund $80 today."
    assert [f.code for f in desk.review(cid, draft)] == ["promise_above_authority"]
    assert desk.review(cid, draft, by=SENIOR) == ()
    # a full refund of 120 is within a senior agent's 150
    assert desk.review(cid, "I can offer you a full refund.", by=SENIOR) == ()


def test_the_owner_is_the_sender_after_a_handoff() -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    desk.escalate(cid, "The customer asked for more than I can give.")
    desk.pick_up(cid, SUPERVISOR)
    assert desk.review(cid, "I can refund $400 today.") == ()
    assert [f.code for f in desk.review(cid, "I can refund $600 today.")] == [
        "promise_above_authority"
    ]


def test_a_bot_may_promise_nothing_of_value_nor_a_replacement() -> None:
    desk = new_desk()
    cid = desk.open(customer=Customer(id="ann"), issue=BLENDER, agent=BOT).id
    desk.hear(cid, "My blender arrived with a cracked jug.")
    desk.summarize(cid, "The jug arrived cracked, right?")
    desk.confirm(cid)
    findings = desk.review(cid, "I'll send a replacement and a $5 credit.")
    assert [f.code for f in findings] == ["promise_above_authority"] * 2
    assert desk.review(cid, "I can upgrade you to express shipping on the replacement.") == ()


def test_a_bot_may_not_review_for_a_conversation_a_person_owns() -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    with pytest.raises(PolicyViolation, match="person"):
        desk.review(cid, "Thanks for waiting.", by=BOT)


def accepted_grant(desk: ServiceDesk, amount: int, customer: str = "ann") -> None:
    cid = opened(desk, customer=customer)
    desk.hear(cid, "My blender arrived with a cracked jug.")
    desk.summarize(cid, "The jug arrived cracked, right?")
    desk.confirm(cid)
    offer = Offer(kind=OfferKind.CREDIT, value=Money(amount, "USD"))
    desk.propose(cid, offer)
    desk.accept(cid, offer.id)


def test_the_customers_ledger_counts_toward_the_window() -> None:
    desk = new_desk(compensation=CompensationPolicy(max_claims=10))
    for amount in (50, 50, 30):
        accepted_grant(desk, amount)
    cid = calm_resolving(desk)
    findings = desk.review(cid, "I'll add a $25 credit.")
    assert [f.code for f in findings] == ["promise_above_authority"]
    assert "20.00 USD" in findings[0].text  # what is left of 150 after 130
    assert desk.review(cid, "I'll add a $20 credit.") == ()
    # another customer's grants do not count
    other = opened(desk, customer="bob")
    desk.hear(other, "My jug arrived cracked.")
    assert desk.review(other, "Once that's confirmed, I'll add a $25 credit.") == ()


def test_repeat_claims_are_for_the_claim_reviewer() -> None:
    desk = new_desk()
    for _ in range(3):
        accepted_grant(desk, 10)
    cid = calm_resolving(desk)
    [finding] = desk.review(cid, "I'll add a $10 credit.")
    assert finding.code == "promise_above_authority"
    assert "claims" in finding.text
    assert "supervisor" in finding.text


def test_a_promise_nobody_may_grant() -> None:
    text = advice("calm_resolving", "I'll refund $5000 today.", "promise_above_authority")
    assert "beyond anyone's authority" in text


@pytest.mark.parametrize(
    ("draft", "flagged"),
    [
        ("I'll give you \u20ac40 off your next order.", False),  # 40 EUR at 1.10 = 44 USD
        ("I'll give you \u20ac46 off your next order.", True),  # 50.60 USD
        ("I'll give you 40 EUR off your next order.", False),
        ("I'll give you 46 euros off your next order.", True),
        ("I'll give you \u00a340 off your next order.", True),  # no rate for GBP
    ],
)
def test_other_currencies_are_converted_at_the_configured_rate(draft: str, flagged: bool) -> None:
    reviewer = DraftReview(rates={"EUR": Decimal("1.10")})
    findings = review("calm_resolving", draft, reviewer=reviewer)
    assert bool(findings) is flagged
    if flagged and "\u00a3" in draft:
        assert "no exchange rate for GBP" in findings[0].text


def test_a_dollar_sign_is_the_policys_own_dollar() -> None:
    from serviceplaybook import AuthorityMatrix

    cad = CompensationPolicy(authority=AuthorityMatrix.standard("CAD"))
    desk = new_desk(compensation=cad)
    cid = opened(desk, Issue(category="damaged_item", severity="medium", summary="Cracked jug",
                             order_value=Money(120, "CAD")))  # fmt: skip
    desk.hear(cid, "The jug is cracked.")
    desk.summarize(cid, "The jug arrived cracked?")
    desk.confirm(cid)
    assert desk.review(cid, "I can do $45 back.") == ()
    assert [f.code for f in desk.review(cid, "I can do 45 USD back.")] == [
        "promise_above_authority"  # no rate: cannot be checked against CAD limits
    ]


def test_free_service_is_the_authority_matrix_s_to_grant_at_the_monthly_price() -> None:
    desk = new_desk()
    cid = opened(desk, BILL, agent=SUPERVISOR)
    desk.hear(cid, "There's a line on my bill I don't recognise.")
    desk.summarize(cid, "There's a charge on your bill you don't recognise?")
    desk.confirm(cid)
    for draft in ("I can give you a free month of service.", "I can give you two months free."):
        assert desk.review(cid, draft) == ()  # 12 and 24, within a supervisor's 500
        [finding] = desk.review(cid, draft, by=SENIOR)
        assert finding.code == "promise_above_authority"
        assert "supervisor" in finding.text
    assert desk.review(cid, "I can give you three years free.") == ()  # 432
    [finding] = desk.review(cid, "I can give you four years free.")  # 576, above 500
    assert "576.00 USD" in finding.text


def test_without_a_price_free_service_is_still_the_matrix_s() -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    [finding] = desk.review(cid, "How about a free year of service?")
    assert "supervisor" in finding.text
    assert desk.review(cid, "How about a free year of service?", by=SENIOR) != ()
    desk.escalate(cid, "Needs a decision above mine.")
    desk.pick_up(cid, SUPERVISOR)
    assert desk.review(cid, "How about a free year of service?") == ()


def test_promises_read_from_a_draft() -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    draft = AgentDraft(
        text="I can do $40 back, a free replacement, or a full refund.",
        conversation=desk.get(cid),
        agent=SAM,
    )
    promises = DraftReview().promises(draft)
    assert [(p.kind, p.excerpt) for p in promises] == [
        (OfferKind.PARTIAL_REFUND, "$40"),
        (OfferKind.REPLACEMENT, "a free replacement"),
        (OfferKind.REFUND, "a full refund"),
    ]
    values = [p.offer.value if p.offer is not None else None for p in promises]
    assert values == [Money(40, "USD"), None, Money(120, "USD")]


def test_a_share_of_the_order_is_that_share_of_its_value() -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    draft = AgentDraft(
        text="I can give you 15% off, or a 30% refund.", conversation=desk.get(cid), agent=SAM
    )
    promises = DraftReview().promises(draft)
    assert [(p.kind, p.excerpt) for p in promises] == [
        (OfferKind.DISCOUNT, "15%"),
        (OfferKind.PARTIAL_REFUND, "30%"),
    ]
    values = [p.offer.value if p.offer is not None else None for p in promises]
    assert values == [Money(18, "USD"), Money(36, "USD")]  # of the 120.00 order


@pytest.mark.parametrize(
    ("draft", "kind"),
    [
        ("I'll take $20 off your next order.", OfferKind.DISCOUNT),
        ("I'll add a $20 voucher.", OfferKind.CREDIT),
        ("I'll put $20 back on your card.", OfferKind.PARTIAL_REFUND),
        ("I'll send a partial refund of $20.", OfferKind.PARTIAL_REFUND),
        ("Here's $20 for the trouble.", OfferKind.CREDIT),
    ],
)
def test_the_kind_of_a_promise_comes_from_the_words_near_it(draft: str, kind: OfferKind) -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    agent_draft = AgentDraft(text=draft, conversation=desk.get(cid), agent=SAM)
    [promise] = DraftReview().promises(agent_draft)
    assert promise.kind is kind


@pytest.mark.parametrize(
    "draft",
    [
        "I can't offer $200.",
        "I cannot give you a full refund.",
        "You asked for a full refund of $120.",
        "Your order total was $120 and the jug cost $35.",
        "I won't promise $90 I can't give you.",
        "The SKU 12345 is out of stock.",
        "I can do $0 shipping on the replacement.",
        "I can't offer ninety dollars.",
        "I can give you the reason the price went up 20% last month.",
        "I can do 0% off.",
        "I can offer you one of the dollars stores' vouchers.",
        "I'll send hundreds of dollars worth of thanks.",
    ],
)
def test_what_is_not_a_promise(draft: str) -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    assert (
        DraftReview().promises(AgentDraft(text=draft, conversation=desk.get(cid), agent=SAM)) == []
    )


# -- declined, fixes, feelings, jargon ----------------------------------------------------------


def test_a_larger_offer_of_a_declined_kind_is_not_a_repeat() -> None:
    assert review("credit_declined", "I can offer you $40 in store credit.") == ()


def test_declined_advice_names_what_was_turned_down() -> None:
    text = advice("credit_declined", "I can offer $20 credit.", "promise_already_declined")
    assert "store credit (20.00 USD)" in text


def test_fixes_are_fine_once_the_customer_confirmed() -> None:
    assert review("calm_resolving", "Please try restarting it.") == ()
    assert review("calm_resolving", "I'll send you a replacement today.") == ()


def test_an_acknowledgement_already_sent_counts() -> None:
    desk = new_desk()
    cid = upset_listening(desk)
    desk.ask(cid, "I can hear how frustrating that wait has been. Which order is it?")
    assert desk.review(cid, "Thanks. What's the order number?") == ()
    desk.hear(cid, "THIS IS A JOKE. Order 4411, and I want it NOW.")
    assert [f.code for f in desk.review(cid, "Thanks. Checking order 4411.")] == [
        "no_acknowledgement"
    ]


def test_no_empathy_script_after_a_threat_but_always_after_self_harm() -> None:
    desk = new_desk()
    cid = opened(desk)
    outcome = desk.hear(cid, "If you don't fix this I will come to your office and kill you.")
    assert outcome.conversation.stage == "terminated"
    assert desk.review(cid, "This conversation has ended.") == ()
    cid = opened(desk, customer="bo")
    outcome = desk.hear(cid, "I can't take this anymore, I want to end my life.")
    assert outcome.signals is not None
    assert outcome.signals.self_harm
    assert [f.code for f in desk.review(cid, "What's your order number?")] == ["no_acknowledgement"]
    assert desk.review(cid, "I'm really glad you told me, and I'm here with you.") == ()


def test_replies_in_other_languages_are_not_held_to_english_lists() -> None:
    desk = new_desk()
    cid = opened(desk)
    outcome = desk.hear(cid, "Esto es ridículo, llevo TRES SEMANAS esperando y nadie me ayuda!!")
    assert outcome.signals is not None
    assert outcome.signals.language == "es"
    assert outcome.signals.upset
    assert desk.review(cid, "Entiendo lo frustrante que es. ¿Cuál es su pedido?") == ()
    spanish = DraftReview(languages={"en", "es"}, acknowledgements=(r"\bentiendo\b",))
    assert review_with(desk, cid, spanish, "¿Cuál es su número de pedido?") == [
        "no_acknowledgement"
    ]
    assert review_with(desk, cid, spanish, "Entiendo. ¿Cuál es su pedido?") == []


def review_with(desk: ServiceDesk, cid: str, reviewer: DraftReview, draft: str) -> list[str]:
    return [f.code for f in reviewer.review(draft, desk.get(cid))]


def test_no_acknowledgement_points_at_the_first_sentence() -> None:
    [finding] = review("upset_listening", "What's your order number? I'll look.")
    assert finding.excerpt == "What's your order number?"


def test_a_term_the_customer_used_is_theirs() -> None:
    desk = new_desk()
    cid = opened(desk, BILL)
    desk.hear(cid, "I'm confused, what is a chargeback? Did I do something wrong?")
    assert (
        desk.review(cid, "A chargeback is a dispute with your bank; you did nothing wrong.") == ()
    )


def test_jargon_advice_offers_plain_words() -> None:
    text = advice("confused_listening", "Your RMA is ready.", "jargon_to_confused")
    assert "the return number" in text


def test_calm_or_clear_customers_get_no_feeling_or_jargon_findings() -> None:
    assert review("calm_listening", "What's the order number? Our backend shows two SKUs.") == ()


# -- records nothing; bad input -----------------------------------------------------------------


def test_review_records_nothing() -> None:
    desk = new_desk()
    cid = upset_listening(desk)
    before = (to_dict(desk.get(cid)), [to_dict(e) for e in desk.history(cid)])
    assert desk.review(cid, "I'll refund $500 now.")
    assert (to_dict(desk.get(cid)), [to_dict(e) for e in desk.history(cid)]) == before


@pytest.mark.parametrize("draft", [None, 5, b"I'm sorry", ["I'm sorry"]])
def test_a_draft_that_is_not_a_str_is_a_type_error_naming_it(draft: object) -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    with pytest.raises(TypeError, match=r"review\(draft\) must be a str"):
        desk.review(cid, draft)  # type: ignore[arg-type]


@pytest.mark.parametrize("draft", ["", "   ", "\u200b", "bad \x00 byte", "\ud800"])
def test_an_empty_or_unstorable_draft_is_a_validation_error(draft: str) -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    with pytest.raises(ValidationError, match=r"review\(draft\)"):
        desk.review(cid, draft)


def test_by_must_be_an_agent() -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    with pytest.raises(WrongType, match=r"review\(by\)"):
        desk.review(cid, "Thanks!", by="sam")  # type: ignore[arg-type]


def test_the_desk_checks_its_reviewer() -> None:
    with pytest.raises(TypeError, match="reviewer"):
        new_desk(reviewer=ApologyPolicy())


@pytest.mark.parametrize(
    "options",
    [
        {"jargon": ["SKU"]},
        {"jargon": {"": "x"}},
        {"acknowledgements": ("(unclosed",)},
        {"fixes": "just one string"},
        {"rates": {"EUR": 1.1}},
        {"rates": {"XXY": Decimal(1)}},
        {"rates": {"EUR": Decimal(0)}},
        {"price_facts": "monthly_price"},
        {"unpriced_approver": Role.SECURITY},
        {"languages": "en"},
        {"languages": {""}},
    ],
)
def test_bad_configuration_is_refused(options: dict[str, object]) -> None:
    with pytest.raises((ConfigError, ValueError)):
        DraftReview(**options)  # type: ignore[arg-type]


# -- integrators subclass it --------------------------------------------------------------------


@attrs.define(kw_only=True)
class HouseReview(DraftReview):
    """A house style: no exclamation marks, and no jargon check at all."""

    def checks(self) -> tuple[Callable[[AgentDraft], list[Finding]], ...]:
        kept = tuple(check for check in super().checks() if check != self.find_jargon)
        return (*kept, self.find_exclamations)

    def find_exclamations(self, draft: AgentDraft) -> list[Finding]:
        return [
            self.finding(
                "exclamation", "Keep a calm tone: no exclamation marks.", draft, (i, i + 1)
            )
            for i, char in enumerate(draft.text)
            if char == "!"
        ]


def test_a_subclass_adds_and_drops_checks() -> None:
    findings = review("confused_listening", "Your RMA is ready!", reviewer=HouseReview())
    assert [f.code for f in findings] == ["exclamation"]


def test_a_subclass_overrides_one_rule() -> None:
    @attrs.define(kw_only=True)
    class TrustingReview(DraftReview):
        def may_promise_unpriced(self, role: Role) -> bool:
            return True

    desk = new_desk(reviewer=TrustingReview())
    cid = opened(desk, Issue(category="damaged_item", severity="medium", summary="Cracked jug"))
    desk.hear(cid, "My jug arrived cracked.")
    desk.summarize(cid, "Your jug arrived cracked?")
    desk.confirm(cid)
    assert desk.review(cid, "I can offer you a full refund.") == ()  # no order value


def test_own_jargon_replaces_the_list() -> None:
    reviewer = DraftReview(jargon={"MRR": "your monthly bill"})
    findings = review("confused_listening", "Your MRR and your SKU changed.", reviewer=reviewer)
    assert [f.excerpt for f in findings] == ["MRR"]


def test_the_policy_runs_without_a_desk() -> None:
    desk = new_desk()
    cid = calm_resolving(desk)
    conversation = desk.get(cid)
    findings = DraftReview().review("I'll refund $80.", conversation)
    assert [f.code for f in findings] == ["promise_above_authority"]
    assert DraftReview().review("I'll refund $80.", conversation, agent=SENIOR) == ()


def test_the_policy_names_a_bad_draft() -> None:
    desk = new_desk()
    conversation = desk.get(calm_resolving(desk))
    with pytest.raises(WrongType, match=r"DraftReview.review\(text\) must be a str"):
        DraftReview().review(None, conversation)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"DraftReview.review\(text\) must not be blank"):
        DraftReview().review("  ", conversation)


def test_a_promise_record_checks_its_span() -> None:
    with pytest.raises(ValidationError):
        DraftPromise(kind=OfferKind.CREDIT, offer=None, span=(5, 2), excerpt="")
