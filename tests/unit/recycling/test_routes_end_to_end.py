"""Every route and product level of every packaged set runs through flowsheet, carbon and economics."""

from __future__ import annotations

import pytest

from batteryloop.recycling.core.carbon import carbon_footprint
from batteryloop.recycling.core.economics import run_economics
from batteryloop.recycling.core.feedstock import simple_feedstock
from batteryloop.recycling.core.flowsheet import ROUTES, run_flowsheet
from batteryloop.recycling.core.params import load_parameter_set

CASES = [
    (set_name, route, level)
    for set_name in ("everbatt2019", "everbatt2023", "batteryloop2025")
    for route, levels in ROUTES.items()
    for level in levels
]


@pytest.mark.parametrize(("set_name", "route", "level"), CASES)
def test_route_runs_in_two_markets(set_name: str, route: str, level: str) -> None:
    params = load_parameter_set(set_name)
    chemistry = "LFP" if route == "lfp_selective" else "NMC622"
    form = "cell" if set_name == "everbatt2019" else "pack"
    feedstock = simple_feedstock({chemistry: 1.0}, form=form, state_of_charge_pct=20)
    flowsheet = run_flowsheet(feedstock, route=route, product_level=level, params=params)
    assert flowsheet.max_closure_error <= 1e-9
    assert flowsheet.params_set == set_name
    for region in ("CN", "ES"):
        carbon = carbon_footprint(flowsheet, params=params, region=region)
        assert carbon.gate_to_gate_kg_co2e_per_t > 0
        economics = run_economics(flowsheet, feedstock=feedstock, region=region, params=params)
        assert economics.total_revenue_usd_per_t > 0
        assert economics.max_closure_error == flowsheet.max_closure_error
