"""The bulk workload: one organization, one POST /v1/credentials/bulk."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import httpx
from tests.e2e.server import ADMIN_TOKEN

# Lua for wrk scripts: each thread learns its number (tid, from 1) in init, and setup keeps
# every thread in `threads`, where done() reads their counters.
WRK_THREADS = """
local tid = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
end
"""


@dataclass
class Org:
    id: str
    key: str
    group_id: str


def new_org(base: str, credits: int = 1_000_000) -> Org:
    r = httpx.post(
        f"{base}/v1/admin/organizations",
        json={"name": f"Bench {uuid.uuid4().hex[:8]}", "plan": "enterprise", "credits": credits},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )
    r.raise_for_status()
    body = r.json()
    key = body["api_key"]
    g = httpx.post(
        f"{base}/v1/groups",
        json={"name": "Benchmark course", "expires_after_months": 24},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    g.raise_for_status()
    return Org(body["organization"]["id"], key, g.json()["group"]["id"])


def bulk_body(group_id: str, n: int, distinct: int, tag: str) -> bytes:
    items = [
        {"recipient": {"name": f"Recipient {i}", "email": f"{tag}{i % distinct}@example.org"}}
        for i in range(n)
    ]
    return json.dumps({"group_id": group_id, "credentials": items}).encode()


@dataclass
class Bulk:
    seconds: float  # as the client saw it
    sign_seconds: float  # the server's documents phase: build, sign, serialize (Server-Timing)


def server_timing(header: str) -> dict[str, float]:
    phases = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            phases[name] = float(dur) / 1000
    return phases


def bulk_publish(base: str, org: Org, n: int, distinct: int) -> Bulk:
    body = bulk_body(org.group_id, n, distinct, uuid.uuid4().hex[:6])
    headers = {"Authorization": f"Bearer {org.key}", "Content-Type": "application/json"}
    with httpx.Client(timeout=300) as client:
        start = time.perf_counter()
        r = client.post(f"{base}/v1/credentials/bulk", content=body, headers=headers)
        elapsed = time.perf_counter() - start
    if r.status_code != 201 or r.json()["credits_charged"] != distinct:
        raise RuntimeError(f"bulk failed: {r.status_code} {r.text[:300]}")
    phases = server_timing(r.headers.get("server-timing", ""))
    return Bulk(elapsed, phases.get("documents", 0.0))
