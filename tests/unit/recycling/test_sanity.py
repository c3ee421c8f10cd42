"""Warnings at the edges: too small a plant, a feed the route cannot take, a result resting on one unverified value."""

from __future__ import annotations

from dataclasses import replace

import pytest

from batteryloop.recycling import service
from batteryloop.recycling.core.economics import build_model
from batteryloop.recycling.core.flowsheet_types import Feedstock, FeedstockComponent
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.sanity import sanity_warnings
from batteryloop.recycling.core.scenario import Scenario


@pytest.fixture(scope="module")
def params():
    return load_parameter_set()


def scenario(params, *, route: str, level: str | None, chemistry: str, tonnes: float) -> Scenario:
    feed = Feedstock(components=(FeedstockComponent("pack", chemistry, 1.0),), annual_mass_t=tonnes)
    return Scenario(name="edge", feedstock=feed, route=route, product_level=level, region="CN", params=params)


def test_a_plant_below_the_minimum_scale_says_so_in_the_run(params) -> None:
    run = service.run_scenario(
        scenario(params, route="hydro", level="salts", chemistry="NMC811", tonnes=2.35)
    )
    minimum = params.value("checks.min_economic_t_per_yr.hydro")
    scale = [w for w in run.economics.warnings if "minimum economic scale" in w]
    assert len(scale) == 1
    assert "2.35 t/yr" in scale[0] and f"{minimum:,.0f} t/yr" in scale[0]
    assert run.economics.margin_usd_per_t < -100_000  # the loss the warning explains
    assert "minimum economic scale" in " ".join(run.economics.to_dict()["warnings"])
    big = service.run_scenario(
        scenario(params, route="hydro", level="salts", chemistry="NMC811", tonnes=20_000)
    )
    assert not any("minimum economic scale" in w for w in big.economics.warnings)


def test_a_route_that_recovers_little_of_the_feed_value_is_flagged(params) -> None:
    # a smelter sending an LFP pack's lithium to slag recovers nearly none of its contained value
    run = service.run_scenario(scenario(params, route="pyro", level="alloy", chemistry="LFP", tonnes=20_000))
    feed = [w for w in run.economics.warnings if "cannot really take this feed" in w]
    assert feed and "Li" in feed[0]
    good = service.run_scenario(
        scenario(params, route="hydro", level="salts", chemistry="NMC811", tonnes=20_000)
    )
    assert not any("cannot really take" in w for w in good.economics.warnings)


def test_a_result_dominated_by_one_unverified_value_is_flagged(econ, params) -> None:
    threshold = params.value("checks.thresholds.unverified_dominance_share")
    flowsheet = econ.hydro_flowsheet()
    feed = econ.nmc_feedstock()
    base = build_model(flowsheet, feedstock=feed, region="CN", params=params)
    assert not any("rests on prices.NiSO4 " in w for w in sanity_warnings(base, flowsheet, params))
    # mark the nickel price unverified: nickel is well above the threshold share of this plant's revenue
    marked = params.with_param("prices.NiSO4", replace(params.get("prices.NiSO4"), quality="unverified"))
    model = build_model(flowsheet, feedstock=feed, region="CN", params=marked)
    out = model.evaluate()
    without_ni = model.evaluate({"prices.NiSO4": 0.0})
    share = abs(float(out["margin"]) - float(without_ni["margin"])) / max(
        float(out["total_revenue"]), float(out["total_cost"])
    )
    assert share > threshold
    warnings = sanity_warnings(model, flowsheet, marked)
    assert any(w.startswith(f"{share:.0%} of the revenue or cost rests on prices.NiSO4") for w in warnings)
