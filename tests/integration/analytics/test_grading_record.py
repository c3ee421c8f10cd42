"""Triage results written to the ledger as BatteryGraded events (CLI --record, POST /analytics/triage/events)
and shown in the passport's battery condition (JSON and page, English and Chinese): one atomic batch, holder
only, nothing written on failure, same events from Python, CLI and HTTP."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from batteryloop.analytics import service
from batteryloop.analytics.cli import analytics_app
from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.domain.errors import CustodyError, ValidationError
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import Ledger, sign_batch

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

AT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
HEADER = (
    "id,chemistry,level,soh_pct,dcir_mohm,dcir_bol_mohm,self_discharge_mv_per_day,capacity_spread_pct,"
    "voltage_spread_mv,insulation_ohm_per_v,negative_events,visual_damage,history,age_years"
)
ROWS = {
    "PK-A": "PK-A,LFP,pack,86.0,1.15,1.0,0.5,1.5,8,600,0,false,true,5",  # reuse
    "PK-B": "PK-B,LFP,pack,72.0,1.45,1.0,0.6,4.0,25,450,0,false,true,8",  # repurpose
    "PK-C": "PK-C,NCA,pack,75.0,1.40,1.0,0.7,2.0,12,500,0,false,true,7",  # recycle
}
runner = CliRunner()


def csv_of(*ids: str) -> str:
    return "\n".join([HEADER, *(ROWS[i] for i in ids)]) + "\n"


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(analytics_app, name="analytics")
    return app


@pytest.fixture
def graded_world(bl: Any, tmp_path: Path) -> Iterator[tuple[Ledger, Any, Any]]:
    """Three packs made by ``maker``, retired and collected by ``recycler``; a fourth still in service."""
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    world = bl.build_world(ledger)
    for bid in (*ROWS, "PK-D"):
        unit = bl.pack_unit(bid, serial=f"S{bid}")
        world.maker.append(
            bl.ev(bid, E.BATTERY_MANUFACTURED, unit.to_payload()),
            bl.ev(bid, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=1),
        )
    for bid in ROWS:
        world.maker.append(
            bl.ev(bid, E.BATTERY_RETIRED, {}, minutes=2),
            bl.ev(bid, E.CUSTODY_HANDED_OVER, {"to_org": "recycler"}, minutes=3),
        )
        world.recycler.append(
            bl.ev(bid, E.CUSTODY_ACCEPTED, {}, minutes=4), bl.ev(bid, E.BATTERY_COLLECTED, {}, minutes=5)
        )
    yield ledger, world, bl
    ledger.close()


def positions(ledger: Ledger) -> int:
    return ledger.counts().events


def test_python_record_writes_one_graded_event_per_battery_with_reasons(graded_world: Any) -> None:
    ledger, world, _ = graded_world
    batch = service.prepare_grading_csv(csv_of("PK-A", "PK-B", "PK-C"), actor="recycler", occurred_at=AT)
    signed = sign_batch(batch.events, actor="recycler", private_key=world.recycler.key)
    assert signed.merkle_root == batch.merkle_root
    result = service.record_grading(ledger, batch, key_id=signed.key_id, signature=signed.signature)
    assert result.appended == 3
    graded = {bid: ledger.read_stream(bid)[-1] for bid in ROWS}
    assert {bid: e.event_type for bid, e in graded.items()} == dict.fromkeys(ROWS, E.BATTERY_GRADED)
    decisions = {bid: (e.payload["grade"], e.payload["decision"]) for bid, e in graded.items()}
    assert decisions == {"PK-A": ("A", "reuse"), "PK-B": ("C", "repurpose"), "PK-C": ("D", "recycle")}
    a = graded["PK-A"].payload
    assert a["soh_pct"] == 86.0 and a["dcir_mohm"] == 1.15 and a["insulation_ohm_per_v"] == 600.0
    assert a["visual_damage"] is False and a["negative_events"] == 0
    assert "[reuse] soh_pct 86 >= 80 %: pass" in a["reasons"].splitlines()
    assert "Default triage profile" in a["profile"]
    assert ledger.status("PK-A").state == "graded"
    # the same grading again is recognised (content-derived idempotency keys): nothing new
    again = service.record_grading(ledger, batch, key_id=signed.key_id, signature=signed.signature)
    assert again.appended == 0 and again.duplicates == 3


def test_a_battery_not_held_refuses_the_whole_batch(graded_world: Any) -> None:
    ledger, world, _ = graded_world
    before = positions(ledger)
    # PK-D is held by the maker, not by the recycler: the batch of four writes nothing
    text = csv_of("PK-A", "PK-B") + ROWS["PK-A"].replace("PK-A", "PK-D") + "\n"
    batch = service.prepare_grading_csv(text, actor="recycler", occurred_at=AT)
    signed = sign_batch(batch.events, actor="recycler", private_key=world.recycler.key)
    with pytest.raises(CustodyError, match="PK-D"):
        service.record_grading(ledger, batch, key_id=signed.key_id, signature=signed.signature)
    assert positions(ledger) == before
    # a stranger (the maker, no longer holding PK-A) is refused too
    batch = service.prepare_grading_csv(csv_of("PK-A"), actor="maker", occurred_at=AT)
    signed = sign_batch(batch.events, actor="maker", private_key=world.maker.key)
    with pytest.raises(CustodyError):
        service.record_grading(ledger, batch, key_id=signed.key_id, signature=signed.signature)
    assert positions(ledger) == before


def test_a_bad_row_names_the_field_and_writes_nothing(graded_world: Any) -> None:
    ledger, _, _ = graded_world
    before = positions(ledger)
    bad = csv_of("PK-A") + ROWS["PK-B"].replace(",72.0,", ",130.0,") + "\n"
    with pytest.raises(ValidationError, match=r"row 2 \(PK-B\): soh_pct 130 is outside 0-120 %"):
        service.prepare_grading_csv(bad, actor="recycler", occurred_at=AT)
    negative = csv_of("PK-A") + ROWS["PK-B"].replace(",1.45,", ",-1.45,") + "\n"
    with pytest.raises(ValidationError, match=r"dcir_mohm is negative"):
        service.prepare_grading_csv(negative, actor="recycler", occurred_at=AT)
    assert positions(ledger) == before


def _client(ledger: Ledger, tmp_path: Path) -> TestClient:
    app = create_app(
        settings=Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}"),
        ledger=ledger,
    )
    return TestClient(app)


def test_http_prepare_sign_record_and_passport_shows_the_grading(graded_world: Any, tmp_path: Path) -> None:
    ledger, world, _ = graded_world
    client = _client(ledger, tmp_path)
    key = {"X-API-Key": ledger.issue_api_key("recycler")}
    body = {"csv": csv_of("PK-A", "PK-B", "PK-C"), "occurred_at": AT.isoformat()}
    assert client.post("/analytics/triage/events/prepare", json=body).status_code == 401
    prepared = client.post("/analytics/triage/events/prepare", json=body, headers=key)
    assert prepared.status_code == 200, prepared.text
    draft = prepared.json()
    python = service.prepare_grading_csv(body["csv"], actor="recycler", occurred_at=AT)
    assert draft["merkle_root"] == python.merkle_root
    assert [e["payload"] for e in draft["events"]] == [dict(e.payload) for e in python.events]
    assert draft["routes"] == {"reuse": 1, "remanufacture": 0, "repurpose": 1, "recycle": 1}

    signed = sign_batch(python.events, actor="recycler", private_key=world.recycler.key)
    record = {**body, "key_id": signed.key_id, "signature": base64.b64encode(signed.signature).decode()}
    before = positions(ledger)
    assert client.post("/analytics/triage/events", json=record).status_code == 401
    wrong = {**record, "signature": base64.b64encode(b"\x00" * 64).decode()}
    refused = client.post("/analytics/triage/events", json=wrong, headers=key)
    assert refused.status_code in (401, 403, 422), refused.text
    assert positions(ledger) == before
    done = client.post("/analytics/triage/events", json=record, headers=key)
    assert done.status_code == 201, done.text
    assert done.json()["appended"] == 3
    assert positions(ledger) == before + 3

    passport = client.get("/passports/PK-B", headers=key)
    assert passport.status_code == 200, passport.text
    grading = passport.json()["condition"]["grading"]
    assert grading["grade"] == "C" and grading["decision"] == "repurpose"
    assert grading["soh_pct"] == 72.0
    assert {m["name"]: m["value"] for m in grading["measured"]}["dcir_increase_pct"] == pytest.approx(45.0)
    assert any(r.startswith("[reuse] soh_pct 72 >= 80 %: FAIL") for r in grading["reasons"])
    assert "not reuse" in grading["summary"]
    # the public does not see the condition (Annex XIII(4): individual tier)
    assert "grading" not in (client.get("/passports/PK-B").json().get("condition") or {})

    page = client.get("/passports/PK-B/page", headers=key)
    assert page.status_code == 200
    assert 'id="grading"' in page.text and "repurpose for a second life" in page.text
    zh = client.get("/passports/PK-B/page", headers={**key, "Accept-Language": "zh-CN"})
    assert zh.status_code == 200
    assert 'id="grading"' in zh.text and "梯次利用" in zh.text


def test_http_bad_row_and_stranger_write_nothing(graded_world: Any, tmp_path: Path) -> None:
    ledger, world, _ = graded_world
    client = _client(ledger, tmp_path)
    key = {"X-API-Key": ledger.issue_api_key("recycler")}
    before = positions(ledger)
    bad = {
        "csv": csv_of("PK-A") + ROWS["PK-B"].replace(",LFP,", ",XYZ,") + "\n",
        "occurred_at": AT.isoformat(),
        "key_id": "k",
        "signature": "00" * 64,
    }
    r = client.post("/analytics/triage/events", json=bad, headers=key)
    assert r.status_code == 422 and "XYZ" in r.json()["detail"]
    assert positions(ledger) == before
    maker = {"X-API-Key": ledger.issue_api_key("maker")}
    body = {"csv": csv_of("PK-A"), "occurred_at": AT.isoformat()}
    batch = service.prepare_grading_csv(body["csv"], actor="maker", occurred_at=AT)
    signed = sign_batch(batch.events, actor="maker", private_key=world.maker.key)
    record = {**body, "key_id": signed.key_id, "signature": signed.signature.hex()}
    r = client.post("/analytics/triage/events", json=record, headers=maker)
    assert r.status_code in (403, 409), r.text
    assert positions(ledger) == before


def test_cli_record_matches_python(graded_world: Any, tmp_path: Path) -> None:
    ledger, world, _ = graded_world
    from batteryloop.ledger import KeyStore, keystore_dir_for

    db = str(ledger.engine.url)
    KeyStore(keystore_dir_for(db)).save("recycler", world.recycler.key)
    csv_file = tmp_path / "graded.csv"
    csv_file.write_text(csv_of("PK-A", "PK-C"), encoding="utf-8")
    missing_org = runner.invoke(cli_app(), ["analytics", "triage", str(csv_file), "--record", "--db", db])
    assert missing_org.exit_code != 0 and "--org" in missing_org.output
    before = positions(ledger)
    result = runner.invoke(
        cli_app(),
        ["analytics", "triage", str(csv_file), "--record", "--org", "recycler", "--at", AT.isoformat(),
         "--db", db, "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert positions(ledger) == before + 2
    python = service.prepare_grading_csv(csv_of("PK-A", "PK-C"), actor="recycler", occurred_at=AT)
    stored = [ledger.read_stream(bid)[-1] for bid in ("PK-A", "PK-C")]
    assert [dict(e.payload) for e in stored] == [dict(e.payload) for e in python.events]
