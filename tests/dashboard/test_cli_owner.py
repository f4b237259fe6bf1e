"""Owner logins from the command line: `credo org create --owner-email`, `credo user add`
and `credo demo`, each printing a password once."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from credo.bootstrap import App
from credo.entrypoints.cli.main import DEMO_OWNER
from credo.entrypoints.cli.main import app as cli
from tests.conftest import ADMIN_TOKEN, MASTER_KEY, app_for
from tests.dashboard.mail import unique_email


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`credo demo` keeps its key in ./credo-data: the test's, not the checkout's."""
    monkeypatch.chdir(tmp_path)


def run(credo: App, *args: str, **env: str) -> Any:
    base = {
        "CREDO_DATABASE_URL": credo.settings.database_url,
        "CREDO_ENVIRONMENT": "test",
        "CREDO_MASTER_KEY": MASTER_KEY,
    }
    return CliRunner().invoke(cli, list(args), env={**base, **env})


def printed(output: str, label: str) -> str:
    found = re.search(rf"^{label}:\s+(\S+)", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def signs_in(credo: App, email: str, password: str) -> TestClient | None:
    client = TestClient(app_for(credo), raise_server_exceptions=False)
    r = client.post("/login", data={"email": email, "password": password}, follow_redirects=False)
    return client if r.status_code == 303 else None


def test_org_create_makes_an_owner_login(credo: App) -> None:
    email = unique_email("cli-owner")
    r = run(credo, "org", "create", "CLI School", "--owner-email", email, "--owner-name", "Olive")
    assert r.exit_code == 0, r.output
    org_id = printed(r.output, "organization")
    password = printed(r.output, "password")
    assert "/login" in r.output
    client = signs_in(credo, email, password)
    assert client is not None
    home = client.get("/app", headers={"Accept": "text/html"})
    assert "<h1>CLI School</h1>" in home.text and "Olive · owner" in home.text

    # The same person owning a second organization keeps their password.
    r = run(credo, "org", "create", "CLI School Two", "--owner-email", email)
    assert r.exit_code == 0, r.output
    assert "their existing one" in r.output
    second = printed(r.output, "organization")
    orgs = credo.runner.read(lambda uow: uow.accounts.organizations_of(client_user(credo, email)))
    assert {o[0] for o in orgs} == {org_id, second}

    # `credo user add` gives a viewer login to one of them.
    viewer = unique_email("cli-viewer")
    r = run(credo, "user", "add", viewer, "--org", org_id, "--role", "viewer")
    assert r.exit_code == 0, r.output
    assert signs_in(credo, viewer, printed(r.output, "password")) is not None
    again = run(credo, "user", "add", viewer, "--org", org_id, "--role", "viewer")
    assert again.exit_code == 5 and "already a member" in error_line(again)


def client_user(credo: App, email: str) -> str:
    user = credo.runner.read(lambda uow: uow.accounts.user_by_email_key(email.lower()))
    assert user is not None
    return user.id


def error_line(r: Any) -> str:
    """The one line a refused command says, on stderr alone."""
    assert r.exit_code != 0 and r.stdout == "", r.output
    (line,) = r.stderr.splitlines()
    assert line.startswith("error: ") and "Traceback" not in line
    return str(line)


def test_bad_owner_input_is_one_line(credo: App) -> None:
    r = run(credo, "org", "create", "Bad Owner", "--owner-email", "not-an-address")
    assert r.exit_code == 2 and "e-mail" in error_line(r)
    r = run(credo, "user", "add", unique_email("x"), "--org", "org_missing", "--role", "viewer")
    assert r.exit_code == 4 and "no such organization" in error_line(r)
    r = run(credo, "user", "add", unique_email("x"), "--org", "org_missing", "--role", "boss")
    assert r.exit_code == 2 and "unknown role" in error_line(r)
    r = run(credo, "user", "remove", "x@example.org", "--org", "org_missing")
    assert r.exit_code == 2 and "the only action is add" in error_line(r)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_demo_prints_an_owner_login_anew_each_run(credo: App) -> None:
    # The admin token is given so that the demo does not make one into os.environ.
    env = {"CREDO_ENVIRONMENT": "development", "CREDO_ADMIN_TOKEN": ADMIN_TOKEN}
    first = run(credo, "demo", "--no-serve", **env)
    assert first.exit_code == 0, first.output
    line = next(x for x in first.output.splitlines() if x.startswith("dashboard:"))
    assert "http://127.0.0.1:8000/login" in line and DEMO_OWNER in line
    password = line.split("password")[-1].strip()
    assert signs_in(credo, DEMO_OWNER, password) is not None

    second = run(credo, "demo", "--no-serve", **env)
    assert second.exit_code == 0, second.output
    line = next(x for x in second.output.splitlines() if x.startswith("dashboard:"))
    new_password = line.split("password")[-1].strip()
    assert new_password != password
    assert signs_in(credo, DEMO_OWNER, password) is None
    assert signs_in(credo, DEMO_OWNER, new_password) is not None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_demo_on_another_port_links_to_it(credo: App) -> None:
    env = {"CREDO_ENVIRONMENT": "development", "CREDO_ADMIN_TOKEN": ADMIN_TOKEN}
    assert "CREDO_BASE_URL" not in os.environ
    shown = run(credo, "demo", "--no-serve", "--port", "8123", **env)
    assert shown.exit_code == 0, shown.output
    assert "http://127.0.0.1:8123/login" in shown.output
    assert "curl -s -X POST http://127.0.0.1:8123/v1/credentials" in shown.output
    assert ":8000" not in shown.output
    assert "CREDO_BASE_URL" not in os.environ  # set for the command's processes only
