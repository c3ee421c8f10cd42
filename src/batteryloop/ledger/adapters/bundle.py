"""Build a battery's proof bundle (:mod:`batteryloop.ledger.core.bundle`) from the database."""

from __future__ import annotations

import base64
from itertools import islice
from typing import Any

import orjson

from batteryloop.domain.errors import ValidationError
from batteryloop.ledger.adapters.reads import Reads
from batteryloop.ledger.adapters.treelog import TreeLog
from batteryloop.ledger.core.bundle import BUNDLE_FORMAT
from batteryloop.ledger.core.integrity import format_instant
from batteryloop.ledger.core.merkle import Frontier, inclusion_ranges, range_hash

_BATCH = (
    "SELECT batch_id, actor, key_id, merkle_root, signature, first_position, last_position, duplicate_leaves "
    "FROM batches"
)


def _batch_proofs(
    reads: Reads, first: int, last: int, dup_text: str
) -> tuple[int, dict[int, tuple[int, list[str]]]]:
    """The batch's leaf count and, per stored position, its leaf index and audit path in the batch's tree."""
    stored = [
        (e.position, e.content_hash)
        for e in islice(reads.iter_events(first - 1, last - first + 1), last - first + 1)
    ]
    leaves: list[tuple[int | None, bytes]] = [(p, bytes.fromhex(h)) for p, h in stored]
    if dup_text:
        for index, leaf_hex, _key in orjson.loads(dup_text):
            leaves.insert(index, (None, bytes.fromhex(leaf_hex)))
    nodes: dict[tuple[int, int], bytes] = {}
    Frontier(0, {}).extend(
        [d for _p, d in leaves], lambda end, lvl, h: nodes.__setitem__((lvl, (end >> lvl) - 1), h)
    )
    n = len(leaves)
    out = {}
    for index, (pos, _d) in enumerate(leaves):
        if pos is not None:
            out[pos] = (index, [range_hash(a, b, nodes).hex() for a, b in inclusion_ranges(index, n)])
    return n, out


def build_bundle(
    reads: Reads, tree: TreeLog, battery_id: str, *, size: int | None, since: int | None
) -> dict[str, Any]:
    history = reads.read_stream(battery_id)
    positions = [e.position for e in history]
    head, proofs, leaves = tree.proofs(positions, size)
    with tree.db.reading() as query:
        wanted = sorted({e.batch_id for e in history})
        batch_rows = [r for bid in wanted for r in query(_BATCH + " WHERE batch_id = ?", (bid,))]
    batches: dict[str, Any] = {}
    in_batch: dict[int, tuple[int, list[str]]] = {}
    for bid, actor, key_id, root, signature, first, last, dup_text in batch_rows:
        n, paths = _batch_proofs(reads, int(first), int(last), dup_text)
        in_batch.update(paths)
        batches[bid] = {
            "actor": actor,
            "key_id": key_id,
            "merkle_root": root,
            "signature": base64.b64encode(bytes(signature)).decode(),
            "leaves": n,
        }
    events = []
    for e, proof, leaf in zip(history, proofs, leaves, strict=True):
        if leaf.hex() != e.event_hash:
            raise ValidationError(f"event at position {e.position}: stored hash changed while reading")
        index, path = in_batch[e.position]
        events.append(
            {
                "position": e.position,
                "event_id": e.event_id,
                "battery_id": e.battery_id,
                "stream_seq": e.stream_seq,
                "event_type": str(e.event_type.value),
                "schema_version": e.schema_version,
                "occurred_at": format_instant(e.occurred_at),
                "recorded_at": format_instant(e.recorded_at),
                "actor": e.actor,
                "payload": e.payload,
                "idempotency_key": e.idempotency_key,
                "prev_hash": e.prev_hash,
                "event_hash": e.event_hash,
                "batch_id": e.batch_id,
                "batch_index": index,
                "batch_proof": path,
                "tree_proof": [p.hex() for p in proof],
            }
        )
    bundle: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "battery_id": battery_id,
        "tree_size": head.size,
        "root_hash": head.root.hex(),
        "checkpoint": head.checkpoint.note if head.checkpoint is not None else None,
        "events": events,
        "batches": batches,
        "consistency": None,
    }
    if since is not None:
        _old, _new, proof_c = tree.consistency(since, head.size)
        bundle["consistency"] = {"old_size": since, "proof": [p.hex() for p in proof_c]}
    return bundle
