"""Single publishes at the database's speed: `POST /v1/credentials` from 16 connections (wrk)
against `credo serve`, beside the raw transaction a publish needs, run by pgbench in the
same run (4 inserts and a conditional counter update per transaction).

    python -m bench.publishing [--seconds 15] [--orgs 1,100]

Figures: publishes per second, p50 and p99 latency (wrk), the server's CPU milliseconds per
publish, and the ratio to pgbench's transactions per second on the same load shape (one
organization's counter, or a hundred). SQLite is served by one process; its baseline is the
same transaction through the sqlite3 module from 16 threads.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from tests.e2e.server import running_server

from bench.operations import server_cpu
from bench.then import BEFORE, Release, release_or_none
from bench.workloads import WRK_THREADS, Org, new_org

CONNECTIONS = 16

# Each wrk thread numbers its requests; the thread id and a run tag make every address new,
# so each publish takes a seat (the expensive path).
WRK_SCRIPT = (
    """
local orgs = {ORGS}
local tag = "{TAG}"
local counter = 0
"""
    + WRK_THREADS
    + """function request()
  counter = counter + 1
  local o = orgs[(counter + tid) % #orgs + 1]
  local body = '{"group_id":"' .. o[2] .. '","recipient":{"name":"Pub ' .. counter ..
    '","email":"' .. tag .. '-' .. tid .. '-' .. counter .. '@example.org"}}'
  return wrk.format("POST", "/v1/credentials",
    {["Authorization"] = "Bearer " .. o[1], ["Content-Type"] = "application/json"}, body)
end
function done(summary, latency, requests)
  io.write(string.format('RESULT {"requests": %d, "seconds": %f, "p50": %f, "p99": %f,'
    .. ' "status_errors": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""
)

PGBENCH_SETUP = """
DROP TABLE IF EXISTS pb_cred, pb_seat, pb_ledger, pb_outbox, pb_usage;
CREATE TABLE pb_usage (org int PRIMARY KEY, used int NOT NULL, allowance int NOT NULL);
CREATE TABLE pb_cred (id bigserial PRIMARY KEY, org int, email text, doc text);
CREATE TABLE pb_seat (id bigserial PRIMARY KEY, org int, email text, UNIQUE (org, email));
CREATE TABLE pb_ledger (id bigserial PRIMARY KEY, org int, email text, delta int);
CREATE TABLE pb_outbox (id bigserial PRIMARY KEY, org int, email text, body text);
INSERT INTO pb_usage SELECT g, 0, 100000000 FROM generate_series(1, 100) g;
"""

# The transaction a publish needs at the least: the credential, its seat, its ledger row,
# its e-mail, and the organization's counter moved only while credits remain.
PGBENCH_SCRIPT = """
\\set org random(1, {ORGS})
\\set n random(1, 1000000000)
BEGIN;
INSERT INTO pb_cred (org, email, doc) VALUES (:org, 'r' || :n || '-' || :client_id, repeat('x', 1500));
INSERT INTO pb_seat (org, email) VALUES (:org, 'r' || :n || '-' || :client_id) ON CONFLICT DO NOTHING;
INSERT INTO pb_ledger (org, email, delta) VALUES (:org, 'r' || :n || '-' || :client_id, -1);
INSERT INTO pb_outbox (org, email, body) VALUES (:org, 'r' || :n || '-' || :client_id, repeat('y', 300));
UPDATE pb_usage SET used = used + 1 WHERE org = :org AND used < allowance;
END;
"""


@dataclass
class Load:
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float


def pgbench_tps(url: str, orgs: int, seconds: int) -> float:
    u = make_url(url)
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise RuntimeError("pgbench is not installed (Debian: postgresql-client)")
    conn = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    subprocess.run(
        ["psql", *conn, "-q", "-d", u.database or "", "-c", PGBENCH_SETUP],
        check=True,
        capture_output=True,
        env=env,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_SCRIPT.replace("{ORGS}", str(orgs)))
        script.flush()
        done = subprocess.run(
            [pgbench, *conn, "-n", "-M", "prepared", "-c", str(CONNECTIONS), "-j", "2",
             "-T", str(seconds), "-f", script.name, u.database or ""],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )  # fmt: skip
    for line in done.stdout.splitlines():
        if line.startswith("tps"):
            return float(line.split("=")[1].split()[0])
    raise RuntimeError(f"pgbench printed no tps:\n{done.stdout}\n{done.stderr}")


def sqlite_tps(path: Path, seconds: float) -> float:
    """The same transaction through the sqlite3 module, 16 threads, WAL, synchronous=NORMAL."""
    admin = sqlite3.connect(path, isolation_level=None)
    admin.execute("PRAGMA journal_mode=WAL")
    for stmt in PGBENCH_SETUP.split(";")[1:-2]:  # the tables, without DROP and the rows
        admin.execute(stmt.replace("bigserial", "integer"))
    admin.execute("INSERT INTO pb_usage VALUES (1, 0, 100000000)")
    lock = threading.Lock()  # as Credo queues its own writers, in order
    stop = time.monotonic() + seconds
    count = [0]

    def client(tid: int) -> None:
        c = sqlite3.connect(path, isolation_level=None, timeout=60, check_same_thread=False)
        c.execute("PRAGMA synchronous=NORMAL")
        n = 0
        while time.monotonic() < stop:
            n += 1
            email = f"r{tid}-{n}"
            with lock:
                c.execute("BEGIN IMMEDIATE")
                c.execute(
                    "INSERT INTO pb_cred (org, email, doc) VALUES (1, ?, ?)", (email, "x" * 1500)
                )
                c.execute(
                    "INSERT INTO pb_seat (org, email) VALUES (1, ?) ON CONFLICT DO NOTHING",
                    (email,),
                )
                c.execute("INSERT INTO pb_ledger (org, email, delta) VALUES (1, ?, -1)", (email,))
                c.execute(
                    "INSERT INTO pb_outbox (org, email, body) VALUES (1, ?, ?)", (email, "y" * 300)
                )
                c.execute("UPDATE pb_usage SET used = used + 1 WHERE org = 1 AND used < allowance")
                c.execute("COMMIT")
            count[0] += 1
        c.close()

    start = time.monotonic()
    with ThreadPoolExecutor(CONNECTIONS) as ex:
        list(ex.map(client, range(CONNECTIONS)))
    elapsed = time.monotonic() - start
    admin.close()
    return count[0] / elapsed


def wrk_publishes(base: str, orgs: list[Org], seconds: int, pid: int) -> Load:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: wrk)")
    table = "{" + ",".join(f'{{"{o.key}","{o.group_id}"}}' for o in orgs) + "}"

    def run(duration: str) -> str:
        # A tag per run: each run's addresses are new, so every publish takes a seat.
        script = WRK_SCRIPT.replace("{ORGS}", table).replace("{TAG}", uuid.uuid4().hex[:8])
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
            f.write(script)
            f.flush()
            argv = [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{duration}", "--timeout", "30s"]
            return subprocess.run(
                [*argv, "-s", f.name, base], capture_output=True, text=True, check=True
            ).stdout

    # Warm every process and organization (first publishes build keys and lists).
    _result(run("5s"), strict=False)
    cpu = server_cpu(pid)
    out = run(f"{seconds}s")
    cpu = server_cpu(pid) - cpu
    r = _result(out)
    if not r["requests"]:
        raise RuntimeError(f"no publish was answered:\n{out}")
    rate = r["requests"] / r["seconds"]
    return Load(rate, r["p50"], r["p99"], cpu * 1000 / max(1, r["requests"]))


def _result(stdout: str, strict: bool = True) -> dict[str, float]:
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            r: dict[str, float] = json.loads(line[len("RESULT ") :])
            if strict and (r["status_errors"] or r["socket_errors"]):
                raise RuntimeError(f"publishes failed:\n{stdout}")
            return r
    raise RuntimeError(f"wrk printed no result:\n{stdout}")


def measure(
    url: str,
    workdir: Path,
    workers: int,
    org_counts: list[int],
    seconds: int,
    release: Release | None = None,
) -> dict[int, Load]:
    """Today's code, or `release`'s (bench.then) when given."""
    workdir = workdir / uuid.uuid4().hex[:8]  # a server of its own each time
    out = {}
    env = {"CREDO_WORKER_IN_SERVER": "false"}  # the e-mails queue; delivery is not measured
    ready = "/readyz"
    if release is not None:
        env.update(release.env)
        ready = release.ready_path
    with running_server(
        url, workdir, workers=workers, extra_env=env, startup_timeout=180, ready_path=ready
    ) as s:
        for n in org_counts:
            orgs = [new_org(s.base_url) for _ in range(n)]
            out[n] = wrk_publishes(s.base_url, orgs, seconds, s.pid)
    return out


def _mean(a: Load, b: Load) -> Load:
    return Load(
        (a.per_second + b.per_second) / 2,
        (a.p50_ms + b.p50_ms) / 2,
        (a.p99_ms + b.p99_ms) / 2,
        (a.cpu_ms + b.cpu_ms) / 2,
    )


def _now_and_then(
    now: Callable[[], dict[int, Load]], then: Callable[[], dict[int, Load]] | None
) -> tuple[dict[int, Load], dict[int, Load]]:
    """Today's code and the earlier commit's, measured now, then, then, now and averaged:
    on this machine whichever ran first was up to 20% slower (the same code against itself
    measured 0.82x), and the order ABBA cancels a position's bias and a steady drift."""
    if then is None:
        return now(), {}
    first_now, first_then = now(), then()
    second_then, second_now = then(), now()
    return (
        {n: _mean(first_now[n], second_now[n]) for n in first_now},
        {n: _mean(first_then[n], second_then[n]) for n in first_then},
    )


def _fresh_pg(name: str) -> str | None:
    from bench.__main__ import pg_url

    return pg_url(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--orgs", default="1,100")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--against", default=BEFORE, help="commit to compare with ('' for none)")
    args = parser.parse_args()
    org_counts = [int(x) for x in args.orgs.split(",")]
    console = Console(width=160)
    with contextlib.ExitStack() as stack:
        release = release_or_none(stack, args.against, console.print)
        rows = _rows(args, org_counts, release, console)
    then = f"at {release.commit[:7]}" if release else "earlier commit"
    table = Table(title=f"Single publishes: POST /v1/credentials, {CONNECTIONS} connections (wrk)")
    for col in ("database", "orgs", "procs", "publishes/s", "p50", "p99",
                "p99/p50", "CPU/publish", "raw tx/s", "ratio",
                f"{then}/s", "its CPU", "now/then"):  # fmt: skip
        table.add_column(col, justify="right")
    for name, n, workers, load, base, old in rows:
        before = ["-", "-", "-"]
        if old is not None:
            before = [f"{old.per_second:,.0f}", f"{old.cpu_ms:.1f} ms",
                      f"{load.per_second / old.per_second:.2f}x"]  # fmt: skip
        table.add_row(
            name, str(n), str(workers), f"{load.per_second:,.0f}", f"{load.p50_ms:.1f} ms",
            f"{load.p99_ms:.1f} ms", f"{load.p99_ms / load.p50_ms:.1f}x",
            f"{load.cpu_ms:.1f} ms", f"{base:,.0f}", f"{load.per_second / base:.2f}x", *before,
        )  # fmt: skip
    console.print(table)
    console.print(
        "raw transaction: the 4 inserts and conditional counter update a publish needs, by"
        " pgbench (PostgreSQL) or sqlite3 (SQLite) from 16 clients, same run. Targets:"
        " ratio >= 0.25x on PostgreSQL, p99/p50 <= 3x; SQLite now/then >= 2x."
        f" {then}: the same load against that commit's code (bench.then), same run."
        " CPU/publish: every server process."
    )


Row = tuple[str, int, int, Load, float, Load | None]


def _rows(
    args: argparse.Namespace, org_counts: list[int], release: Release | None, console: Console
) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.only in (None, "postgres"):
            url = _fresh_pg("bench")
            if url is None:
                console.print("[yellow]PostgreSQL unreachable: skipped[/]")
            else:
                then_url = _fresh_pg("bench_then") if release else None
                loads, old = _now_and_then(
                    lambda: measure(url, work / "pg", 2, org_counts, args.seconds),
                    (
                        lambda: measure(
                            then_url, work / "pg-then", 2, org_counts, args.seconds, release
                        )
                    )
                    if release is not None and then_url is not None
                    else None,
                )
                for n, load in loads.items():
                    tps = pgbench_tps(url, n, args.seconds)
                    rows.append(("PostgreSQL", n, 2, load, tps, old.get(n)))
        if args.only in (None, "sqlite"):
            then_db = f"sqlite:///{work / 'then.db'}"
            loads, old = _now_and_then(
                lambda: measure(
                    f"sqlite:///{work / 'bench.db'}", work / "lite", 1, [1], args.seconds
                ),
                (lambda: measure(then_db, work / "lite-then", 1, [1], args.seconds, release))
                if release is not None
                else None,
            )
            base = sqlite_tps(work / "raw.db", args.seconds)
            rows.append(("SQLite", 1, 1, loads[1], base, old.get(1)))
    return rows


if __name__ == "__main__":
    main()
