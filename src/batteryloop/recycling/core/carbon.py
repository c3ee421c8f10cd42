"""Carbon of a recycling route: gate-to-gate emissions and emissions avoided by the recovered products.

Gate-to-gate = reagents x cradle-to-gate factors + electricity x the regional grid factor + fuels + direct
process CO2 (organics burned, limestone calcined), as EverBatt's EI = sum(m_i ei_i) + sum(q_j ei_j) + P_k.
Avoided = the saleable products x the factor of the virgin product they replace (system expansion). Black mass
and alloy are intermediates: their credit is left to the refiner, so they earn none here. Everything is per
tonne of feedstock and, when the feed stores energy, per kWh of nominal capacity (the passport's "Recycling"
stage uses the per-kWh figure).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from batteryloop.domain.errors import NotFoundError
from batteryloop.recycling.core.flowsheet_types import FlowsheetResult
from batteryloop.recycling.core.materials import resolve_chemistry
from batteryloop.recycling.core.params import ParameterSet

INTERMEDIATE_PRODUCTS = frozenset({"black_mass", "high_grade_black_mass", "alloy"})
_ENERGY = {
    "electricity_kwh": "electricity",
    "natural_gas_mj": "natural_gas",
    "diesel_mj": "diesel",
}
_NO_CARBON = frozenset({"water_kg", "dismantling_labour_h"})


@dataclass(frozen=True, slots=True)
class CarbonResult:
    region: str
    grid_kg_co2e_per_kwh: float
    gate_to_gate_kg_co2e_per_t: float
    gate_to_gate_breakdown: Mapping[
        str, float
    ]  # "electricity", "natural_gas", "diesel", "process", "reagent:<name>"
    avoided_kg_co2e_per_t: float
    avoided_breakdown: Mapping[str, float]  # product -> credit
    feed_energy_kwh_per_t: float
    uncredited_products: tuple[str, ...] = ()
    unfactored_consumables: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def net_kg_co2e_per_t(self) -> float:
        """Gate-to-gate minus avoided: negative means the route saves carbon."""
        return self.gate_to_gate_kg_co2e_per_t - self.avoided_kg_co2e_per_t

    def per_kwh(self, kg_per_t: float) -> float | None:
        return kg_per_t / self.feed_energy_kwh_per_t if self.feed_energy_kwh_per_t > 0 else None

    @property
    def gate_to_gate_kg_co2e_per_kwh(self) -> float | None:
        return self.per_kwh(self.gate_to_gate_kg_co2e_per_t)

    @property
    def avoided_kg_co2e_per_kwh(self) -> float | None:
        return self.per_kwh(self.avoided_kg_co2e_per_t)

    @property
    def net_kg_co2e_per_kwh(self) -> float | None:
        return self.per_kwh(self.net_kg_co2e_per_t)

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "grid_kg_co2e_per_kwh": self.grid_kg_co2e_per_kwh,
            "gate_to_gate_kg_co2e_per_t": self.gate_to_gate_kg_co2e_per_t,
            "gate_to_gate_breakdown": dict(self.gate_to_gate_breakdown),
            "avoided_kg_co2e_per_t": self.avoided_kg_co2e_per_t,
            "avoided_breakdown": dict(self.avoided_breakdown),
            "net_kg_co2e_per_t": self.net_kg_co2e_per_t,
            "feed_energy_kwh_per_t": self.feed_energy_kwh_per_t,
            "gate_to_gate_kg_co2e_per_kwh": self.gate_to_gate_kg_co2e_per_kwh,
            "avoided_kg_co2e_per_kwh": self.avoided_kg_co2e_per_kwh,
            "net_kg_co2e_per_kwh": self.net_kg_co2e_per_kwh,
            "uncredited_products": list(self.uncredited_products),
            "unfactored_consumables": list(self.unfactored_consumables),
        }


def grid_regions(params: ParameterSet) -> list[str]:
    return sorted(params.children("emission_factors.grid"))


def carbon_footprint(result: FlowsheetResult, *, params: ParameterSet, region: str) -> CarbonResult:
    """Gate-to-gate and avoided emissions of a flowsheet run with its plant in ``region``."""
    grid_path = f"emission_factors.grid.{region}"
    if not params.has(grid_path):
        raise NotFoundError(
            f"no grid emission factor for region {region!r} in set {params.name!r}; "
            f"known: {', '.join(grid_regions(params))}"
        )
    grid = params.value(grid_path)
    sources: dict[str, str] = {grid_path: _cite(params, grid_path)}
    breakdown: dict[str, float] = {}
    unfactored: list[str] = []
    for key, amount in result.consumables.items():
        if key in _NO_CARBON or amount == 0:
            continue
        if key == "electricity_kwh":
            factor, path = grid, grid_path
        elif key in _ENERGY:
            path = f"emission_factors.energy.{_ENERGY[key]}_per_mj"
            if not params.has(path):
                unfactored.append(key)
                continue
            factor = params.value(path)
        else:
            path = f"emission_factors.materials.{key}"
            if not params.has(path):
                unfactored.append(key)
                continue
            factor = params.value(path)
        label = _ENERGY.get(key, f"reagent:{key}")
        breakdown[label] = breakdown.get(label, 0.0) + amount * factor
        sources[path] = _cite(params, path)
    breakdown["process"] = result.process_emissions_kg_co2e

    avoided: dict[str, float] = {}
    uncredited: list[str] = []
    chem = resolve_chemistry(params)
    for product, kg in result.products_kg.items():
        if product in INTERMEDIATE_PRODUCTS:
            uncredited.append(product)
            continue
        path = f"emission_factors.materials.{product}"
        if params.has(path):
            avoided[product] = kg * params.value(path)
            sources[path] = _cite(params, path)
        elif product == "precursor":
            credit = _precursor_credit(
                result.product_elements_kg.get(product, {}), params, chem.compound_mass
            )
            if credit is None:
                uncredited.append(product)
            else:
                avoided[product] = credit
        else:
            uncredited.append(product)
    return CarbonResult(
        region=region,
        grid_kg_co2e_per_kwh=grid,
        gate_to_gate_kg_co2e_per_t=sum(breakdown.values()),
        gate_to_gate_breakdown=breakdown,
        avoided_kg_co2e_per_t=sum(avoided.values()),
        avoided_breakdown=avoided,
        feed_energy_kwh_per_t=result.feed_energy_kwh,
        uncredited_products=tuple(sorted(uncredited)),
        unfactored_consumables=tuple(sorted(unfactored)),
        sources=sources,
    )


def _precursor_credit(
    elements: Mapping[str, float], params: ParameterSet, compound_mass: Callable[[str], float]
) -> float | None:
    """A mixed hydroxide replaces the sulfates it would otherwise be made from (Ni, Co per kg metal; Mn as MnSO4)."""
    needed = (
        "emission_factors.materials.Ni",
        "emission_factors.materials.Co",
        "emission_factors.materials.MnSO4",
    )
    if not all(params.has(p) for p in needed):
        return None
    mn_to_sulfate = compound_mass("MnSO4") / params.value("composition.atomic_mass.Mn")
    return (
        elements.get("Ni", 0.0) * params.value(needed[0])
        + elements.get("Co", 0.0) * params.value(needed[1])
        + elements.get("Mn", 0.0) * mn_to_sulfate * params.value(needed[2])
    )


def _cite(params: ParameterSet, path: str) -> str:
    param = params.get(path)
    return f"{param.source} ({param.year})" if param.year else param.source
