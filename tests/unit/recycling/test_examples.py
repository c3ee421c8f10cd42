"""The example scenarios shipped with the package load and run end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

import batteryloop.recycling
from batteryloop.recycling.core.carbon import carbon_footprint
from batteryloop.recycling.core.economics import run_economics
from batteryloop.recycling.core.flowsheet import run_flowsheet
from batteryloop.recycling.core.scenario import load_scenario

EXAMPLES = sorted((Path(batteryloop.recycling.__file__).parent / "examples").glob("*.toml"))


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path: Path) -> None:
    scenario = load_scenario(path)
    flowsheet = run_flowsheet(
        scenario.feedstock,
        route=scenario.route,
        product_level=scenario.product_level,
        params=scenario.params,
        lithium_product=scenario.lithium_product,
    )
    assert flowsheet.max_closure_error <= 1e-9
    carbon = carbon_footprint(flowsheet, params=scenario.params, region=scenario.region)
    assert carbon.net_kg_co2e_per_kwh is not None
    economics = run_economics(
        flowsheet,
        feedstock=scenario.feedstock,
        region=scenario.region,
        params=scenario.params,
        annual_feed_t=scenario.throughput_t_per_yr,
        operating_hours_per_yr=scenario.operating_hours_per_yr,
    )
    if scenario.market is not None:
        assert economics.market == scenario.market
