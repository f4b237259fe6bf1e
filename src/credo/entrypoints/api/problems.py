"""Every error answers RFC 9457 problem JSON; nothing answers a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from credo.domain.errors import DomainError, Unauthorized, WalletProtocolError

log = logging.getLogger("credo.api")

PROBLEM = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem_dict(
    status: int, code: str, detail: str, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": f"/problems/{code}",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem_body(exc: DomainError) -> dict[str, Any]:
    return problem_dict(exc.status, exc.code, exc.detail, exc.title, **exc.fields)


def problem(
    status: int, code: str, detail: str, title: str | None = None, **extra: Any
) -> JSONResponse:
    body = problem_dict(status, code, detail, title, **extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _validation_message(err: dict[str, Any]) -> str:
    if err.get("type") == "json_invalid":
        return "the body is not valid JSON"
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ")


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    errors = [
        {
            # A body that is not JSON at all: its loc is a character offset, not a field.
            "field": "body"
            if e.get("type") == "json_invalid"
            else field_name(tuple(e.get("loc", ()))),
            "message": _validation_message(e),
        }
        for e in exc.errors()
    ]
    return problem(422, "invalid_input", f"{len(errors)} field(s) are invalid", errors=errors)


def domain_problem(exc: DomainError) -> JSONResponse:
    if isinstance(exc, WalletProtocolError):
        return wallet_protocol_problem(exc)
    return problem(exc.status, exc.code, exc.detail, exc.title, **exc.fields)


def wallet_protocol_problem(exc: WalletProtocolError) -> JSONResponse:
    """The problem JSON of an OID4VCI refusal as OAuth 2.0 clients read errors: the media
    type `application/json` (RFC 6749, section 5.2; wallets look for exactly that before
    reading `error`), and the error in WWW-Authenticate on a 401 (RFC 6750, section 3)."""
    body = problem_dict(exc.status, exc.code, exc.detail, exc.title, **exc.fields)
    headers = {"Cache-Control": "no-store"}
    if exc.status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
    return JSONResponse(body, status_code=exc.status, headers=headers)


def busy_problem(exc: OperationalError) -> JSONResponse:
    log.warning("database unavailable: %s", type(exc.orig).__name__)
    return problem(503, "database_unavailable", "the database is busy; retry shortly")


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        if exc.status_code == 404:
            detail = "no such resource"
        return problem(exc.status_code, code, detail)

    @app.exception_handler(OperationalError)
    async def _db_busy(_: Request, exc: OperationalError) -> JSONResponse:
        return busy_problem(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem(500, "internal_error", "an unexpected error occurred; it has been logged")


def unauthorized() -> Unauthorized:
    return Unauthorized("a valid API key is required: Authorization: Bearer <key>")
