"""Credentials into wallet apps (OpenID for Verifiable Credential Issuance 1.0,
pre-authorized code flow): offers are single-use and expire, the code becomes a token once,
the token gives one credential, and every proof a wallet could get wrong is refused with
the protocol's error code (in problem JSON) without spending the token. The independent
client's run over HTTPS is tests/e2e/test_oid4vci.py."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from credo.adapters.signing.multibase import encode
from credo.bootstrap import App
from credo.clock import FixedClock
from credo.domain import oid4vci
from credo.services.recipients import recipient_links
from tests.conftest import Org
from tests.integration.test_wallet import ada, signed_in

__all__ = ["ada"]  # the wallet tests' fixture: an address of the test's own

PRE_AUTH = oid4vci.PRE_AUTHORIZED_GRANT


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Holder:
    """A wallet's key: Ed25519 named by did:key, or P-256 named by did:jwk."""

    kind: str = "ed25519"

    def __post_init__(self) -> None:
        if self.kind == "ed25519":
            self.ed = Ed25519PrivateKey.generate()
            raw = self.ed.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            ident = encode(b"\xed\x01" + raw)
            self.did, self.kid, self.alg = f"did:key:{ident}", f"did:key:{ident}#{ident}", "EdDSA"
            self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
        else:
            self.ec = ec.generate_private_key(ec.SECP256R1())
            numbers = self.ec.public_key().public_numbers()
            self.jwk = {
                "kty": "EC",
                "crv": "P-256",
                "x": b64(numbers.x.to_bytes(32, "big")),
                "y": b64(numbers.y.to_bytes(32, "big")),
            }
            text = json.dumps(self.jwk, separators=(",", ":"), sort_keys=True)
            self.did = "did:jwk:" + b64(text.encode())
            self.kid, self.alg = self.did + "#0", "ES256"

    def sign(self, data: bytes) -> bytes:
        if self.kind == "ed25519":
            return self.ed.sign(data)
        r, s = decode_dss_signature(self.ec.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def proof(self, nonce: str | None, aud: str, iat: float, **header: Any) -> str:
        head = {"typ": oid4vci.PROOF_TYPE, "alg": self.alg, "kid": self.kid} | header
        head = {k: v for k, v in head.items() if v is not None}
        body: dict[str, Any] = {"aud": aud, "iat": iat if iat != iat else int(iat)}  # NaN
        if nonce is not None:
            body["nonce"] = nonce
        signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(body).encode())}"
        return f"{signing_input}.{b64(self.sign(signing_input.encode()))}"


def published(org: Org, email: str | None = None) -> dict[str, Any]:
    email = email or f"ada-{uuid.uuid4().hex[:10]}@example.org"
    r = org.issue(org.group("Data Analysis"), email, "Ada Lovelace")
    assert r.status_code == 201, r.text
    cred: dict[str, Any] = r.json()["credential"]
    return cred


def make_offer(org: Org, cred_id: str) -> dict[str, Any]:
    r = org.post(f"/v1/credentials/{cred_id}/wallet-offer")
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    made: dict[str, Any] = r.json()
    return made


def offer_path(made: dict[str, Any]) -> str:
    """The offer's own address, from its openid-credential-offer:// link."""
    link = urlsplit(made["credential_offer_uri"])
    assert link.scheme == "openid-credential-offer"
    [url] = parse_qs(link.query)["credential_offer_uri"]
    return str(urlsplit(url).path)


def code_of(made: dict[str, Any]) -> str:
    code: str = made["credential_offer"]["grants"][PRE_AUTH]["pre-authorized_code"]
    return code


def token(client: TestClient, code: str) -> Any:
    return client.post("/oid4vci/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": code})


def nonce(client: TestClient) -> str:
    r = client.post("/oid4vci/nonce")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    made: str = r.json()["c_nonce"]
    return made


def ask(client: TestClient, access: str, jwt: str, **body: Any) -> Any:
    request = {"credential_configuration_id": oid4vci.CONFIGURATION_ID, "proofs": {"jwt": [jwt]}}
    return client.post(
        "/oid4vci/credential",
        json=request | body,
        headers={"Authorization": f"Bearer {access}"},
    )


def assert_oauth_error(r: Any, status: int, error: str) -> None:
    """OAuth's error members in a problem JSON body, served as `application/json` (what
    OAuth 2.0 clients read errors from), never kept by caches."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json", r.headers
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["error"] == error and body["code"] == error, body
    assert body["error_description"] == body["detail"]
    assert body["status"] == status and body["type"] == f"/problems/{error}"
    if status == 401:
        assert r.headers["www-authenticate"] == f'Bearer error="{error}"'


def test_the_metadata_names_the_endpoints_and_what_is_issued(
    client: TestClient, credo: App
) -> None:
    base = credo.ctx.base_url
    issuer = client.get("/.well-known/openid-credential-issuer").json()
    assert issuer["credential_issuer"] == base
    assert issuer["credential_endpoint"] == f"{base}/oid4vci/credential"
    assert issuer["nonce_endpoint"] == f"{base}/oid4vci/nonce"
    config = issuer["credential_configurations_supported"][oid4vci.CONFIGURATION_ID]
    assert config["format"] == "ldp_vc"
    assert config["credential_definition"]["type"] == [
        "VerifiableCredential",
        "OpenBadgeCredential",
    ]
    assert config["cryptographic_binding_methods_supported"] == ["did:key", "did:jwk"]
    server = client.get("/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == base and server["token_endpoint"] == f"{base}/oid4vci/token"
    assert server["pre-authorized_grant_anonymous_access_supported"] is True


@pytest.mark.parametrize("kind", ["ed25519", "p256"])
def test_the_whole_flow_binds_the_credential_to_the_holder(
    org: Org, client: TestClient, credo: App, kind: str
) -> None:
    cred = published(org)
    made = make_offer(org, cred["id"])
    assert made["credential_id"] == cred["id"]
    offered = client.get(offer_path(made))
    assert offered.status_code == 200 and offered.json() == made["credential_offer"]
    assert offered.json()["credential_issuer"] == credo.ctx.base_url

    r = token(client, code_of(made))
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer" and r.headers["cache-control"] == "no-store"
    access = r.json()["access_token"]

    holder = Holder(kind)
    now = credo.clock.now().timestamp()
    r = ask(client, access, holder.proof(nonce(client), credo.ctx.base_url, now))
    assert r.status_code == 200, r.text
    [entry] = r.json()["credentials"]
    received = entry["credential"]
    original = client.get(f"/c/{cred['id']}.json").json()
    assert received["credentialSubject"]["id"] == holder.did
    assert received["credentialStatus"] == original["credentialStatus"]
    assert received["issuer"] == original["issuer"] and received["id"] == original["id"]
    r = client.post("/credentials/verify", json={"verifiableCredential": received})
    assert r.status_code == 200 and r.json()["verified"] is True, r.text
    # Tampered: the subject's DID swapped for another's.
    forged = received | {"credentialSubject": received["credentialSubject"] | {"id": Holder().did}}
    r = client.post("/credentials/verify", json={"verifiableCredential": forged})
    assert r.json()["verified"] is False

    # Spent: the token gives one credential; the code gave one token; the offer is gone.
    again = ask(client, access, holder.proof(nonce(client), credo.ctx.base_url, now))
    assert_oauth_error(again, 401, "invalid_token")
    assert_oauth_error(token(client, code_of(made)), 400, "invalid_grant")
    assert client.get(offer_path(made)).status_code == 404
    listed = org.get(f"/v1/credentials/{cred['id']}/wallet-offers").json()["wallet_offers"]
    assert [(o["id"], o["holder"]) for o in listed] == [(made["id"], holder.did)]


def test_older_drafts_requests_get_the_older_answer(
    org: Org, client: TestClient, credo: App
) -> None:
    made = make_offer(org, published(org)["id"])
    answer = token(client, code_of(made)).json()
    holder = Holder()
    jwt = holder.proof(answer["c_nonce"], credo.ctx.base_url, credo.clock.now().timestamp())
    r = client.post(
        "/oid4vci/credential",
        json={
            "format": "ldp_vc",
            "credential_definition": {"type": ["VerifiableCredential", "OpenBadgeCredential"]},
            "proof": {"proof_type": "jwt", "jwt": jwt},
        },
        headers={"Authorization": f"Bearer {answer['access_token']}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["credential"]["credentialSubject"]["id"] == holder.did


def test_an_offer_expires(org: Org, client: TestClient, clock: FixedClock) -> None:
    made = make_offer(org, published(org)["id"])
    clock.set(clock.now() + oid4vci.OFFER_LIFETIME + timedelta(seconds=1))
    assert client.get(offer_path(made)).status_code == 404
    r = token(client, code_of(made))
    assert_oauth_error(r, 400, "invalid_grant")
    assert "expired" in r.json()["detail"]


def test_the_token_endpoint_refuses_what_is_not_a_known_code(client: TestClient) -> None:
    assert_oauth_error(token(client, "not-a-code"), 400, "invalid_grant")
    r = client.post("/oid4vci/token", data={"grant_type": "authorization_code", "code": "x"})
    assert_oauth_error(r, 400, "unsupported_grant_type")
    assert_oauth_error(client.post("/oid4vci/token", data={}), 400, "invalid_request")
    r = client.post("/oid4vci/token", data={"grant_type": PRE_AUTH})
    assert_oauth_error(r, 400, "invalid_request")


def test_bad_proofs_are_refused_and_spend_nothing(
    org: Org, client: TestClient, credo: App, clock: FixedClock
) -> None:
    made = make_offer(org, published(org)["id"])
    access = token(client, code_of(made)).json()["access_token"]
    base, now = credo.ctx.base_url, clock.now().timestamp()
    holder, other = Holder(), Holder("p256")
    fresh = nonce(client)
    forged_nonce = fresh[:-4] + ("AAAA" if not fresh.endswith("AAAA") else "BBBB")
    good = holder.proof(fresh, base, now)
    head, body, _ = good.split(".")
    wrong_key = f"{head}.{body}.{other.proof(fresh, base, now).split('.')[2]}"
    refusals = {
        "audience": (holder.proof(fresh, "https://elsewhere.example", now), "invalid_proof"),
        "type": (holder.proof(fresh, base, now, typ="JWT"), "invalid_proof"),
        "alg none": (holder.proof(fresh, base, now, alg="none"), "invalid_proof"),
        "no nonce": (holder.proof(None, base, now), "invalid_nonce"),
        "forged nonce": (holder.proof(forged_nonce, base, now), "invalid_nonce"),
        "old": (holder.proof(fresh, base, now - 3600), "invalid_nonce"),
        "future": (holder.proof(fresh, base, now + 3600), "invalid_proof"),
        "signature": (wrong_key, "invalid_proof"),
        "did:web": (
            holder.proof(fresh, base, now, kid="did:web:example.com#key-1"),
            "invalid_proof",
        ),
        "kid and jwk": (holder.proof(fresh, base, now, jwk=holder.jwk), "invalid_proof"),
        "private jwk": (
            holder.proof(fresh, base, now, kid=None, jwk=holder.jwk | {"d": "secret"}),
            "invalid_proof",
        ),
        "not a jwt": ("abc", "invalid_proof"),
        "nested 5,000 deep": (f"{b64(b'[' * 5000 + b']' * 5000)}.{b64(b'{}')}.AA", "invalid_proof"),
        "iat NaN": (holder.proof(fresh, base, float("nan")), "invalid_proof"),
        "did:jwk nested deep": (
            holder.proof(fresh, base, now, kid="did:jwk:" + b64(b"[" * 1500 + b"]" * 1500) + "#0"),
            "invalid_proof",
        ),
        "alg of another key": (holder.proof(fresh, base, now, alg="ES256"), "invalid_proof"),
    }
    for name, (jwt, error) in refusals.items():
        r = ask(client, access, jwt)
        assert r.status_code == 400, (name, r.text)
        assert r.json()["error"] == error, (name, r.json())
    r = ask(client, access, good, credential_configuration_id="UniversityDegree")
    assert_oauth_error(r, 400, "unknown_credential_configuration")
    r = client.post(
        "/oid4vci/credential",
        json={
            "credential_configuration_id": oid4vci.CONFIGURATION_ID,
            "proofs": {"jwt": [good, good]},
        },
        headers={"Authorization": f"Bearer {access}"},
    )
    assert_oauth_error(r, 400, "invalid_proof")
    assert_oauth_error(ask(client, "nope", good), 401, "invalid_token")
    r = client.post(
        "/oid4vci/credential", content=b"{", headers={"Authorization": f"Bearer {access}"}
    )
    assert_oauth_error(r, 400, "invalid_credential_request")
    # A jwk in the header names the holder by its did:jwk.
    by_jwk = holder.proof(fresh, base, now, kid=None, jwk=holder.jwk)
    r = ask(client, access, by_jwk)
    assert r.status_code == 200, r.text
    assert r.json()["credentials"][0]["credential"]["credentialSubject"]["id"].startswith(
        "did:jwk:"
    )


def test_the_token_expires(org: Org, client: TestClient, credo: App, clock: FixedClock) -> None:
    made = make_offer(org, published(org)["id"])
    access = token(client, code_of(made)).json()["access_token"]
    clock.set(clock.now() + oid4vci.TOKEN_LIFETIME + timedelta(seconds=1))
    holder = Holder()
    r = ask(
        client, access, holder.proof(nonce(client), credo.ctx.base_url, clock.now().timestamp())
    )
    assert_oauth_error(r, 401, "invalid_token")


def test_only_current_credentials_of_the_callers_own_go_to_wallets(
    org: Org, client: TestClient, credo: App
) -> None:
    from tests.conftest import create_org

    stranger = create_org(client, name="Another University")
    cred = published(org)
    assert stranger.post(f"/v1/credentials/{cred['id']}/wallet-offer").status_code == 404
    assert org.post("/v1/credentials/cred_nope/wallet-offer").status_code == 404
    assert client.post(f"/v1/credentials/{cred['id']}/wallet-offer").status_code == 401

    # Suspended after the token was given: the credential request is refused; and the
    # code of an offer made before is refused too.
    made, unused = make_offer(org, cred["id"]), make_offer(org, cred["id"])
    access = token(client, code_of(made)).json()["access_token"]
    assert org.post(f"/v1/credentials/{cred['id']}/suspend").status_code == 200
    r = token(client, code_of(unused))
    assert_oauth_error(r, 400, "invalid_grant")
    assert "suspended" in r.json()["detail"]
    holder = Holder()
    r = ask(
        client,
        access,
        holder.proof(nonce(client), credo.ctx.base_url, credo.clock.now().timestamp()),
    )
    assert_oauth_error(r, 400, "invalid_credential_request")
    r = org.post(f"/v1/credentials/{cred['id']}/wallet-offer")
    assert r.status_code == 409 and "suspended" in r.json()["detail"]
    assert org.post(f"/v1/credentials/{cred['id']}/unsuspend").status_code == 200
    assert org.post(f"/v1/credentials/{cred['id']}/revoke").status_code == 200
    r = org.post(f"/v1/credentials/{cred['id']}/wallet-offer")
    assert r.status_code == 409 and "revoked" in r.json()["detail"]


def test_the_recipient_adds_it_from_the_manage_page(
    org: Org, client: TestClient, credo: App, tmp_path: Path
) -> None:
    cred = published(org)
    token_ = recipient_links.token(credo.ctx.link_secret, cred["id"])
    page = client.get(f"/c/{cred['id']}/manage", params={"token": token_})
    assert "Add to wallet app" in page.text
    r = client.post(f"/c/{cred['id']}/wallet-offer", data={"token": token_})
    assert r.status_code == 200, r.text
    assert "openid-credential-offer://?credential_offer_uri=" in r.text
    assert 'src="data:image/png;base64,' in r.text and r.headers["cache-control"] == "no-store"
    link = r.text.split('href="openid-credential-offer://', 1)[1].split('"', 1)[0]
    url = parse_qs(urlsplit("x://" + link.replace("&amp;", "&")).query)["credential_offer_uri"][0]
    zbar = shutil.which("zbarimg")
    if zbar:  # an independent decoder reads the QR code as the link (Debian: zbar-tools)
        data = r.text.split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
        png = tmp_path / "offer.png"
        png.write_bytes(base64.b64decode(data))
        read = subprocess.run([zbar, "--raw", "-q", str(png)], capture_output=True, text=True)
        assert read.stdout.strip() == "openid-credential-offer://" + link.replace("&amp;", "&")
    elif os.environ.get("CI") == "true":
        pytest.fail("zbarimg is missing (Debian: zbar-tools)")
    offered = client.get(urlsplit(url).path)
    assert offered.status_code == 200 and PRE_AUTH in offered.json()["grants"]
    wrong = client.post(f"/c/{cred['id']}/wallet-offer", data={"token": "x" * 43})
    assert wrong.status_code == 404


def test_the_recipient_adds_it_from_the_wallet(
    ada: str, org: Org, client: TestClient, credo: App
) -> None:
    mine, theirs = published(org, ada), published(org)
    csrf = signed_in(client, credo, ada)
    page = client.get("/wallet").text
    assert f'action="/wallet/credentials/{mine["id"]}/wallet-offer"' in page
    r = client.post(f"/wallet/credentials/{mine['id']}/wallet-offer", data={"csrf": csrf})
    assert r.status_code == 200, r.text
    assert "openid-credential-offer://?credential_offer_uri=" in r.text
    assert f'href="/wallet#{mine["id"]}"' in r.text
    # Another recipient's credential: not found; a wrong CSRF token: forbidden.
    r = client.post(f"/wallet/credentials/{theirs['id']}/wallet-offer", data={"csrf": csrf})
    assert r.status_code == 404
    r = client.post(f"/wallet/credentials/{mine['id']}/wallet-offer", data={"csrf": "x"})
    assert r.status_code == 403
    listed = org.get(f"/v1/credentials/{mine['id']}/wallet-offers").json()["wallet_offers"]
    assert len(listed) == 1 and listed[0]["holder"] is None


def test_a_retired_key_signs_no_copy(org: Org, client: TestClient, credo: App) -> None:
    from tests.conftest import ADMIN

    cred = published(org)
    made = make_offer(org, cred["id"])
    r = client.post(f"/v1/admin/organizations/{org.id}/keys/rotate", headers=ADMIN)
    assert r.status_code in (200, 201), r.text
    r = org.post(f"/v1/credentials/{cred['id']}/wallet-offer")
    assert r.status_code == 409 and "retired" in r.json()["detail"], r.text
    assert r.headers["content-type"] == "application/problem+json"  # the API's own routes
    r = token(client, code_of(made))
    assert_oauth_error(r, 400, "invalid_grant")
    # Signed again (any change does that), it goes to a wallet with the new key.
    r = org.patch(f"/v1/credentials/{cred['id']}", {"recipient": {"name": "Ada King"}})
    assert r.status_code == 200, r.text
    again = make_offer(org, cred["id"])
    access = token(client, code_of(again)).json()["access_token"]
    holder = Holder()
    r = ask(
        client,
        access,
        holder.proof(nonce(client), credo.ctx.base_url, credo.clock.now().timestamp()),
    )
    assert r.status_code == 200, r.text
