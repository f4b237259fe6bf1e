"""`python -m bench.recipient`: the recipient side's speed, on a served SQLite Credo.

- Credential page `GET /c/{id}` (target: median under 50 ms), against the baseline of the
  signed file `GET /c/{id}.json` of the same credentials (a database read and no template).
- PDF certificate `GET /c/{id}.pdf`, first request of each credential (rendered; target:
  median under 300 ms), and repeated (from the kept file), against the baseline of
  WeasyPrint rendering a one-line HTML page in the same process.
- Badge `GET /c/{id}.png` first (rendered and baked) and repeated.

Each credential is fetched once "first" and then again; every figure is over distinct
credentials, so no first render is served from a cache.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from tests.e2e.server import running_server

from bench.workloads import Org, new_org

PAGES, PDFS, BADGES = 300, 40, 40


def publish(base: str, org: Org, n: int) -> list[str]:
    items = [
        {"recipient": {"name": f"Ada Lovelace {i}", "email": f"ada{i}@example.org"}}
        for i in range(n)
    ]
    r = httpx.post(
        f"{base}/v1/credentials/bulk",
        json={"group_id": org.group_id, "credentials": items},
        headers={"Authorization": f"Bearer {org.key}"},
        timeout=120,
    )
    r.raise_for_status()
    return [c["id"] for c in r.json()["credentials"]]


def timed(client: httpx.Client, url: str, media: str) -> float:
    start = time.perf_counter()
    r = client.get(url)
    elapsed = time.perf_counter() - start
    if r.status_code != 200 or not r.headers["content-type"].startswith(media):
        raise RuntimeError(f"GET {url}: {r.status_code} {r.text[:200]}")
    return elapsed


def series(client: httpx.Client, base: str, ids: list[str], suffix: str, media: str) -> list[float]:
    return [timed(client, f"{base}/c/{i}{suffix}", media) for i in ids]


def weasyprint_baseline(n: int = 20) -> list[float]:
    from weasyprint import HTML

    HTML(string="<p>warm up</p>").write_pdf()
    out = []
    for i in range(n):
        start = time.perf_counter()
        HTML(string=f"<p>Certificate {i}</p>").write_pdf()
        out.append(time.perf_counter() - start)
    return out


def ms(xs: list[float], q: float = 0.5) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def measure(url: str, workdir: Path) -> list[tuple[str, list[float], list[float], str]]:
    with running_server(url, workdir, workers=1) as server:
        base = server.base_url
        ids = publish(base, new_org(base), PAGES)
        with httpx.Client(timeout=60) as client:
            for suffix, media in FORMATS:  # first requests of a process: imports, fonts
                timed(client, f"{base}/c/{ids[0]}{suffix}", media)
            page = series(client, base, ids[1:], "", "text/html")
            page_again = series(client, base, ids[1:], "", "text/html")
            signed = series(client, base, ids[1:], ".json", "application/")
            pdf_first = series(client, base, ids[1 : 1 + PDFS], ".pdf", "application/pdf")
            pdf_again = series(client, base, ids[1 : 1 + PDFS], ".pdf", "application/pdf")
            png_first = series(client, base, ids[1 : 1 + BADGES], ".png", "image/png")
            png_again = series(client, base, ids[1 : 1 + BADGES], ".png", "image/png")
    floor = weasyprint_baseline()
    return [
        ("credential page (first view)", page, signed, "GET .json"),
        ("credential page (again)", page_again, signed, "GET .json"),
        ("PDF certificate, rendered", pdf_first, floor, "WeasyPrint, one line"),
        ("PDF certificate, kept", pdf_again, signed, "GET .json"),
        ("badge PNG, rendered and baked", png_first, signed, "GET .json"),
        ("badge PNG, kept", png_again, signed, "GET .json"),
    ]


FORMATS = (
    ("", "text/html"),
    (".json", "application/"),
    (".pdf", "application/pdf"),
    (".png", "image/png"),
)


def main() -> None:
    from bench.__main__ import pg_url

    console = Console(width=140)
    with tempfile.TemporaryDirectory() as tmp:
        results = {"SQLite": measure(f"sqlite:///{Path(tmp) / 'page.db'}", Path(tmp) / "s")}
        url = pg_url()
        if url is not None:
            results["PostgreSQL"] = measure(url, Path(tmp) / "p")
    for db, rows in results.items():
        table = Table(title=f"Recipient side on {db} (1 process), client-side latency")
        for col in ("request", "n", "p50", "p95", "baseline", "baseline p50", "p50 ratio"):
            table.add_column(col, justify="right")
        for name, xs, base_xs, base_name in rows:
            table.add_row(
                name,
                str(len(xs)),
                f"{ms(xs):.1f} ms",
                f"{ms(xs, 0.95):.1f} ms",
                base_name,
                f"{ms(base_xs):.1f} ms",
                f"{ms(xs) / ms(base_xs):.1f}x",
            )
        console.print(table)
    console.print(
        "Targets: page p50 < 50 ms, PDF p50 < 300 ms. ratio = this request's median over its "
        "baseline's median, measured in the same run."
    )


if __name__ == "__main__":
    main()
