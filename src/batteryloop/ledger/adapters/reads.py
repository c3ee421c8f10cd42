"""The ledger's reads: streams, projection rows, the unit tree, traces, counts; each from one snapshot."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select

from batteryloop.db.schema import batches, battery_state, events, organisations
from batteryloop.domain.errors import NotFoundError
from batteryloop.domain.lifecycle import EventType, UnitStatus, apply
from batteryloop.ledger.adapters.projection import SELECT_STATE, row_from_db
from batteryloop.ledger.adapters.store import READ_EVENTS, content_of_stored
from batteryloop.ledger.adapters.tx import Database, Query
from batteryloop.ledger.core.envelope import (
    BatteryRow,
    CustodySpan,
    LedgerCounts,
    RecordedEvent,
    Trace,
    TreeNode,
)
from batteryloop.ledger.core.integrity import ZERO_DIGEST, event_hash_of

_MAX_TREE_DEPTH = 16


def derived_of_row(row: Any) -> tuple[str, str, str]:
    """(payload hash, idempotency key, content hash) of a read row (READ_COLUMNS), as hex / text."""
    return content_of_stored(row[8], row[2], row[4], row[10], row[6], row[9], row[5])


def recorded_from_row(row: Any, derived: tuple[str, str, str] | None = None) -> RecordedEvent:
    """The envelope of a read row; ``derived``: its :func:`derived_of_row`, when already computed."""
    payload_hash, key, content_hash = derived or derived_of_row(row)
    return RecordedEvent(
        position=int(row[0]),
        event_id=row[1],
        battery_id=row[2],
        stream_seq=int(row[3]),
        event_type=EventType(row[4]),
        schema_version=int(row[5]),
        occurred_at=datetime.fromisoformat(row[6]),
        recorded_at=datetime.fromisoformat(row[7]),
        actor=row[8],
        payload=orjson.loads(row[9]),
        payload_hash=payload_hash,
        idempotency_key=key,
        content_hash=content_hash,
        prev_hash=bytes(row[11]).hex(),
        event_hash=bytes(row[12]).hex(),
        batch_id=row[13],
    )


def check_stream_chain(rows: Sequence[Any], derived: Sequence[tuple[str, str, str]]) -> str | None:
    """Recompute the event hashes and the chain of one stream's read rows (seq order), each with its
    :func:`derived_of_row` (the content hash comes from there).

    Returns None when intact, else the reason naming the first broken event.
    """
    prev = ZERO_DIGEST
    expected_seq = 1
    for row, (_payload_hash, _key, content_hash) in zip(rows, derived, strict=True):
        position, event_id, battery_id, seq, _type, _version, _occurred, recorded_at = row[:8]
        prev_hash, event_hash = row[11], row[12]
        where = f"event {event_id} at position {position}"
        if not all(type(h) is bytes for h in (prev_hash, event_hash)):
            return f"{where}: a stored hash is not a digest"
        if seq != expected_seq:
            return f"{where}: stream sequence {seq}, expected {expected_seq}"
        if prev_hash != prev:
            return f"{where}: previous hash does not match the stream's preceding event"
        eh = event_hash_of(
            position=position,
            event_id=event_id,
            battery_id=battery_id,
            stream_seq=seq,
            recorded_at=recorded_at,
            content_hash=content_hash,
            prev_hash=prev_hash.hex(),
        )
        if eh != event_hash.hex():
            return f"{where}: event hash does not match the event's fields"
        prev = event_hash
        expected_seq += 1
    return None


def custody_spans(history: Iterable[RecordedEvent]) -> tuple[CustodySpan, ...]:
    """Who held the unit when, from the fold of its history (hand-over to acceptance is in transit)."""
    spans: list[CustodySpan] = []
    status: UnitStatus | None = None
    for ev in history:
        before = status.custodian if status is not None else None
        status = apply(
            status, battery_id=ev.battery_id, event_type=ev.event_type, actor=ev.actor, payload=ev.payload
        )
        if status.custodian != before:
            if spans:
                last = spans[-1]
                spans[-1] = CustodySpan(last.org, last.from_at, ev.occurred_at)
            spans.append(CustodySpan(status.custodian, ev.occurred_at, None))
    return tuple(spans)


def _stream_rows(query: Query, battery_id: str) -> list[Any]:
    rows = query(READ_EVENTS + " WHERE e.battery_id = ? ORDER BY e.stream_seq", (battery_id,))
    if not rows:
        raise NotFoundError(f"battery {battery_id} is not registered")
    return rows


def _battery(query: Query, battery_id: str) -> BatteryRow:
    rows = query(SELECT_STATE + " WHERE battery_id = ?", (battery_id,))
    if not rows:
        raise NotFoundError(f"battery {battery_id} is not registered")
    return row_from_db(rows[0])


def _children(query: Query, battery_id: str) -> list[str]:
    rows = query(
        "SELECT battery_id FROM battery_state WHERE parent_id = ? ORDER BY battery_id", (battery_id,)
    )
    return [r[0] for r in rows]


def _tree(query: Query, row: BatteryRow, depth: int = 0) -> TreeNode:
    kids: tuple[TreeNode, ...] = ()
    if depth < _MAX_TREE_DEPTH:
        kids = tuple(
            _tree(query, _battery(query, c), depth + 1) for c in _children(query, row.status.battery_id)
        )
    return TreeNode(row.status.battery_id, row.level, row.status.state.value, kids)


class Reads:
    """Read-only queries of one ledger."""

    def __init__(self, db: Database, *, read_chunk_events: int) -> None:
        self.db = db
        self.read_chunk_events = read_chunk_events

    def find_by_code(self, scheme: str, code: str) -> str:
        rows = self.db.rows("SELECT battery_id FROM codes WHERE scheme = ? AND code = ?", (scheme, code))
        if not rows:
            raise NotFoundError(f"no battery is registered under {scheme} code {code!r}")
        return str(rows[0][0])

    def read_stream(self, battery_id: str) -> list[RecordedEvent]:
        with self.db.reading() as query:
            return [recorded_from_row(r) for r in _stream_rows(query, battery_id)]

    def battery(self, battery_id: str) -> BatteryRow:
        with self.db.reading() as query:
            return _battery(query, battery_id)

    def children(self, battery_id: str) -> list[str]:
        with self.db.reading() as query:
            return _children(query, battery_id)

    def batteries(self, *, custodian: str | None, limit: int) -> list[BatteryRow]:
        if custodian is None:
            rows = self.db.rows(SELECT_STATE + " ORDER BY battery_id LIMIT ?", (limit,))
        else:
            rows = self.db.rows(
                SELECT_STATE + " WHERE custodian = ? ORDER BY battery_id LIMIT ?", (custodian, limit)
            )
        return [row_from_db(r) for r in rows]

    def trace(self, battery_id: str) -> Trace:
        with self.db.reading() as query:
            raw_rows = _stream_rows(query, battery_id)
            row = _battery(query, battery_id)
            ancestors: list[str] = []
            current = row
            while current.status.parent_id is not None and current.status.parent_id not in ancestors:
                ancestors.append(current.status.parent_id)
                current = _battery(query, current.status.parent_id)
            descendants = _tree(query, row)
        derived = [derived_of_row(r) for r in raw_rows]  # once, for the envelopes and the chain check
        history = tuple(map(recorded_from_row, raw_rows, derived))
        chain_error = check_stream_chain(raw_rows, derived)
        if chain_error is None and bytes(raw_rows[-1][12]).hex() != row.last_hash:
            chain_error = "the projection's last hash is not the stream's last event hash"
        return Trace(
            status=row.status,
            row=row,
            ancestors=tuple(ancestors),
            descendants=descendants,
            custody=custody_spans(history),
            history=history,
            chain_ok=chain_error is None,
            chain_error=chain_error,
        )

    def iter_events(self, after_position: int, batch_size: int | None) -> Iterator[RecordedEvent]:
        size = batch_size or self.read_chunk_events
        last = after_position
        while True:
            rows = self.db.rows(
                READ_EVENTS + " WHERE e.position > ? ORDER BY e.position LIMIT ?", (last, size)
            )
            if not rows:
                return
            for r in rows:
                yield recorded_from_row(r)
            last = int(rows[-1][0])

    def counts(self) -> LedgerCounts:
        with self.db.core() as conn:
            n_events = conn.execute(select(func.count()).select_from(events)).scalar_one()
            n_batches = conn.execute(select(func.count()).select_from(batches)).scalar_one()
            n_orgs = conn.execute(select(func.count()).select_from(organisations)).scalar_one()
            chem_state = conn.execute(
                select(battery_state.c.chemistry, battery_state.c.state, func.count()).group_by(
                    battery_state.c.chemistry, battery_state.c.state
                )
            ).all()
            custodians = conn.execute(
                select(battery_state.c.custodian, func.count()).group_by(battery_state.c.custodian)
            ).all()
            root_custodians = conn.execute(
                select(battery_state.c.custodian, func.count())
                .where(battery_state.c.parent_id.is_(None))
                .group_by(battery_state.c.custodian)
            ).all()
        by_state: dict[str, int] = {}
        for _chem, state, n in chem_state:
            by_state[state] = by_state.get(state, 0) + n
        return LedgerCounts(
            events=n_events,
            batches=n_batches,
            batteries=sum(by_state.values()),
            organisations=n_orgs,
            by_chemistry_state={(c or "unknown", s): n for c, s, n in chem_state},
            by_custodian={str(c): int(n) for c, n in custodians},
            by_state=by_state,
            by_root_custodian={str(c): int(n) for c, n in root_custodians},
            root_units=sum(int(n) for _c, n in root_custodians),
        )
