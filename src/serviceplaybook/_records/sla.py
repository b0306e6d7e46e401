"""SLA records: targets, escalation steps, the clocks' state and the steps that fired."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from serviceplaybook._errors import ConfigError, ValidationError
from serviceplaybook._records.enums import Choice
from serviceplaybook._records.parties import Role
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.validate import aware, non_negative_int, of_type, to_tuple


@attrs.frozen(kw_only=True)
class SlaStepReached:
    """An SLA escalation step that fired, as recorded in the conversation.

    Attributes:
        index: the step's position in the policy's step list (0 is the first threshold).
        after: the step's threshold, in business time counted by the SLA clock.
        to: the role the step escalates to.
        at: when the check that found it ran.
    """

    index: int = attrs.field(validator=non_negative_int)
    after: timedelta = attrs.field(validator=of_type(timedelta))
    to: Role = attrs.field(converter=Role)
    at: datetime = attrs.field(validator=aware)


def _duration(value: timedelta) -> str:
    hours, rest = divmod(value.total_seconds(), 3600)
    if rest == 0:
        return f"{hours:g}h"
    return f"{value.total_seconds() / 60:g}m"


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _target(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, timedelta) or value <= timedelta():
        raise ConfigError(
            f"{type(instance).__name__}.{attribute.name} must be a positive timedelta (business "
            f"time) or None for no target, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class SlaTargets:
    """How much business time each clock may run before it is breached.

    Attributes:
        first_response: until the first agent message; ``None`` for no target.
        next_response: from an unanswered customer message to the agent's next message.
        resolution: from opening to resolution, not counting time waiting on the customer.

    Raises:
        ConfigError: for a target that is not a positive timedelta.
    """

    first_response: timedelta | None = attrs.field(default=None, validator=_target)
    next_response: timedelta | None = attrs.field(default=None, validator=_target)
    resolution: timedelta | None = attrs.field(default=None, validator=_target)

    def __attrs_post_init__(self) -> None:
        first, resolution = self.first_response, self.resolution
        if first is not None and resolution is not None and resolution < first:
            raise ConfigError(
                f"SlaTargets.resolution ({_duration(resolution)}) is shorter than "
                f"first_response ({_duration(first)}): a conversation could not be resolved "
                f"in time even when answered in time; make resolution at least "
                f"{_duration(first)}"
            )

    def for_clock(self, kind: SlaClockKind) -> timedelta | None:
        """The target of one clock.

        Args:
            kind: which clock.
        """
        return {
            SlaClockKind.FIRST_RESPONSE: self.first_response,
            SlaClockKind.NEXT_RESPONSE: self.next_response,
            SlaClockKind.RESOLUTION: self.resolution,
        }[kind]


def _step_role(value: str) -> Role:
    try:
        role = Role(value)
    except ValidationError as error:
        raise ConfigError(f"SlaStep.to: {error}") from None
    if role in (Role.BOT, Role.SECURITY):
        raise ConfigError(
            f"SlaStep.to must be a person on the escalation ladder (agent to manager), got "
            f"{role.value!r}: a slow answer goes up the ladder, not to a bot or to security"
        )
    return role


@attrs.frozen(kw_only=True)
class SlaStep:
    """An escalation step on the resolution clock.

    Attributes:
        after: the threshold, in business time on the resolution clock.
        to: the role the step escalates to.

    Raises:
        ConfigError: for a threshold that is not a positive timedelta, or a bot or security.
    """

    after: timedelta = attrs.field(validator=_target)
    to: Role = attrs.field(converter=_step_role)


class SlaClockKind(Choice):
    """The three SLA clocks."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class ClockState(Choice):
    """Whether a clock is counting."""

    RUNNING = "running"
    """Counting business time now."""
    PAUSED = "paused"
    """Waiting on the customer: not counting until they write."""
    STOPPED = "stopped"
    """Done: answered, or the conversation was resolved, closed or terminated."""


CLOCK_WORDS = {
    SlaClockKind.FIRST_RESPONSE: "first response",
    SlaClockKind.NEXT_RESPONSE: "next response",
    SlaClockKind.RESOLUTION: "resolution",
}


def _optional_timedelta(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        of_type(timedelta)(instance, attribute, value)


def _optional_aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        aware(instance, attribute, value)


@attrs.frozen(kw_only=True)
class SlaClock:
    """One clock's reading at a check.

    Attributes:
        kind: which clock.
        state: running, paused (waiting on the customer) or stopped.
        started_at: when it started.
        stopped_at: when it stopped, if it did.
        target: its target in business time (``None``: no target).
        elapsed: business time counted so far (pauses excluded).
        paused: business time spent paused (waiting on the customer).
        due_at: when ``elapsed`` reaches ``target`` (in the calendar's zone): in the past for
            a breached clock; ``None`` without a target, or while paused or stopped before
            reaching it (it depends on when the customer writes, or never comes).
    """

    kind: SlaClockKind = attrs.field(converter=SlaClockKind)
    state: ClockState = attrs.field(converter=ClockState)
    started_at: datetime = attrs.field(validator=aware)
    stopped_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    target: timedelta | None = attrs.field(default=None, validator=_optional_timedelta)
    elapsed: timedelta = attrs.field(validator=of_type(timedelta))
    paused: timedelta = attrs.field(default=timedelta(), validator=of_type(timedelta))
    due_at: datetime | None = attrs.field(default=None, validator=_optional_aware)

    @property
    def breached(self) -> bool:
        """True when the clock ran past its target."""
        return self.target is not None and self.elapsed > self.target

    @property
    def remaining(self) -> timedelta | None:
        """Business time left before the target (negative once breached; ``None`` without a
        target)."""
        return None if self.target is None else self.target - self.elapsed


@attrs.frozen(kw_only=True)
class SlaStatus:
    """The SLA clocks of one conversation at one moment, and what is due.

    Attributes:
        conversation_id: the conversation checked.
        at: when the check ran.
        targets: the targets that applied (by severity and tier, at the time of the check).
        waiting_on_customer: True while the conversation waits on the customer (the
            resolution clock is paused).
        first_response: the first-response clock.
        next_response: the latest next-response clock; ``None`` until the customer writes
            after a first response.
        resolution: the resolution clock.
        warnings: clocks close to their target (``<clock>_due_soon``).
        breaches: clocks past their target (``<clock>_breached``).
        steps_due: escalation steps reached and not yet recorded in
            ``conversation.sla_steps``, in threshold order; record each one, and it never
            comes back.
    """

    conversation_id: str = attrs.field(validator=of_type(str))
    at: datetime = attrs.field(validator=aware)
    targets: SlaTargets = attrs.field(validator=of_type(SlaTargets))
    waiting_on_customer: bool = attrs.field(validator=of_type(bool))
    first_response: SlaClock = attrs.field(validator=of_type(SlaClock))
    next_response: SlaClock | None = attrs.field(validator=of_type(SlaClock, type(None)))
    resolution: SlaClock = attrs.field(validator=of_type(SlaClock))
    warnings: tuple[Reason, ...] = attrs.field(default=(), converter=to_tuple)
    breaches: tuple[Reason, ...] = attrs.field(default=(), converter=to_tuple)
    steps_due: tuple[SlaStepReached, ...] = attrs.field(default=(), converter=to_tuple)

    @property
    def clocks(self) -> tuple[SlaClock, ...]:
        """Every clock present, first response first."""
        found = (self.first_response, self.next_response, self.resolution)
        return tuple(clock for clock in found if clock is not None)

    @property
    def breached(self) -> bool:
        """True when any clock is past its target."""
        return bool(self.breaches)
