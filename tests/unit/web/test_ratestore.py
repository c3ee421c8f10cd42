"""The shared rate-limit store: the Lua token bucket against a real Redis (``redis_url``: skipped when Redis is
unreachable, failed when CI=true), two edge middlewares ("workers") sharing it, and the fall-back to the
process's own buckets when Redis cannot be asked (that part needs no Redis)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from batteryloop.config import Settings, WebSettings
from batteryloop.domain.errors import ValidationError
from batteryloop.web.edge import EdgeMiddleware
from batteryloop.web.ratestore import RedisBuckets, redacted

UNREACHABLE = "redis://127.0.0.1:1/0"  # port 1: connection refused at once


def _buckets(url: str, prefix: str, **kw: Any) -> RedisBuckets:
    params: dict[str, Any] = {
        "address_rate_per_s": 2.0,
        "address_burst": 3,
        "key_rate_per_s": 1.0,
        "key_burst": 2,
        "timeout_s": 1.0,
        "retry_s": 5.0,
        **kw,
    }
    return RedisBuckets(url, prefix=prefix, **params)


def _run(store: RedisBuckets, body: Callable[[], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        try:
            return await body()
        finally:
            await store.aclose()

    return asyncio.run(go())


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, decode_responses=True)


# ---------------------------------------------------------------------------------------- the Lua bucket


@pytest.mark.redis
def test_the_address_bucket_grants_its_burst_then_says_when_the_next_token_comes(
    redis_url: str, redis_prefix: str
) -> None:
    store = _buckets(redis_url, redis_prefix)

    async def body() -> list[Any]:
        return [await store.take("198.51.100.1", None) for _ in range(4)] + [
            await store.take("198.51.100.2", None)
        ]

    *first, fourth, other = _run(store, body)
    assert first == [(0.0, "")] * 3
    assert fourth[1] == "address"
    assert 0.4 <= fourth[0] <= 0.5  # one token at 2/s, less the time since the first take
    assert other == (0.0, "")  # another address has its own bucket


@pytest.mark.redis
def test_the_credential_bucket_is_taken_after_the_address_and_only_if_it_granted(
    redis_url: str, redis_prefix: str
) -> None:
    store = _buckets(redis_url, redis_prefix, address_burst=100)

    async def body() -> list[Any]:
        return [await store.take(f"192.0.2.{i}", "key-a") for i in range(3)] + [
            await store.take("192.0.2.9", "key-b")
        ]

    *same_key, other_key = _run(store, body)
    assert same_key[:2] == [(0.0, "")] * 2
    assert same_key[2][1] == "credential" and 0.8 <= same_key[2][0] <= 1.0  # 1 token/s
    assert other_key == (0.0, "")
    # an empty address bucket does not touch the credential's: key-c keeps both of its tokens
    tight = _buckets(redis_url, redis_prefix + "t:", address_burst=1)

    async def body2() -> list[Any]:
        return [await tight.take("192.0.2.1", "key-c") for _ in range(3)]

    assert [which for _, which in _run(tight, body2)] == ["", "address", "address"]
    with _redis(redis_url) as r:
        assert float(r.hget(tight.credential_key("key-c"), "n")) == pytest.approx(1.0)


@pytest.mark.redis
def test_a_bucket_refills_with_redis_time_up_to_its_burst(redis_url: str, redis_prefix: str) -> None:
    store = _buckets(redis_url, redis_prefix)
    key = store.address_key("203.0.113.5")

    def rewind(seconds: int) -> None:  # as if the last take had been `seconds` earlier on Redis's clock
        with _redis(redis_url) as r:
            r.hset(key, "s", int(r.hget(key, "s")) - seconds)

    async def takes(n: int) -> list[str]:
        return [which for _, which in [await store.take("203.0.113.5", None) for _ in range(n)]]

    assert _run(store, lambda: takes(4)) == ["", "", "", "address"]
    rewind(1)  # 1 s at 2 tokens/s: two tokens back
    assert _run(store, lambda: takes(3)) == ["", "", "address"]
    rewind(3600)  # an hour: full again, but no more than the burst of 3
    assert _run(store, lambda: takes(4)) == ["", "", "", "address"]


@pytest.mark.redis
def test_bucket_keys_expire_when_they_would_be_full_again(redis_url: str, redis_prefix: str) -> None:
    store = _buckets(redis_url, redis_prefix, address_rate_per_s=0.5, address_burst=4)
    _run(store, lambda: store.take("203.0.113.7", "key-t"))
    with _redis(redis_url) as r:
        address_ttl = r.pttl(store.address_key("203.0.113.7"))
        key_ttl = r.pttl(store.credential_key("key-t"))
    assert 1000 <= address_ttl <= 2000  # one token used, at 0.5/s: full again in 2 s
    assert 500 <= key_ttl <= 1000  # one of two tokens used, at 1/s: full in 1 s


# ---------------------------------------------------------------------------- two workers, one store


def _settings(**web: Any) -> WebSettings:
    return WebSettings.from_mapping(web)


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _status(edge: EdgeMiddleware, address: str, api_key: str | None = None) -> int:
    headers = [(b"host", b"test")] + ([(b"x-api-key", api_key.encode())] if api_key else [])
    scope = {"type": "http", "method": "GET", "path": "/health", "query_string": b"", "headers": headers}
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await edge({**scope, "client": (address, 4000)}, receive, send)
    return status


def _workers(settings: WebSettings) -> tuple[EdgeMiddleware, EdgeMiddleware]:
    return EdgeMiddleware(_ok, settings=settings), EdgeMiddleware(_ok, settings=settings)


async def _close(*edges: EdgeMiddleware) -> None:
    for edge in edges:
        if edge.shared is not None:
            await edge.shared.aclose()


@pytest.mark.redis
def test_two_workers_sharing_the_store_refuse_the_burst_plus_first_request_across_them(
    redis_url: str, redis_prefix: str
) -> None:
    common = {"rate_per_address_per_s": 0.01, "rate_burst_per_address": 3}

    async def alternate(settings: WebSettings) -> list[int]:
        one, two = _workers(settings)
        try:
            return [await _status((one, two)[i % 2], "198.51.100.7") for i in range(5)]
        finally:
            await _close(one, two)

    shared = _settings(rate_store=redis_url, rate_store_prefix=redis_prefix, **common)
    assert asyncio.run(alternate(shared)) == [200, 200, 200, 429, 429]
    # the same two workers with their own buckets: each grants its own burst of 3 (what issue 10 is about)
    assert asyncio.run(alternate(_settings(**common))) == [200] * 5


@pytest.mark.redis
def test_two_workers_share_the_credential_bucket(redis_url: str, redis_prefix: str) -> None:
    settings = _settings(
        rate_store=redis_url, rate_store_prefix=redis_prefix, rate_per_key_per_s=0.01, rate_burst_per_key=2
    )

    async def body() -> list[int]:
        one, two = _workers(settings)
        try:  # a different address each time: only the key's bucket can run out
            codes = [await _status((one, two)[i % 2], f"192.0.2.{i}", "key-1") for i in range(3)]
            return [*codes, await _status(two, "192.0.2.50", "key-2")]
        finally:
            await _close(one, two)

    assert asyncio.run(body()) == [200, 200, 429, 200]


# ------------------------------------------------------------------------------ Redis cannot be asked


def test_an_unreachable_store_falls_back_to_the_process_buckets_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(rate_store=UNREACHABLE, rate_per_address_per_s=0.01, rate_burst_per_address=3)

    async def body() -> list[int]:
        (edge, _) = _workers(settings)
        try:
            return [await _status(edge, "198.51.100.9") for _ in range(5)]
        finally:
            await _close(edge)

    with caplog.at_level(logging.WARNING, logger="batteryloop.web.ratestore"):
        codes = asyncio.run(body())
    assert codes == [200, 200, 200, 429, 429]  # limited, per process: neither failed open nor 500
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "127.0.0.1:1" in warnings[0].getMessage() and "in-memory" in warnings[0].getMessage()


def test_an_unreachable_store_is_asked_again_after_the_retry_time_without_a_new_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    store = _buckets(UNREACHABLE, "bl-test:none:", retry_s=5.0, clock=lambda: now[0])

    async def body() -> list[Any]:
        out = [await store.take("198.51.100.1", None)]
        first_retry = store.down_until
        now[0] += 1.0
        out.append(await store.take("198.51.100.1", None))  # not asked: still inside the retry time
        out.append(store.down_until == first_retry)
        now[0] += 5.0
        out.append(await store.take("198.51.100.1", None))  # asked again, fails again
        out.append(store.down_until == now[0] + 5.0)
        return out

    with caplog.at_level(logging.WARNING, logger="batteryloop.web.ratestore"):
        assert _run(store, body) == [None, None, True, None, True]
    assert len(caplog.records) == 1


@pytest.mark.redis
def test_a_store_that_answers_again_is_used_again(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    store = _buckets(UNREACHABLE, redis_prefix, retry_s=5.0, clock=lambda: now[0])

    async def body() -> list[Any]:
        out = [await store.take("198.51.100.1", None)]
        await store.aclose()
        store.url = redis_url  # Redis is back
        now[0] += 6.0
        out.append(await store.take("198.51.100.1", None))
        return out

    with caplog.at_level(logging.INFO, logger="batteryloop.web.ratestore"):
        assert _run(store, body) == [None, (0.0, "")]
    assert store.down_until is None
    assert "answers again" in caplog.records[-1].getMessage()


# ----------------------------------------------------------------------------------------- settings


def test_the_rate_store_setting_is_memory_by_default_and_checked() -> None:
    assert WebSettings.from_mapping({}).rate_store == "memory"
    for url in ("redis://127.0.0.1:6379/0", "rediss://cache.example:6380/1", "unix:///run/redis.sock"):
        assert WebSettings.from_mapping({"rate_store": url}).rate_store == url
    with pytest.raises(ValidationError, match="rate_store must be 'memory' or a Redis URL"):
        WebSettings.from_mapping({"rate_store": "memcached://127.0.0.1"})
    with pytest.raises(ValidationError, match="rate_store_prefix"):
        WebSettings.from_mapping({"rate_store_prefix": ""})
    with pytest.raises(ValidationError, match="rate_store_timeout_s"):
        WebSettings.from_mapping({"rate_store_timeout_s": 0})
    env = {"BATTERYLOOP_WEB_RATE_STORE": "redis://cache:6379/2", "BATTERYLOOP_WEB_RATE_STORE_RETRY_S": "2"}
    web = Settings.load(environ=env).web
    assert (web.rate_store, web.rate_store_retry_s) == ("redis://cache:6379/2", 2.0)


def test_a_password_is_not_logged() -> None:
    assert redacted("redis://user:secret@cache:6379/0") == "redis://user:***@cache:6379/0"
    assert redacted("redis://cache:6379/0") == "redis://cache:6379/0"


def test_a_redis_store_without_the_redis_package_stops_at_start_up_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "redis.exceptions", None)  # as if the package were not installed
    with pytest.raises(ValidationError, match=r"batteryloop\[redis\]") as caught:
        EdgeMiddleware(_ok, settings=_settings(rate_store="redis://u:secret@cache:6379/0"))
    assert "secret" not in str(caught.value)
    EdgeMiddleware(_ok, settings=_settings())  # the in-memory default needs no redis
