"""Records to JSON-safe dicts and back, with cattrs.

``to_dict(record)`` gives plain dicts, lists, strings, numbers and booleans: amounts as
strings (``"10.50"``, exact), times as ISO 8601 strings with their offset, enums as their
values. ``from_dict(data, cls)`` rebuilds the record, running every validator, and raises
:class:`~serviceplaybook.ValidationError` naming each field that is wrong.

A serialized :class:`~serviceplaybook.Conversation` carries ``schema_version``; data from an
unknown, newer schema is refused with :class:`~serviceplaybook.errors.SchemaVersionError`
rather than guessed at.
"""

from __future__ import annotations

import enum
import functools
import itertools
import json
import operator
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from serviceplaybook._errors import SchemaVersionError, ValidationError
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.parties import Channel
from serviceplaybook._records.validate import require_aware

SCHEMA_VERSION = 1
"""The version of the serialized conversation's shape written by this release."""

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


def text_of_last(make: Callable[[datetime], str]) -> Callable[[datetime], str]:
    """``make``, remembering the text of the last time it was given (the very object).

    One desk call stamps the same time on several records and rows (its message, the
    conversation's ``updated_at``, its journal entries): each is formatted once. The pair is
    read and replaced as one tuple, so threads sharing it never mix two times up.
    """
    last: tuple[datetime | None, str] = (None, "")

    def text(value: datetime) -> str:
        nonlocal last
        seen, made = last
        if value is not seen:
            made = make(value)
            last = (value, made)
        return made

    return functools.wraps(make)(text)


_unstructure_datetime = text_of_last(datetime.isoformat)


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
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
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

    base_unstructure = make_dict_unstructure_fn(Conversation, conv)
    base_structure = make_dict_structure_fn(Conversation, conv)

    def unstructure_conversation(conversation: Conversation) -> dict[str, Any]:
        data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        data.update(base_unstructure(conversation))
        data["stage"] = str(conversation.stage)
        return data

    def structure_conversation(data: Mapping[str, Any], _: object) -> Conversation:
        version = data.get("schema_version")
        if type(version) is not int or version != SCHEMA_VERSION:
            if type(version) is int and version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"this conversation was written with schema version {version}, newer than "
                    f"this release understands ({SCHEMA_VERSION}); upgrade serviceplaybook"
                )
            raise SchemaVersionError(
                f"unknown conversation schema_version {version!r}; expected {SCHEMA_VERSION}"
            )
        return base_structure(
            {k: v for k, v in data.items() if k != "schema_version"}, Conversation
        )

    conv.register_unstructure_hook(Conversation, unstructure_conversation)
    conv.register_structure_hook(Conversation, structure_conversation)
    conv.register_unstructure_hook(JournalEntry, make_dict_unstructure_fn(JournalEntry, conv))
    return conv


converter = _make_converter()
"""The cattrs converter behind :func:`to_dict` and :func:`from_dict`; register hooks on it
for records of your own."""

CONVERSATION_LOGS = ("messages", "signals")
"""The conversation's fields that only ever grow at the end (one item per customer or agent
message). A store may keep their items apart and append the new ones, instead of writing the
whole conversation again on every event: see :func:`conversation_head`."""

_unstructure_head = make_dict_unstructure_fn(
    Conversation, converter, messages=override(omit=True), signals=override(omit=True)
)


def conversation_head(conversation: Conversation) -> dict[str, Any]:
    """:func:`to_dict` of ``conversation`` without the :data:`CONVERSATION_LOGS` fields.

    ``from_dict({**head, "messages": [...], "signals": [...]}, Conversation)``, with each
    log's items as :func:`to_dict` gives them, rebuilds the conversation.
    """
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    data.update(_unstructure_head(conversation))
    data["stage"] = str(conversation.stage)
    return data


def _head_fields() -> tuple[tuple[str, ...], tuple[tuple[str, Any], ...]]:
    # Each head field's name, its JSON key and the converter's hook for its type, so that a
    # field's JSON can be made on its own, exactly as the whole head's would be. The stage is
    # written as a plain str, as in conversation_head.
    attrs.resolve_types(Conversation)
    fields = [f for f in attrs.fields(Conversation) if f.name not in CONVERSATION_LOGS]
    names = tuple(f.name for f in fields)
    encoders = tuple(
        (
            _json_text(f.name) + ":",
            str if f.name == "stage" else converter.get_unstructure_hook(f.type),
        )
        for f in fields
    )
    return names, encoders


def _make_json_text() -> Callable[[Any], str]:
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    make_c_encoder = getattr(json.encoder, "c_make_encoder", None)
    if make_c_encoder is None:  # pragma: no cover - CPython has the C encoder
        return encoder.encode
    # json.dumps(..., separators=...) builds an encoder object on every call, and even a kept
    # JSONEncoder builds its C encoder on every encode(): build that once. No circular
    # check (markers None): the data is fresh JSON-safe data, and no state is shared
    # between threads.
    encode = make_c_encoder(
        None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )

    def text(data: Any) -> str:
        return "".join(encode(data, 0))

    return text


_json_text = _make_json_text()


def json_text(data: Any) -> str:
    """Compact JSON text of JSON-safe ``data`` (what :func:`to_dict` returns), non-ASCII
    kept as it is: ``json.dumps(data, separators=(",", ":"), ensure_ascii=False)``, faster."""
    return _json_text(data)


_HEAD_NAMES, _HEAD_ENCODERS = _head_fields()
_head_values = operator.attrgetter(*_HEAD_NAMES)
_HEAD_INDEXES = range(len(_HEAD_NAMES))


def _field_json(key: str, hook: Any, value: object) -> str:
    # Most head fields are None or an empty tuple most of the time: skip the hook for them.
    if value is None:
        return key + "null"
    if type(value) is tuple and not value:
        return key + "[]"
    return key + _json_text(hook(value))


class ConversationHeadJson:
    """The JSON text of :func:`conversation_head`, made field by field.

    A store writes the head of a conversation on every event, but an event changes few of
    its fields: built with ``previous`` (the head of an earlier version of the same
    conversation), the text reuses the JSON of every field whose value is the very same
    object as before and encodes only the others. The text equals
    ``json.dumps(conversation_head(conversation), separators=(",", ":"), ensure_ascii=False)``.

    Args:
        conversation: the conversation.
        previous: the head of an earlier version, or None.

    Attributes:
        conversation: the conversation the text is of.
        text: the JSON text.
    """

    __slots__ = ("_parts", "conversation", "text")

    _parts: list[str]
    conversation: Conversation
    text: str

    def __init__(
        self, conversation: Conversation, previous: ConversationHeadJson | None = None
    ) -> None:
        values = _head_values(conversation)
        if previous is None:
            parts = [
                _field_json(key, hook, value)
                for (key, hook), value in zip(_HEAD_ENCODERS, values, strict=True)
            ]
        else:
            parts = previous._parts.copy()
            # the fields whose value is another object than before, found in C
            for index in itertools.compress(
                _HEAD_INDEXES, map(operator.is_not, values, _head_values(previous.conversation))
            ):
                key, hook = _HEAD_ENCODERS[index]
                parts[index] = _field_json(key, hook, values[index])
        self.conversation = conversation
        self._parts = parts
        self.text = f'{{"schema_version":{SCHEMA_VERSION},{",".join(parts)}}}'


def to_dict(record: object) -> Any:
    """``record`` as JSON-safe data (a dict for a record)."""
    return converter.unstructure(record)


def from_dict(data: Any, cls: type[T]) -> T:
    """Rebuild a ``cls`` record from :func:`to_dict`'s output.

    Raises:
        ValidationError: naming every field that is missing or wrong.
        SchemaVersionError: for a conversation written by a newer schema.
    """
    try:
        return converter.structure(data, cls)
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
