"""Records to JSON-safe dicts and back, with cattrs.

``to_dict(record)`` gives plain dicts, lists, strings, numbers and booleans: amounts as
strings (``"10.50"``, exact), times as ISO 8601 strings with their offset, enums as their
values. ``from_dict(data, cls)`` rebuilds the record, running every validator, and raises
:class:`~serviceplaybook.ValidationError` naming each field that is wrong.

A serialized :class:`~serviceplaybook.Conversation` carries ``schema_version`` (the
:data:`RECORD_FORMAT_VERSION` it was written with); data from an unknown, newer format is
refused with :class:`~serviceplaybook.SchemaVersionError` rather than guessed at.

An issue's facts keep their types through JSON: strings, ints and booleans as themselves,
a Decimal as ``{"decimal": "12.50"}`` and a date as ``{"date": "2026-03-02"}``.
"""

from __future__ import annotations

import enum
import json
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from serviceplaybook._errors import SchemaVersionError, ValidationError
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.facts import FactValue, fact_value
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.parties import Channel
from serviceplaybook._records.validate import require_aware

RECORD_FORMAT_VERSION = 3
"""The version of the serialized conversation's shape (its JSON, as :func:`to_dict` gives it)
written by this release; stored under the key ``"schema_version"``.

Version 2 added the issue's ``facts``. A release that reads only version 1 refuses a version 2
conversation instead of dropping its facts (the compensation rules read them). Version 3 added
a follow-up's drafted ``text``, offers of kinds ``free_service``, ``upgrade`` and ``other``,
and a customer's ``preferred_channel`` of ``null`` (no stated preference); a release that
reads only versions 1 and 2 refuses it rather than dropping the drafts. This release reads all
three (:data:`READABLE_FORMAT_VERSIONS`): an older follow-up has no text, and an older
customer's preferred channel stays what was stored (``"email"`` when none was given, the
default then)."""

READABLE_FORMAT_VERSIONS = frozenset({1, 2, 3})
"""The conversation formats this release reads."""

T = TypeVar("T")


def _structure_decimal(value: object, _: object) -> Decimal:
    # Stored amounts are strings; a float here means the data was mangled on the way.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValidationError(
            f'an amount must be a string such as "12.50" (or an int), got '
            f"{type(value).__name__} {value!r}; floats cannot hold exact amounts"
        )
    return Decimal(value)


def _strict(kind: type[Any]) -> Any:
    # cattrs' default hooks coerce (bool("false") is True, int(3.7) is 3): never guess.
    accepted: tuple[type, ...] = (int, float) if kind is float else (kind,)

    def structure(value: object, _: object) -> Any:
        if isinstance(value, accepted) and (kind is bool or not isinstance(value, bool)):
            return value
        raise ValidationError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")

    return structure


def _structure_datetime(value: object, _: object) -> datetime:
    if not isinstance(value, str):
        raise ValidationError(f"expected an ISO 8601 time string, got {value!r}")
    return require_aware(datetime.fromisoformat(value), f"time {value!r}")


def _unstructure_timedelta(value: timedelta) -> str:
    # Seconds as a decimal string: exact to the microsecond, unlike a JSON float.
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    return format(Decimal(micros).scaleb(-6).normalize(), "f")


def _structure_timedelta(value: object, _: object) -> timedelta:
    if not isinstance(value, str):
        raise ValidationError(f"expected a duration in seconds as a string, got {value!r}")
    try:
        seconds = Decimal(value)
    except ArithmeticError:
        raise ValidationError(f"expected a duration in seconds, got {value!r}") from None
    if not seconds.is_finite():
        raise ValidationError(f"expected a finite duration in seconds, got {value!r}")
    return timedelta(microseconds=int(seconds.scaleb(6)))


def _unstructure_facts(facts: Mapping[str, FactValue]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in facts.items():
        if isinstance(value, Decimal):
            data[name] = {"decimal": str(value)}
        elif isinstance(value, date):
            data[name] = {"date": value.isoformat()}
        else:
            data[name] = value
    return data


def _structure_fact(name: str, value: object) -> FactValue:
    where = f"Issue.facts[{name!r}]"
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if tag in ("decimal", "date") and isinstance(text, str):
            try:
                return Decimal(text) if tag == "decimal" else date.fromisoformat(text)
            except (ArithmeticError, ValueError):
                pass
        raise ValidationError(
            f'{where}: expected {{"decimal": "12.50"}} or {{"date": "2026-03-02"}}, got {value!r}'
        )
    return fact_value(value, where)


def _structure_facts(data: object, _: object) -> dict[str, FactValue]:
    if not isinstance(data, Mapping):
        raise ValidationError(f"Issue.facts must be an object, got {data!r}")
    return {str(name): _structure_fact(str(name), value) for name, value in data.items()}


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    # Registered on StrEnum, which comes before str in every member's MRO: otherwise cattrs'
    # str pass-through would leave enum members in the output.
    conv.register_unstructure_hook(enum.StrEnum, lambda value: str(value.value))
    conv.register_structure_hook(enum.StrEnum, lambda value, kind: kind(value))
    for primitive in (bool, int, float, str):
        conv.register_structure_hook(primitive, _strict(primitive))
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(timedelta, _unstructure_timedelta)
    conv.register_structure_hook(timedelta, _structure_timedelta)
    conv.register_unstructure_hook_func(
        lambda t: t == frozenset[Channel],
        lambda value: sorted(channel.value for channel in value),
    )
    conv.register_unstructure_hook_func(
        lambda t: t == Mapping[str, Any], lambda value: {str(k): v for k, v in value.items()}
    )
    conv.register_structure_hook_func(
        lambda t: t == Mapping[str, Any], lambda value, _: dict(value)
    )

    conv.register_unstructure_hook_func(lambda t: t == Mapping[str, FactValue], _unstructure_facts)
    conv.register_structure_hook_func(lambda t: t == Mapping[str, FactValue], _structure_facts)

    base_unstructure = make_dict_unstructure_fn(Conversation, conv)
    base_structure = make_dict_structure_fn(Conversation, conv)

    def unstructure_conversation(conversation: Conversation) -> dict[str, Any]:
        data: dict[str, Any] = {"schema_version": RECORD_FORMAT_VERSION}
        data.update(base_unstructure(conversation))
        data["stage"] = str(conversation.stage)
        return data

    def structure_conversation(data: Mapping[str, Any], _: object) -> Conversation:
        version = data.get("schema_version")
        if type(version) is not int or version not in READABLE_FORMAT_VERSIONS:
            if type(version) is int and version > RECORD_FORMAT_VERSION:
                raise SchemaVersionError(
                    f"this conversation was written with schema version {version}, newer than "
                    f"this release understands ({RECORD_FORMAT_VERSION}); upgrade "
                    f"serviceplaybook"
                )
            raise SchemaVersionError(
                f"unknown conversation schema_version {version!r}; expected one of "
                f"{sorted(READABLE_FORMAT_VERSIONS)}"
            )
        return base_structure(
            {k: v for k, v in data.items() if k != "schema_version"}, Conversation
        )

    conv.register_unstructure_hook(Conversation, unstructure_conversation)
    conv.register_structure_hook(Conversation, structure_conversation)
    conv.register_unstructure_hook(JournalEntry, make_dict_unstructure_fn(JournalEntry, conv))
    return conv


CONVERSATION_LOGS = ("messages", "signals")
"""The conversation's fields that only ever grow at the end (one item per customer or agent
message). A store may keep their items apart and append the new ones, instead of writing the
whole conversation again on every event: see :func:`conversation_head`."""


class _Converters:
    """The cattrs converter behind :func:`to_dict` and :func:`from_dict`, and the head's
    encoder, built once on first use.

    Building them generates code for every record (about a fifth of the package's import
    time), and a host may never serialize anything; the lock makes threads that arrive
    together build them once and share them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: tuple[cattrs.Converter, Callable[[Conversation], dict[str, Any]]] | None
        self._built = None

    def get(self) -> tuple[cattrs.Converter, Callable[[Conversation], dict[str, Any]]]:
        built = self._built
        if built is None:
            with self._lock:
                if self._built is None:
                    converter = _make_converter()
                    head = make_dict_unstructure_fn(
                        Conversation,
                        converter,
                        messages=override(omit=True),
                        signals=override(omit=True),
                    )
                    self._built = (converter, head)
                built = self._built
        return built


_CONVERTERS = _Converters()


def converter() -> cattrs.Converter:
    """The cattrs converter behind :func:`to_dict` and :func:`from_dict`."""
    return _CONVERTERS.get()[0]


def conversation_head(conversation: Conversation) -> dict[str, Any]:
    """:func:`to_dict` of ``conversation`` without the :data:`CONVERSATION_LOGS` fields.

    ``from_dict({**head, "messages": [...], "signals": [...]}, Conversation)``, with each
    log's items as :func:`to_dict` gives them, rebuilds the conversation.
    """
    data: dict[str, Any] = {"schema_version": RECORD_FORMAT_VERSION}
    data.update(_CONVERTERS.get()[1](conversation))
    data["stage"] = str(conversation.stage)
    return data


# Configured once and never changed: encode() keeps no state between calls, so threads share it.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def json_text(data: Any) -> str:
    """Compact JSON text of JSON-safe ``data`` (what :func:`to_dict` returns), non-ASCII
    kept as it is: ``json.dumps(data, separators=(",", ":"), ensure_ascii=False)``."""
    return _ENCODER.encode(data)


def to_dict(record: object) -> Any:
    """``record`` as JSON-safe data (a dict for a record)."""
    return converter().unstructure(record)


def from_dict(data: Any, cls: type[T]) -> T:
    """Rebuild a ``cls`` record from :func:`to_dict`'s output.

    Raises:
        ValidationError: naming every field that is missing or wrong.
        SchemaVersionError: for a conversation written by a newer schema.
    """
    try:
        return converter().structure(data, cls)
    except (SchemaVersionError, ValidationError):
        raise
    except cattrs.BaseValidationError as error:
        # cattrs groups the errors of every field; report them all, keeping our own messages
        # (they name the record and the field) rather than a generic one.
        details = "; ".join(cattrs.transform_error(error, format_exception=_describe))
        raise ValidationError(f"cannot build {cls.__name__} from the data: {details}") from error
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValidationError(f"cannot build {cls.__name__} from the data: {error!r}") from error


def _describe(error: BaseException, type_: Any) -> str:
    if isinstance(error, ValidationError):
        return str(error)
    if isinstance(error, KeyError):
        return "required field missing"
    return f"invalid value for {getattr(type_, '__name__', type_)} ({error})"
