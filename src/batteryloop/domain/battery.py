"""A battery unit's static description, as its manufacturer registers it (payload of BatteryManufactured)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from batteryloop.domain.chemistry import BatteryCategory, Chemistry, UnitLevel
from batteryloop.domain.errors import ValidationError


@dataclass(frozen=True, slots=True)
class BatteryUnit:
    battery_id: str  # the EU unique identifier: urn:uuid:...
    level: UnitLevel
    chemistry: Chemistry
    category: BatteryCategory
    manufacturer_id: str
    model: str
    mass_kg: float
    rated_energy_kwh: float
    rated_capacity_ah: float
    nominal_voltage_v: float
    manufactured_on: date
    manufacturing_country: str  # ISO 3166-1 alpha-2
    manufacturing_site: str = ""
    gbt_code: str | None = None  # GB/T 34014 code when the unit carries one
    gtin: str | None = None  # GTIN-14 of the model, for the GS1 Digital Link
    serial: str | None = None
    parent_id: str | None = None
    predecessor_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("mass_kg", "rated_energy_kwh", "rated_capacity_ah", "nominal_voltage_v"):
            value = getattr(self, name)
            if not value > 0:
                raise ValidationError(f"battery {self.battery_id}: {name} must be positive, got {value}")
        if len(self.manufacturing_country) != 2 or not self.manufacturing_country.isupper():
            raise ValidationError(
                f"battery {self.battery_id}: manufacturing_country must be ISO 3166-1 alpha-2, "
                f"got {self.manufacturing_country!r}"
            )

    def to_payload(self) -> dict[str, Any]:
        """The BatteryManufactured payload (JSON types only)."""
        data = asdict(self)
        data.pop("battery_id")
        data["level"] = self.level.value
        data["chemistry"] = self.chemistry.value
        data["category"] = self.category.value
        data["manufactured_on"] = self.manufactured_on.isoformat()
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_payload(cls, battery_id: str, payload: Mapping[str, Any]) -> BatteryUnit:
        try:
            return cls(
                battery_id=battery_id,
                level=UnitLevel(payload["level"]),
                chemistry=Chemistry(payload["chemistry"]),
                category=BatteryCategory(payload["category"]),
                manufacturer_id=str(payload["manufacturer_id"]),
                model=str(payload["model"]),
                mass_kg=float(payload["mass_kg"]),
                rated_energy_kwh=float(payload["rated_energy_kwh"]),
                rated_capacity_ah=float(payload["rated_capacity_ah"]),
                nominal_voltage_v=float(payload["nominal_voltage_v"]),
                manufactured_on=date.fromisoformat(str(payload["manufactured_on"])),
                manufacturing_country=str(payload["manufacturing_country"]),
                manufacturing_site=str(payload.get("manufacturing_site", "")),
                gbt_code=payload.get("gbt_code"),
                gtin=payload.get("gtin"),
                serial=payload.get("serial"),
                parent_id=payload.get("parent_id"),
                predecessor_id=payload.get("predecessor_id"),
            )
        except KeyError as exc:
            raise ValidationError(f"battery {battery_id}: registration lacks {exc.args[0]!r}") from exc
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError(f"battery {battery_id}: {exc}") from exc
