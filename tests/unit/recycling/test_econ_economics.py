"""Plant economics against hand-computed values (prices and factors read from the cited tables, not the code)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.economics import build_model, run_economics
from batteryloop.recycling.core.feedstock import form_makeup
from batteryloop.recycling.core.flowsheet_types import Feedstock, FeedstockComponent
from batteryloop.recycling.core.materials import resolve_chemistry
from batteryloop.recycling.core.params import ParameterSet, load_parameter_set


@pytest.fixture(scope="module")
def params():
    return load_parameter_set("everbatt2023")


def test_product_revenue_by_hand(econ, params):
    res = run_economics(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="US", params=params)
    # EB23xl Materials: Li2CO3 17.14, NiSO4 6.39, Cu metal 7.37 USD/kg
    assert res.revenue_usd_per_t["Li2CO3"] == pytest.approx(50 * 17.14)
    assert res.revenue_usd_per_t["NiSO4"] == pytest.approx(300 * 6.39)
    assert sum(res.revenue_usd_per_t[k] for k in ("Li2CO3", "NiSO4", "Cu")) == pytest.approx(3363.6)


def test_feedstock_purchase_in_a_resource_market_by_hand(econ, params):
    res = run_economics(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="CN", params=params)
    # 0.70 x (150 x 16.85 + 50 x 50.35 + 80 x 7.37) + 0.69 x 30 x 17.14 x (73.89 / 13.88)
    li_value = 30 * 17.14 * 73.89 / 13.88
    expected = 0.70 * (150 * 16.85 + 50 * 50.35 + 80 * 7.37) + 0.69 * li_value
    assert expected == pytest.approx(5832.98, abs=0.05)
    assert res.cost_usd_per_t["feedstock"] == pytest.approx(expected)
    assert res.revenue_usd_per_t["gate_fee"] == 0.0
    assert res.market == "resource"


def test_nmc_earns_a_payable_in_a_subsidy_market(econ, params):
    # market_terms.DE.nmc_nca.battery: 40 % of the Ni, Co, Cu value, Li not paid (EU), no gate fee
    res = run_economics(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="DE", params=params)
    expected = 0.40 * (150 * 16.85 + 50 * 50.35 + 80 * 7.37)
    assert expected == pytest.approx(2253.84, abs=0.01)
    assert res.cost_usd_per_t["feedstock"] == pytest.approx(expected)
    assert res.revenue_usd_per_t["gate_fee"] == 0.0
    assert res.market == "resource"  # on balance the recycler pays for this feed, even in DE
    assert res.feedstock_terms == {
        "nmc_nca.battery": {
            "mass_share": 1.0,
            "purchase_usd_per_t": pytest.approx(expected),
            "gate_fee_usd_per_t": 0.0,
        }
    }


def test_lfp_pays_a_gate_fee_in_a_subsidy_market_and_is_bought_in_china(econ, params):
    lfp = Feedstock(components=(FeedstockComponent("pack", "LFP", 1.0),), annual_mass_t=6400.0)
    es = run_economics(econ.hydro_flowsheet(), feedstock=lfp, region="ES", params=params)
    # market_terms.ES.lfp.battery: no payable, gate fee 2,000 USD/t (EB19doc Table 13: recycler paid 2 USD/kg)
    assert es.cost_usd_per_t["feedstock"] == 0.0
    assert es.revenue_usd_per_t["gate_fee"] == pytest.approx(2000.0)
    assert es.market == "subsidy"
    cn = run_economics(econ.hydro_flowsheet(), feedstock=lfp, region="CN", params=params)
    # CN: LFP bought for its Li only, 55 % of contained LCE value (Ma24 degraded LFP cathode price, derived)
    assert cn.cost_usd_per_t["feedstock"] == pytest.approx(0.55 * 30 * 17.14 * 73.89 / 13.88)
    assert cn.revenue_usd_per_t["gate_fee"] == 0.0
    assert cn.market == "resource"


def test_a_mix_pays_and_is_paid_component_by_component(econ, params):
    # 60 % NMC622 packs (bought) + 40 % LFP packs (fee) in ES: LFP holds no Ni or Co, so all of it is paid at the
    # NMC pack payable; the gate fee is mass-weighted; Li is not paid in the EU either way.
    fs = replace(econ.hydro_flowsheet(), feed_elements_kg={"Li": 30.0, "Ni": 150.0, "Co": 50.0})
    mix = Feedstock(
        components=(FeedstockComponent("pack", "NMC622", 0.6), FeedstockComponent("pack", "LFP", 0.4)),
        annual_mass_t=6400.0,
    )
    es = run_economics(fs, feedstock=mix, region="ES", params=params)
    assert es.cost_usd_per_t["feedstock"] == pytest.approx(0.40 * (150 * 16.85 + 50 * 50.35))
    assert es.revenue_usd_per_t["gate_fee"] == pytest.approx(0.4 * 2000.0)
    assert es.feedstock_terms["lfp.battery"]["purchase_usd_per_t"] == 0.0
    # CN: Li is split between the rows by each component's Li per kg (its composition) x its mass share
    chem = resolve_chemistry(params)
    li = {
        c: chem.to_elements(form_makeup(params, "pack", c).materials)["Li"] * share
        for c, share in (("NMC622", 0.6), ("LFP", 0.4))
    }
    li_nmc = 30.0 * li["NMC622"] / (li["NMC622"] + li["LFP"])
    lce = 17.14 * 73.89 / 13.88
    cn = run_economics(fs, feedstock=mix, region="CN", params=params)
    assert cn.feedstock_terms["nmc_nca.battery"]["purchase_usd_per_t"] == pytest.approx(
        0.70 * (150 * 16.85 + 50 * 50.35) + 0.69 * li_nmc * lce
    )
    assert cn.feedstock_terms["lfp.battery"]["purchase_usd_per_t"] == pytest.approx(
        0.55 * (30.0 - li_nmc) * lce
    )
    assert 0.3 < li_nmc / 30.0 < 0.9  # both rows hold a real part of the lithium
    # the rows add up to the flowsheet's feed: NMC622 and NMC811 packs read the same row and merge
    merged = Feedstock(
        components=(FeedstockComponent("pack", "NMC622", 0.5), FeedstockComponent("pack", "NMC811", 0.5)),
        annual_mass_t=6400.0,
    )
    one_row = run_economics(fs, feedstock=merged, region="CN", params=params)
    assert list(one_row.feedstock_terms) == ["nmc_nca.battery"]
    assert one_row.cost_usd_per_t["feedstock"] == pytest.approx(
        0.70 * (150 * 16.85 + 50 * 50.35) + 0.69 * 30 * lce
    )


def test_market_terms_are_uncertain_parameters_and_unknown_rows_are_refused(econ, params):
    model = build_model(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="ES", params=params)
    path = "market_terms.ES.nmc_nca.battery.payable_ni_co"
    assert model.sources[path].low == 0.2 and model.sources[path].high == 0.6
    out = model.evaluate({path: np.array([0.2, 0.6])})
    paid = 150 * 16.85 + 50 * 50.35 + 80 * 7.37
    assert out["cost.feedstock"] == pytest.approx([0.2 * paid, 0.6 * paid])
    ssb = Feedstock(components=(FeedstockComponent("pack", "SSB", 1.0),), annual_mass_t=6400.0)
    with pytest.raises(NotFoundError, match="no feedstock market terms for chemistry 'SSB'"):
        run_economics(econ.hydro_flowsheet(), feedstock=ssb, region="ES", params=params)
    gone = "market_terms.ES.lfp.battery.gate_fee_usd_per_t"
    missing = ParameterSet(params.name, {k: v for k, v in params.params.items() if k != gone})
    lfp = Feedstock(components=(FeedstockComponent("pack", "LFP", 1.0),), annual_mass_t=6400.0)
    with pytest.raises(NotFoundError, match=gone.replace(".", r"\.")):
        run_economics(econ.hydro_flowsheet(), feedstock=lfp, region="ES", params=missing)


def test_utilities_and_reagents_by_hand(econ, params):
    res = run_economics(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="US", params=params)
    assert res.reagents_usd_per_t["H2SO4"] == pytest.approx(1080 * 0.083)
    assert res.cost_usd_per_t["electricity"] == pytest.approx(300 * 0.0845)
    assert res.cost_usd_per_t["natural_gas"] == pytest.approx(2500 * 7.77 / 1055.056)
    assert res.cost_usd_per_t["water"] == pytest.approx(1000 * (0.00473 + 0.00625), rel=1e-6)
    # 100 kg residue per tonne at 54.03 USD/short ton = 59.56 USD/t
    assert res.cost_usd_per_t["residue_disposal"] == pytest.approx(5.956)
    # China reagents at 0.8 x EverBatt US prices
    cn = run_economics(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="CN", params=params)
    assert cn.reagents_usd_per_t["H2SO4"] == pytest.approx(1080 * 0.083 * 0.8)


def test_capital_by_the_factor_method_by_hand(econ, params):
    # 6,400 t/yr over 320 d x 20 h = 1 t/h into leaching: 2 tank items x 2 units at 75 % of 1 t/h
    res = run_economics(
        econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(6400.0), region="US", params=params
    )
    assert res.feed_t_per_h == pytest.approx(1.0)
    unit_2017 = 473892 * 0.75**0.4481 * 0.985  # EB19doc Table 40 tank
    pe = 2 * 2 * unit_2017 * 596.2 / 567.5  # CEPCI 2017 -> 2020
    assert pe == pytest.approx(1.7243e6, rel=1e-3)
    direct = pe * (1 + 0.40 + 0.20 + 0.20 + 0.10 + 0.25 + 0.60 + 0.08)  # EB19doc Table 15
    fci = direct * 1.2 / 0.95
    tci = fci / 0.9
    assert res.capital_usd["purchased_equipment_usd"] == pytest.approx(pe)
    assert res.capital_usd["fixed_capital_usd"] == pytest.approx(fci)
    assert res.capital_usd["total_capital_usd"] == pytest.approx(tci)
    assert res.cost_usd_per_t["depreciation"] == pytest.approx((fci - 0.08 * pe) / 10 / 6400)
    assert res.cost_usd_per_t["maintenance_supplies"] == pytest.approx(0.05 * fci * 1.15 / 6400)


def test_labour_from_operators_and_dismantling_hours(econ, params):
    fs = econ.hydro_flowsheet()
    fs = replace(fs, consumables={**fs.consumables, "dismantling_labour_h": 8.74})
    res = run_economics(fs, feedstock=econ.nmc_feedstock(6400.0, form="pack"), region="US", params=params)
    # 2 tank items x 0.5 operators x 6,400 h + 8.74 h/t (EB23xl: 4.5 h per 514.8 kg pack) x 6,400 t
    hours = 2 * 0.5 * 6400 + 8.74 * 6400
    assert res.labour_h_per_yr == pytest.approx(hours)
    assert res.cost_usd_per_t["labour"] == pytest.approx(hours * 38.12 / 6400)


def test_margin_is_revenue_minus_cost_and_general_expenses_are_12_percent(econ, params):
    res = run_economics(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="ES", params=params)
    assert res.margin_usd_per_t == pytest.approx(res.total_revenue_usd_per_t - res.total_cost_usd_per_t)
    assert sum(res.revenue_usd_per_t.values()) == pytest.approx(res.total_revenue_usd_per_t)
    assert sum(res.cost_usd_per_t.values()) == pytest.approx(res.total_cost_usd_per_t)
    processing = res.total_cost_usd_per_t - res.cost_usd_per_t["feedstock"]
    assert res.cost_usd_per_t["general_expenses"] == pytest.approx(0.12 * processing)
    assert res.max_closure_error == 0.0


def test_cash_flows_npv_irr_payback_are_consistent(econ, params):
    res = run_economics(
        econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(20000.0), region="DE", params=params
    )
    flows = res.cash_flows_usd
    assert len(flows) == 11
    assert flows[0] < 0
    assert res.npv_usd == pytest.approx(sum(cf / 1.1**t for t, cf in enumerate(flows)), rel=1e-9)
    model = build_model(
        econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(20000.0), region="DE", params=params
    )
    assert float(model.evaluate()["npv_usd"]) == pytest.approx(res.npv_usd, rel=1e-9)
    if res.irr is not None:
        assert sum(cf / (1 + res.irr) ** t for t, cf in enumerate(flows)) == pytest.approx(0.0, abs=1e-3)


def test_black_mass_is_valued_by_contained_metal_and_regional_payables(econ, params):
    fs = econ.black_mass_flowsheet()
    es = run_economics(fs, feedstock=econ.nmc_feedstock(), region="ES", params=params)
    # EU: 72 % of Ni, Co, Cu value, Li not paid (Fastmarkets)
    expected_es = 0.72 * (140 * 16.85 + 47 * 50.35 + 6 * 7.37)
    assert es.revenue_usd_per_t["black_mass"] == pytest.approx(expected_es)
    cn = run_economics(fs, feedstock=econ.nmc_feedstock(), region="CN", params=params)
    expected_cn = 0.72 * (140 * 16.85 + 47 * 50.35 + 6 * 7.37) + 0.70 * 28 * 17.14 * 73.89 / 13.88
    assert cn.revenue_usd_per_t["black_mass"] == pytest.approx(expected_cn)


def test_evaluate_is_vectorised_and_matches_scalar_runs(econ, params):
    model = build_model(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="CN", params=params)
    prices = np.array([10.0, 17.14, 30.0])
    out = model.evaluate({"prices.Li2CO3": prices})
    assert out["margin"].shape == (3,)
    for i, price in enumerate(prices):
        single = run_economics(
            econ.hydro_flowsheet(),
            feedstock=econ.nmc_feedstock(),
            region="CN",
            params=params.override("prices.Li2CO3", price),
        )
        assert out["margin"][i] == pytest.approx(single.margin_usd_per_t)
    with pytest.raises(ValidationError, match="not used by this model"):
        model.evaluate({"prices.Unobtainium": 1.0})


def test_everbatt2019_battery_fee_pays_the_recycler_for_lfp(econ):
    params19 = load_parameter_set("everbatt2019")
    lfp = Feedstock(components=(FeedstockComponent("cell", "LFP", 1.0),), annual_mass_t=6400.0)
    res = run_economics(econ.hydro_flowsheet(), feedstock=lfp, region="US", params=params19)
    # EB19doc Table 13: the recycler is paid 2 USD/kg for LFP
    assert res.cost_usd_per_t["feedstock"] == pytest.approx(-2000.0)


def test_throughput_beyond_everbatt_curves_warns(econ, params):
    res = run_economics(
        econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(80000.0), region="US", params=params
    )
    assert any("50,000" in w for w in res.warnings)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"region": "XX"}, NotFoundError, "unknown region 'XX'"),
        ({"annual_feed_t": -5.0}, ValidationError, "positive"),
        ({"operating_hours_per_yr": 9000.0}, ValidationError, "operating hours"),
    ],
)
def test_bad_plants_are_refused(econ, params, change, error, match):
    kwargs = {"feedstock": econ.nmc_feedstock(), "region": "US", "params": params, **change}
    with pytest.raises(error, match=match):
        run_economics(econ.hydro_flowsheet(), **kwargs)


def test_bad_flowsheets_and_feedstocks_are_refused(econ, params):
    fs = econ.hydro_flowsheet()
    with pytest.raises(ValidationError, match=r"product 'Li2CO3'.*non-negative"):
        run_economics(
            replace(fs, products_kg={"Li2CO3": -1.0}),
            feedstock=econ.nmc_feedstock(),
            region="US",
            params=params,
        )
    with pytest.raises(ValidationError, match="consumable 'acetone'"):
        run_economics(
            replace(fs, consumables={"acetone": 1.0}),
            feedstock=econ.nmc_feedstock(),
            region="US",
            params=params,
        )
    with pytest.raises(ValidationError, match="product 'slag' has no price"):
        run_economics(
            replace(fs, products_kg={"slag": 10.0}),
            feedstock=econ.nmc_feedstock(),
            region="US",
            params=params,
        )
    bad_op = replace(fs.operations[0], name="teleportation")
    with pytest.raises(ValidationError, match="'teleportation' has no equipment"):
        run_economics(
            replace(fs, operations=(bad_op,)), feedstock=econ.nmc_feedstock(), region="US", params=params
        )
    halves = Feedstock(
        components=(FeedstockComponent("cell", "NMC622", 0.5), FeedstockComponent("cell", "LFP", 0.4)),
        annual_mass_t=1000.0,
    )
    with pytest.raises(ValidationError, match=r"sum to 0\.9"):
        run_economics(fs, feedstock=halves, region="US", params=params)


def test_wastewater_is_not_landfilled(econ, params):
    fs = econ.hydro_flowsheet(losses_kg=0.0)
    op = replace(fs.operations[0], losses_kg={"wastewater": 700.0, "leach_residue": 50.0})
    res = run_economics(
        replace(fs, operations=(op,)), feedstock=econ.nmc_feedstock(), region="US", params=params
    )
    assert res.cost_usd_per_t["residue_disposal"] == pytest.approx(0.050 * 59.56)


def test_market_follows_who_pays_for_the_feed(econ):
    params19 = load_parameter_set("everbatt2019")
    lfp = Feedstock(components=(FeedstockComponent("cell", "LFP", 1.0),), annual_mass_t=6400.0)
    assert (
        run_economics(econ.hydro_flowsheet(), feedstock=lfp, region="US", params=params19).market == "subsidy"
    )
    nmc = run_economics(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="US", params=params19)
    assert nmc.market == "neutral"  # EverBatt 2019: no fee for NMC622 (its market terms are all 0)


def test_precursor_is_valued_at_its_own_payable_including_mn(econ, params):
    fs = replace(
        econ.hydro_flowsheet(),
        products_kg={"precursor": 500.0},
        product_elements_kg={"precursor": {"Ni": 140.0, "Co": 47.0, "Mn": 40.0, "O": 100.0}},
    )
    res = run_economics(fs, feedstock=econ.nmc_feedstock(), region="CN", params=params)
    # prices.payables.precursor 0.90 x (Ni 16.85, Co 50.35, Mn 3.15 per kg contained)
    assert res.revenue_usd_per_t["precursor"] == pytest.approx(0.90 * (140 * 16.85 + 47 * 50.35 + 40 * 3.15))
