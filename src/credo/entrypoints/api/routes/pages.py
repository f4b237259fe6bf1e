"""The recipient's credential page and its private management link.

Errors: these are the only routes a person opens in a browser, so they answer an HTML page
when the request's Accept lists text/html (browsers always send it), and problem JSON to
everything else, like every other route. `/c/{id}` of a hidden credential answers 404 to
everyone: even its recipient sees it through the private link only.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from importlib import resources
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from credo.domain.engagement import Kind
from credo.domain.errors import DomainError, InvalidInput, NotFound
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.api.counting import count
from credo.entrypoints.web import favicon, views
from credo.entrypoints.web.templates import render
from credo.services.engagement.recording import Subject
from credo.services.recipients import visibility

router = APIRouter(tags=["public"])

# No length limit here: an overlong token is a wrong token (404), not invalid input.
Token = Annotated[str | None, Query()]
_STATIC_TYPES = {
    "credo.css": "text/css; charset=utf-8",
    "copy.js": "text/javascript",
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}


def _csp(nonce: str) -> str:
    # Brand colours go in a <style> block carrying the nonce; logos are data: URIs.
    return (
        "default-src 'none'; img-src 'self' data:; "
        f"style-src 'self' 'nonce-{nonce}'; script-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def html_page(body: str, nonce: str, status: int = 200, *, private: bool = False) -> HTMLResponse:
    headers = {
        "Content-Security-Policy": _csp(nonce),
        "X-Content-Type-Options": "nosniff",
        # A live verification panel: revalidate every time, never show a stale status.
        "Cache-Control": "no-cache",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    if private:
        # The URL carries the recipient's token: keep it out of caches and Referer headers.
        headers |= {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        headers["X-Robots-Tag"] = "noindex"
    return HTMLResponse(body, status_code=status, headers=headers)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def refused(request: Request, exc: DomainError) -> Response:
    if not _wants_html(request):
        raise exc
    nonce = secrets.token_urlsafe(12)
    body = render(
        "pages/not_found.html",
        status=exc.status,
        title="Credential not found" if isinstance(exc, NotFound) else exc.title,
        message=None if isinstance(exc, NotFound) else exc.detail,
        nonce=nonce,
        css=static_url("credo.css"),
    )
    return html_page(body, nonce, exc.status, private=True)


@router.get("/c/{cred_id}", response_class=HTMLResponse)
def credential_page(cred_id: str, request: Request, app: AppDep) -> Response:
    """The credential's public page, verified live."""
    try:
        object_id(cred_id)
        page = app.runner.read(lambda uow: visibility.public_page(uow, app.ctx, cred_id))
    except DomainError as exc:
        return refused(request, exc)
    nonce = secrets.token_urlsafe(12)
    values = views.credential(page)
    cred = page.view.credential
    count(app, request, Subject(cred.organization_id, cred.id, cred.group_id), Kind.VIEW)
    body = render(
        "pages/credential.html",
        **values,
        nonce=nonce,
        css=static_url("credo.css"),
        js=static_url("copy.js"),
    )
    return html_page(body, nonce)


@router.get("/c/{cred_id}/manage", response_class=HTMLResponse)
def manage_page(cred_id: str, request: Request, app: AppDep, token: Token = None) -> Response:
    """The recipient's private page: hide the credential from public view, or show it."""
    try:
        object_id(cred_id)
        given = token or ""
        page = app.runner.read(lambda uow: visibility.recipient_page(uow, app.ctx, cred_id, given))
    except DomainError as exc:
        return refused(request, exc)
    nonce = secrets.token_urlsafe(12)
    values = views.credential(page)
    body = render(
        "pages/manage.html", **values, token=given, nonce=nonce, css=static_url("credo.css")
    )
    return html_page(body, nonce, private=True)


@router.post("/c/{cred_id}/manage")
def manage(
    cred_id: str,
    request: Request,
    app: AppDep,
    token: Annotated[str | None, Form()] = None,
    hidden: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    """Form fields `token` and `hidden` (true or false); answers 303 to the manage page.
    The token must come in the body: it is the secret a forged cross-site form lacks."""
    try:
        object_id(cred_id)
        if hidden not in ("true", "false"):
            raise InvalidInput(
                "hidden must be true or false", [{"field": "hidden", "message": "true or false"}]
            )
        given, hide = token or "", hidden == "true"
        app.runner.write(
            lambda uow: visibility.set_hidden(uow, app.ctx, cred_id, given, hidden=hide)
        )
    except DomainError as exc:
        return refused(request, exc)
    back = f"/c/{cred_id}/manage?{urlencode({'token': given})}"
    return RedirectResponse(back, status_code=303, headers={"Cache-Control": "no-store"})


@cache
def _static(name: str) -> tuple[bytes, str]:
    data = resources.files("credo").joinpath("static", name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:12]


def static_url(name: str) -> str:
    # The content's hash in the URL: browsers may keep the file for good.
    return f"/static/{name}?v={_static(name)[1]}"


@router.get("/static/{name}", include_in_schema=False)
def static_file(name: str) -> Response:
    media = _STATIC_TYPES.get(name)
    if media is None:
        raise NotFound("no such file")
    data, _ = _static(name)
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return Response(data, media_type=media, headers=headers)


@router.get("/favicon.svg", include_in_schema=False)
def favicon_svg() -> Response:
    data, _ = _static("favicon.svg")
    return Response(
        data, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon_ico() -> Response:
    """For browsers and tools that ask for /favicon.ico whatever the page links."""
    return Response(
        favicon.ico(), media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )
