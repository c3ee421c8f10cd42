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
``recycling.endpoints`` and ``recycling.pages``. None of them is imported here.
"""

from __future__ import annotations

from batteryloop.recycling import service
from batteryloop.recycling.core.carbon import carbon_footprint
from batteryloop.recycling.core.economics import run_economics
from batteryloop.recycling.core.feedstock import simple_feedstock
from batteryloop.recycling.core.flowsheet import run_flowsheet
from batteryloop.recycling.core.pricing import quote
from batteryloop.recycling.core.scenario import Scenario, load_scenario
from batteryloop.recycling.params import ParameterSet, available_parameter_sets, load_parameter_set
from batteryloop.recycling.service import (
    IntakeEconomics,
    IntakeRequest,
    LotQuote,
    ScenarioRun,
    Simulation,
)

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
