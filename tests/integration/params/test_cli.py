"""``batteryloop params``: the Typer app of the params slice, called directly."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from batteryloop.params import report
from batteryloop.params.cli import params_app
from batteryloop.reference import service

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(params_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_list_names_every_capabilitys_data_with_unverified_counts() -> None:
    code, out, _ = invoke("list")
    assert code == 0
    for name in ("everbatt2023", "fleet", "passport-obligations", "gbt34014", "ledger"):
        assert f"\n{name}: " in f"\n{out}"
    assert "unverified" in out


def test_show_json_carries_value_unit_source_year_and_quality() -> None:
    code, out, _ = invoke("show", "everbatt2019", "--prefix", "inventories.leaching", "--json")
    assert code == 0
    leaf = json.loads(out)["inventories.leaching.H2SO4.per_kg_plant_feed"]
    assert leaf == {
        "value": 1.08,
        "unit": "kg/kg cells",
        "source": "EB19doc",
        "year": 2019,
        "quality": "verified",
        "locator": "Table 10 (hydro)",
    }


def test_show_table_marks_unverified_values() -> None:
    code, out, _ = invoke("show", "everbatt2023", "--prefix", "regions.ES")
    assert code == 0
    assert "UNVERIFIED" in out
    assert "not checked against a primary source" in out


def test_show_csv_and_unverified_filter() -> None:
    code, out, _ = invoke("show", "fleet", "--unverified", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows
    assert {row["quality"] for row in rows} == {"unverified"}


def test_show_with_override_file(tmp_path: Path) -> None:
    override = tmp_path / "o.yaml"
    override.write_text("recovery:\n  hydro:\n    yield:\n      Li: 0.95\n", encoding="utf-8")
    code, out, _ = invoke(
        "show", "--prefix", "recovery.hydro.yield.Li", "--override", str(override), "--json"
    )
    assert code == 0
    assert json.loads(out)["recovery.hydro.yield.Li"]["source"] == str(override)


def test_cite_prints_the_full_reference() -> None:
    code, out, _ = invoke("cite", "EB19doc")
    assert code == 0
    assert "EverBatt: A Closed-loop Battery Recycling Cost and Environmental Impacts Model" in out
    assert "https://publications.anl.gov/anlpubs/2019/07/153050.pdf" in out
    code, out, _ = invoke("cite", "Ma24", "--json")
    assert json.loads(out)["link"] == "https://doi.org/10.1038/s41467-024-52030-0"


def test_diff_json() -> None:
    code, out, _ = invoke("diff", "everbatt2019", "everbatt2023", "--prefix", "recovery.pyro", "--json")
    assert code == 0
    rows = {row["path"]: row for row in json.loads(out)}
    assert rows["recovery.pyro.to_alloy.Co"]["everbatt2019"]["value"] == 0.98
    assert rows["recovery.pyro.to_alloy.Co"]["everbatt2023"]["value"] == 0.95


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    for args in (
        ("show", "everbatt1999"),
        ("cite", "nobody"),
        ("show", "everbatt2023", "--prefix", "nothing"),
        ("show", "--override", str(tmp_path / "missing.toml")),
        ("show", "ledger", "--json", "--csv"),
    ):
        code, out, err = invoke(*args)
        assert code == 2, args
        assert out == ""
        assert err.startswith("error: ") and err.count("\n") == 1, args
        assert "Traceback" not in err


def test_parity_show_python_equals_cli_json() -> None:
    code, out, _ = invoke("show", "passport-obligations", "--prefix", "scope", "--json")
    assert code == 0
    assert json.loads(out) == report.view_json(service.show("passport-obligations", prefix="scope"))


def test_parity_list_cite_diff_python_equals_cli_json() -> None:
    assert json.loads(invoke("list", "--json")[1]) == report.sets_json(service.list_sets())
    assert json.loads(invoke("cite", "OWID-Ember", "--json")[1]) == report.citation_json(
        service.cite("OWID-Ember")
    )
    diff = service.diff("everbatt2023", "batteryloop2025", prefix="recovery")
    assert json.loads(
        invoke("diff", "everbatt2023", "batteryloop2025", "--prefix", "recovery", "--json")[1]
    ) == (report.diff_json(diff))


# The recycling model's parameter sets through the same command (formerly `params` of the recycling CLI).


def test_recycling_params_show_with_sources() -> None:
    result = runner.invoke(params_app, ["show", "everbatt2019", "--prefix", "inventories.leaching", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["inventories.leaching.H2SO4.per_kg_plant_feed"]["value"] == 1.08
    leaf = data["inventories.leaching.H2SO4.per_kg_plant_feed"]
    assert leaf["source"] == "EB19doc"
    assert leaf["locator"].startswith("Table 10")
    assert leaf["quality"] == "verified"


def test_recycling_params_diff() -> None:
    result = runner.invoke(
        params_app, ["diff", "everbatt2019", "everbatt2023", "--prefix", "recovery.pyro", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = {row["path"]: row for row in json.loads(result.output)}
    assert rows["recovery.pyro.to_alloy.Co"]["everbatt2019"]["value"] == 0.98
    assert rows["recovery.pyro.to_alloy.Co"]["everbatt2023"]["value"] == 0.95


def test_recycling_params_show_unknown_set_fails_clearly() -> None:
    result = runner.invoke(params_app, ["show", "everbatt1999"])
    assert result.exit_code == 2
    assert "unknown parameter set 'everbatt1999'" in result.output


def test_recycling_params_show_with_override_and_list(tmp_path: Path) -> None:
    override = tmp_path / "o.yaml"
    override.write_text("recovery:\n  hydro:\n    yield:\n      Li: 0.95\n", encoding="utf-8")
    result = runner.invoke(
        params_app, ["show", "--prefix", "recovery.hydro.yield", "--override", str(override), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["recovery.hydro.yield.Li"] == {
        "value": 0.95,
        "unit": "kg/kg in",
        "source": str(override),
        "year": None,
        "quality": "assumption",
    }
    result = runner.invoke(params_app, ["list"])
    assert result.exit_code == 0
    assert "everbatt2019" in result.output
    assert "batteryloop2025" in result.output
