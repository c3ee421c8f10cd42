"""HTTP interface of the recycling model: JSON endpoints and server-rendered pages with charts.

JSON (POST bodies are :class:`ScenarioIn` plus options):
  POST /recycling/run          flowsheet + plant economics of one scenario
  POST /recycling/compare      by region, route or LFP share
  POST /recycling/quote        a lot's contained value and the price to pay or fee to charge
  POST /recycling/montecarlo   margin distribution, probability of loss, tornado of the top parameters
  GET  /recycling/params/{set} every parameter of a set with unit, source and year
Pages (no JavaScript): GET /recycling (form), GET /recycling/results (charts inline as SVG),
  GET /recycling/export/{name}.{fmt} (waterfall|sankey|tornado|histogram as png/svg, result as csv/xlsx).

Errors are domain errors (ValidationError -> 422, NotFoundError -> 404 via the app's problem+json handlers); the
pages catch them and show the form again with the message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from batteryloop.domain.errors import BatteryloopError, NotFoundError, ValidationError
from batteryloop.recycling import charts, export
from batteryloop.recycling.carbon import CarbonResult, carbon_footprint
from batteryloop.recycling.compare import (
    Comparison,
    compare_markets,
    compare_mixes,
    compare_routes,
    lfp_share_mixes,
)
from batteryloop.recycling.economics import (
    EconomicModel,
    EconomicsResult,
    build_model,
    known_regions,
    result_from_model,
)
from batteryloop.recycling.flowsheet import ROUTES, run_flowsheet
from batteryloop.recycling.flowsheet_types import Feedstock, FeedstockComponent, FlowsheetResult
from batteryloop.recycling.params import ParameterSet, available_parameter_sets, load_parameter_set
from batteryloop.recycling.pricing import quote, quote_routes
from batteryloop.recycling.uncertainty import monte_carlo, sensitivity
from batteryloop.web import templates as make_templates

router = APIRouter(tags=["recycling"])
_templates = make_templates(Path(__file__).parent / "templates")

MAX_DRAWS = 200_000  # request guard: a web request may not ask for more Monte Carlo draws than this
TORNADO_BARS = 10
COMPARISONS = ("markets", "routes")


# --------------------------------------------------------------------------------------------- payloads


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: str = "pack"
    chemistry: str
    mass_share: float
    state_of_charge_pct: float = 0.0


class ScenarioIn(BaseModel):
    """One plant: feedstock, route, product level, region, size and parameter set (+ value overrides)."""

    model_config = ConfigDict(extra="forbid")
    components: list[ComponentIn] = Field(min_length=1)
    annual_mass_t: float = 10_000.0
    route: str = "hydro"
    product_level: str | None = None
    region: str = "CN"
    params_set: str = "everbatt2023"
    overrides: dict[str, float] = Field(default_factory=dict)
    operating_hours_per_yr: float | None = None


class CompareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: ScenarioIn
    by: Literal["region", "route", "lfp_share"]
    regions: list[str] | None = None
    routes: list[str] | None = None
    lfp_shares: list[float] | None = None
    other_chemistry: str = "NMC811"


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
    histogram_bins: int = Field(default=40, ge=5, le=200)


# --------------------------------------------------------------------------------------------- service


def packaged_set(name: str) -> ParameterSet:
    """Only packaged sets over HTTP: load_parameter_set also accepts a directory path, which a request must not name."""
    sets = available_parameter_sets()
    if name not in sets:
        raise NotFoundError(f"unknown parameter set {name!r}; packaged sets: {', '.join(sets)}")
    return load_parameter_set(name)


def load_params(scenario: ScenarioIn) -> ParameterSet:
    params = packaged_set(scenario.params_set)
    for path, value in scenario.overrides.items():
        params = params.override(path, value)
    return params


def feedstock_of(scenario: ScenarioIn) -> Feedstock:
    for c in scenario.components:
        if c.mass_share < 0.0:
            raise ValidationError(f"component {c.chemistry} {c.form}: mass share must not be negative")
    return Feedstock(
        components=tuple(
            FeedstockComponent(c.form, c.chemistry, c.mass_share, c.state_of_charge_pct)
            for c in scenario.components
        ),
        annual_mass_t=scenario.annual_mass_t,
    )


def prepare(scenario: ScenarioIn) -> tuple[ParameterSet, Feedstock, FlowsheetResult, EconomicModel]:
    params = load_params(scenario)
    feedstock = feedstock_of(scenario)
    flowsheet = run_flowsheet(
        feedstock, route=scenario.route, product_level=scenario.product_level, params=params
    )
    model = build_model(
        flowsheet,
        feedstock=feedstock,
        region=scenario.region,
        params=params,
        operating_hours_per_yr=scenario.operating_hours_per_yr,
    )
    return params, feedstock, flowsheet, model


def flowsheet_summary(flowsheet: FlowsheetResult) -> dict[str, Any]:
    return {
        "route": flowsheet.route,
        "product_level": flowsheet.product_level,
        "products_kg_per_t": dict(flowsheet.products_kg),
        "element_recovery": dict(flowsheet.element_recovery),
        "consumables_per_t": dict(flowsheet.consumables),
        "process_emissions_kg_co2e_per_t": flowsheet.process_emissions_kg_co2e,
        "max_closure_error": flowsheet.max_closure_error,
        "operations": [
            {"name": op.name, "closure_error": op.closure_error, "losses_kg": dict(op.losses_kg)}
            for op in flowsheet.operations
        ],
    }


def run_payload(scenario: ScenarioIn) -> tuple[FlowsheetResult, EconomicsResult, EconomicModel]:
    _, _, flowsheet, model = prepare(scenario)
    return flowsheet, result_from_model(model, flowsheet), model


def comparison_of(body: CompareIn) -> Comparison:
    scenario = body.scenario
    params = load_params(scenario)
    feedstock = feedstock_of(scenario)
    if body.by == "region":
        flowsheet = run_flowsheet(
            feedstock, route=scenario.route, product_level=scenario.product_level, params=params
        )
        return compare_markets(flowsheet, feedstock=feedstock, params=params, regions=body.regions)
    if body.by == "route":
        routes: list[str | tuple[str, str | None]] = list(body.routes or ROUTES)
        return compare_routes(feedstock, routes=routes, region=scenario.region, params=params)
    mixes = lfp_share_mixes(
        body.lfp_shares or [0.3, 0.5, 0.7, 0.9],
        other_chemistry=body.other_chemistry,
        form=scenario.components[0].form,
        annual_mass_t=scenario.annual_mass_t,
    )
    return compare_mixes(
        mixes,
        route=scenario.route,
        product_level=scenario.product_level,
        region=scenario.region,
        params=params,
    )


# --------------------------------------------------------------------------------------------- JSON


def carbon_of(flowsheet: FlowsheetResult, scenario: ScenarioIn) -> CarbonResult | None:
    """Carbon of the run on the region's grid; None when the set has no grid factor for the region."""
    try:
        return carbon_footprint(flowsheet, params=load_params(scenario), region=scenario.region)
    except NotFoundError:
        return None


@router.post("/recycling/run")
def run_endpoint(scenario: ScenarioIn) -> dict[str, Any]:
    flowsheet, result, _ = run_payload(scenario)
    carbon = carbon_of(flowsheet, scenario)
    return {
        "flowsheet": flowsheet_summary(flowsheet),
        "economics": result.to_dict(),
        "carbon": None if carbon is None else carbon.to_dict(),
    }


@router.post("/recycling/compare")
def compare_endpoint(body: CompareIn) -> dict[str, Any]:
    return comparison_of(body).to_dict()


@router.post("/recycling/quote")
def quote_endpoint(body: QuoteIn) -> dict[str, Any]:
    params = load_params(body.scenario)
    feedstock = feedstock_of(body.scenario)
    if body.all_routes:
        return quote_routes(
            feedstock,
            lot_mass_kg=body.lot_mass_kg,
            region=body.scenario.region,
            params=params,
            target_margin=body.target_margin,
        ).to_dict()
    flowsheet = run_flowsheet(
        feedstock, route=body.scenario.route, product_level=body.scenario.product_level, params=params
    )
    q = quote(
        flowsheet,
        feedstock=feedstock,
        lot_mass_kg=body.lot_mass_kg,
        region=body.scenario.region,
        params=params,
        target_margin=body.target_margin,
    )
    return {**q.to_dict(), "max_closure_error": flowsheet.max_closure_error}


@router.post("/recycling/montecarlo")
def montecarlo_endpoint(body: MonteCarloIn) -> dict[str, Any]:
    _, _, _, model = prepare(body.scenario)
    mc = monte_carlo(model, draws=body.draws, seed=body.seed, include_uncited=body.include_uncited)
    sens = sensitivity(model)
    counts, edges = np.histogram(mc.margin_usd_per_t, bins=body.histogram_bins)
    return {
        **mc.summary(),
        "histogram": {"counts": counts.tolist(), "edges_usd_per_t": edges.tolist()},
        "tornado": [
            {
                "parameter": b.path,
                "unit": b.unit,
                "low": b.low,
                "base": b.base,
                "high": b.high,
                "margin_at_low": b.margin_at_low,
                "margin_at_high": b.margin_at_high,
                "cited_range": b.cited,
            }
            for b in sens.top(TORNADO_BARS)
        ],
    }


@router.get("/recycling/params/{set_name}")
def params_endpoint(set_name: str, prefix: str = "") -> dict[str, Any]:
    params = packaged_set(set_name)
    return {
        "name": params.name,
        "description": params.description,
        "lineage": list(params.lineage),
        "params": {path: p.as_dict() for path, p in params.items(prefix)},
    }


# --------------------------------------------------------------------------------------------- pages


def _form_scenario(
    mix: str, form: str, annual_mass_t: float, route: str, product_level: str, region: str, params_set: str
) -> ScenarioIn:
    """'NMC811:0.7, LFP:0.3' -> a scenario (errors name the bad part)."""
    components: list[ComponentIn] = []
    for part in mix.split(","):
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
            raise ValidationError(f"mix entry {part.strip()!r}: {share.strip()!r} is not a number") from None
        components.append(ComponentIn(form=form, chemistry=chemistry.strip(), mass_share=value))
    if not components:
        raise ValidationError("the mix is empty: give e.g. NMC811:0.7, LFP:0.3")
    return ScenarioIn(
        components=components,
        annual_mass_t=annual_mass_t,
        route=route,
        product_level=product_level or None,
        region=region,
        params_set=params_set,
    )


class _FormArgs(BaseModel):
    mix: str = "NMC811:0.7, LFP:0.3"
    form: str = "pack"
    annual_mass_t: float = 10_000.0
    route: str = "hydro"
    product_level: str = ""
    region: str = "CN"
    params_set: str = "everbatt2023"
    draws: int = Field(default=10_000, ge=100, le=MAX_DRAWS)

    def scenario(self) -> ScenarioIn:
        return _form_scenario(
            self.mix,
            self.form,
            self.annual_mass_t,
            self.route,
            self.product_level,
            self.region,
            self.params_set,
        )

    def query(self) -> str:
        return urlencode(self.model_dump())


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return _templates.TemplateResponse(request, name, {"org": None, **context}, status_code=status_code)


def _form_context(args: _FormArgs) -> dict[str, Any]:
    params = load_parameter_set(
        args.params_set if args.params_set in available_parameter_sets() else "everbatt2023"
    )
    return {
        "args": args,
        "routes": ROUTES,
        "regions": known_regions(params),
        "sets": available_parameter_sets(),
        "forms": ("pack", "module", "cell", "production_scrap", "electrode_scrap", "black_mass"),
    }


@router.get("/recycling", response_class=HTMLResponse)
def form_page(request: Request) -> HTMLResponse:
    return _page(request, "recycling_form.html", {**_form_context(_FormArgs()), "error": None})


@router.get("/recycling/results", response_class=HTMLResponse)
def results_page(request: Request, args: Annotated[_FormArgs, Query()]) -> HTMLResponse:
    try:
        scenario = args.scenario()
        flowsheet, result, model = run_payload(scenario)
        mc = monte_carlo(model, draws=args.draws, seed=0)
        sens = sensitivity(model)
        carbon = carbon_of(flowsheet, scenario)
        params = load_params(scenario)
        feedstock = feedstock_of(scenario)
        markets = compare_markets(flowsheet, feedstock=feedstock, params=params)
        routes = compare_routes(
            feedstock, routes=_feasible_routes(feedstock, params), region=scenario.region, params=params
        )
    except BatteryloopError as exc:
        return _page(
            request, "recycling_form.html", {**_form_context(args), "error": str(exc)}, status_code=422
        )
    svgs = {
        "waterfall": charts.svg_inline(charts.cost_waterfall(result)),
        "sankey": charts.svg_inline(charts.mass_sankey(flowsheet)),
        "tornado": charts.svg_inline(charts.tornado(sens, n=TORNADO_BARS)),
        "histogram": charts.svg_inline(charts.histogram(mc)),
        "markets": charts.svg_inline(charts.comparison_bars(markets)),
        "routes": charts.svg_inline(charts.comparison_bars(routes)),
    }
    return _page(
        request,
        "recycling_results.html",
        {
            "args": args,
            "query": args.query(),
            "result": result,
            "flowsheet": flowsheet,
            "mc": mc.summary(),
            "svgs": svgs,
            "rows": result.breakdown_rows(),
            "carbon": carbon,
            "markets": markets.rows(),
            "routes": routes.rows(),
        },
    )


def _feasible_routes(feedstock: Feedstock, params: ParameterSet) -> list[str | tuple[str, str | None]]:
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


@router.get("/recycling/quote", response_class=HTMLResponse)
def quote_page(
    request: Request,
    args: Annotated[_FormArgs, Query()],
    lot_mass_kg: Annotated[float, Query(gt=0)] = 20_000.0,
    target_margin: Annotated[float, Query(ge=0, lt=1)] = 0.10,
) -> HTMLResponse:
    """A lot through every route that can take it: contained value, recoverable value, price or fee."""
    try:
        scenario = args.scenario()
        params = load_params(scenario)
        quotes = quote_routes(
            feedstock_of(scenario),
            lot_mass_kg=lot_mass_kg,
            region=scenario.region,
            params=params,
            target_margin=target_margin,
        )
    except BatteryloopError as exc:
        return _page(
            request, "recycling_form.html", {**_form_context(args), "error": str(exc)}, status_code=422
        )
    return _page(
        request,
        "recycling_quote.html",
        {
            "args": args,
            "query": args.query(),
            "lot_mass_kg": lot_mass_kg,
            "target_margin": target_margin,
            "quotes": quotes.quotes,
            "skipped": quotes.skipped,
        },
    )


_MEDIA = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/recycling/export/{name}.{fmt}")
def export_endpoint(name: str, fmt: str, args: Annotated[_FormArgs, Query()]) -> Response:
    scenario = args.scenario()
    flowsheet, result, model = run_payload(scenario)
    body: bytes
    if name in COMPARISONS and fmt in (*charts.FORMATS, "csv", "xlsx"):
        params = load_params(scenario)
        feedstock = feedstock_of(scenario)
        comparison = (
            compare_markets(flowsheet, feedstock=feedstock, params=params)
            if name == "markets"
            else compare_routes(
                feedstock, routes=_feasible_routes(feedstock, params), region=scenario.region, params=params
            )
        )
        if fmt == "csv":
            body = export.comparison_to_csv(comparison).encode("utf-8")
        elif fmt == "xlsx":
            body = export.to_xlsx(comparison=comparison)
        else:
            body = charts.comparison_bars(comparison, fmt=fmt)
    elif name in charts.chart_names() and fmt in charts.FORMATS:
        if name == "waterfall":
            body = charts.cost_waterfall(result, fmt=fmt)
        elif name == "sankey":
            body = charts.mass_sankey(flowsheet, fmt=fmt)
        elif name == "tornado":
            body = charts.tornado(sensitivity(model), n=TORNADO_BARS, fmt=fmt)
        else:
            body = charts.histogram(monte_carlo(model, draws=args.draws, seed=0), fmt=fmt)
    elif name == "result" and fmt == "csv":
        body = export.result_to_csv(result).encode("utf-8")
    elif name == "result" and fmt == "xlsx":
        body = export.to_xlsx(result=result, flowsheet=flowsheet, sensitivity=sensitivity(model))
    else:
        raise ValidationError(
            f"cannot export {name}.{fmt}: charts {', '.join(charts.chart_names())} as png/svg, result as csv/xlsx, "
            f"comparisons {', '.join(COMPARISONS)} as png/svg/csv/xlsx"
        )
    filename = f"recycling-{name}-{scenario.route}-{scenario.region}.{fmt}"
    return Response(
        body, media_type=_MEDIA[fmt], headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
