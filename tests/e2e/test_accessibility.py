"""Every page a person opens, audited in headless Chromium by axe-core (Deque's open-source
accessibility engine, from npm: tests/interop/package.json) against WCAG 2.1 A and AA:
no serious or critical violation. Each page's findings are kept in
test-artifacts/accessibility/ as JSON, moderate and minor ones included."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from credo.adapters.keystore import parse_master_key
from credo.services.recipients import recipient_links
from tests.conftest import MASTER_KEY, artifacts_dir
from tests.e2e.browser import chromium, keep_screenshot
from tests.e2e.server import LiveServer, running_server
from tests.e2e.test_recipient_journey import PHONE
from tests.interop.node import ensure_node_modules

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("a11y")
    with running_server(f"sqlite:///{workdir / 'credo.db'}", workdir, workers=1) as s:
        yield s


def audit(page: Page, axe: Path, name: str) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(axe))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    out = artifacts_dir() / "accessibility"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result["violations"], indent=2))
    return [v for v in result["violations"] if v.get("impact") in BLOCKING]


def test_pages_have_no_serious_accessibility_violations(server: LiveServer) -> None:
    axe = ensure_node_modules() / "axe-core" / "axe.min.js"
    base = server.base_url
    with httpx.Client(timeout=60) as http:
        org = server.create_org(http, name="Northbridge University", sandbox=True)
        auth = {"Authorization": f"Bearer {org['api_key']}"}
        g = http.post(
            f"{base}/v1/groups",
            json={"name": "Data Analysis", "criteria": "Passed the final project."},
            headers=auth,
        )
        cred = http.post(
            f"{base}/v1/credentials",
            json={
                "group_id": g.json()["group"]["id"],
                "recipient": {"name": "Ada Lovelace", "email": "ada@example.org"},
            },
            headers=auth,
        ).json()["credential"]["id"]
        hook = http.post(
            f"{base}/v1/webhooks",
            json={
                "url": "https://hooks.northbridge.example/credo",
                "events": ["credential.revoked"],
            },
            headers=auth,
        ).json()["webhook"]["id"]
        sent = http.post(f"{base}/v1/webhooks/{hook}/test", headers=auth).json()["delivery"]["id"]
        dept = http.post(
            f"{base}/v1/departments",
            json={"name": "Faculty of Science", "credit_cap": 40},
            headers=auth,
        ).json()["department"]["id"]
        placed = http.patch(
            f"{base}/v1/groups/{g.json()['group']['id']}",
            json={"department_id": dept},
            headers=auth,
        )
        assert placed.status_code == 200, placed.text
        for i in range(3):
            http.post(
                f"{base}/v1/credentials",
                json={
                    "group_id": g.json()["group"]["id"],
                    "recipient": {"name": f"Student {i}", "email": f"student{i}@example.org"},
                },
                headers=auth,
            )
    r = server.cli(
        "user",
        "add",
        "owner@northbridge.example",
        "--org",
        org["organization"]["id"],
        "--role",
        "owner",
    )
    password = re.search(r"password:\s*(\S+)", r.stdout)
    assert password, r.stdout + r.stderr
    secret = recipient_links.derive_secret(parse_master_key(MASTER_KEY))
    public = {
        "front-page": "/",
        "verify-form": "/verify",
        "credential-page": f"/c/{cred}",
        "manage-page": f"/c/{cred}/manage?token={recipient_links.token(secret, cred)}",
        "not-found-page": "/c/cred_00000000000000000000000000000000",
        "login": "/login",
        "password-reset": "/password-reset",
    }
    dashboard = {
        "overview": "/app",
        "groups": "/app/groups",
        "group-new": "/app/groups/new",
        "credentials": "/app/credentials",
        "credential-new": "/app/credentials/new",
        "credential": f"/app/credentials/{cred}",
        "credential-renew": f"/app/credentials/{cred}/renew",
        "import-new": "/app/imports/new",
        "credits": "/app/credits",
        "credits-how": "/app/credits/how",
        "departments": "/app/departments",
        "department": f"/app/departments/{dept}",
        "members": "/app/members",
        "api-keys": "/app/api-keys",
        "webhooks": "/app/webhooks",
        "webhook": f"/app/webhooks/{hook}",
        "webhook-delivery": f"/app/webhooks/{hook}/deliveries/{sent}",
    }
    problems: dict[str, list[str]] = {}
    with chromium() as browser:
        # The pages' Content-Security-Policy forbids inline scripts, axe's included.
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
        # The auditor finds what it should: an unlabelled field and an image without text.
        page.set_content('<html><body><img src="x.png"><input type="text"></body></html>')
        caught = {v["id"] for v in audit(page, axe, "self-check")}
        assert {"image-alt", "label"} <= caught, caught
        for name, path in public.items():
            page.goto(base + path)
            found = audit(page, axe, name)
            if found:
                problems[name] = [f"{v['id']}: {v['help']}" for v in found]
        # The verify form's answer: the verdict of an uploaded badge, and a refused file.
        badge = httpx.get(f"{base}/c/{cred}.png", timeout=60).content
        for name, file in (
            ("verify-verdict", ("ada.png", "image/png", badge)),
            ("verify-refused", ("notes.txt", "text/plain", b"notes")),
        ):
            page.goto(base + "/verify")
            page.get_by_label(re.compile("The credential file")).set_input_files(
                {"name": file[0], "mimeType": file[1], "buffer": file[2]}
            )
            page.get_by_role("button", name="Verify").click()
            page.wait_for_load_state()
            found = audit(page, axe, name)
            if found:
                problems[name] = [f"{v['id']}: {v['help']}" for v in found]
        page.goto(base + "/login")
        page.get_by_label("E-mail").fill("owner@northbridge.example")
        page.get_by_label("Password").fill(password.group(1))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/app$"))
        for name, path in dashboard.items():
            page.goto(base + path)
            # The page itself, not a refusal: the owner may open every one.
            assert page.locator("h1").first.inner_text() != "Not allowed", name
            keep_screenshot(page, artifacts_dir() / "accessibility" / f"{name}.png")
            found = audit(page, axe, name)
            if found:
                problems[name] = [f"{v['id']}: {v['help']}" for v in found]
        # On a phone too, signed in with the same session: nothing runs off the side.
        phone = browser.new_context(
            viewport=PHONE, is_mobile=True, device_scale_factor=2, bypass_csp=True
        )
        phone.add_cookies(context.cookies())  # type: ignore[arg-type]  # a Cookie is a SetCookieParam
        small = phone.new_page()
        for name in ("overview", "credential", "credential-renew", "api-keys", "credits"):
            small.goto(base + dashboard[name])
            assert small.url.endswith(dashboard[name]), small.url  # not sent to sign in
            keep_screenshot(small, artifacts_dir() / "accessibility" / f"{name}-phone.png")
            width = small.evaluate("document.scrollingElement.scrollWidth")
            if width > PHONE["width"]:
                problems[f"{name}-phone"] = [f"the page is {width} px wide"]
        for name in ("front-page", "verify-form"):
            small.goto(base + public[name])
            keep_screenshot(small, artifacts_dir() / "accessibility" / f"{name}-phone.png")
        phone.close()
        context.close()
    assert problems == {}
