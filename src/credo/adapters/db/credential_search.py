"""The dashboard's read model over credentials and groups: search, filters, counts.

Searching matches names and e-mails by their start, case-insensitively: each is a range
over an (organization_id, lower(...)) index, so a search reads only the credentials it
finds, however many the organization holds. Ranges compare code points (the "C" collation
on PostgreSQL, SQLite's binary one), and the search text is lower-cased by the database's
own lower(), as the index is, so the range is exactly the prefix. Lists are newest first by
id (ids sort by creation), and counts stop at CredentialQuery.count_limit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, func, literal, or_, select

from credo.adapters.db import tables as t
from credo.adapters.db.credentials import _CRED_COLUMNS, _credential
from credo.adapters.db.rows import _chunks
from credo.domain.credentials import Status
from credo.domain.entities import (
    Credential,
    CredentialQuery,
    Group,
    GroupSummary,
    LedgerEntry,
    SentMail,
)


def _byte_order(expr: Any, pg: bool) -> Any:
    return expr.collate("C") if pg else expr


def _prefix(expr: Any, text: str) -> Any:
    """`expr` starts with `text`: text <= expr < the first string after all that do."""
    after = _successor(text)
    return expr >= text if after is None else (expr >= text) & (expr < after)


def _successor(text: str) -> str | None:
    """The least string greater than every string starting with `text`, in code point
    order; None when there is none (every character is the last one)."""
    while text:
        last = ord(text[-1]) + 1
        if last == 0xD800:
            last = 0xE000  # surrogates are not characters
        if last <= 0x10FFFF:
            return text[:-1] + chr(last)
        text = text[:-1]
    return None


class SqlCredentialSearch:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._pg = conn.dialect.name == "postgresql"

    def find(self, org_id: str, q: CredentialQuery) -> tuple[list[Credential], int]:
        c = t.credentials.c
        where: list[Any] = [c.organization_id == org_id, c.deleted_at.is_(None)]
        if q.text:
            lowered = str(self._c.scalar(select(func.lower(literal(q.text)))))
            where.append(
                or_(
                    _prefix(_byte_order(func.lower(c.recipient_name), self._pg), lowered),
                    _prefix(_byte_order(c.recipient_key, self._pg), lowered),
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
        capped = select(c.id).where(*where).limit(q.count_limit).subquery()
        total = int(self._c.scalar(select(func.count()).select_from(capped)) or 0)
        rows = self._c.execute(
            select(*_CRED_COLUMNS)
            .where(*where)
            .order_by(c.id.desc())
            .offset(q.offset)
            .limit(q.limit)
        )
        return [_credential(r) for r in rows], total

    def groups(self, org_id: str, *, archived: bool) -> list[GroupSummary]:
        g = t.groups.c
        # Kept per group as credentials come and go (group_counts), not counted here.
        kept = t.group_counts.c
        q = (
            select(t.groups, func.coalesce(kept.credentials, 0).label("credential_count"))
            .select_from(
                t.groups.outerjoin(
                    t.group_counts,
                    and_(kept.organization_id == org_id, kept.group_id == g.id),
                )
            )
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

    # One credential's page. Neither table indexes credential_id (that takes a migration):
    # each read walks the organization's rows newest first until it has `limit` of them.

    def mails(self, org_id: str, cred_id: str, limit: int) -> list[SentMail]:
        o = t.outbox.c
        rows = self._c.execute(
            select(
                o.id,
                o.kind,
                o.to_address,
                o.created_at,
                o.attempts,
                o.next_attempt_at,
                o.sent_at,
                o.failed_at,
                o.last_error,
            )
            .where(o.organization_id == org_id, o.credential_id == cred_id)
            .order_by(o.id.desc())
            .limit(limit)
        )
        return [SentMail(**r._mapping) for r in rows]

    def charges(self, org_id: str, cred_id: str, limit: int) -> list[LedgerEntry]:
        e = t.ledger_entries.c
        rows = self._c.execute(
            select(t.ledger_entries)
            .where(e.organization_id == org_id, e.credential_id == cred_id)
            .order_by(e.id.desc())
            .limit(limit)
        )
        return [LedgerEntry(**r._mapping) for r in rows]
