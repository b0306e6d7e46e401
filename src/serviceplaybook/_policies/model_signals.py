"""A signal detector backed by a model the host provides: an LLM client or a local classifier.

:class:`ModelSignalDetector` wraps any callable ``model(text, context) -> Mapping`` (a
:data:`SignalModel`), checks its reply strictly, runs it with a deadline, caches its readings,
and always reads the message with a lexicon detector too, so a model that fails, hangs or
answers nonsense never costs the desk a reading, and a safety signal either reader found is
never lost. ``docs/model-signals.md`` documents the callable's contract.

No model SDK is imported here: the host wraps its own client in a plain function.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeAlias

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._policies.redaction import Redactor
from serviceplaybook._policies.signals import LexiconSignalDetector, SignalDetector
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.validate import of_type

if TYPE_CHECKING:
    from serviceplaybook._records.conversation import Conversation

SignalModel: TypeAlias = Callable[[str, Mapping[str, Any]], Mapping[str, Any]]
"""The host's model: ``model(text, context)`` returns a mapping of :class:`Signals` field names
to values (``{"sentiment": -0.6, "anger": 0.7, "threat": false, ...}``)."""

#: Fields that are the OR of both readers: a model that misses a threat, a disclosure of
#: self-harm, abuse or a legal threat the lexicon found never hides it, nor the other way round.
EITHER_READER: Final[tuple[str, ...]] = ("threat", "self_harm", "abusive", "legal_threat")

#: The score fields and their closed ranges.
SCORES: Final[Mapping[str, tuple[float, float]]] = MappingProxyType(
    {"sentiment": (-1.0, 1.0), "anger": (0.0, 1.0)}
)

#: The reply's keys: every :class:`Signals` field, and nothing else.
FIELDS: Final[frozenset[str]] = frozenset(field.name for field in attrs.fields(Signals))

_log = logging.getLogger("serviceplaybook.model_signals")


class _Malformed(ValidationError):
    """A reply that breaks the contract; ``detail`` never holds a value from the reply."""

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}")


def _callable(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(value):
        raise ValidationError(
            f"ModelSignalDetector.{attribute.name} must be a callable "
            f"model(text, context) -> mapping, got {type(value).__name__}"
        )


def _seconds(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(
            f"ModelSignalDetector.{attribute.name} must be a number of seconds, "
            f"got {type(value).__name__}"
        )
    if not (math.isfinite(value) and value > 0):
        raise ValidationError(
            f"ModelSignalDetector.{attribute.name} must be more than 0 seconds and finite, "
            f"got {value!r}"
        )


def _at_least(low: int) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValidationError(
                f"ModelSignalDetector.{attribute.name} must be an int of at least {low}, "
                f"got {value!r}"
            )

    return check


def _context_key(context: Mapping[str, Any]) -> str:
    # JSON text is hashable and independent of the mapping's order; repr() covers values a
    # custom context() returns that JSON cannot hold.
    return json.dumps(context, sort_keys=True, default=repr, ensure_ascii=False)


@attrs.define(kw_only=True)
class ModelSignalDetector:
    """Reads customer messages with a model the host provides, and with the lexicon too.

    ``model`` is any callable ``model(text, context) -> Mapping[str, Any]``: ``text`` is the
    message (see :meth:`prepare`), ``context`` a small JSON-like mapping (see
    :meth:`context`), and the reply maps :class:`Signals` field names to values. A reply may
    give only some fields.

    Every message is read by both readers: the model (in a worker thread, with a deadline)
    and ``fallback`` (in the caller's thread, at the same time). The combination rule
    (:meth:`combine`):

    * ``threat``, ``self_harm``, ``abusive`` and ``legal_threat`` are the OR of both
      readings, so a safety signal either reader found is never lost; ``threat`` is also True
      whenever ``self_harm`` is;
    * every other field the model gave wins; a field it left out keeps the fallback's value;
    * a reply with ``"assessed": false`` (the model could not read the message) leaves the
      fallback's reading as it is.

    The reply is checked strictly (:meth:`parse`): a key that is not a :class:`Signals` field
    refuses the whole reply (a misspelt ``"Threat"`` must not pass as "no threat"), flags must
    be ``bool`` (not ``1`` nor ``"true"``), ``sentiment`` a finite number in [-1, 1],
    ``anger`` one in [0, 1], ``language`` a BCP 47 tag. When the model raises, is closed,
    misses the deadline or replies anything malformed, the fallback's reading is the answer:
    :meth:`detect` never raises for the model's sake, and :meth:`fell_back` logs why with a
    stable code (``model_timed_out``, ``reply_wrong_type``...), never the message itself.

    A timed-out call cannot be stopped: it keeps its worker thread until the model returns,
    and its late reply is dropped (a call still waiting for a worker is cancelled). Give the
    client its own timeout as well, because the interpreter waits for running workers at
    exit. :meth:`close` (or a ``with`` block) shuts the workers down; afterwards every message
    gets the fallback's reading.

    Valid readings are kept in a least-recently-used cache of ``cache_size`` entries, keyed by
    the prepared text and the context, shared safely by threads; failures are not cached, so
    the next message asks the model again.

    Attributes:
        model: the host's model, a :data:`SignalModel`.
        fallback: the detector that always reads the message too, and whose reading stands
            when the model's cannot be used.
        timeout: seconds the model has to answer, from the moment the call is submitted.
        workers: threads that run model calls at the same time (read when the detector is
            made).
        cache_size: how many readings the cache keeps; 0 turns it off.
        history: how many earlier customer messages the context carries.
        history_chars: each earlier message is cut to this many characters.
        max_chars: the message is cut to this many characters before the model sees it.
        redactor: masks card numbers, emails and phone numbers in everything the model sees
            (``None`` sends the words as written).

    Raises:
        ValidationError: a field has a value it cannot hold.
    """

    model: SignalModel = attrs.field(validator=_callable)
    fallback: SignalDetector = attrs.field(
        factory=LexiconSignalDetector, validator=of_type(SignalDetector)
    )
    timeout: float = attrs.field(default=2.0, validator=_seconds)
    workers: int = attrs.field(default=4, validator=_at_least(1))
    cache_size: int = attrs.field(default=1024, validator=_at_least(0))
    history: int = attrs.field(default=3, validator=_at_least(0))
    history_chars: int = attrs.field(default=280, validator=_at_least(1))
    max_chars: int = attrs.field(default=4000, validator=_at_least(1))
    redactor: Redactor | None = attrs.field(
        factory=Redactor.standard, validator=of_type(Redactor, type(None))
    )
    _executor: concurrent.futures.ThreadPoolExecutor = attrs.field(init=False, repr=False, eq=False)
    _cache: OrderedDict[Hashable, Mapping[str, Any]] = attrs.field(
        init=False, repr=False, eq=False, factory=OrderedDict
    )
    _lock: threading.Lock = attrs.field(init=False, repr=False, eq=False, factory=threading.Lock)

    def __attrs_post_init__(self) -> None:
        # here, not as a default: attrs validates the fields after every default is made
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="serviceplaybook-model"
        )

    # -- reading -------------------------------------------------------------------------

    def detect(self, text: str, conversation: Conversation) -> Signals:
        """Return the signals in ``text``, a new customer message in ``conversation``.

        Args:
            text: the customer's message.
            conversation: the conversation before the message.

        Returns:
            The combined reading (:meth:`combine`), or the fallback's reading when the model's
            could not be used.
        """
        try:
            prepared = self.prepare(text)
            context = self.context(conversation)
            key = (prepared, _context_key(context))
        except Exception as error:
            self.fell_back("context_failed", type(error).__name__, len(text))
            return self.fallback.detect(text, conversation)
        reading = self._cached(key)
        future = None
        if reading is None:
            try:
                future = self._executor.submit(self.model, prepared, context)
            except RuntimeError:  # shut down: close() was called, or the interpreter exits
                self.fell_back("detector_closed", "the detector was closed", len(text))
                return self.fallback.detect(text, conversation)
        deadline = time.monotonic() + self.timeout
        lexicon = self.fallback.detect(text, conversation)  # while the model works
        if future is not None:
            reading = self._reading(future, deadline, len(text))
            if reading is None:
                return lexicon
            self._remember(key, reading)
        assert reading is not None
        try:
            return self.combine(reading, lexicon)
        except Exception as error:
            self.fell_back("combine_failed", type(error).__name__, len(text))
            return lexicon

    def _reading(
        self, future: concurrent.futures.Future[Mapping[str, Any]], deadline: float, length: int
    ) -> Mapping[str, Any] | None:
        """The model's checked reading, or None (after :meth:`fell_back`) when unusable."""
        try:
            reply = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError as error:
            if future.done():  # the model itself raised TimeoutError (its client's timeout)
                self.fell_back("model_failed", type(error).__name__, length)
            else:
                future.cancel()  # only succeeds while it still waits for a worker
                self.fell_back("model_timed_out", f"no reply within {self.timeout}s", length)
            return None
        except Exception as error:
            self.fell_back("model_failed", type(error).__name__, length)
            return None
        try:
            return MappingProxyType(dict(self.parse(reply)))
        except _Malformed as error:
            self.fell_back(error.code, error.detail, length)
        except Exception as error:
            self.fell_back("reply_invalid", type(error).__name__, length)
        return None

    def prepare(self, text: str) -> str:
        """What the model sees of the message: redacted, then cut to :attr:`max_chars`.

        Args:
            text: the customer's message.

        Returns:
            The text to send (the fallback always reads the message as written).
        """
        # redacted first: a cut through a card or phone number would hide it from the redactor
        if self.redactor is not None:
            text = self.redactor.redact_text(text)
        return text[: self.max_chars]

    def context(self, conversation: Conversation) -> Mapping[str, Any]:
        """The context sent with the message: small, JSON-like, redacted.

        Args:
            conversation: the conversation before the message.

        Returns:
            ``stage`` (the conversation's stage), ``category`` (the issue's category),
            ``channel``, and ``earlier``: up to :attr:`history` earlier customer messages,
            oldest first, each redacted, then cut to :attr:`history_chars` characters.
        """
        earlier: list[str] = []
        if self.history:
            for message in reversed(conversation.messages):
                if message.from_customer:
                    said = message.text
                    if self.redactor is not None:
                        said = self.redactor.redact_text(said)
                    earlier.append(said[: self.history_chars])
                    if len(earlier) == self.history:
                        break
        return {
            "stage": str(conversation.stage),
            "category": conversation.issue.category,
            "channel": str(conversation.channel.value),
            "earlier": earlier[::-1],
        }

    def parse(self, reply: object) -> Mapping[str, Any]:
        """Check the model's reply against the contract.

        Args:
            reply: what the model returned.

        Returns:
            The fields the reply gave, with checked values (scores as ``float``).

        Raises:
            ValidationError: the reply is not a mapping, has a key that is not a
                :class:`Signals` field, or a value of the wrong type, not finite, out of range,
                or a language that is not a BCP 47 tag. An override may raise any exception:
                the detector then falls back with the code ``reply_invalid``.
        """
        if not isinstance(reply, Mapping):
            raise _Malformed("reply_not_a_mapping", f"got {type(reply).__name__}")
        unknown = [key for key in reply if key not in FIELDS]
        if unknown:
            # the keys themselves are not logged: a model may echo the message in them
            raise _Malformed("reply_unknown_key", f"{len(unknown)} key(s) not Signals fields")
        checked: dict[str, Any] = {}
        for name, value in reply.items():
            if name in SCORES:
                checked[name] = self._score(name, value)
            elif name == "language":
                checked[name] = self._language(value)
            elif type(value) is not bool:
                raise _Malformed("reply_wrong_type", f"{name}: bool expected, got {_kind(value)}")
            else:
                checked[name] = value
        return checked

    @staticmethod
    def _score(name: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Malformed("reply_wrong_type", f"{name}: number expected, got {_kind(value)}")
        low, high = SCORES[name]
        if isinstance(value, float) and not math.isfinite(value):
            raise _Malformed("reply_not_finite", f"{name}: not a finite number")
        if not low <= value <= high:  # before float(): a huge int would overflow it
            raise _Malformed("reply_out_of_range", f"{name}: outside [{low}, {high}]")
        return float(value)

    @staticmethod
    def _language(value: object) -> str:
        if not isinstance(value, str):
            raise _Malformed("reply_wrong_type", f"language: str expected, got {_kind(value)}")
        try:
            Signals(language=value)  # the record's own rule for a tag
        except ValidationError:
            raise _Malformed("reply_bad_language", "language: not a BCP 47 tag") from None
        return value

    def combine(self, model_signals: Mapping[str, Any], lexicon_signals: Signals) -> Signals:
        """Combine the model's checked reading with the fallback's reading.

        Args:
            model_signals: the fields the model gave, as :meth:`parse` returned them.
            lexicon_signals: the fallback's reading of the same message.

        Returns:
            ``lexicon_signals`` when the model said ``"assessed": false``; otherwise the
            model's fields over the fallback's, with :data:`EITHER_READER` fields the OR of
            both, and ``threat`` True whenever ``self_harm`` is.
        """
        if model_signals.get("assessed") is False:
            return lexicon_signals
        changes = dict(model_signals)
        for name in EITHER_READER:
            changes[name] = bool(getattr(lexicon_signals, name) or model_signals.get(name))
        changes["threat"] = changes["threat"] or changes["self_harm"]
        return attrs.evolve(lexicon_signals, **changes)

    def fell_back(self, code: str, detail: str, length: int) -> None:
        """Record that the model's reading was not used; by default a logged warning.

        Override it to count fallbacks in your metrics. The arguments never hold the message,
        nor any value from the model's reply.

        Args:
            code: why, a stable snake_case code: ``context_failed``, ``detector_closed``,
                ``model_failed``, ``model_timed_out``, ``reply_not_a_mapping``,
                ``reply_unknown_key``, ``reply_wrong_type``, ``reply_not_finite``,
                ``reply_out_of_range``, ``reply_bad_language``, ``reply_invalid`` or
                ``combine_failed``.
            detail: a short explanation (a field name, a type name).
            length: the message's length in characters.
        """
        _log.warning(
            "signal model not used, lexicon reading kept: %s (%s); message of %d characters",
            code,
            detail,
            length,
            extra={"signal_fallback": code},
        )

    # -- the cache ---------------------------------------------------------------------

    def _cached(self, key: Hashable) -> Mapping[str, Any] | None:
        if not self.cache_size:
            return None
        with self._lock:
            reading = self._cache.get(key)
            if reading is not None:
                self._cache.move_to_end(key)
            return reading

    def _remember(self, key: Hashable, reading: Mapping[str, Any]) -> None:
        if not self.cache_size:
            return
        with self._lock:
            self._cache[key] = reading
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def clear_cache(self) -> None:
        """Forget every cached reading (after changing the model, for example)."""
        with self._lock:
            self._cache.clear()

    # -- the workers -----------------------------------------------------------------------

    def close(self, *, wait: bool = False) -> None:
        """Shut the worker threads down; calls waiting for a worker are cancelled.

        A call already running cannot be stopped: it ends when the model returns. Afterwards
        :meth:`detect` gives the fallback's reading (``detector_closed``). Closing twice is
        harmless.

        Args:
            wait: also wait for running calls to end.
        """
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> Self:
        """Use the detector in a ``with`` block that closes it."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the detector (without waiting for running calls)."""
        self.close()


def _kind(value: object) -> str:
    return type(value).__name__
