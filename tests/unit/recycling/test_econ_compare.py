"""Comparisons of markets, routes and chemistry mixes."""

from __future__ import annotations

import pytest

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.compare import compare_markets, compare_mixes, compare_routes, lfp_share_mixes
from batteryloop.recycling.core.economics import run_economics
from batteryloop.recycling.core.params import load_parameter_set


@pytest.fixture(scope="module")
def params():
    return load_parameter_set("everbatt2023")


def test_same_line_in_every_market(econ, params):
    cmp = compare_markets(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), params=params)
    assert cmp.labels == ("CN", "DE", "ES", "ID", "TH", "US")
    rows = {row["region"]: row for row in cmp.rows()}
    assert rows["CN"]["market"] == "resource"
    # NMC622 cells earn a payable in DE too (market_terms.DE.nmc_nca.battery), so on balance the recycler pays
    assert rows["DE"]["market"] == "resource"
    assert rows["DE"]["gate_fee_usd_per_t"] == 0.0
    assert 0.0 < rows["DE"]["feedstock_usd_per_t"] < rows["CN"]["feedstock_usd_per_t"]
    # the line is identical: only region terms differ, so product revenue before gate fees matches across markets
    cn = run_economics(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="CN", params=params)
    assert rows["CN"]["margin_usd_per_t"] == pytest.approx(cn.margin_usd_per_t)
    # China builds cheaper (EverBatt equipment factor 0.61)
    assert rows["CN"]["total_capital_usd"] == pytest.approx(0.61 * rows["US"]["total_capital_usd"])
    with pytest.raises(NotFoundError, match="unknown region 'FR'"):
        compare_markets(
            econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), params=params, regions=["CN", "FR"]
        )


def test_routes_for_one_feedstock(econ, params):
    feed = econ.nmc_feedstock(10_000.0, form="pack")
    cmp = compare_routes(
        feed, routes=["black_mass_only", ("hydro", "salts"), "pyro"], region="DE", params=params
    )
    assert cmp.labels == ("black_mass_only/black_mass", "hydro/salts", "pyro/salts")
    rows = cmp.rows()
    assert [r["label"] for r in rows] == list(cmp.labels)
    assert [r["route"] for r in rows] == ["black_mass_only", "hydro", "pyro"]
    assert rows[1]["product_level"] == "salts"
    # pyro loses lithium to slag, hydro recovers it
    assert rows[2]["recovery_Li"] in (None, 0.0) or rows[2]["recovery_Li"] < rows[1]["recovery_Li"]
    assert rows[1]["recovery_Li"] > 0.5
    for res in cmp.results:
        assert res.max_closure_error <= 0.001
    label, best = cmp.best()
    assert best.npv_usd == max(r.npv_usd for r in cmp.results)
    assert label in cmp.labels


def test_lfp_share_rising_lowers_hydro_revenue(params):
    mixes = lfp_share_mixes([0.3, 0.6, 0.9], other_chemistry="NMC811")
    assert [m.components[0].mass_share for m in mixes] == [0.3, 0.6, 0.9]
    cmp = compare_mixes(mixes, route="hydro", region="CN", params=params)
    revenue = [row["revenue_usd_per_t"] for row in cmp.rows()]
    assert revenue[0] > revenue[1] > revenue[2]  # LFP holds no Ni or Co
    assert cmp.labels[0] == "30% LFP pack + 70% NMC811 pack"


def test_bad_comparisons_are_refused(econ, params):
    with pytest.raises(ValidationError, match="LFP share"):
        lfp_share_mixes([1.2])
    with pytest.raises(ValidationError, match="at least one route"):
        compare_routes(econ.nmc_feedstock(), routes=[], region="CN", params=params)
    with pytest.raises(ValidationError, match="2 labels for 1 mixes"):
        compare_mixes(lfp_share_mixes([0.5]), route="hydro", region="CN", params=params, labels=["a", "b"])
