"""`python -m bench.operations`: the runtime's figures, each against a baseline measured in
the same run.

- E-mail throughput of a `credo worker` process sending a backlog to a real SMTP server
  (aiosmtpd), against the same number of ready-made messages sent by smtplib alone.
- A password reset's delivery time behind another organization's 50,000 queued e-mails,
  against the same reset with nothing queued.
- API throughput with metrics on against off (`CREDO_METRICS=false`), 16 clients.
- `credo --help` CPU against importing Typer and Rich.
PostgreSQL (CREDO_TEST_DATABASE_URL's server); skipped with a reason when unreachable.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
import psutil
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from tests.conftest import ADMIN_TOKEN, MASTER_KEY, create_org
from tests.dashboard.helpers import make_person
from tests.dashboard.mail import set_aside_pending as set_aside
from tests.databases import create_postgres_database, drop_postgres_database, postgres_url
from tests.e2e.fair_mail import backlog, worker_process
from tests.e2e.server import running_server
from tests.smtp import running_smtp_server

from bench.workloads import new_org
from credo.bootstrap import App, bootstrap
from credo.clock import SystemClock
from credo.domain.accounts import Role
from credo.entrypoints.api.app import create_app
from credo.services.people import members
from credo.settings import Settings


def app_on(url: str) -> App:
    settings = Settings(
        environment="test", database_url=url, admin_token=ADMIN_TOKEN, master_key=MASTER_KEY
    )
    return bootstrap(settings, clock=SystemClock(), migrate=True)


def wait_until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not get there in time")
        time.sleep(0.01)


def smtp_alone(n: int) -> float:
    """E-mails/s of smtplib sending `n` ready-made messages in one session."""
    with running_smtp_server() as smtp:
        msg = EmailMessage()
        msg["From"], msg["Subject"] = "bench@credo.example", "Your credential"
        msg.set_content("A plain message of about the size of Credo's plain part.\n" * 20)
        msg.add_alternative("<p>" + "An HTML part. " * 200 + "</p>", subtype="html")
        began = time.perf_counter()
        with smtplib.SMTP(smtp.host, smtp.port) as client:
            for i in range(n):
                del msg["To"]
                msg["To"] = f"p{i}@example.org"
                client.send_message(msg)
        return n / (time.perf_counter() - began)


def worker_rate(credo: App, client: TestClient, n: int, workdir: Path) -> float:
    """E-mails/s of a `credo worker` process draining a backlog of `n`."""
    set_aside(credo)
    org = create_org(client, name="Throughput", plan="enterprise", credits=n + 10)
    backlog(credo, org, n, "rate")
    with running_smtp_server() as smtp, worker_process(credo, smtp, workdir):
        wait_until(lambda: len(smtp.messages) >= 50, 60)  # started and warm
        began, start_count = time.perf_counter(), len(smtp.messages)
        wait_until(lambda: len(smtp.messages) >= n, 600)
        return (len(smtp.messages) - start_count) / (time.perf_counter() - began)


def reset_latency(credo: App, client: TestClient, queued: int, workdir: Path) -> float:
    """Seconds from a reset request to its delivery, with `queued` e-mails of another
    organization waiting (and being sent) meanwhile."""
    set_aside(credo)
    person = f"reset-{queued}-{time.monotonic_ns()}@small.example"
    small = create_org(client, name="Small")
    make_person(credo, person, small.id, Role.OWNER)
    if queued:
        big = create_org(client, name="Big", plan="enterprise", credits=queued + 10)
        backlog(credo, big, queued, "big")
    with running_smtp_server() as smtp, worker_process(credo, smtp, workdir):
        if queued:
            wait_until(lambda: len(smtp.messages) >= 200, 60)
        else:
            time.sleep(2.0)  # the worker is up and polling
        asked = time.perf_counter()
        credo.runner.write(
            lambda uow: members.request_password_reset(uow, credo.ctx, email=person, client="b")
        )
        wait_until(lambda: bool(smtp.to(person)), 60)
        return time.perf_counter() - asked


def server_cpu(pid: int) -> float:
    """CPU seconds so far of a `credo serve` and all its processes."""
    parent = psutil.Process(pid)
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def api_rate(url: str, workdir: Path, metrics: bool, seconds: int = 15) -> tuple[float, float]:
    """GET /v1/credits from 16 connections (wrk, or 16 Python threads when wrk is not
    installed) against `credo serve --workers 2`: requests per second, and the server's CPU
    milliseconds per request (steadier than throughput on a shared machine)."""
    env = {"CREDO_METRICS": "true" if metrics else "false", "CREDO_WORKER_IN_SERVER": "false"}
    with running_server(url, workdir, workers=2, extra_env=env) as server:
        org = new_org(server.base_url)
        auth = {"Authorization": f"Bearer {org.key}"}
        for _ in range(50):  # warm both processes
            httpx.get(f"{server.base_url}/v1/credits", headers=auth).raise_for_status()
        cpu_before = server_cpu(server.pid)
        wrk = shutil.which("wrk")
        if wrk:
            done = subprocess.run(
                [
                    wrk,
                    "-t2",
                    "-c16",
                    f"-d{seconds}s",
                    "-H",
                    f"Authorization: Bearer {org.key}",
                    f"{server.base_url}/v1/credits",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            found = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
            assert found and "Non-2xx" not in done.stdout, done.stdout
            rate = float(found.group(1))
        else:
            count = [0]
            lock = threading.Lock()
            stop = time.monotonic() + seconds

            def client() -> None:
                with httpx.Client(base_url=server.base_url, timeout=30) as http:
                    while time.monotonic() < stop:
                        http.get("/v1/credits", headers=auth).raise_for_status()
                        with lock:
                            count[0] += 1

            threads = [threading.Thread(target=client) for _ in range(16)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            rate = count[0] / seconds
        cpu_ms = (server_cpu(server.pid) - cpu_before) * 1000 / (rate * seconds)
        return rate, cpu_ms


def cpu_of(argv: list[str], runs: int = 7) -> float:
    """Median CPU seconds (user + system) of a command."""
    spent = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emails", type=int, default=5_000)
    parser.add_argument("--backlog", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    console = Console(width=150)
    table = Table(title="Runtime (PostgreSQL, 2 cores)")
    for col in ("what", "Credo", "baseline", "ratio"):
        table.add_column(col, justify="right")

    python = sys.executable
    help_cpu = cpu_of([python, "-m", "credo.entrypoints.cli.main", "--help"])
    base_cpu = cpu_of([python, "-c", "import typer, rich"])
    table.add_row(
        "credo --help CPU (vs import typer, rich)",
        f"{help_cpu * 1000:.0f} ms",
        f"{base_cpu * 1000:.0f} ms",
        f"{help_cpu / base_cpu:.2f}x (target <= 2x)",
    )

    url = postgres_url("bench_ops")
    reason = create_postgres_database(url)
    if reason:
        console.print(table)
        console.print(f"[yellow]PostgreSQL figures skipped: {reason}[/]")
        return
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            credo = app_on(url)
            with TestClient(create_app(credo)) as client:
                alone = smtp_alone(args.emails)
                rate = worker_rate(credo, client, args.emails, work)
                table.add_row(
                    f"credo worker e-mails/s ({args.emails:,}; vs smtplib alone)",
                    f"{rate:,.0f}/s",
                    f"{alone:,.0f}/s",
                    f"{rate / alone:.2f}x",
                )
                behind = reset_latency(credo, client, args.backlog, work)
                empty = reset_latency(credo, client, 0, work)
                table.add_row(
                    f"reset delivered behind {args.backlog:,} (vs nothing queued)",
                    f"{behind:.2f} s",
                    f"{empty:.2f} s",
                    f"{behind / empty:.2f}x (target < 5 s)",
                )
            credo.close()
            on, off = [], []
            for i in range(args.runs):  # interleaved, so drift in the machine hits both
                off.append(api_rate(url, work / f"off{i}", metrics=False))
                on.append(api_rate(url, work / f"on{i}", metrics=True))
            console.log(
                f"metrics off (req/s, CPU ms/req): {[(round(r), round(c, 2)) for r, c in off]}"
            )
            console.log(
                f"metrics on  (req/s, CPU ms/req): {[(round(r), round(c, 2)) for r, c in on]}"
            )
            r_on, r_off = statistics.median(r for r, _ in on), statistics.median(r for r, _ in off)
            c_on, c_off = statistics.median(c for _, c in on), statistics.median(c for _, c in off)
            table.add_row(
                f"GET /v1/credits/s, metrics on (vs off; median of {args.runs})",
                f"{r_on:,.0f}/s",
                f"{r_off:,.0f}/s",
                f"{r_on / r_off:.3f}x",
            )
            table.add_row(
                "server CPU per request, metrics on (vs off)",
                f"{c_on:.2f} ms",
                f"{c_off:.2f} ms",
                f"{c_on / c_off:.3f}x (cost {(c_on / c_off - 1) * 100:+.1f}%, target < 5%)",
            )
    finally:
        drop_postgres_database(url)
    console.print(table)


if __name__ == "__main__":
    main()
