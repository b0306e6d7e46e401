"""The report as one self-contained HTML page: tables, and charts drawn by plotly, whose
JavaScript is inlined once so that the page needs no network to be viewed."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from serviceplaybook.insights._format import (
    FIGURE_COLUMNS,
    SCORECARDS_LATER,
    figure_row,
    groups,
    missing,
    percent,
    summary,
)
from serviceplaybook.insights._report import Figures, Report

CHART_CLASS = "insights-chart"
"""The class of every chart's container: a chart drawn holds plotly's ``svg.main-svg``."""

BASE_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem;
       color: #1f2933; background: #fff; max-width: 1200px; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d9e2ec; }
p.summary { color: #52606d; margin-top: 0; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #e4e7eb; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f5f7fa; }
"""
"""The look every report page shares (the insights report, the training comparison)."""

_STYLE = (
    BASE_STYLE
    + """
/* two fixed tracks: each chart is drawn as its div is parsed, at its final width */
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem; }
@media (max-width: 900px) { .charts { grid-template-columns: minmax(0, 1fr); } }
.insights-chart { border: 1px solid #e4e7eb; border-radius: 6px; min-height: 360px;
                  min-width: 0; overflow: hidden; }
ul.evidence { margin: .2rem 0 .8rem; color: #52606d; }
li.pattern { margin-bottom: .6rem; }
"""
)

_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "height": 360,
    "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
    "legend": {"orientation": "h", "y": -0.2},
}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table of text cells, escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figures_table(rows: Mapping[str, Figures]) -> str:
    return table(["", *FIGURE_COLUMNS], [[name, *figure_row(f)] for name, f in rows.items()])


def _hours(value: Any) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def _charts(report: Report) -> list[Any]:
    import plotly.graph_objects as go

    charts = []
    categories = list(report.by_category)
    charts.append(
        go.Figure(
            go.Bar(
                x=categories,
                y=[(f.escalation_rate or 0) * 100 for f in report.by_category.values()],
                text=[percent(f.escalation_rate) for f in report.by_category.values()],
                marker_color="#d64545",
            ),
            layout={
                **_LAYOUT,
                "title": "Escalation rate by category",
                "yaxis": {"title": "% of conversations escalated"},
            },
        )
    )
    weekly: dict[str, dict[str, int]] = defaultdict(dict)
    for week in report.escalation_weeks:
        weekly[week.category][week.week] = week.escalations
    weeks = sorted({w.week for w in report.escalation_weeks})
    charts.append(
        go.Figure(
            [
                go.Bar(name=category, x=weeks, y=[counts.get(w, 0) for w in weeks])
                for category, counts in sorted(weekly.items())
            ],
            layout={
                **_LAYOUT,
                "title": "Escalations per ISO week, by category",
                "barmode": "stack",
                "yaxis": {"title": "escalations"},
            },
        )
    )
    reasons = list(report.escalation_reasons.items())[:12][::-1]
    charts.append(
        go.Figure(
            go.Bar(
                x=[count for _, count in reasons],
                y=[code for code, _ in reasons],
                orientation="h",
                marker_color="#486581",
            ),
            layout={
                **_LAYOUT,
                "title": "Escalation reasons",
                "margin": {**_LAYOUT["margin"], "l": 170},
                "xaxis": {"title": "times given"},
            },
        )
    )
    kinds = list(report.offers)
    charts.append(
        go.Figure(
            [
                go.Bar(
                    name=name,
                    x=kinds,
                    y=[getattr(offer, name) for offer in report.offers.values()],
                    marker_color=colour,
                )
                for name, colour in (
                    ("accepted", "#3ebd93"),
                    ("declined", "#d64545"),
                    ("undecided", "#9fb3c8"),
                )
            ],
            layout={
                **_LAYOUT,
                "title": "Offers by kind: what customers did",
                "barmode": "stack",
                "yaxis": {"title": "offers"},
            },
        )
    )
    by_currency: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for spend in report.compensation:
        by_currency[spend.currency][spend.category][spend.role] = float(spend.amount)
    for currency in sorted(by_currency) or [""]:
        per_category = by_currency.get(currency, {})
        roles = sorted({role for roles in per_category.values() for role in roles})
        charts.append(
            go.Figure(
                [
                    go.Bar(name=category, x=roles, y=[amounts.get(r, 0) for r in roles])
                    for category, amounts in sorted(per_category.items())
                ],
                layout={
                    **_LAYOUT,
                    "title": "Compensation granted by role and category"
                    + (f" ({currency})" if currency else ""),
                    "barmode": "stack",
                    "yaxis": {"title": currency or "amount"},
                },
            )
        )
    charts.append(
        go.Figure(
            [
                go.Bar(
                    name=f"{label} (median)",
                    x=categories,
                    y=[_hours(getattr(f, field).median) for f in report.by_category.values()],
                )
                for label, field in (
                    ("first response", "first_response"),
                    ("resolution", "resolution"),
                )
            ],
            layout={
                **_LAYOUT,
                "title": "First response and resolution by category",
                "barmode": "group",
                "yaxis": {"title": "business hours"},
            },
        )
    )
    week_names = list(report.by_week)
    charts.append(
        go.Figure(
            [
                go.Scatter(
                    name=label,
                    x=week_names,
                    y=[(getattr(f, field) or 0) * 100 for f in report.by_week.values()],
                    mode="lines+markers",
                )
                for label, field in (
                    ("escalated", "escalation_rate"),
                    ("reopened", "reopen_rate"),
                    ("SLA step fired", "sla_rate"),
                    ("follow-ups completed", "follow_up_completion"),
                )
            ],
            layout={
                **_LAYOUT,
                "title": "Week by week (ISO week of opening)",
                "yaxis": {"title": "%"},
            },
        )
    )
    return charts


def render(report: Report) -> str:
    """The page: the summary, the charts, the patterns and every table."""
    require_plotly()  # before any chart is built: a missing extra says what to install
    charts = chart_divs(_charts(report), css_class=CHART_CLASS, id_prefix="chart")
    patterns = "".join(
        f'<li class="pattern"><strong>{html.escape(p.text)}</strong><ul class="evidence">'
        + "".join(f"<li>{html.escape(line)}</li>" for line in p.evidence)
        + "</ul></li>"
        for p in report.patterns
    )
    sections = [
        f"<h1>Insights</h1><p class='summary'>{html.escape(summary(report))}</p>",
        "<h2>Patterns worth acting on</h2>",
        f"<ul>{patterns}</ul>" if patterns else "<p>None found.</p>",
        f'<h2>Charts</h2><div class="charts">{charts}</div>',
        "<h2>Overall</h2>",
        "<p>Times are medians in business time: opening to the first agent message, and to "
        "the first resolution.</p>",
        _figures_table({"all conversations": report.overall}),
    ]
    for title, figures in groups(report).values():
        sections += [f"<h2>{html.escape(title)}</h2>", _figures_table(figures)]
    sections += [
        "<h2>Escalation reasons</h2>",
        table(
            ["reason", "times"], [[code, str(n)] for code, n in report.escalation_reasons.items()]
        ),
        "<h2>Offers by kind</h2>",
        table(
            ["kind", "proposed", "accepted", "declined", "undecided", "acceptance"],
            [
                [
                    o.kind,
                    str(o.proposed),
                    str(o.accepted),
                    str(o.declined),
                    str(o.undecided),
                    percent(o.acceptance),
                ]
                for o in report.offers.values()
            ],
        ),
        "<h2>Compensation granted by role and category</h2>",
        table(
            ["role", "category", "amount", "offers"],
            [
                [s.role, s.category, f"{s.amount} {s.currency}", str(s.offers)]
                for s in report.compensation
            ],
        ),
        "<h2>Latest feedback</h2>",
        table(
            ["when (UTC)", "conversation", "feedback"],
            [[f.at.strftime("%Y-%m-%d %H:%M"), f.conversation_id, f.text] for f in report.feedback],
        ),
        "<h2>Scorecards</h2>",
        f"<p>{html.escape(SCORECARDS_LATER)}</p>"
        if report.scorecards is None
        else table(
            ["agent", "average score (0-100)"],
            [[agent, f"{score:.1f}"] for agent, score in report.scorecards.items()],
        ),
    ]
    return page("Insights", "".join(sections), style=_STYLE)


def require_plotly() -> None:
    """Raise the install hint when the ``report`` extra's plotly is missing."""
    try:
        import plotly.graph_objects
        import plotly.io
        import plotly.offline  # noqa: F401
    except ImportError as error:
        raise missing("plotly", error) from None


def chart_divs(figures: Iterable[Any], *, css_class: str, id_prefix: str) -> str:
    """Each plotly figure in a ``<div class=css_class>``, without the library (see
    :func:`page`), ids ``<id_prefix>-1``, ``-2``..."""
    try:
        import plotly.io
    except ImportError as error:
        raise missing("plotly", error) from None
    return "".join(
        f'<div class="{css_class}">'
        + plotly.io.to_html(
            figure,
            full_html=False,
            include_plotlyjs=False,
            div_id=f"{id_prefix}-{number}",
            config={"displayModeBar": False, "responsive": True},
        )
        + "</div>"
        for number, figure in enumerate(figures, start=1)
    )


def page(title: str, body: str, *, style: str) -> str:
    """One self-contained HTML page: plotly's JavaScript inline, so it opens offline."""
    try:
        import plotly.offline
    except ImportError as error:
        raise missing("plotly", error) from None
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{style}</style>"
        f"<script>{plotly.offline.get_plotlyjs()}</script></head>"
        f"<body>{body}</body></html>"
    )
