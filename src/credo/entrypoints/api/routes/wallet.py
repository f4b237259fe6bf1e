"""The recipient's wallet (services/recipients/wallet.py) and public profiles.

- `GET /wallet`: sign in with an e-mailed link, or, signed in, every credential issued to
  the address: open, download (each file, or all at once as a zip), hide or show, and an
  opt-in public profile.
- `GET /wallet/enter/{token}` shows a button; only its POST spends the link (mail scanners
  that open links must not sign anyone in, nor spend the link).
- `GET /p/{slug}`: a public profile, when its recipient turned it on.
Pages answer HTML; refusals are HTML for browsers and problem JSON otherwise.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from credo.bootstrap import App
from credo.domain.errors import DomainError, NotFound, ResetLinkInvalid, TooManyResetRequests
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.api.routes.pages import html_page, refused, static_url
from credo.entrypoints.web.templates import render
from credo.services.ports import UnitOfWork
from credo.services.recipients import wallet
from credo.services.recipients.wallet_ports import Held, Profile
from credo.services.rendering import badges, certificates

router = APIRouter(include_in_schema=False)

COOKIE = "credo_wallet"
FILES = {
    "json": "application/ld+json",
    "pdf": "application/pdf",
    "png": "image/png",
    "svg": "image/svg+xml",
}


def _session(app: App, request: Request) -> wallet.Session | None:
    cookie = request.cookies.get(COOKIE)
    return app.runner.read(lambda uow: wallet.session(uow, app.clock, cookie))


def page(template: str, status: int = 200, **values: object) -> Response:
    nonce = secrets.token_urlsafe(12)
    body = render(template, nonce=nonce, css=static_url("credo.css"), **values)
    return html_page(body, nonce, status, private=True)


def _sign_in(status: int = 200, **values: object) -> Response:
    return page("pages/wallet_sign_in.html", status, **({"sent": False, "error": None} | values))


def _see(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/wallet")
def wallet_page(request: Request, app: AppDep) -> Response:
    s = _session(app, request)
    if s is None:
        return _sign_in(email="")
    key = s.recipient_key

    def read(uow: UnitOfWork) -> tuple[list[Held], Profile | None]:
        return wallet.held(uow, key), wallet.profile(uow, key)

    held, profile = app.runner.read(read)
    return page(
        "pages/wallet.html",
        held=held,
        profile=profile,
        profile_url=f"{app.ctx.base_url}/p/{profile.slug}" if profile else None,
        csrf=s.csrf_token,
        address=held[0].credential.recipient_email if held else "",
        notice=request.query_params.get("notice"),
    )


@router.post("/wallet")
def ask_for_link(
    request: Request, app: AppDep, email: Annotated[str, Form(max_length=320)] = ""
) -> Response:
    if not email.strip():
        return _sign_in(
            422, error="Enter the e-mail address your credentials were sent to.", email=""
        )
    client = request.client.host if request.client else "unknown"
    try:
        app.runner.write(lambda uow: wallet.request_link(uow, app.ctx, email=email, client=client))
    except TooManyResetRequests as exc:
        return _sign_in(429, error=exc.detail.capitalize() + ".", email=email)
    return _sign_in(sent=True, email=email)


@router.get("/wallet/enter/{token}")
def enter_form(token: str, app: AppDep) -> Response:
    try:
        app.runner.read(lambda uow: wallet.check_link(uow, app.clock, token))
    except ResetLinkInvalid as exc:
        return page("pages/wallet_enter.html", exc.status, error=exc.detail, token="")
    return page("pages/wallet_enter.html", error=None, token=token)


@router.post("/wallet/enter/{token}")
def enter(token: str, request: Request, app: AppDep) -> Response:
    try:
        cookie, _ = app.runner.write(lambda uow: wallet.open_session(uow, app.clock, token))
    except ResetLinkInvalid as exc:
        return page("pages/wallet_enter.html", exc.status, error=exc.detail, token="")
    answer = _see("/wallet")
    answer.set_cookie(
        COOKIE,
        cookie,
        max_age=int(wallet.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=app.ctx.base_url.startswith("https://"),
        path="/",
    )
    return answer


def signed_in(app: App, request: Request, csrf: str | None = None) -> wallet.Session:
    s = _session(app, request)
    if s is None:
        raise NotFound("not signed in to a wallet")
    if csrf is not None:
        wallet.check_csrf(s, csrf)
    return s


Csrf = Annotated[str, Form(max_length=200)]


@router.post("/wallet/sign-out")
def sign_out(request: Request, app: AppDep, csrf: Csrf = "") -> Response:
    try:
        signed_in(app, request, csrf)
    except DomainError:
        return _see("/wallet")
    cookie = request.cookies.get(COOKIE)
    app.runner.write(lambda uow: wallet.end_session(uow, cookie))
    answer = _see("/wallet")
    answer.delete_cookie(COOKIE, path="/")
    return answer


@router.post("/wallet/credentials/{cred_id}/visibility")
def visibility(
    cred_id: str,
    request: Request,
    app: AppDep,
    csrf: Csrf = "",
    hidden: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        object_id(cred_id)
        key = signed_in(app, request, csrf).recipient_key
        on = hidden == "true"
        app.runner.write(lambda uow: wallet.set_hidden(uow, key, cred_id, on))
    except DomainError as exc:
        return refused(request, exc)
    return _see(f"/wallet?notice={'hidden' if on else 'shown'}#{cred_id}")


def _file(app: App, held: Held, ext: str) -> bytes:
    cred_id = held.credential.id
    if ext == "json":
        found = app.runner.read(lambda uow: uow.credentials.published(cred_id))
        if found is None:
            raise NotFound(f"no credential {cred_id}")
        return found[1].encode()
    if ext == "pdf":
        return certificates.certificate_pdf(
            app.runner, app.ctx, app.certificates, cred_id, include_hidden=True
        ).pdf
    image = badges.badge_image(app.runner, app.ctx, app.badges, cred_id, ext, include_hidden=True)
    return image.content


@router.get("/wallet/credentials/{cred_id}.{ext}")
def download(cred_id: str, ext: str, request: Request, app: AppDep) -> Response:
    """One of the recipient's files, hidden credentials' too."""
    try:
        object_id(cred_id)
        if ext not in FILES:
            raise NotFound(f"no such file {ext[:10]!r}")
        key = signed_in(app, request).recipient_key
        held = app.runner.read(lambda uow: wallet.one(uow, key, cred_id))
        content = _file(app, held, ext)
    except DomainError as exc:
        return refused(request, exc)
    return Response(
        content,
        media_type=FILES[ext],
        headers={
            "Content-Disposition": f'attachment; filename="{cred_id}.{ext}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/wallet/credentials.zip")
def download_all(request: Request, app: AppDep) -> Response:
    """Every credential's signed file, certificate and badge, in one zip."""
    try:
        key = signed_in(app, request).recipient_key
    except DomainError as exc:
        return refused(request, exc)
    held = app.runner.read(lambda uow: wallet.held(uow, key))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for h in held:
            folder = _folder(h)
            for ext in ("json", "pdf", "png"):
                z.writestr(f"{folder}/{h.credential.id}.{ext}", _file(app, h, ext))
    return Response(
        buf.getvalue(),
        media_type="application/zip",
        headers={
            "Content-Disposition": 'attachment; filename="credentials.zip"',
            "Cache-Control": "no-store",
        },
    )


def _folder(h: Held) -> str:
    """A folder name of words and digits only: a zip's paths must not climb out of it."""
    words = f"{h.credential.issued_on.isoformat()} {h.organization_name} {h.group_name}"
    safe = "".join(c if c.isalnum() or c in " -" else " " for c in words)
    return " ".join(safe.split())[:120] or h.credential.id


@router.post("/wallet/profile")
def profile_settings(
    request: Request,
    app: AppDep,
    csrf: Csrf = "",
    public: Annotated[str, Form(max_length=5)] = "",
    display_name: Annotated[str, Form(max_length=400)] = "",
    shown: Annotated[list[str] | None, Form(max_length=1000)] = None,
) -> Response:
    try:
        key = signed_in(app, request, csrf).recipient_key
        chosen = [c for c in (shown or [])[:1000] if isinstance(c, str)]
        on = public == "true"
        app.runner.write(
            lambda uow: wallet.save_profile(
                uow, app.clock, key, public=on, display_name=display_name, shown=chosen
            )
        )
    except DomainError as exc:
        return refused(request, exc)
    return _see("/wallet?notice=profile#profile")


@router.get("/p/{slug}")
def public_profile(slug: str, request: Request, app: AppDep) -> Response:
    try:
        profile, shown = app.runner.read(lambda uow: wallet.public_profile(uow, slug))
    except DomainError as exc:
        return refused(request, exc)
    nonce = secrets.token_urlsafe(12)
    body = render(
        "pages/profile.html",
        nonce=nonce,
        css=static_url("credo.css"),
        profile=profile,
        shown=shown,
    )
    return html_page(body, nonce)
