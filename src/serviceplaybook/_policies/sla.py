"""SLA clocks: first-response, next-response and resolution targets in business time.

The craft: address complaints promptly, before they intensify. :class:`SlaPolicy` turns that
into clocks a desk can check at any moment. ``SlaPolicy.check(conversation, now)`` is a pure
function of the conversation's record and ``now``: it reads who spoke when from
``conversation.messages`` and returns an :class:`SlaStatus`, so it can run anywhere, as often
as needed, and after any outage.

The clocks, all counted in business time on the policy's :class:`BusinessCalendar`:

- first response: from ``opened_at`` to the first agent message;
- next response: from the customer's first unanswered message after an agent's reply to the
  next agent message (the status shows the latest such wait);
- resolution: from ``opened_at`` to the resolution, paused while the conversation waits on
  the customer (from an agent's message until the customer's next message).

Every clock stops when the conversation is resolved, closed or terminated. Escalation steps
sit on the resolution clock; each fires exactly once: :attr:`SlaStatus.steps_due` lists every
step whose threshold has passed and whose index is not yet in ``conversation.sla_steps``, in
threshold order, so a checker that was down across several thresholds fires all of them, in
order, on its next check. The desk records them in ``conversation.sla_steps``, where the
:class:`~serviceplaybook.EscalationPolicy` reads them.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from serviceplaybook._errors import ConfigError
from serviceplaybook._policies.calendar import BusinessCalendar
from serviceplaybook._records.issue import Severity
from serviceplaybook._records.parties import Role
from serviceplaybook._records.reasons import Guidance, Reason
from serviceplaybook._records.sla import (
    CLOCK_WORDS,
    ClockState,
    SlaClock,
    SlaClockKind,
    SlaStatus,
    SlaStep,
    SlaStepReached,
    SlaTargets,
    hours,
)
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import normal_keyed, require_aware

if TYPE_CHECKING:
    from serviceplaybook._records.conversation import Conversation, Message


DEFAULT_TARGETS: Mapping[Severity, SlaTargets] = MappingProxyType(
    {
        Severity.LOW: SlaTargets(
            first_response=hours(8), next_response=hours(16), resolution=hours(80)
        ),
        Severity.MEDIUM: SlaTargets(
            first_response=hours(4), next_response=hours(8), resolution=hours(40)
        ),
        Severity.HIGH: SlaTargets(
            first_response=hours(1), next_response=hours(4), resolution=hours(16)
        ),
        Severity.CRITICAL: SlaTargets(
            first_response=timedelta(minutes=30), next_response=hours(1), resolution=hours(8)
        ),
    }
)
"""Business time per severity: a week of business hours to resolve a medium issue, a working
day for a critical one (our choice, not the craft's: configure your own)."""

DEFAULT_STEPS: tuple[SlaStep, ...] = (
    SlaStep(after=hours(12), to=Role.SUPERVISOR),
    SlaStep(after=hours(24), to=Role.MANAGER),
    SlaStep(after=hours(48), to=Role.MANAGER),
)
"""12 business hours without a resolution: a supervisor; 24 and again 48: a manager."""


def _severity_targets(value: object, what: str, *, complete: bool) -> dict[Severity, SlaTargets]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be a mapping of severity to SlaTargets, got {value!r}")
    targets: dict[Severity, SlaTargets] = {}
    for key, item in value.items():
        try:
            severity = Severity(key)
        except ValueError:
            raise ConfigError(
                f"{what} has the key {key!r}, which is not a severity; allowed: "
                f"{', '.join(s.value for s in Severity)}"
            ) from None
        if not isinstance(item, SlaTargets):
            raise ConfigError(f"{what}[{severity.value!r}] must be SlaTargets, got {item!r}")
        targets[severity] = item
    missing = [s.value for s in Severity if s not in targets]
    if complete and missing:
        raise ConfigError(f"{what} has no targets for {', '.join(missing)}; give every severity")
    return targets


def _targets(value: object) -> dict[Severity, SlaTargets]:
    return _severity_targets(value, "SlaPolicy.targets", complete=True)


def _tier_targets(value: object) -> dict[str, dict[Severity, SlaTargets]]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"SlaPolicy.tier_targets must map a tier to {{severity: SlaTargets}}, got {value!r}"
        )
    return normal_keyed(
        value,
        "SlaPolicy.tier_targets",
        lambda tier, targets: _severity_targets(
            targets, f"SlaPolicy.tier_targets[{tier!r}]", complete=False
        ),
        error=ConfigError,
    )


def _steps(value: object) -> tuple[SlaStep, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"SlaPolicy.steps must be a sequence of SlaStep, got {value!r}")
    steps = tuple(value)
    for step in steps:
        if not isinstance(step, SlaStep):
            raise ConfigError(f"SlaPolicy.steps must hold SlaStep records, got {step!r}")
    for earlier, later in itertools.pairwise(steps):
        if later.after <= earlier.after:
            raise ConfigError(
                f"SlaPolicy.steps thresholds must increase: {later.after} comes after "
                f"{earlier.after}; list the steps in the order they fire"
            )
        if later.to < earlier.to:
            raise ConfigError(
                f"SlaPolicy.steps never step down the ladder: {later.to.value!r} comes after "
                f"{earlier.to.value!r}"
            )
    return steps


def _warning_at(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ConfigError(
            f"SlaPolicy.warning_at is the share of a target after which a warning comes, "
            f"strictly between 0 and 1 (0.75 warns with a quarter left), got {value!r}"
        )


def _calendar(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, BusinessCalendar):
        raise ConfigError(
            f"SlaPolicy.calendar must be a BusinessCalendar, or None for the customer's own "
            f"business hours, got {value!r}"
        )


@functools.lru_cache(maxsize=256)
def _customer_calendar(timezone: str) -> BusinessCalendar:
    return BusinessCalendar.standard(timezone)


_STOPPED = frozenset({Stage.RESOLVED, Stage.FOLLOWING_UP, Stage.CLOSED, Stage.TERMINATED})


@attrs.frozen
class _Timeline:
    """Who the conversation waited on, read from its messages up to ``end``."""

    first_response: datetime | None
    pauses: tuple[tuple[datetime, datetime], ...]
    waits: tuple[tuple[datetime, datetime | None], ...]
    waiting_on_customer: bool


def _business(value: timedelta) -> str:
    seconds = abs(value.total_seconds())
    if seconds < 3600:
        return f"{seconds / 60:g} business minutes"
    return f"{seconds / 3600:g} business hours"


@attrs.define(kw_only=True)
class SlaPolicy:
    """Service-level targets in business time, their warnings, breaches and timed steps.

    Every rule is a small method, so an integrator overrides one: :meth:`calendar_for`
    (whose business hours count), :meth:`targets_for` (which targets apply),
    :meth:`steps_for` (the escalation steps), :meth:`is_response` (which messages answer
    the customer) and :meth:`stopped_at` (when the clocks stop).

    Attributes:
        calendar: the business hours every clock counts in; ``None`` (the default) uses the
            customer's own: Monday to Friday, 09:00-17:00 in ``customer.timezone``.
        targets: targets per severity (every severity needs one).
        tier_targets: per customer tier, targets that replace the severity's, e.g.
            ``{"platinum": {"high": SlaTargets(...)}}``; severities not listed keep
            ``targets``. Tier names are kept as :attr:`Customer.tier
            <serviceplaybook.Customer.tier>` keeps them (no surrounding spaces, no letter
            case), so ``"VIP"`` here matches a customer of tier ``" vip "``.
        warning_at: the share of a target after which a running clock warns (0.75: with a
            quarter of the target left).
        steps: escalation steps on the resolution clock, thresholds strictly increasing and
            roles never stepping down.

    Raises:
        ConfigError: for a bad calendar, missing or bad targets, a ``warning_at`` outside
            (0, 1), or steps that do not increase.
    """

    calendar: BusinessCalendar | None = attrs.field(default=None, validator=_calendar)
    targets: dict[Severity, SlaTargets] = attrs.field(
        factory=lambda: dict(DEFAULT_TARGETS), converter=_targets
    )
    tier_targets: dict[str, dict[Severity, SlaTargets]] = attrs.field(
        factory=dict, converter=_tier_targets
    )
    warning_at: float = attrs.field(default=0.75, validator=_warning_at)
    steps: tuple[SlaStep, ...] = attrs.field(default=DEFAULT_STEPS, converter=_steps)

    # -- the rules (override one to change it) -----------------------------------------

    def calendar_for(self, conversation: Conversation) -> BusinessCalendar:
        """The calendar the conversation's clocks count in: :attr:`calendar`, else Monday to
        Friday 09:00-17:00 in the customer's time zone.

        Args:
            conversation: the conversation checked.
        """
        if self.calendar is not None:
            return self.calendar
        return _customer_calendar(conversation.customer.timezone)

    def targets_for(self, conversation: Conversation) -> SlaTargets:
        """The targets for the issue's current severity and the customer's tier.

        The clocks are computed from the conversation's messages, never stored, so a change
        of severity changes only the target they are compared with: the time already
        elapsed and paused is kept.

        Args:
            conversation: the conversation checked.
        """
        severity = conversation.issue.severity
        tier = self.tier_targets.get(conversation.customer.tier, {})
        return tier.get(severity, self.targets[severity])

    def steps_for(self, conversation: Conversation) -> tuple[SlaStep, ...]:
        """The escalation steps on the conversation's resolution clock (:attr:`steps`).

        Args:
            conversation: the conversation checked.
        """
        return self.steps

    def is_response(self, message: Message, conversation: Conversation) -> bool:
        """True when ``message`` answers the customer (any message not from the customer).

        Args:
            message: one message of the conversation.
            conversation: the conversation checked.
        """
        return not message.from_customer

    def stopped_at(self, conversation: Conversation) -> datetime | None:
        """When the clocks stopped: the resolution for a resolved, following-up or closed
        conversation, the end for a terminated one; ``None`` while it is open (after a
        reopen the clocks run again).

        Args:
            conversation: the conversation checked.
        """
        stage = conversation.stage
        if stage not in _STOPPED:
            return None
        if stage == Stage.TERMINATED:
            return conversation.closed_at or conversation.updated_at
        return conversation.resolved_at or conversation.closed_at or conversation.updated_at

    # -- the check -------------------------------------------------------------------------

    def check(self, conversation: Conversation, now: datetime) -> SlaStatus:
        """Read every clock of ``conversation`` at ``now``.

        A pure function of its arguments: run it as often as you like; what it returns
        depends only on the record and ``now``.

        Args:
            conversation: the conversation.
            now: the moment of the check, timezone-aware.

        Returns:
            The clocks, warnings, breaches, and the escalation steps now due.

        Raises:
            ValidationError: for a naive ``now``.
        """
        require_aware(now, "SlaPolicy.check(now)")
        calendar = self.calendar_for(conversation)
        targets = self.targets_for(conversation)
        start = conversation.opened_at
        stop = self.stopped_at(conversation)
        stopped = stop is not None and stop <= now
        end = max(start, stop if stop is not None and stopped else now)
        timeline = self._timeline(conversation, start, end)

        first = self._first_response(calendar, targets, start, end, timeline, stopped)
        following = self._next_response(calendar, targets, end, timeline, stopped)
        resolution = self._resolution(calendar, targets, start, end, timeline, stopped, stop)

        clocks = [clock for clock in (first, following, resolution) if clock is not None]
        breaches = [self._breach(clock) for clock in clocks if clock.breached]
        warnings = [
            self._warning(clock)
            for clock in clocks
            if clock.state is ClockState.RUNNING
            and clock.target is not None
            and not clock.breached
            and clock.elapsed >= clock.target * self.warning_at
        ]
        steps_due: tuple[SlaStepReached, ...] = ()
        if not stopped:
            fired = {step.index for step in conversation.sla_steps}
            steps_due = tuple(
                SlaStepReached(index=index, after=step.after, to=step.to, at=now)
                for index, step in enumerate(self.steps_for(conversation))
                if resolution.elapsed >= step.after and index not in fired
            )
        return SlaStatus(
            conversation_id=conversation.id,
            at=now,
            targets=targets,
            waiting_on_customer=timeline.waiting_on_customer and not stopped,
            first_response=first,
            next_response=following,
            resolution=resolution,
            warnings=warnings,
            breaches=breaches,
            steps_due=steps_due,
        )

    def next_due(self, conversation: Conversation, now: datetime) -> datetime | None:
        """The earliest moment the SLA checker may find something due in ``conversation``:
        each running clock's target, and the next escalation step not yet recorded, counted
        from the clock's start in wall-clock time. Business time never runs faster than
        wall-clock time, so nothing is due before it (the checker's :meth:`check` then
        finds the exact state); ``None`` while the clocks are stopped or paused (the
        customer has the turn). The desk stores it as :attr:`Conversation.sla_due_at`.

        Cheap on purpose (no calendar arithmetic, one pass over the messages): the desk
        calls it with every event.

        Args:
            conversation: the conversation as it stands after an event.
            now: the moment of the event, timezone-aware.
        """
        if self.stopped_at(conversation) is not None:
            return None
        messages = conversation.messages
        if messages and self.is_response(messages[-1], conversation):
            return None  # waiting on the customer: every clock is paused
        targets = self.targets_for(conversation)
        opened = conversation.opened_at
        times: list[datetime] = []
        waiting_since = None  # the first customer message after the latest response
        responded = False
        for message in messages:
            if self.is_response(message, conversation):
                responded, waiting_since = True, None
            elif waiting_since is None:
                waiting_since = message.at
        if not responded:
            if targets.first_response is not None:
                times.append(opened + targets.first_response)
        elif targets.next_response is not None and waiting_since is not None:
            times.append(waiting_since + targets.next_response)
        if targets.resolution is not None:
            times.append(opened + targets.resolution)
        fired = {step.index for step in conversation.sla_steps}
        for index, step in enumerate(self.steps_for(conversation)):
            if index not in fired:  # thresholds increase: the first one left comes first
                times.append(opened + step.after)
                break
        return min(times, default=None)

    # -- internals -------------------------------------------------------------------------

    def _timeline(self, conversation: Conversation, start: datetime, end: datetime) -> _Timeline:
        first_response: datetime | None = None
        pauses: list[tuple[datetime, datetime]] = []
        waits: list[tuple[datetime, datetime | None]] = []
        waiting_on_customer = False
        paused_since = start
        for message in sorted(conversation.messages, key=lambda m: m.at):
            if message.at > end:
                break
            at = max(message.at, start)
            if self.is_response(message, conversation):
                if first_response is None:
                    first_response = at
                if waits and waits[-1][1] is None:
                    waits[-1] = (waits[-1][0], at)
                if not waiting_on_customer:
                    waiting_on_customer, paused_since = True, at
            elif waiting_on_customer:
                pauses.append((paused_since, at))
                waiting_on_customer = False
                waits.append((at, None))
        if waiting_on_customer:
            pauses.append((paused_since, end))
        return _Timeline(
            first_response=first_response,
            pauses=tuple(pauses),
            waits=tuple(waits),
            waiting_on_customer=waiting_on_customer,
        )

    def _first_response(
        self,
        calendar: BusinessCalendar,
        targets: SlaTargets,
        start: datetime,
        end: datetime,
        timeline: _Timeline,
        stopped: bool,
    ) -> SlaClock:
        answered = timeline.first_response
        return self._simple_clock(
            SlaClockKind.FIRST_RESPONSE,
            calendar,
            targets.first_response,
            start,
            answered or end,
            done=answered is not None or stopped,
        )

    def _next_response(
        self,
        calendar: BusinessCalendar,
        targets: SlaTargets,
        end: datetime,
        timeline: _Timeline,
        stopped: bool,
    ) -> SlaClock | None:
        if not timeline.waits:
            return None
        since, answered = timeline.waits[-1]
        return self._simple_clock(
            SlaClockKind.NEXT_RESPONSE,
            calendar,
            targets.next_response,
            since,
            answered or end,
            done=answered is not None or stopped,
        )

    def _resolution(
        self,
        calendar: BusinessCalendar,
        targets: SlaTargets,
        start: datetime,
        end: datetime,
        timeline: _Timeline,
        stopped: bool,
        stop: datetime | None,
    ) -> SlaClock:
        paused = sum(
            (calendar.between(since, until) for since, until in timeline.pauses), timedelta()
        )
        if stopped:
            state = ClockState.STOPPED
        elif timeline.waiting_on_customer:
            state = ClockState.PAUSED
        else:
            state = ClockState.RUNNING
        target = targets.resolution
        return SlaClock(
            kind=SlaClockKind.RESOLUTION,
            state=state,
            started_at=start,
            stopped_at=end if stopped else None,
            target=target,
            elapsed=calendar.between(start, end) - paused,
            paused=paused,
            due_at=None
            if target is None
            else self._due(calendar, target, start, end, timeline, state),
        )

    @staticmethod
    def _simple_clock(
        kind: SlaClockKind,
        calendar: BusinessCalendar,
        target: timedelta | None,
        start: datetime,
        until: datetime,
        *,
        done: bool,
    ) -> SlaClock:
        """A clock without pauses, from ``start`` to ``until`` (when it stopped, if ``done``,
        else now); it comes due when it reaches ``target``, unless it stopped short of it."""
        elapsed = calendar.between(start, until)
        return SlaClock(
            kind=kind,
            state=ClockState.STOPPED if done else ClockState.RUNNING,
            started_at=start,
            stopped_at=until if done else None,
            target=target,
            elapsed=elapsed,
            due_at=None
            if target is None or (done and elapsed < target)
            else calendar.add(start, target),
        )

    @staticmethod
    def _due(
        calendar: BusinessCalendar,
        target: timedelta,
        start: datetime,
        end: datetime,
        timeline: _Timeline,
        state: ClockState,
    ) -> datetime | None:
        """When the resolution clock reaches ``target``: walk its running stretches."""
        remaining = target
        cursor = start
        for since, until in (*timeline.pauses, (end, end)):
            stretch = calendar.between(cursor, since)
            if remaining <= stretch:
                return calendar.add(cursor, remaining)
            remaining -= stretch
            cursor = until
        if state is ClockState.RUNNING:
            return calendar.add(end, remaining)
        return None

    def alerts(self, status: SlaStatus) -> tuple[str, ...]:
        """The warnings and breaches of ``status``, one key per clock and alert: the reason's
        code and when its clock started (``"next_response_breached@2026-01-05T10:00:00+00:00"``),
        so that a next-response clock breached after every customer message counts each
        time, and one clock's breach is recorded once however often it is checked."""
        codes = {reason.code for reason in (*status.warnings, *status.breaches)}
        keys = []
        for clock in (status.first_response, status.next_response, status.resolution):
            if clock is None:
                continue
            for code in (f"{clock.kind.value}_due_soon", f"{clock.kind.value}_breached"):
                if code in codes:
                    keys.append(f"{code}@{clock.started_at.isoformat()}")
        return tuple(keys)

    @staticmethod
    def alert_code(key: str) -> str:
        """The reason's code of an alert key from :meth:`alerts`
        (``"next_response_breached"``)."""
        return key.partition("@")[0]

    def guidance(self, status: SlaStatus) -> Guidance:
        """What the agent does first when a clock is close to its target or past it: answer
        now. The desk puts it before every other step of ``check_sla``'s guidance."""
        reasons = (*status.breaches, *status.warnings)
        detail = " ".join(reason.text for reason in reasons)
        return Guidance(
            code="respond_now",
            text=f"Respond to the customer now, before anything else: {detail}".strip(),
        )

    def _breach(self, clock: SlaClock) -> Reason:
        """The reason for a clock past its target (override to reword)."""
        assert clock.target is not None
        words = CLOCK_WORDS[clock.kind]
        late = clock.elapsed - clock.target
        if clock.kind is SlaClockKind.RESOLUTION:
            text = (
                f"The resolution target of {_business(clock.target)} is missed by "
                f"{_business(late)}; resolve it now, before the complaint intensifies."
            )
        else:
            text = (
                f"The customer waited {_business(late)} past the {words} target of "
                f"{_business(clock.target)}; answer now, before the complaint intensifies."
            )
        return Reason(code=f"{clock.kind.value}_breached", text=text)

    def _warning(self, clock: SlaClock) -> Reason:
        """The reason for a running clock close to its target (override to reword)."""
        assert clock.target is not None
        assert clock.remaining is not None
        words = CLOCK_WORDS[clock.kind]
        due = f" (due {clock.due_at:%a %d %b %H:%M %Z})" if clock.due_at is not None else ""
        return Reason(
            code=f"{clock.kind.value}_due_soon",
            text=f"The {words} is due in {_business(clock.remaining)}{due}; "
            f"act before the target of {_business(clock.target)} is missed.",
        )
