"""How the report's figures are written, the same in the terminal and in the HTML page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from serviceplaybook._errors import ConfigError
from serviceplaybook.insights._report import Figures, Report

INSTALL = "pip install 'serviceplaybook[report]'"

SCORECARDS_LATER = (
    "Scorecard averages: not computed. Pass --scorecards (or fill Report.scorecards with "
    "serviceplaybook.training.scorecard_averages): every conversation is judged from its "
    "whole journal, a pass in Python rather than an aggregate query."
)


def missing(library: str, error: ImportError) -> ConfigError:
    """The error for a report that needs ``library`` without it installed."""
    return ConfigError(f"the report needs {library}, which is not installed ({error}): {INSTALL}")


def percent(value: float | None) -> str:
    """``0.123`` as ``"12%"``; ``"-"`` for no value."""
    return "-" if value is None else f"{value * 100:.0f}%"


def ratio(value: float | None) -> str:
    """A figure per conversation, two places."""
    return "-" if value is None else f"{value:.2f}"


def duration(value: timedelta | None) -> str:
    """A business duration in hours and minutes (``"31h 10m"``, ``"45m"``; ``"-"`` for
    none): never in days, since a business day is not 24 hours."""
    if value is None:
        return "-"
    minutes = round(value.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def moment(value: datetime | None) -> str:
    """A time in UTC, to the minute."""
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def summary(report: Report) -> str:
    """The report's first line: how much it read, when, and in which business hours."""
    overall = report.overall
    return (
        f"{overall.conversations} conversations, {report.entries} journal entries, opened "
        f"{moment(report.first_opened)} to {moment(report.last_opened)}; business time "
        f"counted in {report.calendar}"
    )


FIGURE_COLUMNS: tuple[str, ...] = (
    "conv.",
    "escalated",
    "apologies/conv.",
    "resolved",
    "reopened",
    "SLA warn/breach",
    "SLA steps",
    "follow-ups done",
    "feedback",
    "1st response",
    "resolution",
)
"""The columns of a group's figures; the two times are medians in business time."""


def figure_row(figures: Figures) -> list[str]:
    """One group's figures, in the order of :data:`FIGURE_COLUMNS`."""
    return [
        str(figures.conversations),
        f"{figures.escalated} ({percent(figures.escalation_rate)})",
        ratio(figures.apologies_per_conversation),
        str(figures.resolved),
        f"{figures.reopened} ({percent(figures.reopen_rate)})",
        f"{figures.sla_warnings}/{figures.sla_breaches}",
        f"{figures.sla_steps} in {figures.sla_conversations}",
        f"{figures.follow_ups_completed}/{figures.follow_ups_scheduled} "
        f"({percent(figures.follow_up_completion)})",
        str(figures.feedback),
        duration(figures.first_response.median),
        duration(figures.resolution.median),
    ]


def groups(report: Report) -> Mapping[str, tuple[str, Mapping[str, Figures]]]:
    """The report's groupings: title and figures per group."""
    return {
        "category": ("By category", report.by_category),
        "agent": ("By agent (who took the conversation)", report.by_agent),
        "week": ("By ISO week of opening (UTC)", report.by_week),
    }
