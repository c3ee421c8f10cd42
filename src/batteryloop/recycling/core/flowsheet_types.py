"""The contract between the flowsheet (mass balance) and the economics, pricing and carbon layers.

A flowsheet run turns a feedstock into products, consumables and losses, element by element. Everything
downstream (plant economics, quotes, carbon, Monte Carlo) reads only these types.
All masses are kg per tonne (1,000 kg) of feedstock as received unless the name says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FeedstockComponent:
    """One line of a feedstock: e.g. 60% of the mass is NMC811 EV packs."""

    form: str  # "pack" | "module" | "cell" | "production_scrap" | "electrode_scrap" | "black_mass"
    chemistry: str  # a batteryloop.domain.Chemistry value, e.g. "NMC811", "LFP", "SIB"
    mass_share: float  # share of the feedstock mass, 0..1; the shares of a feedstock sum to 1
    state_of_charge_pct: float = 0.0


@dataclass(frozen=True, slots=True)
class Feedstock:
    components: tuple[FeedstockComponent, ...]
    annual_mass_t: float  # tonnes per year received (drives plant size)


@dataclass(frozen=True, slots=True)
class UnitOperationBalance:
    """Element-wise balance of one unit operation, kg per tonne of feedstock."""

    name: str
    inputs_kg: Mapping[str, float]  # element or material -> kg in (feed + reagents)
    products_kg: Mapping[str, float]  # product stream -> kg out
    losses_kg: Mapping[str, float]  # to residue, slag, wastewater
    emissions_kg: Mapping[str, float]  # to air (CO2 from carbonates, volatilised electrolyte, ...)
    closure_error: float  # |in - out| / in, must be <= 0.001
    # added by FLOW (additive): the element-wise view the closure is computed on. Keys are elements, the
    # pseudo-materials "electronics"/"coolant", "reagents" (lumped reagent matter) and "air" (O2 for combustion).
    elements_in_kg: Mapping[str, float] = field(default_factory=dict)
    elements_out_kg: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FlowsheetResult:
    route: str  # e.g. "hydro_salts", "pyro", "direct", "lfp_selective", "black_mass_only"
    product_level: str  # "black_mass" | "high_grade_black_mass" | "salts" | "precursor" | "cathode"
    feed_elements_kg: Mapping[
        str, float
    ]  # element content of one tonne of feed (Li, Ni, Co, Mn, Cu, Al, Fe, P, C, ...)
    products_kg: Mapping[
        str, float
    ]  # saleable product -> kg (Li2CO3, NiSO4·6H2O, Cu, Al, steel, black_mass, ...)
    element_recovery: Mapping[
        str, float
    ]  # element -> share of the feed's element in saleable products (0..1)
    consumables: Mapping[str, float]  # reagent kg, "electricity_kwh", "natural_gas_mj", "water_kg", ...
    process_emissions_kg_co2e: float  # direct process CO2e per tonne of feed (not energy, not reagents)
    operations: tuple[UnitOperationBalance, ...] = field(default_factory=tuple)
    max_closure_error: float = 0.0
    # product -> element -> kg per tonne of feed; fills the value of intermediates (black mass, alloy, precursor)
    product_elements_kg: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # added by FLOW (additive): nominal energy stored in one tonne of feed (0 for black mass and electrode scrap),
    # the basis of the per-tonne figures, the parameter set used and readable notes (e.g. what was not modelled)
    feed_energy_kwh: float = 0.0
    feed_mass_kg: float = 1000.0
    params_set: str = ""
    notes: tuple[str, ...] = ()
    # product -> the grade it is sold in (core.grades: "crude", "battery", "scrap", the feed's chemistry for
    # black mass); empty for a hand-made result, whose products are priced at prices.<product>
    product_grades: Mapping[str, str] = field(default_factory=dict)
