"""One parity test per use case: the Python service, the CLI's --json and the HTTP API give the same numbers."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi import FastAPI
from typer.testing import CliRunner

from batteryloop.ledger import Ledger
from batteryloop.recycling import report, service
from batteryloop.recycling.cli import quote_command, recycle_app
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.scenario import load_scenario
from batteryloop.recycling.endpoints import router
from batteryloop.web import problems

with warnings.catch_warnings():  # starlette asks for httpx2 instead of httpx; the client works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

cli = typer.Typer()
cli.add_typer(recycle_app, name="recycle")
cli.command("quote")(quote_command)
runner = CliRunner()

SCENARIO_TOML = """
name = "parity"
route = "hydro"
product_level = "salts"
region = "ES"
throughput_t_per_yr = 12000
operating_hours_per_yr = 6400

[[feedstock]]
form = "pack"
chemistry = "NMC622"
mass_share = 0.6
state_of_charge_pct = 20

[[feedstock]]
form = "module"
chemistry = "LFP"
mass_share = 0.4
"""
SCENARIO_JSON: dict[str, Any] = {
    "name": "parity",
    "route": "hydro",
    "product_level": "salts",
    "region": "ES",
    "annual_mass_t": 12000,
    "operating_hours_per_yr": 6400,
    "components": [
        {"form": "pack", "chemistry": "NMC622", "mass_share": 0.6, "state_of_charge_pct": 20},
        {"form": "module", "chemistry": "LFP", "mass_share": 0.4},
    ],
}
RECYCLER = "de-kreislauf-recycling"


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "parity.toml"
    path.write_text(SCENARIO_TOML, encoding="utf-8")
    return path


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    app.state.ledger = ledger
    with TestClient(app) as test_client:
        yield test_client


def as_json(payload: dict[str, Any]) -> Any:
    """What a rendering becomes on the wire."""
    return json.loads(json.dumps(payload, default=str))


def cli_json(*args: str) -> Any:
    """The JSON on stdout; the notice naming the unverified values it used must be on stderr."""
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    if payload["unverified"]:
        assert "not checked against a primary source" in result.stderr
        assert payload["unverified"][0] in result.stderr
    else:
        assert "not checked against a primary source" not in result.stderr
    return payload


def http_json(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_run_scenario_parity(scenario_file: Path, client: TestClient) -> None:
    python = as_json(report.run_to_dict(service.run_scenario(load_scenario(scenario_file))))
    assert python["economics"]["region"] == "ES"
    assert python["carbon"]["net_kg_co2e_per_t"] is not None
    assert (
        "emission_factors.grid.ES" in python["unverified"]
    )  # the Spanish grid factor is recalled, unchecked
    assert python["unverified"] == sorted(python["unverified"])
    assert cli_json("recycle", "run", str(scenario_file), "--json") == python
    assert http_json(client.post("/recycling/run", json=SCENARIO_JSON)) == python


def test_compare_parity(scenario_file: Path, client: TestClient) -> None:
    for by, cli_args, body in (
        ("region", ["--regions", "CN,DE,US"], {"regions": ["CN", "DE", "US"]}),
        ("route", ["--routes", "hydro,pyro/alloy"], {"routes": ["hydro", "pyro/alloy"]}),
        ("lfp_share", ["--lfp-shares", "0.2,0.9"], {"lfp_shares": [0.2, 0.9]}),
    ):
        options: dict[str, Any] = {
            "regions": body.get("regions"),
            "routes": [("hydro", None), ("pyro", "alloy")] if by == "route" else None,
            "lfp_shares": body.get("lfp_shares"),
        }
        comparison = service.compare(load_scenario(scenario_file), by=by, **options)
        python = as_json(report.comparison_to_dict(comparison))
        assert len(python["rows"]) in (2, 3)
        assert python["unverified"], by  # every line here rests on some recalled, unchecked value
        assert cli_json("recycle", "compare", str(scenario_file), *cli_args, "--json") == python, by
        response = client.post("/recycling/compare", json={"scenario": SCENARIO_JSON, "by": by, **body})
        assert http_json(response) == python, by


def test_quote_parity(scenario_file: Path, client: TestClient) -> None:
    lot = service.quote(load_scenario(scenario_file), lot_mass_kg=7500, target_margin=0.12)
    python = as_json(report.quote_to_dict(lot))
    assert python["lot_mass_kg"] == 7500
    assert python["unverified"] == sorted(python["unverified"])
    assert (
        cli_json("quote", str(scenario_file), "--lot-kg", "7500", "--target-margin", "0.12", "--json")
        == python
    )
    body = {"scenario": SCENARIO_JSON, "lot_mass_kg": 7500, "target_margin": 0.12}
    assert http_json(client.post("/recycling/quote", json=body)) == python


def test_simulate_parity(scenario_file: Path, client: TestClient) -> None:
    simulation = service.simulate(load_scenario(scenario_file), draws=3000, seed=21)
    python = as_json(report.simulation_to_dict(simulation))
    assert python["draws"] == 3000
    assert python["unverified"] == sorted(python["unverified"]) != []
    assert len(python["tornado"]) == report.TORNADO_BARS
    run = cli_json(
        "recycle", "run", str(scenario_file), "--mc", "3000", "--seed", "21", "--tornado", "--json"
    )
    assert run["monte_carlo"] == {key: python[key] for key in run["monte_carlo"]}
    assert run["tornado"] == python["tornado"]
    assert set(python["unverified"]) <= set(run["unverified"])
    response = client.post(
        "/recycling/montecarlo", json={"scenario": SCENARIO_JSON, "draws": 3000, "seed": 21}
    )
    assert http_json(response) == python


def test_intake_economics_parity(ledger: Ledger, ledger_url: str, client: TestClient) -> None:
    request = service.IntakeRequest(
        recycler_id=RECYCLER,
        params=load_parameter_set("everbatt2023"),
        route="pyro",
        throughput_t_per_yr=5000,
    )
    python = as_json(report.intake_to_dict(service.intake_economics(ledger, request)))
    assert python["org"] == RECYCLER
    assert python["units"] > 0
    assert python["unverified"] == sorted(python["unverified"])
    args = [
        "recycle",
        "intake",
        "--org",
        RECYCLER,
        "--db",
        ledger_url,
        "--route",
        "pyro",
        "--throughput-t",
        "5000",
    ]
    assert cli_json(*args, "--json") == python
    key = ledger.issue_api_key(RECYCLER)
    response = client.get(
        "/recycling/intake", params={"route": "pyro", "throughput_t": 5000}, headers={"X-API-Key": key}
    )
    assert http_json(response) == python
