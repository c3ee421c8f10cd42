"""HTML pages of the recycling capability (no JavaScript): the form, the results with inline SVG charts, the quote
of a lot through every route, and downloads of charts, CSV and workbooks. Each handler parses the form, makes one
service call and renders through :mod:`batteryloop.recycling.report` and the templates.

  GET /recycling                          the form
  GET /recycling/results                  charts inline as SVG
  GET /recycling/quote                    a lot through every route that can take it
  GET /recycling/solve                    break-even: the lever's value that reaches zero margin, NPV or an IRR
  GET /recycling/export/{name}.{fmt}      waterfall|sankey|tornado|histogram|npv_histogram as png/svg, result as csv/xlsx,
                                          markets|routes as png/svg/csv/xlsx

A domain error shows the form again with the message (422); the downloads answer problem+json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from batteryloop.domain.errors import BatteryloopError, ValidationError
from batteryloop.recycling import report, service
from batteryloop.recycling.core.decks import available_decks
from batteryloop.recycling.core.economics import known_regions
from batteryloop.recycling.core.flowsheet import ROUTES
from batteryloop.recycling.core.params import DEFAULT_SET, available_parameter_sets, load_parameter_set
from batteryloop.recycling.core.solve import LEVERS, TARGETS
from batteryloop.recycling.schemas import FORMS, ScenarioForm
from batteryloop.web import templates as make_templates

router = APIRouter(tags=["recycling pages"])
_templates = make_templates(Path(__file__).parent / "templates")

COMPARISONS = ("markets", "routes")
_MEDIA = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return _templates.TemplateResponse(request, name, {"org": None, **context}, status_code=status_code)


def _form_context(args: ScenarioForm) -> dict[str, Any]:
    sets = available_parameter_sets()
    params = load_parameter_set(args.params_set if args.params_set in sets else DEFAULT_SET)
    return {
        "args": args,
        "routes": ROUTES,
        "regions": known_regions(params),
        "sets": sets,
        "decks": available_decks(),
        "forms": FORMS,
    }


def _form_again(request: Request, args: ScenarioForm, exc: BatteryloopError) -> HTMLResponse:
    return _page(request, "recycling_form.html", {**_form_context(args), "error": str(exc)}, status_code=422)


@router.get("/recycling", response_class=HTMLResponse)
def form_page(request: Request) -> HTMLResponse:
    return _page(request, "recycling_form.html", {**_form_context(ScenarioForm()), "error": None})


@router.get("/recycling/results", response_class=HTMLResponse)
def results_page(request: Request, args: Annotated[ScenarioForm, Query()]) -> HTMLResponse:
    from batteryloop.recycling.report import charts

    try:
        result = service.overview(args.to_input(), draws=args.draws, seed=0)
    except BatteryloopError as exc:
        return _form_again(request, args, exc)
    run = result.run
    mc, sens = run.simulation.monte_carlo, run.simulation.sensitivity
    assert mc is not None and sens is not None
    svgs = {
        "waterfall": charts.svg_inline(charts.cost_waterfall(run.economics)),
        "sankey": charts.svg_inline(charts.mass_sankey(run.flowsheet)),
        "tornado": charts.svg_inline(charts.tornado(sens, n=report.TORNADO_BARS)),
        "histogram": charts.svg_inline(charts.histogram(mc)),
        "npv_histogram": charts.svg_inline(charts.npv_histogram(mc)),
        "markets": charts.svg_inline(charts.comparison_bars(result.markets)),
        "routes": charts.svg_inline(charts.comparison_bars(result.routes)),
    }
    return _page(
        request,
        "recycling_results.html",
        {
            "args": args,
            "query": args.query(),
            "result": run.economics,
            "flowsheet": run.flowsheet,
            "mc": mc.summary(),
            "warnings": (*run.warnings, *run.economics.warnings),
            "svgs": svgs,
            "rows": run.economics.breakdown_rows(),
            "carbon": run.carbon,
            "markets": result.markets.rows(),
            "routes": result.routes.rows(),
            "unverified": result.unverified,
            "pricing": run.pricing,
        },
    )


@router.get("/recycling/quote", response_class=HTMLResponse)
def quote_page(
    request: Request,
    args: Annotated[ScenarioForm, Query()],
    lot_mass_kg: Annotated[float, Query(gt=0)] = 20_000.0,
    target_margin: Annotated[float, Query(ge=0, lt=1)] = 0.10,
    only_route: bool = False,
) -> HTMLResponse:
    """A lot through every route that can take it (or the form's route only): the market terms applied, contained
    value, recoverable value, and whether the recycler pays or charges."""
    try:
        scenario = args.to_input()
        quotes = service.quote_every_route(
            scenario,
            lot_mass_kg=lot_mass_kg,
            target_margin=target_margin,
            routes=[(scenario.route, scenario.product_level)] if only_route else None,
        )
    except BatteryloopError as exc:
        return _form_again(request, args, exc)
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
            "unverified": quotes.unverified,
            "pricing": quotes.quotes[0].pricing if quotes.quotes else None,
        },
    )


@router.get("/recycling/solve", response_class=HTMLResponse)
def solve_page(
    request: Request,
    args: Annotated[ScenarioForm, Query()],
    lever: Annotated[str | None, Query()] = None,
    target: Annotated[str, Query()] = "margin",
    target_value: Annotated[float | None, Query()] = None,
    low: Annotated[float | None, Query()] = None,
    high: Annotated[float | None, Query()] = None,
) -> HTMLResponse:
    """The solve form (scenario, lever, target, bounds) and, once a lever is chosen, its break-even value."""
    context: dict[str, Any] = {
        **_form_context(args),
        "levers": LEVERS,
        "targets": TARGETS,
        "lever": lever,
        "target": target,
        "target_value": target_value,
        "low": low,
        "high": high,
        "solution": None,
        "error": None,
        "unverified": (),
    }
    if lever is None:
        return _page(request, "recycling_solve.html", context)
    try:
        solution = service.solve(
            args.to_input(), lever=lever, target=target, target_value=target_value, low=low, high=high
        )
    except BatteryloopError as exc:
        return _page(request, "recycling_solve.html", {**context, "error": str(exc)}, status_code=422)
    return _page(
        request,
        "recycling_solve.html",
        {
            **context,
            "solution": solution.result.to_dict(),
            "warnings": solution.warnings,
            "unverified": solution.unverified,
        },
    )


@router.get("/recycling/export/{name}.{fmt}")
def export_endpoint(name: str, fmt: str, args: Annotated[ScenarioForm, Query()]) -> Response:
    from batteryloop.recycling.report import charts, export

    scenario = args.to_input()
    body: bytes
    if name in COMPARISONS and fmt in (*charts.FORMATS, "csv", "xlsx"):
        comparison = service.compare(scenario, by="region" if name == "markets" else "route")
        if fmt == "csv":
            body = export.comparison_to_csv(comparison).encode("utf-8")
        elif fmt == "xlsx":
            body = export.to_xlsx(comparison=comparison, unverified=comparison.unverified)
        else:
            body = charts.comparison_bars(comparison, fmt=fmt)
    elif name in charts.chart_names() and fmt in charts.FORMATS:
        run = service.run_scenario(
            scenario,
            draws=args.draws if name in ("histogram", "npv_histogram") else 0,
            seed=0,
            tornado=name == "tornado",
        )
        if name == "waterfall":
            body = charts.cost_waterfall(run.economics, fmt=fmt)
        elif name == "sankey":
            body = charts.mass_sankey(run.flowsheet, fmt=fmt)
        elif name == "tornado":
            assert run.simulation.sensitivity is not None
            body = charts.tornado(run.simulation.sensitivity, n=report.TORNADO_BARS, fmt=fmt)
        elif name == "npv_histogram":
            assert run.simulation.monte_carlo is not None
            body = charts.npv_histogram(run.simulation.monte_carlo, fmt=fmt)
        else:
            assert run.simulation.monte_carlo is not None
            body = charts.histogram(run.simulation.monte_carlo, fmt=fmt)
    elif name == "result" and fmt in ("csv", "xlsx"):
        run = service.run_scenario(scenario, tornado=fmt == "xlsx")
        if fmt == "csv":
            body = export.result_to_csv(run.economics, unverified=run.unverified, pricing=run.pricing).encode(
                "utf-8"
            )
        else:
            body = export.to_xlsx(
                result=run.economics,
                flowsheet=run.flowsheet,
                sensitivity=run.simulation.sensitivity,
                unverified=run.unverified,
                pricing=run.pricing,
            )
    else:
        raise ValidationError(
            f"cannot export {name}.{fmt}: charts {', '.join(charts.chart_names())} as png/svg, result as csv/xlsx, "
            f"comparisons {', '.join(COMPARISONS)} as png/svg/csv/xlsx"
        )
    filename = f"recycling-{name}-{scenario.route}-{scenario.region}.{fmt}"
    return Response(
        body, media_type=_MEDIA[fmt], headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
