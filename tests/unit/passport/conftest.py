"""Fixtures for the passport tests: demo units, their event streams and passports (no database)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from batteryloop.domain import BatteryCategory, BatteryUnit, Chemistry, UnitLevel
from batteryloop.passport.core.build import PlainEvent, build_passport
from batteryloop.passport.core.model import Passport
from batteryloop.passport.core.synthetic import synthetic_passport_data

RESOLVER = "https://id.batteryloop.test"
BATTERY_ID = "urn:uuid:01934b2e-7c1a-7def-8abc-0123456789ab"


def make_unit(**overrides: Any) -> BatteryUnit:
    fields: dict[str, Any] = {
        "battery_id": BATTERY_ID,
        "level": UnitLevel.PACK,
        "chemistry": Chemistry.NMC811,
        "category": BatteryCategory.EV,
        "manufacturer_id": "cellco",
        "model": "EV Pack 75",
        "mass_kg": 450.0,
        "rated_energy_kwh": 75.0,
        "rated_capacity_ah": 200.0,
        "nominal_voltage_v": 375.0,
        "manufactured_on": date(2027, 3, 1),
        "manufacturing_country": "DE",
        "gtin": "04012345000016",
        "serial": "SN123",
    }
    fields.update(overrides)
    return BatteryUnit(**fields)


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 9, 30, tzinfo=UTC)


def life_events(
    unit: BatteryUnit, *, seed: int = 1, in_service: bool = True, register: bool = True
) -> list[PlainEvent]:
    bid = unit.battery_id
    events = [PlainEvent(bid, "BatteryManufactured", at(2027, 3, 1), unit.to_payload())]
    if register:
        data = synthetic_passport_data(unit, seed=seed)
        events.append(PlainEvent(bid, "PassportDataRegistered", at(2027, 3, 2), data))
    events.append(PlainEvent(bid, "BatteryPlacedOnMarket", at(2027, 4, 2), {"country": "DE"}))
    if in_service:
        events += [
            PlainEvent(bid, "BatteryPutIntoService", at(2027, 5, 2), {}),
            PlainEvent(
                bid,
                "StateOfHealthReported",
                at(2028, 3, 2),
                {"soh_pct": 95.0, "capacity_ah": 190.0, "cycles": 200},
            ),
            PlainEvent(
                bid,
                "NegativeEventReported",
                at(2028, 4, 2),
                {"kind": "accident", "description": "rear collision"},
            ),
        ]
    return events


@pytest.fixture(scope="session")
def resolver() -> str:
    return RESOLVER


@pytest.fixture
def unit() -> BatteryUnit:
    return make_unit()


@pytest.fixture
def events(unit: BatteryUnit) -> list[PlainEvent]:
    return life_events(unit)


@pytest.fixture
def passport(events: list[PlainEvent]) -> Passport:
    return build_passport(events, resolver_domain=RESOLVER)


@pytest.fixture(scope="session")
def unit_factory() -> Callable[..., BatteryUnit]:
    return make_unit


@pytest.fixture(scope="session")
def events_factory() -> Callable[..., list[PlainEvent]]:
    return life_events


def demo_units() -> list[BatteryUnit]:
    """One unit per chemistry, spread over the four passport categories."""
    cats = [BatteryCategory.EV, BatteryCategory.LMT, BatteryCategory.INDUSTRIAL, BatteryCategory.STATIONARY]
    units = []
    for i, chem in enumerate(Chemistry):
        units.append(
            make_unit(
                battery_id=f"urn:uuid:01934b2e-7c1a-7def-8abc-{i:012d}",
                chemistry=chem,
                category=cats[i % 4],
                level=UnitLevel.SYSTEM if cats[i % 4] is BatteryCategory.STATIONARY else UnitLevel.PACK,
                serial=f"SN{i:04d}",
            )
        )
    return units


@pytest.fixture(scope="session")
def demo_passports() -> list[Passport]:
    return [build_passport(life_events(u, seed=7), resolver_domain=RESOLVER) for u in demo_units()]
