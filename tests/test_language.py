"""Language identification, and the word lists of the languages other than English."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serviceplaybook._policies.language import (
    LANGUAGES,
    LANGUAGES_WITH_LEXICONS,
    UNDETERMINED,
    LanguageGuess,
    LanguageIdentifier,
    identify,
    lexicon_directory,
)
from serviceplaybook._policies.signals import CATEGORIES, Lexicon, parse_lexicon_file

DATA = Path(__file__).parent / "data" / "language_id.jsonl"
ROWS: list[dict[str, str]] = [
    json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()
]
# "first": written before the identifier; "second": its three misses were fixed by adding
# words; "fresh": written after, never tuned on (py3langid gets all 30 of them).
COMPARED = [row for row in ROWS if row["set"] in ("first", "second")]
FRESH = [row for row in ROWS if row["set"] == "fresh"]

KEY_CATEGORIES = (
    "insults", "profanity", "manager", "violence", "self_harm",
    "negative", "positive", "negations", "anger",
)  # fmt: skip
OTHER_LANGUAGES = tuple(tag for tag in LANGUAGES_WITH_LEXICONS if tag != "en")


# -- the test messages -------------------------------------------------------------------------


def test_the_messages_are_30_per_language_of_3_to_12_words() -> None:
    first = Counter(row["language"] for row in ROWS if row["set"] == "first")
    assert first == dict.fromkeys(LANGUAGES, 30)
    for row in ROWS:
        assert 3 <= len(row["text"].split()) <= 12, row


def test_it_is_right_at_least_as_often_as_py3langid() -> None:
    langid = pytest.importorskip("py3langid.langid")
    reference = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
    reference.set_languages(list(LANGUAGES))
    ours = sum(identify(row["text"]).language == row["language"] for row in COMPARED)
    theirs = sum(reference.classify(row["text"])[0] == row["language"] for row in COMPARED)
    assert len(COMPARED) >= 180
    assert ours >= theirs, f"ours {ours}, py3langid {theirs} of {len(COMPARED)}"


def test_fresh_messages_it_was_never_tuned_on() -> None:
    # Measured: 28 of 30 ("dejad de mandarme ofertas por favor" is und, "l'écran a un pixel
    # mort pile au milieu" is Italian); py3langid gets 30. This guards against getting worse.
    right = sum(identify(row["text"]).language == row["language"] for row in FRESH)
    assert right >= 28


@pytest.mark.parametrize("row", COMPARED, ids=lambda row: row["text"][:40])
def test_each_message(row: dict[str, str]) -> None:
    guess = identify(row["text"])
    assert guess.language == row["language"]
    assert guess.confidence >= 0.9


# -- short, mixed and odd messages -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "ok", "OK!!", "thx", "ASAP!!!", "no", "si", "ola", "non", "ja", "?!", "123 456",
        "👍", "ok thx", "ok ok", "asdf qwer", ":-)", "小包裹", "привет как дела",
        "https://example.com", "order #12345",
    ],
)  # fmt: skip
def test_short_or_ambiguous_messages_are_undetermined(text: str) -> None:
    guess = identify(text)
    assert guess.language == UNDETERMINED
    assert not guess.determined


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("merci", "fr"), ("Merci !", "fr"), ("gracias!!", "es"), ("danke", "de"),
        ("obrigado", "pt"), ("Obrigada!", "pt"), ("grazie", "it"), ("thanks", "en"),
        ("sí", "es"), ("sì", "it"), ("olá!!", "pt"), ("ok danke", "de"),
        ("merci beaucoup", "fr"), ("muchas gracias", "es"), ("vielen Dank", "de"),
        ("muito obrigado", "pt"), ("grazie mille", "it"), ("thank you", "en"),
    ],
)  # fmt: skip
def test_thanks_and_greetings_name_their_language(text: str, language: str) -> None:
    assert identify(text).language == language


def test_a_mixed_message_gets_the_language_of_most_of_its_words() -> None:
    assert identify("hola, my order?").language == "en"
    assert identify("bonjour, my package never arrived").language == "en"
    assert identify("hello, mi pedido no ha llegado todavía").language == "es"


def test_the_same_text_gives_the_same_guess() -> None:
    text = "ich warte immer noch auf eine Antwort"
    assert identify(text) == identify(text) == LanguageIdentifier().identify(text)


def test_a_stricter_identifier_says_und_more_often() -> None:
    strict = LanguageIdentifier(min_confidence=0.999)
    guess = strict.identify("thx a lot")
    assert guess.language == UNDETERMINED
    assert 0 < guess.confidence < 0.999


def test_only_the_start_of_a_long_message_is_read() -> None:
    text = "mi pedido no ha llegado " + "the order did not arrive " * 20_000
    assert identify(text).language == "en"
    assert LanguageIdentifier(max_chars=24).identify(text).language == "es"


@given(st.text(st.characters(exclude_categories=()), max_size=300))
def test_any_text_gives_a_valid_guess(text: str) -> None:
    guess = identify(text)
    assert isinstance(guess, LanguageGuess)
    assert guess.language in (*LANGUAGES, UNDETERMINED)
    assert 0.0 <= guess.confidence <= 1.0


@given(
    st.lists(
        st.sampled_from(["\ud800", "\x00", "\u202e", "é", "ß", " ", "'", "\u2019", "de", "the"]),
        max_size=50,
    ).map("".join)
)
def test_surrogates_and_control_characters_do_not_raise(text: str) -> None:
    assert identify(text).language in (*LANGUAGES, UNDETERMINED)


# -- word lists --------------------------------------------------------------------------------


def test_lexicon_directory() -> None:
    assert lexicon_directory("en") == lexicon_directory("en-GB")
    assert lexicon_directory("pt-BR") == lexicon_directory("pt")
    assert lexicon_directory("DE") == lexicon_directory("de")
    for tag in ("und", "nl", "zh-Hant", "", "-"):
        assert lexicon_directory(tag) is None
    assert set(LANGUAGES_WITH_LEXICONS) == set(LANGUAGES)


def test_english_is_the_standard_lexicon() -> None:
    folder = lexicon_directory("en")
    assert folder is not None
    assert Lexicon.from_directory(folder, base=Lexicon()) == Lexicon.standard()


@pytest.mark.parametrize("tag", OTHER_LANGUAGES)
def test_every_category_file_parses(tag: str) -> None:
    folder = lexicon_directory(tag)
    assert folder is not None
    assert folder.is_dir()
    assert sorted(file.stem for file in folder.glob("*.txt")) == sorted(CATEGORIES)
    for category in CATEGORIES:
        text = (folder / f"{category}.txt").read_text(encoding="utf-8")
        assert text.startswith("# "), f"{tag}/{category}.txt must start with what it means"
        assert parse_lexicon_file(text, f"{tag}/{category}.txt")


@pytest.mark.parametrize("tag", OTHER_LANGUAGES)
def test_every_language_loads_as_a_lexicon(tag: str) -> None:
    folder = lexicon_directory(tag)
    assert folder is not None
    lexicon = Lexicon.from_directory(folder, base=Lexicon())
    for category in KEY_CATEGORIES:
        assert getattr(lexicon, category), f"{tag}: {category} is empty"
    # Nothing of the English lists leaks in: every category comes from the folder.
    assert "idiot" not in lexicon.insults or tag in ("fr", "de")
    assert "manager" not in lexicon.manager or tag in ("fr", "it")


@pytest.mark.parametrize(
    ("tag", "phrases"),
    [
        ("es", {"negative": ["vergüenza", "verguenza"], "manager": ["gerente", "encargado"]}),
        ("fr", {"negative": ["inadmissible"], "manager": ["responsable"]}),
        ("de", {"negative": ["frechheit"], "manager": ["vorgesetzten"]}),
        ("pt", {"manager": ["gerente"], "negations": ["não", "nao"]}),
        ("it", {"manager": ["responsabile"], "abuse": ["vaffanculo"]}),
    ],
)
def test_words_as_native_speakers_write_them(tag: str, phrases: dict[str, list[str]]) -> None:
    folder = lexicon_directory(tag)
    assert folder is not None
    lexicon = Lexicon.from_directory(folder, base=Lexicon())
    for category, words in phrases.items():
        for word in words:
            assert any(word in phrase.split() for phrase in getattr(lexicon, category)), (
                f"{tag}/{category}.txt lacks {word!r}"
            )


@given(st.text())
def test_the_word_splitter_finds_what_the_word_pattern_finds(text: str) -> None:
    from serviceplaybook._policies import language

    lower = text.lower()
    assert language._words(lower) == language._WORD.findall(lower)
