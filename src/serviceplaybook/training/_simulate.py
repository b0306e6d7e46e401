"""Playing a persona against an agent on a real in-memory desk: the persona reacts to what the
agent does, read the way the desk reads it (the draft review's findings, the apology and
escalation policies), seeded and reproducible."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from statistics import mean

import attrs

from serviceplaybook._desk import Outcome, ServiceDesk
from serviceplaybook._errors import PlaybookError
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.money import Money
from serviceplaybook._records.offers import Offer, OfferKind, OfferStatus
from serviceplaybook._records.parties import Agent, Role
from serviceplaybook._records.refusals import ApprovalRequired
from serviceplaybook._records.stage import Stage
from serviceplaybook.testing import FakeClock, SequentialIds
from serviceplaybook.training._personas import MOODS, Persona
from serviceplaybook.training._scorecard import (
    APOLOGY_FINDINGS,
    ITEMS,
    Scorecard,
    explains_limits,
    judge_for,
    too_soon,
)
from serviceplaybook.training._strategies import Action, Strategy, Turn

ENDED = (Stage.RESOLVED, Stage.FOLLOWING_UP, Stage.CLOSED, Stage.TERMINATED)

_EXCUSES = frozenset({"excuse", "blame_shifting"})


def _worth(offer: Offer, order_value: Money | None) -> Money | None:
    if offer.value is not None:
        return offer.value
    if offer.kind in (OfferKind.REFUND, OfferKind.REPLACEMENT):
        return order_value
    return None


class PersonaPlayer:
    """One persona in one conversation: its mood, what it has told, and its replies.

    It calms when listened to (a question or an acknowledgement before any proposal), when
    summarized correctly (the summary names its key facts) and at the first specific apology;
    it gets angrier when interrupted (a fix before the problem is confirmed, as the draft
    review reads it), given excuses, apologized to again and again, or passed to someone else
    without need (before the agent confirmed the problem and tried)."""

    def __init__(self, persona: Persona, rng: random.Random) -> None:
        self.persona = persona
        self.rng = rng
        self.mood = persona.mood
        self.told = 0
        self.apologies = 0
        self.agent_turns = 0
        self.demanded = False
        self.disclosed = False
        self.calmed = False
        self.explained = False
        self.notes: list[str] = []

    @property
    def demand(self) -> Offer | None:
        return self.persona.demand.offer if self.persona.demand and self.demanded else None

    def pick(self, lines: Sequence[str]) -> str:
        return lines[self.rng.randrange(len(lines))]

    def line(self, reaction: str) -> str:
        return self.pick(self.persona.lines[reaction])

    def mood_line(self) -> str:
        return self.pick(self.persona.moods[MOODS[self.mood]])

    def opening(self) -> str:
        return self.pick(self.persona.opening)

    def detail(self) -> str | None:
        if self.told >= len(self.persona.details):
            return None
        detail = self.persona.details[self.told]
        self.told += 1
        self.notes.append(detail)
        return detail

    def shift(self, by: int) -> None:
        before = self.mood
        self.mood = max(0, min(len(MOODS) - 1, self.mood + by))
        if before >= 3 and self.mood <= 2:
            self.calmed = True

    def read(self, action: Action, findings: Iterable[str], tossed: bool, gave: bool) -> str:
        """What the persona makes of the agent's move, as one word, and its mood shift."""
        codes = set(findings)
        if action.kind == "apologize":
            if not gave:
                return "nothing"
            self.apologies += 1
            if self.apologies > 1:
                self.shift(+1)
                return "over_apology"
            self.shift(-1)
            return "apologized"
        if tossed:
            self.shift(+2)
            return "tossed"
        if "fix_before_confirmed" in codes:
            self.shift(+1)
            return "interrupted"
        if codes & _EXCUSES:
            self.shift(+1)
            return "excuse"
        if codes & APOLOGY_FINDINGS:
            self.shift(+1)
            return "over_apology"
        if "no_acknowledgement" in codes:
            self.shift(+1)
            return "ignored"
        if action.kind in ("say", "ask") and action.text and explains_limits(action.text):
            self.explained = True
            return "explained"
        if action.kind == "ask" or action.kind == "say":
            self.shift(-1)
            return "listened"
        return "other"

    def reply(self, read: str, stage: str) -> str:
        """The customer's next words after the agent's move was read as ``read``."""
        self.agent_turns += 1
        persona = self.persona
        if (
            persona.self_harm_after is not None
            and not self.disclosed
            and self.agent_turns >= persona.self_harm_after
        ):
            self.disclosed = True
            return self.pick(persona.disclosure)
        parts: list[str] = []
        if read in ("interrupted", "excuse", "over_apology", "tossed"):
            parts.append(self.line(read))
            if self.mood == len(MOODS) - 1:
                parts.append(self.mood_line())  # pushed to the edge, they say so
        elif self.calmed:
            self.calmed = False
            parts.append(self.line("calming"))
        elif read != "listened" or self.mood >= 2 or self.told >= len(persona.details):
            parts.append(self.mood_line())
        if read in ("listened", "explained") and (detail := self.detail()) is not None:
            parts.append(detail)
        if stage == Stage.RESOLVING and persona.demand is not None and not self.demanded:
            self.demanded = True
            parts.append(self.pick(persona.demand.lines))
        return " ".join(parts)

    def answer_summary(self, summary: str) -> tuple[bool, str]:
        """Confirm (True) a summary that names the key facts, or correct it."""
        if self.persona.names_facts(summary):
            self.shift(-1)
            words = self.line("confirm")
            if self.persona.demand is not None and not self.demanded:
                self.demanded = True
                words = f"{words} {self.pick(self.persona.demand.lines)}"
            return True, words
        detail = self.detail() or self.pick(self.persona.details)
        return False, f"{self.line('correct')} {detail}"

    def takes(self, offer: Offer, order_value: Money | None) -> bool:
        """Accept ``offer`` when calm enough and it is worth enough."""
        if self.mood >= self.persona.patience:
            return False
        least = self.persona.accept_at
        if self.explained and self.persona.accept_explained is not None:
            least = self.persona.accept_explained
        if least is None:
            return True
        worth = _worth(offer, order_value)
        return worth is not None and worth.currency == least.currency and worth >= least


@attrs.frozen(kw_only=True)
class Run:
    """One simulated conversation: who played, how it ended, the record and the scorecard.

    ``ending`` is ``resolved``, ``terminated``, ``safety`` (handed to the people trained for a
    self-harm disclosure), or ``gave_up`` (out of turns)."""

    persona: str
    strategy: str
    seed: int
    ending: str
    mood: str
    conversation: Conversation
    history: tuple[JournalEntry, ...]
    scorecard: Scorecard

    @property
    def score(self) -> float:
        return self.scorecard.score


class _Game:
    def __init__(
        self, persona: Persona, strategy: Strategy, seed: int, desk: ServiceDesk, clock: FakeClock
    ) -> None:
        self.persona = persona
        self.strategy = strategy
        self.seed = seed
        self.desk = desk
        self.clock = clock
        self.player = PersonaPlayer(persona, random.Random(f"{seed}:{persona.name}"))
        self.refused: str | None = None  # why the desk refused the last move, if it did

    def tick(self) -> None:
        self.clock.advance(timedelta(minutes=1))

    def turn(self, outcome: Outcome) -> Turn:
        return Turn(
            desk=self.desk,
            conversation_id=outcome.conversation.id,
            outcome=outcome,
            notes=tuple(self.player.notes),
            demand=self.player.demand,
            language=self.persona.language,
        )

    def pick_up(self, conversation: Conversation) -> Outcome:
        role = conversation.escalations[-1].to if conversation.escalations else Role.SUPERVISOR
        self.tick()
        return self.desk.pick_up(conversation.id, Agent(id=f"{role.value}-1", role=role))

    def open(self, agent: Agent | None = None) -> Outcome:
        """Open the conversation and let the customer say their first words."""
        conversation = self.desk.open(
            customer=self.persona.customer,
            issue=self.persona.issue,
            agent=agent or Agent(id="agent-1", role=Role.AGENT),
        )
        self.tick()
        return self.desk.hear(conversation.id, self.player.opening())

    def play(self, max_turns: int) -> Outcome:
        outcome = self.open()
        cid = outcome.conversation.id
        waited = 0
        for _ in range(max_turns):
            conversation = outcome.conversation
            if conversation.stage in ENDED or conversation.agent.role is Role.SECURITY:
                break
            action = self.strategy.act(self.turn(outcome))
            if conversation.stage == Stage.ESCALATED and (action.kind == "wait" or waited >= 2):
                outcome, waited = self.pick_up(conversation), 0
                continue
            if conversation.stage == Stage.ESCALATED:
                waited += 1
            outcome = self.move(cid, outcome, action)
        return outcome

    def move(self, cid: str, outcome: Outcome, action: Action) -> Outcome:
        """Apply the agent's move on the desk, then the persona's answer."""
        desk, player = self.desk, self.player
        before = outcome.conversation
        self.tick()
        findings: tuple[str, ...] = ()
        gave = False
        self.refused = None
        try:
            if action.kind in ("say", "ask", "summarize"):
                text = action.text or "..."
                findings = tuple(f.code for f in desk.review(cid, text))
                outcome = getattr(desk, action.kind)(cid, text)
            elif action.kind == "apologize":
                outcome = desk.apologize(cid)
                gave = outcome.apology is not None
            elif action.kind == "propose" and action.offer is not None:
                try:
                    outcome = desk.propose(cid, action.offer)
                except ApprovalRequired as waiting:
                    role = waiting.approver_role
                    approver = Agent(id=f"{role.value}-approver", role=role)
                    outcome = desk.approve(cid, waiting.approval_id, approver)
            elif action.kind == "escalate":
                outcome = desk.escalate(cid, action.text)
            elif action.kind == "resolve":
                return desk.resolve(cid, action.text)
            # anything else ("wait" outside an escalation) says nothing to the customer
        except PlaybookError as error:
            # a move the desk refuses says nothing to the customer; they wait, less patient
            self.refused = str(error)
            player.shift(+1)
            self.tick()
            return self.hear(cid, outcome, player.mood_line())
        conversation = outcome.conversation
        if conversation.stage in ENDED:
            return outcome
        tossed = action.kind == "escalate" and too_soon(self.desk.escalation, before)
        read = player.read(action, findings, tossed, gave)
        self.tick()
        if action.kind == "summarize" and conversation.stage in (
            Stage.CONFIRMING,
            Stage.ESCALATED,
        ):
            confirmed, words = player.answer_summary(action.text or "")
            if confirmed:
                return desk.confirm(cid, words)
            return desk.correct(cid, words)
        if action.kind == "propose" and action.offer is not None:
            proposed = conversation.offer(action.offer.id)
            if proposed.status is OfferStatus.OPEN:
                if player.takes(action.offer, conversation.issue.order_value):
                    return desk.accept(cid, action.offer.id, player.line("accept"))
                return desk.decline(cid, action.offer.id, player.line("decline"))
        return self.hear(cid, outcome, player.reply(read, str(conversation.stage)))

    def hear(self, cid: str, outcome: Outcome, text: str) -> Outcome:
        if outcome.conversation.stage in ENDED:
            return outcome
        return self.desk.hear(cid, text)


def play(
    persona: Persona,
    strategy: Strategy,
    *,
    seed: int = 0,
    max_turns: int = 16,
    desk: Callable[[FakeClock], ServiceDesk] | None = None,
) -> Run:
    """Play ``persona`` against ``strategy`` once on a fresh in-memory desk (or the desk
    ``desk(clock)`` builds) and score the conversation. The same seed gives the same run."""
    clock = FakeClock()
    service = (
        desk(clock)
        if desk is not None
        else ServiceDesk.in_memory(clock=clock, ids=SequentialIds(f"sim{seed}"))
    )
    game = _Game(persona, strategy, seed, service, clock)
    outcome = game.play(max_turns)
    conversation = outcome.conversation
    history = tuple(service.history(conversation.id))
    if conversation.stage == Stage.TERMINATED:
        ending = "terminated"
    elif conversation.stage in ENDED:
        ending = "resolved"
    elif conversation.agent.role is Role.SECURITY or any(
        "self_harm" in d.codes for d in conversation.escalations
    ):
        ending = "safety"
    else:
        ending = "gave_up"
    card = judge_for(service).score(conversation, history)
    return Run(
        persona=persona.name,
        strategy=strategy.name,
        seed=seed,
        ending=ending,
        mood=MOODS[game.player.mood],
        conversation=conversation,
        history=history,
        scorecard=card,
    )


@attrs.frozen(kw_only=True)
class Cell:
    """One strategy against one persona, over several runs."""

    strategy: str
    persona: str
    runs: int
    score: float
    endings: Mapping[str, int]
    items: Mapping[str, float]  # item code -> share of runs it passed where it applied

    @property
    def resolved(self) -> float:
        return self.endings.get("resolved", 0) / self.runs if self.runs else 0.0


@attrs.frozen(kw_only=True)
class Comparison:
    """Every strategy against every persona: a cell per pair, and each strategy's mean."""

    cells: tuple[Cell, ...]
    strategies: tuple[str, ...]
    personas: tuple[str, ...]
    runs: int
    seed: int

    def cell(self, strategy: str, persona: str) -> Cell:
        for cell in self.cells:
            if cell.strategy == strategy and cell.persona == persona:
                return cell
        raise KeyError(f"no cell for strategy {strategy!r} and persona {persona!r}")

    def mean(self, strategy: str) -> float:
        return round(mean(c.score for c in self.cells if c.strategy == strategy), 1)

    def item_rate(self, strategy: str, item: str) -> float | None:
        rates = [c.items[item] for c in self.cells if c.strategy == strategy and item in c.items]
        return round(mean(rates), 3) if rates else None


def _cell(strategy: str, persona: str, runs: Sequence[Run]) -> Cell:
    endings: dict[str, int] = {}
    for run in runs:
        endings[run.ending] = endings.get(run.ending, 0) + 1
    items: dict[str, float] = {}
    for code in ITEMS:
        judged = [r.scorecard.item(code) for r in runs if r.scorecard.item(code).applies]
        if judged:
            items[code] = sum(1 for i in judged if i.passed) / len(judged)
    score = float(Decimal(str(mean(r.score for r in runs))).quantize(Decimal("0.1")))
    return Cell(
        strategy=strategy,
        persona=persona,
        runs=len(runs),
        score=score,
        endings=endings,
        items=items,
    )


def simulate(
    personas: Iterable[Persona],
    strategies: Iterable[Strategy],
    *,
    runs: int = 5,
    seed: int = 0,
    max_turns: int = 16,
    progress: Callable[[Run], None] | None = None,
) -> Comparison:
    """Play every strategy against every persona ``runs`` times (seeds ``seed`` to
    ``seed + runs - 1``) and compare. ``progress`` is called after each run."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    personas, strategies = list(personas), list(strategies)
    cells = []
    for strategy in strategies:
        for persona in personas:
            played = []
            for number in range(runs):
                run = play(persona, strategy, seed=seed + number, max_turns=max_turns)
                played.append(run)
                if progress is not None:
                    progress(run)
            cells.append(_cell(strategy.name, persona.name, played))
    return Comparison(
        cells=tuple(cells),
        strategies=tuple(s.name for s in strategies),
        personas=tuple(p.name for p in personas),
        runs=runs,
        seed=seed,
    )
