"""The JSON API end to end over HTTP (TestClient): auth, signed batches, bulk NDJSON, errors, read rules."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.domain.lifecycle import EventType
from batteryloop.ledger import EventIn, Ledger, sign_batch

ADMIN = {"X-Admin-Token": "s3cret-admin"}
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
PACK = {
    "level": "pack",
    "chemistry": "NMC811",
    "category": "ev",
    "manufacturer_id": "maker",
    "model": "P-75",
    "mass_kg": 450.0,
    "rated_energy_kwh": 75.0,
    "rated_capacity_ah": 200.0,
    "nominal_voltage_v": 375.0,
    "manufactured_on": "2025-02-20",
    "manufacturing_country": "CN",
}


class Party:
    def __init__(self, client: TestClient, org_id: str, role: str) -> None:
        self.client = client
        self.org_id = org_id
        r = client.post(
            "/organisations",
            json={"org_id": org_id, "name": org_id.title(), "country": "DE", "roles": [role]},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        r = client.post(f"/organisations/{org_id}/api-keys", headers=ADMIN)
        assert r.status_code == 201, r.text
        self.headers = {"X-API-Key": r.json()["api_key"]}
        self.key = Ed25519PrivateKey.generate()
        r = client.post(
            f"/organisations/{org_id}/signing-keys",
            json={"public_key_hex": self.key.public_key().public_bytes_raw().hex()},
            headers=ADMIN,  # the first key: admitted by the operator
        )
        assert r.status_code == 201, r.text
        self.key_id = r.json()["key_id"]

    def body(self, events: list[EventIn]) -> dict[str, Any]:
        batch = sign_batch(events, actor=self.org_id, private_key=self.key)
        return {
            "key_id": self.key_id,
            "signature": base64.b64encode(batch.signature).decode(),
            "events": [
                {
                    "battery_id": e.battery_id,
                    "event_type": str(e.event_type),
                    "occurred_at": e.occurred_at.isoformat(),
                    "payload": dict(e.payload),
                    **({"idempotency_key": e.idempotency_key} if e.idempotency_key else {}),
                }
                for e in events
            ],
        }

    def post(self, events: list[EventIn]) -> Any:
        return self.client.post("/events", json=self.body(events), headers=self.headers)


def ev(
    battery_id: str, event_type: EventType, minutes: int, payload: dict[str, Any] | None = None, **kw: Any
) -> EventIn:
    return EventIn(
        battery_id=battery_id,
        event_type=event_type,
        occurred_at=T0 + timedelta(minutes=minutes),
        payload=payload or {},
        **kw,
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    settings = Settings(database_url=url, admin_token=ADMIN["X-Admin-Token"])
    ledger = Ledger.open(url)
    with TestClient(create_app(settings=settings, ledger=ledger)) as c:
        yield c
    ledger.close()


def count_events(client: TestClient) -> int:
    ledger: Ledger = client.app.state.ledger  # type: ignore[attr-defined]
    return ledger.counts().events


def test_admin_token_is_required_to_create_organisations(client: TestClient) -> None:
    r = client.post(
        "/organisations", json={"org_id": "x1", "name": "X", "country": "DE", "roles": ["recycler"]}
    )
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "administrator token" in r.json()["detail"]


def test_signed_batch_round_trip_and_read_rules(client: TestClient) -> None:
    maker = Party(client, "maker", "battery_manufacturer")
    stranger = Party(client, "stranger", "recycler")
    authority = Party(client, "kba", "authority")
    r = maker.post([ev("urn:uuid:b1", EventType.BATTERY_MANUFACTURED, 0, PACK)])
    assert r.status_code == 201, r.text
    assert r.json()["appended"] == 1

    r = client.get("/batteries/urn:uuid:b1/trace", headers=maker.headers)
    assert r.status_code == 200
    trace = r.json()
    assert trace["chain_ok"] is True
    assert trace["battery"]["state"] == "manufactured"
    assert [e["event_type"] for e in trace["history"]] == ["BatteryManufactured"]

    r = client.get("/batteries/urn:uuid:b1/trace", headers=stranger.headers)
    assert r.status_code == 403
    assert "never held" in r.json()["detail"]
    assert client.get("/batteries/urn:uuid:b1", headers=authority.headers).status_code == 200
    assert client.get("/batteries/urn:uuid:b1").status_code == 401


def test_bad_signature_writes_nothing(client: TestClient) -> None:
    maker = Party(client, "maker", "battery_manufacturer")
    body = maker.body([ev("urn:uuid:b1", EventType.BATTERY_MANUFACTURED, 0, PACK)])
    body["events"][0]["payload"]["mass_kg"] = 1.0  # tampered after signing
    r = client.post("/events", json=body, headers=maker.headers)
    assert r.status_code == 401
    assert "Merkle root" in r.json()["detail"] or "signature" in r.json()["detail"]
    body["signature"] = "not base64!"
    assert client.post("/events", json=body, headers=maker.headers).status_code == 401
    del body["signature"]
    assert client.post("/events", json=body, headers=maker.headers).status_code == 422
    assert count_events(client) == 0


def test_illegal_transition_custody_and_idempotency_errors(client: TestClient) -> None:
    maker = Party(client, "maker", "battery_manufacturer")
    other = Party(client, "other", "dismantler")
    assert maker.post([ev("urn:uuid:b1", EventType.BATTERY_MANUFACTURED, 0, PACK)]).status_code == 201

    r = maker.post([ev("urn:uuid:b1", EventType.BATTERY_RECYCLED, 5)])
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert "urn:uuid:b1" in detail and "manufactured" in detail and "BatteryRecycled" in detail

    r = other.post([ev("urn:uuid:b1", EventType.BATTERY_PLACED_ON_MARKET, 5, {"country": "DE"})])
    assert r.status_code == 403
    assert "other" in r.json()["detail"]

    r = maker.post([ev("urn:uuid:ghost", EventType.BATTERY_RETIRED, 5)])
    assert r.status_code in (404, 409)
    assert "urn:uuid:ghost" in r.json()["detail"]

    first = ev("urn:uuid:b1", EventType.BATTERY_PLACED_ON_MARKET, 6, {"country": "DE"}, idempotency_key="k-1")
    assert maker.post([first]).status_code == 201
    assert maker.post([first]).json()["duplicates"] == 1
    clash = ev("urn:uuid:b1", EventType.STATE_OF_HEALTH_REPORTED, 7, {"soh_pct": 99.0}, idempotency_key="k-1")
    r = maker.post([clash])
    assert r.status_code == 409
    assert "k-1" in r.json()["detail"]
    assert count_events(client) == 2


def test_bulk_ndjson_names_the_bad_line_and_writes_nothing(client: TestClient) -> None:
    maker = Party(client, "maker", "battery_manufacturer")
    events = [ev(f"urn:uuid:b{i}", EventType.BATTERY_MANUFACTURED, i, PACK) for i in range(3)]
    batch = sign_batch(events, actor="maker", private_key=maker.key)
    lines = [
        orjson.dumps(
            {
                "battery_id": e.battery_id,
                "event_type": str(e.event_type),
                "occurred_at": e.occurred_at.isoformat(),
                "payload": dict(e.payload),
            }
        )
        for e in events
    ]
    headers = {**maker.headers, "X-Key-Id": maker.key_id, "X-Signature": batch.signature.hex()}
    broken = b"\n".join([lines[0], lines[1], b'{"battery_id": "urn:uuid:b2", oops'])
    r = client.post("/events/bulk", content=broken, headers=headers)
    assert r.status_code == 422
    assert r.json()["line"] == 3
    assert "line 3" in r.json()["detail"]
    assert count_events(client) == 0

    r = client.post("/events/bulk", content=b"\n".join(lines), headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["appended"] == 3


def test_oversize_payload_is_refused(client: TestClient) -> None:
    maker = Party(client, "maker", "battery_manufacturer")
    big = {**PACK, "notes": "x" * (70 * 1024)}
    r = maker.post([ev("urn:uuid:b1", EventType.BATTERY_MANUFACTURED, 0, big)])
    assert r.status_code == 422
    assert "payload" in r.json()["detail"]
    assert count_events(client) == 0


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/organisations", "/events", "/events/bulk", "/batteries/{battery_id}/trace", "/verify"):
        assert path in paths


def test_list_batteries_held_by_the_caller(client: TestClient) -> None:
    maker = Party(client, "maker", "battery_manufacturer")
    other = Party(client, "other", "recycler")
    authority = Party(client, "kba", "authority")
    events = [ev(f"urn:uuid:b{i}", EventType.BATTERY_MANUFACTURED, i, PACK) for i in range(3)]
    assert maker.post(events).status_code == 201
    mine = client.get("/batteries", headers=maker.headers).json()
    assert mine["custodian"] == "maker"
    assert sorted(b["battery_id"] for b in mine["batteries"]) == ["urn:uuid:b0", "urn:uuid:b1", "urn:uuid:b2"]
    assert client.get("/batteries", headers=other.headers).json()["batteries"] == []
    assert client.get("/batteries?custodian=maker", headers=other.headers).status_code == 403
    assert len(client.get("/batteries?custodian=maker", headers=authority.headers).json()["batteries"]) == 3
