"""batteryloop.recycling: which recycling line to build, what it recovers, what it costs and earns, what carbon
it saves.

The use cases are in :mod:`batteryloop.recycling.service` (the same ones the CLI and the HTTP API call)::

    from batteryloop.recycling import load_scenario, service

    scenario = load_scenario("src/batteryloop/recycling/examples/china_hub_hydro.toml")
    run = service.run_scenario(scenario, draws=10_000, seed=1, tornado=True)
    by_region = service.compare(scenario, by="region")
    lot = service.quote(scenario, lot_mass_kg=20_000)
    intake = service.intake_economics(ledger, service.IntakeRequest(recycler_id="de-kreislauf-recycling",
                                                                    params=load_parameter_set("everbatt2023")))

The model itself (pure functions in :mod:`batteryloop.recycling.core`)::

    params = load_parameter_set("everbatt2023")
    feed = simple_feedstock({"NMC811": 0.7, "LFP": 0.3}, form="pack", annual_mass_t=20_000)
    flowsheet = run_flowsheet(feed, route="hydro", product_level="salts", params=params)
    result = run_economics(flowsheet, feedstock=feed, region="DE", params=params)
    carbon = carbon_footprint(flowsheet, params=params, region="DE")

Renderings (JSON dicts, CSV, XLSX, charts) are in ``recycling.report``; the faces in ``recycling.cli``,
``recycling.endpoints`` and ``recycling.pages``. Nothing is imported until it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batteryloop.recycling import service
    from batteryloop.recycling.core.carbon import carbon_footprint
    from batteryloop.recycling.core.economics import run_economics
    from batteryloop.recycling.core.feedstock import simple_feedstock
    from batteryloop.recycling.core.flowsheet import run_flowsheet
    from batteryloop.recycling.core.params import ParameterSet, available_parameter_sets, load_parameter_set
    from batteryloop.recycling.core.pricing import quote
    from batteryloop.recycling.core.scenario import Scenario, load_scenario
    from batteryloop.recycling.service import (
        IntakeEconomics,
        IntakeRequest,
        LotQuote,
        ScenarioRun,
        Simulation,
    )

_EXPORTS = {
    "IntakeEconomics": "batteryloop.recycling.service",
    "IntakeRequest": "batteryloop.recycling.service",
    "LotQuote": "batteryloop.recycling.service",
    "ScenarioRun": "batteryloop.recycling.service",
    "Simulation": "batteryloop.recycling.service",
    "ParameterSet": "batteryloop.recycling.core.params",
    "available_parameter_sets": "batteryloop.recycling.core.params",
    "load_parameter_set": "batteryloop.recycling.core.params",
    "Scenario": "batteryloop.recycling.core.scenario",
    "load_scenario": "batteryloop.recycling.core.scenario",
    "carbon_footprint": "batteryloop.recycling.core.carbon",
    "run_economics": "batteryloop.recycling.core.economics",
    "simple_feedstock": "batteryloop.recycling.core.feedstock",
    "run_flowsheet": "batteryloop.recycling.core.flowsheet",
    "quote": "batteryloop.recycling.core.pricing",
}

__all__ = [
    "IntakeEconomics",
    "IntakeRequest",
    "LotQuote",
    "ParameterSet",
    "Scenario",
    "ScenarioRun",
    "Simulation",
    "available_parameter_sets",
    "carbon_footprint",
    "load_parameter_set",
    "load_scenario",
    "quote",
    "run_economics",
    "run_flowsheet",
    "service",
    "simple_feedstock",
]


def __getattr__(name: str) -> Any:
    """Names load on first use, so importing one face (e.g. the CLI) does not import the whole model."""
    if name == "service":
        return importlib.import_module("batteryloop.recycling.service")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'batteryloop.recycling' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
