"""The scorecard: a conversation and its journal judged item by item, by the library's own
rules (the escalation, apology and compensation policies, and the desk's draft review), so
that the scorecard and the desk never disagree."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from serviceplaybook._desk import ServiceDesk
from serviceplaybook._errors import ValidationError
from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._policies.compensation import CompensationPolicy
from serviceplaybook._policies.escalation import EscalationPolicy
from serviceplaybook._policies.followup import FollowUpPolicy
from serviceplaybook._policies.review import DraftReview
from serviceplaybook._ports import Storage
from serviceplaybook._records.apology import Finding
from serviceplaybook._records.compensation import Authorization
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.escalation import EscalationDecision
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.offers import OfferStatus
from serviceplaybook._records.parties import Agent
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import check_period, in_period
from serviceplaybook._serialization import from_dict
from serviceplaybook.insights import histories

PASS = "pass"
FAIL = "fail"
NOT_APPLICABLE = "n/a"

ITEMS: dict[str, str] = {
    "listened_first": "Listened before proposing",
    "reflected_back": "Reflected the problem back",
    "apologies": "Apologies specific, within the cap, no excuses",
    "offers_within_authority": "Offers within authority",
    "counter_offer_explained": "Counter-offer explained",
    "escalation_timing": "Escalation when due and not before",
    "handoff_complete": "Handoff brief complete, customer told",
    "follow_up_planned": "Follow-up planned",
}
"""The scorecard's items, by code, with their titles, in the order they are judged."""

LISTENING_FINDINGS = frozenset({"fix_before_confirmed", "no_acknowledgement", "jargon_to_confused"})
APOLOGY_FINDINGS = frozenset(
    {
        "generic_apology",
        "excuse",
        "blame_shifting",
        "repeated_sorry",
        "apologized_already",
        "apology_cap_reached",
    }
)
OFFER_FINDINGS = frozenset({"promise_above_authority", "promise_already_declined"})

_MESSAGE_KINDS = frozenset({"ask", "say", "summarize"})
_SAFETY = frozenset({"self_harm", "threat"})
# escalations the customer's own words or the clock call for at once: the agent may not have
# had the story yet, so the brief is complete with what is known
_AT_ONCE = frozenset(
    {
        *_SAFETY,
        "continued_abuse",
        "abusive_language",
        "asked_for_manager",
        "sla_step_reached",
        "high_value_customer",
    }
)

_CAN = re.compile(r"\b(I|we) (can|could|'m able to|am able to)\b|\bI can\b", re.IGNORECASE)
_CANNOT = re.compile(
    r"\b(can't|cannot|can not|couldn't|isn't possible|is not possible|not able to|unable to|"
    r"more than I can|beyond what I can|only go up to|the most I can)\b",
    re.IGNORECASE,
)


def too_soon(policy: EscalationPolicy, conversation: Conversation) -> bool:
    """True when an agent handing ``conversation`` on now would toss the customer: nobody has
    confirmed the problem and tried (``policy.has_tried``), and the customer's last words did
    not call for it (self-harm, a threat, abuse, a request for a manager)."""
    last = conversation.signals[-1] if conversation.signals else None
    urgent = last is not None and (
        last.self_harm or last.threat or last.wants_manager or last.abusive
    )
    return not urgent and not policy.has_tried(conversation)


def explains_limits(text: str) -> bool:
    """True when an agent's message says what they can do and what they cannot (the shape of
    a counter-offer's explanation: "I can offer ...; a full refund is more than I can agree to
    on my own")."""
    return bool(_CAN.search(text) and _CANNOT.search(text))


@attrs.frozen(kw_only=True)
class Evidence:
    """What a scorecard item points at: one journal entry (and the words in it)."""

    seq: int
    kind: str
    actor: str
    excerpt: str = ""

    def __str__(self) -> str:
        words = f": {self.excerpt!r}" if self.excerpt else ""
        return f"#{self.seq} {self.kind} by {self.actor}{words}"


@attrs.frozen(kw_only=True)
class ScoreItem:
    """One item of a scorecard: passed, failed or not applicable, why, and the entries it
    points at."""

    code: str
    title: str
    status: str
    reason: str
    evidence: tuple[Evidence, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def applies(self) -> bool:
        return self.status != NOT_APPLICABLE


@attrs.frozen(kw_only=True)
class Scorecard:
    """A conversation judged: every item, and the overall score (the share of applicable
    items passed, 0 to 100)."""

    conversation_id: str
    items: tuple[ScoreItem, ...]

    @property
    def applicable(self) -> tuple[ScoreItem, ...]:
        return tuple(item for item in self.items if item.applies)

    @property
    def passed(self) -> tuple[ScoreItem, ...]:
        return tuple(item for item in self.items if item.passed)

    @property
    def failed(self) -> tuple[ScoreItem, ...]:
        return tuple(item for item in self.items if item.status == FAIL)

    @property
    def score(self) -> float:
        applicable = self.applicable
        if not applicable:
            return 100.0
        return round(100 * len(self.passed) / len(applicable), 1)

    def item(self, code: str) -> ScoreItem:
        """The item with ``code`` (a key of :data:`ITEMS`)."""
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(f"no scorecard item {code!r}; the items are {', '.join(ITEMS)}")


def _excerpt(text: object, limit: int = 90) -> str:
    words = " ".join(str(text or "").split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


class _Transcript:
    """A conversation and its journal, with the conversation as it stood before any entry."""

    def __init__(self, conversation: Conversation, history: Sequence[JournalEntry]) -> None:
        if not history or history[0].kind != "open":
            raise ValidationError(
                "scorecard needs the conversation's whole history, from its 'open' entry "
                "(desk.history(conversation_id))"
            )
        if any(entry.conversation_id != conversation.id for entry in history):
            raise ValidationError(
                f"the history holds entries of another conversation than {conversation.id!r}"
            )
        self.conversation = conversation
        self.entries = tuple(history)
        original = conversation.handoffs[0].from_agent if conversation.handoffs else None
        self.first_agent = original or conversation.agent
        self.agents: dict[str, Agent] = {self.first_agent.id: self.first_agent}
        for handoff in conversation.handoffs:
            self.agents.setdefault(handoff.to_agent.id, handoff.to_agent)
        messages = sum(1 for e in self.entries if self.adds_message(e))
        if messages != len(conversation.messages):
            raise ValidationError(
                f"the history does not match conversation {conversation.id!r}: it records "
                f"{messages} messages, the conversation holds {len(conversation.messages)}"
            )

    @staticmethod
    def adds_message(entry: JournalEntry) -> bool:
        if entry.kind in ("hear", *_MESSAGE_KINDS):
            return True
        if entry.kind == "apologize":
            return "apology" in entry.data
        return "signals" in entry.data

    def evidence(self, entry: JournalEntry, excerpt: object = None) -> Evidence:
        text = excerpt if excerpt is not None else entry.data.get("text", "")
        return Evidence(seq=entry.seq, kind=entry.kind, actor=entry.actor, excerpt=_excerpt(text))

    def agent(self, agent_id: str) -> Agent:
        return self.agents.get(agent_id, Agent(id=agent_id))

    def signals(self, entry: JournalEntry) -> Signals | None:
        raw = entry.data.get("signals")
        return None if raw is None else from_dict(raw, Signals)

    def before(self, index: int) -> Conversation:
        """The conversation as it stood after ``entries[:index]`` (before entry ``index``)."""
        c = self.conversation
        prefix = self.entries[:index]
        last = prefix[-1]
        messages = sum(1 for e in prefix if self.adds_message(e))
        signals = sum(1 for e in prefix if "signals" in e.data)
        apologies = sum(1 for e in prefix if e.kind == "apologize" and "apology" in e.data)
        handoffs = sum(1 for e in prefix if e.kind == "pick_up")
        escalations = sum(
            1 for e in prefix if e.kind in ("escalate", "terminate") and "escalation" in e.data
        )
        follow_ups = sum(1 for e in prefix if e.kind == "schedule_follow_up")
        understood, summary, corrections, reopens = False, None, 0, 0
        reopened_at: datetime | None = None
        resolved_at: datetime | None = None
        statuses: dict[str, OfferStatus] = {}
        for entry in prefix:
            kind = entry.kind
            if kind == "summarize":
                understood, summary = False, entry.data.get("text")
            elif kind == "confirm":
                understood = True
            elif kind == "correct":
                understood, summary, corrections = False, None, corrections + 1
            elif kind == "reopen":
                understood, summary, reopens, reopened_at = False, None, reopens + 1, entry.at
                resolved_at = None
            elif kind in ("resolve", "accept"):
                resolved_at = entry.at
            if kind == "propose":
                offer_id = entry.data.get("offer", {}).get("id", "")
                needs = entry.data.get("authorization", {}).get("status") != "granted"
                statuses[offer_id] = OfferStatus.PENDING_APPROVAL if needs else OfferStatus.OPEN
            elif kind == "approve":
                statuses[entry.data.get("offer_id", "")] = OfferStatus.OPEN
            elif kind == "decline":
                statuses[entry.data.get("offer_id", "")] = OfferStatus.DECLINED
            elif kind == "accept":
                statuses[entry.data.get("offer_id", "")] = OfferStatus.ACCEPTED
        offers = tuple(
            attrs.evolve(p, status=statuses[p.offer.id]) for p in c.offers if p.offer.id in statuses
        )
        owner = c.handoffs[handoffs - 1].to_agent if handoffs else self.first_agent
        return attrs.evolve(
            c,
            stage=last.stage,
            agent=owner,
            version=last.seq,
            updated_at=last.at,
            messages=c.messages[:messages],
            signals=c.signals[:signals],
            summary=summary,
            understood=understood,
            apologies=c.apologies[:apologies],
            offers=offers,
            approvals=tuple(a for a in c.approvals if a.offer_id in statuses),
            escalations=c.escalations[:escalations],
            handoffs=c.handoffs[:handoffs],
            follow_ups=c.follow_ups[:follow_ups],
            reopens=reopens,
            reopened_at=reopened_at,
            corrections=corrections,
            resolved_at=resolved_at,
            resolution_note=None,
            closed_at=None,
            termination=None,
            feedback=None,
            sla_steps=tuple(s for s in c.sla_steps if s.at <= last.at),
        )


@attrs.define(kw_only=True)
class ScorecardJudge:
    """Scores conversations with the policies a desk uses (pass the desk's own: see
    :func:`scorecard`). Each item is one method, ``judge_<code>``, so a subclass changes one.

    Attributes:
        escalation, apology, compensation, follow_up, reviewer: the policies that judge.
    """

    escalation: EscalationPolicy = attrs.field(factory=EscalationPolicy)
    apology: ApologyPolicy = attrs.field(factory=ApologyPolicy)
    compensation: CompensationPolicy = attrs.field(factory=CompensationPolicy)
    follow_up: FollowUpPolicy = attrs.field(factory=FollowUpPolicy)
    reviewer: DraftReview = attrs.field(factory=DraftReview)

    def score(self, conversation: Conversation, history: Sequence[JournalEntry]) -> Scorecard:
        """Judge ``conversation`` from its journal ``history`` (oldest first)."""
        transcript = _Transcript(conversation, history)
        findings = self.findings(transcript)
        items = [getattr(self, f"judge_{code}")(transcript, findings) for code in ITEMS]
        return Scorecard(conversation_id=conversation.id, items=tuple(items))

    # -- the draft review of every agent message, as it stood when sent -------------------

    def findings(self, transcript: _Transcript) -> list[tuple[JournalEntry, Finding]]:
        """Every agent message reviewed against the conversation as it stood before it."""
        found: list[tuple[JournalEntry, Finding]] = []
        for index, entry in enumerate(transcript.entries):
            if entry.kind not in _MESSAGE_KINDS or not entry.data.get("text"):
                continue
            before = transcript.before(index)
            for finding in self.reviewer.review(
                str(entry.data["text"]),
                before,
                agent=transcript.agent(entry.actor),
                apology=self.apology,
                compensation=self.compensation,
                now=entry.at,
            ):
                if entry.kind == "summarize" and finding.code == "fix_before_confirmed":
                    continue  # a summary restating a promise is not a proposal
                found.append((entry, finding))
        return found

    @staticmethod
    def _item(code: str, status: str, reason: str, evidence: Iterable[Evidence] = ()) -> ScoreItem:
        seen: dict[int, Evidence] = {}
        for found in evidence:
            seen.setdefault(found.seq, found)  # one entry once, however many findings it has
        return ScoreItem(
            code=code,
            title=ITEMS[code],
            status=status,
            reason=reason,
            evidence=tuple(seen.values()),
        )

    @staticmethod
    def _flagged(
        transcript: _Transcript,
        findings: list[tuple[JournalEntry, Finding]],
        codes: frozenset[str],
    ) -> list[tuple[Evidence, str]]:
        return [
            (transcript.evidence(entry, finding.excerpt), f"{finding.code}: {finding.text}")
            for entry, finding in findings
            if finding.code in codes
        ]

    def _ended_on_safety(self, transcript: _Transcript) -> JournalEntry | None:
        for entry, decision in self._escalations(transcript):
            if set(decision.codes) & _SAFETY:
                return entry
        return None

    def _escalations(
        self, transcript: _Transcript
    ) -> list[tuple[JournalEntry, EscalationDecision]]:
        found = []
        count = 0
        for entry in transcript.entries:
            if entry.kind in ("escalate", "terminate") and "escalation" in entry.data:
                found.append((entry, transcript.conversation.escalations[count]))
                count += 1
        return found

    # -- the items ------------------------------------------------------------------------

    def judge_listened_first(
        self, transcript: _Transcript, findings: list[tuple[JournalEntry, Finding]]
    ) -> ScoreItem:
        code = "listened_first"
        flagged = self._flagged(transcript, findings, LISTENING_FINDINGS)
        if flagged:
            reason = flagged[0][1]
            return self._item(code, FAIL, reason, [e for e, _ in flagged])
        for index, entry in enumerate(transcript.entries):
            if entry.kind in ("summarize", "propose", "escalate", "resolve") and (
                entry.actor != "system"
            ):
                return self._item(
                    code,
                    FAIL,
                    f"The agent's first move was to {entry.kind} before asking a question or "
                    "acknowledging what the customer said.",
                    [transcript.evidence(entry)],
                )
            text = str(entry.data.get("text", ""))
            if entry.kind == "ask" or (
                entry.kind == "say"
                and self.reviewer.acknowledges(text)
                and any(m.from_customer for m in transcript.before(index).messages)
            ):
                return self._item(
                    code,
                    PASS,
                    "The agent asked or acknowledged before summarizing or proposing anything.",
                    [transcript.evidence(entry)],
                )
        return self._item(code, NOT_APPLICABLE, "The agent said nothing to the customer.")

    def judge_reflected_back(
        self, transcript: _Transcript, findings: list[tuple[JournalEntry, Finding]]
    ) -> ScoreItem:
        code = "reflected_back"
        summary: JournalEntry | None = None
        corrections: list[JournalEntry] = []
        for entry in transcript.entries:
            if entry.kind == "summarize":
                summary = entry
            elif entry.kind == "correct":
                corrections.append(entry)
            elif entry.kind == "confirm" and summary is not None:
                evidence = [transcript.evidence(summary), transcript.evidence(entry)]
                if len(corrections) >= 2:
                    return self._item(
                        code,
                        FAIL,
                        f"The customer corrected {len(corrections)} summaries before one was "
                        "right: own the misunderstanding and ask for their words sooner.",
                        [*(transcript.evidence(c) for c in corrections), *evidence],
                    )
                return self._item(
                    code, PASS, "The customer confirmed the agent's summary.", evidence
                )
            elif entry.kind == "propose":
                return self._item(
                    code,
                    FAIL,
                    "An offer was made before the customer confirmed a summary.",
                    [transcript.evidence(entry, entry.data.get("offer", {}).get("description"))],
                )
        safety = self._ended_on_safety(transcript)
        if safety is not None:
            return self._item(
                code,
                NOT_APPLICABLE,
                "Safety came first: the conversation went to the people trained for it.",
                [transcript.evidence(safety)],
            )
        if summary is not None:
            return self._item(
                code,
                FAIL,
                "The summary was never confirmed by the customer.",
                [transcript.evidence(summary), *(transcript.evidence(c) for c in corrections)],
            )
        said = [e for e in transcript.entries if e.kind in _MESSAGE_KINDS]
        return self._item(
            code,
            FAIL,
            "The agent never summarized the problem back.",
            [transcript.evidence(e) for e in (said or transcript.entries)[-2:]],
        )

    def judge_apologies(
        self, transcript: _Transcript, findings: list[tuple[JournalEntry, Finding]]
    ) -> ScoreItem:
        code = "apologies"
        problems = self._flagged(transcript, findings, APOLOGY_FINDINGS)
        given: list[Evidence] = []
        for entry in transcript.entries:
            if entry.kind != "apologize":
                continue
            if "apology" in entry.data:
                given.append(transcript.evidence(entry, entry.data["apology"]))
                continue
            reasons = entry.data.get("decision", {}).get("reasons", [])
            text = " ".join(str(r.get("text", "")) for r in reasons) or "The policy refused it."
            problems.append((transcript.evidence(entry), f"An apology out of turn: {text}"))
        if problems:
            problems.sort(key=lambda found: found[0].seq)
            return self._item(code, FAIL, problems[0][1], [e for e, _ in problems])
        if given:
            return self._item(
                code,
                PASS,
                f"{len(given)} specific apolog{'y' if len(given) == 1 else 'ies'}, within the "
                "cap, and no excuses.",
                given,
            )
        reached = [e for e in transcript.entries if e.stage == Stage.RESOLVING]
        if reached and not self._ended_on_safety(transcript):
            return self._item(
                code,
                FAIL,
                "The problem was confirmed but nobody apologized for it: apologize once, "
                "specifically.",
                [transcript.evidence(reached[0])],
            )
        return self._item(code, NOT_APPLICABLE, "No apology was due yet, and none was given.")

    def judge_offers_within_authority(
        self, transcript: _Transcript, findings: list[tuple[JournalEntry, Finding]]
    ) -> ScoreItem:
        code = "offers_within_authority"
        problems = self._flagged(transcript, findings, OFFER_FINDINGS)
        made: list[Evidence] = []
        for entry in transcript.entries:
            if entry.kind != "propose":
                continue
            authorization = from_dict(entry.data["authorization"], Authorization)
            evidence = transcript.evidence(entry, authorization.offer.description)
            made.append(evidence)
            if not authorization.granted:
                problems.append(
                    (evidence, " ".join(r.text for r in authorization.reasons) or "Not granted.")
                )
        if problems:
            problems.sort(key=lambda found: found[0].seq)
            return self._item(code, FAIL, problems[0][1], [e for e, _ in problems])
        if made:
            return self._item(code, PASS, "Every offer was within the proposer's authority.", made)
        return self._item(code, NOT_APPLICABLE, "No offer was made or promised.")

    def judge_counter_offer_explained(
        self, transcript: _Transcript, findings: list[tuple[JournalEntry, Finding]]
    ) -> ScoreItem:
        code = "counter_offer_explained"
        demand: JournalEntry | None = None
        explained: JournalEntry | None = None
        for entry in transcript.entries:
            signals = transcript.signals(entry)
            if signals is not None and signals.asks_for_compensation and demand is None:
                demand, explained = entry, None
            elif entry.kind in _MESSAGE_KINDS and demand is not None:
                if explains_limits(str(entry.data.get("text", ""))):
                    explained = entry
            elif entry.kind == "propose" and demand is not None:
                if explained is None:
                    return self._item(
                        code,
                        FAIL,
                        "The customer asked for compensation and got an offer without being "
                        "told what can be done, what cannot and why.",
                        [transcript.evidence(demand), transcript.evidence(entry, "")],
                    )
                return self._item(
                    code,
                    PASS,
                    "The agent said what they can do and why the rest is not possible before "
                    "making the offer.",
                    [transcript.evidence(demand), transcript.evidence(explained)],
                )
        return self._item(
            code, NOT_APPLICABLE, "The customer asked for no compensation that an offer answered."
        )

    def judge_escalation_timing(
        self, transcript: _Transcript, findings: list[tuple[JournalEntry, Finding]]
    ) -> ScoreItem:
        code = "escalation_timing"
        escalations = self._escalations(transcript)
        for index, entry in enumerate(transcript.entries):
            if entry.kind != "escalate" or entry.actor == "system":
                continue
            if too_soon(self.escalation, transcript.before(index)):
                return self._item(
                    code,
                    FAIL,
                    "Handed on before the problem was confirmed and anything tried: the "
                    "customer has to start again with someone else.",
                    [transcript.evidence(entry, "")],
                )
        if escalations:
            return self._item(
                code,
                PASS,
                "Every escalation was due: "
                + ", ".join(sorted({c for _, d in escalations for c in d.codes}))
                + ".",
                [transcript.evidence(e, "") for e, _ in escalations],
            )
        conversation = transcript.conversation
        if (
            conversation.stage not in (Stage.RESOLVED, Stage.FOLLOWING_UP, Stage.CLOSED)
            and conversation.declined_offers
            and conversation.signals
            and conversation.signals[-1].sentiment < 0
        ):
            return self._item(
                code,
                FAIL,
                "The customer declined offers and left unhappy, and nobody higher was asked "
                "to help.",
                [transcript.evidence(e) for e in transcript.entries if e.kind == "decline"],
            )
        return self._item(code, NOT_APPLICABLE, "No escalation was due, and none was made.")

    def judge_handoff_complete(
        self, transcript: _Transcript, findings: list[tuple[JournalEntry, Finding]]
    ) -> ScoreItem:
        code = "handoff_complete"
        escalations = [
            (entry, decision)
            for entry, decision in self._escalations(transcript)
            if entry.kind == "escalate"
        ]
        if not escalations:
            return self._item(code, NOT_APPLICABLE, "Nobody was handed the conversation.")
        entries = transcript.entries
        evidence: list[Evidence] = []
        for entry, decision in escalations:
            index = entries.index(entry)
            end = next(
                (i for i in range(index + 1, len(entries)) if entries[i].kind == "pick_up"),
                len(entries),
            )
            told = [e for e in entries[index + 1 : end] if e.kind in _MESSAGE_KINDS]
            state = transcript.before(end)
            at_once = bool(set(decision.codes) & _AT_ONCE)
            missing = []
            if not told:
                missing.append("the customer was not told who takes over and when")
            if not state.understood and not at_once:
                missing.append("the problem was not confirmed for the brief")
            evidence.append(transcript.evidence(entry, ""))
            evidence.extend(transcript.evidence(e) for e in told[:1])
            if missing:
                return self._item(
                    code, FAIL, "At the handover " + "; ".join(missing) + ".", evidence
                )
        return self._item(
            code,
            PASS,
            "Each handover carried a confirmed problem (or what was known, when the customer's "
            "words called for it at once) and the customer was told who takes over.",
            evidence,
        )

    def judge_follow_up_planned(
        self, transcript: _Transcript, findings: list[tuple[JournalEntry, Finding]]
    ) -> ScoreItem:
        code = "follow_up_planned"
        resolved = [e for e in transcript.entries if e.kind in ("resolve", "accept")]
        if not resolved:
            return self._item(code, NOT_APPLICABLE, "The conversation was not resolved.")
        planned = [e for e in transcript.entries if e.kind == "schedule_follow_up"]
        if planned:
            return self._item(
                code,
                PASS,
                "A follow-up was scheduled to check the fix worked.",
                [transcript.evidence(planned[-1], "")],
            )
        decision = self.follow_up.decide(transcript.conversation)
        if decision.follow_up is None and decision.reasons:
            return self._item(
                code,
                NOT_APPLICABLE,
                "No follow-up is due: " + " ".join(r.text for r in decision.reasons),
            )
        return self._item(
            code,
            FAIL,
            "Resolved without a follow-up to check the fix worked.",
            [transcript.evidence(resolved[-1], "")],
        )


def scorecard(
    conversation: Conversation,
    history: Sequence[JournalEntry],
    *,
    judge: ScorecardJudge | None = None,
) -> Scorecard:
    """Score a conversation (a simulated one, or a real one from the desk) from its journal.

    ``scorecard(desk.get(cid), desk.history(cid))``; pass ``judge=judge_for(desk)`` to judge
    with a desk's own (subclassed) policies.

    Raises:
        ValidationError: the history is not the conversation's whole journal.
    """
    return (judge or ScorecardJudge()).score(conversation, history)


def judge_for(desk: ServiceDesk) -> ScorecardJudge:
    """A judge with the policies of ``desk``, so the scorecard and the desk agree."""
    return ScorecardJudge(
        escalation=desk.escalation,
        apology=desk.apology,
        compensation=desk.compensation,
        follow_up=desk.follow_up,
        reviewer=desk.reviewer,
    )


def scorecard_averages(
    storage: Storage,
    *,
    judge: ScorecardJudge | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, float]:
    """The average scorecard of each agent over every conversation in ``storage``, keyed by
    the agent who took the conversation (its owner at opening), best first on ties by name;
    ``serviceplaybook report --scorecards`` shows them beside the insights.

    Each conversation is judged from its whole journal, read back one at a time: a pass in
    Python over every history (not an aggregate query), so it costs what the loop the
    insights benchmark compares against costs. ``since`` and ``until`` keep the conversations
    opened in that period, as :func:`~serviceplaybook.insights.report` does.
    """
    check_period("scorecard_averages", since, until)
    judge = judge or ScorecardJudge()
    totals: dict[str, list[float]] = {}
    for history in histories(storage):
        if not history:
            continue
        if not in_period(history[0].at, since, until):  # its open entry: when it opened
            continue
        conversation = storage.conversations.get(history[0].conversation_id)
        agent = str(history[0].actor)  # the open entry's actor: who took it
        totals.setdefault(agent, []).append(judge.score(conversation, history).score)
    averages = {agent: sum(scores) / len(scores) for agent, scores in totals.items()}
    return dict(sorted(averages.items(), key=lambda item: (-item[1], item[0])))
