"""Recycling commands: `recycle run|compare|solve|intake` and `quote` (Typer + Rich).

Each command parses its options, makes one call to :mod:`batteryloop.recycling.service` and renders the result:
``--json`` through :mod:`batteryloop.recycling.report` (the same dicts the HTTP API returns), tables with Rich,
files (CSV, XLSX, charts) through ``report.export`` and ``report.charts``. A domain error is one line on stderr and
exit code 2.

The lead mounts them on the main app::

    app.add_typer(recycle_app, name="recycle")
    app.command("quote")(quote_command)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from batteryloop.domain.errors import BatteryloopError, NotFoundError, ValidationError
from batteryloop.recycling.core.params import load_parameter_set

if TYPE_CHECKING:
    from batteryloop.recycling import service
    from batteryloop.recycling.core.carbon import CarbonResult
    from batteryloop.recycling.core.compare import Comparison
    from batteryloop.recycling.core.economics import EconomicsResult
    from batteryloop.recycling.core.flowsheet_types import FlowsheetResult
    from batteryloop.recycling.core.intake import IntakeRecord
    from batteryloop.recycling.core.pricing import Quote
    from batteryloop.recycling.core.scenario import Scenario
    from batteryloop.recycling.core.uncertainty import MonteCarloResult, SensitivityResult

recycle_app = typer.Typer(
    help="Recycling line: flowsheet, mass balance, economics, carbon.", no_args_is_help=True
)

console = Console()
err = Console(stderr=True)

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario TOML file", exists=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")]
CsvOpt = Annotated[Path | None, typer.Option("--csv", help="Write the result as CSV to this file")]
XlsxOpt = Annotated[Path | None, typer.Option("--xlsx", help="Write a workbook (summary, balance, ...)")]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Directory for CSV, XLSX and charts (created if missing)", file_okay=False),
]
ChartFormatOpt = Annotated[
    str, typer.Option("--chart-format", help="Chart files to write with --out: png, svg or both")
]
CHART_FORMATS = ("png", "svg")
DeckOpt = Annotated[
    str | None,
    typer.Option(
        "--deck", help="Price deck (everbatt2019, everbatt2023, market2025); default: the set's own"
    ),
]


def _fail(exc: Exception | str) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=2)


def _print_json(payload: dict[str, Any]) -> None:
    console.print_json(json.dumps(payload, default=str))


def _notice_unverified(paths: Sequence[str], *, data_on_stdout: bool) -> None:
    """The one-line notice naming the unverified values a result used: on stderr when stdout carries data."""
    from batteryloop.reference.values import unverified_line

    line = unverified_line(paths)
    if line:
        (err if data_on_stdout else console).print(
            f"[yellow]note:[/yellow] {line}", highlight=False, soft_wrap=True
        )


# ------------------------------------------------------------------------------------------------- run


@recycle_app.command("run")
def run_command(
    scenario_file: ScenarioArg,
    as_json: JsonOpt = False,
    csv_out: CsvOpt = None,
    xlsx_out: XlsxOpt = None,
    out_dir: OutOpt = None,
    chart_format: ChartFormatOpt = "both",
    mc_draws: Annotated[
        int, typer.Option("--mc", help="Monte Carlo draws over the cited ranges (0: none)", min=0)
    ] = 0,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the Monte Carlo draws")] = None,
    tornado: Annotated[
        bool, typer.Option("--tornado", help="One-at-a-time sensitivity: the ten most influential parameters")
    ] = False,
    deck: DeckOpt = None,
) -> None:
    """Run a scenario: mass balance, recoveries, carbon and plant economics (optionally Monte Carlo, tornado)."""
    from batteryloop.recycling import report, service
    from batteryloop.recycling.core.scenario import load_scenario

    try:
        formats = _chart_formats(chart_format)
        run = service.run_scenario(
            load_scenario(scenario_file, deck=deck), draws=mc_draws, seed=seed, tornado=tornado
        )
    except BatteryloopError as exc:
        raise _fail(exc) from None
    mc, sens = run.simulation.monte_carlo, run.simulation.sensitivity
    if as_json:
        for warning in run.economics.warnings:  # the table shows them; with --json, say them on stderr
            err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
        _print_json(report.run_to_dict(run))
    else:
        _print_flowsheet(run.scenario, run.flowsheet)
        _print_carbon(run.carbon)
        _print_economics(run.economics)
        if mc is not None:
            _print_monte_carlo(mc)
        if sens is not None:
            _print_tornado(sens)
        console.print(closure_line(run.flowsheet))
        _print_pricing(run.pricing)
    _warn(run.warnings)
    _notice_unverified(run.unverified, data_on_stdout=as_json)
    try:
        _write_run_outputs(
            stem=_stem(scenario_file),
            economics=run.economics,
            flowsheet=run.flowsheet,
            csv_out=csv_out,
            xlsx_out=xlsx_out,
            out_dir=out_dir,
            formats=formats,
            mc=mc,
            sens=sens,
            unverified=run.unverified,
            pricing=run.pricing,
        )
    except OSError as exc:
        raise _fail(exc) from None


def _stem(path: Path) -> str:
    return path.stem or "result"


def _chart_formats(text: str) -> tuple[str, ...]:
    if text == "both":
        return CHART_FORMATS
    if text not in CHART_FORMATS:
        raise ValidationError(f"--chart-format must be png, svg or both, got {text!r}")
    return (text,)


def _print_monte_carlo(mc: MonteCarloResult) -> None:
    pct, npv = mc.percentiles(), mc.npv_percentiles()
    how = "correlated prices, feedstock terms by regime" if mc.correlated else "independent draws"
    console.print(
        f"Monte Carlo ({mc.draws:,} draws over {len(mc.varied)} parameters, {how}): margin P10 "
        f"{pct['p10']:,.0f}, P50 {pct['p50']:,.0f}, P90 {pct['p90']:,.0f} USD/t; NPV P10 {npv['p10']:,.0f}, "
        f"P50 {npv['p50']:,.0f}, P90 {npv['p90']:,.0f} USD; probability of loss "
        f"[bold]{mc.probability_of_loss:.1%}[/bold]; probability NPV < 0 {mc.probability_npv_negative:.1%}"
    )


def _print_tornado(sens: SensitivityResult) -> None:
    table = Table(
        title=f"Tornado: margin per t at each parameter's low and high (base {sens.base_margin_usd_per_t:,.0f})"
    )
    for column in ("parameter", "low", "high", "margin at low", "margin at high", "swing", "range"):
        table.add_column(column, justify="left" if column in ("parameter", "range") else "right")
    for bar in sens.top(10):
        table.add_row(
            bar.path,
            f"{bar.low:g}",
            f"{bar.high:g}",
            f"{bar.margin_at_low:,.0f}",
            f"{bar.margin_at_high:,.0f}",
            f"{bar.swing:,.0f}",
            "cited" if bar.cited else "default spread",
        )
    console.print(table)


def _write_bytes(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    err.print(f"wrote {path}")


def _write_charts(
    out_dir: Path, stem: str, charts: dict[str, Callable[[str], bytes]], formats: Sequence[str]
) -> None:
    for name, render in charts.items():
        for fmt in formats:
            _write_bytes(out_dir / f"{stem}-{name}.{fmt}", render(fmt))


def _write_run_outputs(
    *,
    stem: str,
    economics: EconomicsResult,
    flowsheet: FlowsheetResult,
    csv_out: Path | None,
    xlsx_out: Path | None,
    out_dir: Path | None,
    formats: Sequence[str],
    mc: MonteCarloResult | None = None,
    sens: SensitivityResult | None = None,
    extra_csv: dict[str, str] | None = None,
    unverified: Sequence[str] = (),
    pricing: Any = None,
) -> None:
    if csv_out is None and xlsx_out is None and out_dir is None:
        return
    from batteryloop.recycling.report import export

    csv_text = export.result_to_csv(economics, unverified=unverified, pricing=pricing)
    xlsx = export.to_xlsx(
        result=economics,
        flowsheet=flowsheet,
        sensitivity=sens,
        monte_carlo=mc,
        unverified=unverified,
        pricing=pricing,
    )
    if csv_out is not None:
        _write_bytes(csv_out, csv_text)
    if xlsx_out is not None:
        _write_bytes(xlsx_out, xlsx)
    if out_dir is None:
        return
    from batteryloop.recycling.report import balance_csv, charts

    _write_bytes(out_dir / f"{stem}.csv", csv_text)
    _write_bytes(out_dir / f"{stem}-balance.csv", balance_csv(flowsheet))
    for name, text in (extra_csv or {}).items():
        _write_bytes(out_dir / f"{stem}-{name}.csv", text)
    _write_bytes(out_dir / f"{stem}.xlsx", xlsx)
    renders: dict[str, Callable[[str], bytes]] = {
        "waterfall": lambda fmt: charts.cost_waterfall(economics, fmt=fmt),
        "sankey": lambda fmt: charts.mass_sankey(flowsheet, fmt=fmt),
    }
    if mc is not None:
        renders["histogram"] = lambda fmt: charts.histogram(mc, fmt=fmt)
        renders["npv_histogram"] = lambda fmt: charts.npv_histogram(mc, fmt=fmt)
    if sens is not None:
        renders["tornado"] = lambda fmt: charts.tornado(sens, fmt=fmt)
    _write_charts(out_dir, stem, renders, formats)


def closure_line(flowsheet: FlowsheetResult, *, label: str = "mass balance") -> str:
    """One readable line: does the element-wise balance close on every unit operation?"""
    from batteryloop.recycling import report

    c = report.closure_summary(flowsheet)
    verdict = "[green]closes[/green]" if c["closes"] else "[bold red]DOES NOT CLOSE[/bold red]"
    return (
        f"{label} {verdict} on all {c['operations']} unit operations (max error {c['max_closure_error']:.1e} in "
        f"{c['worst_operation']}, limit {c['limit']:.0e}); per t feed: feed {c['feed_kg']:,.1f} kg + reagents and "
        f"air {c['reagents_and_air_kg']:,.1f} kg = products {c['products_kg']:,.1f} + losses {c['losses_kg']:,.1f} "
        f"+ emissions {c['emissions_kg']:,.1f} kg"
    )


def _print_flowsheet(scenario: Scenario, result: FlowsheetResult) -> None:
    mix = ", ".join(f"{c.mass_share:.0%} {c.chemistry} {c.form}" for c in scenario.feedstock.components)
    console.print(
        f"[bold]{scenario.name}[/bold]: {mix} -> route [cyan]{result.route}[/cyan] / {result.product_level}, "
        f"region {scenario.region}, {_tonnes(scenario.throughput_t_per_yr)} t/yr, params {result.params_set}"
    )
    products = Table(title="Products (kg per t feed)")
    products.add_column("product")
    products.add_column("kg/t", justify="right")
    for name, kg in sorted(result.products_kg.items(), key=lambda kv: -kv[1]):
        products.add_row(name, f"{kg:,.1f}")
    console.print(products)
    recovery = Table(title="Element recovery into saleable products (from the flowsheet)")
    recovery.add_column("element")
    recovery.add_column("in feed kg/t", justify="right")
    recovery.add_column("recovered", justify="right")
    for element, share in result.element_recovery.items():
        if element in ("O", "H", "C", "F", "coolant"):
            continue
        recovery.add_row(element, f"{result.feed_elements_kg.get(element, 0.0):,.1f}", f"{share:.1%}")
    console.print(recovery)
    balance = Table(
        title=f"Mass balance per unit operation (max closure error {result.max_closure_error:.2e})"
    )
    for column in ("operation", "in kg", "products kg", "losses kg", "emissions kg", "closure"):
        balance.add_column(column, justify="left" if column == "operation" else "right")
    for op in result.operations:
        balance.add_row(
            op.name,
            f"{sum(op.inputs_kg.values()):,.1f}",
            f"{sum(op.products_kg.values()):,.1f}",
            f"{sum(op.losses_kg.values()):,.1f}",
            f"{sum(op.emissions_kg.values()):,.1f}",
            f"{op.closure_error:.1e}",
        )
    console.print(balance)
    consumables = Table(title="Consumables (per t feed)")
    consumables.add_column("input")
    consumables.add_column("amount", justify="right")
    for key, amount in result.consumables.items():
        consumables.add_row(key, f"{amount:,.2f}")
    console.print(consumables)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


def _print_carbon(carbon: CarbonResult) -> None:
    table = Table(
        title=f"Carbon (kg CO2e per t feed; grid {carbon.region} {carbon.grid_kg_co2e_per_kwh} kg/kWh)"
    )
    table.add_column("item")
    table.add_column("kg CO2e/t", justify="right")
    for key, value in carbon.gate_to_gate_breakdown.items():
        table.add_row(f"gate-to-gate: {key}", f"{value:,.1f}")
    table.add_row("[bold]gate-to-gate total[/bold]", f"{carbon.gate_to_gate_kg_co2e_per_t:,.1f}")
    for key, value in carbon.avoided_breakdown.items():
        table.add_row(f"avoided: {key}", f"{-value:,.1f}")
    table.add_row("[bold]net[/bold]", f"{carbon.net_kg_co2e_per_t:,.1f}")
    per_kwh = carbon.net_kg_co2e_per_kwh
    if per_kwh is not None:
        table.add_row("net per kWh of feed capacity", f"{per_kwh:,.2f}")
    console.print(table)
    if carbon.uncredited_products:
        console.print(f"no credit for: {', '.join(carbon.uncredited_products)}")
    if carbon.unfactored_consumables:
        console.print(f"no emission factor for: {', '.join(carbon.unfactored_consumables)}")


def _print_economics(result: EconomicsResult) -> None:
    table = Table(title=f"Plant economics: {result.region}, {result.market} market (USD per t feed)")
    table.add_column("kind")
    table.add_column("item")
    table.add_column("USD/t", justify="right")
    for kind, item, value in result.breakdown_rows():
        table.add_row(kind, item, f"{value:,.0f}")
    console.print(table)
    terms = [
        f"{label} {row['mass_share']:.0%}: "
        + (f"fee {row['gate_fee_usd_per_t']:,.0f}" if row["gate_fee_usd_per_t"] > 0 else "")
        + (" + " if row["gate_fee_usd_per_t"] > 0 and row["purchase_usd_per_t"] > 0 else "")
        + (
            f"paid {row['purchase_usd_per_t']:,.0f}"
            if row["purchase_usd_per_t"] > 0 or row["gate_fee_usd_per_t"] == 0
            else ""
        )
        for label, row in result.feedstock_terms.items()
    ]
    if terms:
        console.print(f"feedstock terms (USD/t feed, market_terms.{result.region}.*): " + "; ".join(terms))
    irr = "n/a" if result.irr is None else f"{result.irr:.1%}"
    payback = "never" if result.payback_yr is None else f"{result.payback_yr:.1f} yr"
    console.print(
        f"capital {result.capital_usd.get('total_capital_usd', 0.0):,.0f} USD; NPV {result.npv_usd:,.0f} USD at "
        f"{result.discount_rate:.0%}; IRR {irr}; payback {payback}"
    )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


# --------------------------------------------------------------------------------------------- compare


@recycle_app.command("compare")
def compare_command(
    scenario_file: ScenarioArg,
    regions: Annotated[
        str | None, typer.Option("--regions", help="Comma-separated regions, e.g. CN,ES,US")
    ] = None,
    routes: Annotated[
        str | None,
        typer.Option("--routes", help="Comma-separated routes, route/level allowed: hydro,pyro/alloy"),
    ] = None,
    lfp_shares: Annotated[
        str | None, typer.Option("--lfp-shares", help="Comma-separated LFP shares, e.g. 0.3,0.6,0.9")
    ] = None,
    as_json: JsonOpt = False,
    csv_out: CsvOpt = None,
    xlsx_out: XlsxOpt = None,
    out_dir: OutOpt = None,
    chart_format: ChartFormatOpt = "both",
    deck: DeckOpt = None,
) -> None:
    """Compare the scenario's line across regions, routes, or LFP shares of the feed."""
    from batteryloop.recycling import report, service
    from batteryloop.recycling.core.scenario import load_scenario
    from batteryloop.recycling.schemas import split_route

    chosen = [x for x in (regions, routes, lfp_shares) if x]
    try:
        formats = _chart_formats(chart_format)
        if len(chosen) != 1:
            raise ValidationError("give exactly one of --regions, --routes, --lfp-shares")
        route_pairs = [split_route(x) for x in _split(routes)] if routes else None
        shares = [_float(x, "--lfp-shares") for x in _split(lfp_shares)] if lfp_shares else None
        result = service.compare(
            load_scenario(scenario_file, deck=deck),
            by="region" if regions else "route" if routes else "lfp_share",
            regions=_split(regions) if regions else None,
            routes=route_pairs,
            lfp_shares=shares,
        )
    except BatteryloopError as exc:
        raise _fail(exc) from None
    if as_json:
        _print_json(report.comparison_to_dict(result))
    else:
        _print_comparison(result)
        worst = max(result.flowsheets, key=lambda f: f.max_closure_error)
        console.print(
            closure_line(worst, label=f"worst of {len(result.flowsheets)} flowsheets: mass balance")
        )
        _print_pricing(result.pricing)
    _warn(result.warnings)
    _notice_unverified(result.unverified, data_on_stdout=as_json)
    try:
        _write_comparison_outputs(
            result,
            stem=f"{_stem(scenario_file)}-by-{result.dimension}",
            csv_out=csv_out,
            xlsx_out=xlsx_out,
            out_dir=out_dir,
            formats=formats,
        )
    except OSError as exc:
        raise _fail(exc) from None


def _write_comparison_outputs(
    result: Comparison,
    *,
    stem: str,
    csv_out: Path | None,
    xlsx_out: Path | None,
    out_dir: Path | None,
    formats: Sequence[str],
) -> None:
    if csv_out is None and xlsx_out is None and out_dir is None:
        return
    from batteryloop.recycling.report import export

    csv_text = export.comparison_to_csv(result)
    xlsx = export.to_xlsx(comparison=result, unverified=result.unverified)
    if csv_out is not None:
        _write_bytes(csv_out, csv_text)
    if xlsx_out is not None:
        _write_bytes(xlsx_out, xlsx)
    if out_dir is not None:
        from batteryloop.recycling.report import charts

        _write_bytes(out_dir / f"{stem}.csv", csv_text)
        _write_bytes(out_dir / f"{stem}.xlsx", xlsx)
        _write_charts(out_dir, stem, {"bars": lambda fmt: charts.comparison_bars(result, fmt=fmt)}, formats)


_COMPARISON_METRICS = (
    ("market", "market"),
    ("revenue_usd_per_t", "revenue USD/t"),
    ("cost_usd_per_t", "cost USD/t"),
    ("margin_usd_per_t", "margin USD/t"),
    ("npv_usd", "NPV USD"),
    ("irr", "IRR"),
    ("recovery_Li", "recovery Li"),
    ("recovery_Ni", "recovery Ni"),
    ("recovery_Co", "recovery Co"),
    ("max_closure_error", "max closure error"),
)


def _print_comparison(result: Comparison) -> None:
    """One column per option and one row per measure, in as many tables as the terminal's width needs, so
    no number is cut (the CSV/XLSX/--json outputs carry every column at once)."""
    from batteryloop.clikit import fitted_table

    rows = result.rows()
    per_table = max(1, (console.width - 22) // 14)
    for start in range(0, len(rows), per_table):
        chunk = rows[start : start + per_table]
        title = f"Comparison by {result.dimension}" if start == 0 else None
        table = fitted_table(
            result.dimension,
            *(str(r["label"]) for r in chunk),
            title=title,
            numeric=[False] + [True] * len(chunk),
        )
        for key, heading in _COMPARISON_METRICS:
            table.add_row(
                heading,
                *(
                    f"{r[key]:.1e}"
                    if key == "max_closure_error"
                    else _fmt(r.get(key), percent=key == "irr" or key.startswith("recovery_"))
                    for r in chunk
                ),
            )
        console.print(table)
    label, _ = result.best()
    console.print(f"highest NPV: [bold]{label}[/bold]")


def _tonnes(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _float(text: str, option: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValidationError(f"{option}: {text!r} is not a number") from None


def _fmt(value: Any, *, percent: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.1%}" if percent else f"{value:,.0f}"
    return str(value)


# ----------------------------------------------------------------------------------------------- solve


@recycle_app.command("solve")
def solve_command(
    scenario_file: ScenarioArg,
    lever: Annotated[
        str,
        typer.Option(
            "--lever",
            help="gate_fee, subsidy, capex_grant, payable_ni_co, payable_li, sale_payable_ni_co, sale_payable_li, "
            "price:Li|Ni|Co|Mn|Cu|Al or throughput",
        ),
    ],
    target: Annotated[str, typer.Option("--target", help="margin, npv or irr")] = "margin",
    target_value: Annotated[
        float | None,
        typer.Option(
            "--value", help="Margin (USD/t) or NPV (USD) to reach (default 0); IRR as a share, e.g. 0.12"
        ),
    ] = None,
    low: Annotated[float | None, typer.Option("--low", help="Lower bound of the search")] = None,
    high: Annotated[float | None, typer.Option("--high", help="Upper bound of the search")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Break-even: the lever's value at which the scenario reaches zero margin, zero NPV or a target IRR."""
    from batteryloop.recycling import report, service
    from batteryloop.recycling.core.scenario import load_scenario

    try:
        solution = service.solve(
            load_scenario(scenario_file),
            lever=lever,
            target=target,
            target_value=target_value,
            low=low,
            high=high,
        )
    except BatteryloopError as exc:
        raise _fail(exc) from None
    for warning in solution.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    if as_json:
        _print_json(report.solution_to_dict(solution))
    else:
        r = solution.result
        achieved = f"{r.achieved:.2%}" if r.target == "irr" else f"{r.achieved:,.4g}"
        console.print(
            f"{r.lever} = [bold]{r.value:,.6g}[/bold] {r.unit} (now {r.base_value:,.6g}, change {r.change:+,.6g}) "
            f"reaches {r.target} {achieved}; brentq in [{r.bracket[0]:,.6g}, {r.bracket[1]:,.6g}]: "
            f"{r.iterations} iterations, {r.function_calls} evaluations; search range [{r.low:,.6g}, {r.high:,.6g}]"
            + ("" if r.monotonic else "; not monotonic over the range"),
            highlight=False,
            soft_wrap=True,
        )
        for note in r.notes:
            console.print(f"note: {note}", highlight=False, soft_wrap=True)
    _notice_unverified(solution.unverified, data_on_stdout=as_json)


# ----------------------------------------------------------------------------------------------- quote


@recycle_app.command("quote")
def quote_command(
    scenario_file: ScenarioArg,
    lot_kg: Annotated[float, typer.Option("--lot-kg", help="Mass of the lot in kg")] = 20_000.0,
    target_margin: Annotated[
        float, typer.Option("--target-margin", help="Margin as a share of revenue")
    ] = 0.1,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Region whose market terms and costs apply (default: scenario's)"),
    ] = None,
    route: Annotated[
        str | None,
        typer.Option("--route", help="Route to quote through, e.g. hydro, pyro (default: scenario's)"),
    ] = None,
    product_level: Annotated[
        str | None, typer.Option("--level", help="Product level (default: the route's first)")
    ] = None,
    deck: DeckOpt = None,
    as_json: JsonOpt = False,
    csv_out: CsvOpt = None,
    xlsx_out: XlsxOpt = None,
) -> None:
    """Quote a lot: contained and recoverable value, and the price to pay or the fee to charge.

    Shows the market terms applied (payables per element, gate fees, their sources) and says whether the recycler
    pays or charges, per tonne and for the lot; --region, --route and --deck change the scenario's."""
    from batteryloop.recycling import report, service
    from batteryloop.recycling.core.scenario import load_scenario

    try:
        scenario = service.quote_scenario(
            load_scenario(scenario_file, deck=deck), region=region, route=route, product_level=product_level
        )
        result = service.quote(scenario, lot_mass_kg=lot_kg, target_margin=target_margin)
    except BatteryloopError as exc:
        raise _fail(exc) from None
    if as_json:
        _print_json(report.quote_to_dict(result))
    else:
        _print_quote(result.quote, lot_kg=lot_kg, target_margin=target_margin)
        console.print(closure_line(result.flowsheet))
    _warn(result.warnings)
    _notice_unverified(result.unverified, data_on_stdout=as_json)
    if csv_out is not None or xlsx_out is not None:
        from batteryloop.recycling.report import export

        try:
            if csv_out is not None:
                _write_bytes(csv_out, export.quote_to_csv(result.quote, unverified=result.unverified))
            if xlsx_out is not None:
                _write_bytes(
                    xlsx_out,
                    export.to_xlsx(
                        quote=result.quote, flowsheet=result.flowsheet, unverified=result.unverified
                    ),
                )
        except OSError as exc:
            raise _fail(exc) from None


def _warn(warnings: Sequence[str]) -> None:
    for warning in warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")


def _print_pricing(pricing: Any) -> None:
    if pricing is not None:
        console.print(pricing.label)


def _print_quote(result: Quote, *, lot_kg: float, target_margin: float) -> None:
    from batteryloop.recycling.report import quote_statements

    terms = Table(title=f"Market terms applied ({result.region}, {result.market} market)")
    terms.add_column("row")
    terms.add_column("share", justify="right")
    for element in ("Ni", "Co", "Cu", "Li"):
        terms.add_column(f"{element} payable", justify="right")
    terms.add_column("gate fee USD/t", justify="right")
    for applied in result.terms:
        terms.add_row(
            applied.row.split(".", 2)[2],
            f"{applied.mass_share:.0%}",
            *(f"{applied.payables[e]:.0%}" for e in ("Ni", "Co", "Cu", "Li")),
            f"{applied.gate_fee_usd_per_t:,.0f}",
        )
    console.print(terms)
    for applied in result.terms:
        cited = "; ".join(f"{k} {v}" for k, v in applied.sources.items())
        console.print(f"  {applied.row}: {cited}")
    table = Table(
        title=f"Quote: {lot_kg:,.0f} kg, {result.region} ({result.market} market), route {result.route}"
    )
    table.add_column("item")
    table.add_column("USD", justify="right")
    table.add_column("USD/t", justify="right")
    lot_t = result.lot_t

    def row(label: str, value: float) -> None:
        table.add_row(label, f"{value:,.0f}", f"{value / lot_t:,.0f}")

    for element, value in result.contained_value_usd.items():
        price = result.reference_prices_usd_per_kg.get(element, 0.0)
        row(f"contained {element} ({result.contained_kg[element]:,.1f} kg at {price:,.2f} USD/kg)", value)
    row("[bold]contained value[/bold]", result.contained_value_total_usd)
    for product, value in result.recoverable_value_usd.items():
        grade = result.product_grades.get(product)
        row(f"recoverable: {product}" + (f" ({grade})" if grade else ""), value)
    row("[bold]recoverable value[/bold]", result.recoverable_value_total_usd)
    row("market payables", result.market_payable_value_usd)
    row("market gate fees (charged to the owner)", -result.market_gate_fee_usd)
    row("deduction: processing cost", -result.processing_cost_usd)
    row(f"deduction: margin ({target_margin:.0%} of revenue)", -target_margin * result.revenue_usd)
    console.print(table)
    for line in quote_statements(result):
        console.print(line)
    if result.pricing is not None:
        console.print(result.pricing.label)


# ---------------------------------------------------------------------------------------------- intake


@recycle_app.command("intake")
def intake_command(
    org: Annotated[str, typer.Option("--org", help="The recycler's organisation id in the ledger")],
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Ledger URL (default: $BATTERYLOOP_DATABASE_URL or sqlite:///./batteryloop.db)"
        ),
    ] = None,
    route: Annotated[str, typer.Option("--route", help="Route to run on the intake")] = "hydro",
    product_level: Annotated[
        str | None, typer.Option("--level", help="Product level (default: the route's first)")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region of the plant (default: the recycler's country)")
    ] = None,
    params_set: Annotated[
        str, typer.Option("--params", help="Parameter set name or directory")
    ] = "everbatt2023",
    override: Annotated[
        list[Path] | None, typer.Option("--override", help="TOML/YAML override file(s)")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Received on or after this date (YYYY-MM-DD)")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Received before this date (YYYY-MM-DD)")
    ] = None,
    throughput_t: Annotated[
        float | None,
        typer.Option(
            "--throughput-t",
            help="Size the plant for this many t/yr of this mix (default: the intake per year)",
        ),
    ] = None,
    hours: Annotated[float | None, typer.Option("--hours", help="Operating hours per year")] = None,
    lithium_product: Annotated[str, typer.Option("--lithium", help="Li2CO3 or LiOH")] = "Li2CO3",
    soc: Annotated[
        float, typer.Option("--soc", help="State of charge on arrival, % (the ledger does not record it)")
    ] = 0.0,
    deck: DeckOpt = None,
    as_json: JsonOpt = False,
    csv_out: CsvOpt = None,
    xlsx_out: XlsxOpt = None,
    out_dir: OutOpt = None,
    chart_format: ChartFormatOpt = "both",
) -> None:
    """A recycler's real intake from the ledger (t by chemistry and form), then flowsheet, economics, carbon."""
    from batteryloop.config import Settings
    from batteryloop.ledger import Ledger
    from batteryloop.recycling import report, service

    try:
        formats = _chart_formats(chart_format)
        params = load_parameter_set(params_set, overrides=override or [])
        request = service.IntakeRequest(
            recycler_id=org,
            params=params,
            route=route,
            product_level=product_level,
            region=region,
            since=_date(since, "--since"),
            until=_date(until, "--until"),
            throughput_t_per_yr=throughput_t,
            operating_hours_per_yr=hours,
            lithium_product=lithium_product,
            state_of_charge_pct=soc,
            deck=deck,
        )
        settings = Settings.from_env(database_url=db)
        if settings.sqlite_path is not None and not settings.sqlite_path.is_file():
            raise NotFoundError(
                f"no ledger at {settings.database_url} (file {settings.sqlite_path} does not exist)"
            )
        ledger = Ledger.open(settings.database_url, create=False, settings=settings.ledger)
        try:
            result = service.intake_economics(ledger, request)
        finally:
            ledger.close()
    except service.RegionRequiredError as exc:
        raise _fail(f"{exc.reason}; pass --region (one of {', '.join(exc.regions)})") from None
    except BatteryloopError as exc:
        raise _fail(exc) from None
    run = result.run
    if as_json:
        for warning in run.economics.warnings:
            err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
        _print_json(report.intake_to_dict(result))
    else:
        _print_intake(result)
        _print_flowsheet(run.scenario, run.flowsheet)
        _print_carbon(run.carbon)
        _print_economics(run.economics)
        console.print(closure_line(run.flowsheet))
        _print_pricing(run.pricing)
    _warn(run.warnings)
    _notice_unverified(result.unverified, data_on_stdout=as_json)
    try:
        _write_run_outputs(
            stem=f"intake-{org}",
            economics=run.economics,
            flowsheet=run.flowsheet,
            csv_out=csv_out,
            xlsx_out=xlsx_out,
            out_dir=out_dir,
            formats=formats,
            extra_csv={"units": report.intake_csv(result.records)},
            unverified=result.unverified,
            pricing=run.pricing,
        )
    except OSError as exc:
        raise _fail(exc) from None


def _mass(records: Sequence[IntakeRecord]) -> float:
    return sum(r.mass_kg for r in records)


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def _print_intake(result: service.IntakeEconomics) -> None:
    records = result.records
    start, end = result.request.since, result.request.until
    first = min(r.received_at for r in records).date()
    last = max(r.received_at for r in records).date()
    window = f"{start or first} .. {end or last}"
    table = Table(
        title=f"Intake of {result.recycler_id} ({window}): {len(records):,} top-level units, "
        f"{_mass(records) / 1000:,.2f} t ({result.intake_t_per_yr:,.2f} t/yr)"
    )
    for column in ("chemistry", "form", "units", "tonnes", "share", "MWh"):
        table.add_column(column, justify="left" if column in ("chemistry", "form") else "right")
    total = _mass(records) / 1000.0
    for g in result.groups:
        table.add_row(
            g.chemistry,
            g.form,
            f"{g.units:,}",
            f"{g.mass_t:,.3f}",
            f"{g.mass_t / total:.1%}",
            f"{g.energy_mwh:,.2f}",
        )
    console.print(table)
    for reason, rs in result.excluded.items():
        console.print(
            f"[yellow]not modelled:[/yellow] {len(rs)} units, {_mass(rs) / 1000:,.3f} t ({reason}); "
            "the line below runs on the rest"
        )
