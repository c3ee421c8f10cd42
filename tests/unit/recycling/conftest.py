"""Fixtures for the recycling tests.

ECON: ``econ`` gives hand-built flowsheet results and feedstocks, independent of the flowsheet engine, so the
economics can be checked against numbers worked by hand. (Helpers live here, not in an importable module, because
pytest runs with --import-mode=importlib.)
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from batteryloop.recycling.core.flowsheet_types import (
    Feedstock,
    FeedstockComponent,
    FlowsheetResult,
    UnitOperationBalance,
)


def nmc_feedstock(annual_mass_t: float = 6400.0, form: str = "cell") -> Feedstock:
    return Feedstock(components=(FeedstockComponent(form, "NMC622", 1.0),), annual_mass_t=annual_mass_t)


def hydro_flowsheet(*, losses_kg: float = 100.0) -> FlowsheetResult:
    """One tonne of NMC cells: Li 30, Ni 150, Co 50, Cu 80 kg; one leaching operation with 1,000 kg in."""
    leaching = UnitOperationBalance(
        name="leaching",
        inputs_kg={"feed": 1000.0},
        products_kg={"solution": 1000.0 - losses_kg},
        losses_kg={"residue": losses_kg},
        emissions_kg={},
        closure_error=0.0,
    )
    return FlowsheetResult(
        route="hydro",
        product_level="salts",
        feed_elements_kg={"Li": 30.0, "Ni": 150.0, "Co": 50.0, "Cu": 80.0},
        products_kg={"Li2CO3": 50.0, "NiSO4": 300.0, "Cu": 80.0},
        element_recovery={"Li": 0.88, "Ni": 0.95},
        consumables={
            "H2SO4": 1080.0,
            "electricity_kwh": 300.0,
            "natural_gas_mj": 2500.0,
            "water_kg": 3785.41,
        },
        process_emissions_kg_co2e=0.0,
        operations=(leaching,),
        max_closure_error=0.0,
        product_elements_kg={"Li2CO3": {"Li": 9.39}, "NiSO4": {"Ni": 113.8}, "Cu": {"Cu": 80.0}},
    )


def black_mass_flowsheet() -> FlowsheetResult:
    """A spoke selling black mass: 400 kg black mass holding Li 28, Ni 140, Co 47, Cu 6 kg."""
    shredding = UnitOperationBalance(
        name="shredding",
        inputs_kg={"feed": 1000.0},
        products_kg={"shred": 1000.0},
        losses_kg={},
        emissions_kg={},
        closure_error=0.0,
    )
    return FlowsheetResult(
        route="black_mass_only",
        product_level="black_mass",
        feed_elements_kg={"Li": 30.0, "Ni": 150.0, "Co": 50.0, "Cu": 80.0},
        products_kg={"black_mass": 400.0, "Cu": 70.0},
        element_recovery={},
        consumables={"electricity_kwh": 60.0},
        process_emissions_kg_co2e=0.0,
        operations=(shredding,),
        product_elements_kg={"black_mass": {"Li": 28.0, "Ni": 140.0, "Co": 47.0, "Cu": 6.0, "C": 150.0}},
    )


@pytest.fixture(scope="session")
def econ() -> SimpleNamespace:
    """hydro_flowsheet(losses_kg=100), black_mass_flowsheet(), nmc_feedstock(annual_mass_t=6400, form="cell")."""
    return SimpleNamespace(
        hydro_flowsheet=hydro_flowsheet,
        black_mass_flowsheet=black_mass_flowsheet,
        nmc_feedstock=nmc_feedstock,
    )
