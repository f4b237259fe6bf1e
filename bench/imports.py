"""Spreadsheet imports: upload + validate + preview time for a 50,000-row CSV, and the
background publisher's throughput, against the plain API bulk for the same rows.

    python -m bench.imports [--rows 50000] [--distinct 40000] [--database-url URL]

In-process (a TestClient, no network): the numbers are the services' own cost. The
baseline posts the same rows to POST /v1/credentials/bulk in bulks of 10,000 (the API's
maximum). Measured and printed, never asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from credo.bootstrap import bootstrap
from credo.entrypoints.api.app import create_app
from credo.services.importing import imports
from credo.settings import Settings

ADMIN = "bench-operator-token-0123456789abcdef"
MASTER_KEY = "Y3JlZG8tdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzISE"
MAPPING: dict[str, int | None] = {"name": 0, "email": 1, "issued_on": 2, "expires_on": None}


def csv_bytes(rows: int, distinct: int) -> bytes:
    lines = ["Name,Email,Issue date"]
    lines += [f"Person {i},person{i % distinct}@example.org,25/11/2025" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def new_org(client: TestClient, name: str, credits: int) -> tuple[str, dict[str, str], str]:
    r = client.post(
        "/v1/admin/organizations",
        json={"name": name, "plan": "growth", "credits": credits},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    r.raise_for_status()
    org_id, key = r.json()["organization"]["id"], r.json()["api_key"]
    auth = {"Authorization": f"Bearer {key}"}
    g = client.post("/v1/groups", json={"name": "Bench"}, headers=auth)
    g.raise_for_status()
    return org_id, auth, g.json()["group"]["id"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--distinct", type=int, default=40_000)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="credo-bench-imports-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    settings = Settings(
        environment="test",
        database_url=url,
        admin_token=ADMIN,
        master_key=MASTER_KEY,
        mailbox_dir=str(tmp / "mail"),
    )
    credo = bootstrap(settings, migrate=True)
    client = TestClient(create_app(credo))
    data = csv_bytes(args.rows, args.distinct)
    print(f"{args.rows:,} rows ({args.distinct:,} distinct recipients), {len(data) / 1e6:.1f} MB")

    for publish in (False, True):
        org_id, _, gid = new_org(client, f"Import {publish}", args.rows + 10)
        t0 = time.perf_counter()
        table = imports.read_upload("bench.csv", data)
        t1 = time.perf_counter()
        job = credo.runner.write(
            lambda uow, table=table, org_id=org_id, gid=gid: imports.create(
                uow, credo.ctx, org_id, None, gid, "bench.csv", table
            )
        )
        t2 = time.perf_counter()
        job, _ = credo.runner.write(
            lambda uow, job=job, org_id=org_id: imports.validate(
                uow, credo.ctx, org_id, job.id, MAPPING, day_first=True
            )
        )
        t3 = time.perf_counter()
        cost = credo.runner.write(lambda uow, job=job: imports.preview(uow, credo.ctx, job))
        t4 = time.perf_counter()
        credo.runner.write(
            lambda uow, job=job, org_id=org_id, publish=publish: imports.start(
                uow, credo.ctx, org_id, job.id, publish=publish
            )
        )
        final = imports.run(credo.uow, credo.ctx, org_id, job.id)
        t5 = time.perf_counter()
        assert final.state == "done", final.error
        kind = "publish" if publish else "drafts"
        print(
            f"import/{kind}: read {t1 - t0:.2f}s, store {t2 - t1:.2f}s, validate {t3 - t2:.2f}s, "
            f"preview {t4 - t3:.2f}s ({cost.credits_required:,} credits) = "
            f"{t4 - t0:.2f}s before confirming; {kind} {t5 - t4:.2f}s "
            f"({args.rows / (t5 - t4):,.0f} rows/s, chunks of {imports.CHUNK:,})"
        )

    for publish in (False, True):
        _, auth, gid = new_org(client, f"API {publish}", args.rows + 10)
        t0 = time.perf_counter()
        for start in range(0, args.rows, 10_000):
            body = {
                "group_id": gid,
                "publish": publish,
                "credentials": [
                    {
                        "recipient": {
                            "name": f"Person {i}",
                            "email": f"person{i % args.distinct}@example.org",
                        },
                        "issued_on": "2025-11-25",
                    }
                    for i in range(start, min(args.rows, start + 10_000))
                ],
            }
            r = client.post("/v1/credentials/bulk", json=body, headers=auth)
            assert r.status_code == 201, r.text[:300]
        t1 = time.perf_counter()
        kind = "publish" if publish else "drafts"
        print(
            f"baseline API bulk/{kind}: {t1 - t0:.2f}s ({args.rows / (t1 - t0):,.0f} rows/s, "
            "bulks of 10,000)"
        )
    client.close()
    credo.close()


if __name__ == "__main__":
    main()
