"""JSON API of the compliance capability: parse the request, make one service call, render through ``schemas``.

GET /compliance/rules                  the packaged jurisdictions (rule packs)
GET /compliance/rules/{jurisdiction}   a pack's rules, each with its cited value (``prefix`` narrows)
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


# --- producers and regulators ----------------------------------------------------------------------------
