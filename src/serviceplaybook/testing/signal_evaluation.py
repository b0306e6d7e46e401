"""Measuring a signal detector on labelled messages (``serviceplaybook evaluate-signals``).

:func:`read_labelled` reads a JSON Lines file of labelled messages (the format is
``docs/evaluating-signals.md``) into :class:`Labelled` records, or raises
:class:`LabelledFileError` listing every bad line at once. :func:`evaluate` runs a
:class:`~serviceplaybook.SignalDetector` on each message and returns an :class:`Evaluation`:
per boolean signal support, precision, recall and F1; polarity accuracy; language
identification accuracy; the share of sarcastic messages read as upset; how many messages the
detector could not assess; all of it overall and per language, and every miss.

A ratio with nothing to divide by (precision when the detector never said yes, say) is
``None``, never 0 or 1: an undefined figure is not a good or a bad one.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from serviceplaybook._errors import PlaybookError, ValidationError
from serviceplaybook._policies.signals import SignalDetector
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.issue import Issue
from serviceplaybook._records.parties import Agent, Channel, Customer
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.validate import read_only

__all__ = [
    "BOOLEAN_SIGNALS",
    "POLARITIES",
    "UNDETERMINED",
    "Evaluation",
    "EvaluationError",
    "Figures",
    "Labelled",
    "LabelledFileError",
    "LineProblem",
    "Miss",
    "Share",
    "SignalFigures",
    "evaluate",
    "language_matches",
    "neutral_conversation",
    "parse_labelled",
    "read_labelled",
]

#: The boolean signals a line may label, in the order the figures list them: the boolean
#: fields of :class:`Signals` and its ``upset`` property.
BOOLEAN_SIGNALS: tuple[str, ...] = (
    "abusive",
    "threat",
    "self_harm",
    "legal_threat",
    "wants_manager",
    "repeat_contact",
    "shouting",
    "sarcastic",
    "confused",
    "calming",
    "upset",
)

#: The values of a ``polarity`` label, as :attr:`Signals.polarity` gives them.
POLARITIES: tuple[str, ...] = ("negative", "neutral", "positive")

#: The language group of messages without a language label (BCP 47: not determined).
UNDETERMINED = "und"

_KEYS: tuple[str, ...] = ("text", "id", "language", "polarity", *BOOLEAN_SIGNALS)
# keys that are not labels but that a labeller plausibly meant as one
_RENAMED: Mapping[str, str] = MappingProxyType(
    {"sentiment": "write the polarity label as 'polarity' (negative, neutral or positive)"}
)


# -- the labelled messages ------------------------------------------------------------------


def _check_language(tag: object) -> str:
    """``tag`` if it is a BCP 47 tag as :class:`Signals` accepts one; else ValidationError."""
    return Signals(language=tag).language  # type: ignore[arg-type]  # the records' own rule


def _labels(value: Mapping[str, bool]) -> Mapping[str, bool]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"Labelled.labels must be a mapping, got {type(value).__name__}")
    for name, label in value.items():
        if name not in BOOLEAN_SIGNALS:
            raise ValidationError(
                f"Labelled.labels: {name!r} is not a boolean signal; use one of "
                f"{', '.join(BOOLEAN_SIGNALS)}"
            )
        if not isinstance(label, bool):
            raise ValidationError(f"Labelled.labels[{name!r}] must be a bool, got {label!r}")
    return MappingProxyType({name: value[name] for name in BOOLEAN_SIGNALS if name in value})


def _polarity(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and value not in POLARITIES:
        raise ValidationError(
            f"Labelled.polarity must be one of {', '.join(POLARITIES)} or None, got {value!r}"
        )


def _language_label(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _check_language(value)


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"Labelled.text must be a str, got {type(value).__name__}")


def _optional_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(
            f"Labelled.{attribute.name} must be a str or None, got {type(value).__name__}"
        )


@attrs.frozen(kw_only=True)
class Labelled:
    """One labelled message.

    Attributes:
        text: the customer's message.
        labels: the boolean signals labelled, name to expected value (any of
            :data:`BOOLEAN_SIGNALS`); a signal not in it is not scored for this message.
        polarity: the expected polarity (``"negative"``, ``"neutral"``, ``"positive"``), or
            None: not scored.
        language: the message's language as a BCP 47 tag, or None: not scored, and grouped
            as ``"und"``. ``"und"`` itself means the same as None.
        id: the labeller's name for the message, if any.
        line: the line of the file it was read from (0 when it was made in Python).
    """

    text: str = attrs.field(validator=_text)
    labels: Mapping[str, bool] = attrs.field(factory=dict, converter=_labels, hash=False)
    polarity: str | None = attrs.field(default=None, validator=_polarity)
    language: str | None = attrs.field(default=None, validator=_language_label)
    id: str | None = attrs.field(default=None, validator=_optional_str)
    line: int = attrs.field(default=0)

    @property
    def group(self) -> str:
        """The language group the message's figures go to: its language, or ``"und"``."""
        return self.language or UNDETERMINED

    @property
    def name(self) -> str:
        """How a report names the message: its id, or ``line N``."""
        return self.id if self.id is not None else f"line {self.line}"


@attrs.frozen
class LineProblem:
    """What is wrong with one line of a labelled file."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class LabelledFileError(PlaybookError, ValueError):
    """A labelled file has bad lines; :attr:`problems` lists every one, in order."""

    def __init__(self, problems: Sequence[LineProblem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems: tuple[LineProblem, ...] = tuple(problems)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    return "an array" if isinstance(value, list) else "an object"


def _unknown_key(key: str) -> str | None:
    """Why ``key`` is refused (a typo of a label, an old name), or None: it is ignored."""
    if key in _RENAMED:
        return f"{key!r} is not a label: {_RENAMED[key]}"
    plain = key.strip().lower().replace("-", "_").replace(" ", "_")
    if plain in _KEYS:
        return f"{key!r} is not a key; did you mean {plain!r}?"
    if len(plain) >= 4:
        close = difflib.get_close_matches(plain, _KEYS, n=1, cutoff=0.75)
        if close:
            return f"{key!r} is not a key; did you mean {close[0]!r}?"
    return None


def _parse_line(raw: str) -> tuple[dict[str, Any], list[str]]:
    """The fields of one line for :class:`Labelled`, and what is wrong with it."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        return {}, [f"not JSON: {error.msg} (column {error.colno})"]
    if not isinstance(data, dict):
        return {}, [f'not a JSON object but {_kind(data)}: write {{"text": ...}}']
    wrong: list[str] = []
    fields: dict[str, Any] = {}
    labels: dict[str, bool] = {}
    if "text" not in data:
        wrong.append("no 'text'")
    elif not isinstance(data["text"], str):
        wrong.append(f"'text' must be a string, got {_kind(data['text'])}")
    else:
        fields["text"] = data["text"]
    if "id" in data:
        if isinstance(data["id"], str):
            fields["id"] = data["id"]
        else:
            wrong.append(f"'id' must be a string, got {_kind(data['id'])}")
    if "language" in data:
        try:
            tag = _check_language(data["language"])
        except ValidationError:
            wrong.append(
                f'\'language\' must be a BCP 47 tag such as "en" or "pt-BR", got '
                f"{_kind(data['language'])}"
            )
        else:
            fields["language"] = None if tag == UNDETERMINED else tag
    if "polarity" in data:
        if data["polarity"] in POLARITIES:
            fields["polarity"] = data["polarity"]
        else:
            wrong.append(
                f'\'polarity\' must be "negative", "neutral" or "positive", got '
                f"{_kind(data['polarity'])}"
            )
    for name in BOOLEAN_SIGNALS:
        if name in data:
            if isinstance(data[name], bool):
                labels[name] = data[name]
            else:
                wrong.append(f"{name!r} must be true or false, got {_kind(data[name])}")
    fields["labels"] = labels
    for key in data:
        if key not in _KEYS and (why := _unknown_key(key)) is not None:
            wrong.append(why)
    return fields, wrong


def parse_labelled(lines: Iterable[str], *, path: str = "<lines>") -> list[Labelled]:
    """The labelled messages of ``lines`` (the lines of a JSON Lines file, numbered from 1).

    Blank lines hold no message and are skipped. Raises :class:`LabelledFileError` listing
    every bad line (and every id used twice) when there is one: no line is dropped silently.
    """
    messages: list[Labelled] = []
    problems: list[LineProblem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        fields, wrong = _parse_line(raw)
        if "id" in fields:
            if fields["id"] in seen:
                wrong.append(f"id {fields['id']!r} is also line {seen[fields['id']]}'s")
            else:
                seen[fields["id"]] = number
        if wrong:
            problems.extend(LineProblem(path, number, message) for message in wrong)
            continue
        messages.append(Labelled(line=number, **fields))
    if problems:
        raise LabelledFileError(problems)
    return messages


def read_labelled(path: str | Path) -> list[Labelled]:
    """The labelled messages of the JSON Lines file at ``path``.

    Raises :class:`LabelledFileError` listing every bad line (a line that is not UTF-8 is one);
    :class:`OSError` when the file cannot be read.
    """
    where = str(path)
    lines: list[str] = []
    undecodable: list[LineProblem] = []
    for number, raw in enumerate(Path(path).read_bytes().split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as error:
            undecodable.append(LineProblem(where, number, f"not UTF-8 (byte {error.start + 1})"))
            lines.append("")
    try:
        messages = parse_labelled(lines, path=where)
    except LabelledFileError as error:
        raise LabelledFileError(
            sorted([*undecodable, *error.problems], key=lambda problem: problem.line)
        ) from None
    if undecodable:
        raise LabelledFileError(undecodable)
    return messages


# -- the figures ----------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@attrs.frozen
class Share:
    """``hits`` of ``total``; :attr:`ratio` is None when ``total`` is 0."""

    hits: int
    total: int

    @property
    def ratio(self) -> float | None:
        """``hits / total``, or None when there is nothing to divide by."""
        return _ratio(self.hits, self.total)


@attrs.frozen(kw_only=True)
class SignalFigures:
    """How the detector did on one boolean signal.

    Attributes:
        signal: the signal's name.
        scored: messages that label it (true or false).
        support: messages that label it true.
        true_positives: labelled true and detected.
        false_positives: labelled false and detected.
        false_negatives: labelled true and not detected.
    """

    signal: str
    scored: int
    support: int
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float | None:
        """Of the messages the detector flagged, the share labelled true; None if it flagged
        none."""
        return _ratio(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float | None:
        """Of the messages labelled true, the share the detector flagged; None if none is
        labelled true."""
        return _ratio(self.true_positives, self.support)

    @property
    def f1(self) -> float | None:
        """``2TP / (2TP + FP + FN)``, the harmonic mean of precision and recall (0 when one of
        them is 0 or undefined and the other is not); None when there is no positive either
        way."""
        tp = self.true_positives
        return _ratio(2 * tp, 2 * tp + self.false_positives + self.false_negatives)


@attrs.frozen(kw_only=True)
class Figures:
    """The figures of a group of messages (all of them, or one language's).

    Attributes:
        messages: how many messages.
        not_assessed: how many the detector could not read (``Signals.assessed`` False).
        signals: one :class:`SignalFigures` per boolean signal, in :data:`BOOLEAN_SIGNALS`
            order, scored or not.
        polarity: messages whose polarity the detector read as labelled, of those labelled.
        language: messages whose language the detector identified, of those with a language
            label; None when the detector gave no message of the whole run a language (it
            does not identify languages, so there is nothing to measure).
        sarcastic_read_as_upset: of the messages labelled sarcastic, those read as upset.
    """

    messages: int
    not_assessed: int
    signals: tuple[SignalFigures, ...]
    polarity: Share
    language: Share | None
    sarcastic_read_as_upset: Share

    def signal(self, name: str) -> SignalFigures:
        """The figures of the signal ``name``."""
        for figures in self.signals:
            if figures.signal == name:
                return figures
        raise KeyError(name)


@attrs.frozen(kw_only=True)
class Miss:
    """A label the detector did not match.

    Attributes:
        message: the labelled message.
        label: the signal's name, ``"polarity"`` or ``"language"``.
        expected: the label's value.
        got: what the detector read.
    """

    message: Labelled
    label: str
    expected: bool | str
    got: bool | str

    @property
    def kind(self) -> str:
        """``"false negative"``, ``"false positive"``, or ``"wrong"`` (polarity, language)."""
        if isinstance(self.expected, bool):
            return "false negative" if self.expected else "false positive"
        return "wrong"


@attrs.frozen(kw_only=True)
class Evaluation:
    """A detector's figures on labelled messages.

    Attributes:
        overall: the figures of every message.
        by_language: the figures of each language group, in order of the tag, ``"und"``
            (messages without a language label) last.
        misses: every miss, in the order of the messages, then of the labels (no language
            miss when the detector does not identify languages).
        detects_language: whether the detector gave any message a language other than
            ``"und"``.
    """

    overall: Figures
    by_language: Mapping[str, Figures] = attrs.field(converter=read_only, hash=False)
    misses: tuple[Miss, ...]
    detects_language: bool


_T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def neutral_conversation() -> Conversation:
    """The conversation each message is detected in: a chat in the ``listening`` stage about
    a general question of medium severity, with no earlier message and no signal read."""
    return Conversation(
        id="signal-evaluation",
        stage="listening",
        customer=Customer(id="customer"),
        issue=Issue(category="general", severity="medium", summary="A question"),
        agent=Agent(id="agent"),
        channel=Channel.CHAT,
        opened_at=_T0,
        updated_at=_T0,
    )


class EvaluationError(PlaybookError):
    """The detector failed on a message, or returned something else than :class:`Signals`."""


def language_matches(expected: str, got: str) -> bool:
    """Whether the detector's tag ``got`` identifies the labelled language ``expected``.

    The label is a language range (RFC 4647 basic filtering): ``"en"`` is matched by ``"en"``
    and ``"en-GB"``; ``"pt-BR"`` only by ``"pt-BR"`` (and longer tags starting with it), not
    by ``"pt"``. Case is ignored. ``"und"`` never matches.
    """
    expected, got = expected.lower(), got.lower()
    if got == UNDETERMINED:
        return False
    return got == expected or got.startswith(expected + "-")


def _read(detector: SignalDetector, message: Labelled, conversation: Conversation) -> Signals:
    try:
        signals = detector.detect(message.text, conversation)
    except Exception as error:
        raise EvaluationError(
            f"the detector failed on {message.name}: {type(error).__name__}: {error}"
        ) from error
    if not isinstance(signals, Signals):
        raise EvaluationError(
            f"the detector returned {type(signals).__name__} for {message.name}, not Signals"
        )
    return signals


class _Tally:
    def __init__(self) -> None:
        self.messages = 0
        self.not_assessed = 0
        self.counts = {
            name: [0, 0, 0, 0, 0] for name in BOOLEAN_SIGNALS
        }  # scored, tp, fp, fn, support
        self.polarity = [0, 0]
        self.language = [0, 0]
        self.sarcastic = [0, 0]

    def add(self, message: Labelled, signals: Signals) -> None:
        self.messages += 1
        self.not_assessed += not signals.assessed
        for name, expected in message.labels.items():
            got = bool(getattr(signals, name))
            counts = self.counts[name]
            counts[0] += 1
            counts[1] += expected and got
            counts[2] += got and not expected
            counts[3] += expected and not got
            counts[4] += expected
        if message.polarity is not None:
            self.polarity[0] += signals.polarity == message.polarity
            self.polarity[1] += 1
        if message.language is not None:
            self.language[0] += language_matches(message.language, signals.language)
            self.language[1] += 1
        if message.labels.get("sarcastic"):
            self.sarcastic[0] += signals.upset
            self.sarcastic[1] += 1

    def figures(self, detects_language: bool) -> Figures:
        return Figures(
            messages=self.messages,
            not_assessed=self.not_assessed,
            signals=tuple(
                SignalFigures(
                    signal=name,
                    scored=scored,
                    support=support,
                    true_positives=tp,
                    false_positives=fp,
                    false_negatives=fn,
                )
                for name, (scored, tp, fp, fn, support) in self.counts.items()
            ),
            polarity=Share(*self.polarity),
            language=Share(*self.language) if detects_language else None,
            sarcastic_read_as_upset=Share(*self.sarcastic),
        )


def _misses(message: Labelled, signals: Signals, detects_language: bool) -> Iterable[Miss]:
    for name, expected in message.labels.items():
        got = bool(getattr(signals, name))
        if got != expected:
            yield Miss(message=message, label=name, expected=expected, got=got)
    if message.polarity is not None and signals.polarity != message.polarity:
        yield Miss(
            message=message, label="polarity", expected=message.polarity, got=signals.polarity
        )
    if (
        detects_language
        and message.language is not None
        and not language_matches(message.language, signals.language)
    ):
        yield Miss(
            message=message, label="language", expected=message.language, got=signals.language
        )


def evaluate(
    detector: SignalDetector,
    messages: Iterable[Labelled],
    *,
    conversation: Conversation | None = None,
) -> Evaluation:
    """Run ``detector`` on each message and measure it against the labels.

    Args:
        detector: any :class:`~serviceplaybook.SignalDetector`.
        messages: the labelled messages (:func:`read_labelled`).
        conversation: the conversation each message is detected in (default:
            :func:`neutral_conversation`); it is the same for every message.

    Raises:
        EvaluationError: the detector raised on a message, or did not return Signals.
    """
    where = neutral_conversation() if conversation is None else conversation
    read = [(message, _read(detector, message, where)) for message in messages]
    detects_language = any(signals.language != UNDETERMINED for _, signals in read)
    overall = _Tally()
    groups: dict[str, _Tally] = {}
    misses: list[Miss] = []
    for message, signals in read:
        overall.add(message, signals)
        groups.setdefault(message.group, _Tally()).add(message, signals)
        misses.extend(_misses(message, signals, detects_language))
    order = sorted(groups, key=lambda tag: (tag == UNDETERMINED, tag))
    return Evaluation(
        overall=overall.figures(detects_language),
        by_language={tag: groups[tag].figures(detects_language) for tag in order},
        misses=tuple(misses),
        detects_language=detects_language,
    )
