"""Properties of DraftReview's promise check, over many drafts.

``review`` finds ``promise_above_authority`` in any draft that promises an amount above the
sender's authority, whatever the amount, its currency and how it is written, the words that
commit to it and the sentences around it; never in one whose promise is within it; and it
counts the customer's past grants (the window total, repeat claims) as the limits say.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    AgentDraft,
    AuthorityMatrix,
    CompensationPolicy,
    Conversation,
    Customer,
    DraftReview,
    Grant,
    Issue,
    Money,
    Offer,
    OfferKind,
    Role,
    ServiceDesk,
    ValidationError,
)
from serviceplaybook._records.validate import blank, text_problem
from serviceplaybook.testing import FakeClock

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RATES = {"EUR": Decimal("1.10")}
REVIEW = DraftReview(rates=RATES)
COMPENSATION = CompensationPolicy()
MATRIX = AuthorityMatrix.standard("USD")


def confirmed_conversation() -> Conversation:
    desk = ServiceDesk.in_memory(clock=FakeClock(NOW))
    cid = desk.open(
        customer=Customer(id="ann"),
        issue=Issue(
            category="damaged_item",
            severity="medium",
            summary="The blender arrived with a cracked jug",
            order_value=Money("120.00", "USD"),
        ),
        agent=Agent(id="sam"),
    ).id
    desk.hear(cid, "My blender arrived with a cracked jug.")
    desk.summarize(cid, "The jug of your blender arrived cracked?")
    desk.confirm(cid)
    return desk.get(cid)


CONVERSATION = confirmed_conversation()

# How an amount may be written, by currency: (before, after) the number.
WRITTEN: dict[str, list[tuple[str, str]]] = {
    "USD": [("$", ""), ("US$", ""), ("USD ", ""), ("", " USD"), ("", " dollars"), ("", " bucks")],
    "EUR": [("\u20ac", ""), ("EUR ", ""), ("", " EUR"), ("", "\u20ac"), ("", " euros")],
    "GBP": [("\u00a3", ""), ("GBP ", ""), ("", " pounds")],
}
COMMITMENTS = [
    "I can offer you {m}{k}.",
    "I'll give you {m}{k}.",
    "I\u2019ll add {m}{k} today.",
    "How about {m}{k}?",
    "You'll get {m}{k} by Friday.",
    "Let me refund {m}.",
    "We can do {m}{k}.",
    "I'm happy to send {m}{k}.",
    "Here's {m}{k} for the trouble.",
    "Would {m}{k} help?",
    "I've just issued {m}{k}.",
    "What I can do is put {m}{k} on your account.",
]
KINDS = ["", " credit", " back", " off your next order", " refund", " in store credit"]
SENTENCES = [
    "Thanks for bearing with me.",
    "I'm sorry the jug of your blender arrived cracked.",
    "I can't change the delivery date, but I can help with the jug.",
    "Your order number is 4411 and it cost $120.",
    "The replacement ships today.",
    "Is there anything else?",
    "Let me know what works for you.",
]
free_sentences = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789,'"),
    min_size=1,
    max_size=40,
).map(lambda text: text.strip(" ,") + ".")
around = st.lists(st.one_of(st.sampled_from(SENTENCES), free_sentences), max_size=3).map(" ".join)


def written(amount: Decimal) -> st.SearchStrategy[str]:
    """The number as a person writes it: with or without thousands separators and cents."""
    plain = f"{amount:.2f}"
    forms = [plain, f"{amount:,.2f}"]
    if amount == amount.to_integral_value():
        forms += [f"{amount:.0f}", f"{amount:,.0f}"]
    return st.sampled_from(forms)


@st.composite
def promises(draw: st.DrawFn, *, above: bool) -> tuple[str, Role, int, int]:
    """A draft with one promise, the sender's role, and where the amount is in the draft."""
    role = draw(st.sampled_from([Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR]))
    limit = MATRIX.authority(role).single.amount
    currency = draw(st.sampled_from(sorted(WRITTEN)))
    rate = RATES.get(currency, Decimal(1))
    if above:
        if currency == "GBP":  # no rate: no amount can be checked, so every one is above
            cents = draw(st.integers(1, 10**9))
        else:
            least = int((limit / rate) * 100) + 1
            cents = draw(st.integers(least, 10**9))
    else:
        currency = "USD"
        cents = draw(st.integers(1, int(limit * 100)))
    amount = Decimal(cents) / 100
    before, after = draw(st.sampled_from(WRITTEN[currency]))
    number = draw(written(amount))
    money = f"{before}{number}{after}"
    template = draw(st.sampled_from(COMMITMENTS))
    kind = draw(st.sampled_from(KINDS))
    sentence = template.format(m=money, k=kind)
    prefix = draw(around)
    prefix = f"{prefix} " if prefix else ""
    suffix = draw(around)
    draft = f"{prefix}{sentence} {suffix}".rstrip()
    start = len(prefix) + sentence.index(money)
    return draft, role, start, start + len(money)


@given(promises(above=True))
def test_a_promise_above_authority_is_always_found(case: tuple[str, Role, int, int]) -> None:
    draft, role, start, end = case
    findings = REVIEW.review(
        draft, CONVERSATION, agent=Agent(id="x", role=role), compensation=COMPENSATION
    )
    above = [f for f in findings if f.code == "promise_above_authority"]
    assert any(f.span[0] < end and start < f.span[1] for f in above), (draft, findings)


@given(promises(above=False))
def test_a_promise_within_authority_is_never_flagged(case: tuple[str, Role, int, int]) -> None:
    draft, role, _, _ = case
    findings = REVIEW.review(
        draft, CONVERSATION, agent=Agent(id="x", role=role), compensation=COMPENSATION
    )
    assert [f for f in findings if f.code == "promise_above_authority"] == [], draft


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[list[Grant], Decimal, Role]:
    """Past grants to the customer within the window, a promised amount, the sender's role."""
    role = draw(st.sampled_from([Role.AGENT, Role.SENIOR_AGENT]))
    amounts = draw(st.lists(st.integers(1, 60), max_size=4))
    grants = [
        Grant(
            key=f"g{index}",
            customer_id="ann",
            conversation_id=f"old-{index}",
            offer=Offer(kind=OfferKind.CREDIT, value=Money(amount, "USD")),
            granted_by="sam",
            at=NOW - timedelta(days=index + 1),
        )
        for index, amount in enumerate(amounts)
    ]
    promised = Decimal(draw(st.integers(1, 20_000))) / 100
    return grants, promised, role


@given(ledgers())
def test_the_customers_grants_count_as_the_compensation_policy_counts_them(
    case: tuple[list[Grant], Decimal, Role],
) -> None:
    grants, promised, role = case
    authority = MATRIX.authority(role)
    granted = sum((grant.offer.value.amount for grant in grants if grant.offer.value), Decimal(0))
    room = min(authority.single.amount, authority.window_total.amount - granted)
    repeat_claims = len(grants) >= COMPENSATION.max_claims
    expected = promised > room or repeat_claims
    findings = REVIEW.review(
        f"I'll add a ${promised:.2f} credit to your account.",
        CONVERSATION,
        agent=Agent(id="x", role=role),
        compensation=COMPENSATION,
        history=grants,
        now=NOW,
    )
    assert any(f.code == "promise_above_authority" for f in findings) is expected


FRAGMENTS = [
    "I'll", "I can", "I can't", "how about", "would", "here's", "let me", "refund", "give you",
    "a full refund", "a free month", "two years free", "a replacement", "express shipping",
    "$", "US$", "\u20ac", "\u00a3", "USD", "EUR", "dollars", "euros", "0", "1", "5", "50",
    "120.99", "1,000", "99999999999999", ".", ",", ";", "!", "?", "\n", " but ", " and ",
    "the", "charge", "paid", "credit", "off", "back", "sorry", "that sounds", "SKU", "API",
    "please try restarting", "\u2019", "once you confirm",
]  # fmt: skip


@given(
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), min_size=1, max_size=25),
    st.sampled_from([Role.BOT, Role.AGENT, Role.SUPERVISOR]),
)
def test_any_text_gets_findings_that_point_into_it(parts: list[str], role: Role) -> None:
    draft = " ".join(parts)
    assume(text_problem(draft) is None and not blank(draft))  # refused: tests/test_review.py
    for finding in REVIEW.review(
        draft, CONVERSATION, agent=Agent(id="x", role=role), compensation=COMPENSATION
    ):
        start, end = finding.span
        assert 0 <= start <= end <= len(draft)
        assert draft[start:end] == finding.excerpt
        assert finding.text.strip()


DECLARED = [
    Offer(kind=OfferKind.GOODWILL, description="x", id="declared"),
    Offer(kind=OfferKind.CREDIT, value=Money("1.00", "USD"), description="x", id="declared"),
]


@given(promises(above=True), st.sampled_from(DECLARED))
def test_an_offer_whose_words_promise_more_than_authority_is_never_granted(
    case: tuple[str, Role, int, int], declared: Offer
) -> None:
    """``propose`` judges an offer by its words as ``review`` judges a draft: whatever kind
    and value the caller declares, words promising an amount above the proposer's authority
    are not granted on their own (they need approval, or nobody may grant them)."""
    draft, role, start, end = case
    offer = Offer(
        kind=declared.kind, value=declared.value, description=draft[start:end], id="declared"
    )
    authorization = REVIEW.authorize_offer(
        offer, CONVERSATION, Agent(id="x", role=role), compensation=COMPENSATION
    )
    assert not authorization.granted, (offer.description, authorization)
    assert authorization.offer == offer


@given(promises(above=False))
def test_an_offer_whose_words_stay_within_authority_is_judged_by_its_terms(
    case: tuple[str, Role, int, int],
) -> None:
    draft, role, start, end = case
    offer = Offer(kind=OfferKind.GOODWILL, description=draft[start:end], id="declared")
    agent = Agent(id="x", role=role)
    assert REVIEW.authorize_offer(
        offer, CONVERSATION, agent, compensation=COMPENSATION
    ) == COMPENSATION.authorize(offer, agent)


DESCRIPTION_PIECES = st.sampled_from(
    [
        "$",
        "\u20ac",
        "\u00a3",
        "USD ",
        " dollars",
        " euros",
        "a free ",
        "year",
        " month",
        "full refund",
        "9" * 40,
        "0",
        "0.001",
        ",",
        ".",
        " ",
        "of service",
        "replacement",
        "express shipping",
        "-5",
        "two months free",
        "\u200b",
    ]
)


@given(
    st.lists(DESCRIPTION_PIECES | st.text(max_size=5), min_size=1, max_size=12).map("".join),
    st.sampled_from([Role.BOT, Role.AGENT, Role.SUPERVISOR]),
    st.sampled_from(list(OfferKind)),
)
def test_reading_an_offers_words_never_fails_a_valid_offer(
    description: str, role: Role, kind: OfferKind
) -> None:
    """Whatever an offer's description says (huge numbers, signs without amounts, invisible
    characters), reading it gives an authorization for that offer, never an error."""
    assume(not text_problem(description) and not blank(description))
    try:
        offer = Offer(kind=kind, description=description, id="o")
    except ValidationError:  # a refund, a credit...: a value is part of the offer
        offer = Offer(kind=kind, value=Money("5.00", "USD"), description=description, id="o")
    authorization = REVIEW.authorize_offer(
        offer, CONVERSATION, Agent(id="x", role=role), compensation=COMPENSATION
    )
    assert authorization.offer == offer


_UNIT_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TEN_WORDS = [
    "_",
    "_",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
]


def in_words(number: int, *, hyphen: str = "-", joiner: str = " and ") -> str:
    """An English rendering of 1..999,999, written independently of the reader under test."""

    def below_100(n: int) -> str:
        if n < 20:
            return _UNIT_WORDS[n]
        tens, units = divmod(n, 10)
        return _TEN_WORDS[tens] + (f"{hyphen}{_UNIT_WORDS[units]}" if units else "")

    def below_1000(n: int) -> str:
        hundreds, rest = divmod(n, 100)
        if not hundreds:
            return below_100(rest)
        head = f"{_UNIT_WORDS[hundreds]} hundred"
        return head + (f"{joiner}{below_100(rest)}" if rest else "")

    thousands, rest = divmod(number, 1000)
    if not thousands:
        return below_1000(rest)
    head = f"{below_1000(thousands)} thousand"
    return head + (f"{joiner if rest < 100 else ' '}{below_1000(rest)}" if rest else "")


@given(
    st.integers(1, 999_999),
    st.sampled_from(["-", " "]),
    st.sampled_from([" and ", " "]),
    st.sampled_from(["dollars", "bucks", "euros"]),
)
def test_an_amount_in_words_is_read_as_the_same_amount_in_figures(
    number: int, hyphen: str, joiner: str, word: str
) -> None:
    """ "I'll give you two hundred and fifty dollars back" promises what "$250" would."""
    text = f"I'll give you {in_words(number, hyphen=hyphen, joiner=joiner)} {word} back."
    draft = AgentDraft(text=text, conversation=CONVERSATION, agent=Agent(id="x"))
    [promise] = REVIEW.promises(draft)
    assert promise.stated == Money(number, "EUR" if word == "euros" else "USD"), text


@given(ledgers())
def test_reading_an_offers_words_counts_a_one_pass_history_like_a_list(
    case: tuple[list[Grant], Decimal, Role],
) -> None:
    """The customer's grants may come as any iterable (a generator over a ledger): every
    authorization ``authorize_offer`` asks for sees all of them."""
    grants, promised, role = case
    offer = Offer(kind=OfferKind.GOODWILL, description=f"a ${promised:.2f} credit", id="o")
    agent = Agent(id="x", role=role)

    def read(history: Any) -> Any:
        return REVIEW.authorize_offer(
            offer, CONVERSATION, agent, compensation=COMPENSATION, history=history, now=NOW
        )

    assert read(iter(grants)) == read(grants)
