"""The input-validation holes, each reproduced: bad payloads refused on every append path, stored bad data
read with the bad fields left out and flagged, ``ledger check``, idempotency keys per organisation, edge
dates and identifiers answered with a 4xx / one-line CLI error."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batteryloop.app import create_app
from batteryloop.cli import app as cli_app
from batteryloop.config import Settings
from batteryloop.domain import fold, lifecycle
from batteryloop.domain.errors import ConflictError, ValidationError
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.ledger import EventIn, Ledger, service
from batteryloop.ledger.adapters import ingest
from batteryloop.orgs import service as orgs_service
from batteryloop.orgs.keystore import KeyStore, keystore_dir_for
from batteryloop.passport.service import PassportService

T = datetime(2025, 3, 1, 8, tzinfo=UTC)
PACK = {
    "level": "pack",
    "chemistry": "LFP",
    "category": "ev",
    "manufacturer_id": "maker",
    "model": "Blade-60",
    "mass_kg": 390.0,
    "rated_energy_kwh": 60.0,
    "rated_capacity_ah": 150.0,
    "nominal_voltage_v": 400.0,
    "manufactured_on": "2024-05-02",
    "manufacturing_country": "CN",
}
FTP = {"test_reports": {"result_of_test_report_url": "ftp://files.example/report.pdf"}}
HOLES = {
    "unknown chemistry": (E.BATTERY_MANUFACTURED, {**PACK, "chemistry": "UNOBTAINIUM"}, "chemistry"),
    "negative mass": (E.BATTERY_MANUFACTURED, {**PACK, "mass_kg": -390.0}, "mass_kg"),
    "ftp document link": (E.PASSPORT_DATA_REGISTERED, FTP, "result_of_test_report_url"),
}
runner = CliRunner()


def _event(bid: str, event_type: E, payload: dict[str, Any], minutes: int = 0) -> EventIn:
    from datetime import timedelta

    return EventIn(bid, event_type, T + timedelta(minutes=minutes), payload)


def _bad_batch(name: str) -> list[EventIn]:
    event_type, payload, _field = HOLES[name]
    if event_type is E.BATTERY_MANUFACTURED:
        return [_event("b-bad", event_type, payload)]
    return [_event("b-bad", E.BATTERY_MANUFACTURED, PACK), _event("b-bad", event_type, payload, 1)]


@pytest.mark.parametrize("name", list(HOLES))
def test_every_append_path_refuses_a_bad_payload_and_writes_nothing(
    name: str, any_ledger: Ledger, bl: Any, tmp_path: Path
) -> None:
    ledger = any_ledger
    world = bl.build_world(ledger)
    field = HOLES[name][2]
    events = _bad_batch(name)
    before = ledger.counts().events
    with pytest.raises(ValidationError, match=field):  # single batch
        world.maker.append(*events)
    with pytest.raises(ValidationError, match=field):  # bulk (pipelined, forked helper for big lists)
        ledger.append_bulk([world.maker.sign(events)])
    caller = ledger.get_organisation("maker")
    signed = world.maker.sign(events)
    with pytest.raises(ValidationError, match=field):  # the use case behind the HTTP face
        service.append_events(ledger, events, caller=caller, key_id=signed.key_id, signature=signed.signature)
    assert ledger.counts().events == before


def test_file_and_http_append_refuse_bad_payloads(tmp_path: Path, bl: Any) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    ledger = Ledger.open(url)
    store = KeyStore(keystore_dir_for(url))
    orgs_service.enrol(
        ledger, Organisation("maker", "Maker", "DE", frozenset({Role.BATTERY_MANUFACTURER})), keystore=store
    )
    lines = [
        {
            "battery_id": "b-bad",
            "event_type": str(e.event_type),
            "occurred_at": e.occurred_at.isoformat(),
            "payload": e.payload,
        }
        for e in _bad_batch("ftp document link")
    ]
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="result_of_test_report_url"):
        service.append_file(ledger, path, org="maker", keystore=store)
    result = runner.invoke(cli_app, ["events", "append", str(path), "--org", "maker", "--db", url])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "result_of_test_report_url" in errors[0]
    assert "Traceback" not in result.output
    assert ledger.counts().events == 0
    ledger.close()


@pytest.fixture
def stored_bad(any_ledger: Ledger, bl: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Ledger, Any]:
    """A ledger holding events an earlier version accepted (only presence and type of required keys were
    checked then): written through the real append path with today's payload rules switched off."""
    ledger = any_ledger
    world = bl.build_world(ledger)
    with monkeypatch.context() as m:
        m.setattr(fold, "check_event_payload", lifecycle.check_payload, raising=False)
        m.setattr(ingest, "check_event_payload", lifecycle.check_payload, raising=False)
        world.maker.append(
            _event("b-bad", E.BATTERY_MANUFACTURED, {**PACK, "chemistry": "UNOBTAINIUM", "mass_kg": -390.0}),
            _event("b-bad", E.PASSPORT_DATA_REGISTERED, {**FTP, "warranty_months": 96}, 1),
            _event("b-bad", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 91.0, "cycles": -5}, 2),
            _event("b-ok", E.BATTERY_MANUFACTURED, PACK),
        )
    assert ledger.verify().ok  # the stored events are genuine, signed and chained
    return ledger, world


def test_passport_and_trace_of_stored_bad_data_answer_with_the_bad_fields_flagged(
    stored_bad: tuple[Ledger, Any],
) -> None:
    ledger, _world = stored_bad
    passports = PassportService(ledger, resolver_domain="https://id.example")
    view = passports.view("b-bad", caller=ledger.get_organisation("maker"))
    doc = view.document
    assert doc["identity"]["chemistry"] is None and doc["identity"]["mass_kg"] is None
    assert doc["identity"]["rated_energy_kwh"] == 60.0  # the good fields stay
    assert doc["warranty_months"] == 96 and doc.get("test_reports") is None
    assert doc["condition"]["state_of_certified_energy_pct"]["value"] == 91.0
    flagged = {(i["position"], i["event_type"], i["field"]) for i in doc["data_issues"]}
    assert flagged == {
        (1, "BatteryManufactured", "chemistry"),
        (1, "BatteryManufactured", "mass_kg"),
        (2, "PassportDataRegistered", "test_reports.result_of_test_report_url"),
        (3, "StateOfHealthReported", "cycles"),
    }
    public = passports.view("b-bad").document  # anonymous: the issues are individual data
    assert "data_issues" not in public and public["identity"]["model"] == "Blade-60"
    trace = ledger.trace("b-bad")
    assert [e.position for e in trace.history] == [1, 2, 3] and trace.chain_ok
    from batteryloop.ledger import service as ledger_service
    from batteryloop.ledger.schemas import TraceRead

    read = TraceRead.from_result(
        ledger_service.checked_trace(ledger, "b-bad")
    )  # the HTTP and CLI --json body: the signed history, its issues named
    assert [(i.position, i.field) for i in read.data_issues] == [
        (1, "payload.chemistry"),
        (1, "payload.mass_kg"),
        (2, "payload.test_reports.result_of_test_report_url"),
        (3, "payload.cycles"),
    ]
    assert read.history[0].payload["chemistry"] == "UNOBTAINIUM"
    assert all(c.ok for c in read.checks if "signature" in c.name)  # the stored bad data is signed as sent


def test_ledger_check_lists_stored_events_todays_rules_refuse(
    stored_bad: tuple[Ledger, Any], tmp_path: Path
) -> None:
    ledger, _world = stored_bad
    report = service.check_stored(ledger)
    assert not report.ok and report.events_checked == 4 and report.events_refused == 3
    assert [(i.position, i.battery_id, i.event_type, i.field) for i in report.issues] == [
        (1, "b-bad", "BatteryManufactured", "payload.chemistry"),
        (1, "b-bad", "BatteryManufactured", "payload.mass_kg"),
        (2, "b-bad", "PassportDataRegistered", "payload.test_reports.result_of_test_report_url"),
        (3, "b-bad", "StateOfHealthReported", "payload.cycles"),
    ]
    assert "must be > 0" in report.issues[1].reason
    limited = service.check_stored(ledger, limit=1)
    assert limited.truncated and len(limited.issues) == 1
    with pytest.raises(PermissionError):
        service.check_stored(ledger, caller=ledger.get_organisation("maker"))


def test_ledger_check_parity_python_cli_http(
    tmp_path: Path, bl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    ledger = Ledger.open(url)
    world = bl.build_world(ledger)
    with monkeypatch.context() as m:
        m.setattr(fold, "check_event_payload", lifecycle.check_payload, raising=False)
        world.maker.append(_event("b-bad", E.BATTERY_MANUFACTURED, {**PACK, "manufactured_on": "2024-02-30"}))
    from batteryloop.ledger.schemas import StoredCheckRead

    python = StoredCheckRead.from_result(service.check_stored(ledger)).model_dump(mode="json")
    result = runner.invoke(cli_app, ["ledger", "check", "--json", "--db", url])
    assert result.exit_code == 1
    assert json.loads(result.output) == python
    table = runner.invoke(cli_app, ["ledger", "check", "--db", url])
    assert table.exit_code == 1 and "1 of 1 events hold values today's rules refuse" in table.output
    settings = Settings(database_url=url, admin_token="adm")
    with TestClient(create_app(settings=settings, ledger=ledger)) as client:
        key = client.post("/organisations/kba/api-keys", headers={"X-Admin-Token": "adm"})
        if key.status_code == 404:
            ledger.register_organisation(Organisation("kba", "KBA", "DE", frozenset({Role.AUTHORITY})))
            key = client.post("/organisations/kba/api-keys", headers={"X-Admin-Token": "adm"})
        r = client.get("/ledger/check", headers={"X-API-Key": key.json()["api_key"]})
        assert r.status_code == 200 and r.json() == python
    assert python["issues"][0]["field"] == "payload.manufactured_on"
    ledger.close()


def test_idempotency_keys_are_per_organisation(any_ledger: Ledger, bl: Any) -> None:
    ledger = any_ledger
    world = bl.build_world(ledger)
    other = bl.add_actor(ledger, "rival")
    mine = world.maker.append(
        bl.manufactured("m-1"), bl.ev("m-1", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, key="order-17")
    )
    theirs = other.append(
        bl.manufactured("r-1"), bl.ev("r-1", E.BATTERY_PLACED_ON_MARKET, {"country": "FR"}, key="order-17")
    )
    assert mine.appended == 2 and theirs.appended == 2  # the same key, independently
    replay = other.append(bl.ev("r-1", E.BATTERY_PLACED_ON_MARKET, {"country": "FR"}, key="order-17"))
    assert replay.appended == 0 and replay.duplicates == 1
    assert replay.first_position == theirs.last_position  # its own event, not the maker's
    with pytest.raises(ConflictError) as caught:  # the same key for a different event: its own position only
        other.append(bl.ev("r-1", E.BATTERY_PLACED_ON_MARKET, {"country": "IT"}, key="order-17"))
    assert f"position {theirs.last_position}" in str(caught.value)
    assert "m-1" not in str(caught.value) and f"position {mine.last_position})" not in str(caught.value)
    assert ledger.verify().ok


def test_custody_errors_name_no_other_organisation(ledger: Ledger, bl: Any) -> None:
    world = bl.build_world(ledger)
    world.maker.append(
        bl.manufactured("p1"), bl.ev("p1", E.CUSTODY_HANDED_OVER, {"to_org": "dealer"}, minutes=1)
    )
    with pytest.raises(Exception) as caught:
        world.recycler.append(bl.ev("p1", E.CUSTODY_ACCEPTED, minutes=2))
    assert "dealer" not in str(caught.value)
    world.dealer.append(bl.ev("p1", E.CUSTODY_ACCEPTED, minutes=2))
    with pytest.raises(Exception) as caught:
        world.recycler.append(bl.ev("p1", E.BATTERY_COLLECTED, minutes=3))
    assert "dealer" not in str(caught.value) and "maker" not in str(caught.value)


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """The app on SQLite and on PostgreSQL (which cannot take NUL: without the edge guard a storage error)."""
    if request.param == "pg":
        ledger: Ledger = request.getfixturevalue("pg_ledger")
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'api.db'}"
        ledger = Ledger.open(url)
    with TestClient(create_app(settings=Settings(database_url=url, admin_token="adm"), ledger=ledger)) as c:
        yield c
    if request.param != "pg":
        ledger.close()


BAD_IDS = ["a\x00b", "x" * 10_000, "a\nb", "\u202eevil"]


@pytest.mark.parametrize("bad", BAD_IDS, ids=["nul", "long", "newline", "bidi"])
def test_bad_identifiers_get_a_4xx_everywhere(client: TestClient, bad: str) -> None:
    admin = {"X-Admin-Token": "adm"}
    r = client.post(
        "/organisations",
        json={"org_id": bad, "name": "N", "country": "DE", "roles": ["recycler"]},
        headers=admin,
    )
    assert 400 <= r.status_code < 500
    q = quote(bad, safe="")
    for path in (
        f"/batteries/{q}",
        f"/batteries/{q}/trace",
        f"/passports/{q}",
        f"/passports/{q}/check",
        f"/organisations/{q}/api-keys",
    ):
        r = client.post(path, headers=admin) if path.endswith("api-keys") else client.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
    for name in ("holder", "code", "chemistry", "org"):
        r = client.get("/batteries", params={name: bad})
        assert 400 <= r.status_code < 500, (name, r.status_code)


@pytest.mark.parametrize(
    ("occurred_at", "why"),
    [
        ("0001-01-01T00:00:00+14:00", "outside 1900-01-01..2100-12-31"),
        ("9999-12-31T23:59:59-14:00", "outside 1900-01-01..2100-12-31"),
        ("3000-01-01T00:00:00Z", "outside"),
        ("2024-02-30T00:00:00Z", "occurred_at"),
        ("2024-01-01T00:00:00", "no time zone"),
        ("2024-01-01T00:00:00+99:00", "occurred_at"),
    ],
)
def test_edge_dates_get_a_422(client: TestClient, occurred_at: str, why: str) -> None:
    admin = {"X-Admin-Token": "adm"}
    assert (
        client.post(
            "/organisations",
            json={"org_id": "maker", "name": "M", "country": "DE", "roles": ["battery_manufacturer"]},
            headers=admin,
        ).status_code
        == 201
    )
    api = client.post("/organisations/maker/api-keys", headers=admin).json()["api_key"]
    body = {
        "key_id": "none",
        "signature": base64.b64encode(bytes(64)).decode(),
        "events": [
            {
                "battery_id": "b1",
                "event_type": "BatteryManufactured",
                "occurred_at": occurred_at,
                "payload": PACK,
            }
        ],
    }
    r = client.post("/events", json=body, headers={"X-API-Key": api})
    assert r.status_code == 422, r.text
    assert why in r.json()["detail"]


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert runner.invoke(cli_app, ["init", "--db", url]).exit_code == 0
    for args in (
        ["trace", "x" * 10_000, "--db", url],
        ["trace", "a\nb", "--db", url],
        ["org", "add", "a b", "--name", "N", "--country", "DE", "--role", "recycler", "--db", url],
        [
            "org",
            "add",
            "ok-org",
            "--name",
            "N",
            "--country",
            "DE",
            "--role",
            "recycler",
            "--cert",
            "other:r:0001-01-01",
            "--db",
            url,
        ],
        ["passport", "check", "b1", "--on", "2024-02-30", "--db", url],
    ):
        result = runner.invoke(cli_app, args)
        assert result.exit_code in (1, 2), (args[:2], result.output)
        assert ("Traceback" not in result.output and result.exception is None) or isinstance(
            result.exception, SystemExit
        )
        assert result.output.strip().count("\n") <= 1, result.output[:300]
