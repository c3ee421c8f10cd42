"""The FastAPI application: JSON API, problem+json errors, the web shell and the capability routers."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from batteryloop.api import problems
from batteryloop.config import Settings
from batteryloop.domain.errors import SignatureError


def decode_signature(text: str | None) -> bytes:
    """Signatures travel as base64 (standard or URL-safe) or hex; anything else is a SignatureError."""
    if not text:
        raise SignatureError("the batch has no signature")
    value = text.strip()
    try:
        if len(value) == 128 and all(c in "0123456789abcdefABCDEF" for c in value):
            return bytes.fromhex(value)
        padded = value + "=" * (-len(value) % 4)
        raw = base64.b64decode(
            padded, altchars=b"-_" if ("-" in value or "_" in value) else None, validate=True
        )
    except (binascii.Error, ValueError):
        raise SignatureError("the signature is neither base64 nor hex") from None
    if len(raw) != 64:
        raise SignatureError(f"an Ed25519 signature has 64 bytes, this one has {len(raw)}")
    return raw


def create_app(*, settings: Settings | None = None, ledger: Any = None) -> FastAPI:
    """Build the app. ``ledger`` may be given (tests); otherwise it is opened from ``settings``."""
    from batteryloop.api import pages, routes
    from batteryloop.ledger import Ledger
    from batteryloop.passport.endpoints import router as passport_router
    from batteryloop.recycling.endpoints import router as recycling_router
    from batteryloop.web import STATIC_DIR

    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "ledger", None) is None:
            app.state.ledger = Ledger.open(settings.database_url, create=True)
        yield

    app = FastAPI(
        title="batteryloop",
        version="0.1.0",
        summary="Battery traceability ledger, EU battery passports and recycling economics.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.ledger = ledger
    problems.install(app)
    app.include_router(routes.router)
    app.include_router(pages.router)
    app.include_router(passport_router)
    app.include_router(recycling_router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    return app
