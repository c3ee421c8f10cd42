"""The C accelerator of the Merkle trees (``_merkle.c``) gives exactly the pure-Python hashes: batch roots and
a verifier's compact ranges, grown in any pieces from any start, with both paths compared on the same input;
it refuses buffers of the wrong length; and CI builds it (``hatch_build.py``), so these tests run there."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.ledger.core import integrity, merkle
from batteryloop.ledger.core.merkle import CompactRange, leaf_hash, root_of

needs_native = pytest.mark.skipif(merkle.native is None, reason="the C accelerator is not built here")


@contextmanager
def pure_python() -> Iterator[None]:
    kept = merkle.native
    merkle.native = None
    try:
        yield
    finally:
        merkle.native = kept


def test_ci_builds_the_accelerator() -> None:
    """CI installs a compiler and OpenSSL's headers (.ci/run): there the accelerator must be built, or the
    comparisons below would be skipped without anyone noticing."""
    if os.environ.get("CI") == "true":
        assert merkle.native is not None, "hatch_build.py did not build batteryloop/ledger/core/_merkle"


@needs_native
def test_each_function_is_rfc6962_hashing() -> None:
    assert merkle.native is not None
    a, b = hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()
    la, lb = hashlib.sha256(b"\x00" + a).digest(), hashlib.sha256(b"\x00" + b).digest()
    assert merkle.native.leaves(a + b) == la + lb
    assert merkle.native.parents(la + lb) == hashlib.sha256(b"\x01" + la + lb).digest()
    assert merkle.native.leaf_parents(a + b) == hashlib.sha256(b"\x01" + la + lb).digest()
    assert merkle.native.leaves(b"") == merkle.native.parents(b"") == b""


@needs_native
@pytest.mark.parametrize(
    ("name", "size"), [("leaves", 31), ("leaves", 33), ("parents", 32), ("leaf_parents", 96)]
)
def test_a_buffer_of_the_wrong_length_is_refused(name: str, size: int) -> None:
    with pytest.raises(ValueError, match="multiple of"):
        getattr(merkle.native, name)(bytes(size))


@needs_native
def test_a_value_that_is_not_a_buffer_is_refused() -> None:
    assert merkle.native is not None
    with pytest.raises(TypeError):
        merkle.native.leaves("not bytes")  # type: ignore[arg-type]


@needs_native
@settings(max_examples=300, deadline=None)
@given(data=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=140))
def test_batch_roots_are_the_same_on_both_paths(data: list[bytes]) -> None:
    fast = integrity.merkle_root_of_digests(list(data))
    with pure_python():
        slow = integrity.merkle_root_of_digests(list(data))
    assert fast == slow == root_of([leaf_hash(d) for d in data]).hex()


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=140),
    begin=st.integers(min_value=0, max_value=70),
    steps=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8),
    min_level=st.sampled_from([0, 1, 2, 4]),
)
def test_compact_ranges_are_the_same_on_both_paths(
    data: list[bytes], begin: int, steps: list[int], min_level: int
) -> None:
    """From even and odd starts, with and without a node held from the last piece: the same tiling nodes,
    the same pending ones and the same emitted nodes, in the same order."""
    fast, slow = CompactRange(begin, begin), CompactRange(begin, begin)
    fast_out: list[tuple[int, int, bytes]] = []
    slow_out: list[tuple[int, int, bytes]] = []
    at, k = 0, 0
    while at < len(data):
        piece = data[at : at + steps[k % len(steps)]]
        fast.extend(piece, fast_out, min_level)
        with pure_python():
            slow.extend(piece, slow_out, min_level)
        at += len(piece)
        k += 1
    assert (fast.begin, fast.end, fast.left, fast.pending) == (slow.begin, slow.end, slow.left, slow.pending)
    assert fast_out == slow_out


def test_leaf_data_of_another_length_takes_the_pure_python_path() -> None:
    """Leaves of the reference vectors are not 32 bytes long: the accelerator is not used, the roots stay
    RFC 6962's."""
    data = [b"", b"\x00", b"\x10", b"\x20\x21", bytes(32), bytes(40)]
    part = CompactRange(0, 0)
    part.extend(data, None, 4)
    assert merkle.fold_right([h for _, h in part.nodes()]) == root_of([leaf_hash(d) for d in data])


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    before=st.integers(min_value=0, max_value=70),
    pieces=st.lists(st.integers(min_value=1, max_value=90), min_size=1, max_size=5),
    min_level=st.sampled_from([1, 2, 4]),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_appends_to_a_frontier_are_the_same_on_both_paths(
    before: int, pieces: list[int], min_level: int, seed: int
) -> None:
    """The append path (``Frontier.extend``, what the ledger's writer stores): the same frontier and the same
    emitted nodes in the same ascending (end, level) order, for appends of fewer and more than
    ``NATIVE_MIN_LEAVES`` leaves onto a tree of any size."""
    import random

    rng = random.Random(seed)
    start = [rng.randbytes(32) for _ in range(before)]
    with pure_python():
        fast = merkle.Frontier(0, {})
        fast.extend(start)
    slow = fast.copy()
    fast_out: list[tuple[int, int, bytes]] = []
    slow_out: list[tuple[int, int, bytes]] = []
    for n in pieces:
        data = [rng.randbytes(32) for _ in range(n)]
        fast.extend(data, lambda e, lv, h: fast_out.append((e, lv, h)), min_level)
        with pure_python():
            slow.extend(data, lambda e, lv, h: slow_out.append((e, lv, h)), min_level)
    assert (fast.size, fast.pending) == (slow.size, slow.pending)
    assert fast_out == slow_out
