"""Forgotten passwords: ask for a link by e-mail, then choose a new password with it.

The answer to a request is the same whether or not the address has an account (no
account enumeration). Opening a link only shows the form; the token is used up by the
post that sets the password, so mail scanners that fetch links do not spend it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from credo.domain.errors import InvalidInput, ResetLinkInvalid, TooManyResetRequests
from credo.entrypoints.api.context import AppDep
from credo.entrypoints.dashboard.render import page
from credo.services.people import members
from credo.services.ports import UnitOfWork

router = APIRouter(include_in_schema=False)

Password = Annotated[str, Form(max_length=400)]
ASK = "app/password_reset_request.html"
SET = "app/password_reset_set.html"


@router.get("/password-reset")
def ask_form(request: Request, app: AppDep) -> Response:
    return page(request, app, None, ASK, sent=False, error=None, email="")


@router.post("/password-reset")
def ask(
    request: Request, app: AppDep, email: Annotated[str, Form(max_length=320)] = ""
) -> Response:
    if not email.strip():
        error = "Enter the e-mail address you sign in with."
        return page(request, app, None, ASK, 422, sent=False, error=error, email="")
    client = request.client.host if request.client else "unknown"
    try:
        app.runner.write(
            lambda uow: members.request_password_reset(uow, app.ctx, email=email, client=client)
        )
    except TooManyResetRequests as exc:
        return page(request, app, None, ASK, 429, sent=False, error=exc.detail, email=email)
    return page(request, app, None, ASK, sent=True, error=None, email=email)


def _invalid(request: Request, app: AppDep, exc: ResetLinkInvalid) -> Response:
    return page(request, app, None, SET, exc.status, state="invalid", error=exc.detail, token="")


@router.get("/password-reset/{token}")
def set_form(request: Request, app: AppDep, token: str) -> Response:
    try:
        user = app.runner.read(lambda uow: members.check_reset(uow, app.clock, token))
    except ResetLinkInvalid as exc:
        return _invalid(request, app, exc)
    return page(request, app, None, SET, state="form", error=None, token=token, email=user.email)


@router.post("/password-reset/{token}")
def set_password(
    request: Request,
    app: AppDep,
    token: str,
    password: Password = "",
    confirm: Password = "",
) -> Response:
    def change(uow: UnitOfWork) -> None:
        members.complete_reset(uow, app.passwords, app.clock, token=token, password=password)

    try:
        email = app.runner.read(lambda uow: members.check_reset(uow, app.clock, token).email)
    except ResetLinkInvalid as exc:
        return _invalid(request, app, exc)
    values = {"token": token, "email": email}
    if password != confirm:
        error = "The two passwords are not the same."
        return page(request, app, None, SET, 422, state="form", error=error, **values)
    try:
        app.runner.write(change)
    except ResetLinkInvalid as exc:
        return _invalid(request, app, exc)
    except InvalidInput as exc:
        error = "Choose another password: it " + "; ".join(e["message"] for e in exc.errors)
        return page(request, app, None, SET, 422, state="form", error=error + ".", **values)
    return page(request, app, None, SET, state="done", error=None, token="", email=email)
