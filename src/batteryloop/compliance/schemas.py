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


class LedgerPointOut(BaseModel):
    position: int
    root: str | None
    as_of: str | None
    events: int | None = None
    source: str = "ledger"
    signed_tree_head: dict[str, Any] | None


class RecyclerReportOut(BaseModel):
    """A recycler's compliance report (see :func:`batteryloop.compliance.report.recycler_report_to_dict`)."""

    recycler: str
    jurisdiction: str
    year: int | None
    ledger: LedgerPointOut | None
    rules: list[str]
    efficiency: list[dict[str, Any]]
    recovery: list[dict[str, Any]]
    white_list: list[dict[str, Any]]
    traceability: list[dict[str, Any]]
    open_lots: list[str]
    lots: list[dict[str, Any]]
    notes: list[str]

    @classmethod
    def from_result(cls, result: service.RecyclerReport) -> RecyclerReportOut:
        return cls.model_validate(report.recycler_report_to_dict(result))


class RecycledContentOut(BaseModel):
    jurisdiction: str
    producer: str | None
    ledger: LedgerPointOut
    composition_set: str
    rows: list[dict[str, Any]]

    @classmethod
    def from_result(cls, result: service.RecycledContentReport) -> RecycledContentOut:
        return cls.model_validate(report.recycled_content_to_dict(result))


class TraceabilityOut(BaseModel):
    ledger: LedgerPointOut
    findings: list[dict[str, Any]]

    @classmethod
    def from_result(cls, result: tuple[service.LedgerPoint, tuple[Any, ...]]) -> TraceabilityOut:
        return cls.model_validate(report.traceability_to_dict(*result))


# --- producers and regulators ----------------------------------------------------------------------------
