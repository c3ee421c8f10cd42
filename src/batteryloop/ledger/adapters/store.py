"""The write path and the raw reads of the ledger, on the DB-API connection under SQLAlchemy's engine.

Why DB-API here and SQLAlchemy Core elsewhere: an append of 10k events is one ``executemany`` (SQLite) or
one ``COPY`` (PostgreSQL); building 10k Core insert parameter dicts and going through the compiler costs
more than all the hashing. Schema, migrations, organisations and small reads use Core.

The writer holds the write lock (:mod:`~batteryloop.ledger.adapters.tx`) and reads the head (last position
and checkpoint) inside it, so that positions, per-stream sequence numbers and the hashes that cover them are
assigned once, in order, and the whole batch commits or nothing does. Whether an event may be appended at
all is the domain's fold (:func:`batteryloop.domain.fold.decide`); this module supplies what it looks up.

Storage: an event row holds what cannot be derived: position, ids, type, times, the canonical payload, the
client's idempotency key (NULL for the default key, recomputed on read), its 16-byte index digest (see
:func:`~batteryloop.ledger.core.integrity.idempotency_digest`), and the previous and own event hash as 32-byte
digests. The actor, recording time and batch id come from the batch holding the position; payload and content
hashes are recomputed (migration 0004). Narrow rows make inserts, reads and verify cheaper; the envelope
(``RecordedEvent``) still carries every field.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import orjson

from batteryloop.domain.errors import (
    ConflictError,
    ValidationError,
)
from batteryloop.domain.fold import decide, receiver_of, unit_codes
from batteryloop.domain.grants import check_grant_current
from batteryloop.domain.ids import uuid7, uuid_texts
from batteryloop.domain.lifecycle import EventType, UnitStatus
from batteryloop.domain.passport_data import check_declared_mass
from batteryloop.ledger.adapters.lots import LotMasses, check_lot_batch
from batteryloop.ledger.adapters.projection import (
    SELECT_STATE,
    STATE_COLUMNS,
    next_row,
    row_from_db,
    row_to_db,
)
from batteryloop.ledger.adapters.tree import TreeWriter
from batteryloop.ledger.core.envelope import AppendResult, BatteryRow
from batteryloop.ledger.core.integrity import (
    ZERO_HASH,
    PreparedColumns,
    SignedBatch,
    checkpoint_of,
    content_hash_of,
    events_hash_of,
)

STORED_EVENT_COLUMNS = (
    "position",
    "event_id",
    "battery_id",
    "stream_seq",
    "event_type",
    "schema_version",
    "occurred_at",
    "payload",
    "idempotency_key",  # NULL when it is the default key (recomputed from the content fields)
    "idem_digest",
    "prev_hash",
    "event_hash",
)
# What a read returns per event (READ_EVENTS): the stored columns plus the batch's actor, recording time and
# id, found by the batch whose positions hold the event. Payload and content hashes are recomputed in Python.
READ_COLUMNS = (
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
BATCH_OF_EVENT = (
    "JOIN batches b ON b.first_position = "
    "(SELECT max(first_position) FROM batches WHERE first_position <= e.position)"
)
READ_EVENTS = (
    "SELECT "
    + ", ".join(f"b.{c}" if c in ("recorded_at", "actor", "batch_id") else f"e.{c}" for c in READ_COLUMNS)
    + f" FROM events e {BATCH_OF_EVENT}"
)
_INSERT_EVENTS = (
    f"INSERT INTO events ({', '.join(STORED_EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(STORED_EVENT_COLUMNS))})"
)
_UPSERT_STATE = (
    f"INSERT INTO battery_state ({', '.join(STATE_COLUMNS)}) VALUES ({', '.join('?' * len(STATE_COLUMNS))}) "
    "ON CONFLICT (battery_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in STATE_COLUMNS[1:])
)
_INSERT_BATCH = (
    "INSERT INTO batches (batch_id, actor, key_id, merkle_root, signature, event_count, first_position, "
    "last_position, recorded_at, duplicate_leaves, prev_checkpoint, checkpoint) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CODE = "INSERT INTO codes (scheme, code, battery_id, position) VALUES (?, ?, ?, ?)"

_last_uuid = 0


def new_event_ids(count: int) -> list[str]:
    """``count`` UUIDv7 strings (RFC 9562), strictly increasing within this process."""
    global _last_uuid
    rand = int.from_bytes(os.urandom(10), "big")
    # rand_b keeps two bits of headroom, so that a run of ids never carries into the variant bits
    base = uuid7(unix_ms=time.time_ns() // 1_000_000, rand_a=rand >> 68, rand_b=rand & ((1 << 60) - 1))
    if base <= _last_uuid:
        base = _last_uuid + 1
    _last_uuid = base + count - 1
    return uuid_texts(base, count)


def now_text() -> str:
    t = time.time_ns()
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 1_000_000_000)) + f".{t // 1000 % 1_000_000:06d}Z"
    )


class Sql:
    """Placeholder style and set membership for the two dialects."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.pg = dialect == "postgresql"

    def q(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.pg else sql

    def where_in(
        self, cur: Any, select_sql: str, column: str, values: Sequence[Any], chunk: int = 900
    ) -> Iterator[Sequence[Any]]:
        """Rows of ``select_sql WHERE column IN values`` (chunked for SQLite's parameter limit)."""
        if not values:
            return
        if self.pg:
            cur.execute(f"{select_sql} WHERE {column} = ANY(%s)", (list(values),))
            yield from cur.fetchall()
            return
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            cur.execute(f"{select_sql} WHERE {column} IN ({','.join('?' * len(part))})", part)
            yield from cur.fetchall()


def stored_contents(cur: Any, sql: Sql, idem_digests: Sequence[bytes]) -> dict[bytes, tuple[bytes, int, str]]:
    """The stored events holding these idempotency digests: digest -> (content hash digest, position, batch id).

    The content hash is not stored (it is a function of the content fields): recomputed here, on the rare
    path of a replayed or conflicting key.
    """
    found: dict[bytes, tuple[bytes, int, str]] = {}
    select = (
        "SELECT e.idem_digest, e.position, b.batch_id, b.actor, e.battery_id, e.event_type, e.idempotency_key, "
        f"e.occurred_at, e.payload, e.schema_version FROM events e {BATCH_OF_EVENT}"
    )
    for idem, pos, batch_id, actor, bid, event_type, key, occurred, payload, version in sql.where_in(
        cur, select, "e.idem_digest", idem_digests
    ):
        _hash, _key, content = content_of_stored(actor, bid, event_type, key, occurred, payload, version)
        found[bytes(idem)] = (bytes.fromhex(content), int(pos), batch_id)
    return found


def content_of_stored(
    actor: str,
    battery_id: str,
    event_type: str,
    key: str | None,
    occurred_at: str,
    payload: str,
    version: int,
) -> tuple[str, str, str]:
    """(payload hash, idempotency key, content hash) of a stored event, as hex / text: the key as stored or,
    when NULL, the default key."""
    payload_hash = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    if key is None:
        key = content_hash_of(
            actor=actor,
            battery_id=battery_id,
            event_type=event_type,
            idempotency_key=None,
            occurred_at=occurred_at,
            payload_hash=payload_hash,
            schema_version=version,
        )
    content = content_hash_of(
        actor=actor,
        battery_id=battery_id,
        event_type=event_type,
        idempotency_key=key,
        occurred_at=occurred_at,
        payload_hash=payload_hash,
        schema_version=version,
    )
    return payload_hash, key, content


def read_head(cur: Any) -> tuple[int, str]:
    """The last position and the last batch's checkpoint (0 and zeros for an empty ledger)."""
    cur.execute("SELECT position FROM events ORDER BY position DESC LIMIT 1")
    r = cur.fetchone()
    head = int(r[0]) if r else 0
    cur.execute("SELECT checkpoint FROM batches ORDER BY first_position DESC LIMIT 1")
    r = cur.fetchone()
    return head, str(r[0]) if r else ZERO_HASH


class StreamCache:
    """Projection rows known to the writer; valid while nobody else has appended (checked by head)."""

    def __init__(self) -> None:
        self.rows: dict[str, BatteryRow | None] = {}
        self.head: int | None = None
        self.checkpoint: str | None = None  # the checkpoint of the batch ending at ``head``
        self.pending: tuple[dict[str, BatteryRow | None], int, str] | None = None
        self.lots = LotMasses()  # the recyclers' lot masses, caught up by position (adapters.lots)

    def reset(self, *, keep_lots: bool = False) -> None:
        """Forget the cached rows; the lot masses too unless ``keep_lots`` (they may hold rows of a
        transaction that rolled back)."""
        if not keep_lots:
            self.lots.reset()
        self.rows.clear()
        self.head = None
        self.checkpoint = None
        self.pending = None


def _mass_of(payload: Mapping[str, Any]) -> float | None:
    mass = payload.get("mass_kg")
    return float(mass) if isinstance(mass, (int, float)) and not isinstance(mass, bool) else None


def append_locked(
    cur: Any,
    sql: Sql,
    *,
    batch: SignedBatch,
    prepared: PreparedColumns,
    merkle_root: str,
    expected_versions: Mapping[str, int] | None,
    max_payload_bytes: int,
    cache: StreamCache,
    check_stored_keys: bool = True,
    known_head: tuple[int, str] | None = None,
    tree: TreeWriter | None = None,
    keylog: tuple[int, str] | None = None,
) -> tuple[AppendResult, Callable[..., None] | None]:
    """Validate one batch and prepare its rows; return the result and the ``write`` that inserts them.

    The caller holds the write lock, runs ``write`` and commits (or rolls back on any error).

    With ``check_stored_keys`` False the idempotency keys are not looked up first: the unique index on
    ``events.idempotency_key`` still refuses a reuse, and the caller then rolls back and retries with the
    look-up, which classifies each reused key as a replay or a conflict. Most batches carry new keys only.
    """
    sha256 = hashlib.sha256
    head, prev_checkpoint = known_head if known_head is not None else read_head(cur)
    if cache.head != head:
        cache.reset(keep_lots=True)  # another writer appended: the lot masses catch up by position
    actor = batch.actor

    # idempotency: keys already stored
    events = prepared.events
    idem_digests = prepared.idem_digest
    stored = stored_contents(cur, sql, idem_digests) if check_stored_keys else {}

    # projection rows of the batteries touched (and those named in expected_versions)
    rows = cache.rows
    wanted = {ev.battery_id for ev in events}
    if expected_versions:
        wanted.update(expected_versions)
    missing = [b for b in wanted if b not in rows]
    local: dict[str, BatteryRow | None] = dict.fromkeys(missing)
    for dbrow in sql.where_in(cur, SELECT_STATE, "battery_id", missing):
        local[dbrow[0]] = row_from_db(dbrow)

    def get(bid: str) -> BatteryRow | None:
        if bid in local:
            return local[bid]
        if bid in rows:
            return rows[bid]
        cur.execute(sql.q(SELECT_STATE + " WHERE battery_id = ?"), (bid,))
        found = cur.fetchone()
        row = row_from_db(found) if found else None
        local[bid] = row
        return row

    if expected_versions:
        for bid, want in expected_versions.items():
            row = get(bid)
            have = row.status.version if row is not None else 0
            if have != want:
                raise ConflictError(f"battery {bid} is not at version {want}, which the batch expected")

    # identifier codes registered in this batch (unique per scheme)
    codes: list[tuple[str, str, str, int]] = []
    parsed_codes: dict[int, list[tuple[str, str]]] = {}  # index in batch -> [(scheme, canonical code)]
    for index, ev in enumerate(events):
        if ev.event_type is EventType.BATTERY_MANUFACTURED:
            found = unit_codes(ev.battery_id, ev.payload)
            if found:
                parsed_codes[index] = found
    taken_codes: dict[tuple[str, str], str] = {}
    if parsed_codes:
        wanted_codes = sorted({code for found in parsed_codes.values() for _, code in found})
        for scheme, code, bid in sql.where_in(
            cur, "SELECT scheme, code, battery_id FROM codes", "code", wanted_codes
        ):
            taken_codes[(scheme, code)] = bid

    # a composition's declared battery mass against the unit's registered mass (BatteryManufactured.mass_kg):
    # from this batch's registrations, else from the first event of the stored stream
    declaring = [
        ev.battery_id
        for ev in events
        if ev.event_type is EventType.PASSPORT_DATA_REGISTERED
        and isinstance(ev.payload.get("composition"), dict)
    ]
    if declaring:
        masses: dict[str, float | None] = {}
        for ev in events:
            if ev.event_type is EventType.BATTERY_MANUFACTURED and ev.battery_id not in masses:
                masses[ev.battery_id] = _mass_of(ev.payload)
        stored_ids = sorted({bid for bid in declaring if bid not in masses})
        for bid, text in sql.where_in(
            cur, "SELECT battery_id, payload FROM events", "stream_seq = 1 AND battery_id", stored_ids
        ):
            masses[str(bid)] = _mass_of(orjson.loads(text))
        for ev in events:
            if ev.event_type is EventType.PASSPORT_DATA_REGISTERED:
                check_declared_mass(ev.battery_id, ev.payload, masses.get(ev.battery_id))

    # the registered organisations among the receivers the batch names (the fold checks each hand-over)
    receivers = {r for ev in events if (r := receiver_of(ev.event_type, ev.payload)) is not None}
    known_orgs: set[str] = set()
    if receivers:
        known_orgs.update(
            r[0] for r in sql.where_in(cur, "SELECT org_id FROM organisations", "org_id", sorted(receivers))
        )

    def unit(bid: str) -> UnitStatus | None:
        row = get(bid)
        return row.status if row is not None else None

    ids = new_event_ids(len(events))
    recorded_at = now_text()
    batch_id = new_event_ids(1)[0]
    position = head
    event_rows: list[tuple[Any, ...]] = []
    seen_keys: dict[bytes, tuple[bytes, int]] = {}
    duplicate_leaves: list[list[Any]] = []
    dup_positions: list[int] = []
    dup_batch: str | None = None
    last_event_hash = ZERO_HASH
    MANUFACTURED = EventType.BATTERY_MANUFACTURED
    GRANTED = EventType.ACCESS_GRANTED
    LOT_IN, LOT_OUT = EventType.RECYCLING_LOT_RECEIVED, EventType.RECYCLING_LOT_PRODUCED
    lot_events: list[tuple[str, Any]] = []
    recorded_b = recorded_at.encode()
    dumps = orjson.dumps
    fromhex = bytes.fromhex

    for index, (
        ev,
        occurred_at,
        payload_text,
        key,
        content_hash,
        payload_size,
        content_digest,
        default_key,
        idem,
        payload_checked,
    ) in enumerate(
        zip(
            events,
            prepared.occurred_at,
            prepared.payload_text,
            prepared.idempotency_key,
            prepared.content_hash,
            prepared.payload_bytes,
            prepared.content_digest,
            prepared.default_key,
            idem_digests,
            prepared.payload_checked,
            strict=True,
        )
    ):
        bid = ev.battery_id
        et = ev.event_type
        hit = stored.get(idem)
        if hit is None and idem in seen_keys:
            ch, pos = seen_keys[idem]
            hit = (ch, pos, batch_id)
        if hit is not None:
            if hit[0] != content_digest:
                raise ConflictError(
                    f"battery {bid}: idempotency key {key} was already used (position {hit[1]}) "
                    "for a different event"
                )
            duplicate_leaves.append([index, content_hash, key])
            dup_positions.append(hit[1])
            dup_batch = dup_batch or hit[2]
            continue
        if payload_size > max_payload_bytes:
            raise ValidationError(
                f"battery {bid}: {et} payload is {payload_size} bytes, over the limit of {max_payload_bytes}"
            )
        payload = ev.payload
        prev = local[bid] if bid in local else (rows[bid] if bid in rows else get(bid))
        new = decide(
            prev.status if prev is not None else None,
            bid,
            et,
            actor,
            payload,
            unit,
            known_orgs,
            taken_codes,
            parsed_codes.get(index, ()),
            payload_checked,
        )
        if et is GRANTED:
            check_grant_current(bid, payload, today=date.fromisoformat(recorded_at[:10]))
        if index in parsed_codes:
            codes.extend((scheme, code, bid, position + 1) for scheme, code in parsed_codes[index])
        position += 1
        prev_hash = prev.last_hash if prev is not None else ZERO_HASH
        seq = new.version
        eid = ids[index]
        # event_hash_fast inlined (the hot loop): canonical {battery_id, content_hash, event_id, position,
        # prev_hash, recorded_at, stream_seq}
        digest = sha256(
            b'{"battery_id":%b,"content_hash":"%b","event_id":"%b","position":%d,"prev_hash":"%b",'
            b'"recorded_at":"%b","stream_seq":%d}'
            % (
                dumps(bid),
                content_hash.encode(),
                eid.encode(),
                position,
                prev_hash.encode(),
                recorded_b,
                seq,
            )
        ).digest()
        h = digest.hex()
        event_rows.append(
            (
                position,
                eid,
                bid,
                seq,
                et.value,
                ev.schema_version,
                occurred_at,
                payload_text,
                None if default_key else key,
                idem,
                fromhex(prev_hash),
                digest,
            )
        )
        if prev is None or et is MANUFACTURED:
            local[bid] = next_row(prev, new, event_type=et, payload=payload, event_hash=h, position=position)
        else:
            local[bid] = BatteryRow(new, h, position, prev.chemistry, prev.category, prev.level)
        seen_keys[idem] = (content_digest, position)
        last_event_hash = h
        if et is LOT_IN or et is LOT_OUT:
            lot_events.append((et.value, payload))

    if lot_events:
        check_lot_batch(cache.lots, cur, sql, head, actor, lot_events)

    if not event_rows:  # a pure replay: nothing to write
        cache.head, cache.checkpoint = head, prev_checkpoint
        replay = AppendResult(
            batch_id=dup_batch or "",
            appended=0,
            duplicates=len(duplicate_leaves),
            first_position=min(dup_positions),
            last_position=max(dup_positions),
            merkle_root=merkle_root,
        )
        return replay, None

    first_position = head + 1
    checkpoint = checkpoint_of(
        prev_checkpoint=prev_checkpoint,
        batch_id=batch_id,
        merkle_root=merkle_root,
        first_position=first_position,
        last_position=position,
        last_event_hash=last_event_hash,
        events_hash=events_hash_of(row[11] for row in event_rows),
    )
    grown = (  # the global Merkle tree's new nodes (and a signed head at the cadence), same transaction
        tree.grow(
            cur,
            sql,
            (head, prev_checkpoint),
            (position, checkpoint),
            [r[11] for r in event_rows],
            recorded_at,
            keylog,
        )
        if tree is not None
        else None
    )
    changed = [row_to_db(row) for row in local.values() if row is not None and row.last_position > head]
    batch_row = (
        batch_id,
        actor,
        batch.key_id,
        merkle_root,
        batch.signature,
        len(events),
        first_position,
        position,
        recorded_at,
        orjson.dumps(duplicate_leaves).decode() if duplicate_leaves else "",
        prev_checkpoint,
        checkpoint,
    )

    def write(cur: Any = cur) -> None:
        """The inserts, inside the caller's write transaction (on ``cur``: by default the one validated on)."""
        if sql.pg:
            with cur.copy(f"COPY events ({', '.join(STORED_EVENT_COLUMNS)}) FROM STDIN") as copy:
                for erow in event_rows:
                    copy.write_row(erow)
        else:
            cur.executemany(_INSERT_EVENTS, event_rows)
        cur.execute(sql.q(_INSERT_BATCH), batch_row)
        cur.executemany(sql.q(_UPSERT_STATE), changed)
        if codes:
            cur.executemany(sql.q(_INSERT_CODE), codes)
        if grown is not None:
            grown.write(cur, sql)

    # the caller runs write(), commits, and on success calls commit_cache
    cache.pending = (local, position, checkpoint)
    result = AppendResult(
        batch_id=batch_id,
        appended=len(event_rows),
        duplicates=len(duplicate_leaves),
        first_position=first_position,
        last_position=position,
        merkle_root=merkle_root,
    )
    return result, write


def commit_cache(cache: StreamCache) -> None:
    if cache.pending is None:
        return
    local, head, checkpoint = cache.pending
    cache.rows.update(local)
    cache.head = head
    cache.checkpoint = checkpoint
    cache.pending = None
