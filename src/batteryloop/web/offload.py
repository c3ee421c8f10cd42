"""Blocking work of an ``async`` route run off the event loop, with bounded concurrency.

A bulk upload parses, hashes, checks and writes tens of thousands of events; run on the event loop it would
stall every other request (public passport scans included) until it ends. :func:`run_blocking` runs it in a
worker thread (``anyio.to_thread``) under a capacity limiter of ``web.bulk_workers`` per application, so the
loop keeps serving reads and at most that many uploads compete for the writer at once; the rest wait their
turn without holding a thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

__all__ = ["run_blocking"]

T = TypeVar("T")
_LIMITER = "batteryloop_bulk_limiter"


def _limiter(state: Any, workers: int) -> anyio.CapacityLimiter:
    limiter = getattr(state, _LIMITER, None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(workers)
        setattr(state, _LIMITER, limiter)
    return limiter


async def run_blocking(app_state: Any, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in a worker thread, at most ``app_state.settings.web.bulk_workers`` at once."""
    workers = app_state.settings.web.bulk_workers
    return await anyio.to_thread.run_sync(
        functools.partial(func, *args, **kwargs), limiter=_limiter(app_state, workers)
    )
