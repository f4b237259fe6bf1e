"""The audit log's rows (domain/audit_log.py): only ever inserted and read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select

from credo.adapters.db import tables as t
from credo.domain.audit_log import Actor, ActorKind, AuditEntry
from credo.services.audit_ports import LogQuery

_a = t.audit_log.c


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value, default=str).decode()


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        organization_id=row.organization_id,
        at=row.at,
        actor=Actor(ActorKind(row.actor_kind), row.actor_id, row.actor_label, row.source),
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        before=None if row.before is None else orjson.loads(row.before),
        after=None if row.after is None else orjson.loads(row.after),
    )


class SqlAuditLog:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_many(self, entries: Sequence[AuditEntry]) -> None:
        self._c.execute(
            insert(t.audit_log),
            [
                {
                    "id": e.id,
                    "organization_id": e.organization_id,
                    "at": e.at,
                    "actor_kind": e.actor.kind.value,
                    "actor_id": e.actor.id,
                    "actor_label": e.actor.label[:320],
                    "source": None if e.actor.source is None else e.actor.source[:64],
                    "action": e.action,
                    "target_type": e.target_type,
                    "target_id": e.target_id[:200],
                    "before": _json(e.before),
                    "after": _json(e.after),
                }
                for e in entries
            ],
        )

    def page(
        self, org_id: str, q: LogQuery, *, limit: int, before_id: str | None = None
    ) -> list[AuditEntry]:
        stmt = select(t.audit_log).where(_a.organization_id == org_id)
        if q.action is not None:
            stmt = stmt.where(_a.action == q.action)
        if q.actor_id is not None:
            stmt = stmt.where(_a.actor_id == q.actor_id)
        if q.target_id is not None:
            stmt = stmt.where(_a.target_id == q.target_id)
        if q.since is not None:
            stmt = stmt.where(_a.at >= q.since)
        if q.until is not None:
            stmt = stmt.where(_a.at < q.until)
        if before_id is not None:
            stmt = stmt.where(_a.id < before_id)
        return [_entry(r) for r in self._c.execute(stmt.order_by(_a.id.desc()).limit(limit))]

    def actors(self, org_id: str) -> list[tuple[str, str, str]]:
        latest = (
            select(_a.actor_kind, _a.actor_id, func.max(_a.id).label("last"))
            .where(_a.organization_id == org_id, _a.actor_id.is_not(None))
            .group_by(_a.actor_kind, _a.actor_id)
            .subquery()
        )
        rows = self._c.execute(
            select(latest.c.actor_kind, latest.c.actor_id, _a.actor_label)
            .select_from(latest.join(t.audit_log, _a.id == latest.c.last))
            .order_by(_a.actor_label)
        )
        return [(r.actor_kind, r.actor_id, r.actor_label) for r in rows]
