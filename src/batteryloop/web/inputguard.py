"""The edge check of every request's path and query: no control characters, bounded lengths.

Checked by the edge middleware (:class:`batteryloop.web.edge.EdgeMiddleware`) before routing, so no
endpoint (ledger, passport, organisations, pages) sees a NUL byte, a newline or a 10,000-character value in a path segment or query parameter: PostgreSQL cannot store NUL in text (the
request would end in a storage error), and a value that long is never an identifier. The answer is a 422
problem+json naming the parameter. The domain checks identifiers again (``domain.validation``), so the
Python API and the CLI get the same rule.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from batteryloop.domain.validation import IDENTIFIER_CHARS, shown

MAX_SEGMENT_CHARS = 4 * IDENTIFIER_CHARS  # a path segment: an identifier, or a quoted document name
MAX_QUERY_CHARS = 2048  # one query value (free-text search included)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]").search


def request_problem(path: str, query: bytes) -> str | None:
    """What is wrong with a request's path or query, or None."""
    for segment in path.split("/"):
        if len(segment) > MAX_SEGMENT_CHARS:
            return f"a path segment is {len(segment)} characters long, over the limit of {MAX_SEGMENT_CHARS}"
        if _CONTROL(segment):
            return f"path segment {shown(segment)} contains control characters"
    if query:
        try:
            pairs = parse_qsl(query.decode("utf-8"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            return "the query string is not valid UTF-8"
        for name, value in pairs:
            if len(value) > MAX_QUERY_CHARS or len(name) > MAX_QUERY_CHARS:
                return f"query parameter {shown(name)} is over the limit of {MAX_QUERY_CHARS} characters"
            if _CONTROL(value) or _CONTROL(name):
                return f"query parameter {shown(name)} contains control characters"
    return None
