"""`recycle solve` / POST /recycling/solve: same answer in Python, CLI and HTTP; errors as 422 and one CLI line;
the small-ledger intake (a plant sized on a few tonnes a year) warns in every face."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from batteryloop.ledger import Ledger
from batteryloop.recycling import report, service
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.scenario import load_scenario

from .test_parity import (
    RECYCLER,
    SCENARIO_JSON,
    as_json,
    cli,
    cli_json,
    client,
    http_json,
    runner,
    scenario_file,
)

__all__ = ["client", "scenario_file"]


def test_solve_parity(scenario_file: Path, client: TestClient) -> None:
    for lever, target, value, cli_extra in (
        ("gate_fee", "margin", None, []),
        ("subsidy", "irr", 0.12, ["--value", "0.12"]),
        ("price:Li", "npv", None, []),
    ):
        solution = service.solve(load_scenario(scenario_file), lever=lever, target=target, target_value=value)
        python = as_json(report.solution_to_dict(solution))
        assert python["lever"] == lever and python["iterations"] >= 0
        assert python["achieved"] == pytest.approx(value or 0.0, abs=1e-3)
        args = ["recycle", "solve", str(scenario_file), "--lever", lever, "--target", target, *cli_extra]
        assert cli_json(*args, "--json") == python, lever
        body = {"scenario": SCENARIO_JSON, "lever": lever, "target": target, "target_value": value}
        assert http_json(client.post("/recycling/solve", json=body)) == python, lever


def test_solve_errors_are_422_and_one_line(scenario_file: Path, client: TestClient) -> None:
    for body, message in (
        ({"lever": "fee"}, "unknown lever 'fee'"),
        ({"lever": "gate_fee", "low": 5, "high": 1}, "low 5 must be below high 1"),
        ({"lever": "gate_fee", "low": 1e6, "high": 2e6}, "no gate_fee between"),
        ({"lever": "subsidy", "target": "irr"}, "a target IRR needs a value"),
    ):
        response = client.post("/recycling/solve", json={"scenario": SCENARIO_JSON, **body})
        assert response.status_code == 422, response.text
        assert message in response.text
    assert (
        client.post(
            "/recycling/solve", json={"scenario": SCENARIO_JSON, "lever": "x", "target": "y"}
        ).status_code
        == 422
    )
    result = runner.invoke(
        cli, ["recycle", "solve", str(scenario_file), "--lever", "gate_fee", "--low", "5", "--high", "1"]
    )
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: bounds of gate_fee: low 5 must be below high 1")
    assert "Traceback" not in result.output


def test_a_small_intake_warns_in_python_cli_and_http(
    ledger: Ledger, ledger_url: str, client: TestClient
) -> None:
    request = service.IntakeRequest(recycler_id=RECYCLER, params=load_parameter_set("everbatt2023"))
    result = service.intake_economics(ledger, request)
    minimum = load_parameter_set("everbatt2023").value("checks.min_economic_t_per_yr.hydro")
    assert result.run.scenario.throughput_t_per_yr < minimum  # a few tonnes a year from a 150-battery fleet
    python = as_json(report.intake_to_dict(result))
    assert any("minimum economic scale" in w for w in python["warnings"])
    assert set(python["economics"]["warnings"]) <= set(python["warnings"])  # and the pricing basis warnings
    cli_result = runner.invoke(cli, ["recycle", "intake", "--org", RECYCLER, "--db", ledger_url, "--json"])
    assert cli_result.exit_code == 0, cli_result.output
    assert json.loads(cli_result.stdout) == python
    assert "warning:" in cli_result.stderr and "minimum economic scale" in cli_result.stderr.replace(
        "\n", " "
    )
    table = runner.invoke(
        cli, ["recycle", "intake", "--org", RECYCLER, "--db", ledger_url], env={"COLUMNS": "400"}
    )
    assert "minimum economic scale" in table.stdout.replace("\n", " ")
    key = ledger.issue_api_key(RECYCLER)
    response = client.get("/recycling/intake", headers={"X-API-Key": key})
    assert http_json(response) == python
