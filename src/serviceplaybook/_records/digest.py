"""The journal digested: one row per conversation, per offer, per escalation and per piece of
feedback, read from the journal's entries; what ``serviceplaybook.insights`` counts.

A journal that can compute the digest where its entries are (SQLite and PostgreSQL with
aggregate queries) implements :class:`~serviceplaybook._ports.DigestingJournal`;
:func:`digest_histories` is the reference: the same digest computed in Python from the
entries of each conversation, which the in-memory journal uses and against which the SQL is
tested.

What the digest reads from the entries, so that every backend reads the same:

- the conversation's opening entry (``seq`` 1, kind ``open``): category, severity, tier,
  channel, and the agent who took it (its owner at opening);
- the first response: the first entry of an agent's message to the customer: a question
  (``ask``), a summary (``summarize``) or an apology given (``apologize`` with an
  ``apology``), by an agent (not ``customer``, not ``system``);
- the first resolution: the first entry whose stage after the event is ``resolved``;
- escalations: ``escalate`` entries, and ``terminate`` entries when the escalation policy
  ended the conversation (both hold an ``escalation`` decision); apologies: the
  ``apologize`` entries that gave one;
- SLA warnings and breaches (each code of each ``sla_alert`` entry's ``warnings`` and
  ``breaches``);
- reopens, SLA steps (each step of each ``sla_step`` entry), follow-ups scheduled and
  completed, feedback given, terminations, by their kinds;
- offers: each ``propose`` entry, with the first ``accept`` or ``decline`` naming its id.

An entry erased with a customer's data keeps its kind, actor, stage and time, so it still
counts; what it said (a category, an offer's kind) reads as ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.validate import in_period

CUSTOMER = "customer"
SYSTEM = "system"

# The kinds the digest reads. The SQL of each backend spells the same names.
OPEN = "open"
ESCALATE = "escalate"
APOLOGIZE = "apologize"
REOPEN = "reopen"
SLA_STEP = "sla_step"
SLA_ALERT = "sla_alert"
SCHEDULE_FOLLOW_UP = "schedule_follow_up"
COMPLETE_FOLLOW_UP = "complete_follow_up"
TERMINATE = "terminate"
PROPOSE = "propose"
ACCEPT = "accept"
DECLINE = "decline"
RESOLVED = "resolved"
AGENT_MESSAGES = ("say", "ask", "summarize")
"""The kinds whose entries are an agent's message to the customer (besides apologies given)."""


@attrs.frozen(kw_only=True)
class ConversationDigest:
    """What the journal says of one conversation.

    Attributes:
        conversation_id: the conversation.
        entries: how many journal entries it has.
        opened_at: when it was opened (its first entry).
        category: the issue's category at opening (``None`` once erased).
        severity: the issue's severity at opening.
        tier: the customer's tier at opening.
        channel: the channel at opening.
        agent_id: the agent who took it (its owner at opening).
        agent_role: that agent's role.
        first_response_at: the first agent message (a message, a question, a summary or an apology).
        resolved_at: the first time it reached the ``resolved`` stage.
        escalations: how many escalation decisions were recorded.
        apologies: how many apologies were given.
        reopens: how many times the customer reopened it.
        sla_steps: how many SLA escalation steps fired.
        sla_warnings: how many SLA warnings a check found (each clock close to its target).
        sla_breaches: how many SLA breaches a check found (each clock past its target).
        follow_ups_scheduled: how many follow-ups were scheduled.
        follow_ups_completed: how many follow-ups were completed.
        feedback: how many completed follow-ups carried feedback.
        terminations: how many times it was terminated (0 or 1).
    """

    conversation_id: str
    entries: int
    opened_at: datetime
    category: str | None
    severity: str | None
    tier: str | None
    channel: str | None
    agent_id: str | None
    agent_role: str | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    escalations: int
    apologies: int
    reopens: int
    sla_steps: int
    follow_ups_scheduled: int
    follow_ups_completed: int
    feedback: int
    terminations: int
    sla_warnings: int = 0
    sla_breaches: int = 0


@attrs.frozen(kw_only=True)
class OfferDigest:
    """One offer proposed, and what the customer did with it.

    Attributes:
        conversation_id: the conversation.
        seq: the ``propose`` entry's sequence number.
        at: when it was proposed.
        offer_id: the offer's id.
        kind: the offer's kind (``None`` once erased).
        amount: its value's amount as exact text, ``None`` for an offer without a value.
        currency: its value's currency.
        status: the authorization's status (``granted``, ``needs_approval``, ``escalate``).
        role: the proposing agent's role.
        approver_role: the role that had to approve it, if any.
        outcome: ``accept``, ``decline``, or ``None`` while undecided.
        decided_seq: the deciding entry's sequence number.
        decided_at: when the customer decided.
    """

    conversation_id: str
    seq: int
    at: datetime
    offer_id: str | None
    kind: str | None
    amount: str | None
    currency: str | None
    status: str | None
    role: str | None
    approver_role: str | None
    outcome: str | None
    decided_seq: int | None
    decided_at: datetime | None


@attrs.frozen(kw_only=True)
class EscalationDigest:
    """One escalation decision recorded.

    Attributes:
        conversation_id: the conversation.
        seq: the entry's sequence number.
        at: when it was recorded.
        kind: ``escalate``, or ``terminate`` when the policy ended the conversation.
        to: the role it went to.
        reasons: its reasons' codes, in order.
    """

    conversation_id: str
    seq: int
    at: datetime
    kind: str
    to: str | None
    reasons: tuple[str, ...]


@attrs.frozen(kw_only=True)
class FeedbackDigest:
    """Feedback recorded when a follow-up was completed (redacted as the journal holds it).

    Attributes:
        conversation_id: the conversation.
        seq: the entry's sequence number.
        at: when it was recorded.
        text: the feedback.
    """

    conversation_id: str
    seq: int
    at: datetime
    text: str


@attrs.frozen(kw_only=True)
class JournalDigest:
    """The whole journal digested, each list ordered by conversation id then ``seq``."""

    conversations: tuple[ConversationDigest, ...]
    offers: tuple[OfferDigest, ...]
    escalations: tuple[EscalationDigest, ...]
    feedback: tuple[FeedbackDigest, ...]

    def opened_between(self, since: datetime | None, until: datetime | None) -> JournalDigest:
        """The digest of the conversations opened from ``since`` (included) to ``until``
        (excluded), with their offers, escalations and feedback, whenever those came;
        ``None`` leaves that end open."""
        if since is None and until is None:
            return self
        kept = tuple(c for c in self.conversations if in_period(c.opened_at, since, until))
        ids = {c.conversation_id for c in kept}
        return JournalDigest(
            conversations=kept,
            offers=tuple(o for o in self.offers if o.conversation_id in ids),
            escalations=tuple(e for e in self.escalations if e.conversation_id in ids),
            feedback=tuple(f for f in self.feedback if f.conversation_id in ids),
        )

    def sorted(self) -> JournalDigest:
        """The same digest in its canonical order (by conversation id, then ``seq``)."""
        return JournalDigest(
            conversations=tuple(sorted(self.conversations, key=lambda c: c.conversation_id)),
            offers=tuple(sorted(self.offers, key=lambda o: (o.conversation_id, o.seq))),
            escalations=tuple(sorted(self.escalations, key=lambda e: (e.conversation_id, e.seq))),
            feedback=tuple(sorted(self.feedback, key=lambda f: (f.conversation_id, f.seq))),
        )


def _get(data: Mapping[str, Any], *path: str) -> Any:
    value: Any = data
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def is_agent_message(entry: JournalEntry) -> bool:
    """True for an agent's message to the customer (a question, a summary, an apology
    given): what the first response is."""
    if entry.actor in (CUSTOMER, SYSTEM):
        return False
    if entry.kind in AGENT_MESSAGES:
        return True
    return entry.kind == APOLOGIZE and _get(entry.data, "apology") is not None


def _conversation(history: Sequence[JournalEntry]) -> ConversationDigest:
    first = history[0]
    opening = first.data if first.seq == 1 else {}
    counts = dict.fromkeys(
        (
            "escalations",
            "apologies",
            "reopens",
            "sla_steps",
            "scheduled",
            "completed",
            "warnings",
            "breaches",
        ),
        0,
    )
    feedback = terminations = 0
    first_response: datetime | None = None
    resolved: datetime | None = None
    for entry in history:
        kind, data = entry.kind, entry.data
        if first_response is None and is_agent_message(entry):
            first_response = entry.at
        if resolved is None and entry.stage == RESOLVED:
            resolved = entry.at
        if kind in (ESCALATE, TERMINATE) and _get(data, "escalation") is not None:
            counts["escalations"] += 1
        if kind == APOLOGIZE and _get(data, "apology") is not None:
            counts["apologies"] += 1
        elif kind == REOPEN:
            counts["reopens"] += 1
        elif kind == SLA_STEP:
            steps = _get(data, "steps")
            counts["sla_steps"] += len(steps) if isinstance(steps, list) else 0
        elif kind == SLA_ALERT:
            for name in ("warnings", "breaches"):
                found = _get(data, name)
                counts[name] += len(found) if isinstance(found, list) else 0
        elif kind == SCHEDULE_FOLLOW_UP:
            counts["scheduled"] += 1
        elif kind == COMPLETE_FOLLOW_UP:
            counts["completed"] += 1
            feedback += _get(data, "feedback") is not None
        elif kind == TERMINATE:
            terminations += 1
    return ConversationDigest(
        conversation_id=first.conversation_id,
        entries=len(history),
        opened_at=min(entry.at for entry in history),
        category=_text(_get(opening, "issue", "category")),
        severity=_text(_get(opening, "issue", "severity")),
        tier=_text(_get(opening, "tier")),
        channel=_text(_get(opening, "channel")),
        agent_id=_text(_get(opening, "agent", "id")),
        agent_role=_text(_get(opening, "agent", "role")),
        first_response_at=first_response,
        resolved_at=resolved,
        escalations=counts["escalations"],
        apologies=counts["apologies"],
        reopens=counts["reopens"],
        sla_steps=counts["sla_steps"],
        follow_ups_scheduled=counts["scheduled"],
        follow_ups_completed=counts["completed"],
        feedback=feedback,
        terminations=terminations,
        sla_warnings=counts["warnings"],
        sla_breaches=counts["breaches"],
    )


def _offers(history: Sequence[JournalEntry]) -> list[OfferDigest]:
    decided: dict[Any, JournalEntry] = {}
    for entry in history:
        if entry.kind in (ACCEPT, DECLINE):
            decided.setdefault(_get(entry.data, "offer_id"), entry)
    offers = []
    for entry in history:
        if entry.kind != PROPOSE:
            continue
        offer_id = _get(entry.data, "offer", "id")
        decision = decided.get(offer_id) if offer_id is not None else None
        if decision is not None and decision.seq < entry.seq:
            decision = None
        offers.append(
            OfferDigest(
                conversation_id=entry.conversation_id,
                seq=entry.seq,
                at=entry.at,
                offer_id=_text(offer_id),
                kind=_text(_get(entry.data, "offer", "kind")),
                amount=_text(_get(entry.data, "offer", "value", "amount")),
                currency=_text(_get(entry.data, "offer", "value", "currency")),
                status=_text(_get(entry.data, "authorization", "status")),
                role=_text(_get(entry.data, "authorization", "role")),
                approver_role=_text(_get(entry.data, "authorization", "approver_role")),
                outcome=None if decision is None else decision.kind,
                decided_seq=None if decision is None else decision.seq,
                decided_at=None if decision is None else decision.at,
            )
        )
    return offers


def _escalations(history: Sequence[JournalEntry]) -> list[EscalationDigest]:
    found = []
    for entry in history:
        escalation = _get(entry.data, "escalation") if entry.kind in (ESCALATE, TERMINATE) else None
        if escalation is None:
            continue
        reasons = _get(escalation, "reasons")
        found.append(
            EscalationDigest(
                conversation_id=entry.conversation_id,
                seq=entry.seq,
                at=entry.at,
                kind=entry.kind,
                to=_text(_get(escalation, "to")),
                reasons=tuple(
                    code
                    for reason in (reasons if isinstance(reasons, list) else ())
                    if isinstance(code := _get(reason, "code"), str)
                ),
            )
        )
    return found


def _feedback(history: Sequence[JournalEntry]) -> list[FeedbackDigest]:
    return [
        FeedbackDigest(conversation_id=e.conversation_id, seq=e.seq, at=e.at, text=text)
        for e in history
        if e.kind == COMPLETE_FOLLOW_UP and isinstance(text := _get(e.data, "feedback"), str)
    ]


def digest_histories(histories: Iterable[Sequence[JournalEntry]]) -> JournalDigest:
    """The digest of the conversations whose histories (each oldest first) are given, in
    Python: the reference the SQL of each backend is tested against."""
    conversations, offers, escalations, feedback = [], [], [], []
    for history in histories:
        if not history:
            continue
        conversations.append(_conversation(history))
        offers.extend(_offers(history))
        escalations.extend(_escalations(history))
        feedback.extend(_feedback(history))
    return JournalDigest(
        conversations=tuple(conversations),
        offers=tuple(offers),
        escalations=tuple(escalations),
        feedback=tuple(feedback),
    ).sorted()
