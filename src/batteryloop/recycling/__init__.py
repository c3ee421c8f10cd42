"""batteryloop.recycling: which recycling line to build, what it recovers, what it costs and earns, what carbon
it saves. A pure library (it reads only its packaged parameter sets and the override files it is given).

    from batteryloop.recycling import load_parameter_set, simple_feedstock, run_flowsheet, run_economics

    params = load_parameter_set("everbatt2023")
    feed = simple_feedstock({"NMC811": 0.7, "LFP": 0.3}, form="pack", annual_mass_t=20_000)
    flowsheet = run_flowsheet(feed, route="hydro", product_level="salts", params=params)
    result = run_economics(flowsheet, feedstock=feed, region="DE", params=params)
    carbon = carbon_footprint(flowsheet, params=params, region="DE")

A recycler's real intake: ``intake_from_ledger(Ledger.open(url), recycler_id="de-kreislauf-recycling")`` gives
``IntakeRecord`` rows; ``feedstock_from_intake([r.as_feed_record() for r in records])`` turns them into a feedstock.

Charts (matplotlib), exports (openpyxl), the CLI (Typer) and the HTTP router (FastAPI) live in
``recycling.charts``, ``recycling.export``, ``recycling.cli`` and ``recycling.endpoints`` and are not imported here.
"""

from __future__ import annotations

from batteryloop.recycling.carbon import CarbonResult, carbon_footprint, grid_regions
from batteryloop.recycling.compare import (
    Comparison,
    compare_markets,
    compare_mixes,
    compare_routes,
    lfp_share_mixes,
)
from batteryloop.recycling.economics import (
    EconomicModel,
    EconomicsResult,
    build_model,
    known_regions,
    result_from_model,
    run_economics,
)
from batteryloop.recycling.feedstock import feedstock_from_intake, simple_feedstock, validate_feedstock
from batteryloop.recycling.finance import irr, npv, payback_years
from batteryloop.recycling.flowsheet import PRODUCT_LEVELS, ROUTES, run_flowsheet
from batteryloop.recycling.flowsheet_types import (
    Feedstock,
    FeedstockComponent,
    FlowsheetResult,
    UnitOperationBalance,
)
from batteryloop.recycling.intake import (
    IntakeGroup,
    IntakeRecord,
    annualised_mass_t,
    intake_from_events,
    intake_from_ledger,
    split_modelled,
    summarise_intake,
)
from batteryloop.recycling.params import (
    Param,
    ParameterSet,
    available_parameter_sets,
    load_parameter_set,
)
from batteryloop.recycling.pricing import Quote, RouteQuotes, quote, quote_routes
from batteryloop.recycling.scenario import Scenario, load_scenario, scenario_from_mapping
from batteryloop.recycling.uncertainty import (
    MonteCarloResult,
    SensitivityResult,
    monte_carlo,
    parameter_ranges,
    sensitivity,
)

__all__ = [
    "PRODUCT_LEVELS",
    "ROUTES",
    "CarbonResult",
    "Comparison",
    "EconomicModel",
    "EconomicsResult",
    "Feedstock",
    "FeedstockComponent",
    "FlowsheetResult",
    "IntakeGroup",
    "IntakeRecord",
    "MonteCarloResult",
    "Param",
    "ParameterSet",
    "Quote",
    "RouteQuotes",
    "Scenario",
    "SensitivityResult",
    "UnitOperationBalance",
    "annualised_mass_t",
    "available_parameter_sets",
    "build_model",
    "carbon_footprint",
    "compare_markets",
    "compare_mixes",
    "compare_routes",
    "feedstock_from_intake",
    "grid_regions",
    "intake_from_events",
    "intake_from_ledger",
    "irr",
    "known_regions",
    "lfp_share_mixes",
    "load_parameter_set",
    "load_scenario",
    "monte_carlo",
    "npv",
    "parameter_ranges",
    "payback_years",
    "quote",
    "quote_routes",
    "result_from_model",
    "run_economics",
    "run_flowsheet",
    "scenario_from_mapping",
    "sensitivity",
    "simple_feedstock",
    "split_modelled",
    "summarise_intake",
    "validate_feedstock",
]
