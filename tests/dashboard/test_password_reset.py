"""Password resets by e-mail: asked for at /password-reset, sent through the outbox by the
mail worker over real SMTP, used once through the link in the e-mail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from credo.adapters.db import tables as t
from credo.bootstrap import App
from credo.clock import FixedClock
from credo.services.people.accounts import token_hash
from tests.conftest import Org, app_for
from tests.dashboard.helpers import PASSWORD, make_person, sign_in
from tests.dashboard.mail import deliver, html_of, link_path, set_aside_pending, unique_email
from tests.smtp import SmtpServer
from tests.smtp import smtp_server as smtp_server_fixture

smtp_server = smtp_server_fixture
HTML = {"Accept": "text/html"}
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(autouse=True)
def quiet_outbox(credo: App) -> None:
    set_aside_pending(credo)
    # Every test client asks from the same address, at the same fixed time.
    with credo.engine.begin() as conn:
        f = t.login_failures.c
        conn.execute(delete(t.login_failures).where(f.subject.startswith("reset:client:")))


def browser(credo: App) -> TestClient:
    return TestClient(app_for(credo), raise_server_exceptions=False, headers=HTML)


def ask(client: TestClient, email: str) -> Any:
    return client.post("/password-reset", data={"email": email})


def log_in(credo: App, email: str, password: str) -> int:
    r = browser(credo).post(
        "/login", data={"email": email, "password": password}, follow_redirects=False
    )
    return r.status_code


def outbox_rows(credo: App, to: str) -> list[dict[str, Any]]:
    o = t.outbox.c
    with credo.engine.connect() as conn:
        rows = conn.execute(select(t.outbox).where(o.to_address == to).order_by(o.id)).all()
    return [dict(r._mapping) for r in rows]


def test_a_reset_by_email_changes_the_password_once(
    credo: App, org: Org, smtp_server: SmtpServer
) -> None:
    email = unique_email("forgetful")
    person = sign_in(credo, email, org.id)  # a session elsewhere, to be ended by the reset
    assert person.get("/app").status_code == 200
    anon = browser(credo)

    assert anon.get("/password-reset").status_code == 200
    r = ask(anon, email)
    assert r.status_code == 200 and "If an account exists" in r.text

    # The outbox carries no working link: only a nonce the worker derives it from.
    [row] = outbox_rows(credo, email)
    assert row["kind"] == "password.reset" and "password-reset/" not in row["payload"]
    deliver(credo, smtp_server)
    [mail] = smtp_server.to(email)
    assert mail.message["Subject"] == "Reset your Credo password"
    path = link_path(mail)
    assert path in html_of(mail)
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits
    assert token not in row["payload"]
    with credo.engine.connect() as conn:
        stored = conn.execute(select(t.password_resets.c.token_hash)).scalars().all()
    assert token_hash(token) in stored and token not in stored

    form = anon.get(path)
    assert form.status_code == 200 and 'name="password"' in form.text
    # A weak password or a typo is refused, and does not use the link up.
    weak = anon.post(path, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 422 and "at least 10 characters" in weak.text
    typo = anon.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert typo.status_code == 422 and "not the same" in typo.text
    done = anon.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200 and 'id="reset-done"' in done.text

    # Every earlier session is signed out; the old password no longer works.
    assert person.client.get("/app", headers=HTML, follow_redirects=False).status_code == 303
    assert log_in(credo, email, PASSWORD) == 401
    assert log_in(credo, email, NEW_PASSWORD) == 303

    # The link works once.
    assert anon.get(path).status_code == 410
    again = anon.post(path, data={"password": "yet another passphrase", "confirm": "x" * 12})
    assert again.status_code == 410 and "Ask for a new link" in again.text
    assert log_in(credo, email, "yet another passphrase") == 401


def test_a_link_expires_after_an_hour(
    credo: App, clock: FixedClock, org: Org, smtp_server: SmtpServer
) -> None:
    email = unique_email("slow")
    make_person(credo, email, org.id)
    anon = browser(credo)
    assert ask(anon, email).status_code == 200
    deliver(credo, smtp_server)
    path = link_path(smtp_server.to(email)[0])
    clock.set(clock.now() + timedelta(minutes=59))
    assert anon.get(path).status_code == 200
    clock.set(clock.now() + timedelta(minutes=2))
    assert anon.get(path).status_code == 410
    r = anon.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 410
    assert log_in(credo, email, NEW_PASSWORD) == 401
    assert log_in(credo, email, PASSWORD) == 303


def test_unknown_addresses_get_the_same_answer_and_no_email(
    credo: App, org: Org, smtp_server: SmtpServer
) -> None:
    known = unique_email("known")
    make_person(credo, known, org.id)
    unknown = unique_email("unknown")
    anon = browser(credo)
    a, b = ask(anon, known), ask(anon, unknown)
    assert a.status_code == b.status_code == 200
    assert a.text.replace(known, "X") == b.text.replace(unknown, "X")
    assert outbox_rows(credo, unknown) == []
    deliver(credo, smtp_server)
    assert smtp_server.to(unknown) == [] and len(smtp_server.to(known)) == 1
    # Not an address at all: asked again, nothing more.
    assert ask(anon, "").status_code == 422
    assert ask(anon, "not an address").status_code == 200


def test_requests_are_rate_limited_alike_for_known_and_unknown(credo: App, org: Org) -> None:
    known = unique_email("limited")
    make_person(credo, known, org.id)
    unknown = unique_email("limited-unknown")
    anon = browser(credo)
    for email in (known, unknown):
        for _ in range(3):
            assert ask(anon, email).status_code == 200
        r = ask(anon, email)
        assert r.status_code == 429 and "too many" in r.text
    assert len(outbox_rows(credo, known)) == 3


def test_bad_tokens_are_refused_without_errors(credo: App) -> None:
    anon = browser(credo)
    for token in ("x", "A" * 43, "A" * 500, "%00", "<script>"):
        r = anon.get(f"/password-reset/{token}")
        assert r.status_code in (404, 410), (token, r.status_code)
        assert "<script>" not in r.text
        p = anon.post(f"/password-reset/{token}", data={"password": NEW_PASSWORD})
        assert p.status_code in (404, 410, 422), (token, p.status_code)
    # Oversized fields are refused as invalid input, not a crash.
    r = anon.post("/password-reset", data={"email": "a" * 5000})
    assert r.status_code == 422
    r = anon.post("/password-reset", data={"email": "nul\x00@example.org"})
    assert r.status_code == 200


def test_the_invitation_email_sets_the_first_password(
    credo: App, org: Org, smtp_server: SmtpServer
) -> None:
    owner = sign_in(credo, unique_email("inviting-owner"), org.id)
    newcomer = unique_email("newcomer")
    r = owner.post(
        "/app/members/invite", {"email": newcomer, "name": "New Comer", "role": "issuer"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/app/members?notice=invited"
    [row] = outbox_rows(credo, newcomer)
    assert row["kind"] == "account.invite"
    payload = orjson.loads(row["payload"])
    assert payload["role"] == "issuer" and "nonce" in payload
    # Until they choose one, there is no password to sign in with.
    assert log_in(credo, newcomer, PASSWORD) == 401

    deliver(credo, smtp_server)
    [mail] = smtp_server.to(newcomer)
    assert "added you to Test Org" in mail.message["Subject"]
    path = link_path(mail)
    anon = browser(credo)
    done = anon.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200
    signed = anon.post(
        "/login", data={"email": newcomer, "password": NEW_PASSWORD}, follow_redirects=False
    )
    assert signed.status_code == 303
    home = anon.get("/app")
    assert home.status_code == 200 and "issuer" in home.text
