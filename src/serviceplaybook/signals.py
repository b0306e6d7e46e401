"""Signals: what a customer message says about the customer's state, and how it is detected.

The desk runs a :class:`SignalDetector` on every customer message; guidance and the
escalation policy read the resulting :class:`Signals`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from serviceplaybook._validate import between, of_type

if TYPE_CHECKING:
    from serviceplaybook.conversation import Conversation

__all__ = ["LexiconSignalDetector", "SignalDetector", "Signals"]


@attrs.frozen(kw_only=True)
class Signals:
    """What one customer message says about the customer.

    Attributes:
        sentiment: from -1 (very negative) to 1 (very positive).
        anger: from 0 (calm) to 1 (furious).
        abusive: insults or profanity aimed at the agent.
        threat: threats of violence or self-harm: safety first.
        legal_threat: the customer mentions lawyers or suing (not a safety matter).
        wants_manager: the customer asks for a manager or supervisor.
        repeat_contact: the customer says they contacted the company before about this.
        shouting: capitals or repeated punctuation.
    """

    sentiment: float = attrs.field(default=0.0, validator=between(-1.0, 1.0))
    anger: float = attrs.field(default=0.0, validator=between(0.0, 1.0))
    abusive: bool = attrs.field(default=False, validator=of_type(bool))
    threat: bool = attrs.field(default=False, validator=of_type(bool))
    legal_threat: bool = attrs.field(default=False, validator=of_type(bool))
    wants_manager: bool = attrs.field(default=False, validator=of_type(bool))
    repeat_contact: bool = attrs.field(default=False, validator=of_type(bool))
    shouting: bool = attrs.field(default=False, validator=of_type(bool))

    @property
    def upset(self) -> bool:
        """True when the customer is angry, shouting or clearly negative."""
        return self.anger >= 0.5 or self.shouting or self.sentiment <= -0.5


@runtime_checkable
class SignalDetector(Protocol):
    """Reads a customer message (and the conversation so far) into :class:`Signals`.

    Implement it to plug in your own classifier; it must not change the conversation.
    """

    def detect(self, text: str, conversation: Conversation) -> Signals:
        """Return the signals in ``text``, a new customer message in ``conversation``."""
        ...


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.IGNORECASE)


_NEGATIVE = _words(
    "angry",
    "furious",
    "terrible",
    "awful",
    "horrible",
    "worst",
    "useless",
    "ridiculous",
    "unacceptable",
    "disgusting",
    "broken",
    "never again",
    "disappointed",
    "frustrat\\w*",
    "annoy\\w*",
    "fed up",
    "sick of",
    "waste",
    "scam",
    "rubbish",
    "joke",
    "pathetic",
    "incompetent",
    "late",
    "wrong",
    "lost",
    "damaged",
    "bad",
    "poor",
    "hate",
)

_POSITIVE = _words(
    "thanks?",
    "thank you",
    "great",
    "good",
    "perfect",
    "excellent",
    "appreciate\\w*",
    "helpful",
    "happy",
    "glad",
    "wonderful",
    "brilliant",
    "love",
    "awesome",
    "resolved",
)

_ANGER_WORDS = _words(
    "angry",
    "furious",
    "livid",
    "outrageous",
    "unacceptable",
    "ridiculous",
    "fed up",
    "sick of",
    "disgusting",
    "pathetic",
    "how dare",
    "i am done",
    "i'm done",
)

_ABUSE = _words(
    "idiot\\w*",
    "stupid",
    "moron\\w*",
    "imbecile",
    "useless \\w+ of",
    "shut up",
    "f+u+c+k+(?:ing)?",
    "f\\*+k",
    "sh[i1!]t",
    "bastard",
    "bitch",
    "dumb\\w*",
    "clown",
)

_THREAT_WORDS = _words(
    "kill you",
    "hurt you",
    "find where you live",
    "come down there and",
    "burn (?:it|your \\w+) down",
    "you(?:'ll| will) regret",
    "kill myself",
    "end my life",
    "bomb",
)

_LEGAL_WORDS = _words(
    "lawyer",
    "attorney",
    "sue",
    "suing",
    "lawsuit",
    "legal action",
    "court",
)

_MANAGER_WORDS = _words(
    "manager",
    "supervisor",
    "someone in charge",
    "your boss",
    "escalate",
    "speak to someone",
)

_REPEAT_WORDS = _words(
    "(?:second|third|fourth|fifth|\\d+(?:st|nd|rd|th)) time",
    "again",
    "already (?:called|contacted|written|emailed|told)",
    "still (?:not|no|waiting)",
    "keep (?:calling|asking)",
    "times now",
    "called before",
)

_NEGATIONS = _words("not", "no", "never", "isn't", "wasn't", "don't")


@attrs.define(kw_only=True)
class LexiconSignalDetector:
    """The default detector: word lists and simple rules, no network, no model.

    Each signal is one small method (``anger``, ``abusive``...) so that an integrator can
    override one of them, or pass their own patterns.
    """

    negative: re.Pattern[str] = _NEGATIVE
    positive: re.Pattern[str] = _POSITIVE
    anger_words: re.Pattern[str] = _ANGER_WORDS
    abuse: re.Pattern[str] = _ABUSE
    threat_words: re.Pattern[str] = _THREAT_WORDS
    legal_words: re.Pattern[str] = _LEGAL_WORDS
    manager_words: re.Pattern[str] = _MANAGER_WORDS
    repeat_words: re.Pattern[str] = _REPEAT_WORDS
    negations: re.Pattern[str] = _NEGATIONS

    def detect(self, text: str, conversation: Conversation) -> Signals:
        """Return the signals in ``text``; empty or non-English text yields neutral signals."""
        threat = self.threat(text)
        abusive = self.abusive(text)
        shouting = self.shouting(text)
        sentiment = self.sentiment(text)
        anger = self.anger(text, sentiment=sentiment, shouting=shouting, abusive=abusive)
        return Signals(
            sentiment=sentiment,
            anger=anger,
            abusive=abusive,
            threat=threat,
            legal_threat=bool(self.legal_words.search(text)),
            wants_manager=bool(self.manager_words.search(text)),
            repeat_contact=bool(self.repeat_words.search(text)),
            shouting=shouting,
        )

    def sentiment(self, text: str) -> float:
        """Balance of positive and negative words in [-1, 1], flipping a negated word."""
        score = 0
        for match in self.negative.finditer(text):
            score -= -1 if self._negated(text, match.start()) else 1
        for match in self.positive.finditer(text):
            score += -1 if self._negated(text, match.start()) else 1
        return max(-1.0, min(1.0, score / 3))

    def _negated(self, text: str, start: int) -> bool:
        window = text[max(0, start - 12) : start]
        return bool(self.negations.search(window))

    def anger(self, text: str, *, sentiment: float, shouting: bool, abusive: bool) -> float:
        """Anger in [0, 1] from angry words, shouting, abuse and negative sentiment."""
        score = 0.35 * min(2, len(self.anger_words.findall(text)))
        score += 0.3 if shouting else 0.0
        score += 0.3 if abusive else 0.0
        score += 0.2 * max(0.0, -sentiment)
        return min(1.0, score)

    def abusive(self, text: str) -> bool:
        """Insults or profanity in the message."""
        return bool(self.abuse.search(text))

    def threat(self, text: str) -> bool:
        """Threats of violence or self-harm."""
        return bool(self.threat_words.search(text))

    def shouting(self, text: str) -> bool:
        """Mostly capitals (over a few letters), or repeated ``!``/``?``."""
        letters = [c for c in text if c.isalpha()]
        capitals = sum(1 for c in letters if c.isupper())
        if len(letters) >= 8 and capitals / len(letters) >= 0.7:
            return True
        return bool(re.search(r"[!?]{3,}", text))
