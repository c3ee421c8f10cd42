"""The recycling JSON API on a tiny FastAPI app: run, compare, quote, Monte Carlo, parameter sets, clear errors."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from batteryloop.ledger import Ledger
from batteryloop.recycling.endpoints import router
from batteryloop.web import problems

with warnings.catch_warnings():  # starlette asks for httpx2 instead of httpx; the client works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SCENARIO = {
    "components": [{"form": "pack", "chemistry": "NMC811", "mass_share": 1.0}],
    "annual_mass_t": 10000,
    "route": "hydro",
    "region": "CN",
}


@pytest.fixture(scope="module")
def client():
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    return TestClient(app)


def test_run_returns_flowsheet_and_economics(client):
    response = client.post("/recycling/run", json=SCENARIO)
    assert response.status_code == 200
    body = response.json()
    econ = body["economics"]
    assert econ["region"] == "CN"
    assert econ["market"] == "resource"
    assert econ["margin_usd_per_t"] == pytest.approx(
        econ["total_revenue_usd_per_t"] - econ["total_cost_usd_per_t"]
    )
    assert body["flowsheet"]["max_closure_error"] <= 0.001
    assert body["flowsheet"]["element_recovery"]["Ni"] > 0.8
    carbon = body["carbon"]
    assert carbon["region"] == "CN"
    assert carbon["net_kg_co2e_per_t"] == pytest.approx(
        carbon["gate_to_gate_kg_co2e_per_t"] - carbon["avoided_kg_co2e_per_t"]
    )


def test_overrides_change_the_answer(client):
    base = client.post("/recycling/run", json=SCENARIO).json()["economics"]
    cheap = client.post(
        "/recycling/run", json={**SCENARIO, "overrides": {"prices.reference.Ni": 10.0}}
    ).json()["economics"]
    assert cheap["revenue_usd_per_t"]["NiSO4"] == pytest.approx(
        base["revenue_usd_per_t"]["NiSO4"]
    )  # salts priced as salts
    assert (
        cheap["cost_usd_per_t"]["feedstock"] < base["cost_usd_per_t"]["feedstock"]
    )  # contained Ni is worth less


def test_compare_quote_montecarlo(client):
    cmp = client.post(
        "/recycling/compare", json={"scenario": SCENARIO, "by": "region", "regions": ["CN", "DE"]}
    )
    assert [r["region"] for r in cmp.json()["rows"]] == ["CN", "DE"]
    mixes = client.post(
        "/recycling/compare", json={"scenario": SCENARIO, "by": "lfp_share", "lfp_shares": [0.3, 0.9]}
    )
    assert len(mixes.json()["rows"]) == 2
    q = client.post(
        "/recycling/quote", json={"scenario": SCENARIO, "lot_mass_kg": 20000, "target_margin": 0.1}
    ).json()
    assert q["contained_value_total_usd"] > 0
    assert (q["price_usd"] > 0) != (q["fee_usd"] > 0) or q["price_usd"] == q["fee_usd"] == 0
    every = client.post(
        "/recycling/quote", json={"scenario": SCENARIO, "lot_mass_kg": 20000, "all_routes": True}
    ).json()
    assert len(every["quotes"]) >= 3
    mc = client.post("/recycling/montecarlo", json={"scenario": SCENARIO, "draws": 2000, "seed": 4}).json()
    assert mc["draws"] == 2000
    assert sum(mc["histogram"]["counts"]) == 2000
    assert len(mc["tornado"]) == 10


def test_params_endpoint_lists_sources(client):
    body = client.get("/recycling/params/everbatt2019", params={"prefix": "prices"}).json()
    assert body["params"]["prices.Co"]["value"] == 51.3
    assert "EB19" in body["params"]["prices.Co"]["source"]
    assert client.get("/recycling/params/nonesuch").status_code == 404
    # a request may name packaged sets only, never a directory on the server
    assert client.get("/recycling/params/%2Fetc").status_code == 404
    set_dir = "src/batteryloop/recycling/data/everbatt2023"
    assert client.post("/recycling/run", json={**SCENARIO, "params_set": set_dir}).status_code == 404


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({**SCENARIO, "region": "XX"}, 404, "unknown region 'XX'"),
        ({**SCENARIO, "components": [{"chemistry": "NMC811", "mass_share": 0.5}]}, 422, "sum"),
        ({**SCENARIO, "components": [{"chemistry": "NMC811", "mass_share": -1.0}]}, 422, "negative"),
        ({**SCENARIO, "components": [{"chemistry": "UNOBTAINIUM", "mass_share": 1.0}]}, 422, "UNOBTAINIUM"),
    ],
)
def test_bad_scenarios_get_clear_errors(client, payload, status, fragment):
    response = client.post("/recycling/run", json=payload)
    assert response.status_code == status
    assert fragment in response.json()["detail"]


@pytest.fixture
def ledger_client(ledger: Ledger) -> Iterator[TestClient]:
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    app.state.ledger = ledger
    with TestClient(app) as test_client:
        yield test_client


def test_intake_is_the_callers_own_and_needs_a_key(ledger: Ledger, ledger_client: TestClient) -> None:
    assert ledger_client.get("/recycling/intake").status_code == 401
    wrong = ledger_client.get("/recycling/intake", headers={"X-API-Key": "not-a-key"})
    assert wrong.status_code == 401
    key = ledger.issue_api_key("de-kreislauf-recycling")
    own = ledger_client.get("/recycling/intake", params={"throughput_t": 5000}, headers={"X-API-Key": key})
    assert own.status_code == 200, own.text
    body = own.json()
    assert body["org"] == "de-kreislauf-recycling"
    assert body["region"] == "DE"
    assert body["plant_t_per_yr"] == 5000
    assert sum(g["units"] for g in body["by_chemistry_form"]) == body["units"]
    assert body["mass_balance"]["closes"] is True
    assert (
        ledger_client.get(
            "/recycling/intake", params={"org": "no-fjord-recycling"}, headers={"X-API-Key": key}
        ).status_code
        == 422
    )


def test_intake_errors_are_problems(ledger: Ledger, ledger_client: TestClient) -> None:
    key = ledger.issue_api_key("no-fjord-recycling")
    norway = ledger_client.get("/recycling/intake", headers={"X-API-Key": key})
    assert norway.status_code == 422
    assert "no-fjord-recycling is in NO" in norway.json()["detail"]
    assert (
        ledger_client.get(
            "/recycling/intake", params={"region": "DE"}, headers={"X-API-Key": key}
        ).status_code
        == 200
    )
    too_early = ledger_client.get(
        "/recycling/intake", params={"region": "DE", "until": "2001-01-01"}, headers={"X-API-Key": key}
    )
    assert too_early.status_code == 422
    assert "received no" in too_early.json()["detail"]
    unknown_set = ledger_client.get(
        "/recycling/intake", params={"region": "DE", "params_set": "/etc"}, headers={"X-API-Key": key}
    )
    assert unknown_set.status_code == 404
