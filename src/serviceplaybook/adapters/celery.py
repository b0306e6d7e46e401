"""Celery delivery: due follow-ups delivered by the Celery workers a host already runs.

A claimer (a beat task, or a long-running loop) claims due follow-ups from the store's
:class:`~serviceplaybook.FollowUpScheduler` with a lease and enqueues one delivery task each;
the task checks the store, calls the host's :class:`~serviceplaybook.FollowUpDispatcher`
(which receives the follow-up's idempotency ``key``) and completes or fails the follow-up in
the store. The store, not Celery, is the source of truth: a cancellation is read from it at
delivery (Celery's revoke list lives in worker memory and is lost on restart), retries wait
in it (no Celery countdown, so no ETA ever outlives the broker's visibility timeout), and a
claim whose worker died is handed out again once its lease runs out, with the same key.

Needs the ``celery`` extra (``pip install 'serviceplaybook[celery]'``). See ``docs/celery.md``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

try:
    from celery import Celery
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "serviceplaybook.adapters.celery needs Celery: pip install 'serviceplaybook[celery]'"
    ) from error

from serviceplaybook._errors import ConfigError
from serviceplaybook._policies.redaction import Redactor
from serviceplaybook._ports import Clock, FollowUpDispatcher, FollowUpScheduler
from serviceplaybook._records.followup import FollowUp, FollowUpStatus
from serviceplaybook._records.validate import require_aware
from serviceplaybook._serialization import from_dict, to_dict
from serviceplaybook.adapters._delivery import deliver_claimed

__all__ = ["CeleryDelivery", "visibility_timeout"]

_log = logging.getLogger("serviceplaybook.celery")

# Brokers that hand an unacknowledged message to another consumer after a visibility
# timeout, and kombu's default for it.
_TIMED_BROKERS = ("redis", "rediss", "sentinel", "sqs")
_DEFAULT_VISIBILITY_TIMEOUT = timedelta(hours=1)


def visibility_timeout(app: Celery) -> timedelta | None:
    """How long the app's broker waits before it hands an unacknowledged message to another
    worker (``broker_transport_options["visibility_timeout"]``, one hour by default), or
    ``None`` for a broker without one (RabbitMQ redelivers when the connection drops)."""
    url = str(app.conf.broker_url or "")
    scheme = url.partition("://")[0].split("+")[0].lower()
    if scheme not in _TIMED_BROKERS:
        return None
    options = app.conf.broker_transport_options or {}
    seconds = options.get("visibility_timeout")
    return _DEFAULT_VISIBILITY_TIMEOUT if seconds is None else timedelta(seconds=float(seconds))


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CeleryDelivery:
    """Delivers due follow-ups on a Celery worker fleet; registers two tasks on ``app``.

    ``{name}.claim_follow_ups`` claims due follow-ups and enqueues ``{name}.deliver_follow_up``
    once for each. Run the claimer with :meth:`beat` (a periodic task for ``celery beat``) or
    :meth:`run_claimer` (a loop in a process of its own); run ``celery -A yourapp worker`` for
    the deliveries. The delivery task is ``acks_late`` with ``reject_on_worker_lost``: a pool
    process that dies mid-delivery has its message put back at once; a whole worker that dies
    leaves it with the broker, and the claim's lease hands the follow-up out again.

    Every guarantee rests on the store: a delivery task sends only while the claim it carries
    holds (its lease has not run out) and the follow-up is still claimed (not cancelled nor
    answered), then answers the claim with its attempt number, which another claim supersedes.

    Args:
        app: the host's Celery app.
        scheduler: makes the follow-up scheduler, e.g. ``lambda: SQLiteScheduler(path)``;
            called once in each process that claims or delivers (after a fork, again).
        dispatcher: makes the dispatcher that sends a follow-up; called like ``scheduler``.
        lease: how long a claim holds: longer than the dispatcher's slowest send and than
            the longest wait in the queue, shorter than the broker's visibility timeout.
        batch: how many follow-ups one claim takes.
        max_delivery_attempts: a follow-up that failed this often ends as failed.
        retry_backoff: the wait before the first retry; it doubles with each attempt.
        clock: the current time, timezone-aware; the same on claimers and workers.
        redactor: masks personal data in logged dispatcher errors.
        name: the prefix of the two task names (two deliveries on one app need two names).
        queue: the queue the delivery tasks go to (the app's default when ``None``).
        max_queued: the claimer claims nothing more while this many delivery tasks wait in
            the queue (``None``: no limit). A backlog then waits in the store, unclaimed,
            rather than in the broker with its leases running out; keep it below what the
            workers deliver in one lease.

    Raises:
        ConfigError: the lease is not shorter than the broker's visibility timeout (a task
            still running then would be handed to a second worker), or a setting is not
            positive.
    """

    def __init__(
        self,
        app: Celery,
        *,
        scheduler: Callable[[], FollowUpScheduler],
        dispatcher: Callable[[], FollowUpDispatcher],
        lease: timedelta = timedelta(minutes=5),
        batch: int = 100,
        max_delivery_attempts: int = 5,
        retry_backoff: timedelta = timedelta(minutes=5),
        clock: Clock | None = None,
        redactor: Redactor | None = None,
        name: str = "serviceplaybook",
        queue: str | None = None,
        max_queued: int | None = 1000,
    ) -> None:
        if lease <= timedelta(0):
            raise ConfigError(f"CeleryDelivery(lease) must be positive, got {lease}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ConfigError(f"CeleryDelivery(batch) must be an int of 1 or more, got {batch!r}")
        if max_delivery_attempts < 1:
            raise ConfigError(
                f"CeleryDelivery(max_delivery_attempts) must be 1 or more, "
                f"got {max_delivery_attempts}"
            )
        if retry_backoff <= timedelta(0):
            raise ConfigError(
                f"CeleryDelivery(retry_backoff) must be positive, got {retry_backoff}"
            )
        if max_queued is not None and (
            isinstance(max_queued, bool) or not isinstance(max_queued, int) or max_queued < 1
        ):
            raise ConfigError(
                f"CeleryDelivery(max_queued) must be an int of 1 or more, or None, "
                f"got {max_queued!r}"
            )
        timeout = visibility_timeout(app)
        if timeout is not None and lease >= timeout:
            raise ConfigError(
                f"CeleryDelivery(lease={lease}) must be shorter than the broker's visibility "
                f"timeout ({timeout}): after it the broker hands a task still running to "
                f"another worker. Shorten the lease or raise "
                f"broker_transport_options['visibility_timeout']"
            )
        self.app = app
        self.lease = lease
        self.batch = batch
        self.max_delivery_attempts = max_delivery_attempts
        self.retry_backoff = retry_backoff
        self.clock: Clock = clock or _utc_now
        self.redactor = redactor or Redactor.standard()
        self.name = name
        self.queue = queue
        self.max_queued = max_queued
        self._make_scheduler = scheduler
        self._make_dispatcher = dispatcher
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._scheduler: FollowUpScheduler | None = None
        self._dispatcher: FollowUpDispatcher | None = None

        # plain functions, not bound methods: Celery checks a task's arguments against the
        # function's signature, self included
        def claim_follow_ups() -> int:
            return self.claim()

        def deliver_follow_up(follow_up: dict[str, Any], lease_until: str) -> str:
            status = self.deliver(
                from_dict(follow_up, FollowUp), datetime.fromisoformat(lease_until)
            )
            return "lease_ran_out" if status is None else status.value

        self.claim_task: Any = app.task(name=f"{name}.claim_follow_ups", ignore_result=True)(
            claim_follow_ups
        )
        # acks_late + reject_on_worker_lost: a message is acknowledged once the task returns,
        # and put back when the pool process running it dies.
        self.deliver_task: Any = app.task(
            name=f"{name}.deliver_follow_up",
            ignore_result=True,
            acks_late=True,
            reject_on_worker_lost=True,
        )(deliver_follow_up)

    # -- the process's collaborators --------------------------------------------------------

    def _collaborators(self) -> tuple[FollowUpScheduler, FollowUpDispatcher]:
        """This process's scheduler and dispatcher, made on first use after each fork."""
        with self._lock:
            if self._pid != os.getpid() or self._scheduler is None or self._dispatcher is None:
                self._scheduler = self._make_scheduler()
                self._dispatcher = self._make_dispatcher()
                self._pid = os.getpid()
            return self._scheduler, self._dispatcher

    @property
    def scheduler(self) -> FollowUpScheduler:
        """This process's follow-up scheduler."""
        return self._collaborators()[0]

    # -- claiming ---------------------------------------------------------------------------

    def queued(self) -> int:
        """How many delivery tasks wait in the queue (not those a worker already holds)."""
        name = self.queue or self.app.conf.task_default_queue
        with self.app.connection_for_write() as connection:
            try:
                declared = connection.default_channel.queue_declare(queue=name, passive=True)
            except connection.channel_errors:
                return 0  # no such queue yet: nothing was ever sent to it
            return int(declared.message_count)

    def claim(self, now: datetime | None = None, *, limit: int | None = None) -> int:
        """Claim the follow-ups due at ``now`` (the clock's time by default), batch after
        batch, and enqueue one delivery task for each; returns how many were enqueued.

        Stops at an empty batch, after ``limit`` follow-ups (``None``: no limit), or once
        ``max_queued`` delivery tasks wait in the queue. A task
        is enqueued only after its claim is stored, and carries the claim's attempt and the
        end of its lease. If the broker refuses a task, the claims after it are given back at
        once and the error is raised (that one may have reached the broker: it comes back when
        its lease runs out, so that no two messages ever hold one claim's follow-up inside one
        lease); a claimer that dies between the claim and the enqueue leaves claims that come
        back when their lease runs out.
        """
        now = require_aware(now, "CeleryDelivery.claim(now)") if now is not None else None
        scheduler = self.scheduler
        enqueued = 0
        while limit is None or enqueued < limit:
            at = now if now is not None else self.clock()
            size = self.batch if limit is None else min(self.batch, limit - enqueued)
            if self.max_queued is not None:
                size = min(size, self.max_queued - self.queued())
                if size < 1:
                    break
            claimed = scheduler.claim_due(at, limit=size, lease=self.lease)
            if not claimed:
                break
            until = (at + self.lease).isoformat()
            for position, follow_up in enumerate(claimed):
                try:
                    # No eta or countdown: the follow-up is due now, and a retry waits in the
                    # store, so Celery never holds a message past the visibility timeout.
                    self.deliver_task.apply_async(
                        args=(to_dict(follow_up), until), queue=self.queue
                    )
                except BaseException:
                    # The ones after it were never sent: give them back. This one may have
                    # reached the broker before the error: its lease brings it back.
                    for unsent in claimed[position + 1 :]:
                        scheduler.release(unsent.id, attempt=unsent.attempts)
                    raise
            enqueued += len(claimed)
            _log.debug("enqueued %d follow-ups for delivery", len(claimed))
            if len(claimed) < size:
                break
        return enqueued

    def beat(self, every: timedelta = timedelta(seconds=10)) -> None:
        """Claim due follow-ups every ``every`` from ``celery beat``: adds the claim task to
        the app's ``beat_schedule``. A claim task still waiting in the queue when the next one
        is sent expires (it would find nothing the next one does not)."""
        if every <= timedelta(0):
            raise ConfigError(f"CeleryDelivery.beat(every) must be positive, got {every}")
        seconds = every.total_seconds()
        schedule = dict(self.app.conf.beat_schedule or {})
        schedule[self.claim_task.name] = {
            "task": self.claim_task.name,
            "schedule": seconds,
            "options": {"expires": seconds, **({"queue": self.queue} if self.queue else {})},
        }
        self.app.conf.beat_schedule = schedule

    def run_claimer(
        self, every: timedelta = timedelta(seconds=1), *, stop: threading.Event | None = None
    ) -> None:
        """Claim due follow-ups in a loop until ``stop`` is set (forever without one): at once
        while full batches come back, else every ``every``. For a process of its own, where
        ``celery beat`` is not run; several may run side by side (claims never overlap)."""
        if every <= timedelta(0):
            raise ConfigError(f"CeleryDelivery.run_claimer(every) must be positive, got {every}")
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                enqueued = self.claim(limit=self.batch)
            except Exception:
                # the store or the broker is down: claims not enqueued were given back
                _log.exception("claiming follow-ups failed; trying again in %s", every)
                enqueued = 0
            if enqueued < self.batch:
                stop.wait(every.total_seconds())

    # -- delivering -------------------------------------------------------------------------

    def deliver(self, follow_up: FollowUp, lease_until: datetime) -> FollowUpStatus | None:
        """Deliver one claimed follow-up, as the delivery task does; returns the status it
        ends in, or ``None`` when the claim's lease ran out before it could be sent.

        Past the lease the claim may belong to another worker already: nothing is sent, and
        the claimer hands the follow-up out again (a message the broker redelivered after a
        dead worker's visibility timeout lands here). Otherwise the store decides: cancelled
        or answered since the claim, it is not sent; else the dispatcher sends it with its
        key and the claim is completed, or failed with a retry time, by its attempt. The
        retry time is never before the end of the lease: a message the broker runs twice
        then never sends under the claim that follows.
        """
        scheduler, dispatcher = self._collaborators()
        now = self.clock()
        if now >= lease_until:
            _log.info(
                "follow-up %s (attempt %d): its lease ran out at %s before delivery; "
                "the claimer hands it out again",
                follow_up.id,
                follow_up.attempts,
                lease_until.isoformat(),
            )
            return None
        return deliver_claimed(
            scheduler,
            dispatcher,
            follow_up,
            now,
            max_attempts=self.max_delivery_attempts,
            backoff=self.retry_backoff,
            redactor=self.redactor,
            # A retry is claimed again only after this claim's lease: should the broker run
            # this message once more, its lease check stops it before it could send under
            # the next claim.
            retry_not_before=lease_until,
        )
