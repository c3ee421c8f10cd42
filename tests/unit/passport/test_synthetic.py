"""Synthetic demo passport data: complete, plausible, deterministic per seed, numbers from the cited file."""

from __future__ import annotations

import pytest

from batteryloop.demo import modelled_recycling_stage
from batteryloop.domain.chemistry import BatteryCategory, Chemistry
from batteryloop.domain.documents import ref_of
from batteryloop.domain.errors import ValidationError
from batteryloop.passport.core.documents import documents_for
from batteryloop.passport.core.model import PassportDataRegistered
from batteryloop.passport.core.synthetic import (
    catenax_id,
    load_synthetic_defaults,
    recycling_stage_kg_co2e_per_kwh,
    synthetic_passport_data,
)


def test_deterministic_per_seed_and_unit(unit, unit_factory) -> None:
    assert synthetic_passport_data(unit, seed=3) == synthetic_passport_data(unit, seed=3)
    assert synthetic_passport_data(unit, seed=3) != synthetic_passport_data(unit, seed=4)
    other = unit_factory(battery_id="urn:uuid:01934b2e-7c1a-7def-8abc-000000000001")
    assert synthetic_passport_data(unit, seed=3) != synthetic_passport_data(other, seed=3)


@pytest.mark.parametrize("chemistry", list(Chemistry))
def test_every_chemistry_gives_a_complete_valid_payload(unit_factory, chemistry: Chemistry) -> None:
    unit = unit_factory(chemistry=chemistry)
    data = PassportDataRegistered.model_validate(synthetic_passport_data(unit, seed=1))
    unset = [name for name, value in data if value is None and name not in ("origin", "rerating")]
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
    data = synthetic_passport_data(unit, seed=11)
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
    # documents are linked by the hash of their bytes (no host): the model's own dismantling manual
    manual = documents_for("cellco", "EV Pack 75")["dismantling"]
    assert data["circularity"]["dismantling_documents"][0]["url"] == manual.ref == ref_of(manual.content)
    assert b"EV Pack 75" in manual.content
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


def _stage(data, name: str) -> float:
    return next(s["kg_co2e_per_kwh"] for s in data["carbon_footprint"]["per_stage"] if s["stage"] == name)


@pytest.mark.parametrize(
    ("chemistry", "route"),
    [(Chemistry.NMC811, "hydro"), (Chemistry.NCA, "hydro"), (Chemistry.LFP, "lfp_selective")],
)
def test_recycling_stage_comes_from_the_recycling_model(unit_factory, chemistry, route) -> None:
    from batteryloop.recycling import carbon_footprint, load_parameter_set, run_flowsheet, simple_feedstock

    params = load_parameter_set("everbatt2023")
    feed = simple_feedstock({chemistry.value: 1.0}, form="pack", annual_mass_t=10_000.0)
    flowsheet = run_flowsheet(feed, route=route, params=params)
    carbon = carbon_footprint(flowsheet, params=params, region="EU")
    # gate-to-gate emissions per kWh of pack, not the avoided-virgin credit (which is larger and negative in net)
    expected = carbon.gate_to_gate_kg_co2e_per_kwh
    assert expected is not None and expected > 0.0
    assert carbon.net_kg_co2e_per_kwh is not None and carbon.net_kg_co2e_per_kwh < 0.0
    assert recycling_stage_kg_co2e_per_kwh(chemistry, model=modelled_recycling_stage) == pytest.approx(
        expected
    )
    for seed in (1, 2):
        data = synthetic_passport_data(
            unit_factory(chemistry=chemistry), seed=seed, recycling_stage=modelled_recycling_stage
        )
        assert _stage(data, "Recycling") == pytest.approx(expected, abs=5e-4)  # same for every seed
        total = data["carbon_footprint"]["total_kg_co2e_per_kwh"]
        stages = data["carbon_footprint"]["per_stage"]
        assert sum(s["kg_co2e_per_kwh"] for s in stages) == pytest.approx(total, abs=2e-3)
        # the other stages keep their cited proportions (IVL C444: 0.62 : 0.34 : 0.01)
        assert _stage(data, "RawMaterialExtraction") / _stage(data, "MainProduction") == pytest.approx(
            0.62 / 0.34, rel=1e-3
        )
        PassportDataRegistered.model_validate(data)


def test_recycling_stage_numbers_are_plausible() -> None:
    # NMC hydrometallurgy (leaching, solvent extraction, Ni/Co/Mn salts) emits more per kWh than LFP selective
    # leaching (Li only); both are a few kg CO2e per kWh, well below the ~60-100 kg/kWh of making the battery.
    nmc = recycling_stage_kg_co2e_per_kwh(Chemistry.NMC811, model=modelled_recycling_stage)
    lfp = recycling_stage_kg_co2e_per_kwh(Chemistry.LFP, model=modelled_recycling_stage)
    assert nmc is not None and lfp is not None
    assert 1.0 < lfp < nmc < 15.0


@pytest.mark.parametrize("chemistry", [Chemistry.LMO, Chemistry.SODIUM_ION, Chemistry.LMFP])
def test_unmodelled_chemistries_fall_back_to_the_cited_stage_share(unit_factory, chemistry) -> None:
    assert recycling_stage_kg_co2e_per_kwh(chemistry, model=modelled_recycling_stage) is None
    d = load_synthetic_defaults()
    assert chemistry.value not in d["carbon_footprint"]["recycling_stage"]["routes"]
    data = synthetic_passport_data(
        unit_factory(chemistry=chemistry), seed=5, recycling_stage=modelled_recycling_stage
    )
    total = data["carbon_footprint"]["total_kg_co2e_per_kwh"]
    share = d["carbon_footprint"]["stage_share"]["Recycling"]
    assert _stage(data, "Recycling") == pytest.approx(round(total * share, 3))


def test_a_defaults_file_without_the_model_block_uses_the_stage_share(unit) -> None:
    d = load_synthetic_defaults()
    cf = {k: v for k, v in d["carbon_footprint"].items() if k != "recycling_stage"}
    data = synthetic_passport_data(
        unit, seed=5, defaults={**d, "carbon_footprint": cf}, recycling_stage=modelled_recycling_stage
    )
    total = data["carbon_footprint"]["total_kg_co2e_per_kwh"]
    assert _stage(data, "Recycling") == pytest.approx(round(total * 0.03, 3))
    assert (
        recycling_stage_kg_co2e_per_kwh(
            Chemistry.NMC811, model=modelled_recycling_stage, defaults={**d, "carbon_footprint": cf}
        )
        is None
    )
