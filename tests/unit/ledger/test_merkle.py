"""The global tree's RFC 6962 hashing and proofs, against the reference implementation's test vectors and
Hypothesis properties (every proof verifies, every tampered proof fails)."""

from __future__ import annotations

import hashlib
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.ledger.core.merkle import (
    EMPTY_ROOT,
    Frontier,
    ProofError,
    consistency_ranges,
    frontier_from,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    range_hash,
    root_of,
    tile,
    verify_consistency,
    verify_inclusion,
)

# Test vectors of transparency-dev/merkle, proof/verify_test.go (commit 02194e9afb6c1d95b5381350007963aa70fff472,
# https://github.com/transparency-dev/merkle/blob/main/proof/verify_test.go), the same as
# certificate-transparency-go's merkletree tests: eight leaves, the roots of the trees of 1..8 of them, and
# inclusion and consistency proofs (leaf numbers in `INCLUSION` are 1-based there and here).
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                      "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]  # fmt: skip
INCLUSION = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (1, 1, []),
]  # fmt: skip
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def all_nodes(data: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every complete node of the tree over ``data``, keyed (level, index), built by the frontier."""
    nodes: dict[tuple[int, int], bytes] = {}
    frontier = Frontier(0, {})
    frontier.extend(data, lambda end, level, h: nodes.__setitem__((level, (end >> level) - 1), h))
    return nodes


def proof_of(ranges: list[tuple[int, int]], nodes: dict[tuple[int, int], bytes]) -> list[bytes]:
    return [range_hash(a, b, nodes) for a, b in ranges]


def test_hashing_is_rfc6962() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert leaf_hash(b"") == ROOTS[0]
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert (
        root_of([])
        == EMPTY_ROOT
        == bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_reference_vectors(size: int) -> None:
    assert root_of([leaf_hash(d) for d in LEAVES[:size]]) == ROOTS[size - 1]
    frontier = Frontier(0, {})
    frontier.extend(LEAVES[:size])
    assert frontier.root() == ROOTS[size - 1]
    assert frontier_from(size, all_nodes(LEAVES[:size])).root() == ROOTS[size - 1]


@pytest.mark.parametrize(("leaf", "size", "expected"), INCLUSION)
def test_inclusion_proofs_match_the_reference_vectors(leaf: int, size: int, expected: list[str]) -> None:
    nodes = all_nodes(LEAVES[:size])
    proof = proof_of(inclusion_ranges(leaf - 1, size), nodes)
    assert [p.hex() for p in proof] == expected
    verify_inclusion(leaf - 1, size, leaf_hash(LEAVES[leaf - 1]), proof, ROOTS[size - 1])


@pytest.mark.parametrize(("old", "new", "expected"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_vectors(old: int, new: int, expected: list[str]) -> None:
    nodes = all_nodes(LEAVES[:new])
    proof = proof_of(consistency_ranges(old, new), nodes)
    assert [p.hex() for p in proof] == expected
    verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


def test_the_reference_corruptions_of_a_consistency_proof_fail() -> None:
    """corruptConsistencyProof in verify_test.go: wrong sizes, roots, garbage, truncation, flipped bits."""
    old, new = 6, 8
    proof = [bytes.fromhex(h) for h in CONSISTENCY[2][2]]
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    bad = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, b"WrongRoot", r2, proof),
        (old, new, r1, b"WrongRoot", proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, b""]),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [b"", *proof]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        bad.append((old, new, r1, r2, flipped))
    for o, n, a, b, p in bad:
        with pytest.raises(ProofError):
            verify_consistency(o, n, a, b, p)


def test_the_reference_corruptions_of_an_inclusion_proof_fail() -> None:
    leaf, size = 6, 8
    proof = [bytes.fromhex(h) for h in INCLUSION[1][2]]
    root, lh = ROOTS[size - 1], leaf_hash(LEAVES[leaf - 1])
    bad = [
        (leaf - 2, size, lh, proof, root),
        (leaf, size, lh, proof, root),
        ((leaf - 1) ^ 2, size, lh, proof, root),
        (leaf - 1, size * 2, lh, proof, root),
        (leaf - 1, size // 2, lh, proof, root),
        (leaf - 1, size, b"WrongLeaf", proof, root),
        (leaf - 1, size, lh, proof, EMPTY_ROOT),
        (leaf - 1, size, lh, [*proof, b""], root),
        (leaf - 1, size, lh, [*proof, root], root),
        (leaf - 1, size, lh, [b"", *proof], root),
        (leaf - 1, size, lh, [root, *proof], root),
        (leaf - 1, size, lh, proof[:-1], root),
        (leaf - 1, size, lh, [proof[0], EMPTY_ROOT, *proof[1:]], root),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        bad.append((leaf - 1, size, lh, flipped, root))
    for index, n, leaf_h, p, r in bad:
        with pytest.raises((ProofError, ValueError)):
            verify_inclusion(index, n, leaf_h, p, r)


def test_sizes_that_are_always_consistent_and_time_travel() -> None:
    verify_consistency(0, 0, b"x", b"x", [])
    verify_consistency(0, 1, b"x", b"y", [])
    with pytest.raises(ProofError):
        verify_consistency(1, 1, b"x", b"y", [])
    with pytest.raises(ProofError):
        verify_consistency(2, 1, b"x", b"y", [])
    with pytest.raises(ProofError):
        verify_consistency(1, 2, b"x", b"y", [])


def test_tile_is_the_canonical_decomposition() -> None:
    assert tile(0, 8) == [(3, 0)]
    assert tile(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert tile(4, 7) == [(1, 2), (0, 6)]
    assert tile(3, 9) == [(0, 3), (2, 1), (0, 8)]


data_st = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(data=data_st, pick=st.integers(min_value=0), flip=st.integers(min_value=0))
def test_every_inclusion_proof_verifies_and_a_tampered_one_fails(
    data: list[bytes], pick: int, flip: int
) -> None:
    size = len(data)
    index = pick % size
    nodes = all_nodes(data)
    root = root_of([leaf_hash(d) for d in data])
    assert frontier_from(size, nodes).root() == root
    proof = proof_of(inclusion_ranges(index, size), nodes)
    assert len(proof) <= size.bit_length()
    verify_inclusion(index, size, leaf_hash(data[index]), proof, root)
    if proof:
        tampered = list(proof)
        i = flip % len(proof)
        tampered[i] = bytes([tampered[i][0] ^ (1 << (flip % 8))]) + tampered[i][1:]
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf_hash(data[index]), tampered, root)
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf_hash(data[index]), proof[:-1], root)
    other = leaf_hash(data[index] + b"x")
    with pytest.raises(ProofError):
        verify_inclusion(index, size, other, proof, root)


@settings(max_examples=150, deadline=None)
@given(data=data_st, pick=st.integers(min_value=0), flip=st.integers(min_value=0))
def test_every_consistency_proof_verifies_and_a_tampered_one_fails(
    data: list[bytes], pick: int, flip: int
) -> None:
    new = len(data)
    old = 1 + pick % new
    nodes = all_nodes(data)
    old_root = root_of([leaf_hash(d) for d in data[:old]])
    new_root = root_of([leaf_hash(d) for d in data])
    proof = proof_of(consistency_ranges(old, new), nodes)
    verify_consistency(old, new, old_root, new_root, proof)
    if old < new:
        tampered = list(proof)
        i = flip % len(proof)
        tampered[i] = bytes([tampered[i][0] ^ (1 << (flip % 8))]) + tampered[i][1:]
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, tampered)
        # a rewritten history (one old leaf changed) is not consistent with the new tree
        changed = list(data)
        changed[flip % old] = bytes(32) if changed[flip % old] != bytes(32) else b"\x01" * 32
        forged_old = root_of([leaf_hash(d) for d in changed[:old]])
        with pytest.raises(ProofError):
            verify_consistency(old, new, forged_old, new_root, proof)


@settings(max_examples=300, deadline=None)
@given(
    data=data_st,
    cuts=st.lists(st.integers(min_value=0, max_value=70), max_size=6),
    step=st.sampled_from([1, 2, 3, 4, 7, 8]),
    min_level=st.sampled_from([1, 2, 4]),
)
def test_compact_ranges_built_in_pieces_join_to_the_root(
    data: list[bytes], cuts: list[int], step: int, min_level: int
) -> None:
    """A verifier's segments, each grown batch by batch (even and odd starts, so both the paired first level
    and the general path run), join to the same root and emit exactly the stored nodes they complete."""
    from batteryloop.ledger.core.merkle import CompactRange, join

    n = len(data)
    bounds = sorted({0, n, *(c % (n + 1) for c in cuts)})
    whole = all_nodes(data)
    frontier = Frontier(0, {})
    spanning: list[tuple[int, int]] = []
    emitted_all: list[tuple[int, int]] = []
    for a, b in pairwise(bounds):
        part = CompactRange(a, a)
        emitted: list[tuple[int, int, bytes]] = []
        for x in range(a, b, step):
            part.extend(data[x : min(x + step, b)], emitted, min_level)
        for end, level, h in emitted:
            assert level >= min_level
            assert whole[(level, (end >> level) - 1)] == h
        emitted_all += [(end, level) for end, level, _ in emitted]
        frontier = join(frontier, part, lambda e, lv, _h: spanning.append((e, lv)))
    assert frontier.size == n
    assert frontier.root() == root_of([leaf_hash(d) for d in data])
    # every complete node of level >= min_level is emitted once, by its segment or by the join
    expected = sorted(((i + 1) << lv, lv) for (lv, i) in whole if lv >= min_level)
    got = sorted(emitted_all + [(e, lv) for e, lv in spanning if lv >= min_level])
    assert got == expected
