"""The interactive trainer: a trainee plays the agent against a persona in the terminal, sees
the desk's guidance and the draft review of every reply as the conversation goes, and gets
the scorecard at the end."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from serviceplaybook._desk import Outcome, ServiceDesk
from serviceplaybook._errors import PlaybookError
from serviceplaybook._records.offers import Offer
from serviceplaybook._records.parties import Role
from serviceplaybook._records.stage import Stage
from serviceplaybook.testing import FakeClock, SequentialIds
from serviceplaybook.training._personas import MOODS, Persona
from serviceplaybook.training._scorecard import Scorecard, judge_for
from serviceplaybook.training._simulate import ENDED, _Game
from serviceplaybook.training._strategies import Action, PlaybookStrategy, Turn

HELP = """\
Type your reply and press Enter: it is sent to the customer (a reply ending in '?' while
you are still finding out what happened is a question). Commands:
  /summary TEXT   reflect the problem back; the customer confirms or corrects it
  /apologize      apologize (the desk composes it from the confirmed summary)
  /offers         the offers the desk recommends, and whether you may make them alone
  /offer N        propose offer N of /offers
  /counter        what the desk suggests for the customer's demand, and what to tell them
  /escalate WHY   hand the conversation up the ladder
  /resolve NOTE   the problem is fixed without an offer
  /hint           what an agent following the playbook would do now
  /wait           (while escalated) let your colleague take over
  /quit           stop and see the scorecard
"""

SIGNAL_NAMES = (
    "abusive",
    "threat",
    "self_harm",
    "legal_threat",
    "wants_manager",
    "repeat_contact",
    "shouting",
    "sarcastic",
    "confused",
    "calming",
    "asks_for_compensation",
)


class Roleplay:
    """One role-play: a persona on a fresh in-memory desk, driven one trainee move at a time.

    ``start()`` opens the conversation with the customer's first words; ``act(action)`` sends
    the trainee's move and returns the desk's outcome after the customer answered; when the
    conversation is over (:attr:`finished`), :meth:`scorecard` judges it."""

    def __init__(self, persona: Persona, *, seed: int = 0) -> None:
        self.persona = persona
        self.clock = FakeClock()
        self.desk = ServiceDesk.in_memory(clock=self.clock, ids=SequentialIds("roleplay"))
        self.game = _Game(persona, PlaybookStrategy(), seed, self.desk, self.clock)
        self.outcome: Outcome | None = None
        self.waited = 0
        self.handed_over = False

    @property
    def conversation_id(self) -> str:
        if self.outcome is None:
            raise RuntimeError("start() the role-play first")
        return self.outcome.conversation.id

    def start(self) -> Outcome:
        self.outcome = self.game.open()
        return self.outcome

    @property
    def finished(self) -> bool:
        if self.outcome is None:
            return False
        conversation = self.outcome.conversation
        return self.handed_over or conversation.stage in ENDED

    def turn(self) -> Turn:
        if self.outcome is None:
            raise RuntimeError("start() the role-play first")
        return self.game.turn(self.outcome)

    def hint(self) -> Action:
        """What the playbook-following strategy would do now."""
        return PlaybookStrategy().act(self.turn())

    def review(self, text: str) -> list[str]:
        """The draft review's findings on ``text``, as ``code: advice`` lines."""
        return [f"{f.code}: {f.text}" for f in self.desk.review(self.conversation_id, text)]

    def act(self, action: Action) -> Outcome:
        """Send the trainee's move; the customer answers. While escalated, a colleague takes
        over on ``wait`` or after two moves, which ends the role-play."""
        if self.outcome is None:
            raise RuntimeError("start() the role-play first")
        conversation = self.outcome.conversation
        if conversation.stage == Stage.ESCALATED and (action.kind == "wait" or self.waited >= 2):
            self.outcome = self.game.pick_up(conversation)
            self.handed_over = True
            return self.outcome
        if conversation.stage == Stage.ESCALATED:
            self.waited += 1
        self.outcome = self.game.move(self.conversation_id, self.outcome, action)
        if self.outcome.conversation.agent.role is Role.SECURITY:
            self.handed_over = True
        return self.outcome

    def scorecard(self) -> Scorecard:
        return judge_for(self.desk).score(
            self.desk.get(self.conversation_id), self.desk.history(self.conversation_id)
        )

    def offers(self) -> list[tuple[Offer, bool]]:
        """The recommended offers and whether the trainee may make each alone."""
        turn = self.turn()
        grants = self.desk.storage.ledger.grants(turn.conversation.customer.id)
        desk = self.desk
        return [
            (
                offer,
                desk.reviewer.authorize_offer(  # the rule propose applies
                    offer,
                    turn.conversation,
                    turn.agent,
                    compensation=desk.compensation,
                    history=grants,
                ).granted,
            )
            for offer in desk.recommend(self.conversation_id)
        ]


def _describe(offer: Offer) -> str:
    value = f" ({offer.value.amount} {offer.value.currency})" if offer.value else ""
    return f"{offer.description or offer.kind.value}{value}"


def _show_outcome(outcome: Outcome, out: TextIO, *, since: int) -> None:
    """Print what happened since message ``since``: the customer's words, signals,
    escalations and guidance."""
    conversation = outcome.conversation
    for message in conversation.messages[since:]:
        who = "customer" if message.from_customer else message.author
        out.write(f"{who}: {message.text}\n")
    if outcome.signals is not None:
        read = [name.replace("_", " ") for name in SIGNAL_NAMES if getattr(outcome.signals, name)]
        mood = f"sentiment {outcome.signals.sentiment:+.2f}"
        out.write(f"  signals: {', '.join([mood, *read])}\n")
    if outcome.escalation is not None:
        escalation = outcome.escalation
        out.write(
            f"  escalation: to {escalation.to.value} ({', '.join(escalation.codes)})"
            + (", conversation ended" if escalation.terminate else "")
            + "\n"
        )
    for step in outcome.guidance[:4]:
        out.write(f"  guidance [{step.code}]: {step.text}\n")


def _parse(line: str, session: Roleplay, out: TextIO) -> Action | None:
    """The trainee's line as a move, or ``None`` when it was a command that moves nothing."""
    text = line.strip()
    if not text:
        return None
    if not text.startswith("/"):
        stage = session.turn().conversation.stage
        asking = text.endswith("?") and stage in (Stage.LISTENING, Stage.CLARIFYING)
        for finding in session.review(text):
            out.write(f"  review: {finding}\n")
        return Action(kind="ask" if asking else "say", text=text)
    command, _, rest = text.partition(" ")
    rest = rest.strip()
    if command == "/help":
        out.write(HELP)
        return None
    if command == "/summary":
        if not rest:
            out.write("  usage: /summary TEXT (the problem in your words)\n")
            return None
        for finding in session.review(rest):
            out.write(f"  review: {finding}\n")
        return Action(kind="summarize", text=rest)
    if command == "/apologize":
        return Action(kind="apologize")
    if command == "/offers":
        offers = session.offers()
        if not offers:
            out.write("  no offers recommended now\n")
        for number, (offer, alone) in enumerate(offers, start=1):
            note = "you may offer it" if alone else "needs approval"
            out.write(f"  {number}. {_describe(offer)}: {note}\n")
        return None
    if command == "/offer":
        offers = session.offers()
        if not rest.isdigit() or not 1 <= int(rest) <= len(offers):
            out.write(f"  usage: /offer N, N from 1 to {len(offers)} (see /offers)\n")
            return None
        return Action(kind="propose", offer=offers[int(rest) - 1][0])
    if command == "/counter":
        turn = session.turn()
        demand = turn.demand
        if demand is None:
            out.write("  the customer has made no demand\n")
            return None
        counter = session.desk.counter_offer(session.conversation_id, demand)
        out.write(f"  the desk suggests: {counter.explanation}\n")
        for step in counter.guidance:
            out.write(f"  guidance [{step.code}]: {step.text}\n")
        return None
    if command == "/escalate":
        return Action(kind="escalate", text=rest or None)
    if command == "/resolve":
        return Action(kind="resolve", text=rest or None)
    if command == "/wait":
        return Action(kind="wait")
    if command == "/hint":
        hint = session.hint()
        words = f": {hint.text}" if hint.text else ""
        proposal = f": {_describe(hint.offer)}" if hint.offer else ""
        out.write(f"  hint: {hint.kind}{words}{proposal}\n")
        return None
    out.write(f"  unknown command {command!r}; /help lists them\n")
    return None


def run_roleplay(
    persona: Persona,
    *,
    seed: int = 0,
    read: Callable[[str], str] = input,
    out: TextIO,
    max_turns: int = 40,
) -> Scorecard:
    """The terminal trainer: prints the customer's words, signals and guidance, reads the
    trainee's replies with ``read`` (``input`` by default), and prints the scorecard at the
    end (also on ``/quit`` or end of input)."""
    session = Roleplay(persona, seed=seed)
    out.write(f"Role-play: {persona.title}. {persona.description}\n")
    out.write(
        f"Issue: {persona.issue.summary} ({persona.issue.category}, "
        f"{persona.issue.severity.value}). Type /help for commands.\n"
    )
    outcome = session.start()
    _show_outcome(outcome, out, since=0)
    seen = len(outcome.conversation.messages)
    for _ in range(max_turns):
        if session.finished:
            break
        out.flush()
        try:
            line = read("you> ")
        except EOFError:
            break
        if line.strip() == "/quit":
            break
        action = _parse(line, session, out)
        if action is None:
            continue
        if action.kind == "apologize":
            decision = session.desk.apology.decide(session.turn().conversation)
            if not decision.apologize:
                out.write(
                    "  no apology given: " + " ".join(r.text for r in decision.reasons) + "\n"
                )
        try:
            outcome = session.act(action)
        except PlaybookError as error:  # a refused move is part of training, not a crash
            out.write(f"  refused: {error}\n")
            continue
        if session.game.refused is not None:
            out.write(f"  refused: {session.game.refused}\n")
        _show_outcome(outcome, out, since=seen)
        seen = len(outcome.conversation.messages)
    conversation = session.desk.get(session.conversation_id)
    if session.handed_over:
        out.write(f"A {conversation.agent.role.value.replace('_', ' ')} took over.\n")
    out.write(
        f"The customer's mood at the end: {MOODS[session.game.player.mood]}. "
        f"Stage: {conversation.stage}.\n"
    )
    card = session.scorecard()
    out.write(
        f"Scorecard: {card.score:.0f}/100 ({len(card.passed)} of {len(card.applicable)} items)\n"
    )
    for item in card.items:
        out.write(f"  [{item.status.upper():4}] {item.title}: {item.reason}\n")
        for evidence in item.evidence[:2]:
            out.write(f"         {evidence}\n")
    out.flush()
    return card
