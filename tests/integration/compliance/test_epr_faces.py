"""Producers' and regulators' reports: Python = CLI --json = HTTP, roles through HTTP, CSV/XLSX exports."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batteryloop.compliance import report, service
from batteryloop.ledger import Ledger
from support import epr_world as w


@pytest.fixture
def epr(ledger: Ledger) -> dict[str, w.Org]:
    return w.build(ledger)


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def test_python_cli_http_agree(
    ledger: Ledger, epr: dict[str, w.Org], client: TestClient, cli_app: typer.Typer, tmp_path: Path
) -> None:
    maker = ledger.get_organisation("maker")
    expected = report.epr_report_to_dict(
        service.epr_report(ledger, jurisdiction="eu", year=2025, as_of=w.AS_OF, caller=maker)
    )
    args = ["compliance", "epr", "eu", "--year", "2025", "--as-of", "2026-12-01", "--as", "maker"]
    result = CliRunner().invoke(cli_app, [*args, "--db", _url(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == expected
    headers = {"X-API-Key": ledger.issue_api_key("maker")}
    response = client.get("/compliance/epr/eu?year=2025&as_of=2026-12-01", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == expected
    assert expected["ledger"]["position"] == ledger.counts().events


def test_http_figure_and_exports(ledger: Ledger, epr: dict[str, w.Org], client: TestClient) -> None:
    headers = {"X-API-Key": ledger.issue_api_key("authority-de")}
    rows = client.get(
        "/compliance/epr/eu/batteries?figure=leaked&year=2024&as_of=2026-12-01", headers=headers
    ).json()
    assert {r["battery_id"] for r in rows} == {"e2", "e3"}
    text = client.get(
        "/compliance/epr/eu?year=2025&as_of=2026-12-01&format=csv&section=leakage", headers=headers
    ).text
    assert "# ledger position: " in text and "compliant_share" in text
    xlsx = client.get("/compliance/epr/eu?year=2025&as_of=2026-12-01&format=xlsx", headers=headers)
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx.content))
    assert {"about", "collection", "leaked"} <= set(wb.sheetnames)
    # another producer may not read maker's obligations; an unknown jurisdiction is a 404
    other = {"X-API-Key": ledger.issue_api_key("other")}
    assert client.get("/compliance/epr/eu?producer=maker", headers=other).status_code == 403
    assert client.get("/compliance/epr/xx", headers=other).status_code == 404


def test_register_through_cli_and_http(
    ledger: Ledger, epr: dict[str, w.Org], client: TestClient, cli_app: typer.Typer, tmp_path: Path
) -> None:
    args = ["compliance", "register", "other", "--country", "FR", "--brand", "Other", "--category", "ev"]
    result = CliRunner().invoke(
        cli_app, [*args, "--chemistry", "LFP", "--on", "2024-01-01", "--db", _url(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["country"] == "FR"
    bad = CliRunner().invoke(cli_app, [*args, "--chemistry", "XYZ", "--db", _url(tmp_path)])
    assert bad.exit_code != 0 and "chemistry 'XYZ'" in bad.output
    headers = {"X-API-Key": ledger.issue_api_key("other")}
    body: dict[str, Any] = {
        "producer": "maker",
        "country": "FR",
        "brands": ["M"],
        "categories": ["ev"],
        "chemistries": ["LFP"],
        "registered_on": "2024-01-01",
    }
    assert client.post("/compliance/registrations", json=body, headers=headers).status_code == 403
    listed = client.get("/compliance/registrations", headers=headers).json()
    assert [(r["producer"], r["country"]) for r in listed] == [("other", "FR")]
