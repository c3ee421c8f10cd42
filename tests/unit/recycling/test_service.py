"""The recycling use cases, in memory: each gives what the model gives, builds the model once, raises domain errors."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import pytest

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.organisation import Organisation
from batteryloop.fleet import Fleet, generate_fleet
from batteryloop.recycling import service
from batteryloop.recycling.core.carbon import carbon_footprint
from batteryloop.recycling.core.economics import run_economics
from batteryloop.recycling.core.feedstock import simple_feedstock
from batteryloop.recycling.core.flowsheet import run_flowsheet
from batteryloop.recycling.core.intake import intake_from_events
from batteryloop.recycling.core.market import load_correlation
from batteryloop.recycling.core.params import ParameterSet, load_parameter_set
from batteryloop.recycling.core.pricing import quote
from batteryloop.recycling.core.scenario import Scenario


@pytest.fixture(scope="module")
def params() -> ParameterSet:
    return load_parameter_set("everbatt2023")


def scenario_of(params: ParameterSet, mix: dict[str, float], **kwargs: Any) -> Scenario:
    fields: dict[str, Any] = {
        "name": "test",
        "feedstock": simple_feedstock(mix, form="pack", annual_mass_t=20_000),
        "route": "hydro",
        "product_level": "salts",
        "region": "CN",
        "params": params,
    }
    fields.update(kwargs)
    return Scenario(**fields)


def test_run_scenario_gives_what_the_model_gives(params: ParameterSet) -> None:
    scenario = scenario_of(params, {"NMC622": 1.0}, region="DE", operating_hours_per_yr=6400)
    run = service.run_scenario(scenario)
    flowsheet = run_flowsheet(scenario.feedstock, route="hydro", product_level="salts", params=params)
    assert run.flowsheet == flowsheet
    assert run.economics == run_economics(
        flowsheet, feedstock=scenario.feedstock, region="DE", params=params, operating_hours_per_yr=6400
    )
    assert run.carbon == carbon_footprint(flowsheet, params=params, region="DE")
    assert run.simulation == service.Simulation(None, None)
    # EverBatt 2023 prices (2020) beside market terms of 2025: the run says so
    assert run.pricing is not None and run.pricing.deck == "everbatt2023"
    assert run.warnings == run.pricing.warnings
    assert "more than 1 year from price deck everbatt2023" in run.warnings[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.carbon = None  # type: ignore[misc]


def test_run_scenario_warns_when_the_market_is_not_the_one_expected(params: ParameterSet) -> None:
    actual = service.run_scenario(scenario_of(params, {"NMC622": 1.0})).economics.market
    expected = "subsidy" if actual == "resource" else "resource"
    run = service.run_scenario(scenario_of(params, {"NMC622": 1.0}, market=expected))
    assert run.pricing is not None
    assert len(run.warnings) == 1 + len(run.pricing.warnings)
    assert f"expects a {expected} market" in run.warnings[0]


def test_uncertainty_of_a_run_and_simulate_draw_on_the_same_model(params: ParameterSet) -> None:
    scenario = scenario_of(params, {"NMC811": 0.7, "LFP": 0.3})
    run = service.run_scenario(scenario, draws=1500, seed=9, tornado=True)
    alone = service.simulate(scenario, draws=1500, seed=9)
    assert run.simulation.monte_carlo is not None and alone.monte_carlo is not None
    assert run.simulation.monte_carlo.draws == 1500
    np.testing.assert_array_equal(
        run.simulation.monte_carlo.margin_usd_per_t, alone.monte_carlo.margin_usd_per_t
    )
    assert run.simulation.sensitivity == alone.sensitivity
    assert alone.sensitivity is not None
    assert alone.sensitivity.base_margin_usd_per_t == pytest.approx(run.economics.margin_usd_per_t)
    assert service.simulate(scenario, draws=10, seed=1, tornado=False).sensitivity is None
    with pytest.raises(ValidationError, match="at least one draw"):
        service.simulate(scenario, draws=0)
    with pytest.raises(ValidationError, match="must not be negative"):
        service.run_scenario(scenario, draws=-1)


def test_a_missing_grid_factor_is_one_not_found_error(params: ParameterSet) -> None:
    """A region with costs but no grid emission factor: the run fails naming the factor, whoever asks."""
    custom = params
    for prefix in ("regions.DE", "market_terms.DE"):
        for path, param in params.items(prefix):
            custom = custom.with_param(path.replace(".DE.", ".XY.", 1), param)
    scenario = scenario_of(custom, {"NMC622": 1.0}, region="XY")
    assert service.compare(scenario, by="region", regions=["XY"]).rows()[0]["region"] == "XY"
    with pytest.raises(NotFoundError, match="no grid emission factor for region 'XY'"):
        service.run_scenario(scenario)


def test_compare_defaults(params: ParameterSet) -> None:
    mixed = scenario_of(params, {"NMC622": 0.6, "LFP": 0.4})
    routes = service.compare(mixed, by="route")
    assert "hydro/precursor" in routes.labels and "pyro/alloy" in routes.labels
    assert not [label for label in routes.labels if label.startswith(("direct", "lfp_selective"))]
    shares = service.compare(mixed, by="lfp_share", lfp_shares=[0.2, 0.8])
    assert shares.labels == ("20% LFP pack + 80% NMC622 pack", "80% LFP pack + 20% NMC622 pack")
    regions = service.compare(mixed, by="region", regions=["CN", "ES"])
    assert [r.region for r in regions.results] == ["CN", "ES"]
    with pytest.raises(ValidationError, match="compare by"):
        service.compare(mixed, by="colour")  # type: ignore[arg-type]


def test_quote_gives_what_the_model_gives(params: ParameterSet) -> None:
    scenario = scenario_of(params, {"NMC811": 1.0})
    result = service.quote(scenario, lot_mass_kg=12_000, target_margin=0.15)
    assert result.quote == quote(
        result.flowsheet,
        feedstock=scenario.feedstock,
        lot_mass_kg=12_000,
        region="CN",
        params=params,
        target_margin=0.15,
    )
    every = service.quote_every_route(scenario, lot_mass_kg=12_000)
    assert len(every.quotes) >= 3
    with pytest.raises(ValidationError, match="lot mass must be positive"):
        service.quote(scenario, lot_mass_kg=0)


def test_packaged_sets_only(params: ParameterSet) -> None:
    assert service.packaged_set("everbatt2023", overrides={"prices.Ni": 10.0}).value("prices.Ni") == 10.0
    with pytest.raises(NotFoundError, match="packaged sets"):
        service.packaged_set("src/batteryloop/recycling/data/everbatt2023")


# ------------------------------------------------------------------------------------------ intake


class FleetLedger:
    """The three reads intake_economics makes of a ledger, over a generated fleet held in memory."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.streams: dict[str, list[Any]] = defaultdict(list)
        for event in fleet.events:
            self.streams[event.battery_id].append(event)

    def get_organisation(self, org_id: str) -> Organisation:
        for org in self.fleet.organisations:
            if org.org_id == org_id:
                return org
        raise NotFoundError(f"unknown organisation {org_id!r}")

    def iter_events(self) -> Iterator[Any]:
        return iter(self.fleet.events)

    def read_stream(self, battery_id: str) -> Sequence[Any]:
        return self.streams[battery_id]


@pytest.fixture(scope="module")
def fleet_ledger() -> FleetLedger:
    return FleetLedger(generate_fleet(seed=11, n_batteries=60, now=date(2040, 1, 1)))


def test_intake_economics_runs_the_line_on_what_the_recycler_received(
    fleet_ledger: FleetLedger, params: ParameterSet
) -> None:
    org = "pl-odzysk-recycling"
    request = service.IntakeRequest(recycler_id=org, params=params, region="DE", throughput_t_per_yr=4000)
    result = service.intake_economics(fleet_ledger, request)
    records = intake_from_events(fleet_ledger.fleet.events, recycler_id=org)
    assert list(result.records) == records
    assert result.mass_t == pytest.approx(sum(r.mass_kg for r in records) / 1000)
    assert sum(g.units for g in result.groups) == len(records)
    run = result.run
    assert run.scenario.name == f"intake of {org}"
    assert run.scenario.throughput_t_per_yr == 4000
    assert (run.scenario.route, run.scenario.product_level) == ("hydro", "salts")
    plain = run_economics(run.flowsheet, feedstock=run.scenario.feedstock, region="DE", params=params)
    # the same figures; the run adds the sanity warnings: 4,000 t/yr is below the hydro route's minimum scale
    assert replace(run.economics, warnings=plain.warnings) == plain
    assert any("minimum economic scale" in w for w in run.economics.warnings)
    assert run.carbon.region == "DE"


def test_intake_economics_region_and_window_errors(fleet_ledger: FleetLedger, params: ParameterSet) -> None:
    own_country = service.intake_economics(
        fleet_ledger, service.IntakeRequest(recycler_id="de-kreislauf-recycling", params=params)
    )
    assert own_country.region == "DE"
    with pytest.raises(service.RegionRequiredError, match="no-fjord-recycling is in NO") as raised:
        service.intake_economics(
            fleet_ledger, service.IntakeRequest(recycler_id="no-fjord-recycling", params=params)
        )
    assert "DE" in raised.value.regions
    with pytest.raises(NotFoundError, match="nobody"):
        service.intake_economics(fleet_ledger, service.IntakeRequest(recycler_id="nobody", params=params))
    with pytest.raises(ValidationError, match="received no"):
        service.intake_economics(
            fleet_ledger, service.IntakeRequest(recycler_id="fr-recyclage-loire", params=params, region="DE")
        )
    with pytest.raises(ValidationError, match="must be after"):
        service.intake_economics(
            fleet_ledger,
            service.IntakeRequest(
                recycler_id="de-kreislauf-recycling",
                params=params,
                since=date(2035, 1, 1),
                until=date(2034, 1, 1),
            ),
        )
    with pytest.raises(ValidationError, match="throughput must be positive"):
        service.intake_economics(
            fleet_ledger,
            service.IntakeRequest(recycler_id="de-kreislauf-recycling", params=params, throughput_t_per_yr=0),
        )


def test_the_curated_surface_resolves() -> None:
    import batteryloop.recycling as recycling

    for name in recycling.__all__:
        assert getattr(recycling, name) is not None, name
    assert recycling.service.run_scenario is service.run_scenario
    with pytest.raises(AttributeError):
        _ = recycling.no_such_name


UNVERIFIED_IN_CN = (  # the everbatt2023 values a Chinese hydro line reads that carry quality = "unverified"
    "cost_factors.capital.cepci_cost_year",
    "cost_factors.capital.cepci_equipment_year",
    "regions.CN.corporate_tax_rate",
)


def checked(params: ParameterSet, paths: Sequence[str]) -> ParameterSet:
    """The set with ``paths`` restated by the caller (same value, quality ``assumption``)."""
    for path in paths:
        params = params.override(path, params.params[path].value, source="checked by the test")
    return params


def test_every_use_case_names_the_unverified_values_it_used(
    params: ParameterSet, fleet_ledger: FleetLedger
) -> None:
    assert all(params.params[path].quality == "unverified" for path in UNVERIFIED_IN_CN)
    assert params.params["emission_factors.grid.ES"].quality == "unverified"
    cn = scenario_of(params, {"NMC811": 1.0})
    es = scenario_of(params, {"NMC811": 1.0}, region="ES")
    assert service.run_scenario(cn).unverified == UNVERIFIED_IN_CN
    spain = service.run_scenario(es, draws=50, seed=3, tornado=True)
    assert "emission_factors.grid.ES" in spain.unverified
    assert "regions.ES.labour_usd_per_h" in spain.unverified
    assert list(spain.unverified) == sorted(spain.unverified)
    assert "regions.ES.labour_usd_per_h" in spain.simulation.unverified
    assert set(spain.simulation.unverified) <= set(spain.unverified)
    assert "regions.ES.labour_usd_per_h" in service.simulate(es, draws=50, seed=3).unverified
    lot = service.quote(es, lot_mass_kg=5000)
    assert "regions.ES.labour_usd_per_h" in lot.unverified
    assert "emission_factors.grid.ES" not in lot.unverified  # a quote reports no carbon
    assert "regions.ES.labour_usd_per_h" in service.quote_every_route(es, lot_mass_kg=5000).unverified
    by_region = service.compare(cn, by="region", regions=["CN", "ES"])
    assert {"regions.ES.labour_usd_per_h", "regions.CN.corporate_tax_rate"} <= set(by_region.unverified)
    assert "regions.ES.labour_usd_per_h" not in service.compare(cn, by="route").unverified
    overview = service.overview(es, draws=20)
    assert "regions.DE.labour_usd_per_h" in overview.unverified  # the markets table runs every region
    intake = service.intake_economics(
        fleet_ledger, service.IntakeRequest(recycler_id="pl-odzysk-recycling", params=params, region="ES")
    )
    assert "emission_factors.grid.ES" in intake.unverified


def test_a_scenario_on_checked_values_lists_none(params: ParameterSet) -> None:
    # the Monte Carlo also rests on the correlation matrix, which is unverified as shipped
    restated = (*UNVERIFIED_IN_CN, *load_correlation(params).paths)
    scenario = scenario_of(checked(params, restated), {"NMC811": 1.0})
    run = service.run_scenario(scenario, draws=50, seed=3, tornado=True)
    assert run.unverified == ()
    assert run.simulation.unverified == ()
    assert service.quote(scenario, lot_mass_kg=5000).unverified == ()
    unchecked = service.run_scenario(scenario_of(params, {"NMC811": 1.0}))
    assert unchecked.unverified == UNVERIFIED_IN_CN
    assert (
        run.economics.margin_usd_per_t == unchecked.economics.margin_usd_per_t
    )  # same values, other quality


def test_every_row_of_a_comparison_and_every_quote_carries_the_sanity_warnings(params: ParameterSet) -> None:
    # a 50 t/yr hydro line is far below the route's minimum economic scale: a single run says so, and so must
    # each row of a comparison and a quote of the same plant, not only `recycle run`
    small = scenario_of(
        params,
        {"NMC622": 1.0},
        region="DE",
        feedstock=simple_feedstock({"NMC622": 1.0}, form="pack", annual_mass_t=50),
    )
    single = service.run_scenario(small)
    scale = [w for w in single.economics.warnings if "minimum economic scale" in w]
    assert scale
    by_region = service.compare(small, by="region", regions=["DE", "CN"])
    for label, row in zip(by_region.labels, by_region.rows(), strict=True):
        assert any("minimum economic scale" in w for w in row["warnings"]), label
        assert any(w.startswith(f"{label}: ") and "minimum economic scale" in w for w in by_region.warnings)
    assert by_region.results[0].warnings == single.economics.warnings  # DE row = the single DE run
    lot = service.quote(small, lot_mass_kg=1_000.0)
    assert any("minimum economic scale" in w for w in lot.warnings)
    big = service.compare(scenario_of(params, {"NMC622": 1.0}, region="DE"), by="region", regions=["DE"])
    assert not any("minimum economic scale" in w for w in big.warnings)


def test_monte_carlo_names_its_deck_and_the_scenarios_warnings(params: ParameterSet) -> None:
    small = scenario_of(
        params,
        {"NMC622": 1.0},
        region="DE",
        feedstock=simple_feedstock({"NMC622": 1.0}, form="pack", annual_mass_t=50),
    )
    simulation = service.simulate(small, draws=200, seed=1, tornado=False)
    run = service.run_scenario(small)
    assert simulation.pricing == run.pricing and simulation.pricing is not None
    assert simulation.pricing.deck == "everbatt2023"
    assert any("minimum economic scale" in w for w in simulation.warnings)
    assert set(run.pricing.warnings) <= set(simulation.warnings)
