"""The ledger's commands end to end on a temporary SQLite ledger; parity of each use case across Python,
the CLI (--json) and HTTP; the errors and outputs a new user meets."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from typer.testing import CliRunner

from batteryloop import clikit
from batteryloop.app import create_app
from batteryloop.cli import app
from batteryloop.config import Settings
from batteryloop.demo import run_demo
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import EventType
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.ledger import Ledger, service, sign_batch
from batteryloop.ledger.interchange import parse_ndjson
from batteryloop.ledger.schemas import BatteryListRead, TraceRead, VerifyRead
from batteryloop.orgs import service as orgs_service
from batteryloop.orgs.keystore import KeyStore, keystore_dir_for

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


# --- one answer from Python, the CLI (--json) and HTTP ---------------------------------------------


@pytest.fixture(scope="module")
def fleet(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Ledger, TestClient, dict[str, str]]]:
    """A small demo fleet; the HTTP client and the headers of an authority (which may read everything)."""
    path = tmp_path_factory.mktemp("parity") / "fleet.db"
    url = f"sqlite:///{path}"
    settings = Settings(database_url=url, resolver_domain="https://id.example.test")
    run_demo(settings=settings, n_batteries=25, seed=11, replace=True, console=Console(file=io.StringIO()))
    ledger = Ledger.open(url)
    authority = next(o for o in ledger.list_organisations() if Role.AUTHORITY in o.roles)
    headers = {"X-API-Key": ledger.issue_api_key(authority.org_id)}
    with TestClient(create_app(settings=settings, ledger=ledger)) as client:
        yield url, ledger, client, headers
    ledger.close()


def cli_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_parity_list_batteries(fleet: tuple[str, Ledger, TestClient, dict[str, str]]) -> None:
    url, ledger, client, headers = fleet
    page = service.list_batteries(ledger, chemistry="lfp", limit=3, offset=1)
    expected = BatteryListRead.from_result(page).model_dump(mode="json")
    assert expected["total"] > 4 and len(expected["batteries"]) == 3
    assert all(b["chemistry"] == "LFP" for b in expected["batteries"])
    by_cli = cli_json("battery", "list", "--chemistry", "lfp", "--limit", "3", "--offset", "1", "--db", url)
    r = client.get("/batteries", params={"chemistry": "lfp", "limit": 3, "offset": 1}, headers=headers)
    assert r.status_code == 200, r.text
    assert by_cli == r.json() == expected


def test_parity_trace(fleet: tuple[str, Ledger, TestClient, dict[str, str]]) -> None:
    url, ledger, client, headers = fleet
    battery_id = next(
        e.battery_id for e in ledger.iter_events() if e.event_type is EventType.CUSTODY_ACCEPTED
    )
    expected = TraceRead.from_result(service.checked_trace(ledger, battery_id)).model_dump(mode="json")
    assert expected["chain_ok"] is True and len(expected["custody"]) >= 2
    # the checks the text output prints: batch roots and signatures, inclusion against a head
    assert expected["tree_size"] == ledger.counts().events
    assert expected["verified"] == all(c["ok"] for c in expected["checks"])  # no signed head in this fleet
    assert all(c["ok"] for c in expected["checks"] if "signature" in c["name"])
    names = " ".join(c["name"] for c in expected["checks"])
    assert "signature" in names and "global tree" in names, names
    by_cli = cli_json("trace", battery_id, "--db", url)
    r = client.get(f"/batteries/{battery_id}/trace", headers=headers)
    assert r.status_code == 200, r.text
    assert by_cli == r.json() == expected
    text_out = runner.invoke(app, ["trace", battery_id, "--db", url]).output
    for check in expected["checks"]:  # the same checks, by name, in the text output
        assert check["name"] in " ".join(text_out.split())


def test_trace_json_and_http_report_a_forged_batch_signature(tmp_path: Path) -> None:
    """Before checked_trace, `trace --json` and HTTP said chain_ok for a batch whose signature was replaced
    (the stream chain does not cover it); only the text output ran the batch checks."""
    url = f"sqlite:///{tmp_path / 'forged.db'}"
    settings = Settings(database_url=url, resolver_domain="https://id.example.test")
    run_demo(settings=settings, n_batteries=3, seed=2, replace=True, console=Console(file=io.StringIO()))
    ledger = Ledger.open(url)
    battery_id = next(iter(ledger.iter_events())).battery_id
    batch_id = ledger.read_stream(battery_id)[0].batch_id
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS batches_no_update")
        conn.exec_driver_sql("UPDATE batches SET signature = ? WHERE batch_id = ?", (b"\x01" * 64, batch_id))
    authority = next(o for o in ledger.list_organisations() if Role.AUTHORITY in o.roles)
    headers = {"X-API-Key": ledger.issue_api_key(authority.org_id)}
    expected = TraceRead.from_result(service.checked_trace(ledger, battery_id)).model_dump(mode="json")
    assert expected["chain_ok"] is True and expected["verified"] is False
    assert any(not c["ok"] and "signature" in c["name"] for c in expected["checks"])
    with TestClient(create_app(settings=settings, ledger=ledger)) as client:
        by_http = client.get(f"/batteries/{battery_id}/trace", headers=headers).json()
    assert cli_json("trace", battery_id, "--db", url) == by_http == expected
    ledger.close()


def test_parity_verify(fleet: tuple[str, Ledger, TestClient, dict[str, str]]) -> None:
    url, ledger, client, headers = fleet
    expected = VerifyRead.from_result(service.verify(ledger)).model_dump(mode="json")
    assert expected["ok"] is True and expected["events_checked"] == ledger.counts().events
    r = client.get("/verify", headers=headers)
    assert cli_json("verify", "--db", url) == r.json() == expected


def test_parity_append_file(tmp_path: Path) -> None:
    """The same event file appended through the service, `events append` and POST /events/bulk gives the
    same projection (recording times, and so hashes, differ)."""
    lines = [json.dumps(e) for e in _pack_events()]
    file = tmp_path / "events.ndjson"
    file.write_text("\n".join(lines))
    results = []
    for face in ("python", "cli", "http"):
        url = f"sqlite:///{tmp_path / face}.db"
        ledger = Ledger.open(url)
        keystore = KeyStore(keystore_dir_for(url))
        maker = Organisation("maker", "Maker Co", "CN", frozenset({Role.BATTERY_MANUFACTURER}))
        orgs_service.enrol(ledger, maker, keystore=keystore)
        if face == "python":
            summary = service.append_file(ledger, file, org="maker", keystore=keystore, batch_size=2)
            assert (summary.appended, summary.duplicates, summary.batches) == (4, 0, 2)
        elif face == "cli":
            assert "appended 4" in invoke("events", "append", str(file), "--org", "maker", "--db", url)
        else:
            key_id, key = keystore.load("maker")
            batch = sign_batch(parse_ndjson(lines), actor="maker", private_key=key)
            settings = Settings(database_url=url)
            with TestClient(create_app(settings=settings, ledger=ledger)) as client:
                r = client.post(
                    "/events/bulk",
                    content="\n".join(lines),
                    headers={
                        "X-API-Key": ledger.issue_api_key("maker"),
                        "X-Key-Id": key_id,
                        "X-Signature": batch.signature.hex(),
                    },
                )
            assert r.status_code == 201, r.text
        results.append([row[:11] + row[13:] for row in ledger.projection_rows()])
        ledger.close()
    assert results[0] == results[1] == results[2]
    assert results[0][0][1] == "in_service"


def _pack_events() -> list[dict[str, Any]]:
    bid = PACK["battery_id"]
    payload = {k: v for k, v in PACK.items() if k != "battery_id"} | {"manufacturer_id": "maker"}
    return [
        {"battery_id": bid, "event_type": "BatteryManufactured", "occurred_at": "2024-05-02T08:00:00Z", "payload": payload},
        {"battery_id": bid, "event_type": "BatteryPlacedOnMarket", "occurred_at": "2024-06-01T10:00:00Z", "payload": {"country": "DE"}},
        {"battery_id": bid, "event_type": "BatteryPutIntoService", "occurred_at": "2024-06-10T10:00:00Z", "payload": {}},
        {"battery_id": bid, "event_type": "StateOfHealthReported", "occurred_at": "2025-06-10T10:00:00Z", "payload": {"soh_pct": 97.2}},
    ]  # fmt: skip


# --- what a new user trips on ----------------------------------------------------------------------


def one_line_error(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit
    )
    text = result.output.strip()
    assert text.startswith("error:") and "\n" not in text, text
    return text


@pytest.mark.parametrize(
    "command", [["verify"], ["trace", "urn:uuid:x"], ["battery", "list"], ["ledger", "rebuild"]]
)
def test_reading_without_a_database_says_so_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nothing-here.db"
    text = one_line_error(*command, "--db", f"sqlite:///{missing}")
    assert "no database at" in text and str(missing) in text
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


def test_appending_a_missing_file_is_one_line(db: str, tmp_path: Path) -> None:
    text = one_line_error("events", "append", str(tmp_path / "nope.ndjson"), "--org", "maker", "--db", db)
    assert "nope.ndjson" in text and "no such file" in text
    assert not (tmp_path / "cli.db").exists()


def test_export_into_a_missing_folder_is_one_line(db: str, tmp_path: Path) -> None:
    invoke("init", "--db", db)
    target = tmp_path / "no" / "such" / "out.ndjson"
    text = one_line_error("export", str(target), "--db", db)
    assert "folder" in text and "does not exist" in text
    assert not (tmp_path / "no").exists()


def test_unknown_battery_is_one_line(db: str) -> None:
    invoke("init", "--db", db)
    assert "urn:uuid:nope" in one_line_error("trace", "urn:uuid:nope", "--db", db)


def test_battery_list_csv_paging_and_fitted_table(
    fleet: tuple[str, Ledger, TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ledger, _, _ = fleet
    total = ledger.counts().batteries
    rows = list(
        csv.DictReader(io.StringIO(invoke("battery", "list", "--limit", "1000", "--csv", "--db", url)))
    )
    assert len(rows) == total
    assert [r["battery_id"] for r in rows] == sorted(
        r.status.battery_id for r in ledger.batteries(limit=10_000)
    )
    first = cli_json("battery", "list", "--limit", "5", "--db", url)
    second = cli_json("battery", "list", "--limit", "5", "--offset", "5", "--db", url)
    assert first["next_offset"] == 5 and first["total"] == total
    assert not {b["battery_id"] for b in first["batteries"]} & {b["battery_id"] for b in second["batteries"]}

    monkeypatch.setenv("COLUMNS", "80")
    clikit.console.cache_clear()
    try:
        out = invoke("battery", "list", "--limit", "5", "--db", url)
    finally:
        clikit.console.cache_clear()
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out
    first_column = "".join(line.split("│")[1].strip() for line in out.splitlines() if line.count("│") > 2)
    for b in first["batteries"]:  # every id is there in full, folded over lines if need be
        assert b["battery_id"] in first_column
    assert "next page: --offset 5" in out


def test_battery_search_by_code_prefix(fleet: tuple[str, Ledger, TestClient, dict[str, str]]) -> None:
    url, ledger, _, _ = fleet
    reg = next(
        e
        for e in ledger.iter_events()
        if e.event_type is EventType.BATTERY_MANUFACTURED and "gbt_code" in e.payload
    )
    found = cli_json("battery", "search", reg.payload["gbt_code"][:20].lower(), "--db", url)
    assert reg.battery_id in [b["battery_id"] for b in found["batteries"]]
    exact = cli_json("battery", "search", reg.payload["gbt_code"], "--db", url)
    assert [b["battery_id"] for b in exact["batteries"]] == [reg.battery_id]
    assert "unknown state" in one_line_error("battery", "list", "--state", "melted", "--db", url)
    bare = reg.battery_id.removeprefix("urn:uuid:")[:13].upper()  # an id typed without its scheme
    assert reg.battery_id in [
        b["battery_id"] for b in cli_json("battery", "search", bare, "--db", url)["batteries"]
    ]
    assert invoke("battery", "search", "no-such-code", "--db", url).strip().endswith("no battery matches")


def test_parity_export(fleet: tuple[str, Ledger, TestClient, dict[str, str]], tmp_path: Path) -> None:
    """The whole ledger as NDJSON: the same bytes from Python, `export FILE.ndjson` and GET /events/export;
    `after_position` gives the tail of it; an organisation that is no authority is refused."""
    url, ledger, client, headers = fleet
    by_python = tmp_path / "python.ndjson"
    summary = service.export_events(ledger, by_python)
    assert summary.events == ledger.counts().events > 0
    by_cli = tmp_path / "cli.ndjson"
    invoke("export", str(by_cli), "--db", url)
    r = client.get("/events/export", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    assert by_cli.read_bytes() == by_python.read_bytes() == r.content
    assert b"".join(service.stream_events(ledger)) == r.content
    lines = r.content.splitlines(keepends=True)
    tail = client.get("/events/export", params={"after_position": 5}, headers=headers)
    assert tail.content == b"".join(lines[5:])
    maker = next(o for o in ledger.list_organisations() if Role.BATTERY_MANUFACTURER in o.roles)
    refused = client.get("/events/export", headers={"X-API-Key": ledger.issue_api_key(maker.org_id)})
    assert refused.status_code == 403 and "authorities" in refused.json()["detail"]
    assert client.get("/events/export").status_code == 401
    assert client.get("/events/export", params={"after_position": -1}, headers=headers).status_code == 422


def test_parity_register_battery(tmp_path: Path) -> None:
    """A battery registered from Python, with `battery register` and as a client-signed BatteryManufactured
    over POST /events (the server never holds an organisation's private key) gives the same unit: the same
    status, projection and content hash of its first event."""
    spec = tmp_path / "pack.json"
    spec.write_text(json.dumps(PACK))
    made_at = "2024-05-02T08:00:00+00:00"
    results = []
    for face in ("python", "cli", "http"):
        url = f"sqlite:///{tmp_path / face}.db"
        ledger = Ledger.open(url)
        keystore = KeyStore(keystore_dir_for(url))
        maker = Organisation("maker", "Maker Co", "CN", frozenset({Role.BATTERY_MANUFACTURER}))
        orgs_service.enrol(ledger, maker, keystore=keystore)
        if face == "python":
            from datetime import datetime

            reg = service.register_battery(
                ledger, PACK, org="maker", keystore=keystore, occurred_at=datetime.fromisoformat(made_at)
            )
            assert (reg.battery_id, reg.appended) == (PACK["battery_id"], 1)
        elif face == "cli":
            out = invoke("battery", "register", str(spec), "--org", "maker", "--at", made_at, "--db", url)
            assert PACK["battery_id"] in out
        else:
            event = _pack_events()[0] | {"occurred_at": made_at}
            key_id, key = keystore.load("maker")
            batch = sign_batch(parse_ndjson([json.dumps(event)]), actor="maker", private_key=key)
            body = {"key_id": key_id, "signature": batch.signature.hex(), "events": [event]}
            with TestClient(create_app(settings=Settings(database_url=url), ledger=ledger)) as client:
                r = client.post("/events", json=body, headers={"X-API-Key": ledger.issue_api_key("maker")})
            assert r.status_code == 201, r.text
        (first,) = ledger.read_stream(PACK["battery_id"])
        results.append((first.content_hash, [row[:11] + row[13:] for row in ledger.projection_rows()]))
        ledger.close()
    assert results[0] == results[1] == results[2]
    assert results[0][1][0][1] == "manufactured"


def test_parity_rebuild_python_equals_cli(tmp_path: Path) -> None:
    """Rebuilding the projection (an operator's repair, not an HTTP use case) gives the rows the ledger had,
    from Python and from the CLI alike."""
    url = f"sqlite:///{tmp_path / 'rebuild.db'}"
    run_demo(
        settings=Settings(database_url=url),
        n_batteries=10,
        seed=3,
        replace=True,
        console=Console(file=io.StringIO()),
    )
    ledger = Ledger.open(url)
    before = ledger.projection_rows()
    assert service.rebuild(ledger) == len(before) > 0
    assert ledger.projection_rows() == before
    ledger.close()
    out = invoke("ledger", "rebuild", "--db", url)
    assert f"{len(before):,} batteries" in out
    ledger = Ledger.open(url)
    assert ledger.projection_rows() == before
    ledger.close()


def test_register_battery_refuses_another_manufacturer_and_bad_times(db: str, tmp_path: Path) -> None:
    ledger = Ledger.open(db)
    maker = Organisation("maker", "Maker Co", "CN", frozenset({Role.BATTERY_MANUFACTURER}))
    keystore = KeyStore(keystore_dir_for(db))
    orgs_service.enrol(ledger, maker, keystore=keystore)
    with pytest.raises(ValidationError, match="manufacturer_id 'rival' is not the registering 'maker'"):
        service.register_battery(ledger, PACK | {"manufacturer_id": "rival"}, org="maker", keystore=keystore)
    assert ledger.counts().events == 0
    ledger.close()
    spec = tmp_path / "pack.json"
    spec.write_text(json.dumps(PACK))
    assert "no time zone" in one_line_error(
        "battery", "register", str(spec), "--org", "maker", "--at", "2024-05-02T08:00", "--db", db
    )
    assert "not an ISO 8601" in one_line_error(
        "battery", "register", str(spec), "--org", "maker", "--at", "yesterday", "--db", db
    )
