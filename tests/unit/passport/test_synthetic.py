"""Synthetic demo passport data: complete, plausible, deterministic per seed, numbers from the cited file."""

from __future__ import annotations

import pytest

from batteryloop.domain.chemistry import BatteryCategory, Chemistry
from batteryloop.domain.errors import ValidationError
from batteryloop.passport.model import PassportDataRegistered
from batteryloop.passport.synthetic import catenax_id, load_synthetic_defaults, synthetic_passport_data


def test_deterministic_per_seed_and_unit(unit, unit_factory) -> None:
    assert synthetic_passport_data(unit, seed=3) == synthetic_passport_data(unit, seed=3)
    assert synthetic_passport_data(unit, seed=3) != synthetic_passport_data(unit, seed=4)
    other = unit_factory(battery_id="urn:uuid:01934b2e-7c1a-7def-8abc-000000000001")
    assert synthetic_passport_data(unit, seed=3) != synthetic_passport_data(other, seed=3)


@pytest.mark.parametrize("chemistry", list(Chemistry))
def test_every_chemistry_gives_a_complete_valid_payload(unit_factory, chemistry: Chemistry) -> None:
    unit = unit_factory(chemistry=chemistry)
    data = PassportDataRegistered.model_validate(synthetic_passport_data(unit, seed=1))
    unset = [name for name, value in data if value is None and name != "origin"]
    assert unset == []
    names = {m.name for m in data.composition.materials}
    assert ("Cobalt" in names) == (
        chemistry
        in {
            Chemistry.NMC111,
            Chemistry.NMC532,
            Chemistry.NMC622,
            Chemistry.NMC811,
            Chemistry.NCA,
            Chemistry.LCO,
            Chemistry.SOLID_STATE,
            Chemistry.SEMI_SOLID_STATE,
        }
    )


def test_values_follow_the_defaults_file(unit) -> None:
    d = load_synthetic_defaults()
    data = synthetic_passport_data(unit, seed=11, resolver_domain="https://id.example.eu")
    base = d["carbon_footprint"]["kg_co2e_per_kwh"]["NMC811"]
    total = data["carbon_footprint"]["total_kg_co2e_per_kwh"]
    assert base * 0.85 <= total <= base * 1.15
    assert sum(s["kg_co2e_per_kwh"] for s in data["carbon_footprint"]["per_stage"]) == pytest.approx(
        total, rel=1e-3
    )
    nickel = next(m for m in data["composition"]["materials"] if m["name"] == "Nickel")
    assert nickel["cas"] == "7440-02-0"
    assert nickel["critical_raw_material"]
    assert 0.75 * 75 * 0.95 <= nickel["mass_kg"] <= 0.75 * 75 * 1.05  # kg/kWh x 75 kWh
    assert data["warranty_months"] == 96
    assert data["circularity"]["dismantling_documents"][0]["url"].startswith(
        "https://id.example.eu/docs/cellco/EV%20Pack%2075/"
    )
    assert data["manufacturer"]["bpnl"] == catenax_id("BPNL", "cellco")
    assert len(data["manufacturer"]["bpnl"]) == 16


def test_out_of_scope_categories_are_refused(unit_factory) -> None:
    with pytest.raises(ValidationError, match="category portable needs no battery passport"):
        synthetic_passport_data(unit_factory(category=BatteryCategory.PORTABLE), seed=1)


def test_every_default_block_cites_source_and_year() -> None:
    d = load_synthetic_defaults()
    for block in (
        "carbon_footprint",
        "materials",
        "hazardous",
        "recycled_content",
        "performance",
        "warranty_months",
        "safety",
        "due_diligence",
    ):
        assert d[block]["source"], block
        assert 2019 <= d[block]["year"] <= 2026, block
