"""The public side: signed credentials, status lists and DID documents, for anyone (no
API key).

DID documents: `did:web:<domain>` resolves to `https://<domain>/.well-known/did.json`, so
`GET /.well-known/did.json` answers the document of the organization whose domain is the
request's Host (an organization points its domain, or a reverse proxy for that path, at
Credo); `GET /orgs/{org_id}/did.json` answers it whatever the Host.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request, Response

from credo.domain.engagement import Kind
from credo.domain.errors import NotFound
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.api.counting import count
from credo.services.credentials import status
from credo.services.engagement.recording import Subject
from credo.services.tenancy import dids

router = APIRouter(tags=["public"])

VC_MEDIA = "application/vc"


def vc_media(request: Request) -> str:
    """`application/vc` (VC Data Model 2.0) to clients that ask for it; JSON-LD to the rest,
    since common JSON clients (Digital Bazaar's http-client among them) parse a body only
    when its type says JSON."""
    return VC_MEDIA if VC_MEDIA in request.headers.get("accept", "") else "application/ld+json"


@router.get("/c/{cred_id}.json")
def signed_credential(cred_id: str, app: AppDep, request: Request) -> Response:
    object_id(cred_id)
    # A credential its recipient hid is gone from public view, its file too; the file the
    # recipient holds still verifies (status lists and DIDs stay public).
    found = app.runner.read(lambda uow: uow.credentials.published(cred_id))
    if found is None or found[0].hidden:
        raise NotFound(f"no credential {cred_id}")
    cred = found[0]
    count(app, request, Subject(cred.organization_id, cred.id, cred.group_id), Kind.DOWNLOAD_JSON)
    return Response(
        found[1],
        media_type=vc_media(request),
        headers={"Content-Disposition": f'inline; filename="{cred_id}.json"'},
    )


@router.get("/status/{key_id}/{purpose}/{list_no}")
def status_list(
    key_id: str,
    purpose: str,
    list_no: Annotated[int, Path(ge=0, le=1_000_000)],
    app: AppDep,
    request: Request,
) -> Response:
    object_id(key_id)
    doc = app.runner.read(lambda uow: status.status_list(uow, app.ctx, key_id, purpose, list_no))
    body = orjson.dumps(doc)
    # A list's version is its signed bytes: verifiers that revalidate get 304 until it changes.
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": "public, max-age=60", "ETag": etag, "Vary": "Accept"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=vc_media(request), headers=headers)


DID_MEDIA = "application/did+json"


def _did_response(doc: dict[str, object]) -> Response:
    return Response(
        orjson.dumps(doc),
        media_type=DID_MEDIA,
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/.well-known/did.json")
def well_known_did(request: Request, app: AppDep) -> Response:
    host = (request.headers.get("host") or "").strip().lower()
    if host.startswith("["):  # an IPv6 literal is never an organization's domain
        raise NotFound("no DID document for this host")
    host = host.rpartition(":")[0] if ":" in host else host
    host = host.rstrip(".")
    if not host or len(host) > 253:
        raise NotFound("no DID document for this host")
    doc = app.runner.read(lambda uow: dids.document_for_domain(uow, host))
    return _did_response(doc)


@router.get("/orgs/{org_id}/did.json")
def organization_did(org_id: str, app: AppDep) -> Response:
    object_id(org_id)
    doc = app.runner.read(lambda uow: dids.document_for_org(uow, org_id))
    return _did_response(doc)
