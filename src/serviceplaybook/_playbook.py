"""The playbook: the conversation state machine and the guidance for each stage.

The machine is defined once per :class:`Playbook` class, as :class:`Transition` records, and
built with ``transitions`` (which validates it and draws it). From that machine the playbook
compiles a dispatch table, once per class, and evaluates events against it directly: no
``Machine`` is built and no model registered per conversation, and a conversation stays a
plain immutable record. ``tests/test_playbook_equivalence.py`` proves the table and the
``transitions`` machine agree on every stage, event and guard outcome.

Extend it by subclassing: add stages, transitions, guards (methods returning ``bool``) and
callbacks (methods returning a changed conversation or ``None``)::

    class MyPlaybook(Playbook):
        stages = (*Playbook.stages, "awaiting_customer")
        transitions = (
            *Playbook.transitions,
            Transition(event="wait", source=Stage.RESOLVING, dest="awaiting_customer"),
        )
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

import attrs
from transitions import Machine

from serviceplaybook._errors import ConfigError, IllegalTransition
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.parties import Agent, Role
from serviceplaybook._records.reasons import Guidance
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import aware, non_empty, of_type, read_only

SAME = "="
"""A transition's ``dest`` that keeps the conversation in the stage it is in."""


def _stages(value: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    stages = tuple(value)
    if not stages:
        raise ConfigError("Transition.source must name at least one stage")
    return stages


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen(kw_only=True)
class Transition:
    """One arrow of the state machine.

    Attributes:
        event: the event's name (``"hear"``, ``"propose"``...).
        source: the stage or stages it leaves from.
        dest: the stage it goes to, or :data:`SAME` to stay.
        conditions: names of playbook methods that must all return ``True``.
        unless: names of playbook methods that must all return ``False``.
        after: names of playbook methods called with the new conversation; each may return
            a changed conversation (or ``None`` to keep it).
    """

    event: str = attrs.field(validator=non_empty)
    source: tuple[str, ...] = attrs.field(converter=_stages)
    dest: str = attrs.field(validator=non_empty)
    conditions: tuple[str, ...] = attrs.field(default=(), converter=_names)
    unless: tuple[str, ...] = attrs.field(default=(), converter=_names)
    after: tuple[str, ...] = attrs.field(default=(), converter=_names)


@attrs.frozen(kw_only=True)
class Event:
    """Something that happened in a conversation, as the playbook's guards and callbacks see it.

    Attributes:
        name: the event's name.
        at: when it happened.
        actor: ``"customer"`` or the acting agent's id.
        data: the event's details (``offer_id``, ``agent``...), read-only.
    """

    name: str = attrs.field(validator=non_empty)
    at: datetime = attrs.field(validator=aware)
    actor: str = attrs.field(validator=of_type(str))
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=read_only)


Guard = Callable[[Conversation, Event], object]
Callback = Callable[[Conversation, Event], Conversation | None]


@attrs.frozen
class _Route:
    dest: str | None  # None: stay where the conversation is
    conditions: tuple[tuple[str, Guard], ...]
    unless: tuple[tuple[str, Guard], ...]
    after: tuple[Callback, ...]
    # dest as Conversation.stage stores it, converted once here instead of on every event
    stage: str | None
    # most routes have no guard: _route takes them without a call to _passes
    guarded: bool


def _stored_stage(dest: str | None) -> str | None:
    converter: Any = attrs.fields(Conversation).stage.converter
    if dest is None or converter is None:
        return dest
    try:
        # the converter keeps what it already converted, so attrs.evolve() stores the same stage
        return cast(str, converter(dest))
    except Exception:  # let apply() report a bad stage the way it always did
        return dest


@attrs.frozen
class _Compiled:
    machine: Machine
    # (stage, event) -> candidate routes, in definition order; names are bound per instance
    table: dict[
        tuple[str, str],
        tuple[tuple[str | None, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...],
    ]
    allowed: dict[str, tuple[str, ...]]


_ACTIVE = (Stage.LISTENING, Stage.CLARIFYING, Stage.CONFIRMING, Stage.RESOLVING)
_OPEN = tuple(s for s in Stage if s not in (Stage.CLOSED, Stage.TERMINATED))

# What the upset and abuse guidance says: none of it belongs in a terminated conversation or
# a self-harm disclosure, which get their own words.
EMPATHY_CODES = frozenset(
    {
        "stay_calm",
        "acknowledge_feelings",
        "acknowledge_sarcasm",
        "do_not_propose_yet",
        "set_calm_boundary",
        "boundary_held",
        "acknowledge_repeat_contact",
        "explain_plainly",
        "one_question_at_a_time",
        "acknowledge_calming",
        "own_the_misunderstanding",
    }
)
"""Guidance codes for talking a customer through a difficult moment (empathy, boundaries,
reassurance); a terminated conversation gets none of them."""

_TERMINATED_SIGNAL_CODES = frozenset({"safety_first"})


def _g(code: str, text: str) -> Guidance:
    return Guidance(code=code, text=text)


_REPEAT_CONTACT = _g(
    "acknowledge_repeat_contact",
    "The customer has been in touch before: acknowledge it at once and don't make them "
    "repeat themselves.",
)

_WELLBEING = _g(
    "wellbeing_first",
    "The customer spoke of harming themselves: put the issue aside. Stay with them, listen, "
    "tell them you're glad they said it, share crisis support (a local crisis line or "
    "emergency number), and tell them someone trained to help is joining. Never end the "
    "conversation on them.",
)


class Playbook:
    """The conversation state machine, its guards, callbacks and guidance.

    One instance serves any number of conversations; it holds no per-conversation state.

    Args:
        reopen_window: how long after resolution a conversation may be reopened.
    """

    stages: ClassVar[tuple[str, ...]] = tuple(Stage)
    """Every stage; a subclass appends its own."""

    initial: ClassVar[str] = Stage.GREETING
    """The stage a new conversation starts in."""

    transitions: ClassVar[tuple[Transition, ...]] = (
        Transition(event="hear", source=Stage.GREETING, dest=Stage.LISTENING),
        Transition(event="hear", source=(*_ACTIVE, Stage.ESCALATED), dest=SAME),
        Transition(event="ask", source=(Stage.LISTENING, Stage.CLARIFYING), dest=Stage.CLARIFYING),
        Transition(
            event="summarize", source=(Stage.LISTENING, Stage.CLARIFYING), dest=Stage.CONFIRMING
        ),
        Transition(event="confirm", source=Stage.CONFIRMING, dest=Stage.RESOLVING),
        Transition(event="correct", source=Stage.CONFIRMING, dest=Stage.CLARIFYING),
        # while an escalation waits to be picked up, the agent who has the customer keeps
        # talking to them: a plain message, a question, a summary the customer answers
        Transition(event="say", source=_OPEN, dest=SAME),
        Transition(event="ask", source=Stage.ESCALATED, dest=SAME),
        Transition(event="summarize", source=Stage.ESCALATED, dest=SAME),
        Transition(
            event="confirm", source=Stage.ESCALATED, dest=SAME, conditions="summary_pending"
        ),
        Transition(
            event="correct", source=Stage.ESCALATED, dest=SAME, conditions="summary_pending"
        ),
        Transition(event="apologize", source=(Stage.CONFIRMING, Stage.RESOLVING), dest=SAME),
        Transition(event="propose", source=Stage.RESOLVING, dest=SAME, conditions="is_understood"),
        Transition(event="approve", source=(Stage.RESOLVING, Stage.ESCALATED), dest=SAME),
        Transition(event="decline", source=Stage.RESOLVING, dest=SAME, conditions="offer_is_open"),
        Transition(
            event="accept", source=Stage.RESOLVING, dest=Stage.RESOLVED, conditions="offer_is_open"
        ),
        Transition(event="resolve", source=Stage.RESOLVING, dest=Stage.RESOLVED),
        Transition(event="escalate", source=_ACTIVE, dest=Stage.ESCALATED),
        # a person hands the conversation back to a bot (the ladder decides who may)
        Transition(event="hand_back", source=_ACTIVE, dest=SAME),
        # an SLA escalation step came due: recorded where it happens, the stage stays
        Transition(event="sla_step", source=(Stage.GREETING, *_ACTIVE, Stage.ESCALATED), dest=SAME),
        # an SLA warning or breach found by a check: journaled once each, the stage stays
        Transition(
            event="sla_alert", source=(Stage.GREETING, *_ACTIVE, Stage.ESCALATED), dest=SAME
        ),
        Transition(
            event="pick_up",
            source=Stage.ESCALATED,
            dest=Stage.RESOLVING,
            conditions=("can_pick_up", "is_understood"),
        ),
        Transition(
            event="pick_up",
            source=Stage.ESCALATED,
            dest=Stage.CLARIFYING,
            conditions="can_pick_up",
            unless="is_understood",
        ),
        Transition(event="schedule_follow_up", source=Stage.RESOLVED, dest=Stage.FOLLOWING_UP),
        Transition(event="complete_follow_up", source=Stage.FOLLOWING_UP, dest=Stage.CLOSED),
        Transition(event="close", source=(Stage.RESOLVED, Stage.FOLLOWING_UP), dest=Stage.CLOSED),
        Transition(
            event="reopen",
            source=(Stage.RESOLVED, Stage.FOLLOWING_UP, Stage.CLOSED),
            dest=Stage.LISTENING,
            conditions="within_reopen_window",
        ),
        Transition(
            event="terminate",
            source=tuple(s for s in Stage if s not in (Stage.CLOSED, Stage.TERMINATED)),
            dest=Stage.TERMINATED,
        ),
        # the host's systems learned more about the case (the booking was changed): recorded
        # where it happens, the stage stays
        Transition(
            event="note_facts",
            source=tuple(s for s in Stage if s not in (Stage.CLOSED, Stage.TERMINATED)),
            dest=SAME,
        ),
    )
    """The machine's arrows, in order: for one stage and event, the first whose guards pass
    wins."""

    stage_guidance_texts: ClassVar[Mapping[str, tuple[Guidance, ...]]] = {
        Stage.GREETING: (
            _g(
                "greet_and_introduce",
                "Greet the customer, say your name, and invite them to "
                "explain; don't ignore anything they already wrote.",
            ),
        ),
        Stage.LISTENING: (
            _g(
                "let_them_finish",
                'Let the customer finish; acknowledge briefly ("I see") and take notes.',
            ),
            _g(
                "do_not_propose_yet",
                "Don't propose a fix or defend the company yet: understand the problem first.",
            ),
        ),
        Stage.CLARIFYING: (
            _g(
                "ask_open_questions",
                "Ask open questions to fill the gaps (what, when, what "
                "was tried), one at a time, never ones already answered.",
            ),
        ),
        Stage.CONFIRMING: (
            _g(
                "wait_for_confirmation",
                "You restated the problem and its impact: wait for the "
                "customer's yes before moving on; if they say no, go back to questions.",
            ),
        ),
        Stage.RESOLVING: (
            _g(
                "offer_solutions",
                "Offer concrete solutions, with an alternative when the "
                "first is not possible; explain what you can't do and why.",
            ),
            _g(
                "no_excuses",
                "Solutions, not excuses: the cause matters to the company, not to "
                "the customer's resolution.",
            ),
        ),
        Stage.ESCALATED: (
            _g(
                "warm_handover",
                "Tell the customer who takes over and when; hand over the "
                "whole brief so they never repeat their story.",
            ),
        ),
        Stage.RESOLVED: (
            _g(
                "confirm_satisfaction",
                "Confirm the customer is satisfied and say what happens next.",
            ),
        ),
        Stage.FOLLOWING_UP: (
            _g(
                "check_fix_worked",
                "When following up, check the fix worked and ask for "
                "feedback; a reply or a reopen cancels the follow-up.",
            ),
        ),
        Stage.CLOSED: (
            _g(
                "learn_from_it",
                "Note what this conversation teaches about the product or the process.",
            ),
        ),
        Stage.TERMINATED: (
            _g(
                "record_and_protect",
                "Keep an accurate record of what happened; safety and security come first.",
            ),
        ),
    }
    """Advice for each stage, from the craft; override :meth:`stage_guidance` or extend this."""

    def __init__(self, *, reopen_window: timedelta = timedelta(days=14)) -> None:
        self.reopen_window = reopen_window
        compiled = type(self)._compile()
        self._allowed = compiled.allowed
        self._routes: dict[tuple[str, str], tuple[_Route, ...]] = {
            key: tuple(
                _Route(
                    dest=dest,
                    conditions=tuple((name, getattr(self, name)) for name in conditions),
                    unless=tuple((name, getattr(self, name)) for name in unless),
                    after=tuple(getattr(self, name) for name in after),
                    stage=_stored_stage(dest),
                    guarded=bool(conditions or unless),
                )
                for dest, conditions, unless, after in candidates
            )
            for key, candidates in compiled.table.items()
        }

    # -- the machine -------------------------------------------------------------------------

    @classmethod
    def _compile(cls) -> _Compiled:
        cached = cls.__dict__.get("_compiled")
        if isinstance(cached, _Compiled):
            return cached
        compiled = cls._build()
        cls._compiled = compiled  # type: ignore[attr-defined]
        return compiled

    @classmethod
    def _definition(cls) -> list[dict[str, Any]]:
        for transition in cls.transitions:
            for name in (*transition.conditions, *transition.unless, *transition.after):
                if "." in name or not callable(getattr(cls, name, None)):
                    raise ConfigError(
                        f"{cls.__name__}: transition {transition.event!r} names {name!r}, which "
                        f"is not a method of the playbook; guards and callbacks are method "
                        f"names (no dots)"
                    )
        return [
            {
                "trigger": t.event,
                # plain strings: transitions names Enum states by member name, not value
                "source": [str(stage) for stage in t.source],
                "dest": str(t.dest),
                "conditions": list(t.conditions),
                "unless": list(t.unless),
                "after": list(t.after),
            }
            for t in cls.transitions
        ]

    @classmethod
    def _build(cls) -> _Compiled:
        if len(set(cls.stages)) != len(cls.stages):
            raise ConfigError(f"{cls.__name__}.stages names a stage twice: {cls.stages}")
        if cls.initial not in cls.stages:
            raise ConfigError(
                f"{cls.__name__}.initial {cls.initial!r} is not one of its stages: {cls.stages}"
            )
        definition = cls._definition()
        try:
            machine = Machine(
                model=None,
                states=[str(s) for s in cls.stages],
                initial=str(cls.initial),
                transitions=definition,
                auto_transitions=False,
            )
        except (ValueError, KeyError) as error:
            raise ConfigError(f"{cls.__name__} does not define a valid machine: {error}") from None
        known = set(cls.stages)
        for transition in cls.transitions:
            for stage in (*transition.source, transition.dest):
                if stage != SAME and stage not in known:
                    raise ConfigError(
                        f"{cls.__name__}: transition {transition.event!r} names stage "
                        f"{stage!r}, which is not in {cls.__name__}.stages"
                    )
        # Read the table back from the machine, so transitions stays the one definition.
        table: dict[
            tuple[str, str],
            list[tuple[str | None, tuple[str, ...], tuple[str, ...], tuple[str, ...]]],
        ] = {}
        for event_name, event in machine.events.items():
            for source, candidates in event.transitions.items():
                for candidate in candidates:
                    table.setdefault((source, event_name), []).append(
                        (
                            candidate.dest,
                            tuple(str(c.func) for c in candidate.conditions if c.target),
                            tuple(str(c.func) for c in candidate.conditions if not c.target),
                            tuple(str(name) for name in candidate.after),
                        )
                    )
        allowed: dict[str, set[str]] = {}
        for source, event_name in table:
            allowed.setdefault(source, set()).add(event_name)
        return _Compiled(
            machine=machine,
            table={key: tuple(value) for key, value in table.items()},
            allowed={stage: tuple(sorted(allowed.get(stage, ()))) for stage in cls.stages},
        )

    def allowed_events(self, stage: str) -> tuple[str, ...]:
        """The events ``stage`` allows (before guards), sorted."""
        return self._allowed.get(stage, ())

    def next_stage(self, conversation: Conversation, event: Event) -> str:
        """The stage ``event`` moves ``conversation`` to; raises :class:`IllegalTransition`."""
        route = self._route(conversation, event)
        return conversation.stage if route.dest is None else route.dest

    def can(self, conversation: Conversation, event: Event) -> bool:
        """True if ``event`` is possible now (stage and guards)."""
        try:
            self._route(conversation, event)
        except IllegalTransition:
            return False
        return True

    def apply(self, conversation: Conversation, event: Event, **changes: Any) -> Conversation:
        """Move ``conversation`` through ``event``: the next record, one version on.

        ``changes`` are the event's other effects (a new message, an offer...), applied in the
        same step; the ``after`` callbacks then see the new record. Raises
        :class:`IllegalTransition` (and changes nothing) when the stage or a guard refuses.
        """
        route = self._route(conversation, event)
        if route.stage is not None:
            changes["stage"] = route.stage
        changes["version"] = conversation.version + 1
        changes["updated_at"] = event.at
        updated = attrs.evolve(conversation, **changes)
        for callback in route.after:
            result = callback(updated, event)
            if result is not None:
                updated = result
        return updated

    def _route(self, conversation: Conversation, event: Event) -> _Route:
        routes = self._routes.get((conversation.stage, event.name))
        if routes is None:
            raise IllegalTransition(
                conversation.stage, event.name, self.allowed_events(conversation.stage)
            )
        failed: list[str] = []
        for route in routes:
            if not route.guarded or self._passes(route, conversation, event, failed):
                return route
        raise IllegalTransition(
            conversation.stage,
            event.name,
            self.allowed_events(conversation.stage),
            failed_guards=dict.fromkeys(failed),
        )

    @staticmethod
    def _passes(route: _Route, conversation: Conversation, event: Event, failed: list[str]) -> bool:
        for expected, guards in ((True, route.conditions), (False, route.unless)):
            for name, guard in guards:
                result = guard(conversation, event)
                if result is not expected:
                    if not isinstance(result, bool):
                        raise ConfigError(
                            f"guard {name!r} returned {result!r}; guards must return True or False"
                        )
                    failed.append(name if expected else f"not {name}")
                    return False
        return True

    @classmethod
    def diagram(cls) -> str:
        """The machine as a Mermaid state diagram (no Graphviz needed)."""
        from transitions.extensions.diagrams import GraphMachine

        class _Sketch:
            pass

        machine = GraphMachine(
            model=_Sketch(),
            states=[str(s) for s in cls.stages],
            initial=str(cls.initial),
            transitions=cls._definition(),
            auto_transitions=False,
            graph_engine="mermaid",
            show_conditions=True,
            title=cls.__name__,
        )
        source = str(cast(Any, machine.get_combined_graph()).source)
        # The engine styles the sketch model's current stage; a playbook has none, so drop
        # the styling and keep the structure.
        kept = [
            line.rstrip()
            for line in source.splitlines()
            if not line.strip().startswith(("Class ", "classDef "))
        ]
        return "\n".join(kept) + "\n"

    @classmethod
    def problems(cls, *, base: type[Playbook] | None = None) -> tuple[tuple[str, str], ...]:
        """Everything wrong with this playbook class, all at once; empty when it is sound.

        Check a playbook subclassed in code (the playbook file checks the class it builds
        the same way) before a desk uses it; constructing it raises on the first problem only.

        First the names, each unknown one with a did-you-mean: a stage listed twice, an
        ``initial`` that is not a stage, a stage or a guard or callback method a transition
        names that the class does not have, guidance for a stage it does not have. When
        every name is known, the machine is compiled (what ``transitions`` refuses is a
        problem), and each stage the class adds to ``base`` must be reachable from
        ``initial`` and must lead back to a stage of ``base``: otherwise no conversation can
        get there, or a customer who gets there is stuck.

        Args:
            base: the class whose stages are taken as they are; the stages ``cls`` has beyond
                them are the ones checked for a way in and a way out. Default: ``Playbook``.

        Returns:
            ``(where, message)`` pairs in definition order. ``where`` names the class
            attribute at fault, items by index: ``"stages[10]"``, ``"initial"``,
            ``"transitions[12].source[0]"``, ``"transitions[12].dest"``,
            ``"transitions[12].conditions[1]"`` (``unless`` and ``after`` alike),
            ``"stage_guidance_texts['on_hold']"``; or ``""`` for the machine as a whole.
        """
        import difflib

        def unknown(noun: str, name: str, known: list[str], listed: str) -> str:
            name = str(name)
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"unknown {noun} {name!r}{hint}; {listed}: {', '.join(known)}"

        found: list[tuple[str, str]] = []
        stages = [str(stage) for stage in cls.stages]
        for index, stage in enumerate(stages):
            if stage in stages[:index]:
                found.append((f"stages[{index}]", f"{stage!r} is listed twice"))
        if str(cls.initial) not in stages:
            found.append(
                ("initial", f"{str(cls.initial)!r} is not one of its stages: {', '.join(stages)}")
            )
        methods = sorted(
            name for name in dir(cls) if not name.startswith("_") and callable(getattr(cls, name))
        )
        for index, transition in enumerate(cls.transitions):
            where = f"transitions[{index}]"
            for number, stage in enumerate(transition.source):
                if stage not in stages:
                    found.append(
                        (f"{where}.source[{number}]", unknown("stage", stage, stages, "stages"))
                    )
            if transition.dest != SAME and transition.dest not in stages:
                found.append((f"{where}.dest", unknown("stage", transition.dest, stages, "stages")))
            for name in ("conditions", "unless", "after"):
                for number, method in enumerate(getattr(transition, name)):
                    if "." in method or not callable(getattr(cls, method, None)):
                        listed = (
                            f"{name} name methods of {cls.__name__} (a subclass may add its own)"
                        )
                        found.append(
                            (
                                f"{where}.{name}[{number}]",
                                unknown("method", method, methods, listed),
                            )
                        )
        for stage in cls.stage_guidance_texts:
            if str(stage) not in stages:
                found.append(
                    (
                        f"stage_guidance_texts[{str(stage)!r}]",
                        unknown("stage", stage, stages, "stages"),
                    )
                )
        if found:
            return tuple(found)
        try:
            table = cls._compile().table  # cached on the class: the table every desk call uses
        except (ConfigError, ValueError) as error:
            return (("", str(error)),)
        arrows: dict[str, set[str]] = {}
        for (source, _event), candidates in table.items():
            arrows.setdefault(source, set()).update(
                source if dest is None else dest for dest, *_guards in candidates
            )

        def reachable(start: str) -> set[str]:
            seen, todo = {start}, [start]
            while todo:
                for stage in arrows.get(todo.pop(), ()):
                    if stage not in seen:
                        seen.add(stage)
                        todo.append(stage)
            return seen

        known = {str(stage) for stage in (base or Playbook).stages}
        added = {stage for stage in stages if stage not in known}
        from_start = reachable(str(cls.initial))
        for index, stage in enumerate(stages):
            if stage not in added:
                continue
            if stage not in from_start:
                found.append(
                    (
                        f"stages[{index}]",
                        f"no transition reaches {stage!r} from {str(cls.initial)!r}",
                    )
                )
            if reachable(stage) <= added:
                found.append(
                    (
                        f"stages[{index}]",
                        f"no transition leads out of {stage!r}: a customer would be stuck there",
                    )
                )
        return tuple(found)

    # -- guards --------------------------------------------------------------------------------

    def is_understood(self, conversation: Conversation, event: Event) -> bool:
        """The customer confirmed the agent's summary of the problem."""
        return conversation.understood

    def summary_pending(self, conversation: Conversation, event: Event) -> bool:
        """The agent gave a summary the customer has not answered yet (while an escalation
        waits, a confirm or a correction needs one to answer)."""
        return conversation.summary is not None and not conversation.understood

    def offer_is_open(self, conversation: Conversation, event: Event) -> bool:
        """The offer named by the event (``offer_id``) is on the table."""
        offer_id = event.data.get("offer_id")
        return any(p.offer.id == offer_id and p.is_open for p in conversation.offers)

    def can_pick_up(self, conversation: Conversation, event: Event) -> bool:
        """The agent taking over (``agent``) is a person at or above the escalation's target,
        and not below the current owner: escalation never steps down."""
        agent = event.data.get("agent")
        if not isinstance(agent, Agent) or agent.is_bot:
            return False
        target = conversation.escalations[-1].to if conversation.escalations else None
        if target is Role.SECURITY or agent.role is Role.SECURITY:
            return target is Role.SECURITY and agent.role is Role.SECURITY
        if target is not None and agent.role < target:
            return False
        current = conversation.agent.role
        return current is Role.SECURITY or agent.role >= current

    def within_reopen_window(self, conversation: Conversation, event: Event) -> bool:
        """The conversation was resolved recently enough to reopen it."""
        since = conversation.resolved_at or conversation.closed_at or conversation.updated_at
        return event.at - since <= self.reopen_window

    # -- guidance ------------------------------------------------------------------------------

    def guidance(
        self, conversation: Conversation, signals: Signals | None = None
    ) -> tuple[Guidance, ...]:
        """The recommended next steps: what the signals call for first, then the stage's.

        A terminated conversation gets only what safety and the record need: none of the
        empathy scripts of :data:`EMPATHY_CODES`, whatever the last message said.
        """
        called_for = self.signal_guidance(conversation, signals)
        if conversation.stage == Stage.TERMINATED:
            called_for = [g for g in called_for if g.code in _TERMINATED_SIGNAL_CODES]
        for_stage = self.stage_guidance(conversation)
        if not called_for and type(for_stage) is tuple and len(for_stage) < 2:
            return tuple(for_stage)  # a calm message in most stages: nothing to deduplicate
        steps = [*called_for, *for_stage]
        return tuple({step.code: step for step in steps}.values())

    def stage_guidance(self, conversation: Conversation) -> tuple[Guidance, ...]:
        """Advice for the conversation's stage, and for where it stands in it: a second
        failed summary, a self-harm disclosure waiting for the trained team."""
        texts = self.stage_guidance_texts.get(conversation.stage, ())
        if conversation.stage == Stage.CLARIFYING and conversation.corrections >= 2:
            return (
                _g(
                    "own_the_misunderstanding",
                    "That is the second summary the customer said was wrong: own the "
                    "misunderstanding (\"I've got this wrong, I'm sorry\") and ask them to put "
                    "the problem in their own words; don't guess a third time.",
                ),
                *texts,
            )
        if conversation.stage == Stage.ESCALATED and any(
            "self_harm" in decision.codes for decision in conversation.escalations[-1:]
        ):
            return (_WELLBEING, *texts)
        if self.back_after_resolution(conversation):
            return (_REPEAT_CONTACT, *texts)
        return texts

    def back_after_resolution(self, conversation: Conversation) -> bool:
        """True from a reopen until the agent's first message after it: the customer is back
        about the same problem, which the agent acknowledges at once."""
        reopened = conversation.reopened_at
        if reopened is None or conversation.stage != Stage.LISTENING:
            return False
        messages = conversation.messages
        # the customer's words at the reopen place it in the conversation (times may tie)
        for index in range(len(messages) - 1, -1, -1):
            message = messages[index]
            if message.from_customer and message.at == reopened:
                return all(later.from_customer for later in messages[index + 1 :])
        return not any(not m.from_customer and m.at > reopened for m in messages)

    def signal_guidance(
        self, conversation: Conversation, signals: Signals | None
    ) -> list[Guidance]:
        """Advice that the customer's latest message calls for.

        Each moment gets its own words: a self-harm disclosure the well-being script (never
        the threat or frustration wording), a threat safety first, a first abusive message a
        calm boundary and abuse after it the handover, sarcasm and confusion their own
        acknowledgement, a customer calming down a brief thanks.
        """
        if signals is None:
            return []
        steps: list[Guidance] = []
        if not signals.assessed:
            steps.append(
                _g(
                    "read_it_yourself",
                    f"The detector cannot read this message (language {signals.language!r}): "
                    "read it yourself for anger, threats, self-harm or a request for a "
                    "manager before you answer.",
                )
            )
        if signals.self_harm:
            # Care, not security wording and not "frustrating": nothing else comes first.
            return [*steps, _WELLBEING]
        if signals.threat:
            steps.append(
                _g(
                    "safety_first",
                    "The customer made a threat: stop, put safety "
                    "first, and follow the security procedure.",
                )
            )
        if signals.abusive:
            if self.boundary_set(conversation, signals):
                steps.append(
                    _g(
                        "boundary_held",
                        "The abuse went on after the boundary: a supervisor is taking over. "
                        "Stay calm, don't argue or repeat the warning; tell the customer who "
                        "joins.",
                    )
                )
            else:
                steps.append(
                    _g(
                        "set_calm_boundary",
                        "Don't take it personally; calmly say you want to help and that the "
                        "conversation must stay respectful.",
                    )
                )
        if signals.upset or signals.abusive:
            steps.append(
                _g("stay_calm", "Stay calm and lower your pace; don't mirror the customer's anger.")
            )
            if signals.sarcastic:
                steps.append(
                    _g(
                        "acknowledge_sarcasm",
                        "The sarcasm is anger: acknowledge the frustration behind it plainly, "
                        "as you would a complaint; don't answer the literal words or joke back.",
                    )
                )
            steps.append(
                _g(
                    "acknowledge_feelings",
                    "Acknowledge the feeling before the facts "
                    '("I can hear how frustrating this has been"); empathy is not '
                    "agreement.",
                )
            )
            if not conversation.understood:
                steps.append(
                    _g(
                        "do_not_propose_yet",
                        "Don't propose a fix or defend the "
                        "company yet: understand the problem first.",
                    )
                )
        if signals.repeat_contact:
            steps.append(_REPEAT_CONTACT)
        if signals.wants_manager:
            steps.append(
                _g(
                    "say_what_you_can_do",
                    "Before the handover, say plainly what you can do for them yourself "
                    "right now; they may not need to wait.",
                )
            )
            steps.append(
                _g(
                    "explain_escalation",
                    "The customer asked for a manager: say who "
                    "will take over and when, and hand over the whole story.",
                )
            )
        if signals.legal_threat:
            steps.append(
                _g(
                    "note_legal_mention",
                    "The customer mentioned legal action: stay "
                    "factual, don't argue, and follow the company's legal process.",
                )
            )
        if signals.confused:
            steps.append(
                _g(
                    "explain_plainly",
                    "The customer is confused: reassure them it is not their fault and "
                    "explain in plain words, without jargon.",
                )
            )
            steps.append(
                _g(
                    "one_question_at_a_time",
                    "Ask one question at a time and wait for the answer before the next.",
                )
            )
        if signals.calming and not signals.upset and not signals.abusive:
            steps.append(
                _g(
                    "acknowledge_calming",
                    "The customer is calming down: thank them briefly, don't dwell on what "
                    "was said before, and carry on with the problem.",
                )
            )
        return steps

    def boundary_set(self, conversation: Conversation, signals: Signals | None = None) -> bool:
        """True when an earlier customer message was abusive: the agent was told to set a
        calm boundary then, so this abuse comes after it."""
        return conversation.abusive_before(signals)
