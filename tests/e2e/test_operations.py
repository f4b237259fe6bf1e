"""Operating a real `credo serve --workers 2` on PostgreSQL: `/metrics` adds up every
process (both API workers and the worker child), the logs are one JSON object a line with
request ids and durations, and a run's logs hold no e-mail address, key or token."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from tests.dashboard.mail import html_of
from tests.databases import drop_postgres_database
from tests.e2e.server import _postgres_database, running_server
from tests.integration.test_observability import sample
from tests.smtp import running_smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RECIPIENTS = [f"ops.person{i}@example.org" for i in range(3)]


def test_metrics_and_logs_of_a_served_run(tmp_path: Path) -> None:
    database = _postgres_database()
    try:
        with running_smtp_server() as smtp:
            env = {
                "CREDO_LOG_FORMAT": "json",
                "CREDO_SMTP_HOST": smtp.host,
                "CREDO_SMTP_PORT": str(smtp.port),
                "CREDO_SMTP_SECURITY": "none",
            }
            with (
                running_server(
                    database, tmp_path, backend="postgres", workers=2, extra_env=env
                ) as server,
                httpx.Client(base_url=server.base_url, timeout=60) as http,
            ):
                org = server.create_org(http, sandbox=True)
                key = org["api_key"]
                auth = {"Authorization": f"Bearer {key}"}
                group = http.post("/v1/groups", json={"name": "Ops"}, headers=auth).json()
                ids = []
                for email in RECIPIENTS:
                    body = {
                        "group_id": group["group"]["id"],
                        "recipient": {"name": "Ops Person", "email": email},
                    }
                    r = http.post("/v1/credentials", json=body, headers=auth)
                    assert r.status_code == 201, r.text
                    ids.append(r.json()["credential"]["id"])
                received = smtp.wait_for(len(RECIPIENTS), timeout=60)
                manage = re.search(
                    r"(/c/cred_[0-9a-f]+/manage\?token=[A-Za-z0-9_-]+)",
                    html_of(received[0]).replace("&amp;", "&"),
                )
                assert manage, "the e-mail carries the private manage link"
                assert http.get(manage.group(1)).status_code == 200
                assert http.get("/v1/credentials/cred_" + "0" * 32, headers=auth).status_code == 404
                assert (
                    http.get(
                        "/v1/credits", headers={"Authorization": "Bearer credo_sk_wrong"}
                    ).status_code
                    == 401
                )
                for _ in range(40):
                    assert (
                        http.get("/readyz", headers={"X-Request-ID": "ops-probe"}).status_code
                        == 200
                    )
                deadline = time.monotonic() + 30
                while True:
                    metrics = http.get("/metrics", headers=server.admin_headers)
                    assert metrics.status_code == 200
                    text = metrics.text
                    # The worker child flushes its counters with each batch.
                    if sample(text, "credo_mail_total", outcome="sent") >= len(RECIPIENTS):
                        break
                    assert time.monotonic() < deadline, text[-3000:]
                    time.sleep(0.5)
                ready = sample(
                    text, "credo_http_requests_total", method="GET", route="/readyz", status="200"
                )
                assert ready >= 40  # both API processes' requests, added up
                assert sample(text, "credo_credits_charged_total") == len(RECIPIENTS)
                assert "credo_queue_pending" in text
                secrets_seen = [key, server.admin_token, manage.group(1).rpartition("=")[2]]
    finally:
        drop_postgres_database(database)

    log = (tmp_path / "server-1.stderr.log").read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]  # all JSON
    requests = [line for line in lines if line["message"] == "request"]
    assert {"request_id", "route", "status", "duration_ms", "method"} <= set(requests[0])
    probes = [line for line in requests if line.get("request_id") == "ops-probe"]
    assert len(probes) == 40 and all(line["route"] == "/readyz" for line in probes)
    publishes = [line for line in requests if line["route"] == "/v1/credentials"]
    assert publishes and all(
        line["organization_id"] == org["organization"]["id"] for line in publishes
    )
    assert any(line["message"] == "mail batch" for line in lines)
    for secret in [*RECIPIENTS, *secrets_seen]:
        assert secret not in log, f"a secret is in the logs: {secret[:12]}..."
    assert "example.org" not in log
