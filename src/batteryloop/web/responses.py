"""JSON responses rendered by orjson: for hot read endpoints whose body is already plain data (the route's
return value is not validated and re-encoded by FastAPI a second time)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

__all__ = ["JSON", "json_response"]

JSON = "application/json"


def json_response(
    body: Any, *, status: int = 200, media_type: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)
