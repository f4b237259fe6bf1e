"""Adds the dashboard to the API application: its routers and its error pages.

Errors on dashboard paths answer an HTML page to browsers (Accept: text/html) and problem
JSON to everything else, as every other route does."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError

from credo.domain.errors import DomainError, InsufficientCredits
from credo.entrypoints.api.problems import domain_problem, problem, validation_problem
from credo.entrypoints.dashboard import (
    audit_log_routes,
    auth_routes,
    credential_routes,
    credentials_routes,
    credits_routes,
    departments_routes,
    engagement_routes,
    groups_routes,
    home_routes,
    imports_routes,
    members_routes,
    password_reset_routes,
    sso_routes,
    sso_settings_routes,
    webhooks_routes,
)
from credo.entrypoints.dashboard.render import page, see_other
from credo.entrypoints.dashboard.session import LoginRequired, login_redirect_location
from credo.services.billing.credit_reports import explain

ROUTERS = (
    auth_routes,
    home_routes,
    groups_routes,
    credentials_routes,
    credential_routes,  # after the list's module: its /app/credentials/new comes first
    imports_routes,
    credits_routes,
    departments_routes,
    audit_log_routes,
    engagement_routes,
    members_routes,
    password_reset_routes,
    sso_routes,
    sso_settings_routes,
    webhooks_routes,
)
DASHBOARD_PATHS = ("/app", "/login", "/logout", "/password-reset")


def _browser_on_dashboard(request: Request) -> bool:
    return request.url.path.startswith(DASHBOARD_PATHS) and "text/html" in request.headers.get(
        "accept", ""
    )


def install(api: FastAPI) -> None:
    for module in ROUTERS:
        api.include_router(module.router)

    @api.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if not _browser_on_dashboard(request):
            return problem(401, "unauthorized", "sign in at /login first")
        return see_other(login_redirect_location(exc.next_path))

    @api.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if _browser_on_dashboard(request):
            app = request.app.state.credo
            detail = explain(exc) if isinstance(exc, InsufficientCredits) else exc.detail
            return page(
                request, app, None, "app/error.html", exc.status, title=exc.title, detail=detail
            )
        return domain_problem(exc)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _browser_on_dashboard(request):
            app = request.app.state.credo
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
                for e in exc.errors()
            )
            return page(
                request, app, None, "app/error.html", 422, title="Invalid input", detail=detail
            )
        return validation_problem(exc)
