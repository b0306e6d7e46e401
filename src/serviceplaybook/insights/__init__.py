"""Insights from the journal: learn from every conversation.

:func:`report` reads a desk's journal (in memory, SQLite or PostgreSQL) and returns a
:class:`Report`: escalation rate and reasons, apologies per conversation, offer acceptance by
kind, compensation granted by role and category, first-response and resolution times in
business time, SLA steps, reopen rate, follow-up completion and feedback; overall, by
category, by agent and by ISO week; and the patterns worth acting on, with their evidence.

The journal digests itself where its entries are (SQLite and PostgreSQL answer with
aggregate queries: :class:`~serviceplaybook.DigestingJournal`); the report is computed from
that digest, one row per conversation. :func:`print_report` prints it as tables in a terminal
and :func:`html_report` writes it as one self-contained HTML page with charts (both with the
``report`` extra: ``pip install serviceplaybook[report]``).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

import attrs

from serviceplaybook._desk import ServiceDesk
from serviceplaybook._policies.calendar import BusinessCalendar
from serviceplaybook._ports import DigestingJournal, Storage
from serviceplaybook._records.digest import (
    ConversationDigest,
    EscalationDigest,
    FeedbackDigest,
    JournalDigest,
    OfferDigest,
    digest_histories,
)
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.query import ConversationQuery
from serviceplaybook._records.validate import check_period, wrong_type
from serviceplaybook.insights._compute import iso_week
from serviceplaybook.insights._patterns import PatternFinder
from serviceplaybook.insights._report import (
    UNKNOWN,
    Durations,
    EscalationWeek,
    Figures,
    OfferFigures,
    Pattern,
    Report,
    Spend,
)

__all__ = [
    "UNKNOWN",
    "ConversationDigest",
    "Durations",
    "EscalationDigest",
    "EscalationWeek",
    "FeedbackDigest",
    "Figures",
    "JournalDigest",
    "OfferDigest",
    "OfferFigures",
    "Pattern",
    "PatternFinder",
    "Report",
    "Spend",
    "describe_calendar",
    "digest",
    "digest_histories",
    "histories",
    "html_report",
    "iso_week",
    "print_report",
    "report",
]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def histories(storage: Storage) -> Iterator[list[JournalEntry]]:
    """Every conversation's journal, read back one history at a time (conversations listed
    through the conversation store, oldest opened first): what a journal without a digest
    of its own is read with, and the slow way the benchmark compares the digest against."""
    query: ConversationQuery | None = ConversationQuery(limit=1000)
    while query is not None:
        page = storage.conversations.find(query)
        for conversation in page.conversations:
            yield storage.journal.history(conversation.id)
        query = query.next_page(page)


def digest(storage: Storage) -> JournalDigest:
    """The storage's journal digested: by the journal itself where it can
    (:class:`~serviceplaybook.DigestingJournal`: aggregate queries on SQLite and
    PostgreSQL), else from every conversation's history."""
    journal = storage.journal
    if isinstance(journal, DigestingJournal):
        return journal.digest()
    return digest_histories(histories(storage))


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a report is built: it allocates a few
    hundred thousand small records without cycles on a big journal, and the collector would
    walk every one of them again at each of its passes (a third of the report's time).
    Reference counting still frees everything; the collector's state is put back after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def describe_calendar(calendar: BusinessCalendar) -> str:
    """``calendar``'s opening hours in a line, e.g. ``"Mon-Fri 09:00-17:00 (UTC)"``."""
    runs: list[tuple[int, int, str]] = []
    for day, shifts in enumerate(calendar.hours):
        if not shifts:
            continue
        hours = ", ".join(str(shift) for shift in shifts)
        if runs and runs[-1][1] == day - 1 and runs[-1][2] == hours:
            runs[-1] = (runs[-1][0], day, hours)
        else:
            runs.append((day, day, hours))
    days = "; ".join(
        f"{_DAYS[first]}{'' if first == last else '-' + _DAYS[last]} {hours}"
        for first, last, hours in runs
    )
    holidays = f", {len(calendar.holidays)} holidays" if calendar.holidays else ""
    return f"{days} ({calendar.timezone.key}{holidays})"


def report(
    source: ServiceDesk | Storage,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    calendar: BusinessCalendar | None = None,
    patterns: PatternFinder | None = None,
) -> Report:
    """The insights of a desk's journal.

    Args:
        source: a :class:`~serviceplaybook.ServiceDesk`, or its storage.
        since: only conversations opened at or after this time (timezone-aware); their
            offers, escalations and feedback count whenever they came.
        until: only conversations opened before this time (timezone-aware): ``since`` and
            ``until`` of ``2026-11-01`` and ``2026-12-01`` give November.
        calendar: the business hours first-response and resolution times are counted in.
            By default the desk's SLA calendar (``SlaPolicy.calendar``) when it has one,
            else Monday to Friday 09:00-17:00 UTC: the journal does not record customers'
            time zones, so a desk that counts each customer's own hours should pass its
            team's calendar here.
        patterns: finds the patterns worth acting on (:class:`PatternFinder` by default).

    Raises:
        WrongType: ``source``, ``since``, ``until``, ``calendar`` or ``patterns`` is not what
            is allowed.
        ValidationError: ``since`` or ``until`` is naive, or ``until`` is not after ``since``.
    """
    from serviceplaybook.insights._compute import build_report

    storage: Storage
    if isinstance(source, ServiceDesk):
        storage = source.storage
        if calendar is None:
            calendar = source.sla.calendar
    elif hasattr(source, "journal") and hasattr(source, "conversations"):
        storage = source
    else:
        raise wrong_type("report(source)", "a ServiceDesk or a Storage", source)
    if calendar is not None and not isinstance(calendar, BusinessCalendar):
        raise wrong_type("report(calendar)", "a BusinessCalendar or None", calendar)
    if patterns is not None and not isinstance(patterns, PatternFinder):
        raise wrong_type("report(patterns)", "a PatternFinder or None", patterns)
    check_period("report", since, until)
    if calendar is None:
        calendar = BusinessCalendar.standard("UTC")
    with _collector_paused():
        built = build_report(
            digest(storage).opened_between(since, until),
            calendar,
            calendar_text=describe_calendar(calendar),
        )
    finder = patterns if patterns is not None else PatternFinder()
    return attrs.evolve(built, patterns=tuple(finder.find(built)))


def print_report(report: Report, file: TextIO | None = None, *, width: int | None = None) -> None:
    """Print ``report`` as tables (needs ``rich``: the ``report`` extra).

    Args:
        report: the report.
        file: where to (standard output by default); colours only on a terminal.
        width: the width to lay the tables out in (the terminal's by default).
    """
    from serviceplaybook.insights._terminal import print_tables

    print_tables(report, file=file, width=width)


def html_report(report: Report) -> str:
    """``report`` as one self-contained HTML page with charts (plotly, its JavaScript
    inline: no network is needed to view it; the ``report`` extra)."""
    from serviceplaybook.insights._html import render

    return render(report)
