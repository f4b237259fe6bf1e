"""Opens each request's actor slot (services/audit_log.py) with the client's address; the
API key or dashboard session that authenticates the request fills in who it is."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from credo.services import audit_log


class ActorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            audit_log.open_slot(client[0] if client else None)
        await self.app(scope, receive, send)
