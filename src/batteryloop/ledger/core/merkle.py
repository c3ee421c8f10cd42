"""The ledger's global Merkle tree: RFC 6962 / RFC 9162 hashing, the append frontier, and proofs. Pure.

One tree over every event of the ledger in position order. Leaf ``i`` (0-based) is the event at position
``i + 1``; its leaf data is the stored event hash (32 bytes), which covers the client's content hash (signed by
the submitter) and every server-assigned field (position, event id, stream sequence, recording time, previous
hash). Hashing is RFC 6962 section 2.1: ``leaf = SHA-256(0x00 || data)``, ``node = SHA-256(0x01 || l || r)``;
the tree of ``n`` leaves splits at the largest power of two below ``n``.

Storage model (the adapter's): a *complete node* ``(level, index)`` is the root of leaves
``[index * 2**level, (index + 1) * 2**level)``. It is stored keyed by ``(end, level)`` where ``end`` is the
1-based position of its last event, ``(index + 1) << level``: nodes are then written in ascending key order (a
B-tree append) and read by point look-ups. Every proof needs only complete nodes: an incomplete subtree
``[a, b)`` of a proof is folded from the complete nodes that tile it (:func:`tile`).

Proof generation (:func:`inclusion_ranges`, :func:`consistency_ranges`) follows RFC 6962 section 2.1.1-2.1.2
(PATH and SUBPROOF) as lists of leaf ranges; verification (:func:`verify_inclusion`,
:func:`verify_consistency`) is the iterative algorithm of RFC 9162 sections 2.1.3.2 and 2.1.4.2.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Protocol

from batteryloop.domain.errors import ValidationError

_sha256 = hashlib.sha256
HASH_BYTES = 32


def _one_block_sha256() -> Callable[[bytes], Any]:
    """SHA-256 for a message of one block (<= 55 bytes: a leaf's 0x00 || 32-byte hash). CPython's built-in
    implementation (``_sha256``; ``_sha2`` from 3.12) has less per-call overhead than OpenSSL's EVP, which
    ``hashlib.sha256`` uses: 0.38 vs 0.48 us per 33-byte hash here (and more for two blocks or more, where
    OpenSSL's SHA extensions win). The same function: where the module is missing, hashlib's."""
    for name in ("_sha2", "_sha256"):
        try:
            return importlib.import_module(name).sha256  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    return _sha256


leaf_sha256 = _one_block_sha256()


class Native(Protocol):
    """The optional C accelerator (``_merkle.c``, compiled by ``hatch_build.py``): RFC 6962 hashes of many
    32-byte values per call, given and returned concatenated."""

    def leaves(self, data: bytes, /) -> bytes: ...  # SHA-256(0x00 || d) of each d
    def parents(self, data: bytes, /) -> bytes: ...  # SHA-256(0x01 || l || r) of each pair
    def leaf_parents(self, data: bytes, /) -> bytes: ...  # parents(leaves(data))


native: Native | None
NATIVE_MIN_LEAVES = 16  # fewer leaves per append: the pure-Python loop (the accelerator's set-up costs more)
try:
    from batteryloop.ledger.core import _merkle

    native = _merkle
except ImportError:  # no compiler at install: the pure-Python hashing below, with the same results
    native = None
EMPTY_ROOT = _sha256(b"").digest()  # RFC 6962: the hash of an empty tree is SHA-256 of the empty string


class ProofError(ValidationError):
    """A Merkle proof that does not verify (wrong sizes, wrong length, or hashes that do not match)."""


def leaf_hash(data: bytes) -> bytes:
    return leaf_sha256(b"\x00" + data).digest()  # type: ignore[no-any-return]


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def node_key(level: int, index: int) -> tuple[int, int]:
    """The storage key ``(end, level)`` of complete node ``(level, index)``: ``end`` is its last 1-based position."""
    return ((index + 1) << level, level)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (already hashed with :func:`leaf_hash`), by RFC 6962's definition."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        nxt = [_sha256(b"\x01" + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=False)]
        if len(level) % 2:
            nxt.append(level[-1])  # promoting the odd node equals RFC 6962's split at the power of two
        level = nxt
    return level[0]


def tile(begin: int, end: int) -> list[tuple[int, int]]:
    """The complete nodes ``(level, index)`` that tile leaves ``[begin, end)``, left to right, largest first
    where alignment allows (the range's canonical decomposition)."""
    out: list[tuple[int, int]] = []
    while begin < end:
        size = begin & -begin if begin else 1 << (end.bit_length())
        while size > end - begin:
            size >>= 1
        level = size.bit_length() - 1
        out.append((level, begin >> level))
        begin += size
    return out


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """The RFC 6962 root of a range from its tiling nodes (left to right): hash them together from the right."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = _sha256(b"\x01" + h + acc).digest()
    return acc


def range_hash(begin: int, end: int, node: Mapping[tuple[int, int], bytes]) -> bytes:
    """MTH(D[begin:end]) for a range that occurs in RFC 6962's recursion (``begin`` aligned to a power of two
    at least ``end - begin``), from the complete nodes in ``node`` keyed ``(level, index)``."""
    return fold_right([node[t] for t in tile(begin, end)])


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(index, D[size]) of RFC 6962 section 2.1.1, as the leaf ranges whose hashes form the proof, from
    the leaf upwards."""
    if not 0 <= index < size:
        raise ValidationError(f"leaf {index} is not in a tree of {size} leaves")
    out: list[tuple[int, int]] = []
    offset, n = 0, size
    while n > 1:
        k = split_point(n)
        if index < k:
            out.append((offset + k, offset + n))
            n = k
        else:
            out.append((offset, offset + k))
            offset += k
            index -= k
            n -= k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """PROOF(old, D[new]) of RFC 6962 section 2.1.2 (SUBPROOF with b = true), as leaf ranges in proof order."""
    if not 0 <= old <= new:
        raise ValidationError(f"no consistency proof from a tree of {old} leaves to one of {new}")
    if old == 0 or old == new:
        return []
    out: list[tuple[int, int]] = []
    offset, m, n, complete = 0, old, new, True
    while m != n:
        k = split_point(n)
        if m <= k:
            out.append((offset + k, offset + n))
            n = k
        else:
            out.append((offset, offset + k))
            offset += k
            m -= k
            n -= k
            complete = False
    if not complete:
        out.append((offset, offset + m))
    out.reverse()
    return out


def nodes_for(ranges: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Every complete node the given ranges need."""
    return {t for begin, end in ranges for t in tile(begin, end)}


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_BYTES:
        raise ProofError(f"{what} has {len(value)} bytes, a SHA-256 hash has {HASH_BYTES}")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2: the root that ``proof`` and the leaf hash give for leaf ``index`` of ``size``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    _check_hash(leaf, "the leaf hash")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "a proof hash")
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = _sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is high")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree ``(size, root)``."""
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError(f"leaf {index} is not included in the tree of size {size} with that root")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 section 2.1.4.2: raise ProofError unless the tree ``(new, new_root)`` extends ``(old, old_root)``."""
    if old < 0 or new < old:
        raise ProofError(f"a tree of {new} leaves cannot extend one of {old}")
    if old == new:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same tree size {old}")
        return
    if old == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    for p in proof:
        _check_hash(p, "a proof hash")
    path = list(proof)
    if old & (old - 1) == 0:  # an exact power of two: the old root is the first node of the path
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = _sha256(b"\x01" + c + fr).digest()
            sr = _sha256(b"\x01" + c + sr).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _sha256(b"\x01" + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than needed")
    if fr != old_root:
        raise ProofError(f"the consistency proof does not give the old root of size {old}")
    if sr != new_root:
        raise ProofError(f"the consistency proof does not give the new root of size {new}")


@dataclass(slots=True)
class Frontier:
    """The right edge of a tree of ``size`` leaves: for each level whose bit is set in ``size``, the complete
    node that is still waiting for its right sibling (what an append needs, O(log n) hashes)."""

    size: int
    pending: dict[int, bytes]  # level -> hash of complete node (level, (size >> level) - 1)

    def copy(self) -> Frontier:
        return Frontier(self.size, dict(self.pending))

    def root(self) -> bytes:
        if self.size == 0:
            return EMPTY_ROOT
        return fold_right([self.pending[level] for level in sorted(self.pending, reverse=True)])

    def extend(
        self, data: Sequence[bytes], emit: Callable[[int, int, bytes], None] | None = None, min_level: int = 0
    ) -> None:
        """Append leaves with leaf data ``data``; ``emit(end, level, hash)`` receives every complete node of
        level >= ``min_level`` that the appends complete, in ascending ``(end, level)`` order."""
        if native is not None and min_level >= 1 and len(data) >= NATIVE_MIN_LEAVES:
            joined = b"".join(data)
            if len(joined) == HASH_BYTES * len(data):
                self._extend_joined(joined, emit, min_level)
                return
        sha = _sha256
        pending = self.pending
        size = self.size
        leaf = leaf_sha256
        for d in data:
            h = leaf(b"\x00" + d).digest()
            size += 1
            level = 0
            if emit is not None and min_level == 0:
                emit(size, 0, h)
            while level in pending:
                h = sha(b"\x01" + pending.pop(level) + h).digest()
                level += 1
                if emit is not None and level >= min_level:
                    emit(size, level, h)
            pending[level] = h
        self.size = size

    def _extend_joined(
        self, joined: bytes, emit: Callable[[int, int, bytes], None] | None, min_level: int
    ) -> None:
        """:meth:`extend` with the C accelerator: the new leaves grow a :class:`CompactRange` (a level per
        call), which is joined onto this frontier; the nodes both complete are emitted in the loop's order."""
        part = CompactRange(self.size, self.size)
        made: list[tuple[int, int, bytes]] = []
        part._extend_joined(joined, made if emit is not None else None, min_level)

        def spanning(end: int, level: int, h: bytes) -> None:
            if level >= min_level:
                made.append((end, level, h))

        merged = join(self, part, None if emit is None else spanning)
        self.size, self.pending = merged.size, merged.pending
        if emit is not None:
            for node in sorted(made):  # (end, level) is unique: the hashes are never compared
                emit(*node)


def frontier_from(size: int, node: Mapping[tuple[int, int], bytes]) -> Frontier:
    """The frontier of a tree of ``size`` leaves from its complete nodes ``(level, index)``."""
    pending = {}
    for level in range(size.bit_length()):
        if size >> level & 1:
            pending[level] = node[(level, (size >> level) - 1)]
    return Frontier(size, pending)


def frontier_nodes(size: int) -> list[tuple[int, int]]:
    """The complete nodes ``(level, index)`` a frontier of ``size`` leaves holds."""
    return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]


def append_node(
    frontier: Frontier, level: int, h: bytes, emit: Callable[[int, int, bytes], None] | None = None
) -> None:
    """Append the complete node ``(level, frontier.size >> level)`` (the frontier's size must be a multiple of
    ``2**level``); ``emit(end, level, hash)`` receives every node the merge creates."""
    if frontier.size & ((1 << level) - 1):
        raise ValidationError(f"a node of level {level} cannot follow a tree of {frontier.size} leaves")
    pending = frontier.pending
    frontier.size += 1 << level
    while level in pending:
        h = _sha256(b"\x01" + pending.pop(level) + h).digest()
        level += 1
        if emit is not None:
            emit(frontier.size, level, h)
    pending[level] = h


@dataclass(slots=True)
class CompactRange:
    """The complete nodes that tile leaves ``[begin, end)`` (RFC 6962 tree), grown a batch at a time.

    A verifier splits the leaves into contiguous segments, builds one range per segment (in parallel), and
    joins them with :func:`append_node` onto the frontier of everything before. ``left`` holds the range's
    nodes whose left sibling lies before ``begin`` (final), ``pending`` the nodes still waiting for a right
    sibling, by level.
    """

    begin: int
    end: int
    left: list[tuple[int, bytes]] = field(default_factory=list)  # (level, hash), left to right
    pending: dict[int, bytes] = field(default_factory=dict)

    def extend(
        self, data: Sequence[bytes], emit: list[tuple[int, int, bytes]] | None, min_level: int
    ) -> None:
        """Append leaves with leaf data ``data`` level by level (list comprehensions: a verify's hot path);
        nodes of level >= ``min_level`` that complete are added to ``emit`` as ``(end, level, hash)``."""
        if native is not None and data:
            joined = b"".join(data)
            if len(joined) == HASH_BYTES * len(data):
                self._extend_joined(joined, emit, min_level)
                return
        sha = _sha256
        leaf = leaf_sha256
        start = self.end
        self.end += len(data)
        level = 0
        pending = self.pending
        if not start & 1 and 0 not in pending and min_level > 1:
            # the usual case: from an even start with no leaf held, the leaves pair up and their parents
            # are computed in the same pass; an odd last leaf waits in ``pending``
            if len(data) & 1:
                pending[0] = leaf(b"\x00" + data[-1]).digest()
            pairs = iter(data)
            items = [
                sha(b"\x01" + leaf(b"\x00" + a).digest() + leaf(b"\x00" + b).digest()).digest()
                for a, b in zip(pairs, pairs, strict=False)
            ]
            start >>= 1
            level = 1
        else:
            items = [leaf(b"\x00" + d).digest() for d in data]
        while items:
            held = pending.pop(level, None)
            if held is not None:
                items.insert(0, held)
                start -= 1
            if start & 1:
                self.left.append((level, items[0]))
                del items[0]
                start += 1
            if len(items) & 1:
                pending[level] = items.pop()
            pairs = iter(items)  # even length here: zip(it, it) walks it two at a time
            items = [sha(b"\x01" + a + b).digest() for a, b in zip(pairs, pairs, strict=False)]
            start >>= 1
            level += 1
            if emit is not None and level >= min_level:
                step = 1 << level  # node i of this level ends at (start + i + 1) << level
                emit.extend(
                    zip(
                        range((start + 1) << level, (start + len(items) + 1) << level, step),
                        repeat(level),
                        items,
                    )
                )

    def _extend_joined(
        self, joined: bytes, emit: list[tuple[int, int, bytes]] | None, min_level: int
    ) -> None:
        """:meth:`extend` with the C accelerator, for leaf data of 32 bytes each given concatenated: a level
        is one bytes object of 32-byte hashes, and each level is hashed in one call (the same steps as the
        pure-Python loop, which the tests compare it with)."""
        assert native is not None
        h = HASH_BYTES
        start = self.end
        self.end += len(joined) // h
        level = 0
        pending = self.pending
        if not start & 1 and 0 not in pending and min_level > 1:
            if len(joined) // h & 1:
                pending[0] = native.leaves(joined[-h:])
                joined = joined[:-h]
            items = native.leaf_parents(joined)
            start >>= 1
            level = 1
        else:
            items = native.leaves(joined)
        while items:
            held = pending.pop(level, None)
            if held is not None:
                items = held + items
                start -= 1
            if start & 1:
                self.left.append((level, items[:h]))
                items = items[h:]
                start += 1
            if len(items) // h & 1:
                pending[level] = items[-h:]
                items = items[:-h]
            items = native.parents(items)
            start >>= 1
            level += 1
            if emit is not None and level >= min_level:
                count = len(items) // h
                emit.extend(
                    zip(
                        range((start + 1) << level, (start + count + 1) << level, 1 << level),
                        repeat(level),
                        [items[i : i + h] for i in range(0, len(items), h)],
                    )
                )

    def nodes(self) -> list[tuple[int, bytes]]:
        """The range's tiling nodes left to right as (level, hash)."""
        return [*self.left, *((lvl, self.pending[lvl]) for lvl in sorted(self.pending, reverse=True))]


def join(
    prefix: Frontier, part: CompactRange, emit: Callable[[int, int, bytes], None] | None = None
) -> Frontier:
    """The frontier of ``[0, part.end)`` from the frontier of ``[0, part.begin)`` and the range."""
    if prefix.size != part.begin:
        raise ValidationError(f"a range from leaf {part.begin} cannot follow a tree of {prefix.size} leaves")
    out = prefix.copy()
    for level, h in part.nodes():
        append_node(out, level, h, emit)
    return out
