"""The conduct suite's little language: a difficult conversation as a list of steps, each
saying what happens and what a support lead expects the desk to advise and decide.

A :class:`Script` is one conversation: who the customer is, their issue, the agent, the
policy settings, and its :class:`Step` s. A step names a desk call (``"hear"``, ``"say"``,
``"decline"``...) and its text, then what must hold afterwards::

    Step("hear", "You are an idiot.", stage="listening",
         expect={"set_calm_boundary", "stay_calm"}, forbid={"boundary_held"})

:func:`play` drives the script through a :class:`~serviceplaybook.ServiceDesk` built from
:class:`Policies` (the stock policy classes, or an integrator's subclasses) on a clock it
controls, and raises :class:`ConductError` at the first step that breaks a rule of the craft,
naming every rule that step broke, in words.

Besides what each step states, every step of every script is held to the rules that hold
in every conversation (:func:`universal_rules`): a customer's words are recorded and read;
a terminated conversation gets no empathy script; a self-harm disclosure is never treated as
a threat; an apology is specific, in the second person, and never repeats an earlier one;
"respond now" comes first; an escalation never steps down.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from serviceplaybook import (
    Agent,
    ApologyPolicy,
    ApprovalRequired,
    Channel,
    CompensationPolicy,
    Customer,
    DraftReview,
    EscalationPolicy,
    FollowUpPolicy,
    Issue,
    LexiconSignalDetector,
    Offer,
    Outcome,
    Playbook,
    PlaybookError,
    Role,
    ServiceDesk,
    SignalDetector,
    SlaPolicy,
    Stage,
    Urgency,
)
from serviceplaybook.testing import FakeClock, SequentialIds

# -- what the guidance codes mean, in the craft's words ---------------------------------------

CRAFT: Final[Mapping[str, str]] = {
    "greet_and_introduce": "greet the customer, name yourself, invite them to explain",
    "let_them_finish": "let the customer finish; acknowledge briefly, take notes",
    "do_not_propose_yet": "understand the problem before proposing or defending anything",
    "ask_open_questions": "ask open questions to fill the gaps, never ones already answered",
    "wait_for_confirmation": "restate the problem and wait for the customer's yes",
    "offer_solutions": "offer concrete solutions, with an alternative when one isn't possible",
    "no_excuses": "solutions, not excuses",
    "warm_handover": "hand over warmly: tell the customer who takes over and when",
    "confirm_satisfaction": "confirm the customer is satisfied and say what happens next",
    "check_fix_worked": "check the fix worked and ask for feedback",
    "learn_from_it": "learn from the conversation",
    "record_and_protect": "a terminated conversation: keep an accurate record, safety first",
    "read_it_yourself": "a message the detector cannot read: the agent reads it themselves",
    "safety_first": "a threat: stop, safety first, follow the security procedure",
    "set_calm_boundary": "a first abusive message: don't take it personally, set a calm "
    "boundary, no escalation yet",
    "boundary_held": "abuse after the boundary was set: a supervisor takes over; stay calm, "
    "don't argue",
    "stay_calm": "anger or abuse: stay calm, lower your pace, don't mirror it",
    "acknowledge_feelings": "anger: acknowledge the feeling before the facts",
    "acknowledge_repeat_contact": "repeat contact: acknowledge it at once, don't make them "
    "repeat themselves",
    "acknowledge_sarcasm": "sarcasm is anger: acknowledge it as you would a plain complaint",
    "acknowledge_calming": "a customer who calms down or apologises: acknowledge it briefly "
    "and move on",
    "explain_escalation": "a manager request: say who takes over and when",
    "say_what_you_can_do": "a manager request: first say what you can do yourself right now",
    "note_legal_mention": "a legal mention: stay factual, follow the legal process",
    "explain_plainly": "confusion or self-blame: plain words and reassurance, no jargon",
    "one_question_at_a_time": "confusion: one question at a time",
    "own_the_misunderstanding": "a second failed summary: own the misunderstanding and ask "
    "them to put it in their own words",
    "respond_now": "an SLA warning or breach: respond now, before anything else",
    "wellbeing_first": "a self-harm disclosure: stay with them, listen, offer crisis "
    "resources, involve the people trained for it, never end the conversation",
    "ask_for_substitute": "a request that can't be met: ask what substitute would be acceptable",
    "compensation_requested": "a request for compensation: confirm the problem, then offer "
    "what the policy gives, within your authority",
}

EMPATHY_SCRIPTS: Final = frozenset(
    {
        "acknowledge_feelings",
        "stay_calm",
        "do_not_propose_yet",
        "set_calm_boundary",
        "boundary_held",
        "acknowledge_sarcasm",
        "acknowledge_calming",
        "acknowledge_repeat_contact",
        "explain_plainly",
        "one_question_at_a_time",
        "let_them_finish",
        "ask_open_questions",
        "say_what_you_can_do",
        "explain_escalation",
        "offer_solutions",
        "warm_handover",
        "wellbeing_first",
    }
)
"""Guidance for talking with a customer; none of it fits a terminated conversation."""

TERMINATED_GUIDANCE: Final = frozenset({"safety_first", "record_and_protect"})
"""All that a terminated conversation may be advised (the spec of issue 15)."""

NOT_FOR_SELF_HARM: Final = frozenset({"safety_first", "acknowledge_feelings", "set_calm_boundary"})
"""Threat and anger scripts that must never answer a self-harm disclosure."""

CUSTOMER_TEXT_ACTIONS: Final = frozenset(
    {"hear", "confirm", "correct", "decline", "accept", "reopen"}
)
"""Desk calls that carry the customer's own words."""

OPEN_STAGES: Final = frozenset(str(s) for s in Stage) - {"closed", "terminated"}


class _Unchecked:
    def __repr__(self) -> str:
        return "UNCHECKED"


UNCHECKED: Final = _Unchecked()
"""A step's decision field that the step does not check."""

MONDAY_9: Final = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _codes(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise TypeError(f"give a set of guidance codes, not the string {value!r}")
    codes = frozenset(value)
    unknown = codes - set(CRAFT)
    if unknown:
        raise ValueError(f"unknown guidance codes {sorted(unknown)}; known: {sorted(CRAFT)}")
    return codes


ACTIONS: Final = frozenset(
    {
        "hear",
        "say",
        "ask",
        "summarize",
        "confirm",
        "correct",
        "apologize",
        "propose",
        "approve",
        "decline",
        "accept",
        "resolve",
        "escalate",
        "pick_up",
        "hand_back",
        "reopen",
        "terminate",
        "close",
        "check_sla",
        "wait",
        "counter_offer",
        "review",
    }
)
_NO_OUTCOME: Final = frozenset({"wait", "counter_offer", "review"})


@dataclass(frozen=True)
class Step:
    """One thing that happens, and what must hold after it.

    Args:
        action: the desk call (``"hear"``, ``"say"``, ``"confirm"``...), or ``"wait"`` to
            move the clock by ``wait``, or ``"counter_offer"`` to ask for one for ``offer``.
        text: the words: the customer's for hear/confirm/correct/decline (the reason)/
            accept/reopen, the agent's for say/ask/summarize, the reason for escalate/
            terminate, the note for resolve.
        stage: the stage the conversation must be in afterwards (required).
        expect: guidance codes that must be in the advice.
        forbid: guidance codes that must not be.
        first: the guidance code that must come first.
        order: pairs ``(a, b)``: ``a`` must come before ``b``.
        escalates_to: the role an escalation in this step goes to; ``None`` (the default)
            means no escalation may happen in this step.
        reasons: reason codes the escalation must name.
        urgency: the escalation's urgency.
        terminates: whether the escalation ends the conversation.
        mood: what the escalation brief's mood must start with.
        reads: signals the detector must have read in the customer's words (the premise).
        apology: ``"given"`` or ``"refused"`` (after ``apologize``).
        refused_because: the reason code of a refused apology.
        apology_says: phrases the apology must contain (case-insensitive).
        apology_avoids: phrases it must not contain.
        follow_up: the channel of the follow-up planned in this step, or ``None`` for none.
        follow_up_says: phrases its personal draft must contain (what was done, say).
        raises: the error (or errors) the desk must refuse the step with (nothing is recorded
            then, except the pending approval an ApprovalRequired records).
        refusal: the reason code of that refusal (a PolicyViolation's).
        counter_avoids: words the counter-offer's explanation to the customer must not use.
        finds: finding codes ``review`` must report on the draft in ``text``.
        clean: finding codes it must not report.
        by: who acts for the agent side (default: the conversation's owner); for
            ``pick_up`` and ``approve``, the person taking over or approving.
        bot: the bot a conversation is handed back to (``hand_back``).
        to: the role an agent's own escalation names.
        offer: the offer proposed (``propose``) or demanded (``counter_offer``).
        offer_id: the offer declined or accepted.
        wait: how long ``"wait"`` moves the clock.
        check: anything else, as a function of the outcome returning a broken rule in words
            (or ``None``).
        why: the craft rule this step is about, shown when it fails.
    """

    action: str
    text: str | None = None
    _: KW_ONLY
    stage: str | None = None
    expect: Iterable[str] = frozenset()
    forbid: Iterable[str] = frozenset()
    first: str | None = None
    order: tuple[tuple[str, str], ...] = ()
    escalates_to: Role | _Unchecked | None = None
    reasons: Iterable[str] = frozenset()
    urgency: Urgency | None = None
    terminates: bool = False
    mood: str | None = None
    reads: Mapping[str, object] = field(default_factory=dict)
    apology: str | None = None
    refused_because: str | None = None
    apology_says: tuple[str, ...] = ()
    apology_avoids: tuple[str, ...] = ()
    follow_up: Channel | _Unchecked | None = UNCHECKED
    follow_up_says: tuple[str, ...] = ()
    raises: type[Exception] | tuple[type[Exception], ...] | None = None
    refusal: str | None = None
    counter_avoids: tuple[str, ...] = ()
    finds: Iterable[str] = frozenset()
    clean: Iterable[str] = frozenset()
    by: Agent | None = None
    bot: Agent | None = None
    to: Role | None = None
    offer: Offer | None = None
    offer_id: str | None = None
    wait: timedelta | None = None
    check: Callable[[Outcome], str | None] | None = None
    why: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; known: {sorted(ACTIONS)}")
        object.__setattr__(self, "expect", _codes(self.expect))
        object.__setattr__(self, "forbid", _codes(self.forbid))
        object.__setattr__(self, "reasons", frozenset(self.reasons))
        object.__setattr__(self, "finds", frozenset(self.finds))
        object.__setattr__(self, "clean", frozenset(self.clean))
        both = self.expect & self.forbid  # type: ignore[operator]
        if both:
            raise ValueError(f"{sorted(both)} both expected and forbidden")
        if self.stage is None and self.action not in _NO_OUTCOME and self.raises is None:
            raise ValueError(f"step {self.action} {self.text!r}: say which stage it ends in")
        if self.stage is not None and self.stage not in {str(s) for s in Stage}:
            raise ValueError(f"unknown stage {self.stage!r}")
        if self.apology not in (None, "given", "refused"):
            raise ValueError("apology is 'given' or 'refused'")

    def describe(self) -> str:
        words = f" {self.text!r}" if self.text else ""
        who = f" by {self.by.id}" if self.by else ""
        return f"{self.action}{words}{who}"


@dataclass(frozen=True)
class Script:
    """One difficult conversation, start to end.

    Args:
        id: the pytest id, snake_case.
        story: what happens, in a sentence, for the checklist.
        steps: what happens, step by step.
        customer: the customer (Ann, standard tier, no stated channel, by default).
        issue: their issue.
        agent: who owns the conversation at first.
        channel: where it takes place (the customer's channel by default).
        settings: keyword arguments for the policies, by policy name (``"escalation"``,
            ``"sla"``, ``"follow_up"``, ``"detector"``...).
        start: when it opens (a Monday 09:00 UTC by default: business hours).
        pace: how far the clock moves before each step.
    """

    id: str
    story: str
    steps: tuple[Step, ...]
    customer: Customer = field(default_factory=lambda: Customer(id="cust-1", name="Ann"))
    issue: Issue = field(
        default_factory=lambda: Issue(
            category="late_delivery", severity="medium", summary="The customer's parcel is late"
        )
    )
    agent: Agent = field(default_factory=lambda: Agent(id="sam", name="Sam"))
    channel: Channel | None = Channel.CHAT
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    start: datetime = MONDAY_9
    pace: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", self.id):
            raise ValueError(f"script id {self.id!r} must be snake_case")
        unknown = set(self.settings) - set(Policies.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{self.id}: settings for unknown policies {sorted(unknown)}")


@dataclass(frozen=True)
class Policies:
    """The classes the conversations run on; an integrator passes their subclasses.

    Each is built with the script's settings for it (``cls(**settings)``).
    """

    playbook: type[Playbook] = Playbook
    detector: type[LexiconSignalDetector] = LexiconSignalDetector
    escalation: type[EscalationPolicy] = EscalationPolicy
    apology: type[ApologyPolicy] = ApologyPolicy
    compensation: type[CompensationPolicy] = CompensationPolicy
    follow_up: type[FollowUpPolicy] = FollowUpPolicy
    sla: type[SlaPolicy] = SlaPolicy
    reviewer: type[DraftReview] = DraftReview

    @classmethod
    def of(cls, classes: Mapping[str, type[Any]]) -> Policies:
        """From a mapping of policy names to classes (the ones not named stay stock)."""
        unknown = set(classes) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"unknown policy names {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}"
            )
        return cls(**classes)

    def build(self, settings: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        return {
            name: getattr(self, name)(**settings.get(name, {}))
            for name in self.__dataclass_fields__
        }


class ConductError(AssertionError):
    """A step broke the craft; the message says which rules, in words."""


@dataclass
class Played:
    """A script as played: the desk, the conversation id and each step's outcome."""

    desk: ServiceDesk
    cid: str
    clock: FakeClock
    outcomes: list[Any] = field(default_factory=list)
    approval: str | None = None


# -- playing --------------------------------------------------------------------------------------


def play(
    script: Script,
    policies: Policies | None = None,
    *,
    detector: SignalDetector | None = None,
) -> Played:
    """Play ``script`` on a fresh in-memory desk; raise :class:`ConductError` at the first step
    that breaks a rule.

    Args:
        script: the conversation.
        policies: the policy classes (stock ones by default).
        detector: a ready detector to use instead of building ``policies.detector``.
    """
    policies = policies or Policies()
    clock = FakeClock(script.start)
    built = policies.build(script.settings)
    if detector is not None:
        built["detector"] = detector
    desk = ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"), **built)
    conversation = desk.open(
        customer=script.customer, issue=script.issue, agent=script.agent, channel=script.channel
    )
    played = Played(desk=desk, cid=conversation.id, clock=clock)
    for number, step in enumerate(script.steps, start=1):
        clock.advance(script.pace)
        broken = _play_step(played, step)
        if broken:
            raise ConductError(_report(script, number, step, broken))
    return played


def _report(script: Script, number: int, step: Step, broken: list[str]) -> str:
    lines = [
        f"conversation {script.id!r} ({script.story})",
        f"step {number}: {step.describe()}",
    ]
    if step.why:
        lines.append(f"the rule this step checks: {step.why}")
    lines.append(f"{len(broken)} rule(s) broken:")
    lines.extend(f"  - {rule}" for rule in broken)
    return "\n".join(lines)


def _call(played: Played, step: Step) -> Any:
    desk, cid, text = played.desk, played.cid, step.text
    action = step.action
    if action in ("say", "ask", "summarize"):
        assert text is not None, f"{action} needs text"
        return getattr(desk, action)(cid, text, by=step.by)
    if action == "hear":
        assert text is not None, "hear needs text"
        return desk.hear(cid, text)
    if action in ("confirm", "correct", "reopen"):
        return getattr(desk, action)(cid, text) if text is not None else getattr(desk, action)(cid)
    if action == "apologize":
        return desk.apologize(cid, by=step.by)
    if action == "propose":
        assert step.offer is not None, "propose needs an offer"
        try:
            return desk.propose(cid, step.offer, by=step.by)
        except ApprovalRequired as required:
            played.approval = required.approval_id
            raise
    if action == "approve":
        assert step.by is not None, "approve needs by= (who approves)"
        assert played.approval is not None, "approve: no approval was asked for"
        return desk.approve(cid, played.approval, step.by)
    if action == "decline":
        assert step.offer_id is not None, "decline needs offer_id"
        return desk.decline(cid, step.offer_id, text)
    if action == "accept":
        assert step.offer_id is not None, "accept needs offer_id"
        if text is None:
            return desk.accept(cid, step.offer_id)
        return desk.accept(cid, step.offer_id, text=text)
    if action == "resolve":
        return desk.resolve(cid, text, by=step.by)
    if action == "escalate":
        return desk.escalate(cid, text, to=step.to)
    if action == "pick_up":
        assert step.by is not None, "pick_up needs by= (who takes over)"
        return desk.pick_up(cid, step.by)
    if action == "hand_back":
        assert step.by is not None, "hand_back needs by= (the person handing back)"
        assert step.bot is not None, "hand_back needs bot="
        return desk.hand_back(cid, step.bot, by=step.by)
    if action == "terminate":
        assert text is not None, "terminate needs a reason"
        return desk.terminate(cid, text)
    if action == "close":
        return desk.close(cid)
    if action == "check_sla":
        return desk.check_sla(cid)
    if action == "counter_offer":
        assert step.offer is not None, "counter_offer needs the demanded offer"
        return desk.counter_offer(cid, step.offer)
    if action == "review":
        assert text is not None, "review needs the draft as text"
        return desk.review(cid, text, by=step.by)
    raise AssertionError(f"no desk call for {action!r}")  # pragma: no cover


def _names(kinds: type[Exception] | tuple[type[Exception], ...]) -> str:
    return " or ".join(kind.__name__ for kind in (kinds if isinstance(kinds, tuple) else (kinds,)))


def _play_step(played: Played, step: Step) -> list[str]:
    if step.action == "wait":
        assert step.wait is not None, "wait needs wait="
        played.clock.advance(step.wait)
        played.outcomes.append(None)
        return []
    desk, cid = played.desk, played.cid
    before = desk.get(cid)
    history = len(desk.history(cid))
    try:
        result = _call(played, step)
    except (PlaybookError, TypeError) as error:
        played.outcomes.append(error)
        if step.raises is None:
            return [f"the desk refused the step: {type(error).__name__}: {error}"]
        if not isinstance(error, step.raises):
            return [f"expected the desk to refuse with {_names(step.raises)}, got {error!r}"]
        broken = []
        if step.refusal is not None:
            codes = [r.code for r in getattr(error, "reasons", ())]
            if step.refusal not in codes:
                broken.append(f"the refusal should say {step.refusal!r}, it says {codes}")
        if not isinstance(error, ApprovalRequired) and (
            desk.get(cid) != before or len(desk.history(cid)) != history
        ):
            broken.append("a refused step must record nothing, but the conversation changed")
        return broken
    played.outcomes.append(result)
    if step.raises is not None:
        return [f"the desk should have refused this step with {_names(step.raises)}"]
    if step.action == "counter_offer":
        return _check_counter_offer(step, result)
    if step.action == "review":
        broken = _check_review(step, result)
        if desk.get(cid) != before or len(desk.history(cid)) != history:
            broken.append("reviewing a draft must record nothing")
        return broken
    assert isinstance(result, Outcome)
    return _check_outcome(played, step, result, before)


# -- checking ---------------------------------------------------------------------------


def codes_of(outcome: Any) -> list[str]:
    """The guidance codes of an outcome (or of anything with ``.guidance``), in order."""
    return [g.code for g in getattr(outcome, "guidance", ())]


def _check_guidance(step: Step, codes: list[str]) -> list[str]:
    broken = []
    for code in sorted(step.expect):  # type: ignore[type-var]
        if code not in codes:
            broken.append(f"expected guidance {code!r} ({CRAFT[code]}); the desk advised {codes}")
    for code in sorted(step.forbid):  # type: ignore[type-var]
        if code in codes:
            broken.append(
                f"guidance {code!r} ({CRAFT[code]}) does not fit this moment; "
                f"the desk advised {codes}"
            )
    if step.first is not None and (not codes or codes[0] != step.first):
        broken.append(
            f"{step.first!r} ({CRAFT[step.first]}) must come first; the desk advised {codes}"
        )
    for earlier, later in step.order:
        if earlier in codes and later in codes and codes.index(earlier) > codes.index(later):
            broken.append(f"{earlier!r} ({CRAFT[earlier]}) must come before {later!r}; got {codes}")
    return broken


def _check_escalation(step: Step, outcome: Outcome) -> list[str]:
    decision = outcome.escalation
    if isinstance(step.escalates_to, _Unchecked):
        return []
    if step.escalates_to is None:
        if decision is not None:
            return [
                f"no escalation belongs here (don't toss the customer around), but it went to "
                f"{decision.to.value} for {list(decision.codes)}"
            ]
        return []
    if decision is None:
        return [f"expected an escalation to {step.escalates_to.value}; nothing escalated"]
    broken = []
    if decision.to is not step.escalates_to:
        broken.append(
            f"the escalation should go to {step.escalates_to.value}, it went to "
            f"{decision.to.value} (reasons {list(decision.codes)})"
        )
    missing = set(step.reasons) - set(decision.codes)
    if missing:
        broken.append(
            f"the escalation should name {sorted(missing)}; it names {list(decision.codes)}"
        )
    if step.urgency is not None and decision.urgency is not step.urgency:
        broken.append(
            f"the escalation's urgency should be {step.urgency.value}, is {decision.urgency.value}"
        )
    if decision.terminate != step.terminates:
        broken.append(
            "the conversation must end here (terminate)"
            if step.terminates
            else "the conversation must not be ended here (terminate=True)"
        )
    if step.mood is not None and not decision.brief.mood.startswith(step.mood):
        broken.append(
            f"the handoff brief's mood should read {step.mood!r} (the latest state), "
            f"it reads {decision.brief.mood!r}"
        )
    return broken


def _check_apology(played: Played, step: Step, outcome: Outcome) -> list[str]:
    if step.apology is None:
        return []
    if step.apology == "refused":
        if outcome.apology is not None:
            return [f"no apology is due here, but one was given: {outcome.apology.text!r}"]
        codes = (
            [r.code for r in outcome.apology_decision.reasons] if outcome.apology_decision else []
        )
        if step.refused_because is not None and step.refused_because not in codes:
            return [f"the apology should be refused as {step.refused_because!r}, got {codes}"]
        return []
    if outcome.apology is None:
        codes = (
            [r.code for r in outcome.apology_decision.reasons] if outcome.apology_decision else []
        )
        return [f"an apology is due here, but the policy refused it: {codes}"]
    text = outcome.apology.text.lower()
    broken = [
        f"the apology should name {phrase!r} (specific: what went wrong, from the customer's "
        f"story); it reads {outcome.apology.text!r}"
        for phrase in step.apology_says
        if phrase.lower() not in text
    ]
    broken.extend(
        f"the apology must not say {phrase!r}; it reads {outcome.apology.text!r}"
        for phrase in step.apology_avoids
        if phrase.lower() in text
    )
    return broken


def _check_counter_offer(step: Step, counter: Any) -> list[str]:
    codes = codes_of(counter)
    broken = _check_guidance(step, codes)
    explanation = str(getattr(counter, "explanation", ""))
    if not explanation.strip():
        broken.append("the counter-offer must explain to the customer what can be done and why")
    for word in ("policy", "system", *step.counter_avoids):
        if re.search(rf"\b{re.escape(word)}\b", explanation, re.IGNORECASE):
            broken.append(
                f"the customer-facing explanation uses {word!r} (an excuse, not the reason in "
                f"the customer's terms): {explanation!r}"
            )
    return broken


def _stage(conversation: Any) -> str:
    stage = conversation.stage
    return str(getattr(stage, "value", stage))


def _check_review(step: Step, findings: Any) -> list[str]:
    codes = [finding.code for finding in findings]
    broken = [
        f"the review should flag {code!r} in the draft {step.text!r}; it found {codes}"
        for code in sorted(step.finds)  # type: ignore[type-var]
        if code not in codes
    ]
    broken.extend(
        f"the review should not flag {code!r} in the draft {step.text!r}; it found {codes}"
        for code in sorted(step.clean)  # type: ignore[type-var]
        if code in codes
    )
    return broken


def _check_outcome(played: Played, step: Step, outcome: Outcome, before: Any) -> list[str]:
    conversation = outcome.conversation
    codes = codes_of(outcome)
    broken: list[str] = []
    if step.stage is not None and _stage(conversation) != step.stage:
        broken.append(
            f"the conversation should be in {step.stage!r}, it is in {_stage(conversation)!r}"
        )
    for name, value in step.reads.items():
        signals = outcome.signals
        seen = getattr(signals, name, None) if signals is not None else None
        if seen != value:
            broken.append(
                f"the detector should read {name}={value!r} in the customer's words, read {seen!r} "
                f"(the premise of this step)"
            )
    broken.extend(_check_guidance(step, codes))
    broken.extend(_check_escalation(step, outcome))
    broken.extend(_check_apology(played, step, outcome))
    if not isinstance(step.follow_up, _Unchecked):
        planned = outcome.follow_up
        if step.follow_up is None and planned is not None:
            broken.append(f"no follow-up belongs here, one was planned by {planned.channel.value}")
        elif step.follow_up is not None and (
            planned is None or planned.channel is not step.follow_up
        ):
            got = planned.channel.value if planned is not None else "none"
            broken.append(f"the follow-up should go by {step.follow_up.value}, got {got}")
    if step.follow_up_says:
        draft = str(getattr(outcome.follow_up, "text", "") or "")
        broken.extend(
            f"the follow-up's draft should say {phrase!r} (what went wrong and what was done): "
            f"{draft!r}"
            for phrase in step.follow_up_says
            if phrase.lower() not in draft.lower()
        )
    if step.check is not None:
        extra = step.check(outcome)
        if extra:
            broken.append(extra)
    broken.extend(universal_rules(played, step, outcome, before))
    return broken


_DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)


def apology_wording(text: str, earlier: Iterable[str]) -> list[str]:
    """What is wrong with an apology's wording, by the craft: specific and personal, in the
    second person, well formed, and never repeating an earlier apology of the conversation."""
    broken = []
    if re.search(r"\bthe customer\b|\bcustomer's\b|\bthat customer\b", text, re.IGNORECASE):
        broken.append(f"an apology speaks to the customer, not about 'the customer': {text!r}")
    if not re.search(r"\b(you|your|you're|you've)\b", text, re.IGNORECASE):
        broken.append(f"an apology is in the second person: {text!r}")
    doubled = _DOUBLED.search(text)
    if doubled:
        broken.append(f"the apology doubles a word ({doubled.group(0)!r}): {text!r}")
    if not text[:1].isupper() or text.rstrip()[-1:] not in ".!":
        broken.append(f"the apology is not a well-formed sentence: {text!r}")
    for previous in earlier:
        if text == previous:
            broken.append(f"a second apology repeats the first word for word: {text!r}")
            continue
        for sentence in _sentences(previous):
            if len(sentence.split()) >= 4 and sentence in text:
                broken.append(
                    f"a second apology repeats the first's wording ({sentence!r}): {text!r}"
                )
    return broken


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def universal_rules(played: Played, step: Step, outcome: Outcome, before: Any) -> list[str]:
    """The rules every step of every conversation is held to, whatever the script says."""
    conversation = outcome.conversation
    codes = codes_of(outcome)
    broken = []
    if step.action in CUSTOMER_TEXT_ACTIONS and step.text is not None:
        said = [m.text for m in conversation.messages if m.from_customer]
        if step.text not in said[len([m for m in before.messages if m.from_customer]) :]:
            broken.append(
                f"the customer's words ({step.action}) must be recorded in the transcript "
                f"(keep accurate records)"
            )
        if outcome.signals is None:
            broken.append(
                f"the customer's words ({step.action}) must be read by the detector "
                f"(Outcome.signals is None)"
            )
        if len(conversation.signals) != len(said):
            broken.append(
                f"every customer message is read once: {len(said)} messages, "
                f"{len(conversation.signals)} readings"
            )
    if _stage(conversation) == "terminated":
        extra = sorted(set(codes) - TERMINATED_GUIDANCE)
        if extra:
            broken.append(
                f"a terminated conversation gets no empathy or service script, only the record "
                f"and safety; it was advised {extra}"
            )
    signals = outcome.signals
    if signals is not None and signals.self_harm:
        wrong = sorted(set(codes) & NOT_FOR_SELF_HARM)
        if wrong:
            broken.append(f"a self-harm disclosure is not a threat nor a complaint: never {wrong}")
        if "wellbeing_first" not in codes:
            broken.append(
                f"a self-harm disclosure needs 'wellbeing_first' ({CRAFT['wellbeing_first']})"
            )
        if _stage(conversation) == "terminated":
            broken.append("a conversation is never ended on a customer who disclosed self-harm")
    if "respond_now" in codes and codes[0] != "respond_now":
        broken.append(f"'respond_now' must come first when it is given; got {codes}")
    decision = outcome.escalation
    if (
        decision is not None
        and Role.SECURITY not in (decision.to, decision.from_role)
        and decision.to < decision.from_role
    ):
        broken.append(
            f"an escalation never steps down ({decision.from_role.value} -> {decision.to.value})"
        )
    if outcome.apology is not None:
        earlier = [a.text for a in before.apologies]
        broken.extend(apology_wording(outcome.apology.text, earlier))
    if outcome.follow_up is not None:
        broken.extend(follow_up_wording(outcome.follow_up, conversation))
    return broken


def follow_up_wording(follow_up: Any, conversation: Any) -> list[str]:
    """What is wrong with a follow-up's draft, by the craft: a personal follow-up names what
    went wrong and what was done, and asks one question."""
    text = getattr(follow_up, "text", None)
    if not text:
        return ["a follow-up carries a personal draft (FollowUp.text); this one has none"]
    broken = []
    if text.count("?") != 1:
        broken.append(f"a follow-up asks exactly one question: {text!r}")
    if re.search(r"\bthe customer\b|\bcustomer's\b", text, re.IGNORECASE):
        broken.append(f"a follow-up speaks to the customer, not about them: {text!r}")
    clauses = [c.strip().lower() for c in re.split(r"[.:;!?\n]+", text) if c.strip()]
    repeated = sorted({c for c in clauses if len(c.split()) >= 3 and clauses.count(c) > 1})
    if repeated:
        broken.append(
            f"a follow-up says what went wrong and what was done, not the same thing twice "
            f"({repeated[0]!r}): {text!r}"
        )
    summary = conversation.summary if conversation.understood else None
    words = {w.lower() for w in re.findall(r"[^\W\d_]{5,}", summary or "")}
    if words and not words & {w.lower() for w in re.findall(r"[^\W\d_]{5,}", text)}:
        broken.append(
            f"a follow-up names what went wrong (the summary the customer confirmed: "
            f"{summary!r}): {text!r}"
        )
    return broken
