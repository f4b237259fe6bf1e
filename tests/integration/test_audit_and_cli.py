"""`credo audit` finds mismatches between ledger, counters, seats and credentials; the CLI
speaks in one line and exit codes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from credo.adapters.db import tables as t
from credo.bootstrap import App
from credo.entrypoints.cli.main import app as cli
from credo.services.billing.audit import audit_organization
from tests.conftest import Org


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
    ],
)
def test_audit_reports_tampering(org: Org, credo: App, tamper: Any, expected: str) -> None:
    _some_history(org)
    with credo.engine.begin() as conn:
        tamper(conn, org.id)
    report = audit(credo, org.id)
    assert not report.ok
    assert any(expected in p for p in report.problems), report.problems


def run_cli(database_url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"CREDO_DATABASE_URL": database_url})


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
    r = run_cli(database_url, "credits", "--org", org_id)
    assert r.exit_code == 0 and "│ 3 " in r.output and "│ 1 " in r.output, r.output

    # One clear line and a distinct exit code, never a traceback.
    r = run_cli(database_url, *args, "--email", "not-an-email")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "recipient.email" in r.output
    r = run_cli(
        database_url, *args[:-2], "--name", "X", "--group", f"grp_{'0' * 32}", "--email", "x@x.org"
    )
    assert r.exit_code == 4 and "no group" in r.output
    for email in ("b@x.org", "c@x.org"):
        assert run_cli(database_url, *args, "--email", email).exit_code == 0
    r = run_cli(database_url, *args, "--email", "d@x.org")
    assert r.exit_code == 6 and "R11" in r.output

    r = run_cli(database_url, "audit", "--org", org_id)
    assert r.exit_code == 0 and "ok" in r.output, r.output
    with credo.engine.begin() as conn:
        conn.execute(
            update(t.credit_usage).where(t.credit_usage.c.organization_id == org_id).values(used=1)
        )
    r = run_cli(database_url, "audit", "--org", org_id)
    assert r.exit_code == 1 and "problem" in r.output, r.output


def test_cli_refuses_an_unknown_plan_in_one_line(database_url: str) -> None:
    r = run_cli(database_url, "org", "create", "X", "--plan", "gold")
    assert r.exit_code == 2
    assert "unknown plan" in r.output and "Traceback" not in r.output
