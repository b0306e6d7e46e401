"""The report as tables in a terminal, with rich."""

from __future__ import annotations

from typing import TextIO

from serviceplaybook.insights._format import (
    FIGURE_COLUMNS,
    SCORECARDS_LATER,
    figure_row,
    groups,
    missing,
    percent,
    summary,
)
from serviceplaybook.insights._report import Report

PIPED_WIDTH = 150
"""The width the tables are laid out in when they go to a file or a pipe."""


def print_tables(report: Report, *, file: TextIO | None = None, width: int | None = None) -> None:
    """Print every table of ``report`` to ``file``."""
    try:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
    except ImportError as error:
        raise missing("rich", error) from None

    # no markup: categories, agents and feedback are the users' own text, brackets included
    console = Console(file=file, width=width, highlight=False, markup=False)
    if width is None and not console.is_terminal:
        console.width = PIPED_WIDTH  # a file or a pipe: lay the tables out unsqueezed
    # the summary is one line however wide: a script greps it
    console.print(Text.assemble(("Insights", "bold"), ": ", summary(report)), soft_wrap=True)
    console.print(
        "Times are medians in business time: opening to the first agent message, and to "
        "the first resolution."
    )

    def figures_table(title: str, rows: dict[str, list[str]]) -> Table:
        table = Table(title=title, title_justify="left", title_style="bold")
        table.add_column("", no_wrap=True)
        for column in FIGURE_COLUMNS:
            table.add_column(column, justify="right")
        for name, row in rows.items():
            table.add_row(name, *row)
        return table

    overall = {"all conversations": figure_row(report.overall)}
    console.print(figures_table("Overall", overall))
    for title, figures in groups(report).values():
        console.print(figures_table(title, {name: figure_row(f) for name, f in figures.items()}))

    reasons = Table(title="Escalation reasons", title_justify="left", title_style="bold")
    reasons.add_column("reason")
    reasons.add_column("times", justify="right")
    reasons.add_column("share of escalations", justify="right")
    for code, count in report.escalation_reasons.items():
        reasons.add_row(code, str(count), percent(count / (report.overall.escalations or 1)))
    console.print(reasons)

    offers = Table(title="Offers by kind", title_justify="left", title_style="bold")
    for column in ("kind", "proposed", "accepted", "declined", "undecided", "acceptance"):
        offers.add_column(column, justify="left" if column == "kind" else "right")
    for offer in report.offers.values():
        offers.add_row(
            offer.kind,
            str(offer.proposed),
            str(offer.accepted),
            str(offer.declined),
            str(offer.undecided),
            percent(offer.acceptance),
        )
    console.print(offers)

    spend = Table(
        title="Compensation granted",
        title_justify="left",
        title_style="bold",
    )
    for column in ("role", "category", "amount", "offers"):
        spend.add_column(column, justify="right" if column in ("amount", "offers") else "left")
    for row in report.compensation:
        spend.add_row(row.role, row.category, f"{row.amount} {row.currency}", str(row.offers))
    console.print(spend)

    patterns = Table(title="Patterns worth acting on", title_justify="left", title_style="bold")
    patterns.add_column("pattern")
    patterns.add_column("evidence")
    for pattern in report.patterns:
        patterns.add_row(pattern.text, "\n".join(pattern.evidence))
    if not report.patterns:
        patterns.add_row("none found", "")
    console.print(patterns)

    feedback = Table(title="Latest feedback", title_justify="left", title_style="bold")
    feedback.add_column("when", no_wrap=True)
    feedback.add_column("conversation", no_wrap=True)
    feedback.add_column("feedback")
    for item in report.feedback:
        feedback.add_row(item.at.strftime("%Y-%m-%d %H:%M"), item.conversation_id, item.text)
    if not report.feedback:
        feedback.add_row("-", "-", "no feedback recorded")
    console.print(feedback)
    if report.scorecards is None:
        console.print(SCORECARDS_LATER)
        return
    scores = Table(title="Scorecard averages", title_justify="left", title_style="bold")
    scores.add_column("agent", no_wrap=True)
    scores.add_column("average score (0-100)", justify="right")
    for agent, score in report.scorecards.items():
        scores.add_row(agent, f"{score:.1f}")
    if not report.scorecards:
        scores.add_row("-", "no conversation scored")
    console.print(scores)
