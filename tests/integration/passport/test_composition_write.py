"""A passport whose declared composition exceeds the battery's registered mass is refused on write, with an
error naming the field, and nothing of the batch is written (every append path goes through the same check)."""

from __future__ import annotations

from datetime import date

import pytest

from batteryloop.domain import BatteryCategory, BatteryUnit, Chemistry, UnitLevel
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.passport.core.synthetic import synthetic_passport_data

RESOLVER = "https://id.batteryloop.test"
BID = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000c001"


def _unit() -> BatteryUnit:
    return BatteryUnit(
        battery_id=BID,
        level=UnitLevel.PACK,
        chemistry=Chemistry.NMC811,
        category=BatteryCategory.EV,
        manufacturer_id="maker",
        model="NMC 60",
        mass_kg=300.0,
        rated_energy_kwh=60.0,
        rated_capacity_ah=160.0,
        nominal_voltage_v=375.0,
        manufactured_on=date(2025, 3, 1),
        manufacturing_country="DE",
    )


def _heavier(data: dict, factor: float) -> dict:
    """The same declaration for a battery ``factor`` times heavier (it balances in itself)."""
    comp = dict(data["composition"])
    extra = comp["battery_mass_kg"] * (factor - 1.0)
    comp["battery_mass_kg"] = round(comp["battery_mass_kg"] * factor, 4)
    comp["remainder_kg"] = round(comp["remainder_kg"] + extra, 4)
    return {**data, "composition": comp}


def _stream_length(ledger) -> int:
    try:
        return len(ledger.read_stream(BID))
    except NotFoundError:
        return 0


def test_refused_in_the_same_batch_as_the_registration(ledger, world, bl) -> None:
    unit = _unit()
    data = _heavier(synthetic_passport_data(unit, seed=1), 1.09)
    with pytest.raises(ValidationError, match=r"composition\.battery_mass_kg .* registered mass_kg 300\.0"):
        world.maker.append(
            bl.ev(BID, E.BATTERY_MANUFACTURED, unit.to_payload()),
            bl.ev(BID, E.PASSPORT_DATA_REGISTERED, data, minutes=1),
        )
    assert _stream_length(ledger) == 0


def test_refused_against_the_stored_registration_and_accepted_when_it_balances(ledger, world, bl) -> None:
    unit = _unit()
    world.maker.append(bl.ev(BID, E.BATTERY_MANUFACTURED, unit.to_payload()))
    good = synthetic_passport_data(unit, seed=1)
    with pytest.raises(ValidationError, match=r"composition\.battery_mass_kg"):
        world.maker.append(bl.ev(BID, E.PASSPORT_DATA_REGISTERED, _heavier(good, 1.2), minutes=1))
    assert _stream_length(ledger) == 1
    world.maker.append(bl.ev(BID, E.PASSPORT_DATA_REGISTERED, good, minutes=2))
    assert _stream_length(ledger) == 2


def test_materials_heavier_than_the_battery_never_validate(ledger, world, bl) -> None:
    unit = _unit()
    data = synthetic_passport_data(unit, seed=1)
    comp = dict(data["composition"])
    comp["materials"] = [{**comp["materials"][0], "mass_kg": 330.0}]
    comp["remainder_kg"] = 0.0
    with pytest.raises(ValidationError, match=r"composition"):
        world.maker.append(
            bl.ev(BID, E.BATTERY_MANUFACTURED, unit.to_payload()),
            bl.ev(BID, E.PASSPORT_DATA_REGISTERED, {**data, "composition": comp}, minutes=1),
        )
    assert _stream_length(ledger) == 0
