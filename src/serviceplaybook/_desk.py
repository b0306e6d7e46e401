"""The facade: one method per thing that happens in a conversation.

Each :class:`ServiceDesk` method is one unit of work: it reads the conversation, runs the
playbook and the policies, and writes the new conversation, its journal entries, a grant and
a follow-up together, or nothing at all. Each returns an :class:`Outcome` with the
conversation as saved, the guidance for the agent, and the decisions the call produced.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

import attrs

from serviceplaybook import _desk_arguments as arguments
from serviceplaybook._errors import ConcurrentUpdate, NotFound, ValidationError
from serviceplaybook._playbook import Event, Playbook
from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._policies.calendar import BusinessCalendar
from serviceplaybook._policies.compensation import CompensationPolicy
from serviceplaybook._policies.escalation import EscalationPolicy
from serviceplaybook._policies.followup import FollowUpPolicy
from serviceplaybook._policies.redaction import Redactor
from serviceplaybook._policies.review import DraftReview
from serviceplaybook._policies.signals import LexiconSignalDetector, SignalDetector
from serviceplaybook._policies.sla import SlaPolicy
from serviceplaybook._ports import Clock, FollowUpDispatcher, Storage
from serviceplaybook._privacy import (
    check_customer_id,
    customer_conversations,
    erased_conversation,
    erased_entry,
    erasure_entry,
    export_data,
    new_pseudonym,
)
from serviceplaybook._records.apology import Apology, ApologyDecision, Finding
from serviceplaybook._records.compensation import Approval, Authorization, CounterOffer, Grant
from serviceplaybook._records.conversation import Conversation, Handoff, Message
from serviceplaybook._records.erasure import Erasure
from serviceplaybook._records.escalation import EscalationDecision
from serviceplaybook._records.facts import FactValue
from serviceplaybook._records.followup import FollowUp, FollowUpStatus
from serviceplaybook._records.issue import Issue
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.offers import Offer, OfferStatus, ProposedOffer
from serviceplaybook._records.parties import CUSTOMER, Agent, Channel, Customer, Role
from serviceplaybook._records.query import ConversationPage, ConversationQuery
from serviceplaybook._records.reasons import Guidance, Reason
from serviceplaybook._records.refusals import ApprovalRequired, PolicyViolation
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.sla import SlaStatus
from serviceplaybook._records.validate import require_aware, wrong_type
from serviceplaybook._serialization import to_dict
from serviceplaybook.adapters._delivery import deliver_claimed
from serviceplaybook.adapters.memory import InMemoryStorage

if TYPE_CHECKING:
    from serviceplaybook._playbook_file import PlaybookFile

_log = logging.getLogger("serviceplaybook")

SYSTEM = "system"
"""The actor of events the desk applies on its own (an escalation rule, a follow-up)."""

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Outcome:
    """What one desk call did.

    Attributes:
        conversation: the conversation as saved.
        guidance: the recommended next steps for the agent.
        events: the playbook events the call applied, in order (``("hear", "escalate")``).
        signals: what the customer's message said (``hear``).
        escalation: the escalation decision, when one was applied.
        apology: the apology given (``apologize``), or ``None`` when the policy advised not to.
        apology_decision: why (``apologize``).
        authorization: the authorization of an offer (``propose``).
        follow_up: the follow-up scheduled (``accept``, ``resolve``).
        sla: the SLA clocks as :meth:`ServiceDesk.check_sla` found them.
    """

    conversation: Conversation
    guidance: tuple[Guidance, ...]
    events: tuple[str, ...] = ()
    signals: Signals | None = None
    escalation: EscalationDecision | None = None
    apology: Apology | None = None
    apology_decision: ApologyDecision | None = None
    authorization: Authorization | None = None
    follow_up: FollowUp | None = None
    sla: SlaStatus | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _role_of(conversation: Conversation, agent_id: str) -> Role:
    """The role of one of the conversation's agents (the owner or one met in a handoff)."""
    for agent in (
        conversation.agent,
        *(h.to_agent for h in conversation.handoffs),
        *(h.from_agent for h in conversation.handoffs),
    ):
        if agent.id == agent_id:
            return agent.role
    raise NotFound("agent", agent_id)


def _new_id() -> str:
    return uuid.uuid4().hex


class _Work:
    """One unit of work: the conversation as it evolves through the call's events."""

    def __init__(self, desk: ServiceDesk, conversation: Conversation, now: datetime) -> None:
        self.desk = desk
        self.start = conversation
        self.conversation = conversation
        self.now = now
        self.entries: list[JournalEntry] = []
        self.events: list[str] = []

    def event(self, name: str, actor: str, data: Mapping[str, Any] | None = None) -> Event:
        return Event(name=name, at=self.now, actor=actor, data=data or {})

    def messages_with(self, author: str, text: str | None) -> tuple[Message, ...]:
        """The conversation's messages, with ``text`` by ``author`` appended (unless None)."""
        messages = self.conversation.messages
        if text is None:
            return messages
        if self.desk.redact_messages:
            text = self.desk.redactor.redact_text(text)
        return (*messages, Message(author=author, text=text, at=self.now))

    def acting(self, by: Agent | None) -> Agent:
        """Who acts for the agent side now (:meth:`ServiceDesk._acting`)."""
        return self.desk._acting(self.conversation, by)

    def customer_said(
        self, text: str | None
    ) -> tuple[Signals | None, dict[str, Any] | None, dict[str, Any]]:
        """What a customer message (``None``: none) adds to the event about to fire: its
        signals (one per customer message, read by the desk's detector), the journal record,
        and the conversation's changes (the message and its signals)."""
        if text is None:
            return None, None, {}
        conversation = self.conversation
        signals = self.desk.detector.detect(text, conversation)
        record = {"text": text, "signals": to_dict(signals)}
        changes = {
            "messages": self.messages_with(CUSTOMER, text),
            "signals": (*conversation.signals, signals),
        }
        return signals, record, changes

    def check(self, event: Event) -> None:
        """Raise IllegalTransition now, before any policy work, if the event is not possible."""
        self.desk.playbook.next_stage(self.conversation, event)

    def fire(self, event: Event, record: Mapping[str, Any] | None = None, **changes: Any) -> None:
        self.conversation = self.desk.playbook.apply(self.conversation, event, **changes)
        self.events.append(event.name)
        self.entries.append(
            JournalEntry(
                conversation_id=self.conversation.id,
                seq=self.conversation.version,
                at=self.now,
                kind=event.name,
                actor=event.actor,
                stage=str(self.conversation.stage),
                data=self.desk.redactor.redact(dict(record or {})),
            )
        )
        _log.debug(
            "conversation %s: %s by %s -> %s (version %d)",
            self.conversation.id,
            event.name,
            event.actor,
            self.conversation.stage,
            self.conversation.version,
        )


class ServiceDesk:
    """The playbook, the policies and the storage wired together.

    Most users build one with :meth:`in_memory` and call one method per thing that happens.
    Every policy is a constructor argument, so a subclassed policy plugs in directly.

    Args:
        storage: where conversations, the journal, grants and follow-ups are kept.
        playbook: the state machine and its guidance.
        detector: reads customer messages into signals.
        escalation: decides escalations.
        apology: decides and composes apologies.
        compensation: recommends and authorizes offers.
        follow_up: plans follow-ups after a resolution.
        sla: the SLA targets and escalation steps, counted in business time.
        redactor: masks personal data in the journal and in log messages.
        reviewer: checks agent drafts against the playbook (:meth:`review`).
        clock: the current time, timezone-aware.
        ids: makes new ids (conversations, approvals).
        max_delivery_attempts: a follow-up that failed this often ends as failed.
        retry_backoff: the wait before the first retry; it doubles with each attempt.
        lease: how long a claimed follow-up is held before another worker may take it.
        redact_messages: store message texts as the journal stores them, with the personal
            data the redactor recognises masked (the detector still reads the words as
            written); off by default, so that agents read back what the customer wrote.

    A desk is a context manager: leaving ``with ServiceDesk.sqlite(path) as desk:`` calls
    :meth:`shutdown`, which closes its storage.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        playbook: Playbook | None = None,
        detector: SignalDetector | None = None,
        escalation: EscalationPolicy | None = None,
        apology: ApologyPolicy | None = None,
        compensation: CompensationPolicy | None = None,
        follow_up: FollowUpPolicy | None = None,
        sla: SlaPolicy | None = None,
        redactor: Redactor | None = None,
        reviewer: DraftReview | None = None,
        clock: Clock | None = None,
        ids: Callable[[], str] | None = None,
        max_delivery_attempts: int = 5,
        retry_backoff: timedelta = timedelta(minutes=5),
        lease: timedelta = timedelta(minutes=5),
        redact_messages: bool = False,
    ) -> None:
        arguments.desk_options(
            {
                "playbook": playbook,
                "detector": detector,
                "escalation": escalation,
                "apology": apology,
                "compensation": compensation,
                "follow_up": follow_up,
                "sla": sla,
                "redactor": redactor,
                "reviewer": reviewer,
                "clock": clock,
                "ids": ids,
                "max_delivery_attempts": max_delivery_attempts,
                "retry_backoff": retry_backoff,
                "lease": lease,
                "redact_messages": redact_messages,
            }
        )
        self.storage = arguments.storage("ServiceDesk(storage)", storage)
        self.redact_messages = redact_messages
        self.playbook = playbook or Playbook()
        self.detector: SignalDetector = detector or LexiconSignalDetector()
        self.escalation = escalation or EscalationPolicy()
        self.apology = apology or ApologyPolicy()
        self.compensation = compensation or CompensationPolicy()
        self.follow_up = follow_up or FollowUpPolicy()
        self.sla = sla or SlaPolicy()
        self.redactor = redactor or Redactor.standard()
        self.reviewer = reviewer or DraftReview()
        self.clock: Clock = clock or _utc_now
        self.ids = ids or _new_id
        self.max_delivery_attempts = max_delivery_attempts
        self.retry_backoff = retry_backoff
        self.lease = lease

    @classmethod
    def in_memory(cls, *, clock: Clock | None = None, **options: Any) -> ServiceDesk:
        """A desk that keeps everything in memory (tests, simulations, demos).

        ``options`` are the constructor's keyword arguments.
        """
        return cls(InMemoryStorage(), clock=clock, **options)

    @classmethod
    def sqlite(
        cls,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout: float = 30.0,
        **options: Any,
    ) -> ServiceDesk:
        """The embedded default: one SQLite file holds everything; nothing to install.

        ``synchronous="FULL"`` (the default) keeps every returned call through a power loss;
        ``"NORMAL"`` is faster and may lose the last calls then, never corrupting the file.
        ``options`` are the constructor's keyword arguments.
        """
        from serviceplaybook.adapters.sqlite import SQLiteStorage

        # everything is checked before the file is opened: a refusal leaves no empty file
        arguments.path("ServiceDesk.sqlite(path)", path)
        arguments.sqlite_options(synchronous, busy_timeout)
        arguments.desk_options({"clock": clock, **options})
        storage = SQLiteStorage(path, synchronous=synchronous, busy_timeout=busy_timeout)
        return cls(storage, clock=clock, **options)

    @classmethod
    def postgres(
        cls,
        dsn: str,
        *,
        clock: Clock | None = None,
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 30.0,
        prepare_threshold: int | None = 5,
        migrate: bool = True,
        **options: Any,
    ) -> ServiceDesk:
        """Everything in a PostgreSQL database, shared by several processes and machines
        (``pip install serviceplaybook[postgres]``; ``docs/scale-out.md``).

        ``dsn`` is a libpq connection string or URI; the process keeps a pool of ``min_size``
        to ``max_size`` connections (one per thread in a call) and fails a call that waits
        ``timeout`` seconds for one. The schema is created or migrated on open unless
        ``migrate=False`` (then run the SQL of ``serviceplaybook schema --postgres``);
        ``prepare_threshold=None`` behind a transaction-pooling PgBouncer older than 1.21.
        ``options`` are the constructor's keyword arguments.
        """
        from serviceplaybook.adapters.postgres import PostgresStorage

        # everything is checked before a connection is made
        arguments.postgres_options(dsn, min_size, max_size, timeout, prepare_threshold, migrate)
        arguments.desk_options({"clock": clock, **options})
        storage = PostgresStorage(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            prepare_threshold=prepare_threshold,
            migrate=migrate,
        )
        return cls(storage, clock=clock, **options)

    @classmethod
    def from_config(
        cls,
        source: PlaybookFile | str | os.PathLike[str],
        *,
        db: str | os.PathLike[str] | None = None,
        storage: Storage | None = None,
        clock: Clock | None = None,
        playbook_cls: type[Playbook] = Playbook,
        escalation_cls: type[EscalationPolicy] = EscalationPolicy,
        apology_cls: type[ApologyPolicy] = ApologyPolicy,
        compensation_cls: type[CompensationPolicy] = CompensationPolicy,
        follow_up_cls: type[FollowUpPolicy] = FollowUpPolicy,
        sla_cls: type[SlaPolicy] = SlaPolicy,
        calendar_cls: type[BusinessCalendar] = BusinessCalendar,
        **options: Any,
    ) -> Self:
        """A desk whose policies a playbook file configures (``docs/playbook-file.md``).

        Every policy is built before the storage is opened, so a bad file never yields a
        half-configured desk (nor an empty database file).

        Args:
            source: the TOML playbook file, or a :class:`PlaybookFile` already loaded.
            db: a SQLite file to keep everything in (the embedded default); in memory when
                neither ``db`` nor ``storage`` is given.
            storage: another storage to use.
            clock: the current time, timezone-aware.
            playbook_cls: the playbook class the file's ``[playbook]`` configures.
            escalation_cls: the escalation policy class for ``[escalation]``.
            apology_cls: the apology policy class for ``[apology]``.
            compensation_cls: the compensation policy class for ``[compensation]``.
            follow_up_cls: the follow-up policy class for ``[follow_up]``.
            sla_cls: the SLA policy class for ``[sla]``.
            calendar_cls: the calendar class for ``[calendar]``.
            **options: other constructor keyword arguments (``ids``, ``detector``,
                ``redactor``...); they win over the file, a ready policy instance included.

        Raises:
            PlaybookFileError: the file is invalid (every problem, with its key path), or a
                policy class refused its values.
            ValidationError: both ``storage`` and ``db`` were given.
        """
        # The reader (and with it the TOML parser) loads only when a desk is made from a file.
        from serviceplaybook._playbook_file import PlaybookFile

        if storage is not None and db is not None:
            raise ValidationError(
                "give the desk's storage either as storage= or as a SQLite file db=, not both"
            )
        if not isinstance(source, PlaybookFile):
            arguments.path("ServiceDesk.from_config(source)", source)
        if db is not None:
            arguments.path("ServiceDesk.from_config(db)", db)
        if storage is not None:
            arguments.storage("ServiceDesk.from_config(storage)", storage)
        arguments.policy_classes(
            "ServiceDesk.from_config",
            playbook_cls=(playbook_cls, Playbook),
            escalation_cls=(escalation_cls, EscalationPolicy),
            apology_cls=(apology_cls, ApologyPolicy),
            compensation_cls=(compensation_cls, CompensationPolicy),
            follow_up_cls=(follow_up_cls, FollowUpPolicy),
            sla_cls=(sla_cls, SlaPolicy),
            calendar_cls=(calendar_cls, BusinessCalendar),
        )
        arguments.desk_options({"clock": clock, **options})
        playbook_file = (
            source
            if isinstance(source, PlaybookFile)
            else PlaybookFile.load(source, playbook_cls=playbook_cls)
        )
        keywords = playbook_file.desk_keywords(
            playbook_cls=playbook_cls,
            escalation_cls=escalation_cls,
            apology_cls=apology_cls,
            compensation_cls=compensation_cls,
            follow_up_cls=follow_up_cls,
            sla_cls=sla_cls,
            calendar_cls=calendar_cls,
        )
        if clock is not None:
            keywords["clock"] = clock
        keywords.update(options)
        if storage is None:
            if db is not None:
                from serviceplaybook.adapters.sqlite import SQLiteStorage

                storage = SQLiteStorage(db)
            else:
                storage = InMemoryStorage()
        return cls(storage, **keywords)

    def batch(self) -> AbstractContextManager[Any]:
        """Run many calls as one unit of work (one transaction on SQLite)::

            with desk.batch():
                for text in messages:
                    desk.hear(cid, text)

        Each call still checks its own rules; an exception that leaves the block undoes every
        call made inside it. Calls that raise inside the block and are caught there undo only
        themselves. Every call checks its arguments before it changes anything (see
        ``docs/bad-input.md``), so a value the database could not store is refused by the call
        that got it, never at the block's commit: a call that returned inside the block is
        kept when the block ends.
        """
        return self.storage.atomic()

    # -- plumbing ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return require_aware(self.clock(), "the desk's clock")

    def _now_after(self, conversation: Conversation) -> datetime:
        """The clock's time, but never before the conversation's last change.

        A clock that goes back (a host's clock stepped back, or processes whose clocks
        disagree) is clamped rather than refused: refusing would turn away the customer's
        message until the clock caught up, and a time before the last change would put the
        messages and the journal out of order. Clamped, times never decrease along the
        journal; the warning says by how much the clock was behind.
        """
        now = self._now()
        last = conversation.updated_at
        if now < last:
            _log.warning(
                "the desk's clock reads %s, %s before conversation %s last changed; "
                "recording at %s to keep its journal in order",
                now.isoformat(),
                last - now,
                conversation.id,
                last.isoformat(),
            )
            return last
        return now

    def _run(
        self,
        conversation_id: str,
        expected_version: int | None,
        body: Callable[[_Work], T],
    ) -> tuple[_Work, T]:
        with self.storage.atomic():
            conversation = self.storage.conversations.get(conversation_id)
            if expected_version is not None and conversation.version != expected_version:
                raise ConcurrentUpdate(conversation_id, expected_version, conversation.version)
            work = _Work(self, conversation, self._now_after(conversation))
            result = body(work)
            if work.entries:
                work.conversation = self._with_sla_due(work.conversation, work.now)
                self.storage.conversations.save(
                    work.conversation, expected_version=work.start.version
                )
                self.storage.journal.append(work.entries)
        return work, result

    def _outcome(self, work: _Work, signals: Signals | None = None, **decisions: Any) -> Outcome:
        return Outcome(
            conversation=work.conversation,
            guidance=self.playbook.guidance(work.conversation, signals)
            + self.compensation.guidance(work.conversation, signals),
            events=tuple(work.events),
            signals=signals,
            **decisions,
        )

    def _acting(self, conversation: Conversation, by: Agent | None) -> Agent:
        """Who acts for the agent side: ``by``, or the owner. A bot is refused while a person
        owns the conversation (the ladder's rule), so a person is never overridden by one."""
        if by is None:
            return conversation.agent
        if not isinstance(by, Agent):
            raise ValidationError(f"by must be an Agent, got {type(by).__name__}")
        refusal = self.escalation.ladder.may_act(conversation, by)
        if refusal is not None:
            raise PolicyViolation(refusal.text, [refusal])
        return by

    def _simple(
        self,
        conversation_id: str,
        expected_version: int | None,
        name: str,
        *,
        by_customer: bool,
        record: Mapping[str, Any] | None = None,
        ends: bool = False,
        refusal: Callable[[Conversation], Reason | None] | None = None,
        **changes: Any,
    ) -> Outcome:
        """One event with fixed changes. An event that ``ends`` the conversation stamps
        ``closed_at`` and cancels its pending follow-ups in the same unit of work. A
        ``refusal`` rule, asked once the stage allows the event, may refuse it with its
        reason (:class:`PolicyViolation`)."""
        arguments.conversation_id(name, conversation_id)
        arguments.expected_version(name, expected_version)

        def body(work: _Work) -> None:
            actor = CUSTOMER if by_customer else work.conversation.agent.id
            event = work.event(name, actor)
            if refusal is not None:
                work.check(event)
                refused = refusal(work.conversation)
                if refused is not None:
                    raise PolicyViolation(refused.text, [refused])
            if ends:
                changes["closed_at"] = work.now
            work.fire(event, record, **changes)
            if ends:
                self.storage.follow_ups.cancel(conversation_id)

        work, _ = self._run(conversation_id, expected_version, body)
        return self._outcome(work)

    # -- opening -------------------------------------------------------------------------------

    def open(
        self,
        *,
        customer: Customer,
        issue: Issue,
        agent: Agent,
        channel: Channel | str | None = None,
    ) -> Conversation:
        """Open a conversation in the playbook's first stage and record it."""
        arguments.instance("open", "customer", customer, Customer)
        arguments.instance("open", "issue", issue, Issue)
        arguments.agent("open", "agent", agent)
        if channel is not None and not isinstance(channel, str):
            raise wrong_type("open(channel)", "a Channel", channel)
        channel = Channel(channel) if channel is not None else None
        now = self._now()
        conversation = Conversation(
            id=self.ids(),
            stage=self.playbook.initial,
            customer=customer,
            issue=issue,
            agent=agent,
            channel=channel or customer.preferred_channel or Channel.EMAIL,
            opened_at=now,
            updated_at=now,
            version=1,
        )
        conversation = self._with_sla_due(conversation, now)
        entry = JournalEntry(
            conversation_id=conversation.id,
            seq=1,
            at=now,
            kind="open",
            actor=agent.id,
            stage=str(conversation.stage),
            data=self.redactor.redact(
                {
                    "customer_id": customer.id,
                    "tier": customer.tier,
                    "issue": to_dict(issue),
                    "agent": to_dict(agent),
                    "channel": str(conversation.channel),
                }
            ),
        )
        with self.storage.atomic():
            self.storage.conversations.save(conversation, expected_version=0)
            self.storage.journal.append([entry])
        _log.debug("conversation %s opened for agent %s", conversation.id, agent.id)
        return conversation

    # -- listening and understanding -----------------------------------------------------------

    def hear(
        self, conversation_id: str, text: str, *, expected_version: int | None = None
    ) -> Outcome:
        """The customer wrote ``text``: detect signals, and escalate when a rule fires.

        Abuse is answered in steps: a first abusive message brings guidance to set a calm
        boundary (and no escalation, unless the policy says otherwise); abuse after it goes
        to a supervisor; any threat terminates the conversation with a security escalation,
        in this same call. A self-harm disclosure goes to the safety team at once and the
        conversation stays open.
        """
        arguments.conversation_id("hear", conversation_id)
        arguments.text("hear", "text", text)
        arguments.expected_version("hear", expected_version)

        def body(work: _Work) -> tuple[Signals | None, EscalationDecision | None]:
            return self._customer_turn(work, work.event("hear", CUSTOMER), text)

        work, (signals, decision) = self._run(conversation_id, expected_version, body)
        return self._outcome(work, signals, escalation=decision)

    def _customer_turn(
        self,
        work: _Work,
        event: Event,
        text: str | None,
        record: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> tuple[Signals | None, EscalationDecision | None]:
        """The one path of every customer event (hear, confirm, correct, decline, accept,
        reopen): the event is checked, the customer's words (if any) recorded as a message
        and read by the detector, the event fired with ``changes``, and the escalation
        rules run on the result, in this unit of work."""
        work.check(event)
        signals, said, said_changes = work.customer_said(text)
        work.fire(event, {**(record or {}), **(said or {})}, **changes, **said_changes)
        decision = self.escalation.decide(work.conversation, signals)
        return signals, self._apply_escalation(work, decision)

    def _agent_message(
        self,
        name: str,
        conversation_id: str,
        text: str,
        expected_version: int | None,
        by: Agent | None,
        **extra: Any,
    ) -> Outcome:
        arguments.conversation_id(name, conversation_id)
        arguments.text(name, "text", text)
        arguments.optional_agent(name, "by", by)
        arguments.expected_version(name, expected_version)

        def body(work: _Work) -> None:
            actor = work.acting(by)
            work.fire(
                work.event(name, actor.id),
                {"text": text},
                messages=work.messages_with(actor.id, text),
                **extra,
            )

        work, _ = self._run(conversation_id, expected_version, body)
        return self._outcome(work)

    def ask(
        self,
        conversation_id: str,
        text: str,
        *,
        by: Agent | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """The agent asks a clarifying question.

        ``by`` (on every agent action): who acts, when not the owner; a bot is refused with
        :class:`PolicyViolation` while a person owns the conversation."""
        return self._agent_message("ask", conversation_id, text, expected_version, by)

    def say(
        self,
        conversation_id: str,
        text: str,
        *,
        by: Agent | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """The agent writes to the customer (an acknowledgement, an update, "a supervisor
        will join in two minutes"), in any open stage; the stage stays.

        While an escalation waits to be picked up, the agent who has the customer keeps
        talking to them (``say``, :meth:`ask`, :meth:`summarize`); a bot does not once a
        person is needed."""
        return self._agent_message("say", conversation_id, text, expected_version, by)

    def summarize(
        self,
        conversation_id: str,
        text: str,
        *,
        by: Agent | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """The agent reflects the problem back; the customer confirms or corrects it next."""
        return self._agent_message(
            "summarize", conversation_id, text, expected_version, by, summary=text, understood=False
        )

    def confirm(
        self,
        conversation_id: str,
        text: str | None = None,
        *,
        expected_version: int | None = None,
    ) -> Outcome:
        """The customer confirms the summary (``text``: their words, "Yes, exactly"): the
        problem is understood."""
        arguments.conversation_id("confirm", conversation_id)
        text = arguments.optional_text("confirm", "text", text)
        arguments.expected_version("confirm", expected_version)

        def body(work: _Work) -> tuple[Signals | None, EscalationDecision | None]:
            return self._customer_turn(
                work, work.event("confirm", CUSTOMER), text or None, understood=True
            )

        work, (signals, decision) = self._run(conversation_id, expected_version, body)
        return self._outcome(work, signals, escalation=decision)

    def correct(
        self,
        conversation_id: str,
        text: str | None = None,
        *,
        expected_version: int | None = None,
    ) -> Outcome:
        """The customer says the summary is wrong (optionally saying what is): back to
        clarifying questions. From the second wrong summary on, the guidance is to own the
        misunderstanding and ask the customer to put it in their own words."""
        arguments.conversation_id("correct", conversation_id)
        text = arguments.optional_text("correct", "text", text)
        arguments.expected_version("correct", expected_version)

        def body(work: _Work) -> tuple[Signals | None, EscalationDecision | None]:
            return self._customer_turn(
                work,
                work.event("correct", CUSTOMER),
                text or None,
                understood=False,
                summary=None,
                corrections=work.conversation.corrections + 1,
            )

        work, (signals, decision) = self._run(conversation_id, expected_version, body)
        return self._outcome(work, signals, escalation=decision)

    # -- apologies and offers --------------------------------------------------------------------

    def apologize(
        self,
        conversation_id: str,
        *,
        by: Agent | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """Ask the apology policy: apologize specifically now, or not (with the reasons)."""
        arguments.conversation_id("apologize", conversation_id)
        arguments.optional_agent("apologize", "by", by)
        arguments.expected_version("apologize", expected_version)

        def body(work: _Work) -> tuple[ApologyDecision, Apology | None]:
            conversation = work.conversation
            actor = work.acting(by)
            event = work.event("apologize", actor.id)
            work.check(event)
            decision = self.apology.decide(conversation)
            record: dict[str, Any] = {"decision": to_dict(decision)}
            if not decision.apologize:
                work.fire(event, record)
                return decision, None
            apology = attrs.evolve(self.apology.compose(conversation), by=actor.id, at=work.now)
            record["apology"] = apology.text
            work.fire(
                event,
                record,
                apologies=(*conversation.apologies, apology),
                messages=work.messages_with(actor.id, apology.text),
            )
            return decision, apology

        work, (decision, apology) = self._run(conversation_id, expected_version, body)
        return self._outcome(work, apology=apology, apology_decision=decision)

    def propose(
        self,
        conversation_id: str,
        offer: Offer,
        *,
        by: Agent | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """The agent proposes ``offer``.

        The offer is judged by what its words promise as well as by its declared kind and
        value (:meth:`DraftReview.authorize_offer <serviceplaybook.DraftReview.authorize_offer>`):
        "a free year of service" declared as an unvalued goodwill gesture needs the approval
        free service needs.

        Raises:
            ApprovalRequired: the offer is above the agent's authority; it was recorded as
                pending, with an approval that a covering role gives with :meth:`approve`.
            PolicyViolation: no role may grant it, or the customer declined the same offer.
        """
        arguments.conversation_id("propose", conversation_id)
        arguments.instance("propose", "offer", offer, Offer)
        arguments.optional_agent("propose", "by", by)
        arguments.expected_version("propose", expected_version)

        def body(
            work: _Work,
        ) -> tuple[Authorization, Approval | None, EscalationDecision | None]:
            conversation = work.conversation
            agent = work.acting(by)
            event = work.event("propose", agent.id, {"offer": offer})
            work.check(event)
            self._check_new_offer(conversation, offer)
            history = self.storage.ledger.grants(conversation.customer.id)
            authorization = self.reviewer.authorize_offer(
                offer,
                conversation,
                agent,
                compensation=self.compensation,
                history=history,
                now=work.now,
            )
            if authorization.denied:
                raise PolicyViolation(
                    f"offer {offer.id!r} cannot be granted: "
                    + " ".join(r.text for r in authorization.reasons),
                    authorization.reasons,
                )
            approval = None
            status = OfferStatus.OPEN
            changes: dict[str, Any] = {}
            if authorization.needs_approval or authorization.escalate:
                approval = self.compensation.request_approval(
                    offer, agent, authorization, id=self.ids(), now=work.now
                )
                status = OfferStatus.PENDING_APPROVAL
                changes["approvals"] = (*conversation.approvals, approval)
            proposed = ProposedOffer(
                offer=offer,
                status=status,
                proposed_by=agent.id,
                proposed_role=agent.role,
                proposed_at=work.now,
                approval_id=approval.id if approval else None,
            )
            work.fire(
                event,
                {"offer": to_dict(offer), "authorization": to_dict(authorization)},
                offers=(*conversation.offers, proposed),
                **changes,
            )
            escalation = None
            if authorization.escalate:
                # Repeat claims: the offer waits for the reviewing role, who takes the case.
                escalation = self._apply_escalation(
                    work,
                    self.escalation.requested(
                        work.conversation,
                        authorization.reasons[0],
                        authorization.approver_role,
                    ),
                )
            return authorization, approval, escalation

        work, (authorization, approval, escalation) = self._run(
            conversation_id, expected_version, body
        )
        if escalation is not None:
            return self._outcome(work, authorization=authorization, escalation=escalation)
        if approval is not None:
            raise ApprovalRequired(
                f"offer {offer.id!r} is above {work.start.agent.role.value}'s authority; a "
                f"{approval.approver_role.value} must approve it (approval {approval.id!r})",
                approval_id=approval.id,
                approver_role=approval.approver_role,
                reasons=authorization.reasons,
            )
        return self._outcome(work, authorization=authorization)

    def _check_new_offer(self, conversation: Conversation, offer: Offer) -> None:
        for proposed in conversation.offers:
            if proposed.offer.id == offer.id:
                raise ValidationError(
                    f"offer id {offer.id!r} was already proposed in this conversation; "
                    f"give a new offer its own id"
                )
            if proposed.status is OfferStatus.DECLINED and proposed.offer.same_terms(offer):
                reason = Reason(
                    code="offer_already_declined",
                    text="The customer already declined this offer; propose something else.",
                )
                raise PolicyViolation(reason.text, [reason])

    def approve(
        self,
        conversation_id: str,
        approval_id: str,
        approver: Agent,
        *,
        expected_version: int | None = None,
    ) -> Outcome:
        """``approver`` approves a pending offer: it goes on the table.

        Raises:
            PolicyViolation: the approver lacks the authority, or asked for it themselves.
        """
        arguments.conversation_id("approve", conversation_id)
        arguments.identifier("approve", "approval_id", approval_id)
        arguments.agent("approve", "approver", approver)
        arguments.expected_version("approve", expected_version)

        def body(work: _Work) -> None:
            conversation = work.conversation
            event = work.event("approve", approver.id, {"approval_id": approval_id})
            work.check(event)
            approval = conversation.approval(approval_id)
            if not approval.pending:
                raise PolicyViolation(
                    f"approval {approval_id!r} was already given by {approval.approved_by!r}"
                )
            proposed = conversation.offer(approval.offer_id)
            history = self.storage.ledger.grants(conversation.customer.id)
            refusal = self.compensation.can_approve(
                approver, approval, proposed.offer, history, now=work.now
            )
            if refusal is not None:
                raise PolicyViolation(refusal.text, [refusal])
            approved = approval.approved(approver, work.now)
            work.fire(
                event,
                {
                    "approval_id": approval_id,
                    "offer_id": approval.offer_id,
                    "approver": approver.id,
                },
                approvals=tuple(
                    approved if a.id == approval_id else a for a in conversation.approvals
                ),
                offers=conversation.replace_offer(approval.offer_id, status=OfferStatus.OPEN),
            )

        work, _ = self._run(conversation_id, expected_version, body)
        return self._outcome(work)

    def decline(
        self,
        conversation_id: str,
        offer_id: str,
        reason: str | None = None,
        *,
        expected_version: int | None = None,
    ) -> Outcome:
        """The customer declines an open offer; ``reason`` is what they said, recorded as
        their message and read like any other (a threat in it ends the conversation).
        Repeated declines escalate to a supervisor."""
        arguments.conversation_id("decline", conversation_id)
        arguments.identifier("decline", "offer_id", offer_id)
        reason = arguments.optional_text("decline", "reason", reason)
        arguments.expected_version("decline", expected_version)

        def body(work: _Work) -> tuple[Signals | None, EscalationDecision | None]:
            conversation = work.conversation
            conversation.offer(offer_id)
            return self._customer_turn(
                work,
                work.event("decline", CUSTOMER, {"offer_id": offer_id}),
                reason or None,
                {"offer_id": offer_id, "reason": reason},
                offers=conversation.replace_offer(
                    offer_id,
                    status=OfferStatus.DECLINED,
                    decided_at=work.now,
                    decline_reason=reason,
                ),
            )

        work, (signals, decision) = self._run(conversation_id, expected_version, body)
        return self._outcome(work, signals, escalation=decision)

    def accept(
        self,
        conversation_id: str,
        offer_id: str,
        text: str | None = None,
        *,
        expected_version: int | None = None,
    ) -> Outcome:
        """The customer accepts an open offer (``text``: their words, if any): resolved, the
        grant recorded, and a follow-up scheduled when the follow-up policy plans one."""
        arguments.conversation_id("accept", conversation_id)
        arguments.identifier("accept", "offer_id", offer_id)
        text = arguments.optional_text("accept", "text", text)
        arguments.expected_version("accept", expected_version)

        def body(
            work: _Work,
        ) -> tuple[Signals | None, EscalationDecision | None, FollowUp | None]:
            conversation = work.conversation
            proposed = conversation.offer(offer_id)
            event = work.event("accept", CUSTOMER, {"offer_id": offer_id})
            work.check(event)
            approval = conversation.approval(proposed.approval_id) if proposed.approval_id else None
            # The customer's grants may have grown since the offer was made (another
            # conversation): the limits are checked again in the unit of work that grants.
            final = self.compensation.authorize_grant(
                proposed.offer,
                proposed.proposed_role or _role_of(conversation, proposed.proposed_by),
                self.storage.ledger.grants(conversation.customer.id),
                approval=approval,
                now=work.now,
            )
            if not final.granted:
                raise PolicyViolation(
                    f"offer {offer_id!r} can no longer be granted: "
                    + " ".join(r.text for r in final.reasons),
                    final.reasons,
                )
            signals, decision = self._customer_turn(
                work,
                event,
                text or None,
                {"offer_id": offer_id},
                offers=conversation.replace_offer(
                    offer_id, status=OfferStatus.ACCEPTED, decided_at=work.now
                ),
                resolved_at=work.now,
            )
            self.storage.ledger.record(
                Grant(
                    key=f"{conversation.id}:{offer_id}",
                    customer_id=conversation.customer.id,
                    conversation_id=conversation.id,
                    offer=proposed.offer,
                    granted_by=proposed.proposed_by,
                    approved_by=(
                        approval.approved_by
                        if approval is not None and approval.covers(proposed.offer)
                        else None
                    ),
                    at=work.now,
                )
            )
            if decision is not None and decision.terminate:
                return signals, decision, None  # no survey after a termination
            return signals, decision, self._plan_follow_up(work)

        work, (signals, decision, follow_up) = self._run(conversation_id, expected_version, body)
        return self._outcome(work, signals, escalation=decision, follow_up=follow_up)

    def resolve(
        self,
        conversation_id: str,
        note: str | None = None,
        *,
        by: Agent | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """The problem was fixed without an offer; a follow-up is scheduled when planned."""
        arguments.conversation_id("resolve", conversation_id)
        note = arguments.optional_text("resolve", "note", note)
        arguments.optional_agent("resolve", "by", by)
        arguments.expected_version("resolve", expected_version)

        def body(work: _Work) -> FollowUp | None:
            work.fire(
                work.event("resolve", work.acting(by).id),
                {"note": note} if note else None,
                resolved_at=work.now,
                resolution_note=note or None,
            )
            return self._plan_follow_up(work)

        work, follow_up = self._run(conversation_id, expected_version, body)
        return self._outcome(work, follow_up=follow_up)

    def _plan_follow_up(self, work: _Work) -> FollowUp | None:
        conversation = work.conversation
        recent = self.storage.follow_ups.for_customer(
            conversation.customer.id, since=work.now - self.follow_up.cooldown
        )
        decision = self.follow_up.decide(conversation, recent=recent)
        follow_up = decision.follow_up
        if follow_up is None:
            return None
        self.storage.follow_ups.schedule(follow_up)
        work.fire(
            work.event("schedule_follow_up", SYSTEM),
            {
                "follow_up": to_dict(follow_up),
                "reasons": [to_dict(reason) for reason in decision.reasons],
            },
            follow_ups=(*conversation.follow_ups, follow_up),
        )
        return follow_up

    # -- escalation -----------------------------------------------------------------------------

    def _apply_escalation(
        self, work: _Work, decision: EscalationDecision | None
    ) -> EscalationDecision | None:
        if decision is None:
            return None
        conversation = work.conversation
        changes: dict[str, Any] = {"escalations": (*conversation.escalations, decision)}
        record = {"escalation": to_dict(decision)}
        if decision.terminate:
            event = work.event("terminate", SYSTEM)
            changes.update(termination=decision.reasons[0], closed_at=work.now)
        else:
            event = work.event("escalate", SYSTEM)
        if not self.playbook.can(conversation, event):
            # Already with a higher authority (or in a stage that cannot escalate): the
            # signals still shape the guidance, but nothing moves.
            return None
        work.fire(event, record, **changes)
        if decision.terminate:
            self.storage.follow_ups.cancel(conversation.id)
        return decision

    def escalate(
        self,
        conversation_id: str,
        reason: str | Reason | None = None,
        *,
        to: Role | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """The agent hands the conversation up the ladder (never down), with a brief."""
        arguments.conversation_id("escalate", conversation_id)
        reason = arguments.optional_reason("escalate", reason)
        to = arguments.optional_role("escalate", "to", to)
        arguments.expected_version("escalate", expected_version)
        if isinstance(reason, str):
            reason = Reason(code="agent_request", text=reason)

        def body(work: _Work) -> EscalationDecision:
            conversation = work.conversation
            event = work.event("escalate", conversation.agent.id)
            work.check(event)
            decision = self.escalation.requested(conversation, reason, to, at=work.now)
            work.fire(
                event,
                {"escalation": to_dict(decision)},
                escalations=(*conversation.escalations, decision),
            )
            return decision

        work, decision = self._run(conversation_id, expected_version, body)
        return self._outcome(work, escalation=decision)

    def hand_back(
        self,
        conversation_id: str,
        bot: Agent,
        *,
        by: Agent,
        expected_version: int | None = None,
    ) -> Outcome:
        """A person hands the conversation back to a bot, which may act on it again.

        Raises:
            PolicyViolation: ``by`` is not a person at or above the owner's role, ``bot`` is
                not a bot, or an escalation waits to be picked up.
        """
        arguments.conversation_id("hand_back", conversation_id)
        arguments.agent("hand_back", "bot", bot)
        arguments.agent("hand_back", "by", by)
        arguments.expected_version("hand_back", expected_version)

        def body(work: _Work) -> None:
            conversation = work.conversation
            event = work.event("hand_back", by.id, {"to": bot.id})
            work.check(event)
            refusal = self.escalation.ladder.may_hand_back(conversation, by, bot)
            if refusal is not None:
                raise PolicyViolation(refusal.text, [refusal])
            work.fire(
                event,
                {"to": bot.id},
                agent=bot,
                handoffs=(
                    *conversation.handoffs,
                    Handoff(from_agent=conversation.agent, to_agent=bot, at=work.now),
                ),
            )

        work, _ = self._run(conversation_id, expected_version, body)
        return self._outcome(work)

    def check_sla(
        self,
        conversation_id: str,
        *,
        now: datetime | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """Run the conversation's SLA clocks: every escalation step whose threshold passed is
        recorded once (steps missed while nobody checked all come due now, in order), and the
        escalation policy acts on them in the same unit of work. A warning or a breach it
        finds is journaled once per clock (an ``sla_alert`` entry: the insights count them),
        and the guidance puts ``respond_now`` first.

        Call it on a schedule (a worker, a cron job) for open conversations; ``Outcome.sla``
        carries the clocks, warnings and breaches, ``Outcome.escalation`` the decision.

        Args:
            conversation_id: the conversation.
            now: the time to check at (the desk's clock by default); timezone-aware.
            expected_version: refuse with :class:`ConcurrentUpdate` if the conversation moved on.
        """
        arguments.conversation_id("check_sla", conversation_id)
        arguments.optional_moment("check_sla", "now", now)
        arguments.expected_version("check_sla", expected_version)

        def body(work: _Work) -> tuple[SlaStatus, EscalationDecision | None]:
            status = self.sla.check(work.conversation, now or work.now)
            recorded = set(work.conversation.sla_alerts)
            alerts = [key for key in self.sla.alerts(status) if key not in recorded]
            alert = work.event("sla_alert", SYSTEM)
            if alerts and self.playbook.can(work.conversation, alert):
                codes = [self.sla.alert_code(key) for key in alerts]
                work.fire(
                    alert,
                    {
                        "warnings": [c for c in codes if c.endswith("_due_soon")],
                        "breaches": [c for c in codes if c.endswith("_breached")],
                    },
                    sla_alerts=(*work.conversation.sla_alerts, *alerts),
                )
            conversation = work.conversation
            event = work.event("sla_step", SYSTEM)
            if not status.steps_due or not self.playbook.can(conversation, event):
                return status, None
            work.fire(
                event,
                {"steps": [to_dict(step) for step in status.steps_due]},
                sla_steps=(*conversation.sla_steps, *status.steps_due),
            )
            decision = self.escalation.decide(work.conversation, None)
            return status, self._apply_escalation(work, decision)

        work, (status, decision) = self._run(conversation_id, expected_version, body)
        outcome = self._outcome(work, escalation=decision, sla=status)
        if status.warnings or status.breaches:
            urgent = self.sla.guidance(status)
            rest = tuple(g for g in outcome.guidance if g.code != urgent.code)
            outcome = attrs.evolve(outcome, guidance=(urgent, *rest))
        return outcome

    def pick_up(
        self, conversation_id: str, agent: Agent, *, expected_version: int | None = None
    ) -> Outcome:
        """``agent`` takes over an escalated conversation, with the brief; they go on with
        the solution if the problem was understood, else with questions."""
        arguments.conversation_id("pick_up", conversation_id)
        arguments.agent("pick_up", "agent", agent)
        arguments.expected_version("pick_up", expected_version)

        def body(work: _Work) -> None:
            conversation = work.conversation
            brief = conversation.escalations[-1].brief if conversation.escalations else None
            work.fire(
                work.event("pick_up", agent.id, {"agent": agent}),
                {"from": conversation.agent.id, "to": to_dict(agent)},
                agent=agent,
                handoffs=(
                    *conversation.handoffs,
                    Handoff(
                        from_agent=conversation.agent, to_agent=agent, at=work.now, brief=brief
                    ),
                ),
            )

        work, _ = self._run(conversation_id, expected_version, body)
        return self._outcome(work)

    # -- ending ---------------------------------------------------------------------------------

    def close(self, conversation_id: str, *, expected_version: int | None = None) -> Outcome:
        """Close a resolved conversation; pending follow-ups are cancelled."""
        return self._simple(
            conversation_id, expected_version, "close", by_customer=False, ends=True
        )

    def reopen(
        self,
        conversation_id: str,
        text: str | None = None,
        *,
        expected_version: int | None = None,
    ) -> Outcome:
        """The customer comes back within the reopen window: listening again, the problem to
        be understood anew, pending follow-ups cancelled."""
        arguments.conversation_id("reopen", conversation_id)
        text = arguments.optional_text("reopen", "text", text)
        arguments.expected_version("reopen", expected_version)

        def body(work: _Work) -> tuple[Signals | None, EscalationDecision | None]:
            conversation = work.conversation
            # coming back is repeat contact: the escalation policy weighs it
            turn = self._customer_turn(
                work,
                work.event("reopen", CUSTOMER),
                text or None,
                understood=False,
                summary=None,
                reopens=conversation.reopens + 1,
                reopened_at=work.now,
                resolved_at=None,
                resolution_note=None,
                closed_at=None,
            )
            self.storage.follow_ups.cancel(conversation_id)
            return turn

        work, (signals, decision) = self._run(conversation_id, expected_version, body)
        return self._outcome(work, signals, escalation=decision)

    def terminate(
        self,
        conversation_id: str,
        reason: str | Reason,
        *,
        expected_version: int | None = None,
    ) -> Outcome:
        """End the conversation (abuse, threat); nothing but the record remains.

        Raises:
            PolicyViolation: the customer spoke of harming themselves and the trained team
                does not own the conversation (:meth:`EscalationPolicy.may_terminate`): it
                is never ended on them.
        """
        reason = arguments.reason("terminate", reason)
        if isinstance(reason, str):
            reason = Reason(code="terminated_by_agent", text=reason)
        return self._simple(
            conversation_id,
            expected_version,
            "terminate",
            by_customer=False,
            record={"reason": to_dict(reason)},
            ends=True,
            refusal=self.escalation.may_terminate,
            termination=reason,
        )

    def complete_follow_up(
        self,
        conversation_id: str,
        feedback: str | None = None,
        *,
        expected_version: int | None = None,
    ) -> Outcome:
        """The follow-up happened: record the customer's feedback and close."""
        feedback = arguments.optional_text("complete_follow_up", "feedback", feedback)
        return self._simple(
            conversation_id,
            expected_version,
            "complete_follow_up",
            by_customer=True,
            record={"feedback": feedback} if feedback else None,
            ends=True,
            feedback=feedback,
        )

    # -- events a playbook subclass adds --------------------------------------------------------

    def fire(
        self,
        conversation_id: str,
        event: str,
        *,
        actor: str | None = None,
        data: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """Apply an event that has no method of its own, typically one a playbook subclass
        added (``"wait"`` into an ``awaiting_customer`` stage, say), as one unit of work.

        ``data`` reaches the playbook's guards and callbacks as ``event.data`` and is
        journaled (redacted); ``actor`` defaults to the conversation's agent.
        """
        arguments.conversation_id("fire", conversation_id)
        arguments.text("fire", "event", event)
        if actor is not None:
            arguments.identifier("fire", "actor", actor)
        details = arguments.event_data("fire", data)
        arguments.expected_version("fire", expected_version)

        def body(work: _Work) -> None:
            who = actor if actor is not None else work.conversation.agent.id
            work.fire(work.event(event, who, details), {"data": to_dict(details)})

        work, _ = self._run(conversation_id, expected_version, body)
        return self._outcome(work)

    # -- follow-ups -----------------------------------------------------------------------------

    def run_follow_ups(
        self,
        dispatcher: FollowUpDispatcher,
        now: datetime | None = None,
        *,
        limit: int = 100,
        report: Callable[[FollowUp, FollowUpStatus], None] | None = None,
    ) -> int:
        """Deliver every due follow-up through ``dispatcher``; returns how many were delivered.

        Delivery is at least once: a dispatcher that raises gets the follow-up again later
        (the wait doubles each time), and after ``max_delivery_attempts`` it ends as failed,
        visible in the scheduler, never silently dropped. Stopping with Ctrl-C (any
        ``BaseException`` from the dispatcher) gives the batch's unsent claims back at once
        and re-raises, so nothing waits for a lease to run out.

        Args:
            dispatcher: sends each follow-up.
            now: the time to deliver at; the desk's clock by default.
            limit: how many follow-ups to claim at a time.
            report: called after each claimed follow-up with the status it ended in
                (``DELIVERED``; ``PENDING`` for a retry; ``FAILED``; ``CANCELLED`` when it
                was cancelled since the claim), e.g. to show progress.
        """
        arguments.with_method(
            "run_follow_ups(dispatcher)", dispatcher, "a FollowUpDispatcher", "dispatch"
        )
        now = arguments.optional_moment("run_follow_ups", "now", now) or self._now()
        arguments.count("run_follow_ups", "limit", limit, 1, arguments.MAX_CLAIM)
        arguments.function("run_follow_ups", "report", report, optional=True)
        scheduler = self.storage.follow_ups
        delivered = 0
        while True:
            batch = scheduler.claim_due(now, limit=limit, lease=self.lease)
            if not batch:
                return delivered
            for position, follow_up in enumerate(batch):
                try:
                    status = self._deliver(dispatcher, follow_up, now)
                    delivered += status is FollowUpStatus.DELIVERED
                    if report is not None:
                        report(follow_up, status)
                except BaseException:
                    # a claim already answered ignores its release
                    for unsent in batch[position:]:
                        scheduler.release(unsent.id, attempt=unsent.attempts)
                    raise

    def _deliver(
        self, dispatcher: FollowUpDispatcher, follow_up: FollowUp, now: datetime
    ) -> FollowUpStatus:
        """Send one claimed follow-up and answer its claim; returns the status it ends in."""
        return deliver_claimed(
            self.storage.follow_ups,
            dispatcher,
            follow_up,
            now,
            max_attempts=self.max_delivery_attempts,
            backoff=self.retry_backoff,
            redactor=self.redactor,
        )

    # -- reading --------------------------------------------------------------------------------

    def get(self, conversation_id: str) -> Conversation:
        """The conversation as stored; raises :class:`~serviceplaybook.NotFound`."""
        arguments.conversation_id("get", conversation_id)
        return self.storage.conversations.get(conversation_id)

    def history(self, conversation_id: str) -> list[JournalEntry]:
        """The conversation's journal, oldest first; raises :class:`~serviceplaybook.NotFound`
        for an unknown conversation."""
        arguments.conversation_id("history", conversation_id)
        entries = self.storage.journal.history(conversation_id)
        if not entries:  # every conversation has its "open" entry: tell unknown ids apart
            self.storage.conversations.get(conversation_id)
        return entries

    def note_facts(
        self,
        conversation_id: str,
        facts: Mapping[str, FactValue],
        *,
        by: Agent | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """The host's systems know more about the case: ``facts`` are added to the issue's
        (a name already there takes the new value), checked like ``Issue.facts`` and
        journaled (redacted). The stage stays; :meth:`recommend` reads them at once.

        Raises:
            ValidationError: a name or a value ``Issue.facts`` refuses; nothing is recorded.
        """
        if not isinstance(facts, Mapping):
            raise ValidationError(
                f"note_facts takes a mapping of fact names to values, got {type(facts).__name__}"
            )

        def body(work: _Work) -> None:
            issue = work.conversation.issue
            updated = attrs.evolve(issue, facts={**issue.facts, **facts})
            noted = {name: updated.facts[name] for name in facts}
            work.fire(
                work.event("note_facts", work.acting(by).id),
                {"facts": to_dict(attrs.evolve(issue, facts=noted))["facts"]},
                issue=updated,
            )

        work, _ = self._run(conversation_id, expected_version, body)
        return self._outcome(work)

    def recommend(self, conversation_id: str) -> list[Offer]:
        """Offers the compensation policy recommends now (never one already declined)."""
        arguments.conversation_id("recommend", conversation_id)
        return self.compensation.recommend(self.get(conversation_id))

    def counter_offer(self, conversation_id: str, requested: Offer) -> CounterOffer:
        """For a demand beyond policy: the best offer the conversation's agent may make now,
        the reasons, alternatives, what to tell the customer (what can be done and why the
        rest can't, in their words) and the guidance to ask what substitute would be
        acceptable. A demand that is not money is an offer too (``OfferKind.FREE_SERVICE``,
        ``UPGRADE``, ``OTHER``). Nothing is recorded: the agent proposes the counter-offer
        (:meth:`propose`) if they use it."""
        arguments.conversation_id("counter_offer", conversation_id)
        arguments.instance("counter_offer", "requested", requested, Offer)
        conversation = self.get(conversation_id)
        return self.compensation.counter_offer(
            requested,
            conversation,
            history=self.storage.ledger.grants(conversation.customer.id),
            now=self._now(),
        )

    def review(
        self, conversation_id: str, draft: str, *, by: Agent | None = None
    ) -> tuple[Finding, ...]:
        """Check an agent's draft reply (a person's or a language model's) against the
        playbook before it is sent. Nothing is recorded.

        Findings (:class:`~serviceplaybook.Finding`, by position) name the words to change and
        say why: the apology policy's own review (generic apology, excuse, blame, repeated
        sorry, an apology over the cap or twice in a row), compensation promised beyond what
        the sender may grant alone or already declined, a fix proposed before the customer
        confirmed the problem, no acknowledgement of an upset customer, jargon to a confused
        one. The desk's :class:`~serviceplaybook.DraftReview` (``reviewer=``) decides.

        Args:
            conversation_id: the conversation the draft answers.
            draft: the draft's words.
            by: who would send it; the conversation's owner by default.

        Raises:
            PolicyViolation: ``by`` may not act on the conversation now (a bot while a
                person owns it).
        """
        arguments.conversation_id("review", conversation_id)
        arguments.text("review", "draft", draft)
        arguments.optional_agent("review", "by", by)
        conversation = self.get(conversation_id)
        agent = self._acting(conversation, by)
        return self.reviewer.review(
            draft,
            conversation,
            agent=agent,
            apology=self.apology,
            compensation=self.compensation,
            history=self.storage.ledger.grants(conversation.customer.id),
            now=self._now(),
        )

    # -- queries ---------------------------------------------------------------------------------

    def _with_sla_due(self, conversation: Conversation, now: datetime) -> Conversation:
        due = self.sla.next_due(conversation, now)
        if due == conversation.sla_due_at:
            return conversation
        return attrs.evolve(conversation, sla_due_at=due)

    def find(self, query: ConversationQuery | None = None, **conditions: Any) -> ConversationPage:
        """One page of conversations: a queue, an inbox, the SLA checker's work list.

        Pass a :class:`~serviceplaybook.ConversationQuery`, or its fields as keywords::

            page = desk.find(stages="escalated", escalated_to="supervisor")
            while page.conversations:
                ...
                page = desk.find(stages="escalated", escalated_to="supervisor", after=page.next)

        Conversations come oldest opened first (ties by id); ``page.next`` is the cursor of
        the next page, ``None`` after the last. :meth:`scan` walks every page.

        Raises:
            ValidationError: a condition has a value it does not allow, or both a query and
                keywords were given.
        """
        return self.storage.conversations.find(_query(query, conditions))

    def scan(
        self, query: ConversationQuery | None = None, **conditions: Any
    ) -> Iterator[Conversation]:
        """Every conversation that meets the query (as :meth:`find` takes it), page by page,
        oldest opened first. A conversation saved meanwhile is still listed once, in its
        place (the order never changes: it is the opening time)."""
        page_query: ConversationQuery | None = _query(query, conditions)
        while page_query is not None:
            page = self.storage.conversations.find(page_query)
            yield from page.conversations
            page_query = page_query.next_page(page)

    def check_slas(
        self,
        *,
        now: datetime | None = None,
        report: Callable[[Outcome], None] | None = None,
    ) -> list[Outcome]:
        """The SLA checker: :meth:`check_sla` for every conversation in which something may
        be due by ``now`` (:attr:`Conversation.sla_due_at`), found through the store's index,
        not by reading every open conversation. Run it on a schedule (a worker, a cron job).

        A conversation that another call moved on meanwhile is skipped: that call set its
        SLA due time again, and the next run sees it. ``sla_due_at`` counts in wall-clock
        time, so a conversation is listed from the earliest moment a target could be reached
        (outside business hours, before it really is) and stays listed, checked on every
        run, until its next event: an overdue conversation stays in view until answered.

        Args:
            now: the time to check at (the desk's clock by default); timezone-aware.
            report: called with each check's outcome, e.g. to show progress.

        Returns:
            The outcome of every check, in the order run.
        """
        now = require_aware(now, "check_slas(now)") if now is not None else self._now()
        if report is not None and not callable(report):
            raise TypeError(f"report must be a callable or None, got {type(report).__name__}")
        outcomes = []
        # page by page: a check moves a conversation's due time, never its place in the order
        for conversation in self.scan(ConversationQuery(sla_due_by=now, limit=100)):
            try:
                outcome = self.check_sla(conversation.id, now=now)
            except (ConcurrentUpdate, NotFound):
                continue
            outcomes.append(outcome)
            if report is not None:
                report(outcome)
        return outcomes

    # -- closing -----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Close the desk's storage (its database connection); calling it again does nothing.

        ``with ServiceDesk.sqlite(path) as desk:`` calls it on leaving the block. (It is not
        named ``close``: :meth:`close` closes a conversation.)
        """
        self.storage.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # -- the customer's data -------------------------------------------------------------------

    def erase_customer(self, customer_id: str, *, compact: bool = True) -> Erasure:
        """Erase what identifies or quotes the customer, keeping what accounting counts.

        In one unit of work, every conversation of the customer is anonymised (their id
        becomes a random pseudonym, their name, contact details and time zone go, every
        message text, summary, apology, brief, reason sentence and feedback reads
        ``"Erased."``; messages, events, stages, times, offers and amounts stay, so counts
        and reports still add up), its journal payloads are emptied and an
        ``erase_customer`` entry records the erasure (counts only), pending follow-ups are
        cancelled, and ledger grants and follow-ups move to the pseudonym with their amounts.

        Then, with ``compact`` (the default), the storage is compacted so that nothing erased
        can be read back from the file's free pages or its write-ahead log (SQLite: VACUUM
        and a log checkpoint; slow on a big file: erase many customers with
        ``compact=False`` and call ``desk.storage.compact()`` once). Call it outside a
        :meth:`batch` when compacting.

        Conversation ids are kept: do not put personal data in them.

        Args:
            customer_id: the customer, as the host application identifies them.
            compact: compact the storage afterwards.

        Raises:
            TypeError: ``customer_id`` is not a str.
            ValidationError: ``customer_id`` is blank.
        """
        customer_id = check_customer_id(customer_id)
        storage = self.storage
        now = self._now()
        pseudonym = new_pseudonym()
        conversations = messages = entries = cancelled = 0
        with storage.atomic():
            for conversation in list(customer_conversations(storage, customer_id)):
                cancelled += storage.follow_ups.cancel(conversation.id)
                history = storage.journal.history(conversation.id)
                storage.journal.rewrite([erased_entry(entry) for entry in history])
                erased = erased_conversation(conversation, pseudonym, now)
                storage.conversations.save(erased, expected_version=conversation.version)
                counts = {"messages": len(erased.messages), "journal_entries": len(history)}
                storage.journal.append([erasure_entry(erased, now, counts)])
                conversations += 1
                messages += len(erased.messages)
                entries += len(history)
            grants = storage.ledger.reassign(customer_id, pseudonym)
            follow_ups = storage.follow_ups.reassign(customer_id, pseudonym)
        if compact:
            storage.compact()
        _log.info("customer erased: %d conversations now under %s", conversations, pseudonym)
        return Erasure(
            customer_id=customer_id,
            pseudonym=pseudonym,
            conversations=conversations,
            messages=messages,
            journal_entries=entries,
            grants=grants,
            follow_ups=follow_ups,
            cancelled_follow_ups=cancelled,
            compacted=compact,
        )

    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """Everything the desk holds about the customer, as JSON-safe data (``json.dumps``
        it): their conversations with every message and their journals, their grants and
        their follow-ups. Nothing is written.

        Raises:
            TypeError: ``customer_id`` is not a str.
            ValidationError: ``customer_id`` is blank.
        """
        customer_id = check_customer_id(customer_id)
        return export_data(self.storage, customer_id, self._now())


def _query(query: ConversationQuery | None, conditions: Mapping[str, Any]) -> ConversationQuery:
    if query is None:
        return ConversationQuery(**conditions)
    if conditions:
        raise ValidationError(
            f"give either a ConversationQuery or its fields as keywords, not both "
            f"(got a query and {', '.join(sorted(conditions))})"
        )
    if not isinstance(query, ConversationQuery):
        raise TypeError(f"query must be a ConversationQuery, got {type(query).__name__}")
    return query
