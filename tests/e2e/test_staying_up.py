"""The server stays up as an operator runs it: workers come up and stay up on a machine
starved of CPU, a dead worker is replaced, workers that cannot serve stop the server with a
non-zero exit (for systemd to see), and SIGTERM lets in-flight requests finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from tests.databases import drop_postgres_database
from tests.e2e.server import (
    HOST,
    _postgres_database,
    free_port,
    running_server,
)

pytestmark = pytest.mark.slow

BUSY_LOOPS = 8
UNDER_LOAD_SECONDS = 40.0


@contextmanager
def busy_loops(n: int = BUSY_LOOPS) -> Iterator[None]:
    """`n` processes spinning on the CPU, as another tenant of the machine would."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


@pytest.fixture
def pg_database() -> Iterator[str]:
    url = _postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


def server_workers(pid: int) -> list[psutil.Process]:
    """The uvicorn worker processes of a `credo serve` (not its `credo worker` child)."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            cmd = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in cmd:
            found.append(child)
    return found


@pytest.mark.postgres
def test_two_workers_come_up_and_stay_up_on_a_starved_machine(
    pg_database: str, tmp_path: Path
) -> None:
    with (
        busy_loops(),
        running_server(
            pg_database, tmp_path, backend="postgres", workers=2, startup_timeout=180
        ) as server,
    ):
        started = {p.pid for p in server_workers(server.pid)}
        assert len(started) == 2
        answered = failed = 0
        deadline = time.monotonic() + UNDER_LOAD_SECONDS
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                try:
                    r = client.get(f"{server.base_url}/readyz")
                    answered += r.status_code == 200
                    failed += r.status_code != 200
                except httpx.TransportError:
                    failed += 1
                time.sleep(0.25)
        # The same two workers served throughout: none was killed for answering slowly.
        assert {p.pid for p in server_workers(server.pid)} == started
        log = (tmp_path / "server-1.stderr.log").read_text()
    assert failed == 0 and answered > 10
    assert "died" not in log and "was not ready" not in log, log[-3000:]


def test_a_killed_worker_is_replaced(tmp_path: Path) -> None:
    with running_server(f"sqlite:///{tmp_path / 'c.db'}", tmp_path, workers=2) as server:
        [victim, _] = server_workers(server.pid)
        victim.kill()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = server_workers(server.pid)
            if len(now) == 2 and victim.pid not in {p.pid for p in now}:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the dead worker was not replaced")
        assert httpx.get(f"{server.base_url}/readyz", timeout=30).status_code == 200
    log = (tmp_path / "server-1.stderr.log").read_text()
    assert f"worker {victim.pid} died" in log


def _supervise(app: str, tmp_path: Path, max_deaths: int = 5) -> subprocess.CompletedProcess[str]:
    script = (
        "import sys\n"
        "from credo.entrypoints.api.serving import Serving, serve\n"
        f"sys.exit(serve(Serving(host={HOST!r}, port={free_port()}, workers=2, app={app!r},"
        f" max_deaths={max_deaths}, healthcheck_timeout=10)))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )


def test_workers_that_cannot_start_stop_the_server_with_an_error(tmp_path: Path) -> None:
    done = _supervise("tests.e2e.broken_app:cannot_start", tmp_path)
    assert done.returncode != 0
    assert "failed to start" in done.stderr, done.stderr[-2000:]


def test_workers_that_keep_dying_stop_the_server_with_an_error(tmp_path: Path) -> None:
    done = _supervise("tests.e2e.broken_app:dies_soon", tmp_path, max_deaths=2)
    assert done.returncode == 1
    assert "deaths in 60 s" in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_requests_in_flight_finish(tmp_path: Path, workers: int) -> None:
    with (
        running_server(f"sqlite:///{tmp_path / 'c.db'}", tmp_path, workers=workers) as server,
        httpx.Client(timeout=120) as client,
    ):
        org = server.create_org(client, plan="growth", credits=6000)
        key = {"Authorization": f"Bearer {org['api_key']}"}
        r = client.post(f"{server.base_url}/v1/groups", json={"name": "Course"}, headers=key)
        group = r.json()["group"]["id"]
        body = {
            "group_id": group,
            "credentials": [
                {"recipient": {"name": f"P {i}", "email": f"p{i}@x.org"}} for i in range(5000)
            ],
        }
        started = threading.Event()

        def publish() -> tuple[httpx.Response, float]:
            started.set()
            r = client.post(f"{server.base_url}/v1/credentials/bulk", json=body, headers=key)
            return r, time.monotonic()

        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(publish)
            started.wait()
            time.sleep(0.5)  # the request is being served: 5,000 take seconds
            signalled = time.monotonic()
            os.kill(server.pid, signal.SIGTERM)
            response, answered = pending.result(timeout=120)
        assert answered > signalled  # it was still in flight when the signal came
        assert response.status_code == 201, response.text
        assert len(response.json()["credentials"]) == 5000
        # The server is gone, and said it finished cleanly.
        proc = psutil.Process(server.pid)
        assert proc.wait(timeout=60) == 0
        with pytest.raises(httpx.TransportError):
            client.get(f"{server.base_url}/healthz")
        audit = server.cli("audit")
        assert audit.returncode == 0, audit.stdout + audit.stderr
