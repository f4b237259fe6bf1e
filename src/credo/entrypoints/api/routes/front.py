"""The front door: `/` says what Credo is and where to go, `/verify` checks an uploaded
credential file and shows the verdict in the credential page's own words."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, Response, UploadFile
from fastapi.responses import HTMLResponse

from credo.bootstrap import App
from credo.domain.engagement import Kind
from credo.domain.entities import Credential
from credo.domain.errors import InvalidInput
from credo.entrypoints.api.context import ID_RE, AppDep
from credo.entrypoints.api.counting import count
from credo.entrypoints.api.routes.pages import html_page, static_url
from credo.entrypoints.web import uploads, views
from credo.entrypoints.web.templates import render
from credo.services.credentials import verification
from credo.services.engagement.recording import Subject
from credo.services.ports import UnitOfWork

router = APIRouter(tags=["public"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home() -> Response:
    nonce = secrets.token_urlsafe(12)
    return html_page(render("pages/home.html", nonce=nonce, css=static_url("credo.css")), nonce)


@router.get("/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_form() -> Response:
    nonce = secrets.token_urlsafe(12)
    body = render(
        "pages/verify.html", nonce=nonce, css=static_url("credo.css"), sections=None, problem=None
    )
    return html_page(body, nonce)


@router.post("/verify", response_class=HTMLResponse)
async def verify_upload(
    request: Request, app: AppDep, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    """Verify an uploaded credential or presentation (form field `file`: its JSON, or a
    baked PNG or SVG badge image). Answers an HTML page: the verdict and its checks, or
    what is wrong with the file (422). Nothing the file names is fetched."""
    nonce = secrets.token_urlsafe(12)
    values: dict[str, Any] = {
        "nonce": nonce,
        "css": static_url("credo.css"),
        "sections": None,
        "problem": None,
    }
    try:
        raw = await file.read() if file is not None else b""
        if file is None or (not raw and not file.filename):
            raise InvalidInput("choose a file", [{"field": "file", "message": "required"}])
        document = uploads.document_from_bytes(raw)
    except InvalidInput as exc:
        if "text/html" not in request.headers.get("accept", ""):
            raise
        problem = exc.detail if isinstance(exc, uploads.NotACredential) else "Choose a file."
        body = render("pages/verify.html", **(values | {"problem": problem}))
        return html_page(body, nonce, 422)
    result = app.runner.read(lambda uow: verification.verify_document(uow, app.ctx, document))
    values["sections"] = _sections(document, result, app.ctx.base_url)
    _count_ours(app, request, document, result)
    values["valid"] = result.verified and all(s["state"] == "active" for s in values["sections"])
    values["filename"] = (file.filename or "the file")[:200]
    values["now"] = app.ctx.clock.now()
    return html_page(render("pages/verify.html", **values), nonce)


def _published(cred_id: str, uow: UnitOfWork) -> tuple[Credential, str] | None:
    return uow.credentials.published(cred_id)


def _count_ours(
    app: App, request: Request, document: dict[str, Any], result: verification.Verification
) -> None:
    """A verification of one of this server's credentials counts for it (engagement),
    when its signature holds: a forged file naming it is no verification of it."""
    pairs: list[tuple[Any, verification.Verification]] = [(document, result)]
    if result.credentials is not None:
        carried = document.get("verifiableCredential")
        docs = carried if isinstance(carried, list) else [carried]
        pairs = list(zip(docs, result.credentials, strict=False))
    prefix = app.ctx.base_url + "/c/"
    for doc, outcome in pairs:
        cred_id = doc.get("id") if isinstance(doc, dict) else None
        signed = any(c.check == verification.SIGNATURE and c.ok for c in outcome.checks)
        if not (isinstance(cred_id, str) and cred_id.startswith(prefix) and signed):
            continue
        short = cred_id[len(prefix) :]
        if not ID_RE.match(short):
            continue
        found = app.runner.read(partial(_published, short))
        if found is not None:
            cred = found[0]
            subject = Subject(cred.organization_id, cred.id, cred.group_id)
            count(app, request, subject, Kind.VERIFICATION)


def _sections(
    document: dict[str, Any], result: verification.Verification, base_url: str
) -> list[dict[str, Any]]:
    """One verdict per credential; a presentation's own checks first, as a section of its
    own. Each as the credential page shows it."""
    if result.credentials is None:
        return [_section(document, result, base_url, "verification")]
    carried = [c for c in document.get("verifiableCredential") or [] if isinstance(c, dict)]
    if isinstance(document.get("verifiableCredential"), dict):
        carried = [document["verifiableCredential"]]
    sections = [
        {
            "id": "presentation",
            "noun": "presentation",
            "verified": result.verified,
            "state": "active",
            "checks": views.presentation_lines(result),
            "claims": [],
            "page_url": None,
        }
    ]
    for i, (cred, outcome) in enumerate(zip(carried, result.credentials, strict=False)):
        sections.append(_section(cred, outcome, base_url, f"credential-{i + 1}"))
    return sections


def _section(
    document: dict[str, Any], result: verification.Verification, base_url: str, anchor: str
) -> dict[str, Any]:
    cred_id = document.get("id")
    page_url = None
    if isinstance(cred_id, str) and cred_id.startswith(base_url + "/c/") and result.verified:
        page_url = cred_id[len(base_url) :]
    return {
        "id": anchor,
        "noun": "credential",
        "verified": result.verified,
        "state": views.state_of(result),
        "checks": views.check_lines(
            result, uploads.issuer_name(document), uploads.expires_on(document), every_failure=True
        ),
        "claims": uploads.claims(document),
        # Our own credential: its page says the same, with the issuer's status and history.
        "page_url": page_url,
    }
