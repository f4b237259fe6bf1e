"""Credentials into wallet apps: OpenID for Verifiable Credential Issuance 1.0, the
pre-authorized code flow (domain/oid4vci.py).

1. An offer is made for one published credential: by its organization (API), by its
   recipient on the private manage page, or in the recipient's wallet. It is shown as a
   link and a QR code, expires after 15 minutes, and carries a pre-authorized code.
2. The wallet app trades the code for an access token, once.
3. It asks for a nonce, signs a proof with its holder key, and receives the credential
   signed anew with `credentialSubject.id` set to its DID, once. The copy keeps the
   credential's id, dates and status entries, so revoking or suspending the credential
   revokes or suspends the copy too, and it is signed by the key that signed the
   credential, so its issuer and its status lists' issuer stay one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from credo.domain import oid4vci as p
from credo.domain.entities import Credential, SigningKey
from credo.domain.errors import (
    Conflict,
    InvalidCredentialRequest,
    InvalidGrant,
    InvalidProof,
    InvalidRequest,
    InvalidToken,
    NotFound,
    UnknownConfiguration,
    UnsupportedGrantType,
)
from credo.ids import new_id
from credo.services.context import ServiceContext
from credo.services.ports import UnitOfWork
from credo.services.recipients import visibility
from credo.services.recipients.wallet_offer_ports import HolderProofs, StoredOffer


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    credential_id: str
    credential_offer_uri: str  # openid-credential-offer://?credential_offer_uri=...
    credential_offer: dict[str, Any]
    expires_at: datetime


def _secret(ctx: ServiceContext, use: bytes) -> bytes:
    # From the recipients' link key, itself derived from the master key: every process of
    # a deployment agrees, and nothing needs storing.
    return hmac.new(ctx.link_secret, b"oid4vci " + use, hashlib.sha256).digest()


def _code(ctx: ServiceContext, handle: str) -> str:
    """The offer's pre-authorized code: whoever holds the offer's address may read the
    offer, and so its code; deriving it keeps only hashes in storage."""
    mac = hmac.new(_secret(ctx, b"code"), handle.encode(), hashlib.sha256).digest()
    return p.b64url(mac)


def create(
    uow: UnitOfWork, ctx: ServiceContext, cred_id: str, *, org_id: str, created_by: str
) -> Offer:
    """A new offer for one of `org_id`'s published credentials."""
    found = uow.credentials.published(cred_id)
    if found is None or found[0].organization_id != org_id:
        raise NotFound(f"no credential {cred_id}")
    return _offer(uow, ctx, found, created_by)


def _offer(
    uow: UnitOfWork, ctx: ServiceContext, found: tuple[Credential, str], created_by: str
) -> Offer:
    cred = found[0]
    problem = _why_not(uow, *found)
    if problem is not None:
        raise Conflict(f"{problem}: it cannot go into a wallet")
    now = ctx.clock.now()
    handle = secrets.token_urlsafe(32)
    offer_id = new_id("wof", now)
    expires = now + p.OFFER_LIFETIME
    uow.wallet_offers.add(
        offer_id,
        cred.organization_id,
        cred.id,
        handle_hash=p.digest(handle),
        code_hash=p.digest(_code(ctx, handle)),
        created_by=created_by,
        at=now,
        expires=expires,
    )
    return Offer(
        offer_id,
        cred.id,
        p.offer_uri(ctx.base_url, handle),
        p.offer(ctx.base_url, _code(ctx, handle)),
        expires,
    )


def _why_not(uow: UnitOfWork, cred: Credential, document: str) -> str | None:
    """Why the credential may not go into a wallet now, or None."""
    if cred.revoked_at is not None:
        return "the credential is revoked"
    if cred.suspended_at is not None:
        return "the credential is suspended"
    try:
        _signing(uow, cred.organization_id, orjson.loads(document))
    except InvalidCredentialRequest as exc:
        return exc.detail
    return None


def offer_document(uow: UnitOfWork, ctx: ServiceContext, handle: str) -> dict[str, Any]:
    """What the offer's address answers; NotFound once it is used or expired."""
    if not handle.isascii() or len(handle) > 100:
        raise NotFound("no such credential offer")
    stored = uow.wallet_offers.by_handle(p.digest(handle))
    if stored is None or stored.redeemed_at is not None or stored.expires_at <= ctx.clock.now():
        raise NotFound("no such credential offer, or it was used or has expired")
    return p.offer(ctx.base_url, _code(ctx, handle))


def token(uow: UnitOfWork, ctx: ServiceContext, form: Mapping[str, str]) -> dict[str, Any]:
    """The token endpoint: the pre-authorized code for an access token, once."""
    grant = form.get("grant_type")
    if not grant:
        raise InvalidRequest("grant_type is required")
    if grant != p.PRE_AUTHORIZED_GRANT:
        raise UnsupportedGrantType(f"only the {p.PRE_AUTHORIZED_GRANT} grant is supported")
    code = form.get("pre-authorized_code")
    if not code:
        raise InvalidRequest("pre-authorized_code is required")
    now = ctx.clock.now()
    stored = uow.wallet_offers.by_code(p.digest(code))
    if stored is None:
        raise InvalidGrant("the pre-authorized code is not one of ours")
    if stored.redeemed_at is not None:
        raise InvalidGrant("the pre-authorized code was used already")
    if stored.expires_at <= now:
        raise InvalidGrant("the credential offer has expired: ask for a new one")
    found = uow.credentials.published(stored.credential_id)
    problem = "the credential is no longer published" if found is None else _why_not(uow, *found)
    if problem is not None:
        raise InvalidGrant(problem)
    access = secrets.token_urlsafe(32)
    if not uow.wallet_offers.redeem(p.digest(code), p.digest(access), now, now + p.TOKEN_LIFETIME):
        raise InvalidGrant("the pre-authorized code was used already")  # by a request just now
    seconds = int(p.TOKEN_LIFETIME.total_seconds())
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": seconds,
        # Drafts before 1.0 took the first nonce from here; 1.0 wallets ask the nonce
        # endpoint. Both work.
        "c_nonce": nonce(ctx)["c_nonce"],
        "c_nonce_expires_in": int(p.NONCE_LIFETIME.total_seconds()),
    }


def nonce(ctx: ServiceContext) -> dict[str, Any]:
    made = p.mint_nonce(_secret(ctx, b"nonce"), ctx.clock.now(), secrets.token_bytes(16))
    return {"c_nonce": made, "c_nonce_expires_in": int(p.NONCE_LIFETIME.total_seconds())}


def _proof_jwt(body: Mapping[str, Any]) -> tuple[object, bool]:
    """The proof's JWT, and whether the request took the older drafts' shape (`proof`)."""
    if "proofs" in body:
        proofs = body["proofs"]
        jwts = proofs.get("jwt") if isinstance(proofs, dict) else None
        if not isinstance(proofs, dict) or set(proofs) != {"jwt"} or not isinstance(jwts, list):
            raise InvalidProof('proofs must be {"jwt": [one JWT]}')
        if len(jwts) != 1:
            raise InvalidProof("one proof per request: this issuer makes one credential each")
        return jwts[0], False
    proof = body.get("proof")
    if isinstance(proof, dict) and proof.get("proof_type") == "jwt":
        return proof.get("jwt"), True
    raise InvalidProof("the request needs a jwt proof of the holder's key (proofs.jwt)")


def _check_configuration(body: Mapping[str, Any]) -> None:
    wanted = body.get("credential_configuration_id")
    if wanted is not None:
        if wanted != p.CONFIGURATION_ID:
            raise UnknownConfiguration(f"this issuer offers {p.CONFIGURATION_ID} only")
        return
    if "credential_identifier" in body:
        raise InvalidCredentialRequest("this issuer does not use credential identifiers")
    # The older drafts named the format and the credential's types instead.
    definition = body.get("credential_definition")
    types = definition.get("type") if isinstance(definition, dict) else None
    if body.get("format") != "ldp_vc" or not isinstance(types, list):
        raise InvalidCredentialRequest("credential_configuration_id is required")
    if "OpenBadgeCredential" not in types:
        raise UnknownConfiguration("this issuer offers OpenBadgeCredential only")


def _bearer(authorization: str | None) -> str:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip() or len(value) > 200:
        raise InvalidToken("an access token from the token endpoint is required (Bearer)")
    return value.strip()


def issue(
    uow: UnitOfWork,
    ctx: ServiceContext,
    proofs: HolderProofs,
    authorization: str | None,
    body: object,
) -> dict[str, Any]:
    """The credential endpoint: the credential bound to the holder's DID, once per token."""
    access = _bearer(authorization)
    now = ctx.clock.now()
    stored = uow.wallet_offers.by_token(p.digest(access))
    if stored is None or stored.token_expires_at is None or stored.token_expires_at <= now:
        raise InvalidToken("the access token is unknown or has expired")
    if stored.issued_at is not None:
        raise InvalidToken("the access token was used already: each offer gives one credential")
    if not isinstance(body, dict):
        raise InvalidCredentialRequest("the credential request is a JSON object")
    _check_configuration(body)
    text, drafted = _proof_jwt(body)
    jwt = p.parse_jwt(text)
    p.check_claims(jwt, audience=ctx.base_url, now=now, nonce_secret=_secret(ctx, b"nonce"))
    holder = proofs.holder(jwt)
    if len(holder) > 2000:
        raise InvalidProof("the holder's DID is longer than 2000 characters")
    credential = _bound_credential(uow, ctx, stored, holder, now)
    if not uow.wallet_offers.issue(stored.id, holder, now):
        raise InvalidToken("the access token was used already: each offer gives one credential")
    if drafted:
        return {"credential": credential} | nonce(ctx)
    return {"credentials": [{"credential": credential}]}


def _bound_credential(
    uow: UnitOfWork, ctx: ServiceContext, stored: StoredOffer, holder: str, now: datetime
) -> dict[str, Any]:
    found = uow.credentials.published(stored.credential_id)
    if found is None:
        raise InvalidCredentialRequest("the credential is no longer published")
    cred, text = found
    if cred.revoked_at is not None or cred.suspended_at is not None:
        raise InvalidCredentialRequest("the credential is revoked or suspended")
    document = orjson.loads(text)
    key, method, cryptosuite = _signing(uow, cred.organization_id, document)
    signed = ctx.signer.sign(
        [p.bound(document, holder)],
        key,
        cryptosuite=cryptosuite,
        created=now,
        verification_method=method,
    )
    return signed[0]


def _signing(uow: UnitOfWork, org_id: str, document: Any) -> tuple[SigningKey, str, str]:
    """What the copy is signed with: the key, method and cryptosuite that signed the
    credential, so that its issuer and its status lists' issuer stay one. A key the
    organization retired signs nothing new (it may have been retired for a leak): the
    credential must be signed again (any change to it does that) before it goes to a
    wallet."""
    proof = document.get("proof") if isinstance(document, dict) else None
    if not isinstance(proof, dict):
        raise InvalidCredentialRequest("the credential has no single proof to sign anew")
    method = str(proof.get("verificationMethod", ""))
    public = method.rpartition("#")[2]
    for key in uow.signing_keys.all(org_id):
        if key.public_key_multibase == public:
            if key.retired_at is not None:
                raise InvalidCredentialRequest(
                    "the credential was signed with a key the organization has retired"
                )
            return key, method, str(proof.get("cryptosuite", "eddsa-rdfc-2022"))
    raise InvalidCredentialRequest("the key that signed the credential is gone")


def offers_of(uow: UnitOfWork, org_id: str, cred_id: str) -> list[StoredOffer]:
    """A credential's offers, for its organization: which were taken, and by what DID."""
    found = uow.credentials.get(org_id, cred_id)
    if found is None:
        raise NotFound(f"no credential {cred_id}")
    return uow.wallet_offers.of_credential(cred_id)


@dataclass(frozen=True, slots=True)
class RecipientOffer:
    """An offer made on the recipient's own page, with what the page shows of it."""

    offer: Offer
    group_name: str
    organization_name: str


def for_recipient(
    uow: UnitOfWork, ctx: ServiceContext, cred_id: str, *, token: str | None, wallet_key: str | None
) -> RecipientOffer:
    """An offer the recipient asked for: on the manage page (its link's `token`) or signed
    in to its wallet (`wallet_key`, the address it signed in with). NotFound otherwise."""
    if token is not None:
        visibility.authorize(ctx, cred_id, token)
    found = uow.credentials.published(cred_id)
    if found is None or (token is None and found[0].recipient_key != wallet_key):
        raise NotFound(f"no credential {cred_id}")
    cred = found[0]
    made = _offer(uow, ctx, found, "recipient" if token is not None else "wallet")
    org = uow.organizations.get(cred.organization_id)
    group = uow.groups.get(cred.organization_id, cred.group_id)
    return RecipientOffer(made, group.name if group else "", org.name if org else "")
