"""A recipient's journey, as a person takes it: an issuer publishes through the API of a
served Credo; its worker e-mails the recipient over SMTP (a real aiosmtpd server); the
link in that e-mail opens in headless Chromium (Debian's chromium); the page shows the
credential and its checks; the PDF and the badge download through the browser; the PDF is
turned into PNG (pdftoppm) and read back (tesseract); the badge is unbaked and verified.
Screenshots, the PDF, its PNG and the badge are kept in test-artifacts/recipient-journey/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import func, select

from credo.adapters.db.engine import make_engine
from credo.adapters.db.tables import outbox
from credo.adapters.images.baking import unbake_png
from tests.conftest import artifacts_dir
from tests.databases import drop_postgres_database
from tests.e2e.browser import chromium, keep_screenshot
from tests.e2e.server import BACKENDS, LiveServer, _postgres_database, running_server
from tests.smtp import SmtpServer, running_smtp_server

NAME = "Margaret Hamilton"
ACHIEVEMENT = "Advanced Data Analysis"
ISSUER = "Northbridge University"
PHONE: ViewportSize = {"width": 390, "height": 844}


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        reason = f"needs {tool} (scripts/system-deps.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module", params=BACKENDS)
def journey(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, SmtpServer]]:
    """A served Credo (1 process, its e-mail worker polling every 2 s) and the SMTP server
    it sends to."""
    backend: str = request.param
    workdir = tmp_path_factory.mktemp(f"journey-{backend}")
    pg = _postgres_database() if backend == "postgres" else None
    url = pg or f"sqlite:///{workdir / 'credo.db'}"
    try:
        with running_smtp_server() as smtp:
            env = {
                "CREDO_SMTP_HOST": smtp.host,
                "CREDO_SMTP_PORT": str(smtp.port),
                "CREDO_SMTP_SECURITY": "none",
                "CREDO_MAIL_FROM": "credentials@northbridge.example",
            }
            with running_server(url, workdir, backend=backend, workers=1, extra_env=env) as s:
                yield s, smtp
    finally:
        if pg:
            drop_postgres_database(pg)


def out_dir(backend: str) -> Path:
    path = artifacts_dir() / "recipient-journey" / backend
    path.mkdir(parents=True, exist_ok=True)
    return path


def publish(server: LiveServer, http: httpx.Client, email: str) -> tuple[str, str]:
    """(credential id, API key) of a fresh credential from a new organization."""
    org = server.create_org(http, name=ISSUER, sandbox=True)
    auth = {"Authorization": f"Bearer {org['api_key']}"}
    g = http.post(
        f"{server.base_url}/v1/groups",
        json={
            "name": ACHIEVEMENT,
            "description": "Statistics, visualisation and reproducible analysis in Python.",
            "criteria": "Passed the final project with distinction.",
            "expires_after_months": 36,
            "design": {"certificate": "classic", "signatory_name": "Prof. Jane Smith"},
        },
        headers=auth,
    )
    assert g.status_code == 201, g.text
    r = http.post(
        f"{server.base_url}/v1/credentials",
        json={"group_id": g.json()["group"]["id"], "recipient": {"name": NAME, "email": email}},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    return r.json()["credential"]["id"], org["api_key"]


def _all_sent(server: LiveServer, email: str) -> bool:
    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            pending = conn.scalar(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.to_address == email, outbox.c.sent_at.is_(None))
            )
    finally:
        engine.dispose()
    return pending == 0


def links_of(server: LiveServer, smtp: SmtpServer, email: str) -> tuple[str, str, dict[str, Any]]:
    """(page link, manage link, headers) of the one e-mail that reached `email`."""
    deadline = time.monotonic() + 30
    # Every e-mail to the address marked sent: the worker marks one only once the SMTP
    # server has taken it, so a duplicate, were there one, has arrived by then.
    while not (smtp.to(email) and _all_sent(server, email)) and time.monotonic() < deadline:
        time.sleep(0.05)
    mails = smtp.to(email)
    assert len(mails) == 1, f"{len(mails)} e-mails reached {email}"
    msg = mails[0].message
    html_part = msg.get_body(("html",))
    text_part = msg.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html, text = html_part.get_content(), text_part.get_content()
    page = re.search(r'href="([^"]+/c/cred_[0-9a-f]+)"', html)
    manage = re.search(r'href="([^"]+/c/cred_[0-9a-f]+/manage\?token=[^"]+)"', html)
    assert page and manage, html
    assert page.group(1) in text  # the plain-text part carries the same link
    headers = {k.lower(): v for k, v in msg.items()}
    return page.group(1), manage.group(1).replace("&amp;", "&"), headers


def test_a_recipient_follows_the_email_to_a_page_they_can_trust(
    journey: tuple[LiveServer, SmtpServer],
) -> None:
    server, smtp = journey
    out = out_dir(server.backend)
    email = f"margaret.{server.backend}@example.org"
    with httpx.Client(timeout=60) as http:
        cred_id, _ = publish(server, http, email)
        page_link, _, headers = links_of(server, smtp, email)
        assert ISSUER in headers["subject"] or ISSUER in headers["from"]
        assert page_link == f"{server.base_url}/c/{cred_id}"
        signed = http.get(f"{server.base_url}/c/{cred_id}.json").json()

    with chromium() as browser:
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        response = page.goto(page_link)
        assert response is not None and response.status == 200
        expect(page.locator("h1")).to_have_text(NAME)
        body = page.locator("body")
        expect(body).to_contain_text(ACHIEVEMENT)
        expect(body).to_contain_text(ISSUER)
        panel = page.locator("section.verification")
        for check in ("Signature", "Issuer", "Status", "Validity"):
            expect(panel).to_contain_text(check)
        assert "fail" not in (panel.inner_text() or "").lower()
        og_image = page.locator('meta[property="og:image"]').get_attribute("content")
        assert og_image == f"{server.base_url}/c/{cred_id}.png"
        linkedin = page.get_by_role("link", name=re.compile("Add to LinkedIn"))
        href = linkedin.get_attribute("href") or ""
        assert href == f"/c/{cred_id}/share/linkedin-profile"
        went = httpx.get(f"{server.base_url}{href}", follow_redirects=False)
        assert went.status_code == 303
        assert went.headers["location"].startswith(
            "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME"
        )
        keep_screenshot(page, out / "page-desktop.png")

        # The keyboard reaches the downloads, and each shows where the focus is.
        focused = ""
        for _ in range(30):
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.textContent || ''")
            if "Certificate" in focused:
                break
        assert "Certificate" in focused, "Tab never reached the PDF download"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"

        with page.expect_download() as pdf_download:
            page.get_by_role("link", name=re.compile("Certificate")).click()
        pdf_path = out / "certificate.pdf"
        pdf_download.value.save_as(pdf_path)
        with page.expect_download() as png_download:
            page.get_by_role("link", name=re.compile("Badge image PNG")).click()
        badge_path = out / "badge.png"
        png_download.value.save_as(badge_path)

        phone = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
        small = phone.new_page()
        small.goto(page_link)
        expect(small.locator("h1")).to_have_text(NAME)
        assert small.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        keep_screenshot(small, out / "page-phone.png")
        phone.close()
        context.close()

    # The PDF, as a person sees it: rendered to an image and read back.
    assert pdf_path.read_bytes().startswith(b"%PDF")
    subprocess.run(
        [
            need("pdftoppm"),
            "-png",
            "-r",
            "110",
            "-singlefile",
            str(pdf_path),
            str(out / "certificate"),
        ],
        check=True,
    )
    seen = subprocess.run(
        [need("tesseract"), str(out / "certificate.png"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert NAME in seen, seen

    # The badge carries the signed credential, which verifies.
    badge = badge_path.read_bytes()
    baked = unbake_png(badge)
    assert httpx.Response(200, content=baked.encode()).json() == signed
    with httpx.Client(timeout=60) as http:
        verdict = http.post(
            f"{server.base_url}/credentials/verify",
            content=badge,
            headers={"Content-Type": "image/png"},
        )
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["verified"] is True


def test_a_revoked_credential_says_so_and_a_hidden_one_is_gone(
    journey: tuple[LiveServer, SmtpServer],
) -> None:
    server, smtp = journey
    out = out_dir(server.backend)
    email = f"grace.{server.backend}@example.org"
    with httpx.Client(timeout=60) as http:
        cred_id, key = publish(server, http, email)
        page_link, manage_link, _ = links_of(server, smtp, email)

    with chromium() as browser:
        page: Page = browser.new_page()
        # Hide it through the private link in the e-mail, as the recipient would.
        page.goto(manage_link)
        page.get_by_role("button", name=re.compile("Hide")).click()
        expect(page.locator("body")).to_contain_text("Hidden")
        gone = page.goto(page_link)
        assert gone is not None and gone.status == 404
        keep_screenshot(page, out / "page-hidden.png", full_page=False)
        page.goto(manage_link)
        page.get_by_role("button", name=re.compile("Show")).click()
        back = page.goto(page_link)
        assert back is not None and back.status == 200

        with httpx.Client(timeout=60) as http:
            r = http.post(
                f"{server.base_url}/v1/credentials/{cred_id}/revoke",
                json={"reason": "Issued in error"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert r.status_code == 200, r.text
        page.goto(page_link)
        expect(page.locator("body")).to_contain_text(re.compile("revoked", re.I))
        keep_screenshot(page, out / "page-revoked.png")
