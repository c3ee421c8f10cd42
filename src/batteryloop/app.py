"""The FastAPI application: the composition root of the web faces.

Every capability's router is included from the one list :data:`ROUTERS` ("module:attribute"), after the
problem+json error handlers and the API documentation pages (served from packaged assets, no CDN), and
before the shell's static files.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import import_module
from typing import TYPE_CHECKING, Any

from batteryloop.config import Settings

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

__all__ = ["ROUTERS", "create_app"]

# Routes are matched in this order; no two routers share a path, so the busiest (the public passport and its
# GS1 resolver, hit by every QR scan) comes first.
ROUTERS: tuple[str, ...] = (
    "batteryloop.passport.endpoints:router",
    "batteryloop.orgs.endpoints:router",
    "batteryloop.ledger.endpoints:router",
    "batteryloop.ledger.pages:router",
    "batteryloop.passport.pages:router",
    "batteryloop.documents.endpoints:router",
    "batteryloop.recycling.endpoints:router",
    "batteryloop.recycling.pages:router",
    "batteryloop.params.endpoints:router",
    "batteryloop.analytics.endpoints:router",
    "batteryloop.analytics.pages:router",
    "batteryloop.transparency.endpoints:router",
    "batteryloop.compliance.endpoints:router",
    "batteryloop.compliance.pages:router",
)


def _router(target: str) -> APIRouter:
    module_name, _, attribute = target.partition(":")
    router: APIRouter = getattr(import_module(module_name), attribute)
    return router


def create_app(*, settings: Settings | None = None, ledger: Any = None) -> FastAPI:
    """Build the app. ``ledger`` may be given (tests); otherwise it is opened from ``settings``."""
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    from batteryloop.ledger import Ledger
    from batteryloop.web import STATIC_DIR, problems
    from batteryloop.web.apidocs import install_offline_docs
    from batteryloop.web.edge import install_edge

    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "ledger", None) is None:
            app.state.ledger = Ledger.open(settings.database_url, create=True, settings=settings.ledger)
        if app.state.ledger.tree.proofs_in_place:
            app.state.ledger.tree.open_in_place()  # the loop's own connection for proofs, while the pool is idle
        # the event loop gets the GIL back sooner from worker threads (web.switch_interval_ms); restored after
        previous = sys.getswitchinterval()
        sys.setswitchinterval(settings.web.switch_interval_ms / 1000)
        try:
            yield
        finally:
            sys.setswitchinterval(previous)

    app = FastAPI(
        title="batteryloop",
        version="0.1.0",
        summary="Battery traceability ledger, EU battery passports and recycling economics.",
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.ledger = ledger
    # every page's header shows who is signed in (web.signed_in), whether or not its route asked
    from batteryloop.orgs.deps import current_org_optional

    app.state.caller_of = current_org_optional
    problems.install(app)
    install_offline_docs(app)
    for target in ROUTERS:
        app.include_router(_router(target))
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    problems.document_html_errors(app)
    install_edge(app, settings.web)  # headers, proxies, rate and body limits, input guard: before any route
    return app
