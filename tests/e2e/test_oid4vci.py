"""A wallet app takes a credential by OpenID for Verifiable Credential Issuance 1.0 from a
real Credo served over HTTPS on 127.0.0.1. The wallet side is the OpenWallet Foundation's
client library (@openid4vc/openid4vci, pinned in tests/interop/package.json) with a fresh
holder key: it resolves the offer by reference, reads the issuer's and the authorization
server's metadata, trades the pre-authorized code for a token, asks for a nonce, proves
possession with a JWT and receives the credential. What it receives is bound to its DID,
verifies with the Digital Credentials Consortium's verifier-core as any other credential
does, and is revoked when the credential is."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from tests.e2e.test_verifier_core import (
    Served,
    assert_checks,
    publish,
    served_over_https,  # noqa: F401 (fixture `served`)
    verify,
)
from tests.interop.node import oid4vci_wallet

pytestmark = pytest.mark.slow


def offer(served: Served, cred_id: str, auth: dict[str, str]) -> dict[str, Any]:
    r = served.http.post(
        f"{served.server.base_url}/v1/credentials/{cred_id}/wallet-offer", headers=auth
    )
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


@pytest.mark.parametrize(("binding", "alg"), [("did:key", "EdDSA"), ("did:jwk", "ES256")])
def test_a_wallet_app_takes_the_credential_and_it_stays_tied_to_the_original(
    served: Served,
    binding: Literal["did:key", "did:jwk"],
    alg: Literal["EdDSA", "ES256"],
) -> None:
    published = publish(served)
    base, http = served.server.base_url, served.http
    made = offer(served, published.id, published.auth)
    assert made["credential_offer_uri"].startswith(
        "openid-credential-offer://?credential_offer_uri="
    )

    got = oid4vci_wallet(
        made["credential_offer_uri"],
        binding=binding,
        alg=alg,
        stale_nonce_first=True,
        ca_file=served.cert,
    )
    assert got["ok"] is True, got
    # The client read the refusal of a stale nonce as OAuth's invalid_nonce, asked for a
    # new one and was served: a refused proof spends nothing.
    assert got["stale_nonce_error"] == "invalid_nonce", got
    assert got["version"] == "V1", got  # the client read 1.0 metadata, not a draft's
    assert got["count"] == 1
    holder: str = got["holder"]
    assert holder.startswith(f"{binding}:")
    received: dict[str, Any] = got["credential"]
    assert received["credentialSubject"]["id"] == holder
    # The same credential: its id, issuer, dates and status entries; signed anew.
    for same in ("id", "issuer", "validFrom", "credentialStatus", "type", "@context"):
        assert received[same] == published.doc[same], same
    subject = {k: v for k, v in received["credentialSubject"].items() if k != "id"}
    assert subject == published.doc["credentialSubject"]
    assert received["proof"]["proofValue"] != published.doc["proof"]["proofValue"]

    assert_checks(verify(served, published, received))
    r = http.post(f"{base}/credentials/verify", json={"verifiableCredential": received})
    assert r.status_code == 200 and r.json()["verified"] is True, r.text

    # The offer was single-use: a second wallet is refused at the token endpoint.
    again = oid4vci_wallet(made["credential_offer_uri"], ca_file=served.cert)
    assert again["ok"] is False, again
    assert "404" in again["error"] and "was used" in again["error"], again
    r = http.get(f"{base}/v1/credentials/{published.id}/wallet-offers", headers=published.auth)
    [taken] = r.json()["wallet_offers"]
    assert taken["holder"] == holder and taken["issued_at"] is not None

    # Revoking the credential revokes the wallet's copy: they share status entries.
    r = http.post(f"{base}/v1/credentials/{published.id}/revoke", headers=published.auth)
    assert r.status_code == 200, r.text
    assert_checks(verify(served, published, received), revoked=True)
    # ... and a revoked credential gets no new offer.
    r = http.post(f"{base}/v1/credentials/{published.id}/wallet-offer", headers=published.auth)
    assert r.status_code == 409, r.text
