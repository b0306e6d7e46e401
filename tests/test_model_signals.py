"""The model-backed detector: the reply's contract, fallbacks, the OR rule, the cache, threads.

Whatever the model does (raises, hangs, replies nonsense), ``detect`` answers with the
lexicon's reading and records why; a safety signal either reader found is never lost.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    Customer,
    Issue,
    LexiconSignalDetector,
    Message,
    ModelSignalDetector,
    ServiceDesk,
    SignalDetector,
    Signals,
    ValidationError,
)
from serviceplaybook._policies.model_signals import EITHER_READER, FIELDS
from serviceplaybook.testing.contracts import T0, conversation

LEXICON = LexiconSignalDetector()
SO_FAR = conversation()
NEUTRAL = "Where is my parcel?"
SAFETY = ("threat", "self_harm", "abusive")


@attrs.define
class Script:
    """A stand-in model: returns ``reply`` (or raises it), and counts its calls."""

    reply: Any = attrs.field(factory=dict)
    calls: int = 0
    seen: list[tuple[str, Mapping[str, Any]]] = attrs.field(factory=list)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def __call__(self, text: str, context: Mapping[str, Any]) -> Any:
        with self.lock:
            self.calls += 1
            self.seen.append((text, context))
        if isinstance(self.reply, BaseException):
            raise self.reply
        return self.reply


@attrs.define(kw_only=True)
class Recording(ModelSignalDetector):
    """Records the fallback codes instead of logging them."""

    codes: list[str] = attrs.field(factory=list)

    def fell_back(self, code: str, detail: str, length: int) -> None:
        self.codes.append(code)


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def detector(script: Script) -> Iterator[Recording]:
    with Recording(model=script) as made:
        yield made


# -- a valid reply ------------------------------------------------------------------------


def test_it_is_a_signal_detector(detector: Recording) -> None:
    assert isinstance(detector, SignalDetector)


def test_the_model_wins_for_the_fields_it_gave(script: Script, detector: Recording) -> None:
    script.reply = {
        "sentiment": -0.7,
        "anger": 1,
        "sarcastic": True,
        "confused": True,
        "language": "pt-BR",
        "assessed": True,
    }
    signals = detector.detect("Amazing service as always.", SO_FAR)
    assert (signals.sentiment, signals.anger, signals.language) == (-0.7, 1.0, "pt-BR")
    assert signals.sarcastic
    assert signals.confused
    assert signals.assessed
    assert isinstance(signals.anger, float)
    assert detector.codes == []


def test_fields_the_model_left_out_keep_the_lexicon_reading(
    script: Script, detector: Recording
) -> None:
    text = "THIRD time I write!!! WHERE IS MY PARCEL"
    script.reply = {"anger": 0.2}
    signals = detector.detect(text, SO_FAR)
    assert signals == attrs.evolve(LEXICON.detect(text, SO_FAR), anger=0.2)
    assert signals.shouting
    assert signals.repeat_contact
    script.reply = {}
    assert detector.detect("again: " + text, SO_FAR) == LEXICON.detect("again: " + text, SO_FAR)
    assert detector.codes == []


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("I will kill you", "threat"),
        ("I want to kill myself", "self_harm"),
        ("you idiot", "abusive"),
        ("I will sue you", "legal_threat"),
    ],
)
def test_a_safety_signal_the_lexicon_found_survives_a_model_that_denies_it(
    script: Script, detector: Recording, text: str, field: str
) -> None:
    assert getattr(LEXICON.detect(text, SO_FAR), field)
    script.reply = dict.fromkeys(EITHER_READER, False)
    signals = detector.detect(text, SO_FAR)
    assert getattr(signals, field)
    assert detector.codes == []


@pytest.mark.parametrize("field", EITHER_READER)
def test_a_safety_signal_only_the_model_found_is_kept(
    script: Script, detector: Recording, field: str
) -> None:
    assert not getattr(LEXICON.detect(NEUTRAL, SO_FAR), field)
    script.reply = {field: True}
    signals = detector.detect(NEUTRAL, SO_FAR)
    assert getattr(signals, field)
    assert signals.threat == (field in ("threat", "self_harm"))  # self-harm is a threat


def test_a_model_that_could_not_read_the_message_leaves_the_lexicon_reading(
    script: Script, detector: Recording
) -> None:
    script.reply = {"assessed": False, "sentiment": 0.9, "threat": True}
    text = "This is ridiculous"
    assert detector.detect(text, SO_FAR) == LEXICON.detect(text, SO_FAR)
    assert detector.codes == []


# -- malformed replies, failures, timeouts -------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (None, "reply_not_a_mapping"),
        ([("anger", 0.5)], "reply_not_a_mapping"),
        ('{"anger": 0.5}', "reply_not_a_mapping"),  # JSON text: the callable must parse it
        (42, "reply_not_a_mapping"),
        ({"Threat": False}, "reply_unknown_key"),
        ({"anger": 0.5, "reasoning": "..."}, "reply_unknown_key"),
        ({1: True}, "reply_unknown_key"),
        ({"shouting": 1}, "reply_wrong_type"),
        ({"shouting": "true"}, "reply_wrong_type"),
        ({"shouting": None}, "reply_wrong_type"),
        ({"anger": True}, "reply_wrong_type"),
        ({"anger": "0.5"}, "reply_wrong_type"),
        ({"sentiment": [0.1]}, "reply_wrong_type"),
        ({"anger": math.nan}, "reply_not_finite"),
        ({"sentiment": -math.inf}, "reply_not_finite"),
        ({"anger": 1.01}, "reply_out_of_range"),
        ({"anger": -0.1}, "reply_out_of_range"),
        ({"sentiment": -2}, "reply_out_of_range"),
        ({"anger": 10**400}, "reply_out_of_range"),
        ({"language": "English"}, "reply_bad_language"),
        ({"language": "EN"}, "reply_bad_language"),
        ({"language": ""}, "reply_bad_language"),
        ({"language": 7}, "reply_wrong_type"),
    ],
)
def test_a_malformed_reply_falls_back_to_the_lexicon(
    script: Script, detector: Recording, reply: Any, code: str
) -> None:
    text = "This is RIDICULOUS, you idiot"
    script.reply = reply
    assert detector.detect(text, SO_FAR) == LEXICON.detect(text, SO_FAR)
    assert detector.codes == [code]


def test_an_unknown_key_refuses_the_whole_reply(script: Script, detector: Recording) -> None:
    # ignoring the unknown key would keep "threat": a misspelt contract is refused instead
    script.reply = {"threat": True, "self-harm": True}
    assert not detector.detect(NEUTRAL, SO_FAR).threat
    assert detector.codes == ["reply_unknown_key"]


@pytest.mark.parametrize(
    "error", [RuntimeError("boom"), ValueError("x"), TimeoutError("client timeout")]
)
def test_a_model_that_raises_falls_back_to_the_lexicon(
    script: Script, detector: Recording, error: Exception
) -> None:
    script.reply = error
    text = "I will kill you"
    assert detector.detect(text, SO_FAR) == LEXICON.detect(text, SO_FAR)
    assert detector.codes == ["model_failed"]


def test_a_model_that_misses_the_deadline_falls_back_to_the_lexicon() -> None:
    release = threading.Event()

    def stuck(text: str, context: Mapping[str, Any]) -> Mapping[str, Any]:
        release.wait(10)
        return {"threat": False}

    detector = Recording(model=stuck, timeout=0.05, workers=1)
    try:
        started = time.monotonic()
        first = detector.detect("I will kill you", SO_FAR)
        second = detector.detect(NEUTRAL, SO_FAR)  # waits for the one worker: cancelled
        assert time.monotonic() - started < 2
        assert first == LEXICON.detect("I will kill you", SO_FAR)
        assert first.threat
        assert second == LEXICON.detect(NEUTRAL, SO_FAR)
        assert detector.codes == ["model_timed_out", "model_timed_out"]
    finally:
        release.set()
        detector.close(wait=True)


def test_a_closed_detector_reads_with_the_lexicon(script: Script) -> None:
    with Recording(model=script) as detector:
        pass
    assert detector.detect("you idiot", SO_FAR) == LEXICON.detect("you idiot", SO_FAR)
    assert detector.codes == ["detector_closed"]
    assert script.calls == 0
    detector.close()  # closing twice is harmless


def test_overrides_that_raise_fall_back_to_the_lexicon(script: Script) -> None:
    @attrs.define(kw_only=True)
    class BadContext(Recording):
        def context(self, conversation: Any) -> Mapping[str, Any]:
            raise KeyError("stage")

    @attrs.define(kw_only=True)
    class BadParse(Recording):
        def parse(self, reply: object) -> Mapping[str, Any]:
            raise ValueError("not for us")

    @attrs.define(kw_only=True)
    class BadCombine(Recording):
        def combine(self, model_signals: Mapping[str, Any], lexicon_signals: Signals) -> Signals:
            raise ArithmeticError

    for cls, code in [
        (BadContext, "context_failed"),
        (BadParse, "reply_invalid"),
        (BadCombine, "combine_failed"),
    ]:
        with cls(model=script) as detector:
            assert detector.detect("you idiot", SO_FAR) == LEXICON.detect("you idiot", SO_FAR)
            assert detector.codes == [code]


def test_a_fallback_is_logged_with_its_code_and_never_with_the_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "my card is 4111 1111 1111 1111 and I am furious"

    def leaky(text: str, context: Mapping[str, Any]) -> Mapping[str, Any]:
        raise RuntimeError(f"cannot read {text!r}")

    with (
        ModelSignalDetector(model=leaky, redactor=None) as detector,
        caplog.at_level(logging.WARNING, logger="serviceplaybook.model_signals"),
    ):
        detector.detect(secret, SO_FAR)
    (record,) = caplog.records
    message = record.getMessage()
    assert record.signal_fallback == "model_failed"  # type: ignore[attr-defined]
    assert "model_failed" in message
    assert str(len(secret)) in message
    assert "4111" not in message
    assert "furious" not in message


# -- what the model sees --------------------------------------------------------------------


def test_the_model_sees_a_redacted_text_and_a_small_context(script: Script) -> None:
    earlier = [
        Message(author="customer", text=f"message {n}: mail me at ann@example.com", at=T0)
        for n in range(5)
    ]
    agent = Message(author="agent-1", text="Sorry about that", at=T0)
    so_far = conversation(messages=(*earlier, agent))
    with ModelSignalDetector(model=script, history=2, history_chars=24, max_chars=24) as detector:
        detector.detect("call me on +44 20 7946 0958 please, today", so_far)
    [(text, context)] = script.seen
    assert text == "call me on [phone] pleas"  # redacted, then cut to 24 characters
    assert context == {
        "stage": "listening",
        "category": "billing",
        "channel": "chat",
        "earlier": ["message 3: mail me at [e", "message 4: mail me at [e"],
    }


def test_without_a_redactor_the_model_sees_the_words_as_written(script: Script) -> None:
    with ModelSignalDetector(model=script, redactor=None, history=0) as detector:
        detector.detect("mail me at ann@example.com", SO_FAR)
    [(text, context)] = script.seen
    assert text == "mail me at ann@example.com"
    assert context["earlier"] == []


@pytest.mark.parametrize(
    "options",
    [
        {"model": "not callable"},
        {"timeout": 0},
        {"timeout": math.nan},
        {"timeout": True},
        {"timeout": "1"},
        {"workers": 0},
        {"cache_size": -1},
        {"history": 1.5},
        {"max_chars": 0},
        {"fallback": object()},
        {"redactor": "none"},
    ],
)
def test_bad_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ModelSignalDetector(**{"model": Script(), **options})


# -- the cache ------------------------------------------------------------------------------


def test_the_cache_answers_a_repeated_call_without_the_model(
    script: Script, detector: Recording
) -> None:
    script.reply = {"sentiment": -0.5}
    first = detector.detect(NEUTRAL, SO_FAR)
    assert detector.detect(NEUTRAL, SO_FAR) == first
    assert script.calls == 1
    detector.detect(NEUTRAL, attrs.evolve(SO_FAR, stage="clarifying"))  # another context
    assert script.calls == 2
    detector.clear_cache()
    detector.detect(NEUTRAL, SO_FAR)
    assert script.calls == 3


def test_a_cached_reading_is_still_combined_with_a_fresh_lexicon_reading(
    script: Script, detector: Recording
) -> None:
    script.reply = {"threat": False}
    text = "I will kill you"
    assert detector.detect(text, SO_FAR).threat
    assert detector.detect(text, SO_FAR).threat
    assert script.calls == 1


def test_failures_are_not_cached(script: Script, detector: Recording) -> None:
    script.reply = RuntimeError("down")
    detector.detect(NEUTRAL, SO_FAR)
    script.reply = {"anger": 0.5}
    assert detector.detect(NEUTRAL, SO_FAR).anger == 0.5
    assert script.calls == 2


def test_the_cache_keeps_the_most_recently_used(script: Script) -> None:
    with ModelSignalDetector(model=script, cache_size=2) as detector:
        for text in ("a", "b", "a", "c", "a"):  # "c" evicts "b", the least recently used
            detector.detect(text, SO_FAR)
        assert script.calls == 3
        detector.detect("b", SO_FAR)
        assert script.calls == 4


def test_no_cache(script: Script) -> None:
    with ModelSignalDetector(model=script, cache_size=0) as detector:
        for _ in range(3):
            detector.detect(NEUTRAL, SO_FAR)
    assert script.calls == 3


@pytest.mark.parametrize("cache_size", [2, 100])
def test_threads_share_the_cache_safely(cache_size: int) -> None:
    texts = [f"message number {n}" for n in range(5)]
    expected = {text: len(text) % 2 == 0 for text in texts}
    script = Script()

    def model(text: str, context: Mapping[str, Any]) -> Mapping[str, Any]:
        script(text, context)
        return {"confused": expected[text]}

    results: list[tuple[str, Signals]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(detector: ModelSignalDetector) -> None:
        try:
            start.wait()
            for round_ in range(40):
                text = texts[round_ % len(texts)]
                results.append((text, detector.detect(text, SO_FAR)))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    with Recording(model=model, cache_size=cache_size, workers=4) as detector:
        threads = [threading.Thread(target=work, args=(detector,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert detector.codes == []
        assert len(results) == 8 * 40
        assert all(signals.confused == expected[text] for text, signals in results)
        if cache_size >= len(texts):
            # each thread misses each text at most once; then every call is a hit
            assert script.calls <= 8 * len(texts)
            before = script.calls
            for text in texts:
                detector.detect(text, SO_FAR)
            assert script.calls == before


# -- properties -----------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
KEYS = st.sampled_from(sorted(FIELDS)) | st.text(max_size=8)
WELL_FORMED = st.fixed_dictionaries(
    {},
    optional={
        **{
            name: st.booleans()
            for name in sorted(FIELDS)
            if name not in ("sentiment", "anger", "language")
        },
        "sentiment": st.floats(-1, 1),
        "anger": st.integers(0, 1) | st.floats(0, 1),
        "language": st.sampled_from(["en", "es", "pt-BR", "zh-Hant", "und"]),
    },
)
TEXTS = st.sampled_from(
    [
        NEUTRAL,
        "I will kill you",
        "I want to kill myself",
        "you idiot",
        "I will sue you, idiot",
        "THIS IS THE THIRD TIME!!!",
    ]
) | st.text(max_size=30)

SCRIPTED = Script()
PROPERTY_DETECTOR = Recording(model=SCRIPTED, cache_size=0)


@pytest.fixture(scope="module", autouse=True)
def _close_the_property_detector() -> Iterator[None]:
    yield
    PROPERTY_DETECTOR.close(wait=True)


def _read(text: str, reply: Any) -> tuple[Signals, Signals, list[str]]:
    SCRIPTED.reply = reply
    PROPERTY_DETECTOR.codes.clear()
    signals = PROPERTY_DETECTOR.detect(text, SO_FAR)
    return signals, LEXICON.detect(text, SO_FAR), list(PROPERTY_DETECTOR.codes)


@given(
    text=TEXTS,
    reply=WELL_FORMED | st.dictionaries(KEYS, JSON_VALUES, max_size=6) | JSON_VALUES,
)
def test_any_reply_never_raises_and_never_loses_a_safety_signal(text: str, reply: Any) -> None:
    signals, lexicon, codes = _read(text, reply)
    assert isinstance(signals, Signals)
    assert len(codes) <= 1
    for name in SAFETY:
        assert getattr(signals, name) >= getattr(lexicon, name)  # never lost
    if codes or (isinstance(reply, dict) and reply.get("assessed") is False):
        assert signals == lexicon
        return
    for name in SAFETY:
        said = reply.get(name) is True
        either = getattr(lexicon, name) or said
        if name == "threat":
            either = either or signals.self_harm
        assert getattr(signals, name) == either


@given(text=TEXTS, reply=WELL_FORMED)
def test_a_well_formed_reply_is_used(text: str, reply: dict[str, Any]) -> None:
    signals, lexicon, codes = _read(text, reply)
    assert codes == []
    if reply.get("assessed") is False:
        assert signals == lexicon
        return
    for name, value in reply.items():
        if name not in EITHER_READER:
            assert getattr(signals, name) == value
        else:
            assert getattr(signals, name) == (value or getattr(lexicon, name)) or (
                name == "threat" and signals.self_harm
            )


# -- the desk ------------------------------------------------------------------------------


def fake_model(text: str, context: Mapping[str, Any]) -> Mapping[str, Any]:
    """A tiny rule-based stand-in that reads Spanish, which the lexicon has no words for."""
    lower = text.lower()
    reply: dict[str, Any] = {"language": "es" if "gerente" in lower else "en"}
    if "inaceptable" in lower:
        reply.update(sentiment=-0.8, anger=0.7)
    if "gerente" in lower:
        reply["wants_manager"] = True
    reply["threat"] = False  # it never sees threats: the lexicon still does
    return reply


def test_the_desk_reads_customers_with_the_model() -> None:
    seen: list[Mapping[str, Any]] = []

    def model(text: str, context: Mapping[str, Any]) -> Mapping[str, Any]:
        seen.append(context)
        return fake_model(text, context)

    with ModelSignalDetector(model=model) as detector:
        desk = ServiceDesk.in_memory(detector=detector)
        assert desk.detector is detector
        cid = desk.open(
            customer=Customer(id="cust-1", name="Ana"),
            issue=Issue(category="late_delivery", severity="high", summary="Parcel is late"),
            agent=Agent(id="sam"),
        ).id
        outcome = desk.hear(cid, "¡Esto es inaceptable! Quiero hablar con un gerente.")
        signals = outcome.signals
        assert signals is not None
        assert (signals.language, signals.wants_manager, signals.anger) == ("es", True, 0.7)
        assert outcome.conversation.signals[-1] == signals
        assert seen[-1]["category"] == "late_delivery"

        # the model says "no threat"; the lexicon hears one, and the desk acts on it
        outcome = desk.hear(cid, "I will kill you")
        assert outcome.signals is not None
        assert outcome.signals.threat
        assert outcome.escalation is not None
        assert seen[-1]["earlier"] == ["¡Esto es inaceptable! Quiero hablar con un gerente."]
