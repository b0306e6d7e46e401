"""The playbook file itself: :class:`PlaybookFile`, reading one, and building from it.

:meth:`PlaybookFile.load` parses the file (the TOML parser is imported only then, so that
importing the package stays cheap), reads every section with :mod:`.sections`, and then
builds every policy once with the library's classes (a dry run), so that what a constructor
refuses is reported with every other problem, never while a desk is being built.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, overload

import attrs

from serviceplaybook._errors import ConfigError, ValidationError
from serviceplaybook._playbook import Playbook, Transition
from serviceplaybook._playbook_file import formats, keys, machine
from serviceplaybook._playbook_file.examples import example_names, example_path
from serviceplaybook._playbook_file.problems import PlaybookFileError, Problem, Reader
from serviceplaybook._playbook_file.sections import EMPTY, READERS, read_playbook
from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._policies.calendar import BusinessCalendar
from serviceplaybook._policies.compensation import CompensationPolicy
from serviceplaybook._policies.escalation import EscalationLadder, EscalationPolicy
from serviceplaybook._policies.followup import FollowUpPolicy
from serviceplaybook._policies.sla import SlaPolicy
from serviceplaybook._records.issue import Severity
from serviceplaybook._records.reasons import Guidance
from serviceplaybook._records.sla import SlaTargets
from serviceplaybook._records.validate import read_only

E = TypeVar("E", bound=EscalationPolicy)
A = TypeVar("A", bound=ApologyPolicy)
C = TypeVar("C", bound=CompensationPolicy)
F = TypeVar("F", bound=FollowUpPolicy)
S = TypeVar("S", bound=SlaPolicy)
P = TypeVar("P", bound=Playbook)
B = TypeVar("B", bound=BusinessCalendar)


def _default(cls: type, name: str) -> Any:
    """The default of attrs field ``name`` on ``cls`` (a subclass's own default wins)."""
    default: Any = attrs.fields_dict(cls)[name].default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory()
    return default


_SECTIONS = tuple(READERS)


def _sections(value: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    unknown = set(value) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"PlaybookFile.settings has unknown sections: {sorted(unknown)}")
    return MappingProxyType({name: read_only(value.get(name, {})) for name in _SECTIONS})


@attrs.frozen(kw_only=True)
class PlaybookFile:
    """What a playbook file said, validated, able to build each policy with a given class.

    ``settings`` holds, per section, the values the file set, already converted (durations
    as ``timedelta``, amounts as :class:`~serviceplaybook.Money`, enums as members); keys the
    file omits are absent, so the class built keeps its own defaults for them. Every builder
    takes ``cls`` (a subclass combines with the file's numbers) and ``**overrides``, keyword
    arguments that win over the file.

    Attributes:
        path: the file it was read from.
        name: the playbook's name (the file's ``name``), or ``""``.
        description: what it is for (the file's ``description``), or ``""``.
        settings: per section (``desk``, ``playbook``, ``calendar``, ``escalation``,
            ``apology``, ``compensation``, ``follow_up``, ``sla``), what the file set; every
            section is present, empty when the file omits it. ``compensation["authority"]`` is
            the built :class:`~serviceplaybook.AuthorityMatrix` and ``compensation["rules"]``
            the built rules; ``sla["targets"]`` holds only the clocks the file set;
            ``playbook["stages"]`` the stage names the file adds, ``playbook["transitions"]``
            its :class:`~serviceplaybook.Transition` records and ``playbook["guidance"]`` its
            :class:`~serviceplaybook.Guidance` per stage.
    """

    path: str
    name: str = ""
    description: str = ""
    settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict, converter=_sections)
    # The playbook class built for each class given, so that every desk made from this file
    # shares one class and its compiled machine.
    _classes: dict[type[Playbook], type[Playbook]] = attrs.field(
        factory=dict, init=False, eq=False, repr=False
    )

    # -- builders ----------------------------------------------------------------------------------

    @overload
    def calendar(self, cls: None = None, **overrides: Any) -> BusinessCalendar | None: ...

    @overload
    def calendar(self, cls: type[B], **overrides: Any) -> B | None: ...

    def calendar(
        self, cls: type[BusinessCalendar] | None = None, **overrides: Any
    ) -> BusinessCalendar | None:
        """The team's business calendar from ``[calendar]``, or ``None`` without one.

        Args:
            cls: the calendar class (a subclass overriding ``shifts_on`` works).
            **overrides: ``timezone``, ``hours`` or ``holidays`` to use instead of the file's.
        """
        if not self.settings["calendar"] and not overrides:
            return None
        settings = {"timezone": "UTC", **self.settings["calendar"], **overrides}
        return (cls or BusinessCalendar)(**settings)

    @overload
    def escalation_policy(self, cls: None = None, **overrides: Any) -> EscalationPolicy: ...

    @overload
    def escalation_policy(self, cls: type[E], **overrides: Any) -> E: ...

    def escalation_policy(
        self, cls: type[EscalationPolicy] | None = None, **overrides: Any
    ) -> EscalationPolicy:
        """The escalation policy: the file's numbers on ``cls``.

        ``minimum_roles`` in the file add to (or replace codes of) the class's defaults.

        Args:
            cls: :class:`~serviceplaybook.EscalationPolicy` or a subclass.
            **overrides: keyword arguments that win over the file.
        """
        settings = dict(self.settings["escalation"])
        if "ladder" in settings:
            settings["ladder"] = EscalationLadder(**settings["ladder"])
        if "minimum_roles" in settings:
            settings["minimum_roles"] = {
                **_default(cls or EscalationPolicy, "minimum_roles"),
                **settings["minimum_roles"],
            }
        return (cls or EscalationPolicy)(**{**settings, **overrides})

    @overload
    def apology_policy(self, cls: None = None, **overrides: Any) -> ApologyPolicy: ...

    @overload
    def apology_policy(self, cls: type[A], **overrides: Any) -> A: ...

    def apology_policy(
        self, cls: type[ApologyPolicy] | None = None, **overrides: Any
    ) -> ApologyPolicy:
        """The apology policy: caps, templates and families from the file on ``cls``.

        Templates replace the defaults of the same name; families named in the file are tried
        first, in the file's order, then the class's other families.

        Args:
            cls: :class:`~serviceplaybook.ApologyPolicy` or a subclass.
            **overrides: keyword arguments that win over the file.
        """
        settings = dict(self.settings["apology"])
        if "families" in settings:
            mine: Mapping[str, tuple[str, ...]] = settings["families"]
            defaults: Mapping[str, tuple[str, ...]] = _default(cls or ApologyPolicy, "families")
            settings["families"] = {
                **mine,
                **{name: words for name, words in defaults.items() if name not in mine},
            }
        return (cls or ApologyPolicy)(**{**settings, **overrides})

    @overload
    def compensation_policy(self, cls: None = None, **overrides: Any) -> CompensationPolicy: ...

    @overload
    def compensation_policy(self, cls: type[C], **overrides: Any) -> C: ...

    def compensation_policy(
        self, cls: type[CompensationPolicy] | None = None, **overrides: Any
    ) -> CompensationPolicy:
        """The compensation policy: the authority matrix, the rules and the claim limits.

        Without ``rules`` in the file, the class's default rules in the matrix's currency.

        Args:
            cls: :class:`~serviceplaybook.CompensationPolicy` or a subclass.
            **overrides: keyword arguments that win over the file.
        """
        return (cls or CompensationPolicy)(**{**self.settings["compensation"], **overrides})

    @overload
    def follow_up_policy(self, cls: None = None, **overrides: Any) -> FollowUpPolicy: ...

    @overload
    def follow_up_policy(self, cls: type[F], **overrides: Any) -> F: ...

    def follow_up_policy(
        self, cls: type[FollowUpPolicy] | None = None, **overrides: Any
    ) -> FollowUpPolicy:
        """The follow-up policy; ``delays`` in the file replace the class's for the
        severities they name.

        Args:
            cls: :class:`~serviceplaybook.FollowUpPolicy` or a subclass.
            **overrides: keyword arguments that win over the file.
        """
        settings = dict(self.settings["follow_up"])
        if "delays" in settings:
            settings["delays"] = {**_default(cls or FollowUpPolicy, "delays"), **settings["delays"]}
        return (cls or FollowUpPolicy)(**{**settings, **overrides})

    @overload
    def sla_policy(
        self,
        cls: None = None,
        *,
        calendar_cls: type[BusinessCalendar] = ...,
        **overrides: Any,
    ) -> SlaPolicy: ...

    @overload
    def sla_policy(
        self,
        cls: type[S],
        *,
        calendar_cls: type[BusinessCalendar] = ...,
        **overrides: Any,
    ) -> S: ...

    def sla_policy(
        self,
        cls: type[SlaPolicy] | None = None,
        *,
        calendar_cls: type[BusinessCalendar] = BusinessCalendar,
        **overrides: Any,
    ) -> SlaPolicy:
        """The SLA policy, counting in the file's ``[calendar]`` (the customer's own business
        hours without one).

        Targets the file sets replace the class's clock by clock; tier targets start from the
        severity's targets.

        Args:
            cls: :class:`~serviceplaybook.SlaPolicy` or a subclass.
            calendar_cls: the calendar class for ``[calendar]``.
            **overrides: keyword arguments that win over the file (``calendar`` included).
        """
        sla = self.settings["sla"]
        settings: dict[str, Any] = {
            key: value for key, value in sla.items() if key not in ("targets", "tier_targets")
        }
        calendar = self.calendar(calendar_cls)
        if calendar is not None:
            settings["calendar"] = calendar
        base: dict[Severity, SlaTargets] = dict(_default(cls or SlaPolicy, "targets"))
        for severity, clocks in sla.get("targets", {}).items():
            base[severity] = attrs.evolve(base[severity], **clocks)
        if "targets" in sla:
            settings["targets"] = base
        if "tier_targets" in sla:
            settings["tier_targets"] = {
                tier: {
                    severity: attrs.evolve(base[severity], **clocks)
                    for severity, clocks in severities.items()
                }
                for tier, severities in sla["tier_targets"].items()
            }
        return (cls or SlaPolicy)(**{**settings, **overrides})

    @overload
    def playbook(self, cls: None = None, **overrides: Any) -> Playbook: ...

    @overload
    def playbook(self, cls: type[P], **overrides: Any) -> P: ...

    def playbook(self, cls: type[Playbook] | None = None, **overrides: Any) -> Playbook:
        """The conversation playbook with the file's ``reopen_window``, stages, transitions
        and guidance.

        When the file adds stages, transitions or guidance, the playbook is an instance of
        :meth:`playbook_class`, a subclass of ``cls``; otherwise of ``cls`` itself.

        Args:
            cls: :class:`~serviceplaybook.Playbook` or a subclass.
            **overrides: keyword arguments that win over the file.

        Raises:
            PlaybookFileError: ``cls`` lacks a method the file's transitions name, already has
                a stage the file adds, or its machine refuses the file's transitions.
        """
        settings = {
            key: value
            for key, value in self.settings["playbook"].items()
            if key not in ("stages", "transitions", "guidance")
        }
        return self.playbook_class(cls)(**{**settings, **overrides})

    @overload
    def playbook_class(self, cls: None = None) -> type[Playbook]: ...

    @overload
    def playbook_class(self, cls: type[P]) -> type[P]: ...

    def playbook_class(self, cls: type[Playbook] | None = None) -> type[Playbook]:
        """The playbook class the file describes: ``cls`` itself when the file adds no
        stages, transitions or guidance, else a subclass of it named ``<cls>FromFile`` that
        carries them (built and compiled once per ``cls``).

        Args:
            cls: :class:`~serviceplaybook.Playbook` or a subclass; its methods are the guards
                and callbacks the file's transitions may name.

        Raises:
            PlaybookFileError: as for :meth:`playbook`.
        """
        base = cls or Playbook
        section = self.settings["playbook"]
        stages: tuple[str, ...] = section.get("stages", ())
        transitions: tuple[Transition, ...] = section.get("transitions", ())
        guidance: Mapping[str, tuple[Guidance, ...]] = section.get("guidance", EMPTY)
        if not (stages or transitions or guidance):
            return base
        built = self._classes.get(base)
        if built is not None:
            return built
        problems = machine.problems(
            base, list(enumerate(stages)), list(enumerate(transitions)), guidance
        )
        if problems:
            raise PlaybookFileError(
                Problem(file=self.path, key=key, message=message) for key, message in problems
            )
        built = machine.extend(base, stages, transitions, guidance, name=f"{base.__name__}FromFile")
        self._classes[base] = built
        return built

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, playbook_cls: type[Playbook] = Playbook
    ) -> PlaybookFile:
        """Read and validate a playbook file.

        Args:
            path: the TOML file.
            playbook_cls: the playbook class the file's ``[playbook]`` extends: its stages and
                methods are the ones the file may name (a subclass from code may add its own).

        Returns:
            The validated :class:`PlaybookFile`.

        Raises:
            PlaybookFileError: anything is wrong; ``problems`` lists every problem at once.
        """
        playbook_file, problems = _read(path, playbook_cls)
        if playbook_file is None:
            raise PlaybookFileError(problems)
        return playbook_file

    @staticmethod
    def example(name: str) -> Path:
        """The file of an example playbook that ships with the package, wherever it is
        installed: ``PlaybookFile.load(PlaybookFile.example("airline"))``, or
        ``serviceplaybook init --example airline`` for a copy to edit.

        Args:
            name: one of :meth:`examples`.

        Raises:
            NotFound: no example has this name (the message lists them).
        """
        return example_path(name)

    @staticmethod
    def examples() -> tuple[str, ...]:
        """The names of the example playbooks that ship with the package, sorted."""
        return example_names()

    @classmethod
    def check(
        cls, path: str | os.PathLike[str], *, playbook_cls: type[Playbook] = Playbook
    ) -> tuple[Problem, ...]:
        """Every problem with a playbook file; empty when it is valid.

        Args:
            path: the TOML file.
            playbook_cls: the playbook class the file's ``[playbook]`` extends.
        """
        return _read(path, playbook_cls)[1]

    def desk_options(self) -> dict[str, Any]:
        """The ``ServiceDesk`` keyword arguments of ``[desk]`` the file sets
        (``max_delivery_attempts``, ``retry_backoff``, ``lease``)."""
        return dict(self.settings["desk"])

    def desk_keywords(
        self,
        *,
        playbook_cls: type[Playbook] = Playbook,
        escalation_cls: type[EscalationPolicy] = EscalationPolicy,
        apology_cls: type[ApologyPolicy] = ApologyPolicy,
        compensation_cls: type[CompensationPolicy] = CompensationPolicy,
        follow_up_cls: type[FollowUpPolicy] = FollowUpPolicy,
        sla_cls: type[SlaPolicy] = SlaPolicy,
        calendar_cls: type[BusinessCalendar] = BusinessCalendar,
    ) -> dict[str, Any]:
        """Every ``ServiceDesk`` keyword argument the file configures, each policy built with
        the class given: ``playbook``, ``escalation``, ``apology``, ``compensation``,
        ``follow_up``, ``sla`` and the :meth:`desk_options`.

        Raises:
            PlaybookFileError: a policy class refused the file's values (a subclass's own
                validation); nothing is returned half-built.
        """
        reader = Reader(self.path)
        built: dict[str, Any] = {
            "playbook": reader.attempt("playbook", lambda: self.playbook(playbook_cls)),
            "escalation": reader.attempt(
                "escalation", lambda: self.escalation_policy(escalation_cls)
            ),
            "apology": reader.attempt("apology", lambda: self.apology_policy(apology_cls)),
            "compensation": reader.attempt(
                "compensation", lambda: self.compensation_policy(compensation_cls)
            ),
            "follow_up": reader.attempt("follow_up", lambda: self.follow_up_policy(follow_up_cls)),
            "sla": reader.attempt(
                "sla", lambda: self.sla_policy(sla_cls, calendar_cls=calendar_cls)
            ),
        }
        if reader.problems:
            raise PlaybookFileError(reader.problems)
        return {**built, **self.desk_options()}


# -- reading ---------------------------------------------------------------------------------------

_AT = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


def _parse(file: str, path: str | os.PathLike[str]) -> dict[str, Any] | Problem:
    import tomllib  # here, not at the top: importing the package does not load the parser

    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        return Problem(file=file, key="", message="no such file")
    except IsADirectoryError:
        return Problem(file=file, key="", message="is a directory, not a playbook file")
    except OSError as error:
        return Problem(file=file, key="", message=f"cannot be read: {error.strerror or error}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return Problem(
            file=file,
            key="",
            message=f"is not UTF-8 text (byte 0x{raw[error.start]:02x} on line {line}); "
            f"save it as UTF-8",
        )
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _AT.search(message)
        where = "at the end of the file"
        if match is not None:
            message = message[: match.start()]
            if match.group(1):
                where = f"line {match.group(1)}, column {match.group(2)}"
        return Problem(file=file, key="", message=f"{where}: TOML syntax error: {message}")


def _read(
    path: str | os.PathLike[str], playbook_cls: type[Playbook]
) -> tuple[PlaybookFile | None, tuple[Problem, ...]]:
    file = os.fspath(path)
    parsed = _parse(file, path)
    if isinstance(parsed, Problem):
        return None, (parsed,)
    r = Reader(file)
    r.table(parsed, "", keys.TOP)
    meta: dict[str, Any] = {}
    r.put(parsed, "", "name", formats.text, meta)
    r.put(parsed, "", "description", formats.text, meta)
    sections: dict[str, dict[str, Any]] = {}
    for section in parsed:  # in the file's order, so the problems are too
        if section not in READERS:
            continue
        allowed, hints, read = READERS[section]
        if section == "playbook":
            read = functools.partial(read_playbook, cls=playbook_cls)
        table = r.table(parsed[section], section, allowed, hints)
        if table is not None:
            sections[section] = read(r, table)
    try:
        playbook_file = PlaybookFile(
            path=file,
            name=meta.get("name", ""),
            description=meta.get("description", ""),
            settings=sections,
        )
    except (ConfigError, ValidationError) as error:  # pragma: no cover - the readers checked
        r.add("", str(error))
        return None, tuple(r.problems)
    # A dry run: every policy built with the library's classes, so that what the constructors
    # refuse is reported now, under the section it came from, and never while building a desk.
    calendar_ok = "calendar" not in sections or not r.count("calendar")
    builds: dict[str, Callable[[], object]] = {
        "playbook": functools.partial(playbook_file.playbook, playbook_cls),
        "calendar": playbook_file.calendar,
        "escalation": playbook_file.escalation_policy,
        "apology": playbook_file.apology_policy,
        "compensation": playbook_file.compensation_policy,
        "follow_up": playbook_file.follow_up_policy,
        "sla": playbook_file.sla_policy
        if calendar_ok
        else functools.partial(playbook_file.sla_policy, calendar=None),
    }
    for section, build in builds.items():
        if section in sections and not r.count(section):
            r.attempt(section, build)
    if r.problems:
        return None, tuple(r.problems)
    return playbook_file, ()
