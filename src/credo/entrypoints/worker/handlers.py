"""What each kind of job does (services/jobs.py names the kinds). A handler runs one step
of a job and answers when the job should run again, or None when it is done; an exception
makes the worker try it again later, with backoff."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from credo.bootstrap import App
from credo.domain.entities import RUNNING, Job
from credo.services.importing import imports
from credo.services.importing.imports import Row
from credo.services.recipients import reminders
from credo.services.webhooks import events as webhook_events


class Handler(Protocol):
    def run(self, job: Job, now: datetime) -> datetime | None: ...
    def given_up(self, job: Job, error: str) -> None:
        """The job failed for the last time: leave its subject in a state people can see."""


@dataclass
class ImportChunks:
    """One chunk of a spreadsheet import per run, then the job goes back in line, so the
    imports of several organizations advance in turn and e-mails are not held back."""

    app: App
    # The rows of the import last run: read once, not once per chunk (50,000 rows of JSON).
    _rows: tuple[str, Sequence[Row]] | None = field(default=None, init=False)

    def run(self, job: Job, now: datetime) -> datetime | None:
        org_id, import_id = _subject(job)
        if self._rows is None or self._rows[0] != import_id:
            self._rows = (import_id, imports.rows_of(self.app.uow, org_id, import_id))
        done = imports.step(self.app.uow, self.app.ctx, org_id, import_id, self._rows[1])
        if done.state == RUNNING:
            return now
        self._rows = None
        return None

    def given_up(self, job: Job, error: str) -> None:
        org_id, import_id = _subject(job)
        imports.fail(self.app.uow, self.app.ctx, org_id, import_id, "an internal error stopped it")


@dataclass
class ExpiryReminders:
    """The hourly sweep that e-mails recipients before their credentials expire."""

    app: App
    every: timedelta = timedelta(hours=1)

    def run(self, job: Job, now: datetime) -> datetime | None:
        reminders.enqueue_due(self.app.uow, self.app.ctx, self.app.settings.expiry_reminder_days)
        return now + self.every

    def given_up(self, job: Job, error: str) -> None:
        pass  # the worker enqueues a new sweep when it next starts


@dataclass
class WebhookExpiries:
    """The hourly sweep that writes `credential.expired` webhook events."""

    app: App
    every: timedelta = timedelta(hours=1)

    def run(self, job: Job, now: datetime) -> datetime | None:
        webhook_events.expired_sweep(self.app.uow, self.app.clock.now(), self.app.ctx.base_url)
        return now + self.every

    def given_up(self, job: Job, error: str) -> None:
        pass  # the worker enqueues a new sweep when it next starts


def _subject(job: Job) -> tuple[str, str]:
    if job.organization_id is None or job.subject_id is None:
        raise ValueError(f"job {job.id} ({job.kind}) names no subject")
    return job.organization_id, job.subject_id
