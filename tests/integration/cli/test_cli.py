"""The command line end to end on a temporary SQLite ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from batteryloop.cli import app
from batteryloop.ledger import Ledger

runner = CliRunner()

PACK = {
    "battery_id": "urn:uuid:0190f5c2-7d6e-7000-8000-000000000001",
    "level": "pack",
    "chemistry": "LFP",
    "category": "ev",
    "model": "Blade-60",
    "mass_kg": 390.0,
    "rated_energy_kwh": 60.0,
    "rated_capacity_ah": 150.0,
    "nominal_voltage_v": 400.0,
    "manufactured_on": "2024-05-02",
    "manufacturing_country": "CN",
}


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_register_append_trace_verify_export(db: str, tmp_path: Path) -> None:
    invoke("init", "--db", db)
    invoke(
        "org",
        "add",
        "maker",
        "--name",
        "Maker Co",
        "--country",
        "CN",
        "--role",
        "battery_manufacturer",
        "--db",
        db,
    )
    spec = tmp_path / "pack.json"
    spec.write_text(json.dumps(PACK))
    out = invoke("battery", "register", str(spec), "--org", "maker", "--db", db)
    assert PACK["battery_id"] in out

    bid = PACK["battery_id"]
    events = tmp_path / "events.ndjson"
    events.write_text(
        "\n".join(
            json.dumps(e)
            for e in [
                {
                    "battery_id": bid,
                    "event_type": "BatteryPlacedOnMarket",
                    "occurred_at": "2024-06-01T10:00:00Z",
                    "payload": {"country": "DE"},
                },
                {
                    "battery_id": bid,
                    "event_type": "BatteryPutIntoService",
                    "occurred_at": "2024-06-10T10:00:00Z",
                    "payload": {},
                },
                {
                    "battery_id": bid,
                    "event_type": "StateOfHealthReported",
                    "occurred_at": "2025-06-10T10:00:00Z",
                    "payload": {"soh_pct": 97.2},
                },
            ]
        )
    )
    out = invoke("events", "append", str(events), "--org", "maker", "--db", db)
    assert "appended 3" in out
    # replaying the same file is idempotent
    assert "3 already present" in invoke("events", "append", str(events), "--org", "maker", "--db", db)

    out = invoke("trace", bid, "--db", db)
    assert "in_service" in out and "intact" in out and "StateOfHealthReported" in out

    assert "verified" in invoke("verify", "--db", db)

    nd = tmp_path / "out.ndjson"
    invoke("export", str(nd), "--db", db)
    rows = [json.loads(line) for line in nd.read_text().splitlines()]
    assert [r["stream_seq"] for r in rows] == [1, 2, 3, 4]
    pqf = tmp_path / "out.parquet"
    invoke("export", str(pqf), "--db", db)
    table = pq.read_table(pqf)
    assert table.num_rows == 4
    assert table.column("event_type").to_pylist()[-1] == "StateOfHealthReported"

    before = Ledger.open(db).projection_rows()
    invoke("ledger", "rebuild", "--db", db)
    assert Ledger.open(db).projection_rows() == before


def test_bad_line_is_reported_with_its_number_and_nothing_is_written(db: str, tmp_path: Path) -> None:
    invoke(
        "org",
        "add",
        "maker",
        "--name",
        "Maker Co",
        "--country",
        "CN",
        "--role",
        "battery_manufacturer",
        "--db",
        db,
    )
    bad = tmp_path / "bad.ndjson"
    good = json.dumps(
        {
            "battery_id": "urn:uuid:x",
            "event_type": "BatteryManufactured",
            "occurred_at": "2024-01-01T00:00:00Z",
            "payload": {k: v for k, v in PACK.items() if k != "battery_id"} | {"manufacturer_id": "maker"},
        }
    )
    bad.write_text(
        good
        + "\n"
        + '{"battery_id": "urn:uuid:y", "event_type": "NoSuchEvent", "occurred_at": "2024-01-01T00:00:00Z", "payload": {}}\n'
    )
    result = runner.invoke(app, ["events", "append", str(bad), "--org", "maker", "--db", db])
    assert result.exit_code == 2
    assert "line 2" in result.output and "NoSuchEvent" in result.output
    assert Ledger.open(db).counts().events == 0


def test_demo_builds_and_verifies_a_small_fleet(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    out = invoke("demo", "--batteries", "40", "--seed", "3", "--db", db)
    assert "integrity verified" in out
    assert "chemistry" in out
    # running it again replaces its own database
    invoke("demo", "--batteries", "40", "--seed", "3", "--db", db)
    # but never a database it did not create
    other = tmp_path / "precious.db"
    Ledger.open(f"sqlite:///{other}").close()
    result = runner.invoke(app, ["demo", "--batteries", "5", "--db", f"sqlite:///{other}"])
    assert result.exit_code == 2
    assert "was not made by" in result.output
