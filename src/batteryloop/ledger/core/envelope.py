"""What the ledger hands back: recorded events, append results, verification reports, traces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from batteryloop.domain.lifecycle import EventType, UnitStatus


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One stored event: the envelope (position, ids, stream sequence, hashes) around the payload."""

    position: int
    event_id: str  # UUIDv7: time-ordered
    battery_id: str
    stream_seq: int
    event_type: EventType
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    payload: dict[str, Any]
    payload_hash: str
    idempotency_key: str
    content_hash: str
    prev_hash: str
    event_hash: str
    batch_id: str


@dataclass(frozen=True, slots=True)
class AppendResult:
    """``appended`` new events at positions first..last; ``duplicates`` were replays already stored.

    A batch made only of replays writes nothing and reports the batch and positions of the originals.
    """

    batch_id: str
    appended: int
    duplicates: int
    first_position: int
    last_position: int
    merkle_root: str


@dataclass(frozen=True, slots=True)
class BrokenEvent:
    """The first place where the stored ledger disagrees with its own hashes."""

    position: int | None
    event_id: str | None
    battery_id: str | None
    batch_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    events_checked: int
    batches_checked: int
    first_broken: BrokenEvent | None = None


@dataclass(slots=True, unsafe_hash=True)
class BatteryRow:
    """The projection row: the fold's UnitStatus plus static facts from the registration.

    A value, never assigned to once built; not ``frozen`` for the same reason as UnitStatus: it is built
    once per event on the write path, where a frozen ``__init__`` is several times slower.
    """

    status: UnitStatus
    last_hash: str
    last_position: int
    chemistry: str | None
    category: str | None
    level: str | None


@dataclass(frozen=True, slots=True)
class CustodySpan:
    """``org`` held the unit from ``from_at`` until ``to_at`` (None: still holds it)."""

    org: str
    from_at: datetime
    to_at: datetime | None


@dataclass(frozen=True, slots=True)
class TreeNode:
    battery_id: str
    level: str | None
    state: str
    children: tuple[TreeNode, ...] = ()


@dataclass(frozen=True, slots=True)
class Trace:
    status: UnitStatus
    row: BatteryRow
    ancestors: tuple[str, ...]  # parent first, root last
    descendants: TreeNode
    custody: tuple[CustodySpan, ...]
    history: tuple[RecordedEvent, ...]
    chain_ok: bool
    chain_error: str | None = None


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    events: int
    batches: int
    batteries: int
    organisations: int
    by_chemistry_state: dict[tuple[str, str], int] = field(default_factory=dict)
    by_custodian: dict[str, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    # custody of the roots of the unit trees (units with no parent: packs, systems, loose cells/modules)
    by_root_custodian: dict[str, int] = field(default_factory=dict)
    root_units: int = 0
