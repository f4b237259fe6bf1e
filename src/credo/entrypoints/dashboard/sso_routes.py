"""Single sign-on for staff: leaving for the identity provider, coming back (the OpenID
Connect redirect URI and the SAML assertion consumer service), the SAML metadata of each
organization, and the owners' break-glass password sign-in.

A refused sign-in answers an HTML page (403) and sets no cookie; the refusal, its reason
and what exactly was wrong are logged at WARNING on `credo.sso`."""

from __future__ import annotations

import hmac
import logging
import re
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from credo.bootstrap import App
from credo.domain.errors import SsoRefused, TooManyAttempts
from credo.domain.sso import Protocol, Refusal, SsoSettings
from credo.entrypoints.api.context import AppDep
from credo.entrypoints.dashboard.render import HEADERS, page, see_other
from credo.entrypoints.dashboard.session import set_session_cookie
from credo.ids import ID_PATTERN
from credo.services.people import sso
from credo.services.people.sso_ports import Identity, Sealer
from credo.services.ports import UnitOfWork

router = APIRouter(include_in_schema=False)
log = logging.getLogger("credo.sso")

Field = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=400)]
SamlResponse = Annotated[str, Form(max_length=1_000_000, alias="SAMLResponse")]
RelayState = Annotated[str, Form(max_length=200, alias="RelayState")]


def redirect_uri(app: App) -> str:
    return app.settings.base_url.rstrip("/") + "/sso/oidc/callback"


def _sealer(app: App) -> Sealer:
    if app.sso_sealer is None:
        raise RuntimeError("this App was built without a sealer (use bootstrap)")
    return app.sso_sealer


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def refused(request: Request, app: App, exc: SsoRefused, org_id: str | None = None) -> Response:
    log.warning(
        "single sign-on refused: %s",
        exc.reason,
        extra={
            "organization_id": exc.organization_id or org_id,
            "reason": exc.reason,
            "why": exc.why,
            "client": _client(request),
        },
    )
    return page(
        request,
        app,
        None,
        "app/error.html",
        403,
        title="Single sign-on refused",
        detail=exc.detail[:1].upper() + exc.detail[1:] + ". Sign in again from /login.",
    )


# The OpenID Connect state is also kept in a cookie of the browser that left for the
# provider, and the callback must come back with both: a callback address made in another
# browser (an attacker's own sign-in, sent to a victim: login CSRF) is refused. The cookie
# is SameSite=Lax: the provider's redirect back is a top-level GET, which carries it.
STATE_COOKIE = "credo_sso_state"
STATE_COOKIE_PATH = "/sso/oidc"


def go_to_provider(request: Request, app: App, s: SsoSettings, next_path: str) -> Response:
    """Sends the browser to the organization's identity provider."""
    state = ""
    try:
        if s.protocol is Protocol.OIDC:
            state, nonce, verifier = app.runner.write(
                lambda uow: sso.begin_oidc(uow, app.clock, s, next_path)
            )
            client = app.runner.read(
                lambda uow: sso.oidc_client(uow, _sealer(app), s, redirect_uri(app))
            )
            url = app.oidc.authorization_url(
                client, state=state, nonce=nonce, code_verifier=verifier
            )
        else:
            sp = sso.saml_service_provider(s, app.ctx.base_url)
            url = app.runner.write(
                lambda uow: sso.begin_saml(
                    uow, app.clock, app.saml, s.organization_id, sp, next_path
                )
            )
    except SsoRefused as exc:
        return refused(request, app, exc, s.organization_id)
    log.info("single sign-on started", extra={"organization_id": s.organization_id})
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    if state:
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=int(sso.REQUEST_LIFETIME.total_seconds()),
            httponly=True,
            secure=app.settings.base_url.startswith("https://"),
            samesite="lax",
            path=STATE_COOKIE_PATH,
        )
    return response


def _signed_in(
    request: Request, app: App, org_id: str, identity: Identity, next_path: str
) -> Response:
    try:
        token, session, joined = app.runner.write(
            lambda uow: sso.complete(uow, app.clock, org_id, identity)
        )
    except SsoRefused as exc:
        return refused(request, app, exc, org_id)
    log.info(
        "single sign-on",
        extra={"organization_id": org_id, "user_id": session.user_id, "joined": joined},
    )
    response = see_other(next_path)
    set_session_cookie(response, app, token)
    response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH)
    return response


@router.get("/sso/oidc/callback")
def oidc_callback(
    request: Request,
    app: AppDep,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    if len(code) > 2000 or len(state) > 200 or len(error) > 200:
        return refused(request, app, SsoRefused(Refusal.STATE, "this sign-in is not one of ours"))
    own = request.cookies.get(STATE_COOKIE, "")
    if not state or not hmac.compare_digest(own.encode(), state.encode()):
        exc = SsoRefused(
            Refusal.STATE,
            "this sign-in did not start in this browser; start again",
            why="the state is not the one this browser left with",
        )
        return refused(request, app, exc)
    try:
        pending = app.runner.write(
            lambda uow: sso.take_pending(uow, app.clock, state, Protocol.OIDC)
        )
    except SsoRefused as exc:
        return refused(request, app, exc)
    org_id = pending.organization_id
    try:
        if error or not code:
            raise SsoRefused(
                Refusal.PROVIDER,
                "the identity provider did not sign you in",
                why=f"error={error[:100]!r}",
            )
        s = app.runner.read(lambda uow: uow.sso.settings(org_id))
        if s is None or s.protocol is not Protocol.OIDC:
            raise SsoRefused(Refusal.NOT_CONFIGURED, "single sign-on by OpenID Connect is off")
        client = app.runner.read(
            lambda uow: sso.oidc_client(uow, _sealer(app), s, redirect_uri(app))
        )
        assert pending.code_verifier is not None and pending.nonce is not None
        identity = app.oidc.identity(
            client,
            code=code,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
            now=app.clock.now(),
        )
    except SsoRefused as exc:
        return refused(request, app, exc, org_id)
    return _signed_in(request, app, org_id, identity, pending.next_path)


def _settings_of(app: App, org_id: str) -> SsoSettings | None:
    if not re.fullmatch(ID_PATTERN, org_id):  # NUL and the like never reach the database
        return None
    return app.runner.read(lambda uow: uow.sso.settings(org_id))


@router.post("/sso/saml/{org_id}/acs")
def saml_acs(
    request: Request,
    app: AppDep,
    org_id: str,
    saml_response: SamlResponse = "",
    relay_state: RelayState = "",
) -> Response:
    s = _settings_of(app, org_id)
    if s is None or s.protocol is not Protocol.SAML:
        return refused(
            request, app, SsoRefused(Refusal.NOT_CONFIGURED, "single sign-on by SAML is off")
        )
    next_path = "/app"
    request_id = None
    try:
        pending = None
        if relay_state or not s.allow_unsolicited:
            try:
                pending = app.runner.write(
                    lambda uow: sso.take_pending(uow, app.clock, relay_state, Protocol.SAML)
                )
            except SsoRefused:
                # Identity providers starting a sign-in often send a RelayState of their own:
                # where unsolicited responses are allowed, it is one (its assertion ID still
                # counts once only).
                if not s.allow_unsolicited:
                    raise
        if pending is not None:
            if pending.organization_id != s.organization_id:
                raise SsoRefused(Refusal.STATE, "this sign-in is not one of ours")
            next_path, request_id = pending.next_path, pending.request_id
        sp = sso.saml_service_provider(s, app.ctx.base_url)
        identity = app.saml.identity(
            sp, saml_response=saml_response, request_id=request_id, now=app.clock.now()
        )
    except SsoRefused as exc:
        if exc.reason == Refusal.STATE and not relay_state:
            exc = SsoRefused(
                Refusal.UNSOLICITED,
                "this organization accepts no sign-in its identity provider starts",
                why="no RelayState and unsolicited responses are not allowed",
            )
        return refused(request, app, exc, s.organization_id)
    return _signed_in(request, app, s.organization_id, identity, next_path)


@router.get("/sso/saml/{org_id}/metadata")
def saml_metadata(request: Request, app: AppDep, org_id: str) -> Response:
    s = _settings_of(app, org_id)
    if s is None or not s.saml_idp_metadata:
        return page(
            request,
            app,
            None,
            "app/error.html",
            404,
            title="Not found",
            detail="This organization has no SAML single sign-on.",
        )
    sp = sso.saml_service_provider(s, app.ctx.base_url)
    return Response(
        app.saml.metadata(sp),
        media_type="application/samlmetadata+xml",
        headers={k: v for k, v in HEADERS.items() if k != "Content-Security-Policy"},
    )


# -- the break-glass ------------------------------------------------------------------


@router.get("/login/break-glass")
def break_glass_form(request: Request, app: AppDep) -> Response:
    return page(request, app, None, "app/login_break_glass.html", error=None, email="")


@router.post("/login/break-glass")
def break_glass(
    request: Request, app: AppDep, email: Field = "", password: Password = ""
) -> Response:
    client = _client(request)

    def attempt(uow: UnitOfWork) -> tuple[str, object] | None:
        return sso.break_glass(
            uow, app.passwords, app.clock, email=email, password=password, client=client
        )

    try:
        signed = app.runner.write(attempt)
    except TooManyAttempts as exc:
        return page(
            request, app, None, "app/login_break_glass.html", 429, error=exc.detail, email=email
        )
    if signed is None:
        return page(
            request,
            app,
            None,
            "app/login_break_glass.html",
            401,
            error="The e-mail or the password is not right, or this is not for you: the "
            "break-glass is for owners of an organization that requires single sign-on.",
            email=email,
        )
    response = see_other("/app")
    set_session_cookie(response, app, signed[0])
    return response
