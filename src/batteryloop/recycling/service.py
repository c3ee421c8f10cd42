"""Use cases of the recycling capability, shared by Python callers, the CLI, the JSON API and the pages.

Every use case takes a typed input (a :class:`Scenario`, or an :class:`IntakeRequest` and an open ledger), keeps its
options keyword-only, returns a frozen result and raises domain errors (``ValidationError``, ``NotFoundError``).
The flowsheet and the economic model of a scenario are built once per call; economics, Monte Carlo and tornado are
evaluated on that one model. A region without a grid emission factor is a ``NotFoundError`` in every use case that
reports carbon, whichever face asked.

Every result carries ``unverified``: the sorted paths of the values it read whose quality is ``unverified`` (not
checked against a primary source), recorded by :meth:`ParameterSet.track` while the use case ran, so every face can
say which unchecked values a figure rests on.

Nothing here prints, formats, parses a command line or a URL, or opens a database: the faces do that.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal, Protocol

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.organisation import Organisation
from batteryloop.recycling.core.carbon import CarbonResult, carbon_footprint
from batteryloop.recycling.core.compare import (
    Comparison,
    compare_markets,
    compare_mixes,
    compare_routes,
    lfp_share_mixes,
)
from batteryloop.recycling.core.decks import PricingBasis, apply_deck, pricing_basis
from batteryloop.recycling.core.economics import (
    EconomicModel,
    EconomicsResult,
    build_model,
    require_region,
    result_from_model,
)
from batteryloop.recycling.core.feedstock import feedstock_from_intake
from batteryloop.recycling.core.flowsheet import ROUTES, resolve_route, run_flowsheet
from batteryloop.recycling.core.flowsheet_types import Feedstock, FlowsheetResult
from batteryloop.recycling.core.intake import (
    IntakeGroup,
    IntakeRecord,
    annualised_mass_t,
    intake_from_ledger,
    split_modelled,
    summarise_intake,
)
from batteryloop.recycling.core.market import MarketStructure, load_market
from batteryloop.recycling.core.params import ParameterSet, available_parameter_sets, load_parameter_set
from batteryloop.recycling.core.pricing import Quote, RouteQuotes, quote_routes
from batteryloop.recycling.core.pricing import quote as quote_lot
from batteryloop.recycling.core.sanity import sanity_warnings, with_sanity
from batteryloop.recycling.core.scenario import Scenario
from batteryloop.recycling.core.solve import SolveResult
from batteryloop.recycling.core.solve import solve as solve_lever
from batteryloop.recycling.core.uncertainty import (
    MonteCarloResult,
    SensitivityResult,
    monte_carlo,
    sensitivity,
)
from batteryloop.reference.params import Usage

CompareBy = Literal["region", "route", "lfp_share"]
DEFAULT_LFP_SHARES = (0.3, 0.5, 0.7, 0.9)
DEFAULT_OTHER_CHEMISTRY = "NMC811"


class IntakeLedger(Protocol):
    """What :func:`intake_economics` reads of a ledger (``batteryloop.ledger.Ledger`` has it)."""

    def get_organisation(self, org_id: str) -> Organisation: ...

    def iter_events(self) -> Iterator[Any]: ...

    def read_stream(self, battery_id: str) -> Sequence[Any]: ...


class RegionRequiredError(ValidationError):
    """The recycler's country has no regional costs in the parameter set: the caller must choose a region."""

    def __init__(self, recycler_id: str, country: str, params: ParameterSet) -> None:
        self.recycler_id = recycler_id
        self.country = country
        self.regions = tuple(params.groups("regions"))
        self.reason = (
            f"{recycler_id} is in {country}, which parameter set {params.name!r} has no regional costs for"
        )
        super().__init__(f"{self.reason}; choose the plant's region (one of {', '.join(self.regions)})")


@dataclass(frozen=True, slots=True)
class Simulation:
    """Monte Carlo draws of the margin and a one-at-a-time tornado, both on the scenario's one economic model."""

    monte_carlo: MonteCarloResult | None
    sensitivity: SensitivityResult | None
    unverified: tuple[str, ...] = ()
    pricing: PricingBasis | None = None  # the price deck and market-terms dates the draws are centred on
    warnings: tuple[str, ...] = ()  # of the scenario as given (scale, feed, dominance, mixed decks)


@dataclass(frozen=True, slots=True)
class ScenarioRun:
    """One scenario through the flowsheet, carbon and plant economics (and, when asked, uncertainty)."""

    scenario: Scenario
    flowsheet: FlowsheetResult
    economics: EconomicsResult
    carbon: CarbonResult
    simulation: Simulation = field(default_factory=lambda: Simulation(None, None))
    warnings: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()  # paths of the unverified values the run read
    pricing: PricingBasis | None = None  # the price deck and market-terms dates the run was priced at


@dataclass(frozen=True, slots=True)
class Solution:
    """The lever's value that brings a scenario to its target, and the scenario's own warnings."""

    scenario: Scenario
    result: SolveResult
    warnings: tuple[str, ...] = ()  # of the scenario as given (scale, feed, unverified dominance)
    unverified: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LotQuote:
    """A lot quoted through the scenario's route, with the flowsheet it was quoted on."""

    quote: Quote
    flowsheet: FlowsheetResult
    unverified: tuple[str, ...] = ()

    @property
    def pricing(self) -> PricingBasis | None:
        return self.quote.pricing

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.quote.warnings


@dataclass(frozen=True, slots=True)
class Overview:
    """What the results page shows: the run with uncertainty, the line in every market, every feasible route."""

    run: ScenarioRun
    markets: Comparison
    routes: Comparison

    @property
    def unverified(self) -> tuple[str, ...]:
        """The unverified values read by any of the three."""
        return tuple(sorted({*self.run.unverified, *self.markets.unverified, *self.routes.unverified}))


@dataclass(frozen=True, slots=True)
class IntakeRequest:
    """Which recycler's intake to read, over which window, and the line to run it through."""

    recycler_id: str
    params: ParameterSet
    route: str = "hydro"
    product_level: str | None = None
    region: str | None = None  # default: the recycler's country
    since: date | None = None  # received on or after
    until: date | None = None  # received before
    throughput_t_per_yr: float | None = None  # default: the modelled intake per year
    operating_hours_per_yr: float | None = None
    lithium_product: str = "Li2CO3"
    state_of_charge_pct: float = 0.0  # the ledger does not record it
    deck: str | None = None  # a packaged price deck to price the intake at (default: the set's own)


@dataclass(frozen=True, slots=True)
class IntakeEconomics:
    """A recycler's real intake and the line run on the part the parameter set can model."""

    request: IntakeRequest
    region: str
    records: tuple[IntakeRecord, ...]
    groups: tuple[IntakeGroup, ...]
    excluded: Mapping[str, tuple[IntakeRecord, ...]]
    intake_t_per_yr: float
    run: ScenarioRun
    unverified: tuple[str, ...] = ()

    @property
    def recycler_id(self) -> str:
        return self.request.recycler_id

    @property
    def mass_t(self) -> float:
        return sum(r.mass_kg for r in self.records) / 1000.0


# ------------------------------------------------------------------------------------------ parameter sets


def packaged_set(
    name: str, *, overrides: Mapping[str, float] | None = None, deck: str | None = None
) -> ParameterSet:
    """A packaged parameter set priced at a packaged ``deck`` (default: its own prices), then value overrides; a
    request may name packaged sets and decks only, never a directory."""
    sets = available_parameter_sets()
    if name not in sets:
        raise NotFoundError(f"unknown parameter set {name!r}; packaged sets: {', '.join(sets)}")
    params = load_parameter_set(name, deck=deck)
    for path, value in (overrides or {}).items():
        params = params.override(path, value)
    return params


# ------------------------------------------------------------------------------------------ use cases


def run_scenario(
    scenario: Scenario,
    *,
    draws: int = 0,
    seed: int | None = None,
    include_uncited: bool = False,
    tornado: bool = False,
) -> ScenarioRun:
    """Flowsheet, carbon and plant economics of a scenario; ``draws`` > 0 adds Monte Carlo, ``tornado`` a tornado."""
    if draws < 0:
        raise ValidationError(f"Monte Carlo draws must not be negative, got {draws}")
    with scenario.params.track() as used:
        flowsheet = _flowsheet(scenario)
        model = _model(scenario, flowsheet)
        economics = with_sanity(result_from_model(model, flowsheet), model, flowsheet, scenario.params)
        carbon = carbon_footprint(flowsheet, params=scenario.params, region=scenario.region)
        simulation = Simulation(
            monte_carlo(
                model,
                draws=draws,
                seed=seed,
                include_uncited=include_uncited,
                market=_market(scenario.params, model),
            )
            if draws > 0
            else None,
            sensitivity(model) if tornado else None,
            _unverified_paths(used, model) if draws > 0 or tornado else (),
        )
    warnings: tuple[str, ...] = ()
    if scenario.market is not None and scenario.market != economics.market:
        warnings = (
            f"the scenario expects a {scenario.market} market but the terms of region {scenario.region} make it "
            f"a {economics.market} market for this feed (override market_terms.{scenario.region}.* to change)",
        )
    basis = basis_of(scenario.params, model.sources)
    return ScenarioRun(
        scenario,
        flowsheet,
        economics,
        carbon,
        simulation,
        (*warnings, *basis.warnings),
        _unverified_paths(used, model),
        basis,
    )


def simulate(
    scenario: Scenario,
    *,
    draws: int = 10_000,
    seed: int | None = None,
    include_uncited: bool = False,
    tornado: bool = True,
) -> Simulation:
    """Monte Carlo of the margin over the cited ranges (``draws`` >= 1) and, by default, the tornado."""
    with scenario.params.track() as used:
        flowsheet = _flowsheet(scenario)
        model = _model(scenario, flowsheet)
        draws_result = monte_carlo(
            model,
            draws=draws,
            seed=seed,
            include_uncited=include_uncited,
            market=_market(scenario.params, model),
        )
        tornado_result = sensitivity(model) if tornado else None
        checks = sanity_warnings(model, flowsheet, scenario.params)
    basis = basis_of(scenario.params, model.sources)
    return Simulation(
        draws_result,
        tornado_result,
        _unverified_paths(used, model),
        basis,
        tuple(dict.fromkeys((*model.warnings, *checks, *basis.warnings))),
    )


def solve(
    scenario: Scenario,
    *,
    lever: str,
    target: str = "margin",
    target_value: float | None = None,
    low: float | None = None,
    high: float | None = None,
) -> Solution:
    """The value of ``lever`` (gate fee, subsidy, capital grant, payable, a metal price or throughput) within
    [low, high] at which the scenario reaches zero margin, zero NPV (or ``target_value``) or a target IRR."""
    with scenario.params.track() as used:
        flowsheet = _flowsheet(scenario)
        model = _model(scenario, flowsheet)
        result = solve_lever(
            model,
            params=scenario.params,
            lever=lever,
            target=target,
            target_value=target_value,
            low=low,
            high=high,
        )
        warnings = (*model.warnings, *sanity_warnings(model, flowsheet, scenario.params))
    return Solution(scenario, result, warnings, _unverified_paths(used, model))


def compare(
    scenario: Scenario,
    *,
    by: CompareBy,
    regions: Sequence[str] | None = None,
    routes: Sequence[str | tuple[str, str | None]] | None = None,
    lfp_shares: Sequence[float] | None = None,
    other_chemistry: str | None = None,
) -> Comparison:
    """The scenario's line across regions, routes (default: every route and level that can take the feed) or LFP
    shares of the feed (the rest ``other_chemistry``, by default the scenario's first non-LFP chemistry)."""
    with scenario.params.track() as used:
        comparison = _compare(
            scenario,
            by=by,
            regions=regions,
            routes=routes,
            lfp_shares=lfp_shares,
            other_chemistry=other_chemistry,
        )
    basis = basis_of(scenario.params, {p: None for r in comparison.results for p in r.sources})
    return replace(comparison, unverified=_unverified_paths(used), pricing=basis)


def _compare(
    scenario: Scenario,
    *,
    by: CompareBy,
    regions: Sequence[str] | None,
    routes: Sequence[str | tuple[str, str | None]] | None,
    lfp_shares: Sequence[float] | None,
    other_chemistry: str | None,
) -> Comparison:
    feedstock, params = scenario.feedstock, scenario.params
    if by == "region":
        return compare_markets(
            _flowsheet(scenario),
            feedstock=feedstock,
            params=params,
            regions=regions,
            annual_feed_t=scenario.throughput_t_per_yr,
        )
    if by == "route":
        chosen = list(routes) if routes else feasible_routes(feedstock, params=params)
        return compare_routes(
            feedstock,
            routes=chosen,
            region=scenario.region,
            params=params,
            annual_feed_t=scenario.throughput_t_per_yr,
        )
    if by != "lfp_share":
        raise ValidationError(f"compare by region, route or lfp_share, not {by!r}")
    others = [c.chemistry for c in feedstock.components if c.chemistry != "LFP"]
    mixes = lfp_share_mixes(
        list(lfp_shares) if lfp_shares else list(DEFAULT_LFP_SHARES),
        other_chemistry=other_chemistry or (others[0] if others else DEFAULT_OTHER_CHEMISTRY),
        form=feedstock.components[0].form,
        annual_mass_t=scenario.throughput_t_per_yr,
    )
    return compare_mixes(
        mixes,
        route=scenario.route,
        product_level=scenario.product_level,
        region=scenario.region,
        params=params,
    )


def quote(scenario: Scenario, *, lot_mass_kg: float, target_margin: float = 0.10) -> LotQuote:
    """A lot's contained and recoverable value through the scenario's route, and the price to pay or fee to charge."""
    with scenario.params.track() as used:
        flowsheet = _flowsheet(scenario)
        result = quote_lot(
            flowsheet,
            feedstock=scenario.feedstock,
            lot_mass_kg=lot_mass_kg,
            region=scenario.region,
            params=scenario.params,
            target_margin=target_margin,
            annual_feed_t=scenario.throughput_t_per_yr,
        )
    return LotQuote(result, flowsheet, _unverified_paths(used))


def quote_scenario(
    scenario: Scenario,
    *,
    region: str | None = None,
    route: str | None = None,
    product_level: str | None = None,
    deck: str | None = None,
) -> Scenario:
    """The scenario a quote is asked on: another region, route (and level) or price deck than the file's."""
    if route is not None or product_level is not None:
        chosen_route, level = resolve_route(
            route or scenario.route, product_level if route is None or product_level else None
        )
        scenario = replace(scenario, route=chosen_route, product_level=level)
    if region is not None:
        require_region(scenario.params, region)
        scenario = replace(scenario, region=region)
    return scenario if deck is None else with_deck(scenario, deck)


def quote_every_route(
    scenario: Scenario,
    *,
    lot_mass_kg: float,
    target_margin: float = 0.10,
    routes: Sequence[tuple[str, str | None]] | None = None,
) -> RouteQuotes:
    """The lot quoted through every route and level that can take it (or only ``routes``), best first; the others
    say why not."""
    with scenario.params.track() as used:
        quotes = quote_routes(
            scenario.feedstock,
            lot_mass_kg=lot_mass_kg,
            region=scenario.region,
            params=scenario.params,
            target_margin=target_margin,
            routes=routes,
        )
    return replace(quotes, unverified=_unverified_paths(used))


def overview(scenario: Scenario, *, draws: int, seed: int | None = 0) -> Overview:
    """The run with Monte Carlo and tornado, the same line in every market and every feasible route."""
    run = run_scenario(scenario, draws=draws, seed=seed, tornado=True)
    with scenario.params.track() as used:
        markets = compare_markets(run.flowsheet, feedstock=scenario.feedstock, params=scenario.params)
    markets = replace(
        markets,
        unverified=_unverified_paths(used),
        pricing=basis_of(scenario.params, {p: None for r in markets.results for p in r.sources}),
    )
    routes = compare(scenario, by="route")
    return Overview(run, markets, routes)


def intake_economics(ledger: IntakeLedger, request: IntakeRequest) -> IntakeEconomics:
    """Read what the recycler received from the ledger, then run the line on the part the set can model.

    The plant is sized on ``throughput_t_per_yr`` or else on the modelled share of the intake per year; its region
    is ``region`` or else the recycler's country. Nothing is dropped silently: units the parameter set cannot
    model are listed in ``excluded`` by reason.
    """
    start, end, params = request.since, request.until, request.params
    if start is not None and end is not None and end <= start:
        raise ValidationError(f"until {end} must be after since {start}")
    if request.throughput_t_per_yr is not None and not request.throughput_t_per_yr > 0:
        raise ValidationError(f"throughput must be positive, got {request.throughput_t_per_yr} t/yr")
    if request.operating_hours_per_yr is not None and not 0 < request.operating_hours_per_yr <= 8760:
        raise ValidationError(
            f"operating hours must be in (0, 8760] per year, got {request.operating_hours_per_yr}"
        )
    with params.track() as used:
        result = _intake_economics(ledger, request)
    return replace(result, unverified=_unverified_paths(used))


def _intake_economics(ledger: IntakeLedger, request: IntakeRequest) -> IntakeEconomics:
    start, end, params = request.since, request.until, request.params
    if request.deck is not None:
        params = apply_deck(params, request.deck)
    org = request.recycler_id
    organisation = ledger.get_organisation(org)
    records = intake_from_ledger(ledger, recycler_id=org, since=start, until=end)
    region = request.region or organisation.country
    if request.region is None and region not in params.groups("regions"):
        raise RegionRequiredError(org, region, params)
    require_region(params, region)
    if not records:
        raise ValidationError(
            f"{org} received no collected, graded, dismantled or recycled units"
            + (f" between {start or 'the start'} and {end or 'now'}" if start or end else "")
        )
    modelled, excluded = split_modelled(records, params)
    if not modelled:
        raise ValidationError(
            f"parameter set {params.name!r} can model none of {org}'s intake: " + "; ".join(excluded)
        )
    per_year = annualised_mass_t(records, since=start, until=end)
    feedstock = feedstock_from_intake(
        [r.as_feed_record() for r in modelled],
        annual_mass_t=request.throughput_t_per_yr or per_year * _mass_kg(modelled) / _mass_kg(records),
        state_of_charge_pct=request.state_of_charge_pct,
    )
    route, level = resolve_route(request.route, request.product_level)
    scenario = Scenario(
        name=f"intake of {org}",
        feedstock=feedstock,
        route=route,
        product_level=level,
        region=region,
        params=params,
        lithium_product=request.lithium_product,
        operating_hours_per_yr=request.operating_hours_per_yr,
    )
    return IntakeEconomics(
        request=request,
        region=region,
        records=tuple(records),
        groups=tuple(summarise_intake(records)),
        excluded={reason: tuple(rs) for reason, rs in excluded.items()},
        intake_t_per_yr=per_year,
        run=run_scenario(scenario),
    )


def feasible_routes(feedstock: Feedstock, *, params: ParameterSet) -> list[str | tuple[str, str | None]]:
    """Every route and product level that can take this feed (direct and LFP-selective need one chemistry)."""
    out: list[str | tuple[str, str | None]] = []
    for route, levels in ROUTES.items():
        for level in levels:
            try:
                run_flowsheet(feedstock, route=route, product_level=level, params=params)
            except ValidationError:
                continue
            out.append((route, level))
    return out


def basis_of(params: ParameterSet, sources: Mapping[str, Any]) -> PricingBasis:
    """The pricing basis of a result that read the parameter paths in ``sources`` (its market terms and prices)."""
    return pricing_basis(
        params,
        terms_paths=[p for p in sources if p.startswith("market_terms.")],
        price_paths=[p for p in sources if p.startswith("prices.")],
    )


def with_deck(scenario: Scenario, deck: str) -> Scenario:
    """The scenario priced at another packaged deck (layered on top of its parameters)."""
    return replace(scenario, params=apply_deck(scenario.params, deck))


def _unverified_paths(used: Usage, model: EconomicModel | None = None) -> tuple[str, ...]:
    """The sorted paths of the unverified values read in a tracked block (and those an economic model rests on)."""
    paths = set(used.unverified_paths())
    if model is not None:
        paths.update(path for path, param in model.sources.items() if param.quality == "unverified")
    return tuple(sorted(paths))


# ------------------------------------------------------------------------------------------ internals


def _flowsheet(scenario: Scenario) -> FlowsheetResult:
    return run_flowsheet(
        scenario.feedstock,
        route=scenario.route,
        product_level=scenario.product_level,
        params=scenario.params,
        lithium_product=scenario.lithium_product,
    )


def _model(scenario: Scenario, flowsheet: FlowsheetResult) -> EconomicModel:
    return build_model(
        flowsheet,
        feedstock=scenario.feedstock,
        region=scenario.region,
        params=scenario.params,
        annual_feed_t=scenario.throughput_t_per_yr,
        operating_hours_per_yr=scenario.operating_hours_per_yr,
    )


def _market(params: ParameterSet, model: EconomicModel) -> MarketStructure:
    return load_market(params, model)


def _mass_kg(records: Sequence[IntakeRecord]) -> float:
    return sum(r.mass_kg for r in records)
