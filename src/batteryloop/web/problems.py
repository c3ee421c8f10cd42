"""RFC 9457 problem details: every error the API returns is application/problem+json with a clear message.

Messages come from the domain errors, which name the battery, state, event or field at fault. They never
carry restricted passport data: passport code raises errors that name identifiers only.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from batteryloop.domain.errors import (
    BatteryloopError,
    ConflictError,
    CustodyError,
    IllegalTransitionError,
    NotFoundError,
    SignatureError,
    StorageError,
    ValidationError,
)

PROBLEM_JSON = "application/problem+json"

# (status, title) per error class; the first match in this order wins (subclasses first).
_STATUS: tuple[tuple[type[BaseException], int, str], ...] = (
    (StorageError, 503, "Storage unavailable"),
    (NotFoundError, 404, "Not found"),
    (IllegalTransitionError, 409, "Illegal lifecycle transition"),
    (ConflictError, 409, "Conflict"),
    (CustodyError, 403, "No custody"),
    (SignatureError, 401, "Bad or missing signature"),
    (ValidationError, 422, "Invalid input"),
    (PermissionError, 403, "Forbidden"),
    (BatteryloopError, 400, "Bad request"),
)


class AuthError(BatteryloopError):
    """Missing or unknown API key."""


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        return problem(401, "Unauthorized", str(exc))

    @app.exception_handler(BatteryloopError)
    async def _domain(_: Request, exc: BatteryloopError) -> JSONResponse:
        for cls, status, title in _STATUS:
            if isinstance(exc, cls):
                extra: dict[str, Any] = {}
                line = getattr(exc, "line", None)
                if line is not None:
                    extra["line"] = line
                return problem(status, title, str(exc), **extra)
        return problem(400, "Bad request", str(exc))

    @app.exception_handler(PermissionError)
    async def _perm(_: Request, exc: PermissionError) -> JSONResponse:
        return problem(403, "Forbidden", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
        return problem(422, "Invalid input", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))
