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
from batteryloop.passport.core.synthetic import synthetic_passport_data

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
    notice = "1 obligation date(s) marked UNVERIFIED were not checked against the legal text: "
    assert notice + "carbon_footprint.performance_class" in missing.stdout
    data = runner.invoke(passport_app, ["check", BID, "--db", url, "--on", "2027-09-01", "--json"])
    assert json.loads(data.stdout)["unverified"] == ["carbon_footprint.performance_class"]
    assert notice in data.stderr
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


OTHER = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000c002"


def _faces(tmp_path: Path, bl):
    """The same ledger file through the Python service, the CLI and HTTP."""
    from fastapi.testclient import TestClient

    from batteryloop.app import create_app
    from batteryloop.config import Settings
    from batteryloop.passport.service import PassportService

    url = _setup(tmp_path, bl, register=True)
    settings = Settings.from_env(database_url=url)
    ledger = Ledger.open(url)
    service = PassportService(ledger, resolver_domain=settings.resolver_domain)
    return service, TestClient(create_app(settings=settings, ledger=ledger)), url, ledger


def _cli_json(*args: str) -> object:
    result = CliRunner().invoke(passport_app, [*args, "--json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_view_parity_python_cli_http(tmp_path: Path, bl) -> None:
    from batteryloop.passport.report import content

    service, client, url, ledger = _faces(tmp_path, bl)
    python = content(service.view(BID), "json")
    assert python == _cli_json("show", BID, "--db", url) == client.get(f"/passports/{BID}").json()
    assert "identity" in python and "condition" not in python
    ledger.close()


def test_check_parity_python_cli_http(tmp_path: Path, bl) -> None:
    from batteryloop.passport.report import check_document

    service, client, url, ledger = _faces(tmp_path, bl)
    day = date(2027, 3, 1)
    python = check_document(service.check(BID, on=day))
    cli = _cli_json("check", BID, "--db", url, "--on", day.isoformat())
    http = client.get(f"/passports/{BID}/check", params={"on": day.isoformat()}).json()
    assert python == cli == http
    assert python["complete"] is True and python["on"] == "2027-03-01"
    assert python["unverified"] == ["carbon_footprint.performance_class"]  # the LMT class date, unchecked
    ledger.close()


def test_export_parity_python_cli_http(tmp_path: Path, bl) -> None:
    from batteryloop.passport.schemas import ExportResponse
    from batteryloop.passport.service import Selection

    service, client, url, ledger = _faces(tmp_path, bl)
    python = ExportResponse.from_result(
        service.export(Selection(everything=True)), "batterypass"
    ).model_dump()
    cli = _cli_json("export", "--all", "-f", "batterypass", "--db", url)
    http = client.post("/passports/export", json={"all": True, "format": "batterypass"}).json()
    assert python == cli == http
    assert list(python["passports"]) == [BID]
    assert "GeneralProductInformation" in python["passports"][BID]
    ledger.close()


def test_export_many_into_a_folder_and_refuse_a_missing_folder(tmp_path: Path, bl) -> None:
    url = _setup(tmp_path, bl, register=True)
    runner = CliRunner()
    folder = tmp_path / "out"
    folder.mkdir()
    done = runner.invoke(
        passport_app, ["export", "--chemistry", "LFP", "-f", "catenax", "-d", str(folder), "--db", url]
    )
    assert done.exit_code == 0, done.output
    files = sorted(folder.iterdir())
    assert len(files) == 1 and json.loads(files[0].read_text())["identification"]["category"] == "LMT"
    by_id = runner.invoke(passport_app, ["export", BID, BID, "-d", str(folder), "--db", url])
    assert by_id.exit_code == 0, by_id.output
    none = runner.invoke(passport_app, ["export", "--chemistry", "NCA", "-d", str(folder), "--db", url])
    assert none.exit_code == 0 and "wrote 0 passports" in none.output
    missing = tmp_path / "nowhere"
    refused = runner.invoke(passport_app, ["export", "--all", "-d", str(missing), "--db", url])
    assert refused.exit_code == 2
    assert refused.output.strip().startswith("error:") and "nowhere does not exist" in refused.output
    assert len(refused.output.strip().splitlines()) == 1 and "Traceback" not in refused.output
    assert not missing.exists()
    many = runner.invoke(passport_app, ["export", BID, OTHER, "--db", url])
    assert many.exit_code == 2 and "--out-dir" in many.output


def test_qr_parity_python_cli_http(tmp_path: Path, bl) -> None:
    """The QR code of a passport: the same SVG and PNG bytes from the report function, `passport qr` and
    /passports/{id}/qr.svg|png; the SVG encodes the passport's public URI and is titled."""
    from batteryloop.passport.report import qr_image

    service, client, url, ledger = _faces(tmp_path, bl)
    view = service.view(BID)
    for kind in ("svg", "png"):
        out = tmp_path / f"code.{kind}"
        result = CliRunner().invoke(passport_app, ["qr", BID, "--out", str(out), "--db", url])
        assert result.exit_code == 0, result.output
        http = client.get(f"/passports/{BID}/qr.{kind}")
        assert http.status_code == 200
        assert qr_image(view, kind) == out.read_bytes() == http.content
    assert b"<title>Battery passport " in (tmp_path / "code.svg").read_bytes()
    assert (tmp_path / "code.png").read_bytes().startswith(b"\x89PNG")
    ledger.close()
