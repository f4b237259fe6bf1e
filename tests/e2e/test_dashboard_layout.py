"""The dashboard's frame in headless Chromium, on a phone (390 px) and a desktop: the
organization switcher of a person in many organizations, one with a very long name, stays
inside the screen and works from the keyboard; a sandbox says so on every page; colour
fields show their colour. Screenshots are kept in test-artifacts/dashboard-layout/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import artifacts_dir
from tests.e2e.browser import chromium, keep_screenshot
from tests.e2e.server import LiveServer, running_server

LONG = "Northbridge Institute for Continuing Professional Education and Lifelong Learning"
EMAIL = "dana@northbridge.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("layout")
    with running_server(f"sqlite:///{workdir / 'credo.db'}", workdir, workers=1) as s:
        yield s


def sign_in(page: Page, base: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/app$"))


def test_the_switcher_label_and_colours_hold_on_a_phone_and_a_desktop(
    server: LiveServer,
) -> None:
    out = artifacts_dir() / "dashboard-layout"
    out.mkdir(parents=True, exist_ok=True)
    base = server.base_url
    with httpx.Client(timeout=60) as http:
        first = server.create_org(http, name=LONG, sandbox=True)
        others = [server.create_org(http, name=f"Campus {i}", sandbox=True) for i in range(7)]
    r = server.cli("user", "add", EMAIL, "--org", first["organization"]["id"])
    password = re.search(r"password:\s*(\S+)", r.stdout)
    assert password, r.stdout + r.stderr
    for org in others:
        added = server.cli("user", "add", EMAIL, "--org", org["organization"]["id"])
        assert added.returncode == 0, added.stderr

    with chromium() as browser:
        for name, viewport in (("phone", (390, 844)), ("desktop", (1280, 900))):
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                is_mobile=name == "phone",
            )
            page = context.new_page()
            sign_in(page, base, password.group(1))
            page.locator("#org-select").select_option(first["organization"]["id"])
            page.get_by_role("button", name="Switch").click()
            expect(page.locator("h1")).to_have_text(LONG)
            label = page.locator("#sandbox-label")
            expect(label).to_contain_text("Sandbox: test clock, no real billing")
            select = page.locator("#org-select")
            expect(select).to_be_visible()
            box = select.bounding_box()
            assert box is not None
            # Inside the screen, and nothing on the page scrolls sideways.
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport[0], box
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
            switch = page.get_by_role("button", name="Switch")
            expect(switch).to_be_visible()
            button = switch.bounding_box()
            assert button is not None and button["x"] + button["width"] <= viewport[0]
            # The whole name is there for whoever cannot see it all: title, option text.
            assert select.get_attribute("title") == LONG
            expect(page.get_by_label("Organization")).to_have_value(first["organization"]["id"])
            keep_screenshot(page, out / f"{name}-overview.png")

            # The keyboard: arrows change the choice without leaving the page; Switch does.
            select.focus()
            last = select.evaluate("s => s.selectedIndex === s.options.length - 1")
            page.keyboard.press("ArrowUp" if last else "ArrowDown")
            expect(page).to_have_url(re.compile(r"/app$"))
            expect(page.locator("h1")).to_have_text(LONG)
            chosen = select.input_value()
            assert chosen != first["organization"]["id"]
            page.keyboard.press("Tab")
            expect(switch).to_be_focused()
            page.keyboard.press("Enter")
            page.wait_for_load_state()
            expect(page.locator("h1")).not_to_have_text(LONG)
            assert page.locator("#org-select").input_value() == chosen
            page.locator("#org-select").select_option(first["organization"]["id"])
            page.get_by_role("button", name="Switch").click()
            expect(page.locator("h1")).to_have_text(LONG)

            # Colour fields: the palette and the code beside it, in step.
            page.goto(f"{base}/app/groups/new")
            picker = page.locator("#primary_color-picker")
            expect(picker).to_be_visible()
            code = page.get_by_label("Primary colour", exact=True)
            code.fill("#aa3300")
            assert picker.input_value() == "#aa3300"
            keep_screenshot(page, out / f"{name}-group-form.png")
            context.close()
