"""The FastAPI application. `create_app()` builds it from the environment (uvicorn's factory);
tests pass a bootstrapped App in."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from credo import __version__
from credo.bootstrap import App, bootstrap
from credo.entrypoints.api import accredible, docs, health, observability, problems
from credo.entrypoints.api.actors import ActorMiddleware
from credo.entrypoints.api.hot import HotRoutes
from credo.entrypoints.api.limits import BodyGate
from credo.entrypoints.api.routes import (
    admin,
    analytics,
    audit_log,
    badges,
    certificates,
    credentials,
    credits,
    departments,
    engagement,
    front,
    groups,
    oid4vci,
    pages,
    public,
    vcapi,
    wallet,
    webhooks,
)
from credo.entrypoints.api.routes import wallet_offer_pages as offer_pages
from credo.entrypoints.dashboard import install as dashboard
from credo.settings import Settings

# Every router of the API, in the order they are matched.
ROUTE_MODULES = (
    admin,
    groups,
    departments,
    credentials,
    credits,
    audit_log,
    public,
    vcapi,
    badges,
    certificates,
    pages,
    webhooks,
    accredible,
    front,
    engagement,
    analytics,
    wallet,
    oid4vci,
    offer_pages,
)


def create_app(app: App | None = None) -> FastAPI:
    # A bulk publish allocates hundreds of thousands of short-lived objects; CPython's default
    # collection thresholds spend a third of its time in the cycle collector. Collect less
    # often (the objects die by reference counting anyway).
    gc.set_threshold(50_000, 20, 20)
    owned = app is None
    credo = app or bootstrap(Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if owned:  # a served process: the first certificate should not pay for font loading
            threading.Thread(target=credo.certificates.warm_up, daemon=True).start()
        yield
        if owned:
            credo.close()

    api = FastAPI(
        title="Credo",
        version=__version__,
        summary="Issue verifiable credentials, billed by recipient seats.",
        lifespan=lifespan,
        docs_url=None,  # served offline by docs.install
        redoc_url=None,
    )
    api.state.credo = credo
    problems.install(api)
    for module in ROUTE_MODULES:
        api.include_router(module.router)
    docs.install(api)
    dashboard.install(api)

    health.install(api)

    api.add_middleware(HotRoutes)  # inside the gate: bodies capped
    api.add_middleware(ActorMiddleware)  # outside HotRoutes: its publishes name their actor
    api.add_middleware(BodyGate, max_bytes=credo.settings.max_body_bytes)
    observability.install(api, credo.settings)  # outermost: it sees every answer, 413s included
    return api
