"""The single sign-on settings page: the client secret sealed and never shown, domains
proven by DNS TXT records, "SSO required" refusing passwords at once, and the owners'
break-glass (logged at WARNING, every owner e-mailed)."""

from __future__ import annotations

import csv
import io
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from credo.adapters.db import tables as t
from credo.adapters.keystore import KeyVault, parse_master_key
from credo.bootstrap import App
from credo.domain.accounts import Role
from credo.services.people import accounts
from tests.conftest import MASTER_KEY, app_for, create_org
from tests.dashboard.helpers import PASSWORD, make_person, sign_in
from tests.sso.helpers import HTML, FakeDns, SsoOrg, sso_org
from tests.sso.saml_idp import LocalIdp, running_idp

SECRET = "client-secret-" + "q" * 20


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[LocalIdp]:
    with running_idp(tmp_path, {}) as provider:
        yield provider


def test_the_client_secret_is_sealed_and_never_shown(
    credo: App, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    org = sso_org(credo, client)
    page = org.owner.get("/app/settings/sso").text
    assert "Client secret (not set)" in page
    r = org.owner.post(
        "/app/settings/sso/oidc",
        {"issuer": "https://login.example.org", "client_id": "credo", "client_secret": SECRET},
    )
    assert r.status_code == 303, r.text
    page = org.owner.get("/app/settings/sso").text
    assert "Client secret (set; leave empty to keep it)" in page and SECRET not in page
    with credo.engine.connect() as conn:
        sealed = conn.execute(
            select(t.sso_settings.c.oidc_client_secret).where(
                t.sso_settings.c.organization_id == org.id
            )
        ).scalar_one()
    assert SECRET.encode() not in sealed
    vault = KeyVault(parse_master_key(MASTER_KEY))
    assert vault.open(sealed, f"sso-oidc-client-secret:{org.id}") == SECRET.encode()
    # Saved again without a secret: the stored one is kept.
    r = org.owner.post(
        "/app/settings/sso/oidc",
        {"issuer": "https://login.example.org", "client_id": "credo-2", "client_secret": ""},
    )
    assert r.status_code == 303
    with credo.engine.connect() as conn:
        kept = conn.execute(
            select(t.sso_settings.c.oidc_client_secret).where(
                t.sso_settings.c.organization_id == org.id
            )
        ).scalar_one()
    assert kept == sealed
    assert SECRET not in caplog.text
    # The audit log: who changed what, that the secret was replaced, never the secret.
    log = org.owner.get("/app/audit-log.csv", params={"action": "sso.updated"}).text
    assert SECRET not in log
    rows = list(csv.DictReader(io.StringIO(log)))
    assert [r["actor"] for r in rows] == [org.owner.email, org.owner.email]
    assert json.loads(rows[0]["after"]) == {"oidc_client_id": "credo-2"}
    first = json.loads(rows[1]["after"])
    assert first["oidc_issuer"] == "https://login.example.org" and first["protocol"] == "oidc"
    assert first["oidc_client_secret_replaced"] is True


def test_bad_settings_are_refused_in_words(credo: App, client: TestClient) -> None:
    org = sso_org(credo, client)
    r = org.owner.post(
        "/app/settings/sso/oidc", {"issuer": "http://plain.example", "client_id": ""}
    )
    assert r.status_code == 422 and "https://" in r.text
    r = org.owner.post("/app/settings/sso/saml", {"metadata_xml": "<not-metadata/>"})
    assert r.status_code == 422 and "identity provider" in r.text
    r = org.owner.post("/app/settings/sso/domains", {"domain": "not a domain"})
    assert r.status_code == 422
    r = org.owner.post("/app/settings/sso/policy", {"default_role": "admin", "enabled": "on"})
    assert r.status_code == 422
    # Required needs a provider that is set up.
    r = org.owner.post("/app/settings/sso/policy", {"default_role": "viewer", "required": "on"})
    assert r.status_code == 409 and "identity provider" in r.text


def test_a_domain_is_verified_by_its_txt_record_and_belongs_to_one_organization(
    credo: App, client: TestClient
) -> None:
    org = sso_org(credo, client)
    other = create_org(client, name="Another", sandbox=True)
    owner_b = sign_in(credo, f"owner-{uuid.uuid4().hex[:8]}@b.example", other.id, Role.OWNER)
    r = owner_b.post("/app/settings/sso/domains", {"domain": org.domain})
    assert r.status_code == 303  # listed, not verified: it stays org's
    org.dns.records[org.domain].append("credo-verification=a-guess")
    r = owner_b.post("/app/settings/sso/domains/verify", {"domain": org.domain})
    assert r.status_code == 409 and "nother organization verified" in r.text
    fresh = f"new-{uuid.uuid4().hex[:8]}.example"
    assert owner_b.post("/app/settings/sso/domains", {"domain": fresh}).status_code == 303
    r = owner_b.post("/app/settings/sso/domains/verify", {"domain": fresh})
    assert r.status_code == 303 and r.headers["location"].endswith("notice=pending")
    assert "not verified yet" in owner_b.get("/app/settings/sso").text
    r = owner_b.post("/app/settings/sso/domains/remove", {"domain": fresh})
    assert r.status_code == 303 and fresh not in owner_b.get("/app/settings/sso").text


def _saml_org(credo: App, client: TestClient, idp: LocalIdp) -> SsoOrg:
    org = sso_org(credo, client)
    r = org.owner.post("/app/settings/sso/saml", {"metadata_xml": idp.metadata})
    assert r.status_code == 303, r.text
    return org


def test_sso_required_refuses_passwords_at_once_and_owners_have_the_break_glass(
    credo: App, client: TestClient, idp: LocalIdp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    org = _saml_org(credo, client, idp)
    issuer_email = f"issuer@{org.domain}"
    make_person(credo, issuer_email, org.id, Role.ISSUER)
    elsewhere = f"member-{uuid.uuid4().hex[:8]}@elsewhere.example"  # outside the domain
    make_person(credo, elsewhere, org.id, Role.VIEWER)
    second_owner = f"owner2-{uuid.uuid4().hex[:8]}@elsewhere.example"
    make_person(credo, second_owner, org.id, Role.OWNER)
    browser = TestClient(app_for(credo), raise_server_exceptions=False)

    def password(email: str) -> int:
        r = browser.post(
            "/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
        )
        return r.status_code

    assert password(elsewhere) == 303  # not required yet
    r = org.owner.post(
        "/app/settings/sso/policy", {"enabled": "on", "default_role": "viewer", "required": "on"}
    )
    assert r.status_code == 303, r.text
    assert "required for every member" in org.owner.get("/app/settings/sso").text
    # At once: the domain's people go to the identity provider, password or not...
    r = browser.post(
        "/login", data={"email": issuer_email, "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith(idp.base + "/sso?")
    # ...and a member outside the domain is refused a password sign-in.
    refused = browser.post("/login", data={"email": elsewhere, "password": PASSWORD}, headers=HTML)
    assert refused.status_code == 403 and "identity provider" in refused.text
    assert "credo_session" not in refused.headers.get("set-cookie", "")
    # The break-glass: not for an issuer, nor with a wrong password...
    assert browser.get("/login/break-glass", headers=HTML).status_code == 200
    for email, pw in ((issuer_email, PASSWORD), (org.owner.email, "wrong password!")):
        r = browser.post("/login/break-glass", data={"email": email, "password": pw})
        assert r.status_code == 401, (email, r.status_code)
    # ...for an owner: signed in, logged at WARNING, every owner e-mailed.
    r = browser.post(
        "/login/break-glass",
        data={"email": org.owner.email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "credo_session" in r.headers["set-cookie"]
    assert browser.get("/app", headers=HTML).status_code == 200
    warnings = [
        x for x in caplog.records if x.levelno == logging.WARNING and "break-glass" in x.message
    ]
    assert len(warnings) == 1 and getattr(warnings[0], "organization_id", None) == org.id
    with credo.engine.connect() as conn:
        mailed = conn.execute(
            select(t.outbox.c.to_address).where(
                t.outbox.c.organization_id == org.id, t.outbox.c.kind == "sso.break_glass"
            )
        ).scalars()
        assert sorted(mailed) == sorted([org.owner.email, second_owner])
    # The audit log tells of the break-glass, in the owner's name and from their address.
    log = org.owner.get("/app/audit-log.csv", params={"action": "sso.break_glass"}).text
    [entry] = list(csv.DictReader(io.StringIO(log)))
    assert entry["actor"] == org.owner.email and entry["ip_address"] == "testclient"
    # Turned off again: passwords work again at once.
    r = org.owner.post("/app/settings/sso/policy", {"enabled": "on", "default_role": "viewer"})
    assert r.status_code == 303
    assert password(elsewhere) == 303


def test_the_break_glass_e_mail_is_composed(credo: App, client: TestClient, idp: LocalIdp) -> None:
    """The mail worker can write the owners' e-mail (its template exists and renders)."""
    from credo.domain.entities import OutboxMessage
    from credo.services.mail.notifications import compose

    row = OutboxMessage(
        id="mail_" + "0" * 32, organization_id="org_x", kind="sso.break_glass",
        to_address="owner@example.org", credential_id=None,
        payload='{"organization": "Org", "who": "a@b.example", "client": "10.0.0.1", '
        '"at": "2026-02-01T12:00:00+00:00", "owner_name": "Owner"}',
        created_at=credo.clock.now(), next_attempt_at=credo.clock.now(),
    )  # fmt: skip
    msg = compose(row, credo.ctx, "credo@example.org", credo.clock.now())
    plain = msg.get_body(("plain",))
    assert plain is not None and "a@b.example" in plain.get_content()
    assert "break-glass" in str(msg["Subject"])


def test_the_dns_port_is_real_outside_tests(credo: App) -> None:
    from credo.adapters.dns import DnsTxt

    assert isinstance(credo.dns, DnsTxt)
    assert not isinstance(credo.dns, FakeDns)


def test_no_input_makes_an_open_sso_route_fail(credo: App, client: TestClient) -> None:
    """The routes anyone may call (the callbacks, metadata, the break-glass) answer below
    500 whatever they are sent."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.hypothesis_profiles import examples

    org = sso_org(credo, client)
    browser = TestClient(app_for(credo), raise_server_exceptions=False)
    text = st.one_of(
        st.text(max_size=50),
        st.sampled_from(["", "\x00", "%", "../", "PHg+", org.id, "A" * 3000]),
    )
    routes = [
        ("GET", "/sso/oidc/callback"),
        ("POST", f"/sso/saml/{org.id}/acs"),
        ("GET", f"/sso/saml/{org.id}/metadata"),
        ("POST", "/login/break-glass"),
        ("POST", "/login"),
    ]
    fields = ["code", "state", "error", "SAMLResponse", "RelayState", "email", "password"]

    @settings(
        max_examples=examples(60),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(route=st.sampled_from(routes), form=st.dictionaries(st.sampled_from(fields), text))
    def probe(route: tuple[str, str], form: dict[str, str]) -> None:
        method, path = route
        if method == "GET":
            r = browser.get(path, params=form, headers=HTML, follow_redirects=False)
        else:
            r = browser.post(path, data=form, headers=HTML, follow_redirects=False)
        assert r.status_code < 500, (route, form, r.status_code, r.text[:300])

    probe()


def test_sso_required_shuts_password_sessions_out_of_the_organization(
    credo: App, client: TestClient, idp: LocalIdp
) -> None:
    """A member's password session reaches an organization that requires single sign-on
    neither by switching to it nor by having been in it when the requirement came."""
    org = _saml_org(credo, client, idp)
    other = create_org(client, name="Elsewhere", sandbox=True)
    email = f"both-{uuid.uuid4().hex[:8]}@elsewhere.example"
    person = sign_in(credo, email, org.id, Role.VIEWER)
    credo.runner.write(
        lambda uow: accounts.add_member(uow, credo.clock, other.id, person.user_id, Role.ISSUER)
    )
    assert f'value="{org.id}"' in person.get("/app").text  # both in the switcher
    r = org.owner.post(
        "/app/settings/sso/policy", {"enabled": "on", "default_role": "viewer", "required": "on"}
    )
    assert r.status_code == 303, r.text
    # The owner who required it keeps working; the member's session falls back elsewhere.
    assert "required for every member" in org.owner.get("/app/settings/sso").text
    home = person.get("/app")
    assert home.status_code == 200 and f'value="{org.id}"' not in home.text
    switched = person.post("/app/switch", {"organization_id": org.id})
    assert switched.status_code == 404
    # A NUL in `next` is no server error on the way to the identity provider.
    r = client.post(
        "/login",
        data={"email": f"x@{org.domain}", "next": "/app\x00x"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith(idp.base), r.text
