"""Background jobs other than e-mail (tables.jobs), claimed with leases.

A worker claims one due job in a short transaction of its own (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so concurrent workers pass over each other's rows instead of queueing behind
them; SQLite has one writer at a time anyway), runs it in others, and records the outcome
in a last one. A job whose worker died is due again when its lease ends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, or_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from credo.adapters.db import tables as t
from credo.domain.entities import Job, QueueStats

_j = t.jobs.c
_RECORD = (
    _j.id,
    _j.organization_id,
    _j.kind,
    _j.priority,
    _j.subject_id,
    _j.payload,
    _j.created_at,
    _j.run_at,
    _j.attempts,
    _j.singleton,
)
ERROR_LENGTH = 500  # the column's width


def _pending() -> ColumnElement[bool]:
    # Spelled as the partial index's predicate, so both databases use it.
    return and_(_j.finished_at.is_(None), _j.failed_at.is_(None))


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(_j.leased_until.is_(None), _j.leased_until <= now)


class SqlJobs:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, job: Job) -> bool:
        values = {
            "id": job.id,
            "organization_id": job.organization_id,
            "kind": job.kind,
            "priority": job.priority,
            "subject_id": job.subject_id,
            "payload": job.payload,
            "singleton": job.singleton,
            "created_at": job.created_at,
            "run_at": job.run_at,
            "attempts": job.attempts,
        }
        if job.singleton is None:
            self._c.execute(insert(t.jobs).values(**values))
            return True
        # A savepoint: a lost race for the singleton leaves the caller's transaction usable.
        try:
            with self._c.begin_nested():
                self._c.execute(insert(t.jobs).values(**values))
        except IntegrityError:
            return False
        return True

    def has_due(self, now: datetime) -> bool:
        found = self._c.scalar(
            select(_j.id).where(_pending(), _j.run_at <= now, _free(now)).limit(1)
        )
        return found is not None

    def claim(self, now: datetime, until: datetime, owner: str) -> Job | None:
        due = (
            select(_j.id)
            .where(_pending(), _j.run_at <= now, _free(now))
            .order_by(_j.priority, _j.run_at, _j.id)
            .limit(1)
        )
        if self._c.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        job_id = self._c.scalar(due)
        if job_id is None:
            return None
        row = self._c.execute(
            update(t.jobs)
            .where(_j.id == job_id)
            .values(leased_until=until, leased_by=owner[:80], attempts=_j.attempts + 1)
            .returning(*_RECORD)
        ).one()
        return Job(**row._mapping)

    def finish(self, job_id: str, at: datetime) -> None:
        self._set(job_id, finished_at=at, leased_until=None, leased_by=None, singleton=None)

    def retry(self, job_id: str, at: datetime, error: str | None = None) -> None:
        values: dict[str, Any] = {"run_at": at, "leased_until": None, "leased_by": None}
        if error is not None:
            values["last_error"] = error[:ERROR_LENGTH]
        self._set(job_id, **values)

    def reschedule(self, job_id: str, at: datetime) -> None:
        self._set(job_id, run_at=at, attempts=0, leased_until=None, leased_by=None, last_error=None)

    def fail(self, job_id: str, at: datetime, error: str) -> None:
        # The singleton is freed: a given-up job must not block a new one of its kind.
        self._set(
            job_id,
            failed_at=at,
            leased_until=None,
            leased_by=None,
            singleton=None,
            last_error=error[:ERROR_LENGTH],
        )

    def release(self, job_id: str) -> None:
        self._set(job_id, leased_until=None, leased_by=None, attempts=_j.attempts - 1)

    def get(self, job_id: str) -> Job | None:
        row = self._c.execute(select(*_RECORD).where(_j.id == job_id)).first()
        return Job(**row._mapping) if row else None

    def stats(self, now: datetime) -> list[QueueStats]:
        is_due = and_(_pending(), _j.run_at <= now, _free(now))
        running = and_(_pending(), _j.leased_until > now)
        rows = self._c.execute(
            select(
                _j.kind,
                func.count().filter(_pending()),
                func.count().filter(is_due),
                type_coerce(func.min(case((is_due, _j.run_at))), t.UTCDateTime()),
                func.count().filter(running),
                func.count().filter(_j.failed_at.is_not(None)),
            )
            .where(or_(_pending(), _j.failed_at.is_not(None)))
            .group_by(_j.kind)
        ).all()
        return [QueueStats(*row) for row in rows]

    def failures(self, limit: int) -> list[tuple[Job, datetime, str]]:
        rows = self._c.execute(
            select(*_RECORD, _j.failed_at, _j.last_error)
            .where(_j.failed_at.is_not(None))
            .order_by(_j.failed_at.desc())
            .limit(limit)
        ).all()
        found = []
        for row in rows:
            fields = dict(row._mapping)
            failed_at, error = fields.pop("failed_at"), fields.pop("last_error")
            found.append((Job(**fields), failed_at, error or ""))
        return found

    def _set(self, job_id: str, **values: Any) -> None:
        # Only a pending job changes: a finished or failed one stays as it ended.
        self._c.execute(update(t.jobs).where(_j.id == job_id, _pending()).values(**values))
