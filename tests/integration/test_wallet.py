"""The recipient's wallet: a sign-in link e-mailed with the same answer for any address,
rate-limited, single-use and short-lived; every credential of the address across
organizations, its files (hidden ones' too) one by one or zipped, hiding and showing; and
an opt-in public profile of the credentials the recipient chooses."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from credo.adapters.db import tables as t
from credo.adapters.mail.smtp import SmtpSender
from credo.bootstrap import App
from credo.clock import FixedClock
from credo.services.mail.mailing import MailWorker
from credo.services.recipients import wallet
from tests.conftest import Org, create_org
from tests.smtp import SmtpServer
from tests.smtp import smtp_server as smtp_server_fixture

smtp_server = smtp_server_fixture

BROWSER = {"Accept": "text/html"}


@pytest.fixture
def ada(credo: App) -> str:
    """An address of this test's own (tests share a database), with the limits on asking
    for links as a fresh hour has them (every test asks from the test client's address)."""
    with credo.engine.begin() as conn:
        conn.execute(delete(t.login_failures).where(t.login_failures.c.subject.like("wallet:%")))
    return f"ada-{uuid.uuid4().hex[:12]}@example.org"


def issue(org: Org, email: str, group: str = "Data Science") -> dict[str, Any]:
    r = org.issue(org.group(group), email, "Ada Lovelace")
    assert r.status_code == 201, r.text
    cred: dict[str, Any] = r.json()["credential"]
    return cred


def links_to(credo: App, address: str) -> list[str]:
    o = t.outbox.c
    with credo.engine.connect() as conn:
        rows = conn.scalars(
            select(o.payload).where(o.kind == wallet.SIGN_IN, o.to_address == address)
        ).all()
    return [orjson.loads(p)["token"] for p in rows]


def signed_in(client: TestClient, credo: App, address: str) -> str:
    """Ask for a link, follow it, press the button; answers the wallet's CSRF token."""
    assert client.post("/wallet", data={"email": address}).status_code == 200
    token = links_to(credo, address)[-1]
    r = client.post(f"/wallet/enter/{token}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/wallet"
    page = client.get("/wallet").text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_the_answer_is_the_same_whoever_asks(
    ada: str, org: Org, client: TestClient, credo: App
) -> None:
    issue(org, ada)
    nobody = ada.replace("ada-", "nobody-")  # of this test alone: the database is shared
    known = client.post("/wallet", data={"email": ada})
    unknown = client.post("/wallet", data={"email": nobody})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(ada, "X") == unknown.text.replace(nobody, "X")
    assert len(links_to(credo, ada)) == 1 and links_to(credo, nobody) == []
    assert client.post("/wallet", data={"email": ""}).status_code == 422


def test_asking_is_rate_limited_per_address(
    ada: str, org: Org, client: TestClient, credo: App
) -> None:
    issue(org, ada)
    for _ in range(wallet.MAX_REQUESTS_PER_ADDRESS):
        assert client.post("/wallet", data={"email": ada}).status_code == 200
    r = client.post("/wallet", data={"email": f" {ada.upper()} "})
    assert r.status_code == 429 and "wait an hour" in r.text
    assert len(links_to(credo, ada)) == wallet.MAX_REQUESTS_PER_ADDRESS


def test_the_link_works_once_and_only_by_pressing_its_button(
    ada: str, org: Org, client: TestClient, credo: App
) -> None:
    issue(org, ada)
    client.post("/wallet", data={"email": ada})
    [token] = links_to(credo, ada)
    # A mail scanner opening the link signs nobody in and spends nothing.
    for _ in range(2):
        page = client.get(f"/wallet/enter/{token}")
        assert page.status_code == 200 and "Open my credentials" in page.text
    assert "credo_wallet" not in client.cookies
    r = client.post(f"/wallet/enter/{token}", follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    again = client.post(f"/wallet/enter/{token}", follow_redirects=False)
    assert again.status_code == 410 and "used already" in again.text
    assert client.get("/wallet/enter/not-a-token").status_code == 410
    assert client.get(f"/wallet/enter/{'x' * 500}").status_code == 410


def test_the_link_expires_after_15_minutes(
    ada: str, org: Org, client: TestClient, credo: App, clock: FixedClock
) -> None:
    issue(org, ada)
    client.post("/wallet", data={"email": ada})
    [token] = links_to(credo, ada)
    clock.set(clock.now() + timedelta(minutes=16))
    r = client.post(f"/wallet/enter/{token}", follow_redirects=False)
    assert r.status_code == 410 and "expired" in r.text


def test_the_wallet_holds_the_address_s_credentials_from_every_organization(
    ada: str, org: Org, client: TestClient, credo: App
) -> None:
    mine = issue(org, ada)
    other_org = create_org(client, name="Harbour College", sandbox=True, anchor="2026-01-15")
    also_mine = issue(other_org, ada.replace("example.org", "Example.ORG"), "Statistics")
    not_mine = issue(org, "grace@example.org", "Ethics")
    signed_in(client, credo, ada)
    page = client.get("/wallet").text
    assert "2 credentials issued to you" in page
    assert mine["id"] in page and also_mine["id"] in page and not_mine["id"] not in page
    assert "Harbour College" in page and "Test Org" in page


def test_files_one_by_one_or_zipped_hidden_ones_too(
    ada: str, org: Org, client: TestClient, credo: App
) -> None:
    cred = issue(org, ada)
    other = issue(org, "grace@example.org", "Ethics")
    csrf = signed_in(client, credo, ada)
    r = client.post(
        f"/wallet/credentials/{cred['id']}/visibility",
        data={"csrf": csrf, "hidden": "true"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get(f"/c/{cred['id']}.json").status_code == 404  # gone from public view
    signed = client.get(f"/wallet/credentials/{cred['id']}.json")
    assert signed.status_code == 200 and json.loads(signed.content)["id"].endswith(cred["id"])
    assert client.get(f"/wallet/credentials/{cred['id']}.pdf").content.startswith(b"%PDF")
    assert client.get(f"/wallet/credentials/{cred['id']}.png").content.startswith(b"\x89PNG")
    assert b"<svg" in client.get(f"/wallet/credentials/{cred['id']}.svg").content
    for path in (f"{other['id']}.json", f"{cred['id']}.exe", "cred_nope.json"):
        assert client.get(f"/wallet/credentials/{path}").status_code == 404, path
    z = zipfile.ZipFile(io.BytesIO(client.get("/wallet/credentials.zip").content))
    names = z.namelist()
    assert len(names) == 3 and all(".." not in n and not n.startswith("/") for n in names)
    assert {n.rsplit(".", 1)[1] for n in names} == {"json", "pdf", "png"}
    assert z.read(next(n for n in names if n.endswith(".json"))) == signed.content


def test_hiding_needs_the_wallet_s_own_form(
    ada: str, org: Org, client: TestClient, credo: App
) -> None:
    cred = issue(org, ada)
    signed_in(client, credo, ada)
    r = client.post(
        f"/wallet/credentials/{cred['id']}/visibility",
        data={"csrf": "forged", "hidden": "true"},
        headers=BROWSER,
    )
    assert r.status_code == 403
    assert client.get(f"/c/{cred['id']}").status_code == 200


def test_signed_out_nothing_private_answers(
    ada: str, org: Org, client: TestClient, credo: App
) -> None:
    cred = issue(org, ada)
    page = client.get("/wallet")
    assert page.status_code == 200 and "E-mail me a sign-in link" in page.text
    for path in (f"/wallet/credentials/{cred['id']}.json", "/wallet/credentials.zip"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    csrf = signed_in(client, credo, ada)
    assert client.post("/wallet/sign-out", data={"csrf": csrf}).status_code == 200
    assert client.get("/wallet/credentials.zip").status_code == 404


def test_a_public_profile_shows_what_its_recipient_chose(
    ada: str, org: Org, client: TestClient, credo: App
) -> None:
    shown = issue(org, ada, group="Data Science")
    kept_back = issue(org, ada, group="Ethics")
    later_hidden = issue(org, ada, group="Statistics")
    someone_else = issue(org, "grace@example.org", "Grace's")
    csrf = signed_in(client, credo, ada)
    r = client.post(
        "/wallet/profile",
        data={
            "csrf": csrf,
            "public": "true",
            "display_name": "  Ada   Lovelace ",
            "shown": [shown["id"], later_hidden["id"], someone_else["id"]],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/wallet").text
    url = page.split('On, at <a href="', 1)[1].split('"', 1)[0]
    path = url.split("127.0.0.1:8000", 1)[-1]
    client.post(
        f"/wallet/credentials/{later_hidden['id']}/visibility",
        data={"csrf": csrf, "hidden": "true"},
    )
    public = TestClient(client.app).get(path)
    assert public.status_code == 200 and "Ada Lovelace" in public.text
    assert shown["id"] in public.text
    for absent in (kept_back, later_hidden, someone_else):
        assert absent["id"] not in public.text
    client.post("/wallet/profile", data={"csrf": csrf, "display_name": "Ada"})  # off again
    assert TestClient(client.app).get(path).status_code == 404
    assert client.get("/p/UPPER_case_slug").status_code == 404


@pytest.mark.parametrize("odd", ["not-an-address", "a" * 330, "{ada}\x00"])
def test_odd_addresses_get_the_same_quiet_answer(
    ada: str, org: Org, client: TestClient, credo: App, odd: str
) -> None:
    issue(org, ada)  # the address holds a credential: a NUL after it is still no address
    email = odd.format(ada=ada)
    r = client.post("/wallet", data={"email": email})
    # The form's own field never sends an overlong one: that is a problem for whoever did.
    assert r.status_code in (200, 422)
    assert r.headers["content-type"].startswith(("text/html", "application/problem+json"))
    assert links_to(credo, email.replace("\x00", "")) == []


def test_the_e_mail_carries_the_link(
    ada: str, org: Org, client: TestClient, credo: App, smtp_server: SmtpServer
) -> None:
    issue(org, ada)
    client.post("/wallet", data={"email": ada})
    [token] = links_to(credo, ada)
    sender = SmtpSender(smtp_server.host, smtp_server.port, security="none", timeout=5)
    MailWorker(credo.uow, credo.ctx, sender, "badges@university.example").drain()
    [got] = [m for m in smtp_server.to(ada) if "sign-in" in m.message["Subject"]]
    text = got.message.get_body(("plain",))
    html = got.message.get_body(("html",))
    assert text is not None and html is not None
    link = f"{credo.ctx.base_url}/wallet/enter/{token}"
    assert link in text.get_content() and link in html.get_content()
    assert "works once, for 15 minutes" in text.get_content()
    assert got.message["Subject"] == "Your sign-in link to your credentials"
