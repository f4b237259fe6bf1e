"""Malformed requests on every route: each answers a 4xx problem JSON and changes nothing.

One table (`CASES`) lists the requests. Each runs against a prepared world of two sandbox
organizations (`ours` and `theirs`), each with groups, a published credential and a draft.
For every case the test checks the status, the problem JSON shape (and, for a 422, the
fields named in `errors`), and that a snapshot of both organizations (credits, ledger, every
credential, groups, test clock, subscription, outbox, status bits, stored artifacts,
webhooks, jobs, members and their accounts) and the row count of every table are exactly
as before. Placeholders such as `$cred` in paths and bodies name objects of that world.
A Hypothesis test then throws random JSON at the credential routes.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from credo.adapters.db import tables as t
from credo.bootstrap import App
from tests.conftest import ADMIN_TOKEN, Org, create_org, running_serial
from tests.hypothesis_profiles import examples

PROBLEM = "application/problem+json"
MAX_BODY = 16 * 1024 * 1024


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    client: TestClient
    credo: App
    ours: Org
    theirs: Org
    ids: dict[str, str]
    # Set by a test that found the world unchanged at its end: only then is it reused.
    clean: bool = False
    # That test's serial and its closing snapshot: the opening snapshot of the case that
    # runs right after it on the same world (nothing else ran in between in this process).
    last: tuple[int, dict[str, Any]] | None = None

    def fill(self, value: Any) -> Any:
        """Replace `$name` placeholders in a path or (recursively) in a JSON value."""
        if isinstance(value, str):
            for name in sorted(self.ids, key=len, reverse=True):
                value = value.replace(f"${name}", self.ids[name])
            return value
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


def _unknown_like(real_id: str) -> str:
    """A well-formed id of the same kind that names nothing."""
    prefix, _, rest = real_id.partition("_")
    return f"{prefix}_{'0' * len(rest)}"


def _setup_org(org: Org, tag: str) -> dict[str, str]:
    r = org.post("/v1/departments", {"name": f"{tag} faculty", "credit_cap": 100})
    assert r.status_code == 201, r.text
    dept = r.json()["department"]["id"]
    group = org.group(f"{tag} course", expires_after_months=12, department_id=dept)
    other_group = org.group(f"{tag} other course")
    r = org.issue(
        group, f"ann.{tag}@example.org", "Ann", issued_on="2026-01-15", expires_on="2027-01-15"
    )
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]["id"]
    r = org.issue(other_group, f"bob.{tag}@example.org", "Bob", publish=False)
    assert r.status_code == 201, r.text
    draft = r.json()["credential"]["id"]
    return {"group": group, "group2": other_group, "cred": cred, "draft": draft, "dept": dept}


def _build_world(client: TestClient, credo: App) -> World:
    ours = create_org(client, name="Ours", sandbox=True, anchor="2026-01-15")
    theirs = create_org(client, name="Theirs", sandbox=True, anchor="2026-01-15")
    mine = _setup_org(ours, "ours")
    other = _setup_org(theirs, "theirs")
    ids = {
        **mine,
        "org": ours.id,
        "other_org": theirs.id,
        "other_group": other["group"],
        "other_cred": other["cred"],
        "other_draft": other["draft"],
        "other_dept": other["dept"],
        "unknown_dept": _unknown_like(mine["dept"]),
        "unknown_cred": _unknown_like(mine["cred"]),
        "unknown_group": _unknown_like(mine["group"]),
        "unknown_org": _unknown_like(ours.id),
        "key": ours.key,
        "other_key": theirs.key,
    }
    return World(client, credo, ours, theirs, ids)


# One world per database for the whole table of cases. Sharing is sound because every case
# asserts that it changed nothing; should one fail that way, the world is rebuilt.
_WORLDS: dict[str, World] = {}


@pytest.fixture
def world(client: TestClient, credo: App, database_url: str) -> Iterator[World]:
    w = _WORLDS.get(database_url)
    if w is None:
        w = _build_world(client, credo)
    else:
        w = World(
            client,
            credo,
            Org(w.ours.id, w.ours.key, client),
            Org(w.theirs.id, w.theirs.key, client),
            w.ids,
            last=w.last,
        )
    _WORLDS.pop(database_url, None)
    yield w
    if w.clean:
        w.clean = False
        _WORLDS[database_url] = w


@pytest.fixture
def fresh_world(client: TestClient, credo: App) -> World:
    """A world of its own, for a test whose valid requests may change it."""
    return _build_world(client, credo)


def _all_pages(org: Org, path: str, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        r = org.get(path, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body[name])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def _org_state(org: Org) -> dict[str, Any]:
    return {
        "credits": org.credits(),
        "credentials": _all_pages(org, "/v1/credentials", "credentials"),
    }


# Every table: the money-like ones, and the outbox, status bits, stored artifacts, webhook
# deliveries, jobs and accounts a bad request could just as well have touched.
TABLES = t.metadata.sorted_tables


def _value(value: Any) -> str:
    # A stored PDF or badge by its digest: the same bytes, not a megabyte of repr.
    if isinstance(value, bytes | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    return repr(value)


def _rows(w: World) -> dict[str, Any]:
    """Every stored row of both organizations (their members' user rows too), and the row
    count of every table (which also catches a stray organization, API key, login failure
    or operator idempotency record)."""
    orgs = (w.ours.id, w.theirs.id)
    out: dict[str, Any] = {}
    with w.credo.engine.connect() as conn:
        members = select(t.memberships.c.user_id).where(t.memberships.c.organization_id.in_(orgs))
        counts = conn.execute(_COUNTS).one()._mapping
        for table in TABLES:
            out[f"{table.name} count"] = counts[table.name]
            if table is t.organizations:
                where = table.c.id.in_(orgs)
            elif table is t.users:
                where = table.c.id.in_(members)
            elif "organization_id" in table.c:
                where = table.c.organization_id.in_(orgs)
            else:
                continue  # login failures, password resets: counted above
            rows = conn.execute(select(table).where(where)).all()
            out[table.name] = sorted(tuple(map(_value, row)) for row in rows)
    return out


# Every table's row count in one statement (a round trip each was a third of a snapshot).
_COUNTS = select(
    *(
        select(func.count()).select_from(table).scalar_subquery().label(table.name)
        for table in TABLES
    )
)


def snapshot(w: World) -> dict[str, Any]:
    """What a bad request could have touched: each organization's credits and credentials as
    the API shows them, and the database rows behind everything else."""
    return {"ours": _org_state(w.ours), "theirs": _org_state(w.theirs), "db": _rows(w)}


def assert_problem(r: Any, status: int | None = None) -> dict[str, Any]:
    assert r.status_code < 500, f"{r.status_code}: {r.text[:500]}"
    assert 400 <= r.status_code < 500, f"{r.status_code}: {r.text[:500]}"
    if status is not None:
        assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:500]}"
    ctype = r.headers.get("content-type", "").split(";")[0].strip()
    assert ctype == PROBLEM, f"content-type {ctype!r}: {r.text[:300]}"
    body: dict[str, Any] = r.json()
    for name in ("type", "title", "status", "detail"):
        assert name in body, f"problem JSON without {name!r}: {body}"
    assert body["status"] == r.status_code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["type"], str) and body["type"]
    if r.status_code == 401:
        assert r.headers.get("www-authenticate", "").lower().startswith("bearer")
    if r.status_code == 422:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, f"422 without errors: {body}"
        for e in errors:
            assert set(e) >= {"field", "message"}, e
            assert isinstance(e["field"], str) and e["field"], e
            assert isinstance(e["message"], str) and e["message"], e
    return body


# --------------------------------------------------------------------------- the cases

NO_BODY = object()
DELETE = object()


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    json: Any = NO_BODY  # a JSON value, serialized as is
    raw: bytes | None = None  # or raw bytes
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    auth: str | None = "ours"  # "ours", "theirs", "admin", None or a literal header value
    status: int = 422
    fields: tuple[str, ...] = ()


def send(w: World, case: Case) -> Any:
    headers: dict[str, str] = {}
    if case.auth == "ours":
        headers["Authorization"] = f"Bearer {w.ours.key}"
    elif case.auth == "theirs":
        headers["Authorization"] = f"Bearer {w.theirs.key}"
    elif case.auth == "admin":
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    elif case.auth is not None:
        headers["Authorization"] = w.fill(case.auth)
    content: bytes | None = case.raw
    if case.json is not NO_BODY:
        content = json.dumps(w.fill(case.json)).encode()
        headers["Content-Type"] = "application/json"
    headers.update(case.headers)
    params = w.fill(case.params) if case.params else None
    return w.client.request(
        case.method, w.fill(case.path), content=content, headers=headers, params=params
    )


def _set(base: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of `base` with the value at a dotted path (list indexes allowed) set or deleted."""
    out = copy.deepcopy(base)
    parts = dotted.split(".")
    node: Any = out
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


CASES: list[Any] = []


def case(id_: str, c: Case) -> None:
    CASES.append(pytest.param(c, id=id_))


def invalid(id_: str, method: str, path: str, body: Any, *fields: str, **kw: Any) -> None:
    case(id_, Case(method, path, json=body, fields=fields, **kw))


# The valid bodies the cases spoil one field at a time.
ORG_BODY = {"name": "New Org", "plan": "launch-250"}
SUB_BODY = {"plan": "connect", "credits": 500}
GROUP_BODY = {"name": "New group"}
CRED_BODY = {"group_id": "$group", "recipient": {"name": "Zed", "email": "zed@example.org"}}
ITEM = {"recipient": {"name": "Zed", "email": "zed@example.org"}}
BULK_BODY = {
    "group_id": "$group",
    "credentials": [
        {"recipient": {"name": f"R{i}", "email": f"r{i}@example.org"}} for i in range(5)
    ],
}
CLOCK_BODY = {"now": "2026-03-01T00:00:00Z"}

ADMIN_ORGS = "/v1/admin/organizations"
ADMIN_SUB = "/v1/admin/organizations/$org/subscription"

# (method, path, auth, a valid body or None, body required?)
BODY_ROUTES: list[tuple[str, str, str, dict[str, Any] | None, bool]] = [
    ("POST", ADMIN_ORGS, "admin", ORG_BODY, True),
    ("PUT", ADMIN_SUB, "admin", SUB_BODY, True),
    ("DELETE", ADMIN_SUB, "admin", {"when": "now"}, False),
    ("POST", "/v1/groups", "ours", GROUP_BODY, True),
    ("PATCH", "/v1/groups/$group", "ours", {"name": "Renamed"}, True),
    ("POST", "/v1/credentials", "ours", CRED_BODY, True),
    ("POST", "/v1/credentials/bulk", "ours", BULK_BODY, True),
    ("PATCH", "/v1/credentials/$cred", "ours", {"expires_on": "2028-01-01"}, True),
    ("POST", "/v1/credentials/$draft/publish", "ours", {}, False),
    ("POST", "/v1/test-clock", "ours", CLOCK_BODY, True),
    ("POST", "/v1/departments", "ours", {"name": "ours faculty 2"}, True),
    ("PATCH", "/v1/departments/$dept", "ours", {"credit_cap": 90}, True),
]
READ_ROUTES: list[tuple[str, str, str]] = [
    ("GET", f"{ADMIN_SUB}", "admin"),
    ("GET", "/v1/groups", "ours"),
    ("GET", "/v1/groups/$group", "ours"),
    ("GET", "/v1/groups/$group/certificate-preview.pdf", "ours"),
    ("GET", "/v1/designs", "ours"),
    ("GET", "/v1/credentials", "ours"),
    ("GET", "/v1/credentials/$cred", "ours"),
    ("GET", "/v1/credits", "ours"),
    ("GET", "/v1/credits/ledger", "ours"),
    ("GET", "/v1/test-clock", "ours"),
    ("GET", "/v1/departments", "ours"),
    ("GET", "/v1/departments/$dept", "ours"),
]
ALL_ROUTES = (
    [(m, p, a) for m, p, a, _, _ in BODY_ROUTES]
    + READ_ROUTES
    + [("DELETE", "/v1/credentials/$cred", "ours")]
    + [("POST", "/v1/credentials/$cred/wallet-offer", "ours")]
    + [("GET", "/v1/credentials/$cred/wallet-offers", "ours")]
    + [("DELETE", "/v1/departments/$dept", "ours")]
)


def _slug(method: str, path: str) -> str:
    return f"{method} {path.removeprefix('/v1/')}"


# --- not JSON, wrong shapes, empty bodies: every route that takes a body -----------------

NOT_JSON = {
    "truncated": b'{"name": ',
    "words": b"not json at all",
    "single-quotes": b"{'name': 'x'}",
    "binary": b"\xff\xfe\x00\x01",
    "two-documents": b'{"a": 1}{"b": 2}',
    "trailing-comma": b'{"a": 1,}',
}
# Bodies the JSON decoder itself gives up on: a plain 400 problem (no field to name).
UNPARSEABLE = {
    "invalid UTF-8": b'{"name": "caf\xe9"}',
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "a 5,000-digit number": b'{"name": ' + b"7" * 5_000 + b"}",
}
WRONG_SHAPES: dict[str, Any] = {
    "array": [],
    "array-of-body": ["x"],
    "string": "a string",
    "number": 42,
    "true": True,
}

for method, path, auth, _body, required in BODY_ROUTES:
    slug = _slug(method, path)
    for name, raw in NOT_JSON.items():
        case(
            f"{slug}: not JSON ({name})",
            Case(
                method,
                path,
                raw=raw,
                headers={"Content-Type": "application/json"},
                auth=auth,
                fields=("body",),
            ),
        )
    for name, raw in UNPARSEABLE.items():
        case(
            f"{slug}: not JSON ({name})",
            Case(
                method,
                path,
                raw=raw,
                headers={"Content-Type": "application/json"},
                auth=auth,
                status=400,
            ),
        )
    for name, value in WRONG_SHAPES.items():
        invalid(f"{slug}: JSON {name}", method, path, value, "body", auth=auth)
    if required:
        invalid(f"{slug}: JSON null", method, path, None, "body", auth=auth)
        case(
            f"{slug}: empty body",
            Case(method, path, raw=b"", auth=auth, fields=("body",)),
        )
    invalid(
        f"{slug}: unknown field",
        method,
        path,
        {**(_body or {}), "surprise": 1},
        "surprise",
        auth=auth,
    )

# --- media type, size, idempotency key: every route that takes a body -------------------

for method, path, auth, body, _required in BODY_ROUTES:
    slug = _slug(method, path)
    for ctype in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/jsonx",
    ):
        case(
            f"{slug}: Content-Type {ctype.split(';')[0]}",
            Case(
                method,
                path,
                raw=json.dumps(body).encode(),
                headers={"Content-Type": ctype},
                auth=auth,
                status=415,
            ),
        )
    case(
        f"{slug}: body over 16 MiB",
        Case(
            method,
            path,
            raw=b'{"pad": "' + b"x" * MAX_BODY + b'"}',
            headers={"Content-Type": "application/json"},
            auth=auth,
            status=413,
        ),
    )
    for name, key in (("empty", ""), ("256 chars", "k" * 256)):
        case(
            f"{slug}: Idempotency-Key {name}",
            Case(
                method,
                path,
                json=body,
                headers={"Idempotency-Key": key},
                auth=auth,
                fields=("Idempotency-Key",),
            ),
        )

for name, key in (("empty", ""), ("256 chars", "k" * 256)):
    case(
        f"DELETE credentials/$cred: Idempotency-Key {name}",
        Case(
            "DELETE",
            "/v1/credentials/$cred",
            headers={"Idempotency-Key": key},
            fields=("Idempotency-Key",),
        ),
    )

# --- authorization: every route ----------------------------------------------------------

BAD_AUTH = {
    "missing": None,
    "wrong key": "Bearer credo_sk_not-a-real-key",
    "other scheme": "Basic $key",
    "no scheme": "$key",
    "bearer without token": "Bearer ",
    "token of 300 chars": "Bearer " + "x" * 300,
}
for method, path, auth in ALL_ROUTES:
    slug = _slug(method, path)
    for name, header in BAD_AUTH.items():
        c = Case(method, path, auth=header, status=401)
        # A bad key must be refused before the body is looked at: send a valid-looking one.
        body = next((b for m, p, _, b, _ in BODY_ROUTES if (m, p) == (method, path)), None)
        if body is not None:
            c = Case(method, path, json=body, auth=header, status=401)
        case(f"{slug}: Authorization {name}", c)
    if auth == "admin":
        case(f"{slug}: an organization's key", Case(method, path, auth="ours", status=401))
    else:
        case(f"{slug}: the operator's token", Case(method, path, auth="admin", status=401))

# --- ids in paths -------------------------------------------------------------------------

BAD_IDS = {
    "garbage": "nope",
    "unknown": "$unknown_cred",
    "other organization's": "$other_cred",
    "other organization's draft": "$other_draft",
    "a group's": "$group",
    "too long": "cred_" + "0" * 500,
    "upper case": "CRED_0123456789ABCDEFGHJKMNPQRS",
    "unicode": "cred_\u00e9\u00e9\u00e9",
    "percent-NUL": "cred_%00",
    "dot-dot": "..%2F..%2Fetc",
}
for name, bad in BAD_IDS.items():
    case(f"GET credentials/{{id}}: {name} id", Case("GET", f"/v1/credentials/{bad}", status=404))
    case(
        f"PATCH credentials/{{id}}: {name} id",
        Case("PATCH", f"/v1/credentials/{bad}", json={"expires_on": "2028-01-01"}, status=404),
    )
    case(
        f"DELETE credentials/{{id}}: {name} id",
        Case("DELETE", f"/v1/credentials/{bad}", status=404),
    )
    case(
        f"POST credentials/{{id}}/publish: {name} id",
        Case("POST", f"/v1/credentials/{bad}/publish", json={}, status=404),
    )
    case(
        f"POST credentials/{{id}}/wallet-offer: {name} id",
        Case("POST", f"/v1/credentials/{bad}/wallet-offer", status=404),
    )
case(
    "POST credentials/{id}/wallet-offer: a draft",
    Case("POST", "/v1/credentials/$draft/wallet-offer", status=404),
)
for name, bad in {
    "garbage": "nope",
    "unknown": "$unknown_group",
    "other organization's": "$other_group",
    "a credential's": "$cred",
    "too long": "grp_" + "0" * 500,
}.items():
    case(f"GET groups/{{id}}: {name} id", Case("GET", f"/v1/groups/{bad}", status=404))
for name, bad in {"garbage": "nope", "unknown": "$unknown_org", "a group's": "$group"}.items():
    path = f"/v1/admin/organizations/{bad}/subscription"
    case(f"GET admin sub: {name} org", Case("GET", path, auth="admin", status=404))
    case(f"PUT admin sub: {name} org", Case("PUT", path, json=SUB_BODY, auth="admin", status=404))
    case(
        f"DELETE admin sub: {name} org",
        Case("DELETE", path, json={"when": "now"}, auth="admin", status=404),
    )

# --- departments ----------------------------------------------------------------------------

for name, bad in {
    "garbage": "nope",
    "unknown": "$unknown_dept",
    "other organization's": "$other_dept",
    "a group's": "$group",
    "too long": "dep_" + "0" * 500,
}.items():
    path = f"/v1/departments/{bad}"
    case(f"GET departments/{{id}}: {name} id", Case("GET", path, status=404))
    case(
        f"PATCH departments/{{id}}: {name} id",
        Case("PATCH", path, json={"credit_cap": 1}, status=404),
    )
    case(f"DELETE departments/{{id}}: {name} id", Case("DELETE", path, status=404))
case(
    "DELETE departments/{id}: it holds a group",
    Case("DELETE", "/v1/departments/$dept", status=409),
)
case(
    "POST departments: the name of one there is",
    Case("POST", "/v1/departments", json={"name": "OURS FACULTY"}, status=409),
)
for name, value in {
    "negative": -1,
    "a fraction": 2.5,
    "a string": "10",
    "a boolean": True,
    "too big": 10_000_001,
    "a list": [1],
}.items():
    invalid(
        f"POST departments: credit_cap {name}",
        "POST",
        "/v1/departments",
        {"name": "New", "credit_cap": value},
        "credit_cap",
    )
    invalid(
        f"PATCH departments/{{id}}: credit_cap {name}",
        "PATCH",
        "/v1/departments/$dept",
        {"credit_cap": value},
        "credit_cap",
    )
for name, value in {"empty": "", "blank": "   ", "null": None, "NUL": "a\x00b"}.items():
    invalid(f"POST departments: name {name}", "POST", "/v1/departments", {"name": value}, "name")
    invalid(
        f"PATCH departments/{{id}}: name {name}",
        "PATCH",
        "/v1/departments/$dept",
        {"name": value},
        "name",
    )
for name, value in {
    "garbage": "nope",
    "unknown": "$unknown_dept",
    "other organization's": "$other_dept",
}.items():
    invalid(
        f"POST groups: department_id {name}",
        "POST",
        "/v1/groups",
        {"name": "G", "department_id": value},
        "department_id",
    )
    invalid(
        f"PATCH groups/{{id}}: department_id {name}",
        "PATCH",
        "/v1/groups/$group",
        {"department_id": value},
        "department_id",
    )

# --- group_id in bodies ---------------------------------------------------------------------

for name, value, status in (
    ("garbage", "nope", 404),
    ("empty", "", 404),
    ("unknown", "$unknown_group", 404),
    ("other organization's", "$other_group", 404),
    ("a credential's", "$cred", 404),
    ("65 chars", "g" * 65, 422),
    ("a number", 123, 422),
    ("null", None, 422),
    ("a list", ["$group"], 422),
    ("an object", {"id": "$group"}, 422),
    ("missing", DELETE, 422),
):
    fields = ("group_id",) if status == 422 else ()
    case(
        f"POST credentials: group_id {name}",
        Case(
            "POST",
            "/v1/credentials",
            json=_set(CRED_BODY, "group_id", value),
            status=status,
            fields=fields,
        ),
    )
    case(
        f"POST credentials/bulk: group_id {name}",
        Case(
            "POST",
            "/v1/credentials/bulk",
            json=_set(BULK_BODY, "group_id", value),
            status=status,
            fields=fields,
        ),
    )

# --- e-mail addresses -------------------------------------------------------------------------

BAD_EMAILS: dict[str, Any] = {
    "empty": "",
    "blank": "   ",
    "no at-sign": "plain.example.org",
    "nothing before @": "@example.org",
    "nothing after @": "ann@",
    "two at-signs": "ann@@example.org",
    "two addresses": "ann@example.org,bob@example.org",
    "double dot": "ann@example..org",
    "leading dot": ".ann@example.org",
    "dot before @": "ann.@example.org",
    "trailing dot": "ann@example.org.",
    "space inside": "ann lee@example.org",
    "NUL at the end": "ann@example.org\x00",
    "NUL at the start": "\x00ann@example.org",
    "newline inside": "ann\n@example.org",
    "header injection": "ann@example.org\r\nBcc: eve@example.org",
    "no dot in domain": "ann@localhost",
    "special-use domain": "ann@example.invalid",
    "IP literal": "ann@[127.0.0.1]",
    "bare IP": "ann@127.0.0.1",
    "display name": "Ann <ann@example.org>",
    "angle brackets": "<ann@example.org>",
    "quoted local part": '"ann"@example.org',
    "underscore in domain": "ann@exa_mple.org",
    "hyphen after @": "ann@-example.org",
    "label of 64": "ann@" + "a" * 64 + ".org",
    "400 chars": "a" * 388 + "@example.org",
    "401 chars": "a" * 389 + "@example.org",
    "330 chars": "a" * 318 + "@example.org",
    "255 chars": "a" * 243 + "@example.org",
    "zero-width space": "ann\u200b@example.org",
    "right-to-left override": "ann\u202e@example.org",
    "full-width at-sign": "ann\uff20example.org",
    "emoji domain": "ann@\U0001f4a9.org",
    "lone surrogate": "ann\ud800@example.org",
    "punycode garbage": "ann@xn--.org",
    "a number": 42,
    "true": True,
    "null": None,
    "a list": ["ann@example.org"],
    "an object": {"email": "ann@example.org"},
}
for name, email in BAD_EMAILS.items():
    invalid(
        f"POST credentials: e-mail {name}",
        "POST",
        "/v1/credentials",
        _set(CRED_BODY, "recipient.email", email),
        "recipient.email",
    )
    invalid(
        f"POST credentials (dry run): e-mail {name}",
        "POST",
        "/v1/credentials",
        _set(_set(CRED_BODY, "recipient.email", email), "dry_run", True),
        "recipient.email",
    )
    invalid(
        f"POST credentials/bulk: e-mail {name} at index 3",
        "POST",
        "/v1/credentials/bulk",
        _set(BULK_BODY, "credentials.3.recipient.email", email),
        "credentials.3.recipient.email",
    )
    if email is None:
        continue  # in a PATCH, null means "unchanged"
    invalid(
        f"PATCH credentials: e-mail {name}",
        "PATCH",
        "/v1/credentials/$cred",
        {"recipient": {"email": email}},
        "recipient.email",
    )
    invalid(
        f"PATCH draft: e-mail {name}",
        "PATCH",
        "/v1/credentials/$draft",
        {"recipient": {"email": email}},
        "recipient.email",
    )
invalid(
    "POST credentials/bulk: two bad e-mails",
    "POST",
    "/v1/credentials/bulk",
    _set(
        _set(BULK_BODY, "credentials.1.recipient.email", "nope"),
        "credentials.4.recipient.email",
        "also@nope",
    ),
    "credentials.1.recipient.email",
    "credentials.4.recipient.email",
)
for name, email in (("malformed", "not-an-address"), ("NUL", "ann@example.org\x00")):
    case(
        f"GET credentials?recipient_email {name}",
        Case(
            "GET", "/v1/credentials", params={"recipient_email": email}, fields=("recipient_email",)
        ),
    )
case(
    "GET credentials?recipient_email 401 chars",
    Case(
        "GET",
        "/v1/credentials",
        params={"recipient_email": "a" * 389 + "@example.org"},
        fields=("recipient_email",),
    ),
)
case(
    "GET credentials?recipient_email 330 chars",
    Case(
        "GET",
        "/v1/credentials",
        params={"recipient_email": "a" * 318 + "@example.org"},
        fields=("recipient_email",),
    ),
)

# --- recipient names and objects --------------------------------------------------------------

for name, value in {
    "empty": "",
    "blank": "   ",
    "201 chars": "n" * 201,
    "NUL": "Ann\x00Lee",
    "a number": 7,
    "null": None,
    "a list": ["Ann"],
    "missing": DELETE,
}.items():
    invalid(
        f"POST credentials: recipient name {name}",
        "POST",
        "/v1/credentials",
        _set(CRED_BODY, "recipient.name", value),
        "recipient.name",
    )
    invalid(
        f"POST credentials/bulk: recipient name {name} at index 3",
        "POST",
        "/v1/credentials/bulk",
        _set(BULK_BODY, "credentials.3.recipient.name", value),
        "credentials.3.recipient.name",
    )
    if value is not DELETE and value is not None:
        invalid(
            f"PATCH credentials: recipient name {name}",
            "PATCH",
            "/v1/credentials/$cred",
            {"recipient": {"name": value}},
            "recipient.name",
        )
for name, value in {
    "a string": "ann@example.org",
    "a list": [],
    "a number": 3,
    "null": None,
    "missing": DELETE,
}.items():
    invalid(
        f"POST credentials: recipient {name}",
        "POST",
        "/v1/credentials",
        _set(CRED_BODY, "recipient", value),
        "recipient",
    )
    invalid(
        f"POST credentials/bulk: recipient {name} at index 3",
        "POST",
        "/v1/credentials/bulk",
        _set(BULK_BODY, "credentials.3.recipient", value),
        "credentials.3.recipient",
    )
    if value is not DELETE and value is not None:
        invalid(
            f"PATCH credentials: recipient {name}",
            "PATCH",
            "/v1/credentials/$cred",
            {"recipient": value},
            "recipient",
        )
invalid(
    "POST credentials: recipient email missing",
    "POST",
    "/v1/credentials",
    _set(CRED_BODY, "recipient.email", DELETE),
    "recipient.email",
)
invalid(
    "POST credentials: unknown recipient field",
    "POST",
    "/v1/credentials",
    _set(CRED_BODY, "recipient.phone", "555"),
    "recipient.phone",
)
invalid(
    "POST credentials/bulk: unknown item field",
    "POST",
    "/v1/credentials/bulk",
    _set(BULK_BODY, "credentials.2.publish", True),
    "credentials.2.publish",
)
invalid(
    "PATCH credentials: unknown recipient field",
    "PATCH",
    "/v1/credentials/$cred",
    {"recipient": {"phone": "555"}},
    "recipient.phone",
)
for name in ("status", "group_id", "seat_year", "id"):
    invalid(
        f"PATCH credentials: read-only field {name}",
        "PATCH",
        "/v1/credentials/$cred",
        {name: "published" if name == "status" else "$group2"},
        name,
    )

# --- booleans ------------------------------------------------------------------------------

WRONG_BOOLS: dict[str, Any] = {
    "string true": "true",
    "string false": "false",
    "1": 1,
    "0": 0,
    "null": None,
    "a list": [True],
}
for name, value in WRONG_BOOLS.items():
    for flag in ("publish", "dry_run"):
        invalid(
            f"POST credentials: {flag} {name}",
            "POST",
            "/v1/credentials",
            _set(CRED_BODY, flag, value),
            flag,
        )
        invalid(
            f"POST credentials/bulk: {flag} {name}",
            "POST",
            "/v1/credentials/bulk",
            _set(BULK_BODY, flag, value),
            flag,
        )
    invalid(
        f"PATCH credentials: dry_run {name}",
        "PATCH",
        "/v1/credentials/$cred",
        {"expires_on": "2028-01-01", "dry_run": value},
        "dry_run",
    )
    invalid(
        f"POST publish: dry_run {name}",
        "POST",
        "/v1/credentials/$draft/publish",
        {"dry_run": value},
        "dry_run",
    )
    invalid(
        f"POST admin orgs: sandbox {name}",
        "POST",
        ADMIN_ORGS,
        {**ORG_BODY, "sandbox": value},
        "sandbox",
        auth="admin",
    )

# --- dates ---------------------------------------------------------------------------------

BAD_DATES: dict[str, Any] = {
    "30 February": "2026-02-30",
    "29 February of a common year": "2027-02-29",
    "month 13": "2026-13-01",
    "day 0": "2026-01-00",
    "unpadded": "2026-1-1",
    "slashes": "2026/01/15",
    "day first": "15-01-2026",
    "year 10000": "10000-01-01",
    "year 0": "0000-01-01",
    "before 1900": "1899-12-31",
    "year 3000": "3000-01-01",
    "negative year": "-2026-01-15",
    "word": "today",
    "empty": "",
    "with a time": "2026-01-15T10:30:00Z",
    "a number": 20260115,
    "a float": 1768435200.0,
    "true": True,
    "a list": ["2026-01-15"],
    "an object": {"year": 2026},
}
for name, value in BAD_DATES.items():
    for which in ("issued_on", "expires_on"):
        invalid(
            f"POST credentials: {which} {name}",
            "POST",
            "/v1/credentials",
            _set(CRED_BODY, which, value),
            which,
        )
        invalid(
            f"POST credentials/bulk: {which} {name} at index 3",
            "POST",
            "/v1/credentials/bulk",
            _set(BULK_BODY, f"credentials.3.{which}", value),
            f"credentials.3.{which}",
        )
        invalid(
            f"PATCH credentials: {which} {name}",
            "PATCH",
            "/v1/credentials/$cred",
            {which: value},
            which,
        )
    invalid(
        f"POST admin orgs: anchor {name}",
        "POST",
        ADMIN_ORGS,
        {**ORG_BODY, "anchor": value},
        "anchor",
        auth="admin",
    )

ENDS_FIRST = {"issued_on": "2026-03-01", "expires_on": "2026-02-28"}
invalid(
    "POST credentials: expires_on before issued_on",
    "POST",
    "/v1/credentials",
    {**CRED_BODY, **ENDS_FIRST},
    "expires_on",
)
invalid(
    "POST credentials (draft): expires_on before issued_on",
    "POST",
    "/v1/credentials",
    {**CRED_BODY, **ENDS_FIRST, "publish": False},
    "expires_on",
)
invalid(
    "POST credentials/bulk: expires_on before issued_on at index 3",
    "POST",
    "/v1/credentials/bulk",
    _set(BULK_BODY, "credentials.3", {**ITEM, **ENDS_FIRST}),
    "credentials.3.expires_on",
)
invalid(
    "PATCH credentials: expires_on before issued_on",
    "PATCH",
    "/v1/credentials/$cred",
    ENDS_FIRST,
    "expires_on",
)
invalid(
    "PATCH credentials: expires_on before the stored issued_on",
    "PATCH",
    "/v1/credentials/$cred",
    {"expires_on": "2026-01-14"},
    "expires_on",
)
invalid(
    "PATCH credentials: issued_on after the stored expires_on",
    "PATCH",
    "/v1/credentials/$cred",
    {"issued_on": "2027-06-01"},
    "expires_on",
)
invalid(
    "PATCH credentials: everything wrong at once",
    "PATCH",
    "/v1/credentials/$cred",
    {"recipient": {"email": "nope", "name": ""}, "issued_on": "x", "dry_run": "no"},
    "recipient.email",
    "recipient.name",
    "issued_on",
    "dry_run",
)

# --- the bulk list itself ----------------------------------------------------------------------

for name, value in {
    "empty": [],
    "missing": DELETE,
    "null": None,
    "a string": "zed@example.org",
    "an object": ITEM,
}.items():
    invalid(
        f"POST credentials/bulk: credentials {name}",
        "POST",
        "/v1/credentials/bulk",
        _set(BULK_BODY, "credentials", value),
        "credentials",
    )
invalid(
    "POST credentials/bulk: an item that is a number",
    "POST",
    "/v1/credentials/bulk",
    _set(BULK_BODY, "credentials.3", 3),
    "credentials.3",
)
invalid(
    "POST credentials/bulk: 10,001 items",
    "POST",
    "/v1/credentials/bulk",
    {
        "group_id": "$group",
        "credentials": [
            {"recipient": {"name": "R", "email": f"r{i}@example.org"}} for i in range(10_001)
        ],
    },
    "credentials",
)
invalid(
    "POST credentials/bulk (dry run): 10,001 items",
    "POST",
    "/v1/credentials/bulk",
    {"group_id": "$group", "dry_run": True, "credentials": [ITEM] * 10_001},
    "credentials",
)

# --- groups -------------------------------------------------------------------------------------

for name, value in {
    "missing": DELETE,
    "empty": "",
    "blank": "  ",
    "201 chars": "g" * 201,
    "NUL": "A\x00B",
    "lone surrogate": "Course \ud800",
    "a number": 5,
    "null": None,
}.items():
    invalid(
        f"POST groups: name {name}",
        "POST",
        "/v1/groups",
        _set(GROUP_BODY, "name", value),
        "name",
    )
for name, value in {
    "a number": 5,
    "5001 chars": "d" * 5001,
    "NUL": "about\x00",
    "a list": ["x"],
}.items():
    invalid(
        f"POST groups: description {name}",
        "POST",
        "/v1/groups",
        {**GROUP_BODY, "description": value},
        "description",
    )
for name, value in {
    "a string": "12",
    "true": True,
    "zero": 0,
    "negative": -1,
    "1201": 1201,
    "huge": 10**30,
    "a float": 1.5,
    "a whole float": 12.0,
}.items():
    invalid(
        f"POST groups: expires_after_months {name}",
        "POST",
        "/v1/groups",
        {**GROUP_BODY, "expires_after_months": value},
        "expires_after_months",
    )

# A design is checked field by field; none of these may answer 500 (POST and PATCH alike).
for name, design, bad in (
    ("not an object", "classic", "design"),
    ("a list", [{"certificate": "classic"}], "design"),
    ("unknown look", {"certificate": "gothic"}, "design.certificate"),
    ("look a number", {"certificate": 1}, "design.certificate"),
    ("look an object", {"certificate": {}}, "design.certificate"),
    ("colour a word", {"primary_color": "navy"}, "design.primary_color"),
    ("colour a list", {"accent_color": ["#000000"]}, "design.accent_color"),
    ("logo a URL", {"logo": "https://example.org/logo.png"}, "design.logo"),
    ("logo a file", {"logo": "file:///etc/passwd"}, "design.logo"),
    ("logo bad base64", {"logo": "data:image/png;base64,===="}, "design.logo"),
    ("signature a number", {"signature_image": 7}, "design.signature_image"),
    ("signatory empty", {"signatory_name": " "}, "design.signatory_name"),
    ("signatory NUL", {"signatory_title": "Dean\x00"}, "design.signatory_title"),
    ("paper a3", {"paper": "a3"}, "design.paper"),
    ("unknown field", {"font": "Comic Sans"}, "design.font"),
):
    invalid(
        f"POST groups: design {name}", "POST", "/v1/groups", {**GROUP_BODY, "design": design}, bad
    )
    invalid(f"PATCH groups: design {name}", "PATCH", "/v1/groups/$group", {"design": design}, bad)
for name, body, bad in (
    ("name null", {"name": None}, "name"),
    ("name empty", {"name": ""}, "name"),
    ("months zero", {"expires_after_months": 0}, "expires_after_months"),
    ("criteria a number", {"criteria": 5}, "criteria"),
):
    invalid(f"PATCH groups: {name}", "PATCH", "/v1/groups/$group", body, bad)
for name, bad in {
    "garbage": "nope",
    "unknown": "$unknown_group",
    "other organization's": "$other_group",
    "a credential's": "$cred",
}.items():
    case(
        f"PATCH groups/{{id}}: {name} id",
        Case("PATCH", f"/v1/groups/{bad}", json={"name": "X"}, status=404),
    )
    case(
        f"GET groups/{{id}}/certificate-preview.pdf: {name} id",
        Case("GET", f"/v1/groups/{bad}/certificate-preview.pdf", status=404),
    )
# Another organization's published credential is public: its PDF is no error.
for name, bad in BAD_IDS.items():
    if bad == "$other_cred":
        continue
    case(f"GET c/{{id}}.pdf: {name} id", Case("GET", f"/c/{bad}.pdf", auth=None, status=404))
for name, params, bad in (
    ("paper a5", {"paper": "a5"}, "paper"),
    ("orientation upright", {"orientation": "upright"}, "orientation"),
):
    case(
        f"GET groups/{{id}}/certificate-preview.pdf: {name}",
        Case("GET", "/v1/groups/$group/certificate-preview.pdf", params=params, fields=(bad,)),
    )

# --- operator bodies ------------------------------------------------------------------------------

for name, patch, bad in (
    ("name missing", {"name": DELETE}, "name"),
    ("name empty", {"name": ""}, "name"),
    ("name 201 chars", {"name": "o" * 201}, "name"),
    ("name a number", {"name": 5}, "name"),
    ("name NUL", {"name": "Org\x00"}, "name"),
    ("plan missing", {"plan": DELETE}, "plan"),
    ("plan unknown", {"plan": "free"}, "plan"),
    ("plan wrong case", {"plan": "Launch-250"}, "plan"),
    ("plan a number", {"plan": 250}, "plan"),
    ("connect without credits", {"plan": "connect"}, "credits"),
    ("growth without credits", {"plan": "growth"}, "credits"),
    ("enterprise without credits", {"plan": "enterprise"}, "credits"),
    ("credits null on connect", {"plan": "connect", "credits": None}, "credits"),
    ("credits a string", {"plan": "connect", "credits": "500"}, "credits"),
    ("credits true", {"plan": "connect", "credits": True}, "credits"),
    ("credits zero", {"plan": "connect", "credits": 0}, "credits"),
    ("credits negative", {"plan": "growth", "credits": -5}, "credits"),
    ("credits a float", {"plan": "growth", "credits": 2.5}, "credits"),
    ("credits huge", {"plan": "enterprise", "credits": 10**40}, "credits"),
    ("credits on launch-250", {"credits": 300}, "credits"),
):
    body = dict(ORG_BODY)
    for k, v in patch.items():
        body = _set(body, k, v)
    invalid(f"POST admin orgs: {name}", "POST", ADMIN_ORGS, body, bad, auth="admin")
for name, body, bad in (
    ("plan missing", {"credits": 500}, "plan"),
    ("plan unknown", {"plan": "gold", "credits": 5}, "plan"),
    ("connect without credits", {"plan": "connect"}, "credits"),
    ("credits a string", {"plan": "connect", "credits": "500"}, "credits"),
    ("credits zero", {"plan": "growth", "credits": 0}, "credits"),
    ("credits huge", {"plan": "growth", "credits": 10**40}, "credits"),
    ("credits on launch-250", {"plan": "launch-250", "credits": 1}, "credits"),
):
    invalid(f"PUT admin sub: {name}", "PUT", ADMIN_SUB, body, bad, auth="admin")
for name, when in (
    ("unknown", "later"),
    ("wrong case", "NOW"),
    ("a number", 1),
    ("null", None),
    ("a list", ["now"]),
):
    invalid(
        f"DELETE admin sub: when {name}", "DELETE", ADMIN_SUB, {"when": when}, "when", auth="admin"
    )

# --- the test clock ------------------------------------------------------------------------------

for name, value in {
    "missing": DELETE,
    "naive": "2026-03-01T00:00:00",
    "a date": "2026-03-01",
    "a number": 1772323200,
    "30 February": "2026-02-30T00:00:00Z",
    "hour 25": "2026-03-01T25:00:00Z",
    "year 10000": "10000-01-01T00:00:00Z",
    "before 1900": "1899-12-31T00:00:00Z",
    "year 3000": "3000-01-01T00:00:00Z",
    "word": "tomorrow",
    "empty": "",
    "null": None,
    "true": True,
    "a list": ["2026-03-01T00:00:00Z"],
}.items():
    invalid(
        f"POST test-clock: now {name}",
        "POST",
        "/v1/test-clock",
        _set(CLOCK_BODY, "now", value),
        "now",
    )
for name, when in (
    ("a year back", "2025-01-15T00:00:00Z"),
    ("a second back", "2026-01-14T23:59:59Z"),
    ("back through an offset", "2026-01-15T00:30:00+01:00"),
):
    case(
        f"POST test-clock: {name}",
        Case("POST", "/v1/test-clock", json={"now": when}, status=409),
    )

# --- query parameters ----------------------------------------------------------------------------

for name, value in {
    "0": "0",
    "1001": "1001",
    "-1": "-1",
    "abc": "abc",
    "1.5": "1.5",
    "empty": "",
    "huge": "9" * 40,
}.items():
    for path in ("/v1/credentials", "/v1/groups", "/v1/credits/ledger"):
        case(
            f"GET {path.removeprefix('/v1/')}?limit {name}",
            Case("GET", path, params={"limit": value}, fields=("limit",)),
        )
for name, value in {
    "garbage": "garbage",
    "a number": "12345",
    "huge number": "9" * 40,
    "an id with bad characters": "cred_!!!!!!!!!!!!!!!!!!!!!!!!!!",
    "an id too long": "cred_" + "0" * 100,
    "NUL": "cred_\x00",
}.items():
    for path in ("/v1/credentials", "/v1/groups"):
        case(
            f"GET {path.removeprefix('/v1/')}?cursor {name}",
            Case("GET", path, params={"cursor": value}, fields=("cursor",)),
        )
for name, value in {
    "garbage": "abc",
    "negative": "-1",
    "19 digits": "9" * 19,
    "huge": "9" * 40,
    "exponent": "1e5",
    "an id": "$cred",
}.items():
    case(
        f"GET credits/ledger?cursor {name}",
        Case("GET", "/v1/credits/ledger", params={"cursor": value}, fields=("cursor",)),
    )
for name, value in {
    "-1": "-1",
    "1001": "1001",
    "huge": "9" * 40,
    "abc": "abc",
    "1.5": "1.5",
    "empty": "",
}.items():
    case(
        f"GET credits/ledger?billing_year {name}",
        Case("GET", "/v1/credits/ledger", params={"billing_year": value}, fields=("billing_year",)),
    )
for name, value in {"deleted": "deleted", "upper case": "PUBLISHED", "empty": ""}.items():
    case(
        f"GET credentials?status {name}",
        Case("GET", "/v1/credentials", params={"status": value}, fields=("status",)),
    )
for name, value in {"garbage": "nope", "65 chars": "g" * 65}.items():
    case(
        f"GET credentials?group_id {name}",
        Case("GET", "/v1/credentials", params={"group_id": value}, fields=("group_id",)),
    )


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("bad", CASES)
def test_bad_request_is_a_problem_and_changes_nothing(world: World, bad: Case) -> None:
    serial = running_serial()
    if world.last is not None and world.last[0] == serial - 1:
        before = world.last[1]  # the previous case's closing snapshot, taken just now
    else:
        before = snapshot(world)
    r = send(world, bad)
    body = assert_problem(r, bad.status)
    if bad.fields:
        named = {e["field"] for e in body["errors"]}
        missing = set(bad.fields) - named
        assert not missing, f"errors should name {sorted(missing)}; they name {sorted(named)}"
    after = snapshot(world)
    assert after == before
    world.last = (serial, after)
    world.clean = True


NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def test_the_snapshot_sees_every_table_a_request_could_touch(fresh_world: World) -> None:
    """The detector detects: a change to the outbox, a status bit, a stored artifact or a
    member's account each changes the snapshot (an update as much as a new row)."""
    w = fresh_world
    cred = w.ids["cred"]
    changes = [
        t.outbox.update().where(t.outbox.c.organization_id == w.ours.id).values(attempts=7),
        t.status_bits.insert().values(
            organization_id=w.ours.id, purpose="revocation", status_index=99, set_at=NOW
        ),
        t.credential_artifacts.insert().values(
            credential_id=cred,
            kind="test",
            version=1,
            organization_id=w.ours.id,
            media_type="application/pdf",
            content=b"%PDF-",
            created_at=NOW,
        ),
        t.credential_artifacts.update()
        .where(t.credential_artifacts.c.kind == "test")
        .values(content=b"%PDF-changed"),
        t.users.insert().values(
            id="usr_test_snapshot",
            email="x@example.org",
            email_key="x@example.org",
            name="X",
            password_hash="h",
            created_at=NOW,
        ),
        t.memberships.insert().values(
            organization_id=w.theirs.id,
            user_id="usr_test_snapshot",
            role="viewer",
            created_at=NOW,
        ),
        t.users.update().where(t.users.c.id == "usr_test_snapshot").values(name="Y"),
    ]
    for change in changes:
        before = snapshot(w)
        with w.credo.engine.begin() as conn:
            assert conn.execute(change).rowcount != 0, change  # an update found its row
        assert snapshot(w) != before, f"unseen: {change}"


def test_oversized_chunked_body_is_refused(world: World) -> None:
    """No Content-Length: the size is counted while reading."""
    before = snapshot(world)

    def chunks() -> Iterator[bytes]:
        yield b'{"group_id": "' + world.ids["group"].encode() + b'", "pad": "'
        for _ in range(17):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    r = world.client.post(
        "/v1/credentials/bulk",
        content=chunks(),
        headers={**world.ours.auth, "Content-Type": "application/json"},
    )
    assert_problem(r, 413)
    assert snapshot(world) == before
    world.clean = True


def test_a_body_just_under_the_limit_is_read(world: World) -> None:
    """The 16 MiB cap is a cap, not a ban on large bodies: just under it, the body is parsed
    (and here refused for its content, not its size)."""
    before = snapshot(world)
    pad = MAX_BODY - 200
    raw = b'{"name": "G", "description": "' + b"d" * pad + b'"}'
    assert len(raw) < MAX_BODY
    r = world.ours.post("/v1/groups", content=raw, headers={"Content-Type": "application/json"})
    body = assert_problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["description"]
    assert snapshot(world) == before
    world.clean = True


def test_a_bad_item_spoils_the_whole_bulk(world: World) -> None:
    """R11: all or nothing. 50 good items and one bad one: nothing is created or charged."""
    before = snapshot(world)
    items = [{"recipient": {"name": "R", "email": f"bulk{i}@example.org"}} for i in range(50)]
    items[37] = {"recipient": {"name": "R", "email": "bulk37@@example.org"}}
    r = world.ours.post(
        "/v1/credentials/bulk", {"group_id": world.ids["group"], "credentials": items}
    )
    body = assert_problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["credentials.37.recipient.email"]
    assert snapshot(world) == before
    world.clean = True


def test_the_largest_bulk_is_accepted_as_a_dry_run(world: World) -> None:
    """The other side of the 10,001 case: 10,000 items are within the limit."""
    before = snapshot(world)
    items = [{"recipient": {"name": "R", "email": f"max{i}@example.org"}} for i in range(10_000)]
    r = world.ours.post(
        "/v1/credentials/bulk",
        {"group_id": world.ids["group"], "credentials": items, "dry_run": True},
    )
    assert r.status_code == 200, r.text[:500]
    assert r.json()["credits_required"] == 10_000
    assert r.json()["count"] == 10_000
    assert snapshot(world) == before
    world.clean = True


# --------------------------------------------------------------------------- random JSON

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "2026-02-30", "ann@example.org", "ANN@EXAMPLE.ORG ", "\x00", "nope"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = [
    "group_id",
    "recipient",
    "name",
    "email",
    "issued_on",
    "expires_on",
    "publish",
    "dry_run",
    "credentials",
]
# Objects whose keys are the real field names: these get past the first checks.
shaped = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=5)
    ),
    max_leaves=12,
)
RANDOM_TARGETS = {
    "create": ("POST", "/v1/credentials"),
    "bulk": ("POST", "/v1/credentials/bulk"),
    # A published credential: a body that happens to be valid is a no-op edit or a 409.
    "patch": ("PATCH", "/v1/credentials/$cred"),
    "publish": ("POST", "/v1/credentials/$cred/publish"),
}


@pytest.mark.parametrize("target", sorted(RANDOM_TARGETS))
def test_random_json_never_breaks_the_credential_routes(fresh_world: World, target: str) -> None:
    world = fresh_world
    method, path = RANDOM_TARGETS[target]
    state = {"now": snapshot(world)}

    @settings(
        max_examples=examples(100),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(value=json_values | shaped)
    def check(value: Any) -> None:
        r = send(world, Case(method, path, json=value))
        assert r.status_code < 500, f"{r.status_code} for {value!r}: {r.text[:300]}"
        if r.status_code >= 400:
            assert_problem(r)
        after = snapshot(world)
        if r.status_code >= 400:
            assert after == state["now"], f"refused {value!r}, yet something changed"
        else:
            # A body that happens to be valid (a PATCH naming only the recipient's name,
            # say) may change what it names; it is the new baseline.
            state["now"] = after

    check()
