"""Role-play training: customer personas, agent strategies, simulations and scorecards.

Train with role-play against realistic difficult customers in a safe setting:

- :class:`Persona`: a customer as data (a TOML file: :func:`load_persona`); the package ships
  ten (:func:`builtin_personas`), and an integrator adds their own (:func:`load_personas`).
  A :class:`PersonaPlayer` plays one against an agent: it calms when listened to, summarized
  correctly and given one specific apology, and gets angrier when interrupted, given excuses,
  apologized to again and again, or passed on without need, read the way the desk reads it.
- :func:`scorecard`: any conversation (simulated, or a real one from a desk's journal) judged
  item by item with the desk's own policies, each item with its evidence and reason.
- Strategies (:class:`PlaybookStrategy` follows the guidance; :class:`RushingStrategy`,
  :class:`OverApologizingStrategy` and :class:`EscalateEverythingStrategy` show the flaws),
  :func:`play` for one run and :func:`simulate` to compare them all.
- :class:`Roleplay`: the interactive trainer behind ``serviceplaybook roleplay``.

The terminal tables and the HTML report need the ``report`` extra (rich and plotly).
"""

from __future__ import annotations

from serviceplaybook.training._personas import (
    MOODS,
    REACTIONS,
    Demand,
    Persona,
    builtin_personas,
    load_persona,
    load_personas,
    parse_persona,
)
from serviceplaybook.training._scorecard import (
    FAIL,
    ITEMS,
    NOT_APPLICABLE,
    PASS,
    Evidence,
    Scorecard,
    ScorecardJudge,
    ScoreItem,
    explains_limits,
    judge_for,
    scorecard,
    scorecard_averages,
    too_soon,
)
from serviceplaybook.training._simulate import (
    Cell,
    Comparison,
    PersonaPlayer,
    Run,
    play,
    simulate,
)
from serviceplaybook.training._strategies import (
    ACTIONS,
    PHRASES,
    Action,
    EscalateEverythingStrategy,
    OverApologizingStrategy,
    PlaybookStrategy,
    RushingStrategy,
    Strategy,
    Turn,
    strategies,
)

__all__ = [
    "ACTIONS",
    "FAIL",
    "ITEMS",
    "MOODS",
    "NOT_APPLICABLE",
    "PASS",
    "PHRASES",
    "REACTIONS",
    "Action",
    "Cell",
    "Comparison",
    "Demand",
    "EscalateEverythingStrategy",
    "Evidence",
    "OverApologizingStrategy",
    "Persona",
    "PersonaPlayer",
    "PlaybookStrategy",
    "Run",
    "RushingStrategy",
    "ScoreItem",
    "Scorecard",
    "ScorecardJudge",
    "Strategy",
    "Turn",
    "builtin_personas",
    "explains_limits",
    "judge_for",
    "load_persona",
    "load_personas",
    "parse_persona",
    "play",
    "scorecard",
    "scorecard_averages",
    "simulate",
    "strategies",
    "too_soon",
]
