"""`credo audit` finds mismatches between ledger, counters, seats and credentials; the CLI
speaks in one line and exit codes."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from credo.adapters.db import tables as t
from credo.bootstrap import App
from credo.entrypoints.cli.main import app as cli
from credo.services.billing.audit import audit_organization
from tests.conftest import MASTER_KEY, Org, create_org


def audit(credo: App, org_id: str) -> Any:
    return credo.runner.read(lambda uow: audit_organization(uow, credo.clock, org_id))


def _some_history(org: Org) -> tuple[str, str]:
    g = org.group("A")
    org.move_clock("2026-02-01T00:00:00Z")
    first = org.issue(g, "ann@x.org").json()["credential"]["id"]
    org.issue(g, "bob@x.org")
    org.issue(g, "Ann@X.org")
    org.delete(f"/v1/credentials/{first}")
    org.move_clock("2027-02-01T00:00:00Z")
    org.issue(g, "ann@x.org")
    return g, first


def test_a_clean_history_audits_clean(org: Org, credo: App) -> None:
    _some_history(org)
    report = audit(credo, org.id)
    assert report.ok, report.problems
    assert report.years == {0: 2, 1: 1}
    assert report.seats_open == 3


def _kept_counts(credo: App, org_id: str) -> dict[str, int]:
    return {
        s.group.id: s.credentials
        for s in credo.runner.read(lambda uow: uow.credential_search.groups(org_id, archived=False))
    }


def test_each_group_keeps_its_count_of_live_credentials(org: Org, credo: App) -> None:
    """Single publishes, drafts, bulks and deletions each change the kept count in their
    own transaction; the groups page reads it, and the audit agrees with it."""
    g, _first = _some_history(org)  # 4 issued, 1 deleted
    other = org.group("B")
    assert _kept_counts(credo, org.id) == {g: 3, other: 0}
    org.post("/v1/credentials", {"group_id": other, "publish": False,
                                 "recipient": {"name": "D", "email": "d@x.org"}})  # fmt: skip
    bulk = [{"recipient": {"name": f"R{i}", "email": f"r{i}@x.org"}} for i in range(60)]
    r = org.post("/v1/credentials/bulk", {"group_id": other, "credentials": bulk})
    assert r.status_code == 201, r.text
    ids = [c["id"] for c in r.json()["credentials"]]
    for cred_id in ids[:5]:
        assert org.delete(f"/v1/credentials/{cred_id}").status_code == 204
    assert org.delete(f"/v1/credentials/{ids[0]}").status_code == 404  # gone already
    assert _kept_counts(credo, org.id) == {g: 3, other: 1 + 60 - 5}
    report = audit(credo, org.id)
    assert report.ok, report.problems


@pytest.mark.parametrize(
    "tamper, expected",
    [
        (
            lambda c, o: c.execute(
                update(t.credit_usage).where(t.credit_usage.c.organization_id == o).values(used=7)
            ),
            "the counter says 7",
        ),
        (
            lambda c, o: c.execute(
                update(t.seats)
                .where(t.seats.c.organization_id == o)
                .values(released_at=datetime(2026, 3, 1, tzinfo=UTC))
            ),
            "hold no seat",
        ),
        (
            lambda c, o: c.execute(
                update(t.credentials)
                .where(t.credentials.c.organization_id == o)
                .values(seat_year=None)
            ),
            "no seat year",
        ),
        (
            lambda c, o: c.execute(
                t.ledger_entries.delete().where(t.ledger_entries.c.organization_id == o)
            ),
            "has 0 charges",
        ),
        (
            lambda c, o: c.execute(
                update(t.ledger_entries)
                .where(t.ledger_entries.c.organization_id == o)
                .values(delta=1)
            ),
            "delta 1 is not a charge",
        ),
        (
            lambda c, o: c.execute(
                update(t.charge_days).where(t.charge_days.c.organization_id == o).values(charges=9)
            ),
            "the day's counter says 9 charges",
        ),
        (
            lambda c, o: c.execute(
                update(t.credit_usage)
                .where(t.credit_usage.c.organization_id == o)
                .values(released=t.credit_usage.c.released + 1)
            ),
            "seats released",
        ),
        (
            lambda c, o: c.execute(
                update(t.ledger_entries)
                .where(t.ledger_entries.c.organization_id == o)
                .values(recipient_key="eve@x.org")
            ),
            "disagree",
        ),
        (
            lambda c, o: c.execute(
                update(t.credentials)
                .where(t.credentials.c.organization_id == o)
                .values(deleted_at=datetime(2027, 3, 1, tzinfo=UTC))
            ),
            "with no live credential",
        ),
        (
            lambda c, o: c.execute(
                update(t.group_counts)
                .where(t.group_counts.c.organization_id == o)
                .values(credentials=t.group_counts.c.credentials + 1)
            ),
            "its count says 4 credentials, it has 3",
        ),
        (
            lambda c, o: c.execute(
                t.group_counts.delete().where(t.group_counts.c.organization_id == o)
            ),
            "its count says 0 credentials, it has 3",
        ),
    ],
)
def test_audit_reports_tampering(org: Org, credo: App, tamper: Any, expected: str) -> None:
    _some_history(org)
    with credo.engine.begin() as conn:
        tamper(conn, org.id)
    report = audit(credo, org.id)
    assert not report.ok
    assert any(expected in p for p in report.problems), report.problems


def test_more_problems_than_are_listed_are_said(
    org: Org, credo: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    _some_history(org)
    with credo.engine.begin() as conn:
        conn.execute(
            update(t.ledger_entries)
            .where(t.ledger_entries.c.organization_id == org.id)
            .values(delta=1)
        )
    monkeypatch.setattr("credo.services.billing.audit.MAX_LISTED", 1)
    report = audit(credo, org.id)
    assert report.more_problems
    assert sum("is not a charge" in p for p in report.problems) == 1


def test_the_audit_holds_its_findings_not_the_organizations_rows(
    client: TestClient, credo: App
) -> None:
    # Memory the audit takes at its peak, for an organization of 40 and of 1,640 credentials:
    # reading the ledger, the seats or the credentials into memory would grow it by a
    # kilobyte or so per row.
    org = create_org(client, plan="enterprise", credits=5_000)
    g = org.group("Many")

    def peak() -> int:
        tracemalloc.start()
        try:
            report = audit(credo, org.id)
            assert report.ok, report.problems
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def publish(n: int, tag: str) -> None:
        items = [{"recipient": {"name": f"R {i}", "email": f"{tag}{i}@x.org"}} for i in range(n)]
        r = org.post("/v1/credentials/bulk", {"group_id": g, "credentials": items})
        assert r.status_code == 201, r.text

    publish(40, "a")
    audit(credo, org.id)  # statements compiled, caches filled
    small = peak()
    for k in range(4):
        publish(400, f"b{k}-")
    big = peak()
    assert big < small + 100_000, (small, big)


def run_cli(database_url: str, *args: str) -> Any:
    # The test environment with the tests' master key: in development the command would
    # write a key of its own into ./credo-data.
    env = {
        "CREDO_DATABASE_URL": database_url,
        "CREDO_ENVIRONMENT": "test",
        "CREDO_MASTER_KEY": MASTER_KEY,
    }
    return CliRunner().invoke(cli, list(args), env=env)


def test_cli_org_issue_credits_audit(database_url: str, credo: App) -> None:
    r = run_cli(database_url, "org", "create", "CLI Academy", "--plan", "connect", "--credits", "3")
    assert r.exit_code == 0, r.output
    org_id = next(
        line.split()[1] for line in r.output.splitlines() if line.startswith("organization:")
    )
    assert "credo_sk_" in r.output

    group_id = credo.runner.write(
        lambda uow: __import__("credo.services.credentials.groups", fromlist=["x"]).create_group(
            uow, credo.clock, org_id, name="G", description=None, expires_after_months=None
        )
    ).id
    args = ["issue", "--org", org_id, "--group", group_id, "--name", "Ann"]
    r = run_cli(database_url, *args, "--email", "ann@x.org", "--dry-run")
    assert r.exit_code == 0 and "would charge 1 credit(s); 3 remain" in r.output, r.output
    r = run_cli(database_url, *args, "--email", "ann@x.org")
    assert r.exit_code == 0 and "charged 1" in r.output, r.output
    cred_id = r.output.split()[1]
    assert f"page: {credo.ctx.base_url}/c/{cred_id}" in r.output  # where the recipient looks
    r = run_cli(database_url, "credits", "--org", org_id)
    assert r.exit_code == 0 and "│ 3 " in r.output and "│ 1 " in r.output, r.output

    # One clear line and a distinct exit code, never a traceback.
    r = run_cli(database_url, *args, "--email", "not-an-email")
    assert r.exit_code == 2 and "recipient.email" in one_error_line(r)
    r = run_cli(
        database_url, *args[:-2], "--name", "X", "--group", f"grp_{'0' * 32}", "--email", "x@x.org"
    )
    assert r.exit_code == 4 and "no group" in one_error_line(r)
    for email in ("b@x.org", "c@x.org"):
        assert run_cli(database_url, *args, "--email", email).exit_code == 0
    r = run_cli(database_url, *args, "--email", "d@x.org")
    assert r.exit_code == 6 and "R11" in one_error_line(r)

    r = run_cli(database_url, "audit", "--org", org_id)
    assert r.exit_code == 0 and "ok" in r.output, r.output
    with credo.engine.begin() as conn:
        conn.execute(
            update(t.credit_usage).where(t.credit_usage.c.organization_id == org_id).values(used=1)
        )
    r = run_cli(database_url, "audit", "--org", org_id)
    assert r.exit_code == 1 and "problem" in r.output, r.output


def one_error_line(r: Any) -> str:
    """The one line a refused command says, on stderr alone."""
    assert r.exit_code != 0 and r.stdout == "", r.output
    (line,) = r.stderr.splitlines()
    assert line.startswith("error: ") and "Traceback" not in line
    return str(line)


def test_cli_refuses_an_unknown_plan_in_one_line(database_url: str) -> None:
    r = run_cli(database_url, "org", "create", "X", "--plan", "gold")
    assert r.exit_code == 2
    assert "unknown plan" in one_error_line(r)


def test_cli_refusals_in_process_are_one_line_on_stderr(database_url: str) -> None:
    """As run by the `credo` script, and by tests calling the app in process."""
    r = run_cli(database_url, "credits", "--org", "org_unknown")
    assert r.exit_code == 4 and one_error_line(r) == "error: no such organization"
    r = run_cli(database_url, "issue", "--org", "org_unknown")
    assert r.exit_code == 2
    assert one_error_line(r) == "error: missing option '--group' (see 'credo issue --help')"


def test_db_recount_sets_counts_that_older_processes_left_wrong(
    database_url: str, org: Org, credo: App
) -> None:
    """Processes older than the counts write credentials without counting them: after an
    upgrade, `credo db recount` sets every count from the credentials."""
    g, _ = _some_history(org)
    with credo.engine.begin() as conn:
        conn.execute(t.group_counts.delete().where(t.group_counts.c.organization_id == org.id))
    assert not audit(credo, org.id).ok
    r = run_cli(database_url, "db", "recount", "--org", org.id)
    assert r.exit_code == 0 and "1 group count(s) corrected" in r.output, r.output
    assert _kept_counts(credo, org.id) == {g: 3}
    assert audit(credo, org.id).ok
    r = run_cli(database_url, "db", "recount", "--org", org.id)
    assert r.exit_code == 0 and "0 group count(s) corrected" in r.output, r.output


def test_cli_keys_list_create_and_revoke(database_url: str, client: TestClient) -> None:
    """An operator stops a leaked key from the command line: it is refused at once."""
    org = create_org(client, name="Key Holders")
    r = run_cli(database_url, "key", "create", "LMS plugin", "--org", org.id)
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    assert token.startswith("credo_sk_")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/credits", headers=headers).status_code == 200
    r = run_cli(database_url, "key", "list", "--org", org.id)
    assert r.exit_code == 0 and "LMS plugin" in r.output and token not in r.output, r.output
    [line] = [x for x in r.output.splitlines() if "LMS plugin" in x]
    key_id = line.split()[0]
    assert key_id.startswith("key_") and "last used" in line and "revoked" not in line
    r = run_cli(database_url, "key", "revoke", key_id, "--org", org.id)
    assert r.exit_code == 0 and f"revoked {key_id}" in r.output, r.output
    assert client.get("/v1/credits", headers=headers).status_code == 401
    assert client.get("/v1/credits", headers=org.auth).status_code == 200  # the others stay
    # The audit log puts both down to the command line, and keeps no key.
    log = client.get("/v1/audit-log", headers=org.auth, params={"target_id": key_id}).json()
    assert [(e["action"], e["actor"]["type"]) for e in log["entries"]] == [
        ("api_key.revoked", "command_line"),
        ("api_key.created", "command_line"),
    ]
    assert log["entries"][0]["after"] == {
        "name": "LMS plugin",
        "prefix": token[:13],
        "revoked": True,
    }
    assert token not in str(log)
    r = run_cli(database_url, "key", "revoke", key_id, "--org", org.id)
    assert r.exit_code == 4 and "revoked already" in one_error_line(r)
    r = run_cli(database_url, "key", "create", " ", "--org", org.id)
    assert r.exit_code == 2 and "name" in one_error_line(r)
    r = run_cli(database_url, "key", "list", "--org", "org_unknown")
    assert r.exit_code == 4 and "no such organization" in one_error_line(r)


def test_cli_departments_add_list_cap_and_credits(database_url: str, client: TestClient) -> None:
    """An operator sets up departments and caps from the command line (R16..R18); the cap
    binds the API at once, and `credo credits` shows each department's seats."""
    org = create_org(client, name="Faculties")
    r = run_cli(database_url, "department", "add", "Faculty of Law", "--org", org.id, "--cap", "1")
    assert r.exit_code == 0 and "a cap of 1" in r.output, r.output
    dept = r.output.split()[1]
    assert dept.startswith("dep_")
    r = run_cli(database_url, "department", "add", "faculty of law", "--org", org.id)
    assert r.exit_code == 5 and "exists already" in one_error_line(r)
    g = client.post(
        "/v1/groups", json={"name": "Torts", "department_id": dept}, headers=org.auth
    ).json()["group"]["id"]

    def publish(email: str) -> Any:
        body = {"group_id": g, "recipient": {"name": "R", "email": email}}
        return client.post("/v1/credentials", json=body, headers=org.auth)

    assert publish("one@x.org").status_code == 201
    assert publish("two@x.org").json()["code"] == "department_cap_reached"
    r = run_cli(database_url, "department", "list", "--org", org.id)
    assert r.exit_code == 0, r.output
    assert f"{dept}  Faculty of Law  cap 1, 1 taken this billing year, 0 left" in r.output
    r = run_cli(database_url, "department", "cap", dept, "--org", org.id, "--cap", "3")
    assert r.exit_code == 0 and "now has a cap of 3" in r.output, r.output
    assert publish("two@x.org").status_code == 201
    changes = client.get(f"/v1/departments/{dept}", headers=org.auth).json()["cap_changes"]
    latest = changes[0]
    assert (latest["old_cap"], latest["new_cap"], latest["by"]) == (1, 3, "the command line")
    r = run_cli(database_url, "credits", "--org", org.id)
    assert r.exit_code == 0 and "Faculty of Law" in r.output, r.output
    r = run_cli(database_url, "department", "cap", dept, "--org", org.id, "--none")
    assert r.exit_code == 0 and "now has no cap" in r.output
    r = run_cli(database_url, "department", "cap", dept, "--org", org.id)
    assert r.exit_code == 2 and "--cap N or --none" in one_error_line(r)
    r = run_cli(database_url, "department", "cap", "dep_nope", "--org", org.id, "--cap", "1")
    assert r.exit_code == 4 and "no department" in one_error_line(r)
    r = run_cli(database_url, "department", "add", "X", "--org", org.id, "--cap", "-1")
    assert r.exit_code == 2
