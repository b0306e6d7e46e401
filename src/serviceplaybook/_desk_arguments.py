"""The desk's argument checks: every public :class:`~serviceplaybook.ServiceDesk` call
refuses bad input here, before it reads or changes anything.

A wrong type raises :class:`~serviceplaybook.WrongType` (a ``TypeError``) naming the call,
the argument and the type it must have; a bad value raises
:class:`~serviceplaybook.ValidationError` saying what was wrong and what is allowed. The
rules themselves (what a text, an id and an instant may be) live in ``_records/validate.py``
beside the records that apply them: this module only says which rule each argument follows.

Checking everything at the call is what keeps a batch honest: the stores write a batch's
changes when it commits, so a value that only the database could refuse would fail the whole
batch at its end, after its calls had returned. Refused here, the call raises itself, before
it changed anything; the calls before it in the batch stay (``docs/bad-input.md``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import attrs

from serviceplaybook._errors import ValidationError, WrongType
from serviceplaybook._playbook import Playbook
from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._policies.compensation import CompensationPolicy
from serviceplaybook._policies.escalation import EscalationPolicy
from serviceplaybook._policies.followup import FollowUpPolicy
from serviceplaybook._policies.redaction import Redactor
from serviceplaybook._policies.review import DraftReview
from serviceplaybook._policies.sla import SlaPolicy
from serviceplaybook._ports import Storage
from serviceplaybook._records.parties import Agent, Role
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.validate import (
    MAX_DELIVERY_ATTEMPTS,
    MAX_LEASE,
    MAX_RETRY_BACKOFF,
    check_count,
    check_identifier,
    check_text,
    require_aware,
    shown,
    text_problem,
    wrong_type,
)
from serviceplaybook._serialization import to_dict

T = TypeVar("T")

MAX_VERSION = 2**63 - 1
"""The largest version a store can hold (a signed 64-bit column)."""

MAX_CLAIM = 10_000
"""The most follow-ups ``run_follow_ups`` claims at a time."""

MAX_POOL_SIZE = 1000
"""The most connections a PostgreSQL desk's pool may hold."""

MAX_BUSY_TIMEOUT = 3600
"""The longest a SQLite desk waits for another writer, in seconds."""

MAX_DATA_DEPTH = 32
"""How deeply ``fire(data)`` may nest lists and mappings."""

_JSON_INT = 2**63
"""Integers in event data stay below this in absolute value, as JSON readers expect."""


def conversation_id(method: str, value: object) -> str:
    """A conversation id: an identifier (``_records/validate.py``)."""
    return check_identifier(value, f"{method}(conversation_id)")


def identifier(method: str, name: str, value: object) -> str:
    """An offer's, an approval's or an actor's id."""
    return check_identifier(value, f"{method}({name})")


def text(method: str, name: str, value: object) -> str:
    """A message that must say something: storable and not blank."""
    return check_text(value, f"{method}({name})")


def optional_text(method: str, name: str, value: object) -> str | None:
    """Words that may be left out: ``None`` or ``""`` for none, else a non-blank text."""
    if value is None or value == "":
        return None
    return check_text(value, f"{method}({name})")


def reason(method: str, value: object) -> str | Reason:
    """Why, as a sentence (a non-blank ``str``) or a :class:`Reason`."""
    if isinstance(value, Reason):
        return value
    if not isinstance(value, str):
        raise wrong_type(f"{method}(reason)", "a str or a Reason", value)
    return check_text(value, f"{method}(reason)")


def optional_reason(method: str, value: object) -> str | Reason | None:
    """``None`` or :func:`reason`."""
    return None if value is None else reason(method, value)


def instance(method: str, name: str, value: object, cls: type[T]) -> T:
    """An instance of ``cls`` (a record: its own validators checked its fields)."""
    if not isinstance(value, cls):
        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        raise wrong_type(f"{method}({name})", f"{article} {cls.__name__}", value)
    return value


def agent(method: str, name: str, value: object) -> Agent:
    """An :class:`Agent` (a bare id is not enough: the role decides what they may do)."""
    return instance(method, name, value, Agent)


def optional_agent(method: str, name: str, value: object) -> Agent | None:
    """``None`` (the conversation's owner acts) or an :class:`Agent`."""
    return None if value is None else agent(method, name, value)


def optional_role(method: str, name: str, value: object) -> Role | None:
    """``None`` or a :class:`Role` (or its value, ``"supervisor"``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise wrong_type(f"{method}({name})", "a Role", value)
    return Role(value)


def optional_moment(method: str, name: str, value: object) -> datetime | None:
    """``None`` (the desk's clock) or an instant in the supported range."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise wrong_type(f"{method}({name})", "a timezone-aware datetime", value)
    return require_aware(value, f"{method}({name})")


def expected_version(method: str, value: object) -> int | None:
    """``None`` (whatever the version) or a version a store can hold."""
    if value is None:
        return None
    return check_count(value, f"{method}(expected_version)", 0, MAX_VERSION)


def count(method: str, name: str, value: object, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``."""
    return check_count(value, f"{method}({name})", low, high)


def duration(what: str, value: object, longest: timedelta) -> timedelta:
    """A ``timedelta`` above zero and at most ``longest``."""
    if not isinstance(value, timedelta):
        raise wrong_type(what, "a timedelta", value)
    if not timedelta() < value <= longest:
        raise ValidationError(f"{what} must be more than zero and at most {longest}, got {value}")
    return value


def function(method: str, name: str, value: object, *, optional: bool = False) -> Any:
    """A callable (``None`` too when ``optional``)."""
    if value is None and optional:
        return None
    if not callable(value):
        raise wrong_type(f"{method}({name})", "a callable", value)
    return value


def storage(what: str, value: object) -> Storage:
    """A :class:`Storage`: the port is a protocol, so its attributes are what is checked."""
    names = ("conversations", "journal", "ledger", "follow_ups", "atomic")
    if not all(hasattr(value, name) for name in names):
        raise wrong_type(what, f"a Storage (with {', '.join(names)})", value)
    return cast(Storage, value)


def with_method(what: str, value: object, expected: str, name: str) -> None:
    """An object with a method ``name`` (a port the host implements, such as a dispatcher)."""
    if not callable(getattr(value, name, None)):
        raise wrong_type(what, f"{expected} (with {name}())", value)


def path(what: str, value: object) -> None:
    """A file's path: a ``str`` or an ``os.PathLike`` that the system can open."""
    if not isinstance(value, str | os.PathLike):
        raise wrong_type(what, "a path (a str or a pathlib.Path)", value)
    text = os.fspath(value)
    if not isinstance(text, str):
        raise wrong_type(what, "a path of text (not bytes)", value)
    if not text.strip():
        raise ValidationError(f"{what} must name a file, got {shown(text)}")
    problem = text_problem(text)
    if problem is not None:
        raise ValidationError(f"{what} {problem}")


def sqlite_options(synchronous: object, busy_timeout: object) -> None:
    """:meth:`ServiceDesk.sqlite`'s own options."""
    if synchronous not in ("FULL", "NORMAL"):
        raise ValidationError(
            f"ServiceDesk.sqlite(synchronous) must be 'FULL' or 'NORMAL', got {shown(synchronous)}"
        )
    if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float):
        raise wrong_type("ServiceDesk.sqlite(busy_timeout)", "a number of seconds", busy_timeout)
    if not 0 <= busy_timeout <= MAX_BUSY_TIMEOUT:
        raise ValidationError(
            f"ServiceDesk.sqlite(busy_timeout) must be from 0 to {MAX_BUSY_TIMEOUT} seconds, "
            f"got {busy_timeout}"
        )


def postgres_options(
    dsn: object,
    min_size: object,
    max_size: object,
    timeout: object,
    prepare_threshold: object,
    migrate: object,
) -> None:
    """:meth:`ServiceDesk.postgres`'s own options."""
    check_text(dsn, "ServiceDesk.postgres(dsn)")
    low = check_count(min_size, "ServiceDesk.postgres(min_size)", 0, MAX_POOL_SIZE)
    check_count(max_size, "ServiceDesk.postgres(max_size)", max(low, 1), MAX_POOL_SIZE)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise wrong_type("ServiceDesk.postgres(timeout)", "a number of seconds", timeout)
    if not 0 < timeout <= MAX_BUSY_TIMEOUT:
        raise ValidationError(
            f"ServiceDesk.postgres(timeout) must be more than 0 and at most "
            f"{MAX_BUSY_TIMEOUT} seconds (the longest a call waits for a connection), "
            f"got {timeout}"
        )
    if prepare_threshold is not None:
        check_count(prepare_threshold, "ServiceDesk.postgres(prepare_threshold)")
    if not isinstance(migrate, bool):
        raise wrong_type("ServiceDesk.postgres(migrate)", "a bool", migrate)


def policy_classes(method: str, **classes: tuple[object, type]) -> None:
    """Each ``name=(value, base)``: ``value`` must be ``base`` or a subclass of it."""
    for name, (value, base) in classes.items():
        if not (isinstance(value, type) and issubclass(value, base)):
            raise wrong_type(f"{method}({name})", f"{base.__name__} or a subclass", value)


_POLICIES: Mapping[str, type] = {
    "playbook": Playbook,
    "escalation": EscalationPolicy,
    "apology": ApologyPolicy,
    "compensation": CompensationPolicy,
    "follow_up": FollowUpPolicy,
    "sla": SlaPolicy,
    "redactor": Redactor,
    "reviewer": DraftReview,
}

_OPTIONS = frozenset(
    {*_POLICIES, "detector", "clock", "ids", "max_delivery_attempts", "retry_backoff", "lease",
     "redact_messages"}
)  # fmt: skip


def desk_options(options: Mapping[str, object]) -> None:
    """The :class:`ServiceDesk` constructor's keyword arguments (``None``: the default).

    Checked before a storage is opened, so ``ServiceDesk.sqlite`` refuses a bad option
    without leaving an empty file behind.
    """
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise WrongType(
            f"ServiceDesk got unexpected keyword arguments {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(_OPTIONS))}"
        )
    for name, value in options.items():
        what = f"ServiceDesk({name})"
        if value is None:
            continue
        if name in _POLICIES:
            instance("ServiceDesk", name, value, _POLICIES[name])
        elif name == "detector":
            if not callable(getattr(value, "detect", None)):
                raise wrong_type(what, "a SignalDetector (with detect())", value)
        elif name in ("clock", "ids"):
            function("ServiceDesk", name, value)
        elif name == "max_delivery_attempts":
            check_count(value, what, 1, MAX_DELIVERY_ATTEMPTS)
        elif name == "retry_backoff":
            duration(what, value, MAX_RETRY_BACKOFF)
        elif name == "redact_messages":
            if not isinstance(value, bool):
                raise wrong_type(what, "a bool", value)
        else:  # lease
            duration(what, value, MAX_LEASE)


def event_data(method: str, value: object) -> dict[str, Any]:
    """Event data: a mapping with str keys whose values are JSON-like (str, int, float, bool,
    None, lists and mappings of them) or records, as the journal stores them."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise wrong_type(f"{method}(data)", "a mapping (a dict of str keys)", value)
    details = dict(value)
    _json_like(details, f"{method}(data)", 0)
    return details


def _json_like(value: object, where: str, depth: int) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -_JSON_INT < value < _JSON_INT:
            raise ValidationError(f"{where} is {shown(value)}; integers must lie within ±2**63")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{where} is {value}; numbers must be finite (JSON has no NaN)")
        return
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValidationError(f"{where} {problem}")
        return
    if attrs.has(type(value)):  # a record: checked as the journal will hold it
        value = to_dict(value)
    if depth >= MAX_DATA_DEPTH:
        raise ValidationError(f"{where} nests deeper than {MAX_DATA_DEPTH} levels")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise wrong_type(f"{where} keys", "str", key)
            check_text(key, f"{where} key", may_be_blank=True)
            _json_like(item, f"{where}[{key[:40]!r}]", depth + 1)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _json_like(item, f"{where}[{index}]", depth + 1)
        return
    raise wrong_type(
        where,
        "JSON-like (str, int, float, bool, None, lists and mappings of them) or a record",
        value,
    )
