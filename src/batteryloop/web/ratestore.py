"""Token buckets shared by every worker process, in Redis (``web.rate_store = "redis://..."``).

The same buckets as :class:`batteryloop.web.edge.TokenBuckets` (``rate`` tokens a second up to ``burst``;
an empty bucket answers the seconds until the next token), kept in Redis so that every worker process
(uvicorn ``--workers N``, gunicorn, several containers) takes from the same bucket. One Lua script, called
by EVALSHA, takes from the client address's bucket and then, if that granted, from the credential's, in
one round trip and atomically (Redis runs a script alone). The time is Redis's own (``TIME``), so workers
with skewed clocks agree. Each bucket is a hash ``{n: tokens, s: seconds, u: microseconds}`` whose TTL is
the time it takes to fill up again: an idle client's key vanishes exactly when it would be a full bucket,
which is what a missing key means (this replaces the bounded table of the in-memory buckets).

If Redis cannot be asked (refused, timed out, any Redis error), :meth:`RedisBuckets.take` answers None and
the edge counts the request in the process's in-memory buckets instead: the limits stay enforced, per
process, as with ``rate_store = "memory"``. One warning is logged when that starts and one line when Redis
answers again; Redis is not asked again before ``web.rate_store_retry_s`` seconds have passed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from batteryloop.domain.errors import ValidationError

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["TAKE_SCRIPT", "RedisBuckets", "redacted"]

log = logging.getLogger(__name__)

# KEYS[1]: the client address's bucket; KEYS[2] (absent without a credential): the credential's bucket.
# ARGV: address rate per second, address burst, credential rate per second, credential burst.
# Returns {0, 0} when granted, else {1 (address) or 2 (credential), microseconds until the next token}.
# As TokenBuckets.take: the credential's bucket is not touched when the address's is empty, and the
# address's token stays taken when the credential's is empty.
TAKE_SCRIPT = """
local now = redis.call('TIME')
local now_s, now_u = tonumber(now[1]), tonumber(now[2])
local function take(key, rate, burst)
  local state = redis.call('HMGET', key, 'n', 's', 'u')
  local tokens = burst
  if state[1] then
    local elapsed = (now_s - tonumber(state[2])) + (now_u - tonumber(state[3])) / 1000000
    if elapsed < 0 then elapsed = 0 end
    tokens = math.min(burst, tonumber(state[1]) + elapsed * rate)
  end
  local wait = 0
  if tokens >= 1 then
    tokens = tokens - 1
  else
    wait = (1 - tokens) / rate
  end
  redis.call('HSET', key, 'n', string.format('%.17g', tokens), 's', now[1], 'u', now[2])
  redis.call('PEXPIRE', key, math.max(1, math.ceil((burst - tokens) / rate * 1000)))
  return wait
end
local wait = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if wait > 0 then return {1, math.ceil(wait * 1000000)} end
if KEYS[2] then
  wait = take(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
  if wait > 0 then return {2, math.ceil(wait * 1000000)} end
end
return {0, 0}
"""


def redacted(url: str) -> str:
    """``url`` without its password (for logs and errors)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisBuckets:
    """The address and credential buckets in Redis at ``url``, under ``prefix``.

    One client per event loop (a connection belongs to the loop that opened it); :meth:`aclose` closes the
    current one (the edge calls it at lifespan shutdown)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        address_rate_per_s: float,
        address_burst: int,
        key_rate_per_s: float,
        key_burst: int,
        timeout_s: float,
        retry_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        try:  # here, so that a missing package stops the app at start-up
            from redis.exceptions import RedisError
        except ImportError:
            raise ValidationError(
                f"web.rate_store is {redacted(url)!r} but the redis package is not installed: "
                "pip install 'batteryloop[redis]'"
            ) from None
        self.url = url
        # what makes a take fall back to the process's buckets: any Redis error, a socket error, a timeout
        self._errors: tuple[type[Exception], ...] = (RedisError, OSError, TimeoutError)
        self.prefix = prefix
        rates = (float(address_rate_per_s), address_burst, float(key_rate_per_s), key_burst)
        self.args = tuple(repr(v) for v in rates)  # ARGV of TAKE_SCRIPT
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.clock = clock
        self.down_until: float | None = None  # while Redis is taken for unreachable: when to ask again
        self._client: Redis | None = None
        self._script: AsyncScript | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def address_key(self, address: str) -> str:
        return f"{self.prefix}a:{address}"

    def credential_key(self, digest: str) -> str:
        return f"{self.prefix}k:{digest}"

    def _script_for_this_loop(self) -> AsyncScript:
        loop = asyncio.get_running_loop()
        if self._script is None or self._loop is not loop:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            self._client = Redis.from_url(  # no retries: a failed take falls back at once, not after backoffs
                self.url,
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
                retry=Retry(NoBackoff(), 0),
            )
            self._script = self._client.register_script(TAKE_SCRIPT)
            self._loop = loop
        return self._script

    async def take(self, address: str, credential_digest: str | None) -> tuple[float, str] | None:
        """One token from the address's bucket, then (if granted and there is one) from the credential's:
        ``(0.0, "")`` if granted, ``(seconds until a token, "address" | "credential")`` if refused, None if
        Redis could not be asked (the caller counts the request in its own buckets)."""
        if self.down_until is not None and self.clock() < self.down_until:
            return None
        keys = [self.address_key(address)]
        if credential_digest is not None:
            keys.append(self.credential_key(credential_digest))
        try:
            which, wait_us = await self._script_for_this_loop()(keys=keys, args=self.args)
        except self._errors as exc:
            if self.down_until is None:
                log.warning(
                    "rate limits: Redis at %s cannot be asked (%s: %s); counting requests in this "
                    "process's in-memory buckets until it answers (asked again every %s s)",
                    redacted(self.url),
                    type(exc).__name__,
                    exc,
                    self.retry_s,
                )
            self.down_until = self.clock() + self.retry_s
            return None
        if self.down_until is not None:
            log.info("rate limits: Redis at %s answers again; buckets shared again", redacted(self.url))
            self.down_until = None
        if int(which) == 0:
            return 0.0, ""
        return int(wait_us) / 1e6, ("address" if int(which) == 1 else "credential")

    async def aclose(self) -> None:
        """Close the client of the current event loop (a client of another loop is dropped)."""
        client, self._client, self._script = self._client, None, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()
        self._loop = None
