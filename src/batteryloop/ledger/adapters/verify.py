"""Full verification of the stored ledger, streaming in position order, optionally in parallel.

Checked for every batch and its events: positions are contiguous from 1 and each event lies in the batch that
claims it; payload hash, content hash and event hash recompute; each stream's sequence and previous hash chain;
the batch's event count, its Merkle root (rebuilt from the stored events plus the leaves it recorded as
replays), its Ed25519 signature with the actor's registered key, and the checkpoint chain; finally the
projection must end where every stream ends, and an optional trusted checkpoint must be in the chain. The
first failure (lowest position) is reported. Because the signed root covers every event of a batch, rows
inserted or deleted directly in the database are caught even if the attacker recomputes the per-stream chain.

Parallel mode splits the batches into contiguous segments verified by worker processes (each with its own
connection; positions below the snapshot's head never change in an append-only ledger). A segment cannot check
the first event of each stream it meets against the stream's previous event, so it returns those first events
and the last hash of each stream, and the parent stitches the segments in order.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from batteryloop.domain.errors import BatteryloopError, SignatureError
from batteryloop.domain.lifecycle import EventType
from batteryloop.ledger.adapters.gcpause import gc_paused
from batteryloop.ledger.adapters.store import stored_contents
from batteryloop.ledger.adapters.tree import MIN_STORED_LEVEL, tree_tables_exist
from batteryloop.ledger.adapters.tree import stored_heads as tree_heads
from batteryloop.ledger.adapters.treeverify import COMPARE_EVERY, check_tree, compare_nodes
from batteryloop.ledger.adapters.tx import begin_snapshot, end_snapshot
from batteryloop.ledger.core.checkpoint import Checkpoint, Verifier, key_log_problem
from batteryloop.ledger.core.envelope import BrokenEvent, VerifyReport
from batteryloop.ledger.core.integrity import (
    IDEMPOTENCY_DIGEST_BYTES,
    ZERO_DIGEST,
    ZERO_HASH,
    checkpoint_of,
    default_key_digest,
    events_hash_of,
    idempotency_digest,
    merkle_root_of_digests,
    verify_root_signature,
)
from batteryloop.ledger.core.merkle import CompactRange
from batteryloop.orgs import verify_keys

_BATCH_COLUMNS = (
    "batch_id, actor, key_id, merkle_root, signature, event_count, first_position, last_position, "
    "recorded_at, duplicate_leaves, prev_checkpoint, checkpoint"
)
_EVENTS_FROM = (
    "SELECT position, {event_id}, battery_id, stream_seq, event_type, schema_version, {occurred_at}, {payload}, "
    "idempotency_key, idem_digest, prev_hash, event_hash FROM events WHERE position > ? ORDER BY position LIMIT ?"
)


def _events_from(sql: Any) -> str:
    """The event rows in position order, the payload as its stored UTF-8 bytes (hashed as is, never decoded),
    and the event id and occurrence time as the JSON strings the canonical documents hold, quoted by the
    database: ``"<stored text>"`` (``null`` for a NULL). That is the canonical JSON of every value this
    ledger writes (identifiers and timestamps need no escaping); a stored value that would need escaping, or
    is not text, fails the fast comparison and is checked again exactly (:func:`_exact_hashes`)."""
    as_bytes = "convert_to({}, 'UTF8')" if sql.pg else "CAST({} AS BLOB)"
    quoted = "coalesce('\"' || {col} || '\"', 'null')"
    return _EVENTS_FROM.format(
        event_id=as_bytes.format(quoted.format(col="event_id")),
        occurred_at=as_bytes.format(quoted.format(col="occurred_at")),
        payload=as_bytes.format("payload"),
    )


def _raw_event_id(value: Any) -> Any:
    """The stored event id from the quoted bytes the verify query returns (for messages)."""
    if isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value).decode("utf-8", "replace")
        return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else None
    return value


_NO_BATTERY = object()  # matches no stored battery id (not even a malformed NULL)


class _Broken(Exception):
    def __init__(self, broken: BrokenEvent) -> None:
        super().__init__(broken.reason)
        self.broken = broken


def _at(row: Any, batch_id: str, reason: str) -> _Broken:
    return _Broken(BrokenEvent(int(row[0]), _raw_event_id(row[1]), row[2], batch_id, reason))


def _exact_hashes(
    cur: Any, sql: Any, row: Any, actor: str, head: bytes, bid_json: bytes, recorded_json: bytes
) -> tuple[bytes, bytes] | None:
    """The content hash and index digest of the event at ``row``, from its stored values read again as they
    are and encoded by orjson, as :func:`batteryloop.ledger.core.integrity.content_hash_of` does; None when its
    event hash does not match them either (the event was edited). Only for rows the fast path did not match."""
    pos, _eid, _bid, seq, _type, schema_version, _occ, payload, key, _idem, prev_hash, event_hash = row
    cur.execute(sql.q("SELECT event_id, occurred_at FROM events WHERE position = ?"), (pos,))
    found = cur.fetchall()
    if not found:
        return None
    event_id, occurred_at = found[0]
    dumps = orjson.dumps
    sha = hashlib.sha256
    tail = b',"occurred_at":%b,"payload_hash":"%b","schema_version":%d}' % (
        dumps(occurred_at),
        binascii.hexlify(sha(payload).digest()),
        schema_version,
    )
    if key is None:
        default_digest = sha(head + b"null" + tail).digest()
        content_hash = sha(head + b'"%b"' % binascii.hexlify(default_digest) + tail).digest()
        idem = default_digest[:IDEMPOTENCY_DIGEST_BYTES]
    else:
        content_hash = sha(head + dumps(key) + tail).digest()
        idem = stored_key_digest(actor, key, head, tail)
    doc = (
        b'{"battery_id":%b,"content_hash":"%b","event_id":%b,"position":%d,"prev_hash":"%b",'
        b'"recorded_at":%b,"stream_seq":%d}'
        % (
            bid_json,
            binascii.hexlify(content_hash),
            dumps(event_id),
            pos,
            binascii.hexlify(prev_hash),
            recorded_json,
            seq,
        )
    )
    return (content_hash, idem) if sha(doc).digest() == event_hash else None


@dataclass
class SegmentResult:
    """What one segment of batches established (picklable: it crosses process boundaries).

    Only what the parent needs to join segments crosses: streams that begin in the segment at sequence 1
    (checked here: previous hash of zeros) and streams whose projection row ends them in the segment (checked
    here against that row) stay here. Passed on are the streams continued from an earlier segment (their
    first event here) and those the projection ends in a later one (their last event here).
    """

    events: int = 0
    batches: int = 0
    broken: BrokenEvent | None = None
    # streams continued from an earlier segment: battery -> (seq, prev_hash, position, event_id, batch_id)
    continued: dict[str, tuple[int, bytes, int, str, str]] = field(default_factory=dict)
    # streams the projection ends after this segment: battery -> (seq, event hash digest, position)
    handed_on: dict[str, tuple[int, bytes, int]] = field(default_factory=dict)
    ends_checked: int = 0  # projection rows whose last position lies in the segment, each checked
    projection_broken: BrokenEvent | None = None
    checkpoints: list[str] = field(default_factory=list)
    tree: CompactRange | None = None  # the global tree over the segment's events
    head_ranges: dict[int, CompactRange] = field(default_factory=dict)  # the range at each stored head's size


def verify_segment(
    cur: Any,
    sql: Any,
    batch_rows: Sequence[Any],
    keys: dict[str, tuple[str, bytes, int, int | None]],
    *,
    chunk: int,
    progress: Callable[[int], None] | None = None,
    heads: frozenset[int] | None = frozenset(),
) -> SegmentResult:
    """Verify contiguous batches (rows of _BATCH_COLUMNS) and their events; stop at the first break."""
    with gc_paused():
        return _verify_segment(cur, sql, batch_rows, keys, chunk=chunk, progress=progress, heads=heads)


def _verify_segment(
    cur: Any,
    sql: Any,
    batch_rows: Sequence[Any],
    keys: dict[str, tuple[str, bytes, int, int | None]],
    *,
    chunk: int,
    progress: Callable[[int], None] | None,
    heads: frozenset[int] | None = frozenset(),
) -> SegmentResult:
    result = SegmentResult()
    streams: dict[str, tuple[int, bytes, int]] = {}  # battery -> (seq, event hash digest, position) so far
    firsts = result.continued
    sha = hashlib.sha256
    dumps = orjson.dumps
    idem_bytes = IDEMPOTENCY_DIGEST_BYTES
    hexlify = binascii.hexlify  # bytes -> hex as bytes in one call; a digest's hex never needs escaping
    if not batch_rows:
        return result
    select_events = sql.q(_events_from(sql))
    type_get = {t.value: b',"event_type":%b,"idempotency_key":' % dumps(t.value) for t in EventType}.get
    buffer: list[Any] = []
    buffer_at = 0
    fetched_to = int(batch_rows[0][6]) - 1
    checkpoint = batch_rows[0][10]  # the parent checks this claim against the previous segment
    tree = result.tree = CompactRange(int(batch_rows[0][6]) - 1, int(batch_rows[0][6]) - 1)
    tree_nodes: list[tuple[int, int, bytes]] = []
    row: Any = None
    batch_id: str | None = None
    # the run of consecutive events of one battery (a battery's events often follow one another): its id,
    # its JSON string, and where its stream stands (sequence, event hash, position; sequence None until the
    # first event of the stream in this segment). The run is written to ``streams`` when another battery
    # starts, so a verify's hot path touches the dict once per run, not once per event.
    bid_of: object = _NO_BATTERY
    bid_json = b""
    run_seq: Any = None
    run_hash = ZERO_DIGEST
    run_pos = 0
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
            where = f"batch {batch_id}"
            leaves: list[bytes] = []
            add_leaf = leaves.append
            actor_head = b'{"actor":%b,"battery_id":' % dumps(actor)
            actor_bid = actor_head + bid_json  # the run may go on from the previous batch (another actor)
            recorded_json = dumps(recorded_at)
            battery_id = None
            # the batch's rows: positions are unique and strictly increasing (ORDER BY position, each fetch
            # starting after the last), so n rows running from first to last are exactly first..last
            n = last - first + 1
            rows = buffer[buffer_at : buffer_at + n]
            buffer_at += n
            while len(rows) < n:
                cur.execute(select_events, (fetched_to, chunk))
                buffer = cur.fetchall()
                buffer_at = 0
                if not buffer:
                    break
                fetched_to = int(buffer[-1][0])
                need = n - len(rows)
                rows += buffer[:need]
                buffer_at = need
            gap: _Broken | None = None
            if not rows or len(rows) != n or rows[0][0] != first or rows[-1][0] != last:
                # check the events before the first gap, then report the gap (the lowest break wins)
                good = 0
                while good < len(rows) and good < n and rows[good][0] == first + good:
                    good += 1
                position = first + good
                found = "nothing" if good >= len(rows) else f"position {rows[good][0]}"
                gap = _Broken(
                    BrokenEvent(
                        position,
                        None,
                        None,
                        batch_id,
                        f"event at position {position} is missing (found {found}): a row was deleted or moved",
                    )
                )
                rows = rows[:good]
            for row in rows:
                (
                    pos,
                    event_id,
                    battery_id,
                    seq,
                    event_type,
                    schema_version,
                    occurred_at,
                    payload,
                    key,
                    idem_digest,
                    prev_hash,
                    event_hash,
                ) = row
                if battery_id != bid_of:
                    if run_seq is not None:
                        streams[bid_of] = (run_seq, run_hash, run_pos)  # type: ignore[index]
                    bid_json = dumps(battery_id)
                    bid_of = battery_id
                    actor_bid = actor_head + bid_json
                    before = streams.get(battery_id)
                    if before is None:
                        run_seq = None
                    else:
                        run_seq, run_hash, run_pos = before
                # canonical documents written in sorted key order with every client string through orjson
                # and the hashes as hex (never needs escaping): byte-identical to canonical JSON of the dicts
                # (integrity.content_hash_of / event_hash_of). The payload is fetched as its stored UTF-8 bytes.
                type_part = type_get(event_type)
                if type_part is None:
                    type_part = b',"event_type":%b,"idempotency_key":' % dumps(event_type)
                head = actor_bid + type_part
                tail = b',"occurred_at":%b,"payload_hash":"%b","schema_version":%d}' % (
                    occurred_at,  # already the JSON string (see _events_from)
                    hexlify(sha(payload).digest()),
                    schema_version,
                )
                if key is None:  # the default key: the content hash computed without a key
                    default_digest = sha(head + b"null" + tail).digest()
                    content_hash = sha(b"".join((head, b'"', hexlify(default_digest), b'"', tail))).digest()
                    idem = default_digest[:idem_bytes]
                else:
                    content_hash = sha(head + dumps(key) + tail).digest()
                    idem = stored_key_digest(actor, key, head, tail)
                if run_seq is None:
                    if seq != 1:
                        firsts[battery_id] = (seq, prev_hash, pos, _raw_event_id(event_id), batch_id)
                    elif prev_hash != ZERO_DIGEST:
                        raise _at(row, batch_id, "previous hash does not match the stream's preceding event")
                elif seq != run_seq + 1:
                    raise _at(row, batch_id, f"stream sequence {seq} does not follow {run_seq}")
                elif prev_hash != run_hash:
                    raise _at(row, batch_id, "previous hash does not match the stream's preceding event")
                if (
                    sha(
                        b'{"battery_id":%b,"content_hash":"%b","event_id":%b,"position":%d,"prev_hash":"%b",'
                        b'"recorded_at":%b,"stream_seq":%d}'
                        % (
                            bid_json,
                            hexlify(content_hash),
                            event_id,  # already the JSON string (see _events_from)
                            pos,
                            hexlify(prev_hash),
                            recorded_json,
                            seq,
                        )
                    ).digest()
                    != event_hash
                ):
                    exact = _exact_hashes(
                        cur, sql, row, actor, actor_bid + type_part, bid_json, recorded_json
                    )
                    if exact is None:
                        raise _at(
                            row,
                            batch_id,
                            "event hash does not match the event's fields (payload or another field edited, "
                            "or rows reordered)",
                        )
                    content_hash, idem = exact
                if idem != idem_digest:  # after the event hash: an edited field is named as such first
                    raise _at(row, batch_id, "idempotency digest does not match the event's key (edited)")
                run_seq = seq
                run_hash = event_hash
                run_pos = pos
                add_leaf(content_hash)
            if gap is not None:
                raise gap
            result.events += len(leaves)
            last_event_hash = run_hash.hex() if battery_id is not None else ZERO_HASH
            if dup_text:
                for index, leaf_hex, key in orjson.loads(dup_text):
                    leaf = bytes.fromhex(leaf_hex)
                    idems = [idempotency_digest(key, actor=actor), *stored_default_digests(key)]
                    by_digest = stored_contents(cur, sql, idems)
                    found_row = next((by_digest[i] for i in idems if i in by_digest), None)
                    if found_row is None or found_row[0] != leaf or found_row[1] > last:
                        raise _Broken(
                            BrokenEvent(
                                first,
                                None,
                                None,
                                batch_id,
                                f"{where}: replayed leaf {index} does not match a stored event",
                            )
                        )
                    leaves.insert(index, leaf)
            event_hashes = [row[11] for row in rows]  # the events hash's and the global tree's input
            reason = _check_batch_header(
                events_hash_of(event_hashes),
                leaves,
                count,
                root,
                keys,
                key_id,
                actor,
                signature,
                prev_cp,
                checkpoint,
                cp,
                batch_id,
                first,
                last,
                last_event_hash,
            )
            if reason is not None:
                raise _Broken(BrokenEvent(first, None, None, batch_id, f"{where}: {reason}"))
            tree.extend(event_hashes, tree_nodes, MIN_STORED_LEVEL)
            if heads and last in heads:
                result.head_ranges[last] = CompactRange(
                    tree.begin, tree.end, list(tree.left), dict(tree.pending)
                )
            if (
                heads is not None
                and len(tree_nodes) >= COMPARE_EVERY
                and (tree_broken := compare_nodes(cur, sql, tree_nodes))
            ):
                raise _Broken(tree_broken)
            checkpoint = cp
            result.checkpoints.append(cp)
            result.batches += 1
            if progress is not None:
                progress(last - first + 1)
        if run_seq is not None:
            streams[bid_of] = (run_seq, run_hash, run_pos)  # type: ignore[index]
    except _Broken as exc:
        result.broken = exc.broken
    except (TypeError, ValueError, AttributeError, UnicodeError, OverflowError) as exc:
        # a value of the wrong type or form (SQLite lets any column hold anything)
        near = (
            f"near event row {(row[0], _raw_event_id(row[1]), row[2])!r}"
            if row is not None
            else "in a batch row"
        )
        at: int | None = None
        try:
            at = int(row[0]) if row is not None else None
        except (TypeError, ValueError):
            at = None
        result.broken = BrokenEvent(at, None, None, batch_id, f"malformed value {near}: {exc}")
    if result.broken is None:
        result.broken = compare_nodes(cur, sql, tree_nodes) if heads is not None else None
    if result.broken is None:
        _segment_ends(cur, sql, streams, result, int(batch_rows[0][6]), int(batch_rows[-1][7]))
    return result


def _check_batch_header(
    events_hash: str,
    leaves: list[bytes],
    count: Any,
    root: str,
    keys: dict[str, tuple[str, bytes, int, int | None]],
    key_id: str,
    actor: str,
    signature: Any,
    prev_cp: str,
    checkpoint: str,
    cp: str,
    batch_id: str,
    first: int,
    last: int,
    last_event_hash: str,
) -> str | None:
    if len(leaves) != int(count):
        return f"holds {len(leaves)} leaves, its header says {count}"
    try:
        recomputed_root = merkle_root_of_digests(leaves)
    except TypeError:
        return "a content hash is not a digest"
    if recomputed_root != root:
        return "Merkle root of its events does not match the signed root"
    owner = keys.get(key_id)
    if owner is None or owner[0] != actor:
        return f"signing key {key_id} is not registered to {actor} in the signed key log"
    if not (owner[2] < first and (owner[3] is None or first <= owner[3])):
        return f"signing key {key_id} of {actor} is not valid at position {first} ({key_validity(owner)})"
    try:
        verify_root_signature(root, bytes(signature), owner[1])
    except SignatureError as exc:
        return str(exc)
    if prev_cp != checkpoint:
        return "previous checkpoint does not match the chain"
    recomputed = checkpoint_of(
        prev_checkpoint=prev_cp,
        batch_id=batch_id,
        merkle_root=root,
        first_position=first,
        last_position=last,
        last_event_hash=last_event_hash,
        events_hash=events_hash,
    )
    if recomputed != cp:
        return "checkpoint does not match"
    return None


def key_validity(owner: tuple[str, bytes, int, int | None]) -> str:
    revoked = f", revoked after position {owner[3]}" if owner[3] is not None else ""
    return f"registered after position {owner[2]}{revoked}"


def _segment_worker(
    url: str,
    dialect: str,
    batch_rows: list[Any],
    keys: dict[str, tuple[str, bytes, int, int | None]],
    chunk: int,
    heads: frozenset[int] | None = frozenset(),
) -> SegmentResult:
    """Process-pool entry point: verify one segment on a connection of its own."""
    from batteryloop.ledger.adapters.store import Sql

    sql = Sql(dialect)
    if sql.pg:
        import psycopg

        conn: Any = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    else:
        import sqlite3

        conn = sqlite3.connect(url, isolation_level=None)
    try:
        cur = conn.cursor()
        return verify_segment(cur, sql, batch_rows, keys, chunk=chunk, heads=heads)
    finally:
        conn.close()


def _split(batch_rows: list[Any], parts: int) -> list[list[Any]]:
    total = sum(int(b[7]) - int(b[6]) + 1 for b in batch_rows)
    target = total / parts
    segments: list[list[Any]] = [[]]
    done = 0
    for b in batch_rows:
        if done >= target * len(segments) and len(segments) < parts:
            segments.append([])
        segments[-1].append(b)
        done += int(b[7]) - int(b[6]) + 1
    return [s for s in segments if s]


def verify_ledger(
    dbapi: Any,
    sql: Any,
    *,
    chunk: int,
    progress: Callable[[int], None] | None = None,
    anchor: str | None = None,
    workers: int = 1,
    worker_url: str | None = None,
    operator: Verifier | None = None,
    anchors: Sequence[Checkpoint] = (),
) -> VerifyReport:
    """Verify everything in one snapshot; with ``workers`` > 1, segments run in worker processes.

    ``progress`` receives the cumulative number of events verified so far.
    """
    cur = dbapi.cursor()
    begin_snapshot(cur, sql.pg)
    try:
        verified_keys = verify_keys(
            cur, pg=sql.pg
        )  # the signed key log: each key with the positions it is valid for
        keys = verified_keys.keys
        cur.execute(f"SELECT {_BATCH_COLUMNS} FROM batches ORDER BY first_position")
        batch_rows = list(cur.fetchall())
        has_tree = tree_tables_exist(cur, sql)
        stored_heads = [h.checkpoint for h in tree_heads(cur, sql) if h.checkpoint] if has_tree else []
        head_sizes = frozenset(h.size for h in stored_heads) if has_tree else None
        done = 0

        def tick(events: int) -> None:
            nonlocal done
            done += events
            if progress is not None:
                progress(done)

        candidates: list[BrokenEvent] = []
        if verified_keys.problem is not None:
            candidates.append(
                BrokenEvent(verified_keys.problem_position, None, None, None, verified_keys.problem)
            )
        if verified_keys.problem is None:
            for head in stored_heads:
                try:
                    reason = key_log_problem(head, verified_keys.log)
                except BatteryloopError as exc:
                    reason = f"stored tree head of size {head.size}: {exc}"
                if reason is not None:
                    candidates.append(BrokenEvent(head.size, None, None, None, reason))
                    break
            for published in anchors:
                reason = key_log_problem(published, verified_keys.log, published=True)
                if reason is not None:
                    candidates.append(BrokenEvent(None, None, None, None, reason))
                    break
        if not has_tree:
            reason = "the database has no global tree tables: upgrade it (`batteryloop init`)"
            candidates.append(BrokenEvent(None, None, None, None, reason))
        # batches must tile the positions 1..head without gaps or overlaps
        expected = 1
        for b in batch_rows:
            if int(b[6]) != expected:
                candidates.append(
                    BrokenEvent(
                        int(b[6]),
                        None,
                        None,
                        b[0],
                        f"batch {b[0]}: starts at position {b[6]}, expected {expected}",
                    )
                )
                break
            expected = int(b[7]) + 1
        if workers > 1 and worker_url is not None and len(batch_rows) >= workers:
            segments = _split(batch_rows, workers)
            from concurrent.futures import ProcessPoolExecutor
            from multiprocessing import get_all_start_methods, get_context

            # fork: workers start in milliseconds and do not re-run the caller's __main__ (spawn would, and
            # breaks scripts without a main guard); they only open fresh connections and hash
            method = "fork" if "fork" in get_all_start_methods() else "spawn"

            with ProcessPoolExecutor(max_workers=len(segments), mp_context=get_context(method)) as pool:
                futures = [
                    pool.submit(_segment_worker, worker_url, sql.dialect, s, keys, chunk, head_sizes)
                    for s in segments
                ]
                results = []
                for future, segment in zip(futures, segments, strict=True):
                    results.append(future.result())
                    if progress is not None:
                        tick(sum(int(b[7]) - int(b[6]) + 1 for b in segment))
        else:
            segments = [batch_rows]
            results = [
                verify_segment(cur, sql, batch_rows, keys, chunk=chunk, progress=tick, heads=head_sizes)
            ]
        events = sum(r.events for r in results)
        batches = sum(r.batches for r in results)
        # stitch: the checkpoint chain across segment boundaries, then each stream's first event per segment
        start = 0
        for segment in segments:
            if not segment:
                continue
            claimed = segment[0][10]
            previous = batch_rows[start - 1][11] if start > 0 else ZERO_HASH
            if claimed != previous:
                b = segment[0]
                candidates.append(
                    BrokenEvent(
                        int(b[6]),
                        None,
                        None,
                        b[0],
                        f"batch {b[0]}: previous checkpoint does not match the chain",
                    )
                )
            start += len(segment)
        # each stream continued in a segment must continue what an earlier segment handed on; what the
        # projection ends later than a segment is handed on; nothing may be left over after the last one
        pending: dict[str, tuple[int, bytes, int]] = {}
        ends_checked = 0
        projection: list[BrokenEvent] = []
        for result in results:
            for battery_id, (seq, prev_hash, pos, event_id, batch_id) in result.continued.items():
                before_seq, before_hash, _ = pending.pop(battery_id, (0, ZERO_DIGEST, 0))
                if seq != before_seq + 1:
                    reason = f"stream sequence {seq} does not follow {before_seq}"
                    candidates.append(BrokenEvent(pos, event_id, battery_id, batch_id, reason))
                elif prev_hash != before_hash:
                    reason = "previous hash does not match the stream's preceding event"
                    candidates.append(BrokenEvent(pos, event_id, battery_id, batch_id, reason))
            if result.broken is not None:
                candidates.append(result.broken)
                break  # this segment's stream ends are partial: later segments cannot be stitched
            for battery_id, last in result.handed_on.items():
                if battery_id in pending:  # handed on again without being continued: it restarted
                    projection.append(_not_ended(battery_id, *pending[battery_id]))
                pending[battery_id] = last
            ends_checked += result.ends_checked
            if result.projection_broken is not None:
                projection.append(result.projection_broken)
        # left over: streams no segment saw ended. In the parent's snapshot (the one the batch list comes
        # from) the projection must end each exactly there: a worker reads the projection on a connection of
        # its own, so a row that a concurrent append moved past this snapshot's head is missed there
        for battery_id, version, last_hash, last_position in sql.where_in(
            cur,
            "SELECT battery_id, version, last_hash, last_position FROM battery_state",
            "battery_id",
            list(pending),
        ):
            seq, digest, position = pending.pop(battery_id)
            if (seq, digest.hex(), position) == (version, last_hash, last_position):
                ends_checked += 1
            else:
                projection.append(_not_ended(battery_id, seq, digest, position))
        projection.extend(_not_ended(battery_id, *last) for battery_id, last in pending.items())
        if candidates:
            first_broken = min(
                candidates, key=lambda c: c.position if c.position is not None else float("inf")
            )
            return VerifyReport(False, events, batches, first_broken)
        try:
            _check_tail(cur, sql, expected - 1)
            if projection:
                raise _Broken(min(projection, key=lambda c: c.position or 0))
            cur.execute("SELECT count(*) FROM battery_state")
            rows = int(cur.fetchone()[0])
            if rows != ends_checked:
                reason = f"the projection has {rows} batteries, the ledger ends {ends_checked} streams"
                raise _Broken(BrokenEvent(None, None, None, None, reason))
            checkpoints = {cp for r in results for cp in r.checkpoints}
            if anchor is not None and anchor not in checkpoints:
                raise _Broken(
                    BrokenEvent(
                        None,
                        None,
                        None,
                        None,
                        f"trusted checkpoint {anchor} is not in the ledger (truncated?)",
                    )
                )
            tree_broken = check_tree(
                cur,
                sql,
                [r.tree or CompactRange(0, 0) for r in results],
                {size: part for r in results for size, part in r.head_ranges.items()},
                stored_heads,
                operator=operator,
                anchors=anchors,
            )
            if tree_broken is not None:
                raise _Broken(tree_broken)
        except _Broken as exc:
            return VerifyReport(False, events, batches, exc.broken)
        return VerifyReport(True, events, batches, None)
    finally:
        end_snapshot(dbapi, cur, sql.pg)


def _check_tail(cur: Any, sql: Any, last_position: int) -> None:
    cur.execute(
        sql.q(
            "SELECT position, event_id, battery_id FROM events WHERE position > ? ORDER BY position LIMIT 1"
        ),
        (last_position,),
    )
    extra = cur.fetchone()
    if extra is not None:
        raise _Broken(
            BrokenEvent(
                int(extra[0]),
                extra[1],
                extra[2],
                None,
                f"event at position {extra[0]} is not covered by any signed batch (inserted)",
            )
        )


def _not_ended(battery_id: str, seq: int, _hash: bytes, position: int) -> BrokenEvent:
    return BrokenEvent(
        position,
        None,
        battery_id,
        None,
        f"battery {battery_id}: the ledger's stream reaches sequence {seq} (position {position}) but the "
        "projection does not end it there (events removed from the tail, or the projection edited)",
    )


def _segment_ends(
    cur: Any,
    sql: Any,
    streams: dict[str, tuple[int, bytes, int]],
    result: SegmentResult,
    first: int,
    last: int,
) -> None:
    """Check the projection rows that end a stream inside positions first..last against the streams seen
    there, and hand on the streams the projection ends later (the parent joins them to later segments)."""
    cur.execute(
        sql.q(
            "SELECT battery_id, version, last_hash, last_position FROM battery_state "
            "WHERE last_position BETWEEN ? AND ?"
        ),
        (first, last),
    )
    rows = cur.fetchall()
    get = streams.get
    mismatched = [  # the fast pass: exact matches only (any odd value type lands in the careful pass)
        row
        for row in rows
        if (have := get(row[0])) is None or have[2] != row[3] or have[0] != row[1] or have[1].hex() != row[2]
    ]
    worst: BrokenEvent | None = None
    for battery_id, version, _last_hash, last_position in mismatched:
        have = get(battery_id)
        try:
            at = int(last_position)
        except (TypeError, ValueError):
            at = first
        where = (
            f"ends at sequence {have[0]} (position {have[2]})"
            if have is not None
            else f"has no events in positions {first}..{last}"
        )
        found = BrokenEvent(
            at,
            None,
            battery_id,
            None,
            f"battery {battery_id}: the projection is at version {version} (position {last_position}) but "
            f"the ledger {where} (events removed from the tail, or the projection edited)",
        )
        if worst is None or at < (worst.position or 0):
            worst = found
    result.ends_checked = len(rows)  # battery_id is the projection's primary key: one row per battery
    result.projection_broken = worst
    if not mismatched and len(rows) == len(streams):
        return  # every row matched a distinct stream seen here: each stream ends in this segment
    ends = {row[0] for row in rows}
    result.handed_on = {b: v for b, v in streams.items() if b not in ends}


def stored_key_digest(actor: str, key: str, head: bytes, tail: bytes) -> bytes:
    """The index digest of a stored (non-NULL) key: the default key's own when it is the event's default key
    given explicitly (stored so by earlier versions), else the organisation-scoped one."""
    if len(key) == 64 and hashlib.sha256(head + b"null" + tail).hexdigest() == key:
        return default_key_digest(key)
    return idempotency_digest(key, actor=actor)


def stored_default_digests(key: str) -> list[bytes]:
    """The default-key digest ``key`` would have if it is a default key (a replayed leaf names its key only)."""
    return [default_key_digest(key)] if len(key) == 64 and all(c in "0123456789abcdef" for c in key) else []
