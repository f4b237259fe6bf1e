"""The recipient's wallet in headless Chromium against a served Credo: a recipient of two
organizations asks for a sign-in link, gets it over SMTP (a real aiosmtpd server), opens
it, sees both credentials, downloads everything as a zip, hides one, and publishes a
profile that a stranger then opens. Desktop and phone screenshots are kept in
test-artifacts/wallet/."""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import artifacts_dir
from tests.e2e.browser import chromium, keep_screenshot
from tests.e2e.server import LiveServer, running_server
from tests.smtp import SmtpServer, running_smtp_server

ADA = "ada@lovelace.example"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, SmtpServer]]:
    workdir = tmp_path_factory.mktemp("wallet")
    with running_smtp_server() as smtp:
        env = {
            "CREDO_SMTP_HOST": smtp.host,
            "CREDO_SMTP_PORT": str(smtp.port),
            "CREDO_SMTP_SECURITY": "none",
        }
        url = f"sqlite:///{workdir / 'credo.db'}"
        with running_server(url, workdir, workers=1, extra_env=env) as s:
            yield s, smtp


def _issue(server: LiveServer, http: httpx.Client, org_name: str, group: str) -> str:
    org = server.create_org(http, name=org_name)
    auth = {"Authorization": f"Bearer {org['api_key']}"}
    g = http.post(f"{server.base_url}/v1/groups", json={"name": group}, headers=auth)
    r = http.post(
        f"{server.base_url}/v1/credentials",
        json={
            "group_id": g.json()["group"]["id"],
            "recipient": {"name": "Ada Lovelace", "email": ADA},
        },
        headers=auth,
    )
    assert r.status_code == 201, r.text
    cred_id: str = r.json()["credential"]["id"]
    return cred_id


def _sign_in_link(smtp: SmtpServer) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for m in smtp.to(ADA):
            if "sign-in" in str(m.headers["Subject"]):
                body = m.message.get_body(("plain",))
                assert body is not None
                found = re.search(r"https?://\S+/wallet/enter/\S+", body.get_content())
                assert found, body.get_content()
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError("no sign-in e-mail arrived")


def test_a_recipient_opens_their_wallet_and_shares_a_profile(
    served: tuple[LiveServer, SmtpServer], tmp_path: Path
) -> None:
    server, smtp = served
    out = artifacts_dir() / "wallet"
    out.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=60) as http:
        first = _issue(server, http, "Northbridge University", "Data Analysis")
        second = _issue(server, http, "Harbour College", "Applied Statistics")
    base = server.base_url
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/")
        page.get_by_role("link", name="Your credentials").click()
        page.get_by_label("E-mail address").fill(ADA)
        page.get_by_role("button", name="E-mail me a sign-in link").click()
        expect(page.locator("[role=status]")).to_contain_text("a sign-in link is on its way")
        page.goto(_sign_in_link(smtp))
        page.get_by_role("button", name="Open my credentials").click()
        expect(page.locator("h1")).to_have_text("2 credentials issued to you")
        for text in ("Data Analysis", "Applied Statistics", "Northbridge University"):
            expect(page.locator("main")).to_contain_text(text)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download all (zip)").click()
        saved = tmp_path / "all.zip"
        download.value.save_as(saved)
        names = zipfile.ZipFile(io.BytesIO(saved.read_bytes())).namelist()
        assert len(names) == 6 and {n.rsplit(".", 1)[1] for n in names} == {"json", "pdf", "png"}
        page.locator(f"li#{second}").get_by_role("button", name=re.compile("Hide it")).click()
        expect(page.locator("[role=status]")).to_contain_text("Hidden")
        assert httpx.get(f"{base}/c/{second}").status_code == 404
        page.get_by_label("Make my profile public").check()
        page.get_by_label(re.compile("Data Analysis")).check()
        page.get_by_label(re.compile("Applied Statistics")).check()
        page.get_by_role("button", name="Save my profile").click()
        profile_url = page.locator("#profile a").first.get_attribute("href") or ""
        assert "/p/" in profile_url
        keep_screenshot(page, out / "desktop-wallet.png")
        # Into a wallet app: an offer shown as a QR code and a link the app opens.
        page.locator(f"li#{first}").get_by_role(
            "button", name=re.compile("Add to wallet app")
        ).click()
        expect(page.locator("h1")).to_contain_text(
            "Add \u201cData Analysis\u201d to your wallet app"
        )
        qr = page.get_by_role("img", name="QR code of the credential offer")
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.naturalWidth") > 200  # a real image, decoded
        link = page.get_by_role("link", name="Open in my wallet app").get_attribute("href") or ""
        assert link.startswith("openid-credential-offer://?credential_offer_uri=")
        keep_screenshot(page, out / "desktop-wallet-offer.png")
        page.get_by_role("link", name="Back").click()
        expect(page.locator("h1")).to_have_text("2 credentials issued to you")
        context.close()

        stranger = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2
        )
        view = stranger.new_page()
        view.goto(profile_url)
        expect(view.locator("h1")).to_have_text("Ada Lovelace")
        expect(view.locator("main")).to_contain_text("Data Analysis")
        expect(view.locator("main")).not_to_contain_text("Applied Statistics")  # hidden
        assert view.evaluate("document.documentElement.scrollWidth") <= 390
        keep_screenshot(view, out / "phone-profile.png")
        view.get_by_role("link", name="Data Analysis").click()
        expect(view).to_have_url(re.compile(f"/c/{first}$"))
        stranger.close()
