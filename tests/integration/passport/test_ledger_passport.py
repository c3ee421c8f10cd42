"""Passports built from a real (SQLite) ledger: RecordedEvent satisfies the builder's protocol."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from batteryloop.domain import BatteryCategory, BatteryUnit, Chemistry, UnitLevel
from batteryloop.domain.errors import NotFoundError
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.passport.access import Audience, audiences_for, redact
from batteryloop.passport.core.batterypass import split_issues, to_batterypass, validate_batterypass
from batteryloop.passport.core.build import passport_from_source
from batteryloop.passport.core.catenax import to_catenax
from batteryloop.passport.core.json_schemas import SchemaName, validate
from batteryloop.passport.core.model import BatteryStatus
from batteryloop.passport.core.synthetic import synthetic_passport_data

RESOLVER = "https://id.batteryloop.test"
OLD = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000a001"
NEW = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000a002"


def _unit(battery_id: str, **extra) -> BatteryUnit:
    fields = {
        "battery_id": battery_id,
        "level": UnitLevel.PACK,
        "chemistry": Chemistry.LFP,
        "category": BatteryCategory.EV,
        "manufacturer_id": "maker",
        "model": "LFP 60",
        "mass_kg": 380.0,
        "rated_energy_kwh": 60.0,
        "rated_capacity_ah": 180.0,
        "nominal_voltage_v": 333.0,
        "manufactured_on": date(2025, 3, 1),
        "manufacturing_country": "DE",
        "gtin": "04012345000016",
        "serial": battery_id[-4:],
    }
    fields.update(extra)
    return BatteryUnit(**fields)


def test_full_life_from_the_ledger(ledger, world, bl) -> None:
    unit = _unit(OLD)
    world.maker.append(
        bl.ev(OLD, E.BATTERY_MANUFACTURED, unit.to_payload()),
        bl.ev(
            OLD,
            E.PASSPORT_DATA_REGISTERED,
            synthetic_passport_data(unit, seed=5),
            minutes=1,
        ),
        bl.ev(OLD, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=2),
        bl.ev(OLD, E.BATTERY_PUT_INTO_SERVICE, {}, minutes=3),
        bl.ev(
            OLD, E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 91.0, "capacity_ah": 171.0, "cycles": 640}, minutes=4
        ),
        bl.ev(OLD, E.CUSTODY_HANDED_OVER, {"to_org": "dealer"}, minutes=5),
    )
    world.dealer.append(bl.ev(OLD, E.CUSTODY_ACCEPTED, {}, minutes=6))

    passport = passport_from_source(ledger, OLD, resolver_domain=RESOLVER)
    assert passport.identity.product_identifier == f"{RESOLVER}/01/04012345000016/21/a001"
    assert passport.condition.capacity_fade_pct.value == pytest.approx(5.0)  # 1 - 171/180
    assert passport.lifecycle.version == 7
    unexpected, _ = split_issues(validate_batterypass(to_batterypass(passport)))
    assert unexpected == []
    assert validate(SchemaName.CATENAX_BATTERY_PASS, to_catenax(passport)) == []

    # access follows custody as the ledger records it
    status = ledger.status(OLD)
    dealer = ledger.get_organisation("dealer")
    recycler = ledger.get_organisation("recycler")
    assert audiences_for(dealer, custodian=status.custodian, manufacturer=status.manufacturer) >= {
        Audience.INDIVIDUAL
    }
    assert Audience.INDIVIDUAL not in audiences_for(
        recycler, custodian=status.custodian, manufacturer=status.manufacturer
    )
    assert "condition" not in redact(passport, audiences_for(recycler, custodian=status.custodian))


def test_repurposed_successor_links_back_and_status_comes_from_the_predecessor(ledger, world, bl) -> None:
    unit = _unit(OLD)
    world.maker.append(
        bl.ev(OLD, E.BATTERY_MANUFACTURED, unit.to_payload()),
        bl.ev(OLD, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=1),
        bl.ev(OLD, E.BATTERY_RETIRED, {}, minutes=2),
        bl.ev(OLD, E.BATTERY_COLLECTED, {}, minutes=3),
        bl.ev(OLD, E.BATTERY_GRADED, {"grade": "A", "soh_pct": 82.0}, minutes=4),
        bl.ev(OLD, E.BATTERY_REPURPOSED, {"successor_id": NEW}, minutes=5),
    )
    successor = _unit(
        NEW,
        category=BatteryCategory.STATIONARY,
        predecessor_id=OLD,
        manufactured_on=bl.T0.date() + timedelta(days=1),
    )
    world.maker.append(bl.ev(NEW, E.BATTERY_MANUFACTURED, successor.to_payload(), minutes=10))

    old = passport_from_source(ledger, OLD)
    new = passport_from_source(ledger, NEW)
    assert old.lifecycle.successor_id == NEW
    assert old.lifecycle.status is BatteryStatus.WASTE
    assert new.lifecycle.predecessor_id == OLD
    assert new.lifecycle.status is BatteryStatus.REPURPOSED
    assert to_catenax(new)["metadata"]["predecessor"] == OLD


def test_unknown_battery_is_not_found(ledger) -> None:
    with pytest.raises(NotFoundError, match="urn:uuid:nope is not registered"):
        passport_from_source(ledger, "urn:uuid:nope")


def _gbt(level: UnitLevel, serial: int) -> str:
    from batteryloop.domain.identity import GBT34014Code

    return GBT34014Code.generate(
        manufacturer_code="X12",
        level=level,
        spec_code="AB",
        trace_code="TRC0001",
        produced_on=date(2025, 3, 14),
        serial=serial,
        chemistry=Chemistry.LFP,
    ).text


def test_traction_battery_code_tree_from_the_ledger(ledger, world, bl) -> None:
    from batteryloop.passport.core.catenax import code_tree_from_source, codes_in, to_traction_battery_code

    pack_id, module_id = OLD, "urn:uuid:01934b2e-7c1a-7def-8abc-00000000a0m1"
    cell_ids = [f"urn:uuid:01934b2e-7c1a-7def-8abc-00000000a0c{i}" for i in range(2)]
    codes = {pack_id: _gbt(UnitLevel.PACK, 1), module_id: _gbt(UnitLevel.MODULE, 2)}
    codes.update({cid: _gbt(UnitLevel.CELL, 10 + i) for i, cid in enumerate(cell_ids)})
    levels = {pack_id: UnitLevel.PACK, module_id: UnitLevel.MODULE, **dict.fromkeys(cell_ids, UnitLevel.CELL)}
    events = [
        bl.ev(
            bid,
            E.BATTERY_MANUFACTURED,
            _unit(bid, level=levels[bid], gbt_code=codes[bid]).to_payload(),
            minutes=i,
        )
        for i, bid in enumerate(codes)
    ]
    events += [bl.ev(cid, E.BATTERY_INTEGRATED, {"parent_id": module_id}, minutes=10) for cid in cell_ids]
    events.append(bl.ev(module_id, E.BATTERY_INTEGRATED, {"parent_id": pack_id}, minutes=11))
    world.maker.append(*events)

    doc = to_traction_battery_code(code_tree_from_source(ledger, pack_id))
    assert validate(SchemaName.CATENAX_TRACTION_BATTERY_CODE, doc) == []
    assert codes_in(doc) == [codes[pack_id], codes[module_id], codes[cell_ids[0]], codes[cell_ids[1]]]
    assert doc["subcomponents"][0]["productType"] == "module"
