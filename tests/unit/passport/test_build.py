"""Folding ledger events into the canonical passport."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from batteryloop.domain import BatteryCategory
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.passport.core.build import PlainEvent, build_passport, merge_registrations
from batteryloop.passport.core.model import BatteryStatus, Component, Passport

T = datetime(2029, 6, 1, 8, 0, tzinfo=UTC)


def test_identity_and_static_data_come_from_registration(passport: Passport, resolver: str) -> None:
    ident = passport.identity
    assert ident.product_identifier == f"{resolver}/01/04012345000016/21/SN123"
    assert (ident.rated_energy_kwh, ident.rated_capacity_ah, ident.nominal_voltage_v) == (75.0, 200.0, 375.0)
    assert ident.chemistry_clear_name == "lithium nickel manganese cobalt oxide (8:1:1)"
    assert passport.carbon_footprint is not None
    assert passport.composition is not None
    assert "Cobalt" in passport.critical_raw_materials
    assert "Iron" not in passport.critical_raw_materials
    assert passport.lifecycle.placed_on_market_on == date(2027, 4, 2)
    assert passport.lifecycle.put_into_service_on == date(2027, 5, 2)
    assert passport.lifecycle.version == 6


def test_dynamic_data_starts_at_rated_values_then_follows_reports(unit, events_factory) -> None:
    base = build_passport(events_factory(unit, in_service=False))
    cond = base.condition
    start = datetime(2027, 3, 1, tzinfo=UTC)
    assert cond.state_of_certified_energy_pct is not None
    assert cond.state_of_certified_energy_pct.value == 100.0
    assert cond.state_of_certified_energy_pct.last_update == start
    assert cond.remaining_capacity_ah is not None
    assert cond.remaining_capacity_ah.value == 200.0
    assert cond.state_of_charge_pct is not None
    assert cond.state_of_charge_pct.value == 30.0
    assert {r.component for r in cond.internal_resistance_increase_pct} == {Component.PACK, Component.CELL}

    events = events_factory(unit)
    events.append(
        PlainEvent(
            unit.battery_id,
            "StateOfHealthReported",
            T,
            {
                "soh_pct": 88.5,
                "capacity_ah": 170.0,
                "remaining_energy_kwh": 64.0,
                "internal_resistance_increase_pct": 12.0,
                "extreme_high_temp_h": 3.5,
            },
        )
    )
    cond = build_passport(events).condition
    assert cond.state_of_certified_energy_pct.value == 88.5
    assert cond.state_of_certified_energy_pct.last_update == T
    assert cond.capacity_fade_pct.value == pytest.approx(15.0)  # 1 - 170/200
    assert cond.remaining_energy_kwh.value == 64.0
    assert cond.full_cycles.value == 200.0
    assert cond.full_cycles.last_update != T
    pack = [r for r in cond.internal_resistance_increase_pct if r.component is Component.PACK]
    assert pack[0].value == 12.0
    assert cond.temperature.extreme_high_h == 3.5
    assert cond.temperature.extreme_low_h == 0.0
    assert [e.kind for e in cond.negative_events] == ["accident"]


def test_status_waste_after_retirement_and_ceased_after_recycling(unit, events_factory) -> None:
    events = events_factory(unit)
    bid = unit.battery_id
    events.append(PlainEvent(bid, "BatteryRetired", T, {}))
    retired = build_passport(events)
    assert retired.lifecycle.status is BatteryStatus.WASTE
    assert not retired.lifecycle.ceased
    events += [
        PlainEvent(bid, "BatteryCollected", T, {}),
        PlainEvent(bid, "BatteryRecycled", datetime(2030, 1, 5, tzinfo=UTC), {}),
    ]
    recycled = build_passport(events)
    assert recycled.lifecycle.ceased
    assert recycled.lifecycle.ceased_on == date(2030, 1, 5)
    assert recycled.lifecycle.state == "recycled"


def test_repurposing_links_both_passports(unit, unit_factory, events_factory) -> None:
    old = events_factory(unit)
    new_id = "urn:uuid:01934b2e-7c1a-7def-8abc-999999999999"
    old += [
        PlainEvent(unit.battery_id, "BatteryRetired", T, {}),
        PlainEvent(unit.battery_id, "BatteryCollected", T, {}),
        PlainEvent(unit.battery_id, "BatteryGraded", T, {"grade": "A"}),
        PlainEvent(unit.battery_id, "BatteryRepurposed", T, {"successor_id": new_id}),
    ]
    successor = unit_factory(
        battery_id=new_id, category=BatteryCategory.STATIONARY, predecessor_id=unit.battery_id, serial="SN-R1"
    )
    new = [PlainEvent(new_id, "BatteryManufactured", T, successor.to_payload())]
    original = build_passport(old)
    repurposed = build_passport(new, predecessor_events=old)
    assert original.lifecycle.successor_id == new_id
    assert repurposed.lifecycle.predecessor_id == unit.battery_id
    assert repurposed.lifecycle.status is BatteryStatus.REPURPOSED
    with pytest.raises(ValidationError, match="pass that battery's events"):
        build_passport(new)
    other = [
        *old[:-1],
        PlainEvent(unit.battery_id, "BatteryRepurposed", T, {"successor_id": "urn:uuid:someone-else"}),
    ]
    with pytest.raises(ValidationError, match="successor is urn:uuid:someone-else"):
        build_passport(new, predecessor_events=other)
    registered = [*new, PlainEvent(new_id, "PassportDataRegistered", T, {"origin": "Remanufactured"})]
    assert build_passport(registered).lifecycle.status is BatteryStatus.REMANUFACTURED


def test_registrations_merge_in_order_section_by_section(unit, events_factory) -> None:
    events = events_factory(unit)
    bid = unit.battery_id
    events += [
        PlainEvent(bid, "PassportDataRegistered", T, {"warranty_months": 60}),
        PlainEvent(
            bid,
            "PassportDataRegistered",
            T,
            {"test_reports": {"result_of_test_report_url": "https://x.test/r2.pdf"}},
        ),
    ]
    passport = build_passport(events)
    assert passport.warranty_months == 60
    assert passport.test_reports is not None
    assert passport.test_reports.result_of_test_report_url == "https://x.test/r2.pdf"
    assert passport.carbon_footprint is not None  # untouched sections stay
    merged = merge_registrations([{"warranty_months": 12}, {"warranty_months": 24}, {}], battery_id=bid)
    assert merged.warranty_months == 24


def test_bad_registration_names_the_path_and_hides_the_value() -> None:
    with pytest.raises(ValidationError) as caught:
        merge_registrations(
            [
                {},
                {
                    "composition": {
                        "materials": [{"name": "Li", "cas": "TOP-SECRET", "mass_kg": 1, "component": "x"}]
                    }
                },
            ],
            battery_id="b1",
        )
    message = str(caught.value)
    assert message.startswith("PassportDataRegistered #2 for battery b1: $.composition.materials[0].cas:")
    assert "TOP-SECRET" not in message
    with pytest.raises(ValidationError, match=r"\$\.surprise: Extra inputs are not permitted"):
        merge_registrations([{"surprise": 1}], battery_id="b1")


def test_streams_must_open_with_registration(unit) -> None:
    with pytest.raises(NotFoundError):
        build_passport([])
    with pytest.raises(ValidationError, match="does not open with BatteryManufactured"):
        build_passport([PlainEvent(unit.battery_id, "BatteryRetired", T, {})])


def test_without_gtin_the_product_identifier_is_the_battery_id(
    unit_factory, events_factory, resolver
) -> None:
    unit = unit_factory(gtin=None, serial=None)
    passport = build_passport(events_factory(unit), resolver_domain=resolver)
    assert passport.identity.product_identifier == unit.battery_id
