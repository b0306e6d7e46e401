"""The section readers: one per section of a playbook file.

Each reader takes the :class:`~serviceplaybook._playbook_file.problems.Reader` and the
section's table (its keys already checked against :mod:`.keys`), converts every value it
finds with :mod:`.formats`, records a problem for each one it cannot use, and returns what it
could read, keyed by the argument of the class the section configures. Values that only a
constructor can judge (a template's placeholders, overlapping shifts...) are tried on the
constructor here, so that the problem names the key it came from.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from serviceplaybook._playbook import Playbook, Transition
from serviceplaybook._playbook_file import formats, keys, machine
from serviceplaybook._playbook_file.problems import Bad, Reader, item, join, kind
from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._policies.calendar import BusinessCalendar, Shift, public_holidays
from serviceplaybook._policies.compensation import AuthorityMatrix, CompensationRule, RoleAuthority
from serviceplaybook._policies.conditions import TESTS, AllOf, AnyOf, Condition, When
from serviceplaybook._policies.escalation import EscalationLadder
from serviceplaybook._policies.sla import DEFAULT_TARGETS
from serviceplaybook._records.issue import Severity
from serviceplaybook._records.money import Money
from serviceplaybook._records.parties import Role
from serviceplaybook._records.reasons import Guidance
from serviceplaybook._records.sla import SlaStep
from serviceplaybook._records.validate import (
    MAX_COUNT,
    MAX_DELIVERY_ATTEMPTS,
    MAX_LEASE,
    MAX_RETRY_BACKOFF,
)

EMPTY: Mapping[str, Any] = MappingProxyType({})
_LADDER_ROLES = tuple(role for role in Role if role.on_ladder)


# -- [desk] ---------------------------------------------------------------------------------------


def read_desk(r: Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    r.put(table, "desk", "max_delivery_attempts", formats.integer(1, MAX_DELIVERY_ATTEMPTS), out)
    r.put(table, "desk", "retry_backoff", formats.duration(longest=MAX_RETRY_BACKOFF), out)
    r.put(table, "desk", "lease", formats.duration(longest=MAX_LEASE), out)
    return out


# -- [playbook] -----------------------------------------------------------------------------------


def read_playbook(
    r: Reader, table: dict[str, Any], cls: type[Playbook] = Playbook
) -> dict[str, Any]:
    before = r.count("playbook")
    out: dict[str, Any] = {}
    r.put(table, "playbook", "reopen_window", formats.duration(), out)
    stages: list[tuple[int, str]] = []
    if "stages" in table:
        key = "playbook.stages"
        listed = r.array(table["stages"], key, lambda value: value)
        for index, value in enumerate(listed or ()):
            try:
                stage = formats.stage_name(value)
            except Bad as bad:
                r.add(item(key, index), str(bad))
                continue
            if stage in (name for _, name in stages):
                r.add(item(key, index), f"{stage!r} is listed twice")
                continue
            stages.append((index, stage))
        out["stages"] = tuple(stage for _, stage in stages)
    transitions: list[tuple[int, Transition]] = []
    if "transitions" in table:
        key = "playbook.transitions"
        value = table["transitions"]
        if not isinstance(value, list):
            r.add(key, f"must be an array of tables ([[playbook.transitions]]), got {kind(value)}")
        else:
            for index, entry in enumerate(value):
                transition = _read_transition(r, entry, item(key, index))
                if transition is not None:
                    transitions.append((index, transition))
            out["transitions"] = tuple(transition for _, transition in transitions)
    if "guidance" in table:
        out["guidance"] = _read_guidance(r, table["guidance"])
    # Checked against the class now, so that these are reported with every other problem;
    # the machine and its stages only when the section read cleanly (judged without a
    # transition that could not be read, a stage could look unreachable).
    if stages or transitions or out.get("guidance"):
        complete = r.count("playbook") == before
        guidance = out.get("guidance", EMPTY)
        for key, message in machine.problems(cls, stages, transitions, guidance, complete=complete):
            r.add(key, message)
    return out


def _one_or_many(
    r: Reader, table: Mapping[str, Any], path: str, name: str, parse: Callable[[Any], str]
) -> tuple[str, ...] | None:
    """``table[name]`` as a string or an array of strings, each parsed; ``None`` when bad."""
    key = join(path, name)
    value = table[name]
    if isinstance(value, str):
        with contextlib.suppress(Bad):
            return (r.value(table, path, name, parse),)
        return None
    if not isinstance(value, list):
        r.add(key, f"must be a string or an array of strings, got {kind(value)}")
        return None
    if not value:
        r.add(key, "must not be an empty array")
        return None
    items = r.array(value, key, parse)
    return None if items is None else tuple(items)


def _read_transition(r: Reader, value: object, key: str) -> Transition | None:
    table = r.table(value, key, keys.TRANSITION.allowed, keys.TRANSITION.hints)
    if table is None:
        return None
    before = len(r.problems)
    for required in ("event", "from", "to"):
        if required not in table:
            r.add(join(key, required), "missing; every transition needs an event, from and to")
    values: dict[str, Any] = {}
    r.put(table, key, "event", formats.event_name, values)
    r.put(table, key, "to", formats.destination, values, "dest")
    if "from" in table:
        sources = _one_or_many(r, table, key, "from", formats.stage_name)
        if sources is not None:
            values["source"] = sources
    for name in ("conditions", "unless", "after"):
        if name in table:
            methods = _one_or_many(r, table, key, name, formats.method_name)
            if methods is not None:
                values[name] = methods
    if len(r.problems) > before:
        return None
    return r.attempt(key, lambda: Transition(**values))


def _read_guidance(r: Reader, value: object) -> Mapping[str, tuple[Guidance, ...]]:
    """The guidance per stage; a stage whose table is bad is left out (and recorded)."""
    key = "playbook.guidance"
    table = r.table(value, key, None)
    if table is None:
        return EMPTY
    guidance: dict[str, tuple[Guidance, ...]] = {}
    for stage, entries in table.items():
        where = join(key, stage)
        try:
            formats.stage_name(stage)
        except Bad as bad:
            r.add(where, str(bad))
            continue
        texts = r.mapping(entries, where, formats.guidance_code, formats.text)
        if texts is None:
            continue
        if not texts:
            r.add(where, 'no guidance given; write one or more code = "text" lines')
            continue
        guidance[stage] = tuple(Guidance(code=code, text=text) for code, text in texts.items())
    return MappingProxyType(guidance)


# -- [calendar] -----------------------------------------------------------------------------------


def read_calendar(r: Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    r.put(table, "calendar", "timezone", formats.time_zone, out)
    r.put(table, "calendar", "open", formats.time_of_day(), settings)
    r.put(table, "calendar", "close", formats.time_of_day(end_of_day=True), settings)
    r.put(table, "calendar", "around_the_clock", formats.boolean, settings)
    ways: list[str] = [name for name in ("hours", "around_the_clock") if name in table]
    if "open" in table or "close" in table:
        ways.insert(0, "open/close")
    if len(ways) > 1:
        r.add(
            "calendar",
            f"give the opening hours one way only, not {' and '.join(ways)}: open/close "
            f"(Monday to Friday), hours (per weekday) or around_the_clock",
        )
    if "hours" in table:
        hours = r.table(table["hours"], "calendar.hours", None)
        if hours is not None:
            days: dict[str, list[Shift]] = {}
            for name, shifts in hours.items():
                key = join("calendar.hours", name)
                try:
                    day = formats.weekday(name)
                except Bad as bad:
                    r.add(key, str(bad))
                    continue
                if day in days:
                    r.add(key, "this weekday is given twice")
                    continue
                entries = [shifts] if isinstance(shifts, str) else shifts
                parsed = r.array(entries, key, formats.shift)
                if parsed is None:
                    continue
                if parsed and (
                    r.attempt(
                        key, functools.partial(BusinessCalendar, timezone="UTC", hours={0: parsed})
                    )
                    is None
                ):
                    continue
                days[day] = parsed
            if days and not any(days.values()):
                r.add("calendar.hours", "no weekday has opening hours; give at least one shift")
            out["hours"] = days
    elif settings.get("around_the_clock"):
        out["hours"] = {day: ["00:00-24:00"] for day in range(7)}
    elif "open" in settings or "close" in settings or "around_the_clock" not in table:
        open_, close = settings.get("open", "09:00"), settings.get("close", "17:00")
        shift = r.attempt(
            "calendar.close" if "close" in settings else "calendar.open",
            lambda: Shift.parse((open_, close), "the standard shift"),
        )
        if shift is not None:
            out["hours"] = {day: [shift] for day in range(5)}
    elif "around_the_clock" in settings:
        r.add("calendar.around_the_clock", "false gives no opening hours: give open/close or hours")
    holidays: set[date] = set()
    if "holidays" in table:
        listed = r.array(table["holidays"], "calendar.holidays", formats.iso_date)
        holidays.update(listed or ())
    if "public_holidays" in table:
        found = _read_public_holidays(r, table["public_holidays"])
        holidays.update(found or ())
    out["holidays"] = frozenset(holidays)
    return out


def _read_public_holidays(r: Reader, value: object) -> frozenset[date] | None:
    key = "calendar.public_holidays"
    table = r.table(value, key, keys.PUBLIC_HOLIDAYS)
    if table is None:
        return None
    settings: dict[str, Any] = {}
    before = len(r.problems)
    for required in ("country", "years"):
        if required not in table:
            r.add(join(key, required), "missing; public holidays need a country and years")
    r.put(table, key, "country", formats.text, settings)
    r.put(table, key, "subdiv", formats.text, settings)
    if "years" in table:
        years = table["years"]
        if isinstance(years, int) and not isinstance(years, bool):
            years = [years]
        parsed = r.array(years, join(key, "years"), formats.integer(1900))
        if parsed is not None:
            settings["years"] = parsed
    if len(r.problems) > before:
        return None
    return r.attempt(
        key,
        lambda: public_holidays(
            settings["country"], settings["years"], subdiv=settings.get("subdiv")
        ),
    )


# -- [escalation] ---------------------------------------------------------------------------------


def read_escalation(r: Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    path = "escalation"
    for name in ("max_declined_offers", "sentiment_window", "repeat_contact_mentions",
                 "reopens_to_escalate"):  # fmt: skip
        r.put(table, path, name, formats.integer(0, MAX_COUNT), out)
    r.put(table, path, "sentiment_floor", formats.number(-1, 1), out)
    if "high_value_tiers" in table:
        tiers = r.array(table["high_value_tiers"], "escalation.high_value_tiers", formats.name)
        if tiers is not None:
            out["high_value_tiers"] = frozenset(tiers)
    if "high_value_orders" in table:
        key = "escalation.high_value_orders"
        raw = r.table(table["high_value_orders"], key, None)
        if raw is not None:
            orders: list[Money] = []
            for code, amount in raw.items():
                where = join(key, code)
                try:
                    currency = formats.currency(code)
                    orders.append(formats.money(currency, "the currency of its key")(amount))
                except Bad as bad:
                    r.add(where, str(bad))
            out["high_value_orders"] = tuple(orders)
    if "minimum_roles" in table:
        roles = r.mapping(
            table["minimum_roles"], "escalation.minimum_roles", formats.code, formats.role
        )
        if roles is not None:
            out["minimum_roles"] = roles
    if "terminating_codes" in table:
        codes = r.array(
            table["terminating_codes"], "escalation.terminating_codes", formats.reason_code
        )
        if codes is not None:
            out["terminating_codes"] = frozenset(codes)
    if "wait_until_tried" in table:
        codes = r.array(
            table["wait_until_tried"], "escalation.wait_until_tried", formats.reason_code
        )
        if codes is not None:
            out["wait_until_tried"] = frozenset(codes)
    r.put(table, path, "escalate_first_abuse", formats.boolean, out)
    if "ladder" in table:
        ladder = r.table(
            table["ladder"], "escalation.ladder", keys.LADDER.allowed, keys.LADDER.hints
        )
        if ladder is not None:
            settings: dict[str, Any] = {}
            r.put(
                ladder, "escalation.ladder", "max_handoffs", formats.integer(0, MAX_COUNT), settings
            )
            if "roles" in ladder:
                roles_list = r.array(ladder["roles"], "escalation.ladder.roles", formats.role)
                if roles_list is not None:
                    settings["roles"] = tuple(roles_list)
                    built = r.attempt(
                        "escalation.ladder.roles", lambda: EscalationLadder(roles=roles_list)
                    )
                    if built is None:
                        settings.pop("roles")
            out["ladder"] = settings
    return out


# -- [apology] ------------------------------------------------------------------------------------


def read_apology(r: Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    r.put(table, "apology", "max_per_conversation", formats.integer(0, MAX_COUNT), out)
    r.put(table, "apology", "per_new_agent", formats.integer(0, MAX_COUNT), out)
    if "templates" in table:
        templates = r.mapping(
            table["templates"], "apology.templates", formats.key_name, formats.text
        )
        if templates is not None:
            for name, text in templates.items():
                r.attempt(
                    join("apology.templates", name),
                    functools.partial(ApologyPolicy, templates={name: text}),
                )
            out["templates"] = templates
    if "families" in table:
        key = "apology.families"
        families = r.mapping(table["families"], key, formats.key_name, lambda v: v)
        if families is not None:
            checked: dict[str, tuple[str, ...]] = {}
            for name, words in families.items():
                where = join(key, name)
                parsed = r.array(words, where, formats.text)
                if parsed is not None and (
                    r.attempt(
                        where, functools.partial(ApologyPolicy, families={name: tuple(parsed)})
                    )
                    is not None
                ):
                    checked[name] = tuple(parsed)
            out["families"] = checked
    for name in ("excuse_patterns", "blame_patterns"):
        if name in table:
            key = join("apology", name)
            patterns = r.array(table[name], key, formats.pattern)
            if patterns is None:
                continue
            setting: dict[str, Any] = {name: tuple(patterns)}
            if r.attempt(key, functools.partial(ApologyPolicy, **setting)) is not None:
                out.update(setting)
    return out


# -- [compensation] -------------------------------------------------------------------------------


def read_compensation(r: Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    r.put(table, "compensation", "max_claims", formats.integer(0, MAX_COUNT), out)
    r.put(table, "compensation", "claim_review_role", formats.role, out)
    r.put(table, "compensation", "max_alternatives", formats.integer(0, MAX_COUNT), out)
    r.put(table, "compensation", "on_request", formats.boolean, out)
    currency = "USD"
    window = timedelta(days=30)
    authority_table: dict[str, Any] | None = None
    if "authority" in table:
        authority_table = r.table(
            table["authority"],
            "compensation.authority",
            keys.AUTHORITY.allowed,
            keys.AUTHORITY.hints,
        )
    settings: dict[str, Any] = {}
    if authority_table is not None:
        r.put(authority_table, "compensation.authority", "currency", formats.currency, settings)
        r.put(authority_table, "compensation.authority", "window", formats.duration(), settings)
        currency = settings.get("currency", currency)
        window = settings.get("window", window)
    if authority_table is not None and "currency" in authority_table and "currency" not in settings:
        currency = ""  # unknown currency: amounts cannot be checked against it
    if currency and authority_table is not None:
        authority = _read_authority(r, authority_table, currency, window)
        if authority is not None:
            out["authority"] = authority
    if "rules" in table:
        rules = table["rules"]
        if not isinstance(rules, list):
            r.add(
                "compensation.rules",
                f"must be an array of tables ([[compensation.rules]]), got {kind(rules)}",
            )
        elif currency:
            built = [
                _read_rule(r, rule, item("compensation.rules", index), currency)
                for index, rule in enumerate(rules)
            ]
            out["rules"] = tuple(rule for rule in built if rule is not None)
    return out


def _read_authority(
    r: Reader, table: Mapping[str, Any], currency: str, window: timedelta
) -> AuthorityMatrix | None:
    path = "compensation.authority"
    if not any(role.value in table for role in Role):
        return r.attempt(path, lambda: AuthorityMatrix.standard(currency, window))
    roles: dict[Role, RoleAuthority] = {}
    before = len(r.problems)
    money = formats.money(currency)
    for role in Role:
        if role.value not in table:
            continue
        key = join(path, role.value)
        entry = r.table(
            table[role.value], key, keys.ROLE_AUTHORITY.allowed, keys.ROLE_AUTHORITY.hints
        )
        if entry is None:
            continue
        values: dict[str, Any] = {}
        for name in ("single", "window_total"):
            if name not in entry:
                r.add(join(key, name), "missing; every role listed needs single and window_total")
        r.put(entry, key, "single", money, values)
        r.put(entry, key, "window_total", money, values)
        if "kinds" in entry:
            kinds = r.array(entry["kinds"], join(key, "kinds"), formats.offer_kind)
            if kinds is not None:
                values["kinds"] = frozenset(kinds)
        if "single" in values and "window_total" in values:
            if values["single"] > values["window_total"]:
                r.add(
                    join(key, "single"),
                    f"{values['single']} is above window_total ({values['window_total']}); an "
                    f"offer that large could never be granted",
                )
                continue
            authority = r.attempt(key, functools.partial(RoleAuthority, **values))
            if authority is not None:
                roles[role] = authority
    if len(r.problems) > before:
        return None
    ladder = [role for role in _LADDER_ROLES if role in roles]
    for lower, higher in itertools.pairwise(ladder):
        low, high = roles[lower], roles[higher]
        key = join(path, higher.value)
        who, than = higher.value.replace("_", " "), lower.value.replace("_", " ")
        rule = "a higher role must cover at least as much as a lower one"
        for name in ("single", "window_total"):
            mine, theirs = getattr(high, name), getattr(low, name)
            if mine < theirs:
                r.add(
                    join(key, name),
                    f"{who} may grant less than {than} ({mine} < {theirs}); {rule}",
                )
        missing = low.kinds - high.kinds
        if missing:
            shown = ", ".join(sorted(kind.value for kind in missing))
            r.add(
                join(key, "kinds"),
                f"{who} may not offer {shown}, which {than} may; {rule}, in kinds too",
            )
    if len(r.problems) > before:
        return None
    return r.attempt(path, lambda: AuthorityMatrix(currency=currency, roles=roles, window=window))


def _read_rule(r: Reader, value: object, key: str, currency: str) -> CompensationRule | None:
    table = r.table(value, key, keys.RULE.allowed, keys.RULE.hints)
    if table is None:
        return None
    before = len(r.problems)
    for required in ("kind", "description"):
        if required not in table:
            r.add(join(key, required), "missing; every rule needs a kind and a description")
    values: dict[str, Any] = {}
    r.put(table, key, "kind", formats.offer_kind, values)
    r.put(table, key, "description", formats.text, values)
    r.put(table, key, "min_severity", formats.severity, values)
    r.put(table, key, "share", formats.share, values)
    r.put(table, key, "share_of", formats.fact_name, values)
    r.put(table, key, "amount", formats.money(currency), values)
    r.put(table, key, "per", formats.fact_name, values)
    r.put(table, key, "cap", formats.money(currency), values)
    if "when" in table:
        when = _read_when(r, table["when"], join(key, "when"))
        if when is not None:
            values["when"] = when
    for name in ("categories", "tiers"):
        if name in table:
            names = r.array(table[name], join(key, name), formats.name)
            if names is not None:
                values[name] = frozenset(names)
    if len(r.problems) > before:
        return None
    return r.attempt(key, lambda: CompensationRule(**values))


def _group(name: str, members: list[When]) -> When:
    return AllOf(members) if name == "all" else AnyOf(members)


def _read_when(r: Reader, value: object, key: str) -> When | None:
    """A rule's ``when``: a condition (``on`` and one test) or a group (``all`` or ``any``,
    an array of conditions and groups); ``None`` (recorded) when anything in it is bad."""
    table = r.table(value, key, keys.WHEN.allowed, keys.WHEN.hints)
    if table is None:
        return None
    groups = [name for name in ("all", "any") if name in table]
    if groups:
        before = len(r.problems)
        if len(table) > 1:
            others = ", ".join(name for name in table if name != groups[0])
            r.add(
                key,
                f"a group is all = [...] or any = [...] alone; {others} cannot stand beside "
                f"{groups[0]}: put each condition in the group's array, or nest a group there",
            )
        built: list[When] = []
        for name in groups:  # each read, so that every problem inside is reported at once
            where = join(key, name)
            members = table[name]
            if not isinstance(members, list):
                r.add(where, f"must be an array of conditions, got {kind(members)}")
                continue
            if not members:
                r.add(where, "must list at least one condition")
                continue
            found = [
                _read_when(r, member, item(where, index)) for index, member in enumerate(members)
            ]
            if len(r.problems) == before:
                members_found = [member for member in found if member is not None]
                made = r.attempt(where, functools.partial(_group, name, members_found))
                if made is not None:
                    built.append(made)
        return built[0] if len(r.problems) == before and built else None
    before = len(r.problems)
    if "on" not in table:
        r.add(
            join(key, "on"),
            'missing; a condition names what it tests (on = "tier", "category", "severity" or a '
            "fact's name) and makes one test, or is a group (all = [...] or any = [...])",
        )
    if not any(test in table for test in TESTS):
        r.add(key, f"a condition makes one test: {', '.join(TESTS)}")
    values: dict[str, Any] = {}
    r.put(table, key, "on", formats.condition_subject, values)
    r.put(table, key, "equals", formats.condition_value, values)
    r.put(table, key, "at_least", formats.condition_bound, values)
    r.put(table, key, "at_most", formats.condition_bound, values)
    r.put(table, key, "present", formats.boolean, values)
    if "one_of" in table:
        where = join(key, "one_of")
        listed = table["one_of"]
        if isinstance(listed, list) and not listed:
            r.add(where, "must list at least one value")
        else:
            options = r.array(listed, where, formats.condition_value)
            if options is not None:
                values["one_of"] = tuple(options)
    if len(r.problems) > before:
        return None
    return r.attempt(key, lambda: Condition(**values))


# -- [follow_up] ----------------------------------------------------------------------------------


def read_follow_up(r: Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    path = "follow_up"
    nonnegative = formats.duration(positive=False)
    if "delays" in table:
        delays = r.mapping(table["delays"], "follow_up.delays", formats.severity, nonnegative)
        if delays is not None:
            out["delays"] = delays
    if "tier_delays" in table:
        tiers = r.mapping(table["tier_delays"], "follow_up.tier_delays", formats.name, nonnegative)
        if tiers is not None:
            out["tier_delays"] = tiers
    if "channel_windows" in table:
        windows = r.mapping(
            table["channel_windows"],
            "follow_up.channel_windows",
            formats.channel,
            formats.duration(),
        )
        if windows is not None:
            out["channel_windows"] = windows
    r.put(table, path, "call_from", formats.severity, out)
    if "call_tiers" in table:
        tiers_list = r.array(table["call_tiers"], "follow_up.call_tiers", formats.name)
        if tiers_list is not None:
            out["call_tiers"] = frozenset(tiers_list)
    r.put(table, path, "cooldown", nonnegative, out)
    r.put(table, path, "open", formats.time_of_day(), out)
    r.put(table, path, "close", formats.time_of_day(end_of_day=True), out)
    r.put(table, path, "purpose", formats.text, out)
    if ("open" in out or "close" in out) and r.attempt(
        "follow_up.close" if "close" in out else "follow_up.open",
        lambda: Shift.parse(
            (out.get("open", "09:00"), out.get("close", "17:00")), "follow-up hours"
        ),
    ) is None:
        out.pop("open", None)
        out.pop("close", None)
    return out


# -- [sla] ----------------------------------------------------------------------------------------


def read_sla(r: Reader, table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    r.put(table, "sla", "warning_at", formats.number(0, 1, open_range=True), out)
    if "targets" in table:
        targets = _read_severity_targets(r, table["targets"], "sla.targets")
        if targets is not None:
            out["targets"] = targets
    if "tier_targets" in table:
        tiers = r.table(table["tier_targets"], "sla.tier_targets", None)
        if tiers is not None:
            found: dict[str, dict[Severity, dict[str, timedelta | None]]] = {}
            written: dict[str, str] = {}
            for tier, entry in tiers.items():
                where = join("sla.tier_targets", tier)
                try:
                    name = formats.name(tier)
                except Bad as bad:
                    r.add(where, str(bad))
                    continue
                if name in written:
                    r.add(where, f"the same tier as {written[name]!r}; keep one")
                    continue
                written[name] = tier
                targets = _read_severity_targets(r, entry, where)
                if targets is not None:
                    found[tier] = targets  # SlaPolicy keeps it as Customer.tier is kept
            out["tier_targets"] = found
    _check_resolution_after_first_response(r, out)
    if "steps" in table:
        steps = _read_steps(r, table["steps"])
        if steps is not None:
            out["steps"] = steps
    return out


def _check_resolution_after_first_response(r: Reader, sla: Mapping[str, Any]) -> None:
    """A resolution target shorter than the first-response target, reported under the key
    the file wrote (a clock the file leaves out keeps the library's default, and a tier's
    starts from its severity's)."""
    severities: dict[Severity, dict[str, timedelta | None]] = {
        severity: {**_default_clocks(severity), **clocks}
        for severity, clocks in sla.get("targets", {}).items()
    }
    written = [
        ("sla.targets", severity, clocks, severities[severity])
        for severity, clocks in sla.get("targets", {}).items()
    ]
    for tier, targets in sla.get("tier_targets", {}).items():
        for severity, clocks in targets.items():
            base = severities.get(severity) or _default_clocks(severity)
            written.append((join("sla.tier_targets", tier), severity, clocks, {**base, **clocks}))
    for where, severity, clocks, merged in written:
        first, resolution = merged.get("first_response"), merged.get("resolution")
        if first is None or resolution is None or resolution >= first:
            continue
        name = "resolution" if "resolution" in clocks else "first_response"
        r.add(
            join(join(where, severity.value), name),
            f"resolution ({formats.show_duration(resolution)}) is shorter than first_response "
            f"({formats.show_duration(first)}): a conversation answered in time could not be "
            f"resolved in time; make resolution at least {formats.show_duration(first)}",
        )


def _default_clocks(severity: Severity) -> dict[str, timedelta | None]:
    targets = DEFAULT_TARGETS[severity]
    return {
        "first_response": targets.first_response,
        "next_response": targets.next_response,
        "resolution": targets.resolution,
    }


def _read_targets(r: Reader, value: object, key: str) -> dict[str, timedelta | None] | None:
    allowed = keys.TARGETS.allowed
    table = r.table(value, key, allowed, keys.TARGETS.hints)
    if table is None:
        return None
    before = len(r.problems)
    out: dict[str, Any] = {}
    for name in allowed:
        r.put(table, key, name, formats.target, out)
    return out if len(r.problems) == before else None


def _read_severity_targets(
    r: Reader, value: object, key: str
) -> dict[Severity, dict[str, timedelta | None]] | None:
    table = r.table(value, key, [s.value for s in Severity])
    if table is None:
        return None
    result: dict[Severity, dict[str, timedelta | None]] = {}
    for name, entry in table.items():
        if name not in {s.value for s in Severity}:
            continue  # reported as an unknown key
        targets = _read_targets(r, entry, join(key, name))
        if targets is not None:
            result[Severity(name)] = targets
    return result


def _read_steps(r: Reader, value: object) -> tuple[SlaStep, ...] | None:
    key = "sla.steps"
    if not isinstance(value, list):
        r.add(key, f"must be an array of tables ([[sla.steps]]), got {kind(value)}")
        return None
    before = len(r.problems)
    steps: list[tuple[int, SlaStep]] = []
    for index, entry in enumerate(value):
        where = item(key, index)
        step = r.table(entry, where, keys.STEP.allowed, keys.STEP.hints)
        if step is None:
            continue
        values: dict[str, Any] = {}
        for required in keys.STEP.allowed:
            if required not in step:
                r.add(join(where, required), "missing; every step needs after and to")
        r.put(step, where, "after", formats.duration(business=True), values)
        r.put(step, where, "to", formats.role, values)
        if len(values) == 2:
            built = r.attempt(join(where, "to"), functools.partial(SlaStep, **values))
            if built is not None:
                steps.append((index, built))
    for (_, earlier), (index, later) in itertools.pairwise(steps):
        where = item(key, index)
        if later.after <= earlier.after:
            r.add(
                join(where, "after"),
                f"steps must increase: {formats.show_duration(later.after)} is not after the "
                f"step before it ({formats.show_duration(earlier.after)}); list the steps in the "
                f"order they fire",
            )
        if later.to < earlier.to:
            r.add(
                join(where, "to"),
                f"steps never step down the ladder: {later.to.value!r} comes after "
                f"{earlier.to.value!r}",
            )
    if len(r.problems) > before:
        return None
    return tuple(step for _, step in steps)


# -- every section --------------------------------------------------------------------------------

Read = Callable[[Reader, dict[str, Any]], dict[str, Any]]

READERS: Mapping[str, tuple[tuple[str, ...], Mapping[str, str], Read]] = MappingProxyType(
    {
        "desk": (keys.DESK, EMPTY, read_desk),
        **{
            section: (table.allowed, table.hints, read)
            for section, table, read in (
                ("playbook", keys.PLAYBOOK, read_playbook),
                ("calendar", keys.CALENDAR, read_calendar),
                ("escalation", keys.ESCALATION, read_escalation),
                ("apology", keys.APOLOGY, read_apology),
                ("compensation", keys.COMPENSATION, read_compensation),
                ("follow_up", keys.FOLLOW_UP, read_follow_up),
                ("sla", keys.SLA, read_sla),
            )
        },
    }
)
"""Per section of the file: the keys it allows, hints for settings it takes in another way
or not at all, and its reader (``[playbook]``'s takes the playbook class as ``cls`` too)."""
