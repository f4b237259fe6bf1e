"""Engagement, as it happens, in headless Chromium against a served Credo: a recipient's
page is opened by a browser (counted) and by a script (not), the certificate downloaded and
"Add to LinkedIn" clicked (the click counted, the browser sent on to LinkedIn, which this
test does not let it reach); the server writes its counts within a second or two; the
issuer's engagement page then shows them, on a desktop and a phone, with nothing scrolling
sideways. Screenshots are kept in test-artifacts/engagement/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Route, expect

from tests.conftest import artifacts_dir
from tests.e2e.browser import chromium, keep_screenshot
from tests.e2e.server import LiveServer, running_server

EMAIL = "grace@northbridge.example"
# Headless Chromium says "HeadlessChrome", as scrapers do, and is not counted: the person
# this test plays uses the browser's ordinary name.
PERSON = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("engagement")
    with running_server(f"sqlite:///{workdir / 'credo.db'}", workdir, workers=1) as s:
        yield s


def _analytics(http: httpx.Client, base: str, auth: dict[str, str]) -> dict[str, Any]:
    r = http.get(f"{base}/v1/analytics", headers=auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_recipients_page_is_seen_and_the_issuer_sees_it_counted(server: LiveServer) -> None:
    out = artifacts_dir() / "engagement"
    out.mkdir(parents=True, exist_ok=True)
    base = server.base_url
    with httpx.Client(timeout=60) as http:
        org = server.create_org(http, name="Northbridge University")
        auth = {"Authorization": f"Bearer {org['api_key']}"}
        g = http.post(f"{base}/v1/groups", json={"name": "Data Analysis"}, headers=auth)
        r = http.post(
            f"{base}/v1/credentials",
            json={
                "group_id": g.json()["group"]["id"],
                "recipient": {"name": "Ada Lovelace", "email": "ada@example.org"},
            },
            headers=auth,
        )
        assert r.status_code == 201, r.text
        cred_id = r.json()["credential"]["id"]
        assert http.get(f"{base}/c/{cred_id}").status_code == 200  # a script: not counted

    left: list[str] = []

    def local_only(route: Route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, user_agent=PERSON)
        context.route("**/*", local_only)
        # A redirect's target is not routed again: the request event still tells of it.
        context.on(
            "request", lambda req: None if req.url.startswith(base) else left.append(req.url)
        )
        page = context.new_page()
        assert (page.goto(f"{base}/c/{cred_id}") or None) is not None
        with page.expect_download() as download:
            page.get_by_role("link", name=re.compile("Certificate")).click()
        assert download.value.suggested_filename.endswith(".pdf")
        with context.expect_page() as opened:
            page.get_by_role("link", name=re.compile("Add to LinkedIn")).click()
        opened.value.wait_for_load_state()
        context.close()
    assert any(u.startswith("https://www.linkedin.com/profile/add?") for u in left), left

    # The server writes its counts every second: wait until they are there.
    with httpx.Client(timeout=60) as http:
        deadline = time.monotonic() + 30
        while True:
            totals = _analytics(http, base, auth)["totals"]
            if totals["views"] and totals["downloads"] and totals["linkedin_adds"]:
                break
            assert time.monotonic() < deadline, totals
            time.sleep(0.2)
    assert (totals["views"], totals["unique_viewers"], totals["downloads"]) == (1, 1, 1)
    assert (totals["linkedin_adds"], totals["shares"], totals["issued"]) == (1, 0, 1)

    added = server.cli("user", "add", EMAIL, "--org", org["organization"]["id"], "--role", "owner")
    password = re.search(r"password:\s*(\S+)", added.stdout)
    assert password, added.stdout + added.stderr
    with chromium() as browser:
        for name, viewport in (("desktop", (1280, 900)), ("phone", (390, 844))):
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                is_mobile=name == "phone",
                device_scale_factor=2 if name == "phone" else 1,
            )
            page = context.new_page()
            page.goto(f"{base}/login")
            page.get_by_label("E-mail").fill(EMAIL)
            page.get_by_label("Password").fill(password.group(1))
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(re.compile(r"/app$"))
            page.goto(f"{base}/app/engagement")
            expect(page.locator("h1")).to_contain_text("Engagement")
            expect(page.locator("#total-views")).to_contain_text("1 view")
            expect(page.locator("#total-views")).to_contain_text("(100%)")
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
            keep_screenshot(page, out / f"{name}-engagement.png")
            page.goto(f"{base}/app/credentials/{cred_id}")
            expect(page.locator("body")).to_contain_text("1 page view by 1 person")
            expect(page.locator("body")).to_contain_text("1 PDF download")
            keep_screenshot(page, out / f"{name}-credential-timeline.png")
            context.close()
