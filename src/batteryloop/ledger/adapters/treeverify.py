"""Verify's part for the global Merkle tree.

Each verify segment grows a :class:`~batteryloop.ledger.core.merkle.CompactRange` over its events' stored hashes
(the events themselves were checked first), compares every stored node it completes with ``tree_nodes``, and
keeps its range at each size where a head is stored. The parent joins the ranges in order (comparing the nodes
that span two segments too), checks that ``tree_nodes`` holds exactly the nodes of a tree of that size, that
each stored head's root is the recomputed root at its size and its signature is the operator's, and that the
tree is consistent with every outside head given (``verify --anchor``): a published head larger than the
ledger, or with another root at its size, means the ledger was truncated or rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batteryloop.domain.errors import BatteryloopError
from batteryloop.ledger.adapters.tree import MIN_STORED_LEVEL, consistency_proof
from batteryloop.ledger.core.checkpoint import Checkpoint, Verifier, open_checkpoint
from batteryloop.ledger.core.envelope import BrokenEvent
from batteryloop.ledger.core.merkle import CompactRange, Frontier, ProofError, join, verify_consistency

COMPARE_EVERY = 4096  # stored nodes compared per query


def compare_nodes(cur: Any, sql: Any, emitted: list[tuple[int, int, bytes]]) -> BrokenEvent | None:
    """Compare recomputed nodes ``(end, level, hash)`` with the stored ones; clear ``emitted``."""
    if not emitted:
        return None
    lo = min(e for e, _, _ in emitted)
    hi = max(e for e, _, _ in emitted)
    cur.execute(
        sql.q(
            "SELECT end_position, level, hash FROM tree_nodes WHERE end_position >= ? AND end_position <= ?"
        ),
        (lo, hi),
    )
    rows = cur.fetchall()
    if set(emitted) <= set(rows):  # the usual case, compared in C: every recomputed node is stored as is
        emitted.clear()
        return None
    stored = {(int(e), int(lv)): bytes(h) for e, lv, h in rows}
    broken = None
    for end, level, h in emitted:
        if stored.get((end, level)) != h:
            what = "is missing" if (end, level) not in stored else "does not match the events"
            broken = BrokenEvent(
                end,
                None,
                None,
                None,
                f"global tree node (level {level}, ending at position {end}) {what} (tree table edited)",
            )
            break
    emitted.clear()
    return broken


def expected_node_count(size: int) -> int:
    return sum(size >> level for level in range(MIN_STORED_LEVEL, size.bit_length()))


def check_tree(
    cur: Any,
    sql: Any,
    ranges: Sequence[CompactRange],
    head_ranges: dict[int, CompactRange],
    heads: Sequence[Checkpoint],
    *,
    operator: Verifier | None,
    anchors: Sequence[Checkpoint],
) -> BrokenEvent | None:
    """Join the segments' ranges and check nodes across segments, the node count, stored heads and anchors."""
    spanning: list[tuple[int, int, bytes]] = []
    frontier = Frontier(0, {})
    prefixes: list[Frontier] = []
    for part in ranges:
        prefixes.append(frontier)
        frontier = join(frontier, part, lambda e, lv, h: _keep(spanning, e, lv, h))
    broken = compare_nodes(cur, sql, spanning)
    if broken is not None:
        return broken
    size = frontier.size
    cur.execute("SELECT count(*) FROM tree_nodes")
    count = int(cur.fetchone()[0])
    if count != expected_node_count(size):
        return BrokenEvent(
            None, None, None, None,
            f"the global tree table holds {count} nodes, a tree of {size} events has {expected_node_count(size)}",
        )  # fmt: skip
    roots: dict[int, bytes] = {size: frontier.root()}
    for at, part in head_ranges.items():
        index = next(i for i, r in enumerate(ranges) if r.begin <= part.begin and part.end <= r.end)
        roots[at] = join(prefixes[index], part).root()
    for head in heads:
        if head.size > size:
            return BrokenEvent(
                None, None, None, None,
                f"a stored tree head has size {head.size}, the ledger only {size} events",
            )  # fmt: skip
        if roots.get(head.size) != head.root:
            return BrokenEvent(
                head.size, None, None, None,
                f"the stored tree head of size {head.size} does not match the events' tree",
            )  # fmt: skip
        if operator is not None:
            try:
                open_checkpoint(head.note, [operator], origin=head.origin)
            except BatteryloopError as exc:
                return BrokenEvent(head.size, None, None, None, f"stored tree head: {exc}")
    for anchor in anchors:
        reason = _inconsistent(cur, sql, anchor, size, roots[size])
        if reason is not None:
            return BrokenEvent(None, None, None, None, reason)
    return None


def _inconsistent(cur: Any, sql: Any, anchor: Checkpoint, size: int, root: bytes) -> str | None:
    if anchor.size > size:
        return (
            f"the published head of size {anchor.size} is larger than the ledger ({size} events): "
            "events were removed (truncated)"
        )
    try:
        proof = consistency_proof(cur, sql, anchor.size, size)
        verify_consistency(anchor.size, size, anchor.root, root, proof)
    except ProofError:
        return (
            f"the ledger is not consistent with the published head of size {anchor.size}: "
            "its history was rewritten"
        )
    return None


def _keep(out: list[tuple[int, int, bytes]], end: int, level: int, h: bytes) -> None:
    if level >= MIN_STORED_LEVEL:
        out.append((end, level, h))
