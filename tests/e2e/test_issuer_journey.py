"""An issuer's journey through the dashboard in headless Chromium (Debian's chromium), on a
served Credo: sign in, create a group, upload a CSV with a bad row, read the error, fix
the file and upload it again, see the cost, publish, watch the credits go down, and export
the ledger as CSV. A viewer of the same organization sees the list but cannot publish.
Screenshots are kept in test-artifacts/issuer-journey/<database>/.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import artifacts_dir
from tests.databases import drop_postgres_database
from tests.e2e.browser import chromium, keep_screenshot
from tests.e2e.server import BACKENDS, LiveServer, _postgres_database, running_server

ORG = "Northbridge Training"
GROUP = "First Aid at Work"


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    backend: str = request.param
    workdir = tmp_path_factory.mktemp(f"issuer-{backend}")
    pg = _postgres_database() if backend == "postgres" else None
    url = pg or f"sqlite:///{workdir / 'credo.db'}"
    try:
        with running_server(url, workdir, backend=backend, workers=1) as s:
            yield s
    finally:
        if pg:
            drop_postgres_database(pg)


def owner_login(server: LiveServer) -> tuple[str, str, str]:
    """(organization id, owner e-mail, password), made by the CLI as an operator would."""
    with httpx.Client(timeout=60) as http:
        org = server.create_org(http, name=ORG, sandbox=True, plan="launch-250")
    org_id = org["organization"]["id"]
    email = f"owner.{server.backend}@northbridge.example"
    r = server.cli("user", "add", email, "--org", org_id, "--role", "owner")
    assert r.returncode == 0, r.stderr
    password = re.search(r"password:\s*(\S+)", r.stdout)
    assert password, r.stdout
    return org_id, email, password.group(1)


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/app")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/app$"))


def write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Full name", "Email", "Completed on"])
        w.writerows(rows)
    return path


def upload(page: Page, base: str, path: Path) -> None:
    page.goto(f"{base}/app/imports/new")
    page.get_by_label("Group to issue from").select_option(label=GROUP)
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.locator("h1")).to_contain_text("Map the columns")
    page.get_by_role("button", name="Check every row").click()


def test_an_issuer_publishes_from_a_spreadsheet_and_sees_the_cost(
    server: LiveServer, tmp_path: Path
) -> None:
    out = artifacts_dir() / "issuer-journey" / server.backend
    out.mkdir(parents=True, exist_ok=True)
    base = server.base_url
    org_id, email, password = owner_login(server)
    people = [
        (f"Learner {i}", f"learner{i}@example.org", "2026-03-0" + str(1 + i % 9)) for i in range(12)
    ]

    with chromium() as browser:
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        sign_in(page, base, email, password)
        expect(page.locator("#credits-remaining")).to_have_text("250")
        keep_screenshot(page, out / "01-overview.png")

        # A group, from the form.
        page.goto(f"{base}/app/groups/new")
        page.get_by_label("Name", exact=True).fill(GROUP)
        page.get_by_label("Description").fill("Emergency first aid in the workplace.")
        page.get_by_label("Expires after (months)").fill("36")
        page.get_by_role("button", name="Create the group").click()
        expect(page.locator("body")).to_contain_text(GROUP)
        keep_screenshot(page, out / "02-group.png")

        # A spreadsheet with one bad e-mail: reported by row, nothing issued.
        bad = write_csv(
            tmp_path / "learners.csv",
            [*people[:5], ("Broken Row", "not-an-email", "2026-03-01"), *people[5:]],
        )
        upload(page, base, bad)
        errors = page.locator("#row-errors")
        expect(errors).to_contain_text("1 row has a problem")
        report = page.locator('table[aria-describedby="row-errors"] tbody tr')
        expect(report).to_have_count(1)
        expect(report.first).to_contain_text("7")  # the bad row, as the spreadsheet numbers it
        keep_screenshot(page, out / "03-bad-row.png")
        expect(page.locator("#credits-remaining")).to_have_text("250")

        # Fixed and uploaded again: the cost preview, then publishing.
        good = write_csv(tmp_path / "learners.csv", people)
        upload(page, base, good)
        expect(page.locator("h1")).to_contain_text("Ready to issue 12 credentials")
        expect(page.locator("table").first).to_contain_text("1 March 2026")  # "Completed on"
        expect(page.locator("body")).to_contain_text("12")
        keep_screenshot(page, out / "04-cost-preview.png")
        page.get_by_role(
            "button", name=re.compile(r"Publish 12 credentials \(12 credits\)")
        ).click()
        expect(page.locator("#import-state")).to_contain_text(
            "Done: 12 credentials published", timeout=60_000
        )
        keep_screenshot(page, out / "05-published.png")

        # Credits are in view on every page, and the credits page explains them.
        page.goto(f"{base}/app/credits")
        expect(page.locator("#credits-remaining")).to_have_text("238")
        expect(page.locator("#credits-page-used")).to_have_text("12")
        expect(page.locator("svg").first).to_be_visible()
        keep_screenshot(page, out / "06-credits.png")
        with page.expect_download() as dl:
            page.locator("#ledger-csv").click()
        ledger = out / "ledger.csv"
        dl.value.save_as(ledger)
        rows = list(csv.DictReader(io.StringIO(ledger.read_text(encoding="utf-8-sig"))))
        assert len(rows) == 12
        assert {
            r[k] for r in rows for k in r if "mail" in k.lower() or "recipient" in k.lower()
        } >= {p[1] for p in people}

        # The credentials list shows them; the phone layout holds.
        page.goto(f"{base}/app/credentials")
        expect(page.locator("table").first).to_contain_text("learner3@example.org")
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        small = phone.new_page()
        sign_in(small, base, email, password)
        small.goto(f"{base}/app/credits")
        keep_screenshot(small, out / "07-credits-phone.png")
        phone.close()
        context.close()

    # A viewer of the same organization reads, and is refused when it tries to publish.
    viewer = f"viewer.{server.backend}@northbridge.example"
    r = server.cli("user", "add", viewer, "--org", org_id, "--role", "viewer")
    assert r.returncode == 0, r.stderr
    viewer_password = re.search(r"password:\s*(\S+)", r.stdout)
    assert viewer_password
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, viewer, viewer_password.group(1))
        page.goto(f"{base}/app/credentials")
        expect(page.locator("table").first).to_contain_text("learner3@example.org")
        assert page.get_by_role("button", name=re.compile("Publish")).count() == 0
        refused = page.goto(f"{base}/app/imports/new")
        assert refused is not None and refused.status == 403
        keep_screenshot(page, out / "08-viewer-refused.png")
