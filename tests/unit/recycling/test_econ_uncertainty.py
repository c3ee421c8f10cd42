"""Monte Carlo and sensitivity: statistics that must hold, and the tornado's ordering."""

from __future__ import annotations

import numpy as np
import pytest

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core.economics import build_model
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.uncertainty import monte_carlo, parameter_ranges, sensitivity


@pytest.fixture(scope="module")
def model(econ):
    return build_model(
        econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="CN", params=load_parameter_set()
    )


def test_ranges_use_cited_low_high_and_the_default_spread(model):
    ranges = {r.path: r for r in parameter_ranges(model)}
    li = ranges["prices.Li2CO3"]
    assert (li.low, li.base, li.high, li.cited) == (8.4, 17.14, 46.0, True)
    maint = ranges["cost_factors.operating.plant_overhead"]
    assert not maint.cited
    assert maint.low == pytest.approx(0.4)  # 0.50 - 20 %
    assert maint.high == pytest.approx(0.6)
    assert "cost_factors.capital.units_per_item" not in ranges  # structural


def test_monte_carlo_is_reproducible_and_centred(model):
    a = monte_carlo(model, draws=20_000, seed=7)
    b = monte_carlo(model, draws=20_000, seed=7)
    assert np.array_equal(a.margin_usd_per_t, b.margin_usd_per_t)
    assert a.margin_usd_per_t.shape == (20_000,)
    assert 0.0 <= a.probability_of_loss <= 1.0
    # with one parameter drawn the margin is linear in it: the mean margin equals the margin at the mean price
    only_li = monte_carlo(model, draws=200_000, seed=1, paths=["prices.Li2CO3"])
    mean_price = (8.4 + 17.14 + 46.0) / 3.0  # mean of a triangular distribution
    at_mean = float(model.evaluate({"prices.Li2CO3": mean_price})["margin"])
    assert float(np.mean(only_li.margin_usd_per_t)) == pytest.approx(at_mean, rel=0.01)


def test_probability_of_loss_counts_negative_margins(model):
    mc = monte_carlo(model, draws=5_000, seed=3, paths=["prices.Li2CO3"])
    assert mc.probability_of_loss == pytest.approx(float(np.mean(mc.margin_usd_per_t < 0)))
    summary = mc.summary()
    assert summary["draws"] == 5_000
    assert summary["margin_usd_per_t_percentiles"]["p5"] <= summary["margin_usd_per_t_percentiles"]["p95"]


def test_sensitivity_bars_match_single_evaluations_and_are_sorted(model):
    result = sensitivity(model, max_params=30)
    assert len(result.bars) == 30
    swings = [bar.swing for bar in result.bars]
    assert swings == sorted(swings, reverse=True)
    for bar in result.top(3):
        at_low = float(model.evaluate({bar.path: bar.low})["margin"])
        assert bar.margin_at_low == pytest.approx(at_low)
    # in a resource market buying NMC, the Ni/Co feedstock payable dominates
    assert result.bars[0].path in {
        "market_terms.CN.nmc_nca.battery.payable_ni_co",
        "prices.Co",
        "prices.Ni",
        "prices.Li2CO3",
    }


def test_bad_requests_are_refused(model):
    with pytest.raises(ValidationError, match="at least one draw"):
        monte_carlo(model, draws=0)
    with pytest.raises(ValidationError, match=r"no uncertainty range for prices\.Unobtainium"):
        sensitivity(model, paths=["prices.Unobtainium"])
