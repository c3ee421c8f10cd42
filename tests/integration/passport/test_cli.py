"""`batteryloop passport` commands against a SQLite ledger."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from batteryloop.domain import BatteryCategory, BatteryUnit, Chemistry, UnitLevel
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import Ledger
from batteryloop.passport.cli import passport_app
from batteryloop.passport.synthetic import synthetic_passport_data

BID = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000c001"


def _setup(tmp_path: Path, bl, *, register: bool) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ledger = Ledger.open(url)
    world = bl.build_world(ledger)
    unit = BatteryUnit(
        battery_id=BID,
        level=UnitLevel.PACK,
        chemistry=Chemistry.LFP,
        category=BatteryCategory.LMT,
        manufacturer_id="maker",
        model="eBike 0.7",
        mass_kg=3.9,
        rated_energy_kwh=0.7,
        rated_capacity_ah=19.0,
        nominal_voltage_v=36.0,
        manufactured_on=date(2027, 3, 1),
        manufacturing_country="PL",
        gtin="04012345000016",
        serial="C001",
    )
    events = [bl.ev(BID, E.BATTERY_MANUFACTURED, unit.to_payload())]
    if register:
        events.append(
            bl.ev(BID, E.PASSPORT_DATA_REGISTERED, synthetic_passport_data(unit, seed=1), minutes=1)
        )
    world.maker.append(*events)
    ledger.close()
    return url


def test_check_show_export_and_qr(tmp_path: Path, bl) -> None:
    url = _setup(tmp_path, bl, register=True)
    runner = CliRunner()
    ok = runner.invoke(passport_app, ["check", BID, "--db", url, "--on", "2027-03-01"])
    assert ok.exit_code == 0, ok.output
    assert "complete" in ok.output
    shown = runner.invoke(passport_app, ["show", BID, "--db", url])
    assert shown.exit_code == 0
    assert '"condition"' not in shown.output and "LFP" in shown.output  # public by default
    out = tmp_path / "bp.json"
    exported = runner.invoke(
        passport_app, ["export", BID, "--db", url, "-a", "individual", "-f", "catenax", "-o", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    assert json.loads(out.read_text())["identification"]["category"] == "LMT"
    png = tmp_path / "qr.png"
    assert runner.invoke(passport_app, ["qr", BID, "--db", url, "-o", str(png)]).exit_code == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    bad = runner.invoke(passport_app, ["qr", BID, "--db", url, "-o", str(tmp_path / "qr.gif")])
    assert bad.exit_code == 2 and "must end in .svg or .png" in bad.output


def test_check_lists_missing_attributes_and_unknown_ids_fail(tmp_path: Path, bl) -> None:
    url = _setup(tmp_path, bl, register=False)
    runner = CliRunner()
    missing = runner.invoke(passport_app, ["check", BID, "--db", url, "--on", "2027-09-01"])
    assert missing.exit_code == 1
    assert "due_diligence" in missing.output and "manufacturer" in missing.output
    unknown = runner.invoke(passport_app, ["show", "urn:uuid:nope", "--db", url])
    assert unknown.exit_code == 2 and "urn:uuid:nope is not registered" in unknown.output


def test_import_prints_the_canonical_passport_or_names_the_json_path(tmp_path: Path, bl) -> None:
    from batteryloop.passport.core.batterypass import to_batterypass
    from batteryloop.passport.core.build import passport_from_source

    url = _setup(tmp_path, bl, register=True)
    ledger = Ledger.open(url)
    document = to_batterypass(passport_from_source(ledger, BID))
    ledger.close()
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document), encoding="utf-16")  # BOM-marked UTF-16, like the upstream files
    runner = CliRunner()
    ok = runner.invoke(passport_app, ["import", str(good)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["passport_id"] == BID
    document["Circularity"]["recycledContent"][0]["postConsumerShare"] = 140
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    refused = runner.invoke(passport_app, ["import", str(bad)])
    assert refused.exit_code == 2
    assert "$.Circularity.recycledContent[0].postConsumerShare: maximum" in refused.output.replace("\n", "")
