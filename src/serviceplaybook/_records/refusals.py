"""The refusals of a policy: errors that carry the records explaining them.

They live with the records, not in ``_errors``, because they hold a :class:`Reason` and a
:class:`Role`, and ``_errors`` sits below the records (every record raises its errors).
"""

from __future__ import annotations

from collections.abc import Iterable

from serviceplaybook._errors import PlaybookError
from serviceplaybook._records.parties import Role
from serviceplaybook._records.reasons import Reason


class PolicyViolation(PlaybookError):
    """A policy refused the action. ``reasons`` says why, as codes and sentences."""

    def __init__(self, message: str, reasons: Iterable[Reason] = ()) -> None:
        self.reasons = tuple(reasons)
        super().__init__(message)


class ApprovalRequired(PolicyViolation):
    """The action is above the agent's authority; a pending approval was recorded.

    Attributes:
        approval_id: pass it to ``ServiceDesk.approve`` once a covering role agrees.
        approver_role: the lowest role whose authority covers the request.
    """

    def __init__(
        self,
        message: str,
        *,
        approval_id: str,
        approver_role: Role,
        reasons: Iterable[Reason] = (),
    ) -> None:
        self.approval_id = approval_id
        self.approver_role = approver_role
        super().__init__(message, reasons)
