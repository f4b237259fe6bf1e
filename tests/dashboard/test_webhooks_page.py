"""Webhooks in the dashboard: an owner adds an endpoint (its secret shown once), sends a
test event, sees each delivery and its attempts, resends one, rotates the secret, turns the
endpoint off and on, and deletes it. Bad input is said in the page and changes nothing."""

from __future__ import annotations

import json
import re

import pytest

from credo.bootstrap import App
from tests.conftest import Org
from tests.dashboard.helpers import sign_in
from tests.dashboard.mail import unique_email
from tests.integration.test_webhooks import deliver, expected_signature
from tests.integration.test_webhooks import hclient as hclient_fixture
from tests.integration.test_webhooks import hooked as hooked_fixture
from tests.integration.test_webhooks import horg as horg_fixture
from tests.webhook_receiver import Answer, Receiver
from tests.webhook_receiver import receiver as receiver_fixture
from tests.webhook_receiver import settled_webhooks as settled_webhooks_fixture

settled_webhooks = settled_webhooks_fixture


@pytest.fixture(autouse=True)
def _settle(settled_webhooks: None) -> None:
    """This module makes webhook endpoints: they are settled after each test."""


receiver = receiver_fixture


# The served app that may send to the receiver on 127.0.0.1, as the API's tests use.
hooked, hclient, horg = hooked_fixture, hclient_fixture, horg_fixture


def secret_in(html: str) -> str:
    found = re.search(r'<code id="new-secret">(whsec_[A-Za-z0-9+/=]+)</code>', html)
    assert found, html
    return found.group(1)


def test_an_owner_manages_an_endpoint_and_sees_its_deliveries(
    hooked: App, horg: Org, receiver: Receiver
) -> None:
    owner = sign_in(hooked, unique_email("hooks-owner"), horg.id)
    assert "No endpoints yet" in owner.get("/app/webhooks").text
    made = owner.post(
        "/app/webhooks",
        {"url": receiver.url, "description": "Our LMS", "events": ["credential.published"]},
    )
    assert made.status_code == 201, made.text
    secret = secret_in(made.text)
    listed = owner.get("/app/webhooks").text
    assert receiver.url in listed and "Our LMS" in listed and secret not in listed
    [hook] = horg.get("/v1/webhooks").json()["webhooks"]
    page = f"/app/webhooks/{hook['id']}"

    r = owner.post(f"{page}/test")
    assert r.status_code == 303 and r.headers["location"] == f"{page}?notice=tested"
    assert "waiting" in owner.get(page).text
    deliver(hooked)
    receiver.answers = [Answer(500, b"<h1>oops</h1>")]
    assert horg.issue(horg.group(), "ada@example.com", "Ada").status_code == 201
    deliver(hooked)
    shown = owner.get(page).text
    assert "webhook.test" in shown and "credential.published" in shown
    assert "delivered" in shown and "HTTP 500" in shown and "retrying" in shown
    assert shown.count("Resend") == 2

    deliveries = horg.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"]
    failed = next(d for d in deliveries if d["last_status_code"] == 500)
    one = owner.get(f"{page}/deliveries/{failed['id']}")
    assert one.status_code == 200
    assert "&lt;h1&gt;oops&lt;/h1&gt;" in one.text and "<h1>oops" not in one.text
    assert failed["id"] in one.text and "ada@example.com" in one.text

    r = owner.post(f"{page}/deliveries/{failed['id']}/resend")
    assert r.status_code == 303 and r.headers["location"] == f"{page}?notice=resent"
    deliver(hooked)
    again = [x for x in receiver.received if x.headers["webhook-id"] == failed["id"]]
    assert [json.loads(x.body)["type"] for x in again] == ["credential.published"] * 2

    rotated = owner.post(f"{page}/rotate")
    assert rotated.status_code == 200
    new = secret_in(rotated.text)
    assert new != secret and new not in owner.get(page).text
    owner.post(f"{page}/test")
    deliver(hooked)
    last = receiver.received[-1]
    ts, msg_id = last.headers["webhook-timestamp"], last.headers["webhook-id"]
    assert expected_signature(new, msg_id, ts, last.body) in last.headers["webhook-signature"]

    assert owner.post(f"{page}/enabled", {"enabled": "false"}).status_code == 303
    assert (
        "Off" in owner.get(page).text and "Delete the endpoint and its log" in owner.get(page).text
    )
    assert horg.get(f"/v1/webhooks/{hook['id']}").json()["webhook"]["enabled"] is False
    assert owner.post(f"{page}/enabled", {"enabled": "true"}).status_code == 303
    assert horg.get(f"/v1/webhooks/{hook['id']}").json()["webhook"]["enabled"] is True

    r = owner.post(f"{page}/delete")
    assert r.status_code == 303 and r.headers["location"] == "/app/webhooks?notice=deleted"
    assert horg.get("/v1/webhooks").json()["webhooks"] == []
    assert owner.get(page).status_code == 404


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ({"url": "ftp://x.example.com/", "events": ["credential.published"]}, "https"),
        ({"url": "https://x.example.com/"}, "at least one event"),
        ({"url": "https://x.example.com/", "events": ["credential.boom"]}, "unknown event"),
        ({"url": "", "events": ["credential.published"]}, "URL"),
    ],
)
def test_bad_input_is_said_in_the_page_and_changes_nothing(
    credo: App, org: Org, form: dict[str, object], said: str
) -> None:
    owner = sign_in(credo, unique_email("hooks-owner"), org.id)
    r = owner.post("/app/webhooks", form)
    assert r.status_code == 422
    assert said in r.text and 'id="webhooks-error"' in r.text
    assert 'id="new-secret"' not in r.text
    assert org.get("/v1/webhooks").json()["webhooks"] == []
