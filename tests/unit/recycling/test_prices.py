"""Grades, price decks and the pricing basis: products priced at the grade they are sold in, feed payables on
their own reference prices, dated decks, and warnings when deck and market terms are more than a year apart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling import service
from batteryloop.recycling.core import decks, grades
from batteryloop.recycling.core.economics import LI_TO_LI2CO3, build_model, run_economics
from batteryloop.recycling.core.feedstock import simple_feedstock
from batteryloop.recycling.core.flowsheet import ROUTES, run_flowsheet
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.pricing import quote
from batteryloop.recycling.core.scenario import load_scenario
from batteryloop.reference.registry import citations

EB23 = load_parameter_set("everbatt2023")


def lfp_packs(t: float = 6000.0):
    return simple_feedstock({"LFP": 1.0}, form="pack", annual_mass_t=t)


def nmc_packs(t: float = 10000.0):
    return simple_feedstock({"NMC811": 1.0}, form="pack", annual_mass_t=t)


# ------------------------------------------------------------------------------------------------- grades


def test_hydro_lithium_is_sold_as_crude_carbonate_at_everbatts_crude_price() -> None:
    flowsheet = run_flowsheet(nmc_packs(), route="hydro", product_level="salts", params=EB23)
    assert flowsheet.product_grades["Li2CO3"] == "crude"
    assert flowsheet.product_grades["NiSO4"] == "battery"
    assert flowsheet.product_grades["Cu"] == "scrap"
    result = run_economics(flowsheet, feedstock=nmc_packs(), region="CN", params=EB23)
    # EB23xl Materials: crude recovered Li2CO3 8.57 USD/kg (half of the 17.14 battery grade)
    assert result.revenue_usd_per_t["Li2CO3"] == pytest.approx(flowsheet.products_kg["Li2CO3"] * 8.57)
    # Cu from shredding is scrap: EB23xl Disassembly 7.11 USD/kg, not the 7.37 of copper metal
    assert result.revenue_usd_per_t["Cu"] == pytest.approx(flowsheet.products_kg["Cu"] * 7.11)
    assert "prices.Li2CO3_crude" in result.sources and "prices.Li2CO3" not in result.sources


def test_lithium_hydroxide_from_the_conversion_step_is_battery_grade() -> None:
    flowsheet = run_flowsheet(
        nmc_packs(), route="hydro", product_level="salts", params=EB23, lithium_product="LiOH"
    )
    assert flowsheet.product_grades["LiOH"] == "battery"
    result = run_economics(flowsheet, feedstock=nmc_packs(), region="CN", params=EB23)
    assert result.revenue_usd_per_t["LiOH"] == pytest.approx(flowsheet.products_kg["LiOH"] * 34.89)


@pytest.mark.parametrize("mix", [{"NMC811": 1.0}, {"LFP": 1.0}, {"NMC622": 0.5, "LFP": 0.5}])
@pytest.mark.parametrize("form", ["pack", "black_mass"])
def test_every_product_of_every_route_carries_a_grade_the_deck_prices(mix, form) -> None:
    feed = simple_feedstock(mix, form=form, annual_mass_t=10000.0)
    for route, levels in ROUTES.items():
        for level in levels:
            try:
                flowsheet = run_flowsheet(feed, route=route, product_level=level, params=EB23)
            except ValidationError:
                continue  # direct and LFP-selective refuse mixes; the test is about the routes that run
            assert set(flowsheet.product_grades) == set(flowsheet.products_kg), (route, level)
            for product, grade in flowsheet.product_grades.items():
                path = grades.price_path(product, grade)
                assert path is None or EB23.has(path), (route, level, product, grade, path)
            build_model(flowsheet, feedstock=feed, region="ES", params=EB23)  # every product priced


def test_black_mass_is_graded_by_the_feeds_chemistry() -> None:
    one = run_flowsheet(nmc_packs(), route="black_mass_only", params=EB23)
    mixed = run_flowsheet(
        simple_feedstock({"NMC811": 0.5, "LFP": 0.5}, annual_mass_t=1000.0),
        route="black_mass_only",
        params=EB23,
    )
    assert one.product_grades["black_mass"] == "NMC811"
    assert mixed.product_grades["black_mass"] == "mixed"
    assert grades.price_path("black_mass", "NMC811") is None  # valued through payables


def test_price_paths_of_grades() -> None:
    assert grades.price_path("Li2CO3", "crude") == "prices.Li2CO3_crude"
    assert grades.price_path("Li2CO3", "battery") == "prices.Li2CO3"
    assert grades.price_path("CAM_NMC811", "recovered") == "prices.CAM_NMC811"
    assert grades.price_path("Li2CO3", None) == "prices.Li2CO3"  # a hand-made flowsheet
    with pytest.raises(
        ValidationError, match=r"no price key for 'Li2CO3' in grade 'technical'.*battery, crude"
    ):
        grades.price_path("Li2CO3", "technical")
    with pytest.raises(ValidationError, match=r"gives it no grade"):
        grades.product_grades("hydro", ["unobtainium"], chemistries=["NMC811"])


def test_a_grade_the_set_does_not_price_is_refused() -> None:
    flowsheet = run_flowsheet(nmc_packs(), route="hydro", params=EB23)
    bare = type(EB23)(
        name="no-crude", params={p: v for p, v in EB23.params.items() if p != "prices.Li2CO3_crude"}
    )
    with pytest.raises(ValidationError, match=r"'Li2CO3' is sold in crude grade.*prices.Li2CO3_crude"):
        build_model(flowsheet, feedstock=nmc_packs(), region="CN", params=bare)


# ------------------------------------------------------------------------------ reference prices (payables)


def test_feed_payables_read_their_own_reference_price_not_the_product_price() -> None:
    flowsheet = run_flowsheet(nmc_packs(), route="hydro", params=EB23)
    model = build_model(flowsheet, feedstock=nmc_packs(), region="CN", params=EB23)
    base = model.evaluate()
    # the battery-grade product price is not read by this plant at all (it sells crude carbonate)
    assert "prices.Li2CO3" not in model.base
    # 1 USD/kg more on the Li2CO3 reference raises the purchase by payable_li x kg LCE contained
    up = model.evaluate({"prices.reference.Li2CO3": model.base["prices.reference.Li2CO3"] + 1.0})
    li_kg = flowsheet.feed_elements_kg["Li"]
    payable_li = EB23.value("market_terms.CN.nmc_nca.battery.payable_li")  # 0.69, SMM Jul 2025
    assert float(up["cost.feedstock_payables"] - base["cost.feedstock_payables"]) == pytest.approx(
        payable_li * li_kg * LI_TO_LI2CO3
    )
    assert float(up["revenue.Li2CO3"]) == pytest.approx(float(base["revenue.Li2CO3"]))  # products unchanged
    more_crude = model.evaluate({"prices.Li2CO3_crude": 9.57})
    assert float(more_crude["cost.feedstock_payables"]) == pytest.approx(
        float(base["cost.feedstock_payables"])
    )


def test_everbatt_sets_value_contained_metal_as_before() -> None:
    for name in ("everbatt2019", "everbatt2023"):
        pset = load_parameter_set(name)
        for element in ("Li2CO3", "Ni", "Co", "Mn", "Cu", "Al"):
            assert pset.value(f"prices.reference.{element}") == pset.value(f"prices.{element}"), (
                name,
                element,
            )
    # EverBatt 2019 has no crude/battery split (EB19doc Table 14): crude = battery grade, results unchanged
    eb19 = load_parameter_set("everbatt2019")
    assert eb19.value("prices.Li2CO3_crude") == eb19.value("prices.Li2CO3") == 7.9


# ------------------------------------------------------------------------------------------------- decks


def test_everbatt_decks_reproduce_the_published_prices() -> None:
    for name in ("everbatt2019", "everbatt2023"):
        deck = decks.load_deck(name)
        pset = load_parameter_set(name)
        assert deck.base_set == name and deck.currency == "USD"
        assert dict(deck.prices) == {p: v for p, v in pset.params.items() if p.startswith("prices.")}
        assert decks.apply_deck(pset, deck).params == pset.params
    assert decks.load_deck("everbatt2023").date == dt.date(2020, 12, 31)
    assert decks.load_deck("everbatt2023").dollar_year == 2020


def test_the_2025_deck_is_dated_and_every_price_it_sets_is_cited() -> None:
    deck = decks.load_deck("market2025")
    assert deck.date == dt.date(2025, 11, 13) and deck.extends == "everbatt2023"
    registry = citations()
    for path in deck.own_paths:
        price = deck.prices[path]
        assert price.source in registry and price.year is not None and price.year >= 2024, path
    assert deck.prices["prices.Li2CO3"].value == 10.8
    # crude at EverBatt's crude/battery ratio (8.57 / 17.14 = 0.5) of the 2025 battery-grade price
    assert deck.prices["prices.Li2CO3_crude"].value == pytest.approx(0.5 * 10.8)
    # what it does not set is carried from EverBatt 2023 with its own year
    assert deck.prices["prices.NaOH"].value == 0.45 and deck.prices["prices.NaOH"].year == 2020


def test_unknown_decks_and_malformed_requests_are_domain_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"unknown price deck 'nope'; packaged decks: everbatt2019"):
        decks.load_deck("nope")
    with pytest.raises(NotFoundError, match=r"unknown price deck"):
        service.packaged_set("everbatt2023", deck="../etc")
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "x"\nroute = "hydro"\nregion = "CN"\nthroughput_t_per_yr = 1000\n'
        '[params]\nset = "everbatt2023"\ndeck = 7\n'
        '[[feedstock]]\nform = "pack"\nchemistry = "NMC811"\nmass_share = 1.0\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match=r"params.deck must be the name of a price deck"):
        load_scenario(scenario)


def test_a_scenario_files_deck_goes_under_its_own_values(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "x"\nroute = "hydro"\nregion = "CN"\nthroughput_t_per_yr = 1000\n'
        '[params]\nset = "everbatt2023"\ndeck = "market2025"\nvalues = { "prices.Li2CO3_crude" = 6.0 }\n'
        '[[feedstock]]\nform = "pack"\nchemistry = "NMC811"\nmass_share = 1.0\n',
        encoding="utf-8",
    )
    loaded = load_scenario(scenario)
    assert decks.deck_of(loaded.params).name == "market2025"
    assert loaded.params.value("prices.Li2CO3_crude") == 6.0  # the user's value wins over the deck
    assert loaded.params.value("prices.reference.Li2CO3") == 10.8
    # a deck given on the command line replaces the file's deck
    assert decks.deck_of(load_scenario(scenario, deck="everbatt2019").params).name == "everbatt2019"


# ------------------------------------------------------------------------------------------- pricing basis


def test_prices_of_2020_beside_terms_of_2025_are_a_warning() -> None:
    run = service.run_scenario(
        service.Scenario(
            name="t", feedstock=nmc_packs(), route="hydro", product_level="salts", region="CN", params=EB23
        )
    )
    assert run.pricing is not None
    assert (run.pricing.deck, run.pricing.deck_date, run.pricing.terms_years) == (
        "everbatt2023",
        dt.date(2020, 12, 31),
        (2025, 2025),  # CN NMC pack terms: SMM July 2025
    )
    assert any("dated more than 1 year from price deck everbatt2023" in w for w in run.warnings)


def test_the_2025_deck_with_2025_terms_gives_no_terms_warning() -> None:
    params = decks.apply_deck(EB23, "market2025")
    run = service.run_scenario(
        service.Scenario(
            name="t", feedstock=nmc_packs(), route="hydro", product_level="salts", region="CN", params=params
        )
    )
    assert run.pricing is not None and run.pricing.deck == "market2025"
    assert not any("market term" in w for w in run.pricing.warnings)
    # prices carried from EverBatt 2023 (reagents, CAM) are named as older than the deck
    assert "prices.NaOH" in run.pricing.stale_prices


# ------------------------------------------------------------------------------------------------- quotes


def test_quote_shows_the_terms_it_applied_and_who_pays() -> None:
    feed = lfp_packs()
    flowsheet = run_flowsheet(feed, route="lfp_selective", params=EB23)
    q = quote(flowsheet, feedstock=feed, lot_mass_kg=20_000, region="ES", params=EB23)
    (terms,) = q.terms
    assert terms.row == "market_terms.ES.lfp.battery" and terms.mass_share == 1.0
    assert terms.payables == {"Ni": 0.0, "Co": 0.0, "Cu": 0.0, "Li": 0.0}
    assert terms.gate_fee_usd_per_t == 2000.0 and terms.sources["gate_fee_usd_per_t"] == "EB19doc (2019)"
    # 20 t at a 2,000 USD/t gate fee: the recycler charges the owner 40,000 USD
    assert q.market_net_usd == pytest.approx(-40_000.0)
    assert q.market_settlement == "recycler_charges"
    assert q.product_grades["Li2CO3"] == "crude"
    assert q.pricing is not None and q.pricing.deck == "everbatt2023"
    nmc = quote(
        run_flowsheet(nmc_packs(), route="hydro", params=EB23),
        feedstock=nmc_packs(),
        lot_mass_kg=1000,
        region="CN",
        params=EB23,
    )
    assert nmc.market_settlement == "recycler_pays" and nmc.market_net_usd == pytest.approx(
        nmc.market_payable_value_usd
    )


def test_quote_scenario_changes_region_route_and_deck_and_refuses_unknown_ones() -> None:
    base = service.Scenario(
        name="t", feedstock=nmc_packs(), route="hydro", product_level="salts", region="CN", params=EB23
    )
    changed = service.quote_scenario(base, region="US", route="pyro", deck="market2025")
    assert (changed.region, changed.route, changed.product_level) == ("US", "pyro", "salts")
    assert decks.deck_of(changed.params).name == "market2025"
    with pytest.raises(NotFoundError, match="unknown region 'XX'"):
        service.quote_scenario(base, region="XX")
    with pytest.raises(ValidationError, match="unknown route 'teleport'"):
        service.quote_scenario(base, route="teleport")
