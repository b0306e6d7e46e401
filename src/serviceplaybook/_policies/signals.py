"""Signals: what a customer message says about the customer's state, and how it is detected.

The desk runs a :class:`SignalDetector` on every customer message; guidance and the
escalation policy read the resulting :class:`Signals`.

:class:`LexiconSignalDetector`, the default, needs no network and no model: it matches word
lists (a :class:`Lexicon`, shipped as data files in ``serviceplaybook/lexicon/``) against the
lower-cased message with one precompiled pattern, then applies small rules, one overridable
method per signal: typos of its words ("rediculous"), negation ("not bad at all"), sarcasm
("great, another broken order", "thanks for nothing"), confusion, calming down,
quoted or reported abuse ("the last agent called me an idiot"), profanity that is not aimed
at anyone ("this damn printer"), and common obfuscations ("f*ck", "id10t", "s.t.u.p.i.d").
``docs/signals.md`` documents its measured precision and recall.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import attrs

from serviceplaybook._errors import ConfigError, ValidationError
from serviceplaybook._policies.language import (
    LANGUAGES_WITH_LEXICONS,
    UNDETERMINED,
    identify,
    lexicon_directory,
)
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.validate import counted, of_type

if TYPE_CHECKING:
    from serviceplaybook._records.conversation import Conversation


@runtime_checkable
class SignalDetector(Protocol):
    """Reads a customer message (and the conversation so far) into :class:`Signals`.

    Implement it to plug in your own classifier; it must not change the conversation.
    """

    def detect(self, text: str, conversation: Conversation) -> Signals:
        """Return the signals in ``text``, a new customer message in ``conversation``."""
        ...


# -- the lexicon ----------------------------------------------------------------------------

#: The lexicon's categories, in the order of :class:`Lexicon`'s fields; each is one data file
#: ``<category>.txt`` in ``serviceplaybook/lexicon/``.
CATEGORIES: tuple[str, ...] = (
    "positive",
    "negative",
    "intensifiers",
    "negations",
    "contrasts",
    "sarcasm_cues",
    "letdowns",
    "anger",
    "insults",
    "put_downs",
    "profanity",
    "abuse",
    "second_person",
    "first_person",
    "reporting",
    "violence",
    "self_harm",
    "legal",
    "manager",
    "asks",
    "escalation",
    "repeat_contact",
    "sarcasm",
    "hyperbole",
    "ultimatums",
    "confusion",
    "calming",
    "apologies",
    "courtesy",
    "demands",
    "rights",
    "claims",
    "repeat_counts",
    "contact_verbs",
    "possessives",
    "intentions",
    "harm_verbs",
    "targets",
    "distress",
    "acronyms",
    "known_words",
    "compensation_asks",
)

_TOKEN = re.compile(r"(?:[^\W_][\w']*\*?|\*)")
_MAX_WEIGHT = 10.0


def _phrase(raw: str, where: str) -> str:
    phrase = " ".join(raw.lower().replace("\u2019", "'").split())
    tokens = phrase.split(" ")
    if not phrase or not all(_TOKEN.fullmatch(t) for t in tokens) or tokens[0] == "*":
        raise ValidationError(
            f"{where}: {raw!r} is not a phrase; use words (letters, digits, apostrophes) "
            f"separated by spaces, 'word*' for any word starting with 'word', and a lone "
            f"'*' for one word (not as the first word)"
        )
    return phrase


def _weight(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{where} must be a number, got {type(value).__name__} {value!r}")
    weight = float(value)
    if not (0 < weight <= _MAX_WEIGHT) or math.isnan(weight):
        raise ValidationError(f"{where} must be more than 0 and at most {_MAX_WEIGHT}, got {value}")
    return weight


def _entries(value: object, field: attrs.Attribute[Any]) -> Mapping[str, float]:
    """Normalize a category: phrases (weight 1) or a mapping of phrase to weight."""
    where = f"Lexicon.{field.name}"
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(
            f"{where} must be a list of phrases or a mapping of phrase to weight, "
            f"got {type(value).__name__} {value!r}"
        )
    pairs = value.items() if isinstance(value, Mapping) else ((p, 1.0) for p in value)
    entries: dict[str, float] = {}
    for raw, weight in pairs:
        if not isinstance(raw, str):
            raise ValidationError(f"{where} phrases must be str, got {type(raw).__name__}")
        entries[_phrase(raw, where)] = _weight(weight, f"{where}[{raw!r}]")
    return MappingProxyType(entries)


def _category() -> Any:
    return attrs.field(
        factory=dict, converter=attrs.Converter(_entries, takes_field=True), repr=False
    )


def parse_lexicon_file(text: str, source: str = "<text>") -> dict[str, float]:
    """Parse one lexicon file: one phrase per line, ``# comments``, optional ``= weight``.

    Args:
        text: the file's content.
        source: where it came from, for error messages.

    Returns:
        The phrases with their weights (1 when the line gives none).

    Raises:
        ConfigError: a line has a weight that is not a number.
    """
    entries: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        phrase, _, weight = content.partition("=")
        try:
            entries[phrase.strip()] = float(weight) if weight.strip() else 1.0
        except ValueError:
            raise ConfigError(
                f"{source}, line {number}: the weight after '=' must be a number, "
                f"got {weight.strip()!r}"
            ) from None
    return entries


@attrs.frozen(kw_only=True, hash=False)
class Lexicon:
    """The word lists a :class:`LexiconSignalDetector` reads messages with.

    Each field is one category: a read-only mapping of phrase to weight (only ``positive``
    and ``negative`` use the weights; elsewhere they are 1). Pass a list of phrases or a
    mapping; phrases are lower-cased, matched as whole words on the lower-cased message,
    ``word*`` matches any word starting with ``word`` and a lone ``*`` one word. The defaults
    ship as data files ``serviceplaybook/lexicon/<category>.txt``; see ``docs/signals.md``.

    Attributes:
        positive: words that raise sentiment (weighted).
        negative: words that lower sentiment (weighted).
        intensifiers: words that strengthen the next sentiment word ("very").
        negations: words that flip what follows within three words ("not").
        contrasts: after these the sentiment counts more ("but").
        sarcasm_cues: before a positive word in a complaint, mark sarcasm ("oh", "just").
        letdowns: complaint context that makes an opening "great," sarcastic ("another").
        anger: words of anger ("furious").
        insults: abuse unless quoted, reported, negated or about the writer ("idiot").
        put_downs: abuse only when aimed at the agent ("you are useless").
        profanity: abuse only when aimed at the agent; else it only adds anger.
        abuse: phrases that are abuse by themselves ("shut up").
        second_person: words addressing the agent ("you").
        first_person: words about the writer ("i'm").
        reporting: reported speech ("called me", "said").
        violence: threats of violence.
        self_harm: statements of self-harm.
        legal: legal threats ("lawyer", "sue you").
        manager: people with more authority ("supervisor").
        asks: requests that, with a manager word, ask for one ("speak to").
        escalation: phrases that ask for escalation by themselves.
        repeat_contact: the customer contacted the company before ("third time").
        sarcasm: phrases that are sarcastic by themselves ("thanks for nothing", "yeah right").
        hyperbole: exaggerated frustration: anger, never a threat ("this is killing me").
        ultimatums: churn and public-shaming threats, taking offence: anger, not a safety
            threat ("taking my business elsewhere", "post this all over twitter").
        confusion: the customer is lost or blames themselves ("i don't understand").
        calming: the customer de-escalates ("sorry for shouting", "that helps").
        apologies: the customer's own apologies ("sorry"); calming when nothing hostile
            follows in the sentence.
        courtesy: polite requests and gratitude ("could you", "please", "thank you").
        demands: urgency and imperatives ("right now", "give me", "put me through"): a
            request for a manager made with one, and without courtesy, is upset.
        rights: citing one's rights ("i'm entitled to", "under the consumer rights act"): a
            legal claim made so is formal, not angry.
        claims: what a company says of its own service ("help", "express", "priority"): in
            scare quotes it is sarcasm ("thanks for the 'help'").
        repeat_counts: counts and repetitions ("third time", "once again"): repeat contact
            when a :attr:`contact_verbs` word is in the same sentence ("the third time I
            call"), not otherwise ("crashed five times").
        contact_verbs: getting in touch ("call", "write", "email", "told").
        possessives: the writer's own ("my", "our"): "my manager" is not a request for one.
        distress: the customer is frightened, desperate or overwhelmed ("worried sick",
            "close to tears", "i can't afford this"): upset, even when polite, and not anger.
        intentions: the writer says what they will do ("i'll", "i'm going to", "i swear").
        harm_verbs: violent acts ("smash", "slash", "punch", "burn").
        targets: people and property a violent act may be aimed at ("him", "your *", "the
            place"). An intention, a harm verb and a target in one sentence are a threat of
            violence however it is worded ("if he comes again I'll slash his tyres").
        acronyms: words in capitals that are not shouting ("usps").
        known_words: ordinary English words that are never read as a typo of a lexicon word
            ("layer" is not "lawyer", "idioms" is not "idiots").
        compensation_asks: the customer asks to be compensated ("i want a refund", "make up
            for it"); matched apart from the other categories, so that a phrase here never
            hides one of theirs.
    """

    positive: Mapping[str, float] = _category()
    negative: Mapping[str, float] = _category()
    intensifiers: Mapping[str, float] = _category()
    negations: Mapping[str, float] = _category()
    contrasts: Mapping[str, float] = _category()
    sarcasm_cues: Mapping[str, float] = _category()
    letdowns: Mapping[str, float] = _category()
    anger: Mapping[str, float] = _category()
    insults: Mapping[str, float] = _category()
    put_downs: Mapping[str, float] = _category()
    profanity: Mapping[str, float] = _category()
    abuse: Mapping[str, float] = _category()
    second_person: Mapping[str, float] = _category()
    first_person: Mapping[str, float] = _category()
    reporting: Mapping[str, float] = _category()
    violence: Mapping[str, float] = _category()
    self_harm: Mapping[str, float] = _category()
    legal: Mapping[str, float] = _category()
    manager: Mapping[str, float] = _category()
    asks: Mapping[str, float] = _category()
    escalation: Mapping[str, float] = _category()
    repeat_contact: Mapping[str, float] = _category()
    sarcasm: Mapping[str, float] = _category()
    hyperbole: Mapping[str, float] = _category()
    ultimatums: Mapping[str, float] = _category()
    confusion: Mapping[str, float] = _category()
    calming: Mapping[str, float] = _category()
    apologies: Mapping[str, float] = _category()
    courtesy: Mapping[str, float] = _category()
    demands: Mapping[str, float] = _category()
    rights: Mapping[str, float] = _category()
    claims: Mapping[str, float] = _category()
    repeat_counts: Mapping[str, float] = _category()
    contact_verbs: Mapping[str, float] = _category()
    possessives: Mapping[str, float] = _category()
    distress: Mapping[str, float] = _category()
    intentions: Mapping[str, float] = _category()
    harm_verbs: Mapping[str, float] = _category()
    targets: Mapping[str, float] = _category()
    acronyms: Mapping[str, float] = _category()
    known_words: Mapping[str, float] = _category()
    compensation_asks: Mapping[str, float] = _category()

    def __hash__(self) -> int:
        return hash(tuple(frozenset(getattr(self, c).items()) for c in CATEGORIES))

    @classmethod
    def standard(cls, language: str = "en") -> Lexicon:
        """The word lists shipped for ``language`` (built once per language, then shared).

        English is ``serviceplaybook/lexicon/``; Spanish, French, German, Portuguese and
        Italian are ``serviceplaybook/lexicon/<language>/``, written as their speakers write
        to a help desk (not translations of the English lists).

        Args:
            language: a BCP 47 tag; only its primary subtag counts (``"pt-BR"`` reads
                ``"pt"``).

        Raises:
            ConfigError: no word lists ship for ``language`` (:data:`LANGUAGES_WITH_LEXICONS`).
        """
        # Keyed by the primary subtag, so "pt-BR" and "pt" (and "en" and the default) share
        # one lexicon and one set of compiled tables.
        return cls._shipped(language.split("-")[0].lower())

    @classmethod
    @functools.cache
    def _shipped(cls, primary: str) -> Lexicon:
        if primary != "en":
            directory = lexicon_directory(primary)
            if directory is None:
                raise ConfigError(
                    f"Lexicon.standard: no word lists ship for language {primary!r}; "
                    f"languages with word lists: {', '.join(LANGUAGES_WITH_LEXICONS)}"
                )
            return cls.from_directory(directory, base=Lexicon())
        folder = resources.files("serviceplaybook").joinpath("lexicon")
        return cls(
            **{
                c: parse_lexicon_file(
                    folder.joinpath(f"{c}.txt").read_text(encoding="utf-8"), f"{c}.txt"
                )
                for c in CATEGORIES
            }
        )

    @classmethod
    def from_directory(cls, path: str | Path, *, base: Lexicon | None = None) -> Lexicon:
        """Read ``<category>.txt`` files from ``path``; each replaces that category of ``base``.

        Args:
            path: a folder of lexicon files (the format of the shipped ones).
            base: the lexicon for the categories the folder has no file for (default:
                :meth:`standard`). Pass ``Lexicon()`` to start from empty lists.

        Raises:
            ConfigError: ``path`` is not a folder, or holds a ``.txt`` file whose name is not
                a category.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise ConfigError(f"Lexicon.from_directory: {str(folder)!r} is not a folder")
        found: dict[str, dict[str, float]] = {}
        for file in sorted(folder.glob("*.txt")):
            if file.stem not in CATEGORIES:
                raise ConfigError(
                    f"Lexicon.from_directory: {file.name!r} is not a lexicon category; "
                    f"name files after one of: {', '.join(CATEGORIES)}"
                )
            found[file.stem] = parse_lexicon_file(file.read_text(encoding="utf-8"), str(file))
        return attrs.evolve(base if base is not None else cls.standard(), **found)

    def write(self, path: str | Path) -> None:
        """Write every category to ``path/<category>.txt`` (to copy the defaults and edit)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        for category in CATEGORIES:
            lines = [
                phrase if weight == 1.0 else f"{phrase} = {weight:g}"
                for phrase, weight in getattr(self, category).items()
            ]
            (folder / f"{category}.txt").write_text("\n".join([*lines, ""]), encoding="utf-8")

    def extended(self, **more: Iterable[str] | Mapping[str, float]) -> Lexicon:
        """A copy with phrases added to categories (``extended(insults=["numpty"])``).

        Raises:
            ConfigError: a keyword is not a category.
        """
        self._check_names(more, "extended")
        merged = {}
        for category, entries in more.items():
            added = _entries(entries, attrs.fields_dict(Lexicon)[category])
            merged[category] = {**getattr(self, category), **added}
        return attrs.evolve(self, **merged)

    def replaced(self, **new: Iterable[str] | Mapping[str, float]) -> Lexicon:
        """A copy with whole categories replaced (``replaced(profanity=[])`` drops them).

        Raises:
            ConfigError: a keyword is not a category.
        """
        self._check_names(new, "replaced")
        changes: dict[str, Any] = dict(new)
        return attrs.evolve(self, **changes)

    @staticmethod
    def _check_names(names: Mapping[str, object], method: str) -> None:
        unknown = sorted(set(names) - set(CATEGORIES))
        if unknown:
            raise ConfigError(
                f"Lexicon.{method}: unknown categor{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(unknown)}; the categories are: {', '.join(CATEGORIES)}"
            )


# -- compiling a lexicon into one pattern ------------------------------------------------------

_SPACE = "\x00space"
_WORD = "\x00word"
_REST = "\x00rest"
# A comma may stand between a phrase's words: German puts one before every subordinate
# clause ("ich weiß, wo Ihr Büro ist"), and people write "oh, great".
_UNIT_PATTERNS = {_SPACE: r",?\s+", _WORD: r"[\w']+", _REST: r"[\w']*"}

Kinds = tuple[tuple[str, float], ...]


def _units(phrase: str) -> list[str]:
    units: list[str] = []
    for index, token in enumerate(phrase.split(" ")):
        if index:
            units.append(_SPACE)
        if token == "*":
            units.append(_WORD)
        elif token.endswith("*"):
            units.extend(token[:-1])
            units.append(_REST)
        else:
            units.extend(token)
    return units


def _trie_pattern(node: dict[str, Any]) -> str:
    """A regex for a trie of units: shared prefixes are matched once, longest first."""
    ends = "" in node
    branches = []
    # Literal units first, so that a wildcard is only tried when no literal phrase fits.
    for unit, child in sorted(node.items(), key=lambda kv: (kv[0] in _UNIT_PATTERNS, kv[0])):
        if unit:
            head = _UNIT_PATTERNS[unit] if unit in _UNIT_PATTERNS else re.escape(unit)
            branches.append(head + _trie_pattern(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        # Greedy "?" tries the longer phrase first, so "kill myself" wins over "kill".
        return (body if len(branches) > 1 else "(?:" + body + ")") + "?"
    return body


# Categories a longer phrase takes over from the phrases inside it: the pattern matches the
# longest phrase only, so "absolutely ridiculous" (anger) must also count as "ridiculous"
# (negative). Context categories ("not", "you", "but") are positional and are not inherited.
_INHERITED = (
    "positive", "negative", "anger", "insults", "put_downs", "profanity", "abuse",
    "violence", "self_harm", "legal", "manager", "escalation", "repeat_contact", "sarcasm",
    "hyperbole", "ultimatums", "confusion", "calming", "demands", "rights", "claims",
    "repeat_counts", "contact_verbs", "asks", "possessives", "intentions", "harm_verbs",
    "targets", "distress", "compensation_asks",
)  # fmt: skip
# Hyperbole is never a threat: "i could kill someone" does not take "kill someone" over.
_NOT_FROM_HYPERBOLE = frozenset({"violence", "self_harm"})


def _inherit(kinds: dict[str, list[tuple[str, float]]]) -> None:
    exact = {p: list(k) for p, k in kinds.items() if "*" not in p}
    for phrase, own in kinds.items():
        words = phrase.split(" ")
        if len(words) < 2:
            continue
        has = {kind for kind, _ in own}
        if "hyperbole" in has:
            has |= _NOT_FROM_HYPERBOLE
        polar = bool(has & {"positive", "negative"})
        for size in range(len(words) - 1, 0, -1):
            for first in range(len(words) - size + 1):
                for kind, weight in exact.get(" ".join(words[first : first + size]), ()):
                    # "no problem" is positive: its "problem" must not count against it.
                    if (
                        kind in _INHERITED
                        and kind not in has
                        and not (polar and kind in ("positive", "negative"))
                    ):
                        own.append((kind, weight))
                        has.add(kind)


@attrs.frozen
class _Tables:
    """A lexicon compiled for matching: one pattern for every phrase of every category."""

    pattern: re.Pattern[str]
    kinds: Mapping[str, Kinds]
    #: The wildcard phrases' patterns, in lexicon order: the first that fits wins.
    wildcards: tuple[tuple[re.Pattern[str], Kinds], ...]
    masked: Mapping[tuple[int, str], tuple[str, ...]]
    acronyms: frozenset[str]
    #: Every word of every phrase, the known words and the acronyms: never read as typos.
    vocabulary: frozenset[str]
    #: The typo index: each lexicon word of :data:`TYPO_CATEGORIES` (five letters or more),
    #: and each form of it with one letter deleted, to the words it comes from.
    deletions: Mapping[str, tuple[str, ...]]
    #: What ``LexiconSignalDetector.typo_of`` found for words seen before (None: not a
    #: typo): a word is looked up once per lexicon, not once per message. Bounded by
    #: :data:`TYPO_MEMO_SIZE`; dict reads and writes are atomic, and every writer of a word
    #: writes the same answer, so threads share it without a lock (tested).
    typos: dict[str, str | None] = attrs.field(factory=dict, eq=False, repr=False)

    @classmethod
    def build(cls, lexicon: Lexicon) -> _Tables:
        kinds: dict[str, list[tuple[str, float]]] = {}
        for category in CATEGORIES:
            if category in _UNMATCHED:
                continue
            for phrase, weight in getattr(lexicon, category).items():
                kinds.setdefault(phrase, []).append((category, weight))
        _inherit(kinds)
        trie: dict[str, Any] = {}
        for phrase in kinds:
            node = trie
            for unit in _units(phrase):
                node = node.setdefault(unit, {})
            node[""] = {}
        # The lookahead on the phrases' first letters lets a word end, or a word that starts
        # no phrase, fail at once instead of trying every branch. No phrases: match nothing.
        first = "".join(sorted({re.escape(p[0]) for p in kinds}))
        body = _trie_pattern(trie)
        wildcards: list[tuple[re.Pattern[str], Kinds]] = []
        for phrase, own in kinds.items():
            if "*" in phrase:
                units = _units(phrase)
                compiled = re.compile("".join(_UNIT_PATTERNS.get(u) or re.escape(u) for u in units))
                wildcards.append((compiled, tuple(own)))
        masked: dict[tuple[int, str], list[str]] = {}
        # A masked word becomes the first word that fits, in this order, in file order.
        for category in ("profanity", "insults", "put_downs", "abuse"):
            for phrase in getattr(lexicon, category):
                if " " not in phrase and "*" not in phrase:
                    masked.setdefault((len(phrase), phrase[0]), []).append(phrase)
        return cls(
            pattern=re.compile(rf"\b(?=[{first}])(?:{body})\b" if body else r"(?!)"),
            kinds=MappingProxyType({p: tuple(k) for p, k in kinds.items()}),
            wildcards=tuple(wildcards),
            masked=MappingProxyType({k: tuple(v) for k, v in masked.items()}),
            acronyms=frozenset(lexicon.acronyms),
            vocabulary=frozenset(
                word.rstrip("*")
                for category in CATEGORIES
                for phrase in getattr(lexicon, category)
                for word in phrase.split(" ")
            ),
            deletions=MappingProxyType(_deletion_index(lexicon)),
        )

    def hits(self, lower: str) -> dict[str, list[tuple[int, int, float]]]:
        found: dict[str, list[tuple[int, int, float]]] = {}
        kinds = self.kinds
        for match in self.pattern.finditer(lower):
            phrase = match.group()
            info = kinds.get(phrase)
            if info is None:
                info = kinds.get(" ".join(phrase.replace(",", " ").split())) or self._wildcard(
                    phrase
                )
            start, end = match.span()
            for kind, weight in info:
                spans = found.get(kind)
                if spans is None:
                    found[kind] = [(start, end, weight)]
                else:
                    spans.append((start, end, weight))
        return found

    def _wildcard(self, phrase: str) -> Kinds:
        for pattern, kinds in self.wildcards:
            if pattern.fullmatch(phrase):
                return kinds
        return ()


#: The categories whose words a typo is corrected to ("rediculous" -> "ridiculous").
TYPO_CATEGORIES: tuple[str, ...] = (
    "positive", "negative", "anger", "insults", "put_downs", "manager", "legal", "escalation",
)  # fmt: skip
#: Typos are looked for in words of this many letters or more, and only lexicon words this
#: long are corrected to: shorter words have too many ordinary neighbours.
TYPO_MIN_LETTERS = 5

#: How many words' typo lookups the tables of one lexicon remember (``_Tables.typos``).
TYPO_MEMO_SIZE = 20_000
_TYPO_MAX_LETTERS = 24
# Categories left out of the main pattern: they are looked up word by word.
_UNMATCHED = frozenset({"acronyms", "known_words"})


def _deleted_once(word: str) -> set[str]:
    return {word[:index] + word[index + 1 :] for index in range(len(word))}


def _deletion_index(lexicon: Lexicon) -> dict[str, tuple[str, ...]]:
    index: dict[str, set[str]] = {}
    for category in TYPO_CATEGORIES:
        for word in getattr(lexicon, category):
            if len(word) >= TYPO_MIN_LETTERS and word.isalpha() and word.isascii():
                for key in (word, *_deleted_once(word)):
                    index.setdefault(key, set()).add(word)
    return {key: tuple(sorted(words)) for key, words in index.items()}


def one_edit_apart(typed: str, word: str) -> bool:
    """True when ``typed`` becomes ``word`` by one edit: a letter inserted, deleted or
    replaced, or two adjacent letters swapped (the optimal string alignment distance is 1)."""
    if typed == word:
        return False
    size = len(typed)
    if size == len(word):
        differ = [i for i in range(size) if typed[i] != word[i]]
        if len(differ) == 1:
            return True
        first = differ[0]
        return (
            len(differ) == 2
            and differ[1] == first + 1
            and typed[first] == word[first + 1]
            and typed[first + 1] == word[first]
        )
    shorter, longer = (typed, word) if size < len(word) else (word, typed)
    if len(longer) - len(shorter) != 1:
        return False
    first = next((i for i in range(len(shorter)) if shorter[i] != longer[i]), len(shorter))
    return shorter[first:] == longer[first + 1 :]


# Room for the six shipped lexicons and a few of an integrator's own.
@functools.lru_cache(maxsize=32)
def _tables(lexicon: Lexicon) -> _Tables:
    return _Tables.build(lexicon)


# -- reading a message --------------------------------------------------------------------------

# Signs of an obfuscated word, checked cheaply before the (rare) second reading: masks and
# symbols (f*ck, $hit, a@@), "!" inside a word (sh!t), digits inside a word (id10t, 5hit),
# spaced or dotted letters (f u c k, s.t.u.p.i.d), stretched vowels (fuuuck).
#
# _DIGIT_IN_WORD finds id10t and 5hit, not 3rd nor 10am (see obfuscated). "[0-9][0-9]*" has the
# matches of "[0-9]+" but starts with a character class, so the search skips to the next digit
# in C instead of trying the whole pattern at every position.
_DIGIT_IN_WORD = re.compile(r"[0-9][0-9]*[a-z]")
_SPACED_LETTERS = re.compile(r" [a-z][ .\-_][a-z][ .\-_][a-z]")
_SPACED = re.compile(r"(?<![\w*@$!])[a-z0-9*@$!](?:[ .\-_][a-z0-9*@$!]){2,}(?![\w*@$!])")
_SEPARATORS = re.compile(r"[ .\-_]")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
)
# A number standing alone is a number, not leetspeak: "455" in "call (200) 455-0000" is not
# "ass", even when an email address in the message ("@") asks for the second reading.
_NUMBER = re.compile(r"(?<![\w*@$!|])[0-9]+(?![\w*@$!|])")
_INNER_BANG = re.compile(r"(?<=[a-z])[!|](?=[a-z])")
_ELONGATED = re.compile(r"([a-z])\1{2,}")
# Letters of any language: "enc*lés" is masked as much as "f*ck".
_MASKED_WORD = re.compile(r"\b[^\W\d_][^\W\d_*]*\*[^\W\d_*]*(?:\*[^\W\d_*]*)*")
# Straight, curly (the closing \u2019 is read as "'"), German \u201e...\u201c and \u201a...\u2018,
# and guillemets either way round.
_QUOTED = re.compile(
    r"\"[^\"]*\"|\u201c[^\u201d]*\u201d|\u2018[^\u2019']*['\u2019]|(?<!\w)'[^']*'(?!\w)"
    r"|\u201e[^\u201c\u201d]*[\u201c\u201d]|\u201a[^\u2018']*[\u2018']"
    r"|\u00ab[^\u00bb]*\u00bb|\u00bb[^\u00ab]*\u00ab|\u2039[^\u203a]*\u203a"
)
_QUOTE_CHAR = re.compile("[\"'\u201c\u2018\u201e\u201a\u00ab\u00bb\u2039]")
_CLAUSE_BREAK = re.compile(r"[.,;:!?()\"\u201c\u201d\n]|\s-\s|\u2014")
_SENTENCE_BREAK = re.compile(r"[.;!?\n]")
_CLAUSE_END = re.compile(r"(?: +(?:are|is|were))? *(?:[.,;:!?\n]|$)")
# A hyphen joining two words ("self-harm", "follow-up"), read as a space.
_WORD_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
_REPEATED_MARKS = re.compile(r"[!?]{3,}")
_CAPITAL_WORD = re.compile(r"\b[A-Z][A-Z']{2,}\b")
# Matches wherever _CAPITAL_WORD does (and elsewhere), so without a match of it there is no
# word in capitals. It starts with a character class, so its search skips to the next capital
# in C, where _CAPITAL_WORD's leading \b is tried at every position.
_CAPITAL_RUN = re.compile(r"[A-Z][A-Z']{2,}")
# Three or more words in capitals in a row, separated by spaces only ("GET IT NOW").
_CAPITAL_SEQUENCE = re.compile(r"\b[A-Z][A-Z']*(?:[ \t]+[A-Z][A-Z']*){2,}\b")
# A word that may be a typo: letters only, not part of a longer word or a contraction.
_TYPO_CANDIDATE = re.compile(rf"(?<![\w'])[a-z]{{{TYPO_MIN_LETTERS},{_TYPO_MAX_LETTERS}}}(?![\w'])")
# "great, just great": praise, then the same word again after "just" (or "really"...).
_REPEATED_PRAISE = re.compile(r"\b([a-z]+),? +(?:just|really|simply|absolutely) +\1\b")
# The face with rolling eyes and the unamused face.
# Eye-roll, unamused and upside-down faces.
_CLAPPING = "\U0001f44f"
_EYE_ROLLS = ("\U0001f644", "\U0001f612", "\U0001f643")
# After a positive phrase, a clause it is about: "love how nobody answers".
# "love how...", "me encanta que/cómo...", "j'adore comment/quand...", "ich liebe es, wie/dass...",
# "adoro come/che/quando...", "adoro como/que/o jeito que...".
_ABOUT_A_CLAUSE = re.compile(
    r",? +(?:how|the way|that|when|que|c[oó]mo|cuando|la forma en que|comment|quand|"
    r"la fa[cç]on dont|wie|dass|wenn|come|che|quando|o jeito que|a forma como) "
)
_ASCII_UPPER = bytes(range(65, 91))
_ASCII_LOWER = bytes(range(97, 123))

Span = tuple[int, int, float]


def _leet(text: str) -> str:
    """``text`` with leetspeak read as letters ("id10t", "$hit"), numbers left alone."""
    parts: list[str] = []
    last = 0
    for match in _NUMBER.finditer(text):
        parts.append(text[last : match.start()].translate(_LEET))
        parts.append(match.group())
        last = match.end()
    parts.append(text[last:].translate(_LEET))
    return "".join(parts)


def _start(span: Span) -> int:
    return span[0]


def _end(span: Span) -> int:
    return span[1]


@attrs.frozen(kw_only=True)
class Reading:
    """One message as the detector sees it; what the per-signal methods receive.

    Attributes:
        text: the message as written (capitals intact, for shouting).
        lower: the message lower-cased (curly apostrophes made straight); the spans index it.
        hits: the lexicon matches by category: ``(start, end, weight)`` spans in ``lower``,
            leftmost-longest, in order.
        clear: the reading of the message with obfuscations undone ("f*ck" -> "fuck",
            "id10t" -> "idiot", "f u c k" -> "fuck"), or ``None`` when nothing looked
            obfuscated; abuse and threats are looked for in it.
    """

    text: str
    lower: str
    hits: Mapping[str, list[Span]]
    clear: Reading | None = None
    memo: dict[str, Any] = attrs.field(factory=dict, init=False, eq=False, repr=False)

    def spans(self, category: str) -> list[Span]:
        """The matches of ``category``, in order (empty when there are none)."""
        return self.hits.get(category) or []

    def last_before(self, category: str, position: int) -> Span | None:
        """The last match of ``category`` ending at or before ``position``, or None."""
        spans = self.hits.get(category)
        if not spans:
            return None
        # Matches never overlap, so their ends are sorted too: a bisection, not a scan.
        index = bisect.bisect_right(spans, position, key=_end)
        return spans[index - 1] if index else None

    def first_after(self, category: str, position: int) -> Span | None:
        """The first match of ``category`` starting at or after ``position``, or None."""
        spans = self.hits.get(category)
        if not spans:
            return None
        index = bisect.bisect_left(spans, position, key=_start)
        return spans[index] if index < len(spans) else None

    @property
    def quotes(self) -> list[tuple[int, int]]:
        """The quoted passages of :attr:`lower`, as ``(start, end)``, in order."""
        found = self.memo.get("quotes")
        if found is None:
            found = []
            if _QUOTE_CHAR.search(self.lower):
                found = [m.span() for m in _QUOTED.finditer(self.lower)]
            self.memo["quotes"] = found
        return found

    def one_sentence(self, low: int, high: int) -> bool:
        """True when no sentence ends (``.;!?`` or a new line) in ``lower[low:high]``."""
        breaks = self.memo.get("sentence_breaks")
        if breaks is None:
            breaks = self.memo["sentence_breaks"] = [
                m.start() for m in _SENTENCE_BREAK.finditer(self.lower)
            ]
        index = bisect.bisect_left(breaks, low)
        return index == len(breaks) or breaks[index] >= high

    def neighbours_in_sentence(self, category: str, start: int, end: int) -> list[Span]:
        """The nearest ``category`` match before ``start:end`` and the nearest after it, those
        of them in the same sentence (no farther match can share it if the nearest does not
        on its side)."""
        found = []
        for span in (self.last_before(category, start), self.first_after(category, end)):
            if span is not None:
                low, high = (span[1], start) if span[0] < start else (end, span[0])
                if self.one_sentence(low, high):
                    found.append(span)
        return found

    def opens_sentence(self, start: int) -> bool:
        """True when only spaces stand between ``start`` and the start of its sentence."""
        before = start - 1
        lower = self.lower
        while before >= 0 and lower[before] in " \t":
            before -= 1
        return before < 0 or lower[before] in ".!?\n"

    @property
    def plain(self) -> Reading:
        """The reading to look for abuse and threats in: :attr:`clear` if any, else self."""
        return self.clear or self


# Between a sarcasm cue and the positive word: a comma or an intensifier ("yeah, really helpful").
_SARCASM_GAP = re.compile(r"[ ,]*(?:(?:so|really|very|just|truly|super)[ ,]+)?")
_ABUSE_CATEGORIES = frozenset({"insults", "put_downs", "profanity", "abuse"})
# Phrases that make a customer angry when not negated (see LexiconSignalDetector.anger).
_ANGRY_CATEGORIES = ("anger", "hyperbole", "ultimatums")
# After an apology, these in its sentence mean it is not calming ("sorry but...").
# An apology for being lost ("Sorry, I'm not good with computers") is confusion, not calming.
_NOT_CALMING = (
    "contrasts", "anger", "hyperbole", "ultimatums", "confusion", *sorted(_ABUSE_CATEGORIES)
)  # fmt: skip
_STARTS_WITH_I = re.compile(r"i\b")
# The categories that say something about the customer, counted to tell which language's word
# lists read a short message best (LexiconSignalDetector.short_message_language).
_EVIDENCE_CATEGORIES = (
    "positive", "negative", "anger", "insults", "put_downs", "profanity", "abuse", "violence",
    "self_harm", "legal", "manager", "escalation", "repeat_contact", "sarcasm", "hyperbole",
    "ultimatums", "confusion", "calming", "apologies", "courtesy", "demands",
)  # fmt: skip
# Categories that make a courteous message more than a polite complaint (polite), and a
# mention of the writer's own lawyer more than a request (legal_threat).
_NOT_POLITE = frozenset(
    {"anger", "hyperbole", "ultimatums", "sarcasm", "violence", "legal", "distress"}
)
_NOT_A_REQUEST = frozenset({"anger", "hyperbole", "ultimatums", "insults", "put_downs", "abuse"})
# A message with any of these is not pure joy (see LexiconSignalDetector.enthusiastic).
_NOT_ENTHUSIASTIC = frozenset(
    {"anger", "hyperbole", "ultimatums", "sarcasm", "violence", "self_harm", "legal",
     "demands", *_ABUSE_CATEGORIES}
)  # fmt: skip
_FILLERS = frozenset(
    {"a", "an", "the", "such", "so", "total", "complete", "absolute", "real", "being", "like",
     "bit", "of", "little", "big", "utter", "proper", "feel", "felt", "look", "looked"}
)  # fmt: skip


@attrs.define(kw_only=True)
class LexiconSignalDetector:
    """The default detector: word lists and small rules, no network, no model.

    Every signal is one small method (:meth:`sentiment`, :meth:`abusive`, :meth:`threat`...)
    taking a :class:`Reading`, so an integrator overrides one rule, or changes the words:
    ``LexiconSignalDetector(lexicon=...)``, :meth:`from_directory`, :meth:`extended`.

    Attributes:
        lexicon: the word lists (default: the ones shipped with the package).
        window: how many words a negation, an intensifier or an addressee may stand before
            the word it bears on.
        repeat_lookback: how many earlier customer messages a message that repeats one of
            them word for word is compared with (it counts as repeat contact).
        languages: the languages besides English read with the shipped word lists
            (``es``, ``fr``, ``de``, ``pt``, ``it``); a message in another language is not
            assessed. ``frozenset()`` reads English only.
    """

    lexicon: Lexicon = attrs.field(factory=Lexicon.standard, validator=of_type(Lexicon))
    window: int = attrs.field(default=3, validator=counted())
    repeat_lookback: int = attrs.field(default=5, validator=counted())
    languages: frozenset[str] = attrs.field(
        default=frozenset(LANGUAGES_WITH_LEXICONS) - {"en"}, converter=frozenset
    )
    _tables: _Tables = attrs.field(init=False, repr=False, eq=False)
    _readers: dict[Lexicon, LexiconSignalDetector] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )
    _readers_lock: threading.Lock = attrs.field(
        init=False, repr=False, eq=False, factory=threading.Lock
    )

    SENTIMENT_SCALE: ClassVar[float] = 2.0

    def __attrs_post_init__(self) -> None:
        self._tables = _tables(self.lexicon)

    @classmethod
    def from_directory(cls, path: str | Path, **options: Any) -> LexiconSignalDetector:
        """A detector whose lexicon reads ``path`` over the defaults (see
        :meth:`Lexicon.from_directory`); ``options`` are the other fields."""
        return cls(lexicon=Lexicon.from_directory(path), **options)

    def extended(self, **more: Iterable[str] | Mapping[str, float]) -> LexiconSignalDetector:
        """A copy whose lexicon has the phrases added (``extended(insults=["numpty"])``)."""
        return attrs.evolve(self, lexicon=self.lexicon.extended(**more))

    # -- the whole message ------------------------------------------------------------------

    def detect(self, text: str, conversation: Conversation) -> Signals:
        """Return the signals in ``text``, read with the word lists of its language.

        The language comes from :meth:`language_of`, the word lists from
        :meth:`lexicon_for`; a message in a language without word lists gets
        ``Signals(language=..., assessed=False)``: nothing was read, which is not the same
        as a calm customer, and the desk's guidance asks the agent to read it.

        Args:
            text: the new customer message.
            conversation: the conversation before this message.
        """
        language = self.language_of(text)
        lexicon = self.lexicon_for(language)
        if lexicon is None or (language == UNDETERMINED and not self.readable(text)):
            return Signals(language=language, assessed=False)
        reader = self if lexicon is self.lexicon else self._reader_for(lexicon)
        return reader.read_signals(text, conversation, language=language)

    #: Letters the languages with word lists write beyond a to z; a word with another letter
    #: (Polish "ł", Czech "ř", Turkish "ş") is in a language the lists do not read.
    KNOWN_LETTERS: ClassVar[frozenset[str]] = frozenset(
        "abcdefghijklmnopqrstuvwxyzáàâãäæçéèêëíìîïñóòôõöœúùûüÿß"
    )

    def readable(self, text: str) -> bool:
        """Whether a message whose language was not determined can be read with the English
        lists: not when most of its letters are outside the Latin script (Russian,
        Japanese), nor when two or more of its words hold letters none of the word lists'
        languages write (:meth:`foreign_words`: Polish, Czech, Turkish). Such a message
        would otherwise come out calm; it is not assessed instead, so the agent is told to
        read it. A message without letters (digits, emoji) is readable: there is nothing the
        lists would miss.
        """
        letters = latin = 0
        for character in text:
            if character.isalpha():
                letters += 1
                latin += unicodedata.name(character, "").startswith("LATIN")
        return latin * 2 >= letters and self.foreign_words(text) < 2

    def foreign_words(self, text: str) -> int:
        """How many words of ``text`` hold a Latin letter that none of the languages with
        word lists writes (:attr:`KNOWN_LETTERS`)."""
        known = self.KNOWN_LETTERS
        return sum(
            1
            for word in text.lower().split()
            if any(
                c.isalpha() and c not in known and unicodedata.name(c, "").startswith("LATIN")
                for c in word
            )
        )

    #: Messages with fewer spaces than this are short (see :meth:`language_of`).
    SHORT_MESSAGE_WORDS: ClassVar[int] = 6
    #: Below this confidence the identifier's answer for a short message is checked against
    #: every lexicon (see :meth:`language_of`).
    SHORT_MESSAGE_CONFIDENCE: ClassVar[float] = 0.9

    def short_message_language(self, text: str, identified: str) -> str:
        """The language to read a short message in, when the identifier is not sure: the one
        whose word lists find the most in it, the identified one on a tie.

        A few words say little about their language ("Vete a la mierda." shares most of its
        letters with Italian; "Cállate, imbécil." has no common word at all), but they say
        a lot to the word lists of the right language, and a short message is cheap to read
        six times. A message no lexicon finds anything in keeps ``identified``.
        """
        candidates = [identified, "en", *sorted(self.languages)]
        best, most = identified, (0, False, 0)
        for language in dict.fromkeys(candidates):
            lexicon = self.lexicon_for(language)
            if lexicon is None:
                continue
            reader = self if lexicon is self.lexicon else self._reader_for(lexicon)
            reading = reader.read(text)
            sources = [source for source in (reading, reading.clear) if source is not None]
            # What the lists say of the customer first; on a tie, the identified language or
            # English (a message that reads the same in English and German stays English),
            # then every phrase found.
            # (A phrase counts once, however many categories it is in.)
            found = (
                len(
                    {
                        (index, span[0])
                        for index, source in enumerate(sources)
                        for category in _EVIDENCE_CATEGORIES
                        for span in source.hits.get(category, ())
                    }
                ),
                language in (identified, "en"),
                len(
                    {
                        (i, span[0])
                        for i, s in enumerate(sources)
                        for v in s.hits.values()
                        for span in v
                    }
                ),
            )
            if found[0] and found > most:
                best, most = language, found
        return best

    def language_of(self, text: str) -> str:
        """The message's language as a BCP 47 tag, or ``"und"`` when it is not determined
        (a short message such as "ok", digits, emoji).

        A message the identifier is not sure of (below :attr:`SHORT_MESSAGE_CONFIDENCE`)
        with two or more :meth:`foreign_words` is undetermined; a short one (fewer spaces
        than :attr:`SHORT_MESSAGE_WORDS`) goes to :meth:`short_message_language`.
        """
        guess = identify(text)
        unsure = guess.language == UNDETERMINED or guess.confidence < self.SHORT_MESSAGE_CONFIDENCE
        if unsure and self.foreign_words(text) >= 2:
            # the identifier names the nearest of the languages it knows: Polish comes out
            # German; letters none of them writes say it is none of them
            return UNDETERMINED
        if unsure and text.count(" ") < self.SHORT_MESSAGE_WORDS:
            return self.short_message_language(text, guess.language)
        return guess.language

    def lexicon_for(self, language: str) -> Lexicon | None:
        """The word lists to read a message in ``language`` with, or None when there are
        none (the message is then not assessed).

        English and an undetermined language use :attr:`lexicon`; the other languages
        :attr:`languages` names use :meth:`Lexicon.standard` for that language. Override it
        to bring your own word lists for a language.
        """
        primary = language.split("-")[0]
        if primary in ("en", UNDETERMINED):
            return self.lexicon
        if primary in self.languages:
            return Lexicon.standard(primary)
        return None

    def _reader_for(self, lexicon: Lexicon) -> LexiconSignalDetector:
        # The same detector (same class, same settings: a subclass's rules apply in every
        # language) on another lexicon; one per lexicon, kept for the detector's life.
        with self._readers_lock:
            reader = self._readers.get(lexicon)
            if reader is None:
                reader = attrs.evolve(self, lexicon=lexicon)
                self._readers[lexicon] = reader
            return reader

    def read_signals(self, text: str, conversation: Conversation, *, language: str) -> Signals:
        """The signals of ``text`` read with this detector's :attr:`lexicon`, as
        :meth:`detect` returns them once the language is known.

        Args:
            text: the new customer message.
            conversation: the conversation before this message.
            language: the message's language, recorded in the signals.
        """
        reading = self.read(text)
        wants_manager = self._once(reading, "wants_manager")
        shouting = self.shouting(reading)
        sentiment = self.sentiment(reading, wants_manager=wants_manager, shouting=shouting)
        abusive = self.abusive(reading)
        self_harm = self.self_harm(reading)
        violence = self.violence(reading)
        legal_threat = self.legal_threat(reading)
        repeat_contact = self.repeat_contact(reading, conversation)
        return Signals(
            sentiment=sentiment,
            anger=self.anger(
                reading,
                sentiment=sentiment,
                shouting=shouting,
                abusive=abusive,
                threat=violence,
                legal_threat=legal_threat,
            ),
            abusive=abusive,
            threat=self_harm or violence,
            legal_threat=legal_threat,
            wants_manager=wants_manager,
            repeat_contact=repeat_contact,
            shouting=shouting,
            self_harm=self_harm,
            sarcastic=self.sarcastic(reading),
            confused=self.confused(reading),
            calming=self.calming(reading),
            asks_for_compensation=self.asks_for_compensation(reading),
            language=language,
        )

    def read(self, text: str) -> Reading:
        """Lower-case ``text`` once, correct typos of lexicon words in it (:meth:`corrected`)
        and find every lexicon phrase in it."""
        lower = text.lower()
        if "\u2019" in lower:
            lower = lower.replace("\u2019", "'")
        if "-" in lower:
            # "self-harm" reads as "self harm": the phrases' words are separated by spaces.
            lower = _WORD_HYPHEN.sub(" ", lower)
        lower = self.corrected(lower)
        hits = self._tables.hits(lower)
        clear = None
        if self.obfuscated(lower):
            unmasked = self.deobfuscate(lower)
            if unmasked != lower:
                clear = Reading(text=text, lower=unmasked, hits=self._tables.hits(unmasked))
        return Reading(text=text, lower=lower, hits=hits, clear=clear)

    def corrected(self, lower: str) -> str:
        """``lower`` with each typo of a lexicon word replaced by the word ("rediculous" ->
        "ridiculous", "wrost" -> "worst", "manger" -> "manager").

        A typo is a word of :data:`TYPO_MIN_LETTERS` letters or more, that no phrase of the
        lexicon uses and that is not a known word (``known_words``: "layer", "idioms") nor an
        acronym, one edit (:func:`one_edit_apart`) from exactly one word of five letters or
        more of :data:`TYPO_CATEGORIES`. Candidates come from an index of the lexicon words
        with one letter deleted, so a lookup is a few dictionary probes, not a scan.
        """
        tables = self._tables
        if not tables.deletions:
            return lower
        vocabulary = tables.vocabulary
        fixes: list[tuple[int, int, str]] = []
        for match in _TYPO_CANDIDATE.finditer(lower):
            typed = match.group()
            if typed in vocabulary:
                continue
            word = self.typo_of(typed)
            if word is not None:
                fixes.append((match.start(), match.end(), word))
        if not fixes:
            return lower
        parts: list[str] = []
        last = 0
        for start, end, word in fixes:
            parts += (lower[last:start], word)
            last = end
        parts.append(lower[last:])
        return "".join(parts)

    def typo_of(self, typed: str) -> str | None:
        """The one lexicon word ``typed`` is a typo of, or None (none, or more than one)."""
        memo = self._tables.typos
        if typed in memo:
            return memo[typed]
        index = self._tables.deletions
        keys = {typed[:i] + typed[i + 1 :] for i in range(len(typed))}
        keys.add(typed)
        word: str | None = None
        if not index.keys().isdisjoint(keys):  # most words share no key
            found = {w for key in keys for w in index.get(key, ()) if one_edit_apart(typed, w)}
            word = found.pop() if len(found) == 1 else None
        if len(memo) < TYPO_MEMO_SIZE:
            memo[typed] = word
        return word

    def obfuscated(self, lower: str) -> bool:
        """True when the lower-cased message may hide a word (masks, symbols, leetspeak, spaced
        letters, stretched vowels): then :meth:`deobfuscate` gives a second reading."""
        # Unrolled "in" tests: this runs on every message, and each is one C-level scan.
        if "*" in lower or "$" in lower or "@" in lower or "|" in lower:
            return True
        if "!" in lower and _INNER_BANG.search(lower):
            return True
        if "0" in lower or "1" in lower or "3" in lower or "4" in lower or "5" in lower:
            # search() in a loop, not finditer(): most messages with digits have no match,
            # and one search costs less than setting up the iterator.
            match = _DIGIT_IN_WORD.search(lower)
            while match is not None:
                start, end = match.span()
                if (start and lower[start - 1].isalpha()) or end - start >= 4:
                    return True
                match = _DIGIT_IN_WORD.search(lower, end)
        if _SPACED_LETTERS.search(" " + lower):
            return True
        return "uuu" in lower or "ooo" in lower or "iii" in lower or "eee" in lower

    def deobfuscate(self, lower: str) -> str:
        """Undo common obfuscations of a lower-cased message.

        Spaced or dotted letters are joined ("f u c k", "s.t.u.p.i.d"), leetspeak is
        translated ("id10t", "$hit", "sh!t"; a number standing alone stays a number),
        stretched letters are shortened ("fuuuck"), and
        a masked word ("f*ck", "a**hole") becomes the abusive word of the lexicon it fits.
        """
        text = _SPACED.sub(lambda m: _SEPARATORS.sub("", m.group()), lower)
        text = _leet(text)
        if "!" in text or "|" in text:  # sh!t, sh|t; without them the search finds nothing
            text = _INNER_BANG.sub("i", text)
        text = _ELONGATED.sub(r"\1", text)
        if "*" in text:
            text = _MASKED_WORD.sub(self._unmask, text)
        return text

    def _unmask(self, match: re.Match[str]) -> str:
        word = match.group()
        for candidate in self._tables.masked.get((len(word), word[0]), ()):
            if all(w in ("*", c) for w, c in zip(word, candidate, strict=True)):
                return candidate
        return word

    # -- sentiment and anger ---------------------------------------------------------------

    def sentiment(
        self, reading: Reading, *, wants_manager: bool = False, shouting: bool = False
    ) -> float:
        """Balance of positive and negative phrases in [-1, 1].

        A phrase counts its weight, times 1.5 after an intensifier; a negation flips it (a
        negated negative counts half: "not bad" is mildly positive); an :meth:`ironic`
        positive counts as negative. Within a sentence with "but", a phrase after it counts
        1.5 times, a negative before it half and a positive before it a quarter ("I
        appreciate your time, but..." is a cushion, not praise). Other signals' phrases count
        as negative evidence (:attr:`NEGATIVE_EVIDENCE`), and so do demanding a manager
        (``wants_manager`` and :meth:`demanding`) and ``shouting``. A polite complaint
        (:meth:`polite`) reads at most :attr:`POLITE_FLOOR`: negative, not upset.
        """
        positive = reading.spans("positive")
        negative = reading.spans("negative") + self._negative_evidence(reading)
        # The whole message's tone: no negation, intensifier or "but" bears on it.
        score = 0.0
        if wants_manager and self._once(reading, "demanding"):
            score -= self.MANAGER_EVIDENCE
        if shouting:
            score -= self.SHOUTING_EVIDENCE
        if self._once(reading.plain, "intended_harm"):
            score -= self.NEGATIVE_EVIDENCE["violence"]
        if not positive and not negative and not score:
            return 0.0
        for sign, spans in ((1.0, positive), (-1.0, negative)):
            for start, end, weight in spans:
                value = sign * weight
                if self.intensified(reading, start):
                    value *= 1.5
                if self.negated(reading, start):
                    value = -value * (0.75 if sign > 0 else 0.5)
                elif sign > 0 and self.ironic(reading, start, end):
                    value = -value
                score += value * self.contrasted(reading, start, end, value)
        sentiment = round(score / (abs(score) + self.SENTIMENT_SCALE), 3)
        if sentiment < self.POLITE_FLOOR and self.polite(reading):
            return self.POLITE_FLOOR
        return sentiment

    #: How much demanding a manager (:meth:`demanding`) lowers sentiment: it says the
    #: customer is not satisfied. Asking for one plainly ("I'd like to speak to a manager")
    #: leaves it as it is.
    MANAGER_EVIDENCE: ClassVar[float] = 0.5
    #: How much shouting lowers sentiment: "FIX MY INTERNET!!!" is a negative message.
    SHOUTING_EVIDENCE: ClassVar[float] = 1.0
    #: The most negative a polite complaint reads: below -0.5 a message is upset.
    POLITE_FLOOR: ClassVar[float] = -0.45

    def contrasted(self, reading: Reading, start: int, end: int, value: float) -> float:
        """The factor a contrast ("but") in the phrase's sentence gives a phrase worth
        ``value``: 1.5 after it, 0.5 before it (0.25 for praise), 1 with no contrast."""
        contrasts = reading.hits.get("contrasts")
        if not contrasts:
            return 1.0
        before = reading.last_before("contrasts", start)
        if before is not None and reading.one_sentence(before[1], start):
            return 1.5
        after = reading.first_after("contrasts", end)
        if after is not None and reading.one_sentence(end, after[0]):
            return 0.25 if value > 0 else 0.5
        return 1.0

    def polite(self, reading: Reading) -> bool:
        """True for a courteous message ("could you", "please", "thank you") with no anger,
        abuse, threat, ultimatum, sarcasm or distress in it: a polite complaint."""
        if not reading.hits.get("courtesy"):
            return False
        if not reading.hits.keys().isdisjoint(_NOT_POLITE):
            return False  # distress is not a polite complaint either: "please help, I'm scared"
        return not self.abusive(reading)

    #: Other signals' phrases that also lower sentiment, with their weight: an insult, a
    #: threat or having to write again is a negative message even without a negative word.
    NEGATIVE_EVIDENCE: ClassVar[Mapping[str, float]] = MappingProxyType(
        {
            "insults": 1.5,
            "put_downs": 1.0,
            "profanity": 0.5,
            "abuse": 2.0,
            "violence": 2.0,
            "self_harm": 2.0,
            "anger": 1.0,
            "legal": 1.0,
            "repeat_contact": 0.5,
            "sarcasm": 1.0,
            "hyperbole": 1.0,
            "ultimatums": 1.5,
            "distress": 2.0,
        }
    )

    #: What an insult the writer aims at themselves weighs in the sentiment: self-blame is
    #: negative, not hostile.
    SELF_BLAME_EVIDENCE: ClassVar[float] = 0.5

    def _negative_evidence(self, reading: Reading) -> list[Span]:
        weights = self.NEGATIVE_EVIDENCE
        clear = reading.clear
        evidence: list[Span] = []
        # Built at the first evidence only: most messages have none.
        counted: set[int] | None = None
        for source, skip_abuse in ((reading, clear is not None), (clear, False)):
            if source is None:
                break
            for category, spans in source.hits.items():
                weight = weights.get(category)
                if weight is None or (skip_abuse and category in _ABUSE_CATEGORIES):
                    continue
                if counted is None:
                    counted = {start for start, _, _ in reading.spans("negative")}
                about_writer = category == "insults"
                if category == "legal":
                    if not self._once(reading, "legal_threat"):
                        continue  # "my lawyer needs a copy of the lease" is no complaint
                    if self._once(reading, "formal"):
                        weight /= 2  # citing one's rights is a firm claim, not hostility
                for start, end, _ in spans:
                    # A phrase that is negative already counts once; an insult the writer
                    # aims at themselves ("I feel like an idiot") is self-blame: it counts
                    # as mildly negative (SELF_BLAME_EVIDENCE), not as hostility.
                    if start not in counted:
                        counted.add(start)
                        if about_writer and self.about_writer(source, start):
                            evidence.append((start, end, self.SELF_BLAME_EVIDENCE))
                        else:
                            evidence.append((start, end, weight))
        return evidence

    def anger(
        self,
        reading: Reading,
        *,
        sentiment: float,
        shouting: bool,
        abusive: bool,
        threat: bool = False,
        legal_threat: bool = False,
    ) -> float:
        """Anger in [0, 1] from angry words, shouting, abuse, threats, swearing and sentiment.

        Angry phrases are anger words, hyperbole ("I'm losing my mind") and ultimatums
        ("taking my business elsewhere"), not negated: the first counts 0.45, so that with
        any negative sentiment one of them makes the customer upset, the second 0.25.
        """
        words = 0
        for category in _ANGRY_CATEGORIES:
            for start, _, _ in reading.spans(category):
                words += not self.negated(reading, start)
        profane = bool(reading.plain.spans("profanity"))
        # Abuse, violence and swearing count as angry phrases however they are worded, and
        # so does a legal threat made other than formally ("Expect to hear from my lawyer.",
        # not "Under the Consumer Rights Act I'm entitled to a refund"), and a demand for a
        # manager.
        words += abusive + threat + profane
        if legal_threat and not self.formal(reading):
            words += 1
        if self._once(reading, "demanding") and self._once(reading, "wants_manager"):
            # Upset on its own, whatever else the words say: "Fine, give me your manager
            # then." (not "I'd like to speak to a manager").
            words += 2
        score = 0.45 if words else 0.0
        score += 0.25 if words >= 2 else 0.0
        score += 0.25 if shouting else 0.0
        score += 0.3 if abusive else 0.0
        score += 0.3 if threat else 0.0  # violence; self-harm is distress, not anger
        score += 0.1 if profane else 0.0
        score += 0.3 * max(0.0, -sentiment)
        return round(min(1.0, score), 3)

    def formal(self, reading: Reading) -> bool:
        """True when the message is courteous, apologises or cites the customer's rights
        (``rights``): a legal claim made so is firm, not angry."""
        hits = reading.hits
        return bool(hits.get("courtesy") or hits.get("apologies") or hits.get("rights"))

    def intensified(self, reading: Reading, start: int) -> bool:
        """True when an intensifier ("very") stands right before the phrase at ``start``."""
        return self._before(reading, "intensifiers", start, 0)

    def negated(self, reading: Reading, start: int) -> bool:
        """True when a negation stands up to :attr:`window` words before ``start``, in the
        same clause, and no "I" starts a new statement in between ("if I don't get a refund
        I'll sue you" is not negated)."""
        negation = self._last_before(reading, "negations", start, self.window)
        if negation is None:
            return False
        if _STARTS_WITH_I.match(reading.lower, start):
            return False
        writer = reading.last_before("first_person", start)
        return writer is None or writer[0] < negation

    def complains(self, reading: Reading) -> bool:
        """True when the message complains: negative phrases (weight 1 or more, not negated),
        or letdowns ("another", "as always") that do not follow a positive word ("thanks
        again")."""
        weight = sum(w for s, _, w in reading.spans("negative") if not self.negated(reading, s))
        if weight >= 1.0:
            return True
        positive_ends = {end for _, end, _ in reading.spans("positive")}
        return any(start - 1 not in positive_ends for start, _, _ in reading.spans("letdowns"))

    # -- sarcasm ----------------------------------------------------------------------------

    def sarcastic(self, reading: Reading) -> bool:
        """Praise that means its opposite: a :meth:`sarcasm_marked` message, or one with an
        :meth:`ironic` positive phrase. A sarcastic customer is upset."""
        if self._once(reading, "sarcasm_marked"):
            return True
        return any(self.ironic(reading, start, end) for start, end, _ in reading.spans("positive"))

    def sarcasm_marked(self, reading: Reading) -> bool:
        """True when the message says it is sarcastic: a sarcasm phrase ("thanks for nothing",
        "yeah right"), not negated; praise said twice ("great, just great"); an eye-roll
        emoji (🙄, 😒, 🙃); clapping (👏) in a message that complains; or a
        :meth:`quoted_claim` ("thanks for the 'help'")."""
        spans = reading.spans("sarcasm")
        if spans and any(not self.negated(reading, s) for s, _, _ in spans):
            return True
        lower = reading.lower
        if "just " in lower or "really " in lower or "simply " in lower or "absolutely " in lower:
            praise = {start for start, _, _ in reading.spans("positive")}
            for match in _REPEATED_PRAISE.finditer(lower):
                if match.start() in praise:
                    return True
        text = reading.text
        if any(face in text for face in _EYE_ROLLS):
            return True
        if _CLAPPING in text and self._once(reading, "complains"):
            return True  # "Truly impressive work 👏" over a complaint
        return bool(reading.quotes) and self.quoted_claim(reading)

    def ironic(self, reading: Reading, start: int, end: int) -> bool:
        """True for a positive phrase used sarcastically.

        That is: in a :meth:`sarcasm_marked` message; in scare quotes ('so "helpful"'); or
        shaped like sarcasm (:meth:`praise_shape`) in a message that :meth:`complains`.
        Gratitude ("thanks") is ironic from its shape only after a cue ("oh thanks"), and
        praise about what follows ("love how...") or before a letdown in its sentence
        ("amazing service as always") only in a message without gratitude. Two cued shapes
        and no gratitude are sarcasm even without a complaint ("Oh wonderful, a survey.
        Really helpful.").
        """
        if self._once(reading, "sarcasm_marked") or self.scare_quoted(reading, start, end):
            return True
        shape = self.praise_shape(reading, start, end)
        if shape is None:
            return False
        courtesy = reading.first_after("courtesy", start)
        if shape != "cued" and courtesy is not None and courtesy[0] == start:
            return False  # gratitude, not sarcasm
        grateful = self._once(reading, "grateful")
        if shape in ("about", "letdown") and grateful:
            return False
        if shape == "letdown" and not any(
            not self.negated(reading, s) for s, _, _ in reading.spans("negative")
        ):
            # "Excellent service as always." alone is as likely thanks as sarcasm.
            return False
        if self._once(reading, "complains"):
            return True
        return not grateful and self._once(reading, "cued_praise")

    def _once(self, reading: Reading, rule: str) -> bool:
        """The method ``rule`` on ``reading``, called once per reading: the per-phrase rules
        ask the same question of the whole message for each phrase."""
        answer = reading.memo.get(rule)
        if answer is None:
            answer = reading.memo[rule] = bool(getattr(self, rule)(reading))
        return bool(answer)

    def grateful(self, reading: Reading) -> bool:
        """True when the message thanks or asks politely, other than after a sarcasm cue."""
        return any(
            self.praise_shape(reading, s, e) != "cued" for s, e, _ in reading.spans("courtesy")
        )

    def cued_praise(self, reading: Reading) -> bool:
        """True when one positive phrase follows a cue and another opens a sentence before a
        stop ("Oh wonderful, a survey asking me how happy I am. Really helpful.")."""
        shapes = {self.praise_shape(reading, s, e) for s, e, _ in reading.spans("positive")}
        return {"cued", "opening"} <= shapes

    def praise_shape(self, reading: Reading, start: int, end: int) -> str | None:
        """How the positive phrase at ``start:end`` is placed, when sarcasm is placed so:
        ``"cued"`` right after a sarcasm cue ("oh wonderful", "yeah, really helpful");
        ``"opening"`` opening a sentence (after an intensifier at most) before a comma or a
        stop ("Great, another broken order", "Really helpful."); ``"about"`` before the
        clause it praises ("love how nobody answers"); ``"letdown"`` opening a sentence with
        a letdown later in it ("Amazing service as always."); else None."""
        lower = reading.lower
        cue = reading.last_before("sarcasm_cues", start)
        if cue is not None and _SARCASM_GAP.fullmatch(lower, cue[1], start):
            return "cued"
        if _ABOUT_A_CLAUSE.match(lower, end):
            return "about"
        opening = start
        intensifier = reading.last_before("intensifiers", start)
        if intensifier is not None and not lower[intensifier[1] : start].strip():
            opening = intensifier[0]
        if not reading.opens_sentence(opening):
            return None
        tail = lower[end : end + 2].lstrip()
        if tail[:1] in (",", ".", "!", ";", "\u2014", "-"):
            return "opening"
        # "Wonderful airline.", "Great job guys, ...", "Impressive consistency.": praise and
        # at most two words make the whole clause.
        clause = _CLAUSE_BREAK.search(lower, end)
        if clause is not None and len(lower[end : clause.start()].split()) <= 2:
            return "opening"
        letdown = reading.first_after("letdowns", end)
        if letdown is not None and reading.one_sentence(end, letdown[0]):
            return "letdown"
        return None

    def scare_quoted(self, reading: Reading, start: int, end: int) -> bool:
        """True when the phrase at ``start:end`` stands in quotes of at most three words ('so
        "helpful"', 'your "fast" delivery', "a 'next day delivery'", « aide », „Hilfe“)."""
        quotes = reading.quotes
        if not quotes:
            return False
        index = bisect.bisect_left(quotes, (start, end))
        if not index:
            return False
        low, high = quotes[index - 1]
        return low < start and end <= high and len(reading.lower[low + 1 : high - 1].split()) <= 3

    def quoted_claim(self, reading: Reading) -> bool:
        """True when what a company says of its service (``claims``: "help", "express",
        "priority") stands in scare quotes, outside a question ("thanks for the 'help'", "your
        'express' delivery"; not "what does 'priority support' include?")."""
        lower = reading.lower
        for start, end, _ in reading.spans("claims"):
            if self.scare_quoted(reading, start, end):
                stop = _SENTENCE_BREAK.search(lower, end)
                if stop is None or stop.group() != "?":
                    return True
        return False

    @staticmethod
    def _between(reading: Reading, category: str, low: int, high: int) -> bool:
        """True when a ``category`` phrase starts in ``low:high``."""
        span = reading.first_after(category, low)
        return span is not None and span[0] < high

    # -- confusion and calming ------------------------------------------------------------------

    def confused(self, reading: Reading) -> bool:
        """Confusion or self-blame ("I don't understand this bill", "did I do something
        wrong?", "I'm such an idiot, I booked the wrong date"), not negated ("I'm not
        confused")."""
        spans = reading.spans("confusion")
        if spans and any(not self.negated(reading, s) for s, _, _ in spans):
            return True
        return any(self.about_writer(reading, s) for s, _, _ in reading.spans("insults"))

    def calming(self, reading: Reading) -> bool:
        """The customer de-escalates: a calming phrase ("sorry for shouting", "ok, thank you,
        that helps"), not negated; or an apology opening a sentence that goes on with no
        "but", no anger, no abuse and no question ("Sorry, I'm just really stressed")."""
        spans = reading.spans("calming")
        if spans and any(not self.negated(reading, s) for s, _, _ in spans):
            return True
        lower = reading.lower
        apologies = reading.spans("apologies")
        if apologies and self._once(reading, "confused"):
            return False  # "Sorry, I'm hopeless with these apps": lost, not de-escalating
        for start, end, _ in apologies:
            if self.negated(reading, start):
                continue
            if not reading.opens_sentence(start):
                continue
            stop = _SENTENCE_BREAK.search(lower, end)
            if stop is not None and stop.group() == "?":
                continue
            close = stop.start() if stop is not None else len(lower)
            if not any(self._between(reading, c, end, close) for c in _NOT_CALMING):
                return True
        return False

    # -- abuse and threats ---------------------------------------------------------------

    def abusive(self, reading: Reading) -> bool:
        """Insults, or profanity and put-downs aimed at the agent, not quoted nor reported.

        Looks in the de-obfuscated reading. "Idiot!" and "you are useless" are abuse; "the
        last agent called me an idiot", "my son said 'this is sh*t'", "I feel like an idiot"
        and "this damn printer" are not.
        """
        plain = reading.plain
        # Most messages hit none of these categories: one set operation answers for them.
        if plain.hits.keys().isdisjoint(_ABUSE_CATEGORIES):
            return False
        for start, end, _ in plain.spans("abuse"):
            if not self.reported(plain, start, end):
                return True
        for start, end, _ in plain.spans("insults"):
            if not (
                self.reported(plain, start, end)
                or self.negated(plain, start)
                or self.about_writer(plain, start)
            ):
                return True
        for category in ("put_downs", "profanity"):
            for start, end, _ in plain.spans(category):
                if (
                    self.aimed(plain, start, end)
                    and not self.reported(plain, start, end)
                    and not self.negated(plain, start)
                ):
                    return True
        return False

    def aimed(self, reading: Reading, start: int, end: int) -> bool:
        """True when the words at ``start:end`` address the agent: "you" (or "you people"...)
        up to :attr:`window` words before, in the same clause, with no "I"/"me" closer, or
        right after ("screw you")."""
        before = self._last_before(reading, "second_person", start, self.window)
        if before is not None:
            writer = self._last_before(reading, "first_person", start, self.window)
            return writer is None or writer < before
        after = reading.first_after("second_person", end)
        if after is None or self._broken(reading, end, after[0]):
            return False
        if reading.lower.count(" ", end, after[0]) <= 1:
            return True
        # "What a pathetic excuse for an agent you are.": the clause ends on "you (are)".
        return _CLAUSE_END.match(reading.lower, after[1]) is not None

    def about_writer(self, reading: Reading, start: int) -> bool:
        """True when the insult at ``start`` is about the writer: "I'm such an idiot", "I
        feel like an idiot" (only filler words between)."""
        writer = reading.last_before("first_person", start)
        if writer is None or self._broken(reading, writer[1], start):
            return False
        between_words = reading.lower[writer[1] : start].split()
        return len(between_words) <= 3 and all(w in _FILLERS for w in between_words)

    def reported(self, reading: Reading, start: int, end: int) -> bool:
        """True when the words at ``start:end`` are quoted, or reported ("called me an idiot",
        "said this is ...") within six words after a reporting word in the same clause."""
        quotes = reading.quotes
        if quotes:
            index = bisect.bisect_left(quotes, (start, end))
            if index and quotes[index - 1][0] < start and end <= quotes[index - 1][1]:
                return True
        return self._before(reading, "reporting", start, 6)

    def violence(self, reading: Reading) -> bool:
        """Threats of violence, not quoted, reported or negated ("I would never hurt you"):
        a violence phrase, or an :meth:`intended_harm`."""
        plain = reading.plain
        spans = plain.spans("violence")
        if any(not (self.negated(plain, s) or self.reported(plain, s, e)) for s, e, _ in spans):
            return True
        return self.intended_harm(plain)

    #: How many words may stand between an intention and its harm verb, and between the verb
    #: and its target.
    HARM_REACH: ClassVar[tuple[int, int]] = (6, 2)

    def intended_harm(self, reading: Reading) -> bool:
        """True when the writer says they will do violence to someone or something: an
        intention ("i'll", "i swear", "voy a"), a harm verb ("slash", "partir") up to six
        words after it and a target ("his", "the place", "la cara") up to two words after
        the verb, or between the intention and a verb that ends its clause ("ich werde ihm
        die Beine brechen"), in one sentence, not negated ("I'll never hurt anyone") and not
        hyperbole.
        However the condition is worded, "if that engineer sets foot in my house again I'll
        break his legs" is a threat."""
        verbs = reading.hits.get("harm_verbs")
        if not verbs or not reading.hits.get("intentions") or not reading.hits.get("targets"):
            return False
        to_verb, to_target = self.HARM_REACH
        lower = reading.lower
        for start, end, _ in verbs:
            intention = reading.last_before("intentions", start)
            if intention is None or lower.count(" ", intention[1], start) > to_verb + 1:
                continue
            target = reading.first_after("targets", end)
            if target is not None and lower.count(" ", end, target[0]) <= to_target + 1:
                low, high = intention[0], target[1]
            elif self._between(reading, "targets", intention[1], start) and _CLAUSE_END.match(
                lower, end
            ):
                # The verb last, its target before it: "ich werde ihm die Beine brechen".
                low, high = intention[0], end
            else:
                continue
            if not reading.one_sentence(low, high):
                continue
            if self.negated(reading, start) or self._between(reading, "hyperbole", low, high):
                continue
            return True
        return False

    def self_harm(self, reading: Reading) -> bool:
        """Statements of self-harm, not negated ("I'm not suicidal")."""
        plain = reading.plain
        spans = plain.spans("self_harm")
        return bool(spans) and any(not self.negated(plain, s) for s, _, _ in spans)

    def threat(self, reading: Reading) -> bool:
        """Threats of violence or self-harm: safety first."""
        return self.self_harm(reading) or self.violence(reading)

    # -- requests and history ----------------------------------------------------------------

    def legal_threat(self, reading: Reading) -> bool:
        """Lawyers, suing or court, not negated ("I don't want to sue anyone"); and, in a
        courteous request or a question with nothing hostile in it, not the writer's own
        lawyer nor the writer being one ("My lawyer needs a copy of the contract, can you
        email it?", "I'm an attorney representing...")."""
        spans = reading.spans("legal")
        if not spans:
            return False
        asking = (
            bool(reading.hits.get("courtesy")) or "?" in reading.lower
        ) and reading.hits.keys().isdisjoint(_NOT_A_REQUEST)
        return any(
            not (
                self.negated(reading, s)
                or (asking and (self.writers_own(reading, s) or self.about_writer(reading, s)))
            )
            for s, _, _ in spans
        )

    def wants_manager(self, reading: Reading) -> bool:
        """An ask for escalation, or a manager word with an ask ("speak to", "get me") in the
        same sentence; not negated, and not the customer's own manager ("my manager")."""
        escalation = reading.spans("escalation")
        if escalation and any(not self.negated(reading, s) for s, _, _ in escalation):
            return True
        if not reading.spans("asks"):
            return False
        for start, end, _ in reading.spans("manager"):
            if self.writers_own(reading, start) or self.negated(reading, start):
                continue  # "my manager asked me to...", "I don't need a supervisor"
            asks = reading.neighbours_in_sentence("asks", start, end)
            if any(not self.negated(reading, ask[0]) for ask in asks):
                return True
        return False

    def writers_own(self, reading: Reading, start: int) -> bool:
        """True when the manager word at ``start`` is the writer's own ("my manager", "mi
        jefe", "unser Chef"): a possessive right before it."""
        inside = reading.first_after("possessives", start)
        if inside is not None and inside[0] == start:
            return True  # the phrase itself starts with one ("my lawyer")
        own = reading.last_before("possessives", start)
        return own is not None and not reading.lower[own[1] : start].strip()

    def demanding(self, reading: Reading) -> bool:
        """True when the message demands rather than asks: urgency or an imperative
        (``demands``: "right now", "give me", "passez-moi"), not negated, and no courtesy."""
        if reading.hits.get("courtesy"):
            return False
        return any(not self.negated(reading, s) for s, _, _ in reading.spans("demands"))

    def asks_for_compensation(self, reading: Reading) -> bool:
        """The customer asks to be compensated ("I want a refund", "what will you do to make
        up for it?"): a ``compensation_asks`` phrase, not negated ("I don't want a refund,
        just my parcel"). A longer phrase keeps the requests inside it ("I want a refund"
        still holds the "I want" a request for a manager needs)."""
        spans = reading.spans("compensation_asks")
        return bool(spans) and any(not self.negated(reading, s) for s, _, _ in spans)

    def repeat_contact(self, reading: Reading, conversation: Conversation) -> bool:
        """The customer says they contacted the company before ("I already called", "third
        time I'm writing"), or sends again, word for word, one of their last
        :attr:`repeat_lookback` messages.

        A count ("third time", "once again") is repeat contact only with a contact verb in
        its sentence ("the app crashed five times" is not), or when it opens the message
        before a colon ("Zum dritten Mal: ...").
        """
        if reading.spans("repeat_contact"):
            return True
        counts = reading.spans("repeat_counts")
        if counts and counts[0][0] == 0 and reading.lower[counts[0][1] : counts[0][1] + 1] == ":":
            return True  # "THIRD TIME: I want my money back!"
        verbs = reading.spans("contact_verbs")
        if verbs:
            for start, end, _ in reading.spans("repeat_counts"):
                if reading.neighbours_in_sentence("contact_verbs", start, end):
                    return True
        return self.repeats_earlier_message(reading, conversation)

    def repeats_earlier_message(self, reading: Reading, conversation: Conversation) -> bool:
        """True when ``reading`` repeats an earlier customer message (20 characters or more)."""
        text = reading.text.lower().strip()  # as written: reading.lower has typos corrected
        if len(text) < 20:
            return False
        size = len(reading.text)
        lookback = self.repeat_lookback
        seen = 0
        for message in reversed(conversation.messages):
            if not message.from_customer:
                continue
            seen += 1
            if seen > lookback:
                break
            said = message.text
            if -3 <= len(said) - size <= 3 and said.lower().strip() == text:
                return True
        return False

    def shouting(self, reading: Reading) -> bool:
        """:meth:`loud`, and not :meth:`enthusiastic` ("Thank you so much!!!" is joy)."""
        return self.loud(reading) and not self._once(reading, "enthusiastic")

    def loud(self, reading: Reading) -> bool:
        """Sustained capitals, or repeated ``!``/``?`` ("!!!"), whatever the tone.

        Capitals are sustained when, leaving out known acronyms (``acronyms``: "API", "SLA",
        "CET"), at least 60 % of eight letters or more are capitals; or two words in capitals
        of four letters or more, or one of six or more ("RIDICULOUS"); or three words in
        capitals in a row, one of them three letters or more and not an acronym ("GET IT
        NOW"). Short words and acronyms on their own are not loud.
        """
        text = reading.text
        if text.count("!") + text.count("?") >= 3 and _REPEATED_MARKS.search(text):
            return True
        if text.isascii():
            data = text.encode()
            upper = len(data) - len(data.translate(None, _ASCII_UPPER))
            if upper < 3:
                return False
            letters = upper + len(data) - len(data.translate(None, _ASCII_LOWER))
        else:
            upper = sum(map(str.isupper, text))
            if upper < 3:
                return False
            letters = sum(map(str.isalpha, text))
        if _CAPITAL_RUN.search(text) is None:
            return letters >= 8 and upper >= 0.6 * letters  # no word in capitals (most messages)
        acronyms = self._tables.acronyms
        known = loud = 0
        for word in _CAPITAL_WORD.findall(text):
            if word.lower() in acronyms:
                known += len(word)
            elif len(word) >= 6:
                return True
            elif len(word) >= 4:
                loud += 1
        if loud >= 2 or (letters - known >= 8 and upper - known >= 0.6 * (letters - known)):
            return True
        for run in _CAPITAL_SEQUENCE.finditer(text):
            if any(len(w) >= 3 and w.lower() not in acronyms for w in run.group().split()):
                return True
        return False

    def enthusiastic(self, reading: Reading) -> bool:
        """True when the message thanks or praises and reads positive, with no question
        mark and nothing sarcastic or hostile in it: its capitals and "!!!" are joy ("Wow,
        you found my lost bag!!! I can't thank you enough")."""
        hits = reading.hits
        if not (hits.get("positive") or hits.get("courtesy")) or "?" in reading.lower:
            return False
        if not hits.keys().isdisjoint(_NOT_ENTHUSIASTIC) or self._once(reading, "sarcastic"):
            return False
        return self.sentiment(reading) > 0

    # -- helpers ---------------------------------------------------------------------------

    def _before(self, reading: Reading, category: str, start: int, words: int) -> bool:
        return self._last_before(reading, category, start, words) is not None

    def _last_before(self, reading: Reading, category: str, start: int, words: int) -> int | None:
        """The start of the ``category`` match ending at most ``words`` words before
        ``start`` in the same clause, or None (only the nearest one can qualify)."""
        if not reading.hits.get(category):
            return None  # the usual case (no negation, no "you"...): no need to search
        span = reading.last_before(category, start)
        if span is None:
            return None
        _, end, _ = span
        if reading.lower.count(" ", end, start) <= words + 1 and not self._broken(
            reading, end, start
        ):
            return span[0]
        return None

    @staticmethod
    def _broken(reading: Reading, low: int, high: int) -> bool:
        return _CLAUSE_BREAK.search(reading.lower, low, high) is not None
