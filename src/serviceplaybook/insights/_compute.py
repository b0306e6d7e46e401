"""From a journal's digest to a report: groups, rates, business time, offers and spend.

The digest has one row per conversation (and per offer, escalation and feedback), computed
where the entries are; this module only walks those rows.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from serviceplaybook._policies.calendar import BusinessCalendar
from serviceplaybook._records.digest import (
    ACCEPT,
    DECLINE,
    ConversationDigest,
    JournalDigest,
    OfferDigest,
)
from serviceplaybook.insights._business import BusinessClock
from serviceplaybook.insights._report import (
    UNKNOWN,
    Durations,
    EscalationWeek,
    Figures,
    OfferFigures,
    Report,
    Spend,
)

FEEDBACK_SHOWN = 10
"""How many of the latest pieces of feedback a report carries."""


def iso_week(at: datetime) -> str:
    """The ISO week of ``at`` in UTC, as ``"2026-W48"``."""
    return _week_of(at.astimezone(UTC).date())


@lru_cache(maxsize=4096)
def _week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def durations(values: list[timedelta]) -> Durations:
    """The median, 90th percentile (nearest rank) and mean of ``values``."""
    if not values:
        return Durations(count=0)
    ordered = sorted(values)
    count = len(ordered)

    def rank(share: float) -> timedelta:
        return ordered[max(0, math.ceil(share * count) - 1)]

    return Durations(
        count=count,
        median=rank(0.5),
        p90=rank(0.9),
        mean=sum(ordered, timedelta()) / count,
    )


_COUNTED = (
    "escalated",
    "escalations",
    "apologies",
    "resolved",
    "reopened",
    "sla_steps",
    "sla_conversations",
    "sla_warnings",
    "sla_breaches",
    "follow_ups_scheduled",
    "follow_ups_completed",
    "feedback",
    "terminated",
)


def _counts(c: ConversationDigest) -> tuple[int, ...]:
    """One conversation's contribution to each of :data:`_COUNTED`, in that order."""
    return (
        c.escalations > 0,
        c.escalations,
        c.apologies,
        c.resolved_at is not None,
        c.reopens > 0,
        c.sla_steps,
        c.sla_steps > 0,
        c.sla_warnings,
        c.sla_breaches,
        c.follow_ups_scheduled,
        c.follow_ups_completed,
        c.feedback,
        c.terminations > 0,
    )


class _Group:
    """The counts of one group's conversations and their measured times, summed at the end."""

    def __init__(self) -> None:
        self.counts: list[tuple[int, ...]] = []
        self.first_response: list[timedelta] = []
        self.resolution: list[timedelta] = []

    def add(
        self,
        counts: tuple[int, ...],
        first_response: timedelta | None,
        resolution: timedelta | None,
    ) -> None:
        self.counts.append(counts)
        if first_response is not None:
            self.first_response.append(first_response)
        if resolution is not None:
            self.resolution.append(resolution)

    def figures(self) -> Figures:
        totals = [sum(column) for column in zip(*self.counts, strict=True)] or [0] * len(_COUNTED)
        return Figures(
            conversations=len(self.counts),
            **dict(zip(_COUNTED, totals, strict=True)),
            first_response=durations(self.first_response),
            resolution=durations(self.resolution),
        )


def _grouped(groups: dict[str, _Group]) -> dict[str, Figures]:
    return {key: groups[key].figures() for key in sorted(groups)}


def _granting_role(offer: OfferDigest) -> str:
    if offer.status != "granted" and offer.approver_role is not None:
        return offer.approver_role
    return offer.role or UNKNOWN


def _offers(offers: Iterable[OfferDigest]) -> dict[str, OfferFigures]:
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for offer in offers:
        counts = tally[offer.kind or UNKNOWN]
        counts["proposed"] += 1
        counts["accepted"] += offer.outcome == ACCEPT
        counts["declined"] += offer.outcome == DECLINE
    return {
        kind: OfferFigures(
            kind=kind,
            proposed=counts["proposed"],
            accepted=counts["accepted"],
            declined=counts["declined"],
        )
        for kind, counts in sorted(tally.items())
    }


def _compensation(offers: Iterable[OfferDigest], category: Callable[[str], str]) -> list[Spend]:
    sums: dict[tuple[str, str, str], tuple[Decimal, int]] = {}
    for offer in offers:
        if offer.outcome != ACCEPT or offer.amount is None or offer.currency is None:
            continue
        key = (_granting_role(offer), category(offer.conversation_id), offer.currency)
        amount, count = sums.get(key, (Decimal(0), 0))
        sums[key] = (amount + Decimal(offer.amount), count + 1)
    return [
        Spend(role=role, category=cat, currency=currency, amount=amount, offers=count)
        for (role, cat, currency), (amount, count) in sorted(sums.items())
    ]


def _escalation_weeks(
    digest: JournalDigest, category: Callable[[str], str]
) -> list[EscalationWeek]:
    declined: dict[str, list[OfferDigest]] = defaultdict(list)
    for offer in digest.offers:
        if offer.outcome == DECLINE:
            declined[offer.conversation_id].append(offer)
    weeks: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    totals: Counter[tuple[str, str]] = Counter()
    for escalation in digest.escalations:
        key = (category(escalation.conversation_id), iso_week(escalation.at))
        totals[key] += 1
        before = [
            offer
            for offer in declined.get(escalation.conversation_id, ())
            if offer.decided_seq is not None and offer.decided_seq < escalation.seq
        ]
        if before:
            last = max(before, key=lambda offer: offer.decided_seq or 0)
            weeks[key][last.kind or UNKNOWN] += 1
    return [
        EscalationWeek(
            category=cat,
            week=week,
            escalations=totals[cat, week],
            after_decline=dict(weeks[cat, week]),
        )
        for cat, week in sorted(totals)
    ]


def build_report(
    digest: JournalDigest,
    calendar: BusinessCalendar,
    *,
    calendar_text: str,
) -> Report:
    """The report of ``digest``, durations counted in ``calendar``'s business time (patterns
    are found afterwards, from the report)."""
    overall = _Group()
    by_category: dict[str, _Group] = defaultdict(_Group)
    by_agent: dict[str, _Group] = defaultdict(_Group)
    by_week: dict[str, _Group] = defaultdict(_Group)
    categories: dict[str, str] = {}
    entries = 0
    rows = digest.conversations
    # business time: each instant's position in it once, then differences (it is additive)
    positions = BusinessClock(calendar).positions(
        [t for c in rows for t in (c.opened_at, c.first_response_at, c.resolved_at)]
    )
    for index, c in enumerate(rows):
        entries += c.entries
        category = c.category or UNKNOWN
        categories[c.conversation_id] = category
        start, answered, fixed = positions[3 * index : 3 * index + 3]
        assert start is not None  # every conversation has an opening
        first_response = None if answered is None else answered - start
        resolution = None if fixed is None else fixed - start
        counts = _counts(c)
        for group in (
            overall,
            by_category[category],
            by_agent[c.agent_id or UNKNOWN],
            by_week[iso_week(c.opened_at)],
        ):
            group.add(counts, first_response, resolution)

    def category_of(conversation_id: str) -> str:
        return categories.get(conversation_id, UNKNOWN)

    reasons = Counter(code for e in digest.escalations for code in e.reasons)
    opened = [c.opened_at for c in digest.conversations]
    return Report(
        calendar=calendar_text,
        entries=entries,
        first_opened=min(opened, default=None),
        last_opened=max(opened, default=None),
        overall=overall.figures(),
        by_category=_grouped(by_category),
        by_agent=_grouped(by_agent),
        by_week=_grouped(by_week),
        escalation_reasons=dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
        escalation_weeks=tuple(_escalation_weeks(digest, category_of)),
        offers=_offers(digest.offers),
        compensation=tuple(_compensation(digest.offers, category_of)),
        feedback=tuple(
            sorted(digest.feedback, key=lambda f: (f.at, f.conversation_id), reverse=True)[
                :FEEDBACK_SHOWN
            ]
        ),
        patterns=(),
    )
