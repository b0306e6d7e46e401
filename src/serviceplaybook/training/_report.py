"""A comparison of strategies as terminal tables (rich) and as one self-contained HTML page
with charts (plotly, its JavaScript inlined once: no network needed to view it). Both need
the ``report`` extra, the same one ``serviceplaybook report`` uses."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from serviceplaybook.insights._format import missing
from serviceplaybook.insights._html import BASE_STYLE, chart_divs, page, require_plotly, table
from serviceplaybook.training._scorecard import ITEMS
from serviceplaybook.training._simulate import Comparison, Run

CHART_CLASS = "training-chart"
"""The class of every chart's container: a chart drawn holds plotly's ``svg.main-svg``."""

ENDINGS = ("resolved", "safety", "gave_up", "terminated")

PIPED_WIDTH = 150
"""The width the tables are laid out in when they go to a file or a pipe."""


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _cell_text(comparison: Comparison, strategy: str, persona: str) -> str:
    """The mean score and how most runs ended: ``"100 (resolved 5/5)"``."""
    cell = comparison.cell(strategy, persona)
    ending, count = max(cell.endings.items(), key=lambda pair: (pair[1], pair[0]))
    return f"{cell.score:.0f} ({ending.replace('_', ' ')} {count}/{cell.runs})"


def print_comparison(
    comparison: Comparison, *, file: TextIO | None = None, width: int | None = None
) -> None:
    """Print the comparison: each strategy's mean score per persona, and each scorecard
    item's pass rate per strategy."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError as error:
        raise missing("rich", error) from None

    console = Console(file=file, width=width, highlight=False, markup=False)
    if width is None and not console.is_terminal:
        console.width = PIPED_WIDTH
    console.print(
        f"Training simulation: {len(comparison.strategies)} strategies x "
        f"{len(comparison.personas)} personas x {comparison.runs} runs (seeds "
        f"{comparison.seed}-{comparison.seed + comparison.runs - 1}); scores are the share "
        "of applicable scorecard items passed, 0-100."
    )
    scores = Table(title="Mean score by persona", title_justify="left", title_style="bold")
    scores.add_column("persona", no_wrap=True)
    for strategy in comparison.strategies:
        scores.add_column(strategy, justify="right")
    for persona in comparison.personas:
        scores.add_row(
            persona, *(_cell_text(comparison, s, persona) for s in comparison.strategies)
        )
    scores.add_row("mean", *(f"{comparison.mean(s):.1f}" for s in comparison.strategies))
    console.print(scores)
    items = Table(
        title="Scorecard items passed (where they applied)",
        title_justify="left",
        title_style="bold",
    )
    items.add_column("item")
    for strategy in comparison.strategies:
        items.add_column(strategy, justify="right")
    for code, title in ITEMS.items():
        items.add_row(
            title, *(_percent(comparison.item_rate(s, code)) for s in comparison.strategies)
        )
    console.print(items)


@contextmanager
def progress_bar(total: int, *, file: TextIO | None = None) -> Iterator[Callable[[Run], None]]:
    """A progress bar over ``total`` runs (on ``file``, stderr by default); yields the
    callback :func:`~serviceplaybook.training.simulate` takes as ``progress``."""
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    except ImportError as error:
        raise missing("rich", error) from None
    import sys

    console = Console(file=file or sys.stderr, highlight=False, markup=False)
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        console=console,
    ) as bar:
        task = bar.add_task("runs", total=total, last="")

        def advance(run: Run) -> None:
            bar.update(task, advance=1, last=f"{run.strategy} vs {run.persona}")

        yield advance


_STYLE = (
    BASE_STYLE
    + """
.charts { display: grid; grid-template-columns: minmax(0, 1fr); gap: 1rem; }
.training-chart { border: 1px solid #e4e7eb; border-radius: 6px; min-height: 400px;
                  min-width: 0; overflow: hidden; }
"""
)

_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "height": 400,
    "margin": {"l": 60, "r": 20, "t": 50, "b": 90},
    "legend": {"orientation": "h", "y": -0.25},
}


def _charts(comparison: Comparison) -> list[Any]:
    import plotly.graph_objects as go

    strategies, personas = comparison.strategies, comparison.personas
    by_persona = go.Figure(
        [
            go.Bar(
                name=strategy,
                x=list(personas),
                y=[comparison.cell(strategy, p).score for p in personas],
            )
            for strategy in strategies
        ],
        layout={
            **_LAYOUT,
            "title": "Mean scorecard score by persona",
            "barmode": "group",
            "yaxis": {"title": "score (0-100)", "range": [0, 100]},
        },
    )
    codes = list(ITEMS)[::-1]  # horizontal bars: the first item on top
    by_item = go.Figure(
        [
            go.Bar(
                name=strategy,
                y=[ITEMS[code] for code in codes],
                x=[100 * (comparison.item_rate(strategy, code) or 0) for code in codes],
                orientation="h",
            )
            for strategy in strategies
        ],
        layout={
            **_LAYOUT,
            "title": "Scorecard items passed, where they applied",
            "barmode": "group",
            "height": 640,
            "margin": {**_LAYOUT["margin"], "l": 330},
            "xaxis": {"title": "% passed", "range": [0, 100]},
        },
    )
    endings = go.Figure(
        [
            go.Bar(
                name=ending,
                x=list(strategies),
                y=[
                    sum(c.endings.get(ending, 0) for c in comparison.cells if c.strategy == s)
                    for s in strategies
                ],
            )
            for ending in ENDINGS
        ],
        layout={
            **_LAYOUT,
            "title": "How the conversations ended",
            "barmode": "stack",
            "yaxis": {"title": "conversations"},
        },
    )
    return [by_persona, by_item, endings]


def html_comparison(comparison: Comparison) -> str:
    """The comparison as one self-contained HTML page: the charts and the tables."""
    require_plotly()  # before any chart is built: a missing extra says what to install
    charts = chart_divs(_charts(comparison), css_class=CHART_CLASS, id_prefix="training-chart")
    strategies = comparison.strategies
    summary = (
        f"{len(strategies)} strategies against {len(comparison.personas)} personas, "
        f"{comparison.runs} runs each (seeds {comparison.seed} to "
        f"{comparison.seed + comparison.runs - 1}). A score is the share of the scorecard's "
        "applicable items passed."
    )
    scores = table(
        ["persona", *strategies],
        [[p, *(_cell_text(comparison, s, p) for s in strategies)] for p in comparison.personas]
        + [["mean", *(f"{comparison.mean(s):.1f}" for s in strategies)]],
    )
    items = table(
        ["item", *strategies],
        [
            [title, *(_percent(comparison.item_rate(s, code)) for s in strategies)]
            for code, title in ITEMS.items()
        ],
    )
    body = (
        f"<h1>Training simulation</h1><p class='summary'>{html.escape(summary)}</p>"
        f'<h2>Charts</h2><div class="charts">{charts}</div>'
        f"<h2>Mean score by persona</h2>{scores}"
        f"<h2>Scorecard items passed</h2>{items}"
    )
    return page("Training simulation", body, style=_STYLE)
