"""Storage for the Accredible-compatible API: integer ids, credential and group details,
evidence items, attribute keys, and the page-number listings its clients page through."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from credo.adapters.db import tables as t
from credo.adapters.db.credentials import _CRED_COLUMNS, _credential, _group
from credo.domain.accredible import Condition, CredentialDetails, Evidence, GroupDetails
from credo.domain.entities import Credential, Group

_x = t.external_ids.c
_cd = t.credential_details.c
_e = t.evidence_items.c
_gd = t.group_details.c
_k = t.attribute_keys.c
_c = t.credentials.c
_g = t.groups.c


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _unjson(text: str | None) -> dict[str, Any] | None:
    return None if text is None else orjson.loads(text)


_FIELDS: dict[str, Any] = {
    "id": _c.id,
    "group_id": _c.group_id,
    "recipient_key": _c.recipient_key,
    "recipient_name": _c.recipient_name,
    "status": _c.status,
    "issued_on": _c.issued_on,
    "expired_on": _c.expires_on,
    "created_at": _c.created_at,
    "updated_at": _c.updated_at,
}
_OPS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "gt": operator.gt,
    "lte": operator.le,
    "gte": operator.ge,
}


class SqlAccredible:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def _insert_ignoring(self, table: Any, rows: list[dict[str, Any]], key: list[str]) -> None:
        if not rows:
            return
        if self._c.dialect.name == "postgresql":
            self._c.execute(
                postgresql.insert(table).on_conflict_do_nothing(index_elements=key), rows
            )
        else:
            self._c.execute(sqlite.insert(table).on_conflict_do_nothing(index_elements=key), rows)

    def _count(self, table: Any, where: Sequence[ColumnElement[bool]]) -> int:
        return int(self._c.scalar(select(func.count()).select_from(table).where(*where)) or 0)

    # ------------------------------------------------------------------- integer ids

    def numbers(self, org_id: str, kind: str, object_ids: Sequence[str]) -> dict[str, int]:
        """Each object's number, given it on first sight."""
        wanted = sorted(set(object_ids))
        if not wanted:
            return {}
        found = self._numbers(wanted)
        missing = [i for i in wanted if i not in found]
        if missing:
            rows = [{"organization_id": org_id, "kind": kind, "object_id": i} for i in missing]
            self._insert_ignoring(t.external_ids, rows, ["object_id"])
            found |= self._numbers(missing)
        return found

    def _numbers(self, object_ids: list[str]) -> dict[str, int]:
        rows = self._c.execute(select(_x.object_id, _x.id).where(_x.object_id.in_(object_ids)))
        return {r.object_id: int(r.id) for r in rows}

    def object_of(self, org_id: str, kind: str, number: int) -> str | None:
        found: str | None = self._c.scalar(
            select(_x.object_id).where(
                _x.id == number, _x.organization_id == org_id, _x.kind == kind
            )
        )
        return found

    # ------------------------------------------------------------ credential details

    def details(self, credential_ids: Sequence[str]) -> dict[str, CredentialDetails]:
        if not credential_ids:
            return {}
        rows = self._c.execute(
            select(t.credential_details).where(_cd.credential_id.in_(list(credential_ids)))
        )
        out = {}
        for r in rows:
            m = dict(r._mapping)
            m["custom_attributes"] = _unjson(m["custom_attributes"])
            m["meta_data"] = _unjson(m["meta_data"])
            out[r.credential_id] = CredentialDetails(**m)
        return out

    def save_details(self, d: CredentialDetails) -> None:
        values = asdict(d)
        values["custom_attributes"] = _json(d.custom_attributes)
        values["meta_data"] = _json(d.meta_data)
        self._c.execute(delete(t.credential_details).where(_cd.credential_id == d.credential_id))
        self._c.execute(insert(t.credential_details).values(**values))

    def by_license(self, org_id: str, license_id: str) -> str | None:
        found: str | None = self._c.scalar(
            select(_cd.credential_id)
            .join(t.credentials, _c.id == _cd.credential_id)
            .where(
                _cd.organization_id == org_id,
                _cd.license_id == license_id,
                _c.deleted_at.is_(None),
            )
            .order_by(_cd.credential_id.desc())
            .limit(1)
        )
        return found

    # ------------------------------------------------------------------- evidence

    def evidence(self, credential_ids: Sequence[str]) -> dict[str, list[Evidence]]:
        out: dict[str, list[Evidence]] = {i: [] for i in credential_ids}
        if not credential_ids:
            return out
        rows = self._c.execute(
            select(*self._evidence_columns())
            .where(_e.credential_id.in_(list(credential_ids)))
            .order_by(_e.credential_id, func.coalesce(_e.position, 2**31 - 1), _e.id)
        )
        for r in rows:
            out[r.credential_id].append(Evidence(**r._mapping))
        return out

    def _evidence_columns(self) -> list[Any]:
        return [
            _e.id, _e.credential_id, _e.description, _e.category, _e.url,
            _e.string_object, _e.hidden, _e.position, _e.created_at, _e.updated_at,
        ]  # fmt: skip

    def add_evidence(self, org_id: str, item: Evidence) -> int:
        values = asdict(item)
        values.pop("id")
        new_id = self._c.execute(
            insert(t.evidence_items).values(organization_id=org_id, **values).returning(_e.id)
        ).scalar_one()
        return int(new_id)

    def one_evidence(self, org_id: str, credential_id: str, item_id: int) -> Evidence | None:
        row = self._c.execute(
            select(*self._evidence_columns()).where(
                _e.organization_id == org_id, _e.credential_id == credential_id, _e.id == item_id
            )
        ).first()
        return Evidence(**row._mapping) if row else None

    def update_evidence(self, org_id: str, item: Evidence) -> None:
        values = asdict(item)
        item_id = values.pop("id")
        self._c.execute(
            update(t.evidence_items)
            .where(_e.organization_id == org_id, _e.id == item_id)
            .values(**values)
        )

    def delete_evidence(self, org_id: str, item_id: int) -> None:
        self._c.execute(
            delete(t.evidence_items).where(_e.organization_id == org_id, _e.id == item_id)
        )

    # ------------------------------------------------------------------- groups

    def group_details(self, group_ids: Sequence[str]) -> dict[str, GroupDetails]:
        if not group_ids:
            return {}
        rows = self._c.execute(select(t.group_details).where(_gd.group_id.in_(list(group_ids))))
        out = {}
        for r in rows:
            m = dict(r._mapping)
            m["meta_data"] = _unjson(m["meta_data"])
            out[r.group_id] = GroupDetails(**m)
        return out

    def save_group_details(self, d: GroupDetails) -> None:
        values = asdict(d)
        values["meta_data"] = _json(d.meta_data)
        self._c.execute(delete(t.group_details).where(_gd.group_id == d.group_id))
        self._c.execute(insert(t.group_details).values(**values))

    def group_named(self, org_id: str, name: str, department_id: str | None = None) -> str | None:
        """An unarchived group whose internal name, or else whose name, is `name`; of
        `department_id` only, if given."""
        live = [_g.organization_id == org_id, _g.archived_at.is_(None)]
        if department_id is not None:
            live.append(_g.department_id == department_id)
        by_internal = (
            select(_g.id)
            .join(t.group_details, _gd.group_id == _g.id)
            .where(*live, _gd.internal_name == name)
        )
        found: str | None = self._c.scalar(by_internal.order_by(_g.id).limit(1))
        if found is None:
            found = self._c.scalar(
                select(_g.id).where(*live, _g.name == name).order_by(_g.id).limit(1)
            )
        return found

    def groups(
        self,
        org_id: str,
        *,
        name: str | None,
        group_ids: Sequence[str] | None,
        offset: int,
        limit: int,
        department_id: str | None = None,
    ) -> tuple[list[Group], int]:
        """Unarchived groups, oldest first; `name` matches part of either name."""
        where: list[ColumnElement[bool]] = [
            _g.organization_id == org_id,
            _g.archived_at.is_(None),
            ~_g.id.like("vcapi\\_%", escape="\\"),
        ]
        if department_id is not None:
            where.append(_g.department_id == department_id)
        if name:
            pattern = "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(
                or_(
                    func.lower(_g.name).like(pattern.lower(), escape="\\"),
                    _g.id.in_(
                        select(_gd.group_id).where(
                            _gd.organization_id == org_id,
                            func.lower(_gd.internal_name).like(pattern.lower(), escape="\\"),
                        )
                    ),
                )
            )
        if group_ids is not None:
            where.append(_g.id.in_(list(group_ids)))
        total = self._count(t.groups, where)
        rows = self._c.execute(
            select(t.groups).where(*where).order_by(_g.id).offset(offset).limit(limit)
        )
        return [_group(r) for r in rows], total

    # ------------------------------------------------------------------- credentials

    def credentials(
        self,
        org_id: str,
        *,
        conditions: Sequence[Condition] = (),
        order: Sequence[tuple[str, bool]] = (),
        offset: int,
        limit: int,
        department_id: str | None = None,
    ) -> tuple[list[Credential], int]:
        """Live credentials (not deleted, not the VC API's) meeting every condition, in
        `order` ((field, descending) pairs; then by id), with their total count;
        `department_id`: only those of its groups."""
        where: list[ColumnElement[bool]] = [
            _c.organization_id == org_id,
            _c.deleted_at.is_(None),
            ~_c.group_id.like("vcapi\\_%", escape="\\"),
        ]
        if department_id is not None:
            where.append(
                _c.group_id.in_(
                    select(_g.id).where(
                        _g.organization_id == org_id, _g.department_id == department_id
                    )
                )
            )
        for field, op, value in conditions:
            column = _FIELDS[field]
            if isinstance(column.type, t.UTCDateTime) and self._c.dialect.name == "sqlite":
                # Rows written in bulk keep no microseconds ("... 00:00:00"), bound values
                # do (".000000"): compare both as SQLite's own normal form.
                column = func.datetime(column)
                value = [_sqlite_moment(v) for v in value] if op == "in" else _sqlite_moment(value)
            where.append(column.in_(list(value)) if op == "in" else _OPS[op](column, value))
        total = self._count(t.credentials, where)
        ordering = [(_FIELDS[f].desc() if down else _FIELDS[f].asc()) for f, down in order]
        rows = self._c.execute(
            select(*_CRED_COLUMNS)
            .where(and_(*where))
            .order_by(*ordering, _c.id)
            .offset(offset)
            .limit(limit)
        )
        return [_credential(r) for r in rows], total

    # ------------------------------------------------------------------- attribute keys

    def add_attribute_keys(self, org_id: str, names: Sequence[str], now: datetime) -> None:
        rows = [
            {"organization_id": org_id, "name": n[:200], "kind": "text", "created_at": now}
            for n in sorted(set(names))
        ]
        self._insert_ignoring(t.attribute_keys, rows, ["organization_id", "name"])

    def attribute_keys(
        self, org_id: str, *, name: str | None, kind: str | None, offset: int, limit: int
    ) -> tuple[list[tuple[str, str]], int]:
        where: list[ColumnElement[bool]] = [_k.organization_id == org_id]
        if name:
            where.append(_k.name == name)
        if kind:
            where.append(_k.kind == kind)
        total = int(
            self._c.scalar(select(func.count()).select_from(t.attribute_keys).where(*where)) or 0
        )
        rows = self._c.execute(
            select(_k.name, _k.kind).where(*where).order_by(_k.name).offset(offset).limit(limit)
        )
        return [(r.name, r.kind) for r in rows], total


def _sqlite_moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
