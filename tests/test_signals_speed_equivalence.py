"""The detector's shortcuts give the answers of the plain forms they replace.

``signals.py`` takes a few shortcuts for speed: patterns rewritten to start with a character
class, cheap checks before a costly search, and rules that answer at once when their
categories have no hits. Each test here pins one shortcut to the plain form it stands for, so
a later change to one side cannot silently drift from the other. (The second, ``re.ASCII``
scanner and the wildcards by first letter are gone: they bought under 5% of a detection.)
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from serviceplaybook import Lexicon, LexiconSignalDetector
from serviceplaybook._policies.signals import CATEGORIES, Reading
from serviceplaybook.testing.contracts import conversation

DETECTOR = LexiconSignalDetector()
EMPTY = conversation(messages=())


def test_the_first_fitting_wildcard_in_lexicon_order_wins() -> None:
    # Both wildcards fit "grrr"; "gr*" comes first (negative is before anger in CATEGORIES).
    detector = LexiconSignalDetector(lexicon=Lexicon(anger=["grr*"], negative=["gr*"]))
    assert detector.read("grrr").hits == {"negative": [(0, 4, 1.0)]}


@settings(deadline=None)
@given(text=st.text(alphabet="0123456789abz ,.-", max_size=40))
def test_the_digit_pattern_matches_as_its_plain_form(text: str) -> None:
    from serviceplaybook._policies.signals import _DIGIT_IN_WORD

    plain = re.compile(r"[0-9]+[a-z]")
    assert [m.span() for m in _DIGIT_IN_WORD.finditer(text)] == [
        m.span() for m in plain.finditer(text)
    ]


@settings(deadline=None)
@given(text=st.text(alphabet="ABCXYZabc' !.\u00c9\u00e9", max_size=40))
def test_a_word_in_capitals_is_always_inside_a_capital_run(text: str) -> None:
    from serviceplaybook._policies.signals import _CAPITAL_RUN, _CAPITAL_WORD

    if _CAPITAL_WORD.search(text):
        assert _CAPITAL_RUN.search(text)


def test_text_is_scanned_with_unicode_rules() -> None:
    # "\u212a" (the Kelvin sign) lower-cases to an ASCII "k"; "\u00a0" is a Unicode space.
    assert DETECTOR.detect("I will \u212aill\u00a0you", EMPTY).threat
    assert DETECTOR.detect("I will kill\x1fyou", EMPTY).threat
    assert (
        DETECTOR.read("kill\x1fyou").hits
        == DETECTOR.read("kill\u00a0you").hits
        == DETECTOR.read("kill you").hits
    )
    assert DETECTOR.read("kill\x1fyou").hits["violence"] == [(0, 8, 1.0)]


def test_overridden_rules_and_helpers_are_still_called() -> None:
    calls: list[str] = []

    class Watching(LexiconSignalDetector):
        def abusive(self, reading: Reading) -> bool:
            calls.append("abusive")
            return True  # fires without any abuse phrase

        def negated(self, reading: Reading, start: int) -> bool:
            calls.append("negated")
            return super().negated(reading, start)

        def intensified(self, reading: Reading, start: int) -> bool:
            calls.append("intensified")
            return super().intensified(reading, start)

    # A calm message with one negative phrase and no abuse, negation or intensifier phrase.
    signals = Watching().detect("The parcel still has not arrived (3)", EMPTY)
    assert signals.abusive
    assert {"abusive", "negated", "intensified"} <= set(calls)


def test_rules_without_hits_answer_as_with_them_absent() -> None:
    reading = DETECTOR.read("The parcel still has not arrived (3)")
    assert not DETECTOR.abusive(reading)
    assert not DETECTOR.violence(reading)
    assert not DETECTOR.self_harm(reading)
    assert not DETECTOR.legal_threat(reading)
    assert not DETECTOR.wants_manager(reading)
    # A reading whose categories are present but empty takes the long way to the same answer.
    empty = Reading(text="x", lower="x", hits={c: [] for c in CATEGORIES})
    assert not DETECTOR.abusive(empty)
    assert DETECTOR.anger(empty, sentiment=0.0, shouting=False, abusive=False) == 0.0
    assert DETECTOR.sentiment(empty) == 0.0
