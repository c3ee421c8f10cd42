"""Spot checks: the packaged EverBatt sets hold the values of their source tables (process_economics.md)."""

from __future__ import annotations

import pytest

from batteryloop.recycling.core.materials import COMPOUND_FORMULAS, resolve_chemistry
from batteryloop.recycling.core.params import load_parameter_set

EB23 = load_parameter_set("everbatt2023")
EB19 = load_parameter_set("everbatt2019")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("composition.cell.NMC811.cam", 0.4289),  # §2.2 EB23xl Man Par.
        ("composition.cell.NMC811.graphite", 0.2910),
        ("composition.cell.LFP.cu", 0.0963),
        ("composition.cell.NCA.mass_kg", 0.769),
        ("composition.pack.NMC622.cell_share", 0.6203),  # 319.3 / 514.8
        ("composition.pack.LFP.pack_mass_kg", 648.6),
        ("composition.cam.NMC811.Ni", 0.4827),  # §2.3
        ("recovery.separation.to_black_mass.cam", 0.95),  # §1.4 preprocessing
        ("recovery.separation.to_product.cu", 0.90),
        ("recovery.hydro.yield.Ni", 0.98),
        ("recovery.hydro.yield.Li", 0.90),
        ("recovery.pyro.to_alloy.Co", 0.95),
        ("recovery.direct.cam", 0.90),
        ("inventories.shredding.natural_gas_mj.per_kg_feed", 2.0),
        ("inventories.shredding.N2.per_kg_feed", 0.05),
        ("inventories.smelting.sand.per_kg_Ni", 1.5),
        ("inventories.relithiation.electricity_mj.per_kg_cam", 14.4),
        ("emission_factors.materials.Li2CO3", 12.39),  # §6.1 GREET 2022
        ("emission_factors.materials.CAM_NMC811", 25.49),
        ("emission_factors.grid.CN", 0.700),  # §6.3
        ("emission_factors.grid.US", 0.466),
    ],
)
def test_everbatt2023_matches_source(path: str, expected: float) -> None:
    assert EB23.value(path) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("composition.cell.NMC111.cam", 0.347),  # §2.1 EB19doc Table 4
        ("composition.cell.LMO.cam", 0.408),
        ("composition.cell.LFP.mass_kg", 1.054),
        ("composition.cell.NMC811.pvdf", 0.036),
        ("recovery.hydro.yield.Co", 0.98),  # §1.5 EB19doc Table 12
        ("recovery.pyro.to_alloy.Ni", 0.98),
        ("recovery.pyro.to_alloy.Cu", 0.90),
        ("recovery.shredding.plastics_recovered", 0.5),
        ("inventories.leaching.H2SO4.per_kg_plant_feed", 1.08),  # §1.3 EB19doc Table 10
        ("inventories.leaching.NaOH.per_kg_plant_feed", 0.561),
        ("inventories.smelting.limestone.per_kg_plant_feed", 0.30),
        ("inventories.relithiation.electricity_mj.per_kg_plant_feed", 2.73),
        ("emission_factors.materials.Li2CO3", 3.81),  # §6.1 GREET 2018
        ("emission_factors.materials.Co", 18.61),
    ],
)
def test_everbatt2019_matches_source(path: str, expected: float) -> None:
    assert EB19.value(path) == pytest.approx(expected, abs=1e-4)


def test_2019_is_cell_level_only() -> None:
    assert not EB19.has("composition.pack.NMC111.cell_share")
    assert "LMO" in EB19.groups("composition.cell")
    assert "NMC532" not in EB19.groups("composition.cell")


@pytest.mark.parametrize("chemistry", ["NMC111", "NMC532", "NMC622", "NMC811", "NCA", "LFP"])
def test_cell_boms_sum_to_one(chemistry: str) -> None:
    leaves = EB23.children(f"composition.cell.{chemistry}")
    share = sum(p.value for name, p in leaves.items() if name not in ("mass_kg", "energy_kwh"))
    assert share == pytest.approx(1.0, abs=0.002)


FORMULAS = {
    "NMC111": {"Li": 1, "Ni": 1 / 3, "Mn": 1 / 3, "Co": 1 / 3, "O": 2},
    "NMC622": {"Li": 1, "Ni": 0.6, "Mn": 0.2, "Co": 0.2, "O": 2},
    "NMC811": {"Li": 1, "Ni": 0.8, "Mn": 0.1, "Co": 0.1, "O": 2},
    "NCA": {"Li": 1, "Ni": 0.8, "Co": 0.15, "Al": 0.05, "O": 2},
    "LFP": {"Li": 1, "Fe": 1, "P": 1, "O": 4},
}


@pytest.mark.parametrize("chemistry", sorted(FORMULAS))
def test_cathode_element_fractions_follow_stoichiometry(chemistry: str) -> None:
    atomic = {k: p.value for k, p in EB23.children("composition.atomic_mass").items()}
    counts = FORMULAS[chemistry]
    molar = sum(atomic[el] * n for el, n in counts.items())
    for element, n in counts.items():
        assert EB23.value(f"composition.cam.{chemistry}.{element}") == pytest.approx(
            atomic[element] * n / molar, abs=5e-4
        )


def test_compound_masses() -> None:
    chem = resolve_chemistry(EB23)
    assert chem.compound_mass("Li2CO3") == pytest.approx(2 * 6.94 + 12.011 + 3 * 15.999)
    assert chem.compound_mass("NiSO4") == pytest.approx(58.693 + 32.06 + 4 * 15.999)
    assert set(COMPOUND_FORMULAS) >= {"H2SO4", "NaOH", "Na2CO3", "lime", "limestone"}
