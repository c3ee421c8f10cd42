"""JSON API of the compliance capability: parse the request, make one service call, render through ``schemas``.

GET /compliance/rules                  the packaged jurisdictions (rule packs)
GET /compliance/rules/{jurisdiction}   a pack's rules, each with its cited value (``prefix`` narrows)
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
