"""`make bench`: the issuing benchmarks on SQLite and PostgreSQL, with in-run baselines.

Bulk: one POST /v1/credentials/bulk of 10,000 credentials to 9,000 distinct recipients
through a served process (1 worker), against the baseline of the same rows put in by the
database driver alone. Single publishes: bench.publishing (wrk against pgbench). Then the
recipient side, engagement recording (on against off), certificates, the runtime, and
bench.scale (the same requests on an empty database and on one of a million credentials).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table
from tests.e2e.server import running_server

from bench import (
    baseline,
    certificates,
    engagement,
    operations,
    peer,
    publishing,
    recipient,
    scale,
    signing,
)
from bench.server import peak_rss_mb
from bench.then import BEFORE, Release, release_or_none
from bench.workloads import bulk_publish, new_org

N, DISTINCT, RUNS = 10_000, 9_000, 3


def pg_url(name: str = "bench") -> str | None:
    from tests.databases import create_postgres_database, postgres_url

    url = postgres_url(name)
    return None if create_postgres_database(url) else url


@contextmanager
def served(
    url: str, workdir: Path, workers: int, release: Release | None = None
) -> Iterator[tuple[str, int]]:
    # The recipients' e-mails queue up; a worker delivering them would take CPU from the
    # next bulk (both releases read CREDO_WORKER_IN_SERVER).
    env = {"CREDO_WORKER_IN_SERVER": "false", **(release.env if release else {})}
    ready = release.ready_path if release else "/readyz"
    with running_server(url, workdir, workers=workers, extra_env=env, ready_path=ready) as s:
        yield s.base_url, s.pid


def run(
    name: str, url: str, console: Console, workdir: Path, then: tuple[Release, str] | None
) -> dict[str, float]:
    """`then`: an earlier commit's code (bench.then) and a database of its own for it."""
    out: dict[str, float] = {}
    if then is not None:
        release, then_url = then
        with served(then_url, workdir / "bulk-then", 1, release) as (base, _):
            old = [bulk_publish(base, new_org(base), N, DISTINCT) for _ in range(RUNS)]
        out["then_s"] = statistics.median(b.seconds for b in old)
    with served(url, workdir / "bulk", workers=1) as (base, pid):
        bulk = [bulk_publish(base, new_org(base), N, DISTINCT) for _ in range(RUNS)]
        out["rss"] = peak_rss_mb(pid)
        base_org = new_org(base)
        plain = [
            baseline.plain_insert_seconds(url, base_org.id, base_org.group_id, N, DISTINCT)
            for _ in range(RUNS)
        ]
    out["bulk_s"] = statistics.median(b.seconds for b in bulk)
    out["engine_s"] = statistics.median(b.seconds - b.sign_seconds for b in bulk)
    out["sign_s"] = statistics.median(b.sign_seconds for b in bulk)
    out["plain_s"] = statistics.median(plain)
    console.log(f"{name} done")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--no-signing", action="store_true", help="skip bench.signing")
    parser.add_argument("--against", default=BEFORE, help="commit to compare with ('' for none)")
    args = parser.parse_args()
    console = Console(width=150)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        release = release_or_none(stack, args.against, console.print)
        if args.only in (None, "sqlite"):
            lite_then = (release, f"sqlite:///{Path(tmp) / 'then.db'}") if release else None
            results["SQLite"] = run(
                "SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", console, Path(tmp), lite_then
            )
        if args.only in (None, "postgres"):
            url = pg_url()
            if url is None:
                console.print("[yellow]PostgreSQL unreachable: skipped[/]")
            else:
                then_url = pg_url("bench_then") if release else None
                pg_then = (release, then_url) if release and then_url else None
                results["PostgreSQL"] = run("PostgreSQL", url, console, Path(tmp), pg_then)

    table = Table(
        title=f"Bulk publish: {N:,} credentials, {DISTINCT:,} recipients (median of {RUNS})"
    )
    columns = (
        "database",
        "signed bulk",
        "signed/s",
        "of which documents",
        "engine (rest)",
        "plain insert",
        "engine ratio",
        "peak RSS",
        f"at {release.commit[:7]}" if release else "earlier commit",
        "now/then",
    )
    for col in columns:
        table.add_column(col, justify="right")
    for name, r in results.items():
        table.add_row(
            name,
            f"{r['bulk_s'] * 1000:,.0f} ms",
            f"{N / r['bulk_s']:,.0f}",
            f"{r['sign_s'] * 1000:,.0f} ms",
            f"{r['engine_s'] * 1000:,.0f} ms",
            f"{r['plain_s'] * 1000:,.0f} ms",
            f"{r['plain_s'] / r['engine_s']:.2f}x",
            f"{r['rss']:.0f} MB",
            f"{r['then_s'] * 1000:,.0f} ms" if "then_s" in r else "-",
            f"{r['then_s'] / r['bulk_s']:.2f}x" if "then_s" in r else "-",
        )
    console.print(table)
    console.print(
        "signed bulk: the POST as the client sees it, every credential signed (target >= 2,000/s)."
        " engine: that time less the server's documents phase (building, signing, serializing; from Server-Timing): HTTP, validation,"
        " pricing, seats, ledger and storage. engine ratio = plain-insert time / engine time"
        " (1.00x = the database's own speed; target >= 0.33x)."
    )


if __name__ == "__main__":
    only, no_signing = "--only" in sys.argv, "--no-signing" in sys.argv
    main()
    sys.argv = [sys.argv[0]]
    if not only:
        publishing.main()
        peer.main()  # skipped, saying why, without a checkout of the peer (CREDO_BENCH_DCC)
        recipient.main()
        engagement.main()  # the credential page with engagement recording on against off
        certificates.main()
        operations.main()
        scale.main()  # a million credentials: several minutes
    if not no_signing:
        signing.main()
