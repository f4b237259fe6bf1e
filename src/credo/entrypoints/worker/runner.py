"""The worker loop: e-mails (services/mailing.py) and every other job (handlers.py), one
step at a time, until told to stop.

Each round sends one batch of e-mails (account e-mails first, then one organization's, the
organizations in turn) and runs one step of one job (an import chunk, a sweep), so nothing
waits behind a long import or a 50,000-e-mail bulk for more than a round. Work is claimed
with leases; a stopping worker finishes the step in flight and hands back what it had
claimed but not begun."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from credo import telemetry
from credo.bootstrap import App
from credo.domain.entities import Job
from credo.domain.jobs import Backoff, Lane
from credo.entrypoints.worker.handlers import (
    ExpiryReminders,
    Handler,
    ImportChunks,
    WebhookExpiries,
)
from credo.services import jobs
from credo.services.mail.mailing import MailWorker, Report
from credo.services.webhooks.delivery import WebhookWorker

log = logging.getLogger("credo.worker")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Round:
    mail: Report = field(default_factory=Report)
    jobs: int = 0  # job steps run
    webhooks: int = 0  # webhook attempts made

    @property
    def handled(self) -> int:
        return self.mail.handled + self.jobs + self.webhooks


@dataclass
class Worker:
    app: App
    mail: MailWorker | None = None  # default: the app's
    name: str = field(default_factory=worker_name)
    # A job step (an import chunk of 2,000 rows) takes seconds; a lease far longer lets a
    # busy machine finish it, and is what a dead worker's job waits before another runs it
    # (settings.job_lease).
    lease: timedelta = field(default=timedelta(minutes=5), init=False)
    policy: Backoff = field(default_factory=lambda: Backoff(max_attempts=8))
    # Periodic jobs are made sure of this often (one row each, whatever the workers).
    ensure_every: timedelta = timedelta(minutes=10)
    handlers: dict[str, Handler] = field(default_factory=dict)
    webhooks: WebhookWorker | None = None  # default: the app's, if it has webhooks
    _ensured_at: datetime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.mail = self.mail or self.app.mail_worker()
        self.lease = timedelta(seconds=self.app.settings.job_lease)
        if self.webhooks is None and self.app.webhooking is not None:
            self.webhooks = self.app.webhook_worker(self.name)
        self.handlers = {
            jobs.IMPORT: ImportChunks(self.app),
            jobs.EXPIRY_REMINDERS: ExpiryReminders(self.app),
            jobs.WEBHOOK_EXPIRIES: WebhookExpiries(self.app),
            **self.handlers,
        }

    def now(self) -> datetime:
        return self.app.clock.now()

    def run_once(self, stop: threading.Event | None = None) -> Round:
        assert self.mail is not None
        done = Round()
        self.ensure_periodic()
        done.mail = self.mail.run_once(stop)
        if done.mail.handled:
            m = done.mail
            log.info(
                "mail batch",
                extra={
                    "sent": m.sent,
                    "retried": m.retried,
                    "failed": m.failed,
                    "worker": self.name,
                },
            )
        if stop is None or not stop.is_set():
            done.jobs = int(self.run_job())
        if self.webhooks is not None and (stop is None or not stop.is_set()):
            done.webhooks = self.webhooks.run_once()
        return done

    def drain(self, max_rounds: int = 100_000) -> Round:
        """Run until nothing is due (what failed waits for its next try)."""
        total = Round()
        for _ in range(max_rounds):
            done = self.run_once()
            total.mail.add(done.mail)
            total.jobs += done.jobs
            total.webhooks += done.webhooks
            if done.handled == 0:
                break
        return total

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Work until `stop` is set, looking for due work every `poll_seconds` when idle."""
        log.info("worker %s started", self.name)
        while not stop.is_set():
            try:
                done = self.run_once(stop)
            except Exception:
                # A database outage must not end the worker: the work waits in its tables.
                log.exception("worker: a round failed; trying again")
                done = Round()
            if done.handled == 0:
                stop.wait(poll_seconds)
        log.info("worker %s stopped", self.name)

    def ensure_periodic(self) -> None:
        now = self.now()
        if self._ensured_at is not None and now - self._ensured_at < self.ensure_every:
            return
        self._ensured_at = now
        kinds = [jobs.EXPIRY_REMINDERS] if self.app.settings.expiry_reminder_days > 0 else []
        kinds.append(jobs.WEBHOOK_EXPIRIES)
        for kind in kinds:
            with self.app.uow() as uow:
                if jobs.enqueue(uow, kind, now, lane=Lane.BULK, singleton=kind):
                    uow.commit()

    def run_job(self) -> bool:
        """Claim one due job and run one step of it; False when none was due."""
        now = self.now()
        with self.app.uow(write=False) as uow:
            if not uow.jobs.has_due(now):
                return False  # polling costs a read, not SQLite's write lock
        with self.app.uow() as uow:
            job = uow.jobs.claim(now, now + self.lease, self.name)
            uow.commit()
        if job is None:
            return False
        handler = self.handlers.get(job.kind)
        began = time.perf_counter()
        outcome = "done"
        try:
            if handler is None:
                # Perhaps a newer version's kind, during a rolling upgrade: try again later.
                raise LookupError(f"this worker does not know jobs of kind {job.kind!r}")
            again = handler.run(job, now)
        except Exception as exc:
            outcome = self._failed(job, handler, exc)
        else:
            with self.app.uow() as uow:
                if again is None:
                    uow.jobs.finish(job.id, self.now())
                else:
                    uow.jobs.reschedule(job.id, again)
                    outcome = "again"
                uow.commit()
        elapsed = time.perf_counter() - began
        telemetry.event("job.step", kind=job.kind, outcome=outcome)
        telemetry.event("job.seconds", elapsed, kind=job.kind)
        log.info(
            "job step",
            extra={
                "job_id": job.id,
                "kind": job.kind,
                "organization_id": job.organization_id,
                "outcome": outcome,
                "attempts": job.attempts,
                "duration_ms": round(elapsed * 1000, 1),
                "worker": self.name,
            },
        )
        return True

    def _failed(self, job: Job, handler: Handler | None, exc: Exception) -> str:
        error = f"{type(exc).__name__}: {exc}"
        now = self.now()
        give_up = self.policy.gives_up(job.attempts)
        with self.app.uow() as uow:
            if give_up:
                uow.jobs.fail(job.id, now, error)
            else:
                uow.jobs.retry(job.id, now + self.policy.delay(job.attempts), error)
            uow.commit()
        if give_up:
            log.error(
                "job %s (%s) given up after %d tries: %s", job.id, job.kind, job.attempts, error
            )
            if handler is not None:
                handler.given_up(job, error)
            return "failed"
        log.warning(
            "job %s (%s) try %d failed: %s", job.id, job.kind, job.attempts, error, exc_info=exc
        )
        return "retry"
