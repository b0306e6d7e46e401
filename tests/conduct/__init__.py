"""The conduct suite: difficult conversations written from the craft (``CRAFT.md``), each
step stating what a support lead expects the desk to advise and decide.

``ALL`` holds every :class:`Script`; :func:`play` runs one on a desk built from
:class:`Policies` (the stock classes, or an integrator's subclasses). See
``docs/conduct.md``.
"""

from __future__ import annotations

from . import escalation, languages, resolving, safety, service, understanding
from .script import (
    CRAFT,
    EMPATHY_SCRIPTS,
    UNCHECKED,
    ConductError,
    Played,
    Policies,
    Script,
    Step,
    apology_wording,
    codes_of,
    play,
)

ALL: tuple[Script, ...] = (
    *escalation.SCRIPTS,
    *safety.SCRIPTS,
    *resolving.SCRIPTS,
    *understanding.SCRIPTS,
    *languages.SCRIPTS,
    *service.SCRIPTS,
)

__all__ = [
    "ALL",
    "CRAFT",
    "EMPATHY_SCRIPTS",
    "UNCHECKED",
    "ConductError",
    "Played",
    "Policies",
    "Script",
    "Step",
    "apology_wording",
    "codes_of",
    "play",
]
