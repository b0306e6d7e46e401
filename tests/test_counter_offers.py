"""Unreasonable demands as a support lead would try them: the counter-offer says what the agent
can do and why the rest is not possible, in the customer's words (never "policy" or "system"),
and the agent is told to ask what substitute would be acceptable; demands that are not money
("a free year of service", "an upgrade to business class", "a new phone") are offers too, and
the authority matrix decides who may grant them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    ApologyPolicy,
    ApprovalRequired,
    AuthorityMatrix,
    CompensationPolicy,
    CompensationRule,
    Conversation,
    Customer,
    Issue,
    Money,
    Offer,
    OfferKind,
    Reason,
    Role,
    RoleAuthority,
    ServiceDesk,
)
from serviceplaybook.testing import FakeClock
from serviceplaybook.testing.compensation_contract import grant_at, make_conversation

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = CompensationPolicy()
AGENT = Agent(id="agent-1", role=Role.AGENT)
FREE_YEAR = Offer(kind=OfferKind.FREE_SERVICE, description="a free year of service")
BUSINESS = Offer(kind=OfferKind.UPGRADE, description="an upgrade to business class")
NEW_PHONE = Offer(kind=OfferKind.REPLACEMENT, description="a new phone")
# Words a customer must never read as the reason: they are excuses, not reasons.
EXCUSE_WORDS = re.compile(r"\b(?:polic(?:y|ies)|system|rules?|allowed|permitted)\b", re.I)


def usd(amount: int | str) -> Money:
    return Money(amount, "USD")


# -- the customer's words --------------------------------------------------------------------


class DeliveryPolicy(CompensationPolicy):
    """A shop's own rule and reason, in its customers' words: a late parcel that arrived gets
    its delivery fee back, not a share of the order, because the order itself was delivered."""

    def best_within(
        self, requested: Offer, role: Role, granted: Money, conversation: Conversation
    ) -> tuple[Offer | None, list[Reason]]:
        if conversation.issue.category == "late_delivery" and requested.kind in {
            OfferKind.REFUND,
            OfferKind.PARTIAL_REFUND,
        }:
            return None, []  # the delivery-fee rule says what a late parcel gets
        return super().best_within(requested, role, granted, conversation)

    def why_not(
        self,
        requested: Offer,
        reasons: Sequence[Reason],
        conversation: Conversation | None,
        escalate_to: Role | None,
    ) -> str:
        if (
            conversation is not None
            and conversation.issue.category == "late_delivery"
            and requested.kind is OfferKind.REFUND
            and requested.value == conversation.issue.order_value
        ):
            return (
                f"A refund of the whole {requested.value} order isn't something I can do for a "
                f"late parcel that has now arrived, because the order itself was delivered."
            )
        return super().why_not(requested, reasons, conversation, escalate_to)


def test_a_late_parcel_gets_the_delivery_fee_and_the_reason_in_the_customers_words() -> None:
    fee = CompensationRule(
        kind=OfferKind.PARTIAL_REFUND,
        description="a refund of the 40.00 USD delivery fee",
        categories={"late_delivery"},
        amount=usd(40),
    )
    policy = DeliveryPolicy(rules=(fee,))
    parcel = make_conversation(category="late_delivery", severity="medium", order_value=usd(900))
    whole = Offer(kind=OfferKind.REFUND, value=usd(900))
    counter = policy.counter_offer(whole, parcel, now=NOW)
    assert counter.explanation == (
        "I can offer you a refund of the 40.00 USD delivery fee today. A refund of the whole "
        "900.00 USD order isn't something I can do for a late parcel that has now arrived, "
        "because the order itself was delivered. If that doesn't feel like enough, I can ask a "
        "manager to look at your full request and come back to you."
    )
    assert [g.code for g in counter.guidance] == ["ask_for_substitute"]


def test_a_refund_above_the_order_says_the_order_is_the_limit() -> None:
    order = make_conversation(category="damaged_item", severity="high", order_value=usd(120))
    senior = Agent(id="s", role=Role.SENIOR_AGENT)
    counter = POLICY.counter_offer(Offer(kind="refund", value=usd(300)), order, agent=senior)
    assert counter.offer is not None
    assert counter.offer.value == usd(120)
    assert (
        "A refund of 300.00 USD isn't something I can do, because a refund can't be more than "
        "the order itself cost (120.00 USD)."
    ) in counter.explanation


def test_an_amount_above_the_agents_authority_names_who_can_review_it() -> None:
    counter = POLICY.counter_offer(Offer(kind="credit", value=usd(120)), make_conversation())
    assert "A credit of 120.00 USD is more than I can agree to on my own." in counter.explanation
    assert counter.escalate_to is Role.SENIOR_AGENT
    assert counter.explanation.endswith(
        "I can ask a senior agent to look at your full request and come back to you."
    )


def test_a_demand_beyond_anyone_says_so_without_an_escalation() -> None:
    counter = POLICY.counter_offer(Offer(kind="credit", value=usd(9000)), make_conversation())
    assert counter.escalate_to is None
    assert (
        "A credit of 9000.00 USD isn't something we can offer, because it's more than we can "
        "give back for any one problem."
    ) in counter.explanation


def test_a_repeat_claimant_hears_why_a_supervisor_looks_at_it() -> None:
    claims = [grant_at(usd(5), NOW - timedelta(days=day), day) for day in (1, 2, 3)]
    counter = POLICY.counter_offer(
        Offer(kind="credit", value=usd(20)), make_conversation(), history=claims, now=NOW
    )
    assert (
        "we've already put things right for you several times in the last 30 days, and a "
        "supervisor looks at anything further."
    ) in counter.explanation


def test_a_request_within_authority_is_simply_agreed() -> None:
    counter = POLICY.counter_offer(NEW_PHONE, make_conversation(category="damaged_item"))
    assert counter.meets_request
    assert counter.explanation == "I can arrange a new phone for you right away."
    assert counter.guidance == ()


roles = st.sampled_from([r for r in Role if r.on_ladder])
demands = st.one_of(
    st.builds(
        Offer,
        kind=st.sampled_from(
            [OfferKind.REFUND, OfferKind.PARTIAL_REFUND, OfferKind.CREDIT, OfferKind.DISCOUNT]
        ),
        value=st.integers(1, 10**7).map(lambda cents: Money.from_minor_units(cents, "USD")),
    ),
    st.builds(
        Offer,
        kind=st.sampled_from([OfferKind.FREE_SERVICE, OfferKind.UPGRADE, OfferKind.OTHER]),
        description=st.sampled_from(
            ["a free year of service", "an upgrade to business class", "a call from the CEO"]
        ),
        value=st.none() | st.integers(1, 10**6).map(lambda n: Money(n, "USD")),
    ),
)


@given(
    role=roles,
    demand=demands,
    category=st.sampled_from(["billing", "late_delivery", "damaged_item", "outage"]),
    severity=st.sampled_from(["low", "medium", "high", "critical"]),
    order=st.none() | st.integers(1, 5000).map(usd),
    claims=st.integers(0, 4),
)
def test_every_explanation_is_a_reason_not_an_excuse(
    role: Role,
    demand: Offer,
    category: str,
    severity: str,
    order: Money | None,
    claims: int,
) -> None:
    me = Agent(id="me", role=role)
    conversation = make_conversation(
        agent=me, category=category, severity=severity, order_value=order
    )
    history = [grant_at(usd(5), NOW - timedelta(days=d + 1), d + 1) for d in range(claims)]
    counter = POLICY.counter_offer(demand, conversation, history=history, now=NOW)
    text = counter.explanation
    assert text
    assert not EXCUSE_WORDS.search(text), text
    findings = ApologyPolicy().review(text, conversation)
    assert not [f for f in findings if f.code in {"excuse", "blame_shifting"}], findings
    if counter.meets_request:
        assert counter.guidance == ()
    else:
        assert "ask_for_substitute" in [g.code for g in counter.guidance]
        # what the customer asked for is named, and so is what can be done instead
        assert demand.description[1:] in text or str(demand.value) in text
        if counter.offer is not None:
            assert counter.offer.description in text or str(counter.offer.value) in text


# -- demands that are not money ----------------------------------------------------------------


def test_a_free_year_of_service_is_a_supervisors_decision() -> None:
    outage = make_conversation(category="outage", severity="high")
    counter = POLICY.counter_offer(FREE_YEAR, outage)
    assert counter.escalate_to is Role.SUPERVISOR
    assert (
        "A free year of service isn't something I can arrange myself; that's a decision for a "
        "supervisor."
    ) in counter.explanation
    supervisor = Agent(id="sue", role=Role.SUPERVISOR)
    assert POLICY.counter_offer(FREE_YEAR, outage, agent=supervisor).meets_request
    assert POLICY.authorize(FREE_YEAR, supervisor).granted
    assert POLICY.authorize(BUSINESS, AGENT).approver_role is Role.SUPERVISOR


def test_anything_else_is_a_managers_decision_and_its_worth_counts() -> None:
    ceo = Offer(kind=OfferKind.OTHER, description="a personal call from the CEO")
    assert POLICY.authorize(ceo, Agent(id="sue", role=Role.SUPERVISOR)).approver_role is (
        Role.MANAGER
    )
    worth = Offer(kind=OfferKind.UPGRADE, description="business class", value=usd(900))
    # a supervisor may upgrade, but not one worth more than their single limit (500)
    assert POLICY.authorize(worth, Agent(id="sue", role=Role.SUPERVISOR)).approver_role is (
        Role.MANAGER
    )


def test_a_matrix_grants_the_new_kinds_only_where_it_lists_them() -> None:
    assert OfferKind.FREE_SERVICE not in RoleAuthority(single=usd(10), window_total=usd(10)).kinds
    generous = AuthorityMatrix(
        currency="USD",
        roles={
            Role.AGENT: RoleAuthority(
                single=usd(50),
                window_total=usd(150),
                kinds={OfferKind.CREDIT, OfferKind.FREE_SERVICE},
            )
        },
    )
    policy = CompensationPolicy(authority=generous, rules=())
    assert policy.authorize(FREE_YEAR, AGENT).granted
    assert policy.authorize(BUSINESS, AGENT).denied


def test_free_service_and_upgrades_count_as_claims() -> None:
    assert POLICY.counts_as_claim(FREE_YEAR)
    assert POLICY.counts_as_claim(BUSINESS)
    assert not POLICY.counts_as_claim(Offer(kind="goodwill", description="a note"))


def test_the_desk_takes_a_free_year_for_approval() -> None:
    desk = ServiceDesk.in_memory(clock=FakeClock())
    cid = desk.open(
        customer=Customer(id="c1"),
        issue=Issue(category="outage", severity="high", summary="The service was down all day"),
        agent=AGENT,
    ).id
    desk.hear(cid, "Your service was down all day and I lost a day of sales.")
    desk.summarize(cid, "Your service was down all day and you lost a day of sales.")
    desk.confirm(cid)
    counter = desk.counter_offer(cid, FREE_YEAR)
    assert [g.code for g in counter.guidance] == ["ask_for_substitute"]
    with pytest.raises(ApprovalRequired) as raised:
        desk.propose(cid, FREE_YEAR)
    assert raised.value.approver_role is Role.SUPERVISOR


# -- guidance when the customer asks for more ------------------------------------------------


def _asking(text: str, **changes: object) -> Conversation:
    return make_conversation(
        category="late_delivery", severity="medium", order_value=usd(900), said=text, **changes
    )


@pytest.mark.parametrize(
    "text",
    [
        "I want compensation: $900.",
        "Refund 1,200.50 USD now",
        "I want a full refund of the whole order",
        "Give me 500 dollars",
    ],
)
def test_a_demand_above_authority_brings_ask_for_substitute(text: str) -> None:
    conversation = _asking(text)
    assert POLICY.asks_beyond(conversation)


@pytest.mark.parametrize(
    "text", ["I want compensation: $20.", "Could I get something for the trouble?", "€900 please"]
)
def test_a_modest_demand_does_not(text: str) -> None:
    assert not POLICY.asks_beyond(_asking(text))


def test_asking_again_after_declining_an_offer_is_beyond_it() -> None:
    conversation = _asking("That's not enough.", declined=(Offer(kind="credit", value=usd(10)),))
    assert POLICY.asks_beyond(conversation)


def test_the_desk_guides_the_agent_to_ask_for_a_substitute() -> None:
    desk = ServiceDesk.in_memory(clock=FakeClock())
    cid = desk.open(
        customer=Customer(id="c1"),
        issue=Issue(
            category="late_delivery",
            severity="medium",
            summary="Parcel arrived a week late",
            order_value=usd(900),
        ),
        agent=AGENT,
    ).id
    modest = desk.hear(cid, "My parcel came a week late. I want compensation.")
    codes = [g.code for g in modest.guidance]
    assert "compensation_requested" in codes
    assert "ask_for_substitute" not in codes
    outcome = desk.hear(cid, "I want a full refund of the whole order, $900.")
    assert "ask_for_substitute" in [g.code for g in outcome.guidance]


def test_amounts_are_read_only_in_the_matrix_currency() -> None:
    euro = CompensationPolicy(authority=AuthorityMatrix.standard("EUR"))
    assert euro.amounts_in("€45,50 or 120 EUR, not $300 or 300 USD") == [
        Money(Decimal("45.50"), "EUR"),
        Money(120, "EUR"),
    ]
    assert euro.amounts_in("for 100 of them") == []
