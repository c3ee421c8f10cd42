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
from batteryloop.web.i18n import N_, negotiate, translations

PROBLEM_JSON = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "line": {"type": "integer", "description": "the input line at fault (bulk uploads)"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"loc": {"type": "string"}, "msg": {"type": "string"}},
            },
        },
    },
}

_DOCUMENTED: dict[int, str] = {
    400: "Bad request",
    401: "Missing or invalid API key or signature",
    403: "Not allowed to this caller",
    404: "Not found",
    409: "Conflict with the ledger's state",
    413: "Request body too large (web.max_body_bytes, web.body_limits_bytes)",
    422: "Invalid input",
    429: "Too many requests (see Retry-After)",
    503: "Storage unavailable",
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
    for status, text in _DOCUMENTED.items()
}
"""The problem+json answers every operation may give, for the OpenAPI document (``FastAPI(responses=...)``)."""

# (status, title) per error class; the first match in this order wins (subclasses first).
_STATUS: tuple[tuple[type[BaseException], int, str], ...] = (
    (StorageError, 503, N_("Storage unavailable")),
    (NotFoundError, 404, N_("Not found")),
    (IllegalTransitionError, 409, N_("Illegal lifecycle transition")),
    (ConflictError, 409, N_("Conflict")),
    (CustodyError, 403, N_("No custody")),
    (SignatureError, 401, N_("Bad or missing signature")),
    (ValidationError, 422, N_("Invalid input")),
    (PermissionError, 403, N_("Forbidden")),
    (BatteryloopError, 400, N_("Bad request")),
)


class AuthError(BatteryloopError):
    """Missing or unknown API key."""


def document_html_errors(app: FastAPI) -> None:
    """In the OpenAPI document, an operation that answers with an HTML page (a page listed in the API) also
    answers its errors with an HTML page: say so next to problem+json, so the document matches the server."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                ok: dict[str, Any] = next((r for c, r in responses.items() if str(c).startswith("2")), {})
                if "text/html" not in ok.get("content", {}):
                    continue
                for code, response in responses.items():
                    if str(code)[0] in "45":
                        response.setdefault("content", {}).setdefault(
                            "text/html", {"schema": {"type": "string"}}
                        )
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response. ``title`` (a fixed phrase per kind of error) is translated into the language
    the request's ``Accept-Language`` prefers, named in ``Content-Language``; ``detail`` is the domain error's
    message, in English, with the identifiers at fault."""
    locale = negotiate(request.headers.get("accept-language")) if request is not None else None
    headers = {**(headers or {}), "Content-Language": locale.replace("_", "-") if locale else "en"}
    if locale:
        title = translations(locale).gettext(title)
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        return problem(401, N_("Unauthorized"), str(exc), request=request)

    @app.exception_handler(BatteryloopError)
    async def _domain(request: Request, exc: BatteryloopError) -> JSONResponse:
        for cls, status, title in _STATUS:
            if isinstance(exc, cls):
                extra: dict[str, Any] = {}
                line = getattr(exc, "line", None)
                if line is not None:
                    extra["line"] = line
                return problem(status, title, str(exc), request=request, **extra)
        return problem(400, N_("Bad request"), str(exc), request=request)

    @app.exception_handler(PermissionError)
    async def _perm(request: Request, exc: PermissionError) -> JSONResponse:
        return problem(403, N_("Forbidden"), str(exc), request=request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
        return problem(422, N_("Invalid input"), detail, request=request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: N_("Not found"), 405: N_("Method not allowed"), 413: N_("Payload too large")}
        title = titles.get(exc.status_code, N_("Error"))
        return problem(exc.status_code, title, str(exc.detail), request=request)
