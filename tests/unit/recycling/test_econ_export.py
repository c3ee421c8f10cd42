"""CSV and XLSX exports round-trip the numbers."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from batteryloop.recycling.core.compare import compare_markets
from batteryloop.recycling.core.economics import build_model, result_from_model
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.pricing import quote
from batteryloop.recycling.core.uncertainty import monte_carlo, sensitivity
from batteryloop.recycling.report.export import comparison_to_csv, quote_to_csv, result_to_csv, to_xlsx


@pytest.fixture(scope="module")
def params():
    return load_parameter_set()


@pytest.fixture(scope="module")
def result(econ, params):
    model = build_model(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="CN", params=params)
    return result_from_model(model, econ.hydro_flowsheet())


def test_result_csv_holds_the_breakdown(result):
    rows = list(csv.DictReader(io.StringIO(result_to_csv(result))))
    margin = next(r for r in rows if r["section"] == "margin")
    assert float(margin["value"]) == pytest.approx(result.margin_usd_per_t)
    feed = next(r for r in rows if r["section"] == "cost" and r["item"] == "feedstock")
    assert float(feed["value"]) == pytest.approx(-result.cost_usd_per_t["feedstock"])
    assert sum(1 for r in rows if r["section"] == "cash_flow") == 11


def test_comparison_and_quote_csv(econ, params):
    cmp = compare_markets(
        econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), params=params, regions=["CN", "ES"]
    )
    rows = list(csv.DictReader(io.StringIO(comparison_to_csv(cmp))))
    assert [r["region"] for r in rows] == ["CN", "ES"]
    q = quote(
        econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), lot_mass_kg=2000.0, region="CN", params=params
    )
    qrows = {r["item"]: r["value"] for r in csv.DictReader(io.StringIO(quote_to_csv(q)))}
    assert float(qrows["contained_value_usd.Ni"]) == pytest.approx(2 * 150 * 16.85)


def test_xlsx_has_a_sheet_per_part(econ, params, result):
    model = build_model(econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="CN", params=params)
    data = to_xlsx(
        result=result,
        flowsheet=econ.hydro_flowsheet(),
        sensitivity=sensitivity(model, max_params=5),
        monte_carlo=monte_carlo(model, draws=500, seed=2),
    )
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == [
        "Summary",
        "Breakdown",
        "Capital",
        "Cash flows",
        "Sources",
        "Mass balance",
        "Products",
        "Recovery",
        "Sensitivity",
        "Monte Carlo",
    ]
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["margin"] == pytest.approx(result.margin_usd_per_t)
    assert wb["Sensitivity"].max_row == 6
    sources = {row[0]: row[1] for row in wb["Sources"].iter_rows(min_row=2, values_only=True)}
    assert "EB23xl" in sources["prices.Li2CO3"]
