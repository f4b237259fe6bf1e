"""Badge images of credentials: PNG and SVG, baked with the signed credential (Open Badges
3.0 baking), so that the image alone can be verified (`POST /credentials/verify` with the
image as the body, or `credo verify badge.png`).

- `GET /c/{id}.png` and `GET /c/{id}.svg`: rendered on first request and kept per version;
  hidden, deleted and unknown credentials are 404 problem JSON.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from credo.domain.engagement import Kind
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.api.counting import count
from credo.services.engagement.recording import Subject
from credo.services.rendering import badges

router = APIRouter(tags=["public"])

# Short: a re-signed credential gets a new image under the same address, and a hidden one
# must stop being served soon. The ETag makes revalidation cheap.
CACHE_CONTROL = "public, max-age=300"
# An SVG is a document a browser may open: nothing in it may run or load anything.
SVG_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _image(cred_id: str, fmt: str, app: AppDep, request: Request) -> Response:
    object_id(cred_id)
    image = badges.badge_image(app.runner, app.ctx, app.badges, cred_id, fmt)
    # The credential's page shows the SVG: only its download link (?download) is counted.
    if fmt == "png" or "download" in request.query_params:
        kind = Kind.DOWNLOAD_PNG if fmt == "png" else Kind.DOWNLOAD_SVG
        count(app, request, Subject(image.organization_id, cred_id, image.group_id), kind)
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": image.etag,
        "Content-Disposition": f'inline; filename="{cred_id}.{fmt}"',
        "X-Content-Type-Options": "nosniff",
    }
    if fmt == "svg":
        headers["Content-Security-Policy"] = SVG_POLICY
    if image.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(image.content, media_type=image.media_type, headers=headers)


@router.get("/c/{cred_id}.png")
def badge_png(cred_id: str, app: AppDep, request: Request) -> Response:
    """The badge image with the signed credential baked in (an `iTXt` chunk
    `openbadgecredential`)."""
    return _image(cred_id, "png", app, request)


@router.get("/c/{cred_id}.svg")
def badge_svg(cred_id: str, app: AppDep, request: Request) -> Response:
    """The badge image with the signed credential baked in (an `openbadges:credential`
    element)."""
    return _image(cred_id, "svg", app, request)
