"""Webhooks: endpoints through the API, events written in the transaction of their change,
delivered by the worker to a real HTTP server, signed as Standard Webhooks prescribes,
retried on schedule, disabled after five failing days, and safe to point anywhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from standardwebhooks.webhooks import Webhook as StandardWebhook

from credo.adapters.db import tables as t
from credo.adapters.webhook_sender import HttpSender
from credo.bootstrap import App, bootstrap
from credo.clock import FixedClock
from credo.domain.accounts import Role
from credo.domain.entities import OutboxMessage
from credo.domain.webhooks import DISABLED_MAIL, RETRY_DELAYS
from credo.entrypoints.api.app import create_app
from credo.services.mail import notifications
from credo.services.webhooks.ports import Outgoing
from credo.settings import Settings
from tests.conftest import ADMIN_TOKEN, MASTER_KEY, Org, create_org
from tests.dashboard.helpers import make_person
from tests.tls import self_signed
from tests.webhook_receiver import Answer, Receiver
from tests.webhook_receiver import receiver as receiver_fixture
from tests.webhook_receiver import settled_webhooks as settled_webhooks_fixture

settled_webhooks = settled_webhooks_fixture


@pytest.fixture(autouse=True)
def _settle(settled_webhooks: None) -> None:
    """This module makes webhook endpoints: they are settled after each test."""


receiver = receiver_fixture
ALL = ["credential.published", "credential.updated", "credential.revoked",
       "credential.suspended", "credential.unsuspended", "credential.deleted",
       "credential.expired", "credits.threshold_reached", "credits.publish_refused"]  # fmt: skip


def _app(engine: Engine, url: str, clock: FixedClock, **settings: Any) -> App:
    values: dict[str, Any] = {
        "environment": "development",
        "database_url": url,
        "admin_token": ADMIN_TOKEN,
        "master_key": MASTER_KEY,
        "webhook_allow_private_networks": True,
        **settings,
    }
    return bootstrap(Settings(**values), clock=clock, engine=engine)


@pytest.fixture
def hooked(engine: Engine, database_url: str, clock: FixedClock) -> App:
    """A development server that may send to 127.0.0.1, where the test's receiver is."""
    return _app(engine, database_url, clock)


@pytest.fixture
def hclient(hooked: App) -> Iterator[TestClient]:
    with TestClient(create_app(hooked), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def horg(hclient: TestClient) -> Org:
    return create_org(hclient, sandbox=True, anchor="2026-01-15")


def subscribe(org: Org, url: str, events: list[str] | None = None) -> dict[str, Any]:
    r = org.post("/v1/webhooks", {"url": url, "events": events or ALL})
    assert r.status_code == 201, r.text
    hook: dict[str, Any] = r.json()["webhook"]
    return hook


def deliver(app: App) -> int:
    worker = app.webhook_worker("test")
    try:
        return worker.drain()
    finally:
        worker.close()


def expected_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """Computed here from the Standard Webhooks text, not by the library Credo signs with."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def advance(clock: FixedClock, by: timedelta) -> None:
    clock.set(clock.now() + by)


# ------------------------------------------------------------------------------- the API


def test_an_endpoint_is_made_shown_changed_and_deleted(
    horg: Org, receiver: Receiver, hooked: App
) -> None:
    r = horg.post(
        "/v1/webhooks",
        {"url": receiver.url, "events": ["credential.published"], "description": "LMS"},
    )
    assert r.status_code == 201, r.text
    made = r.json()["webhook"]
    assert made["secret"].startswith("whsec_")
    assert len(base64.b64decode(made["secret"][6:])) == 24
    assert made["events"] == ["credential.published"] and made["enabled"] is True
    with hooked.engine.connect() as conn:
        sealed = conn.scalar(select(t.webhooks.c.secret).where(t.webhooks.c.id == made["id"]))
    assert sealed is not None and made["secret"].encode() not in sealed
    assert made["secret"][6:].encode() not in sealed

    one = horg.get(f"/v1/webhooks/{made['id']}").json()["webhook"]
    listed = horg.get("/v1/webhooks").json()["webhooks"]
    assert "secret" not in one and [h["id"] for h in listed] == [made["id"]]
    assert all("secret" not in h for h in listed)

    r = horg.patch(
        f"/v1/webhooks/{made['id']}",
        {"events": ["credential.revoked", "credential.published"], "description": None},
    )
    assert r.status_code == 200, r.text
    changed = r.json()["webhook"]
    assert changed["events"] == ["credential.revoked", "credential.published"]
    assert changed["description"] is None and changed["url"] == receiver.url

    assert horg.delete(f"/v1/webhooks/{made['id']}").status_code == 204
    assert horg.get(f"/v1/webhooks/{made['id']}").status_code == 404
    assert horg.get("/v1/webhooks").json()["webhooks"] == []


def test_another_organizations_endpoint_is_not_found(
    horg: Org, hclient: TestClient, receiver: Receiver
) -> None:
    hook = subscribe(horg, receiver.url)
    other = create_org(hclient, sandbox=True)
    for r in (
        other.get(f"/v1/webhooks/{hook['id']}"),
        other.patch(f"/v1/webhooks/{hook['id']}", {"enabled": False}),
        other.delete(f"/v1/webhooks/{hook['id']}"),
        other.post(f"/v1/webhooks/{hook['id']}/test"),
        other.post(f"/v1/webhooks/{hook['id']}/rotate-secret"),
        other.get(f"/v1/webhooks/{hook['id']}/deliveries"),
    ):
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert horg.get(f"/v1/webhooks/{hook['id']}").json()["webhook"]["enabled"] is True


def count_rows(app: App) -> tuple[int, int]:
    with app.engine.connect() as conn:
        hooks = conn.scalar(select(func.count()).select_from(t.webhooks))
        deliveries = conn.scalar(select(func.count()).select_from(t.webhook_deliveries))
    return int(hooks or 0), int(deliveries or 0)


@pytest.mark.parametrize(
    "body",
    [
        {"url": "not a url", "events": ["credential.published"]},
        {"url": "ftp://hooks.example.com/x", "events": ["credential.published"]},
        {"url": "https://", "events": ["credential.published"]},
        {"url": "https://user:pw@hooks.example.com/x", "events": ["credential.published"]},
        {"url": "https://hooks.example.com:99999/x", "events": ["credential.published"]},
        {"url": "https://hooks.example.com/x", "events": ["credential.exploded"]},
        {"url": "https://hooks.example.com/x", "events": []},
        {"url": "https://hooks.example.com/x"},
        {"url": "https://hooks.example.com/x", "events": "credential.published"},
        {"url": "https://hooks.example.com/x", "events": ["credential.published"], "x": 1},
        {"url": "https://" + "a" * 2000 + ".com/", "events": ["credential.published"]},
        {"url": "http://hooks.example.com/x", "events": ["credential.published"]},
        {"url": "https://127.0.0.1/x", "events": ["credential.published"]},
        {"url": "https://[::1]/x", "events": ["credential.published"]},
        {"url": "https://10.1.2.3/x", "events": ["credential.published"]},
        {"url": "https://169.254.169.254/latest", "events": ["credential.published"]},
        {"url": "https://[::ffff:192.168.0.1]/x", "events": ["credential.published"]},
        {"url": "https://localhost/x", "events": ["credential.published"]},
        {"url": "https://hooks.example.com/x\u0000", "events": ["credential.published"]},
    ],
)
def test_bad_webhook_input_is_a_422_problem_and_changes_nothing(
    org: Org, credo: App, body: dict[str, Any]
) -> None:
    """In production settings (the default fixture): https only, no private addresses."""
    before = count_rows(credo)
    r = org.post("/v1/webhooks", body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 422
    assert count_rows(credo) == before


def test_too_many_endpoints_is_a_422(org: Org, credo: App) -> None:
    for i in range(20):
        r = org.post("/v1/webhooks", {"url": f"https://h{i}.example.com/", "events": ALL})
        assert r.status_code == 201, r.text
    before = count_rows(credo)
    r = org.post("/v1/webhooks", {"url": "https://one-more.example.com/", "events": ALL})
    assert r.status_code == 422, r.text
    assert "at most 20" in r.json()["detail"]
    assert count_rows(credo) == before
    r = org.patch(f"/v1/webhooks/{org.get('/v1/webhooks').json()['webhooks'][0]['id']}",
                  {"url": "http://plain.example.com/"})  # fmt: skip
    assert r.status_code == 422, r.text


# ------------------------------------------------------------------------- delivery


def test_a_publish_is_delivered_signed_with_the_apis_representation(
    horg: Org, receiver: Receiver, hooked: App
) -> None:
    hook = subscribe(horg, receiver.url, ["credential.published"])
    group = horg.group()
    r = horg.issue(group, "ada@example.com", "Ada")
    assert r.status_code == 201, r.text
    cred_id = r.json()["credential"]["id"]
    assert receiver.received == []  # written, not sent, by the request

    assert deliver(hooked) == 1
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.path == "/hooks"
    assert got.headers["content-type"] == "application/json"
    msg_id, ts = got.headers["webhook-id"], got.headers["webhook-timestamp"]
    assert msg_id.startswith("msg_")
    assert int(ts) == int(hooked.clock.now().timestamp())
    assert got.headers["webhook-signature"] == expected_signature(
        hook["secret"], msg_id, ts, got.body
    )
    event = json.loads(got.body)
    assert event["type"] == "credential.published"
    assert event["data"] == horg.get(f"/v1/credentials/{cred_id}").json()
    assert event["timestamp"] == "2026-02-01T12:00:00Z"

    deliveries = horg.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
    assert deliveries["next_cursor"] is None
    [d] = deliveries["deliveries"]
    assert d["id"] == msg_id and d["state"] == "succeeded" and d["last_status_code"] == 200
    assert d["last_response"] == "ok" and d["attempts"] == 1
    assert deliver(hooked) == 0  # nothing is sent twice


def test_the_library_verifies_a_delivery_made_at_real_time(
    engine: Engine, database_url: str, receiver: Receiver
) -> None:
    clock = FixedClock(datetime.now(UTC))
    app = _app(engine, database_url, clock)
    with TestClient(create_app(app), raise_server_exceptions=False) as c:
        org = create_org(c, sandbox=True)
        hook = subscribe(org, receiver.url, ["credential.published"])
        assert org.issue(org.group(), "lib@example.com").status_code == 201
        assert deliver(app) == 1
    got = receiver.received[0]
    verified = StandardWebhook(hook["secret"]).verify(got.body, got.headers)
    assert verified["type"] == "credential.published"
    with pytest.raises(Exception, match="signature"):
        StandardWebhook(hook["secret"]).verify(got.body + b" ", got.headers)


def test_only_subscribed_events_of_enabled_endpoints_are_written(
    horg: Org, receiver: Receiver, hooked: App
) -> None:
    only_revoked = subscribe(horg, receiver.url, ["credential.revoked"])
    disabled = subscribe(horg, receiver.url, ["credential.published"])
    horg.patch(f"/v1/webhooks/{disabled['id']}", {"enabled": False})
    assert horg.issue(horg.group(), "b@example.com").status_code == 201
    assert deliver(hooked) == 0
    for hook in (only_revoked, disabled):
        assert horg.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"] == []


def test_each_credential_event_carries_the_credential_after_the_change(
    horg: Org, receiver: Receiver, hooked: App
) -> None:
    subscribe(horg, receiver.url)
    group = horg.group()
    cred = horg.issue(group, "c@example.com", "Cy").json()["credential"]
    path = f"/v1/credentials/{cred['id']}"
    assert horg.patch(path, {"recipient": {"name": "Cyrus"}}).status_code == 200
    assert horg.post(f"{path}/suspend").status_code == 200
    assert horg.post(f"{path}/unsuspend").status_code == 200
    assert horg.post(f"{path}/revoke", {"reason": "issued in error"}).status_code == 200
    assert horg.delete(path).status_code == 204
    deliver(hooked)
    events = [json.loads(r.body) for r in receiver.received]
    assert sorted(e["type"] for e in events) == sorted(
        ["credential.published", "credential.updated", "credential.suspended",
         "credential.unsuspended", "credential.revoked", "credential.deleted"]
    )  # fmt: skip
    by_type = {e["type"]: e["data"]["credential"] for e in events}
    assert by_type["credential.updated"]["recipient"]["name"] == "Cyrus"
    assert by_type["credential.suspended"]["suspended"] is True
    assert by_type["credential.unsuspended"]["suspended"] is False
    assert by_type["credential.revoked"]["revocation_reason"] == "issued in error"
    assert by_type["credential.deleted"]["id"] == cred["id"]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 6


def test_a_refused_publish_sends_no_publish_event_but_a_refusal(
    hclient: TestClient, receiver: Receiver, hooked: App
) -> None:
    org = create_org(hclient, sandbox=True, plan="connect", credits=2)
    subscribe(org, receiver.url)
    group = org.group()
    assert org.issue(group, "one@example.com").status_code == 201
    r = org.post(
        "/v1/credentials/bulk",
        {"group_id": group, "credentials": [
            {"recipient": {"name": "R", "email": f"r{i}@example.com"}} for i in range(3)]},
    )  # fmt: skip
    assert r.status_code == 402, r.text
    r = org.issue(group, "two@example.com")  # the last credit: 100%
    assert r.status_code == 201, r.text
    assert org.issue(group, "three@example.com").status_code == 402
    deliver(hooked)
    events = [json.loads(x.body) for x in receiver.received]
    published = [e for e in events if e["type"] == "credential.published"]
    assert sorted(e["data"]["credential"]["recipient"]["email"] for e in published) == [
        "one@example.com",
        "two@example.com",
    ]
    refused = [e["data"]["problem"] for e in events if e["type"] == "credits.publish_refused"]
    assert sorted((p["code"], p["credits_required"], p["credits_remaining"]) for p in refused) == [
        ("insufficient_credits", 1, 0),
        ("insufficient_credits", 3, 1),
    ]
    thresholds = [e["data"] for e in events if e["type"] == "credits.threshold_reached"]
    assert sorted(d["threshold"] for d in thresholds) == [80, 100]
    assert max(thresholds, key=lambda d: d["threshold"])["remaining"] == 0


def test_a_failing_endpoint_is_retried_on_schedule_under_one_id(
    horg: Org, receiver: Receiver, hooked: App, clock: FixedClock
) -> None:
    hook = subscribe(horg, receiver.url, ["credential.published"])
    receiver.answers = [Answer(500, b"down"), Answer(503), Answer(404, b"nope")]
    assert horg.issue(horg.group(), "d@example.com").status_code == 201
    assert deliver(hooked) == 1
    for delay in RETRY_DELAYS[:3]:
        advance(clock, delay - timedelta(seconds=1))
        assert deliver(hooked) == 0  # not yet due
        advance(clock, timedelta(seconds=1))
        assert deliver(hooked) == 1
    ids = {r.headers["webhook-id"] for r in receiver.received}
    bodies = {r.body for r in receiver.received}
    assert len(receiver.received) == 4 and len(ids) == 1 and len(bodies) == 1
    [d] = horg.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"]
    assert d["state"] == "succeeded" and d["attempts"] == 4
    one = horg.get(f"/v1/webhooks/{hook['id']}/deliveries/{d['id']}").json()["delivery"]
    assert [a["status_code"] for a in one["attempts_log"]] == [500, 503, 404, 200]
    assert one["attempts_log"][0]["response"] == "down"
    assert json.loads(one["payload"])["type"] == "credential.published"
    assert horg.get(f"/v1/webhooks/{hook['id']}").json()["webhook"]["failing_since"] is None


def test_a_delivery_is_given_up_after_its_last_retry_and_can_be_resent(
    horg: Org, receiver: Receiver, hooked: App, clock: FixedClock
) -> None:
    hook = subscribe(horg, receiver.url, ["credential.published"])
    receiver.default = Answer(500, b"broken")
    assert horg.issue(horg.group(), "e@example.com").status_code == 201
    deliver(hooked)
    for delay in RETRY_DELAYS:
        advance(clock, delay)
        assert deliver(hooked) == 1
    advance(clock, timedelta(days=1))
    assert deliver(hooked) == 0
    [d] = horg.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"]
    assert d["state"] == "failed" and d["attempts"] == len(RETRY_DELAYS) + 1
    assert d["next_attempt_at"] is None
    assert len(receiver.received) == len(RETRY_DELAYS) + 1

    receiver.default = Answer(204, b"")
    r = horg.post(f"/v1/webhooks/{hook['id']}/deliveries/{d['id']}/resend")
    assert r.status_code == 202, r.text
    assert deliver(hooked) == 1
    assert receiver.received[-1].headers["webhook-id"] == d["id"]
    again = horg.get(f"/v1/webhooks/{hook['id']}/deliveries/{d['id']}").json()["delivery"]
    assert again["state"] == "succeeded" and again["last_status_code"] == 204


def test_an_endpoint_failing_for_five_days_is_disabled_and_its_owners_told(
    horg: Org, receiver: Receiver, hooked: App, clock: FixedClock
) -> None:
    owner = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    make_person(hooked, owner, horg.id, Role.OWNER)
    hook = subscribe(horg, receiver.url, ["credential.published"])
    receiver.default = Answer(500)
    for day in range(5):
        assert horg.post(f"/v1/webhooks/{hook['id']}/test").status_code == 202
        deliver(hooked)
        state = horg.get(f"/v1/webhooks/{hook['id']}").json()["webhook"]
        assert state["enabled"] is True, day
        advance(clock, timedelta(days=1))
    assert horg.post(f"/v1/webhooks/{hook['id']}/test").status_code == 202
    deliver(hooked)
    state = horg.get(f"/v1/webhooks/{hook['id']}").json()["webhook"]
    assert state["enabled"] is False and "5 days" in state["disabled_reason"]
    sent = len(receiver.received)
    assert horg.post(f"/v1/webhooks/{hook['id']}/test").status_code == 202
    advance(clock, timedelta(days=2))
    assert deliver(hooked) == 0 and len(receiver.received) == sent  # disabled: nothing goes
    with hooked.engine.connect() as conn:
        mails = conn.execute(
            select(t.outbox.c.to_address, t.outbox.c.payload).where(
                t.outbox.c.organization_id == horg.id, t.outbox.c.kind == DISABLED_MAIL
            )
        ).all()
    assert [m.to_address for m in mails] == [owner]
    assert json.loads(mails[0].payload)["url"] == receiver.url
    row = OutboxMessage(
        "mail_1", horg.id, DISABLED_MAIL, owner, None, mails[0].payload, clock.now(), clock.now()
    )
    message = notifications.compose(row, hooked.ctx, "credo@credo.example", clock.now())
    assert "webhook endpoint was disabled" in message["Subject"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert receiver.url in text and "HTTP 500" in text and "1 February 2026" in text
    assert f"/app/webhooks/{hook['id']}" in text

    receiver.default = Answer(200)
    r = horg.patch(f"/v1/webhooks/{hook['id']}", {"enabled": True})
    assert r.json()["webhook"]["enabled"] is True and r.json()["webhook"]["failing_since"] is None
    assert deliver(hooked) >= 1  # what waited goes out once enabled again


def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(
    horg: Org, receiver: Receiver, hooked: App, clock: FixedClock
) -> None:
    hook = subscribe(horg, receiver.url, ["credential.published"])
    r = horg.post(f"/v1/webhooks/{hook['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    new = r.json()["webhook"]["secret"]
    assert new != hook["secret"] and new.startswith("whsec_")
    horg.post(f"/v1/webhooks/{hook['id']}/test")
    deliver(hooked)
    got = receiver.received[-1]
    assert json.loads(got.body)["type"] == "webhook.test"
    ts, msg_id = got.headers["webhook-timestamp"], got.headers["webhook-id"]
    assert got.headers["webhook-signature"].split(" ") == [
        expected_signature(new, msg_id, ts, got.body),
        expected_signature(hook["secret"], msg_id, ts, got.body),
    ]
    advance(clock, timedelta(hours=24, seconds=1))
    horg.post(f"/v1/webhooks/{hook['id']}/test")
    deliver(hooked)
    got = receiver.received[-1]
    assert got.headers["webhook-signature"] == expected_signature(
        new, got.headers["webhook-id"], got.headers["webhook-timestamp"], got.body
    )


# ----------------------------------------------------------------------- the sender


def _message(url: str) -> Outgoing:
    return Outgoing(url, b'{"type":"webhook.test"}', {"content-type": "application/json"})


def test_the_sender_refuses_a_name_that_resolves_to_a_private_address(
    receiver: Receiver,
) -> None:
    """The address checked is the address connected to: a public-looking name that
    resolves to loopback (as DNS rebinding would make it) is refused before connecting."""
    port = receiver.server.server_address[1]
    sender = HttpSender(allow_private=False, resolver=lambda host, p: [_ip("127.0.0.1")])
    try:
        attempt = sender.send(_message(f"http://hooks.example.com:{port}/x"), _now())
    finally:
        sender.close()
    assert attempt.status_code is None and "private or reserved" in (attempt.error or "")
    assert receiver.received == []
    sender = HttpSender(allow_private=False)
    try:
        attempt = sender.send(_message(receiver.url), _now())  # a literal loopback address
    finally:
        sender.close()
    assert attempt.status_code is None and receiver.received == []


def test_the_sender_connects_to_the_address_it_resolved_keeping_the_name(
    receiver: Receiver,
) -> None:
    port = receiver.server.server_address[1]
    asked: list[str] = []

    def resolver(host: str, p: int) -> list[Any]:
        asked.append(host)
        return [_ip("127.0.0.1")]

    sender = HttpSender(allow_private=True, resolver=resolver)
    try:
        attempt = sender.send(_message(f"http://hooks.example.com:{port}/in?x=1"), _now())
    finally:
        sender.close()
    assert attempt.ok, attempt
    assert asked == ["hooks.example.com"]
    assert receiver.received[0].headers["host"] == f"hooks.example.com:{port}"
    assert receiver.received[0].path == "/in?x=1"


def test_the_sender_follows_no_redirect_and_reads_little(receiver: Receiver) -> None:
    sender = HttpSender(allow_private=True)
    try:
        receiver.answers = [Answer(302, b"", location=receiver.url + "/elsewhere")]
        moved = sender.send(_message(receiver.url), _now())
        receiver.answers = [Answer(200, b"x" * 1_000_000)]
        big = sender.send(_message(receiver.url), _now())
    finally:
        sender.close()
    assert moved.status_code == 302 and not moved.ok and "redirect" in (moved.error or "")
    assert [r.path for r in receiver.received] == ["/hooks", "/hooks"]
    assert big.ok and big.response is not None and len(big.response) == 1024


def test_the_sender_gives_up_on_a_slow_endpoint(receiver: Receiver) -> None:
    receiver.answers = [Answer(200, delay=3.0)]
    sender = HttpSender(allow_private=True, timeout=0.5)
    try:
        attempt = sender.send(_message(receiver.url), _now())
    finally:
        sender.close()
    assert attempt.status_code is None and "no answer within 0.5 s" in (attempt.error or "")
    assert attempt.duration_ms < 3000


def test_the_sender_reports_a_closed_port() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sender = HttpSender(allow_private=True)
    try:
        attempt = sender.send(_message(f"http://127.0.0.1:{port}/"), _now())
    finally:
        sender.close()
    assert attempt.status_code is None and "Connect" in (attempt.error or "")


def _ip(text: str) -> Any:
    import ipaddress

    return ipaddress.ip_address(text)


def _now() -> datetime:
    return datetime.now(UTC)


def test_an_expiry_date_passing_is_an_event_once(
    horg: Org, receiver: Receiver, hooked: App, clock: FixedClock
) -> None:
    from credo.services.webhooks import events

    hook = subscribe(horg, receiver.url, ["credential.expired"])
    group = horg.group()
    soon = horg.issue(group, "soon@example.com", expires_on="2026-02-03").json()["credential"]
    assert horg.issue(group, "later@example.com", expires_on="2027-01-01").status_code == 201
    gone = horg.issue(group, "gone@example.com", expires_on="2026-02-03").json()["credential"]
    assert horg.post(f"/v1/credentials/{gone['id']}/revoke", {}).status_code == 200
    assert events.expired_sweep(hooked.uow, clock.now(), hooked.ctx.base_url) == 0
    clock.set(datetime(2026, 2, 3, 23, 59, tzinfo=UTC))  # valid through its expiry date
    assert events.expired_sweep(hooked.uow, clock.now(), hooked.ctx.base_url) == 0
    clock.set(datetime(2026, 2, 4, 0, 1, tzinfo=UTC))
    assert events.expired_sweep(hooked.uow, clock.now(), hooked.ctx.base_url) == 1
    assert events.expired_sweep(hooked.uow, clock.now(), hooked.ctx.base_url) == 0
    clock.set(datetime(2026, 2, 9, tzinfo=UTC))
    assert events.expired_sweep(hooked.uow, clock.now(), hooked.ctx.base_url) == 0
    deliver(hooked)
    [got] = [json.loads(r.body) for r in receiver.received]
    assert got["type"] == "credential.expired"
    assert got["data"]["credential"]["id"] == soon["id"]
    [d] = horg.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"]
    assert d["event"] == "credential.expired" and d["state"] == "succeeded"


def test_over_https_the_name_is_kept_for_tls_while_the_checked_address_is_dialled(
    receiver: Receiver, tmp_path: Any
) -> None:
    """The connection goes to the address resolved and checked, and TLS still checks the
    certificate against the endpoint's name (SNI): a certificate for another name fails."""
    import ssl

    cert, key = self_signed(tmp_path, [x509.DNSName("hooks.example.com")])
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    receiver.server.socket = server_side.wrap_socket(receiver.server.socket, server_side=True)
    port = receiver.server.server_address[1]
    trusting = ssl.create_default_context(cafile=cert)

    def to_loopback(host: str, p: int) -> list[Any]:
        return [_ip("127.0.0.1")]

    sender = HttpSender(allow_private=True, resolver=to_loopback, verify=trusting)
    try:
        good = sender.send(_message(f"https://hooks.example.com:{port}/tls"), _now())
        wrong = sender.send(_message(f"https://other.example.com:{port}/tls"), _now())
    finally:
        sender.close()
    assert good.ok, good
    assert [r.path for r in receiver.received] == ["/tls"]
    assert receiver.received[0].headers["host"] == f"hooks.example.com:{port}"
    assert wrong.status_code is None and "certificate" in (wrong.error or "").lower()


def test_a_bulk_tells_of_each_credential_it_publishes(
    horg: Org, receiver: Receiver, hooked: App
) -> None:
    subscribe(horg, receiver.url, ["credential.published"])
    emails = [f"bulk{i}@example.com" for i in range(5)]
    r = horg.post(
        "/v1/credentials/bulk",
        {"group_id": horg.group(), "credentials": [
            {"recipient": {"name": "R", "email": e}} for e in emails]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert deliver(hooked) == 5
    told = [json.loads(x.body)["data"]["credential"] for x in receiver.received]
    assert sorted(c["recipient"]["email"] for c in told) == emails
    assert {c["id"] for c in told} == {c["id"] for c in r.json()["credentials"]}


def test_an_import_tells_when_it_completes_and_of_each_credential(
    horg: Org, receiver: Receiver, hooked: App
) -> None:
    from credo.services.importing import imports

    subscribe(horg, receiver.url, ["import.completed", "credential.published"])
    gid = horg.group("Imported course")
    table = imports.read_upload("people.csv", b"Name,Email\nAnn,ann@x.org\nBob,bob@x.org\n")
    job = hooked.runner.write(
        lambda uow: imports.create(uow, hooked.ctx, horg.id, None, gid, "people.csv", table)
    )
    hooked.runner.write(
        lambda uow: imports.validate(
            uow, hooked.ctx, horg.id, job.id, {"name": 0, "email": 1}, day_first=True
        )
    )
    hooked.runner.write(lambda uow: imports.start(uow, hooked.ctx, horg.id, job.id, publish=True))
    assert deliver(hooked) == 0  # started, nothing published yet
    done = imports.run(hooked.uow, hooked.ctx, horg.id, job.id)
    assert done.state == "done"
    deliver(hooked)
    events = [json.loads(r.body) for r in receiver.received]
    assert sorted(e["type"] for e in events) == ["credential.published"] * 2 + ["import.completed"]
    [completed] = [e["data"]["import"] for e in events if e["type"] == "import.completed"]
    assert completed["id"] == job.id and completed["state"] == "done"
    assert (completed["rows"], completed["done"], completed["credits_charged"]) == (2, 2, 2)
    assert completed["filename"] == "people.csv" and completed["finished_at"]


def test_a_stopped_import_is_completed_too_with_its_state(
    horg: Org, receiver: Receiver, hooked: App
) -> None:
    from credo.services.importing import imports

    subscribe(horg, receiver.url, ["import.completed"])
    gid = horg.group("Stopped course")
    table = imports.read_upload("x.csv", b"Name,Email\nAnn,ann@x.org\n")
    job = hooked.runner.write(
        lambda uow: imports.create(uow, hooked.ctx, horg.id, None, gid, "x.csv", table)
    )
    hooked.runner.write(
        lambda uow: imports.validate(
            uow, hooked.ctx, horg.id, job.id, {"name": 0, "email": 1}, day_first=True
        )
    )
    hooked.runner.write(lambda uow: imports.start(uow, hooked.ctx, horg.id, job.id, publish=True))
    imports.fail(hooked.uow, hooked.ctx, horg.id, job.id, "the group was archived")
    deliver(hooked)
    [event] = [json.loads(r.body) for r in receiver.received]
    assert event["type"] == "import.completed"
    assert event["data"]["import"]["state"] == "failed"
    assert "the group was archived" in event["data"]["import"]["error"]


def test_workers_racing_over_deliveries_send_each_once(
    horg: Org, receiver: Receiver, hooked: App
) -> None:
    """Two workers draining at once (threads here; processes share the database alike):
    leases and, on PostgreSQL, SKIP LOCKED give each delivery to one of them."""
    import threading

    hook = subscribe(horg, receiver.url, ["credential.published"])
    r = horg.post(
        "/v1/credentials/bulk",
        {"group_id": horg.group(), "credentials": [
            {"recipient": {"name": "R", "email": f"race{i}@example.com"}} for i in range(40)]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    workers = [hooked.webhook_worker(f"w{i}") for i in range(2)]
    for w in workers:
        w.batch = 4
    counts = [0, 0]

    def drain(i: int) -> None:
        counts[i] = workers[i].drain()

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for w in workers:
        w.close()
    ids = [x.headers["webhook-id"] for x in receiver.received]
    assert len(ids) == 40 and len(set(ids)) == 40 and sum(counts) == 40
    deliveries = horg.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"]
    assert {d["state"] for d in deliveries} == {"succeeded"} and len(deliveries) == 40
