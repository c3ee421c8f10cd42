"""Request and response bodies of the ledger's endpoints (XCreate / XRead naming), with the conversions
from service results (``from_result``) and to service inputs (``to_input``)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from batteryloop.domain.errors import SignatureError

if TYPE_CHECKING:
    from batteryloop.domain.lifecycle import UnitStatus
    from batteryloop.ledger import AppendResult, EventIn, RecordedEvent, TreeNode, VerifyReport
    from batteryloop.ledger.core.stored_check import StoredCheckReport
    from batteryloop.ledger.service import BatteryPage, CheckedTrace


def decode_signature(text: str | None) -> bytes:
    """Signatures travel as base64 (standard or URL-safe) or hex; anything else is a SignatureError."""
    if not text:
        raise SignatureError("the batch has no signature")
    value = text.strip()
    try:
        if len(value) == 128 and all(c in "0123456789abcdefABCDEF" for c in value):
            return bytes.fromhex(value)
        padded = value + "=" * (-len(value) % 4)
        raw = base64.b64decode(
            padded, altchars=b"-_" if ("-" in value or "_" in value) else None, validate=True
        )
    except (binascii.Error, ValueError):
        raise SignatureError("the signature is neither base64 nor hex") from None
    if len(raw) != 64:
        raise SignatureError(f"an Ed25519 signature has 64 bytes, this one has {len(raw)}")
    return raw


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    battery_id: str
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any] = {}
    idempotency_key: str | None = None
    schema_version: int = 1


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key_id: str
    signature: str = Field(description="Ed25519 signature of the batch's Merkle root, base64 or hex")
    events: list[EventCreate] = Field(min_length=1)
    expected_versions: dict[str, int] | None = None

    def to_input(self) -> list[EventIn]:
        from batteryloop.ledger.interchange import event_from_mapping

        return [
            event_from_mapping(e.model_dump(mode="json"), line=i) for i, e in enumerate(self.events, start=1)
        ]


class AppendRead(BaseModel):
    batch_id: str
    appended: int
    duplicates: int
    first_position: int | None
    last_position: int | None
    merkle_root: str

    @classmethod
    def from_result(cls, result: AppendResult) -> AppendRead:
        return cls(
            batch_id=str(result.batch_id),
            appended=result.appended,
            duplicates=result.duplicates,
            first_position=result.first_position,
            last_position=result.last_position,
            merkle_root=result.merkle_root,
        )


class EventRead(BaseModel):
    position: int
    event_id: str
    battery_id: str
    stream_seq: int
    event_type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    payload: dict[str, Any]
    payload_hash: str
    prev_hash: str
    event_hash: str

    @classmethod
    def from_result(cls, e: RecordedEvent) -> EventRead:
        return cls(
            position=e.position,
            event_id=e.event_id,
            battery_id=e.battery_id,
            stream_seq=e.stream_seq,
            event_type=str(e.event_type),
            schema_version=e.schema_version,
            occurred_at=e.occurred_at,
            recorded_at=e.recorded_at,
            actor=e.actor,
            payload=dict(e.payload),
            payload_hash=e.payload_hash,
            prev_hash=e.prev_hash,
            event_hash=e.event_hash,
        )


class BatteryRead(BaseModel):
    battery_id: str
    state: str
    custodian: str
    manufacturer: str
    parent_id: str | None
    pending_custodian: str | None
    soh_pct: float | None
    predecessor_id: str | None
    successor_id: str | None
    version: int
    chemistry: str | None = None
    category: str | None = None
    level: str | None = None

    @classmethod
    def from_result(
        cls,
        status: UnitStatus,
        *,
        chemistry: str | None = None,
        category: str | None = None,
        level: str | None = None,
    ) -> BatteryRead:
        return cls(
            battery_id=status.battery_id,
            state=str(status.state),
            custodian=status.custodian,
            manufacturer=status.manufacturer,
            parent_id=status.parent_id,
            pending_custodian=status.pending_custodian,
            soh_pct=status.soh_pct,
            predecessor_id=status.predecessor_id,
            successor_id=status.successor_id,
            version=status.version,
            chemistry=chemistry,
            category=category,
            level=level,
        )


class BatteryListRead(BaseModel):
    custodian: str | None = Field(description="the holder the listing was restricted to, if any")
    total: int = Field(description="batteries matching the filters")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last page")
    batteries: list[BatteryRead]

    @classmethod
    def from_result(cls, page: BatteryPage) -> BatteryListRead:
        return cls(
            custodian=page.holder,
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            next_offset=page.next_offset,
            batteries=[
                BatteryRead.from_result(r.status, chemistry=r.chemistry, category=r.category, level=r.level)
                for r in page.items
            ],
        )


class CustodyLinkRead(BaseModel):
    org: str
    start: datetime
    end: datetime | None


class TreeNodeRead(BaseModel):
    battery_id: str
    level: str | None
    children: list[TreeNodeRead]

    @classmethod
    def forest(cls, nodes: tuple[TreeNode, ...]) -> list[TreeNodeRead]:
        return [cls(battery_id=n.battery_id, level=n.level, children=cls.forest(n.children)) for n in nodes]


class TraceCheckRead(BaseModel):
    name: str
    ok: bool
    detail: str


class TraceRead(BaseModel):
    battery: BatteryRead
    chain_ok: bool
    verified: bool = Field(
        description="the stream chain holds and every check below holds (batch roots and signatures, "
        "inclusion in the global tree against a head)"
    )
    tree_size: int = Field(description="the global tree size the inclusion proofs were checked against")
    checks: list[TraceCheckRead]
    ancestors: list[str]
    descendants: list[TreeNodeRead]
    custody: list[CustodyLinkRead]
    history: list[EventRead]
    data_issues: list[StoredIssueRead] = Field(
        default_factory=list,
        description="stored values today's input rules refuse (written by an earlier version); the history "
        "shows them as signed, so its hashes can still be checked",
    )

    @classmethod
    def from_result(cls, checked: CheckedTrace) -> TraceRead:
        from batteryloop.ledger.core.stored_check import check_stored

        t = checked.trace
        row = t.row
        issues = check_stored(t.history).issues
        return cls(
            data_issues=[
                StoredIssueRead(**{k: getattr(i, k) for k in StoredIssueRead.model_fields}) for i in issues
            ],
            battery=BatteryRead.from_result(
                t.status, chemistry=row.chemistry, category=row.category, level=row.level
            ),
            chain_ok=t.chain_ok,
            verified=checked.ok,
            tree_size=checked.proofs.tree_size,
            checks=[TraceCheckRead(name=c.name, ok=c.ok, detail=c.detail) for c in checked.proofs.checks],
            ancestors=list(t.ancestors),
            descendants=TreeNodeRead.forest(t.descendants.children),
            custody=[CustodyLinkRead(org=c.org, start=c.from_at, end=c.to_at) for c in t.custody],
            history=[EventRead.from_result(e) for e in t.history],
        )


class VerifyRead(BaseModel):
    ok: bool
    events_checked: int
    batches_checked: int
    first_broken: dict[str, Any] | None

    @classmethod
    def from_result(cls, report: VerifyReport) -> VerifyRead:
        broken = report.first_broken
        return cls(
            ok=report.ok,
            events_checked=report.events_checked,
            batches_checked=report.batches_checked,
            first_broken=None
            if broken is None
            else {
                "position": broken.position,
                "event_id": broken.event_id,
                "battery_id": broken.battery_id,
                "batch_id": broken.batch_id,
                "reason": broken.reason,
            },
        )


class StoredIssueRead(BaseModel):
    position: int
    battery_id: str
    event_type: str
    field: str
    reason: str


class StoredCheckRead(BaseModel):
    """``batteryloop ledger check`` / ``GET /ledger/check``: stored events today's rules would refuse."""

    ok: bool
    events_checked: int
    events_refused: int
    truncated: bool
    issues: list[StoredIssueRead]

    @classmethod
    def from_result(cls, report: StoredCheckReport) -> StoredCheckRead:
        return cls(
            ok=report.ok,
            events_checked=report.events_checked,
            events_refused=report.events_refused,
            truncated=report.truncated,
            issues=[
                StoredIssueRead(
                    position=i.position,
                    battery_id=i.battery_id,
                    event_type=i.event_type,
                    field=i.field,
                    reason=i.reason,
                )
                for i in report.issues
            ],
        )
