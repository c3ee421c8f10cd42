"""JSON API of the compliance capability: parse the request, make one service call, render through ``schemas``.

GET /compliance/rules                  the packaged jurisdictions (rule packs)
GET /compliance/rules/{jurisdiction}   a pack's rules, each with its cited value (``prefix`` narrows)
POST /compliance/lots                  record lots (a signed batch), refused when the mass balance fails
GET /compliance/recyclers/{recycler}   a recycler's report (``format`` json, csv or xlsx)
GET /compliance/recycled-content       recycled-content shares per battery model, backed by output lots
GET /compliance/traceability           late or missing traceability reports
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Response

from batteryloop.compliance import report, service
from batteryloop.compliance.schemas import (
    EprReportOut,
    RegistrationIn,
    RegistrationOut,
    RulePackSummaryOut,
    RulesOut,
)
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.organisation import Role
from batteryloop.ledger.deps import LedgerDep
from batteryloop.orgs.deps import OrgDep

router = APIRouter(tags=["compliance"])


@router.get("/compliance/rules")
def rule_packs_endpoint() -> list[RulePackSummaryOut]:
    return [RulePackSummaryOut.from_result(s) for s in service.list_rule_packs()]


@router.get("/compliance/rules/{jurisdiction}")
def rules_endpoint(jurisdiction: str, prefix: str = "") -> RulesOut:
    return RulesOut.from_result(service.rule_pack(jurisdiction, prefix=prefix))


# --- recyclers -------------------------------------------------------------------------------------------

from fastapi import Query  # noqa: E402

from batteryloop.compliance.schemas import (  # noqa: E402
    AppendedOut,
    LotBatchIn,
    RecycledContentOut,
    RecyclerReportOut,
    TraceabilityOut,
)


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
# GET  /compliance/registrations               the register of producers (a producer sees its own)
# POST /compliance/registrations               register a producer (itself, as its PRO, or as an authority)
# GET  /compliance/epr/{jurisdiction}          the report (format=json|csv|xlsx; section for csv)
# GET  /compliance/epr/{jurisdiction}/batteries  the batteries behind one figure


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"as_of {text!r} is not a date YYYY-MM-DD") from None


@router.get("/compliance/registrations")
def registrations_endpoint(
    ledger: LedgerDep, caller: OrgDep, producer: str | None = None, country: str | None = None
) -> list[RegistrationOut]:
    regs = service.producer_registrations(ledger, producer=producer, country=country)
    if Role.AUTHORITY not in caller.roles:
        regs = tuple(r for r in regs if caller.org_id in (r.producer, r.pro))
    return [RegistrationOut.from_result(r) for r in regs]


@router.post("/compliance/registrations", status_code=201)
def register_endpoint(ledger: LedgerDep, caller: OrgDep, body: RegistrationIn) -> RegistrationOut:
    return RegistrationOut.from_result(service.register_producer(ledger, body.to_input(), caller=caller))


@router.get("/compliance/epr/{jurisdiction}", response_model=None)
def epr_endpoint(
    jurisdiction: str,
    ledger: LedgerDep,
    caller: OrgDep,
    year: int | None = None,
    as_of: str | None = None,
    producer: str | None = None,
    format: str = "json",
    section: str = "collection",
) -> EprReportOut | Response:
    if format not in ("json", "csv", "xlsx"):
        raise ValidationError(f"format {format!r} is not one of json, csv, xlsx")
    result = service.epr_report(
        ledger, jurisdiction=jurisdiction, year=year, as_of=_as_of(as_of), caller=caller, producer=producer
    )
    if format == "csv":
        return Response(report.epr_section_csv(result, section), media_type="text/csv; charset=utf-8")
    if format == "xlsx":
        return Response(
            report.epr_report_xlsx(result),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="epr-{jurisdiction}.xlsx"'},
        )
    return EprReportOut.from_result(result)


@router.get("/compliance/epr/{jurisdiction}/batteries")
def figure_endpoint(
    jurisdiction: str,
    ledger: LedgerDep,
    caller: OrgDep,
    figure: str,
    producer: str | None = None,
    country: str | None = None,
    category: str | None = None,
    year: int | None = None,
    as_of: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    rows = service.figure_batteries(
        ledger,
        jurisdiction=jurisdiction,
        figure=figure,
        caller=caller,
        producer=producer,
        country=country,
        category=category,
        year=year,
        as_of=_as_of(as_of),
        limit=limit,
    )
    return report.figure_rows_to_list(rows)
