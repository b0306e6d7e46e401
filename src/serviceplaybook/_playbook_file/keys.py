"""The keys of each table of a playbook file, derived from the class the table configures.

A table of the file configures one class: ``[escalation]`` an
:class:`~serviceplaybook.EscalationPolicy`, ``[[compensation.rules]]`` a
:class:`~serviceplaybook.CompensationRule`... Its keys are that class's settings (the attrs
fields a constructor takes, or, for :class:`~serviceplaybook.Playbook`, its keyword arguments
and the class attributes a subclass sets), so a setting added to a class is a key of the file
at once. Each table lists, explicitly and with the reason, the settings the file
deliberately does not set (``excluded``), the ones it writes under another name
(``renamed``), and the keys only the file has (``extra``: another shape of a setting, or a
shortcut for one).

``tests/test_playbook_file.py`` holds every table to this: each setting is a key or excluded,
and the section reader reads every key (a value no format accepts is reported at that key),
so a setting added to a class fails the tests until it is read or excluded with its reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from serviceplaybook._errors import ConfigError
from serviceplaybook._playbook import Playbook, Transition
from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._policies.calendar import BusinessCalendar
from serviceplaybook._policies.compensation import (
    AuthorityMatrix,
    CompensationPolicy,
    CompensationRule,
    RoleAuthority,
)
from serviceplaybook._policies.conditions import Condition
from serviceplaybook._policies.escalation import EscalationLadder, EscalationPolicy
from serviceplaybook._policies.followup import FollowUpPolicy
from serviceplaybook._policies.sla import SlaPolicy
from serviceplaybook._records.parties import Role
from serviceplaybook._records.sla import SlaStep, SlaTargets
from serviceplaybook._records.validate import read_only


def settings_of(cls: type) -> tuple[str, ...]:
    """What code may set on ``cls``, in definition order: the constructor's attrs fields
    (by the argument name; fields with ``init=False`` are internal state, never arguments),
    or, for a plain class, the keyword-only arguments of ``__init__`` and the class
    attributes it annotates (what a subclass sets)."""
    if attrs.has(cls):
        return tuple(field.alias for field in attrs.fields(cls) if field.init)
    parameters = inspect.signature(cls).parameters.values()
    keywords = [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    return (*keywords, *vars(cls).get("__annotations__", {}))


@attrs.frozen(kw_only=True)
class Keys:
    """The keys of one table of the file.

    Attributes:
        configures: the class the table configures.
        excluded: setting -> why the file does not set it.
        renamed: setting -> the key the file writes it as.
        extra: key -> what it is; keys the class has no setting of that name for.
    """

    configures: type
    excluded: Mapping[str, str] = attrs.field(factory=dict, converter=read_only)
    renamed: Mapping[str, str] = attrs.field(factory=dict, converter=read_only)
    extra: Mapping[str, str] = attrs.field(factory=dict, converter=read_only)

    def __attrs_post_init__(self) -> None:
        settings = settings_of(self.configures)
        stale = [name for name in (*self.excluded, *self.renamed) if name not in settings]
        if stale:
            raise ConfigError(f"{self.configures.__name__} has no setting {stale}")
        clash = [key for key in self.extra if key in settings or key in self.renamed.values()]
        if clash:
            raise ConfigError(f"{clash} is a setting of {self.configures.__name__} already")

    @property
    def settings(self) -> tuple[str, ...]:
        """Every setting of :attr:`configures`."""
        return settings_of(self.configures)

    @property
    def allowed(self) -> tuple[str, ...]:
        """The keys the table allows: the settings not excluded (renamed as the file writes
        them), then the extra keys."""
        return (
            *(self.renamed.get(name, name) for name in self.settings if name not in self.excluded),
            *self.extra,
        )

    @property
    def hints(self) -> Mapping[str, str]:
        """What to do instead, for a setting the table does not take under its own name."""
        return {
            **{name: f"write it as {key!r}" for name, key in self.renamed.items()},
            **self.excluded,
        }


# -- [playbook] -----------------------------------------------------------------------------------

PLAYBOOK = Keys(
    configures=Playbook,
    excluded={
        # A file extends the playbook class it is given; every conversation of a desk starts
        # in one stage, so the start stays the class's (a subclass in code may move it).
        "initial": "a file adds stages and transitions; where a conversation starts is the class's",
    },
    renamed={"stage_guidance_texts": "guidance"},
)
# The stages and transitions the file lists are added to the class's own.
TRANSITION = Keys(configures=Transition, renamed={"source": "from", "dest": "to"})

# -- [calendar] -----------------------------------------------------------------------------------

CALENDAR = Keys(
    configures=BusinessCalendar,
    extra={
        # Shortcuts for BusinessCalendar.hours: one shift Monday to Friday, or all day.
        "open": "hours: the opening of the one weekday shift",
        "close": "hours: the closing of the one weekday shift",
        "around_the_clock": "hours: every day, all day",
        # Added to BusinessCalendar.holidays, from the holidays package.
        "public_holidays": "holidays: a country's public holidays",
    },
)
# The arguments of serviceplaybook.public_holidays (a function, not a class).
PUBLIC_HOLIDAYS = ("country", "years", "subdiv")

# -- [escalation] ---------------------------------------------------------------------------------

ESCALATION = Keys(configures=EscalationPolicy)
LADDER = Keys(configures=EscalationLadder)

# -- [apology] ------------------------------------------------------------------------------------

APOLOGY = Keys(
    configures=ApologyPolicy,
    excluded={
        # An object with behaviour (which personal data to mask, and how), not a number:
        # it is code, given to the desk or the policy by the host.
        "redactor": "a Redactor is code (pass one to ApologyPolicy), not data",
    },
)

# -- [compensation] -------------------------------------------------------------------------------

COMPENSATION = Keys(configures=CompensationPolicy)
AUTHORITY = Keys(
    configures=AuthorityMatrix,
    excluded={
        # Written as one table per role, [compensation.authority.<role>], below.
        "roles": "written as one table per role: [compensation.authority.<role>]",
    },
    extra={role.value: f"the authority of {role.value} (AuthorityMatrix.roles)" for role in Role},
)
ROLE_AUTHORITY = Keys(configures=RoleAuthority)
RULE = Keys(configures=CompensationRule)
# A rule's ``when``: one condition, or a group (``all`` or ``any``) of conditions and groups.
WHEN = Keys(
    configures=Condition,
    extra={
        "all": "a group: conditions that must all hold (AllOf)",
        "any": "a group: conditions of which one must hold (AnyOf)",
    },
)

# -- [follow_up] ----------------------------------------------------------------------------------

FOLLOW_UP = Keys(configures=FollowUpPolicy)

# -- [sla] ----------------------------------------------------------------------------------------

SLA = Keys(
    configures=SlaPolicy,
    excluded={
        # One calendar serves the SLA clocks: the file's [calendar] section.
        "calendar": "the [calendar] section is the SLA policy's calendar",
    },
)
TARGETS = Keys(configures=SlaTargets)
STEP = Keys(configures=SlaStep)

# -- the file -------------------------------------------------------------------------------------

# The keyword arguments of ServiceDesk a file sets; the desk is a layer above the file, so
# they are listed here (ServiceDesk.from_config passes them on).
DESK = ("max_delivery_attempts", "retry_backoff", "lease")
TOP = ("name", "description", "desk", "playbook", "calendar", "escalation", "apology",
       "compensation", "follow_up", "sla")  # fmt: skip

TABLES: Mapping[str, Keys] = MappingProxyType(
    {
        "playbook": PLAYBOOK,
        "playbook.transitions[]": TRANSITION,
        "calendar": CALENDAR,
        "escalation": ESCALATION,
        "escalation.ladder": LADDER,
        "apology": APOLOGY,
        "compensation": COMPENSATION,
        "compensation.authority": AUTHORITY,
        "compensation.authority.<role>": ROLE_AUTHORITY,
        "compensation.rules[]": RULE,
        "compensation.rules[].when": WHEN,
        "follow_up": FOLLOW_UP,
        "sla": SLA,
        "sla.targets.<severity>": TARGETS,
        "sla.steps[]": STEP,
    }
)
"""Every table of the file that configures a class, by where it is in the file."""
