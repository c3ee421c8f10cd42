"""Renderings of the recycling results shared by the CLI, the JSON API and the pages.

JSON-ready dicts and CSV text live here; charts (Matplotlib) in :mod:`batteryloop.recycling.report.charts` and
workbooks and result CSVs (openpyxl) in :mod:`batteryloop.recycling.report.export`, imported only by the faces that
draw or write them. Every face renders a use case's result through the same function, so the CLI's ``--json`` and
the HTTP response of one use case carry the same numbers, and the same ``unverified`` list: the paths of the values
the result rests on that were not checked against a primary source.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from batteryloop.recycling.core.compare import Comparison
from batteryloop.recycling.core.flowsheet import MAX_CLOSURE_ERROR
from batteryloop.recycling.core.flowsheet_types import FlowsheetResult
from batteryloop.recycling.core.intake import IntakeRecord
from batteryloop.recycling.core.params import ParameterSet
from batteryloop.recycling.core.pricing import Quote, RouteQuotes
from batteryloop.recycling.core.uncertainty import SensitivityBar, SensitivityResult

if TYPE_CHECKING:
    from batteryloop.recycling.service import IntakeEconomics, LotQuote, ScenarioRun, Simulation, Solution

TORNADO_BARS = 10
HISTOGRAM_BINS = 40


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


def closure_summary(flowsheet: FlowsheetResult) -> dict[str, Any]:
    """The mass balance in numbers, per tonne of feed, and whether every unit operation closes within 0.1 %.

    Plant level: what enters from outside (feed, reagents, combustion air) = saleable products + losses +
    emissions. Streams passed from one operation to the next (intermediates) cancel out: outside inputs are the
    operations' inputs minus the operation products that are not sold.
    """
    ops = flowsheet.operations
    inputs = sum(sum(op.inputs_kg.values()) for op in ops)
    op_products = sum(sum(op.products_kg.values()) for op in ops)
    products = sum(flowsheet.products_kg.values())
    outside_in = inputs - (op_products - products)
    worst = max(ops, key=lambda op: op.closure_error, default=None)
    return {
        "operations": len(ops),
        "max_closure_error": flowsheet.max_closure_error,
        "worst_operation": None if worst is None else worst.name,
        "limit": MAX_CLOSURE_ERROR,
        "closes": flowsheet.max_closure_error <= MAX_CLOSURE_ERROR,
        "feed_kg": flowsheet.feed_mass_kg,
        "reagents_and_air_kg": outside_in - flowsheet.feed_mass_kg,
        "products_kg": products,
        "losses_kg": sum(sum(op.losses_kg.values()) for op in ops),
        "emissions_kg": sum(sum(op.emissions_kg.values()) for op in ops),
    }


def bar_to_dict(bar: SensitivityBar) -> dict[str, Any]:
    return {
        "path": bar.path,
        "unit": bar.unit,
        "low": bar.low,
        "base": bar.base,
        "high": bar.high,
        "margin_at_low": bar.margin_at_low,
        "margin_at_high": bar.margin_at_high,
        "swing": bar.swing,
        "cited_range": bar.cited,
    }


def tornado_to_list(sens: SensitivityResult, *, bars: int = TORNADO_BARS) -> list[dict[str, Any]]:
    return [bar_to_dict(b) for b in sens.top(bars)]


def run_to_dict(run: ScenarioRun) -> dict[str, Any]:
    """``recycle run --json`` and ``POST /recycling/run``: flowsheet, mass balance, carbon, economics (+ MC, tornado)."""
    payload: dict[str, Any] = {
        "scenario": run.scenario.name,
        "mass_balance": closure_summary(run.flowsheet),
        "flowsheet": flowsheet_to_dict(run.flowsheet),
        "carbon": run.carbon.to_dict(),
        "economics": run.economics.to_dict(),
        "warnings": list(run.warnings),
        "pricing": None if run.pricing is None else run.pricing.to_dict(),
    }
    mc, sens = run.simulation.monte_carlo, run.simulation.sensitivity
    payload["monte_carlo"] = None if mc is None else mc.summary()
    payload["tornado"] = None if sens is None else tornado_to_list(sens)
    payload["unverified"] = list(run.unverified)
    return payload


def simulation_to_dict(simulation: Simulation, *, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """``POST /recycling/montecarlo``: the Monte Carlo summary, a histogram of the margin and the tornado."""
    import numpy as np

    mc, sens = simulation.monte_carlo, simulation.sensitivity
    payload: dict[str, Any] = {}
    if mc is not None:
        counts, edges = np.histogram(mc.margin_usd_per_t, bins=bins)
        payload.update(mc.summary())
        payload["histogram"] = {"counts": counts.tolist(), "edges_usd_per_t": edges.tolist()}
    if sens is not None:
        payload["tornado"] = tornado_to_list(sens)
    payload["pricing"] = None if simulation.pricing is None else simulation.pricing.to_dict()
    payload["warnings"] = list(simulation.warnings)
    payload["unverified"] = list(simulation.unverified)
    return payload


def solution_to_dict(solution: Solution) -> dict[str, Any]:
    """``recycle solve --json`` and ``POST /recycling/solve``: the lever's value, the metric it reaches, the search."""
    return {
        "scenario": solution.scenario.name,
        **solution.result.to_dict(),
        "warnings": list(solution.warnings),
        "unverified": list(solution.unverified),
    }


def comparison_to_dict(comparison: Comparison) -> dict[str, Any]:
    """Rows in the order asked, and the mass balance of the worst-closing flowsheet."""
    worst = max(comparison.flowsheets, key=lambda f: f.max_closure_error)
    return {
        **comparison.to_dict(),
        "mass_balance": closure_summary(worst),
        "unverified": list(comparison.unverified),
    }


def quote_statements(quote: Quote) -> list[str]:
    """Who pays whom for the lot, in plain words: under the market terms, and at the recycler's target margin."""
    lot = f"{quote.lot_mass_kg:,.0f} kg lot"
    net, net_t = quote.market_net_usd, quote.market_net_usd / quote.lot_t
    if net > 0:
        market = f"Under the market terms of {quote.region} the recycler pays the owner {net_t:,.0f} USD/t ({net:,.0f} USD for the {lot})."
    elif net < 0:
        market = f"Under the market terms of {quote.region} the recycler charges the owner {-net_t:,.0f} USD/t ({-net:,.0f} USD for the {lot})."
    else:
        market = f"Under the market terms of {quote.region} nothing is paid either way for the {lot}."
    margin = f"{quote.target_margin:.0%}"
    if quote.fee_usd > 0:
        own = f"To earn a {margin} margin the recycler must charge at least {quote.fee_usd_per_t:,.0f} USD/t ({quote.fee_usd:,.0f} USD for the {lot})."
    else:
        own = f"At a {margin} margin the recycler can pay up to {quote.price_usd_per_t:,.0f} USD/t ({quote.price_usd:,.0f} USD for the {lot})."
    return [market, own]


def quote_to_dict(result: LotQuote) -> dict[str, Any]:
    return {
        **result.quote.to_dict(),
        "statements": quote_statements(result.quote),
        "max_closure_error": result.flowsheet.max_closure_error,
        "mass_balance": closure_summary(result.flowsheet),
        "unverified": list(result.unverified),
    }


def route_quotes_to_dict(result: RouteQuotes) -> dict[str, Any]:
    return {**result.to_dict(), "warnings": list(result.warnings), "unverified": list(result.unverified)}


def intake_to_dict(result: IntakeEconomics) -> dict[str, Any]:
    """``recycle intake --json`` and ``GET /recycling/intake``: the intake by chemistry and form, then the line."""
    run = result.run
    return {
        "org": result.recycler_id,
        "region": result.region,
        "units": len(result.records),
        "mass_t": result.mass_t,
        "intake_t_per_yr": result.intake_t_per_yr,
        "plant_t_per_yr": run.scenario.feedstock.annual_mass_t,
        "by_chemistry_form": [
            {
                "chemistry": g.chemistry,
                "form": g.form,
                "units": g.units,
                "mass_t": g.mass_t,
                "energy_mwh": g.energy_mwh,
            }
            for g in result.groups
        ],
        "excluded": {reason: [r.battery_id for r in rs] for reason, rs in result.excluded.items()},
        "feedstock": [
            {"chemistry": c.chemistry, "form": c.form, "mass_share": c.mass_share}
            for c in run.scenario.feedstock.components
        ],
        "mass_balance": closure_summary(run.flowsheet),
        "flowsheet": flowsheet_to_dict(run.flowsheet),
        "carbon": run.carbon.to_dict(),
        "economics": run.economics.to_dict(),
        "warnings": [*run.warnings, *run.economics.warnings],
        "pricing": None if run.pricing is None else run.pricing.to_dict(),
        "unverified": list(result.unverified),
    }


def parameter_set_to_dict(params: ParameterSet, *, prefix: str = "") -> dict[str, Any]:
    return {
        "name": params.name,
        "description": params.description,
        "lineage": list(params.lineage),
        "params": {path: p.as_dict() for path, p in params.items(prefix)},
    }


def balance_csv(flowsheet: FlowsheetResult) -> str:
    """The per-operation mass balance as CSV (operation, kind, stream, kg per t feed, closure error)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("operation", "kind", "stream", "kg_per_t_feed", "closure_error"))
    for op in flowsheet.operations:
        for kind, streams in (
            ("in", op.inputs_kg),
            ("product", op.products_kg),
            ("loss", op.losses_kg),
            ("emission", op.emissions_kg),
        ):
            for name, kg in streams.items():
                writer.writerow((op.name, kind, name, repr(float(kg)), repr(float(op.closure_error))))
    return buffer.getvalue()


def intake_csv(records: Sequence[IntakeRecord]) -> str:
    """One row per received unit."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        (
            "battery_id",
            "chemistry",
            "level",
            "form",
            "mass_kg",
            "rated_energy_kwh",
            "received_at",
            "from_org",
            "state",
            "soh_pct",
        )
    )
    for r in records:
        writer.writerow(
            (
                r.battery_id,
                r.chemistry,
                r.level,
                r.form,
                repr(r.mass_kg),
                repr(r.rated_energy_kwh),
                r.received_at.isoformat(),
                r.from_org or "",
                r.state,
                "" if r.soh_pct is None else repr(r.soh_pct),
            )
        )
    return buffer.getvalue()
