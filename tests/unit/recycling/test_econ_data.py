"""ECON's data files: spot checks against the EverBatt source tables and integrity of every leaf."""

from __future__ import annotations

import pytest

from batteryloop.recycling.core.economics import (
    _REGION_FIELDS,
    CHEMISTRY_FAMILY,
    FORM_CLASS,
    MARKET_TERMS,
    known_regions,
)
from batteryloop.recycling.core.params import load_parameter_set

SETS = ("everbatt2019", "everbatt2023")
ECON_FILES = ("prices", "regions", "market_terms", "equipment", "cost_factors", "finance")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        # EB23xl Materials (process_economics.md §1.7)
        ("prices.Co", 50.35),
        ("prices.Ni", 16.85),
        ("prices.Mn", 3.15),
        ("prices.Li2CO3", 17.14),
        ("prices.LiOH", 34.89),
        ("prices.NiSO4", 6.39),
        ("prices.H2SO4", 0.083),
        ("prices.CAM_NMC811", 26.0),
        # EB23xl Geographic Par. (§1.8)
        ("regions.US.labour_usd_per_h", 38.12),
        ("regions.US.electricity_usd_per_kwh", 0.0845),
        ("regions.CN.electricity_usd_per_kwh", 0.0884),
        ("regions.CN.equipment_cost_factor", 0.61),
        # EB19doc Table 15 (§1.2)
        ("cost_factors.capital.installation", 0.40),
        ("cost_factors.capital.service_facilities", 0.60),
        ("cost_factors.capital.contingency", 0.05),
        ("cost_factors.operating.maintenance", 0.05),
        ("cost_factors.operating.plant_overhead", 0.50),
        # EB19doc Table 40 (§1.11)
        ("equipment.curves.smelter.a", 6137979.0),
        ("equipment.curves.tank.b", 0.4481),
        ("equipment.curves.dryer.adj", 1.412),
        # EB19doc §5.1.1 / EB23xl
        ("finance.operating_days_per_yr", 320),
        ("finance.discount_rate", 0.10),
    ],
)
def test_everbatt2023_matches_the_source_tables(path, value):
    assert load_parameter_set("everbatt2023").value(path) == pytest.approx(value)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("prices.Co", 51.3),  # EB19xl Materials
        ("prices.Ni", 11.3),
        ("prices.Li2CO3", 7.9),  # EB19doc Table 14 (BatPaC)
        ("prices.CoSO4", 19.51),
        ("prices.CAM_LCO", 35.0),
        ("prices.H2O2", 0.74),
        ("regions.US.labour_usd_per_h", 20.0),  # EB19doc App. D
        ("regions.CN.labour_usd_per_h", 2.0),
        ("regions.US.electricity_usd_per_kwh", 0.069),
        ("regions.CN.equipment_cost_factor", 0.60),
        ("cost_factors.battery_fee.LCO", 2.0),  # EB19doc Table 13
        ("cost_factors.battery_fee.NMC111", 0.2),
        ("cost_factors.battery_fee.LMO", -1.0),
        ("cost_factors.battery_fee.LFP", -2.0),
    ],
)
def test_everbatt2019_matches_the_source_tables(path, value):
    assert load_parameter_set("everbatt2019").value(path) == pytest.approx(value)


@pytest.mark.parametrize("set_name", SETS)
def test_every_leaf_is_cited_and_ranges_bracket_the_value(set_name):
    params = load_parameter_set(set_name)
    leaves = [(p, prm) for f in ECON_FILES for p, prm in params.items(f)]
    assert len(leaves) > 250
    for path, prm in leaves:
        assert prm.unit, path
        assert prm.source, path
        assert prm.year is not None, path
        if prm.low is not None or prm.high is not None:
            assert prm.low is not None, path
            assert prm.high is not None, path
            assert prm.low <= prm.value <= prm.high, path


@pytest.mark.parametrize("set_name", SETS)
def test_regions_are_complete_and_equipment_maps_to_curves(set_name):
    params = load_parameter_set(set_name)
    assert known_regions(params) == ["CN", "DE", "ES", "ID", "TH", "US"]
    for region in known_regions(params):
        for name in _REGION_FIELDS:
            assert params.has(f"regions.{region}.{name}"), (region, name)
    curves = set(params.groups("equipment.curves"))
    for op in params.groups("equipment.operations"):
        for equipment in params.children(f"equipment.operations.{op}"):
            assert equipment in curves, (op, equipment)


@pytest.mark.parametrize("set_name", SETS)
def test_market_terms_cover_every_region_family_and_form(set_name):
    params = load_parameter_set(set_name)
    families = sorted(set(CHEMISTRY_FAMILY.values()))
    forms = sorted(set(FORM_CLASS.values()))
    for region in known_regions(params):
        assert params.groups(f"market_terms.{region}") == families, region
        for family in families:
            assert params.groups(f"market_terms.{region}.{family}") == forms, (region, family)
            for form in forms:
                leaves = params.children(f"market_terms.{region}.{family}.{form}")
                assert sorted(leaves) == sorted(MARKET_TERMS), (region, family, form)
                for name, prm in leaves.items():
                    assert prm.value >= 0.0, (region, family, form, name)
                    if name.startswith("payable"):
                        assert prm.value <= 1.0 and (prm.high is None or prm.high <= 1.0)


def test_market_terms_follow_resource_and_subsidy_markets():
    params = load_parameter_set("everbatt2023")

    def term(region, family, form, name):
        return params.value(f"market_terms.{region}.{family}.{form}.{name}")

    for region in ("CN", "ID", "TH"):  # resource markets buy every lithium chemistry and form
        for family in ("nmc_nca", "lco", "lfp", "lmo"):
            for form in ("battery", "scrap", "black_mass"):
                assert term(region, family, form, "gate_fee_usd_per_t") == 0.0
                assert term(region, family, form, "payable_li") > 0.0
    # China pays more for NMC black mass than for LFP black mass (SMM / Fastmarkets 2025)
    assert term("CN", "nmc_nca", "black_mass", "payable_li") > term("CN", "lfp", "black_mass", "payable_li")
    for region in ("ES", "DE", "US"):  # subsidy markets: NMC/NCA earn payables, LFP/LMO/SIB packs pay a fee
        for form in ("battery", "scrap", "black_mass"):
            assert term(region, "nmc_nca", form, "payable_ni_co") > 0.0
            assert term(region, "nmc_nca", form, "gate_fee_usd_per_t") == 0.0
        for family in ("lfp", "lmo", "sib"):
            assert term(region, family, "battery", "gate_fee_usd_per_t") > 0.0
            assert term(region, family, "battery", "payable_li") == 0.0
    # the two cited fees: EB19doc Table 13, recycler paid 2 USD/kg for LFP and 1 USD/kg for LMO
    assert term("ES", "lfp", "battery", "gate_fee_usd_per_t") == 2000.0
    assert term("US", "lmo", "battery", "gate_fee_usd_per_t") == 1000.0
    # EverBatt 2019 prices feed through its battery fee: every market term is 0 there
    params19 = load_parameter_set("everbatt2019")
    assert all(p.value == 0.0 for _, p in params19.items("market_terms"))
