"""JSON API of the analytics capability: parse the request, make one service call, render through ``schemas``.

  POST /analytics/triage           grade and route tested batteries (reuse, remanufacture, repurpose, recycle)
  POST /analytics/triage/events/prepare   the BatteryGraded events of a triage and the Merkle root to sign
  POST /analytics/triage/events    append them, signed by the caller (holder only; one atomic batch)
  POST /analytics/forecast         retirements per region, year and chemistry from the cited default series
  POST /analytics/forecast/ledger  the same from the packs placed on the market in the ledger (API key needed)
  POST /analytics/network          least-cost spoke and hub sites and flows (MILP)
  POST /analytics/soh              capacity and SOH of one full discharge (coulomb counting)
  POST /analytics/rul              fade model fitted to SOH observations, end of life and remaining cycles

Errors are domain errors (ValidationError -> 422, NotFoundError -> 404 via the app's problem+json handlers).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from batteryloop.analytics import report, service
from batteryloop.analytics.schemas import (
    ForecastIn,
    ForecastOut,
    GradingPreparedOut,
    GradingPrepareIn,
    GradingRecordIn,
    LedgerForecastIn,
    NetworkIn,
    NetworkOut,
    RulIn,
    SohIn,
    TriageIn,
    TriageOut,
)
from batteryloop.ledger.deps import LedgerDep
from batteryloop.orgs.deps import OrgDep

router = APIRouter(tags=["analytics"])


@router.post("/analytics/triage")
def triage_endpoint(body: TriageIn) -> TriageOut:
    outcome = service.triage_csv(body.csv, overrides=body.overrides())
    return TriageOut.from_result(outcome, checks=body.checks)


@router.post("/analytics/triage/events/prepare")
def grading_prepare_endpoint(body: GradingPrepareIn, org: OrgDep) -> GradingPreparedOut:
    """The events a recorded triage appends for the caller and the Merkle root the caller signs."""
    batch = service.prepare_grading_csv(
        body.csv, actor=org.org_id, occurred_at=body.occurred_at, overrides=body.overrides()
    )
    return GradingPreparedOut.from_result(batch)


@router.post("/analytics/triage/events", status_code=201)
def grading_record_endpoint(body: GradingRecordIn, org: OrgDep, ledger: LedgerDep) -> dict[str, Any]:
    """Grade the CSV and append one ``BatteryGraded`` per battery, signed by the caller: every event or
    none (a bad row, an unknown battery or one the caller does not hold writes nothing)."""
    result = service.record_grading_csv(
        ledger,
        body.csv,
        actor=org.org_id,
        occurred_at=body.occurred_at,
        key_id=body.key_id,
        signature=body.signature_bytes(),
        overrides=body.overrides(),
    )
    return report.append_to_dict(result)


@router.post("/analytics/forecast")
def forecast_endpoint(body: ForecastIn) -> ForecastOut:
    return ForecastOut.from_result(
        service.forecast(None, source="defaults", **body.options()), rows=body.rows
    )


@router.post("/analytics/forecast/ledger")
def ledger_forecast_endpoint(body: LedgerForecastIn, org: OrgDep, ledger: LedgerDep) -> ForecastOut:
    """Aggregated cohorts only (no battery is named); any registered organisation may ask."""
    outcome = service.forecast(ledger, source=body.source, **body.options())
    return ForecastOut.from_result(outcome, rows=body.rows)


@router.post("/analytics/network")
def network_endpoint(body: NetworkIn) -> NetworkOut:
    return NetworkOut.from_result(service.design_network(body.network, time_limit_s=body.time_limit_s))


@router.post("/analytics/soh")
def soh_endpoint(body: SohIn) -> dict[str, Any]:
    return report.soh_to_dict(service.estimate_soh_csv(body.csv, rated_ah=body.rated_ah))


@router.post("/analytics/rul")
def rul_endpoint(body: RulIn) -> dict[str, Any]:
    return report.fade_to_dict(service.fit_fade_csv(body.csv, eol_pct=body.eol_pct))
