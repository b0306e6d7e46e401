"""Tests for the records' validation: every mistake is refused at construction, clearly.

Naive datetimes, unknown enum values, unknown time zones, reserved ids, offers without a
value, codes that are not snake_case and signals out of range all raise a
:class:`~serviceplaybook.ValidationError` (a ``PlaybookError`` and a ``ValueError``) that says
what was wrong; ``repr`` never shows personal data; every record is frozen.
"""

from __future__ import annotations

import itertools
import operator
import unicodedata
import uuid
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import strategies as sts
from serviceplaybook import (
    Agent,
    Apology,
    Approval,
    AuthorizationStatus,
    Channel,
    Conversation,
    CurrencyMismatch,
    Customer,
    EscalationDecision,
    FollowUp,
    FollowUpStatus,
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
    PlaybookError,
    ProposedOffer,
    Reason,
    Role,
    Severity,
    Signals,
    Stage,
    Urgency,
    ValidationError,
)

NOW = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)
NAIVE = datetime(2024, 5, 17, 9, 30)

MONETARY_KINDS = [
    OfferKind.REFUND,
    OfferKind.PARTIAL_REFUND,
    OfferKind.CREDIT,
    OfferKind.DISCOUNT,
]
DESCRIBED_KINDS = [OfferKind.FREE_SERVICE, OfferKind.UPGRADE, OfferKind.OTHER]
OTHER_KINDS = [
    kind for kind in OfferKind if kind not in MONETARY_KINDS and kind not in DESCRIBED_KINDS
]

CHOICES: list[type[Any]] = [
    Role,
    Channel,
    Severity,
    OfferKind,
    OfferStatus,
    Urgency,
    FollowUpStatus,
    AuthorizationStatus,
]

LADDER = [Role.BOT, Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR, Role.MANAGER]
SEVERITIES = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
ORDERINGS = [operator.lt, operator.le, operator.gt, operator.ge]

REASON = Reason(code="agent_request", text="The agent asked for help.")
OFFER = Offer(kind="refund", value=Money("20.00", "USD"), id="offer-1")
BRIEF = HandoffBrief(summary="charged twice")
AGENT = Agent(id="agent-1")
SUPERVISOR = Agent(id="sup-1", role="supervisor")


def customer(**changes: Any) -> Customer:
    return attrs.evolve(Customer(id="cust-1"), **changes)


def conversation(**changes: Any) -> Conversation:
    base = Conversation(
        id="conv-1",
        stage=Stage.LISTENING,
        customer=customer(),
        issue=Issue(category="billing", severity="low", summary="charged twice"),
        agent=AGENT,
        channel="chat",
        opened_at=NOW,
        updated_at=NOW,
    )
    return attrs.evolve(base, **changes)


# -- timezone-aware datetimes ----------------------------------------------------------------

# (record, field, a builder taking that field's value)
TIME_FIELDS: list[tuple[str, str, Callable[[Any], object]]] = [
    ("Message", "at", lambda at: Message(author="customer", text="hi", at=at)),
    ("Conversation", "opened_at", lambda at: conversation(opened_at=at)),
    ("Conversation", "updated_at", lambda at: conversation(updated_at=at)),
    ("Conversation", "resolved_at", lambda at: conversation(resolved_at=at)),
    ("Conversation", "closed_at", lambda at: conversation(closed_at=at)),
    ("Handoff", "at", lambda at: Handoff(from_agent=AGENT, to_agent=SUPERVISOR, at=at)),
    ("Apology", "at", lambda at: Apology(text="I'm sorry.", at=at)),
    (
        "ProposedOffer",
        "proposed_at",
        lambda at: ProposedOffer(offer=OFFER, status="open", proposed_by="a", proposed_at=at),
    ),
    (
        "ProposedOffer",
        "decided_at",
        lambda at: ProposedOffer(
            offer=OFFER, status="declined", proposed_by="a", proposed_at=NOW, decided_at=at
        ),
    ),
    (
        "Approval",
        "requested_at",
        lambda at: Approval(
            id="p", offer_id="o", requested_by="a", approver_role="manager", requested_at=at
        ),
    ),
    (
        "Approval",
        "approved_at",
        lambda at: Approval(
            id="p",
            offer_id="o",
            requested_by="a",
            approver_role="manager",
            requested_at=NOW,
            approved_by="m",
            approved_at=at,
        ),
    ),
    (
        "Grant",
        "at",
        lambda at: Grant(
            key="k", customer_id="c", conversation_id="v", offer=OFFER, granted_by="a", at=at
        ),
    ),
    (
        "FollowUp",
        "due_at",
        lambda at: FollowUp(
            id="f", key="k", conversation_id="v", customer_id="c", channel="sms", due_at=at
        ),
    ),
    (
        "JournalEntry",
        "at",
        lambda at: JournalEntry(
            conversation_id="v", seq=1, at=at, kind="open", actor="system", stage="greeting"
        ),
    ),
]
TIME_PARAMS = [
    pytest.param(name, field, build, id=f"{name}.{field}") for name, field, build in TIME_FIELDS
]


class NoOffset(tzinfo):
    """A tzinfo that does not know its offset: the datetime counts as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


@pytest.mark.parametrize(("name", "field", "build"), TIME_PARAMS)
@given(naive=st.datetimes())
def test_naive_datetime_is_refused(
    name: str, field: str, build: Callable[[Any], object], naive: datetime
) -> None:
    with pytest.raises(ValidationError, match="timezone-aware") as raised:
        build(naive)
    assert f"{name}.{field}" in str(raised.value)
    assert naive.isoformat() in str(raised.value)


@pytest.mark.parametrize(("name", "field", "build"), TIME_PARAMS)
def test_datetime_without_offset_is_refused(
    name: str, field: str, build: Callable[[Any], object]
) -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        build(NAIVE.replace(tzinfo=NoOffset()))


@pytest.mark.parametrize(("name", "field", "build"), TIME_PARAMS)
@pytest.mark.parametrize("value", ["2024-05-17T09:30:00+00:00", 1715938200, NOW.date()])
def test_non_datetime_is_refused(
    name: str, field: str, build: Callable[[Any], object], value: object
) -> None:
    with pytest.raises(ValidationError, match="timezone-aware datetime") as raised:
        build(value)
    assert f"{name}.{field}" in str(raised.value)


@pytest.mark.parametrize(("name", "field", "build"), TIME_PARAMS)
@given(at=sts.aware_datetimes())
def test_aware_datetime_is_kept(
    name: str, field: str, build: Callable[[Any], object], at: datetime
) -> None:
    record = build(at)
    assert getattr(record, field) is at


# -- enums -------------------------------------------------------------------------------------


def _casings(value: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(value), max_size=len(value)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(value, upper, strict=True))
    )


@st.composite
def enum_members(draw: st.DrawFn) -> Any:
    cls = draw(st.sampled_from(CHOICES))
    return draw(st.sampled_from(list(cls)))


@given(member=enum_members(), data=st.data())
def test_enum_accepts_value_member_and_any_case(member: Any, data: st.DataObject) -> None:
    cls = type(member)
    assert cls(member) is member
    assert cls(member.value) is member
    assert cls(member.value.upper()) is member
    assert cls(data.draw(_casings(member.value))) is member


@pytest.mark.parametrize("cls", CHOICES, ids=lambda cls: cls.__name__)
def test_unknown_enum_value_lists_the_allowed_ones(cls: type[Any]) -> None:
    with pytest.raises(ValidationError) as raised:
        cls("boss")
    message = str(raised.value)
    assert "'boss'" in message
    assert cls.__name__ in message
    for member in cls:
        assert repr(member.value) in message


def test_role_boss_is_refused() -> None:
    with pytest.raises(
        ValidationError,
        match=r"'boss' is not a valid Role; allowed: 'bot', 'agent', 'senior_agent', "
        r"'supervisor', 'manager', 'security'",
    ):
        Role("boss")


@pytest.mark.parametrize("cls", CHOICES, ids=lambda cls: cls.__name__)
@given(value=st.text(max_size=15))
def test_enum_refuses_any_other_text(cls: type[Any], value: str) -> None:
    assume(value.lower() not in {member.value for member in cls})
    with pytest.raises(ValidationError, match="allowed: "):
        cls(value)


@pytest.mark.parametrize("cls", CHOICES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("value", [None, 0, 1, 1.5, b"agent", ["agent"], Stage.GREETING])
def test_enum_refuses_other_types(cls: type[Any], value: object) -> None:
    with pytest.raises(ValidationError, match="allowed: "):
        cls(value)


def test_record_enum_fields_accept_any_case() -> None:
    assert Agent(id="a", role="SENIOR_AGENT").role is Role.SENIOR_AGENT
    assert Issue(category="c", severity="High", summary="s").severity is Severity.HIGH
    assert customer(preferred_channel="SMS", opted_out=["Email"]).opted_out == {Channel.EMAIL}
    assert Offer(kind="Goodwill").kind is OfferKind.GOODWILL


def test_record_enum_fields_refuse_unknown_values() -> None:
    with pytest.raises(ValidationError, match="not a valid Role"):
        Agent(id="a", role="escalated")
    with pytest.raises(ValidationError, match="not a valid Severity"):
        Issue(category="c", severity="urgent", summary="s")
    with pytest.raises(ValidationError, match="not a valid Channel"):
        customer(opted_out=["carrier pigeon"])
    with pytest.raises(ValidationError, match="not a valid Urgency"):
        EscalationDecision(
            to="manager", from_role="agent", urgency="asap", reasons=[REASON], brief=BRIEF
        )


# -- ordering --------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [LADDER, SEVERITIES], ids=["Role", "Severity"])
def test_ranked_enums_are_ordered(order: list[Any]) -> None:
    shuffled = order[1::2] + order[::2]
    assert shuffled != order
    assert sorted(shuffled) == order
    assert min(order) is order[0]
    assert max(order) is order[-1]
    for (i, low), (j, high) in itertools.product(enumerate(order), repeat=2):
        assert (low < high) == (i < j)
        assert (low <= high) == (i <= j)
        assert (low > high) == (i > j)
        assert (low >= high) == (i >= j)
        assert (low == high) == (i == j)


def test_role_ladder() -> None:
    assert Role.BOT < Role.AGENT < Role.SENIOR_AGENT < Role.SUPERVISOR < Role.MANAGER
    assert [role.rank for role in LADDER] == [0, 1, 2, 3, 4]
    assert all(role.on_ladder for role in LADDER)
    assert Role.SECURITY.rank is None
    assert not Role.SECURITY.on_ladder


def test_severity_order() -> None:
    assert Severity.LOW < Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL


@pytest.mark.parametrize("other", list(Role), ids=lambda role: role.value)
@pytest.mark.parametrize("compare", ORDERINGS, ids=lambda op: op.__name__)
def test_security_stands_outside_the_order(other: Role, compare: Any) -> None:
    with pytest.raises(TypeError, match="security"):
        compare(Role.SECURITY, other)
    with pytest.raises(TypeError, match="security"):
        compare(other, Role.SECURITY)


def test_security_still_compares_equal_and_hashes() -> None:
    assert Role.SECURITY == Role.SECURITY
    assert Role.SECURITY != Role.MANAGER
    assert {Role.SECURITY: 1}[Role("SECURITY")] == 1
    with pytest.raises(TypeError):
        sorted(Role)


@pytest.mark.parametrize("compare", ORDERINGS, ids=lambda op: op.__name__)
def test_role_and_severity_do_not_compare(compare: Any) -> None:
    with pytest.raises(TypeError):
        compare(Role.AGENT, Severity.LOW)
    with pytest.raises(TypeError):
        compare(Severity.HIGH, Role.MANAGER)


@pytest.mark.parametrize("compare", ORDERINGS, ids=lambda op: op.__name__)
@pytest.mark.parametrize(
    ("low", "high"),
    [(Role.SUPERVISOR, Role.MANAGER), (Role.AGENT, Role.BOT), (Severity.MEDIUM, Severity.HIGH)],
    ids=["supervisor-manager", "agent-bot", "medium-high"],
)
def test_ranked_enum_compared_with_its_value_follows_the_rank_or_refuses(
    compare: Any, low: Any, high: Any
) -> None:
    """``member <op> "value"`` must agree with ``member <op> Member("value")``, or raise."""
    for left, right in [(low, high.value), (high, low.value), (low.value, high)]:
        try:
            result = compare(left, right)
        except TypeError:
            continue
        assert result == compare(type(low)(left), type(low)(right))


# -- parties -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sts.TIME_ZONE_NAMES)
def test_customer_accepts_iana_time_zones(name: str) -> None:
    assert customer(timezone=name).timezone == name


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "", "Europe", "../../etc/passwd", "UTC\x00", "Europe/Nowhere"]
)
def test_customer_refuses_unknown_time_zones(name: str) -> None:
    with pytest.raises(ValidationError, match=r"Customer\.timezone .* not a known IANA time zone"):
        customer(timezone=name)


def _loads(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except Exception:
        return False
    return True


@given(name=st.text(max_size=20) | st.sampled_from(sts.TIME_ZONE_NAMES))
def test_customer_time_zone_is_kept_or_refused_with_a_validation_error(name: str) -> None:
    if _loads(name):
        assert customer(timezone=name).timezone == name
    else:
        with pytest.raises(ValidationError, match=r"Customer\.timezone"):
            customer(timezone=name)


@pytest.mark.parametrize("value", [None, 0, b"UTC"])
def test_customer_time_zone_must_be_a_str(value: object) -> None:
    with pytest.raises(ValidationError, match=r"Customer\.timezone"):
        customer(timezone=value)


def test_customer_opted_out_must_be_a_collection() -> None:
    with pytest.raises(ValidationError, match=r"Customer\.opted_out"):
        customer(opted_out="sms")
    assert not customer(opted_out=["sms"]).reachable_by(Channel.SMS)
    assert customer(opted_out=["sms"]).reachable_by(Channel.EMAIL)


@pytest.mark.parametrize("field", ["id", "tier"])
@pytest.mark.parametrize("value", ["", "   ", "\n\t", None, 5])
def test_customer_required_text(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=rf"Customer\.{field}"):
        customer(**{field: value})


def test_agent_id_customer_is_reserved() -> None:
    with pytest.raises(ValidationError, match=r"Agent\.id 'customer' is reserved"):
        Agent(id="customer")
    with pytest.raises(ValidationError, match="reserved"):
        Agent(id="customer", role="manager")


@given(agent=sts.agents())
def test_agents_may_use_any_other_id(agent: Agent) -> None:
    assert agent.id != "customer"
    assert Agent(id=agent.id, role=agent.role).is_bot == (agent.role is Role.BOT)


@pytest.mark.parametrize("value", ["", "  ", None, 7])
def test_agent_id_must_be_text(value: object) -> None:
    with pytest.raises(ValidationError, match=r"Agent\.id"):
        Agent(id=value)


# -- offers --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", MONETARY_KINDS, ids=lambda kind: kind.value)
def test_monetary_offer_needs_a_value(kind: OfferKind) -> None:
    with pytest.raises(ValidationError, match=f"offer of kind '{kind.value}' needs a value"):
        Offer(kind=kind)
    assert Offer(kind=kind, value=Money("0.01", "USD")).value == Money("0.01", "USD")


@pytest.mark.parametrize("kind", OTHER_KINDS, ids=lambda kind: kind.value)
def test_other_offers_need_no_value(kind: OfferKind) -> None:
    assert Offer(kind=kind).value is None
    assert Offer(kind=kind, value=Money(30, "EUR")).value == Money(30, "EUR")


@pytest.mark.parametrize("kind", DESCRIBED_KINDS, ids=lambda kind: kind.value)
def test_a_demand_that_is_not_money_says_what_it_is(kind: OfferKind) -> None:
    with pytest.raises(ValidationError, match=f"offer of kind '{kind.value}' needs a description"):
        Offer(kind=kind)
    with pytest.raises(ValidationError, match="needs a description"):
        Offer(kind=kind, description=" \u200b ")
    year = Offer(kind=kind, description="a free year of service")
    assert year.value is None
    worth = Offer(kind=kind, description="an upgrade to business class", value=Money(900, "EUR"))
    assert worth.value == Money(900, "EUR")


@pytest.mark.parametrize("kind", list(OfferKind), ids=lambda kind: kind.value)
@given(amount=sts.money())
def test_offer_value_must_be_positive(kind: OfferKind, amount: Money) -> None:
    if amount.is_zero or amount.is_negative:
        with pytest.raises(ValidationError, match=r"Offer\.value must be more than zero"):
            Offer(kind=kind, value=amount, description="something")
    else:
        assert Offer(kind=kind, value=amount, description="something").value == amount


@pytest.mark.parametrize("kind", list(OfferKind), ids=lambda kind: kind.value)
@pytest.mark.parametrize("amount", [Money(0, "USD"), Money("-0.01", "USD"), Money(-5, "JPY")])
def test_offer_refuses_zero_and_negative_values(kind: OfferKind, amount: Money) -> None:
    with pytest.raises(ValidationError, match="more than zero"):
        Offer(kind=kind, value=amount, description="something")


@pytest.mark.parametrize("value", [Decimal("10.00"), 10, "10.00"])
def test_offer_value_must_be_money(value: object) -> None:
    with pytest.raises(ValidationError, match=r"Offer\.value must be Money"):
        Offer(kind="refund", value=value)


def test_offer_ids_are_made_and_unique() -> None:
    first, second = Offer(kind="goodwill"), Offer(kind="goodwill")
    assert first.id.startswith("offer-")
    assert first.id != second.id
    assert first.same_terms(second)
    assert first != second


# -- reasons and guidance ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Reason, Guidance])
@given(code=sts.codes())
def test_snake_case_codes_are_accepted(cls: type[Any], code: str) -> None:
    assert cls(code=code, text="Some text.").code == code


BAD_CODES = [
    "",
    "CustomerIsAngry",
    "Customer_is_angry",
    "customer is angry",
    "customer-is-angry",
    "customer__is_angry",
    "_customer",
    "customer_",
    "1st_contact",
    "café",
    "customer.angry",
    " customer",
    "customer ",
]


@pytest.mark.parametrize("cls", [Reason, Guidance])
@pytest.mark.parametrize("code", BAD_CODES)
def test_other_codes_are_refused(cls: type[Any], code: str) -> None:
    with pytest.raises(ValidationError, match=rf"{cls.__name__}\.code must be a snake_case"):
        cls(code=code, text="Some text.")


@pytest.mark.parametrize("cls", [Reason, Guidance])
def test_code_with_a_trailing_newline_is_refused(cls: type[Any]) -> None:
    with pytest.raises(ValidationError, match="snake_case"):
        cls(code="customer_is_angry\n", text="Some text.")


@pytest.mark.parametrize("cls", [Reason, Guidance])
@pytest.mark.parametrize("code", [None, 3, b"code"])
def test_code_must_be_a_str(cls: type[Any], code: object) -> None:
    with pytest.raises(ValidationError, match="snake_case"):
        cls(code=code, text="Some text.")


@pytest.mark.parametrize("cls", [Reason, Guidance])
@pytest.mark.parametrize("text", ["", "   ", None])
def test_text_must_be_a_sentence(cls: type[Any], text: object) -> None:
    with pytest.raises(ValidationError, match=rf"{cls.__name__}\.text must be a non-empty"):
        cls(code="code", text=text)


def test_reason_str() -> None:
    assert str(REASON) == "agent_request: The agent asked for help."


# -- signals -----------------------------------------------------------------------------------


@given(signals=sts.signals())
def test_signals_in_range_are_accepted(signals: Signals) -> None:
    assert -1 <= signals.sentiment <= 1
    assert 0 <= signals.anger <= 1


@given(
    value=st.floats(allow_nan=True).filter(lambda x: not (-1 <= x <= 1)),
)
def test_sentiment_out_of_range_is_refused(value: float) -> None:
    with pytest.raises(ValidationError, match=r"Signals.sentiment must be a number from -1"):
        Signals(sentiment=value)


@given(value=st.floats(allow_nan=True).filter(lambda x: not (0 <= x <= 1)))
def test_anger_out_of_range_is_refused(value: float) -> None:
    with pytest.raises(ValidationError, match=r"Signals.anger must be a number from 0"):
        Signals(anger=value)


@pytest.mark.parametrize("field", ["sentiment", "anger"])
@pytest.mark.parametrize("value", [True, False, "0.5", None, Decimal("0.5")])
def test_signal_levels_must_be_numbers(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=rf"Signals\.{field}"):
        Signals(**{field: value})


@pytest.mark.parametrize(
    "field", ["abusive", "threat", "legal_threat", "wants_manager", "repeat_contact", "shouting"]
)
@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_signal_flags_must_be_bools(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=rf"Signals\.{field} must be bool"):
        Signals(**{field: value})


def test_signal_bounds_are_inclusive() -> None:
    assert Signals(sentiment=-1, anger=1).sentiment == -1
    assert Signals(sentiment=1.0, anger=0.0).anger == 0.0


# -- other validators ----------------------------------------------------------------------


OTHER_INVALID: list[tuple[str, Callable[[], object]]] = [
    ("Conversation.version", lambda: conversation(version=-1)),
    ("Conversation.version", lambda: conversation(version=True)),
    ("Conversation.reopens", lambda: conversation(reopens=-1)),
    ("Conversation.stage", lambda: conversation(stage="")),
    ("Conversation.stage", lambda: conversation(stage=None)),
    ("the string 'hello'", lambda: conversation(messages="hello")),
    ("Conversation.customer must be Customer", lambda: conversation(customer="cust-1")),
    (
        "JournalEntry.seq",
        lambda: JournalEntry(
            conversation_id="v", seq=-1, at=NOW, kind="open", actor="a", stage="s"
        ),
    ),
    (
        "FollowUp.attempts",
        lambda: FollowUp(
            id="f",
            key="k",
            conversation_id="v",
            customer_id="c",
            channel="sms",
            due_at=NOW,
            attempts=-1,
        ),
    ),
    (
        "EscalationDecision.reasons",
        lambda: EscalationDecision(
            to="manager", from_role="agent", urgency="high", reasons=[], brief=BRIEF
        ),
    ),
    ("Issue.summary", lambda: Issue(category="c", severity="low", summary=" ")),
    ("Issue.order_value", lambda: Issue(category="c", severity="low", summary="s", order_value=5)),
    ("Message.author", lambda: Message(author="", text="hi", at=NOW)),
    ("Message.text", lambda: Message(author="customer", text=None, at=NOW)),
    ("Apology.text", lambda: Apology(text="")),
    ("HandoffBrief.summary", lambda: HandoffBrief(summary=None)),
    ("Handoff.from_agent", lambda: Handoff(from_agent="a", to_agent=AGENT, at=NOW)),
    (
        "ProposedOffer.proposed_by",
        lambda: ProposedOffer(offer=OFFER, status="open", proposed_by="", proposed_at=NOW),
    ),
    (
        "not a valid OfferStatus",
        lambda: ProposedOffer(offer=OFFER, status="maybe", proposed_by="a", proposed_at=NOW),
    ),
]


@pytest.mark.parametrize(
    ("expected", "build"), [pytest.param(e, b, id=e) for e, b in OTHER_INVALID]
)
def test_other_fields_are_validated(expected: str, build: Callable[[], object]) -> None:
    with pytest.raises(ValidationError) as raised:
        build()
    assert expected in str(raised.value)


def test_custom_stage_is_kept_as_text() -> None:
    assert conversation(stage="awaiting_parts").stage == "awaiting_parts"
    assert conversation(stage="resolving").stage is Stage.RESOLVING


# -- repr hides personal data --------------------------------------------------------------

secrets = st.uuids().map(lambda u: f"SECRET-{u}")


@given(name=secrets, email=secrets, phone=secrets)
def test_customer_repr_hides_name_and_contact(name: str, email: str, phone: str) -> None:
    text = repr(customer(name=name, email=email, phone=phone))
    assert "SECRET-" not in text
    assert "<hidden>" in text


@given(secret=secrets)
def test_message_repr_hides_text(secret: str) -> None:
    text = repr(Message(author="customer", text=secret, at=NOW))
    assert secret not in text
    assert f"<{len(secret)} chars>" in text


@given(secret=secrets)
def test_issue_repr_hides_summary(secret: str) -> None:
    assert secret not in repr(Issue(category="billing", severity="low", summary=secret))


@given(secret=secrets)
def test_apology_repr_hides_text(secret: str) -> None:
    assert secret not in repr(Apology(text=secret, by="agent-1", at=NOW))


@given(summary=secrets, tried=secrets, apology=secrets)
def test_handoff_brief_repr_hides_summary(summary: str, tried: str, apology: str) -> None:
    text = repr(HandoffBrief(summary=summary, tried=[tried], apologies=[apology]))
    assert "SECRET-" not in text


@given(data=st.data())
def test_conversation_repr_hides_personal_data(data: st.DataObject) -> None:
    def secret() -> str:
        return data.draw(secrets)

    brief = HandoffBrief(summary=secret(), apologies=[secret()])
    record = conversation(
        customer=customer(name=secret(), email=secret(), phone=secret()),
        issue=Issue(category="billing", severity="high", summary=secret()),
        messages=[
            Message(author="customer", text=secret(), at=NOW),
            Message(author=AGENT.id, text=secret(), at=NOW),
        ],
        summary=secret(),
        apologies=[Apology(text=secret(), by=AGENT.id, at=NOW)],
        offers=[
            ProposedOffer(
                offer=OFFER,
                status="declined",
                proposed_by=AGENT.id,
                proposed_at=NOW,
                decided_at=NOW,
                decline_reason=secret(),
            )
        ],
        escalations=[
            EscalationDecision(
                to="supervisor", from_role="agent", urgency="normal", reasons=[REASON], brief=brief
            )
        ],
        handoffs=[Handoff(from_agent=AGENT, to_agent=SUPERVISOR, at=NOW, brief=brief)],
        feedback=secret(),
    )
    assert "SECRET-" not in repr(record)
    assert "SECRET-" not in str(record)


@given(record=sts.conversations(), data=st.data())
def test_any_conversation_repr_hides_personal_data(
    record: Conversation, data: st.DataObject
) -> None:
    def secret() -> str:
        return data.draw(secrets)

    record = attrs.evolve(
        record,
        customer=attrs.evolve(record.customer, name=secret(), email=secret(), phone=secret()),
        issue=attrs.evolve(record.issue, summary=secret()),
        messages=[attrs.evolve(message, text=secret()) for message in record.messages],
        summary=secret(),
        apologies=[attrs.evolve(apology, text=secret()) for apology in record.apologies],
        feedback=secret(),
    )
    assert "SECRET-" not in repr(record)


# -- frozen records ----------------------------------------------------------------------------

FROZEN = [pytest.param(strategy, id=name) for name, strategy in sts.ALL_RECORDS]


@pytest.mark.parametrize("strategy", FROZEN)
@settings(max_examples=10)  # structural: a few shapes of each record suffice, in any profile
@given(data=st.data())
def test_records_are_frozen(strategy: st.SearchStrategy[Any], data: st.DataObject) -> None:
    record = data.draw(strategy)
    for field in attrs.fields(type(record)):
        before = getattr(record, field.name)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(record, field.name, before)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            delattr(record, field.name)
        assert getattr(record, field.name) is before
    with pytest.raises((attrs.exceptions.FrozenInstanceError, AttributeError)):
        record.not_a_field = 1


# -- the error hierarchy ---------------------------------------------------------------------


def test_validation_error_is_a_playbook_error_and_a_value_error() -> None:
    assert issubclass(ValidationError, PlaybookError)
    assert issubclass(ValidationError, ValueError)
    assert issubclass(CurrencyMismatch, ValidationError)


INVALID = [
    pytest.param(lambda: Role("boss"), id="Role"),
    pytest.param(lambda: Money(0.5, "USD"), id="Money-float"),
    pytest.param(lambda: Money(1, "USD") + Money(1, "EUR"), id="CurrencyMismatch"),
    pytest.param(lambda: customer(timezone="Mars/Base"), id="Customer"),
    pytest.param(lambda: Agent(id="customer"), id="Agent"),
    pytest.param(lambda: Offer(kind="refund"), id="Offer"),
    pytest.param(lambda: Reason(code="Bad Code", text="t"), id="Reason"),
    pytest.param(lambda: Signals(anger=2), id="Signals"),
    pytest.param(lambda: Message(author="a", text="t", at=NAIVE), id="Message"),
    pytest.param(lambda: conversation(opened_at=NAIVE), id="Conversation"),
    pytest.param(lambda: Issue(category="c", severity="bad", summary="s"), id="Issue"),
]


@pytest.mark.parametrize("build", INVALID)
def test_every_validation_error_is_a_playbook_error_and_a_value_error(
    build: Callable[[], object],
) -> None:
    with pytest.raises(ValidationError) as raised:
        build()
    assert isinstance(raised.value, PlaybookError)
    assert isinstance(raised.value, ValueError)
    assert str(raised.value)


@given(secret=st.uuids())
def test_error_messages_show_the_offending_value(secret: uuid.UUID) -> None:
    with pytest.raises(ValidationError, match=str(secret)):
        Role(str(secret))


def test_signals_name_their_language_as_a_bcp47_tag() -> None:
    assert Signals().language == "und"
    assert Signals(language="pt-BR").language == "pt-BR"
    for bad in ("", "english", "EN", "e", 5, "en_US"):
        with pytest.raises(ValidationError, match="BCP 47"):
            Signals(language=bad)  # type: ignore[arg-type]


def test_a_sarcastic_customer_is_upset_whatever_the_words_sentiment() -> None:
    assert Signals(sentiment=0.6, sarcastic=True).upset
    assert not Signals(sentiment=0.6).upset


def test_an_unread_message_asks_the_agent_to_read_it() -> None:
    from serviceplaybook import Playbook
    from serviceplaybook.testing.contracts import conversation

    guidance = Playbook().signal_guidance(conversation(), Signals(language="nl", assessed=False))
    assert [g.code for g in guidance] == ["read_it_yourself"]
    assert "'nl'" in guidance[0].text


@given(
    st.text(
        alphabet=st.sampled_from(" \t\n\u00a0\u2003\u200b\u200c\u200d\u2060\ufeff\u202eaZ0é.")
        | st.characters(),
        max_size=12,
    )
)
def test_blank_means_nothing_visible(text: str) -> None:
    """blank() is true exactly when every character is white space or an invisible format
    character (Unicode category Cf), as a reader of the message would see it."""
    from serviceplaybook._records.validate import blank

    expected = all(c.isspace() or unicodedata.category(c) == "Cf" for c in text)
    assert blank(text) is expected


def test_abusive_before_looks_only_at_messages_before_the_latest() -> None:
    """The boundary rule of the playbook and the escalation policy: abuse counts as coming
    after a boundary only when an earlier message, not the one being handled, was abusive."""
    calm = Signals(sentiment=0.0)
    abusive = Signals(sentiment=-0.9, abusive=True)
    first_abuse = conversation(signals=(calm, abusive))
    assert not first_abuse.abusive_before(abusive)  # the latest, already recorded
    assert first_abuse.abusive_before(Signals(sentiment=-0.8, abusive=True))  # a new one
    assert first_abuse.abusive_before()
    assert not conversation(signals=(calm,)).abusive_before(abusive)
    again = conversation(signals=(abusive, calm, abusive))
    assert again.abusive_before(abusive)
