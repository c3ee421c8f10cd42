"""Correlated Monte Carlo: the draws follow the matrix, regimes never mix, a fixed seed reproduces."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core.economics import build_model
from batteryloop.recycling.core.flowsheet_types import Feedstock, FeedstockComponent
from batteryloop.recycling.core.market import (
    FACTORS,
    check_correlation,
    factor_of,
    load_correlation,
    load_market,
    triangular_ppf,
)
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.uncertainty import monte_carlo


@pytest.fixture(scope="module")
def params():
    return load_parameter_set()


@pytest.fixture(scope="module")
def lfp_model(econ, params):
    """Spanish LFP packs: the set allows both a Li payable (0..0.3) and a gate fee on the same row."""
    feed = Feedstock(components=(FeedstockComponent("pack", "LFP", 1.0),), annual_mass_t=10_000)
    return build_model(econ.hydro_flowsheet(), feedstock=feed, region="ES", params=params)


def test_the_shipped_matrix_is_a_valid_correlation_matrix(params) -> None:
    corr = load_correlation(params)
    assert corr.factors == FACTORS
    assert np.allclose(corr.matrix, corr.matrix.T)
    assert np.linalg.eigvalsh(corr.matrix).min() > 0.0
    li, ni = FACTORS.index("Li"), FACTORS.index("Ni")
    assert corr.matrix[li, ni] == params.value("correlation.Li.Ni")
    assert all(params.get(p).quality == "unverified" for p in corr.paths)  # no published matrix was found


def test_an_impossible_matrix_is_refused(params) -> None:
    # three factors that each correlate -0.9 with the others cannot exist together
    m = np.full((3, 3), -0.9)
    np.fill_diagonal(m, 1.0)
    with pytest.raises(ValidationError, match="not positive definite"):
        check_correlation(m, ("a", "b", "c"))
    bad = params.override("correlation.Li.Ni", 1.5)
    with pytest.raises(
        ValidationError, match=r"correlation.Li.Ni = 1.5: a correlation must lie in \[-1, 1\]"
    ):
        load_correlation(bad)


def test_sample_correlation_of_the_draws_matches_the_matrix(lfp_model, params) -> None:
    market = load_market(params, lfp_model)
    mc = monte_carlo(lfp_model, draws=100_000, seed=5, market=market)
    z = np.vstack([mc.samples[f"z:{f}"] for f in mc.factors])
    expected = market.correlation.sub(mc.factors)
    assert np.abs(np.corrcoef(z) - expected).max() < 0.02
    # on the prices themselves: Spearman of a Gaussian copula is (6/pi) asin(rho/2)
    rho = params.value("correlation.Li.Ni")
    li, ni = mc.samples["prices.reference.Li2CO3"], mc.samples["prices.reference.Ni"]
    spearman = spearmanr(li, ni).statistic
    assert spearman == pytest.approx(6 / np.pi * np.arcsin(rho / 2), abs=0.02)
    # a salt follows its metal's reference price exactly in rank
    assert spearmanr(ni, mc.samples["prices.NiSO4"]).statistic == pytest.approx(1.0)


def test_regimes_never_mix_and_follow_their_probability(lfp_model, params) -> None:
    market = load_market(params, lfp_model)
    prefix = "market_terms.ES.lfp.battery"
    assert prefix in market.gate_fee_probability
    mc = monte_carlo(lfp_model, draws=50_000, seed=9, market=market)
    fee = mc.samples[f"{prefix}.gate_fee_usd_per_t"]
    li = mc.samples[f"{prefix}.payable_li"]
    assert not np.any((fee > 0) & (li > 0))
    p = params.value("regimes.gate_fee_probability.lfp.battery")
    assert mc.regime_shares["ES.lfp.battery"] == pytest.approx(p, abs=0.01)
    assert np.mean(fee > 0) == pytest.approx(p, abs=0.01)
    # without the market structure the old independent draws do mix the two
    independent = monte_carlo(lfp_model, draws=5_000, seed=9)
    assert not independent.correlated and independent.regime_shares == {}


def test_fixed_seed_reproduces_and_bands_are_ordered(lfp_model, params) -> None:
    market = load_market(params, lfp_model)
    a = monte_carlo(lfp_model, draws=20_000, seed=3, market=market)
    b = monte_carlo(lfp_model, draws=20_000, seed=3, market=market)
    assert np.array_equal(a.margin_usd_per_t, b.margin_usd_per_t)
    assert np.array_equal(a.npv_usd, b.npv_usd)
    m, n = a.percentiles(), a.npv_percentiles()
    assert m["p10"] <= m["p50"] <= m["p90"] and n["p10"] <= n["p50"] <= n["p90"]
    summary = a.summary()
    assert summary["correlated"] is True
    assert summary["probability_of_loss"] == pytest.approx(float(np.mean(a.margin_usd_per_t < 0)))


def test_marginals_are_kept_by_the_copula(lfp_model, params) -> None:
    market = load_market(params, lfp_model)
    mc = monte_carlo(lfp_model, draws=200_000, seed=1, paths=["prices.Li2CO3"], market=market)
    low, mode, high = 8.4, 17.14, 46.0
    assert float(np.mean(mc.samples["prices.Li2CO3"])) == pytest.approx((low + mode + high) / 3, rel=0.01)


def test_triangular_inverse_cdf_by_hand() -> None:
    u = np.array([0.0, 0.5, 1.0])
    # symmetric (0, 1, 2): median 1
    assert triangular_ppf(u, 0.0, 1.0, 2.0) == pytest.approx([0.0, 1.0, 2.0])
    # (0, 0, 1): F(x) = 1 - (1 - x)^2, so the median is 1 - sqrt(0.5)
    assert triangular_ppf(np.array([0.5]), 0.0, 0.0, 1.0)[0] == pytest.approx(1 - np.sqrt(0.5))


def test_factor_classification() -> None:
    assert factor_of("prices.NiSO4") == "Ni"
    assert factor_of("market_terms.ES.lfp.battery.payable_li") == "payable_li"
    assert factor_of("regions.CN.black_mass_payable_ni_co") == "payable_ni_co"
    assert factor_of("prices.H2SO4") is None
