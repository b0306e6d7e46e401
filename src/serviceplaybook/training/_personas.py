"""Customer personas as data: a TOML file per persona, read and checked into a
:class:`Persona` record, and the personas that ship with the package."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from serviceplaybook._errors import ConfigError, ValidationError
from serviceplaybook._records.issue import Issue, Severity
from serviceplaybook._records.money import Money
from serviceplaybook._records.offers import Offer, OfferKind
from serviceplaybook._records.parties import Channel, Customer

MOODS: tuple[str, ...] = ("calm", "annoyed", "upset", "angry", "furious")
"""The persona's moods, calmest first; a persona's ``mood`` is an index into this."""

REACTIONS: tuple[str, ...] = (
    "confirm",
    "correct",
    "accept",
    "decline",
    "interrupted",
    "excuse",
    "over_apology",
    "tossed",
    "calming",
)
"""The lines a persona says in reply to what the agent did (each a list of variants)."""

_TOP_KEYS = {
    "name": "a snake_case name (the file's stem)",
    "title": "a short title",
    "description": "what the persona trains",
    "language": "the language the customer writes in ('en', 'es', ...)",
    "mood": f"the starting mood, one of {', '.join(MOODS)}",
    "patience": "the calmest mood at which no fair offer is accepted, one of the moods",
    "facts": "the key facts a correct summary names (each 'word' or 'word|synonym')",
    "customer": "a table: tier, channel",
    "issue": "a table: category, severity, summary, order_value",
    "opening": "the first message(s): a list of variants",
    "details": "answers to the agent's questions, in order: a list",
    "moods": "a table of lines per mood: calm, annoyed, upset, angry, furious",
    "lines": "a table of reaction lines: " + ", ".join(REACTIONS),
    "offers": "a table: accept_at (money), accept_explained (money, optional)",
    "demand": "an optional table: kind, value, description, lines",
    "moments": "an optional table: self_harm_after (agent turns), disclosure (lines)",
}


@attrs.frozen(kw_only=True)
class Demand:
    """What an unreasonable customer asks for, and the words they ask with."""

    offer: Offer
    lines: tuple[str, ...]


@attrs.frozen(kw_only=True)
class Persona:
    """A customer to train against: who they are, their problem, how they talk at each mood
    and how they answer what the agent does. Read from a TOML file (:func:`load_persona`);
    the format is in docs/training.md.

    Attributes:
        name: the persona's name (``angry_repeat_contact``).
        title: a short title for tables.
        description: what the persona trains.
        language: the language the customer writes in.
        mood: the starting mood (an index into :data:`MOODS`).
        patience: at this mood or angrier no offer is accepted.
        facts: the key facts an agent's summary must name to be confirmed; each is a tuple of
            alternatives (any one will do), matched case-insensitively.
        customer: the customer record the conversation opens with.
        issue: the problem, as the company's systems have it.
        opening: variants of the first message.
        details: the answers to the agent's questions, in order (they hold the facts).
        moods: lines per mood (each a tuple of variants).
        lines: lines per reaction (:data:`REACTIONS`).
        accept_at: the least an offer must be worth for the persona to accept it when calm
            enough; an offer without a value counts when ``accept_at`` is ``None``.
        accept_explained: the least they accept once the agent said why the rest is not
            possible (an unreasonable demand); ``None``: the same as ``accept_at``.
        demand: what they ask for when the agent turns to solutions, if anything.
        self_harm_after: after this many agent turns the customer discloses thoughts of
            self-harm (``disclosure`` lines); ``None``: never.
        disclosure: the disclosure's variants.
        source: where the persona was read from.
    """

    name: str
    title: str
    description: str
    language: str
    mood: int
    patience: int
    facts: tuple[tuple[str, ...], ...]
    customer: Customer
    issue: Issue
    opening: tuple[str, ...]
    details: tuple[str, ...]
    moods: Mapping[str, tuple[str, ...]]
    lines: Mapping[str, tuple[str, ...]]
    accept_at: Money | None = None
    accept_explained: Money | None = None
    demand: Demand | None = None
    self_harm_after: int | None = None
    disclosure: tuple[str, ...] = ()
    source: str = ""

    def names_facts(self, text: str) -> bool:
        """True when ``text`` names every key fact (one alternative of each)."""
        lowered = text.casefold()
        return all(any(word.casefold() in lowered for word in fact) for fact in self.facts)


# -- reading --------------------------------------------------------------------------------


class _Reader:
    """Checks one persona file's data, naming the key and what is allowed on every problem."""

    def __init__(self, source: str, data: Mapping[str, Any]) -> None:
        self.source = source
        self.data = data

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"persona {self.source}: {key}: {problem}")

    def unknown(self, table: Mapping[str, Any], allowed: Iterable[str], prefix: str) -> None:
        allowed = list(allowed)
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail(
                    f"{prefix}{key}",
                    f"unknown key{hint}; allowed: {', '.join(sorted(allowed))}",
                )

    def text(self, table: Mapping[str, Any], key: str, prefix: str = "") -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(prefix + key, f"must be a non-empty string, got {value!r}")
        return value.strip()

    def texts(
        self, table: Mapping[str, Any], key: str, prefix: str = "", *, required: bool = True
    ) -> tuple[str, ...]:
        value = table.get(key)
        if value is None and not required:
            return ()
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise self.fail(
                prefix + key, f"must be a non-empty list of non-empty strings, got {value!r}"
            )
        return tuple(v.strip() for v in value)

    def table(self, key: str, *, required: bool = True) -> Mapping[str, Any]:
        value = self.data.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table ([{key}]), got {value!r}")
        return value

    def mood(self, key: str) -> int:
        value = self.data.get(key)
        if value not in MOODS:
            raise self.fail(key, f"must be one of {', '.join(MOODS)}, got {value!r}")
        return MOODS.index(value)

    def money(self, table: Mapping[str, Any], key: str, prefix: str) -> Money | None:
        value = table.get(key)
        if value is None:
            return None
        amount, _, currency = str(value).strip().partition(" ")
        try:
            return Money(amount, currency.strip())
        except (ValidationError, ValueError) as error:
            raise self.fail(
                prefix + key, f"must be an amount and a currency like '50.00 USD' ({error})"
            ) from None

    def persona(self) -> Persona:
        data = self.data
        self.unknown(data, _TOP_KEYS, "")
        for key in ("name", "title", "description", "facts", "issue", "opening", "details"):
            if key not in data:
                raise self.fail(key, f"is missing: {_TOP_KEYS[key]}")
        name = self.text(data, "name")
        if not name.replace("_", "").isalnum() or not name.islower():
            raise self.fail("name", f"must be snake_case, got {name!r}")
        facts = tuple(tuple(w.strip() for w in f.split("|")) for f in self.texts(data, "facts"))
        customer_table = self.table("customer", required=False)
        self.unknown(customer_table, ("tier", "channel"), "customer.")
        try:
            channel = Channel(customer_table.get("channel", "chat"))
        except ValueError:
            raise self.fail(
                "customer.channel",
                f"must be one of {', '.join(c.value for c in Channel)}, "
                f"got {customer_table.get('channel')!r}",
            ) from None
        customer = Customer(
            id=f"persona-{name}",
            name=str(data.get("title", name)),
            tier=str(customer_table.get("tier", "standard")),
            preferred_channel=channel,
        )
        issue_table = self.table("issue")
        self.unknown(issue_table, ("category", "severity", "summary", "order_value"), "issue.")
        severity = issue_table.get("severity", "medium")
        if severity not in [s.value for s in Severity]:
            raise self.fail(
                "issue.severity",
                f"must be one of {', '.join(s.value for s in Severity)}, got {severity!r}",
            )
        issue = Issue(
            category=self.text(issue_table, "category", "issue."),
            severity=severity,
            summary=self.text(issue_table, "summary", "issue."),
            order_value=self.money(issue_table, "order_value", "issue."),
        )
        moods_table = self.table("moods")
        self.unknown(moods_table, MOODS, "moods.")
        moods = {mood: self.texts(moods_table, mood, "moods.") for mood in MOODS}
        lines_table = self.table("lines")
        self.unknown(lines_table, REACTIONS, "lines.")
        lines = {reaction: self.texts(lines_table, reaction, "lines.") for reaction in REACTIONS}
        offers = self.table("offers", required=False)
        self.unknown(offers, ("accept_at", "accept_explained"), "offers.")
        demand = None
        demand_table = self.table("demand", required=False)
        if demand_table:
            self.unknown(demand_table, ("kind", "value", "description", "lines"), "demand.")
            kind = demand_table.get("kind")
            if kind not in [k.value for k in OfferKind]:
                raise self.fail(
                    "demand.kind",
                    f"must be one of {', '.join(k.value for k in OfferKind)}, got {kind!r}",
                )
            demand = Demand(
                offer=Offer(
                    kind=OfferKind(kind),
                    value=self.money(demand_table, "value", "demand."),
                    description=str(demand_table.get("description", "")),
                    id=f"demand-{name}",
                ),
                lines=self.texts(demand_table, "lines", "demand."),
            )
        moments = self.table("moments", required=False)
        self.unknown(moments, ("self_harm_after", "disclosure"), "moments.")
        self_harm_after = moments.get("self_harm_after")
        if self_harm_after is not None and (
            not isinstance(self_harm_after, int) or self_harm_after < 0
        ):
            raise self.fail(
                "moments.self_harm_after", f"must be a whole number >= 0, got {self_harm_after!r}"
            )
        disclosure = self.texts(moments, "disclosure", "moments.", required=False)
        if self_harm_after is not None and not disclosure:
            raise self.fail("moments.disclosure", "is needed with moments.self_harm_after")
        return Persona(
            name=name,
            title=self.text(data, "title"),
            description=self.text(data, "description"),
            language=str(data.get("language", "en")),
            mood=self.mood("mood") if "mood" in data else 2,
            patience=self.mood("patience") if "patience" in data else 3,
            facts=facts,
            customer=customer,
            issue=issue,
            opening=self.texts(data, "opening"),
            details=self.texts(data, "details"),
            moods=moods,
            lines=lines,
            accept_at=self.money(offers, "accept_at", "offers."),
            accept_explained=self.money(offers, "accept_explained", "offers."),
            demand=demand,
            self_harm_after=self_harm_after,
            disclosure=disclosure,
            source=self.source,
        )


def parse_persona(text: str, *, source: str = "<string>") -> Persona:
    """A persona from the text of a TOML persona file.

    Raises:
        ConfigError: the text is not TOML, or a key is missing, unknown or holds a value it
            cannot; the message names the key and what is allowed.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"persona {source}: not valid TOML: {error}") from None
    return _Reader(source, data).persona()


def load_persona(path: str | Path) -> Persona:
    """A persona from a TOML file (see docs/training.md for the format)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"persona {path}: cannot be read ({error.strerror})") from None
    return parse_persona(text, source=str(path))


def builtin_personas() -> dict[str, Persona]:
    """The personas that ship with serviceplaybook, by name."""
    found: dict[str, Persona] = {}
    folder = resources.files("serviceplaybook.training").joinpath("personas")
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if item.name.endswith(".toml"):
            persona = parse_persona(
                item.read_text(encoding="utf-8"), source=f"serviceplaybook:{item.name}"
            )
            found[persona.name] = persona
    return found


def load_personas(paths: Sequence[str | Path] = (), *, builtin: bool = True) -> dict[str, Persona]:
    """The built-in personas (unless ``builtin=False``) and those in ``paths`` (files, or
    folders of ``*.toml`` files), by name; a file's persona replaces a built-in of the same
    name.

    Raises:
        ConfigError: a file is unreadable or invalid, or two files name the same persona.
    """
    found = builtin_personas() if builtin else {}
    seen: dict[str, str] = {}
    for entry in paths:
        entry = Path(entry)
        files = sorted(entry.glob("*.toml")) if entry.is_dir() else [entry]
        for file in files:
            persona = load_persona(file)
            if persona.name in seen:
                raise ConfigError(
                    f"persona {file}: name {persona.name!r} is already used by {seen[persona.name]}"
                )
            seen[persona.name] = str(file)
            found[persona.name] = persona
    return found
