"""``serviceplaybook report`` on a SQLite file the test fills with a support team's weeks:
the tables in the terminal, the HTML page (one file, nothing fetched from the network), and
every chart of that page drawn by a real headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import insights_world
from serviceplaybook import ServiceDesk
from serviceplaybook.__main__ import main
from serviceplaybook.adapters.sqlite import SQLiteStorage
from serviceplaybook.insights import histories, report
from serviceplaybook.insights._html import CHART_CLASS
from serviceplaybook.testing import FakeClock, SequentialIds
from serviceplaybook.training import scorecard, scorecard_averages

CHROMIUM_INSTALL = (
    "Chromium is not installed: the HTML report's rendering test needs it, e.g. "
    "'apt-get install chromium' on Debian/Ubuntu, or put chromium on PATH"
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "desk.db"
    clock = FakeClock(insights_world.START)
    with (
        ServiceDesk.sqlite(path, clock=clock, ids=SequentialIds("c"), synchronous="NORMAL") as desk,
        desk.batch(),
    ):
        insights_world.play(desk, clock, conversations=400)
    return path


def test_report_prints_the_tables(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--db", str(db), "--width", "200"]) == 0
    printed = capsys.readouterr().out
    with SQLiteStorage(db) as storage:
        expected = report(storage)
    overall = expected.overall
    assert printed.startswith(
        f"Insights: {overall.conversations} conversations, {expected.entries} journal entries"
    )
    for title in (
        "Overall",
        "By category",
        "By agent (who took the conversation)",
        "By ISO week of opening (UTC)",
        "Escalation reasons",
        "Offers by kind",
        "Compensation granted",
        "Patterns worth acting on",
        "Latest feedback",
        "Scorecard averages: not computed",
    ):
        assert title in printed
    row = next(line for line in printed.splitlines() if "late_delivery" in line and "│" in line)
    figures = expected.by_category["late_delivery"]
    assert f" {figures.conversations} " in row
    assert f"{figures.escalated} ({round(figures.escalation_rate * 100)}%)" in row
    [surge] = [p for p in expected.patterns if p.code == "escalation_surge"]
    assert "late_delivery escalations" in printed
    assert "2026-W48" in printed
    assert surge.subject == "late_delivery"


def test_report_with_scorecards_shows_each_agents_average(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--db", str(db), "--width", "200", "--scorecards"]) == 0
    printed = capsys.readouterr().out
    assert "Scorecard averages" in printed
    assert "not computed" not in printed
    # the averages are the plain mean of each agent's conversations' scorecards
    with SQLiteStorage(db) as storage:
        averages = scorecard_averages(storage)
        scores: dict[str, list[float]] = {}
        for history in histories(storage):
            conversation = storage.conversations.get(history[0].conversation_id)
            scores.setdefault(history[0].actor, []).append(scorecard(conversation, history).score)
    assert set(averages) == set(scores) == {agent.id for agent in insights_world.AGENTS}
    table = printed[printed.index("Scorecard averages") :]
    for agent, values in scores.items():
        assert averages[agent] == pytest.approx(sum(values) / len(values))
        assert re.search(rf"│ {agent} +│ +{averages[agent]:.1f} │", table)


def test_report_hours_and_zone_change_the_times(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["--timezone", "Asia/Tokyo", "--hours", "00:00-24:00"]
    assert main(["report", "--db", str(db), *arguments]) == 0
    assert "Mon-Fri 00:00-24:00 (Asia/Tokyo)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "status", "message"),
    [
        (["--db", "missing.db"], 1, "missing.db: no such database file"),
        (["--hours", "nine to five"], 2, "is not HH:MM-HH:MM"),
        (["--timezone", "Mars/Olympus"], 1, "Mars/Olympus"),
        (["--hours", "18:00-09:00"], 1, "serviceplaybook: "),
    ],
)
def test_report_refuses_bad_arguments(
    db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    status: int,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    if "--db" not in arguments:
        arguments = ["--db", str(db), *arguments]
    assert main(["report", *arguments]) == status
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error


@pytest.mark.parametrize(("library", "arguments"), [("rich", []), ("plotly", ["--html", "x.html"])])
def test_without_the_report_extra_it_says_what_to_install(
    db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    library: str,
    arguments: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [m for m in sys.modules if m == library or m.startswith(f"{library}.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, library, None)  # import fails as if not installed
    assert main(["report", "--db", str(db), *arguments]) == 1
    error = capsys.readouterr().err
    assert f"the report needs {library}, which is not installed" in error
    assert "pip install 'serviceplaybook[report]'" in error
    assert not (tmp_path / "x.html").exists()


@pytest.fixture(scope="module")
def page(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    assert main(["report", "--db", str(db), "--html", str(path)]) == 0
    return path


def test_the_page_is_one_self_contained_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", text)  # the chart library is inline
    assert not re.search(r"<link[^>]+href=", text)
    assert "Plotly" in text
    assert "late_delivery escalations" in text
    assert text.count(f'class="{CHART_CLASS}"') == 7


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{CHROMIUM_INSTALL} (CI=true: this test must run in CI)", pytrace=False)
    pytest.skip(CHROMIUM_INSTALL)


def test_every_chart_draws_in_chromium(page: Path, tmp_path: Path) -> None:
    """The page after its scripts ran: each chart's container holds plotly's drawing (its
    SVG with at least one trace), nothing fetched from the network."""
    done = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    charts = dom.split(f'class="{CHART_CLASS}"')[1:]
    assert len(charts) == 7
    for number, chart in enumerate(charts, start=1):
        assert 'class="main-svg"' in chart, f"chart {number} did not draw"
        assert re.search(r'class="trace (bars|scatter)', chart), f"chart {number} has no data"


def test_report_for_a_period(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--since/--until: a day starts at midnight in the team's time zone; --until is the first
    moment left out, so 2026-11-09 to 2026-11-16 is ISO week 46."""
    arguments = ["--since", "2026-11-09", "--until", "2026-11-16", "--timezone", "Europe/Berlin"]
    assert main(["report", "--db", str(db), "--width", "200", *arguments]) == 0
    printed = capsys.readouterr().out
    berlin = ZoneInfo("Europe/Berlin")
    with SQLiteStorage(db) as storage:
        expected = report(
            storage,
            since=datetime(2026, 11, 9, tzinfo=berlin),
            until=datetime(2026, 11, 16, tzinfo=berlin),
        )
        whole = report(storage)
    assert 0 < expected.overall.conversations < whole.overall.conversations
    assert printed.startswith(f"Insights: {expected.overall.conversations} conversations")
    assert set(expected.by_week) == {"2026-W46"}
    assert "2026-W45" not in printed


@pytest.mark.parametrize(
    ("arguments", "status", "message"),
    [
        (["--since", "last monday"], 2, "is neither a day (2026-11-01) nor an ISO 8601 time"),
        (["--until", "2026-11-01T09:00"], 2, "is neither a day"),
        (["--since", "2026-12-01", "--until", "2026-11-01"], 1, "must be after since"),
    ],
)
def test_report_refuses_a_bad_period(
    db: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], status: int, message: str
) -> None:
    assert main(["report", "--db", str(db), *arguments]) == status
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error
