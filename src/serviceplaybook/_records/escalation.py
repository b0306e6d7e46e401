"""Escalation records: the decision to hand a conversation up, and the brief that goes with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.enums import Choice
from serviceplaybook._records.offers import Offer
from serviceplaybook._records.parties import Role
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.validate import of_type, optional_aware, to_tuple


class Urgency(Choice):
    """How quickly the next person must take over."""

    NORMAL = "normal"
    HIGH = "high"
    IMMEDIATE = "immediate"


@attrs.frozen(kw_only=True)
class HandoffBrief:
    """Everything the next person needs so the customer never repeats their story.

    Attributes:
        summary: the problem as understood (the agent's summary, else the issue's).
        tried: what was tried so far, one line each (offers and how the customer answered,
            earlier handoffs).
        offers_declined: offers the customer already turned down (never offer them again).
        apologies: the apologies already given, word for word.
        mood: the customer's mood now and its trend, e.g. ``"angry, worsening"``.
        confirmed: True when the customer confirmed ``summary`` (no need to ask again).
        facts: what else the next person should know without asking: severity, order value,
            tier, reopens, repeat contact, pending approvals, SLA steps reached.
    """

    summary: str = attrs.field(validator=of_type(str), repr=False)
    tried: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, repr=False)
    offers_declined: tuple[Offer, ...] = attrs.field(default=(), converter=to_tuple)
    apologies: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, repr=False)
    mood: str = attrs.field(default="unknown", validator=of_type(str))
    confirmed: bool = attrs.field(default=False, validator=of_type(bool))
    facts: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, repr=False)


def _at_least_one(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not value:
        raise ValidationError("EscalationDecision.reasons must hold at least one Reason")


@attrs.frozen(kw_only=True)
class EscalationDecision:
    """A decision to hand the conversation to a higher role (or to security).

    Attributes:
        to: the role that takes over.
        from_role: the role of the agent who had the conversation.
        urgency: how quickly.
        reasons: every rule that fired, at least one.
        brief: the context for the next person.
        terminate: True when the conversation ends here (a threat, continued abuse).
        at: when it was decided (the time of the event that triggered it); SLA steps
            recorded after it are the ones not yet acted on.
    """

    to: Role = attrs.field(converter=Role)
    from_role: Role = attrs.field(converter=Role)
    urgency: Urgency = attrs.field(converter=Urgency)
    reasons: tuple[Reason, ...] = attrs.field(converter=to_tuple, validator=_at_least_one)
    brief: HandoffBrief = attrs.field(validator=of_type(HandoffBrief))
    terminate: bool = attrs.field(default=False, validator=of_type(bool))
    at: datetime | None = attrs.field(default=None, validator=optional_aware)

    @property
    def codes(self) -> tuple[str, ...]:
        """The reasons' codes."""
        return tuple(reason.code for reason in self.reasons)
