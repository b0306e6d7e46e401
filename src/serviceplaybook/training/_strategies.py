"""Agent strategies for the simulator: one that follows the playbook's guidance, and three
that show the flaws a trainer warns about (rushing to solutions, over-apologizing,
escalating everything). A strategy reads a :class:`Turn` and returns one :class:`Action`;
it keeps no state of its own, so the same strategy can advise a trainee mid-conversation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

import attrs

from serviceplaybook._desk import Outcome, ServiceDesk
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.offers import Offer, OfferKind
from serviceplaybook._records.parties import Agent, Role
from serviceplaybook._records.stage import Stage
from serviceplaybook.training._scorecard import explains_limits

ACTIONS = ("say", "ask", "summarize", "apologize", "propose", "escalate", "resolve", "wait")
"""What an agent may do in a turn; ``wait`` lets an escalation be picked up."""


@attrs.frozen(kw_only=True)
class Action:
    """One agent move: ``kind`` (one of :data:`ACTIONS`), its words, or its offer."""

    kind: str = attrs.field(validator=attrs.validators.in_(ACTIONS))
    text: str | None = None
    offer: Offer | None = None


@attrs.frozen(kw_only=True)
class Turn:
    """What an agent sees when it is their move.

    Attributes:
        desk: the desk (read only: ``get``, ``history``, ``recommend``, ``counter_offer``,
            ``review``, the policies).
        conversation_id: the conversation.
        outcome: the desk's latest outcome, with its guidance.
        notes: what the customer has told about the problem, in their words.
        demand: what the customer asked for, when they made a demand.
        language: the language the customer writes in.
    """

    desk: ServiceDesk
    conversation_id: str
    outcome: Outcome
    notes: tuple[str, ...] = ()
    demand: Offer | None = None
    language: str = "en"

    @property
    def conversation(self) -> Conversation:
        return self.outcome.conversation

    @property
    def agent(self) -> Agent:
        return self.outcome.conversation.agent

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(step.code for step in self.outcome.guidance)

    def history(self) -> list[JournalEntry]:
        return self.desk.history(self.conversation_id)


class Strategy(Protocol):
    """An agent: ``act`` returns the next move."""

    @property
    def name(self) -> str: ...

    def act(self, turn: Turn) -> Action: ...


PHRASES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "thanks": "Thanks for telling me.",
        "feelings": "I can hear how frustrating this has been.",
        "repeat": "I can hear how frustrating it is to have to come back to us about this.",
        "calming": "Thank you, I appreciate that.",
        "plain": "You haven't done anything wrong, and we'll go one step at a time.",
        "question": "Can you tell me what happened, so I can sort it out with you?",
        "own": "That's my mistake, I've misread you. Could you put it in your own words for me?",
        "summary": "Let me make sure I have this right: {notes} Is that right?",
        # the apology policy drops this lead-in when it quotes the confirmed summary
        "summary_ack": "Sorry to hear that.",
        "boundary": (
            "I want to help you get this sorted, and I need us to keep the conversation respectful."
        ),
        "wellbeing": (
            "Thank you for telling me. I'm here with you and I'm staying with you. Someone "
            "trained to help is joining us now, and you can also call or text 988 any time."
        ),
        "handover": (
            "A {role} is joining in the next few minutes. I've passed on everything you told "
            "me, so you won't have to repeat yourself, and I'm staying with you until then."
        ),
        "substitute": "What else would help put this right for you?",
        "cannot": "I can't offer more myself; a {role} can review the rest.",
        "fix": "Let me fix that for you: I'll send you a replacement right away.",
        "rushed_summary": "So: {summary}.",
        "sorry": "I'm so sorry for any inconvenience.",
        "pass_on": "Let me pass you to someone more senior.",
    },
    "es": {
        "thanks": "Gracias por contármelo.",
        "feelings": "Entiendo lo frustrante que ha sido esto.",
        "repeat": "Entiendo lo frustrante que es tener que volver a escribirnos por esto.",
        "calming": "Gracias, se lo agradezco.",
        "plain": "No ha hecho nada mal, e iremos paso a paso.",
        "question": "¿Puede contarme qué pasó, para resolverlo con usted?",
        "own": "Es un error mío, le he entendido mal. ¿Puede explicármelo con sus palabras?",
        "summary": "Quiero asegurarme de que lo he entendido: {notes} ¿Es correcto?",
        "summary_ack": "Siento oír eso.",
        "boundary": "Quiero ayudarle a resolverlo, y necesito que mantengamos el respeto.",
        "wellbeing": (
            "Gracias por contármelo. Estoy aquí con usted y no me voy. Alguien preparado para "
            "ayudar se une ahora, y puede llamar al 024 en cualquier momento."
        ),
        "handover": (
            "Un {role} se une en unos minutos. Le he pasado todo lo que me ha contado, así que "
            "no tendrá que repetirlo, y sigo con usted hasta entonces."
        ),
        "substitute": "¿Qué otra cosa le ayudaría a arreglar esto?",
        "cannot": "No puedo ofrecer más yo mismo; un {role} puede revisar el resto.",
        "fix": "Se lo arreglo ya: le envío un reemplazo ahora mismo.",
        "rushed_summary": "Entonces: {summary}.",
        "sorry": "Disculpe las molestias, lo siento muchísimo.",
        "pass_on": "Le paso con alguien con más experiencia.",
    },
}
"""The strategies' words per language (the customer's, English when it is not here)."""

_FIRST_PERSON = (
    (r"\bI was\b", "you were"),
    (r"\bI am\b", "you are"),
    (r"\bI'm\b", "you're"),
    (r"\bI've\b", "you've"),
    (r"\bI'd\b", "you'd"),
    (r"\bI\b", "you"),
    (r"\bmy\b", "your"),
    (r"\bMy\b", "Your"),
    (r"\bme\b", "you"),
    (r"\bmine\b", "yours"),
    (r"\bwe\b", "you"),
    (r"\bWe\b", "You"),
    (r"\bour\b", "your"),
    (r"\bOur\b", "Your"),
)


def second_person(text: str) -> str:
    """The customer's words turned to the agent's ("my jug" -> "your jug"), English only."""
    for pattern, replacement in _FIRST_PERSON:
        text = re.sub(pattern, replacement, text)
    return text


def phrase(turn: Turn, key: str, **values: str) -> str:
    words = PHRASES.get(turn.language, PHRASES["en"])[key]
    return words.format(**values) if values else words


def _told_since_escalation(turn: Turn) -> bool:
    entries = turn.history()
    marks = [i for i, e in enumerate(entries) if e.kind == "escalate"]
    return bool(marks) and any(
        e.kind in ("say", "ask", "summarize") for e in entries[marks[-1] + 1 :]
    )


def _summarized_since_escalation(turn: Turn) -> bool:
    entries = turn.history()
    marks = [i for i, e in enumerate(entries) if e.kind == "escalate"]
    return bool(marks) and any(e.kind == "summarize" for e in entries[marks[-1] + 1 :])


def _acknowledgement(turn: Turn) -> str:
    codes = turn.codes
    if "acknowledge_repeat_contact" in codes:
        return phrase(turn, "repeat")
    if {"acknowledge_feelings", "acknowledge_sarcasm", "stay_calm"} & set(codes):
        return phrase(turn, "feelings")
    if "explain_plainly" in codes:
        return phrase(turn, "plain")
    if "acknowledge_calming" in codes:
        return phrase(turn, "calming")
    return phrase(turn, "thanks")


def _polish(turn: Turn, text: str, ack: str = "feelings") -> str:
    """The draft as the desk's review would pass it: acknowledge an upset customer first."""
    codes = {f.code for f in turn.desk.review(turn.conversation_id, text)}
    if "no_acknowledgement" in codes:
        return f"{phrase(turn, ack)} {text}"
    return text


def _requested(turn: Turn) -> Offer | None:
    """What the customer asked for: their demand, or (asked without naming it) their money
    back."""
    if turn.demand is not None:
        return turn.demand
    asked = any(s.asks_for_compensation for s in turn.conversation.signals)
    value = turn.conversation.issue.order_value
    if asked and value is not None:
        return Offer(kind=OfferKind.REFUND, value=value, description="a full refund")
    return None


def _explained_since_demand(turn: Turn) -> bool:
    entries = turn.history()
    asked = [
        i for i, e in enumerate(entries) if e.data.get("signals", {}).get("asks_for_compensation")
    ]
    if not asked and turn.demand is not None:
        # a demand the detector did not read as one: explain from the confirmation on
        asked = [i for i, e in enumerate(entries) if e.kind == "confirm"][-1:]
    if not asked:
        return True
    return any(
        e.kind in ("say", "ask") and explains_limits(str(e.data.get("text", "")))
        for e in entries[asked[0] + 1 :]
    )


def _next_offer(turn: Turn, *, within_authority: bool = True) -> Offer | None:
    desk, conversation = turn.desk, turn.conversation
    proposed = [p.offer for p in conversation.offers]
    grants = desk.storage.ledger.grants(conversation.customer.id)
    candidates: list[Offer] = []
    requested = _requested(turn)
    if requested is not None:
        counter = desk.counter_offer(turn.conversation_id, requested)
        if counter.offer is not None:
            candidates.append(counter.offer)
        candidates.extend(counter.alternatives)
    candidates.extend(desk.recommend(turn.conversation_id))
    value = conversation.issue.order_value
    if requested is None and value is not None:
        # nothing asked for and the recommendations used up: the most this owner may give
        # towards the order's value (a supervisor who took over may give more)
        fallback = Offer(kind=OfferKind.REFUND, value=value, description="a refund")
        counter = desk.counter_offer(turn.conversation_id, fallback)
        candidates.extend(o for o in (counter.offer, *counter.alternatives) if o is not None)
    for offer in candidates:
        if any(offer.same_terms(p) for p in proposed):
            continue
        if (
            within_authority
            and not desk.reviewer.authorize_offer(  # the rule propose applies
                offer, conversation, turn.agent, compensation=desk.compensation, history=grants
            ).granted
        ):
            continue
        return offer
    return None


@attrs.frozen
class PlaybookStrategy:
    """Follows the playbook: reads the guidance codes and the draft review and acts on them.
    Listens and asks one question, reflects the problem back in the customer's words, waits
    for the yes, apologizes once (the policy's own words), explains a counter-offer before
    making it, proposes only what it may grant, tells the customer who takes over and when,
    and escalates when it has nothing left to offer."""

    name: str = "playbook"

    def act(self, turn: Turn) -> Action:
        conversation, codes = turn.conversation, turn.codes
        stage = conversation.stage
        if stage == Stage.ESCALATED:
            return self.while_escalated(turn)
        if "wellbeing_first" in codes:
            return Action(kind="say", text=phrase(turn, "wellbeing"))
        if "set_calm_boundary" in codes:
            return Action(kind="say", text=_polish(turn, phrase(turn, "boundary")))
        if stage in (Stage.GREETING, Stage.LISTENING, Stage.CLARIFYING):
            return self.understand(turn)
        if stage == Stage.RESOLVING:
            return self.resolve(turn)
        return Action(kind="wait")

    def while_escalated(self, turn: Turn) -> Action:
        conversation = turn.conversation
        decision = conversation.escalations[-1] if conversation.escalations else None
        if not _told_since_escalation(turn):
            if decision is not None and "self_harm" in decision.codes:
                return Action(kind="say", text=phrase(turn, "wellbeing"))
            role = decision.to.value.replace("_", " ") if decision is not None else "colleague"
            return Action(kind="say", text=_polish(turn, phrase(turn, "handover", role=role)))
        if (
            not conversation.understood
            and turn.notes
            and not _summarized_since_escalation(turn)
            and decision is not None
            and not {"self_harm", "threat"} & set(decision.codes)
        ):
            return Action(kind="summarize", text=self.summary(turn))
        return Action(kind="wait")

    def summary(self, turn: Turn) -> str:
        notes = " ".join(second_person(note) for note in turn.notes)
        return _polish(turn, phrase(turn, "summary", notes=notes), "summary_ack")

    def understand(self, turn: Turn) -> Action:
        if "own_the_misunderstanding" in turn.codes:
            return Action(kind="ask", text=phrase(turn, "own"))
        entries = turn.history()
        agent_moves = [e for e in entries if e.kind in ("ask", "say", "summarize")]
        asked = agent_moves and agent_moves[-1].kind == "ask"
        answered = asked and entries[-1].actor == "customer"
        if turn.notes and answered:
            return Action(kind="summarize", text=self.summary(turn))
        return Action(kind="ask", text=f"{_acknowledgement(turn)} {phrase(turn, 'question')}")

    def resolve(self, turn: Turn) -> Action:
        desk, conversation = turn.desk, turn.conversation
        if not conversation.apologies and desk.apology.decide(conversation).apologize:
            return Action(kind="apologize")
        requested = _requested(turn)
        if requested is not None and not _explained_since_demand(turn):
            counter = desk.counter_offer(turn.conversation_id, requested)
            if counter.explanation:
                return Action(
                    kind="say",
                    text=f"{counter.explanation} {phrase(turn, 'substitute')}",
                )
        offer = _next_offer(turn)
        if offer is not None:
            return Action(kind="propose", offer=offer)
        role = desk.escalation.ladder.target(turn.agent.role).value.replace("_", " ")
        return Action(kind="escalate", text=phrase(turn, "cannot", role=role))


@attrs.frozen
class RushingStrategy:
    """Rushes to a solution: promises a fix before understanding, summarizes from the
    ticket, never apologizes, proposes the first offer whatever its authority, and closes."""

    name: str = "rushing"

    def act(self, turn: Turn) -> Action:
        conversation = turn.conversation
        stage = conversation.stage
        if stage in (Stage.GREETING, Stage.LISTENING, Stage.CLARIFYING):
            said = [m for m in conversation.messages if not m.from_customer]
            if not said:
                return Action(kind="say", text=phrase(turn, "fix"))
            if conversation.corrections and turn.notes:
                notes = " ".join(second_person(note) for note in turn.notes)
                return Action(kind="summarize", text=phrase(turn, "summary", notes=notes))
            summary = conversation.issue.summary.rstrip(".")
            return Action(kind="summarize", text=phrase(turn, "rushed_summary", summary=summary))
        if stage == Stage.RESOLVING:
            offer = _next_offer(turn, within_authority=False)
            if offer is not None:
                return Action(kind="propose", offer=offer)
            return Action(kind="resolve", text="Done.")
        return Action(kind="wait")


@attrs.frozen
class OverApologizingStrategy:
    """Follows the playbook but says sorry in every message and asks for an apology before
    every offer: apologies again and again, generic ones among them."""

    name: str = "over_apologizing"
    playbook: PlaybookStrategy = attrs.field(factory=PlaybookStrategy)

    def act(self, turn: Turn) -> Action:
        action = self.playbook.act(turn)
        if action.kind in ("say", "ask", "summarize") and action.text:
            return attrs.evolve(action, text=f"{phrase(turn, 'sorry')} {action.text}")
        if action.kind == "propose":
            entries = turn.history()
            if entries and entries[-1].kind != "apologize":
                return Action(kind="apologize")
        return action


@attrs.frozen
class EscalateEverythingStrategy:
    """Passes every conversation up the ladder at once, until a supervisor has it; the
    supervisor then follows the playbook."""

    name: str = "escalate_everything"
    playbook: PlaybookStrategy = attrs.field(factory=PlaybookStrategy)

    def act(self, turn: Turn) -> Action:
        conversation = turn.conversation
        if (
            conversation.stage
            in (
                Stage.LISTENING,
                Stage.CLARIFYING,
                Stage.RESOLVING,
            )
            and conversation.agent.role < Role.SUPERVISOR
        ):
            return Action(kind="escalate", text=phrase(turn, "pass_on"))
        return self.playbook.act(turn)


def strategies() -> dict[str, Strategy]:
    """The built-in strategies, by name, the playbook's first."""
    found: list[Strategy] = [
        PlaybookStrategy(),
        RushingStrategy(),
        OverApologizingStrategy(),
        EscalateEverythingStrategy(),
    ]
    return {strategy.name: strategy for strategy in found}
