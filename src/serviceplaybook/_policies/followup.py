"""Follow-ups: checking back after a resolution that the fix worked, and asking for feedback.

The craft: follow up by the customer's preferred channel, at a sensible hour; don't survey
too often; never follow up after a termination; a reply or a reopen cancels the follow-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from serviceplaybook._errors import ConfigError
from serviceplaybook._policies.calendar import BusinessCalendar
from serviceplaybook._records.followup import FollowUp, FollowUpDecision
from serviceplaybook._records.issue import Severity
from serviceplaybook._records.parties import Channel, Customer
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import non_empty, normal_keyed, normal_names

if TYPE_CHECKING:
    from serviceplaybook._records.conversation import Conversation


def _delays(value: Mapping[Any, timedelta]) -> dict[Severity, timedelta]:
    delays = {Severity(key): delay for key, delay in value.items()}
    missing = [str(s) for s in Severity if s not in delays]
    if missing:
        raise ConfigError(f"FollowUpPolicy.delays has no delay for {', '.join(missing)}")
    if any(not isinstance(d, timedelta) or d < timedelta(0) for d in delays.values()):
        raise ConfigError("FollowUpPolicy.delays must be durations of 0 or more")
    return delays


def _tier_delays(value: object) -> dict[str, timedelta]:
    def delay(tier: str, value: object) -> timedelta:
        if not isinstance(value, timedelta) or value < timedelta(0):
            raise ConfigError(
                f"FollowUpPolicy.tier_delays[{tier!r}] must be a duration of 0 or more, got "
                f"{value!r}"
            )
        return value

    return normal_keyed(value, "FollowUpPolicy.tier_delays", delay, error=ConfigError)


def _call_tiers(value: object) -> frozenset[str]:
    return normal_names(value, "FollowUpPolicy.call_tiers", error=ConfigError)


def _windows(value: Mapping[Any, timedelta]) -> dict[Channel, timedelta]:
    windows = {Channel(key): window for key, window in value.items()}
    if any(not isinstance(w, timedelta) or w <= timedelta(0) for w in windows.values()):
        raise ConfigError("FollowUpPolicy.channel_windows must be positive durations")
    return windows


@attrs.define(kw_only=True)
class FollowUpPolicy:
    """Plans the follow-up after a resolution: whether, by which channel, and when.

    The rules, each a method to override: :meth:`skip` (termination, a conversation that
    ended without the customer), :meth:`delay` (by severity, sooner for top tiers),
    :meth:`channels` (a call for severe issues or top tiers, then the customer's preferred
    channel, the conversation's, email; opt-outs removed), :meth:`calendar` (the customer's
    business hours), :meth:`window` (a channel that may only answer the customer's last
    message for so long), :meth:`in_cooldown` (no second survey within ``cooldown``).

    Attributes:
        delays: how long after the resolution to follow up, per severity.
        tier_delays: a shorter delay for some tiers (the shorter of the two applies).
        call_from: from this severity on, call (if the customer can be called).
        call_tiers: tiers that get a call whatever the severity. Tier names here and in
            ``tier_delays`` are kept as :attr:`Customer.tier <serviceplaybook.Customer.tier>`
            keeps them (no surrounding spaces, no letter case): ``"VIP"`` matches ``"vip"``.
        cooldown: no follow-up within this long of another one to the same customer.
        channel_windows: channels that allow a business-initiated message only this long
            after the customer's last message (24 hours for ``MESSAGING``).
        open: opening time of the customer's business hours (Monday to Friday).
        close: closing time of the customer's business hours.
        purpose: the ``purpose`` of the follow-ups it plans.

    Raises:
        ConfigError: a severity without a delay, a negative delay or cooldown, or a window
            that is not positive.
    """

    delays: dict[Severity, timedelta] = attrs.field(
        converter=_delays,
        factory=lambda: {
            Severity.LOW: timedelta(days=3),
            Severity.MEDIUM: timedelta(days=2),
            Severity.HIGH: timedelta(days=1),
            Severity.CRITICAL: timedelta(days=1),
        },
    )
    tier_delays: dict[str, timedelta] = attrs.field(
        factory=lambda: {"gold": timedelta(days=1), "platinum": timedelta(days=1)},
        converter=_tier_delays,
    )
    call_from: Severity = attrs.field(default=Severity.HIGH, converter=Severity)
    call_tiers: frozenset[str] = attrs.field(default=frozenset({"platinum"}), converter=_call_tiers)
    cooldown: timedelta = timedelta(days=30)
    channel_windows: dict[Channel, timedelta] = attrs.field(
        converter=_windows, factory=lambda: {Channel.MESSAGING: timedelta(hours=24)}
    )
    open: str = "09:00"
    close: str = "17:00"
    purpose: str = attrs.field(default="check_fix_and_feedback", validator=non_empty)
    _calendars: dict[str, BusinessCalendar] = attrs.field(init=False, factory=dict, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.cooldown < timedelta(0):
            raise ConfigError(f"FollowUpPolicy.cooldown must be 0 or more, got {self.cooldown}")
        BusinessCalendar.standard("UTC", self.open, self.close)  # a bad time fails here

    def plan(
        self, conversation: Conversation, *, recent: Sequence[FollowUp] = ()
    ) -> FollowUp | None:
        """The follow-up for a just-resolved conversation, or ``None`` when there is none.

        Args:
            conversation: the conversation, resolved.
            recent: the customer's follow-ups that reached them or still may (what
                ``FollowUpScheduler.for_customer`` returns), for the cooldown.
        """
        return self.decide(conversation, recent=recent).follow_up

    def decide(
        self, conversation: Conversation, *, recent: Sequence[FollowUp] = ()
    ) -> FollowUpDecision:
        """Like :meth:`plan`, with the reasons for the channel and time, or for not planning."""
        skipped = self.skip(conversation)
        if skipped is not None:
            return FollowUpDecision(reasons=(skipped,))
        earliest = self.earliest(conversation)
        calendar = self.calendar(conversation.customer)
        passed_over: list[Reason] = []
        candidates = self.channels(conversation)
        if not candidates:
            return FollowUpDecision(reasons=(_OPTED_OUT,))
        for channel in candidates:
            due = calendar.next_open(earliest)
            expires = self.window(conversation, channel)
            if expires is not None and due >= expires:
                passed_over.append(
                    Reason(
                        code="channel_window_closed",
                        text=f"{channel.value} allows a message only shortly after the "
                        f"customer's last one, and that window closes before the follow-up "
                        f"is due.",
                    )
                )
                continue
            if self.in_cooldown(due, recent):
                return FollowUpDecision(reasons=(*passed_over, _COOLDOWN))
            return FollowUpDecision(
                follow_up=self.follow_up(conversation, channel, due, expires),
                reasons=(
                    *passed_over,
                    Reason(
                        code=f"follow_up_by_{channel.value}",
                        text=f"Check the fix worked and ask for feedback by {channel.value}, "
                        f"in the customer's business hours.",
                    ),
                ),
            )
        return FollowUpDecision(reasons=tuple(passed_over))

    # -- the rules ------------------------------------------------------------------------

    def skip(self, conversation: Conversation) -> Reason | None:
        """Why there must be no follow-up at all, or ``None``: not resolved, terminated, or
        ended without the customer (closed by the system, or the customer never wrote)."""
        if conversation.stage is Stage.TERMINATED or conversation.termination is not None:
            return _TERMINATED
        if conversation.stage is Stage.CLOSED:
            return _CLOSED
        if conversation.resolved_at is None:
            return _NOT_RESOLVED
        if conversation.last_customer_message is None:
            return _WITHOUT_CUSTOMER
        return None

    def delay(self, conversation: Conversation) -> timedelta:
        """How long after the resolution: by severity, or the tier's if shorter."""
        delay = self.delays[conversation.issue.severity]
        tier = self.tier_delays.get(conversation.customer.tier)
        return delay if tier is None else min(delay, tier)

    def earliest(self, conversation: Conversation) -> datetime:
        """The earliest moment for the follow-up: the resolution plus :meth:`delay`."""
        resolved = conversation.resolved_at or conversation.updated_at
        return resolved + self.delay(conversation)

    def channels(self, conversation: Conversation) -> list[Channel]:
        """The channels to try, best first, without those the customer opted out of: a call
        for severe issues or call tiers, then the channel the customer said they prefer (if
        they stated one), the conversation's own channel, and email last."""
        customer = conversation.customer
        candidates = [conversation.channel, Channel.EMAIL]
        if customer.preferred_channel is not None:
            candidates.insert(0, customer.preferred_channel)
        if conversation.issue.severity >= self.call_from or customer.tier in self.call_tiers:
            candidates.insert(0, Channel.PHONE)
        unique = dict.fromkeys(candidates)
        return [channel for channel in unique if customer.reachable_by(channel)]

    def calendar(self, customer: Customer) -> BusinessCalendar:
        """The customer's business hours: Monday to Friday, ``open`` to ``close``, in their
        time zone."""
        calendar = self._calendars.get(customer.timezone)
        if calendar is None:
            calendar = BusinessCalendar.standard(customer.timezone, self.open, self.close)
            self._calendars[customer.timezone] = calendar
        return calendar

    def window(self, conversation: Conversation, channel: Channel) -> datetime | None:
        """When ``channel`` stops allowing a business-initiated message (``None``: never).

        A channel in ``channel_windows`` is open that long after the customer's last
        message; closed at once if the customer never wrote.
        """
        length = self.channel_windows.get(channel)
        if length is None:
            return None
        last = conversation.last_customer_message
        return (last.at if last is not None else conversation.opened_at) + length

    def in_cooldown(self, due: datetime, recent: Sequence[FollowUp]) -> bool:
        """True if another follow-up to the customer is due within ``cooldown`` of ``due``."""
        return any(abs(other.due_at - due) < self.cooldown for other in recent)

    def follow_up(
        self,
        conversation: Conversation,
        channel: Channel,
        due: datetime,
        expires: datetime | None,
    ) -> FollowUp:
        """The follow-up record: its key numbers the conversation's follow-ups."""
        number = len(conversation.follow_ups) + 1
        key = f"{conversation.id}:follow-up:{number}"
        return FollowUp(
            id=key,
            key=key,
            conversation_id=conversation.id,
            customer_id=conversation.customer.id,
            channel=channel,
            due_at=due,
            purpose=self.purpose,
            expires_at=expires,
        )


_TERMINATED = Reason(
    code="terminated",
    text="The conversation was terminated; never follow up after a termination.",
)
_CLOSED = Reason(
    code="closed_without_customer",
    text="The conversation was closed without the customer; there is nothing to ask them.",
)
_NOT_RESOLVED = Reason(
    code="not_resolved", text="The conversation is not resolved, so there is no fix to check."
)
_WITHOUT_CUSTOMER = Reason(
    code="ended_without_customer",
    text="The customer never wrote in this conversation; a survey would come out of nowhere.",
)
_OPTED_OUT = Reason(
    code="opted_out",
    text="The customer opted out of every channel a follow-up could use.",
)
_COOLDOWN = Reason(
    code="cooldown",
    text="The customer already has a follow-up close to this one; don't survey too often.",
)
