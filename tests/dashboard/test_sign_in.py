"""Signing in to the dashboard: sessions, CSRF, rate limits, credits in view."""

from __future__ import annotations

from fastapi.testclient import TestClient

from credo.bootstrap import App
from credo.domain.accounts import Role
from tests.conftest import Org, app_for
from tests.dashboard.helpers import PASSWORD, make_person, sign_in


def test_the_dashboard_needs_a_session(org: Org) -> None:
    r = org.client.get("/app", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/app"
    api = org.client.get("/app")  # not a browser: problem JSON
    assert api.status_code == 401 and api.headers["content-type"] == "application/problem+json"


def test_an_owner_signs_in_and_sees_credits_left(credo: App, org: Org) -> None:
    owner = sign_in(credo, "owner@example.org", org.id)
    page = owner.get("/app")
    assert page.status_code == 200
    assert 'id="credits-remaining">250<' in page.text
    assert "credo_session" in owner.client.cookies
    cookie = page.headers.get("set-cookie", "")
    assert "credo_session" not in cookie  # set once, at sign-in


def test_wrong_passwords_are_refused_then_rate_limited(credo: App, org: Org) -> None:
    make_person(credo, "limited@example.org", org.id, Role.VIEWER)
    c = org.client
    for _ in range(5):
        r = c.post("/login", data={"email": "limited@example.org", "password": "wrong password!"})
        assert r.status_code == 401 and "not right" in r.text
    r = c.post("/login", data={"email": "limited@example.org", "password": PASSWORD})
    assert r.status_code == 429  # even the right password, for a while
    unknown = c.post("/login", data={"email": "nobody@example.org", "password": PASSWORD})
    assert unknown.status_code == 401


def test_sign_out_needs_the_csrf_token_and_ends_the_session(credo: App, org: Org) -> None:
    person = sign_in(credo, "leaver@example.org", org.id)
    forged = person.client.post("/logout", data={"csrf": "forged"}, headers={"Accept": "text/html"})
    assert forged.status_code == 403
    assert person.get("/app").status_code == 200
    out = person.post("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    again = person.client.get("/app", headers={"Accept": "text/html"}, follow_redirects=False)
    assert again.status_code == 303


def test_no_open_redirect_after_sign_in(credo: App, org: Org) -> None:
    make_person(credo, "redirect@example.org", org.id)
    r = org.client.post(
        "/login",
        data={"email": "redirect@example.org", "password": PASSWORD, "next": "//evil.example/app"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/app"


def test_odd_sign_in_input_is_refused_not_crashed(credo: App) -> None:
    # A client address of its own: other tests' failed sign-ins from "testclient", under a
    # clock that stands still, count toward the per-client limit.
    client = TestClient(app_for(credo), raise_server_exceptions=False, client=("192.0.2.61", 50000))
    for email in ("nul\x00@example.org", "x" * 320, "ünïcødé@exämple.org", ""):
        r = client.post("/login", data={"email": email, "password": "p\x00ss"})
        assert r.status_code == 401, (email, r.status_code)
