"""The recycling pages on a tiny FastAPI app: the form, results with inline SVG, the quote page, downloads."""

from __future__ import annotations

import io
import warnings

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from batteryloop.recycling.pages import router
from batteryloop.web import problems

with warnings.catch_warnings():  # starlette asks for httpx2 instead of httpx; the client works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PAGE_ARGS = {"mix": "NMC811:0.7, LFP:0.3", "route": "hydro", "region": "ES", "draws": 500}


@pytest.fixture(scope="module")
def client():
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    return TestClient(app)


def test_pages_render_charts_inline(client):
    form = client.get("/recycling")
    assert form.status_code == 200
    assert 'action="/recycling/results"' in form.text
    page = client.get("/recycling/results", params=PAGE_ARGS)
    assert page.status_code == 200
    assert page.text.count("<svg") == 7  # waterfall, sankey, tornado, margin and NPV bands, markets, routes
    assert "The same line in other markets" in page.text
    assert "<td>hydro/precursor</td>" in page.text
    assert "lfp_selective/salts" not in page.text  # a mixed feed cannot take the LFP-only route
    assert "Probability of loss" in page.text
    assert "Gate-to-gate" in page.text
    assert "/recycling/export/waterfall.png?" in page.text


def test_page_shows_errors_in_the_form(client):
    page = client.get("/recycling/results", params={**PAGE_ARGS, "mix": "NMC811 0.7"})
    assert page.status_code == 422
    assert "must look like CHEMISTRY:SHARE" in page.text


def test_exports(client):
    png = client.get("/recycling/export/sankey.png", params=PAGE_ARGS)
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = client.get("/recycling/export/tornado.svg", params=PAGE_ARGS)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    csv_text = client.get("/recycling/export/result.csv", params=PAGE_ARGS).text
    assert csv_text.startswith("section,item,value,unit")
    assert "\nunverified,emission_factors.grid.ES,not checked against a primary source," in csv_text
    xlsx = client.get("/recycling/export/result.xlsx", params=PAGE_ARGS)
    assert "Summary" in load_workbook(io.BytesIO(xlsx.content)).sheetnames
    assert "Unverified" in load_workbook(io.BytesIO(xlsx.content)).sheetnames
    assert client.get("/recycling/export/result.gif", params=PAGE_ARGS).status_code == 422
    markets = client.get("/recycling/export/markets.csv", params=PAGE_ARGS).text.splitlines()
    assert len(markets) == 7  # header + six regions
    routes = client.get("/recycling/export/routes.xlsx", params=PAGE_ARGS)
    assert "Comparison" in load_workbook(io.BytesIO(routes.content)).sheetnames


def test_quote_page_lists_routes_and_skips(client):
    page = client.get("/recycling/quote", params={**PAGE_ARGS, "lot_mass_kg": 5000, "target_margin": 0.1})
    assert page.status_code == 200
    assert "Total contained metal value" in page.text
    assert "hydro/salts" in page.text
    assert "direct" in page.text  # listed among the routes that cannot take a mixed feed
    bad = client.get("/recycling/quote", params={**PAGE_ARGS, "region": "XX"})
    assert bad.status_code == 422
    assert "unknown region" in bad.text


def test_results_and_quote_pages_name_the_unverified_values_they_used(client):
    page = client.get("/recycling/results", params=PAGE_ARGS)
    assert page.status_code == 200
    notice = page.text.split('<section class="unverified"', 1)[1].split("</section>", 1)[0]
    assert "Unverified values" in notice
    assert "<li><code>emission_factors.grid.ES</code></li>" in notice  # the Spanish grid factor, recalled
    assert "<li><code>regions.DE.labour_usd_per_h</code></li>" in notice  # read by the markets table
    count = notice.count("<li>")
    assert f"These figures rest on {count} value(s) not yet checked against a primary source:" in notice
    quote = client.get("/recycling/quote", params={**PAGE_ARGS, "lot_mass_kg": 5000})
    assert "<li><code>regions.ES.labour_usd_per_h</code></li>" in quote.text
    chinese = client.get("/recycling/quote", params={**PAGE_ARGS, "lot_mass_kg": 5000, "lang": "zh_Hans"})
    assert "未核实的数值" in chinese.text


def test_solve_page_answers_in_both_languages_and_shows_bad_input(client):
    from batteryloop.recycling import service
    from batteryloop.recycling.schemas import ScenarioForm

    form = client.get("/recycling/solve")
    assert form.status_code == 200 and 'name="lever"' in form.text
    args = {**PAGE_ARGS, "lever": "gate_fee", "target": "margin"}
    page = client.get("/recycling/solve", params=args)
    assert page.status_code == 200, page.text
    expected = service.solve(ScenarioForm(**PAGE_ARGS).to_input(), lever="gate_fee").result
    assert f"{expected.value:,.4f}" in page.text
    zh = client.get("/recycling/solve", params={**args, "lang": "zh_Hans"})
    assert "达到目标的取值" in zh.text
    bad = client.get("/recycling/solve", params={**PAGE_ARGS, "lever": "gate_fee", "low": 1e6, "high": 2e6})
    assert bad.status_code == 422 and "no gate_fee between" in bad.text
    results = client.get("/recycling/results", params={**PAGE_ARGS, "lang": "en"})
    assert "NPV P10 / P50 / P90" in results.text and "/recycling/solve?" in results.text
    assert "NPV over 500 draws" in results.text  # the NPV band chart, inline
    svg = client.get("/recycling/export/npv_histogram.svg", params=PAGE_ARGS)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")


def test_a_tiny_plant_warns_on_the_results_page(client):
    page = client.get(
        "/recycling/results", params={**PAGE_ARGS, "annual_mass_t": 3, "draws": 100, "lang": "en"}
    )
    assert page.status_code == 200
    assert "minimum economic scale" in page.text


def test_quote_page_takes_region_route_and_deck_and_says_who_pays(client):
    args = {"mix": "LFP:1", "form": "pack", "region": "ES", "route": "lfp_selective", "annual_mass_t": 6000}
    page = client.get(
        "/recycling/quote",
        params={**args, "deck": "market2025", "only_route": True, "lot_mass_kg": 20000, "lang": "en"},
    )
    assert page.status_code == 200
    assert "Prices: deck market2025 of Nov 13, 2025 (USD)" in page.text
    assert "Market terms applied in ES" in page.text and "EB19doc (2019)" in page.text
    # 20 t at the 2,000 USD/t gate fee of market_terms.ES.lfp.battery
    assert "the recycler charges the owner 2,000 USD/t, 40,000 USD for the lot" in page.text
    assert "lfp_selective/salts" in page.text and "hydro/salts" not in page.text  # only the asked route
    assert "market_terms.ES.lfp.battery.gate_fee_usd_per_t (2019)" in page.text  # the date warning
    zh = client.get("/recycling/quote", params={**args, "deck": "market2025", "lang": "zh_Hans"})
    assert "按此条款回收商向电池所有者收费" in zh.text
    bad = client.get("/recycling/quote", params={**args, "deck": "nope", "lang": "en"})
    assert bad.status_code == 422 and "unknown price deck" in bad.text
