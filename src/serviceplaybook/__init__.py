"""serviceplaybook: primitives for handling difficult customer conversations well.

A conversation state machine (:class:`Playbook`), policies for signals, escalation,
apologies, compensation and follow-ups, and :class:`ServiceDesk`, the facade that wires them
to storage. This module only re-exports; each name lives in the module named for its concept.
"""

from serviceplaybook.adapters.memory import InMemoryScheduler, InMemoryStorage
from serviceplaybook.adapters.outbox import OutboxDispatcher
from serviceplaybook.adapters.sqlite import SQLiteScheduler, SQLiteStorage
from serviceplaybook.apology import Apology, ApologyDecision, ApologyPolicy, Finding
from serviceplaybook.business_time import BusinessCalendar, Shift
from serviceplaybook.compensation import (
    Approval,
    AuthorityMatrix,
    Authorization,
    AuthorizationStatus,
    CompensationPolicy,
    CompensationRule,
    CounterOffer,
    Grant,
    RoleAuthority,
)
from serviceplaybook.conversation import Conversation, Handoff, Message
from serviceplaybook.desk import Outcome, ServiceDesk
from serviceplaybook.errors import (
    ApprovalRequired,
    ConcurrentUpdate,
    ConfigError,
    CurrencyMismatch,
    IllegalTransition,
    NotFound,
    PlaybookError,
    PolicyViolation,
    SchemaVersionError,
    StorageError,
    ValidationError,
)
from serviceplaybook.escalation import (
    EscalationDecision,
    EscalationLadder,
    EscalationPolicy,
    HandoffBrief,
    Urgency,
)
from serviceplaybook.followup import FollowUp, FollowUpDecision, FollowUpPolicy, FollowUpStatus
from serviceplaybook.issue import Issue, Severity
from serviceplaybook.journal import JournalEntry
from serviceplaybook.money import Money
from serviceplaybook.offers import Offer, OfferKind, OfferStatus, ProposedOffer
from serviceplaybook.parties import Agent, Channel, Customer, Role
from serviceplaybook.playbook import Event, Playbook, Transition
from serviceplaybook.playbook_file import (
    PlaybookFile,
    PlaybookFileError,
    Problem,
    check_playbook_file,
    desk_from_playbook_file,
    load_playbook_file,
)
from serviceplaybook.ports import (
    Clock,
    CompensationLedger,
    ConversationStore,
    FollowUpDispatcher,
    FollowUpScheduler,
    Journal,
    Storage,
)
from serviceplaybook.reasons import Guidance, Reason
from serviceplaybook.redaction import Redactor
from serviceplaybook.signals import Lexicon, LexiconSignalDetector, SignalDetector, Signals
from serviceplaybook.sla import (
    ClockState,
    SlaClock,
    SlaClockKind,
    SlaPolicy,
    SlaStatus,
    SlaStep,
    SlaStepReached,
    SlaTargets,
)
from serviceplaybook.stage import Stage

__version__ = "0.1.0.dev0"

__all__ = [
    "Agent",
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
    "ConfigError",
    "Conversation",
    "ConversationStore",
    "CounterOffer",
    "CurrencyMismatch",
    "Customer",
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
    "Reason",
    "Redactor",
    "Role",
    "RoleAuthority",
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
    "check_playbook_file",
    "desk_from_playbook_file",
    "load_playbook_file",
]
