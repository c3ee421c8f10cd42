"""Full verification of the stored ledger, streaming in position order.

Checked, in order, for every batch and its events: positions are contiguous from 1 and each event lies in the
batch that claims it; payload hash, content hash and event hash recompute; each stream's sequence and previous
hash chain; the batch's event count, its Merkle root (rebuilt from the stored events plus the leaves it recorded
as replays), its Ed25519 signature with the actor's registered key, and the checkpoint chain. The first
failure is reported with the event (or batch) it concerns. Because the signed root covers every event of a
batch, rows inserted or deleted directly in the database are caught even if the attacker recomputes the
per-stream hash chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from batteryloop.domain.errors import SignatureError
from batteryloop.ledger.envelope import BrokenEvent, VerifyReport
from batteryloop.ledger.integrity import ZERO_HASH, checkpoint_of, merkle_root, verify_root_signature

_START = (0, ZERO_HASH)


def _at(row: Any, batch_id: str, reason: str) -> _Broken:
    return _Broken(BrokenEvent(int(row[0]), row[1], row[2], batch_id, reason))


class _Broken(Exception):
    def __init__(self, broken: BrokenEvent) -> None:
        super().__init__(broken.reason)
        self.broken = broken


def verify_ledger(
    dbapi: Any,
    sql: Any,
    *,
    chunk: int,
    progress: Callable[[int], None] | None = None,
    anchor: str | None = None,
) -> VerifyReport:
    """Verify everything; ``anchor`` is a checkpoint kept elsewhere that must still be in the chain."""
    cur = dbapi.cursor()
    # one snapshot for the whole run: appends committed meanwhile are neither half-seen nor reported
    if sql.pg:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    else:
        cur.execute("BEGIN")
    cur.execute("SELECT key_id, org_id, public_key FROM signing_keys")
    keys = {k: (org, bytes(pk)) for k, org, pk in cur.fetchall()}
    counters = [0, 0]  # events, batches
    try:
        checkpoints = _run(cur, sql, keys, chunk, progress, counters)
        if anchor is not None and anchor not in checkpoints:
            raise _Broken(
                BrokenEvent(
                    None, None, None, None, f"trusted checkpoint {anchor} is not in the ledger (truncated?)"
                )
            )
    except _Broken as exc:
        return VerifyReport(False, counters[0], counters[1], exc.broken)
    finally:
        if sql.pg:
            dbapi.rollback()
        else:
            cur.execute("ROLLBACK")
        cur.close()
    return VerifyReport(True, counters[0], counters[1], None)


def _batches(cur: Any, sql: Any) -> list[Any]:
    cur.execute(
        "SELECT batch_id, actor, key_id, merkle_root, signature, event_count, first_position, last_position, "
        "recorded_at, duplicate_leaves, prev_checkpoint, checkpoint FROM batches ORDER BY first_position"
    )
    return list(cur.fetchall())


def _run(
    cur: Any,
    sql: Any,
    keys: dict[str, tuple[str, bytes]],
    chunk: int,
    progress: Callable[[int], None] | None,
    counters: list[int],
) -> set[str]:
    sha = hashlib.sha256
    dumps = orjson.dumps
    batch_rows = _batches(cur, sql)
    streams: dict[str, tuple[int, str]] = {}
    checkpoint = ZERO_HASH
    seen_checkpoints: set[str] = set()
    expected_position = 1
    select_events = sql.q(
        "SELECT position, event_id, battery_id, stream_seq, event_type, schema_version, occurred_at, "
        "recorded_at, actor, payload, payload_hash, idempotency_key, content_hash, prev_hash, event_hash, "
        "batch_id FROM events WHERE position > ? ORDER BY position LIMIT ?"
    )
    buffer: list[Any] = []
    buffer_at = 0
    fetched_to = 0

    def next_event() -> Any:
        nonlocal buffer, buffer_at, fetched_to
        if buffer_at >= len(buffer):
            cur.execute(select_events, (fetched_to, chunk))
            buffer = cur.fetchall()
            buffer_at = 0
            if not buffer:
                return None
            fetched_to = int(buffer[-1][0])
        row = buffer[buffer_at]
        buffer_at += 1
        return row

    row: Any = None
    batch_id = None
    try:
        for b in batch_rows:
            (
                batch_id,
                actor,
                key_id,
                root,
                signature,
                count,
                first,
                last,
                recorded_at,
                dup_text,
                prev_cp,
                cp,
            ) = b
            first = int(first)
            last = int(last)

            def broken_batch(reason: str, *, batch_id: str = batch_id, first: int = first) -> _Broken:
                return _Broken(BrokenEvent(first, None, None, batch_id, f"batch {batch_id}: {reason}"))

            if first != expected_position:
                raise broken_batch(f"starts at position {first}, expected {expected_position}")
            leaves: list[str] = []
            actor_json = dumps(actor)
            recorded_json = dumps(recorded_at)
            for position in range(first, last + 1):
                row = next_event()
                if row is None or int(row[0]) != position:
                    found = "nothing" if row is None else f"position {row[0]}"
                    raise _Broken(
                        BrokenEvent(
                            position,
                            None,
                            None,
                            batch_id,
                            f"event at position {position} is missing (found {found}): a row was deleted or moved",
                        )
                    )
                (
                    pos,
                    event_id,
                    battery_id,
                    seq,
                    event_type,
                    schema_version,
                    occurred_at,
                    rec_at,
                    ev_actor,
                    payload,
                    payload_hash,
                    key,
                    content_hash,
                    prev_hash,
                    event_hash,
                    ev_batch,
                ) = row

                if ev_batch != batch_id:
                    raise _at(row, batch_id, f"event claims batch {ev_batch} but lies in batch {batch_id}")
                if ev_actor != actor:
                    raise _at(
                        row, batch_id, f"event actor {ev_actor} differs from the batch's signer {actor}"
                    )
                if rec_at != recorded_at:
                    raise _at(row, batch_id, "recorded_at differs from its batch's")
                if sha(payload.encode("utf-8")).hexdigest() != payload_hash:
                    raise _at(row, batch_id, "payload does not match its payload hash (edited)")
                bid_json = dumps(battery_id)
                # the canonical documents, written in sorted key order with every string through orjson:
                # byte-identical to canonical_json of the dicts (see integrity.content_hash_of / event_hash_of)
                content_doc = (
                    b'{"actor":%b,"battery_id":%b,"event_type":%b,"idempotency_key":%b,"occurred_at":%b,'
                    b'"payload_hash":%b,"schema_version":%d}'
                    % (
                        actor_json,
                        bid_json,
                        dumps(event_type),
                        dumps(key),
                        dumps(occurred_at),
                        dumps(payload_hash),
                        schema_version,
                    )
                )
                if sha(content_doc).hexdigest() != content_hash:
                    raise _at(row, batch_id, "content hash does not match the event's fields (edited)")
                prev_seq, prev_event_hash = streams.get(battery_id, _START)
                if seq != prev_seq + 1:
                    raise _at(row, batch_id, f"stream sequence {seq} does not follow {prev_seq}")
                if prev_hash != prev_event_hash:
                    raise _at(row, batch_id, "previous hash does not match the stream's preceding event")
                event_doc = (
                    b'{"battery_id":%b,"content_hash":%b,"event_id":%b,"position":%d,"prev_hash":%b,'
                    b'"recorded_at":%b,"stream_seq":%d}'
                    % (
                        bid_json,
                        dumps(content_hash),
                        dumps(event_id),
                        pos,
                        dumps(prev_hash),
                        recorded_json,
                        seq,
                    )
                )
                if sha(event_doc).hexdigest() != event_hash:
                    raise _at(row, batch_id, "event hash does not match (edited or reordered)")
                streams[battery_id] = (seq, event_hash)
                leaves.append(content_hash)
            counters[0] += len(leaves)
            expected_position = last + 1
            last_event_hash = streams[battery_id][1] if leaves else ZERO_HASH
            if dup_text:
                dups = orjson.loads(dup_text)
                for index, leaf, key in dups:
                    cur.execute(
                        sql.q("SELECT content_hash, position FROM events WHERE idempotency_key = ?"), (key,)
                    )
                    found_row = cur.fetchone()
                    if found_row is None or found_row[0] != leaf or int(found_row[1]) > last:
                        raise broken_batch(f"replayed leaf {index} does not match a stored event")
                    leaves.insert(index, leaf)
            if len(leaves) != int(count):
                raise broken_batch(f"holds {len(leaves)} leaves, its header says {count}")
            try:
                recomputed_root = merkle_root(leaves)
            except ValueError:
                raise broken_batch("a content hash is not hexadecimal") from None
            if recomputed_root != root:
                raise broken_batch("Merkle root of its events does not match the signed root")
            owner = keys.get(key_id)
            if owner is None or owner[0] != actor:
                raise broken_batch(f"signing key {key_id} is not registered to {actor}")
            try:
                verify_root_signature(root, bytes(signature), owner[1])
            except SignatureError as exc:
                raise broken_batch(str(exc)) from None
            if prev_cp != checkpoint:
                raise broken_batch("previous checkpoint does not match the chain")
            recomputed = checkpoint_of(
                prev_checkpoint=prev_cp,
                batch_id=batch_id,
                merkle_root=root,
                first_position=first,
                last_position=last,
                last_event_hash=last_event_hash,
            )
            if recomputed != cp:
                raise broken_batch("checkpoint does not match")
            checkpoint = cp
            seen_checkpoints.add(cp)
            counters[1] += 1
            if progress is not None:
                progress(last - first + 1)
    except (TypeError, ValueError, AttributeError, UnicodeError, OverflowError) as exc:
        # a value of the wrong type or form (SQLite lets any column hold anything)
        if row is None:
            raise _Broken(BrokenEvent(None, None, None, batch_id, f"malformed batch row: {exc}")) from None
        raise _Broken(
            BrokenEvent(None, None, None, batch_id, f"malformed value near event row {row[:3]!r}: {exc}")
        ) from None
    extra = next_event()
    if extra is not None:
        raise _Broken(
            BrokenEvent(
                int(extra[0]),
                extra[1],
                extra[2],
                extra[15],
                f"event at position {extra[0]} is not covered by any signed batch (inserted)",
            )
        )
    _check_projection(cur, streams)
    return seen_checkpoints


def _check_projection(cur: Any, streams: dict[str, tuple[int, str]]) -> None:
    """The projection must end where each stream ends: this reveals a truncated tail of the ledger."""
    cur.execute("SELECT battery_id, version, last_hash, last_position FROM battery_state")
    seen = 0
    for battery_id, version, last_hash, last_position in cur.fetchall():
        seen += 1
        if streams.get(battery_id) != (int(version), last_hash):
            have = streams.get(battery_id)
            where = f"ends at sequence {have[0]}" if have else "has no events"
            raise _Broken(
                BrokenEvent(
                    int(last_position),
                    None,
                    battery_id,
                    None,
                    f"battery {battery_id}: the projection is at version {version} but the ledger {where} "
                    "(events removed from the tail, or the projection edited)",
                )
            )
    if seen != len(streams):
        raise _Broken(
            BrokenEvent(
                None, None, None, None, f"the projection has {seen} batteries, the ledger {len(streams)}"
            )
        )
