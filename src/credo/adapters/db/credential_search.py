"""The dashboard's read model over credentials and groups: search, filters, counts.

Searching is a case-insensitive substring match on the recipient's name and e-mail
(LIKE with the user's `%` and `_` escaped); an organization's credentials are few enough
(tens of thousands) for its (organization_id, ...) indexes to keep this quick."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, or_, select

from credo.adapters.db import tables as t
from credo.adapters.db.credentials import _CRED_COLUMNS, _credential
from credo.adapters.db.rows import _chunks
from credo.domain.credentials import Status
from credo.domain.entities import Credential, CredentialQuery, Group, GroupSummary


class SqlCredentialSearch:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def find(self, org_id: str, q: CredentialQuery) -> tuple[list[Credential], int]:
        c = t.credentials.c
        where: list[Any] = [c.organization_id == org_id, c.deleted_at.is_(None)]
        if q.text:
            where.append(
                or_(
                    c.recipient_name.icontains(q.text, autoescape=True),
                    c.recipient_email.icontains(q.text, autoescape=True),
                )
            )
        if q.group_id is not None:
            where.append(c.group_id == q.group_id)
        published = [c.status == Status.PUBLISHED.value]
        if q.state == "draft":
            where.append(c.status == Status.DRAFT.value)
        elif q.state == "published":
            where += [*published, c.revoked_at.is_(None)]
        elif q.state == "revoked":
            where += [*published, c.revoked_at.is_not(None)]
        if q.expiring is not None:
            start, end = q.expiring
            where += [*published, c.revoked_at.is_(None), c.expires_on.between(start, end)]
        total = int(self._c.scalar(select(func.count()).where(*where)) or 0)
        rows = self._c.execute(
            select(*_CRED_COLUMNS)
            .where(*where)
            .order_by(c.created_at.desc(), c.id.desc())
            .offset(q.offset)
            .limit(q.limit)
        )
        return [_credential(r) for r in rows], total

    def groups(self, org_id: str, *, archived: bool) -> list[GroupSummary]:
        g, c = t.groups.c, t.credentials.c
        counts = (
            select(c.group_id, func.count().label("n"))
            .where(c.organization_id == org_id, c.deleted_at.is_(None))
            .group_by(c.group_id)
            .subquery()
        )
        q = (
            select(t.groups, func.coalesce(counts.c.n, 0).label("credential_count"))
            .select_from(t.groups.outerjoin(counts, counts.c.group_id == g.id))
            .where(
                g.organization_id == org_id,
                g.archived_at.is_not(None) if archived else g.archived_at.is_(None),
            )
            .order_by(func.lower(g.name), g.id)
        )
        out = []
        for row in self._c.execute(q):
            m = dict(row._mapping)
            n = int(m.pop("credential_count"))
            out.append(GroupSummary(Group(**m), n))
        return out

    def live_keys_in_group(
        self, org_id: str, group_id: str, keys: Iterable[str], excluding: Iterable[str] = ()
    ) -> set[str]:
        c = t.credentials.c
        found: set[str] = set()
        skip = set(excluding)
        for chunk in _chunks(sorted(set(keys)), 500):
            q = select(c.id, c.recipient_key).where(
                c.organization_id == org_id,
                c.group_id == group_id,
                c.status == Status.PUBLISHED.value,
                c.deleted_at.is_(None),
                c.recipient_key.in_(chunk),
            )
            found.update(r[1] for r in self._c.execute(q) if r[0] not in skip)
        return found
