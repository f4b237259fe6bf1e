"""Shared fixtures: both databases, a bootstrapped app with a fixed clock, an HTTP client."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from credo.adapters.db import tables
from credo.adapters.db.engine import make_engine
from credo.adapters.db.migrate import upgrade
from credo.bootstrap import App, bootstrap
from credo.clock import FixedClock
from credo.entrypoints.api.app import create_app
from credo.settings import Settings
from tests import hypothesis_profiles  # noqa: F401 - loads the profile before any test module
from tests.databases import fresh_postgres_database, postgres_url

ADMIN_TOKEN = "test-operator-token-0123456789abcdef"
# A fixed master key for test databases (32 bytes, base64url); never a real one.
MASTER_KEY = "Y3JlZG8tdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzISE"
BACKENDS = ["sqlite", "postgres"]


def _worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    yield fresh_postgres_database(postgres_url(_worker_suffix()))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'credo.db'}"


@pytest.fixture(scope="session")
def _engines() -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    url = request.getfixturevalue("sqlite_url")
    return url


@pytest.fixture
def engine(database_url: str, _engines: dict[str, Engine]) -> Engine:
    """One migrated engine per database for the whole run; tests isolate by organization."""
    if database_url not in _engines:
        eng = make_engine(database_url)
        upgrade(eng)
        _engines[database_url] = eng
    return _engines[database_url]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 2, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def credo(engine: Engine, database_url: str, clock: FixedClock) -> App:
    settings = Settings(
        environment="test",
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        master_key=MASTER_KEY,
        password_hashing="fast",  # tests/unit/test_password_hashing.py: production's are strong
    )
    # Failed sign-ins are counted per e-mail and per client address ("testclient" for
    # every TestClient), across organizations, under a clock that stands still: one test's
    # failures would count toward the next one's limit.
    with engine.begin() as conn:
        conn.execute(tables.login_failures.delete())
    return bootstrap(settings, clock=clock, engine=engine)


class _SharedApps:
    """API applications made once per set of settings and lent to one App at a time.
    Building an application's routes and their dependencies anew costs about 0.1 s of CPU,
    as much as many a test itself; each test's App is still its own. Within a test, a
    second App with the same settings gets an application of its own."""

    def __init__(self) -> None:
        self._apps: dict[str, FastAPI] = {}
        self._lent: dict[str, App] = {}

    def lend(self, credo: App) -> FastAPI:
        shape = credo.settings.model_dump_json()
        holder = self._lent.get(shape)
        if holder is not None and holder is not credo:
            return create_app(credo)
        api = self._apps.get(shape)
        if api is None:
            api = self._apps[shape] = create_app(credo)
        api.state.credo = credo
        self._lent[shape] = credo
        return api

    def take_back(self) -> None:
        self._lent.clear()


_SHARED_APPS = _SharedApps()


_SERIALS = itertools.count(1)
_CURRENT = [0]


def running_serial() -> int:
    """The running test's place in this process's run: 1, 2, ... A test that sees its
    predecessor's serial one below its own knows no other test ran in between here."""
    return _CURRENT[0]


@pytest.fixture(autouse=True)
def _apps_taken_back() -> Iterator[None]:
    _CURRENT[0] = next(_SERIALS)
    yield
    _SHARED_APPS.take_back()


def app_for(credo: App) -> FastAPI:
    """The API application serving `credo` for the rest of this test."""
    return _SHARED_APPS.lend(credo)


@pytest.fixture
def client(credo: App) -> Iterator[TestClient]:
    with TestClient(app_for(credo), raise_server_exceptions=False) as c:
        yield c


@dataclass
class Org:
    """An organization made through the operator API, with a client speaking as it."""

    id: str
    key: str
    client: TestClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.auth, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        headers = {**self.auth, **kw.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        headers = {**self.auth, **kw.pop("headers", {})}
        return self.client.patch(path, json=json, headers=headers, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        headers = {**self.auth, **kw.pop("headers", {})}
        return self.client.delete(path, headers=headers, **kw)

    def group(self, name: str = "Group", **fields: Any) -> str:
        r = self.post("/v1/groups", {"name": name, **fields})
        assert r.status_code == 201, r.text
        gid: str = r.json()["group"]["id"]
        return gid

    def issue(self, group_id: str, email: str, name: str = "Recipient", **fields: Any) -> Any:
        body = {"group_id": group_id, "recipient": {"name": name, "email": email}, **fields}
        return self.post("/v1/credentials", body)

    def credits(self) -> dict[str, Any]:
        r = self.get("/v1/credits")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def used(self) -> int:
        return int(self.credits()["used"])

    def move_clock(self, when: str) -> None:
        r = self.post("/v1/test-clock", {"now": when})
        assert r.status_code == 200, r.text


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def create_org(client: TestClient, **body: Any) -> Org:
    payload = {"name": "Test Org", "plan": "launch-250", **body}
    r = client.post("/v1/admin/organizations", json=payload, headers=ADMIN)
    assert r.status_code == 201, r.text
    data = r.json()
    return Org(data["organization"]["id"], data["api_key"], client)


@pytest.fixture
def org(client: TestClient) -> Org:
    return create_org(client, sandbox=True, anchor="2026-01-15")


def artifacts_dir() -> Path:
    path = Path(os.environ.get("CREDO_TEST_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
