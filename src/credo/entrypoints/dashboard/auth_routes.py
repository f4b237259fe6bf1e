"""Signing in and out, and choosing the organization to work on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from credo.domain.entities import WebSession
from credo.domain.errors import SsoRequired, TooManyAttempts
from credo.entrypoints.api.context import AppDep
from credo.entrypoints.dashboard.render import page, see_other
from credo.entrypoints.dashboard.session import (
    COOKIE,
    MemberDep,
    check_csrf,
    clear_session_cookie,
    set_session_cookie,
)
from credo.entrypoints.dashboard.sso_routes import go_to_provider
from credo.services.people import accounts, sso
from credo.services.ports import UnitOfWork

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=400)]


def safe_next(next_path: str | None) -> str:
    """Only a path of the dashboard: never another site (no open redirect)."""
    if (
        next_path
        and next_path.startswith("/app")
        and "//" not in next_path
        and next_path.isprintable()  # no NUL, no line breaks: it is stored and sent back
    ):
        return next_path
    return "/app"


@router.get("/login")
def login_form(request: Request, app: AppDep, next: str | None = None) -> Response:
    return page(request, app, None, "app/login.html", next=safe_next(next), error=None, email="")


@router.post("/login")
def login(
    request: Request,
    app: AppDep,
    email: Field = "",
    password: Password = "",
    next: Annotated[str, Form(max_length=2000)] = "/app",
) -> Response:
    client = request.client.host if request.client else "unknown"
    target = safe_next(next)
    # An e-mail in a domain an organization verified for single sign-on goes to its
    # identity provider: always when it requires single sign-on, else when no password
    # was typed.
    provider = app.runner.read(lambda uow: sso.provider_for_email(uow, email)) if email else None
    if provider is not None and (provider.required or not password):
        return go_to_provider(request, app, provider, target)

    def attempt(uow: UnitOfWork) -> tuple[str, WebSession] | None:
        return accounts.sign_in(
            uow, app.passwords, app.clock, email=email, password=password, client=client
        )

    try:
        signed = app.runner.write(attempt)
    except TooManyAttempts as exc:
        return page(
            request, app, None, "app/login.html", 429, next=target, error=exc.detail, email=email
        )
    except SsoRequired as exc:
        return page(
            request, app, None, "app/login.html", 403, next=target, error=exc.detail, email=email
        )
    if signed is None:
        return page(
            request,
            app,
            None,
            "app/login.html",
            401,
            next=target,
            error="The e-mail or the password is not right.",
            email=email,
        )
    response = see_other(target)
    set_session_cookie(response, app, signed[0])
    return response


@router.post("/logout")
def logout(
    request: Request, member: MemberDep, app: AppDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(member, csrf)
    token = request.cookies.get(COOKIE, "")
    app.runner.write(lambda uow: accounts.sign_out(uow, token))
    response = see_other("/login")
    clear_session_cookie(response)
    return response


@router.post("/app/switch")
def switch(
    member: MemberDep,
    app: AppDep,
    organization_id: Annotated[str, Form(max_length=40)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(member, csrf)
    app.runner.write(lambda uow: accounts.switch_organization(uow, member, organization_id))
    return see_other("/app")
