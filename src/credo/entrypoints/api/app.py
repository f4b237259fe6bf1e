"""The FastAPI application. `create_app()` builds it from the environment (uvicorn's factory);
tests pass a bootstrapped App in."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from credo import __version__
from credo.bootstrap import App, bootstrap
from credo.entrypoints.api import problems
from credo.entrypoints.api.limits import BodyGate
from credo.entrypoints.api.routes import admin, credentials, credits, groups
from credo.settings import Settings


def create_app(app: App | None = None) -> FastAPI:
    # A bulk publish allocates hundreds of thousands of short-lived objects; CPython's default
    # collection thresholds spend a third of its time in the cycle collector. Collect less
    # often (the objects die by reference counting anyway).
    gc.set_threshold(50_000, 20, 20)
    owned = app is None
    credo = app or bootstrap(Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            credo.close()

    api = FastAPI(
        title="Credo",
        version=__version__,
        summary="Issue verifiable credentials, billed by recipient seats.",
        lifespan=lifespan,
    )
    api.state.credo = credo
    problems.install(api)
    for module in (admin, groups, credentials, credits):
        api.include_router(module.router)

    @api.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, Any]:
        credo.runner.read(lambda uow: uow.organizations.get("org_healthcheck"))
        return {"status": "ok", "version": __version__}

    api.add_middleware(BodyGate, max_bytes=credo.settings.max_body_bytes)
    return api
