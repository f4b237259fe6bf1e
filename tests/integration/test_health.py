"""Liveness and readiness: /healthz reads nothing, /readyz checks the database and schema."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from credo.adapters.db.engine import make_engine
from credo.adapters.db.migrate import upgrade
from credo.bootstrap import bootstrap
from credo.entrypoints.api.app import create_app
from credo.entrypoints.api.health import expected_revision
from credo.settings import Settings
from tests.conftest import ADMIN_TOKEN, MASTER_KEY


def app_on(url: str) -> TestClient:
    settings = Settings(
        environment="test", database_url=url, admin_token=ADMIN_TOKEN, master_key=MASTER_KEY
    )
    return TestClient(create_app(bootstrap(settings)), raise_server_exceptions=False)


def test_ready_when_the_database_answers_at_the_current_schema(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["schema"] == expected_revision() and expected_revision() is not None
    assert client.get("/healthz").json()["status"] == "ok"


def test_alive_but_not_ready_without_a_database() -> None:
    # Nothing listens on port 9 of loopback: connecting is refused at once.
    client = app_on("postgresql+psycopg://postgres@127.0.0.1:9/nothing?connect_timeout=2")
    assert client.get("/healthz").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "not_ready" and "database does not answer" in body["detail"]
    assert "127.0.0.1" not in body["detail"] and "postgres" not in body["detail"]


def test_not_ready_until_migrations_are_applied(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0008")
    client = app_on(url)
    r = client.get("/readyz")
    assert r.status_code == 503 and "credo db upgrade" in r.json()["detail"]
    assert "0008" in r.json()["detail"]
    upgrade(engine)
    assert client.get("/readyz").status_code == 200
    engine.dispose()


def test_not_ready_on_an_empty_database(tmp_path: Path) -> None:
    client = app_on(f"sqlite:///{tmp_path / 'empty.db'}")
    r = client.get("/readyz")
    assert r.status_code == 503 and "at nothing" in r.json()["detail"]
