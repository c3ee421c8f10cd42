"""Request and response models of the compliance API (``from_result`` builds from :mod:`report`'s dicts)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from batteryloop.compliance import report, service
from batteryloop.compliance.core import rules as rule_packs


class RulePackSummaryOut(BaseModel):
    code: str
    description: str
    rules: int

    @classmethod
    def from_result(cls, summary: rule_packs.PackSummary) -> RulePackSummaryOut:
        return cls.model_validate(report.pack_summary_to_dict(summary))


class RulesOut(BaseModel):
    jurisdiction: str
    description: str
    lineage: list[str]
    rules: list[dict[str, Any]]

    @classmethod
    def from_result(cls, view: service.RulesView) -> RulesOut:
        return cls.model_validate(report.rules_to_dict(view))


# --- recyclers -------------------------------------------------------------------------------------------


# --- producers and regulators ----------------------------------------------------------------------------
