"""The global Merkle tree in the database: grown inside each append's transaction, read for heads and proofs.

``tree_nodes`` holds the complete nodes of level >= :data:`MIN_STORED_LEVEL` keyed by ``(end_position,
level)`` (see :mod:`batteryloop.ledger.core.merkle`); lower nodes are folded from at most 16 event hashes read
by a range of positions, which costs less than storing seven times as many rows. ``tree_heads`` holds the
operator-signed checkpoints, one per ``(tree_size, key_count)``: a key entry written after the newest head is
covered by a head of its own at the same size (:func:`sign_head`). An append grows the tree from the frontier
of the ledger it validated against, kept in memory per ``(head position, batch checkpoint)`` (the batch
checkpoint chain covers every event hash, so that pair names one tree exactly) and read from ``tree_nodes``
when it is not there.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.ledger.core.checkpoint import Checkpoint, keylog_line, sign_checkpoint
from batteryloop.ledger.core.merkle import (
    Frontier,
    consistency_ranges,
    frontier_from,
    frontier_nodes,
    inclusion_ranges,
    leaf_hash,
    nodes_for,
    range_hash,
    root_of,
    tile,
)

MIN_STORED_LEVEL = 4

_INSERT_NODE = "INSERT INTO tree_nodes (end_position, level, hash) VALUES (?, ?, ?)"
_INSERT_HEAD = "INSERT INTO tree_heads (tree_size, key_count, root_hash, origin, note, signed_at) VALUES (?, ?, ?, ?, ?, ?)"
_HEAD_COLUMNS = "tree_size, root_hash, origin, note, signed_at"
_HEAD_ORDER = "tree_size, key_count"  # a size's heads in the order they were signed (the key log only grows)

Node = tuple[int, int]  # (level, index)


@dataclass(frozen=True, slots=True)
class TreeHead:
    size: int
    root: bytes
    checkpoint: Checkpoint | None  # the signed head stored at this size, if any
    signed_at: str | None = None


@dataclass(slots=True)
class Grown:
    """What one appended batch adds to the tree: its new complete nodes and, at the cadence, a signed head."""

    nodes: list[tuple[int, int, bytes]] = field(default_factory=list)
    head: tuple[int, int, bytes, str, str, str] | None = None  # the row of tree_heads

    def write(self, cur: Any, sql: Any) -> None:
        if self.nodes:
            cur.executemany(sql.q(_INSERT_NODE), self.nodes)
        if self.head is not None:
            cur.execute(sql.q(_INSERT_HEAD), self.head)


def tree_tables_exist(cur: Any, sql: Any) -> bool:
    """Whether the database has the tree tables (migration 0007_merkle), asked without failing a statement."""
    if sql.pg:
        cur.execute("SELECT to_regclass('tree_nodes') IS NOT NULL AND to_regclass('tree_heads') IS NOT NULL")
        return bool(cur.fetchone()[0])
    cur.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('tree_nodes', 'tree_heads')"
    )
    return int(cur.fetchone()[0]) == 2


ZERO_KEYLOG = (0, "0" * 64)


def key_log_head(cur: Any) -> tuple[int, str]:
    """``(count, hash)`` of the key log as this transaction sees it: the last entry's sequence number and
    hash-chain hash (entries are numbered 1, 2, ... without gaps; verify checks that)."""
    cur.execute("SELECT seq, entry_hash FROM key_entries ORDER BY seq DESC LIMIT 1")
    row = cur.fetchone()
    return (int(row[0]), str(row[1])) if row else ZERO_KEYLOG


def covered_key_log(cur: Any) -> int:
    """How many key entries the latest signed head covers (0 without heads or without the extension)."""
    return _key_count(latest_head(cur, None))


def tree_size(cur: Any) -> int:
    cur.execute("SELECT position FROM events ORDER BY position DESC LIMIT 1")
    row = cur.fetchone()
    return int(row[0]) if row else 0


def fetch_nodes(cur: Any, sql: Any, needed: Iterable[Node]) -> dict[Node, bytes]:
    """The hashes of complete nodes ``(level, index)``: stored ones by key, low ones from event hashes."""
    out: dict[Node, bytes] = {}
    stored = [n for n in needed if n[0] >= MIN_STORED_LEVEL]
    low = [n for n in needed if n[0] < MIN_STORED_LEVEL]
    if stored:
        want = {((index + 1) << level, level): (level, index) for level, index in stored}
        # by the key's first column: SQLite plans a row-value IN (VALUES ...) as a scan of the whole table
        for end, level, digest in sql.where_in(
            cur,
            "SELECT end_position, level, hash FROM tree_nodes",
            "end_position",
            sorted({e for e, _ in want}),
        ):
            node = want.get((int(end), int(level)))
            if node is not None:
                out[node] = bytes(digest)
        missing = [want[k] for k in want if want[k] not in out]
        if missing:
            raise NotFoundError(
                f"the tree has no stored node {missing[0]} (level, index): tree table incomplete"
            )
    blocks: dict[int, list[Node]] = {}
    for level, index in low:
        blocks.setdefault((index << level) >> MIN_STORED_LEVEL, []).append((level, index))
    for block, nodes in blocks.items():
        first = block << MIN_STORED_LEVEL  # 0-based leaf index; positions are 1-based
        last = max((index + 1) << level for level, index in nodes)
        cur.execute(
            sql.q(
                "SELECT position, event_hash FROM events WHERE position > ? AND position <= ? ORDER BY position"
            ),
            (first, last),
        )
        leaves = [leaf_hash(bytes(h)) for _p, h in cur.fetchall()]
        if len(leaves) != last - first:
            raise NotFoundError(f"events {first + 1}..{last} are not all in the ledger")
        for level, index in nodes:
            start = (index << level) - first
            out[(level, index)] = root_of(leaves[start : start + (1 << level)])
    return out


def load_frontier(cur: Any, sql: Any, size: int) -> Frontier:
    return frontier_from(size, fetch_nodes(cur, sql, frontier_nodes(size)))


def root_at(cur: Any, sql: Any, size: int) -> bytes:
    if size == 0:
        return root_of([])
    return range_hash(0, size, fetch_nodes(cur, sql, tile(0, size)))


def proof_hashes(cur: Any, sql: Any, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    nodes = fetch_nodes(cur, sql, nodes_for(ranges))
    return [range_hash(a, b, nodes) for a, b in ranges]


def inclusion_proof(cur: Any, sql: Any, position: int, size: int) -> list[bytes]:
    """The audit path of the event at ``position`` (1-based) in the tree of ``size`` events."""
    return proof_hashes(cur, sql, inclusion_ranges(position - 1, size))


def inclusion_proofs(cur: Any, sql: Any, positions: Sequence[int], size: int) -> list[list[bytes]]:
    """Several audit paths against one tree, reading each node once."""
    paths = [inclusion_ranges(p - 1, size) for p in positions]
    nodes = fetch_nodes(cur, sql, nodes_for(r for path in paths for r in path))
    return [[range_hash(a, b, nodes) for a, b in path] for path in paths]


def consistency_proof(cur: Any, sql: Any, old: int, new: int) -> list[bytes]:
    return proof_hashes(cur, sql, consistency_ranges(old, new))


def _head(row: Any) -> TreeHead:
    size, root, origin, note, signed_at = row
    return TreeHead(int(size), bytes(root), Checkpoint(origin, int(size), bytes(root), note), signed_at)


def stored_heads(cur: Any, sql: Any, *, after: int = 0, limit: int | None = None) -> list[TreeHead]:
    """The stored heads of sizes above ``after`` in signing order; with ``limit``, at least ``limit`` of them
    (if there are) and every head of the last size listed, so a page never ends between two heads of one
    size and the next page can start after that size."""
    text = f"SELECT {_HEAD_COLUMNS} FROM tree_heads WHERE tree_size > ? ORDER BY {_HEAD_ORDER}"
    if limit is None:
        cur.execute(sql.q(text), (after,))
        return [_head(r) for r in cur.fetchall()]
    cur.execute(sql.q(f"{text} LIMIT {int(limit)}"), (after,))
    heads = [_head(r) for r in cur.fetchall()]
    if len(heads) == int(limit) and heads:
        last = heads[-1]
        cur.execute(
            sql.q(
                f"SELECT {_HEAD_COLUMNS} FROM tree_heads WHERE tree_size = ? AND key_count > ? ORDER BY key_count"
            ),
            (last.size, _key_count(last)),
        )
        heads += [_head(r) for r in cur.fetchall()]
    return heads


def _key_count(head: TreeHead | None) -> int:
    return 0 if head is None or head.checkpoint is None else head.checkpoint.key_count


def latest_head(cur: Any, sql: Any) -> TreeHead | None:
    cur.execute(f"SELECT {_HEAD_COLUMNS} FROM tree_heads ORDER BY tree_size DESC, key_count DESC LIMIT 1")
    row = cur.fetchone()
    return _head(row) if row else None


def head_at(cur: Any, sql: Any, size: int) -> TreeHead | None:
    """The newest head signed at ``size`` (the one covering the most key entries)."""
    cur.execute(
        sql.q(f"SELECT {_HEAD_COLUMNS} FROM tree_heads WHERE tree_size = ? ORDER BY key_count DESC LIMIT 1"),
        (size,),
    )
    row = cur.fetchone()
    return _head(row) if row else None


def sign_head(cur: Any, sql: Any, *, origin: str, private_key: Ed25519PrivateKey, signed_at: str) -> TreeHead:
    """Under the write lock: sign and store the head of the tree as it stands, covering the key log as it
    stands; the stored one if a head at this size already covers every key entry."""
    size = tree_size(cur)
    if size == 0:
        raise ValidationError("the ledger is empty: there is no tree head to sign")
    keylog = key_log_head(cur)
    existing = head_at(cur, sql, size)
    if existing is not None and _key_count(existing) >= keylog[0]:
        return existing
    root = root_at(cur, sql, size)
    checkpoint = sign_checkpoint(
        origin, size, root, name=origin, private_key=private_key, extensions=[keylog_line(*keylog)]
    )
    cur.execute(sql.q(_INSERT_HEAD), (size, keylog[0], root, origin, checkpoint.note, signed_at))
    return TreeHead(size, root, checkpoint, signed_at)


class TreeWriter:
    """The append side: frontiers of recently validated ledgers, and the signing cadence."""

    def __init__(
        self,
        *,
        every: int,
        origin: str,
        operator_key: Callable[[], Ed25519PrivateKey | None],
        keep: int = 8,
    ) -> None:
        self.every = every
        self.origin = origin
        self.operator_key = operator_key
        self.keep = keep
        self.frontiers: OrderedDict[tuple[int, str], Frontier] = OrderedDict()

    def frontier(self, cur: Any, sql: Any, at: tuple[int, str]) -> Frontier:
        found = self.frontiers.get(at)
        if found is None:
            found = load_frontier(cur, sql, at[0])
            self._remember(at, found)
        return found

    def _remember(self, at: tuple[int, str], frontier: Frontier) -> None:
        self.frontiers[at] = frontier
        self.frontiers.move_to_end(at)
        while len(self.frontiers) > self.keep:
            self.frontiers.popitem(last=False)

    def grow(
        self,
        cur: Any,
        sql: Any,
        start: tuple[int, str],
        end: tuple[int, str],
        event_digests: Sequence[bytes],
        signed_at: str,
        keylog: tuple[int, str] | None = None,
    ) -> Grown:
        """The rows that append ``event_digests`` to the tree at ``start`` (ledger head and checkpoint);
        the resulting frontier is remembered under ``end``. A head is signed at the cadence, and also whenever
        the key log (``keylog``: its count and hash under the write lock) has grown past what the latest
        signed head covers, so every key entry is covered by the first head after it."""
        frontier = self.frontier(cur, sql, start).copy()
        grown = Grown()
        rows = grown.nodes
        frontier.extend(event_digests, lambda e, lvl, h: rows.append((e, lvl, h)), MIN_STORED_LEVEL)
        self._remember(end, frontier)
        every = self.every
        cadence = every > 0 and frontier.size // every > start[0] // every
        if keylog is None:
            keylog = key_log_head(cur)
        if cadence or (keylog[0] > 0 and keylog[0] > covered_key_log(cur)):
            key = self.operator_key()
            if key is not None:
                root = frontier.root()
                checkpoint = sign_checkpoint(
                    self.origin,
                    frontier.size,
                    root,
                    name=self.origin,
                    private_key=key,
                    extensions=[keylog_line(*keylog)],
                )
                grown.head = (frontier.size, keylog[0], root, self.origin, checkpoint.note, signed_at)
        return grown
