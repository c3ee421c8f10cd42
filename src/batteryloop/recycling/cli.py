"""Recycling commands: `recycle run|compare`, `params show|diff` and `quote` (Typer + Rich).

The lead mounts them on the main app::

    app.add_typer(recycle_app, name="recycle")
    app.add_typer(params_app, name="params")
    app.command("quote")(quote_command)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from batteryloop.domain.errors import BatteryloopError, ValidationError
from batteryloop.recycling.carbon import CarbonResult, carbon_footprint
from batteryloop.recycling.flowsheet import run_flowsheet
from batteryloop.recycling.flowsheet_types import FlowsheetResult
from batteryloop.recycling.params import Param, available_parameter_sets, load_parameter_set
from batteryloop.recycling.scenario import Scenario, load_scenario

recycle_app = typer.Typer(
    help="Recycling line: flowsheet, mass balance, economics, carbon.", no_args_is_help=True
)
params_app = typer.Typer(help="Cited parameter sets for the recycling model.", no_args_is_help=True)

console = Console()
err = Console(stderr=True)

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario TOML file", exists=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")]


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=2)


# ------------------------------------------------------------------------------------------------- run


@recycle_app.command("run")
def run_command(
    scenario_file: ScenarioArg,
    as_json: JsonOpt = False,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write the economics result as CSV")] = None,
    xlsx_out: Annotated[
        Path | None, typer.Option("--xlsx", help="Write a workbook (summary, balance, ...)")
    ] = None,
) -> None:
    """Run a scenario: mass balance, recoveries, carbon and plant economics."""
    try:
        scenario = load_scenario(scenario_file)
        flowsheet = _flowsheet(scenario)
        carbon = carbon_footprint(flowsheet, params=scenario.params, region=scenario.region)
        economics = _economics(scenario, flowsheet)
    except (BatteryloopError, ValueError) as exc:
        raise _fail(exc) from None
    if scenario.market is not None and scenario.market != economics.market:
        err.print(
            f"[yellow]warning:[/yellow] the scenario expects a {scenario.market} market but the terms of region "
            f"{scenario.region} make it a {economics.market} market (override regions.{scenario.region}.* to change)"
        )
    if as_json:
        payload: dict[str, Any] = {
            "scenario": scenario.name,
            "flowsheet": flowsheet_to_dict(flowsheet),
            "carbon": carbon.to_dict(),
            "economics": economics.to_dict(),
        }
        console.print_json(json.dumps(payload, default=str))
    else:
        _print_flowsheet(scenario, flowsheet)
        _print_carbon(carbon)
        _print_economics(economics)
    from batteryloop.recycling import export

    if csv_out is not None:
        csv_out.write_text(export.result_to_csv(economics), encoding="utf-8")
        err.print(f"wrote {csv_out}")
    if xlsx_out is not None:
        xlsx_out.write_bytes(export.to_xlsx(result=economics, flowsheet=flowsheet))
        err.print(f"wrote {xlsx_out}")


def _flowsheet(scenario: Scenario) -> FlowsheetResult:
    return run_flowsheet(
        scenario.feedstock,
        route=scenario.route,
        product_level=scenario.product_level,
        params=scenario.params,
        lithium_product=scenario.lithium_product,
    )


def _economics(scenario: Scenario, flowsheet: FlowsheetResult) -> Any:
    from batteryloop.recycling.economics import run_economics

    return run_economics(
        flowsheet,
        feedstock=scenario.feedstock,
        region=scenario.region,
        params=scenario.params,
        annual_feed_t=scenario.throughput_t_per_yr,
        operating_hours_per_yr=scenario.operating_hours_per_yr,
    )


def flowsheet_to_dict(result: FlowsheetResult) -> dict[str, Any]:
    """A JSON-ready view of a flowsheet result."""
    return {
        "route": result.route,
        "product_level": result.product_level,
        "params_set": result.params_set,
        "feed_mass_kg": result.feed_mass_kg,
        "feed_energy_kwh": result.feed_energy_kwh,
        "feed_elements_kg": dict(result.feed_elements_kg),
        "products_kg": dict(result.products_kg),
        "product_elements_kg": {k: dict(v) for k, v in result.product_elements_kg.items()},
        "element_recovery": dict(result.element_recovery),
        "consumables": dict(result.consumables),
        "process_emissions_kg_co2e": result.process_emissions_kg_co2e,
        "max_closure_error": result.max_closure_error,
        "operations": [
            {
                "name": op.name,
                "inputs_kg": dict(op.inputs_kg),
                "products_kg": dict(op.products_kg),
                "losses_kg": dict(op.losses_kg),
                "emissions_kg": dict(op.emissions_kg),
                "closure_error": op.closure_error,
            }
            for op in result.operations
        ],
        "notes": list(result.notes),
    }


def _print_flowsheet(scenario: Scenario, result: FlowsheetResult) -> None:
    mix = ", ".join(f"{c.mass_share:.0%} {c.chemistry} {c.form}" for c in scenario.feedstock.components)
    console.print(
        f"[bold]{scenario.name}[/bold]: {mix} -> route [cyan]{result.route}[/cyan] / {result.product_level}, "
        f"region {scenario.region}, {scenario.throughput_t_per_yr:,.0f} t/yr, params {result.params_set}"
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


def _print_economics(result: Any) -> None:
    table = Table(title=f"Plant economics: {result.region}, {result.market} market (USD per t feed)")
    table.add_column("kind")
    table.add_column("item")
    table.add_column("USD/t", justify="right")
    for kind, item, value in result.breakdown_rows():
        table.add_row(kind, item, f"{value:,.0f}")
    console.print(table)
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
) -> None:
    """Compare the scenario's line across regions, routes, or LFP shares of the feed."""
    from batteryloop.recycling import compare

    chosen = [x for x in (regions, routes, lfp_shares) if x]
    try:
        if len(chosen) != 1:
            raise ValidationError("give exactly one of --regions, --routes, --lfp-shares")
        scenario = load_scenario(scenario_file)
        if regions:
            flowsheet = _flowsheet(scenario)
            result = compare.compare_markets(
                flowsheet,
                feedstock=scenario.feedstock,
                params=scenario.params,
                regions=_split(regions),
                annual_feed_t=scenario.throughput_t_per_yr,
            )
        elif routes:
            pairs: list[str | tuple[str, str | None]] = []
            for item in _split(routes):
                route, _, level = item.partition("/")
                pairs.append((route, level or None))
            result = compare.compare_routes(
                scenario.feedstock,
                routes=pairs,
                region=scenario.region,
                params=scenario.params,
                annual_feed_t=scenario.throughput_t_per_yr,
            )
        else:
            shares = [_float(x, "--lfp-shares") for x in _split(lfp_shares or "")]
            others = [c.chemistry for c in scenario.feedstock.components if c.chemistry != "LFP"]
            forms = [c.form for c in scenario.feedstock.components]
            mixes = compare.lfp_share_mixes(
                shares,
                other_chemistry=others[0] if others else "NMC811",
                form=forms[0],
                annual_mass_t=scenario.throughput_t_per_yr,
            )
            result = compare.compare_mixes(
                mixes,
                route=scenario.route,
                product_level=scenario.product_level,
                region=scenario.region,
                params=scenario.params,
            )
    except (BatteryloopError, ValueError) as exc:
        raise _fail(exc) from None
    rows = result.rows()
    if as_json:
        console.print_json(json.dumps(result.to_dict(), default=str))
        return
    table = Table(title=f"Comparison by {result.dimension}")
    columns = [
        result.dimension,
        "market",
        "revenue_usd_per_t",
        "cost_usd_per_t",
        "margin_usd_per_t",
        "npv_usd",
        "irr",
        "recovery_Li",
        "recovery_Ni",
        "recovery_Co",
    ]
    for column in columns:
        table.add_column(column, justify="left" if column in (result.dimension, "market") else "right")
    for row in rows:
        table.add_row(*(_fmt(row.get(c), percent=c == "irr" or c.startswith("recovery_")) for c in columns))
    console.print(table)
    label, _ = result.best()
    console.print(f"highest NPV: [bold]{label}[/bold]")


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


# ----------------------------------------------------------------------------------------------- quote


def quote_command(
    scenario_file: ScenarioArg,
    lot_kg: Annotated[float, typer.Option("--lot-kg", help="Mass of the lot in kg")] = 20_000.0,
    target_margin: Annotated[
        float, typer.Option("--target-margin", help="Margin as a share of revenue")
    ] = 0.1,
    as_json: JsonOpt = False,
) -> None:
    """Quote a lot: contained and recoverable value, and the price to pay or the fee to charge."""
    from batteryloop.recycling.pricing import quote

    try:
        scenario = load_scenario(scenario_file)
        flowsheet = _flowsheet(scenario)
        result = quote(
            flowsheet,
            feedstock=scenario.feedstock,
            lot_mass_kg=lot_kg,
            region=scenario.region,
            params=scenario.params,
            target_margin=target_margin,
            annual_feed_t=scenario.throughput_t_per_yr,
        )
    except (BatteryloopError, ValueError) as exc:
        raise _fail(exc) from None
    if as_json:
        console.print_json(json.dumps(result.to_dict(), default=str))
        return
    table = Table(
        title=f"Quote: {lot_kg:,.0f} kg, {result.region} ({result.market} market), route {result.route}"
    )
    table.add_column("item")
    table.add_column("USD", justify="right")
    for element, value in result.contained_value_usd.items():
        table.add_row(f"contained {element} ({result.contained_kg[element]:,.1f} kg)", f"{value:,.0f}")
    table.add_row("[bold]contained value[/bold]", f"{result.contained_value_total_usd:,.0f}")
    for product, value in result.recoverable_value_usd.items():
        table.add_row(f"recoverable: {product}", f"{value:,.0f}")
    table.add_row("[bold]recoverable value[/bold]", f"{result.recoverable_value_total_usd:,.0f}")
    table.add_row("market payables would pay", f"{result.market_payable_value_usd:,.0f}")
    table.add_row("processing cost", f"{result.processing_cost_usd:,.0f}")
    if result.price_usd > 0:
        table.add_row(
            f"[bold green]price the recycler can pay[/bold green] (margin {target_margin:.0%})",
            f"{result.price_usd:,.0f}",
        )
    else:
        table.add_row(
            f"[bold red]fee the recycler must charge[/bold red] (margin {target_margin:.0%})",
            f"{result.fee_usd:,.0f}",
        )
    console.print(table)


# ---------------------------------------------------------------------------------------------- params


@params_app.command("show")
def params_show(
    name: Annotated[str, typer.Argument(help="Set name or directory")] = "everbatt2023",
    prefix: Annotated[str, typer.Option("--prefix", help="Only paths under this prefix, e.g. prices")] = "",
    override: Annotated[
        list[Path] | None, typer.Option("--override", help="TOML/YAML override file(s)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a parameter set with units, sources and years."""
    try:
        pset = load_parameter_set(name, overrides=override or [])
    except (BatteryloopError, ValueError) as exc:
        raise _fail(exc) from None
    items = list(pset.items(prefix))
    if as_json:
        console.print_json(json.dumps({path: p.as_dict() for path, p in items}))
        return
    table = Table(
        title=f"{pset.name}: {pset.description} ({len(items)} values; lineage {' > '.join(pset.lineage)})"
    )
    for column in ("path", "value", "unit", "source", "year"):
        table.add_column(column, justify="right" if column in ("value", "year") else "left", overflow="fold")
    for path, param in items:
        table.add_row(
            path, _num(param), param.unit, param.source, "" if param.year is None else str(param.year)
        )
    console.print(table)


@params_app.command("diff")
def params_diff(
    left: Annotated[str, typer.Argument(help="First set")],
    right: Annotated[str, typer.Argument(help="Second set")],
    prefix: Annotated[str, typer.Option("--prefix", help="Only paths under this prefix")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Print the values that differ between two sets, with both sources."""
    try:
        a, b = load_parameter_set(left), load_parameter_set(right)
    except (BatteryloopError, ValueError) as exc:
        raise _fail(exc) from None
    head = f"{prefix.rstrip('.')}." if prefix else ""
    diffs = [d for d in a.diff(b) if d.path.startswith(head)]
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "path": d.path,
                        left: None if d.left is None else d.left.as_dict(),
                        right: None if d.right is None else d.right.as_dict(),
                    }
                    for d in diffs
                ]
            )
        )
        return
    table = Table(title=f"{left} vs {right}: {len(diffs)} differences")
    for column in ("path", left, f"{left} source", right, f"{right} source"):
        table.add_column(column, overflow="fold")
    for d in diffs:
        table.add_row(d.path, _num(d.left), _src(d.left), _num(d.right), _src(d.right))
    console.print(table)


@params_app.command("list")
def params_list() -> None:
    """List the packaged parameter sets."""
    for name in available_parameter_sets():
        pset = load_parameter_set(name)
        console.print(f"{name}: {pset.description} ({len(pset)} values)")


def _num(param: Param | None) -> str:
    return "-" if param is None else f"{param.value:g}"


def _src(param: Param | None) -> str:
    if param is None:
        return "(absent)"
    return f"{param.unit}; {param.source}" + (f" ({param.year})" if param.year else "")
