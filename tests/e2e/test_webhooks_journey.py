"""Webhooks end to end: a served Credo (its own worker process sends the deliveries), an
owner who adds an endpoint in headless Chromium, a real receiver on 127.0.0.1 that checks
every request with the Standard Webhooks library, and the delivery log in the dashboard.
Screenshots are kept in test-artifacts/webhooks-journey/.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook as StandardWebhook

from tests.conftest import artifacts_dir
from tests.e2e.browser import chromium, keep_screenshot
from tests.e2e.server import LiveServer, running_server
from tests.e2e.test_issuer_journey import sign_in
from tests.webhook_receiver import Receiver
from tests.webhook_receiver import receiver as receiver_fixture

receiver = receiver_fixture


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    env = {
        # http to a receiver on this machine: development settings, private networks allowed.
        "CREDO_ENVIRONMENT": "development",
        "CREDO_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "CREDO_MAILBOX_DIR": str(tmp_path / "mailbox"),
    }
    with running_server(
        f"sqlite:///{tmp_path / 'credo.db'}", tmp_path, backend="sqlite", workers=1, extra_env=env
    ) as s:
        yield s


def wait_for(what: str, done: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def test_an_owner_adds_an_endpoint_and_the_worker_delivers_signed_events(
    server: LiveServer, receiver: Receiver
) -> None:
    out = artifacts_dir() / "webhooks-journey"
    out.mkdir(parents=True, exist_ok=True)
    base = server.base_url
    with httpx.Client(timeout=60) as http:
        made = server.create_org(http, name="Harbour Academy", sandbox=True, plan="launch-250")
    org_id, key = made["organization"]["id"], made["api_key"]
    email = "owner@harbour.example"
    added = server.cli("user", "add", email, "--org", org_id, "--role", "owner")
    assert added.returncode == 0, added.stderr
    found = re.search(r"password:\s*(\S+)", added.stdout)
    assert found, added.stdout
    password = found.group(1)

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, email, password)
        page.get_by_role("link", name="Webhooks").click()
        expect(page.locator("h1")).to_have_text("Webhooks")
        page.get_by_label("Address (https)").fill(receiver.url)
        page.get_by_label("Description (optional)").fill("Course platform")
        page.get_by_label("credential.revoked").check()
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.locator("#new-secret").inner_text()
        assert secret.startswith("whsec_")
        keep_screenshot(page, out / "01-endpoint-added.png")

        page.get_by_role("link", name="Open the endpoint").click()
        page.get_by_role("button", name="Send a test event").click()
        expect(page.get_by_role("status")).to_contain_text("test event is on its way")
        wait_for("the test event", lambda: len(receiver.received) == 1)

        page.reload()
        expect(page.locator("tbody")).to_contain_text("delivered")
        keep_screenshot(page, out / "02-test-delivered.png")
        page.locator("tbody a", has_text="webhook.test").click()
        expect(page.locator("h1")).to_contain_text("webhook.test")
        expect(page.locator("pre").last).to_contain_text('"type": "webhook.test"')
        keep_screenshot(page, out / "03-delivery.png")

        # A publish through the API: the worker process tells the endpoint of it.
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=auth, timeout=60) as http:
            group = http.post("/v1/groups", json={"name": "Sea Survival"}).json()["group"]["id"]
            r = http.post(
                "/v1/credentials",
                json={
                    "group_id": group,
                    "recipient": {"name": "Ines", "email": "ines@example.org"},
                },
            )
            assert r.status_code == 201, r.text
            cred_id = r.json()["credential"]["id"]
        wait_for("the publish event", lambda: len(receiver.received) == 2)
        page.goto(f"{base}/app/webhooks")
        page.locator("tbody a").first.click()
        expect(page.locator("tbody")).to_contain_text("credential.published")
        keep_screenshot(page, out / "04-publish-delivered.png")

    checker = StandardWebhook(secret)  # real time, the library any receiver uses
    test_event, published = (checker.verify(r.body, r.headers) for r in receiver.received)
    assert test_event["type"] == "webhook.test"
    assert test_event["data"]["webhook"]["url"] == receiver.url
    assert published["type"] == "credential.published"
    assert published["data"]["credential"]["id"] == cred_id
    assert published["data"]["credential"]["recipient"]["email"] == "ines@example.org"
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert all(re.fullmatch(r"msg_[0-9a-f]{32}", i) for i in ids) and len(set(ids)) == 2
    assert json.loads(receiver.received[1].body)["timestamp"].endswith("Z")
