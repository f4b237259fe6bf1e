"""Engagement on the public side: counting what people do with a credential, the share
buttons' redirect, and the e-mail open pixel.

- `GET /c/{id}/share/{target}` counts a share (or an "Add to LinkedIn") and answers 303 to
  the address built for that credential and target (views.share_targets): the request
  names no address, so this is no open redirect. Unknown targets, and sharing a revoked or
  suspended credential, are 404.
- `GET /e/{message id}/{token}.gif` counts an e-mail open when the token is right and
  answers a transparent pixel whatever happens, so that it tells nothing.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from credo.domain import engagement as e
from credo.domain.errors import DomainError, NotFound
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.api.counting import count
from credo.entrypoints.api.routes.pages import refused
from credo.entrypoints.web import views
from credo.services.engagement import opens
from credo.services.engagement.recording import Subject
from credo.services.recipients import visibility

router = APIRouter(tags=["public"])

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@router.get("/c/{cred_id}/share/{target}", include_in_schema=False)
def share(cred_id: str, target: str, request: Request, app: AppDep) -> Response:
    """Count the click, then send the browser where that button leads."""
    try:
        object_id(cred_id)
        kind = e.SHARE_TARGETS.get(target)
        if kind is None:
            raise NotFound(f"no share target {target[:40]!r}")
        view, state = app.runner.read(lambda uow: visibility.public_state(uow, app.ctx, cred_id))
        where = views.share_targets(view, state).get(target)
        if where is None:
            raise NotFound(f"credential {cred_id} cannot be shared as it stands")
    except DomainError as exc:
        return refused(request, exc)
    cred = view.credential
    count(app, request, Subject(cred.organization_id, cred.id, cred.group_id), kind)
    return RedirectResponse(
        where,
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@router.get("/e/{message_id}/{token}.gif", include_in_schema=False)
def opened(message_id: str, token: str, request: Request, app: AppDep) -> Response:
    if opens.check(app.ctx.link_secret, message_id, token):
        found = app.runner.read(lambda uow: uow.engagement.subject_of_message(message_id))
        if found is not None:
            # A mail program fetching an image is no browser; it is still the reader's.
            count(app, request, Subject(*found), e.Kind.EMAIL_OPEN, people_only=False)
    return Response(
        PIXEL,
        media_type="image/gif",
        headers={"Cache-Control": "no-store, private", "X-Content-Type-Options": "nosniff"},
    )
