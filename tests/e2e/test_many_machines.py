"""Many machines, one PostgreSQL: two API hosts and a worker host in network namespaces of
their own, with publishes, bulks and a spreadsheet import spread over both API hosts; one
API host and the worker are killed mid-work and another worker takes over. Nothing
acknowledged is lost, nothing is done twice, no e-mail goes out twice under two
Message-IDs, and `credo audit` is clean. Run once straight to PostgreSQL and once through
Debian's pgbouncer in transaction pooling mode."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from credo.adapters.db import tables as t
from credo.adapters.db.engine import make_engine
from credo.adapters.db.migrate import upgrade
from tests.databases import drop_postgres_database, postgres_required
from tests.e2e import hosts as net
from tests.e2e.server import _postgres_database, free_port, server_env
from tests.smtp import SmtpServer, running_smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ADMIN = "many-machines-operator-token-0123456789"
PORT = 8000
SINGLES, BULKS, BULK_SIZE, IMPORT_ROWS = 90, 4, 250, 5_000


@pytest.fixture(scope="module")
def machines() -> Iterator[list[net.Host]]:
    why = net.why_not()
    if why is not None:
        if postgres_required():
            pytest.fail(f"needed in CI: {why}", pytrace=False)
        pytest.skip(why)
    with net.network(3) as made:
        yield made


def env_for(db_url: str, base: str, smtp: SmtpServer | None, pooled: bool) -> dict[str, str]:
    env = server_env(db_url, ADMIN)
    env.update(
        CREDO_BASE_URL=base,
        CREDO_WORKER_IN_SERVER="false",
        CREDO_LOG_FORMAT="json",
        CREDO_MAIL_LEASE="10",
        CREDO_JOB_LEASE="10",
        CREDO_EXPIRY_REMINDER_DAYS="0",
        CREDO_DB_PREPARED_STATEMENTS="false" if pooled else "true",
    )
    if smtp is not None:
        env.update(
            CREDO_SMTP_HOST=smtp.host, CREDO_SMTP_PORT=str(smtp.port), CREDO_SMTP_SECURITY="none"
        )
    return env


def start(
    host: net.Host, argv: list[str], env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return host.popen(
            [sys.executable, "-m", "credo.entrypoints.cli.main", *argv],
            env=env,
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
        )


def kill(proc: subprocess.Popen[bytes]) -> None:
    """The machine goes away: its whole process group, at once."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"{base} not ready: {log.read_text()[-3000:]}")


class Client:
    """Sends to both API hosts in turn; when a host is gone, the same request (same
    Idempotency-Key) goes to the other, as a load balancer's retry would."""

    def __init__(self, bases: list[str], key: str) -> None:
        self.bases = bases
        self.auth = {"Authorization": f"Bearer {key}"}
        self.dead: set[str] = set()
        self.failovers = 0
        self._turn = 0
        self._lock = threading.Lock()

    def post(self, path: str, body: Any) -> httpx.Response:
        headers = {**self.auth, "Idempotency-Key": uuid.uuid4().hex}
        with self._lock:
            self._turn += 1
            order = self.bases[self._turn % 2 :] + self.bases[: self._turn % 2]
        for attempt in range(6):
            for base in order:
                if base in self.dead:
                    continue
                try:
                    return httpx.post(base + path, json=body, headers=headers, timeout=120)
                except httpx.TransportError:
                    self.dead.add(base)  # connection refused or cut: try the other
                    self.failovers += 1
            time.sleep(0.5 * (attempt + 1))
            self.dead.clear()
        raise AssertionError(f"no API host answered {path}")


def dashboard_import(base: str, email: str, password: str, group: str, rows: int) -> str:
    """Sign in and start a spreadsheet import through the dashboard of one API host."""
    with httpx.Client(base_url=base, timeout=120, follow_redirects=False) as web:
        r = web.post("/login", data={"email": email, "password": password, "next": "/app"})
        assert r.status_code == 303, r.text
        page = web.get("/app/imports/new").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        token = csrf.group(1)
        content = "Name,Email\n" + "".join(f"Row {i},row{i}@import.example\n" for i in range(rows))
        r = web.post(
            "/app/imports",
            data={"group_id": group, "csrf": token},
            files={"file": ("people.csv", content.encode(), "text/csv")},
        )
        assert r.status_code == 303, r.text
        found = re.search(r"/app/imports/([a-z]+_[0-9a-f]+)", r.headers["location"])
        assert found, r.headers["location"]
        job = found.group(1)
        r = web.post(f"/app/imports/{job}/map", data={"name": "0", "email": "1", "csrf": token})
        assert r.status_code == 303, r.text
        r = web.post(f"/app/imports/{job}/start", data={"mode": "publish", "csrf": token})
        assert r.status_code == 303, r.text
        return job


@pytest.mark.parametrize("via", ["postgres", "pgbouncer"])
def test_two_api_hosts_and_a_worker_lose_nothing(
    machines: list[net.Host], via: str, tmp_path: Path
) -> None:
    api_a, api_b, worker_host = machines
    local = _postgres_database()
    engine = make_engine(local)
    upgrade(engine)
    database = local.rsplit("/", 1)[1]
    port = free_port()
    pooled = via == "pgbouncer"
    remote = f"postgresql+psycopg://postgres@{net.GATEWAY}:{port}/{database}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with contextlib.ExitStack() as stack:
            if pooled:
                stack.enter_context(
                    net.pgbouncer(Path(tempfile.mkdtemp(prefix="credo-pgb-")), port, database)
                )
            else:
                stack.enter_context(net.Relay(5432, port))
            smtp = stack.enter_context(running_smtp_server(host=net.GATEWAY))
            bases = [f"http://{h.address}:{PORT}" for h in (api_a, api_b)]
            servers = []
            for host, base in zip((api_a, api_b), bases, strict=True):
                log = tmp_path / f"{host.netns}.log"
                argv = ["serve", "--host", host.address, "--port", str(PORT)]
                proc = start(host, argv, env_for(remote, base, None, pooled), log)
                procs.append(proc)
                servers.append((proc, log))
            for (proc, log), base in zip(servers, bases, strict=True):
                wait_ready(base, proc, log)
            worker_log = tmp_path / "worker.log"
            worker = start(
                worker_host,
                ["worker", "--poll", "0.2"],
                env_for(remote, bases[1], smtp, pooled),
                worker_log,
            )
            procs.append(worker)

            created = httpx.post(
                f"{bases[0]}/v1/admin/organizations",
                json={"name": "Many Machines", "plan": "enterprise", "credits": 50_000},
                headers={"Authorization": f"Bearer {ADMIN}"},
                timeout=60,
            )
            assert created.status_code == 201, created.text
            org_id, key = created.json()["organization"]["id"], created.json()["api_key"]
            client = Client(bases, key)
            group = client.post("/v1/groups", {"name": "Distributed"}).json()["group"]["id"]
            login = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "credo.entrypoints.cli.main",
                    "user",
                    "add",
                    "owner@many.example",
                    "--org",
                    org_id,
                    "--role",
                    "owner",
                ],
                env=env_for(local, bases[0], None, False),
                capture_output=True,
                text=True,
                check=True,
            )
            password = re.search(r"password:\s+(\S+)", login.stdout)
            assert password, login.stdout
            import_id = dashboard_import(
                bases[1], "owner@many.example", password.group(1), group, IMPORT_ROWS
            )

            acknowledged: list[str] = []
            lock = threading.Lock()

            def single(i: int) -> None:
                body = {
                    "group_id": group,
                    "recipient": {"name": f"S {i}", "email": f"single{i}@many.example"},
                }
                r = client.post("/v1/credentials", body)
                assert r.status_code == 201, r.text
                with lock:
                    acknowledged.append(r.json()["credential"]["id"])

            def bulk(b: int) -> None:
                items = [
                    {"recipient": {"name": f"B {i}", "email": f"bulk{b}-{i}@many.example"}}
                    for i in range(BULK_SIZE)
                ]
                r = client.post("/v1/credentials/bulk", {"group_id": group, "credentials": items})
                assert r.status_code == 201, r.text
                with lock:
                    acknowledged.extend(c["id"] for c in r.json()["credentials"])

            with ThreadPoolExecutor(8) as pool:
                futures = [pool.submit(bulk, b) for b in range(BULKS)]
                futures += [pool.submit(single, i) for i in range(SINGLES)]
                time.sleep(1.0)
                kill(servers[0][0])  # API host A goes away mid-work
                with engine.connect() as conn:  # the worker, once it is into the import
                    deadline = time.monotonic() + 120
                    while (
                        conn.scalar(
                            select(t.import_jobs.c.done).where(t.import_jobs.c.id == import_id)
                        )
                        or 0
                    ) == 0:
                        assert time.monotonic() < deadline, worker_log.read_text()[-3000:]
                        time.sleep(0.1)
                        conn.rollback()
                kill(worker)
                for f in futures:
                    f.result(timeout=300)
            relief = start(
                worker_host,
                ["worker", "--poll", "0.2"],
                env_for(remote, bases[1], smtp, pooled),
                worker_log,
            )
            procs.append(relief)

            c, o, j = t.credentials.c, t.outbox.c, t.import_jobs.c
            deadline = time.monotonic() + 300
            with engine.connect() as conn:
                while True:
                    state = conn.scalar(select(j.state).where(j.id == import_id))
                    pending = conn.scalar(
                        select(func.count())
                        .select_from(t.outbox)
                        .where(
                            o.organization_id == org_id, o.sent_at.is_(None), o.failed_at.is_(None)
                        )
                    )
                    if state == "done" and pending == 0:
                        break
                    assert relief.poll() is None and time.monotonic() < deadline, (state, pending)
                    time.sleep(0.5)
                    conn.rollback()
                stored = dict(
                    conn.execute(
                        select(c.id, c.recipient_email).where(
                            c.organization_id == org_id, c.status == "published"
                        )
                    ).all()
                )
                per_email: dict[str, int] = defaultdict(int)
                for email in stored.values():
                    per_email[email] += 1
                job = conn.execute(
                    select(j.done, j.total, j.credits_charged).where(j.id == import_id)
                ).one()
                import_job_rows = conn.execute(
                    select(t.jobs.c.finished_at, t.jobs.c.failed_at).where(
                        t.jobs.c.subject_id == import_id
                    )
                ).all()
            assert client.failovers >= 1  # requests met the dead host and went to the other
            # Nothing acknowledged is lost; nothing is issued twice.
            assert set(acknowledged) <= set(stored)
            assert len(acknowledged) == SINGLES + BULKS * BULK_SIZE
            assert max(per_email.values()) == 1, [e for e, n in per_email.items() if n > 1][:5]
            assert len(stored) == SINGLES + BULKS * BULK_SIZE + IMPORT_ROWS
            assert (job.done, job.total, job.credits_charged) == (
                IMPORT_ROWS,
                IMPORT_ROWS,
                IMPORT_ROWS,
            )
            assert len(import_job_rows) == 1 and import_job_rows[0].finished_at is not None
            # Every recipient was e-mailed, and repeats (at least once) keep one Message-ID.
            ids_by_rcpt: dict[str, set[str]] = defaultdict(set)
            for m in list(smtp.messages):
                ids_by_rcpt[m.rcpt_tos[0]].add(m.headers["Message-ID"])
            assert set(per_email) <= set(ids_by_rcpt)
            assert all(len(ids) == 1 for ids in ids_by_rcpt.values())
            audit = subprocess.run(
                [sys.executable, "-m", "credo.entrypoints.cli.main", "audit", "--org", org_id],
                env=env_for(local, bases[0], None, False),
                capture_output=True,
                text=True,
                check=False,
            )
            assert audit.returncode == 0, audit.stdout + audit.stderr
    finally:
        for proc in procs:
            if proc.poll() is None:
                kill(proc)
        engine.dispose()
        drop_postgres_database(local)
