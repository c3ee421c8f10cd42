"""JSON API routes: organisations and keys, batteries, events (single batch and bulk NDJSON), trace, verify.

Authorisation is decided here, on the server, for every request:
- creating organisations and API keys needs the administrator token;
- an organisation appends only through the ledger, which checks its signature and custody;
- a battery's trace is readable by the organisations in its custody chain (and its manufacturer), and by
  authorities and notified bodies; the public reaches batteries only through their passport.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from batteryloop.api.app import decode_signature
from batteryloop.api.deps import LedgerDep, OrgDep, require_admin
from batteryloop.api.schemas import (
    ApiKeyRead,
    AppendRead,
    BatchCreate,
    BatteryListRead,
    BatteryRead,
    CertificationIn,
    CustodyLinkRead,
    EventRead,
    OrganisationCreate,
    OrganisationRead,
    SigningKeyCreate,
    SigningKeyRead,
    TraceRead,
    TreeNodeRead,
    VerifyRead,
)
from batteryloop.domain.errors import SignatureError, ValidationError
from batteryloop.domain.organisation import Certification, Organisation, Role

router = APIRouter()

MAX_BULK_BYTES = 64 * 1024 * 1024
PRIVILEGED_READERS = frozenset({Role.AUTHORITY, Role.NOTIFIED_BODY})


def _org_read(org: Organisation) -> OrganisationRead:
    return OrganisationRead(
        org_id=org.org_id,
        name=org.name,
        country=org.country,
        roles=sorted(str(r) for r in org.roles),
        certifications=[
            CertificationIn(
                scheme=c.scheme, reference=c.reference, valid_from=c.valid_from, valid_until=c.valid_until
            )
            for c in org.certifications
        ],
    )


@router.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/organisations", response_model=list[OrganisationRead], tags=["organisations"])
def list_organisations(ledger: LedgerDep) -> list[OrganisationRead]:
    return [_org_read(o) for o in ledger.list_organisations()]


@router.post(
    "/organisations",
    response_model=OrganisationRead,
    status_code=201,
    tags=["organisations"],
    dependencies=[Depends(require_admin)],
)
def create_organisation(body: OrganisationCreate, ledger: LedgerDep) -> OrganisationRead:
    org = Organisation(
        org_id=body.org_id,
        name=body.name,
        country=body.country,
        roles=frozenset(body.roles),
        certifications=tuple(
            Certification(
                scheme=c.scheme, reference=c.reference, valid_from=c.valid_from, valid_until=c.valid_until
            )
            for c in body.certifications
        ),
    )
    ledger.register_organisation(org)
    return _org_read(org)


@router.post(
    "/organisations/{org_id}/api-keys",
    response_model=ApiKeyRead,
    status_code=201,
    tags=["organisations"],
    dependencies=[Depends(require_admin)],
)
def issue_api_key(org_id: str, ledger: LedgerDep) -> ApiKeyRead:
    return ApiKeyRead(org_id=org_id, api_key=ledger.issue_api_key(org_id))


@router.post(
    "/organisations/{org_id}/signing-keys",
    response_model=SigningKeyRead,
    status_code=201,
    tags=["organisations"],
)
def add_signing_key(org_id: str, body: SigningKeyCreate, ledger: LedgerDep, caller: OrgDep) -> SigningKeyRead:
    if caller.org_id != org_id:
        raise PermissionError(f"{caller.org_id} may not add signing keys for {org_id}")
    key_id = ledger.add_signing_key(org_id, bytes.fromhex(body.public_key_hex))
    return SigningKeyRead(key_id=key_id, public_key_hex=body.public_key_hex.lower())


def _append(
    ledger: Any,
    caller: Organisation,
    *,
    key_id: str,
    signature: str | None,
    events: list[Any],
    expected_versions: dict[str, int] | None,
) -> AppendRead:
    result = ledger.append_events(
        events,
        actor=caller.org_id,
        key_id=key_id,
        signature=decode_signature(signature),
        expected_versions=expected_versions,
    )
    return AppendRead(
        batch_id=str(result.batch_id),
        appended=result.appended,
        duplicates=result.duplicates,
        first_position=result.first_position,
        last_position=result.last_position,
        merkle_root=result.merkle_root,
    )


@router.post("/events", response_model=AppendRead, status_code=201, tags=["events"])
def append_events(body: BatchCreate, ledger: LedgerDep, caller: OrgDep) -> AppendRead:
    """Append one signed batch (atomic: all events or none)."""
    from batteryloop.interchange import event_from_mapping

    events = [
        event_from_mapping(e.model_dump(mode="json"), line=i) for i, e in enumerate(body.events, start=1)
    ]
    return _append(
        ledger,
        caller,
        key_id=body.key_id,
        signature=body.signature,
        events=events,
        expected_versions=body.expected_versions,
    )


@router.post("/events/bulk", response_model=AppendRead, status_code=201, tags=["events"])
async def append_events_bulk(request: Request, ledger: LedgerDep, caller: OrgDep) -> AppendRead:
    """Append NDJSON (one event per line) as one signed batch. Headers: X-Key-Id, X-Signature."""
    from batteryloop.interchange import parse_ndjson

    key_id = request.headers.get("x-key-id")
    if not key_id:
        raise SignatureError("the X-Key-Id header naming the signing key is missing")
    body = await request.body()
    if len(body) > MAX_BULK_BYTES:
        raise ValidationError(f"the body is {len(body)} bytes; the limit is {MAX_BULK_BYTES}")
    events = parse_ndjson(body.splitlines())
    if not events:
        raise ValidationError("the body holds no events")
    return _append(
        ledger,
        caller,
        key_id=key_id,
        signature=request.headers.get("x-signature"),
        events=events,
        expected_versions=None,
    )


def _readable_trace(ledger: Any, battery_id: str, caller: Organisation) -> Any:
    trace = ledger.trace(battery_id)
    if caller.roles & PRIVILEGED_READERS:
        return trace
    involved = {link.org for link in trace.custody} | {trace.status.manufacturer}
    if caller.org_id not in involved:
        raise PermissionError(
            f"{caller.org_id} has never held battery {battery_id}; only its custodians, authorities and "
            "notified bodies may read its trace (the public sees its passport)"
        )
    return trace


def _battery_read(status: Any) -> BatteryRead:
    return BatteryRead(
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
    )


def _event_read(e: Any) -> EventRead:
    return EventRead(
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


def _tree(nodes: Any) -> list[TreeNodeRead]:
    return [TreeNodeRead(battery_id=n.battery_id, level=n.level, children=_tree(n.children)) for n in nodes]


@router.get("/batteries", response_model=BatteryListRead, tags=["batteries"])
def list_batteries(
    ledger: LedgerDep,
    caller: OrgDep,
    custodian: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> BatteryListRead:
    """Battery units held by the caller (authorities and notified bodies may name any custodian)."""
    holder = custodian or caller.org_id
    if holder != caller.org_id and not caller.roles & PRIVILEGED_READERS:
        raise PermissionError(f"{caller.org_id} may list only the batteries it holds, not those of {holder}")
    rows = ledger.batteries(custodian=holder, limit=limit)
    return BatteryListRead(custodian=holder, batteries=[_battery_read(r.status) for r in rows])


@router.get("/batteries/{battery_id}", response_model=BatteryRead, tags=["batteries"])
def get_battery(battery_id: str, ledger: LedgerDep, caller: OrgDep) -> BatteryRead:
    return _battery_read(_readable_trace(ledger, battery_id, caller).status)


@router.get("/batteries/{battery_id}/events", response_model=list[EventRead], tags=["batteries"])
def get_battery_events(battery_id: str, ledger: LedgerDep, caller: OrgDep) -> list[EventRead]:
    return [_event_read(e) for e in _readable_trace(ledger, battery_id, caller).history]


@router.get("/batteries/{battery_id}/trace", response_model=TraceRead, tags=["batteries"])
def get_trace(battery_id: str, ledger: LedgerDep, caller: OrgDep) -> TraceRead:
    t = _readable_trace(ledger, battery_id, caller)
    return TraceRead(
        battery=_battery_read(t.status),
        chain_ok=t.chain_ok,
        ancestors=list(t.ancestors),
        descendants=_tree(t.descendants.children),
        custody=[CustodyLinkRead(org=c.org, start=c.from_at, end=c.to_at) for c in t.custody],
        history=[_event_read(e) for e in t.history],
    )


@router.get("/verify", response_model=VerifyRead, tags=["ledger"])
def verify(ledger: LedgerDep, caller: OrgDep) -> VerifyRead:
    """Full integrity check of the ledger (authorities and notified bodies)."""
    if not caller.roles & PRIVILEGED_READERS:
        raise PermissionError("only authorities and notified bodies may run a full verification")
    report = ledger.verify()
    broken = report.first_broken
    return VerifyRead(
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
