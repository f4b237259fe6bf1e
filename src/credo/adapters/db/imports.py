"""Spreadsheet upload jobs (table `import_jobs`): the job's fields apart from its rows, so
progress polls never read the (megabytes of) rows JSON."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, insert, select, update

from credo.adapters.db import tables as t
from credo.domain.entities import ImportJob

_j = t.import_jobs.c
_FIELDS = (
    _j.id,
    _j.organization_id,
    _j.group_id,
    _j.created_by,
    _j.created_at,
    _j.filename,
    _j.state,
    _j.publish,
    _j.total,
    _j.done,
    _j.credits_charged,
    _j.error,
    _j.finished_at,
)


class SqlImports:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, job: ImportJob, rows: str) -> None:
        self._c.execute(
            insert(t.import_jobs).values(
                id=job.id,
                organization_id=job.organization_id,
                group_id=job.group_id,
                created_by=job.created_by,
                created_at=job.created_at,
                filename=job.filename,
                state=job.state,
                publish=job.publish,
                total=job.total,
                done=job.done,
                credits_charged=job.credits_charged,
                rows=rows,
                error=job.error,
                finished_at=job.finished_at,
            )
        )

    def get(self, org_id: str, job_id: str) -> ImportJob | None:
        row = self._c.execute(
            select(*_FIELDS).where(_j.organization_id == org_id, _j.id == job_id)
        ).first()
        return ImportJob(**row._mapping) if row else None

    def rows(self, org_id: str, job_id: str) -> str | None:
        value = self._c.scalar(select(_j.rows).where(_j.organization_id == org_id, _j.id == job_id))
        return None if value is None else str(value)

    def save(self, job: ImportJob, rows: str | None = None) -> None:
        values: dict[str, object] = {
            "group_id": job.group_id,
            "state": job.state,
            "publish": job.publish,
            "total": job.total,
            "done": job.done,
            "credits_charged": job.credits_charged,
            "error": job.error,
            "finished_at": job.finished_at,
        }
        if rows is not None:
            values["rows"] = rows
        self._c.execute(
            update(t.import_jobs)
            .where(_j.organization_id == job.organization_id, _j.id == job.id)
            .values(**values)
        )

    def recent(self, org_id: str, limit: int) -> list[ImportJob]:
        q = (
            select(*_FIELDS)
            .where(_j.organization_id == org_id)
            .order_by(_j.created_at.desc(), _j.id.desc())
            .limit(limit)
        )
        return [ImportJob(**r._mapping) for r in self._c.execute(q)]

    def heads(self, org_id: str, job_ids: Sequence[str], length: int) -> dict[str, str]:
        q = select(_j.id, func.substr(_j.rows, 1, length)).where(
            _j.organization_id == org_id, _j.id.in_(list(job_ids))
        )
        return {job_id: str(head or "") for job_id, head in self._c.execute(q)}
