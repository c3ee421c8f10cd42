"""Subsidies: a per-tonne subsidy in a region's terms is revenue, one for one, and nothing else moves."""

from __future__ import annotations

import pytest

from batteryloop.recycling import load_parameter_set, run_economics, run_flowsheet, simple_feedstock


def test_subsidy_adds_to_margin_one_for_one() -> None:
    params = load_parameter_set("everbatt2023")
    feed = simple_feedstock({"NMC811": 0.5, "LFP": 0.5}, form="pack", annual_mass_t=10_000)
    flowsheet = run_flowsheet(feed, route="hydro", params=params)
    base = run_economics(flowsheet, feedstock=feed, region="DE", params=params)
    subsidised_params = params.override("regions.DE.subsidy_usd_per_t", 250.0)
    subsidised = run_economics(flowsheet, feedstock=feed, region="DE", params=subsidised_params)
    assert base.revenue_usd_per_t["subsidy"] == 0.0
    assert subsidised.revenue_usd_per_t["subsidy"] == 250.0
    assert subsidised.margin_usd_per_t - base.margin_usd_per_t == pytest.approx(250.0)
    assert subsidised.total_cost_usd_per_t == pytest.approx(base.total_cost_usd_per_t)
    assert subsidised.npv_usd > base.npv_usd
