"""CompensationPolicy, AuthorityMatrix and approvals: examples, properties, the ledger's
idempotency under concurrency, and the airline example."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    Approval,
    AuthorityMatrix,
    AuthorizationStatus,
    CompensationLedger,
    CompensationPolicy,
    CompensationRule,
    ConfigError,
    Conversation,
    CounterOffer,
    CurrencyMismatch,
    Grant,
    InMemoryStorage,
    Money,
    Offer,
    OfferKind,
    Role,
    RoleAuthority,
    ServiceDesk,
    Severity,
    SQLiteStorage,
    ValidationError,
)
from serviceplaybook._serialization import from_dict, to_dict
from serviceplaybook.testing.compensation_contract import NOW, grant_at, make_conversation
from strategies import identifiers, small_text

LADDER = (Role.BOT, Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR, Role.MANAGER)
POLICY = CompensationPolicy()
MATRIX = POLICY.authority
USD = "USD"
ROOT = Path(__file__).resolve().parent.parent


def usd(amount: str | int) -> Money:
    return Money(amount, USD)


def credit(amount: str | int, **kwargs: str) -> Offer:
    return Offer(kind=OfferKind.CREDIT, value=usd(amount), **kwargs)


def agent(role: Role, ident: str | None = None) -> Agent:
    return Agent(id=ident or f"{role.value}-1", role=role)


# -- strategies --------------------------------------------------------------------------------

cents = st.integers(1, 700_000)
roles = st.sampled_from(LADDER)
MONETARY = [OfferKind.CREDIT, OfferKind.PARTIAL_REFUND, OfferKind.DISCOUNT, OfferKind.REFUND]
monetary_kinds = st.sampled_from(MONETARY)


@st.composite
def histories(draw: st.DrawFn, customer: str = "cust-1") -> list[Grant]:
    """Past grants over the last 60 days, some in the window and some out of it."""
    grants = []
    for number in range(draw(st.integers(0, 5))):
        minutes = draw(st.integers(0, 60 * 24 * 60))
        grants.append(
            Grant(
                key=f"g-{number}",
                customer_id=customer,
                conversation_id=f"c-{number}",
                offer=Offer(
                    kind=draw(monetary_kinds),
                    value=Money.from_minor_units(draw(st.integers(1, 60_000)), USD),
                ),
                granted_by="someone",
                at=NOW - timedelta(minutes=minutes),
            )
        )
    return grants


def window_total(grants: list[Grant], at: datetime, window: timedelta = MATRIX.window) -> Money:
    return sum(
        (g.offer.value for g in grants if g.offer.value and at - window < g.at <= at),
        usd(0),
    )


# -- the authority matrix ----------------------------------------------------------------------


def test_standard_matrix_limits() -> None:
    assert MATRIX.authority(Role.AGENT) == RoleAuthority(single=usd(50), window_total=usd(150))
    assert MATRIX.authority(Role.MANAGER).window_total == usd(5000)
    assert MATRIX.authority(Role.BOT).kinds == {OfferKind.EXPEDITED_SHIPPING, OfferKind.GOODWILL}
    assert MATRIX.authority(Role.SECURITY) == RoleAuthority.none(USD)
    assert MATRIX.window == timedelta(days=30)
    assert MATRIX.top_window_total == usd(5000)


def test_an_unlisted_role_inherits_from_the_nearest_below() -> None:
    matrix = AuthorityMatrix(
        currency=USD,
        roles={
            Role.AGENT: RoleAuthority(single=usd(20), window_total=usd(40)),
            Role.SUPERVISOR: RoleAuthority(single=usd(200), window_total=usd(400)),
        },
    )
    assert matrix.authority(Role.BOT) == RoleAuthority.none(USD)
    assert matrix.authority(Role.SENIOR_AGENT).single == usd(20)
    assert matrix.authority(Role.MANAGER).single == usd(200)
    assert matrix.lowest_covering(credit(100)) is Role.SUPERVISOR
    assert matrix.lowest_covering(credit(201)) is None


BASE = RoleAuthority(single=usd(50), window_total=usd(150))


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        (BASE, RoleAuthority(single=usd(40), window_total=usd(150))),
        (BASE, RoleAuthority(single=usd(50), window_total=usd(100))),
        (BASE, RoleAuthority(single=usd(90), window_total=usd(200), kinds={OfferKind.CREDIT})),
    ],
    ids=["single", "window", "kinds"],
)
def test_a_higher_role_with_less_authority_is_a_config_error(
    lower: RoleAuthority, higher: RoleAuthority
) -> None:
    with pytest.raises(ConfigError, match="supervisor less authority than senior agent"):
        AuthorityMatrix(currency=USD, roles={Role.SENIOR_AGENT: lower, Role.SUPERVISOR: higher})


def test_inconsistent_role_authority_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="above window_total"):
        RoleAuthority(single=usd(100), window_total=usd(50))
    with pytest.raises(ConfigError, match="zero or more"):
        RoleAuthority(single=usd(-1), window_total=usd(50))
    with pytest.raises(ConfigError, match="positive timedelta"):
        AuthorityMatrix.standard(window=timedelta(0))


def test_limits_in_another_currency_are_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        AuthorityMatrix(
            currency="EUR",
            roles={Role.AGENT: RoleAuthority(single=usd(1), window_total=usd(1))},
        )
    with pytest.raises(CurrencyMismatch):
        RoleAuthority(single=usd(1), window_total=Money(1, "EUR"))


@settings(max_examples=60)
@given(
    currency=st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLF"]),
    singles=st.lists(st.integers(1, 10**7), min_size=4, max_size=4, unique=True).map(sorted),
    role=st.sampled_from(LADDER[1:]),
)
def test_the_boundary_is_inclusive_in_every_currency(
    currency: str, singles: list[int], role: Role
) -> None:
    roles = {
        ladder_role: RoleAuthority(
            single=Money.from_minor_units(single, currency),
            window_total=Money.from_minor_units(single * 3, currency),
        )
        for ladder_role, single in zip(LADDER[1:], singles, strict=True)
    }
    policy = CompensationPolicy(authority=AuthorityMatrix(currency=currency, roles=roles))
    limit = roles[role].single
    minor = Money.from_minor_units(1, currency)
    at_limit = policy.authorize(Offer(kind="credit", value=limit), agent(role), now=NOW)
    assert at_limit.status is AuthorizationStatus.GRANTED
    above = policy.authorize(Offer(kind="credit", value=limit + minor), agent(role), now=NOW)
    assert above.status is (
        AuthorizationStatus.DENIED if role is Role.MANAGER else AuthorizationStatus.NEEDS_APPROVAL
    )
    assert above.approver_role is (None if role is Role.MANAGER else LADDER[LADDER.index(role) + 1])


# -- authorize ---------------------------------------------------------------------------------


def test_authorize_examples() -> None:
    sam = agent(Role.AGENT, "sam")
    assert POLICY.authorize(credit(50), sam, now=NOW).granted
    decision = POLICY.authorize(credit("50.01"), sam, now=NOW)
    assert decision.needs_approval
    assert decision.approver_role is Role.SENIOR_AGENT
    assert [r.code for r in decision.reasons] == ["above_single_limit", "above_authority"]
    assert decision.remaining == usd(50)
    denied = POLICY.authorize(credit(9000), sam, now=NOW)
    assert denied.denied
    assert denied.reasons[0].text.startswith("No role may grant this offer")
    bot = POLICY.authorize(credit(1), agent(Role.BOT), now=NOW)
    assert bot.needs_approval
    assert bot.reasons[0].code == "kind_not_allowed"
    goodwill = Offer(kind=OfferKind.GOODWILL, description="a note")
    assert POLICY.authorize(goodwill, agent(Role.BOT), now=NOW).granted


def test_the_window_counts_recent_grants_only() -> None:
    sam = agent(Role.AGENT)
    recent = [grant_at(usd(60), NOW - timedelta(days=2), 1), grant_at(usd(40), NOW, 2)]
    decision = POLICY.authorize(credit(50), sam, recent, now=NOW)
    assert decision.granted  # 60 + 40 + 50 = 150, the agent's window total: inclusive
    assert decision.granted_in_window == usd(100)
    decision = POLICY.authorize(credit("50.01"), sam, recent, now=NOW)
    assert decision.needs_approval
    more = [*recent, grant_at(usd(1), NOW - timedelta(days=29, hours=23), 3)]
    over = CompensationPolicy(max_claims=10).authorize(credit(50), sam, more, now=NOW)
    assert over.needs_approval
    assert over.reasons[0].code == "above_window_limit"
    # a grant exactly one window old has left it
    old = [*recent, grant_at(usd(1), NOW - timedelta(days=30), 3)]
    assert POLICY.authorize(credit(50), sam, old, now=NOW).granted


def test_without_now_or_with_bare_offers_everything_counts() -> None:
    sam = agent(Role.AGENT)
    ancient = [grant_at(usd(140), NOW - timedelta(days=400), 1)]
    assert POLICY.authorize(credit(20), sam, ancient, now=NOW).granted
    assert POLICY.authorize(credit(20), sam, ancient).needs_approval
    assert POLICY.authorize(credit(20), sam, [credit(140)], now=NOW).needs_approval
    with pytest.raises(ValidationError, match="timezone-aware"):
        POLICY.authorize(credit(20), sam, ancient, now=datetime(2026, 1, 1))


def test_currencies_never_mix_silently() -> None:
    sam = agent(Role.AGENT)
    with pytest.raises(CurrencyMismatch):
        POLICY.authorize(Offer(kind="credit", value=Money(10, "EUR")), sam, now=NOW)
    with pytest.raises(CurrencyMismatch):
        POLICY.authorize(credit(10), sam, [grant_at(Money(5, "EUR"), NOW, 1)], now=NOW)
    euro_order = make_conversation(order_value=Money(100, "EUR"))
    with pytest.raises(CurrencyMismatch):
        POLICY.recommend(euro_order)
    with pytest.raises(CurrencyMismatch):
        POLICY.counter_offer(Offer(kind="refund", value=Money(100, "EUR")), euro_order, now=NOW)


def test_repeat_claims_escalate_instead_of_granting() -> None:
    claims = [grant_at(usd(5), NOW - timedelta(days=day), day) for day in (1, 2, 3)]
    sam = agent(Role.AGENT)
    decision = POLICY.authorize(credit(5), sam, claims, now=NOW)
    assert decision.status is AuthorizationStatus.ESCALATE
    assert decision.escalate
    assert decision.approver_role is Role.SUPERVISOR
    assert decision.claims_in_window == 3
    assert decision.reasons[0].code == "repeat_claims"
    # one claim fewer, or the same claims long ago: granted
    assert POLICY.authorize(credit(5), sam, claims[:2], now=NOW).granted
    later = NOW + timedelta(days=31)
    assert POLICY.authorize(credit(5), sam, claims, now=later).granted
    # the reviewing role may grant; gestures that cost little are not claims
    assert POLICY.authorize(credit(5), agent(Role.SUPERVISOR), claims, now=NOW).granted
    note = Offer(kind=OfferKind.GOODWILL, description="a note")
    assert POLICY.authorize(note, sam, claims, now=NOW).granted
    replacement = Offer(kind=OfferKind.REPLACEMENT, description="a new one")
    assert POLICY.authorize(replacement, sam, claims, now=NOW).escalate
    strict = CompensationPolicy(max_claims=1, claim_review_role=Role.MANAGER)
    assert strict.authorize(credit(5), agent(Role.SUPERVISOR), claims[:1], now=NOW).escalate


@given(
    history=histories(),
    role=roles,
    amount=cents,
    kind=monetary_kinds,
    now_shift=st.integers(0, 60 * 24 * 10),
)
def test_no_granted_offer_exceeds_the_roles_single_or_window_limit(
    history: list[Grant], role: Role, amount: int, kind: OfferKind, now_shift: int
) -> None:
    now = NOW + timedelta(minutes=now_shift)
    offer = Offer(kind=kind, value=Money.from_minor_units(amount, USD))
    decision = POLICY.authorize(offer, agent(role), history, now=now)
    limits = MATRIX.authority(role)
    assert offer.value is not None
    if decision.granted:
        assert offer.value <= limits.single
        assert window_total(history, now) + offer.value <= limits.window_total
        assert kind in limits.kinds
    elif decision.needs_approval:
        assert decision.approver_role is not None
        assert decision.approver_role > role
        approver = MATRIX.authority(decision.approver_role)
        assert window_total(history, now) + offer.value <= approver.window_total
    assert decision.granted_in_window == window_total(history, now)


def _grant_if_allowed(
    policy: CompensationPolicy, grants: list[Grant], amount: int, at: datetime, number: int
) -> None:
    """Propose as an agent; above authority, the lowest covering role approves (as the desk
    would), and the grant is checked again at acceptance."""
    offer = Offer(kind=OfferKind.CREDIT, value=Money.from_minor_units(amount, USD))
    proposer = agent(Role.AGENT, "proposer")
    decision = policy.authorize(offer, proposer, grants, now=at)
    approval = None
    if decision.needs_approval or decision.escalate:
        assert decision.approver_role is not None
        approver = agent(decision.approver_role, "approver")
        approval = policy.request_approval(offer, proposer, decision, id=f"a{number}", now=at)
        if policy.can_approve(approver, approval, offer, grants, now=at) is not None:
            return
        approval = approval.approved(approver, at)
    elif not decision.granted:
        return
    final = policy.authorize_grant(offer, proposer.role, grants, approval=approval, now=at)
    if final.granted:
        grants.append(
            Grant(
                key=f"k{number}",
                customer_id="cust-1",
                conversation_id=f"c{number}",
                offer=offer,
                granted_by=proposer.id,
                approved_by=approval.approved_by if approval else None,
                at=at,
            )
        )


@given(
    claims=st.lists(
        st.tuples(st.integers(1, 300_000), st.integers(0, 60 * 24 * 50)), min_size=1, max_size=12
    ).flatmap(st.permutations),
)
def test_cumulative_grants_never_exceed_the_window_cap_whatever_the_order(
    claims: list[tuple[int, int]],
) -> None:
    policy = CompensationPolicy(max_claims=100)  # here the money cap is under test
    grants: list[Grant] = []
    # the claims arrive in the drawn order, each at a time no earlier than the previous one
    at = NOW
    for number, (amount, gap) in enumerate(claims):
        at += timedelta(minutes=gap)
        _grant_if_allowed(policy, grants, amount, at, number)
    cap = MATRIX.top_window_total
    for grant in grants:
        assert window_total(grants, grant.at) <= cap
        # and no single grant is above what the approving role may grant in one offer
        assert grant.offer.value is not None
        assert grant.offer.value <= MATRIX.authority(Role.MANAGER).single


# -- four eyes ---------------------------------------------------------------------------------


@given(role=roles, amount=cents, name=identifiers())
def test_nobody_approves_their_own_request(role: Role, amount: int, name: str) -> None:
    offer = Offer(kind=OfferKind.CREDIT, value=Money.from_minor_units(amount, USD))
    proposer = Agent(id=name, role=Role.AGENT)
    decision = POLICY.authorize(offer, proposer, now=NOW)
    approval = Approval(
        id="ap-1",
        offer_id=offer.id,
        requested_by=name,
        approver_role=decision.approver_role or Role.SENIOR_AGENT,
        requested_at=NOW,
        terms=offer,
    )
    reason = POLICY.can_approve(Agent(id=name, role=role), approval, offer, now=NOW)
    assert reason is not None
    assert reason.code == "self_approval"


@st.composite
def edits(draw: st.DrawFn, offer: Offer) -> Offer:
    field = draw(st.sampled_from(["value", "kind", "description", "id"]))
    if field == "value":
        assert offer.value is not None
        delta = Money.from_minor_units(draw(st.integers(1, 10_000)), USD)
        return attrs.evolve(offer, value=offer.value + delta)
    if field == "kind":
        kind = draw(st.sampled_from([k for k in MONETARY if k is not offer.kind]))
        return attrs.evolve(offer, kind=kind)
    if field == "description":
        return attrs.evolve(offer, description=offer.description + draw(small_text(min_size=1)))
    return attrs.evolve(offer, id=offer.id + "-2")


@given(amount=cents, kind=monetary_kinds, proposer_role=roles, data=st.data())
def test_an_edited_offer_is_never_treated_as_approved(
    amount: int, kind: OfferKind, proposer_role: Role, data: st.DataObject
) -> None:
    offer = Offer(kind=kind, value=Money.from_minor_units(amount, USD), id="offer-1")
    approval = Approval(
        id="ap-1",
        offer_id=offer.id,
        requested_by="proposer",
        approver_role=Role.MANAGER,
        requested_at=NOW,
        terms=offer,
    )
    approved = approval.approved(agent(Role.MANAGER, "boss"), NOW)
    assert approved.covers(offer)
    edited = data.draw(edits(offer))
    assert not approved.covers(edited)
    assert not approval.covers(offer)  # pending covers nothing
    reason = POLICY.can_approve(agent(Role.MANAGER, "boss"), approval, edited, now=NOW)
    assert reason is not None
    assert reason.code == "offer_changed"
    with_approval = POLICY.authorize_grant(edited, proposer_role, approval=approved, now=NOW)
    alone = POLICY.authorize_role(edited, proposer_role, now=NOW)
    assert with_approval == alone


def test_approval_examples() -> None:
    sam, sue, sid = (
        agent(Role.AGENT, "sam"),
        agent(Role.SUPERVISOR, "sue"),
        agent(Role.SENIOR_AGENT, "sid"),
    )
    offer = credit(300)
    decision = POLICY.authorize(offer, sam, now=NOW)
    assert decision.approver_role is Role.SUPERVISOR
    approval = POLICY.request_approval(offer, sam, decision, id="ap-1", now=NOW)
    assert approval.terms == offer
    assert approval.pending
    refusal = POLICY.can_approve(sid, approval, offer, now=NOW)
    assert refusal is not None
    assert refusal.code == "approver_lacks_authority"
    assert POLICY.can_approve(sue, approval, offer, now=NOW) is None
    # the approver's authority is checked against the customer's window too
    history = [grant_at(usd(1300), NOW - timedelta(days=1), 1)]
    refusal = POLICY.can_approve(sue, approval, offer, history, now=NOW)
    assert refusal is not None
    assert refusal.code == "approver_lacks_authority"
    given_ = approval.approved(sue, NOW)
    assert given_.approved_role is Role.SUPERVISOR
    assert given_.covers(offer)
    again = POLICY.can_approve(agent(Role.MANAGER), given_, offer, now=NOW)
    assert again is not None
    assert again.code == "already_approved"
    assert POLICY.authorize_grant(offer, Role.AGENT, approval=given_, now=NOW).granted
    assert POLICY.authorize_grant(offer, Role.AGENT, now=NOW).needs_approval
    legacy = attrs.evolve(given_, terms=None)
    assert not legacy.covers(offer)
    with pytest.raises(ValidationError, match="names no approver role"):
        POLICY.request_approval(credit(5), sam, POLICY.authorize(credit(5), sam), id="x", now=NOW)


def test_an_approval_with_its_terms_survives_serialization() -> None:
    sam, sue = agent(Role.AGENT, "sam"), agent(Role.SUPERVISOR, "sue")
    offer = credit(300)
    approval = POLICY.request_approval(
        offer, sam, POLICY.authorize(offer, sam), id="ap-1", now=NOW
    ).approved(sue, NOW)
    assert from_dict(to_dict(approval), Approval) == approval
    older = {k: v for k, v in to_dict(approval).items() if k not in {"terms", "approved_role"}}
    assert from_dict(older, Approval).terms is None
    decision = POLICY.authorize(offer, sam, [grant_at(usd(5), NOW, 1)], now=NOW)
    assert to_dict(decision)["granted_in_window"] == {"amount": "5.00", "currency": "USD"}


# -- recommend ---------------------------------------------------------------------------------


def test_recommend_from_the_standard_matrix() -> None:
    conversation = make_conversation(
        category="damaged_item", severity="high", tier="gold", order_value=usd(120)
    )
    offers = POLICY.recommend(conversation)
    assert [(o.kind, o.value) for o in offers] == [
        (OfferKind.PARTIAL_REFUND, usd(60)),
        (OfferKind.REPLACEMENT, None),
        (OfferKind.CREDIT, usd(25)),
        (OfferKind.DISCOUNT, usd(15)),
        (OfferKind.GOODWILL, None),
    ]
    low = make_conversation(category="billing", severity="low", tier="standard")
    assert POLICY.recommend(low) == []
    critical = make_conversation(
        category="Late_Delivery", severity="critical", tier="GOLD", order_value=usd(80)
    )
    assert [(o.kind, o.value) for o in POLICY.recommend(critical)] == [
        (OfferKind.PARTIAL_REFUND, usd(40)),
        (OfferKind.REFUND, usd(80)),
        (OfferKind.EXPEDITED_SHIPPING, None),
        (OfferKind.CREDIT, usd(25)),
        (OfferKind.DISCOUNT, usd(15)),
        (OfferKind.GOODWILL, None),
    ]


def test_rules_giving_the_same_thing_are_deduplicated() -> None:
    rules = [
        CompensationRule(kind="credit", description="credit", amount=usd(10)),
        CompensationRule(kind="credit", description="loyal", amount=usd(20), tiers={"gold"}),
        CompensationRule(kind="credit", description="credit", amount=usd(10)),
        CompensationRule(kind="goodwill", description="a note"),
        CompensationRule(kind="goodwill", description="flowers"),
    ]
    policy = CompensationPolicy(rules=rules)
    offers = policy.recommend(make_conversation(tier="gold"))
    assert [(o.kind, o.value, o.description) for o in offers] == [
        (OfferKind.CREDIT, usd(20), "loyal"),
        (OfferKind.GOODWILL, None, "a note"),
    ]


def test_declined_offers_are_not_recommended_again() -> None:
    conversation = make_conversation(order_value=usd(120))
    first = POLICY.recommend(conversation)
    refund = first[0]
    declined = make_conversation(order_value=usd(120), declined=(refund,))
    again = POLICY.recommend(declined)
    assert all(o.kind is not OfferKind.PARTIAL_REFUND for o in again)
    assert len(again) == len(first) - 1
    # a smaller refund than the one declined would not help either; a larger one may
    small = Offer(kind="partial_refund", value=usd(30))
    large = Offer(kind="partial_refund", value=usd(61))
    assert POLICY.was_declined(small, [refund])
    assert not POLICY.was_declined(large, [refund])


@given(
    category=st.sampled_from(["damaged_item", "late_delivery", "billing", "wrong_item"]),
    severity=st.sampled_from(Severity),
    tier=st.sampled_from(["standard", "gold", "platinum", "Gold"]),
    order=st.none() | st.integers(1, 10**7),
    data=st.data(),
)
def test_recommendations_are_distinct_and_never_declined(
    category: str, severity: Severity, tier: str, order: int | None, data: st.DataObject
) -> None:
    value = Money.from_minor_units(order, USD) if order else None
    conversation = make_conversation(
        category=category, severity=severity, tier=tier, order_value=value
    )
    offers = POLICY.recommend(conversation)
    assert len({o.kind for o in offers}) == len(offers)
    declined = tuple(data.draw(st.lists(st.sampled_from(offers), unique_by=id))) if offers else ()
    again = POLICY.recommend(
        attrs.evolve(conversation, offers=make_conversation(declined=declined).offers)
    )
    for offer in again:
        assert not POLICY.was_declined(offer, declined)
    assert len(again) == len(offers) - len(declined)


def test_a_rule_is_validated() -> None:
    with pytest.raises(ValidationError, match="share or an amount"):
        CompensationRule(kind="credit", description="x", share=Decimal("0.1"), amount=usd(1))
    with pytest.raises(ValidationError, match="needs a share"):
        CompensationRule(kind="refund", description="x")
    with pytest.raises(ValidationError, match="Decimal"):
        CompensationRule(kind="refund", description="x", share=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at most 1"):
        CompensationRule(kind="refund", description="x", share=Decimal("1.5"))
    with pytest.raises(ValidationError, match="above zero"):
        CompensationRule(kind="credit", description="x", amount=usd(0))


def test_one_rule_is_overridden_by_subclassing() -> None:
    @attrs.define(kw_only=True)
    class NoRefundsForBilling(CompensationPolicy):
        def rules_for(self, conversation: Conversation) -> list[CompensationRule]:
            rules = super().rules_for(conversation)
            if conversation.issue.category == "billing":
                return [r for r in rules if r.kind is not OfferKind.PARTIAL_REFUND]
            return rules

    policy = NoRefundsForBilling()
    billing = make_conversation(category="billing", order_value=usd(100))
    assert OfferKind.PARTIAL_REFUND not in {o.kind for o in policy.recommend(billing)}
    assert OfferKind.PARTIAL_REFUND in {o.kind for o in POLICY.recommend(billing)}


# -- counter offers ----------------------------------------------------------------------------


def test_a_request_within_policy_is_met() -> None:
    counter = POLICY.counter_offer(credit(30), make_conversation(), now=NOW)
    assert isinstance(counter, CounterOffer)
    assert counter.meets_request
    assert counter.reasons[0].code == "request_within_policy"


def test_a_demand_beyond_policy_gets_the_best_offer_within_it() -> None:
    conversation = make_conversation(order_value=usd(120), tier="standard", severity="medium")
    demand = Offer(kind="refund", value=usd(500), description="full refund and more")
    counter = POLICY.counter_offer(demand, conversation, now=NOW)
    assert counter.offer is not None
    assert (counter.offer.kind, counter.offer.value) == (OfferKind.PARTIAL_REFUND, usd(50))
    codes = [r.code for r in counter.reasons]
    assert codes == [
        "above_single_limit",
        "above_authority",
        "above_order_value",
        "capped_at_authority",
        "explain_compromise",
    ]
    assert counter.escalate_to is Role.SUPERVISOR
    assert [o.kind for o in counter.alternatives] == [OfferKind.REPLACEMENT, OfferKind.GOODWILL]
    assert counter.explanation == (
        "I can offer you a partial refund (50.00 USD) today. Full refund and more (500.00 USD) "
        "isn't something I can do, because a refund can't be more than the order itself cost "
        "(120.00 USD). If you'd prefer, I could offer a replacement sent at no cost or a "
        "handwritten apology note from the team instead. If that doesn't feel like enough, I "
        "can ask a supervisor to look at your full request and come back to you."
    )
    assert [g.code for g in counter.guidance] == ["ask_for_substitute"]
    # a senior agent with room left in the window offers up to the order value
    senior = POLICY.counter_offer(demand, conversation, agent=agent(Role.SENIOR_AGENT), now=NOW)
    assert senior.offer is not None
    assert senior.offer.value == usd(120)
    assert senior.offer.kind is OfferKind.REFUND


def test_a_counter_offer_respects_the_window_and_declines() -> None:
    conversation = make_conversation(tier="standard", severity="medium", category="billing")
    history = [grant_at(usd(130), NOW - timedelta(days=3), 1)]
    counter = POLICY.counter_offer(credit(100), conversation, history=history, now=NOW)
    assert counter.offer is not None
    assert counter.offer.value == usd(20)
    declined = make_conversation(
        tier="standard", severity="medium", category="billing", declined=(credit(20),)
    )
    counter = POLICY.counter_offer(credit(100), declined, history=history, now=NOW)
    assert counter.offer is not None
    assert counter.offer.kind is OfferKind.GOODWILL


def test_a_repeat_claimant_gets_no_claim_as_a_counter_offer() -> None:
    claims = [grant_at(usd(5), NOW - timedelta(days=day), day) for day in (1, 2, 3)]
    counter = POLICY.counter_offer(credit(100), make_conversation(), history=claims, now=NOW)
    assert counter.escalate_to is Role.SUPERVISOR
    assert counter.offer is not None
    assert counter.offer.kind is OfferKind.GOODWILL
    assert counter.reasons[0].code == "repeat_claims"
    assert "supervisor" in counter.explanation


def test_a_bot_cannot_counter_with_money() -> None:
    bot = agent(Role.BOT)
    conversation = make_conversation(
        agent=bot, category="late_delivery", severity="low", tier="standard"
    )
    counter = POLICY.counter_offer(credit(10), conversation, agent=bot, now=NOW)
    assert counter.offer is not None
    assert counter.offer.kind is OfferKind.EXPEDITED_SHIPPING
    quiet = make_conversation(agent=bot, severity="low", tier="standard", category="billing")
    nothing = POLICY.counter_offer(credit(10), quiet, agent=bot, now=NOW)
    assert nothing.offer is None
    assert nothing.escalate_to is Role.AGENT
    assert nothing.explanation == (
        "A credit of 10.00 USD isn't something I can arrange myself; that's a decision for an "
        "agent. I can ask an agent to look at your request and come back to you."
    )


@given(
    role=roles,
    kind=monetary_kinds,
    amount=st.integers(1, 10**8),
    history=histories(),
    order=st.none() | st.integers(1, 10**6),
)
def test_a_counter_offer_is_always_within_authority(
    role: Role, kind: OfferKind, amount: int, history: list[Grant], order: int | None
) -> None:
    me = agent(role)
    value = Money.from_minor_units(order, USD) if order else None
    conversation = make_conversation(agent=me, order_value=value)
    requested = Offer(kind=kind, value=Money.from_minor_units(amount, USD))
    counter = POLICY.counter_offer(requested, conversation, history=history, now=NOW)
    for offer in (counter.offer, *counter.alternatives):
        if offer is not None:
            assert POLICY.authorize(offer, me, history, now=NOW).granted
    if (
        counter.offer is not None
        and counter.offer.value is not None
        and counter.offer.kind
        in {
            kind,
            OfferKind.PARTIAL_REFUND,
        }
    ):
        assert counter.offer.value <= requested.value  # type: ignore[operator]


# -- the ledger: one record per idempotency key ------------------------------------------------


def _grant(key: str, amount: str = "10.00") -> Grant:
    return Grant(
        key=key,
        customer_id="cust-1",
        conversation_id="c-1",
        offer=Offer(kind="credit", value=usd(amount), id=f"offer-{key}"),
        granted_by="sam",
        at=NOW,
    )


BACKENDS = ["memory", "sqlite", "desk"]


def open_ledger(backend: str, directory: Path) -> tuple[CompensationLedger, Callable[[], None]]:
    """A fresh ledger of ``backend`` and how to close it."""
    if backend == "memory":
        return InMemoryStorage().ledger, lambda: None
    directory.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        storage = SQLiteStorage(directory / "ledger.db")
        return storage.ledger, storage.close
    desk = ServiceDesk.sqlite(directory / "desk.db")
    storage = desk.storage
    assert isinstance(storage, SQLiteStorage)
    return storage.ledger, storage.close


@settings(max_examples=20)
@given(keys=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=10))
def test_the_same_key_never_records_twice(keys: list[str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        for backend in BACKENDS:
            ledger, close = open_ledger(backend, Path(directory) / backend)
            try:
                for key in keys:
                    assert ledger.record(_grant(key)) == _grant(key)
                recorded = ledger.grants("cust-1")
                assert sorted(g.key for g in recorded) == sorted(set(keys))
                with pytest.raises(ValidationError, match="other terms"):
                    ledger.record(_grant(keys[0], "11.00"))
            finally:
                close()


def _race(ledger: CompensationLedger, threads: int = 8) -> list[Grant]:
    barrier = threading.Barrier(threads)
    results: list[Grant] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def record() -> None:
        try:
            barrier.wait(timeout=10)
            grant = ledger.record(_grant("same-key"))
            with lock:
                results.append(grant)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    workers = [threading.Thread(target=record) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert not errors, errors
    return results


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_same_key_from_threads_released_together_records_once(
    backend: str, tmp_path: Path
) -> None:
    for round_ in range(10):
        ledger, close = open_ledger(backend, tmp_path / f"{backend}-{round_}")
        try:
            results = _race(ledger)
            assert len(results) == 8
            assert all(result == _grant("same-key") for result in results)
            assert [g.key for g in ledger.grants("cust-1")] == ["same-key"]
        finally:
            close()


# -- the airline example -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def airline() -> ModuleType:
    path = ROOT / "examples" / "airline_compensation.py"
    spec = importlib.util.spec_from_file_location("airline_compensation", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("airline_compensation", module)
    spec.loader.exec_module(module)
    return module


def test_the_airline_subclass_adds_the_free_cancellation_refund_to_the_files_rules(
    airline: ModuleType,
) -> None:
    policy = airline.policy()
    assert type(policy) is airline.AirlineCompensationPolicy
    assert policy.on_request  # from the file
    assert policy.authority.currency == "USD"
    fresh = {"reservation": "4WQ150", "fare": Decimal("389.00"), "cancelling": True}
    cases = {
        "fresh": ("regular", "cancel_reservation", fresh, "I need to cancel my trip."),
        "old": (
            "regular",
            "cancel_reservation",
            {**fresh, "reservation": "M61CQM"},
            "I need to cancel my trip.",
        ),
        "not cancelling": (
            "regular",
            "cancel_reservation",
            {**fresh, "cancelling": False},
            "I need to change my trip.",
        ),
        "asks": (
            "gold",
            "flight_cancelled",
            {"passengers": 2, "cabin": "economy", "flight_status": "cancelled"},
            "My flight was cancelled, I want compensation.",
        ),
    }
    found = {
        name: [
            offer.value
            for offer in policy.recommend(
                airline.conversation(policy, tier=tier, category=category, facts=facts, said=said)
            )
        ]
        for name, (tier, category, facts, said) in cases.items()
    }
    assert found == {
        "fresh": [usd("389.00")],  # a right, not a gesture: given without asking
        "old": [],
        "not cancelling": [],
        "asks": [usd(200)],  # the file's rule: 100 per passenger
    }


def test_the_airline_example_prints_its_decisions(
    airline: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    airline.main()
    out = capsys.readouterr().out
    assert "booked 3 hours ago, cancels, does not ask: a full refund" in out
    assert "booked 10 days ago, cancels: nothing" in out
    assert "(the file's rule): a travel certificate of 100 USD per passenger = 300.00 USD" in out
    assert "flight cancelled, does not ask: nothing" in out


def test_an_approval_is_given_by_the_role_it_names_or_higher() -> None:
    """An approval can name a role above what the offer's declared terms need (its words
    promised more, ``DraftReview.authorize_offer``): a colleague who covers the declared
    terms may still not approve it; the named role may."""
    sam, ann, sue = (
        agent(Role.AGENT, "sam"),
        agent(Role.AGENT, "ann"),
        agent(Role.SUPERVISOR, "sue"),
    )
    offer = credit(5)  # within an agent's authority as declared
    needs_supervisor = POLICY.authorize(credit(300), sam, now=NOW)
    approval = POLICY.request_approval(offer, sam, needs_supervisor, id="ap-9", now=NOW)
    assert approval.approver_role is Role.SUPERVISOR
    refusal = POLICY.can_approve(ann, approval, offer, now=NOW)
    assert refusal is not None
    assert refusal.code == "approver_lacks_authority"
    assert "supervisor or higher" in refusal.text
    assert POLICY.can_approve(sue, approval, offer, now=NOW) is None
