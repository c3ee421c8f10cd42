"""Request and response models of the passport's HTTP API (the official JSON Schemas of the exports are in
:mod:`batteryloop.passport.core.json_schemas`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from batteryloop.domain.lifecycle import BatteryState
from batteryloop.passport.service import CheckResult, ExportResult, Selection

Format = Literal["json", "batterypass", "catenax", "jsonld"]


class ExportRequest(BaseModel):
    """Which passports to export: ``battery_ids``, or a filter (``all``, ``chemistry``, ``state``,
    ``holder``; combined with AND)."""

    model_config = ConfigDict(extra="forbid")

    battery_ids: list[str] = Field(default_factory=list, max_length=10_000)
    all: bool = False
    chemistry: str | None = None
    state: BatteryState | None = None
    holder: str | None = None
    format: Format = "json"

    def to_input(self) -> Selection:
        return Selection(
            battery_ids=tuple(self.battery_ids),
            everything=self.all,
            chemistry=self.chemistry,
            state=self.state,
            holder=self.holder,
        )


class SkippedOut(BaseModel):
    battery_id: str
    reason: str


class ExportResponse(BaseModel):
    format: Format
    passports: dict[str, dict[str, Any]]
    skipped: list[SkippedOut]

    @classmethod
    def from_result(cls, result: ExportResult, fmt: Format) -> ExportResponse:
        from batteryloop.passport.report import content

        return cls(
            format=fmt,
            passports={view.battery_id: content(view, fmt) for view in result.views},
            skipped=[SkippedOut(battery_id=s.battery_id, reason=s.reason) for s in result.skipped],
        )


class MissingAttributeOut(BaseModel):
    path: str
    mandatory_since: str
    basis: str
    date_quality: str


class CheckResponse(BaseModel):
    battery_id: str
    on: str
    complete: bool
    missing: list[MissingAttributeOut]
    unverified: list[str]

    @classmethod
    def from_result(cls, result: CheckResult) -> CheckResponse:
        from batteryloop.passport.report import check_document

        return cls.model_validate(check_document(result))
