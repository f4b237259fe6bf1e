"""What operators see: request ids, Prometheus metrics behind the operator token, one log
line per request by route template, and no secret in any log line."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from credo.logs import JsonFormatter, Scrub, scrub
from tests.conftest import ADMIN, Org


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 when absent."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        got = re.search(r"\{(.*)\}", metric)
        found = ",".join(sorted(got.group(1).split(","))) if got else ""
        if metric.split("{")[0] == name and found == want:
            return float(value)
    return 0.0


def test_a_request_id_is_returned_and_a_callers_sane_one_kept(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abcd"})
    assert r.headers["X-Request-ID"] == "lb-1234.abcd"
    new = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", new)
    for insane in (b"a b", b"x" * 300, b"<script>", "é".encode()):
        got = client.get("/healthz", headers={b"X-Request-ID": insane}).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", got), insane
    assert "total;dur=" in r.headers["Server-Timing"]


def test_metrics_need_the_operator_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["status"] == 401
    r = client.get("/metrics", headers=ADMIN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")


def test_metrics_count_requests_by_route_template_charges_and_queues(
    client: TestClient, org: Org
) -> None:
    gid = org.group()
    before = client.get("/metrics", headers=ADMIN).text
    r = org.issue(gid, "metrics@example.org")
    assert r.status_code == 201
    cred = r.json()["credential"]["id"]
    assert org.get(f"/v1/credentials/{cred}").status_code == 200
    org.get("/v1/credentials/cred_" + "0" * 32)  # 404
    after = client.get("/metrics", headers=ADMIN).text
    route = "/v1/credentials/{cred_id}"
    for status in ("200", "404"):
        got = sample(after, "credo_http_requests_total", method="GET", route=route, status=status)
        was = sample(before, "credo_http_requests_total", method="GET", route=route, status=status)
        assert got - was == 1, (status, got, was)
    assert cred not in after  # ids never become labels
    charged = sample(after, "credo_credits_charged_total") - sample(
        before, "credo_credits_charged_total"
    )
    assert charged == 1
    assert sample(after, "credo_queue_pending", queue="mail.credential") >= 1
    assert "credo_queue_oldest_due_age_seconds" in after
    assert 'credo_http_request_duration_seconds_bucket{le="0.005",method="GET"' in after
    assert 'credo_phase_duration_seconds_count{phase="sign"}' in after


def test_a_refusal_is_counted(client: TestClient, org: Org) -> None:
    gid = org.group()
    before = client.get("/metrics", headers=ADMIN).text
    body = {
        "group_id": gid,
        "credentials": [{"recipient": {"name": "P", "email": f"p{i}@x.org"}} for i in range(251)],
    }
    assert org.post("/v1/credentials/bulk", body).status_code == 402
    after = client.get("/metrics", headers=ADMIN).text
    code = "insufficient_credits"
    assert (
        sample(after, "credo_publish_refusals_total", code=code)
        - sample(before, "credo_publish_refusals_total", code=code)
        == 1
    )


def test_each_request_is_one_log_line_with_its_ids(
    client: TestClient, org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="credo.http"):
        org.client.get("/v1/credits", headers={**org.auth, "X-Request-ID": "trace-42"})
    [line] = [r for r in caplog.records if r.name == "credo.http"]
    assert line.request_id == "trace-42"  # type: ignore[attr-defined]
    assert line.route == "/v1/credits" and line.status == 200  # type: ignore[attr-defined]
    assert line.organization_id == org.id  # type: ignore[attr-defined]
    assert line.duration_ms >= 0  # type: ignore[attr-defined]
    formatted = json.loads(JsonFormatter().format(line))
    assert formatted["route"] == "/v1/credits" and formatted["request_id"] == "trace-42"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("550 5.1.1 <ann.lee+x@example.org>: no such user", "ann.lee+x@example.org"),
        ("key credo_sk_AbC123_-xyz was revoked", "credo_sk_AbC123_-xyz"),
        ("Authorization: Bearer s3cr3t-token", "s3cr3t-token"),
        ("GET /c/cred_1/manage?token=abcDEF123&x=1", "abcDEF123"),
        ("GET /password-reset/Zm9vYmFyYmF6", "Zm9vYmFyYmF6"),
        (
            "signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        ("url postgresql://u:password=hunter2@db", "hunter2"),
    ],
)
def test_secrets_are_scrubbed_from_log_lines(text: str, secret: str) -> None:
    assert secret not in scrub(text)
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "said: %s", (text,), None)
    Scrub().filter(record)
    assert secret not in JsonFormatter().format(record)
