"""`analytics triage` through the CLI, the JSON API and the page: same numbers, one-line errors, nothing
written on failure."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from batteryloop.analytics import report, service
from batteryloop.analytics.cli import analytics_app

runner = CliRunner()


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(analytics_app, name="analytics")
    return app


EXPECTED = {
    "PK-LFP-01": "reuse",
    "PK-LFP-02": "repurpose",
    "PK-NMC-03": "remanufacture",
    "MD-NMC-04": "repurpose",
    "MD-NMC-05": "recycle",
    "PK-NCA-06": "recycle",
    "CL-LFP-07": "recycle",
    "PK-LFP-08": "recycle",
}


def as_json(payload: dict[str, Any]) -> Any:
    return json.loads(json.dumps(payload, default=str))


def test_parity_python_cli_http(triage_file: Path, client: Any) -> None:
    text = triage_file.read_text(encoding="utf-8")
    python = as_json(report.triage_to_dict(service.triage_csv(text)))
    result = runner.invoke(cli_app(), ["analytics", "triage", str(triage_file), "--json"])
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.stdout)
    response = client.post("/analytics/triage", json={"csv": text})
    assert response.status_code == 200
    assert python == from_cli == response.json()
    assert {i["id"]: i["route"] for i in python["items"]} == EXPECTED
    assert python["routes"] == {"reuse": 1, "remanufacture": 1, "repurpose": 2, "recycle": 4}
    assert python["grades"] == {"A": 1, "B": 1, "C": 2, "D": 4}


def test_cli_csv_table_and_xlsx(triage_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "triage.xlsx"
    result = runner.invoke(cli_app(), ["analytics", "triage", str(triage_file), "--csv", "--xlsx", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["id"]: r["route"] for r in rows} == EXPECTED
    assert rows[1]["reason"].startswith("not reuse: soh_pct 72 < 80 %")
    book = load_workbook(out)
    assert book.sheetnames == ["Decisions", "Checks", "Summary", "Unverified"]
    assert book["Decisions"].max_row == 9
    table = runner.invoke(cli_app(), ["analytics", "triage", str(triage_file)])
    assert table.exit_code == 0
    assert "8 batteries: reuse 1, remanufacture 1, repurpose 2, recycle 4" in table.stdout


def test_errors_are_one_line_and_write_nothing(tmp_path: Path, client: Any) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,chemistry,level,soh_pct,dcir_mohm,dcir_bol_mohm,self_discharge_mv_per_day,capacity_spread_pct,"
        "voltage_spread_mv,insulation_ohm_per_v,negative_events,visual_damage,history\n"
        "A,LFP,pack,125,1.1,1,0.5,1,5,500,0,false,true\n",
        encoding="utf-8",
    )
    out = tmp_path / "never.xlsx"
    result = runner.invoke(cli_app(), ["analytics", "triage", str(bad), "--xlsx", str(out)])
    assert result.exit_code == 2
    assert "error: row 1 (A): soh_pct 125 is outside 0-120 %" in result.stderr
    assert not out.exists()
    missing = runner.invoke(cli_app(), ["analytics", "triage", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    response = client.post("/analytics/triage", json={"csv": bad.read_text()})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "soh_pct 125" in response.json()["detail"]
    unknown = client.post(
        "/analytics/triage", json={"csv": bad.read_text().replace(",LFP,pack,125,", ",ABC,pack,90,")}
    )
    assert unknown.status_code == 422 and "chemistry 'ABC'" in unknown.json()["detail"]


def test_page_shows_chart_and_decisions(triage_file: Path, client: Any) -> None:
    empty = client.get("/analytics/triage")
    assert empty.status_code == 200 and "<textarea" in empty.text
    text = triage_file.read_text(encoding="utf-8")
    page = client.get("/analytics/triage", params={"csv": text})
    assert page.status_code == 200
    assert "<svg" in page.text and "PK-NMC-03" in page.text
    zh = client.get("/analytics/triage", params={"csv": text}, headers={"Accept-Language": "zh-CN"})
    assert "分级" in zh.text
    bad = client.get("/analytics/triage", params={"csv": text.replace("86.0", "-3")})
    assert bad.status_code == 422 and "soh_pct is negative (-3)" in bad.text
    xlsx = client.get("/analytics/triage/export.xlsx", params={"csv": text})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get("/analytics/triage/export.pdf", params={"csv": text}).status_code == 404
