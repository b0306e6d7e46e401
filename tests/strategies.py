"""Shared hypothesis strategies: one public function per record of serviceplaybook.

Every strategy builds valid records only (the constructors run their validators), with small
sizes so that the suite stays fast. Text includes unicode. Import them from the tests with
``from strategies import conversations, money`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import functools
import string
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    Apology,
    Approval,
    Channel,
    Conversation,
    Customer,
    EscalationDecision,
    FollowUp,
    Grant,
    Guidance,
    Handoff,
    HandoffBrief,
    Issue,
    JournalEntry,
    Message,
    Money,
    Offer,
    OfferKind,
    OfferStatus,
    ProposedOffer,
    Reason,
    Role,
    Severity,
    Signals,
    SlaStepReached,
    Stage,
    Urgency,
)
from serviceplaybook._records.money import CURRENCY_MINOR_UNITS
from serviceplaybook._records.parties import CUSTOMER

__all__ = [
    "CODES",
    "CUSTOMER",
    "MAX_MINOR",
    "TIME_ZONE_NAMES",
    "agents",
    "apologies",
    "approvals",
    "aware_datetimes",
    "codes",
    "conversations",
    "currencies",
    "customers",
    "escalation_decisions",
    "follow_ups",
    "grants",
    "guidance",
    "handoff_briefs",
    "handoffs",
    "identifiers",
    "issues",
    "journal_entries",
    "json_values",
    "messages",
    "money",
    "non_blank_text",
    "offers",
    "positive_money",
    "proposed_offers",
    "reasons",
    "signals",
    "small_text",
]

CODES = sorted(CURRENCY_MINOR_UNITS)

MAX_MINOR = 10**15
"""Amounts stay well inside Money's range so that sums of a few of them stay valid."""

TIME_ZONE_NAMES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
)
"""IANA zones with a mix of whole, half-hour and quarter-hour offsets, with and without DST."""

_ZONES = tuple(ZoneInfo(name) for name in TIME_ZONE_NAMES)

currencies = st.sampled_from(CODES)


# -- text ----------------------------------------------------------------------------------

_STORABLE = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


@functools.cache
def small_text(*, min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    """Short unicode text (any letters, digits, punctuation, spaces and symbols; no NUL and
    no lone surrogate, which no backend can store: docs/bad-input.md)."""
    return st.text(_STORABLE, min_size=min_size, max_size=max_size)


@functools.cache
def non_blank_text(*, max_size: int = 12) -> st.SearchStrategy[str]:
    """Short unicode text that shows something (not only white space or format characters)."""
    return st.text(_STORABLE, min_size=1, max_size=max_size).filter(_visible)


def _visible(text: str) -> bool:
    return not all(c.isspace() or unicodedata.category(c) == "Cf" for c in text)


@functools.cache
def identifiers() -> st.SearchStrategy[str]:
    """Ids as host applications use them: ascii, with now and then a unicode letter."""
    return st.one_of(
        st.text(alphabet=string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=10),
        st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=8),
    )


@functools.cache
def codes() -> st.SearchStrategy[str]:
    """snake_case codes such as ``customer_is_angry``."""
    return st.from_regex(r"[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,6}){0,3}", fullmatch=True)


@functools.cache
def json_values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """JSON-native values (no NaN or infinities, str keys) that survive a JSON round trip."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53), 2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        small_text(),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(small_text(max_size=6), children, max_size=3),
        ),
        max_leaves=max_leaves,
    )


# -- money and time ----------------------------------------------------------------------


@functools.cache
def money(currency: str | None = None) -> st.SearchStrategy[Money]:
    """Valid Money: a currency from the table (or ``currency``) and an amount with exactly
    that currency's number of places, built as a Decimal, a string or (when whole) an int."""
    currency_st = currencies if currency is None else st.just(currency)

    @st.composite
    def build(draw: st.DrawFn) -> Money:
        code = draw(currency_st)
        places = CURRENCY_MINOR_UNITS[code.upper()]
        minor = draw(st.integers(-MAX_MINOR, MAX_MINOR))
        amount = Decimal(minor).scaleb(-places)
        form = draw(st.sampled_from(["decimal", "str", "int"]))
        if form == "str":
            return Money(str(amount), code)
        if form == "int" and minor % 10**places == 0:
            return Money(minor // 10**places, code)
        return Money(amount, code)

    return build()


@functools.cache
def positive_money(currency: str | None = None) -> st.SearchStrategy[Money]:
    """Money above zero (what an offer's value must be)."""
    return money(currency).map(abs).filter(lambda amount: not amount.is_zero)


def _unambiguous(value: datetime) -> bool:
    """False for wall times a DST change makes ambiguous (their offset depends on ``fold``).

    Python never finds such a time equal to a datetime in another zone (PEP 495), so one that
    went through an ISO string (which keeps only the offset) would not compare equal.
    """
    return value.replace(fold=1 - value.fold).utcoffset() == value.utcoffset()


_fixed_offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@functools.cache
def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes from 2000 to 2100: UTC, fixed offsets and IANA zones.

    Wall times that do not exist (in a DST gap) or are ambiguous (in a DST fold) are left
    out, see :func:`_unambiguous`.
    """
    return st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 12, 31, 23, 59, 59),
        timezones=st.one_of(st.just(UTC), _fixed_offsets, st.sampled_from(_ZONES)),
        allow_imaginary=False,
    ).filter(_unambiguous)


def _later(value: datetime, delta: timedelta) -> datetime:
    """``delta`` after ``value`` (in absolute time), shown in ``value``'s zone when that is
    unambiguous, else in UTC."""
    moved = (value.astimezone(UTC) + delta).astimezone(value.tzinfo)
    return moved if _unambiguous(moved) else moved.astimezone(UTC)


_deltas = st.integers(0, 7 * 24 * 3600).map(lambda seconds: timedelta(seconds=seconds))


# Strategies drawn inside composites are built once: building them on every draw is slow.
_CHANNELS = st.sampled_from(Channel)
_ROLES = st.sampled_from(Role)
_STAGES = st.sampled_from(Stage)
_OFFER_STATUSES = st.sampled_from(OfferStatus)
_OFFER_KINDS = st.sampled_from(OfferKind)
_OPTIONAL_TEXT = st.none() | small_text()
_OPTIONAL_SUMMARY = st.none() | non_blank_text(max_size=20)
_MESSAGE_TEXT = non_blank_text(max_size=30)
_DELTA_LISTS = st.lists(_deltas, max_size=4)


# -- parties and the issue ---------------------------------------------------------------


@functools.cache
def customers() -> st.SearchStrategy[Customer]:
    """Customers with unicode names, any channels, and optional email and phone."""
    return st.builds(
        Customer,
        id=identifiers(),
        name=small_text(),
        tier=st.sampled_from(["standard", "gold", "platinum"]) | non_blank_text(),
        timezone=st.sampled_from(TIME_ZONE_NAMES),
        preferred_channel=st.none() | _CHANNELS,
        opted_out=st.frozensets(_CHANNELS, max_size=3),
        email=_OPTIONAL_TEXT,
        phone=st.none() | st.text(alphabet="+0123456789 -", max_size=15),
    )


@functools.cache
def agents(role: Role | None = None) -> st.SearchStrategy[Agent]:
    """Agents (never with the reserved id ``"customer"``), of ``role`` or any role."""
    return st.builds(
        Agent,
        id=identifiers().filter(lambda ident: ident != CUSTOMER),
        name=small_text(),
        role=st.sampled_from(Role) if role is None else st.just(role),
    )


FACT_NAMES = ("passengers", "cabin", "insured", "flight_status", "days_late", "fare", "flown_on")


def fact_values() -> st.SearchStrategy[str | int | Decimal | bool | date]:
    """Every kind of fact value: strings, ints, Decimals, booleans and dates."""
    return st.one_of(
        st.text(_STORABLE, max_size=12),
        st.integers(-10, 10_000),
        st.decimals(
            allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=10**6
        ),
        st.booleans(),
        st.dates(),
    )


def facts() -> st.SearchStrategy[dict[str, str | int | Decimal | bool | date]]:
    """An issue's facts: a few of :data:`FACT_NAMES`, any kind of value."""
    return st.dictionaries(st.sampled_from(FACT_NAMES), fact_values(), max_size=4)


@functools.cache
def issues() -> st.SearchStrategy[Issue]:
    """Issues of every severity, with or without an order value and facts."""
    return st.builds(
        Issue,
        category=st.sampled_from(["damaged_item", "billing", "late_delivery"]) | identifiers(),
        severity=st.sampled_from(Severity),
        summary=non_blank_text(),
        order_value=st.none() | positive_money(),
        facts=facts(),
    )


# -- offers, reasons, signals, apologies ---------------------------------------------------

_MONETARY = (OfferKind.REFUND, OfferKind.PARTIAL_REFUND, OfferKind.CREDIT, OfferKind.DISCOUNT)
DESCRIBED_KINDS = (OfferKind.FREE_SERVICE, OfferKind.UPGRADE, OfferKind.OTHER)


_OPTIONAL_POSITIVE_MONEY = st.none() | positive_money()
_OFFER_IDS = identifiers().map(lambda ident: f"offer-{ident}")


@st.composite
def _offers(draw: st.DrawFn) -> Offer:
    kind = draw(_OFFER_KINDS)
    value = draw(positive_money() if kind in _MONETARY else _OPTIONAL_POSITIVE_MONEY)
    text = draw(non_blank_text() if kind in DESCRIBED_KINDS else small_text())
    return Offer(kind=kind, value=value, description=text, id=draw(_OFFER_IDS))


@functools.cache
def offers() -> st.SearchStrategy[Offer]:
    """Offers of every kind: monetary kinds always carry a positive value, the others may."""
    return _offers()


@functools.cache
def reasons() -> st.SearchStrategy[Reason]:
    """Reasons with snake_case codes and a unicode sentence."""
    return st.builds(Reason, code=codes(), text=non_blank_text(max_size=20))


@functools.cache
def guidance() -> st.SearchStrategy[Guidance]:
    """Guidance with snake_case codes and a unicode sentence."""
    return st.builds(Guidance, code=codes(), text=non_blank_text(max_size=20))


@functools.cache
def signals() -> st.SearchStrategy[Signals]:
    """Signals with sentiment in [-1, 1], anger in [0, 1] and every flag."""
    return st.builds(
        Signals,
        sentiment=st.floats(-1.0, 1.0),
        anger=st.floats(0.0, 1.0),
        abusive=st.booleans(),
        threat=st.booleans(),
        legal_threat=st.booleans(),
        wants_manager=st.booleans(),
        repeat_contact=st.booleans(),
        shouting=st.booleans(),
        sarcastic=st.booleans(),
        confused=st.booleans(),
        calming=st.booleans(),
        asks_for_compensation=st.booleans(),
        language=st.sampled_from(["und", "en", "es", "fr", "de", "pt", "it", "pt-BR", "nl"]),
        assessed=st.booleans(),
    )


@functools.cache
def apologies() -> st.SearchStrategy[Apology]:
    """Apologies, composed (no author, no time) or given."""
    return st.builds(
        Apology,
        text=non_blank_text(max_size=20),
        reasons=st.lists(reasons(), max_size=2).map(tuple),
        by=st.just("") | identifiers(),
        at=st.none() | aware_datetimes(),
    )


# -- escalation --------------------------------------------------------------------------


@functools.cache
def handoff_briefs() -> st.SearchStrategy[HandoffBrief]:
    """Briefs with what was tried, declined offers and the apologies given."""
    return st.builds(
        HandoffBrief,
        summary=small_text(max_size=20),
        tried=st.lists(small_text(), max_size=2).map(tuple),
        offers_declined=st.lists(offers(), max_size=2).map(tuple),
        apologies=st.lists(non_blank_text(), max_size=2).map(tuple),
        mood=st.sampled_from(["unknown", "angry, worsening", "neutral, steady"]) | small_text(),
    )


@functools.cache
def escalation_decisions() -> st.SearchStrategy[EscalationDecision]:
    """Decisions between any two roles, with at least one reason."""
    return st.builds(
        EscalationDecision,
        to=st.sampled_from(Role),
        from_role=st.sampled_from(Role),
        urgency=st.sampled_from(Urgency),
        reasons=st.lists(reasons(), min_size=1, max_size=2).map(tuple),
        brief=handoff_briefs(),
        terminate=st.booleans(),
    )


# -- compensation ------------------------------------------------------------------------


@st.composite
def _proposed_offers(draw: st.DrawFn) -> ProposedOffer:
    status = draw(_OFFER_STATUSES)
    proposed_at = draw(aware_datetimes())
    decided = status in (OfferStatus.ACCEPTED, OfferStatus.DECLINED)
    return ProposedOffer(
        offer=draw(offers()),
        status=status,
        proposed_by=draw(identifiers()),
        proposed_at=proposed_at,
        decided_at=_later(proposed_at, draw(_deltas)) if decided else None,
        decline_reason=draw(_OPTIONAL_TEXT) if status is OfferStatus.DECLINED else None,
        approval_id=draw(identifiers()) if status is OfferStatus.PENDING_APPROVAL else None,
    )


@functools.cache
def proposed_offers() -> st.SearchStrategy[ProposedOffer]:
    """An offer with its status; decided offers carry a decision time, declined ones maybe a
    reason, and offers pending approval an approval id."""
    return _proposed_offers()


@st.composite
def _approvals(draw: st.DrawFn) -> Approval:
    requested_at = draw(aware_datetimes())
    approved = draw(st.booleans())
    return Approval(
        id="approval-" + draw(identifiers()),
        offer_id=draw(identifiers()),
        requested_by=draw(identifiers()),
        approver_role=draw(_ROLES),
        requested_at=requested_at,
        approved_by=draw(identifiers()) if approved else None,
        approved_at=_later(requested_at, draw(_deltas)) if approved else None,
    )


@functools.cache
def approvals() -> st.SearchStrategy[Approval]:
    """Approvals, pending or approved (with approver and time)."""
    return _approvals()


@functools.cache
def grants() -> st.SearchStrategy[Grant]:
    """Compensation given, approved or not."""
    return st.builds(
        Grant,
        key=identifiers(),
        customer_id=identifiers(),
        conversation_id=identifiers(),
        offer=offers(),
        granted_by=identifiers(),
        approved_by=st.none() | identifiers(),
        at=aware_datetimes(),
    )


# -- follow-ups, messages, handoffs ----------------------------------------------------------


@functools.cache
def follow_ups(
    conversation_id: str | None = None, customer_id: str | None = None
) -> st.SearchStrategy[FollowUp]:
    """Follow-ups on any channel."""
    return st.builds(
        FollowUp,
        id=identifiers(),
        key=identifiers(),
        conversation_id=identifiers() if conversation_id is None else st.just(conversation_id),
        customer_id=identifiers() if customer_id is None else st.just(customer_id),
        channel=st.sampled_from(Channel),
        due_at=aware_datetimes(),
        purpose=st.just("check_fix_and_feedback") | codes(),
        attempts=st.integers(0, 5),
        text=st.just("") | small_text(max_size=40),
    )


def messages(
    authors: st.SearchStrategy[str] | None = None, at: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[Message]:
    """Messages from the customer or an agent, with unicode text (never blank)."""
    return st.builds(
        Message,
        author=(st.just(CUSTOMER) | identifiers()) if authors is None else authors,
        text=non_blank_text(max_size=30),
        at=aware_datetimes() if at is None else at,
    )


@functools.cache
def handoffs() -> st.SearchStrategy[Handoff]:
    """An agent handing over to another, with or without a brief."""
    return st.builds(
        Handoff,
        from_agent=agents(),
        to_agent=agents(),
        at=aware_datetimes(),
        brief=st.none() | handoff_briefs(),
    )


# -- the conversation ----------------------------------------------------------------------

_PROPOSAL_LISTS = st.lists(proposed_offers(), max_size=3)
_HANDOFF_LISTS = st.lists(handoffs(), max_size=2)
_APOLOGY_LISTS = st.lists(apologies(), max_size=2)
_ESCALATION_LISTS = st.lists(escalation_decisions(), max_size=2)
_FOLLOW_UP_LISTS = st.lists(follow_ups(), max_size=2)


@functools.cache
def sla_steps_reached() -> st.SearchStrategy[SlaStepReached]:
    """SLA steps with any threshold, including sub-second ones (exact round trips)."""
    return st.builds(
        SlaStepReached,
        index=st.integers(0, 5),
        after=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
        to=st.sampled_from(Role),
        at=aware_datetimes(),
    )


_SLA_STEP_LISTS = st.lists(sla_steps_reached(), max_size=2)


@st.composite
def _conversations(draw: st.DrawFn) -> Conversation:
    conversation_id = "conv-" + draw(identifiers())
    customer = draw(customers())
    agent = draw(agents())
    opened_at = draw(aware_datetimes())

    offsets = sorted(draw(_DELTA_LISTS))
    times = [_later(opened_at, offset) for offset in offsets]
    conversation_messages = [
        Message(
            author=CUSTOMER if draw(st.booleans()) else agent.id, text=draw(_MESSAGE_TEXT), at=at
        )
        for at in times
    ]
    customer_messages = sum(1 for message in conversation_messages if message.from_customer)
    conversation_signals = [draw(signals()) for _ in range(customer_messages)]

    proposed: list[ProposedOffer] = []
    conversation_approvals: list[Approval] = []
    for index, drawn in enumerate(draw(_PROPOSAL_LISTS)):
        unique = attrs.evolve(drawn.offer, id=f"offer-{index}")
        proposal = attrs.evolve(drawn, offer=unique)
        if proposal.status is OfferStatus.PENDING_APPROVAL:
            approval = Approval(
                id=f"approval-{index}",
                offer_id=unique.id,
                requested_by=proposal.proposed_by,
                approver_role=draw(_ROLES),
                requested_at=proposal.proposed_at,
            )
            conversation_approvals.append(approval)
            proposal = attrs.evolve(proposal, approval_id=approval.id)
        proposed.append(proposal)

    conversation_handoffs = draw(_HANDOFF_LISTS)
    if conversation_handoffs:
        last = conversation_handoffs[-1]
        conversation_handoffs[-1] = Handoff(
            from_agent=last.from_agent, to_agent=agent, at=last.at, brief=last.brief
        )

    stage = draw(_STAGES)
    updated_at = times[-1] if times else opened_at
    closed = stage in (Stage.CLOSED, Stage.TERMINATED)
    resolved = stage in (Stage.RESOLVED, Stage.FOLLOWING_UP, Stage.CLOSED)
    summary = draw(_OPTIONAL_SUMMARY)
    return Conversation(
        id=conversation_id,
        stage=stage,
        customer=customer,
        issue=draw(issues()),
        agent=agent,
        channel=draw(_CHANNELS),
        opened_at=opened_at,
        updated_at=updated_at,
        version=draw(st.integers(0, 1000)),
        messages=conversation_messages,
        signals=conversation_signals,
        summary=summary,
        understood=summary is not None and draw(st.booleans()),
        apologies=draw(_APOLOGY_LISTS),
        offers=proposed,
        approvals=conversation_approvals,
        escalations=draw(_ESCALATION_LISTS),
        handoffs=conversation_handoffs,
        follow_ups=[
            attrs.evolve(follow_up, conversation_id=conversation_id, customer_id=customer.id)
            for follow_up in draw(_FOLLOW_UP_LISTS)
        ],
        reopens=draw(st.integers(0, 3)),
        resolved_at=updated_at if resolved else None,
        closed_at=updated_at if closed else None,
        termination=draw(reasons()) if stage is Stage.TERMINATED else None,
        feedback=draw(_OPTIONAL_TEXT) if resolved else None,
        sla_steps=draw(_SLA_STEP_LISTS),
    )


@functools.cache
def conversations() -> st.SearchStrategy[Conversation]:
    """A structurally valid conversation with some of each nested record.

    Messages are in time order and written by the customer or the conversation's agents; there
    is one Signals per customer message; offer ids are unique and every offer pending approval
    has its Approval; follow-ups name this conversation and customer; handoffs lead to the
    current agent.
    """
    return _conversations()


# -- the journal ---------------------------------------------------------------------------


@functools.cache
def journal_entries() -> st.SearchStrategy[JournalEntry]:
    """Journal entries with JSON-safe data."""
    return st.builds(
        JournalEntry,
        conversation_id=identifiers(),
        seq=st.integers(0, 10_000),
        at=aware_datetimes(),
        kind=st.sampled_from(["open", "hear", "propose", "accept"]) | codes(),
        actor=st.sampled_from([CUSTOMER, "system"]) | identifiers(),
        stage=st.sampled_from([stage.value for stage in Stage]) | codes(),
        data=st.dictionaries(small_text(max_size=8), json_values(), max_size=3),
    )


# Every record type with its strategy, for suites that check a property of all of them.
ALL_RECORDS: list[tuple[str, st.SearchStrategy[Any]]] = [
    ("Money", money()),
    ("Customer", customers()),
    ("Agent", agents()),
    ("Issue", issues()),
    ("Offer", offers()),
    ("Reason", reasons()),
    ("Guidance", guidance()),
    ("Signals", signals()),
    ("Apology", apologies()),
    ("HandoffBrief", handoff_briefs()),
    ("EscalationDecision", escalation_decisions()),
    ("ProposedOffer", proposed_offers()),
    ("Approval", approvals()),
    ("Grant", grants()),
    ("FollowUp", follow_ups()),
    ("SlaStepReached", sla_steps_reached()),
    ("Message", messages()),
    ("Handoff", handoffs()),
    ("Conversation", conversations()),
    ("JournalEntry", journal_entries()),
]
