"""Request and response models of the analytics JSON API.

A request model turns itself into the use case's input with ``to_input()``; a response model is built with
``from_result()`` from the renderings in :mod:`batteryloop.analytics.report`, so the HTTP response and the
CLI's ``--json`` carry the same numbers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from batteryloop.analytics import report
from batteryloop.analytics.service import TriageOutcome


class TriageIn(BaseModel):
    """A triage CSV document (header row; see ``batteryloop analytics triage --help``) and optional profile
    overrides (same layout as the packaged ``triage`` data set, partial; bare numbers allowed)."""

    model_config = ConfigDict(extra="forbid")
    csv: str = Field(min_length=1, max_length=50_000_000)
    profile: dict[str, Any] | None = None
    checks: bool = True

    def overrides(self) -> list[dict[str, Any]]:
        return [self.profile] if self.profile else []


class TriageOut(BaseModel):
    batteries: int
    routes: dict[str, int]
    grades: dict[str, int]
    by_family: dict[str, dict[str, int]]
    by_level: dict[str, dict[str, int]]
    unverified: list[str]
    items: list[dict[str, Any]]

    @classmethod
    def from_result(cls, outcome: TriageOutcome, *, checks: bool = True) -> TriageOut:
        return cls.model_validate(report.triage_to_dict(outcome, checks=checks))
