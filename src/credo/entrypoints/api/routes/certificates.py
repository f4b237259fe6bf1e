"""PDF certificates of credentials: `GET /c/{id}.pdf`, public like the credential page."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from credo.domain.engagement import Kind
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.api.counting import count
from credo.services.engagement.recording import Subject
from credo.services.rendering import certificates

router = APIRouter(tags=["public"])

Paper = Literal["a4", "letter"]
Orientation = Literal["landscape", "portrait"]


@router.get("/c/{cred_id}.pdf")
def certificate_pdf(
    cred_id: str,
    app: AppDep,
    request: Request,
    paper: Annotated[Paper | None, Query()] = None,
    orientation: Annotated[Orientation | None, Query()] = None,
) -> Response:
    """The certificate, A4 or US Letter, landscape or portrait (the group's design says
    which by default). Rendered on first request per credential version and kept."""
    object_id(cred_id)
    cert = certificates.certificate_pdf(
        app.runner, app.ctx, app.certificates, cred_id, paper=paper, orientation=orientation
    )
    subject = Subject(cert.organization_id, cred_id, cert.group_id)
    count(app, request, subject, Kind.DOWNLOAD_PDF)
    headers = {
        "Content-Disposition": f'attachment; filename="certificate-{cred_id}.pdf"',
        "ETag": cert.etag,
        # Public, but short-lived in shared caches: a revoked or hidden credential's PDF
        # should stop being served soon; browsers revalidate with the ETag for free.
        "Cache-Control": "public, max-age=300, must-revalidate",
    }
    if cert.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(cert.pdf, media_type=certificates.MEDIA_TYPE, headers=headers)


def _etags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}
