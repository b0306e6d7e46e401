"""serviceplaybook: primitives for handling difficult customer conversations well.

A conversation state machine (:class:`Playbook`), policies for signals, escalation,
apologies, compensation and follow-ups, and :class:`ServiceDesk`, the facade that wires them
to storage.

This module is the public surface: it only re-exports, and ``__all__`` lists every public
name (``docs/reference/index.md`` says why each one beyond DESIGN.md's stable names is here).
Every other module is private (``_name``), except the sub-packages ``adapters`` (one module per
backend) and ``testing`` (the kit for integrators). The SQLite adapter and the playbook-file
reader (with the TOML parser) load on first use of one of their names, so that
``import serviceplaybook`` stays cheap for a host that keeps everything in memory.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from serviceplaybook._desk import Outcome, ServiceDesk
from serviceplaybook._errors import (
    ConcurrentUpdate,
    ConfigError,
    CurrencyMismatch,
    IllegalTransition,
    NotFound,
    PlaybookError,
    SchemaVersionError,
    StorageError,
    ValidationError,
    WrongType,
)
from serviceplaybook._playbook import Event, Playbook, Transition
from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._policies.calendar import BusinessCalendar, Shift, public_holidays
from serviceplaybook._policies.compensation import (
    AuthorityMatrix,
    CompensationPolicy,
    CompensationRule,
    RoleAuthority,
)
from serviceplaybook._policies.conditions import AllOf, AnyOf, Condition
from serviceplaybook._policies.escalation import EscalationLadder, EscalationPolicy, Rule
from serviceplaybook._policies.followup import FollowUpPolicy
from serviceplaybook._policies.model_signals import ModelSignalDetector
from serviceplaybook._policies.redaction import RedactingFilter, Redactor
from serviceplaybook._policies.review import AgentDraft, DraftPromise, DraftReview
from serviceplaybook._policies.signals import (
    Lexicon,
    LexiconSignalDetector,
    Reading,
    SignalDetector,
)
from serviceplaybook._policies.sla import SlaPolicy
from serviceplaybook._ports import (
    Clock,
    CompensationLedger,
    ConversationStore,
    DigestingJournal,
    FollowUpDispatcher,
    FollowUpScheduler,
    Journal,
    Storage,
)
from serviceplaybook._records.apology import Apology, ApologyDecision, Finding
from serviceplaybook._records.compensation import (
    Approval,
    Authorization,
    AuthorizationStatus,
    CounterOffer,
    Grant,
)
from serviceplaybook._records.conversation import Conversation, Handoff, Message
from serviceplaybook._records.erasure import Erasure
from serviceplaybook._records.escalation import EscalationDecision, HandoffBrief, Urgency
from serviceplaybook._records.followup import FollowUp, FollowUpDecision, FollowUpStatus
from serviceplaybook._records.issue import Issue, Severity
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.money import Money
from serviceplaybook._records.offers import Offer, OfferKind, OfferStatus, ProposedOffer
from serviceplaybook._records.parties import Agent, Channel, Customer, Role
from serviceplaybook._records.query import ConversationPage, ConversationQuery
from serviceplaybook._records.reasons import Guidance, Reason
from serviceplaybook._records.refusals import ApprovalRequired, PolicyViolation
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.sla import (
    ClockState,
    SlaClock,
    SlaClockKind,
    SlaStatus,
    SlaStep,
    SlaStepReached,
    SlaTargets,
)
from serviceplaybook._records.stage import Stage
from serviceplaybook._serialization import from_dict, to_dict
from serviceplaybook._version import __version__ as __version__
from serviceplaybook.adapters.memory import InMemoryScheduler, InMemoryStorage
from serviceplaybook.adapters.outbox import OutboxDispatcher

if TYPE_CHECKING:
    from serviceplaybook._playbook_file import PlaybookFile, PlaybookFileError, Problem
    from serviceplaybook.adapters.sqlite import SQLiteScheduler, SQLiteStorage


# name -> module: imported when the name is first asked for (PEP 562).
_LAZY = {
    "PlaybookFile": "serviceplaybook._playbook_file",
    "PlaybookFileError": "serviceplaybook._playbook_file",
    "Problem": "serviceplaybook._playbook_file",
    "SQLiteScheduler": "serviceplaybook.adapters.sqlite",
    "SQLiteStorage": "serviceplaybook.adapters.sqlite",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'serviceplaybook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Agent",
    "AgentDraft",
    "AllOf",
    "AnyOf",
    "Apology",
    "ApologyDecision",
    "ApologyPolicy",
    "Approval",
    "ApprovalRequired",
    "AuthorityMatrix",
    "Authorization",
    "AuthorizationStatus",
    "BusinessCalendar",
    "Channel",
    "Clock",
    "ClockState",
    "CompensationLedger",
    "CompensationPolicy",
    "CompensationRule",
    "ConcurrentUpdate",
    "Condition",
    "ConfigError",
    "Conversation",
    "ConversationPage",
    "ConversationQuery",
    "ConversationStore",
    "CounterOffer",
    "CurrencyMismatch",
    "Customer",
    "DigestingJournal",
    "DraftPromise",
    "DraftReview",
    "Erasure",
    "EscalationDecision",
    "EscalationLadder",
    "EscalationPolicy",
    "Event",
    "Finding",
    "FollowUp",
    "FollowUpDecision",
    "FollowUpDispatcher",
    "FollowUpPolicy",
    "FollowUpScheduler",
    "FollowUpStatus",
    "Grant",
    "Guidance",
    "Handoff",
    "HandoffBrief",
    "IllegalTransition",
    "InMemoryScheduler",
    "InMemoryStorage",
    "Issue",
    "Journal",
    "JournalEntry",
    "Lexicon",
    "LexiconSignalDetector",
    "Message",
    "ModelSignalDetector",
    "Money",
    "NotFound",
    "Offer",
    "OfferKind",
    "OfferStatus",
    "OutboxDispatcher",
    "Outcome",
    "Playbook",
    "PlaybookError",
    "PlaybookFile",
    "PlaybookFileError",
    "PolicyViolation",
    "Problem",
    "ProposedOffer",
    "Reading",
    "Reason",
    "RedactingFilter",
    "Redactor",
    "Role",
    "RoleAuthority",
    "Rule",
    "SQLiteScheduler",
    "SQLiteStorage",
    "SchemaVersionError",
    "ServiceDesk",
    "Severity",
    "Shift",
    "SignalDetector",
    "Signals",
    "SlaClock",
    "SlaClockKind",
    "SlaPolicy",
    "SlaStatus",
    "SlaStep",
    "SlaStepReached",
    "SlaTargets",
    "Stage",
    "Storage",
    "StorageError",
    "Transition",
    "Urgency",
    "ValidationError",
    "WrongType",
    "from_dict",
    "public_holidays",
    "to_dict",
]
