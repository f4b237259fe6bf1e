"""The gate every request body passes before parsing: a size cap, enforced while reading,
and JSON as the only media type (a body sent without a Content-Type is read as JSON, as
`curl -d` users expect)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyGate:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        json_body = ctype == b"application/json" or ctype.endswith(b"+json")
        if ctype and not json_body and not _html_form(scope, ctype) and not _image(scope, ctype):
            await _problem(
                send,
                415,
                "unsupported_media_type",
                "Unsupported media type",
                "request bodies must be JSON (Content-Type: application/json)",
            )
            return
        if not ctype and scope.get("method") in ("POST", "PUT", "PATCH", "DELETE"):
            scope = dict(scope)
            scope["headers"] = [*scope.get("headers", []), (b"content-type", b"application/json")]
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(send)
                return
        # Read the body here, counting, so a missing or false Content-Length cannot slip by.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)

    async def _refuse(self, send: Send) -> None:
        await _problem(
            send,
            413,
            "payload_too_large",
            "Payload too large",
            f"request bodies are limited to {self.max_bytes} bytes",
        )


# Where browsers post HTML forms (no JavaScript needed): the recipient's manage page, and
# the issuer's dashboard with its sign-in pages. Bodies are still capped below.
# Pages with HTML forms: the dashboard, and the recipient's wallet. Identity providers post
# SAML responses as forms too (the HTTP-POST binding), to /sso/saml/<organization>/acs.
_DASHBOARD_PREFIXES = ("/app/", "/login", "/logout", "/password-reset", "/wallet", "/sso/")


def _html_form(scope: Scope, ctype: bytes) -> bool:
    path = str(scope.get("path", ""))
    media = ctype.split(b";", 1)[0].strip()
    if media == b"application/x-www-form-urlencoded":
        # The OAuth token endpoint takes forms by definition (RFC 6749, section 4.1.3).
        on_manage_page = path.startswith("/c/") and path.endswith(("/manage", "/wallet-offer"))
        return on_manage_page or path == "/oid4vci/token" or path.startswith(_DASHBOARD_PREFIXES)
    # Spreadsheet uploads, and a credential file on the public verify form.
    return media == b"multipart/form-data" and (path.startswith("/app/") or path == "/verify")


def _image(scope: Scope, ctype: bytes) -> bool:
    # A baked badge image is verified as it is sent (Open Badges 3.0 baking); capped below.
    images = (b"image/png", b"image/svg+xml")
    return ctype in images and scope.get("path") == "/credentials/verify"


async def _problem(send: Send, status: int, code: str, title: str, detail: str) -> None:
    body = json.dumps(
        {
            "type": f"/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
