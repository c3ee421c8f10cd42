"""Request and response models of the analytics JSON API.

A request model turns itself into the use case's input with ``to_input()``; a response model is built with
``from_result()`` from the renderings in :mod:`batteryloop.analytics.report`, so the HTTP response and the
CLI's ``--json`` carry the same numbers.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from batteryloop.analytics import report
from batteryloop.analytics.service import ForecastOutcome, GradingBatch, NetworkOutcome, TriageOutcome
from batteryloop.domain.errors import SignatureError


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


class GradingPrepareIn(BaseModel):
    """A triage to record: the CSV (``id`` = the ledger's battery id), optional profile overrides, and the
    moment of the grading (the events' ``occurred_at``)."""

    model_config = ConfigDict(extra="forbid")
    csv: str = Field(min_length=1, max_length=50_000_000)
    profile: dict[str, Any] | None = None
    occurred_at: AwareDatetime

    def overrides(self) -> list[dict[str, Any]]:
        return [self.profile] if self.profile else []


class GradingRecordIn(GradingPrepareIn):
    """:class:`GradingPrepareIn` and the caller's signature over the Merkle root that
    ``POST /analytics/triage/events/prepare`` returned for it (base64 or hex)."""

    key_id: str = Field(min_length=1, max_length=200)
    signature: str = Field(min_length=1, max_length=400)

    def signature_bytes(self) -> bytes:
        """Base64 (standard or URL-safe) or hex, as ``POST /events`` takes it."""
        value = self.signature.strip()
        try:
            if len(value) == 128 and all(c in "0123456789abcdefABCDEF" for c in value):
                raw = bytes.fromhex(value)
            else:
                padded = value + "=" * (-len(value) % 4)
                altchars = b"-_" if ("-" in value or "_" in value) else None
                raw = base64.b64decode(padded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("signature: neither base64 nor hex") from None
        if len(raw) != 64:
            raise SignatureError(f"signature: an Ed25519 signature has 64 bytes, this one has {len(raw)}")
        return raw


class GradingPreparedOut(BaseModel):
    """What the caller signs: the events exactly as they will be appended and their Merkle root."""

    actor: str
    occurred_at: datetime
    merkle_root: str
    batteries: int
    routes: dict[str, int]
    events: list[dict[str, Any]]

    @classmethod
    def from_result(cls, batch: GradingBatch) -> GradingPreparedOut:
        return cls.model_validate(report.grading_batch_to_dict(batch))


class ForecastIn(BaseModel):
    """Options of a retirement forecast (the defaults are the CLI's)."""

    model_config = ConfigDict(extra="forbid")
    first_year: int = Field(2020, ge=2000, le=2100)
    last_year: int = Field(2040, ge=2000, le=2100)
    draws: int = Field(200, ge=10, le=5000)
    seed: int = 0
    scrap: bool = True
    rows: bool = True
    overrides: dict[str, Any] | None = None

    def options(self) -> dict[str, Any]:
        return {
            "first_year": self.first_year,
            "last_year": self.last_year,
            "draws": self.draws,
            "seed": self.seed,
            "scrap": self.scrap,
            "overrides": [self.overrides] if self.overrides else [],
        }


class LedgerForecastIn(ForecastIn):
    source: Literal["ledger", "both"] = "ledger"


class ForecastOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    years: list[int]
    regions: list[str]
    sources: list[str]
    world: dict[str, dict[str, list[float]]]
    unverified: list[str]

    @classmethod
    def from_result(cls, outcome: ForecastOutcome, *, rows: bool = True) -> ForecastOut:
        return cls.model_validate(report.forecast_to_dict(outcome, rows=rows))


class NetworkIn(BaseModel):
    """A network instance (same layout as the CLI's TOML/JSON file) and an optional solver time limit."""

    model_config = ConfigDict(extra="forbid")
    network: dict[str, Any]
    time_limit_s: float | None = Field(None, gt=0, le=600)


class NetworkOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    total_cost_usd: float
    cost_usd_per_t: float
    proven_optimal: bool
    unverified: list[str]

    @classmethod
    def from_result(cls, outcome: NetworkOutcome) -> NetworkOut:
        return cls.model_validate(report.network_to_dict(outcome))


class SohIn(BaseModel):
    """One full discharge as CSV ``time_s,current_a`` (current positive while discharging)."""

    model_config = ConfigDict(extra="forbid")
    csv: str = Field(min_length=1, max_length=50_000_000)
    rated_ah: float = Field(gt=0)


class RulIn(BaseModel):
    """SOH observations as CSV ``cycles,soh_pct`` and the end-of-life SOH."""

    model_config = ConfigDict(extra="forbid")
    csv: str = Field(min_length=1, max_length=50_000_000)
    eol_pct: float = Field(80.0, gt=0, lt=100)
