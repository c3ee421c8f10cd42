"""The HTTP edge: what every request meets before any route, dependency or authentication runs.

One pure-ASGI middleware, :class:`EdgeMiddleware` (it never reads a body it would refuse; one hop where there
were four, fewer instructions per request), doing in this order:

* the security headers: CSP (``frame-ancestors 'none'``, scripts only from this origin or
  by hash), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy`` and ``X-Frame-Options`` to every
  response, errors of the edge included;
* uvicorn's ``ProxyHeadersMiddleware``, only when ``web.trusted_proxies`` names proxies: then, and only for a
  request whose peer is one of them, ``X-Forwarded-For``/``X-Forwarded-Proto`` become the client address and
  the scheme (otherwise a client could pick its own address and dodge the per-address limit);
* the rate limits: a token bucket per client address and one per presented credential (API key,
  bearer token or session cookie, by hash, before the key is checked); an empty bucket is 429 with
  ``Retry-After``. The buckets are this process's (:class:`TokenBuckets`) or, with ``web.rate_store`` a
  Redis URL, shared by every worker process (:class:`batteryloop.web.ratestore.RedisBuckets`; while Redis
  cannot be asked, this process's buckets count instead);
* the body limit: a declared ``Content-Length`` above the route's limit is 413 before a byte
  is read; a streamed body is counted chunk by chunk and cut off at the limit (413 as well). A route's larger
  limit (``web.body_limits_bytes``, e.g. the bulk upload) applies only to a request that presents a
  credential, so an anonymous client never gets more than ``web.max_body_bytes`` parsed;
* the input guard: a path or query with control characters or over-long values is 422
  (:mod:`batteryloop.web.inputguard`).

The token bucket is written here (about forty lines) rather than taken from ``limits``/``slowapi``: those give
fixed or moving windows with per-route decorators and a storage back end; what is needed is one in-memory
bucket per client in front of every route, with a bounded table and an injectable clock for tests. The
Redis store keeps the same arithmetic in one Lua script (:mod:`batteryloop.web.ratestore`).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

from starlette.requests import Request

from batteryloop.config import WebSettings
from batteryloop.web.i18n import N_, negotiate, translations
from batteryloop.web.inputguard import request_problem
from batteryloop.web.problems import problem
from batteryloop.web.ratestore import RedisBuckets
from batteryloop.web.sessions import SESSION_COOKIE

__all__ = [
    "CSP",
    "EdgeMiddleware",
    "TokenBuckets",
    "content_security_policy",
    "credential_of",
    "install_edge",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PROBLEM_JSON = b"application/problem+json"


def content_security_policy(*script_hashes: str) -> str:
    """The pages' CSP: everything from this origin, no inline script but the given ``sha256-...`` hashes,
    inline styles allowed (templates and SVG charts use them; a style cannot run code), no framing, no
    plugins, forms only to this origin."""
    scripts = " ".join(["'self'", *(f"'{h}'" for h in script_hashes)])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


CSP = content_security_policy()
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def credential_of(scope: Scope) -> str | None:
    """The credential a request presents (API key, bearer token or session id), unchecked; None if none."""
    key = _header(scope, b"x-api-key")
    if key and key.strip():
        return "k:" + key.strip()
    auth = _header(scope, b"authorization") or ""
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return "k:" + auth[7:].strip()
    cookies = _header(scope, b"cookie") or ""
    for part in cookies.split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value.strip():
            return "s:" + value.strip()
    return None


def _accept_language(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            return bytes(value).decode("latin-1")
    return None


async def _problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    headers: list[tuple[bytes, bytes]],
    scope: Scope | None = None,
) -> None:
    """A problem+json answer from the edge; ``title`` in the language the request's Accept-Language prefers
    (as :func:`batteryloop.web.problems.problem`), named in Content-Language."""
    locale = negotiate(_accept_language(scope)) if scope is not None else None
    if locale:
        title = translations(locale).gettext(title)
    language = locale.replace("_", "-").encode() if locale else b"en"
    headers = [*headers, (b"content-language", language)]
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail}, ensure_ascii=False
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TokenBuckets:
    """Token buckets keyed by client: ``rate_per_s`` tokens a second up to ``burst``; the least recently
    used bucket is dropped beyond ``max_buckets`` (a dropped client starts again with a full bucket)."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        max_buckets: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = float(rate_per_s)
        self.burst = float(burst)
        self.max_buckets = max_buckets
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 if granted, else the seconds until one is there."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate_per_s)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate_per_s
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_buckets:
                self._buckets.popitem(last=False)
        return wait


class EdgeMiddleware:
    """The whole edge as one pure-ASGI middleware (one hop instead of four): security headers on every
    response, then (with ``web.trusted_proxies``) uvicorn's proxy headers, the rate limits, the body limit and
    the input guard (:func:`batteryloop.web.inputguard.request_problem`), in that order, each refusing before
    anything inside it runs. The same checks in the same order as the separate middlewares it replaced."""

    def __init__(
        self, app: ASGIApp, *, settings: WebSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.settings = settings
        self.by_address = TokenBuckets(
            settings.rate_per_address_per_s,
            settings.rate_burst_per_address,
            max_buckets=settings.rate_max_buckets,
            clock=clock,
        )
        self.by_key = TokenBuckets(
            settings.rate_per_key_per_s,
            settings.rate_burst_per_key,
            max_buckets=settings.rate_max_buckets,
            clock=clock,
        )
        self.shared: RedisBuckets | None = None
        if settings.rate_store != "memory":
            self.shared = RedisBuckets(
                settings.rate_store,
                prefix=settings.rate_store_prefix,
                address_rate_per_s=settings.rate_per_address_per_s,
                address_burst=settings.rate_burst_per_address,
                key_rate_per_s=settings.rate_per_key_per_s,
                key_burst=settings.rate_burst_per_key,
                timeout_s=settings.rate_store_timeout_s,
                retry_s=settings.rate_store_retry_s,
            )
        self.inner: ASGIApp = self._guarded
        self.passthrough: ASGIApp = app
        if settings.trusted_proxies:
            from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

            trusted = list(settings.trusted_proxies)
            # uvicorn types its middleware with its own ASGI types; the callables are the same protocol
            self.inner = cast(ASGIApp, ProxyHeadersMiddleware(self._guarded, trusted_hosts=trusted))  # type: ignore[arg-type]
            self.passthrough = cast(ASGIApp, ProxyHeadersMiddleware(app, trusted_hosts=trusted))  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.shared is not None:
                send = self._closing_store(send)
            await self.passthrough(scope, receive, send)
            return
        await self.inner(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def out(message: Message) -> None:  # the edge's own answers, with the security headers
            if message["type"] == "http.response.start":
                _add_security_headers(message)
            await send(message)

        credential = credential_of(scope)
        if await self._over_rate(scope, credential, out):
            return
        limit = self.settings.body_limit(scope["path"], credentialed=credential is not None)
        detail = f"the request body is larger than {limit} bytes, the limit of {scope['path']}"
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _problem(out, 400, N_("Bad request"), "Content-Length is not a number", [], scope)
                return
            if size > limit:
                await _problem(out, 413, N_("Payload too large"), detail, [], scope)
                return
        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to a cut-off body is replaced by the 413 below
            if message["type"] == "http.response.start":
                started = True
                _add_security_headers(message)
            await send(message)

        try:
            wrong = request_problem(scope.get("path", ""), scope.get("query_string", b""))
            if wrong is not None:
                await problem(422, N_("Invalid input"), wrong, request=Request(scope))(
                    scope, counted_receive, guarded_send
                )
                return
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _problem(out, 413, N_("Payload too large"), detail, [], scope)

    def _closing_store(self, send: Send) -> Send:
        """``send`` of a lifespan scope that closes the Redis client before the shutdown is reported."""
        shared = self.shared

        async def closing(message: Message) -> None:
            if shared is not None and message["type"] in {
                "lifespan.shutdown.complete",
                "lifespan.shutdown.failed",
            }:
                await shared.aclose()
            await send(message)

        return closing

    async def _over_rate(self, scope: Scope, credential: str | None, out: Send) -> bool:
        """Take a token from the client address's bucket, then the credential's; 429 if either is empty.
        The credential's bucket is keyed by a hash (no key is kept in memory, nor in Redis, in the clear).
        With a shared store, both are taken in one Redis round trip; if Redis cannot be asked, from this
        process's buckets."""
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        digest = None if credential is None else hashlib.sha256(credential.encode("utf-8")).hexdigest()[:32]
        what = "this client address"
        taken = None if self.shared is None else await self.shared.take(address, digest)
        if taken is not None:
            wait, which = taken
            if which == "credential" and credential is not None:
                what = "this API key" if credential.startswith("k:") else "this session"
        else:
            wait = self.by_address.take(address)
            if wait == 0.0 and credential is not None and digest is not None:
                wait = self.by_key.take(digest)
                what = "this API key" if credential.startswith("k:") else "this session"
        if wait <= 0.0:
            return False
        retry = max(1, math.ceil(wait))
        detail = f"too many requests from {what}; retry in {retry} s"
        await _problem(
            out, 429, N_("Too many requests"), detail, [(b"retry-after", str(retry).encode())], scope
        )
        return True


_CSP_HEADER = (b"content-security-policy", CSP.encode())


def _add_security_headers(message: Message) -> None:
    """Add the security headers a response start does not set itself (a route may set its own CSP)."""
    headers = list(message.get("headers", ()))
    present = {bytes(k).lower() for k, _ in headers}
    headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
    if b"content-security-policy" not in present:
        headers.append(_CSP_HEADER)
    message["headers"] = headers


def install_edge(app: Any, settings: WebSettings) -> None:
    """Add the edge to a Starlette/FastAPI ``app`` as its outermost middleware (added last, it runs first)."""
    app.add_middleware(EdgeMiddleware, settings=settings)
