"""JSON API of the compliance capability: parse the request, make one service call, render through ``schemas``.

GET /compliance/rules                  the packaged jurisdictions (rule packs)
GET /compliance/rules/{jurisdiction}   a pack's rules, each with its cited value (``prefix`` narrows)
POST /compliance/lots                  record lots (a signed batch), refused when the mass balance fails
GET /compliance/recyclers/{recycler}   a recycler's report (``format`` json, csv or xlsx)
GET /compliance/recycled-content       recycled-content shares per battery model, backed by output lots
GET /compliance/traceability           late or missing traceability reports
"""

from __future__ import annotations

from fastapi import APIRouter

from batteryloop.compliance import service
from batteryloop.compliance.schemas import RulePackSummaryOut, RulesOut

router = APIRouter(tags=["compliance"])


@router.get("/compliance/rules")
def rule_packs_endpoint() -> list[RulePackSummaryOut]:
    return [RulePackSummaryOut.from_result(s) for s in service.list_rule_packs()]


@router.get("/compliance/rules/{jurisdiction}")
def rules_endpoint(jurisdiction: str, prefix: str = "") -> RulesOut:
    return RulesOut.from_result(service.rule_pack(jurisdiction, prefix=prefix))


# --- recyclers -------------------------------------------------------------------------------------------

from fastapi import Query, Response  # noqa: E402

from batteryloop.compliance import report  # noqa: E402
from batteryloop.compliance.schemas import (  # noqa: E402
    AppendedOut,
    LotBatchIn,
    RecycledContentOut,
    RecyclerReportOut,
    TraceabilityOut,
)
from batteryloop.ledger.deps import LedgerDep  # noqa: E402
from batteryloop.orgs.deps import OrgDep  # noqa: E402


@router.post("/compliance/lots", status_code=201)
def record_lots_endpoint(body: LotBatchIn, ledger: LedgerDep, caller: OrgDep) -> AppendedOut:
    """Record a recycler's input and output lots (a signed batch, as ``POST /events``), refused whole when the
    lots would not balance (outputs heavier than inputs) or a battery is not the caller's."""
    result = service.record_lots(
        ledger, body.to_input(), caller=caller, key_id=body.key_id, signature=body.signature_bytes()
    )
    return AppendedOut(
        batch_id=result.batch_id,
        appended=result.appended,
        first_position=result.first_position,
        last_position=result.last_position,
    )


@router.get(
    "/compliance/recyclers/{recycler}",
    response_model=None,
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        }
    },
)
def recycler_report_endpoint(
    recycler: str,
    ledger: LedgerDep,
    caller: OrgDep,
    jurisdiction: str = Query(default="eu", description="rule pack (eu, cn, ...)"),
    year: int | None = Query(default=None, ge=1990, le=2100),
    at_position: int | None = Query(default=None, ge=0, description="compute as of this ledger position"),
    fmt: str = Query(default="json", alias="format", pattern="^(json|csv|xlsx)$"),
) -> Response | RecyclerReportOut:
    """A recycler's recycling efficiency, material recovery, white-list conditions and late or missing
    traceability reports, with the ledger position it was computed at (the recycler itself and authorities)."""
    result = service.recycler_report(
        ledger,
        recycler=recycler,
        jurisdiction=jurisdiction,
        year=year,
        caller=caller,
        at_position=at_position,
    )
    name = f"recycler-{recycler}-{jurisdiction}"
    if fmt == "csv":
        return Response(
            report.recycler_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "xlsx":
        return Response(
            report.recycler_xlsx(result),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return RecyclerReportOut.from_result(result)


@router.get("/compliance/recycled-content")
def recycled_content_endpoint(
    ledger: LedgerDep,
    caller: OrgDep,
    jurisdiction: str = Query(default="eu"),
    producer: str | None = Query(default=None),
    at_position: int | None = Query(default=None, ge=0),
) -> RecycledContentOut:
    """Recycled-content shares per battery model backed by recyclers' output lots (a producer sees its own)."""
    return RecycledContentOut.from_result(
        service.recycled_content(
            ledger, jurisdiction=jurisdiction, producer=producer, caller=caller, at_position=at_position
        )
    )


@router.get("/compliance/traceability")
def traceability_endpoint(
    ledger: LedgerDep,
    caller: OrgDep,
    jurisdiction: str = Query(default="cn"),
    at_position: int | None = Query(default=None, ge=0),
) -> TraceabilityOut:
    """Late or missing traceability reports against each actor's deadline (an organisation sees its own)."""
    return TraceabilityOut.from_result(
        service.traceability_findings(
            ledger, jurisdiction=jurisdiction, caller=caller, at_position=at_position
        )
    )


# --- producers and regulators ----------------------------------------------------------------------------
