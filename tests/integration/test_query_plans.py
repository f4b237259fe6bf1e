"""No hot query reads another organization's rows: every statement the publish, bulk, list,
search, credits and ledger paths run is explained by PostgreSQL with sequential scans
disabled, and none may still scan a table that grows with the data.

With `enable_seqscan = off` the planner takes an index whenever one can answer the query's
conditions; a sequential scan left in the plan means no index can, which on a database of a
million credentials is a read of all of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from credo.bootstrap import App
from credo.services.billing.audit import audit_organization
from tests.conftest import create_org
from tests.dashboard.helpers import sign_in

pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

# The tables whose size grows with credentials, recipients or time.
GROWING = {
    "credentials",
    "seats",
    "ledger_entries",
    "outbox",
    "credit_usage",
    "status_bits",
    "credential_artifacts",
    "idempotency_keys",
    "jobs",
    "import_jobs",
}


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        if not many:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def scans(plan: dict[str, Any]) -> Iterator[str]:
    if plan.get("Node Type") == "Seq Scan":
        yield plan["Relation Name"]
    for child in plan.get("Plans", []):
        yield from scans(child)


def sequential_reads(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    found = []
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        for sql, params in statements:
            head = sql.lstrip().split(None, 1)[0].upper()
            if head not in {"SELECT", "UPDATE", "DELETE", "WITH"}:
                continue
            [[plan]] = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).one()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            for table in scans(plan[0]["Plan"] if isinstance(plan, list) else plan["Plan"]):
                if table in GROWING:
                    found.append(f"{table}: {' '.join(sql.split())[:300]}")
        conn.rollback()
    return found


def test_hot_queries_read_through_an_index(client: TestClient, engine: Engine) -> None:
    org = create_org(client, plan="enterprise", credits=10_000)
    g = org.group("Welding")
    assert org.issue(g, "warm@example.org").status_code == 201  # keys, counters, lists exist
    with captured(engine) as statements:
        r = org.issue(g, "ann@example.org")
        assert r.status_code == 201, r.text
        cred_id = r.json()["credential"]["id"]
        bulk = [{"recipient": {"name": f"R{i}", "email": f"r{i}@example.org"}} for i in range(3)]
        r = org.post("/v1/credentials/bulk", {"group_id": g, "credentials": bulk})
        assert r.status_code == 201, r.text
        big = [{"recipient": {"name": f"B{i}", "email": f"b{i}@example.org"}} for i in range(250)]
        r = org.post("/v1/credentials/bulk", {"group_id": g, "credentials": big})
        assert r.status_code == 201, r.text
        for path in (
            "/v1/credentials",
            "/v1/credentials?recipient_email=ann@example.org",
            f"/v1/credentials?group_id={g}",
            f"/v1/credentials/{cred_id}",
            "/v1/credits",
            "/v1/credits/ledger",
        ):
            assert org.get(path).status_code == 200, path
        r = org.post(f"/v1/credentials/{cred_id}/revoke", {"reason": "test"})
        assert r.status_code == 200, r.text
    assert len(statements) > 20
    # The single publish went through the group commit: its reads of many organizations
    # at once are among those explained.
    assert any("unnest" in sql and "seats" in sql for sql, _ in statements)
    assert any("unnest" in sql and "signing_keys" in sql for sql, _ in statements)
    assert sequential_reads(engine, statements) == []


def test_a_query_no_index_answers_is_caught(engine: Engine) -> None:
    # The check itself: a search by a column no index covers is a sequential read.
    found = sequential_reads(
        engine, [("SELECT id FROM credentials WHERE recipient_name = %(n)s", {"n": "Ann"})]
    )
    assert found and found[0].startswith("credentials: ")


def test_dashboard_exports_and_audit_read_through_an_index(
    client: TestClient, engine: Engine, credo: App
) -> None:
    org = create_org(client, plan="enterprise", credits=10_000)
    g = org.group("Welding")
    items = [{"recipient": {"name": f"Ann {i}", "email": f"a{i}@example.org"}} for i in range(5)]
    assert (
        org.post("/v1/credentials/bulk", {"group_id": g, "credentials": items}).status_code == 201
    )
    owner = sign_in(credo, f"owner-{org.id[-12:]}@example.org", org.id)
    with captured(engine) as statements:
        for path in (
            "/app/credentials",
            "/app/credentials?q=Ann",
            "/app/credentials?q=a1%40example.org",
            f"/app/credentials?group={g}&state=published",
            "/app/credits",
            "/app/credits?reason=publish&recipient=a1",
            "/app",
            "/app/groups",
            "/app/credits/ledger.csv",
        ):
            assert owner.get(path).status_code == 200, path
        report = credo.runner.read(lambda uow: audit_organization(uow, credo.clock, org.id))
        assert report.ok, report.problems
    assert sequential_reads(engine, statements) == []
