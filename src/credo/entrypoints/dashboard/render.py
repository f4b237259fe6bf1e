"""Dashboard pages as HTML responses: the layout's values, security headers, errors."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from credo.bootstrap import App
from credo.entrypoints.api.routes.pages import static_url
from credo.entrypoints.dashboard.session import layout_values
from credo.entrypoints.web.templates import render
from credo.services.people.accounts import Member

CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",  # pages show private, changing data
    "Referrer-Policy": "same-origin",
}


def assets() -> dict[str, str]:
    return {"css": static_url("app.css"), "js": static_url("app.js")}


def page(
    request: Request,
    app: App,
    member: Member | None,
    template: str,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(12)
    context: dict[str, Any] = {"request_path": request.url.path, "nonce": nonce, **assets()}
    if member is not None:
        context |= layout_values(app, member)
        context["csrf"] = member.session.csrf_token
    body = render(template, **context, **values)
    # A page may colour something with values of its own (a design's swatches) in a
    # <style nonce> block; inline style attributes stay refused.
    csp = CSP.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")
    return HTMLResponse(
        body, status_code=status, headers={**HEADERS, "Content-Security-Policy": csp}
    )


def see_other(location: str) -> RedirectResponse:
    """After a successful form post: the browser loads `location` with GET (no re-post)."""
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})
