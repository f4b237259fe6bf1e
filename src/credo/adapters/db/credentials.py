"""Groups, credentials, signing keys and status bits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from credo.adapters.db import tables as t

# From this many rows on, PostgreSQL gets them by COPY; fewer go by plain INSERT.
from credo.adapters.db.rows import _chunks, insert_rows
from credo.domain.credentials import Status
from credo.domain.entities import (
    Credential,
    CredentialFilter,
    FormerVersion,
    Group,
    SigningKey,
)


def _group(row: Any) -> Group:
    return Group(**row._mapping)


class SqlGroups:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, group: Group) -> None:
        self._c.execute(insert(t.groups).values(**asdict(group)))

    def get(self, org_id: str, group_id: str) -> Group | None:
        row = self._c.execute(
            select(t.groups).where(t.groups.c.organization_id == org_id, t.groups.c.id == group_id)
        ).first()
        return _group(row) if row else None

    def update(self, group: Group) -> None:
        g = t.groups.c
        self._c.execute(
            t.groups.update()
            .where(g.organization_id == group.organization_id, g.id == group.id)
            .values(
                name=group.name,
                description=group.description,
                criteria=group.criteria,
                expires_after_months=group.expires_after_months,
                design=group.design,
                archived_at=group.archived_at,
                duplicate_policy=group.duplicate_policy,
                department_id=group.department_id,
            )
        )

    def page(
        self, org_id: str, after: str | None, limit: int, department_id: str | None = None
    ) -> list[Group]:
        q = select(t.groups).where(t.groups.c.organization_id == org_id)
        if department_id is not None:
            q = q.where(t.groups.c.department_id == department_id)
        if after:
            q = q.where(t.groups.c.id > after)
        return [_group(r) for r in self._c.execute(q.order_by(t.groups.c.id).limit(limit))]


_CRED_COLUMNS = [
    t.credentials.c.id,
    t.credentials.c.organization_id,
    t.credentials.c.group_id,
    t.credentials.c.recipient_name,
    t.credentials.c.recipient_email,
    t.credentials.c.recipient_key,
    t.credentials.c.status,
    t.credentials.c.issued_on,
    t.credentials.c.expires_on,
    t.credentials.c.seat_year,
    t.credentials.c.created_at,
    t.credentials.c.updated_at,
    t.credentials.c.salt,
    t.credentials.c.status_index,
    t.credentials.c.revoked_at,
    t.credentials.c.revocation_reason,
    t.credentials.c.suspended_at,
    t.credentials.c.document_id,
    t.credentials.c.hidden,
]


def _credential(row: Any) -> Credential:
    m = dict(row._mapping)
    m["status"] = Status(m["status"])
    return Credential(**m)


def _credential_values(c: Credential) -> dict[str, Any]:
    return {
        "id": c.id,
        "organization_id": c.organization_id,
        "group_id": c.group_id,
        "recipient_name": c.recipient_name,
        "recipient_email": c.recipient_email,
        "recipient_key": c.recipient_key,
        "status": c.status.value,
        "issued_on": c.issued_on,
        "expires_on": c.expires_on,
        "seat_year": c.seat_year,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "salt": c.salt,
        "status_index": c.status_index,
        "signed_document": c.document,
        "revoked_at": c.revoked_at,
        "revocation_reason": c.revocation_reason,
        "suspended_at": c.suspended_at,
        "document_id": c.document_id,
        "hidden": c.hidden,
    }


_COUNT = text(
    "INSERT INTO group_counts (organization_id, group_id, credentials)"
    " VALUES (:organization_id, :group_id, :n) ON CONFLICT (organization_id, group_id)"
    " DO UPDATE SET credentials = group_counts.credentials + excluded.credentials"
)

_COUNT_MANY_PG = text(
    "INSERT INTO group_counts (organization_id, group_id, credentials)"
    " SELECT * FROM unnest(CAST(:org_ids AS varchar[]), CAST(:group_ids AS varchar[]),"
    " CAST(:ns AS integer[])) ON CONFLICT (organization_id, group_id)"
    " DO UPDATE SET credentials = group_counts.credentials + excluded.credentials"
)


class SqlCredentials:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_many(self, creds: Sequence[Credential], *, counted: bool = True) -> None:
        if creds:
            insert_rows(self._c, t.credentials, [_credential_values(c) for c in creds])
            if counted:
                self.count_added(creds)

    def count_added(self, creds: Sequence[Credential]) -> None:
        self._count(Counter((c.organization_id, c.group_id) for c in creds))

    def recount(self, org_id: str) -> None:
        c, n = t.credentials.c, t.group_counts.c
        self._c.execute(t.group_counts.delete().where(n.organization_id == org_id))
        live = (
            select(c.organization_id, c.group_id, func.count())
            .where(c.organization_id == org_id, c.deleted_at.is_(None))
            .group_by(c.organization_id, c.group_id)
        )
        self._c.execute(
            insert(t.group_counts).from_select(["organization_id", "group_id", "credentials"], live)
        )

    def _count(self, changes: Counter[tuple[str, str]], sign: int = 1) -> None:
        params = [
            {"organization_id": org_id, "group_id": group_id, "n": sign * n}
            for (org_id, group_id), n in sorted(changes.items())
            if n
        ]
        if len(params) == 1:  # a single publish: not through executemany
            self._c.execute(_COUNT, params[0])
        elif params and self._c.dialect.name == "postgresql":
            # One statement (executemany ran one per row); sorted, distinct keys.
            self._c.execute(
                _COUNT_MANY_PG,
                {
                    "org_ids": [p["organization_id"] for p in params],
                    "group_ids": [p["group_id"] for p in params],
                    "ns": [p["n"] for p in params],
                },
            )
        elif params:
            self._c.execute(_COUNT, params)

    def get(self, org_id: str, cred_id: str) -> Credential | None:
        row = self._c.execute(
            select(*_CRED_COLUMNS).where(
                t.credentials.c.organization_id == org_id,
                t.credentials.c.id == cred_id,
                t.credentials.c.deleted_at.is_(None),
            )
        ).first()
        return _credential(row) if row else None

    def by_document_id(self, org_id: str, document_id: str) -> Credential | None:
        row = self._c.execute(
            select(*_CRED_COLUMNS)
            .where(
                t.credentials.c.organization_id == org_id,
                t.credentials.c.document_id == document_id,
                t.credentials.c.deleted_at.is_(None),
            )
            .order_by(t.credentials.c.created_at.desc(), t.credentials.c.id.desc())
            .limit(1)
        ).first()
        return _credential(row) if row else None

    def update(self, cred: Credential) -> None:
        values = _credential_values(cred)
        # Never its group: a credential stays in the group it was issued from, which keeps
        # group_counts right without counting here.
        del values["id"], values["organization_id"], values["group_id"], values["created_at"]
        if cred.document is None:
            del values["signed_document"]
        self._c.execute(
            update(t.credentials)
            .where(
                t.credentials.c.organization_id == cred.organization_id,
                t.credentials.c.id == cred.id,
            )
            .values(**values)
        )

    def discard(self, org_id: str, ids: Sequence[str]) -> None:
        if ids:
            c = t.credentials.c
            self._c.execute(
                t.credentials.delete().where(c.organization_id == org_id, c.id.in_(ids))
            )

    def delete(self, org_id: str, cred_id: str, at: datetime) -> None:
        c = t.credentials.c
        gone = self._c.execute(
            update(t.credentials)
            .where(c.organization_id == org_id, c.id == cred_id, c.deleted_at.is_(None))
            .values(deleted_at=at, updated_at=at)
            .returning(c.group_id)
        ).all()
        self._count(Counter((org_id, g) for (g,) in gone), sign=-1)

    def page(
        self, org_id: str, flt: CredentialFilter, after: str | None, limit: int
    ) -> list[Credential]:
        c = t.credentials.c
        q = select(*_CRED_COLUMNS).where(c.organization_id == org_id, c.deleted_at.is_(None))
        if flt.group_id is not None:
            q = q.where(c.group_id == flt.group_id)
        if flt.department_id is not None:
            g = t.groups.c
            in_department = select(g.id).where(
                g.organization_id == org_id, g.department_id == flt.department_id
            )
            q = q.where(c.group_id.in_(in_department))
        if flt.recipient_key is not None:
            q = q.where(c.recipient_key == flt.recipient_key)
        if flt.status is not None:
            q = q.where(c.status == flt.status.value)
        if after:
            q = q.where(c.id > after)
        return [_credential(r) for r in self._c.execute(q.order_by(c.id).limit(limit))]

    def count_live_holding(
        self, org_id: str, recipient_key: str, seat_year: int, exclude_id: str | None
    ) -> int:
        c = t.credentials.c
        q = select(func.count()).where(
            c.organization_id == org_id,
            c.recipient_key == recipient_key,
            c.seat_year == seat_year,
            c.status == Status.PUBLISHED.value,
            c.deleted_at.is_(None),
        )
        if exclude_id is not None:
            q = q.where(c.id != exclude_id)
        return int(self._c.scalar(q) or 0)

    def any_signed(self, org_id: str) -> bool:
        """Whether the organization has ever signed a credential (deleted ones count)."""
        c = t.credentials.c
        q = select(c.id).where(c.organization_id == org_id, c.signed_document.is_not(None))
        return self._c.execute(q.limit(1)).first() is not None

    def supersede(self, cred: Credential, at: datetime) -> None:
        if cred.status_index is None:  # never signed: nothing to keep
            return
        self._c.execute(
            t.credential_versions.insert().values(
                credential_id=cred.id,
                status_index=cred.status_index,
                organization_id=cred.organization_id,
                recipient_name=cred.recipient_name,
                recipient_email=cred.recipient_email,
                issued_on=cred.issued_on,
                expires_on=cred.expires_on,
                superseded_at=at,
            )
        )

    def former_versions(self, org_id: str, cred_id: str, limit: int) -> list[FormerVersion]:
        v = t.credential_versions.c
        rows = self._c.execute(
            select(
                v.status_index,
                v.recipient_name,
                v.recipient_email,
                v.issued_on,
                v.expires_on,
                v.superseded_at,
            )
            .where(v.organization_id == org_id, v.credential_id == cred_id)
            .order_by(v.superseded_at.desc(), v.status_index.desc())
            .limit(limit)
        ).all()
        return [FormerVersion(*row) for row in rows]

    def document(self, cred_id: str) -> tuple[str, str] | None:
        """(organization id, signed document) of a live published credential, by id alone:
        the public side knows no organization."""
        c = t.credentials.c
        row = self._c.execute(
            select(c.organization_id, c.signed_document).where(
                c.id == cred_id, c.deleted_at.is_(None), c.signed_document.is_not(None)
            )
        ).first()
        return (row[0], row[1]) if row else None

    def published(self, cred_id: str) -> tuple[Credential, str] | None:
        """A live published credential and its signed document, by id alone (the public
        side knows no organization)."""
        c = t.credentials.c
        row = self._c.execute(
            select(*_CRED_COLUMNS, c.signed_document).where(
                c.id == cred_id, c.deleted_at.is_(None), c.signed_document.is_not(None)
            )
        ).first()
        if row is None:
            return None
        m = dict(row._mapping)
        document = m.pop("signed_document")
        m["status"] = Status(m["status"])
        return Credential(**m), document

    def live_published(self, cred_ids: Sequence[str]) -> set[str]:
        """Which of these credentials are still published and not deleted."""
        c = t.credentials.c
        found: set[str] = set()
        for chunk in _chunks(cred_ids, 500):
            q = select(c.id).where(
                c.id.in_(chunk), c.deleted_at.is_(None), c.status == Status.PUBLISHED.value
            )
            found.update(r[0] for r in self._c.execute(q))
        return found

    def group_ids(self, cred_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        c = t.credentials.c
        found: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(cred_ids, 500):
            q = select(c.id, c.organization_id, c.group_id).where(
                c.id.in_(chunk), c.deleted_at.is_(None)
            )
            found.update((r.id, (r.organization_id, r.group_id)) for r in self._c.execute(q))
        return found

    def set_hidden(self, cred_id: str, hidden: bool) -> None:
        c = t.credentials.c
        self._c.execute(update(t.credentials).where(c.id == cred_id).values(hidden=hidden))

    def live_seat_counts(self, org_id: str) -> dict[tuple[int, str], int]:
        c = t.credentials.c
        rows = self._c.execute(
            select(c.seat_year, c.recipient_key, func.count())
            .where(
                c.organization_id == org_id,
                c.status == Status.PUBLISHED.value,
                c.deleted_at.is_(None),
            )
            .group_by(c.seat_year, c.recipient_key)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}


class SqlSigningKeys:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, key: SigningKey) -> None:
        self._c.execute(insert(t.signing_keys).values(**asdict(key)))

    def get(self, key_id: str) -> SigningKey | None:
        row = self._c.execute(select(t.signing_keys).where(t.signing_keys.c.id == key_id)).first()
        return SigningKey(**row._mapping) if row else None

    def all(self, org_id: str) -> list[SigningKey]:
        k = t.signing_keys.c
        rows = self._c.execute(
            select(t.signing_keys).where(k.organization_id == org_id).order_by(k.created_at, k.id)
        )
        return [SigningKey(**r._mapping) for r in rows]

    def retire_all(self, org_id: str, at: datetime) -> None:
        k = t.signing_keys.c
        self._c.execute(
            update(t.signing_keys)
            .where(k.organization_id == org_id, k.retired_at.is_(None))
            .values(retired_at=at)
        )


class SqlStatusBits:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def set_many(self, org_id: str, purpose: str, indexes: Sequence[int], at: datetime) -> None:
        s = t.status_bits.c
        wanted = sorted(set(indexes))
        if not wanted:
            return
        present = set(
            self._c.scalars(
                select(s.status_index).where(
                    s.organization_id == org_id,
                    s.purpose == purpose,
                    s.status_index.in_(wanted),
                )
            )
        )
        insert_rows(
            self._c,
            t.status_bits,
            [
                {"organization_id": org_id, "purpose": purpose, "status_index": i, "set_at": at}
                for i in wanted
                if i not in present
            ],
        )

    def clear(self, org_id: str, purpose: str, index: int) -> None:
        s = t.status_bits.c
        self._c.execute(
            t.status_bits.delete().where(
                s.organization_id == org_id, s.purpose == purpose, s.status_index == index
            )
        )

    def set_in(self, org_id: str, purpose: str, start: int, stop: int) -> list[int]:
        s = t.status_bits.c
        return list(
            self._c.scalars(
                select(s.status_index).where(
                    s.organization_id == org_id,
                    s.purpose == purpose,
                    s.status_index >= start,
                    s.status_index < stop,
                )
            )
        )
