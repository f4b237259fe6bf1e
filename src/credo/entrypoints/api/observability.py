"""Every request, seen: an X-Request-ID (the caller's, when it is a sane one, else a new
one) returned and put on every log line of the request, a Server-Timing header, Prometheus
counts and latency by route template and status, and one log line when it ends. A plain
ASGI middleware: Starlette's BaseHTTPMiddleware copies every response through a stream
and cost about a sixth of a worker's CPU."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credo import timing
from credo.entrypoints.api.context import AppDep, operator
from credo.logs import REQUEST_ID
from credo.settings import Settings

log = logging.getLogger("credo.http")
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestTelemetry:
    def __init__(self, app: ASGIApp, *, metrics: bool) -> None:
        self.app = app
        self.record: Callable[[str, str, int, float], None] | None = None
        if metrics:
            from credo.adapters import metrics as prometheus

            self.record = prometheus.request  # bound once, not looked up per request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        record = timing.start()
        began = time.perf_counter()
        status = 500

        async def respond(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                record["total"] = time.perf_counter() - began
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["Server-Timing"] = ", ".join(
                    f"{name};dur={seconds * 1000:.1f}" for name, seconds in record.items()
                )
            await send(message)

        try:
            await self.app(scope, receive, respond)
        finally:
            elapsed = time.perf_counter() - began
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            if self.record is not None:
                self.record(method, route, status, elapsed)
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "organization_id": (scope.get("state") or {}).get("organization_id"),
                },
            )
            REQUEST_ID.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def install(api: FastAPI, settings: Settings) -> None:
    api.add_middleware(RequestTelemetry, metrics=settings.metrics)
    if not settings.metrics:
        return

    @api.get("/metrics", tags=["operations"], dependencies=[Depends(operator)])
    def metrics_endpoint(credo: AppDep) -> Response:
        """Prometheus text format, for the operator's token."""
        from credo.adapters import metrics

        def stats() -> list[Any]:
            now = credo.clock.now()
            return credo.runner.read(lambda uow: uow.outbox.stats(now) + uow.jobs.stats(now))

        body = metrics.exposition(metrics.QueueCollector(stats, credo.clock.now))
        return Response(body, media_type=metrics.CONTENT_TYPE)
