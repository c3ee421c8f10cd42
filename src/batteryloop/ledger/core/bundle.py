"""Proof bundles: a battery's history with everything needed to check it without the database. Pure.

A bundle (JSON, ``format = "batteryloop-proof-bundle/v1"``) holds the battery's events as stored (the exact
hashed texts), each event's batch (actor, key id, signed Merkle root, signature) with the event's audit path in
the batch's tree of content hashes, each event's audit path in the global tree, the signed checkpoint those
paths lead to, and optionally a consistency proof from an older tree size to it.

:func:`verify_bundle` checks, given the organisations' public keys and the operator's verifier key (a keys
file) and published checkpoints: each event's payload, content and event hash recompute; each event is in its
batch's signed root and the signature is its organisation's registered key; the stream chains from sequence 1
without a gap; each event is included in the global tree under the checkpoint; the checkpoint is signed by the
operator; and the checkpoint is consistent with every published head (same root at the same size, or a
consistency proof from a published smaller size). It says what holds and what does not, check by check.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from batteryloop.domain.errors import BatteryloopError, SignatureError, ValidationError
from batteryloop.ledger.core.canonical import canonical_json
from batteryloop.ledger.core.checkpoint import Checkpoint, Verifier, open_checkpoint, parse_verifier
from batteryloop.ledger.core.integrity import (
    ZERO_HASH,
    content_hash_of,
    event_hash_of,
    verify_root_signature,
)
from batteryloop.ledger.core.merkle import (
    leaf_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

BUNDLE_FORMAT = "batteryloop-proof-bundle/v1"
KEYS_FORMAT = "batteryloop-keys/v1"
EVENT_FIELDS = (
    "position",
    "event_id",
    "battery_id",
    "stream_seq",
    "event_type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "actor",
    "payload",
    "idempotency_key",
    "prev_hash",
    "event_hash",
    "batch_id",
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class BundleReport:
    """What holds for a bundle: every check with its outcome; ``ok`` when all hold."""

    battery_id: str
    events: int
    tree_size: int
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def keys_document(
    *, origin: str, operator: Verifier | None, signing_keys: Sequence[tuple[str, str, bytes]]
) -> dict[str, Any]:
    """The keys file: the log's origin and operator verifier key, and each (key id, org id, public key)."""
    return {
        "format": KEYS_FORMAT,
        "log": {"origin": origin, "verifier": operator.text() if operator is not None else None},
        "signing_keys": [
            {"key_id": k, "org_id": org, "public_key": base64.b64encode(pk).decode()}
            for k, org, pk in signing_keys
        ],
    }


def _hexes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise ValidationError(f"{what} must be a list of hex hashes")
    try:
        return [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise ValidationError(f"{what} holds a value that is not hex") from None


def _keys(doc: Mapping[str, Any]) -> tuple[Verifier | None, dict[str, tuple[str, bytes]]]:
    if not isinstance(doc, Mapping) or doc.get("format") != KEYS_FORMAT:
        raise ValidationError(f"the keys file is not a {KEYS_FORMAT} document")
    log = doc.get("log") or {}
    vkey = log.get("verifier") if isinstance(log, Mapping) else None
    operator = parse_verifier(vkey) if vkey else None
    keys: dict[str, tuple[str, bytes]] = {}
    for item in doc.get("signing_keys") or []:
        try:
            keys[str(item["key_id"])] = (
                str(item["org_id"]),
                base64.b64decode(item["public_key"], validate=True),
            )
        except (KeyError, TypeError, binascii.Error):
            raise ValidationError(
                "the keys file holds a signing key without key_id, org_id or public_key"
            ) from None
    return operator, keys


def verify_bundle(
    bundle: Mapping[str, Any], *, keys: Mapping[str, Any], published: Sequence[str] = ()
) -> BundleReport:
    """Check a proof bundle against the keys file and published checkpoints (signed notes)."""
    if not isinstance(bundle, Mapping) or bundle.get("format") != BUNDLE_FORMAT:
        raise ValidationError(f"the bundle is not a {BUNDLE_FORMAT} document")
    operator, signing = _keys(keys)
    checks: list[Check] = []

    def check(name: str, fn: Callable[[], str]) -> None:
        try:
            checks.append(Check(name, True, fn()))
        except (BatteryloopError, KeyError, TypeError, ValueError) as exc:
            checks.append(Check(name, False, str(exc) or type(exc).__name__))

    events = bundle.get("events")
    if not isinstance(events, list) or not events:
        raise ValidationError("the bundle holds no events")
    battery_id = str(bundle.get("battery_id"))
    batches = bundle.get("batches") or {}
    head: list[Checkpoint] = []
    contents: dict[int, str] = {}  # position -> recomputed content hash

    def checkpoint() -> str:
        if not bundle.get("checkpoint"):
            raise SignatureError(
                f"no signed tree head at size {bundle.get('tree_size')}: the operator has not signed one yet"
            )
        if operator is None:
            raise SignatureError("the keys file names no operator key: the checkpoint cannot be checked")
        cp = open_checkpoint(str(bundle["checkpoint"]), [operator])
        head.append(cp)
        return f"tree head of {cp.size} events signed by the log operator {operator.name}"

    check("checkpoint signed by the operator", checkpoint)

    def hashes() -> str:
        for e in events:
            payload_hash = _sha_hex(canonical_json(e["payload"]))
            content = content_hash_of(
                actor=e["actor"],
                battery_id=e["battery_id"],
                event_type=e["event_type"],
                idempotency_key=e["idempotency_key"],
                occurred_at=e["occurred_at"],
                payload_hash=payload_hash,
                schema_version=e["schema_version"],
            )
            contents[int(e["position"])] = content
            recomputed = event_hash_of(
                position=e["position"],
                event_id=e["event_id"],
                battery_id=e["battery_id"],
                stream_seq=e["stream_seq"],
                recorded_at=e["recorded_at"],
                content_hash=content,
                prev_hash=e["prev_hash"],
            )
            if recomputed != e["event_hash"]:
                raise ValidationError(
                    f"event at position {e['position']}: its hash does not match its fields"
                )
            if e["battery_id"] != battery_id:
                raise ValidationError(f"event at position {e['position']} is of battery {e['battery_id']}")
        return f"{len(events)} events: payload, content and event hashes recompute"

    check("event hashes", hashes)

    def chain() -> str:
        prev = ZERO_HASH
        for seq, e in enumerate(sorted(events, key=lambda x: x["stream_seq"]), start=1):
            if e["stream_seq"] != seq:
                raise ValidationError(
                    f"the stream jumps to sequence {e['stream_seq']} after {seq - 1}: events missing"
                )
            if e["prev_hash"] != prev:
                raise ValidationError(f"event {seq} does not follow event {seq - 1} (previous hash)")
            prev = e["event_hash"]
        return f"the stream chains from sequence 1 to {len(events)} without a gap"

    check("stream chain", chain)

    def signatures() -> str:
        seen: set[str] = set()
        for e in events:
            batch = batches[e["batch_id"]]
            proof = _hexes(e["batch_proof"], "a batch proof")
            leaf = leaf_hash(bytes.fromhex(contents[int(e["position"])]))
            root = root_from_inclusion(int(e["batch_index"]), int(batch["leaves"]), leaf, proof).hex()
            if root != batch["merkle_root"]:
                raise ValidationError(f"event at position {e['position']} is not in its batch's signed root")
            if batch["actor"] != e["actor"]:
                raise ValidationError(f"event at position {e['position']}: actor differs from its batch's")
            if e["batch_id"] in seen:
                continue
            owner_key = signing.get(batch["key_id"])
            if owner_key is None:
                raise SignatureError(
                    f"batch {e['batch_id']} is signed with key {batch['key_id']}, not in the keys file"
                )
            owner, public = owner_key
            if owner != batch["actor"]:
                raise SignatureError(f"key {batch['key_id']} belongs to {owner}, not to {batch['actor']}")
            verify_root_signature(batch["merkle_root"], base64.b64decode(batch["signature"]), public)
            seen.add(e["batch_id"])
        return f"{len(events)} events in {len(seen)} batches signed by their organisations' registered keys"

    check("batch roots and signatures", signatures)

    def inclusion() -> str:
        cp = head[0] if head else None
        size = int(bundle["tree_size"])
        root = bytes.fromhex(bundle["root_hash"])
        if cp is not None and (cp.size, cp.root) != (size, root):
            raise ValidationError("the bundle's tree size and root are not the checkpoint's")
        for e in events:
            verify_inclusion(
                int(e["position"]) - 1,
                size,
                leaf_hash(bytes.fromhex(e["event_hash"])),
                _hexes(e["tree_proof"], "a tree proof"),
                root,
            )
        return f"every event is included in the global tree of {size} events"

    check("inclusion in the global tree", inclusion)

    def consistency() -> str:
        if operator is None or not head:
            raise SignatureError("the bundle's checkpoint is not verified")
        cp = head[0]
        notes = []
        for note in published:
            pub = open_checkpoint(note, [operator], origin=cp.origin)
            if pub.size == cp.size:
                if pub.root != cp.root:
                    raise ValidationError(
                        f"published head of size {pub.size} has another root: the log forked"
                    )
            elif pub.size < cp.size:
                given = bundle.get("consistency") or {}
                if int(given.get("old_size", -1)) != pub.size:
                    raise ValidationError(
                        f"the bundle carries no consistency proof from the published size {pub.size}; "
                        f"ask for it with since={pub.size}"
                    )
                verify_consistency(
                    pub.size, cp.size, pub.root, cp.root, _hexes(given["proof"], "the consistency proof")
                )
            else:
                raise ValidationError(
                    f"the published head ({pub.size} events) is newer than the bundle's ({cp.size}): ask for a "
                    f"bundle at size {pub.size}"
                )
            notes.append(str(pub.size))
        return f"consistent with the published head(s) of size {', '.join(notes)}"

    if published:
        check("consistent with the published heads", consistency)
    return BundleReport(battery_id, len(events), int(bundle.get("tree_size", 0)), tuple(checks))


def _sha_hex(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
