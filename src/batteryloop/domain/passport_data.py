"""The static data of a battery passport, as its manufacturer registers it: the payload of a
``PassportDataRegistered`` ledger event (Annex XIII of Regulation (EU) 2023/1542).

These models live in the domain because two sides need them: the ledger validates every
``PassportDataRegistered`` payload with them before it writes it (:mod:`batteryloop.domain.validation`), and
the passport builds its static sections from them (``batteryloop.passport.core.model`` re-exports every name).
Units are in the field names (``_kg``, ``_pct``, ``_kwh``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from batteryloop.domain.documents import REF_PATTERN
from batteryloop.domain.errors import ValidationError

Pct = Annotated[float, Field(ge=0.0, le=100.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
CasNumber = Annotated[str, Field(pattern=r"^\d{2,7}-\d{2}-\d$")]
# http(s) only (the passport's links are web resources); no whitespace or control characters; bounded
Url = Annotated[str, Field(pattern=r"^https?://[^\s\x00-\x1f\x7f]+$", max_length=2048)]
# A document or image a passport links to: an external https:// URL the producer gives, or the content hash of a
# document in the platform's store (batteryloop.domain.documents), made into a URL under the public base URL
# when the passport is read.
Link = Annotated[str, Field(pattern=rf"^(https://[^\s\x00-\x1f\x7f]+|{REF_PATTERN})$", max_length=2048)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BatteryStatus(StrEnum):
    """Annex XIII(4)(c) status of the battery."""

    ORIGINAL = "Original"
    REPURPOSED = "Repurposed"
    REUSED = "Reused"
    REMANUFACTURED = "Remanufactured"
    WASTE = "Waste"


class LifecycleStage(StrEnum):
    """Art. 7(1)(d) lifecycle stages of the carbon footprint declaration (BatteryPass naming)."""

    RAW_MATERIAL_EXTRACTION = "RawMaterialExtraction"
    MAIN_PRODUCTION = "MainProduction"
    DISTRIBUTION = "Distribution"
    RECYCLING = "Recycling"


class DocumentType(StrEnum):
    BILL_OF_MATERIAL = "BillOfMaterial"
    MODEL_3D = "Model3D"
    DISMANTLING_MANUAL = "DismantlingManual"
    REMOVAL_MANUAL = "RemovalManual"
    OTHER_MANUAL = "OtherManual"
    DRAWING = "Drawing"


class RecycledMaterial(StrEnum):
    """The Art. 8 materials."""

    COBALT = "Cobalt"
    NICKEL = "Nickel"
    LITHIUM = "Lithium"
    LEAD = "Lead"


class HazardClass(StrEnum):
    ACUTE_TOXICITY = "AcuteToxicity"
    SKIN_CORROSION_OR_IRRITATION = "SkinCorrosionOrIrritation"
    EYE_DAMAGE_OR_IRRITATION = "EyeDamageOrIrritation"


class LabelSubject(StrEnum):
    SEPARATE_COLLECTION = "SeparateCollection"
    HAZARDOUS_MATERIAL = "HazardousMaterial"
    CARBON_FOOTPRINT = "CarbonFootPrint"
    EXTINGUISHING_AGENT = "ExtinguishingAgent"


class Component(StrEnum):
    PACK = "pack"
    MODULE = "module"
    CELL = "cell"


# ---------------------------------------------------------------- static sections (registered)


class Address(_Frozen):
    street: str = Field(min_length=1)
    postal_code: str = Field(min_length=1)
    country: str = Field(pattern=r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2


class Contact(_Frozen):
    """An economic operator (manufacturer, operator placing on the market, spare-part supplier)."""

    name: str = Field(min_length=1)
    identifier: str = Field(min_length=1)  # unique operator identifier (ESPR Art. 2(32))
    address: Address
    email: str | None = Field(default=None, pattern=r"^[\w.+-]+@[\w.-]+\.[A-Za-z]{2,}$")
    web: Url | None = None
    bpnl: str | None = Field(default=None, pattern=r"^BPNL[a-zA-Z0-9]{12}$")  # Catena-X legal entity no.


class StageFootprint(_Frozen):
    stage: LifecycleStage
    kg_co2e_per_kwh: NonNegative


class CarbonFootprint(_Frozen):
    """Art. 7 declaration: kg CO2e per kWh of total energy over the expected service life."""

    total_kg_co2e_per_kwh: NonNegative
    per_stage: tuple[StageFootprint, ...] = Field(min_length=1)
    performance_class: str = Field(min_length=1)
    study_url: Link
    absolute_kg_co2e: NonNegative | None = None
    manufacturing_plant_bpna: str | None = Field(default=None, pattern=r"^BPNA[a-zA-Z0-9]{12}$")


class Document(_Frozen):
    document_type: DocumentType
    mime_type: str = Field(min_length=1)
    url: Link


class SparePart(_Frozen):
    part_name: str = Field(min_length=1)
    part_number: str = Field(min_length=1)


class SparePartSource(_Frozen):
    supplier: Contact
    parts: tuple[SparePart, ...] = Field(min_length=1)


class RecycledContent(_Frozen):
    material: RecycledMaterial
    pre_consumer_pct: Pct
    post_consumer_pct: Pct


class EndOfLife(_Frozen):
    """Art. 74(1)(a)-(f) information: waste prevention, separate collection, collection points."""

    waste_prevention_url: Link
    separate_collection_url: Link
    collection_information_url: Link


class Circularity(_Frozen):
    """Dismantling and spare parts (legitimate interest), recycled and renewable content (public)."""

    dismantling_documents: tuple[Document, ...] = Field(min_length=1)
    spare_part_sources: tuple[SparePartSource, ...] = ()
    recycled_content: tuple[RecycledContent, ...] = ()
    renewable_content_pct: Pct = 0.0


class Safety(_Frozen):
    safety_instructions_url: Link  # Annex XIII(2)(d) safety measures: legitimate interest
    extinguishing_agents: tuple[str, ...] = Field(min_length=1)  # Annex VI Part A: public
    fire_class: str | None = None  # EN 2 fire class the agents are for (Catena-X ``fireClass``)


class BatteryComponent(StrEnum):
    """The one vocabulary for where a material or substance sits in the battery (BatteryPass
    ``batteryMaterialLocation.componentName``). Labels written otherwise are normalised through
    :data:`COMPONENT_SYNONYMS` on write; anything else is refused, naming the allowed values."""

    CATHODE = "cathode"
    ANODE = "anode"
    ELECTROLYTE = "electrolyte"
    SEPARATOR = "separator"
    CATHODE_CURRENT_COLLECTOR = "cathode_current_collector"
    ANODE_CURRENT_COLLECTOR = "anode_current_collector"
    HOUSING = "housing"
    ELECTRONICS = "electronics"
    THERMAL_MANAGEMENT = "thermal_management"


COMPONENT_SYNONYMS: dict[str, BatteryComponent] = {
    "positive electrode": BatteryComponent.CATHODE,
    "cathode active material": BatteryComponent.CATHODE,
    "negative electrode": BatteryComponent.ANODE,
    "anode active material": BatteryComponent.ANODE,
    "anode current collector": BatteryComponent.ANODE_CURRENT_COLLECTOR,
    "cathode current collector": BatteryComponent.CATHODE_CURRENT_COLLECTOR,
    "current collector (anode)": BatteryComponent.ANODE_CURRENT_COLLECTOR,
    "current collector (cathode)": BatteryComponent.CATHODE_CURRENT_COLLECTOR,
    "casing": BatteryComponent.HOUSING,
    "case": BatteryComponent.HOUSING,
    "enclosure": BatteryComponent.HOUSING,
    "pack housing": BatteryComponent.HOUSING,
    "bms": BatteryComponent.ELECTRONICS,
    "battery management system": BatteryComponent.ELECTRONICS,
    "cooling": BatteryComponent.THERMAL_MANAGEMENT,
}


def normalise_component(label: object) -> object:
    """``label`` in the one vocabulary: case, spaces, hyphens and the synonyms above folded; other values are
    returned as given (the enumeration then refuses them, naming the allowed values)."""
    if not isinstance(label, str):
        return label
    folded = " ".join(label.strip().lower().replace("-", " ").replace("_", " ").split())
    if folded in COMPONENT_SYNONYMS:
        return COMPONENT_SYNONYMS[folded].value
    return folded.replace(" ", "_")


class Material(_Frozen):
    name: str = Field(min_length=1)
    cas: CasNumber
    mass_kg: NonNegative
    component: BatteryComponent
    critical_raw_material: bool = False

    _component = field_validator("component", mode="before")(normalise_component)


class HazardousSubstance(_Frozen):
    name: str = Field(min_length=1)
    cas: CasNumber
    hazard_class: HazardClass
    concentration_pct: Pct
    impacts: tuple[str, ...] = Field(min_length=1)
    component: BatteryComponent

    _component = field_validator("component", mode="before")(normalise_component)


MASS_BALANCE_TOLERANCE_KG = 0.01
"""Rounding allowed between the declared masses and the battery mass: masses are declared to 4 decimals, so
a sum of a few dozen rounded masses can be off by less than this (the rule, not a reference figure)."""


class MaterialComposition(_Frozen):
    """The declared materials balance the battery mass: ``sum(materials) + remainder_kg = battery_mass_kg``
    (within :data:`MASS_BALANCE_TOLERANCE_KG`). ``remainder_kg`` is what the declaration does not itemise
    (binders, separator, wiring, ...), stated explicitly rather than left for a reader to guess; the ledger
    also refuses a ``battery_mass_kg`` other than the unit's registered ``mass_kg``."""

    materials: tuple[Material, ...] = Field(min_length=1)
    hazardous_substances: tuple[HazardousSubstance, ...] = ()
    battery_mass_kg: Positive
    remainder_kg: NonNegative

    @model_validator(mode="after")
    def _balances(self) -> MaterialComposition:
        declared = sum(m.mass_kg for m in self.materials)
        if declared > self.battery_mass_kg + MASS_BALANCE_TOLERANCE_KG:
            raise ValueError(
                f"composition.materials add up to {declared:.4f} kg, more than composition.battery_mass_kg "
                f"{self.battery_mass_kg} kg"
            )
        total = declared + self.remainder_kg
        if abs(total - self.battery_mass_kg) > MASS_BALANCE_TOLERANCE_KG:
            raise ValueError(
                f"composition.materials ({declared:.4f} kg) + composition.remainder_kg ({self.remainder_kg} kg) "
                f"= {total:.4f} kg, not composition.battery_mass_kg ({self.battery_mass_kg} kg)"
            )
        return self


class PowerCapability(_Frozen):
    at_soc_pct: Pct
    power_w: NonNegative


class InternalResistance(_Frozen):
    component: Component
    ohm: NonNegative


class RatedPerformance(_Frozen):
    """Annex XIII(1)(g)-(p): rated values of the model, at placing on the market."""

    original_power_capability: tuple[PowerCapability, ...] = Field(min_length=1)
    rated_maximum_power_w: Positive
    power_capability_ratio: NonNegative  # power at 80% DoD / power at 20% DoD (Annex IV Part A)
    expected_lifetime_cycles: int = Field(ge=0)
    expected_lifetime_years: int = Field(ge=0, le=32767)
    initial_self_discharge_pct_per_month: NonNegative
    round_trip_efficiency_pct: Pct
    round_trip_efficiency_at_50pct_cycle_life_pct: Pct
    round_trip_efficiency_fade_pct: Pct
    power_fade_pct: Pct
    initial_internal_resistance: tuple[InternalResistance, ...] = Field(min_length=1)
    minimum_voltage_v: Positive
    maximum_voltage_v: Positive
    capacity_threshold_for_exhaustion_pct: Pct
    lifetime_reference_test_url: Link
    c_rate_life_cycle_test: Positive
    c_rate: Positive | None = None
    idle_temperature_min_c: float = Field(ge=-100.0, le=200.0)
    idle_temperature_max_c: float = Field(ge=-100.0, le=200.0)
    shipping_state_of_charge_pct: Pct  # state of charge when placed on the market (baseline of dynamic data)
    # test conditions Catena-X asks for (not in BatteryPass 1.2)
    round_trip_efficiency_depth_of_discharge_pct: Pct | None = None
    life_cycle_test_temperature_c: float | None = None
    life_cycle_test_depth_of_discharge_pct: Pct | None = None


class Label(_Frozen):
    subject: LabelSubject
    symbol_url: Link
    meaning: str = Field(min_length=1)
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")


class Labels(_Frozen):
    """Art. 13 markings and the Art. 18 EU declaration of conformity."""

    declaration_of_conformity_url: Link
    declaration_of_conformity_id: str | None = None
    labels: tuple[Label, ...] = Field(min_length=1)


class TestReports(_Frozen):
    """Annex XIII(3): results of test reports proving compliance (authorities only)."""

    __test__ = False  # not a pytest class
    result_of_test_report_url: Link


class DueDiligence(_Frozen):
    """Art. 52(3) supply-chain due diligence report."""

    report_url: Link
    third_party_assurance_url: Link | None = None
    supply_chain_index: NonNegative | None = None


class Rerating(_Frozen):
    """How a repurposed, reused or remanufactured battery was re-rated (Art. 77(6)-(7), Annex XIII(4)): who
    tested it, when, on what test, and what it measured. The successor's state of health and capacities are
    these measurements, relative to the original battery's rated values (given here, so the passport needs no
    other stream to read them); the original's own passport is ``original_passport_id``, one link away."""

    rerated_by: str = Field(min_length=1)  # organisation id of the re-rating operator
    rerated_on: date
    test_method: str = Field(min_length=1)  # e.g. "UL 1974 capacity and DC internal resistance test"
    test_report_url: Url | None = None
    original_passport_id: str = Field(min_length=1)
    original_rated_capacity_ah: Positive
    original_rated_energy_kwh: Positive
    soh_pct: float = Field(ge=0.0, le=110.0)
    capacity_ah: Positive
    energy_kwh: Positive
    internal_resistance_increase_pct: NonNegative | None = None
    power_w: NonNegative | None = None
    full_cycles_before: NonNegative | None = None  # the original's full cycles when it was re-rated
    grade: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Rerating:
        measured = 100.0 * self.energy_kwh / self.original_rated_energy_kwh
        if abs(measured - self.soh_pct) > RERATING_TOLERANCE_PCT:
            raise ValueError(
                f"rerating.soh_pct {self.soh_pct} disagrees with rerating.energy_kwh / "
                f"rerating.original_rated_energy_kwh = {measured:.1f} %"
            )
        if self.capacity_ah > self.original_rated_capacity_ah * 1.1:
            raise ValueError(
                f"rerating.capacity_ah {self.capacity_ah} exceeds the original rated capacity "
                f"{self.original_rated_capacity_ah} Ah by more than 10 %"
            )
        return self


RERATING_TOLERANCE_PCT = 2.0
"""Percentage points allowed between a re-rating's state of health and its measured energy over the original
rated energy (rounding of the two measurements; the rule, not a reference figure)."""


class PassportDataRegistered(_Frozen):
    """Payload of a ``PassportDataRegistered`` ledger event (static data, registered by the manufacturer).

    Every field is optional; a section present in a later event replaces the earlier one whole.
    """

    manufacturer: Contact | None = None
    operator: Contact | None = None
    manufacturing_place: Address | None = None
    warranty_months: int | None = Field(default=None, ge=1, le=12 * 100)
    carbon_footprint: CarbonFootprint | None = None
    circularity: Circularity | None = None
    end_of_life: EndOfLife | None = None
    safety: Safety | None = None
    composition: MaterialComposition | None = None
    rated_performance: RatedPerformance | None = None
    labels: Labels | None = None
    test_reports: TestReports | None = None
    due_diligence: DueDiligence | None = None
    rerating: Rerating | None = None  # a successor's own measured values (Art. 77(6)-(7))
    # How this battery came into being when it is the successor of another one (Art. 77(7)); only needed
    # when the predecessor's stream is not available to the builder.
    origin: Literal["Repurposed", "Reused", "Remanufactured"] | None = None


STATIC_SECTIONS: tuple[str, ...] = tuple(n for n in PassportDataRegistered.model_fields if n != "origin")


def check_declared_mass(
    battery_id: str, payload: Mapping[str, Any], registered_mass_kg: float | None
) -> None:
    """Refuse a ``PassportDataRegistered`` payload whose composition declares a battery mass other than the
    unit's registered ``mass_kg`` (its ``BatteryManufactured``), or materials heavier than that mass.

    The payload's own balance (materials + remainder = battery_mass_kg) is the model's rule; this is the rule
    that needs the registration, so the ledger calls it with the registered mass on every append path."""
    composition = payload.get("composition")
    if not isinstance(composition, Mapping) or registered_mass_kg is None:
        return
    declared = composition.get("battery_mass_kg")
    materials = composition.get("materials")
    if isinstance(materials, (list, tuple)):
        total = sum(
            float(m["mass_kg"])
            for m in materials
            if isinstance(m, Mapping) and isinstance(m.get("mass_kg"), (int, float))
        )
        if total > registered_mass_kg + MASS_BALANCE_TOLERANCE_KG:
            raise ValidationError(
                f"PassportDataRegistered for battery {battery_id}: composition.materials add up to "
                f"{total:.4f} kg, more than the battery's registered mass_kg {registered_mass_kg} kg"
            )
    if (
        isinstance(declared, (int, float))
        and abs(float(declared) - registered_mass_kg) > MASS_BALANCE_TOLERANCE_KG
    ):
        raise ValidationError(
            f"PassportDataRegistered for battery {battery_id}: composition.battery_mass_kg {declared} kg is "
            f"not the battery's registered mass_kg {registered_mass_kg} kg"
        )
