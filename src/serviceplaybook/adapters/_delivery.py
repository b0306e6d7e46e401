"""Delivering one claimed follow-up: the step that ``ServiceDesk.run_follow_ups`` and the
Celery delivery task share, so that both answer a claim by the same rules."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from serviceplaybook._policies.redaction import Redactor
from serviceplaybook._ports import FollowUpDispatcher, FollowUpScheduler
from serviceplaybook._records.followup import FollowUp, FollowUpStatus

# the desk's logger: a failed delivery reads the same wherever it was sent from
_log = logging.getLogger("serviceplaybook")


_YEAR = timedelta(days=365)


def retry_time(
    follow_up: FollowUp,
    now: datetime,
    *,
    max_attempts: int,
    backoff: timedelta,
    not_before: datetime | None = None,
) -> datetime | None:
    """When to try a failed delivery again (the wait doubles with each attempt, and is never
    before ``not_before``), or ``None`` to give up: after ``max_attempts``, or when the
    channel's window closes first."""
    attempt = follow_up.attempts
    if attempt >= max_attempts:
        return None
    # doubling, up to a year: no attempt count can overflow the date
    retry_at: datetime = now + min(backoff * 2 ** min(attempt - 1, 20), _YEAR)
    if not_before is not None and retry_at < not_before:
        retry_at = not_before
    if follow_up.expires_at is not None and retry_at >= follow_up.expires_at:
        return None
    return retry_at


def deliver_claimed(
    scheduler: FollowUpScheduler,
    dispatcher: FollowUpDispatcher,
    follow_up: FollowUp,
    now: datetime,
    *,
    max_attempts: int,
    backoff: timedelta,
    redactor: Redactor,
    retry_not_before: datetime | None = None,
) -> FollowUpStatus:
    """Send one claimed follow-up and answer its claim; returns the status it ends in.

    A follow-up cancelled since the claim (a reopen, a termination) is not sent; one whose
    channel window closed ends as failed; a dispatcher that raises gets it again at
    :func:`retry_time`, not before ``retry_not_before``. Answers carry the claim's attempt,
    so a claim another worker took over after the lease cannot be answered by this one.
    """
    attempt = follow_up.attempts
    status = scheduler.status(follow_up.id)
    if status is not FollowUpStatus.CLAIMED:
        return status
    if follow_up.expires_at is not None and now >= follow_up.expires_at:
        scheduler.fail(follow_up.id, retry_at=None, attempt=attempt)
        _log.warning("follow-up %s expired: its channel no longer allows it", follow_up.id)
        return FollowUpStatus.FAILED
    try:
        dispatcher.dispatch(follow_up)
    except Exception as error:
        retry_at = retry_time(
            follow_up,
            now,
            max_attempts=max_attempts,
            backoff=backoff,
            not_before=retry_not_before,
        )
        scheduler.fail(follow_up.id, retry_at=retry_at, attempt=attempt)
        _log.warning(
            "follow-up %s failed (attempt %d): %s",
            follow_up.id,
            attempt,
            redactor.redact_text(str(error)),
        )
        return FollowUpStatus.FAILED if retry_at is None else FollowUpStatus.PENDING
    scheduler.complete(follow_up.id, attempt=attempt)
    return FollowUpStatus.DELIVERED
