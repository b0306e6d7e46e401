"""What is wrong with a playbook file, and the reader that collects it.

:class:`Problem` is one thing wrong (file, dotted key path, message),
:class:`PlaybookFileError` carries every problem of a file at once, and :class:`Reader`
collects problems while the sections are read, so that one pass reports them all. The
helpers here say where a value is (:func:`join`, :func:`item`), how it reads in a message
(:func:`kind`) and what the author may have meant (:func:`suggest`).
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime, time
from typing import Any, TypeVar

import attrs

from serviceplaybook._errors import ConfigError, ValidationError

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Problem:
    """One thing wrong with a playbook file.

    Attributes:
        file: the file, as it was given.
        key: the dotted key path, array items by index (``compensation.authority.agent.single``,
            ``sla.steps[2].after``); empty when the problem concerns the whole file (it does
            not exist, is not UTF-8, is not valid TOML).
        message: what is wrong and what is allowed.
    """

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        if not self.key:
            return f"{self.file}: {self.message}"
        return f"{self.file}: {self.key}: {self.message}"


class PlaybookFileError(ConfigError):
    """A playbook file cannot be used: ``problems`` lists everything wrong with it.

    ``str(error)`` lists every problem, one per line, as ``FILE: KEY: MESSAGE``.

    Attributes:
        problems: every problem found, section by section in the order of the file.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class Bad(Exception):
    """A value cannot be used; the message says why (recorded at the value's key path)."""


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def join(path: str, name: str) -> str:
    """The key path of ``name`` in the table at ``path``, quoted as TOML quotes it."""
    shown = name if _BARE_KEY.fullmatch(name) else '"' + name.replace('"', '\\"') + '"'
    return f"{path}.{shown}" if path else shown


def item(path: str, index: int) -> str:
    """The key path of item ``index`` of the array at ``path``."""
    return f"{path}[{index}]"


def kind(value: object) -> str:
    """How a TOML value reads in a message."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the float {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, datetime):
        return f"the date-time {value.isoformat()}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, time):
        return f"the time {value.isoformat()}"
    return type(value).__name__


def article(noun: str) -> str:
    """``noun`` with its indefinite article."""
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


# Keys written in the wrong section, and where they go.
_ELSEWHERE = {
    "max_handoffs": "escalation.ladder.max_handoffs",
    "roles": "escalation.ladder.roles",
    "currency": "compensation.authority.currency",
    "window": "compensation.authority.window",
    "timezone": "calendar.timezone",
    "holidays": "calendar.holidays",
}


def suggest(name: str, allowed: Iterable[str]) -> str:
    """A did-you-mean for an unknown key ``name``, or the keys allowed."""
    choices = list(allowed)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    moved = difflib.get_close_matches(name, list(_ELSEWHERE), n=1, cutoff=0.75)
    if moved:
        return f"did you mean {_ELSEWHERE[moved[0]]}? it goes there"
    return "allowed: " + ", ".join(choices)


class Reader:
    """Collects problems while reading one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(file=self.file, key=key, message=message))

    def count(self, prefix: str) -> int:
        """Problems recorded under ``prefix`` (a section name)."""
        return sum(
            1
            for p in self.problems
            if p.key == prefix or p.key.startswith((prefix + ".", prefix + "["))
        )

    def table(
        self,
        value: object,
        key: str,
        allowed: Collection[str] | None,
        hints: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """``value`` as a table whose keys are all in ``allowed`` (``None``: any key);
        ``hints`` says, for a key the table does not allow on purpose, what to do instead."""
        if not isinstance(value, dict):
            self.add(key, f"must be a table, got {kind(value)}")
            return None
        if allowed is not None:
            for name in value:
                if name in allowed:
                    continue
                if hints and name in hints:
                    self.add(join(key, name), f"not a key of the file: {hints[name]}")
                else:
                    self.add(join(key, name), f"unknown key; {suggest(name, allowed)}")
        return value

    def value(self, table: Mapping[str, Any], path: str, name: str, parse: Callable[[Any], T]) -> T:
        """Parse ``table[name]``; raise :class:`Bad` (already recorded) when it is bad."""
        key = join(path, name)
        try:
            return parse(table[name])
        except Bad as bad:
            self.add(key, str(bad))
            raise Bad(str(bad)) from None

    def put(
        self,
        table: Mapping[str, Any],
        path: str,
        name: str,
        parse: Callable[[Any], Any],
        out: dict[str, Any],
        arg: str | None = None,
    ) -> None:
        """Parse ``table[name]`` into ``out[arg or name]`` when present; record a problem if bad."""
        if name not in table:
            return
        with contextlib.suppress(Bad):
            out[arg or name] = self.value(table, path, name, parse)

    def array(self, value: object, key: str, parse: Callable[[Any], T]) -> list[T] | None:
        """Every item of an array parsed, or ``None`` (recorded) when one is bad."""
        if not isinstance(value, list):
            self.add(key, f"must be an array, got {kind(value)}")
            return None
        items: list[T] = []
        ok = True
        for index, entry in enumerate(value):
            try:
                items.append(parse(entry))
            except Bad as bad:
                self.add(item(key, index), str(bad))
                ok = False
        return items if ok else None

    def mapping(
        self,
        value: object,
        key: str,
        parse_key: Callable[[str], Any],
        parse_value: Callable[[Any], Any],
    ) -> dict[Any, Any] | None:
        """A table with parsed keys and values, or ``None`` (recorded) when one is bad."""
        table = self.table(value, key, None)
        if table is None:
            return None
        result: dict[Any, Any] = {}
        written: dict[Any, str] = {}  # two keys may parse to one ("VIP" and "vip")
        ok = True
        for name, entry in table.items():
            where = join(key, name)
            try:
                parsed_key = parse_key(name)
            except Bad as bad:
                self.add(where, str(bad))
                ok = False
                continue
            if parsed_key in result:
                self.add(where, f"the same key as {written[parsed_key]!r}; keep one")
                ok = False
                continue
            written[parsed_key] = name
            try:
                result[parsed_key] = parse_value(entry)
            except Bad as bad:
                self.add(where, str(bad))
                ok = False
        return result if ok else None

    def attempt(self, key: str, build: Callable[[], T]) -> T | None:
        """Run a constructor; a ConfigError or ValidationError it raises becomes a problem
        (the problems of a :class:`PlaybookFileError`, with their own keys)."""
        try:
            return build()
        except PlaybookFileError as error:
            self.problems.extend(error.problems)
            return None
        except (ConfigError, ValidationError) as error:
            self.add(key, _in_file_terms(key, str(error)))
            return None


_CLASS_ATTRIBUTE = re.compile(r"^[A-Z][A-Za-z]*\.(\w+) ")


def _in_file_terms(key: str, message: str) -> str:
    """A constructor's message without its ``Class.attribute`` opening when the key already
    names that attribute: the file's reader sees the key it wrote, never a class name."""
    found = _CLASS_ATTRIBUTE.match(message)
    if found is None:
        return message
    last = re.sub(r"\[\d+\]$", "", key.rpartition(".")[2])
    if found.group(1) == last:
        return message[found.end() :]
    return message
