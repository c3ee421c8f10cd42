"""`analytics forecast` and `analytics network` through Python, the CLI and HTTP: same numbers; the ledger
forecast reads packs placed on the market through the ledger's API; errors are one line / problem+json."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from batteryloop.analytics import report, service
from batteryloop.analytics.cli import analytics_app
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import Ledger

runner = CliRunner()
EXAMPLES = Path(__file__).parents[3] / "src" / "batteryloop" / "analytics" / "examples"


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(analytics_app, name="analytics")
    return app


def as_json(payload: dict[str, Any]) -> Any:
    return json.loads(json.dumps(payload, default=str))


def test_forecast_parity(client: Any) -> None:
    options = {"first_year": 2022, "last_year": 2032, "draws": 50, "seed": 3}
    python = as_json(report.forecast_to_dict(service.forecast(None, source="defaults", **options)))
    result = runner.invoke(
        cli_app(),
        ["analytics", "forecast", "--from", "2022", "--to", "2032", "--draws", "50", "--seed", "3", "--json"],
    )
    assert result.exit_code == 0, result.output
    response = client.post("/analytics/forecast", json=options)
    assert response.status_code == 200
    assert python == json.loads(result.stdout) == response.json()
    assert python["years"][0] == 2022 and len(python["world"]["gwh"]["central"]) == 11


def test_forecast_files_and_errors(tmp_path: Path, client: Any) -> None:
    xlsx, svg = tmp_path / "f.xlsx", tmp_path / "f.svg"
    ok = runner.invoke(
        cli_app(),
        ["analytics", "forecast", "--to", "2030", "--draws", "20", "--xlsx", str(xlsx), "--chart", str(svg)],
    )
    assert ok.exit_code == 0, ok.output
    assert load_workbook(xlsx).sheetnames == ["Retirements", "Bands", "Unverified"]
    assert svg.read_text().lstrip().startswith("<svg")
    bad = runner.invoke(
        cli_app(),
        ["analytics", "forecast", "--from", "2040", "--to", "2030", "--xlsx", str(tmp_path / "no.xlsx")],
    )
    assert bad.exit_code == 2 and "error: forecast years 2040-2030" in bad.stderr
    assert not (tmp_path / "no.xlsx").exists()
    nodb = runner.invoke(
        cli_app(),
        ["analytics", "forecast", "--source", "ledger", "--db", f"sqlite:///{tmp_path / 'none.db'}"],
    )
    assert nodb.exit_code == 2 and "no database at" in nodb.stderr
    assert client.post("/analytics/forecast", json={"draws": 3}).status_code == 422
    page = client.get("/analytics/forecast", params={"first_year": 2022, "last_year": 2030})
    assert page.status_code == 200 and "<svg" in page.text
    assert client.get("/analytics/forecast/export.csv").text.startswith("stream,region,chemistry,year")


def test_ledger_forecast_through_the_ledger(ledger: Ledger, bl: Any, client: Any, tmp_path: Path) -> None:
    maker = bl.add_actor(ledger, "maker")
    events = []
    for k, country in enumerate(("DE", "CN", "US", "TH", "FR")):
        unit = bl.pack_unit(f"pack-{k}", serial=f"S{k:04d}")
        events.append(bl.ev(unit.battery_id, E.BATTERY_MANUFACTURED, unit.to_payload(), minutes=k))
        events.append(
            bl.ev(unit.battery_id, E.BATTERY_PLACED_ON_MARKET, {"country": country}, minutes=10 + k)
        )
    maker.append(*events)
    outcome = service.forecast(
        ledger, source="ledger", first_year=2025, last_year=2060, draws=20, scrap=False
    )
    assert outcome.ledger_units == 5
    assert outcome.forecast.regions == ("CN", "EU", "US", "SEA")
    total = sum(r[4] for r in outcome.forecast.rows)
    assert total == pytest.approx(5.0, rel=1e-3)
    gwh = sum(r[5] for r in outcome.forecast.rows)
    assert gwh == pytest.approx(5 * 82.0 / 1e6, rel=1e-3)
    python = as_json(report.forecast_to_dict(outcome))
    key = ledger.issue_api_key("maker")
    body = {"first_year": 2025, "last_year": 2060, "draws": 20, "scrap": False}
    assert client.post("/analytics/forecast/ledger", json=body).status_code == 401
    response = client.post("/analytics/forecast/ledger", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200
    assert response.json() == python
    db = str(ledger.engine.url)
    cli = runner.invoke(
        cli_app(),
        [
            "analytics",
            "forecast",
            "--source",
            "ledger",
            "--db",
            db,
            "--from",
            "2025",
            "--to",
            "2060",
            "--draws",
            "20",
            "--no-scrap",
            "--json",
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout) == python


def test_network_parity_and_errors(tmp_path: Path, client: Any) -> None:
    path = EXAMPLES / "network_example.toml"
    python = as_json(report.network_to_dict(service.design_network(service.read_network_file(path))))
    result = runner.invoke(cli_app(), ["analytics", "network", str(path), "--json"])
    assert result.exit_code == 0, result.output
    import tomllib

    response = client.post("/analytics/network", json={"network": tomllib.loads(path.read_text())})
    assert response.status_code == 200
    assert python == json.loads(result.stdout) == response.json()
    assert python["proven_optimal"] is True
    assert python["collected_t"] == pytest.approx(25_400.0)
    assert python["cost_usd_per_t"] == pytest.approx(python["total_cost_usd"] / 25_400.0)
    xlsx = tmp_path / "n.xlsx"
    table = runner.invoke(cli_app(), ["analytics", "network", str(path), "--xlsx", str(xlsx)])
    assert table.exit_code == 0 and "USD/t" in table.stdout
    assert load_workbook(xlsx).sheetnames == ["Sites", "Utilisation", "Flows", "Costs", "Unverified"]
    doc = tomllib.loads(path.read_text())
    doc["spokes"] = doc["spokes"][:1]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    failed = runner.invoke(cli_app(), ["analytics", "network", str(bad)])
    assert failed.exit_code == 2
    assert (
        "error: infeasible: year 2028: 7,800 t to collect, but all candidate spokes together take 6,000 t/yr"
        in failed.stderr
    )
    response = client.post("/analytics/network", json={"network": doc})
    assert response.status_code == 422 and "infeasible" in response.json()["detail"]
    garbage = tmp_path / "x.json"
    garbage.write_text("{not json")
    assert "is not valid JSON" in runner.invoke(cli_app(), ["analytics", "network", str(garbage)]).stderr


def test_soh_and_rul_parity(tmp_path: Path, client: Any) -> None:
    discharge = tmp_path / "discharge.csv"
    discharge.write_text("time_s,current_a\n0,10\n1800,10\n3600,10\n", encoding="utf-8")
    cli = runner.invoke(cli_app(), ["analytics", "soh", str(discharge), "--rated-ah", "12.5"])
    assert cli.exit_code == 0, cli.output
    http = client.post("/analytics/soh", json={"csv": discharge.read_text(), "rated_ah": 12.5})
    python = as_json(report.soh_to_dict(service.estimate_soh_csv(discharge.read_text(), rated_ah=12.5)))
    assert json.loads(cli.stdout) == http.json() == python
    assert python["soh_pct"] == pytest.approx(80.0)
    history = tmp_path / "soh.csv"
    rows = "\n".join(f"{n},{100 - 0.2 * n**0.6:.6f}" for n in range(50, 1001, 50))
    history.write_text("cycles,soh_pct\n" + rows + "\n", encoding="utf-8")
    cli = runner.invoke(cli_app(), ["analytics", "rul", str(history)])
    assert cli.exit_code == 0, cli.output
    http = client.post("/analytics/rul", json={"csv": history.read_text()})
    assert json.loads(cli.stdout) == http.json()
    assert http.json()["eol_cycle"] == pytest.approx(2154.43, rel=1e-3)
    bad = runner.invoke(cli_app(), ["analytics", "soh", str(history), "--rated-ah", "10"])
    assert bad.exit_code == 2 and "needs the columns time_s, current_a" in bad.stderr
    assert client.post("/analytics/rul", json={"csv": "cycles,soh_pct\n1,99\n"}).status_code == 422


def test_bad_input_through_http_names_the_field(ledger: Ledger, bl: Any, client: Any) -> None:
    """SOH above 120 %, a negative resistance, an unknown chemistry or region, a network that cannot be served:
    422 problem+json whose detail names the field (or says why no plan exists)."""
    header = (
        "id,chemistry,level,soh_pct,dcir_mohm,dcir_bol_mohm,self_discharge_mv_per_day,capacity_spread_pct,"
        "voltage_spread_mv,insulation_ohm_per_v,negative_events,visual_damage,history\n"
    )
    cases = {
        "A,LFP,pack,121,1.1,1,0.5,1,5,500,0,false,true": "row 1 (A): soh_pct 121 is outside 0-120 %",
        "A,LFP,pack,90,-1.1,1,0.5,1,5,500,0,false,true": "row 1 (A): dcir_mohm is negative (-1.1)",
        "A,NMC999,pack,90,1.1,1,0.5,1,5,500,0,false,true": "row 1 (A): chemistry 'NMC999' is not a chemistry",
    }
    for row, message in cases.items():
        r = client.post("/analytics/triage", json={"csv": header + row + "\n"})
        assert r.status_code == 422 and message in r.json()["detail"], r.text
    bl.build_world(ledger)
    key = {"X-API-Key": ledger.issue_api_key("maker")}
    body = {"overrides": {"ledger": {"country_region": {"DE": "Europa"}}}, "draws": 20}
    r = client.post("/analytics/forecast/ledger", json=body, headers=key)
    assert r.status_code == 422
    assert "ledger.country_region: unknown region 'Europa'" in r.json()["detail"]
    doc = tomllib.loads((EXAMPLES / "network_example.toml").read_text())
    doc["points"][0]["lat"] = "north"
    r = client.post("/analytics/network", json={"network": doc})
    assert r.status_code == 422 and "points[0].lat must be a number" in r.json()["detail"]
    doc = tomllib.loads((EXAMPLES / "network_example.toml").read_text())
    doc["max_km"] = 5.0
    r = client.post("/analytics/network", json={"network": doc})
    assert r.status_code == 422
    assert "infeasible: point Hamburg has no spoke within 5 km" in r.json()["detail"]
