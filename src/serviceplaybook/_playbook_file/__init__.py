"""Playbooks as data: every policy's numbers in a TOML file that support operations can read,
review and change, validated completely before anything is built.

:meth:`PlaybookFile.load` reads a file (stdlib :mod:`tomllib`) and returns a
:class:`PlaybookFile`, or raises :class:`PlaybookFileError` listing **every** problem at once,
each a :class:`Problem` naming the file, the dotted key path (``sla.steps[2].after``) and what
is wrong: unknown keys (with a did-you-mean), wrong types, money written as a float, unknown
currencies, roles, severities, channels, offer kinds; an authority matrix in which a higher
role may grant less than a lower one; SLA steps that do not increase; bad durations and times;
unknown stages and guard or callback methods in ``[playbook]``, and a stage the file adds that
no transition reaches or that has no way out; TOML syntax errors (with line and column); a
missing file or one that is not UTF-8. Errors the policy constructors (and the state machine)
raise come back as problems too, with the key path of what they were built from.

A :class:`PlaybookFile` holds what the file said and builds each policy with a class the
caller gives, so a subclassed policy combines with the file's numbers::

    file = PlaybookFile.load("shop.toml")
    escalation = file.escalation_policy(cls=MyEscalationPolicy)

``[playbook]`` may add stages, transitions and per-stage guidance: the playbook built is then
a subclass of the class given (``PlaybookFromFile``), so a stage added in the file works like
one added by subclassing, and ``ServiceDesk.fire`` fires its events.

Sections and keys the file omits keep the library's defaults (the defaults of the class
given, for tables merged key by key). :meth:`ServiceDesk.from_config` builds every policy
first and only then the desk, so a bad file never yields a half-configured desk.

The formats, one for each kind of value (the reference is ``docs/playbook-file.md``):

- durations: strings with units ``d`` (24 hours), ``h``, ``m``, ``s``, largest first:
  ``"90m"``, ``"36h"``, ``"2d"``, ``"1d 12h"``. A number without a unit is refused. SLA
  durations are business time and are written without ``d`` (``"40h"``).
- times of day: ``"09:00"`` (``"24:00"`` closes at midnight).
- money: a string holding the amount, ``"50.00"``, in the authority matrix's currency;
  floats and bare numbers are refused (a float cannot hold most amounts exactly).
- dates: TOML dates (``2026-12-25``) or ``"2026-12-25"``.
- roles, severities, channels and offer kinds: their string values (``"senior_agent"``).

The package, lowest module first (each imports only the ones above it):

- ``problems``: :class:`Problem`, :class:`PlaybookFileError` and the reader that collects
  every problem of a file;
- ``formats``: one parser per kind of value (durations, times, money, shares, choices...);
- ``keys``: the keys of each table, derived from the class it configures;
- ``machine``: the playbook class ``[playbook]`` describes, checked by
  :meth:`Playbook.problems <serviceplaybook.Playbook.problems>`;
- ``sections``: one reader per section;
- ``file``: :class:`PlaybookFile`, reading a file (the TOML parser loads only then) and
  building each policy from it.
"""

# Re-exported: the root and the desk import these three from here.
from serviceplaybook._playbook_file.file import PlaybookFile as PlaybookFile
from serviceplaybook._playbook_file.problems import PlaybookFileError as PlaybookFileError
from serviceplaybook._playbook_file.problems import Problem as Problem
