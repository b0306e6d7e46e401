"""Who takes part in a conversation: customers, agents, their roles, and contact channels."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.enums import Choice, Ranked
from serviceplaybook._records.validate import identifier, normal_name, of_type

CUSTOMER = "customer"
"""The author of every message the customer writes (agents write under their own ids)."""


class Role(Ranked):
    """An agent's role, ordered along the escalation ladder.

    ``BOT < AGENT < SENIOR_AGENT < SUPERVISOR < MANAGER``. ``SECURITY`` stands aside: it is
    not above or below anyone, so comparing it with another role raises ``TypeError``; use
    :attr:`rank` (``None`` for security) where that matters.
    """

    BOT = "bot"
    AGENT = "agent"
    SENIOR_AGENT = "senior_agent"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    SECURITY = "security"

    def _rank(self) -> int | None:
        return None if self is Role.SECURITY else list(Role).index(self)

    @property
    def rank(self) -> int | None:
        """Position on the ladder (0 for a bot), or ``None`` for security."""
        return self._rank()

    @property
    def on_ladder(self) -> bool:
        """True for every role but security."""
        return self is not Role.SECURITY


class Channel(Choice):
    """How the customer is reached."""

    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    SMS = "sms"
    MESSAGING = "messaging"


@functools.cache
def _time_zones() -> frozenset[str]:
    # The IANA names only: ZoneInfo() alone also opens files such as "localtime".
    return frozenset(zoneinfo.available_timezones())


def _timezone(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"Customer.timezone must be an IANA name str, got {value!r}")
    if value != "UTC" and value not in _time_zones():
        raise ValidationError(
            f"Customer.timezone {value!r} is not a known IANA time zone; "
            f"use a name such as 'UTC', 'Europe/Berlin' or 'America/New_York'"
        ) from None


_NO_CHANNELS: frozenset[Channel] = frozenset()


def _channels(value: object) -> frozenset[Channel]:
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise ValidationError(f"Customer.opted_out must be a collection of channels, got {value!r}")
    channels = frozenset(Channel(item) for item in value)
    # Share one empty set: most customers opt out of nothing, and each empty frozenset
    # would otherwise cost ~200 bytes per conversation.
    return channels or _NO_CHANNELS


def _tier(value: object) -> str:
    return normal_name(value, "Customer.tier")


def _optional_channel(value: Channel | str | None) -> Channel | None:
    return None if value is None else Channel(value)


def _hidden(value: object) -> str:
    return "<hidden>" if value else repr(value)


@attrs.frozen(kw_only=True)
class Customer:
    """The customer in a conversation.

    Name and contact details never appear in ``repr`` (they end up in logs and tracebacks).

    Attributes:
        id: the host application's identifier for the customer.
        name: how to address them.
        tier: the customer's tier ("standard", "gold"...); policies key their rules on it.
            Kept as every policy compares tiers: without surrounding spaces or letter case
            (``Customer(id="c", tier=" VIP ").tier == "vip"``).
        timezone: IANA time-zone name, used to place follow-ups at a sensible hour.
        preferred_channel: how they said they like to be reached, or ``None`` when they
            stated no preference (a follow-up then goes on the conversation's channel).
        opted_out: channels they asked not to be contacted on.
        email: contact address, if the host app shares it.
        phone: contact number, if the host app shares it.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(default="", validator=of_type(str), repr=_hidden)
    tier: str = attrs.field(default="standard", converter=_tier)
    timezone: str = attrs.field(default="UTC", validator=_timezone)
    preferred_channel: Channel | None = attrs.field(default=None, converter=_optional_channel)
    opted_out: frozenset[Channel] = attrs.field(default=frozenset(), converter=_channels)
    email: str | None = attrs.field(default=None, validator=of_type(str, type(None)), repr=_hidden)
    phone: str | None = attrs.field(default=None, validator=of_type(str, type(None)), repr=_hidden)

    def reachable_by(self, channel: Channel) -> bool:
        """True unless the customer opted out of ``channel``."""
        return channel not in self.opted_out


@attrs.frozen(kw_only=True)
class Agent:
    """Whoever acts for the company: a person or a bot.

    Attributes:
        id: the host application's identifier; it is also the author of the agent's messages.
        name: how the agent introduces themselves.
        role: their place on the escalation ladder (``Role.BOT`` for a bot).
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(default="", validator=of_type(str))
    role: Role = attrs.field(default=Role.AGENT, converter=Role)

    def __attrs_post_init__(self) -> None:
        if self.id == CUSTOMER:
            raise ValidationError(
                f"Agent.id {CUSTOMER!r} is reserved for the customer's messages; "
                f"use the host application's id for the agent"
            )

    @property
    def is_bot(self) -> bool:
        """True for a bot."""
        return self.role is Role.BOT
