"""`python -m bench.engagement`: what counting page views costs the credential page.

`GET /c/{id}` from 16 connections (wrk) with a browser's User-Agent, so that every request
is a person's view and is counted, against a served Credo with `CREDO_ENGAGEMENT=true` and,
as the baseline, one with `CREDO_ENGAGEMENT=false`: same machine, same run, same database
and credentials (several, so that the recorder keeps several counters). Both servers run
side by side and are loaded in turn, off on, on off, off on, ... (the idle one costs
nothing), and the medians are compared, so that neither a position in the run nor the
machine's drift decides. Target: pages/s with recording on >= 0.90x of off.

Then the database must hold every view the "on" server answered (engagement_counts, once
the servers stopped: each writes its last batch on the way out), and none from "off".

    python -m bench.engagement [--seconds 4] [--rounds 5] [--only sqlite|postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import make_url
from tests.databases import drop_postgres_database
from tests.e2e.server import running_server

from bench.operations import server_cpu
from bench.recipient import publish
from bench.workloads import WRK_THREADS, new_org

CONNECTIONS, CREDENTIALS, WARM_SECONDS, TARGET = 16, 20, 2, 0.90
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)

# Each thread walks the credentials from its own starting point; every request is a view.
WRK_SCRIPT = (
    """
local ids = {IDS}
counter = 0  -- a global: done() reads each thread's with thread:get
"""
    + WRK_THREADS
    + """function request()
  counter = counter + 1
  return wrk.format("GET", "/c/" .. ids[(counter + tid * 7) % #ids + 1],
    {["User-Agent"] = "{UA}", ["Accept"] = "text/html,application/xhtml+xml"})
end
function done(summary, latency, requests)
  local sent = 0
  for _, thread in ipairs(threads) do
    sent = sent + (tonumber(thread:get("counter")) or 0)
  end
  io.write(string.format('RESULT {"requests": %d, "sent": %d, "seconds": %f, "p50": %f,'
    .. ' "p99": %f, "status_errors": %d, "socket_errors": %d}\\n',
    summary.requests, sent, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""
)


@dataclass
class Run:
    on: bool
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # the server's CPU (every process) per request


@dataclass
class Result:
    runs: list[Run]
    answered: int  # 200s wrk saw from the "on" server, warm-up included
    sent: int  # requests wrk sent it: the answered ones and those in flight when it stopped
    written: int  # views the database gained (after the servers' graceful stop)
    written_2s: int  # ... 2 s after the last load, the servers still up
    written_off: int  # views written after the "off" server's warm-up (before any "on" load)

    @property
    def counted(self) -> bool:
        """Every answered view written, and no more than were sent (the server finishes, and
        counts, the requests wrk left in flight at its deadline): views counted by the "off"
        server would break that bound too, and nothing at all is written after its warm-up."""
        return self.written_off == 0 and self.answered <= self.written <= self.sent


def wrk(base: str, ids: list[str], seconds: int) -> dict[str, float]:
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    table = "{" + ",".join(f'"{i}"' for i in ids) + "}"
    script = WRK_SCRIPT.replace("{IDS}", table).replace("{UA}", BROWSER)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(script)
        f.flush()
        argv = [exe, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "30s"]
        out = subprocess.run(
            [*argv, "-s", f.name, base], capture_output=True, text=True, check=True
        ).stdout
    for line in out.splitlines():
        if line.startswith("RESULT "):
            r: dict[str, float] = json.loads(line[len("RESULT ") :])
            if r["status_errors"] or r["socket_errors"] or not r["requests"]:
                raise RuntimeError(f"credential pages failed:\n{out}")
            return r
    raise RuntimeError(f"wrk printed no result:\n{out}")


def views(url: str, ids: list[str]) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = text(
                "SELECT COALESCE(SUM(n), 0) FROM engagement_counts"
                " WHERE kind = 'view' AND credential_id IN :ids"
            ).bindparams(bindparam("ids", expanding=True))
            return int(conn.execute(query, {"ids": ids}).scalar_one())
    finally:
        engine.dispose()


ENV = {"CREDO_WORKER_IN_SERVER": "false"}  # no e-mail delivery beside the pages


def credentials(url: str, workdir: Path) -> list[str]:
    """Publish the credentials the runs view, from a server of their own: a server that
    has published serves pages slower afterwards, and both measured ones must be alike."""
    with running_server(url, workdir, workers=1, extra_env=ENV) as s:
        ids = publish(s.base_url, new_org(s.base_url), CREDENTIALS)
        for i in ids:  # a plain 200 page, no redirect: wrk's completed requests are 200s
            page = httpx.get(f"{s.base_url}/c/{i}", headers={"User-Agent": BROWSER})
            if page.status_code != 200 or not page.headers["content-type"].startswith("text/"):
                raise RuntimeError(f"GET /c/{i}: {page.status_code} {page.text[:200]}")
    return ids


def measure(
    url: str, workdir: Path, workers: int, rounds: int, seconds: int, console: Console
) -> Result:
    """Two servers on one database, recording off and on, loaded in turn."""
    console.log(f"{make_url(url).get_backend_name()}: publishing {CREDENTIALS} credentials")
    ids = credentials(url, workdir / "setup")
    before = views(url, ids)
    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        servers = {
            on: stack.enter_context(
                running_server(
                    url,
                    workdir / ("on" if on else "off"),
                    workers=workers,
                    extra_env={**ENV, "CREDO_ENGAGEMENT": "true" if on else "false"},
                )
            )
            for on in (False, True)
        }
        console.log("servers up; warming")
        off_base = servers[False].base_url
        wrk(off_base, ids, WARM_SECONDS)  # every process: templates, connections, caches
        time.sleep(2)  # anything it recorded would be written by now
        written_off = views(url, ids) - before
        warm = wrk(servers[True].base_url, ids, WARM_SECONDS)
        answered, sent = int(warm["requests"]), int(warm["sent"])
        for i in range(rounds):  # off on, on off, off on, ...: ABBA cancels a position's bias
            for on in (False, True) if i % 2 == 0 else (True, False):
                cpu = server_cpu(servers[on].pid)
                r = wrk(servers[on].base_url, ids, seconds)
                cpu = server_cpu(servers[on].pid) - cpu
                run = Run(on, r["requests"] / r["seconds"], r["p50"], r["p99"],
                          cpu * 1000 / r["requests"])  # fmt: skip
                runs.append(run)
                if on:
                    answered, sent = answered + int(r["requests"]), sent + int(r["sent"])
                console.log(
                    f"{'on ' if on else 'off'}: {run.per_second:,.0f} pages/s,"
                    f" p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms,"
                    f" {run.cpu_ms:.2f} CPU ms/page"
                )
        time.sleep(2)  # the recorder writes every second
        written_2s = views(url, ids) - before
    written = views(url, ids) - before  # the servers stopped: their last batches are in
    return Result(runs, answered, sent, written, written_2s, written_off)


def med(runs: list[Run], attr: str) -> float:
    return float(statistics.median(getattr(r, attr) for r in runs))


def main() -> None:
    from bench.__main__ import pg_url  # here: bench.__main__ imports this module

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=4, help="seconds of each measured run")
    parser.add_argument("--rounds", type=int, default=5, help="off/on pairs per database")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    console = Console(width=160)
    results: dict[str, tuple[int, Result]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.only in (None, "postgres"):
            url = pg_url("engagement")
            if url is None:
                console.print("[yellow]PostgreSQL unreachable: skipped[/]")
            else:
                try:
                    pg = measure(url, work / "pg", 2, args.rounds, args.seconds, console)
                    results["PostgreSQL"] = (2, pg)
                finally:
                    drop_postgres_database(url)
        if args.only in (None, "sqlite"):
            lite = f"sqlite:///{work / 'engagement.db'}"
            sq = measure(lite, work / "lite", 1, args.rounds, args.seconds, console)
            results["SQLite"] = (1, sq)

    table = Table(
        title=f"Credential page GET /c/{{id}}, browser User-Agent, {CONNECTIONS} connections"
        f" (wrk), {CREDENTIALS} credentials: recording on vs off"
        f" (median of {args.rounds} runs of {args.seconds} s each)"
    )
    for col in ("database", "procs", "recording", "pages/s", "p50", "p99", "CPU/page",
                "target", "views answered", "views written", "counted"):  # fmt: skip
        table.add_column(col, justify="right")
    for name, (workers, res) in results.items():
        on = [r for r in res.runs if r.on]
        off = [r for r in res.runs if not r.on]
        ratio = med(on, "per_second") / med(off, "per_second")
        verdict = "[green]PASS[/]" if ratio >= TARGET else "[red]FAIL[/]"
        pairs = [a.per_second / b.per_second for a, b in zip(on, off, strict=True)]
        console.log(f"{name}: pages/s on/off round by round: {[round(x, 3) for x in pairs]}")
        for label, rs in (("off", off), ("on", on)):
            table.add_row(
                name,
                str(workers),
                label,
                f"{med(rs, 'per_second'):,.0f}",
                f"{med(rs, 'p50_ms'):.1f} ms",
                f"{med(rs, 'p99_ms'):.1f} ms",
                f"{med(rs, 'cpu_ms'):.2f} ms",
                "",
                f"{res.answered:,} (sent {res.sent:,})" if label == "on" else "",
                f"{res.written:,} ({res.written_2s:,} at +2 s)"
                if label == "on"
                else f"{res.written_off:,}",
                "",
            )
        table.add_row(
            name,
            "",
            "on/off",
            f"{ratio:.3f}x",
            f"{med(on, 'p50_ms') / med(off, 'p50_ms'):.3f}x",
            f"{med(on, 'p99_ms') / med(off, 'p99_ms'):.3f}x",
            f"{med(on, 'cpu_ms') / med(off, 'cpu_ms'):.3f}x",
            f"{verdict} (pages/s >= {TARGET:.2f}x)",
            "",
            "",
            "[green]yes[/]" if res.counted else "[red]NO[/]",
            end_section=True,
        )
    console.print(table)
    console.print(
        "Two servers on one database, CREDO_ENGAGEMENT=false and =true, loaded in turn (off on,"
        " on off, ...). on/off: the median over the 'on' runs over that over the 'off' runs"
        " (target: pages/s >= 0.90x). CPU/page: every process of the loaded server. views"
        " answered: the 200s wrk saw from the 'on' server (warm-up included), and the requests"
        " it sent; views written: what engagement_counts gained, after both servers stopped"
        " (and 2 s after the last load). counted: answered <= written <= sent (the server"
        " finishes, and counts, the requests in flight at wrk's deadline), and the 'off' server"
        " wrote nothing."
    )


if __name__ == "__main__":
    main()
