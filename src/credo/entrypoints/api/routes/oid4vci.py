"""Credentials into wallet apps: OpenID for Verifiable Credential Issuance 1.0
(services/recipients/wallet_offers.py).

- `POST /v1/credentials/{id}/wallet-offer` (the organization's API key): 201 with the
  offer, its `openid-credential-offer://` link and when it expires.
- `GET /.well-known/openid-credential-issuer`, `GET /.well-known/oauth-authorization-server`:
  the issuer's and its authorization server's metadata.
- `GET /oid4vci/offers/{handle}`: the offer a link points at.
- `POST /oid4vci/token` (a form), `POST /oid4vci/nonce`, `POST /oid4vci/credential`: the
  wallet's side of the pre-authorized code flow.

The recipient's own buttons (the manage page, the wallet) are in routes/wallet_offer_pages.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from credo.domain import oid4vci
from credo.domain.errors import InvalidCredentialRequest
from credo.entrypoints.api.context import AppDep, OrgId, object_id
from credo.entrypoints.api.render import rfc3339
from credo.services.ports import UnitOfWork
from credo.services.recipients import wallet_offers

router = APIRouter(tags=["wallets"])

# Tokens and nonces must not be kept by caches on the way (RFC 6749, section 5.1).
_NO_STORE = {"Cache-Control": "no-store"}


@router.post("/v1/credentials/{cred_id}/wallet-offer", status_code=201)
def create_offer(cred_id: str, org_id: OrgId, app: AppDep) -> JSONResponse:
    """A credential offer for a wallet app: single-use, expiring in 15 minutes. Show its
    `credential_offer_uri` as a link or QR code to the recipient. 409 when the credential is
    revoked or suspended."""
    object_id(cred_id)
    made = app.runner.write(
        lambda uow: wallet_offers.create(uow, app.ctx, cred_id, org_id=org_id, created_by="api")
    )
    body = {
        "id": made.id,
        "credential_id": made.credential_id,
        "credential_offer_uri": made.credential_offer_uri,
        "credential_offer": made.credential_offer,
        "expires_at": rfc3339(made.expires_at),
    }
    return JSONResponse(body, status_code=201, headers=_NO_STORE)


@router.get("/v1/credentials/{cred_id}/wallet-offers")
def list_offers(cred_id: str, org_id: OrgId, app: AppDep) -> dict[str, Any]:
    """The credential's offers: when each was made, taken and by which holder's DID."""
    object_id(cred_id)
    found = app.runner.read(lambda uow: wallet_offers.offers_of(uow, org_id, cred_id))

    def at(value: datetime | None) -> str | None:
        return None if value is None else rfc3339(value)

    return {
        "wallet_offers": [
            {
                "id": o.id,
                "expires_at": at(o.expires_at),
                "redeemed_at": at(o.redeemed_at),
                "issued_at": at(o.issued_at),
                "holder": o.holder,
            }
            for o in found
        ]
    }


@router.get("/.well-known/openid-credential-issuer", include_in_schema=False)
def issuer_metadata(app: AppDep) -> dict[str, Any]:
    return oid4vci.issuer_metadata(app.ctx.base_url)


@router.get("/.well-known/oauth-authorization-server", include_in_schema=False)
def authorization_server_metadata(app: AppDep) -> dict[str, Any]:
    return oid4vci.authorization_server_metadata(app.ctx.base_url)


@router.get("/oid4vci/offers/{handle}", include_in_schema=False)
def offer(handle: str, app: AppDep) -> JSONResponse:
    document = app.runner.read(lambda uow: wallet_offers.offer_document(uow, app.ctx, handle))
    return JSONResponse(document, headers=_NO_STORE)


@router.post("/oid4vci/token", include_in_schema=False)
async def token(request: Request, app: AppDep) -> JSONResponse:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}

    def exchange(uow: UnitOfWork) -> dict[str, Any]:
        return wallet_offers.token(uow, app.ctx, fields)

    answer = await run_in_threadpool(app.runner.write, exchange)
    return JSONResponse(answer, headers=_NO_STORE)


@router.post("/oid4vci/nonce", include_in_schema=False)
def nonce(app: AppDep) -> JSONResponse:
    return JSONResponse(wallet_offers.nonce(app.ctx), headers=_NO_STORE)


@router.post("/oid4vci/credential", include_in_schema=False)
async def credential(
    request: Request,
    app: AppDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise InvalidCredentialRequest("the credential request is not JSON") from None

    def issue(uow: UnitOfWork) -> dict[str, Any]:
        return wallet_offers.issue(uow, app.ctx, app.holder_proofs, authorization, body)

    answer = await run_in_threadpool(app.runner.write, issue)
    return Response(orjson.dumps(answer), media_type="application/json", headers=_NO_STORE)
