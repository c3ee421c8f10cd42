"""Break-even solver: hand-checked roots, every target, and errors that say why no value works."""

from __future__ import annotations

import numpy as np
import pytest

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core import finance
from batteryloop.recycling.core.economics import build_model
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.solve import LEVERS, resized, solve


@pytest.fixture(scope="module")
def params():
    return load_parameter_set()


@pytest.fixture(scope="module")
def model(econ, params):
    return build_model(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="ES", params=params)


def test_zero_margin_gate_fee_is_the_margin_deficit_per_tonne(model, params) -> None:
    out = model.evaluate()
    margin, fee = float(out["margin"]), float(out["revenue.gate_fee"])
    result = solve(model, params=params, lever="gate_fee")
    # the fee enters the margin one for one (one feed row, mass share 1): the root is fee - margin
    assert result.value == pytest.approx(fee - margin, abs=1e-6)
    assert result.achieved == pytest.approx(0.0, abs=1e-6)
    assert result.base_value == pytest.approx(fee)
    assert result.monotonic and result.crossings == 1
    assert result.paths == ("market_terms.ES.nmc_nca.cell.gate_fee_usd_per_t",) or result.paths[0].endswith(
        ".gate_fee_usd_per_t"
    )
    # a linear metric: brentq needs at most a couple of steps inside the grid bracket
    assert result.iterations <= 3
    # a target margin of 100 USD/t needs 100 USD/t more fee
    plus = solve(model, params=params, lever="gate_fee", target_value=100.0)
    assert plus.value - result.value == pytest.approx(100.0, abs=1e-6)


def test_subsidy_and_gate_fee_break_even_at_the_same_change(model, params) -> None:
    fee = solve(model, params=params, lever="gate_fee")
    subsidy = solve(model, params=params, lever="subsidy")
    assert subsidy.change == pytest.approx(fee.change, abs=1e-6)


def test_zero_npv_and_target_irr_agree_with_the_cash_flows(model, params) -> None:
    npv = solve(model, params=params, lever="subsidy", target="npv")
    out = model.evaluate({npv.paths[0]: npv.value})
    assert float(out["npv_usd"]) == pytest.approx(0.0, abs=1e-3)
    irr = solve(model, params=params, lever="subsidy", target="irr", target_value=0.15)
    out = model.evaluate({irr.paths[0]: irr.value})
    flows = [-float(out["cash.investment_usd"])] + [
        float(out["cash.annual_cash_flow_usd"])
    ] * model.plant_life_yr
    flows[-1] += float(out["capex.working_capital_usd"])
    assert finance.irr(flows) == pytest.approx(0.15, abs=1e-6)
    assert irr.achieved == pytest.approx(0.15, abs=1e-6)
    # a higher hurdle needs more subsidy
    assert irr.value > npv.value


def test_lithium_price_moves_every_lithium_price_in_proportion(model, params) -> None:
    result = solve(model, params=params, lever="price:Li")
    assert result.paths[0] == "prices.Li2CO3"
    ratio = result.value / model.base["prices.Li2CO3"]
    values = {p: model.base[p] * ratio for p in result.paths}
    assert float(model.evaluate(values)["margin"]) == pytest.approx(0.0, abs=1e-6)


def test_payable_break_even_is_the_highest_payable_the_recycler_can_pay(econ, params) -> None:
    model = build_model(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="CN", params=params)
    result = solve(model, params=params, lever="payable_ni_co")
    out = model.evaluate(dict.fromkeys(result.paths, result.value))
    assert float(out["margin"]) == pytest.approx(0.0, abs=1e-6)
    # paying more than that loses money
    worse = model.evaluate(dict.fromkeys(result.paths, result.value + 0.01))
    assert float(worse["margin"]) < 0.0


def test_break_even_throughput_is_where_fixed_costs_are_covered(model, params) -> None:
    result = solve(model, params=params, lever="throughput", low=100.0, high=1e6)
    assert float(resized(model, result.value).evaluate()["margin"]) == pytest.approx(0.0, abs=1e-4)
    smaller = resized(model, result.value * 0.9).evaluate()
    assert float(smaller["margin"]) < 0.0  # economies of scale: a smaller plant loses


def test_errors_name_what_is_wrong(model, params) -> None:
    with pytest.raises(ValidationError, match="unknown lever 'fee'; levers are gate_fee"):
        solve(model, params=params, lever="fee")
    with pytest.raises(ValidationError, match="unknown target 'profit'"):
        solve(model, params=params, lever="gate_fee", target="profit")
    with pytest.raises(ValidationError, match="low 10 must be below high 5"):
        solve(model, params=params, lever="gate_fee", low=10, high=5)
    with pytest.raises(ValidationError, match="capital grant is a share of capital in"):
        solve(model, params=params, lever="capex_grant", target="npv", low=0, high=2)
    with pytest.raises(ValidationError, match="a target IRR needs a value"):
        solve(model, params=params, lever="subsidy", target="irr")
    with pytest.raises(ValidationError, match="capex_grant does not move the margin"):
        solve(model, params=params, lever="capex_grant")
    with pytest.raises(
        ValidationError, match=r"no gate_fee between 1e\+06 and 2e\+06 USD/t feed reaches zero margin"
    ):
        solve(model, params=params, lever="gate_fee", low=1e6, high=2e6)
    with pytest.raises(ValidationError, match="must be finite"):
        solve(model, params=params, lever="gate_fee", low=float("nan"), high=1.0)
    assert {"gate_fee", "subsidy", "capex_grant", "payable_li", "price:Li", "throughput"} <= set(LEVERS)


def test_grid_and_brentq_counts_are_reported(model, params) -> None:
    result = solve(model, params=params, lever="subsidy", target="npv")
    grid = int(params.value("checks.solve.grid_points"))
    assert result.function_calls >= grid
    assert result.bracket[0] <= result.value <= result.bracket[1]
    assert np.isfinite(result.base_metric)
