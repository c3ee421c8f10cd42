"""Exports of recycling results: CSV text and XLSX workbooks (openpyxl), built in memory.

A result's ``unverified`` paths travel with it: rows of section ``unverified`` in the result CSV, items
``unverified.<path>`` in the quote CSV, an "Unverified" sheet in a workbook.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from batteryloop.recycling.core.compare import Comparison
from batteryloop.recycling.core.decks import PricingBasis
from batteryloop.recycling.core.economics import EconomicsResult
from batteryloop.recycling.core.flowsheet_types import FlowsheetResult
from batteryloop.recycling.core.pricing import Quote
from batteryloop.recycling.core.uncertainty import MonteCarloResult, SensitivityResult


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def summary_rows(result: EconomicsResult) -> list[tuple[str, Any, str]]:
    return [
        ("region", result.region, ""),
        ("market", result.market, ""),
        ("route", result.route, ""),
        ("product_level", result.product_level, ""),
        ("annual_feed", result.annual_feed_t, "t/yr"),
        ("operating_hours", result.operating_hours_per_yr, "h/yr"),
        ("feed_rate", result.feed_t_per_h, "t/h"),
        ("total_revenue", result.total_revenue_usd_per_t, "USD/t feed"),
        ("total_cost", result.total_cost_usd_per_t, "USD/t feed"),
        ("margin", result.margin_usd_per_t, "USD/t feed"),
        ("margin_share", result.margin_share, "share of revenue"),
        ("annual_margin", result.annual_margin_usd, "USD/yr"),
        ("total_capital", result.capital_usd["total_capital_usd"], "USD"),
        ("npv", result.npv_usd, f"USD at {result.discount_rate:.0%}"),
        ("irr", result.irr, "1/yr"),
        ("payback", result.payback_yr, "yr"),
        ("max_closure_error", result.max_closure_error, "share"),
    ]


UNVERIFIED_NOTE = "not checked against a primary source"


def pricing_rows(pricing: PricingBasis | None) -> list[tuple[str, Any]]:
    """The price deck, its date and the market terms' dates of a result, and the warnings about them."""
    if pricing is None:
        return []
    data = pricing.to_dict()
    rows: list[tuple[str, Any]] = [
        (k, data[k]) for k in ("deck", "deck_title", "deck_date", "currency", "dollar_year")
    ]
    if pricing.terms_years is not None:
        rows.append(("terms_years", f"{pricing.terms_years[0]}-{pricing.terms_years[1]}"))
    rows += [("warning", w) for w in pricing.warnings]
    return rows


def result_to_csv(
    result: EconomicsResult, *, unverified: Sequence[str] = (), pricing: PricingBasis | None = None
) -> str:
    """One CSV: section, item, value, unit (summary, per-tonne breakdown, reagents, capital, equipment, recovery,
    then the unverified parameters the result rests on)."""
    rows: list[tuple[str, str, Any, str]] = [("summary", k, v, u) for k, v, u in summary_rows(result)]
    rows += [(kind, item, value, "USD/t feed") for kind, item, value in result.breakdown_rows()]
    rows += [("reagent", k, v, "USD/t feed") for k, v in result.reagents_usd_per_t.items()]
    rows += [("capital", k, v, "USD") for k, v in result.capital_usd.items()]
    rows += [("equipment", k, v, "USD") for k, v in result.equipment_usd.items()]
    rows += [("recovery", k, v, "share of feed element") for k, v in sorted(result.element_recovery.items())]
    rows += [("cash_flow", f"year {t}", v, "USD") for t, v in enumerate(result.cash_flows_usd)]
    rows += [("warning", "", w, "") for w in result.warnings]
    rows += [("pricing", k, v, "") for k, v in pricing_rows(pricing)]
    rows += [("unverified", path, UNVERIFIED_NOTE, "") for path in unverified]
    return _csv(("section", "item", "value", "unit"), rows)


def comparison_to_csv(comparison: Comparison) -> str:
    rows = comparison.rows()
    header = list(rows[0]) if rows else [comparison.dimension]
    basis = comparison.pricing
    if basis is not None:  # every row was priced at the same deck
        header += ["price_deck", "price_deck_date"]
        rows = [{**r, "price_deck": basis.deck, "price_deck_date": basis.deck_date.isoformat()} for r in rows]
    return _csv(header, ([row[k] for k in header] for row in rows))


def quote_to_csv(q: Quote, *, unverified: Sequence[str] = ()) -> str:
    rows = _quote_rows(q)
    rows += [(f"unverified.{path}", UNVERIFIED_NOTE) for path in unverified]
    return _csv(("item", "value"), rows)


def to_xlsx(
    *,
    result: EconomicsResult | None = None,
    flowsheet: FlowsheetResult | None = None,
    comparison: Comparison | None = None,
    sensitivity: SensitivityResult | None = None,
    monte_carlo: MonteCarloResult | None = None,
    quote: Quote | None = None,
    unverified: Sequence[str] = (),
    pricing: PricingBasis | None = None,
) -> bytes:
    """A workbook with one sheet per thing given (Summary, Breakdown, Capital, Mass balance, Sources, ...) and
    an "Unverified" sheet naming the unverified parameters the results rest on."""
    wb = Workbook()
    first = wb.active
    sheets_made = 0

    def sheet(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        nonlocal sheets_made
        ws = first if sheets_made == 0 and first is not None else wb.create_sheet()
        ws.title = title
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([_cell(v) for v in row])
        sheets_made += 1

    if result is not None:
        sheet("Summary", ("item", "value", "unit"), summary_rows(result))
        sheet("Breakdown", ("kind", "item", "USD per t feed"), result.breakdown_rows())
        sheet(
            "Capital",
            ("item", "USD"),
            [*result.capital_usd.items(), *((f"equipment {k}", v) for k, v in result.equipment_usd.items())],
        )
        sheet("Cash flows", ("year", "USD"), enumerate(result.cash_flows_usd))
        if result.warnings:
            sheet("Warnings", ("warning",), ((w,) for w in result.warnings))
        sheet("Sources", ("parameter", "source"), sorted(result.sources.items()))
    if flowsheet is not None:
        rows: list[tuple[Any, ...]] = []
        for op in flowsheet.operations:
            for kind, streams in (
                ("in", op.inputs_kg),
                ("product", op.products_kg),
                ("loss", op.losses_kg),
                ("emission", op.emissions_kg),
            ):
                rows += [(op.name, kind, k, v, op.closure_error) for k, v in streams.items()]
        sheet("Mass balance", ("operation", "kind", "stream", "kg per t feed", "closure error"), rows)
        sheet(
            "Products",
            ("product", "kg per t feed"),
            sorted(flowsheet.products_kg.items()),
        )
        sheet("Recovery", ("element", "share"), sorted(flowsheet.element_recovery.items()))
    if comparison is not None:
        crow = comparison.rows()
        header = list(crow[0]) if crow else [comparison.dimension]
        sheet("Comparison", header, ([r[k] for k in header] for r in crow))
    if sensitivity is not None:
        sheet(
            "Sensitivity",
            (
                "parameter",
                "unit",
                "low",
                "base",
                "high",
                "margin at low",
                "margin at high",
                "swing",
                "cited range",
            ),
            (
                (b.path, b.unit, b.low, b.base, b.high, b.margin_at_low, b.margin_at_high, b.swing, b.cited)
                for b in sensitivity.bars
            ),
        )
    if monte_carlo is not None:
        summary = monte_carlo.summary()
        flat = [(k, v) for k, v in summary.items() if not isinstance(v, dict | list)]
        flat += [(f"margin {k}", v) for k, v in monte_carlo.percentiles().items()]
        flat += [(f"NPV {k}", v) for k, v in monte_carlo.npv_percentiles().items()]
        flat += [("varied", ", ".join(r.path for r in monte_carlo.varied))]
        sheet("Monte Carlo", ("item", "value"), flat)
    if quote is not None:
        sheet("Quote", ("item", "value"), _quote_rows(quote))
    basis = pricing or (comparison.pricing if comparison is not None else None)
    basis = basis or (quote.pricing if quote is not None else None)
    if basis is not None:
        sheet("Pricing", ("item", "value"), pricing_rows(basis))
    if unverified:
        sheet("Unverified", ("parameter", "note"), ((path, UNVERIFIED_NOTE) for path in unverified))
    if sheets_made == 0 and first is not None:
        first.title = "Empty"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _quote_rows(q: Quote) -> list[tuple[str, Any]]:
    """A quote flattened to (item, value): terms row by row, then the pricing basis."""
    rows: list[tuple[str, Any]] = []
    for key, value in q.to_dict().items():
        if key in ("terms", "pricing", "warnings"):
            continue
        if isinstance(value, dict):
            rows += [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            rows.append((key, value))
    for t in q.terms:
        rows += [(f"terms.{t.row}.mass_share", t.mass_share)]
        rows += [(f"terms.{t.row}.payable.{e}", v) for e, v in t.payables.items()]
        rows += [(f"terms.{t.row}.gate_fee_usd_per_t", t.gate_fee_usd_per_t)]
        rows += [(f"terms.{t.row}.source.{k}", v) for k, v in t.sources.items()]
    rows += [(f"pricing.{k}", v) for k, v in pricing_rows(q.pricing)]
    return rows


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
