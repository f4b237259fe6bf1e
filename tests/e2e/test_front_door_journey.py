"""Arriving, as a person does, in headless Chromium: the front page of a served Credo, its
verify form given a badge image someone received, a file that is no credential, and the
API docs with the network beyond the server cut off. Screenshots (desktop and phone) are
kept in test-artifacts/front-door/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Response, Route, expect

from tests.conftest import artifacts_dir
from tests.e2e.browser import chromium, keep_screenshot
from tests.e2e.server import LiveServer, running_server
from tests.e2e.test_recipient_journey import PHONE

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("front-door")
    with running_server(f"sqlite:///{workdir / 'credo.db'}", workdir, workers=1) as s:
        yield s


def _out() -> Path:
    path = artifacts_dir() / "front-door"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _badge(server: LiveServer, folder: Path) -> Path:
    """A baked badge image of a fresh credential, saved as its recipient would have it."""
    with httpx.Client(timeout=60) as http:
        org = server.create_org(http, name="Northbridge University", sandbox=True)
        auth = {"Authorization": f"Bearer {org['api_key']}"}
        g = http.post(f"{server.base_url}/v1/groups", json={"name": "Data Analysis"}, headers=auth)
        r = http.post(
            f"{server.base_url}/v1/credentials",
            json={
                "group_id": g.json()["group"]["id"],
                "recipient": {"name": "Ada Lovelace", "email": "ada@example.org"},
            },
            headers=auth,
        )
        assert r.status_code == 201, r.text
        png = http.get(f"{server.base_url}/c/{r.json()['credential']['id']}.png")
    path = folder / "ada-badge.png"
    path.write_bytes(png.content)
    return path


def test_a_visitor_arrives_and_verifies_a_badge(server: LiveServer, tmp_path: Path) -> None:
    out = _out()
    badge = _badge(server, tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a credential\n")
    base = server.base_url
    with chromium() as browser:
        for name, options in (
            ("desktop", {"viewport": DESKTOP}),
            ("phone", {"viewport": PHONE, "is_mobile": True, "device_scale_factor": 2}),
        ):
            context = browser.new_context(**options)
            page = context.new_page()
            icons: list[int] = []

            def seen(r: Response, icons: list[int] = icons) -> None:
                if "/favicon" in r.url:
                    icons.append(r.status)

            page.on("response", seen)
            response = page.goto(base + "/")
            assert response is not None and response.status == 200
            expect(page.locator("h1")).to_contain_text("anyone can verify")
            expect(page.get_by_role("link", name="Sign in to the dashboard")).to_be_visible()
            expect(page.get_by_role("link", name="API documentation")).to_be_visible()
            width = page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= options["viewport"]["width"]  # type: ignore[index]
            keep_screenshot(page, out / f"front-{name}.png")

            page.get_by_label(re.compile("The credential file")).set_input_files(badge)
            page.get_by_role("button", name="Verify").click()
            page.wait_for_url(re.compile(r"/verify$"))
            expect(page.locator("h1")).to_have_text("ada-badge.png: verified, genuine and valid")
            panel = page.locator("section.verification")
            expect(panel).to_contain_text("Verified: this credential is genuine and valid.")
            for check in ("Signature", "Issuer", "Status", "Validity"):
                expect(panel).to_contain_text(check)
            expect(panel).to_contain_text("Ada Lovelace")
            keep_screenshot(page, out / f"verified-{name}.png")

            # Its page, one click away, says the same.
            page.get_by_role("link", name="This credential's page").click()
            expect(page.locator("section.verification")).to_contain_text(
                "Verified: this credential is genuine and valid."
            )

            page.goto(base + "/verify")
            page.get_by_label(re.compile("The credential file")).set_input_files(notes)
            page.get_by_role("button", name="Verify").click()
            expect(page.get_by_role("alert")).to_contain_text(
                "neither a JSON document nor a badge image"
            )
            keep_screenshot(page, out / f"not-a-credential-{name}.png")
            assert icons and all(s == 200 for s in icons), icons
            context.close()


def test_the_api_docs_render_with_no_network_beyond_the_server(server: LiveServer) -> None:
    base = server.base_url
    outside: list[str] = []

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        context.route("**/*", only_the_server)
        page = context.new_page()
        page.goto(base + "/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Credo")
        expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
        keep_screenshot(page, _out() / "api-docs.png", full_page=False)
        context.close()
    assert outside == []
