"""Badge images as request bodies: `POST /credentials/verify` takes a baked PNG or SVG as
well as JSON. A route of this class answers only image bodies, so the JSON route of the
same path keeps FastAPI's own parsing, validation and schema untouched."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

IMAGE_MEDIA = ("image/png", "image/svg+xml")
# The OpenAPI request bodies an image route adds to its JSON twin (openapi_extra).
IMAGE_BODIES: dict[str, Any] = {
    "requestBody": {
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}} for media in IMAGE_MEDIA
        }
    }
}


def media_type(scope: Scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            return str(value.decode("latin-1").split(";")[0].strip().lower())
    return ""


class ImageBodyRoute(APIRoute):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and media_type(scope) not in IMAGE_MEDIA:
            return Match.NONE, {}
        return match, child


async def image_body(request: Request) -> bytes:
    """The raw body (its size already capped by limits.BodyGate)."""
    return await request.body()
