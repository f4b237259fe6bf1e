"""Background jobs other than e-mail: what kinds there are, and how they are enqueued.

A job is written with the change that causes it, in the same transaction (nothing runs for
a rolled-back change; nothing is lost in a crash), and run by any `credo worker`
(entrypoints/worker) under a lease. Handlers are written to be run again safely: a worker
that dies mid-job leaves it to the next one once its lease ends."""

from __future__ import annotations

from datetime import datetime

from credo.domain.entities import Job
from credo.domain.jobs import Lane
from credo.ids import new_id
from credo.services.ports import UnitOfWork

IMPORT = "import"  # publish a spreadsheet upload, one chunk per run (services/imports.py)
EXPIRY_REMINDERS = "expiry_reminders"  # the hourly sweep (services/reminders.py)
WEBHOOK_EXPIRIES = "webhook_expiries"  # the hourly `credential.expired` sweep (webhooks.events)


def enqueue(
    uow: UnitOfWork,
    kind: str,
    now: datetime,
    *,
    organization_id: str | None = None,
    subject_id: str | None = None,
    payload: str = "{}",
    lane: Lane = Lane.CREDENTIAL,
    singleton: str | None = None,
    run_at: datetime | None = None,
) -> bool:
    """Write a job in the caller's transaction; False when a pending job already holds
    `singleton`."""
    return uow.jobs.add(
        Job(
            id=new_id("job", now),
            organization_id=organization_id,
            kind=kind,
            priority=int(lane),
            subject_id=subject_id,
            payload=payload,
            created_at=now,
            run_at=run_at or now,
            singleton=singleton,
        )
    )
