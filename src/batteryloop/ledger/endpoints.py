"""HTTP endpoints of the ledger: events (one signed batch, bulk NDJSON), batteries (listing, status, events,
trace) and verification. Each parses the request, makes one service call and answers with a schema; who may
read what is decided by the service (``ledger.access``)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from batteryloop.domain.errors import SignatureError, ValidationError
from batteryloop.ledger import service
from batteryloop.ledger.deps import LedgerDep
from batteryloop.ledger.schemas import (
    AppendRead,
    BatchCreate,
    BatteryListRead,
    BatteryRead,
    EventRead,
    StoredCheckRead,
    TraceRead,
    VerifyRead,
    decode_signature,
)
from batteryloop.orgs.deps import OrgDep
from batteryloop.web.offload import run_blocking

__all__ = ["router"]

router = APIRouter()

MAX_BULK_BYTES = 64 * 1024 * 1024


@router.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/events", response_model=AppendRead, status_code=201, tags=["events"])
def append_events(body: BatchCreate, ledger: LedgerDep, caller: OrgDep) -> AppendRead:
    """Append one signed batch (atomic: all events or none)."""
    result = service.append_events(
        ledger,
        body.to_input(),
        caller=caller,
        key_id=body.key_id,
        signature=decode_signature(body.signature),
        expected_versions=body.expected_versions,
    )
    return AppendRead.from_result(result)


@router.post("/events/bulk", response_model=AppendRead, status_code=201, tags=["events"])
async def append_events_bulk(request: Request, ledger: LedgerDep, caller: OrgDep) -> AppendRead:
    """Append NDJSON (one event per line) as one signed batch. Headers: X-Key-Id, X-Signature."""
    from batteryloop.ledger.interchange import parse_ndjson

    key_id = request.headers.get("x-key-id")
    if not key_id:
        raise SignatureError("the X-Key-Id header naming the signing key is missing")
    signature = decode_signature(request.headers.get("x-signature"))
    body = await request.body()  # bounded by the edge (web.body_limits_bytes)
    if len(body) > MAX_BULK_BYTES:
        raise ValidationError(f"the body is {len(body)} bytes; the limit is {MAX_BULK_BYTES}")

    def append() -> AppendRead:
        events = parse_ndjson(body.splitlines())
        if not events:
            raise ValidationError("the body holds no events")
        result = service.append_events(ledger, events, caller=caller, key_id=key_id, signature=signature)
        return AppendRead.from_result(result)

    return await run_blocking(request.app.state, append)  # off the event loop: reads stay served


@router.get(
    "/events/export",
    tags=["events"],
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "one event per line"}},
)
def export_events(
    ledger: LedgerDep,
    caller: OrgDep,
    after_position: int = Query(default=0, ge=0, description="only events after this ledger position"),
) -> StreamingResponse:
    """Every event as NDJSON, in position order: the bytes of `batteryloop export FILE.ndjson`
    (authorities and notified bodies; `after_position` fetches only what is new since an earlier export)."""
    lines = service.stream_events(ledger, caller=caller, after_position=after_position)
    return StreamingResponse(
        lines,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="batteryloop-events.ndjson"'},
    )


@router.get("/batteries", response_model=BatteryListRead, tags=["batteries"])
def list_batteries(
    ledger: LedgerDep,
    caller: OrgDep,
    chemistry: str | None = None,
    state: str | None = None,
    holder: str | None = Query(default=None, description="the current custodian"),
    custodian: str | None = Query(default=None, description="the same as holder"),
    organisation: str | None = Query(default=None, description="the holder or the manufacturer"),
    code: str | None = Query(default=None, description="start of a GB/T 34014 or GS1 code, or of the id"),
    limit: int = Query(default=100, ge=1, le=service.MAX_PAGE),
    offset: int = Query(default=0, ge=0),
) -> BatteryListRead:
    """Battery units found by chemistry, state, holder, organisation and code, one page at a time. An
    organisation sees the batteries it holds or made; authorities and notified bodies see any."""
    page = service.list_batteries(
        ledger,
        caller=caller,
        chemistry=chemistry,
        state=state,
        holder=holder or custodian,
        organisation=organisation,
        code=code,
        limit=limit,
        offset=offset,
    )
    return BatteryListRead.from_result(page)


@router.get("/batteries/{battery_id}", response_model=BatteryRead, tags=["batteries"])
def get_battery(battery_id: str, ledger: LedgerDep, caller: OrgDep) -> BatteryRead:
    t = service.trace_for(ledger, battery_id, caller=caller)
    return BatteryRead.from_result(
        t.status, chemistry=t.row.chemistry, category=t.row.category, level=t.row.level
    )


@router.get("/batteries/{battery_id}/events", response_model=list[EventRead], tags=["batteries"])
def get_battery_events(battery_id: str, ledger: LedgerDep, caller: OrgDep) -> list[EventRead]:
    return [EventRead.from_result(e) for e in service.trace_for(ledger, battery_id, caller=caller).history]


@router.get("/batteries/{battery_id}/trace", response_model=TraceRead, tags=["batteries"])
def get_trace(battery_id: str, ledger: LedgerDep, caller: OrgDep) -> TraceRead:
    return TraceRead.from_result(service.checked_trace(ledger, battery_id, caller=caller))


@router.get("/ledger/check", response_model=StoredCheckRead, tags=["ledger"])
def check_stored(
    ledger: LedgerDep, caller: OrgDep, limit: int = Query(1000, ge=1, le=100_000)
) -> StoredCheckRead:
    """Stored events today's input rules would refuse (authorities, notified bodies)."""
    return StoredCheckRead.from_result(service.check_stored(ledger, caller=caller, limit=limit))


@router.get("/verify", response_model=VerifyRead, tags=["ledger"])
def verify(ledger: LedgerDep, caller: OrgDep) -> VerifyRead:
    """Full integrity check of the ledger (authorities and notified bodies)."""
    return VerifyRead.from_result(service.verify(ledger, caller=caller))
