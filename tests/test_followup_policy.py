"""``FollowUpPolicy``: properties over many customers, issues and times, and the rules one by
one.

Whatever the input, a planned follow-up is never on a channel the customer opted out of,
never before the resolution plus the delay, always inside the customer's business hours,
never within the cooldown of another follow-up to the customer, and on a windowed channel
(messaging) always before that window closes. Terminated conversations, conversations
closed without the customer, and conversations where the customer never wrote get none.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    BusinessCalendar,
    Channel,
    ConfigError,
    Conversation,
    Customer,
    FollowUp,
    FollowUpDecision,
    FollowUpPolicy,
    Issue,
    Message,
    Reason,
    Severity,
    Stage,
)
from strategies import customers

POLICY = FollowUpPolicy()
# 2025-2027, so that daylight-saving changes in every zone are crossed.
resolutions = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
quiet = st.integers(0, 72 * 60).map(lambda m: timedelta(minutes=m))


def resolved(
    customer: Customer,
    severity: Severity,
    channel: Channel,
    resolved_at: datetime,
    since_customer_spoke: timedelta | None = timedelta(minutes=5),
    **changes: object,
) -> Conversation:
    """A conversation resolved at ``resolved_at``; the customer last wrote before that."""
    opened = resolved_at - max(since_customer_spoke or timedelta(0), timedelta(hours=1))
    messages = []
    if since_customer_spoke is not None:
        messages.append(Message(author="customer", text="It broke", at=opened))
        messages.append(
            Message(author="customer", text="Thanks", at=resolved_at - since_customer_spoke)
        )
    messages.append(Message(author="agent-1", text="Fixed it for you", at=resolved_at))
    conversation = Conversation(
        id="conv-1",
        stage=Stage.RESOLVED,
        customer=customer,
        issue=Issue(category="billing", severity=severity, summary="Charged twice"),
        agent=Agent(id="agent-1"),
        channel=channel,
        opened_at=opened,
        updated_at=resolved_at,
        version=5,
        messages=messages,
        resolved_at=resolved_at,
    )
    return attrs.evolve(conversation, **changes)


def other_follow_up(customer: Customer, due: datetime, number: int = 0) -> FollowUp:
    return FollowUp(
        id=f"other-{number}",
        key=f"other-{number}",
        conversation_id=f"earlier-{number}",
        customer_id=customer.id,
        channel=Channel.EMAIL,
        due_at=due,
    )


@given(
    customer=customers(),
    severity=st.sampled_from(Severity),
    channel=st.sampled_from(Channel),
    resolved_at=resolutions,
    since_customer_spoke=quiet,
    recent_offsets=st.lists(st.integers(-90, 90).map(lambda d: timedelta(days=d)), max_size=3),
)
def test_a_planned_follow_up_keeps_every_rule(
    customer: Customer,
    severity: Severity,
    channel: Channel,
    resolved_at: datetime,
    since_customer_spoke: timedelta,
    recent_offsets: list[timedelta],
) -> None:
    conversation = resolved(customer, severity, channel, resolved_at, since_customer_spoke)
    recent = [
        other_follow_up(customer, resolved_at + offset, number)
        for number, offset in enumerate(recent_offsets)
    ]
    decision = POLICY.decide(conversation, recent=recent)
    assert decision.reasons
    assert all(isinstance(reason, Reason) for reason in decision.reasons)
    follow_up = decision.follow_up
    if follow_up is None:
        codes = {reason.code for reason in decision.reasons}
        assert codes & {"opted_out", "cooldown", "channel_window_closed"}, codes
        return
    assert POLICY.plan(conversation, recent=recent) == follow_up
    # never inside an opt-out
    assert customer.reachable_by(follow_up.channel)
    # never before the resolution plus the delay
    assert follow_up.due_at >= resolved_at + POLICY.delay(conversation)
    # always in the customer's opening hours, Monday to Friday 09:00-17:00 in their zone
    assert BusinessCalendar.standard(customer.timezone).is_open(follow_up.due_at)
    local = follow_up.due_at.astimezone(BusinessCalendar.standard(customer.timezone).timezone)
    assert local.weekday() < 5
    # the cooldown
    assert all(abs(other.due_at - follow_up.due_at) >= POLICY.cooldown for other in recent)
    # a messaging channel only inside its window after the customer's last message
    if follow_up.channel is Channel.MESSAGING:
        window_end = resolved_at - since_customer_spoke + timedelta(hours=24)
        assert follow_up.expires_at == window_end
        assert follow_up.due_at < window_end
    else:
        assert follow_up.expires_at is None
    # a call for severe issues and for top tiers, unless they opted out of calls
    if (severity >= Severity.HIGH or customer.tier == "platinum") and customer.reachable_by(
        Channel.PHONE
    ):
        assert follow_up.channel is Channel.PHONE
    assert (follow_up.conversation_id, follow_up.customer_id) == ("conv-1", customer.id)
    assert follow_up.key == "conv-1:follow-up:1"


@given(
    customer=customers(),
    resolved_at=resolutions,
    how=st.sampled_from(("terminated", "closed", "silent", "unresolved")),
)
def test_no_follow_up_when_the_conversation_ended_without_the_customer(
    customer: Customer, resolved_at: datetime, how: str
) -> None:
    base = resolved(customer, Severity.MEDIUM, Channel.EMAIL, resolved_at)
    conversation, code = {
        "terminated": (
            attrs.evolve(
                base,
                stage=Stage.TERMINATED,
                termination=Reason(code="threat", text="The customer threatened the agent."),
            ),
            "terminated",
        ),
        "closed": (attrs.evolve(base, stage=Stage.CLOSED), "closed_without_customer"),
        "silent": (
            resolved(customer, Severity.MEDIUM, Channel.EMAIL, resolved_at, None),
            "ended_without_customer",
        ),
        "unresolved": (
            attrs.evolve(base, stage=Stage.LISTENING, resolved_at=None),
            "not_resolved",
        ),
    }[how]
    decision = POLICY.decide(conversation)
    assert decision == FollowUpDecision(follow_up=None, reasons=decision.reasons)
    assert [reason.code for reason in decision.reasons] == [code]
    assert POLICY.plan(conversation) is None


MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def test_delay_by_severity_and_tier_then_the_next_opening() -> None:
    standard = Customer(id="c", timezone="Europe/Berlin")
    low = resolved(standard, Severity.LOW, Channel.EMAIL, MONDAY)
    planned = POLICY.plan(low)
    assert planned is not None
    assert planned.due_at == MONDAY + timedelta(days=3)  # Thursday 11:00 in Berlin: open
    gold = resolved(attrs.evolve(standard, tier="gold"), Severity.LOW, Channel.EMAIL, MONDAY)
    assert POLICY.delay(gold) == timedelta(days=1)
    friday_evening = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)  # 19:00 in Berlin
    late = POLICY.plan(resolved(standard, Severity.HIGH, Channel.EMAIL, friday_evening))
    assert late is not None
    assert late.due_at == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
    assert late.channel is Channel.PHONE


def test_messaging_falls_back_when_its_window_closes_first() -> None:
    soon = FollowUpPolicy(delays=dict.fromkeys(Severity, timedelta(hours=4)))
    customer = Customer(id="c", preferred_channel=Channel.MESSAGING, opted_out={Channel.PHONE})
    recent_message = resolved(customer, Severity.HIGH, Channel.CHAT, MONDAY, timedelta(hours=1))
    by_messaging = soon.plan(recent_message)
    assert by_messaging is not None
    assert by_messaging.channel is Channel.MESSAGING  # due at 14:00, the window ends at 09:00
    assert by_messaging.expires_at == MONDAY + timedelta(hours=23)
    stale_message = resolved(customer, Severity.HIGH, Channel.CHAT, MONDAY, timedelta(hours=21))
    decision = soon.decide(stale_message)
    assert decision.follow_up is not None
    assert decision.follow_up.channel is Channel.CHAT  # the window closed an hour too soon
    assert [r.code for r in decision.reasons] == ["channel_window_closed", "follow_up_by_chat"]
    # with the default delay of a day, a 24-hour window is always gone
    assert POLICY.decide(recent_message).follow_up.channel is Channel.CHAT  # type: ignore[union-attr]


def test_opted_out_of_everything() -> None:
    customer = Customer(id="c", opted_out=set(Channel))
    decision = POLICY.decide(resolved(customer, Severity.LOW, Channel.EMAIL, MONDAY))
    assert [r.code for r in decision.reasons] == ["opted_out"]


def test_cooldown_counts_before_and_after() -> None:
    customer = Customer(id="c")
    conversation = resolved(customer, Severity.MEDIUM, Channel.EMAIL, MONDAY)
    due = MONDAY + timedelta(days=2)
    for offset in (timedelta(days=-29), timedelta(days=29)):
        recent = [other_follow_up(customer, due + offset)]
        assert [r.code for r in POLICY.decide(conversation, recent=recent).reasons] == ["cooldown"]
    recent = [other_follow_up(customer, due - timedelta(days=30))]
    assert POLICY.plan(conversation, recent=recent) is not None
    assert FollowUpPolicy(cooldown=timedelta(0)).plan(conversation, recent=recent) is not None


def test_one_rule_overridden() -> None:
    class CallEveryone(FollowUpPolicy):
        def channels(self, conversation: Conversation) -> list[Channel]:
            return [Channel.PHONE]

    planned = CallEveryone().plan(resolved(Customer(id="c"), Severity.LOW, Channel.EMAIL, MONDAY))
    assert planned is not None
    assert planned.channel is Channel.PHONE


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigError, match="no delay for"):
        FollowUpPolicy(delays={Severity.LOW: timedelta(days=1)})
    with pytest.raises(ConfigError, match="cooldown"):
        FollowUpPolicy(cooldown=timedelta(days=-1))
    with pytest.raises(ConfigError, match="positive"):
        FollowUpPolicy(channel_windows={Channel.SMS: timedelta(0)})
    with pytest.raises(ConfigError):
        FollowUpPolicy(open="25:00")


def test_expires_at_must_come_after_due_at() -> None:
    with pytest.raises(ValueError, match="expires_at"):
        attrs.evolve(other_follow_up(Customer(id="c"), MONDAY), expires_at=MONDAY)
