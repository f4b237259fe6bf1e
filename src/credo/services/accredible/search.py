"""`POST /v2/credentials/search`: Accredible's query language over Credo's credentials.

`query` holds `field` or `field[op]` keys (op: eq, in, lt, gt, lte, gte); `sort` one
`{field: "asc"|"desc"}`; `page` `{from, size}` (an offset, at most 10,000). What it
cannot answer is a 400 with Accredible's `invalid_search_query`."""

from __future__ import annotations

import re
from typing import Any

from credo.domain import accredible as dialect
from credo.domain.accredible import Invalid
from credo.domain.credentials import Status
from credo.services.accredible import use_cases, views
from credo.services.accredible.use_cases import Context
from credo.services.ports import UnitOfWork
from credo.services.recipients.addresses import recipient_key
from credo.services.tenancy.clocks import load_org

MAX_OFFSET = 10_000
MAX_SIZE = 100
_KEY = re.compile(r"^([a-z_.]+)(?:\[(eq|in|lt|gt|lte|gte)\])?$")
_DATES = {"issued_on", "expired_on", "created_at", "updated_at"}
_SORTS = {"id": "id", "recipient_name": "recipient_name", "issued_on": "issued_on",
          "expired_on": "expired_on"}  # fmt: skip


class BadQuery(Exception):
    """Accredible's 400: `{"code": 400, "message", "status": "invalid_search_query"}`."""


def run(c: Context, body: dict[str, Any]) -> tuple[int, Any]:
    try:
        query = dialect.obj(body.get("query"), "query") or {}
        sort = dialect.obj(body.get("sort"), "sort") or {}
        page = dialect.obj(body.get("page"), "page") or {}
    except Invalid as exc:
        return _bad(str(exc))
    start = dialect.number(page.get("from"), "page.from") if page.get("from") else 0
    size = dialect.number(page.get("size"), "page.size") or dialect.DEFAULT_PAGE_SIZE
    size = min(size, MAX_SIZE)
    if (start or 0) + size > MAX_OFFSET:
        return _bad(f"from + size is at most {MAX_OFFSET}")
    order: list[tuple[str, bool]] = []
    for field, direction in sort.items():
        if field not in _SORTS:
            return _bad(f"Sort by {field} is not supported")
        if direction not in ("asc", "desc"):
            return _bad(f"Sort order {direction} is not supported")
        order.append((_SORTS[field], direction == "desc"))

    def read(uow: UnitOfWork) -> tuple[int, Any]:
        conditions = [_condition(uow, c, key, value) for key, value in query.items()]
        rows, total = uow.accredible.credentials(
            c.org_id,
            conditions=conditions,
            order=order,
            offset=start or 0,
            limit=size,
            department_id=c.department_id,
        )
        found = views.credentials(uow, c.ctx, load_org(uow, c.org_id), rows)
        return 200, {
            "credentials": [v2(v) for v in found],
            "meta": {"count": total, "from": start or 0, "size": size, "cursor": None},
        }

    try:
        return c.write(read)
    except BadQuery as exc:
        return _bad(str(exc))


def _bad(message: str) -> tuple[int, Any]:
    return 400, {
        "code": 400,
        "message": message,
        "status": "invalid_search_query",
        "errors": {},
        "type": "/problems/invalid_search_query",
        "title": "Invalid search query",
        "detail": message,
    }


def _condition(uow: UnitOfWork, c: Context, key: str, value: Any) -> dialect.Condition:
    m = _KEY.match(key)
    if not m:
        raise BadQuery(f"Query field {key} is not supported")
    field, op = m[1], m[2] or "eq"
    values = value if op == "in" else [value]
    if op == "in" and not isinstance(value, list):
        raise BadQuery(f"{key} takes a list")
    if op not in ("eq", "in") and field not in _DATES:
        raise BadQuery(f"{field} takes eq or in")
    try:
        if field in _DATES:
            days = [dialect.day(v, field) for v in values]
            if any(d is None for d in days):
                raise BadQuery(f"{field} needs a date")
            moments = [use_cases.moment(field, d, op) for d in days if d is not None]
            return (field, op, moments if op == "in" else moments[0])
        if field == "group.id":
            ids = [
                use_cases.group_id_of(uow, c.org_id, v, "group.id", c.department_id) for v in values
            ]
            return ("group_id", op, ids if op == "in" else ids[0])
        if field == "recipient_email":
            keys = [recipient_key(str(v))[1].value for v in values]
            return ("recipient_key", op, keys if op == "in" else keys[0])
        if field == "recipient_name":
            return ("recipient_name", op, values if op == "in" else values[0])
        if field == "approve":
            flags = [dialect.flag(v, "approve") for v in values]
            states = [Status.PUBLISHED.value if f else Status.DRAFT.value for f in flags]
            return ("status", op, states if op == "in" else states[0])
        if field in ("uuid", "encoded_id"):
            return ("id", op, [str(v) for v in values] if op == "in" else str(values[0]))
        if field == "license_id":
            found = [uow.accredible.by_license(c.org_id, str(v)[:200]) or "" for v in values]
            return ("id", op, found if op == "in" else found[0])
    except Invalid as exc:
        raise BadQuery(str(exc)) from None
    except ValueError as exc:
        raise BadQuery(f"{key}: {exc}") from None
    raise BadQuery(f"Query field {field} is not supported")


def v2(view: dict[str, Any]) -> dict[str, Any]:
    """The flat credential of v2 search, from the v1 view."""
    return {
        "id": view["id"],
        "uuid": view["encoded_id"],
        "encoded_id": view["encoded_id"],
        "name": view["name"],
        "approve": view["approve"],
        "private": view["private"],
        "issued_on": view["issued_on"],
        "published_on": view["issued_on"] if view["approve"] else None,
        "expired_on": view["expired_on"],
        "created_at": view["created_at"],
        "updated_at": view["updated_at"],
        "recipient_name": view["recipient"]["name"],
        "recipient_email": view["recipient"]["email"],
        "recipient_id": None,
        "recipient_meta_data": None,
        "recipient_opened": False,
        "recipient_engaged": False,
        "license_id": view["license_id"],
        "grade": view["grade"],
        "meta_data": view["meta_data"],
        "custom_attributes": view["custom_attributes"],
        "issuer_id": view["issuer"]["id"],
        "seo_image": view.get("seo_image"),
        "url": view["url"],
        "group": {
            "id": view["group_id"],
            "name": view["group_name"],
            "course_name": view["name"],
            "certificate_design_id": None,
            "badge_design_id": None,
        },
    }
