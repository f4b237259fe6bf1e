"""Engagement counts: written in batches by the recorder, read by the engagement reports.

Writes add to counters (`n = n + excluded.n`), so any number of processes may write the
same credential's day at once and every event is counted exactly once."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from credo.adapters.db import tables as t
from credo.domain import engagement as e
from credo.domain.credentials import Status
from credo.services.engagement.ports import Counted, Scope

_n = t.engagement_counts.c
_v = t.engagement_visitors.c
_c = t.credentials.c
_o = t.outbox.c


class SqlEngagement:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._pg = conn.dialect.name == "postgresql"

    def _insert(self, table: Any) -> Any:
        return postgresql.insert(table) if self._pg else sqlite.insert(table)

    # --- writing ------------------------------------------------------------------------

    def add_counts(self, rows: Sequence[Counted]) -> None:
        if not rows:
            return
        # Sorted: two processes adding to the same rows take their locks in one order.
        values = [
            {
                "credential_id": r.credential_id,
                "day": r.day,
                "kind": r.kind.value,
                "organization_id": r.organization_id,
                "group_id": r.group_id,
                "n": r.n,
            }
            for r in sorted(rows, key=lambda r: (r.credential_id, r.day, r.kind.value))
        ]
        stmt = self._insert(t.engagement_counts)
        stmt = stmt.on_conflict_do_update(
            index_elements=["credential_id", "day", "kind"],
            set_={"n": t.engagement_counts.c.n + stmt.excluded.n},
        )
        self._c.execute(stmt, values)

    def add_visitors(self, rows: Sequence[tuple[str, date, str, str, str]]) -> None:
        """(credential id, day, visitor, organization id, group id); seen ones are kept."""
        if not rows:
            return
        values = [
            {
                "credential_id": cred,
                "day": day,
                "visitor": who,
                "organization_id": org,
                "group_id": group,
            }
            for cred, day, who, org, group in sorted(set(rows))
        ]
        stmt = self._insert(t.engagement_visitors).on_conflict_do_nothing(
            index_elements=["credential_id", "day", "visitor"]
        )
        self._c.execute(stmt, values)

    def firsts(
        self, pairs: Sequence[tuple[str, e.Kind, str]], at: datetime
    ) -> set[tuple[str, e.Kind]]:
        """Record (credential id, kind, organization id) as seen; answers the pairs seen
        here for the first time."""
        if not pairs:
            return set()
        values = [
            {"credential_id": cred, "kind": kind.value, "organization_id": org, "at": at}
            for cred, kind, org in sorted(set(pairs))
        ]
        stmt = (
            self._insert(t.engagement_firsts)
            .on_conflict_do_nothing(index_elements=["credential_id", "kind"])
            .returning(t.engagement_firsts.c.credential_id, t.engagement_firsts.c.kind)
        )
        found: set[tuple[str, e.Kind]] = set()
        for chunk in range(0, len(values), 500):
            for row in self._c.execute(stmt, values[chunk : chunk + 500]).all():
                found.add((row[0], e.Kind(row[1])))
        return found

    def day_key(self, day: date) -> bytes:
        """The key that names `day`'s viewers, made by whichever process asks first; the
        keys of earlier days are deleted, so that their names lead nowhere."""
        k = t.engagement_day_keys.c
        self._c.execute(delete(t.engagement_day_keys).where(k.day < day))
        self._c.execute(
            self._insert(t.engagement_day_keys)
            .values(day=day, key=secrets.token_bytes(32))
            .on_conflict_do_nothing(index_elements=["day"])
        )
        key: bytes = self._c.execute(select(k.key).where(k.day == day)).scalar_one()
        return key

    # --- reading ------------------------------------------------------------------------

    def _count_where(self, scope: Scope, table: Any) -> list[Any]:
        c = table.c
        cond = [
            c.organization_id == scope.organization_id,
            c.day >= scope.first,
            c.day <= scope.last,
        ]
        if scope.group_id is not None:
            cond.append(c.group_id == scope.group_id)
        if scope.credential_id is not None:
            cond.append(c.credential_id == scope.credential_id)
        return cond

    def counts(self, scope: Scope) -> list[tuple[date, e.Kind, int]]:
        """(day, kind, count) for every day and kind with something counted."""
        q = (
            select(_n.day, _n.kind, func.sum(_n.n))
            .where(*self._count_where(scope, t.engagement_counts))
            .group_by(_n.day, _n.kind)
        )
        return [(d, e.Kind(k), int(n)) for d, k, n in self._c.execute(q)]

    def unique_viewers(self, scope: Scope) -> list[tuple[date, int]]:
        q = (
            select(_v.day, func.count())
            .where(*self._count_where(scope, t.engagement_visitors))
            .group_by(_v.day)
        )
        return [(d, int(n)) for d, n in self._c.execute(q)]

    def reached(self, scope: Scope) -> dict[e.Kind, set[str]]:
        """Which credentials got each kind of engagement in the period."""
        q = (
            select(_n.kind, _n.credential_id)
            .where(*self._count_where(scope, t.engagement_counts))
            .distinct()
        )
        found: dict[e.Kind, set[str]] = {}
        for kind, cred in self._c.execute(q):
            found.setdefault(e.Kind(kind), set()).add(cred)
        return found

    def _credentials_where(self, scope: Scope) -> list[Any]:
        cond = [
            _c.organization_id == scope.organization_id,
            _c.deleted_at.is_(None),
            _c.status == Status.PUBLISHED.value,
        ]
        if scope.group_id is not None:
            cond.append(_c.group_id == scope.group_id)
        if scope.credential_id is not None:
            cond.append(_c.id == scope.credential_id)
        return cond

    def issued(self, scope: Scope) -> list[tuple[date, str]]:
        """(issued on, credential id) of the credentials issued in the period."""
        q = select(_c.issued_on, _c.id).where(
            *self._credentials_where(scope),
            _c.issued_on >= scope.first,
            _c.issued_on <= scope.last,
        )
        return [(d, cred) for d, cred in self._c.execute(q)]

    def e_mails(
        self, scope: Scope, since: datetime, until: datetime
    ) -> list[tuple[datetime, str, str, str | None]]:
        """(when it ended, credential id, "sent" or "failed", error) for the credential
        e-mails that were delivered or given up in [since, until)."""
        ended = func.coalesce(_o.sent_at, _o.failed_at)
        outcome = case((_o.sent_at.is_not(None), literal("sent")), else_=literal("failed"))
        q = (
            select(ended, _o.credential_id, outcome, _o.last_error)
            .select_from(t.outbox.join(t.credentials, _c.id == _o.credential_id))
            .where(
                _o.organization_id == scope.organization_id,
                _o.credential_id.is_not(None),
                and_(ended >= since, ended < until),
                *self._credentials_where(scope),
            )
        )
        return [(at, cred, str(what), err) for at, cred, what, err in self._c.execute(q)]

    def subject_of_message(self, message_id: str) -> tuple[str, str, str] | None:
        """(organization id, credential id, group id) of a credential e-mail's outbox row."""
        row = self._c.execute(
            select(_c.organization_id, _c.id, _c.group_id)
            .select_from(t.outbox.join(t.credentials, _c.id == _o.credential_id))
            .where(_o.id == message_id, _c.deleted_at.is_(None))
        ).first()
        return (row[0], row[1], row[2]) if row else None
