"""JSON API of the analytics capability: parse the request, make one service call, render through ``schemas``.

  POST /analytics/triage       grade and route tested batteries (reuse, remanufacture, repurpose, recycle)

Errors are domain errors (ValidationError -> 422, NotFoundError -> 404 via the app's problem+json handlers).
"""

from __future__ import annotations

from fastapi import APIRouter

from batteryloop.analytics import service
from batteryloop.analytics.schemas import TriageIn, TriageOut

router = APIRouter(tags=["analytics"])


@router.post("/analytics/triage")
def triage_endpoint(body: TriageIn) -> TriageOut:
    outcome = service.triage_csv(body.csv, overrides=body.overrides())
    return TriageOut.from_result(outcome, checks=body.checks)
