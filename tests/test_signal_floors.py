"""The labelled sets' figures never drop below the floors docs/signals.md shows.

Two tables in docs/signals.md are the contract, each cell a floor (rounded down): the one under
"## Six languages" for the tuning set, and the one under "### The held-out set" for the
held-out set, which is never tuned on. A change to the detector or its word lists that lowers
a figure fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from serviceplaybook import LexiconSignalDetector
from serviceplaybook.testing.signal_evaluation import Evaluation, Figures, evaluate, read_labelled

ROOT = Path(__file__).resolve().parent.parent
TUNE = ROOT / "tests" / "data" / "signals_tune.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "signals_holdout.jsonl"
DOC = ROOT / "docs" / "signals.md"
#: Each labelled set and the heading of its table of floors in docs/signals.md.
SETS = {"tune": (TUNE, "## Six languages"), "holdout": (HOLDOUT, "### The held-out set")}
LANGUAGES = ["all", "en", "es", "fr", "de", "pt", "it"]

# column -> how to read it from a language's figures
COLUMNS = {
    "upset P": lambda f: f.signal("upset").precision,
    "upset R": lambda f: f.signal("upset").recall,
    "abusive P": lambda f: f.signal("abusive").precision,
    "abusive R": lambda f: f.signal("abusive").recall,
    "threat P": lambda f: f.signal("threat").precision,
    "threat R": lambda f: f.signal("threat").recall,
    "self-harm R": lambda f: f.signal("self_harm").recall,
    "manager P": lambda f: f.signal("wants_manager").precision,
    "manager R": lambda f: f.signal("wants_manager").recall,
    "polarity": lambda f: f.polarity.ratio,
    "sarcastic read as upset": lambda f: f.sarcastic_read_as_upset.ratio,
}


def documented(heading: str = "## Six languages") -> dict[str, dict[str, float]]:
    """The floors table under ``heading``: language -> column -> floor."""
    text = DOC.read_text("utf-8")
    section = text[text.index(heading) :]
    table_start = section.index("\n| language |")
    section = section[table_start + 1 : section.index("\n\n", table_start)]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    table: dict[str, dict[str, float]] = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        row = dict(zip(header, cells, strict=True))
        table[row["language"]] = {
            column: float(row[column])
            for column in COLUMNS
            if re.fullmatch(r"\d\.\d\d", row[column])
        }
    return table


@pytest.fixture(scope="module", params=sorted(SETS))
def measured(request: pytest.FixtureRequest) -> tuple[str, Evaluation]:
    path, heading = SETS[request.param]
    return heading, evaluate(LexiconSignalDetector(), read_labelled(path))


@pytest.mark.parametrize("name", sorted(SETS))
def test_the_table_covers_every_language_and_column(name: str) -> None:
    table = documented(SETS[name][1])
    assert set(table) == set(LANGUAGES)
    assert all(set(row) == set(COLUMNS) for row in table.values())


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_figure_drops_below_its_floor(measured: tuple[str, Evaluation], language: str) -> None:
    heading, evaluation = measured
    figures: Figures = evaluation.overall if language == "all" else evaluation.by_language[language]
    dropped = {
        column: (round(value, 3), floor)
        for column, floor in documented(heading)[language].items()
        if (value := COLUMNS[column](figures)) is None or value < floor
    }
    assert dropped == {}, f"a figure fell below the floor under {heading!r} (measured, floor)"
