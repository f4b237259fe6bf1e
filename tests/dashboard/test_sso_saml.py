"""Single sign-on by SAML 2.0 against a real, independent identity provider (pysaml2's IdP
Server, its single sign-on service over HTTPS on 127.0.0.1): just-in-time members, and
every bad case refused (an HTML page, no session) and logged, XML signature wrapping
included."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from saml2 import BINDING_HTTP_REDIRECT
from sqlalchemy import select

from credo.adapters.db import tables as t
from credo.bootstrap import App
from credo.clock import SystemClock
from tests.conftest import app_for
from tests.sso.helpers import HTML, SsoOrg, last_refusal, refusals, refused_page, sso_org
from tests.sso.saml_idp import NS, SAML, LocalIdp, posted_form, running_idp, stranger

BASE = "http://127.0.0.1:8000"  # the settings' default base_url


@pytest.fixture
def clock() -> SystemClock:
    """pysaml2 dates assertions by the real clock: so does Credo here."""
    return SystemClock()


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[LocalIdp]:
    with running_idp(tmp_path, {}) as provider:
        yield provider


@pytest.fixture
def world(credo: App, client: TestClient, idp: LocalIdp) -> SsoOrg:
    org = sso_org(credo, client)
    r = org.owner.client.post(
        "/app/settings/sso/saml",
        data={"csrf": org.owner.csrf()},
        files={"metadata": ("idp.xml", idp.metadata.encode(), "application/samlmetadata+xml")},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = org.owner.post("/app/settings/sso/policy", {"enabled": "on", "default_role": "viewer"})
    assert r.status_code == 303, r.text
    sp_metadata = client.get(f"/sso/saml/{org.id}/metadata")
    assert sp_metadata.status_code == 200, sp_metadata.text
    assert sp_metadata.headers["content-type"].startswith("application/samlmetadata+xml")
    assert acs(org) in sp_metadata.text and entity(org) in sp_metadata.text
    idp.trust(sp_metadata.text)
    idp.users["alice"] = {"email": f"alice@{org.domain}", "name": "Alice S"}
    idp.users["mallory"] = {"email": "mallory@elsewhere.example", "name": "Mallory"}
    return org


def acs(org: SsoOrg) -> str:
    return f"{BASE}/sso/saml/{org.id}/acs"


def entity(org: SsoOrg) -> str:
    return f"{BASE}/sso/saml/{org.id}/metadata"


def start(credo: App, org: SsoOrg, idp: LocalIdp) -> tuple[TestClient, str, str, str]:
    """A browser enters its e-mail at /login: (browser, IdP address, request id, RelayState)."""
    browser = TestClient(app_for(credo), raise_server_exceptions=False)
    r = browser.post(
        "/login",
        data={"email": f"alice@{org.domain}", "next": "/app/credentials"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
    assert query["RelayState"]
    assert idp.server is not None
    request = idp.server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
    return browser, location, request.message.id, query["RelayState"]


def post_acs(browser: TestClient, org: SsoOrg, saml_response: str, relay_state: str) -> Any:
    return browser.post(
        f"/sso/saml/{org.id}/acs",
        data={"SAMLResponse": saml_response, "RelayState": relay_state},
        headers=HTML,
        follow_redirects=False,
    )


def test_first_sign_in_makes_a_member_with_the_default_role(
    credo: App, world: SsoOrg, idp: LocalIdp
) -> None:
    browser, location, _, relay = start(credo, world, idp)
    assert location.startswith(idp.base + "/sso?")
    with httpx.Client(verify=idp.tls()) as http:
        at_idp = http.get(location)
    assert at_idp.status_code == 200, at_idp.text
    action, fields = posted_form(at_idp.text)
    assert action == acs(world) and fields["RelayState"] == relay
    r = browser.post(action.removeprefix(BASE), data=fields, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/app/credentials", r.text
    home = browser.get("/app", headers=HTML)
    assert home.status_code == 200 and "Alice S" in home.text
    assert _role(credo, world, f"alice@{world.domain}") == "viewer"
    # Members is an owner's page: a viewer made just in time may not see it.
    assert browser.get("/app/members", headers=HTML).status_code == 403


def _set_times(root: Any, shift: timedelta, *, only_not_before: bool = False) -> None:
    def stamp(delta: timedelta) -> str:
        return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")

    for node in root.iter(f"{{{SAML}}}Conditions", f"{{{SAML}}}SubjectConfirmationData"):
        if only_not_before:
            if node.tag.endswith("Conditions"):
                node.set("NotBefore", stamp(shift))
            continue
        if "NotBefore" in node.attrib:
            node.set("NotBefore", stamp(shift - timedelta(minutes=5)))
        node.set("NotOnOrAfter", stamp(shift + timedelta(minutes=5)))
    if not only_not_before:
        for node in root.iter(f"{{{SAML}}}Assertion", f"{{{SAML}}}AuthnStatement"):
            for name in ("IssueInstant", "AuthnInstant"):
                if name in node.attrib:
                    node.set(name, stamp(shift))


def _set(path: str, attribute: str | None, value: str) -> Any:
    def edit(root: Any) -> None:
        node = root.find(path, NS)
        assert node is not None, path
        if attribute is None:
            node.text = value
        else:
            node.set(attribute, value)

    return edit


EDITS: dict[str, Any] = {
    "audience": _set(".//saml:Audience", None, "https://another-sp.example/metadata"),
    "recipient": _set(
        ".//saml:SubjectConfirmationData", "Recipient", "https://another-sp.example/acs"
    ),
    "destination": _set(".", "Destination", "https://another-sp.example/acs"),
    "expired": lambda root: _set_times(root, -timedelta(hours=2)),
    "not_yet_valid": lambda root: _set_times(root, timedelta(hours=1), only_not_before=True),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_a_bad_assertion_is_refused_and_logged(
    credo: App, world: SsoOrg, idp: LocalIdp, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each a genuine response, changed in one way, signed again by the IdP's own key."""
    caplog.set_level(logging.INFO, logger="credo.sso")
    browser, _, request_id, relay = start(credo, world, idp)
    saml = idp.response(
        in_response_to=request_id, acs=acs(world), sp_entity_id=entity(world), edit=EDITS[case]
    )
    refused_page(post_acs(browser, world, saml, relay))
    assert refusals(caplog) == ["invalid_assertion"], last_refusal(caplog).get("why")
    assert _members(credo, world) == 1


@pytest.mark.parametrize("case", ["unsigned", "stranger_key", "wrong_issuer", "altered"])
def test_an_unsigned_or_wrongly_signed_assertion_is_refused(
    credo: App,
    world: SsoOrg,
    idp: LocalIdp,
    tmp_path: Path,
    case: str,
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    browser, _, request_id, relay = start(credo, world, idp)
    sp_metadata = client.get(f"/sso/saml/{world.id}/metadata").text
    kw: dict[str, Any] = {
        "in_response_to": request_id,
        "acs": acs(world),
        "sp_entity_id": entity(world),
    }
    if case == "unsigned":
        saml = idp.response(**kw, sign=False)
    elif case == "stranger_key":
        saml = idp.response(**kw, by=stranger(idp, tmp_path, sp_metadata))
    elif case == "wrong_issuer":
        other = stranger(idp, tmp_path, sp_metadata, entity_id="https://evil.example/idp")
        saml = idp.response(**kw, by=other)
    else:  # signed, then the e-mail changed: the signature no longer holds
        saml = idp.response(
            **kw, edit=_set(".//saml:AttributeValue", None, "x@evil.example"), resign=False
        )
    refused_page(post_acs(browser, world, saml, relay))
    assert refusals(caplog) == ["invalid_assertion"], last_refusal(caplog).get("why")
    assert _members(credo, world) == 1


def test_a_replayed_response_is_refused(
    credo: App, world: SsoOrg, idp: LocalIdp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    browser, _, request_id, relay = start(credo, world, idp)
    saml = idp.response(in_response_to=request_id, acs=acs(world), sp_entity_id=entity(world))
    assert post_acs(browser, world, saml, relay).status_code == 303
    thief = TestClient(app_for(credo), raise_server_exceptions=False)
    refused_page(post_acs(thief, world, saml, relay))
    # Under a sign-in of its own, the old response answers another request: refused too.
    _, _, _, relay2 = start(credo, world, idp)
    refused_page(post_acs(thief, world, saml, relay2))
    assert refusals(caplog) == ["unknown_or_used_state", "invalid_assertion"]
    assert "InResponseTo" in last_refusal(caplog)["why"]


def test_an_unsolicited_response_is_refused_unless_allowed(
    credo: App, world: SsoOrg, idp: LocalIdp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    browser = TestClient(app_for(credo), raise_server_exceptions=False)
    saml = idp.response(in_response_to=None, acs=acs(world), sp_entity_id=entity(world))
    refused_page(post_acs(browser, world, saml, ""))
    assert refusals(caplog) == ["unsolicited"]
    # Allowed (IdP-initiated sign-in): accepted once, its replay refused by assertion ID.
    r = world.owner.post(
        "/app/settings/sso/policy",
        {"enabled": "on", "default_role": "viewer", "allow_unsolicited": "on"},
    )
    assert r.status_code == 303
    first = post_acs(browser, world, saml, "")
    assert first.status_code == 303 and first.headers["location"] == "/app", first.text
    refused_page(post_acs(TestClient(app_for(credo)), world, saml, ""))
    # A RelayState of the provider's own does not make it new again.
    refused_page(post_acs(TestClient(app_for(credo)), world, saml, "/app/groups"))
    # A fresh unsolicited response with the provider's RelayState is accepted.
    again = idp.response(in_response_to=None, acs=acs(world), sp_entity_id=entity(world))
    assert post_acs(browser, world, again, "/app/groups").status_code == 303
    assert refusals(caplog) == ["unsolicited", "replayed", "replayed"]


def test_an_email_outside_the_verified_domains_is_refused(
    credo: App, world: SsoOrg, idp: LocalIdp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    browser, _, request_id, relay = start(credo, world, idp)
    saml = idp.response(
        in_response_to=request_id, acs=acs(world), sp_entity_id=entity(world), user="mallory"
    )
    refused_page(post_acs(browser, world, saml, relay))
    assert refusals(caplog) == ["domain_not_verified"]
    assert _members(credo, world) == 1


def _to_mallory(assertion: Any) -> None:
    for value in assertion.iter(f"{{{SAML}}}AttributeValue", f"{{{SAML}}}NameID"):
        if value.text and "@" in value.text:
            value.text = "mallory@" + value.text.split("@")[1]


def _wrap_evil_first(root: Any) -> None:
    """XSW: an evil copy (another e-mail, no signature) before the signed assertion."""
    signed = root.find("saml:Assertion", NS)
    evil = copy.deepcopy(signed)
    evil.remove(evil.find("ds:Signature", NS))
    evil.set("ID", "_evil" + signed.get("ID")[1:])
    _to_mallory(evil)
    root.insert(list(root).index(signed), evil)


def _wrap_signed_in_extensions(root: Any) -> None:
    """XSW: the signed assertion moved into the response's Extensions, an evil one with
    the same ID in its place (the signature's reference still finds the original)."""
    signed = root.find("saml:Assertion", NS)
    evil = copy.deepcopy(signed)
    evil.remove(evil.find("ds:Signature", NS))
    _to_mallory(evil)
    index = list(root).index(signed)
    root.remove(signed)
    from lxml import etree

    extensions = etree.Element("{urn:oasis:names:tc:SAML:2.0:protocol}Extensions")
    extensions.append(signed)
    root.insert(index, evil)
    root.insert(1, extensions)


def _wrap_signed_inside_evil(root: Any) -> None:
    """XSW: an evil assertion carrying the genuine signature, the signed assertion nested
    inside its signature (a classic enveloping variant)."""
    signed = root.find("saml:Assertion", NS)
    evil = copy.deepcopy(signed)
    _to_mallory(evil)
    evil.set("ID", "_evil" + signed.get("ID")[1:])
    from lxml import etree

    obj = etree.SubElement(evil.find("ds:Signature", NS), f"{{{NS['ds']}}}Object")
    index = list(root).index(signed)
    root.remove(signed)
    obj.append(signed)
    root.insert(index, evil)


@pytest.mark.parametrize(
    "wrap", [_wrap_evil_first, _wrap_signed_in_extensions, _wrap_signed_inside_evil]
)
def test_xml_signature_wrapping_is_refused(
    credo: App, world: SsoOrg, idp: LocalIdp, wrap: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credo.sso")
    browser, _, request_id, relay = start(credo, world, idp)
    saml = idp.response(
        in_response_to=request_id, acs=acs(world), sp_entity_id=entity(world), edit=wrap,
        resign=False,
    )  # fmt: skip
    r = post_acs(browser, world, saml, relay)
    refused_page(r)
    assert refusals(caplog) == ["invalid_assertion"], last_refusal(caplog).get("why")
    assert _role(credo, world, f"mallory@{world.domain}") is None


def test_odd_acs_input_is_refused_not_crashed(
    credo: App, world: SsoOrg, idp: LocalIdp, caplog: pytest.LogCaptureFixture
) -> None:
    browser = TestClient(app_for(credo), raise_server_exceptions=False)
    for body in ("", "not base64 %%%", "PHhtbD4=", "A" * 5000, "\x00"):
        r = post_acs(browser, world, body, "whatever")
        assert r.status_code == 403, (body[:20], r.status_code)
    for org_id in ("unknown", "x" * 300, world.id + "%00"):
        r = browser.post(f"/sso/saml/{org_id}/acs", data={"SAMLResponse": "x"}, headers=HTML)
        assert r.status_code in (403, 404), r.status_code
        assert browser.get(f"/sso/saml/{org_id}/metadata").status_code in (404,)


def _members(credo: App, world: SsoOrg) -> int:
    with credo.engine.connect() as conn:
        return len(
            conn.execute(
                select(t.memberships.c.user_id).where(t.memberships.c.organization_id == world.id)
            ).all()
        )


def _role(credo: App, world: SsoOrg, email: str) -> str | None:
    with credo.engine.connect() as conn:
        role: str | None = conn.execute(
            select(t.memberships.c.role)
            .join(t.users, t.users.c.id == t.memberships.c.user_id)
            .where(t.users.c.email_key == email, t.memberships.c.organization_id == world.id)
        ).scalar_one_or_none()
    return role
