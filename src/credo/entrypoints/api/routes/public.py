"""The public side: signed credentials and status lists, for anyone (no API key)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Response

from credo.domain.errors import NotFound
from credo.entrypoints.api.context import AppDep, object_id
from credo.services import status

router = APIRouter(tags=["public"])

VC_MEDIA = "application/vc"


@router.get("/c/{cred_id}.json")
def signed_credential(cred_id: str, app: AppDep) -> Response:
    object_id(cred_id)
    found = app.runner.read(lambda uow: uow.credentials.document(cred_id))
    if found is None:
        raise NotFound(f"no credential {cred_id}")
    return Response(
        found[1],
        media_type=VC_MEDIA,
        headers={"Content-Disposition": f'inline; filename="{cred_id}.json"'},
    )


@router.get("/status/{key_id}/{purpose}/{list_no}")
def status_list(
    key_id: str,
    purpose: str,
    list_no: Annotated[int, Path(ge=0, le=1_000_000)],
    app: AppDep,
) -> Response:
    object_id(key_id)
    doc = app.runner.read(lambda uow: status.status_list(uow, app.ctx, key_id, purpose, list_no))
    return Response(
        orjson.dumps(doc),
        media_type=VC_MEDIA,
        headers={"Cache-Control": "public, max-age=60"},
    )
