"""Dynamic data derived from the reports, a composition that balances, and re-rated successors: each rule
shown to hold and shown to catch what breaks it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.passport_data import (
    BatteryComponent,
    MaterialComposition,
    PassportDataRegistered,
    check_declared_mass,
    normalise_component,
)
from batteryloop.passport.core import dynamic
from batteryloop.passport.core.build import PlainEvent, build_passport
from batteryloop.passport.core.obligations import check_passport
from batteryloop.passport.core.synthetic import synthetic_passport_data

RESOLVER = "https://id.batteryloop.test"


def _soh(bid: str, year: int, payload: dict[str, Any]) -> PlainEvent:
    return PlainEvent(bid, "StateOfHealthReported", datetime(year, 6, 1, tzinfo=UTC), payload)


def test_a_bare_soh_report_derives_capacity_energy_and_fade_dated_then(unit, events_factory) -> None:
    events = events_factory(unit, in_service=False)
    events.append(_soh(unit.battery_id, 2030, {"soh_pct": 88.0}))
    c = build_passport(events).condition
    when = datetime(2030, 6, 1, tzinfo=UTC)
    assert c.capacity_fade_pct is not None and c.capacity_fade_pct.value == pytest.approx(12.0)
    assert c.remaining_capacity_ah is not None and c.remaining_capacity_ah.value == pytest.approx(176.0)
    assert c.remaining_energy_kwh is not None and c.remaining_energy_kwh.value == pytest.approx(66.0)
    assert {c.capacity_fade_pct.last_update, c.remaining_capacity_ah.last_update} == {when}
    # nothing reported the use: cycles stay at the baseline's date, and the invariants say so
    assert c.full_cycles is not None and c.full_cycles.last_update < when
    assert any("without any use" in p for p in dynamic.invariants(build_passport(events)))


def test_use_power_and_resistance_are_derived_and_consistent(unit, events_factory) -> None:
    events = events_factory(unit, in_service=False)
    events.append(
        _soh(
            unit.battery_id,
            2030,
            {"soh_pct": 90.0, "energy_throughput_kwh": 9000.0, "internal_resistance_increase_pct": 25.0},
        )
    )
    passport = build_passport(events)
    c = passport.condition
    assert c.full_cycles is not None and c.full_cycles.value == pytest.approx(120.0)  # 9000 / 75 kWh
    assert c.power_fade_pct is not None and c.power_fade_pct.value == pytest.approx(20.0)  # 1 - 1/1.25
    assert passport.rated_performance is not None
    top = max(passport.rated_performance.original_power_capability, key=lambda p: p.at_soc_pct)
    assert c.remaining_power_capability is not None
    assert c.remaining_power_capability.power_w == pytest.approx(top.power_w * 0.8)
    assert dynamic.invariants(passport) == []


def test_cycles_and_throughput_never_go_down(unit, events_factory) -> None:
    events = events_factory(unit, in_service=False)
    events.append(
        _soh(unit.battery_id, 2029, {"soh_pct": 95.0, "cycles": 300, "energy_throughput_kwh": 21000})
    )
    events.append(
        _soh(unit.battery_id, 2030, {"soh_pct": 93.0, "cycles": 250, "energy_throughput_kwh": 26000})
    )
    passport = build_passport(events)
    assert passport.condition.full_cycles is not None and passport.condition.full_cycles.value == 300
    assert passport.condition.energy_throughput_kwh is not None
    assert passport.condition.energy_throughput_kwh.value == 26000
    assert [i.field for i in passport.data_issues] == ["cycles"]


def test_a_capacity_that_contradicts_the_soh_is_flagged_and_caught(unit, events_factory) -> None:
    events = events_factory(unit, in_service=False)
    events.append(_soh(unit.battery_id, 2030, {"soh_pct": 68.0, "capacity_ah": 200.0, "cycles": 10}))
    passport = build_passport(events)
    assert [i.field for i in passport.data_issues] == ["capacity_ah"]
    assert any("capacity_fade_pct" in p for p in dynamic.invariants(passport))


@settings(max_examples=60, deadline=None)
@given(
    reports=st.lists(
        st.fixed_dictionaries(
            {
                "soh_pct": st.floats(min_value=0, max_value=110),
                "cycles": st.floats(min_value=0, max_value=5000),
                "energy_throughput_kwh": st.floats(min_value=0, max_value=400_000),
            }
        ),
        min_size=1,
        max_size=8,
    )
)
def test_whatever_is_reported_the_counters_only_grow(
    unit_factory, events_factory, reports: list[dict[str, float]]
) -> None:
    unit = unit_factory()
    events = events_factory(unit, in_service=False)
    kept: dict[str, float] = {"cycles": 0.0, "energy_throughput_kwh": 0.0}
    for year, report in enumerate(reports, start=2028):
        events.append(_soh(unit.battery_id, year, report))
        passport = build_passport(events)
        c = passport.condition
        assert c.full_cycles is not None and c.full_cycles.value >= kept["cycles"]
        assert (
            c.energy_throughput_kwh is not None
            and c.energy_throughput_kwh.value >= kept["energy_throughput_kwh"]
        )
        kept = {"cycles": c.full_cycles.value, "energy_throughput_kwh": c.energy_throughput_kwh.value}
        assert c.capacity_fade_pct is not None
        assert c.capacity_fade_pct.value == pytest.approx(max(0.0, 100.0 - report["soh_pct"]), abs=1e-6)


# ---------------------------------------------------------------- composition


def test_component_labels_fold_into_one_vocabulary() -> None:
    assert normalise_component("Anode current collector") == "anode_current_collector"
    assert normalise_component("positive electrode") == "cathode"
    assert normalise_component("Casing") == "housing"
    with pytest.raises(PydanticValidationError, match="component"):
        MaterialComposition.model_validate(
            {
                "materials": [{"name": "Li", "cas": "7439-93-2", "mass_kg": 1, "component": "somewhere"}],
                "battery_mass_kg": 1,
                "remainder_kg": 0,
            }
        )


def _composition(unit) -> dict[str, Any]:
    return dict(synthetic_passport_data(unit, seed=1)["composition"])


def test_synthetic_composition_balances_with_an_explicit_remainder(unit) -> None:
    comp = MaterialComposition.model_validate(_composition(unit))
    assert comp.battery_mass_kg == unit.mass_kg
    assert sum(m.mass_kg for m in comp.materials) + comp.remainder_kg == pytest.approx(unit.mass_kg, abs=0.01)
    assert comp.remainder_kg > 0
    assert {m.component for m in comp.materials} <= set(BatteryComponent)


def test_a_declaration_heavier_than_the_battery_is_refused_naming_the_field(unit) -> None:
    comp = _composition(unit)
    comp["materials"] = [{**comp["materials"][0], "mass_kg": unit.mass_kg * 1.09}]
    comp["remainder_kg"] = 0.0
    with pytest.raises(PydanticValidationError, match=r"composition\.battery_mass_kg"):
        PassportDataRegistered.model_validate({"composition": comp})
    # and against the registered mass, when the declaration claims a heavier battery
    heavy = {**_composition(unit)}
    heavy["battery_mass_kg"] = unit.mass_kg * 1.2
    heavy["remainder_kg"] = round(heavy["remainder_kg"] + unit.mass_kg * 0.2, 4)
    PassportDataRegistered.model_validate({"composition": heavy})  # balances in itself
    with pytest.raises(ValidationError, match=r"composition.battery_mass_kg .* registered mass_kg"):
        check_declared_mass(unit.battery_id, {"composition": heavy}, unit.mass_kg)
    check_declared_mass(unit.battery_id, {"composition": _composition(unit)}, unit.mass_kg)


# ---------------------------------------------------------------- re-rated successors


def _successor(unit_factory, rerating: dict[str, Any] | None) -> list[PlainEvent]:
    unit = unit_factory(
        battery_id="urn:uuid:01934b2e-7c1a-7def-8abc-00000000beef",
        predecessor_id="urn:uuid:01934b2e-7c1a-7def-8abc-0123456789ab",
        rated_energy_kwh=58.5,
        rated_capacity_ah=156.0,
        serial="SN2",
    )
    data = synthetic_passport_data(unit, seed=1)
    data["origin"] = "Repurposed"
    if rerating is not None:
        data["rerating"] = rerating
    t = datetime(2032, 5, 1, tzinfo=UTC)
    return [
        PlainEvent(unit.battery_id, "BatteryManufactured", t, unit.to_payload()),
        PlainEvent(unit.battery_id, "PassportDataRegistered", t, data),
    ]


RERATING = {
    "rerated_by": "second-life-co",
    "rerated_on": "2032-04-20",
    "test_method": "capacity, DC internal resistance and self-discharge test (ANSI/CAN/UL 1974)",
    "original_passport_id": "urn:uuid:01934b2e-7c1a-7def-8abc-0123456789ab",
    "original_rated_capacity_ah": 200.0,
    "original_rated_energy_kwh": 75.0,
    "soh_pct": 78.0,
    "capacity_ah": 156.0,
    "energy_kwh": 58.5,
    "internal_resistance_increase_pct": 44.0,
    "full_cycles_before": 880.0,
    "grade": "B",
}


def test_a_successor_starts_from_its_re_rating_not_from_a_new_battery(unit_factory) -> None:
    passport = build_passport(_successor(unit_factory, RERATING))
    c = passport.condition
    assert passport.rerating is not None and passport.rerating.rerated_by == "second-life-co"
    assert c.state_of_certified_energy_pct is not None and c.state_of_certified_energy_pct.value == 78.0
    assert c.capacity_fade_pct is not None and c.capacity_fade_pct.value == pytest.approx(22.0)
    assert c.state_of_certified_energy_pct.last_update == datetime(2032, 4, 20, tzinfo=UTC)
    assert passport.carbon_footprint is None  # the original's declaration, one link away
    assert passport.warranty_months == 36
    assert dynamic.invariants(passport) == []


def test_a_successor_without_a_re_rating_shows_no_state_of_health_and_says_why(unit_factory) -> None:
    passport = build_passport(_successor(unit_factory, None))
    assert passport.condition.state_of_certified_energy_pct is None
    assert [i.field for i in passport.data_issues] == ["rerating"]
    missing = {m.path for m in check_passport(passport, on=datetime(2032, 5, 2).date())}
    assert "rerating" in missing and "carbon_footprint" not in missing


def test_a_re_rating_must_agree_with_itself() -> None:
    with pytest.raises(PydanticValidationError, match=r"rerating.soh_pct"):
        PassportDataRegistered.model_validate({"rerating": {**RERATING, "soh_pct": 100.0}})
