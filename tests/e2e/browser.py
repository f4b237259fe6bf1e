"""Headless Chromium for end-to-end tests: Debian's `chromium`, driven by Playwright.

Playwright's own browser downloads are never used: `executable_path` points at the system
Chromium, which `make test` installs (scripts/system-deps.sh). Without it the tests skip
with the reason, except in CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

# What a closed network needs: no background fetches, no sign-in, no component updates.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "needs Debian's chromium (scripts/system-deps.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def keep_screenshot(page: Page, path: Path, *, full_page: bool = True) -> None:
    """A screenshot kept for people to look at. Headless Chromium on a loaded machine now
    and then answers 'Unable to capture screenshot' to a full-page capture (its compositor
    missed a frame): try again, then once more at the visible size. Screenshots are what
    people review; no test asserts on them."""
    for attempt in range(3):
        try:
            page.screenshot(path=path, full_page=full_page and attempt < 2)
            return
        except PlaywrightError as exc:
            if "Unable to capture screenshot" not in str(exc) or attempt == 2:
                raise
            page.wait_for_timeout(250)
