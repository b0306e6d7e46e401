"""The report's records: figures per group, offers, compensation, patterns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from serviceplaybook._records.digest import FeedbackDigest

UNKNOWN = "(unknown)"
"""The group of conversations whose journal no longer says it (erased with a customer's data)."""


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@attrs.frozen(kw_only=True)
class Durations:
    """A spread of durations in business time.

    Attributes:
        count: how many were measured.
        median: the middle one (``None`` when none was measured).
        p90: nine in ten were at most this long.
        mean: the average.
    """

    count: int
    median: timedelta | None = None
    p90: timedelta | None = None
    mean: timedelta | None = None


@attrs.frozen(kw_only=True)
class Figures:
    """The figures of one group of conversations (all, a category, an agent, a week).

    Attributes:
        conversations: conversations in the group.
        escalated: conversations escalated at least once.
        escalations: escalation decisions recorded.
        apologies: apologies given.
        resolved: conversations resolved at least once.
        reopened: resolved conversations the customer reopened.
        sla_steps: SLA escalation steps that fired.
        sla_conversations: conversations in which at least one SLA step fired.
        sla_warnings: SLA warnings the checks found (a clock close to its target).
        sla_breaches: SLA breaches the checks found (a clock past its target).
        follow_ups_scheduled: follow-ups scheduled.
        follow_ups_completed: follow-ups completed.
        feedback: completed follow-ups that carried feedback.
        terminated: conversations terminated (abuse, threats).
        first_response: opening to the first agent message, in business time.
        resolution: opening to the first resolution, in business time.
    """

    conversations: int
    escalated: int
    escalations: int
    apologies: int
    resolved: int
    reopened: int
    sla_steps: int
    sla_conversations: int
    sla_warnings: int
    sla_breaches: int
    follow_ups_scheduled: int
    follow_ups_completed: int
    feedback: int
    terminated: int
    first_response: Durations
    resolution: Durations

    @property
    def escalation_rate(self) -> float | None:
        """Share of the conversations escalated at least once."""
        return _share(self.escalated, self.conversations)

    @property
    def apologies_per_conversation(self) -> float | None:
        """Apologies given per conversation."""
        return _share(self.apologies, self.conversations)

    @property
    def reopen_rate(self) -> float | None:
        """Share of the resolved conversations that the customer reopened."""
        return _share(self.reopened, self.resolved)

    @property
    def follow_up_completion(self) -> float | None:
        """Share of the follow-ups scheduled that were completed."""
        return _share(self.follow_ups_completed, self.follow_ups_scheduled)

    @property
    def sla_rate(self) -> float | None:
        """Share of the conversations in which an SLA step fired."""
        return _share(self.sla_conversations, self.conversations)


@attrs.frozen(kw_only=True)
class OfferFigures:
    """What customers did with the offers of one kind.

    Attributes:
        kind: the offer kind.
        proposed: offers proposed.
        accepted: offers accepted.
        declined: offers declined.
    """

    kind: str
    proposed: int
    accepted: int
    declined: int

    @property
    def undecided(self) -> int:
        """Offers neither accepted nor declined (yet)."""
        return self.proposed - self.accepted - self.declined

    @property
    def acceptance(self) -> float | None:
        """Share of the offers proposed that were accepted."""
        return _share(self.accepted, self.proposed)


@attrs.frozen(kw_only=True)
class Spend:
    """Compensation granted (offers accepted) by one role in one category, in one currency.

    Attributes:
        role: the role whose authority granted it: the approver's role when the offer needed
            approval, else the proposing agent's.
        category: the issue category.
        currency: the currency (amounts never mix currencies).
        amount: the total, exact.
        offers: how many accepted offers it sums.
    """

    role: str
    category: str
    currency: str
    amount: Decimal
    offers: int


@attrs.frozen(kw_only=True)
class EscalationWeek:
    """The escalations of one category in one ISO week.

    Attributes:
        category: the issue category.
        week: the ISO week of the escalations, ``"2026-W48"``.
        escalations: how many.
        after_decline: for those that came after the customer declined an offer in the same
            conversation, how many followed each kind (the last one declined before).
    """

    category: str
    week: str
    escalations: int
    after_decline: Mapping[str, int] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Pattern:
    """Something worth acting on, with the evidence.

    Attributes:
        code: what kind of pattern (``escalation_surge``, ``low_acceptance``,
            ``reopen_outlier``, ``apology_outlier``).
        subject: what it is about (a category, an offer kind, an agent).
        text: one sentence saying it, figures included.
        evidence: the figures behind it, one line each.
    """

    code: str
    subject: str
    text: str
    evidence: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Report:
    """Insights from a journal: what a support lead reads to learn from every conversation.

    Attributes:
        calendar: the business hours the durations were counted in, described.
        entries: journal entries read.
        first_opened: when the earliest conversation opened (``None`` for an empty journal).
        last_opened: when the latest one opened.
        overall: the figures of every conversation.
        by_category: figures per issue category.
        by_agent: figures per agent who took the conversation (its owner at opening).
        by_week: figures per ISO week of opening (``"2026-W48"``), in UTC.
        escalation_reasons: how often each escalation reason code was given, most first.
        escalation_weeks: escalations per category and ISO week of the escalation.
        offers: per offer kind, what customers did with the offers.
        compensation: compensation granted per role, category and currency.
        feedback: the latest feedback given in follow-ups, newest first (at most 10).
        patterns: patterns worth acting on, with their evidence.
        scorecards: the average scorecard (0-100) of each agent's conversations, when
            computed (``serviceplaybook.training.scorecard_averages``, a pass over every
            history; ``report --scorecards``); ``None`` says they were not, and no figure
            stands in.
    """

    calendar: str
    entries: int
    first_opened: datetime | None
    last_opened: datetime | None
    overall: Figures
    by_category: Mapping[str, Figures]
    by_agent: Mapping[str, Figures]
    by_week: Mapping[str, Figures]
    escalation_reasons: Mapping[str, int]
    escalation_weeks: tuple[EscalationWeek, ...]
    offers: Mapping[str, OfferFigures]
    compensation: tuple[Spend, ...]
    feedback: tuple[FeedbackDigest, ...]
    patterns: tuple[Pattern, ...]
    scorecards: Mapping[str, float] | None = None
