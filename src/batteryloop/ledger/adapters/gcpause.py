"""Pause Python's cyclic garbage collector around the ledger's bulk loops.

Ingest and verify allocate millions of short-lived tuples, bytes and strings, none of them in reference cycles
(reference counting frees them). Each 700 allocations still trigger a generation-0 collection, and the older
generations are traversed again and again while a large input (a list of 10k-event batches, a 100k-stream
chain map) is alive, a visible share of the ingest and verify time (BENCHMARKS.md).
Pausing the collector for the duration of the loop is the standard remedy (the CPython docs' ``gc.disable``);
it is re-enabled on exit, also on error, and only if it was enabled before.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
