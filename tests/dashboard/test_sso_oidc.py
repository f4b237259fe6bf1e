"""Single sign-on by OpenID Connect against a real, independent OpenID Provider (pyop over
HTTPS on 127.0.0.1): the code flow with PKCE, just-in-time members, and every bad case
refused (an HTML page, no session) and logged."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from credo.adapters.db import tables as t
from credo.adapters.sso.oidc import AuthlibOidc
from credo.bootstrap import App
from credo.clock import SystemClock
from tests.conftest import app_for
from tests.sso.helpers import HTML, SsoOrg, last_refusal, refusals, refused_page, sso_org
from tests.sso.oidc_provider import CLIENT_ID, CLIENT_SECRET, LocalProvider, running_provider

REDIRECT_URI = "http://127.0.0.1:8000/sso/oidc/callback"  # the settings' default base_url


@pytest.fixture
def clock() -> SystemClock:
    """The provider dates its tokens by the real clock: so does Credo here."""
    return SystemClock()


@pytest.fixture
def op(tmp_path: Path) -> Iterator[LocalProvider]:
    users: dict[str, dict[str, Any]] = {}
    with running_provider(tmp_path, REDIRECT_URI, users) as provider:
        yield provider


@pytest.fixture
def world(credo: App, client: TestClient, op: LocalProvider) -> SsoOrg:
    # As CREDO_SSO_CA_BUNDLE=<the test CA> and CREDO_SSO_ALLOW_PRIVATE_NETWORKS=true make it.
    credo.oidc = AuthlibOidc(op.cert, allow_private=True)
    org = sso_org(credo, client)
    r = org.owner.post(
        "/app/settings/sso/oidc",
        {"issuer": op.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert r.status_code == 303, r.text
    r = org.owner.post("/app/settings/sso/policy", {"enabled": "on", "default_role": "issuer"})
    assert r.status_code == 303, r.text
    op.users["alice"] = {"email": f"alice@{org.domain}", "email_verified": True, "name": "Alice A"}
    op.users["mallory"] = {"email": "mallory@elsewhere.example", "name": "Mallory"}
    return org


def to_provider(credo: App, email: str) -> tuple[TestClient, str]:
    """A new browser enters `email` at /login (no password): where it is sent."""
    browser = TestClient(app_for(credo), raise_server_exceptions=False)
    r = browser.post(
        "/login",
        data={"email": email, "password": "", "next": "/app/members"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"].lower()
    assert "credo_sso_state=" in cookie and "httponly" in cookie and "path=/sso/oidc" in cookie
    return browser, r.headers["location"]


def at_provider(op: LocalProvider, location: str) -> str:
    """The provider signs its user in: the callback address it sends the browser to."""
    assert location.startswith(op.issuer + "/authorize?"), location
    with httpx.Client(verify=op.tls()) as http:
        r = http.get(location)
    assert r.status_code == 302, r.text
    callback: str = r.headers["location"]
    assert callback.startswith(REDIRECT_URI + "?"), callback
    return callback.removeprefix("http://127.0.0.1:8000")


def sign_in_via(credo: App, op: LocalProvider, user: str, email: str) -> tuple[TestClient, Any]:
    op.user = user
    browser, location = to_provider(credo, email)
    callback = at_provider(op, location)
    return browser, browser.get(callback, headers=HTML, follow_redirects=False)


def test_first_sign_in_makes_a_member_with_the_default_role(
    credo: App, world: SsoOrg, op: LocalProvider
) -> None:
    browser, location = to_provider(credo, f"Alice@{world.domain.upper()}")
    query = dict(httpx.URL(location).params)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["client_id"] == CLIENT_ID and query["nonce"] and query["state"]
    assert query["redirect_uri"] == REDIRECT_URI and "openid" in query["scope"].split()
    r = browser.get(at_provider(op, location), headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/app/members", r.text
    assert "credo_session" in browser.cookies
    home = browser.get("/app", headers=HTML)
    assert home.status_code == 200 and "Alice A" in home.text
    with credo.engine.connect() as conn:
        row = conn.execute(
            select(t.memberships.c.role, t.users.c.password_hash)
            .join(t.users, t.users.c.id == t.memberships.c.user_id)
            .where(t.users.c.email_key == f"alice@{world.domain}")
        ).one()
    assert row.role == "issuer" and row.password_hash == "!sso"
    # A second sign-in finds the same member (no second account, the role kept).
    again, r2 = sign_in_via(credo, op, "alice", f"alice@{world.domain}")
    assert r2.status_code == 303 and again.get("/app", headers=HTML).status_code == 200
    # No password signs the member in: the account has none.
    pw = again.post("/login", data={"email": f"alice@{world.domain}", "password": "!sso"})
    assert pw.status_code == 401


def test_others_still_sign_in_with_a_password(credo: App, world: SsoOrg) -> None:
    """The password field is still there: an e-mail outside every SSO domain uses it."""
    page = TestClient(app_for(credo)).get("/login", headers=HTML).text
    assert 'name="password"' in page
    r = TestClient(app_for(credo)).post(
        "/login",
        data={"email": "nobody@example.org", "password": ""},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 401


def _tampered(credo: App, op: LocalProvider, world: SsoOrg) -> Any:
    _, r = sign_in_via(credo, op, "alice", f"alice@{world.domain}")
    return r


@pytest.mark.parametrize(
    "case",
    ["audience", "issuer", "expired", "not_yet_valid", "nonce", "stranger_key", "unsigned", "hmac"],
)
def test_a_bad_id_token_is_refused_and_logged(
    credo: App, world: SsoOrg, op: LocalProvider, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    now = int(time.time())
    changes: dict[str, dict[str, Any]] = {
        "audience": {"aud": "someone-else"},
        "issuer": {"iss": "https://evil.example"},
        "expired": {"iat": now - 7200, "exp": now - 3600},
        "not_yet_valid": {"iat": now + 3600, "nbf": now + 3600, "exp": now + 7200},
        "nonce": {"nonce": "not-the-one-we-sent"},
    }
    if case in changes:
        op.tamper = lambda claims: {**claims, **changes[case]}
    elif case == "stranger_key":
        from tests.sso.oidc_provider import rsa_key

        op.sign_with = rsa_key("op-key")  # the same key id, another key
    elif case == "unsigned":
        op.sign_with = "none"
    else:
        op.sign_with = "hs256"
    r = _tampered(credo, op, world)
    refused_page(r)
    assert refusals(caplog) == ["invalid_token"]
    [record] = [x for x in caplog.records if getattr(x, "reason", "") == "invalid_token"]
    assert getattr(record, "organization_id", None) == world.id
    assert CLIENT_SECRET not in caplog.text
    assert _members(credo, world) == 1  # only the owner: no one was made a member


def test_a_replayed_callback_is_refused_and_logged(
    credo: App, world: SsoOrg, op: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    op.user = "alice"
    browser, location = to_provider(credo, f"alice@{world.domain}")
    state = dict(httpx.URL(location).params)["state"]
    callback = at_provider(op, location)
    first = browser.get(callback, headers=HTML, follow_redirects=False)
    assert first.status_code == 303
    # Even with the state's cookie (a thief who has it all, in another process): the sign-in
    # under way was spent, in the database.
    thief = TestClient(app_for(credo), raise_server_exceptions=False)
    thief.cookies.set("credo_sso_state", state, path="/sso/oidc")
    refused_page(thief.get(callback, headers=HTML, follow_redirects=False))
    assert refusals(caplog) == ["unknown_or_used_state"]
    assert "expired or was used" in last_refusal(caplog)["why"]


def test_a_callback_made_in_another_browser_is_refused(
    credo: App, world: SsoOrg, op: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """Login CSRF: an attacker's own sign-in, its callback address sent to a victim, does
    not sign the victim in as the attacker."""
    caplog.set_level(logging.INFO, logger="credo.sso")
    op.user = "alice"
    _, location = to_provider(credo, f"alice@{world.domain}")
    callback = at_provider(op, location)
    victim = TestClient(app_for(credo), raise_server_exceptions=False)
    r = victim.get(callback, headers=HTML, follow_redirects=False)
    refused_page(r)
    assert "credo_session" not in victim.cookies
    assert refusals(caplog) == ["unknown_or_used_state"]
    assert "not the one this browser left with" in last_refusal(caplog)["why"]


def test_a_replayed_code_under_a_fresh_state_is_refused(
    credo: App, world: SsoOrg, op: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """The code of a finished sign-in, brought back with the state of a new one: refused
    (the provider refuses a code twice too; Credo does not ask it)."""
    caplog.set_level(logging.INFO, logger="credo.sso")
    _, ok = sign_in_via(credo, op, "alice", f"alice@{world.domain}")
    assert ok.status_code == 303
    used_code = op.codes_issued[-1]
    browser, location = to_provider(credo, f"alice@{world.domain}")
    state = dict(httpx.URL(location).params)["state"]
    r = browser.get(
        "/sso/oidc/callback", params={"code": used_code, "state": state}, headers=HTML,
        follow_redirects=False,
    )  # fmt: skip
    refused_page(r)
    assert refusals(caplog) in (["provider_error"], ["replayed"])


def test_an_email_outside_the_verified_domains_is_refused(
    credo: App, world: SsoOrg, op: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    _, r = sign_in_via(credo, op, "mallory", f"alice@{world.domain}")
    refused_page(r)
    assert refusals(caplog) == ["domain_not_verified"]
    assert _members(credo, world) == 1


def test_an_unverified_email_is_refused(
    credo: App, world: SsoOrg, op: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    op.users["alice"]["email_verified"] = False
    _, r = sign_in_via(credo, op, "alice", f"alice@{world.domain}")
    refused_page(r)
    assert refusals(caplog) == ["no_email"]


def test_a_provider_claiming_another_issuer_is_refused(
    credo: App, world: SsoOrg, op: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """Discovery must name exactly the configured issuer (a provider's document served
    from another address is not trusted)."""
    caplog.set_level(logging.INFO, logger="credo.sso")
    op.provider.configuration_information["issuer"] = "https://impostor.example"
    browser = TestClient(app_for(credo), raise_server_exceptions=False)
    r = browser.post(
        "/login", data={"email": f"alice@{world.domain}"}, headers=HTML, follow_redirects=False
    )
    refused_page(r)
    assert refusals(caplog) == ["invalid_token"]


@pytest.mark.parametrize(
    "jwks", [{"keys": [{"kty": "RSA", "n": "!"}]}, {"keys": "no"}, [], {"keys": []}]
)
def test_unusable_published_keys_are_refused(
    credo: App, world: SsoOrg, op: LocalProvider, jwks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    op.jwks = jwks
    _, r = sign_in_via(credo, op, "alice", f"alice@{world.domain}")
    refused_page(r)
    assert refusals(caplog) in (["provider_error"], ["invalid_token"])


def test_an_untrusted_certificate_is_refused(
    credo: App, world: SsoOrg, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the test CA (the system's store only), the provider is not reached."""
    caplog.set_level(logging.INFO, logger="credo.sso")
    credo.oidc = AuthlibOidc(allow_private=True)
    browser = TestClient(app_for(credo), raise_server_exceptions=False)
    r = browser.post(
        "/login", data={"email": f"alice@{world.domain}"}, headers=HTML, follow_redirects=False
    )
    refused_page(r)
    assert refusals(caplog) == ["provider_error"]


def test_a_provider_on_a_private_address_is_refused_unless_allowed(
    credo: App, world: SsoOrg, op: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """An owner types the issuer: Credo does not fetch from its own network for them."""
    caplog.set_level(logging.INFO, logger="credo.sso")
    credo.oidc = AuthlibOidc(op.cert)
    browser = TestClient(app_for(credo), raise_server_exceptions=False)
    r = browser.post(
        "/login", data={"email": f"alice@{world.domain}"}, headers=HTML, follow_redirects=False
    )
    refused_page(r)
    assert refusals(caplog) == ["provider_error"]
    why = last_refusal(caplog)["why"]
    assert "private or reserved" in why


def test_unknown_states_and_provider_errors_are_refused(
    credo: App, world: SsoOrg, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    browser = TestClient(app_for(credo), raise_server_exceptions=False)
    for params in ({}, {"code": "x", "state": "made-up"}, {"state": "x" * 500}):
        refused_page(browser.get("/sso/oidc/callback", params=params, headers=HTML))
    browser, location = to_provider(credo, f"alice@{world.domain}")
    state = dict(httpx.URL(location).params)["state"]
    denied = browser.get(
        "/sso/oidc/callback", params={"error": "access_denied", "state": state}, headers=HTML
    )
    refused_page(denied)
    assert refusals(caplog) == ["unknown_or_used_state"] * 3 + ["provider_error"]


def _members(credo: App, world: SsoOrg) -> int:
    with credo.engine.connect() as conn:
        rows = conn.execute(
            select(t.memberships.c.user_id).where(t.memberships.c.organization_id == world.id)
        ).all()
    return len(rows)
