"""Charts render to valid PNG and SVG and carry the numbers they show."""

from __future__ import annotations

import re

import pytest

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core.economics import build_model, result_from_model
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.uncertainty import monte_carlo, sensitivity
from batteryloop.recycling.report import charts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def model(econ):
    return build_model(
        econ.hydro_flowsheet(), feedstock=econ.nmc_feedstock(), region="ES", params=load_parameter_set()
    )


def test_waterfall_png_and_svg(econ, model):
    result = result_from_model(model, econ.hydro_flowsheet())
    png = charts.cost_waterfall(result, fmt="png")
    assert png.startswith(PNG_MAGIC)
    svg = charts.cost_waterfall(result, fmt="svg").decode()
    assert "<svg" in svg
    assert f"margin {result.margin_usd_per_t:,.0f} USD/t" in svg


def test_sankey_states_the_balance(econ):
    svg = charts.mass_sankey(econ.hydro_flowsheet(), fmt="svg").decode()
    assert "NiSO4 300 kg" in svg
    assert "H2SO4 1,080 kg" in svg
    assert "losses 100 kg" in svg


def test_tornado_and_histogram(model):
    svg = charts.tornado(sensitivity(model), n=10).decode()
    assert "10 most influential" in svg
    mc = monte_carlo(model, draws=2000, seed=1)
    png = charts.histogram(mc, fmt="png")
    assert png.startswith(PNG_MAGIC)
    assert f"P(loss) = {mc.probability_of_loss:.1%}" in charts.histogram(mc).decode()


def test_inline_svg_has_no_xml_prolog(econ, model):
    inline = charts.svg_inline(charts.mass_sankey(econ.hydro_flowsheet()))
    assert inline.lstrip().startswith("<svg")


def test_unknown_format_is_refused(econ):
    with pytest.raises(ValidationError, match="chart format"):
        charts.mass_sankey(econ.hydro_flowsheet(), fmt="gif")


def test_sankey_of_a_real_flowsheet_balances():
    from batteryloop.recycling.core.feedstock import simple_feedstock
    from batteryloop.recycling.core.flowsheet import run_flowsheet

    params = load_parameter_set()
    feed = simple_feedstock({"NMC811": 0.7, "LFP": 0.3}, form="pack", annual_mass_t=20_000.0)
    flowsheet = run_flowsheet(feed, route="hydro", product_level="salts", params=params)
    svg = charts.mass_sankey(flowsheet).decode()
    title = re.search(r"in ([\d,]+) kg, out ([\d,]+) kg", svg)
    assert title is not None
    assert title.group(1) == title.group(2)
    assert "air, process water" in svg


def test_comparison_bars(econ):
    from batteryloop.recycling.core.compare import compare_markets

    cmp = compare_markets(
        econ.hydro_flowsheet(),
        feedstock=econ.nmc_feedstock(),
        params=load_parameter_set(),
        regions=["CN", "DE"],
    )
    svg = charts.comparison_bars(cmp).decode()
    assert "Comparison by region" in svg
    assert charts.comparison_bars(cmp, fmt="png").startswith(PNG_MAGIC)
