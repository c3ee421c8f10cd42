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

from batteryloop.domain.errors import SignatureError, ValidationError  # noqa: E402


class LotEventIn(BaseModel):
    """One lot event as ``POST /events`` takes it (the same signing: the batch's Merkle root)."""

    battery_id: str
    event_type: str
    occurred_at: str
    payload: dict[str, Any]
    idempotency_key: str | None = None


class LotBatchIn(BaseModel):
    """A signed batch of ``RecyclingLotReceived`` / ``RecyclingLotProduced`` events."""

    key_id: str
    signature: str
    events: list[LotEventIn]

    def to_input(self) -> list[Any]:
        from batteryloop.domain.lifecycle import EventType
        from batteryloop.domain.validation import parse_instant
        from batteryloop.ledger import EventIn

        out = []
        for index, e in enumerate(self.events, start=1):
            try:
                kind = EventType(e.event_type)
            except ValueError:
                raise ValidationError(f"event {index}: unknown event type {e.event_type!r}") from None
            out.append(
                EventIn(
                    e.battery_id,
                    kind,
                    parse_instant(f"event {index}: occurred_at", e.occurred_at),
                    e.payload,
                    e.idempotency_key,
                )
            )
        return out

    def signature_bytes(self) -> bytes:
        import base64
        import binascii

        text = self.signature.strip()
        try:
            raw = bytes.fromhex(text) if len(text) == 128 else base64.b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise SignatureError("the signature is neither base64 nor hex") from None
        if len(raw) != 64:
            raise SignatureError(f"an Ed25519 signature has 64 bytes, this one has {len(raw)}")
        return raw


class AppendedOut(BaseModel):
    batch_id: str
    appended: int
    first_position: int | None
    last_position: int | None


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
    """Producers' obligations and the regulator's view; ``ledger`` says where in the ledger."""

    jurisdiction: str
    scope: dict[str, Any]
    ledger: dict[str, Any]
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
