"""Every error serviceplaybook raises, in one hierarchy.

Catch :class:`PlaybookError` to catch them all. Where a builtin fits, an error also
inherits it, so code that already catches ``ValueError`` or ``LookupError`` keeps working::

    PlaybookError
    ├── ValidationError (ValueError)      a record or argument got a value it cannot hold
    │   ├── WrongType (TypeError)         ... of the wrong type (names the argument and type)
    │   └── CurrencyMismatch              two amounts in different currencies were combined
    ├── ConfigError (ValueError)          a playbook or policy is configured inconsistently
    ├── IllegalTransition                 the conversation's stage does not allow that event now
    ├── PolicyViolation                   a policy refused the action (with its reasons)
    │   └── ApprovalRequired              above the agent's authority; an approval is pending
    ├── ConcurrentUpdate                  the conversation changed since the caller read it
    ├── NotFound (LookupError)            no conversation, offer or approval with that id
    ├── SchemaVersionError (ValueError)   stored data was written by a newer, unknown schema
    └── StorageError                      a database file is unusable: not a database, a
                                          corrupt row, a missing table (names the file)

Errors carry structured fields (``IllegalTransition.stage``, ``.event``, ``.allowed``...) so
programs can react without parsing messages, and messages that say what was wrong and what
is allowed, so people can.

This module sits below everything and imports nothing of the package. The two refusals that
carry records (:class:`PolicyViolation` with its reasons, :class:`ApprovalRequired` with the
role that must approve) are defined beside those records, in ``_records/refusals.py``; they
belong to this same tree.
"""

from __future__ import annotations

from collections.abc import Iterable


class PlaybookError(Exception):
    """Base class of every error raised by serviceplaybook."""


class ValidationError(PlaybookError, ValueError):
    """A record or an argument was given a value it cannot hold.

    Raised at construction, so the mistake surfaces where it was made, not three calls later.
    """


class WrongType(ValidationError, TypeError):
    """A record field or an argument was given a value of the wrong type.

    The message names the field or argument, the type it must have and the type it got.
    It is a ``TypeError`` (what Python raises for a wrong type) and, like every refusal
    here, a :class:`PlaybookError` (and a :class:`ValidationError`): one ``except`` clause
    catches every refusal of bad input.
    """


class CurrencyMismatch(ValidationError):
    """Two amounts in different currencies were compared or combined.

    serviceplaybook never converts currencies silently: convert explicitly first.
    """

    def __init__(self, left: str, right: str, operation: str) -> None:
        self.left = left
        self.right = right
        self.operation = operation
        super().__init__(
            f"cannot {operation} {left} and {right}: amounts must share one currency "
            f"(convert explicitly before combining them)"
        )


class ConfigError(PlaybookError, ValueError):
    """A playbook, policy or desk is configured inconsistently (for example a transition to a
    stage that does not exist, or a guard that names no method)."""


class IllegalTransition(PlaybookError):
    """The conversation's current stage does not allow this event (or its guards refused it).

    Attributes:
        stage: the stage the conversation is in.
        event: the event that was refused.
        allowed: the events this stage allows, sorted.
        failed_guards: the guards that refused the event, when the stage allows it in principle.
    """

    def __init__(
        self,
        stage: str,
        event: str,
        allowed: Iterable[str],
        failed_guards: Iterable[str] = (),
    ) -> None:
        self.stage = str(stage)
        self.event = str(event)
        self.allowed = tuple(sorted(allowed))
        self.failed_guards = tuple(failed_guards)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none (this stage is final)"
        if self.failed_guards:
            message = (
                f"event {self.event!r} is not possible in stage {self.stage!r} right now: "
                f"its conditions failed ({', '.join(self.failed_guards)}); "
                f"events this stage allows: {allowed_text}"
            )
        else:
            message = (
                f"event {self.event!r} is not allowed in stage {self.stage!r}; "
                f"events this stage allows: {allowed_text}"
            )
        super().__init__(message)


class ConcurrentUpdate(PlaybookError):
    """The conversation was changed by someone else since the caller read it.

    Reload the conversation, decide again and retry. Attributes: ``conversation_id``,
    ``expected`` (the version the caller had) and ``actual`` (the version stored).
    """

    def __init__(self, conversation_id: str, expected: int, actual: int) -> None:
        self.conversation_id = conversation_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"conversation {conversation_id!r} is at version {actual}, not {expected}: "
            f"someone else changed it; reload it and try again"
        )


class NotFound(PlaybookError, LookupError):
    """No conversation, offer, approval or follow-up has that id."""

    def __init__(self, kind: str, key: str, hint: str = "") -> None:
        self.kind = kind
        self.key = key
        suffix = f"; {hint}" if hint else ""
        super().__init__(f"no {kind} with id {key!r}{suffix}")


class SchemaVersionError(PlaybookError, ValueError):
    """Stored data carries a schema version this release does not know.

    Raised rather than guessing, so that data written by a newer release is never damaged.
    """


class StorageError(PlaybookError):
    """A database file cannot be used as it is: it is not a database, a row is corrupt, a
    table is missing. Nothing stored was changed.

    Attributes:
        path: the file.
        detail: what is wrong.
    """

    def __init__(self, path: object, detail: str) -> None:
        self.path = str(path)
        self.detail = detail
        super().__init__(f"{self.path}: {detail}")
