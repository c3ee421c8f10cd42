"""Request and response models of the recycling JSON API and pages.

A request model turns itself into the use case's typed input with ``to_input()``; a response model is built from a
use case's result with ``from_result()`` through the renderings in :mod:`batteryloop.recycling.report`, so the
HTTP response and the CLI's ``--json`` of one use case carry the same numbers.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling import report
from batteryloop.recycling.core.compare import Comparison
from batteryloop.recycling.core.flowsheet import resolve_route
from batteryloop.recycling.core.flowsheet_types import Feedstock, FeedstockComponent
from batteryloop.recycling.core.params import DEFAULT_SET
from batteryloop.recycling.core.pricing import RouteQuotes
from batteryloop.recycling.core.scenario import Scenario
from batteryloop.recycling.service import (
    IntakeEconomics,
    IntakeRequest,
    LotQuote,
    ScenarioRun,
    Simulation,
    Solution,
    packaged_set,
)

MAX_DRAWS = 200_000  # request guard: a web request may not ask for more Monte Carlo draws than this
FORMS = ("pack", "module", "cell", "production_scrap", "electrode_scrap", "black_mass")


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: str = "pack"
    chemistry: str
    mass_share: float
    state_of_charge_pct: float = 0.0


class ScenarioIn(BaseModel):
    """One plant: feedstock, route, product level, region, size and parameter set (+ value overrides)."""

    model_config = ConfigDict(extra="forbid")
    name: str = "scenario"
    components: list[ComponentIn] = Field(min_length=1)
    annual_mass_t: float = 10_000.0
    route: str = "hydro"
    product_level: str | None = None
    lithium_product: str = "Li2CO3"
    region: str = "CN"
    params_set: str = DEFAULT_SET
    overrides: dict[str, float] = Field(default_factory=dict)
    operating_hours_per_yr: float | None = None
    deck: str | None = None  # a packaged price deck (default: the set's own prices)

    def to_input(self) -> Scenario:
        """The scenario on a packaged parameter set; checks of the mix and route are the model's."""
        for c in self.components:
            if c.mass_share < 0.0:
                raise ValidationError(f"component {c.chemistry} {c.form}: mass share must not be negative")
        params = packaged_set(self.params_set, overrides=self.overrides, deck=self.deck)
        feedstock = Feedstock(
            components=tuple(
                FeedstockComponent(c.form, c.chemistry, c.mass_share, c.state_of_charge_pct)
                for c in self.components
            ),
            annual_mass_t=self.annual_mass_t,
        )
        route, level = resolve_route(self.route, self.product_level)
        return Scenario(
            name=self.name,
            feedstock=feedstock,
            route=route,
            product_level=level,
            region=self.region,
            params=params,
            lithium_product=self.lithium_product,
            operating_hours_per_yr=self.operating_hours_per_yr,
        )


class CompareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: ScenarioIn
    by: Literal["region", "route", "lfp_share"]
    regions: list[str] | None = None
    routes: list[str] | None = (
        None  # "hydro" or "pyro/alloy"; default: every route and level that can take the feed
    )
    lfp_shares: list[float] | None = None
    other_chemistry: str | None = None  # default: the scenario's first non-LFP chemistry, else NMC811

    def route_pairs(self) -> list[str | tuple[str, str | None]] | None:
        return None if not self.routes else [split_route(r) for r in self.routes]


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: ScenarioIn
    lot_mass_kg: float
    target_margin: float = 0.10
    all_routes: bool = False  # quote through every route that can take the feed, best first


class MonteCarloIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: ScenarioIn
    draws: int = Field(default=10_000, ge=1, le=MAX_DRAWS)
    seed: int | None = None
    include_uncited: bool = False
    histogram_bins: int = Field(default=report.HISTOGRAM_BINS, ge=5, le=200)


class SolveIn(BaseModel):
    """Which lever to solve for, the target to reach and, optionally, the range to search."""

    model_config = ConfigDict(extra="forbid")
    scenario: ScenarioIn
    lever: str
    target: Literal["margin", "npv", "irr"] = "margin"
    target_value: float | None = None  # margin USD/t or NPV USD (default 0); IRR as a share (required)
    low: float | None = None
    high: float | None = None


class IntakeIn(BaseModel):
    """The line to run a recycler's intake through (the recycler is the caller)."""

    model_config = ConfigDict(extra="forbid")
    route: str = "hydro"
    product_level: str | None = None
    region: str | None = None
    params_set: str = DEFAULT_SET
    since: date | None = None
    until: date | None = None
    throughput_t: float | None = Field(default=None, gt=0)
    hours: float | None = Field(default=None, gt=0, le=8760)
    lithium: str = "Li2CO3"
    soc: float = 0.0
    deck: str | None = None

    def to_input(self, recycler_id: str) -> IntakeRequest:
        return IntakeRequest(
            recycler_id=recycler_id,
            params=packaged_set(self.params_set),
            route=self.route,
            product_level=self.product_level,
            region=self.region,
            since=self.since,
            until=self.until,
            throughput_t_per_yr=self.throughput_t,
            operating_hours_per_yr=self.hours,
            lithium_product=self.lithium,
            state_of_charge_pct=self.soc,
            deck=self.deck,
        )


class ScenarioForm(BaseModel):
    """The page form: a mix written as ``NMC811:0.7, LFP:0.3`` and the plant's route, region and set."""

    mix: str = "NMC811:0.7, LFP:0.3"
    form: str = "pack"
    annual_mass_t: float = 10_000.0
    route: str = "hydro"
    product_level: str = ""
    region: str = "CN"
    params_set: str = DEFAULT_SET
    deck: str = ""  # a packaged price deck; blank: the set's own prices
    draws: int = Field(default=10_000, ge=100, le=MAX_DRAWS)

    def to_input(self) -> Scenario:
        """'NMC811:0.7, LFP:0.3' -> a scenario (errors name the bad part)."""
        components: list[ComponentIn] = []
        for part in self.mix.split(","):
            if not part.strip():
                continue
            chemistry, sep, share = part.partition(":")
            if not sep:
                raise ValidationError(
                    f"mix entry {part.strip()!r} must look like CHEMISTRY:SHARE (e.g. NMC811:0.7)"
                )
            try:
                value = float(share)
            except ValueError:
                raise ValidationError(
                    f"mix entry {part.strip()!r}: {share.strip()!r} is not a number"
                ) from None
            components.append(ComponentIn(form=self.form, chemistry=chemistry.strip(), mass_share=value))
        if not components:
            raise ValidationError("the mix is empty: give e.g. NMC811:0.7, LFP:0.3")
        return ScenarioIn(
            components=components,
            annual_mass_t=self.annual_mass_t,
            route=self.route,
            product_level=self.product_level or None,
            region=self.region,
            params_set=self.params_set,
            deck=self.deck or None,
        ).to_input()

    def query(self) -> str:
        return urlencode(self.model_dump())


def split_route(text: str) -> str | tuple[str, str | None]:
    """'hydro' -> 'hydro'; 'pyro/alloy' -> ('pyro', 'alloy')."""
    route, _, level = text.strip().partition("/")
    return (route, level or None)


# ------------------------------------------------------------------------------------------ responses


class RunOut(BaseModel):
    scenario: str
    mass_balance: dict[str, Any]
    flowsheet: dict[str, Any]
    carbon: dict[str, Any]
    economics: dict[str, Any]
    warnings: list[str]
    pricing: dict[str, Any] | None = None
    monte_carlo: dict[str, Any] | None = None
    tornado: list[dict[str, Any]] | None = None
    unverified: list[str]

    @classmethod
    def from_result(cls, run: ScenarioRun) -> RunOut:
        return cls.model_validate(report.run_to_dict(run))


class CompareOut(BaseModel):
    dimension: str
    rows: list[dict[str, Any]]
    mass_balance: dict[str, Any]
    pricing: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    unverified: list[str]

    @classmethod
    def from_result(cls, comparison: Comparison) -> CompareOut:
        return cls.model_validate(report.comparison_to_dict(comparison))


class SimulationOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # the Monte Carlo summary's keys
    histogram: dict[str, list[float]]
    tornado: list[dict[str, Any]]
    pricing: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    unverified: list[str]

    @classmethod
    def from_result(cls, simulation: Simulation, *, bins: int = report.HISTOGRAM_BINS) -> SimulationOut:
        return cls.model_validate(report.simulation_to_dict(simulation, bins=bins))


class SolveOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # the solution's figures
    scenario: str
    lever: str
    target: str
    value: float
    achieved: float
    iterations: int
    warnings: list[str]
    unverified: list[str]

    @classmethod
    def from_result(cls, solution: Solution) -> SolveOut:
        return cls.model_validate(report.solution_to_dict(solution))


class QuoteOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # the quote's figures
    unverified: list[str]

    @classmethod
    def from_result(cls, result: LotQuote | RouteQuotes) -> QuoteOut:
        if isinstance(result, RouteQuotes):
            return cls.model_validate(report.route_quotes_to_dict(result))
        return cls.model_validate(report.quote_to_dict(result))


class IntakeOut(BaseModel):
    org: str
    region: str
    units: int
    mass_t: float
    intake_t_per_yr: float
    plant_t_per_yr: float
    by_chemistry_form: list[dict[str, Any]]
    excluded: dict[str, list[str]]
    feedstock: list[dict[str, Any]]
    mass_balance: dict[str, Any]
    flowsheet: dict[str, Any]
    carbon: dict[str, Any]
    economics: dict[str, Any]
    warnings: list[str] = Field(default_factory=list)
    pricing: dict[str, Any] | None = None
    unverified: list[str]

    @classmethod
    def from_result(cls, result: IntakeEconomics) -> IntakeOut:
        return cls.model_validate(report.intake_to_dict(result))
