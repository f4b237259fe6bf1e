"""A real Credo server for end-to-end tests: `credo serve` in its own process group.

`running_server(database_url, workdir)` starts `python -m credo.entrypoints.cli.main serve`
with N uvicorn workers on a free loopback port, waits for `GET /readyz`, yields a
`LiveServer` and, on exit, terminates the whole process group and checks nothing is left.

`live_server` is the module-scoped pytest fixture over both databases (a SQLite file, a
fresh PostgreSQL database of its own); `tests/e2e/conftest.py` exposes it to test modules.
Startup costs seconds (migrations, N workers), so one server serves a whole module; tests
isolate by creating their own organizations.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import MASTER_KEY
from tests.databases import drop_postgres_database, fresh_postgres_database, postgres_url

ADMIN_TOKEN = "e2e-operator-token-0123456789abcdef"
HOST = "127.0.0.1"
WORKERS = 4
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
CLI_MODULE = "credo.entrypoints.cli.main"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


class ServerFailed(RuntimeError):
    """The server exited or never answered /readyz; the message carries its stderr."""


@dataclass(frozen=True)
class LiveServer:
    backend: str
    base_url: str
    database_url: str
    admin_token: str
    env: Mapping[str, str]
    workdir: Path
    pid: int

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run the `credo` command against the server's database, as an operator would."""
        return subprocess.run(
            [sys.executable, "-m", CLI_MODULE, *args],
            env=dict(self.env),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def create_org(self, client: httpx.Client, **body: Any) -> dict[str, Any]:
        """POST /v1/admin/organizations; answers the 201 body (organization, api_key, ...)."""
        payload = {"name": "E2E Org", "plan": "launch-250", **body}
        r = client.post(
            f"{self.base_url}/v1/admin/organizations", json=payload, headers=self.admin_headers
        )
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def server_env(database_url: str, admin_token: str = ADMIN_TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDO_")}
    env.update(
        CREDO_DATABASE_URL=database_url,
        CREDO_ADMIN_TOKEN=admin_token,
        CREDO_ENVIRONMENT="test",
        CREDO_MASTER_KEY=MASTER_KEY,
        CREDO_PASSWORD_HASHING="fast",
        PYTHONUNBUFFERED="1",
    )
    return env


def _tail(path: Path, limit: int = 6000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "<no output captured>"
    return text if len(text) <= limit else "...\n" + text[-limit:]


def _group_members(pgid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes of the process group."""
    alive = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return alive


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (uvicorn stops its workers and exits), then SIGKILL whatever
    is left; fail if anything survives."""
    pgid = proc.pid  # start_new_session: the leader's pid is the group id
    if proc.poll() is None:
        _signal_group(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT)
    left = _wait_group_gone(pgid, STOP_TIMEOUT / 2)
    if left:
        _signal_group(pgid, signal.SIGKILL)
        left = _wait_group_gone(pgid, STOP_TIMEOUT / 2)
    if left:
        raise ServerFailed(f"server processes survived SIGKILL: {[p.pid for p in left]}")


def _wait_group_gone(pgid: int, timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (left := _group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _wait_healthy(
    proc: subprocess.Popen[bytes],
    base_url: str,
    stderr: Path,
    verify: ssl.SSLContext | bool = True,
    timeout: float = STARTUP_TIMEOUT,
    ready_path: str = "/readyz",
) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(timeout=2.0, verify=verify) as client:
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                raise ServerFailed(f"server exited with {code} before /readyz:\n{_tail(stderr)}")
            try:
                r = client.get(f"{base_url}{ready_path}")
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}: {r.text[:200]}"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
    raise ServerFailed(
        f"/readyz did not answer 200 within {timeout:.0f}s ({last}); "
        f"server stderr:\n{_tail(stderr)}"
    )


@contextlib.contextmanager
def running_server(
    database_url: str,
    workdir: Path,
    *,
    backend: str = "",
    workers: int = WORKERS,
    attempts: int = 3,
    tls: tuple[Path, Path] | None = None,
    extra_env: Mapping[str, str] | None = None,
    startup_timeout: float = STARTUP_TIMEOUT,
    ready_path: str = "/readyz",
) -> Iterator[LiveServer]:
    """Start `credo serve --workers N` on a free loopback port; stop its whole process group
    on exit. A port taken between choosing and binding it is retried with another.
    `tls` = (certificate, key) PEM files: serve HTTPS (the certificate must be its own CA,
    as a self-signed one is). `extra_env` adds settings (CREDO_SMTP_HOST, say).
    `ready_path`: what answers 200 once it serves (an older release had only /healthz)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**server_env(database_url), **(extra_env or {})}
    for attempt in range(1, attempts + 1):
        port = free_port()
        out_path = workdir / f"server-{attempt}.stdout.log"
        err_path = workdir / f"server-{attempt}.stderr.log"
        argv = [sys.executable, "-m", CLI_MODULE, "serve", "--host", HOST]
        argv += ["--port", str(port), "--workers", str(workers)]
        verify: ssl.SSLContext | bool = True
        if tls is not None:
            argv += ["--ssl-certfile", str(tls[0]), "--ssl-keyfile", str(tls[1])]
            verify = ssl.create_default_context(cafile=str(tls[0]))
        base_url = f"{'https' if tls else 'http'}://{HOST}:{port}"
        # Links in pages and e-mails must lead back to this server.
        run_env = {"CREDO_BASE_URL": base_url, **env}
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                argv,
                env=run_env,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        try:
            try:
                _wait_healthy(proc, base_url, err_path, verify, startup_timeout, ready_path)
            except ServerFailed:
                if attempt < attempts and "address already in use" in _tail(err_path).lower():
                    continue
                raise
            yield LiveServer(
                backend, base_url, database_url, ADMIN_TOKEN, run_env, workdir, proc.pid
            )
            return
        finally:
            _stop(proc)


def _postgres_database() -> str:
    """A fresh database of its own: skip (or fail when required) if PostgreSQL is unreachable.
    Its name carries the xdist worker and this process's id, so that concurrent test runs
    never drop each other's database; `drop_postgres_database` removes it afterwards."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "") or "main"
    url = postgres_url(f"e2e_{worker}_{os.getpid()}")
    return fresh_postgres_database(url)


@pytest.fixture(scope="module", params=BACKENDS)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One real server per test module and database."""
    backend: str = request.param
    workdir = tmp_path_factory.mktemp(f"e2e-{backend}")
    if backend == "sqlite":
        with running_server(f"sqlite:///{workdir / 'credo.db'}", workdir, backend=backend) as s:
            yield s
        return
    database_url = _postgres_database()
    try:
        with running_server(database_url, workdir, backend=backend) as s:
            yield s
    finally:
        drop_postgres_database(database_url)
