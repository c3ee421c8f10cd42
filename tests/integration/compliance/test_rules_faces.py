"""The rule packs through the CLI and HTTP: the same rules, and one clear error for an unknown jurisdiction."""

from __future__ import annotations

import json

import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batteryloop.compliance import report, service


def test_cli_json_equals_python(cli_app: typer.Typer) -> None:
    result = CliRunner().invoke(cli_app, ["compliance", "rules", "eu", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == report.rules_to_dict(service.rule_pack("eu"))


def test_cli_unknown_jurisdiction_is_one_line(cli_app: typer.Typer) -> None:
    result = CliRunner().invoke(cli_app, ["compliance", "rules", "xx"])
    assert result.exit_code != 0
    assert "unknown jurisdiction 'xx'" in result.output
    assert "Traceback" not in result.output


def test_http_equals_python_and_404s_unknown(client: TestClient) -> None:
    response = client.get("/compliance/rules/eu")
    assert response.status_code == 200
    assert response.json() == report.rules_to_dict(service.rule_pack("eu"))
    listing = client.get("/compliance/rules").json()
    assert {p["code"] for p in listing} >= {"eu", "cn"}
    missing = client.get("/compliance/rules/xx")
    assert missing.status_code == 404
    assert "unknown jurisdiction" in missing.json()["detail"]
