"""The API's documentation page, /docs (Swagger UI), working offline: its script and style
come from the fastapi-offline package, served here, not from a CDN. No /redoc: its page
loads a logo from a CDN whatever it is told."""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from credo.domain.errors import NotFound

_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css; charset=utf-8",
}


@cache
def _asset(name: str) -> bytes:
    return resources.files("fastapi_offline").joinpath("static", name).read_bytes()


def install(api: FastAPI) -> None:
    """Call with an app made with docs_url=None and redoc_url=None."""
    title = f"{api.title} API"

    @api.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=title,
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/favicon.svg",
        )

    @api.get("/docs/assets/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        media = _ASSETS.get(name)
        if media is None:
            raise NotFound("no such file")
        return Response(
            _asset(name), media_type=media, headers={"Cache-Control": "public, max-age=86400"}
        )
