"""Measuring a signal detector on labelled messages: the figures of a small hand-made file
worked out by hand, bad lines reported all at once, ``evaluate-signals`` (tables, ``--json``,
``--detector``, ``--misses``), per-language groups, and properties of any labelled set."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serviceplaybook import Signals, ValidationError
from serviceplaybook.__main__ import main
from serviceplaybook._records.conversation import Conversation
from serviceplaybook.testing.signal_evaluation import (
    BOOLEAN_SIGNALS,
    Evaluation,
    EvaluationError,
    Labelled,
    LabelledFileError,
    Share,
    evaluate,
    language_matches,
    neutral_conversation,
    parse_labelled,
    read_labelled,
)

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "data" / "labelled_messages.jsonl"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


# -- a small hand-made file and a detector that reads from a table --------------------------

LINES = [
    {"text": "a", "id": "m1", "language": "en", "abusive": True, "sarcastic": True,
     "polarity": "negative"},
    {"text": "b", "language": "en", "abusive": True, "upset": False, "polarity": "neutral"},
    {"text": "c", "language": "en", "abusive": False, "polarity": "positive", "note": "ok"},
    {"text": "d", "language": "es", "abusive": False, "sarcastic": True, "upset": True},
    {"text": "e", "language": "es", "abusive": True, "polarity": "negative"},
    {"text": "f", "threat": False, "case": "no language"},
]  # fmt: skip

# what the detector reads in each text (Signals' keywords)
READINGS: dict[str, dict[str, Any]] = {
    "a": {"abusive": True, "sarcastic": True, "sentiment": -0.6, "language": "en"},
    "b": {"language": "en-GB"},
    "c": {"abusive": True, "sentiment": 0.1},
    "d": {"sentiment": 0.3, "language": "es"},
    "e": {"abusive": True, "sentiment": -0.2, "language": "pt"},
    "f": {"assessed": False},
}

DETECTOR_SOURCE = f"""
from serviceplaybook import Signals

READINGS = {READINGS!r}


class TableDetector:
    def detect(self, text, conversation):
        return Signals(**READINGS[text])


def make():
    return TableDetector()


made_already = TableDetector()


not_a_detector = 42
"""


class TableDetector:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Conversation]] = []

    def detect(self, text: str, conversation: Conversation) -> Signals:
        self.seen.append((text, conversation))
        return Signals(**READINGS[text])


def write_lines(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "small.jsonl", LINES)


@pytest.fixture
def detector_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``table_detector.py`` in the current directory; the ``sys.path`` the test started with."""
    (tmp_path / "table_detector.py").write_text(DETECTOR_SOURCE)
    monkeypatch.chdir(tmp_path)
    before = [entry for entry in sys.path if entry not in (str(tmp_path), "", ".")]
    monkeypatch.setattr(sys, "path", list(before))
    monkeypatch.delitem(sys.modules, "table_detector", raising=False)
    return before


def test_the_small_file_reads_into_labelled_messages(small: Path) -> None:
    messages = read_labelled(small)
    assert [m.line for m in messages] == [1, 2, 3, 4, 5, 6]
    assert messages[0] == Labelled(
        text="a",
        id="m1",
        language="en",
        labels={"abusive": True, "sarcastic": True},
        polarity="negative",
        line=1,
    )
    assert messages[0].name == "m1"
    assert messages[1].name == "line 2"
    assert dict(messages[3].labels) == {"abusive": False, "sarcastic": True, "upset": True}
    assert messages[5].language is None
    assert messages[5].group == "und"
    assert dict(messages[5].labels) == {"threat": False}  # "case" is not a label


def test_exact_figures_worked_out_by_hand(small: Path) -> None:
    detector = TableDetector()
    result = evaluate(detector, read_labelled(small))
    overall = result.overall
    assert (overall.messages, overall.not_assessed) == (6, 1)

    abusive = overall.signal("abusive")  # labelled on a-e; true on a, b, e; read on a, c, e
    assert (abusive.scored, abusive.support) == (5, 3)
    assert (abusive.true_positives, abusive.false_positives, abusive.false_negatives) == (2, 1, 1)
    assert abusive.precision == pytest.approx(2 / 3)  # a, e of a, c, e
    assert abusive.recall == pytest.approx(2 / 3)  # a, e of a, b, e
    assert abusive.f1 == pytest.approx(2 / 3)

    sarcastic = overall.signal("sarcastic")  # true on a (read), d (missed)
    assert (sarcastic.precision, sarcastic.recall) == (1.0, 0.5)
    assert sarcastic.f1 == pytest.approx(2 / 3)

    upset = overall.signal("upset")  # b labelled false (calm: right), d true (read calm)
    assert (upset.scored, upset.support, upset.false_negatives) == (2, 1, 1)
    assert (upset.precision, upset.recall, upset.f1) == (None, 0.0, 0.0)

    threat = overall.signal("threat")  # labelled false once, never read: nothing to divide
    assert (threat.scored, threat.support, threat.false_positives) == (1, 0, 0)
    assert (threat.precision, threat.recall, threat.f1) == (None, None, None)
    assert overall.signal("calming").scored == 0  # no line labels it

    assert overall.polarity == Share(3, 4)  # c is positive, read neutral (0.1)
    assert overall.language == Share(3, 5)  # en-GB counts for en; und and pt do not
    assert overall.sarcastic_read_as_upset == Share(1, 2)  # a (sarcastic), not d
    assert result.detects_language

    assert list(result.by_language) == ["en", "es", "und"]
    en, es, und = result.by_language.values()
    assert (en.messages, es.messages, und.messages) == (3, 2, 1)
    assert en.signal("abusive").precision == en.signal("abusive").recall == 0.5
    assert es.signal("abusive").f1 == 1.0
    assert (en.polarity, es.polarity, und.polarity) == (Share(2, 3), Share(1, 1), Share(0, 0))
    assert (en.language, es.language, und.language) == (Share(2, 3), Share(1, 2), Share(0, 0))
    assert und.language is not None
    assert und.language.ratio is None
    assert (en.sarcastic_read_as_upset, es.sarcastic_read_as_upset) == (Share(1, 1), Share(0, 1))
    assert (en.not_assessed, es.not_assessed, und.not_assessed) == (0, 0, 1)

    assert [(m.message.name, m.label, m.kind, m.expected, m.got) for m in result.misses] == [
        ("line 2", "abusive", "false negative", True, False),
        ("line 3", "abusive", "false positive", False, True),
        ("line 3", "polarity", "wrong", "positive", "neutral"),
        ("line 3", "language", "wrong", "en", "und"),
        ("line 4", "sarcastic", "false negative", True, False),
        ("line 4", "upset", "false negative", True, False),
        ("line 5", "language", "wrong", "es", "pt"),
    ]
    # every message is read once, in the same neutral conversation
    assert [text for text, _ in detector.seen] == ["a", "b", "c", "d", "e", "f"]
    assert {conversation for _, conversation in detector.seen} == {neutral_conversation()}
    assert neutral_conversation().messages == ()
    assert neutral_conversation().signals == ()


class SetsNoLanguage:
    """A detector that leaves ``language`` undetermined, as a host's own may."""

    def detect(self, text: str, conversation: object) -> Signals:
        return Signals(abusive="idiot" in text)


def test_a_detector_that_sets_no_language_is_not_measured_on_it(small: Path) -> None:
    result = evaluate(SetsNoLanguage(), read_labelled(small))  # type: ignore[arg-type]
    assert not result.detects_language
    assert result.overall.language is None
    assert all(figures.language is None for figures in result.by_language.values())
    assert not [miss for miss in result.misses if miss.label == "language"]


@pytest.mark.parametrize(
    ("expected", "got", "right"),
    [
        ("en", "en", True),
        ("en", "en-GB", True),
        ("EN", "en-gb", True),
        ("pt-BR", "pt", False),
        ("pt-BR", "pt-BR", True),
        ("en", "und", False),
        ("en", "eng", False),
    ],
)
def test_a_language_label_is_a_range(expected: str, got: str, right: bool) -> None:
    assert language_matches(expected, got) is right


def test_a_detector_that_fails_is_an_evaluation_error() -> None:
    class Broken:
        def detect(self, text: str, conversation: Conversation) -> Signals:
            raise RuntimeError("model not loaded")

    class Wrong:
        def detect(self, text: str, conversation: Conversation) -> object:
            return {"abusive": True}

    message = Labelled(text="hello", id="x1")
    with pytest.raises(EvaluationError, match="failed on x1: RuntimeError: model not loaded"):
        evaluate(Broken(), [message])
    with pytest.raises(EvaluationError, match="returned dict for x1, not Signals"):
        evaluate(Wrong(), [message])  # type: ignore[arg-type]


def test_labelled_records_refuse_bad_values() -> None:
    with pytest.raises(ValidationError, match="not a boolean signal"):
        Labelled(text="x", labels={"anger": True})
    with pytest.raises(ValidationError, match="must be a bool"):
        Labelled(text="x", labels={"abusive": 1})  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match="polarity"):
        Labelled(text="x", polarity="angry")
    with pytest.raises(ValidationError, match="BCP 47"):
        Labelled(text="x", language="English")
    with pytest.raises(ValidationError, match="text"):
        Labelled(text=None)  # type: ignore[arg-type]


# -- bad lines ------------------------------------------------------------------------------

BAD = (
    '{"text": "fine", "abusive": true, "case": "plain", "note": "x", "part": 2}\n'  # 1 ok
    "not json at all\n"  # 2
    '{"abusive": true}\n'  # 3: no text
    '{"text": "x", "abusive": "yes"}\n'  # 4: a label of the wrong type
    '{"text": "x", "polarity": "angry"}\n'  # 5: an unknown polarity
    '{"text": "x", "abusve": true}\n'  # 6: a typo of a label
    "\n"  # 7: blank, skipped
    '{"text": "x", "sentiment": "negative"}\n'  # 8: the old name of polarity
    '["text", "x"]\n'  # 9: not an object
    '{"text": "x", "id": 7, "language": "English"}\n'  # 10: two problems
    '{"text": "y", "id": "a"}\n'  # 11
    '{"text": "z", "id": "a", "Threat": false}\n'  # 12: the id again; a label's case
)


def test_every_bad_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(LabelledFileError) as caught:
        read_labelled(path)
    problems = [(problem.line, problem.message) for problem in caught.value.problems]
    lines = [line for line, _ in problems]
    assert lines == [2, 3, 4, 5, 6, 8, 9, 10, 10, 12, 12]
    text = "\n".join(f"{line}: {message}" for line, message in problems)
    for expected in (
        "2: not JSON",
        "3: no 'text'",
        "4: 'abusive' must be true or false, got the string \"yes\"",
        '5: \'polarity\' must be "negative", "neutral" or "positive", got the string "angry"',
        "6: 'abusve' is not a key; did you mean 'abusive'?",
        "8: 'sentiment' is not a label: write the polarity label as 'polarity'",
        "9: not a JSON object but an array",
        "10: 'id' must be a string, got the number 7",
        "10: 'language' must be a BCP 47 tag",
        "12: id 'a' is also line 11's",
        "12: 'Threat' is not a key; did you mean 'threat'?",
    ):
        assert expected in text
    assert str(caught.value.problems[0]) == f"{path}:2: {problems[0][1]}"


def test_a_line_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n{"text": 3}\n')
    with pytest.raises(LabelledFileError) as caught:
        read_labelled(path)
    assert [(p.line, p.message.split(" (")[0]) for p in caught.value.problems] == [
        (2, "not UTF-8"),
        (3, "'text' must be a string, got the number 3"),
    ]


def test_parse_labelled_takes_lines_and_skips_blank_ones() -> None:
    messages = parse_labelled(['{"text": "hi"}', "   ", '{"text": "", "calming": true}'])
    assert [(m.line, m.text) for m in messages] == [(1, "hi"), (3, "")]
    assert parse_labelled([]) == []


def test_the_cli_lists_every_bad_line_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(BAD, encoding="utf-8")
    for extra in ([], ["--json"]):
        status, out, err = run_cli(capsys, "evaluate-signals", path, *extra)
        assert (status, out) == (1, "")
        lines = err.splitlines()
        assert len(lines) == 12  # eleven problems and the summary
        assert lines[0].startswith(f"{path}:2: not JSON")
        assert lines[-1] == f"serviceplaybook: {path}: 9 bad lines; nothing was evaluated"
        assert "Traceback" not in err


def test_the_cli_refuses_a_missing_or_empty_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.jsonl"
    assert run_cli(capsys, "evaluate-signals", missing) == (
        1,
        "",
        f"serviceplaybook: {missing}: no such labelled file\n",
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert run_cli(capsys, "evaluate-signals", empty) == (
        1,
        "",
        f"serviceplaybook: {empty}: no labelled message in the file\n",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate-signals"],
        ["evaluate-signals", "x.jsonl", "--misses", "-1"],
        ["evaluate-signals", "x.jsonl", "--misses", "many"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    status, out, err = run_cli(capsys, *argv)
    assert (status, out) == (2, "")
    assert "error:" in err


# -- the command ----------------------------------------------------------------------------


def test_the_cli_prints_tables_overall_per_language_and_misses(
    capsys: pytest.CaptureFixture[str], small: Path, detector_module: list[str]
) -> None:
    status, out, err = run_cli(
        capsys, "evaluate-signals", small, "--detector", "table_detector:TableDetector"
    )
    assert (status, err) == (0, "")
    assert sys.path == detector_module  # the current directory was on it for the import only
    for spec in ("table_detector:make", "table_detector:made_already"):  # a factory, a detector
        assert run_cli(capsys, "evaluate-signals", small, "--detector", spec) == (0, out, "")
    lines = out.splitlines()
    assert lines[0] == f"{small}: 6 messages, detector TableDetector"
    assert "all languages: 6 messages, 1 not assessed" in lines
    assert "  signal     scored  support  FP  FN  precision  recall    F1" in lines
    assert "  abusive         5        3   1   1       0.67    0.67  0.67" in lines
    assert "  threat          1        0   0   0          -       -     -" in lines
    assert "  upset           2        1   0   1          -    0.00  0.00" in lines
    assert not [line for line in lines if line.startswith("  calming")]  # labelled nowhere
    for expected in (
        "  polarity accuracy: 0.75 (3 of 4)",
        "  language identification: 0.60 (3 of 5)",
        "  sarcastic read as upset: 0.50 (1 of 2)",
        "language en: 3 messages, 0 not assessed",
        "  language identification: 0.67 (2 of 3)",
        "language es: 2 messages, 0 not assessed",
        "language und: 1 message, 1 not assessed",
        "  no signal labelled true or detected",
        "  language identification: - (none labelled)",
        "misses: 7",
        '  line 2: abusive false negative: expected true, got false: "b"',
        '  line 3: polarity wrong: expected "positive", got "neutral": "c"',
        '  line 5: language wrong: expected "es", got "pt": "e"',
    ):
        assert expected in lines
    assert lines.index("language en: 3 messages, 0 not assessed") < lines.index(
        "language es: 2 messages, 0 not assessed"
    )

    status, out, _ = run_cli(
        capsys, "evaluate-signals", small, "--detector", "table_detector:make", "--misses", "2"
    )
    assert status == 0
    assert "misses: 7, the first 2 listed (--misses N for more)" in out
    assert "line 3: polarity" not in out
    assert "line 3: abusive false positive" in out
    status, out, _ = run_cli(
        capsys, "evaluate-signals", small, "--detector", "table_detector:make", "--misses", "0"
    )
    assert "misses: 7 (--misses N lists them)\n" in out
    assert "false negative" not in out


def test_a_long_text_is_cut_to_one_line_in_the_misses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = "You are an idiot\nand " + "really " * 30 + "useless"
    path = write_lines(tmp_path / "long.jsonl", [{"text": text, "id": "long-1", "abusive": False}])
    status, out, _ = run_cli(capsys, "evaluate-signals", path)
    assert status == 0
    [miss] = [line for line in out.splitlines() if line.startswith("  long-1:")]
    assert miss.startswith('  long-1: abusive false positive: expected false, got true: "You are')
    assert miss.endswith('\u2026"')
    assert len(miss) < 140


def test_json_prints_the_figures(
    capsys: pytest.CaptureFixture[str], small: Path, detector_module: list[str]
) -> None:
    status, out, err = run_cli(
        capsys,
        "evaluate-signals",
        small,
        "--detector",
        "table_detector:TableDetector",
        "--json",
        "--misses",
        "3",
    )
    assert (status, err) == (0, "")
    data = json.loads(out)
    assert data["file"] == str(small)
    assert data["detector"] == "table_detector.TableDetector"
    assert data["detects_language"] is True
    overall = data["overall"]
    assert (overall["messages"], overall["not_assessed"]) == (6, 1)
    assert set(overall["signals"]) == set(BOOLEAN_SIGNALS)
    abusive = overall["signals"]["abusive"]
    assert abusive["precision"] == pytest.approx(2 / 3)
    assert (abusive["support"], abusive["false_positives"]) == (3, 1)
    assert overall["signals"]["threat"]["precision"] is None  # undefined is null
    assert overall["polarity"] == {"hits": 3, "total": 4, "ratio": 0.75}
    assert overall["language"] == {"hits": 3, "total": 5, "ratio": 0.6}
    assert overall["sarcastic_read_as_upset"] == {"hits": 1, "total": 2, "ratio": 0.5}
    assert list(data["by_language"]) == ["en", "es", "und"]
    assert data["by_language"]["es"]["signals"]["abusive"]["f1"] == 1.0
    assert data["misses_total"] == 7
    assert data["misses"][0] == {
        "line": 2,
        "id": None,
        "label": "abusive",
        "kind": "false negative",
        "expected": True,
        "got": False,
        "text": "b",
    }
    assert len(data["misses"]) == 3


def test_detector_option_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], small: Path, detector_module: list[str]
) -> None:
    status, out, err = run_cli(capsys, "evaluate-signals", small, "--detector", "table_detector")
    assert (status, out) == (2, "")  # malformed: a usage error, as the docs say
    assert "argument --detector: 'table_detector' is not MODULE:CLASS" in err
    for spec, expected in (
        ("no_such_module:X", "cannot import no_such_module"),
        ("table_detector:Nothing", "table_detector has no 'Nothing'"),
        ("table_detector:not_a_detector", "not_a_detector is not a class or a factory"),
        ("table_detector:Signals", "made a Signals, which has no detect(text, conversation)"),
    ):
        status, out, err = run_cli(capsys, "evaluate-signals", small, "--detector", spec)
        assert (status, out) == (1, ""), spec
        assert expected in err
        assert len(err.splitlines()) == 1
        assert err.startswith("serviceplaybook: --detector ")
    assert sys.path == detector_module


def test_the_cli_on_the_labelled_set(capsys: pytest.CaptureFixture[str]) -> None:
    """The labelled set of tests/test_signals.py is in the documented format."""
    status, out, err = run_cli(capsys, "evaluate-signals", LABELLED)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"{LABELLED}: 269 messages, detector LexiconSignalDetector"
    # the Japanese, Russian and Arabic messages: the English lists cannot read them
    assert "all languages: 269 messages, 3 not assessed" in lines
    assert any(line.startswith("language en: 255 messages") for line in lines)
    assert any(line.startswith("language und: 6 messages") for line in lines)
    for flag in ("abusive", "threat", "legal_threat", "wants_manager", "repeat_contact"):
        assert any(line.startswith(f"  {flag} ") for line in lines), flag
    assert any(line.startswith("  polarity accuracy: 0.") for line in lines)
    status, out, _ = run_cli(capsys, "evaluate-signals", LABELLED, "--json")
    assert status == 0
    data = json.loads(out)
    assert data["overall"]["messages"] == 269
    assert data["overall"]["signals"]["shouting"]["support"] >= 8


def test_help_lists_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "--help")
    assert status == 0
    assert "evaluate-signals" in out
    status, out, _ = run_cli(capsys, "evaluate-signals", "--help")
    assert status == 0
    assert "--detector" in out
    assert "--misses" in out


# -- properties -----------------------------------------------------------------------------

TEXTS = st.text(alphabet="abc ", max_size=4)
readings = st.builds(
    Signals,
    sentiment=st.floats(-1, 1),
    anger=st.floats(0, 1),
    **{name: st.booleans() for name in BOOLEAN_SIGNALS if name != "upset"},
    language=st.sampled_from(["en", "en-GB", "es", "pt", "und"]),
    assessed=st.booleans(),
)
labelled_messages = st.builds(
    Labelled,
    text=TEXTS,
    labels=st.dictionaries(st.sampled_from(BOOLEAN_SIGNALS), st.booleans()),
    polarity=st.none() | st.sampled_from(["negative", "neutral", "positive"]),
    language=st.none() | st.sampled_from(["en", "es", "pt-BR"]),
)


class Fixed:
    def __init__(self, readings: dict[str, Signals]) -> None:
        self.readings = readings

    def detect(self, text: str, conversation: Conversation) -> Signals:
        return self.readings.get(text, Signals())


def check_figures(result: Evaluation, messages: list[Labelled]) -> None:
    groups = [result.overall, *result.by_language.values()]
    for figures in groups:
        for row in figures.signals:
            for ratio in (row.precision, row.recall, row.f1):
                assert ratio is None or 0.0 <= ratio <= 1.0
            assert row.true_positives + row.false_negatives == row.support <= row.scored
            assert row.false_positives <= row.scored - row.support
        shares = (figures.polarity, figures.language, figures.sarcastic_read_as_upset)
        for share in shares:
            if share is not None:
                assert 0 <= share.hits <= share.total <= figures.messages
                assert share.ratio is None or 0.0 <= share.ratio <= 1.0
        assert 0 <= figures.not_assessed <= figures.messages
    parts = list(result.by_language.values())
    overall = result.overall
    assert overall.messages == len(messages) == sum(part.messages for part in parts)
    assert overall.not_assessed == sum(part.not_assessed for part in parts)
    for name in BOOLEAN_SIGNALS:
        total = overall.signal(name)
        for field in ("scored", "support", "true_positives", "false_positives"):
            assert getattr(total, field) == sum(getattr(p.signal(name), field) for p in parts)
        assert total.scored == sum(name in m.labels for m in messages)
    assert overall.polarity.total == sum(m.polarity is not None for m in messages)
    assert overall.polarity.hits == sum(p.polarity.hits for p in parts)
    wrong_polarity = overall.polarity.total - overall.polarity.hits
    wrong_language = 0
    if overall.language is not None:
        assert overall.language.total == sum(m.language is not None for m in messages)
        wrong_language = overall.language.total - overall.language.hits
    flags = sum(row.false_positives + row.false_negatives for row in overall.signals)
    assert len(result.misses) == flags + wrong_polarity + wrong_language
    assert set(result.by_language) == {m.group for m in messages}


@settings(max_examples=60, deadline=None)
@given(
    messages=st.lists(labelled_messages, max_size=12),
    table=st.dictionaries(TEXTS, readings, max_size=8),
)
def test_any_labelled_set_gives_figures_in_range_that_add_up(
    messages: list[Labelled], table: dict[str, Signals]
) -> None:
    check_figures(evaluate(Fixed(table), messages), messages)
