"""The e-mail outbox (tables.outbox): rows are written with what they announce, in the same
transaction, and sent later by a worker (services/mailing.py).

A row is pending until `sent_at` or `failed_at` is set; it is never deleted. A worker
claims due rows by leasing them (`leased_until`) in a short transaction of its own, sends
outside any transaction, then records the outcome in another."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    case,
    delete,
    func,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from credo.adapters.db import tables as t
from credo.adapters.db.rows import insert_rows
from credo.domain.entities import OutboxMessage, QueueStats
from credo.domain.jobs import Lane, mail_lane

_o = t.outbox.c
_RECORD_COLUMNS = [
    _o.id,
    _o.organization_id,
    _o.kind,
    _o.to_address,
    _o.credential_id,
    _o.payload,
    _o.created_at,
    _o.next_attempt_at,
    _o.attempts,
    _o.leased_until,
    _o.priority,
]
ERROR_LENGTH = 500  # the column's width


def _pending() -> ColumnElement[bool]:
    # Spelled as the partial indexes' predicate, so both databases use them.
    return and_(_o.sent_at.is_(None), _o.failed_at.is_(None))


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(
        _pending(),
        _o.next_attempt_at <= now,
        or_(_o.leased_until.is_(None), _o.leased_until <= now),
    )


class SqlOutbox:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, message: OutboxMessage) -> None:
        self._c.execute(t.outbox.insert().values(**_values(message)))

    def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        # A bulk publish of 10,000 credentials enqueues 10,000 rows: one COPY/executemany.
        insert_rows(self._c, t.outbox, [_values(m) for m in messages])

    def discard_for(self, credential_ids: Sequence[str]) -> None:
        if credential_ids:
            self._c.execute(
                delete(t.outbox).where(_o.credential_id.in_(credential_ids), _o.sent_at.is_(None))
            )

    def has_due(self, now: datetime) -> bool:
        found = self._c.execute(select(_o.id).where(_due(now)).limit(1)).first()
        return found is not None

    def claim(
        self, now: datetime, until: datetime, limit: int, after_org: str = ""
    ) -> tuple[list[OutboxMessage], str]:
        ids = self._ids(
            select(_o.id)
            .where(_due(now), _o.priority == Lane.ACCOUNT)
            .order_by(_o.next_attempt_at, _o.id)
            .limit(limit)
        )
        served = after_org
        if len(ids) < limit:
            org = self._next_org(now, after_org)
            if org is None and after_org:
                org = self._next_org(now, "")  # wrap around
            if org is not None:
                served = org
                ids += self._ids(
                    select(_o.id)
                    .where(_o.organization_id == org, _due(now), _o.priority > Lane.ACCOUNT)
                    .order_by(_o.priority, _o.next_attempt_at, _o.id)
                    .limit(limit - len(ids))
                )
        if not ids:
            return [], served
        rows = self._c.execute(
            update(t.outbox)
            .where(_o.id.in_(ids))
            .values(leased_until=until, attempts=_o.attempts + 1)
            .returning(*_RECORD_COLUMNS)
        ).all()
        claimed = [OutboxMessage(**row._mapping) for row in rows]
        claimed.sort(key=lambda m: (m.priority or 0, m.next_attempt_at, m.id))
        return claimed, served

    def _next_org(self, now: datetime, after: str) -> str | None:
        """The first organization after `after` (by id) with a row due outside the account
        lane: an index walk over pending rows, not a scan of every organization."""
        found: str | None = self._c.scalar(
            select(_o.organization_id)
            .where(_o.organization_id > after, _due(now), _o.priority > Lane.ACCOUNT)
            .order_by(_o.organization_id)
            .limit(1)
        )
        return found

    def _ids(self, query: Select[Any]) -> list[str]:
        if self._c.dialect.name == "postgresql":
            # Rows another worker is claiming right now are skipped, not waited for; once
            # it commits, their lease keeps them out of `_due`. (SQLite has one writer at
            # a time: the unit of work's BEGIN IMMEDIATE.)
            query = query.with_for_update(skip_locked=True)
        return [str(i) for i in self._c.execute(query).scalars()]

    def release(self, message_ids: Sequence[str]) -> None:
        for chunk in range(0, len(message_ids), 500):
            self._finish(
                message_ids[chunk : chunk + 500], leased_until=None, attempts=_o.attempts - 1
            )

    def stats(self, now: datetime) -> list[QueueStats]:
        is_due = _due(now)
        leased = and_(_pending(), _o.leased_until > now)
        rows = self._c.execute(
            select(
                _o.priority,
                func.count().filter(_pending()),
                func.count().filter(is_due),
                type_coerce(func.min(case((is_due, _o.next_attempt_at))), t.UTCDateTime()),
                func.count().filter(leased),
                func.count().filter(_o.failed_at.is_not(None)),
            )
            .where(or_(_pending(), _o.failed_at.is_not(None)))
            .group_by(_o.priority)
        ).all()
        return [QueueStats(f"mail.{Lane(lane).name.lower()}", *rest) for lane, *rest in rows]

    def mark_sent(self, message_ids: Sequence[str], at: datetime) -> None:
        for chunk in range(0, len(message_ids), 500):  # bounded IN lists
            self._finish(
                message_ids[chunk : chunk + 500], sent_at=at, leased_until=None, last_error=None
            )

    def retry(self, message_id: str, at: datetime, error: str) -> None:
        self._finish(
            [message_id], next_attempt_at=at, leased_until=None, last_error=error[:ERROR_LENGTH]
        )

    def fail(self, message_id: str, at: datetime, error: str) -> None:
        self._finish([message_id], failed_at=at, leased_until=None, last_error=error[:ERROR_LENGTH])

    def _finish(self, message_ids: Sequence[str], **values: Any) -> None:
        # Only a pending row changes: a row once sent stays sent.
        self._c.execute(
            update(t.outbox)
            .where(_o.id.in_(message_ids), _o.sent_at.is_(None), _o.failed_at.is_(None))
            .values(**values)
        )


def _values(m: OutboxMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "organization_id": m.organization_id,
        "kind": m.kind,
        "to_address": m.to_address,
        "credential_id": m.credential_id,
        "payload": m.payload,
        "created_at": m.created_at,
        "next_attempt_at": m.next_attempt_at,
        "attempts": m.attempts,
        "priority": int(mail_lane(m.kind)) if m.priority is None else m.priority,
    }
