"""The current-state projection: one row per battery, the fold of its stream plus registration facts.

The write path updates it in the same transaction as the append; :func:`fold_rows` rebuilds it from the
ledger alone (``Ledger.rebuild_projection``), and the two must agree row for row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from batteryloop.domain.lifecycle import BatteryState, EventType, UnitStatus, apply
from batteryloop.ledger.core.envelope import BatteryRow

STATE_COLUMNS = (
    "battery_id",
    "state",
    "custodian",
    "manufacturer",
    "parent_id",
    "pending_custodian",
    "resume_state",
    "soh_pct",
    "predecessor_id",
    "successor_id",
    "version",
    "last_hash",
    "last_position",
    "chemistry",
    "category",
    "level",
)
SELECT_STATE = "SELECT " + ", ".join(STATE_COLUMNS) + " FROM battery_state"


def row_from_db(row: Sequence[Any]) -> BatteryRow:
    status = UnitStatus(
        battery_id=row[0],
        state=BatteryState(row[1]),
        custodian=row[2],
        manufacturer=row[3],
        parent_id=row[4],
        pending_custodian=row[5],
        resume_state=BatteryState(row[6]) if row[6] is not None else None,
        soh_pct=float(row[7]) if row[7] is not None else None,
        predecessor_id=row[8],
        successor_id=row[9],
        version=int(row[10]),
    )
    return BatteryRow(status, row[11], int(row[12]), row[13], row[14], row[15])


def row_to_db(row: BatteryRow) -> tuple[Any, ...]:
    s = row.status
    return (
        s.battery_id,
        s.state.value,
        s.custodian,
        s.manufacturer,
        s.parent_id,
        s.pending_custodian,
        s.resume_state.value if s.resume_state is not None else None,
        s.soh_pct,
        s.predecessor_id,
        s.successor_id,
        s.version,
        row.last_hash,
        row.last_position,
        row.chemistry,
        row.category,
        row.level,
    )


def next_row(
    prev: BatteryRow | None,
    status: UnitStatus,
    *,
    event_type: EventType,
    payload: Mapping[str, Any],
    event_hash: str,
    position: int,
) -> BatteryRow:
    """The projection row after one event whose fold gave ``status``."""
    if prev is None or event_type is EventType.BATTERY_MANUFACTURED:
        return BatteryRow(
            status,
            event_hash,
            position,
            _opt_str(payload.get("chemistry")),
            _opt_str(payload.get("category")),
            _opt_str(payload.get("level")),
        )
    return BatteryRow(status, event_hash, position, prev.chemistry, prev.category, prev.level)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def fold_rows(
    events: Iterable[tuple[str, str, str, Mapping[str, Any], str, int]],
) -> dict[str, BatteryRow]:
    """Fold (battery_id, event_type, actor, payload, event_hash, position) in position order."""
    rows: dict[str, BatteryRow] = {}
    for battery_id, event_type, actor, payload, event_hash, position in events:
        et = EventType(event_type)
        prev = rows.get(battery_id)
        status = apply(
            prev.status if prev is not None else None,
            battery_id=battery_id,
            event_type=et,
            actor=actor,
            payload=payload,
        )
        rows[battery_id] = next_row(
            prev, status, event_type=et, payload=payload, event_hash=event_hash, position=position
        )
    return rows
