"""The six-language tuning set's figures never drop below the floors docs/signals.md shows.

The table under "## Six languages" in docs/signals.md is the contract: each cell is a floor
(rounded down); a change to the detector or its word lists that lowers a figure fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from serviceplaybook import LexiconSignalDetector
from serviceplaybook.testing.signal_evaluation import Evaluation, Figures, evaluate, read_labelled

ROOT = Path(__file__).resolve().parent.parent
TUNE = ROOT / "tests" / "data" / "signals_tune.jsonl"
DOC = ROOT / "docs" / "signals.md"

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


def documented() -> dict[str, dict[str, float]]:
    """The floors table: language -> column -> floor."""
    text = DOC.read_text("utf-8")
    section = text[text.index("## Six languages") :]
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


@pytest.fixture(scope="module")
def measured() -> Evaluation:
    return evaluate(LexiconSignalDetector(), read_labelled(TUNE))


def test_the_table_covers_every_language_and_column() -> None:
    table = documented()
    assert set(table) == {"all", "en", "es", "fr", "de", "pt", "it"}
    assert all(set(row) == set(COLUMNS) for row in table.values())


@pytest.mark.parametrize("language", ["all", "en", "es", "fr", "de", "pt", "it"])
def test_no_figure_drops_below_its_floor(measured: Evaluation, language: str) -> None:
    figures: Figures = measured.overall if language == "all" else measured.by_language[language]
    dropped = {
        column: (round(value, 3), floor)
        for column, floor in documented()[language].items()
        if (value := COLUMNS[column](figures)) is None or value < floor
    }
    assert dropped == {}, "a figure fell below docs/signals.md's floor (measured, floor)"
