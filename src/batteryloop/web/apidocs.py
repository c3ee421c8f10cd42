"""API documentation pages (/docs, /redoc) served with their JavaScript and CSS from the package, not a CDN.

FastAPI's default pages load Swagger UI and ReDoc from jsDelivr (and ReDoc's fonts from Google), so they stay
blank without internet access. :func:`install_offline_docs` replaces them with the same pages pointing at the
Swagger UI and ReDoc bundles shipped in the ``fastapi-offline`` distribution, served by a static mount.
Every URL in the pages is relative to the server root (the ASGI ``root_path`` is honoured behind a proxy).
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

from batteryloop.web.edge import content_security_policy

ASSETS_PACKAGE = ("fastapi_offline", "static")
"""(package, folder) holding swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png."""

DEFAULT_ASSETS_PATH = "/_apidocs"

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def with_script_hashes(response: HTMLResponse) -> HTMLResponse:
    """The page with a CSP that lets its own inline scripts run by their sha256 and nothing else inline.
    The scripts are this module's (FastAPI's page templates), never request data, so hashing them is safe."""
    hashes = [
        "sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode("ascii")
        for script in _INLINE_SCRIPT.findall(bytes(response.body))
    ]
    response.headers["Content-Security-Policy"] = content_security_policy(*hashes)
    return response


def _is_default_docs_route(route: BaseRoute, paths: set[str]) -> bool:
    return isinstance(route, Route) and route.path in paths


def install_offline_docs(
    app: FastAPI,
    *,
    docs_url: str | None = "/docs",
    redoc_url: str | None = "/redoc",
    assets_path: str = DEFAULT_ASSETS_PATH,
) -> None:
    """Serve Swagger UI at ``docs_url`` and ReDoc at ``redoc_url`` (None: not served) from local assets.

    The app's own default documentation routes are removed first, whatever their paths. The OpenAPI
    document stays where the app serves it (``app.openapi_url``), which must not be None.
    """
    if app.openapi_url is None:
        raise ValueError("install_offline_docs needs the app's OpenAPI document (openapi_url is None)")
    defaults = {url for url in (app.docs_url, app.redoc_url) if url}
    app.router.routes[:] = [r for r in app.router.routes if not _is_default_docs_route(r, defaults)]
    app.docs_url, app.redoc_url = docs_url, redoc_url
    app.mount(assets_path, StaticFiles(packages=[ASSETS_PACKAGE]), name="apidocs-assets")
    openapi_url = app.openapi_url
    title = app.title

    def root_of(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    if docs_url is not None:
        oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
        parameters = {"validatorUrl": None, **(app.swagger_ui_parameters or {})}

        async def swagger_ui(request: Request) -> HTMLResponse:
            root = root_of(request)
            assets = root + assets_path
            return with_script_hashes(
                get_swagger_ui_html(
                    openapi_url=root + openapi_url,
                    title=f"{title} - Swagger UI",
                    swagger_js_url=f"{assets}/swagger-ui-bundle.js",
                    swagger_css_url=f"{assets}/swagger-ui.css",
                    swagger_favicon_url=f"{assets}/favicon.png",
                    oauth2_redirect_url=root + oauth2_redirect_url if oauth2_redirect_url else None,
                    init_oauth=app.swagger_ui_init_oauth,
                    swagger_ui_parameters=parameters,
                )
            )

        app.add_api_route(docs_url, swagger_ui, methods=["GET"], include_in_schema=False)

    if redoc_url is not None:

        async def redoc(request: Request) -> HTMLResponse:
            root = root_of(request)
            assets = root + assets_path
            return with_script_hashes(
                get_redoc_html(
                    openapi_url=root + openapi_url,
                    title=f"{title} - ReDoc",
                    redoc_js_url=f"{assets}/redoc.standalone.js",
                    redoc_favicon_url=f"{assets}/favicon.png",
                    with_google_fonts=False,
                )
            )

        app.add_api_route(redoc_url, redoc, methods=["GET"], include_in_schema=False)
