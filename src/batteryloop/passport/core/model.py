"""The canonical battery passport: one internal model, explicit units, covering Annex XIII of (EU) 2023/1542.

The model is independent of the three published data models (BatteryPass, Catena-X, IDTA); ``batterypass.py``
and ``catenax.py`` map it to and from them. Units are in the field names (``_kg``, ``_pct``, ``_kwh``, ...).

Two kinds of input feed it (see ``build.py``):

- static data the manufacturer registers: the ``BatteryManufactured`` payload (``BatteryUnit``) and any number
  of ``PassportDataRegistered`` events whose payload is a :class:`PassportDataRegistered`. Each section of that
  payload is complete in itself; a later event replaces the sections it carries and keeps the others
  (partial updates merged in order);
- dynamic data from the ledger: state of health, cycles, negative events, status and lineage.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from batteryloop.domain.chemistry import BatteryCategory, Chemistry, UnitLevel
from batteryloop.domain.passport_data import (  # the static sections: registered, validated on write
    STATIC_SECTIONS,
    Address,
    BatteryComponent,
    BatteryStatus,
    CarbonFootprint,
    CasNumber,
    Circularity,
    Component,
    Contact,
    Document,
    DocumentType,
    DueDiligence,
    EndOfLife,
    HazardClass,
    HazardousSubstance,
    InternalResistance,
    Label,
    Labels,
    LabelSubject,
    LifecycleStage,
    Material,
    MaterialComposition,
    NonNegative,
    PassportDataRegistered,
    Pct,
    Positive,
    PowerCapability,
    RatedPerformance,
    RecycledContent,
    RecycledMaterial,
    Rerating,
    Safety,
    SparePart,
    SparePartSource,
    StageFootprint,
    TestReports,
    Url,
    _Frozen,
)

PASSPORT_SCHEMA_VERSION: Literal["batteryloop-passport/1"] = "batteryloop-passport/1"

# ---------------------------------------------------------------- dynamic sections (from the ledger)


class Reading(_Frozen):
    """One dynamic value with the moment it was last updated."""

    value: float
    last_update: datetime


class PowerReading(_Frozen):
    at_soc_pct: Pct
    power_w: NonNegative
    last_update: datetime


class ComponentReading(_Frozen):
    component: Component
    value: float
    last_update: datetime


class NegativeEvent(_Frozen):
    kind: str = Field(min_length=1)  # e.g. "accident", "deep_discharge", "overcharge", "thermal_event"
    occurred_at: datetime
    description: str = ""


class TemperatureExposure(_Frozen):
    """Time spent at extreme temperatures (hours), Annex XIII(4)(d) operating environment."""

    extreme_high_h: NonNegative
    extreme_low_h: NonNegative
    extreme_high_charging_h: NonNegative
    extreme_low_charging_h: NonNegative
    last_update: datetime


class Measured(_Frozen):
    """One value measured when the battery was graded (name as the ``BatteryGraded`` payload key)."""

    name: str
    value: bool | int | float  # whole counts (negative_events) stay whole


class Grading(_Frozen):
    """The latest ``BatteryGraded`` event: grade, decision, the thresholds applied and the values measured
    (issue 14's triage writes them; a bare grading carries only its grade)."""

    grade: str
    decision: str | None = None  # reuse | remanufacture | repurpose | recycle
    graded_at: datetime
    soh_pct: float | None = None
    tested_level: str | None = None
    summary: str | None = None
    reasons: tuple[str, ...] = ()
    measured: tuple[Measured, ...] = ()
    profile: str | None = None


class BatteryCondition(_Frozen):
    """Annex XIII(4)(a),(b),(d): state of health and usage of the individual battery."""

    state_of_certified_energy_pct: Reading | None = None  # state of health (energy-based, Art. 14)
    capacity_fade_pct: Reading | None = None
    remaining_capacity_ah: Reading | None = None
    remaining_energy_kwh: Reading | None = None
    full_cycles: Reading | None = None
    energy_throughput_kwh: Reading | None = None
    capacity_throughput_ah: Reading | None = None
    state_of_charge_pct: Reading | None = None
    self_discharge_rate_pct_per_month: Reading | None = None
    self_discharge_evolution_pct: Reading | None = None
    remaining_round_trip_efficiency_pct: Reading | None = None
    remaining_power_capability: PowerReading | None = None
    power_fade_pct: Reading | None = (
        None  # 100 x (1 - remaining / original power at the same state of charge)
    )
    internal_resistance_increase_pct: tuple[ComponentReading, ...] = ()
    temperature: TemperatureExposure | None = None
    negative_events: tuple[NegativeEvent, ...] = ()
    grading: Grading | None = None


class Identity(_Frozen):
    """General product information (Annex VI Part A, Annex XIII(1)(a)).

    The registration's values; a value stored by an earlier version that today's rules refuse is left out
    (None) and named in the passport's ``data_issues``.
    """

    battery_id: str
    product_identifier: str  # GS1 Digital Link URI when the unit has a GTIN and serial, else battery_id
    gtin: str | None = None
    serial: str | None = None
    model: str | None = None
    level: UnitLevel | None = None
    category: BatteryCategory | None = None
    chemistry: Chemistry | None = None
    chemistry_clear_name: str | None = None
    manufacturer_id: str | None = None
    manufactured_on: date | None = None
    manufacturing_country: str | None = None
    mass_kg: Positive | None = None
    rated_capacity_ah: Positive | None = None
    rated_energy_kwh: Positive | None = None
    nominal_voltage_v: Positive | None = None
    gbt_code: str | None = None


class DataIssue(_Frozen):
    """A stored value the passport left out because today's rules refuse it (stored by an earlier version):
    the event (position when known, type), the field and why."""

    position: int | None = None
    event_type: str
    field: str
    reason: str


class Lifecycle(_Frozen):
    """Status and lineage. ``ceased`` is Art. 77(8): the passport of a recycled battery ceases to exist
    (it stays readable for authorities)."""

    status: BatteryStatus
    state: str | None = None  # the ledger's lifecycle state (batteryloop.domain.lifecycle.BatteryState)
    placed_on_market_on: date | None = None
    put_into_service_on: date | None = None
    predecessor_id: str | None = None
    successor_id: str | None = None
    ceased: bool = False
    ceased_on: date | None = None
    version: int = 0  # events folded
    last_update: datetime | None = None


class Passport(_Frozen):
    schema_version: Literal["batteryloop-passport/1"] = PASSPORT_SCHEMA_VERSION
    passport_id: str
    identity: Identity
    manufacturer: Contact | None = None
    operator: Contact | None = None
    manufacturing_place: Address | None = None
    warranty_months: int | None = None
    carbon_footprint: CarbonFootprint | None = None
    circularity: Circularity | None = None
    end_of_life: EndOfLife | None = None
    safety: Safety | None = None
    composition: MaterialComposition | None = None
    # Annex XIII(1)(b): the names of the critical raw materials are public, the detailed composition is not.
    critical_raw_materials: tuple[str, ...] = ()
    rated_performance: RatedPerformance | None = None
    labels: Labels | None = None
    test_reports: TestReports | None = None
    due_diligence: DueDiligence | None = None
    rerating: Rerating | None = None  # a successor's re-rating: who, when, on what test, what it measured
    condition: BatteryCondition = BatteryCondition()
    lifecycle: Lifecycle
    data_issues: tuple[DataIssue, ...] = ()  # stored values left out: today's rules refuse them


__all__ = [
    "STATIC_SECTIONS",
    "Address",
    "BatteryComponent",
    "BatteryCondition",
    "BatteryStatus",
    "CarbonFootprint",
    "CasNumber",
    "Circularity",
    "Component",
    "Contact",
    "DataIssue",
    "Document",
    "DocumentType",
    "DueDiligence",
    "EndOfLife",
    "HazardClass",
    "HazardousSubstance",
    "Identity",
    "InternalResistance",
    "Label",
    "LabelSubject",
    "Labels",
    "Lifecycle",
    "LifecycleStage",
    "Material",
    "MaterialComposition",
    "NonNegative",
    "Passport",
    "PassportDataRegistered",
    "Pct",
    "Positive",
    "PowerCapability",
    "RatedPerformance",
    "Reading",
    "RecycledContent",
    "RecycledMaterial",
    "Rerating",
    "Safety",
    "SparePart",
    "SparePartSource",
    "StageFootprint",
    "TestReports",
    "Url",
]
