"""Request and response models of the compliance API (``from_result`` builds from :mod:`report`'s dicts)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel

from batteryloop.compliance import report, service
from batteryloop.compliance.core import rules as rule_packs
from batteryloop.domain.registration import ProducerRegistration


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


class RegistrationIn(BaseModel):
    producer: str
    country: str
    brands: list[str]
    categories: list[str]
    chemistries: list[str]
    pro: str | None = None
    registered_on: date
    reference: str = ""

    def to_input(self) -> ProducerRegistration:
        return ProducerRegistration(
            producer=self.producer,
            country=self.country,
            brands=tuple(self.brands),
            categories=tuple(self.categories),
            chemistries=tuple(self.chemistries),
            registered_on=self.registered_on,
            pro=self.pro,
            reference=self.reference,
        )


class RegistrationOut(BaseModel):
    producer: str
    country: str
    brands: list[str]
    categories: list[str]
    chemistries: list[str]
    pro: str | None
    individually: bool
    reference: str
    registered_on: str

    @classmethod
    def from_result(cls, reg: ProducerRegistration) -> RegistrationOut:
        return cls.model_validate(report.registration_to_dict(reg))


class EprReportOut(BaseModel):
    """Producers' obligations and the regulator's view; ``ledger_point`` says where in the ledger."""

    jurisdiction: str
    scope: dict[str, Any]
    ledger_point: dict[str, Any]
    year: int
    as_of: str
    leakage_window_days: int
    placed: list[dict[str, Any]]
    unregistered: list[dict[str, Any]]
    collection: list[dict[str, Any]]
    take_back: list[dict[str, Any]]
    leakage: list[dict[str, Any]]
    leaked: list[dict[str, Any]]
    performance: list[dict[str, Any]]
    regions: list[dict[str, Any]]
    traceability: list[dict[str, Any]]
    late_uploads: list[dict[str, Any]]
    registrations: list[dict[str, Any]]
    rules: dict[str, str]
    notes: list[str]

    @classmethod
    def from_result(cls, result: service.EprReport) -> EprReportOut:
        return cls.model_validate(report.epr_report_to_dict(result))
