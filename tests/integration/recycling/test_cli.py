"""`recycle run|compare|intake` and `quote` through Typer's runner: JSON, tables, files, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from batteryloop.domain.lifecycle import EventType as E
from batteryloop.fleet import Fleet
from batteryloop.recycling import cli as recycling_cli
from batteryloop.recycling.cli import quote_command, recycle_app

app = typer.Typer()
app.add_typer(recycle_app, name="recycle")
app.command("quote")(quote_command)
runner = CliRunner()

SCENARIO = """
name = "China hub, NMC622 packs"
route = "hydro"
region = "CN"
throughput_t_per_yr = 20000

[[feedstock]]
form = "pack"
chemistry = "NMC622"
mass_share = 1.0
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_recycle_run_json(scenario: Path, tmp_path: Path) -> None:
    xlsx = tmp_path / "out.xlsx"
    result = runner.invoke(app, ["recycle", "run", str(scenario), "--json", "--xlsx", str(xlsx)])
    assert result.exit_code == 0, result.output
    text = result.output[: result.output.rindex("}") + 1]
    data = json.loads(text)
    assert data["flowsheet"]["max_closure_error"] <= 1e-9
    assert data["flowsheet"]["element_recovery"]["Ni"] == pytest.approx(0.931)
    assert data["carbon"]["region"] == "CN"
    assert "margin_usd_per_t" in data["economics"]
    assert xlsx.read_bytes()[:2] == b"PK"


def test_recycle_run_tables(scenario: Path) -> None:
    result = runner.invoke(app, ["recycle", "run", str(scenario)])
    assert result.exit_code == 0, result.output
    assert "Mass balance per unit operation" in result.output
    assert "NPV" in result.output


def test_run_names_the_unverified_values_it_used(scenario: Path) -> None:
    """Tables: the notice closes stdout. --json: stdout is the JSON alone, the notice goes to stderr."""
    notice = "3 value(s) marked UNVERIFIED were not checked against a primary source: "
    paths = "cost_factors.capital.cepci_cost_year, cost_factors.capital.cepci_equipment_year, "
    tables = runner.invoke(app, ["recycle", "run", str(scenario)])
    assert tables.exit_code == 0, tables.output
    assert notice + paths + "regions.CN.corporate_tax_rate" in tables.stdout
    # the only other line on stderr: prices of EverBatt 2023 (2020) beside market terms of 2025
    assert tables.stderr.startswith("warning: 3 market term(s) applied are dated more than 1 year")
    data = runner.invoke(app, ["recycle", "run", str(scenario), "--json"])
    assert data.exit_code == 0, data.output
    assert json.loads(data.stdout)["unverified"] == [
        "cost_factors.capital.cepci_cost_year",
        "cost_factors.capital.cepci_equipment_year",
        "regions.CN.corporate_tax_rate",
    ]
    assert notice in data.stderr
    quoted = runner.invoke(app, ["quote", str(scenario), "--json"])
    assert quoted.exit_code == 0, quoted.output
    assert "regions.CN.corporate_tax_rate" in json.loads(quoted.stdout)["unverified"]
    assert "regions.CN.corporate_tax_rate" in quoted.stderr


def test_bad_scenario_exits_2_with_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIO.replace("mass_share = 1.0", "mass_share = 0.5"), encoding="utf-8")
    result = runner.invoke(app, ["recycle", "run", str(bad)])
    assert result.exit_code == 2
    assert "sum to 0.500000" in result.output


def test_compare_routes_and_quote(scenario: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(
        app, ["recycle", "compare", str(scenario), "--routes", "hydro,pyro/alloy", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [(r["route"], r["product_level"]) for r in rows] == [("hydro", "salts"), ("pyro", "alloy")]
    monkeypatch.setattr(recycling_cli.console, "width", 220)
    table = runner.invoke(app, ["recycle", "compare", str(scenario), "--routes", "hydro,hydro/precursor"])
    assert table.exit_code == 0, table.output
    assert "hydro/salts" in table.output
    assert "hydro/precursor" in table.output
    result = runner.invoke(app, ["quote", str(scenario), "--lot-kg", "10000", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["lot_mass_kg"] == 10000


def test_compare_needs_one_dimension(scenario: Path) -> None:
    result = runner.invoke(app, ["recycle", "compare", str(scenario)])
    assert result.exit_code == 2
    assert "exactly one of" in result.output


def test_compare_regions_and_lfp_shares(scenario: Path) -> None:
    result = runner.invoke(app, ["recycle", "compare", str(scenario), "--regions", "CN,DE", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["region"] for r in json.loads(result.stdout)["rows"]] == ["CN", "DE"]
    result = runner.invoke(app, ["recycle", "compare", str(scenario), "--lfp-shares", "0.3,0.9"])
    assert result.exit_code == 0, result.output
    assert "Comparison by mix" in result.output
    assert "highest NPV" in result.output


def test_compare_table_fits_80_columns_without_cutting_a_number(scenario: Path) -> None:
    """Five regions: one column per region in tables of at most 80 columns, every figure whole."""
    regions = ["CN", "ES", "US", "ID", "DE"]
    data = runner.invoke(app, ["recycle", "compare", str(scenario), "--regions", ",".join(regions), "--json"])
    npv = {r["region"]: r["npv_usd"] for r in json.loads(data.stdout)["rows"]}
    result = runner.invoke(app, ["recycle", "compare", str(scenario), "--regions", ",".join(regions)])
    assert result.exit_code == 0, result.output
    table_lines = [line for line in result.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table_lines and max(len(line) for line in table_lines) <= 80
    assert "…" not in result.stdout
    headers = [c.strip() for line in table_lines if line.startswith("┃") for c in line.strip("┃").split("┃")]
    assert [h for h in headers if h in regions] == regions
    npv_cells = [
        c.strip() for line in table_lines if "NPV USD" in line for c in line.strip("│").split("│")[1:]
    ]
    assert npv_cells == [f"{npv[r]:,.0f}" for r in regions]


def test_run_exports_csv_xlsx_and_charts_to_a_directory(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = runner.invoke(app, ["recycle", "run", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "mass balance closes on all" in result.output
    assert (out / "s.xlsx").read_bytes()[:2] == b"PK"
    assert (out / "s-waterfall.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "s-sankey.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (out / "s-waterfall.svg").read_bytes()
    assert b"<svg" in (out / "s-sankey.svg").read_bytes()
    summary = (out / "s.csv").read_text(encoding="utf-8")
    assert "margin" in summary
    assert "unverified,regions.CN.corporate_tax_rate,not checked against a primary source," in summary
    assert load_workbook(out / "s.xlsx")["Unverified"]["A2"].value == "cost_factors.capital.cepci_cost_year"
    balance = (out / "s-balance.csv").read_text(encoding="utf-8").splitlines()
    assert balance[0] == "operation,kind,stream,kg_per_t_feed,closure_error"
    assert any(line.startswith("leaching,in,") for line in balance)
    svg_only = tmp_path / "svg"
    result = runner.invoke(
        app, ["recycle", "run", str(scenario), "--out", str(svg_only), "--chart-format", "svg"]
    )
    assert result.exit_code == 0, result.output
    assert not list(svg_only.glob("*.png"))
    bad = runner.invoke(
        app, ["recycle", "run", str(scenario), "--out", str(svg_only), "--chart-format", "gif"]
    )
    assert bad.exit_code == 2
    assert "--chart-format must be png, svg or both" in bad.output


def test_run_monte_carlo_and_tornado(scenario: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["recycle", "run", str(scenario), "--json", "--mc", "2000", "--seed", "3", "--tornado"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["monte_carlo"]["draws"] == 2000
    assert 0.0 <= data["monte_carlo"]["probability_of_loss"] <= 1.0
    swings = [bar["swing"] for bar in data["tornado"]]
    assert len(swings) == 10
    assert swings == sorted(swings, reverse=True)
    balance = data["mass_balance"]
    assert balance["closes"] is True
    assert balance["max_closure_error"] <= balance["limit"] == 0.001
    assert balance["feed_kg"] == 1000.0
    assert balance["products_kg"] == pytest.approx(sum(data["flowsheet"]["products_kg"].values()))
    out = balance["products_kg"] + balance["losses_kg"] + balance["emissions_kg"]
    assert out == pytest.approx(balance["feed_kg"] + balance["reagents_and_air_kg"], rel=1e-3)
    reagents = sum(
        v
        for k, v in data["flowsheet"]["consumables"].items()
        if not k.endswith(("_kwh", "_mj", "_h")) and k != "water_kg"
    )
    assert balance["reagents_and_air_kg"] >= reagents  # air for combustion comes on top of the reagents
    charts = tmp_path / "c"
    table = runner.invoke(
        app,
        [
            "recycle",
            "run",
            str(scenario),
            "--mc",
            "500",
            "--tornado",
            "--out",
            str(charts),
            "--chart-format",
            "png",
        ],
    )
    assert table.exit_code == 0, table.output
    assert "probability of loss" in table.output
    assert "Tornado" in table.output
    assert (charts / "s-histogram.png").is_file()
    assert (charts / "s-tornado.png").is_file()


def test_compare_and_quote_export(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = runner.invoke(
        app,
        [
            "recycle",
            "compare",
            str(scenario),
            "--regions",
            "CN,ES,US",
            "--out",
            str(out),
            "--csv",
            str(tmp_path / "c.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "worst of 3 flowsheets: mass balance closes" in result.output
    assert (out / "s-by-region-bars.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (out / "s-by-region-bars.svg").read_bytes()
    assert (out / "s-by-region.xlsx").read_bytes()[:2] == b"PK"
    rows = (tmp_path / "c.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 4
    quote_csv, quote_xlsx = tmp_path / "q.csv", tmp_path / "q.xlsx"
    result = runner.invoke(app, ["quote", str(scenario), "--csv", str(quote_csv), "--xlsx", str(quote_xlsx)])
    assert result.exit_code == 0, result.output
    assert "mass balance closes on all" in result.output
    items = dict(line.split(",", 1) for line in quote_csv.read_text(encoding="utf-8").splitlines()[1:])
    assert float(items["lot_mass_kg"]) == 20_000.0
    assert {"price_usd", "fee_usd", "contained_value_total_usd"} <= set(items)
    assert items["unverified.regions.CN.corporate_tax_rate"] == "not checked against a primary source"
    assert quote_xlsx.read_bytes()[:2] == b"PK"
    assert "Unverified" in load_workbook(quote_xlsx).sheetnames
    assert "Unverified" in load_workbook(out / "s-by-region.xlsx").sheetnames


def accepted_by(fleet: Fleet, org: str) -> set[str]:
    return {e.battery_id for e in fleet.events if e.event_type is E.CUSTODY_ACCEPTED and e.actor == org}


def registered_mass(fleet: Fleet) -> dict[str, float]:
    return {
        e.battery_id: float(e.payload["mass_kg"])
        for e in fleet.events
        if e.event_type is E.BATTERY_MANUFACTURED
    }


def test_cli_intake_runs_the_line_on_the_real_intake(fleet: Fleet, ledger_url: str, tmp_path: Path) -> None:
    org = "de-kreislauf-recycling"
    result = runner.invoke(
        app, ["recycle", "intake", "--org", org, "--db", ledger_url, "--json", "--throughput-t", "5000"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    mass = registered_mass(fleet)
    ids = accepted_by(fleet, org)
    assert data["region"] == "DE"  # the recycler's own country
    assert data["units"] == len(ids)
    assert data["mass_t"] == pytest.approx(sum(mass[b] for b in ids) / 1000)
    assert sum(g["mass_t"] for g in data["by_chemistry_form"]) == pytest.approx(data["mass_t"])
    assert data["plant_t_per_yr"] == 5000
    assert sum(c["mass_share"] for c in data["feedstock"]) == pytest.approx(1.0)
    assert data["mass_balance"]["closes"] is True
    assert data["economics"]["region"] == "DE"
    assert data["carbon"]["gate_to_gate_kg_co2e_per_t"] > 0

    out = tmp_path / "out"
    table = runner.invoke(
        app,
        ["recycle", "intake", "--org", org, "--db", ledger_url, "--route", "pyro", "--out", str(out)],
    )
    assert table.exit_code == 0, table.output
    assert "Intake of de-kreislauf-recycling" in table.output
    assert "mass balance closes on all" in table.output
    names = {p.name for p in out.iterdir()}
    stem = f"intake-{org}"
    for suffix in (".csv", ".xlsx", "-units.csv", "-balance.csv", "-waterfall.png", "-sankey.svg"):
        assert stem + suffix in names
    units_csv = (out / f"{stem}-units.csv").read_text(encoding="utf-8").splitlines()
    assert len(units_csv) == len(ids) + 1


def test_cli_intake_errors_are_clear(ledger_url: str, tmp_path: Path) -> None:
    norway = runner.invoke(app, ["recycle", "intake", "--org", "no-fjord-recycling", "--db", ledger_url])
    assert norway.exit_code == 2
    assert "pass --region" in norway.output
    unknown = runner.invoke(
        app, ["recycle", "intake", "--org", "nobody", "--db", ledger_url, "--region", "DE"]
    )
    assert unknown.exit_code == 2
    assert "nobody" in unknown.output
    empty = runner.invoke(
        app,
        ["recycle", "intake", "--org", "de-kreislauf-recycling", "--db", ledger_url, "--until", "2001-01-01"],
    )
    assert empty.exit_code == 2
    assert "received no" in empty.output
    bad_date = runner.invoke(
        app, ["recycle", "intake", "--org", "de-kreislauf-recycling", "--db", ledger_url, "--since", "soon"]
    )
    assert bad_date.exit_code == 2
    assert "--since" in bad_date.output
    missing_db = runner.invoke(
        app,
        ["recycle", "intake", "--org", "x", "--db", f"sqlite:///{tmp_path / 'none.db'}", "--region", "DE"],
    )
    assert missing_db.exit_code == 2


def test_loading_the_commands_does_not_load_the_model() -> None:
    """`batteryloop --help` mounts these commands: NumPy and the model load only when a command runs."""
    code = "import sys, batteryloop.recycling.cli; print(sorted(m for m in ('numpy', 'batteryloop.recycling.service') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
