"""The two single-publish routes, served without FastAPI's routing and dependency solving
when their request is one they fully understand.

Profiled under wrk (py-spy --gil, 16 connections, POST /v1/credentials, one process):
FastAPI's and Starlette's routing, dependency solving and exception layers were half of
the event loop's CPU per publish. Here a POST to `/v1/credentials` or
`/credentials/issue` is parsed as FastAPI parses it (the JSON, then the route's own body
model over it), its caller found by the route's own dependency (`scoped_mutation` or
`org_mutation`), and it
is answered by the route's own coroutine, its refusals by the app's own problem
handlers. A body that is not JSON or that the model refuses goes on to FastAPI as it came,
which answers it as it always has (the same 422 with every bad field named).

Installed inside BodyGate (the body is capped and read already) and inside the request's
telemetry, which sees these requests under the routes' own templates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credo.bootstrap import App
from credo.domain.errors import DomainError
from credo.entrypoints.api.context import Mutation, org_mutation, scoped_mutation
from credo.entrypoints.api.problems import busy_problem, domain_problem
from credo.entrypoints.api.routes import credentials, vcapi
from credo.entrypoints.api.schemas import CredentialIn, IssueCredentialIn

Handler = Callable[[Any, Mutation, App], Awaitable[Response]]


@dataclass(frozen=True)
class _Route:
    path: str  # the template the request's telemetry reads (scope["route"].path)
    model: type[BaseModel]
    handler: Handler
    caller: Callable[..., Awaitable[Mutation]]  # the route's own dependency


_ROUTES = {
    r.path: r
    for r in (
        _Route("/v1/credentials", CredentialIn, credentials.create, scoped_mutation),
        _Route("/credentials/issue", IssueCredentialIn, vcapi.issue, org_mutation),
    )
}


class HotRoutes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and scope["method"] == "POST":
            route = _ROUTES.get(scope["path"])
        if route is None:
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        replay = _replaying(body)
        try:
            parsed = route.model.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError):
            await self.app(scope, replay, send)  # FastAPI names what is wrong
            return
        scope["route"] = route
        # The application's App, read per request as the routes read it (context.app_of).
        credo: App = scope["app"].state.credo
        request = Request(scope, replay)
        headers = request.headers
        try:
            m = await route.caller(
                request,
                credo,
                authorization=headers.get("authorization"),
                idempotency_key=headers.get("idempotency-key"),
            )
            response: Response = await route.handler(parsed, m, credo)
        except DomainError as exc:
            response = domain_problem(exc)
        except OperationalError as exc:
            response = busy_problem(exc)
        await response(scope, replay, send)


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
