"""The organisation endpoints over HTTP: filters and paging, the administrator token, the key rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.ledger import Ledger

ADMIN = {"X-Admin-Token": "s3cret-admin"}
ORGS = [
    {"org_id": "catl", "name": "CATL Ningde", "country": "CN", "roles": ["battery_manufacturer"]},
    {"org_id": "gem", "name": "GEM Jingmen", "country": "CN", "roles": ["recycler"]},
    {"org_id": "redwood", "name": "Redwood Materials", "country": "US", "roles": ["recycler"]},
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'orgs.db'}"
    ledger = Ledger.open(url)
    with TestClient(
        create_app(settings=Settings(database_url=url, admin_token="s3cret-admin"), ledger=ledger)
    ) as c:
        for body in ORGS:
            assert c.post("/organisations", json=body, headers=ADMIN).status_code == 201
        yield c
    ledger.close()


def test_list_filters_and_pages(client: TestClient) -> None:
    ids = lambda r: [o["org_id"] for o in r.json()]  # noqa: E731
    assert ids(client.get("/organisations")) == ["catl", "gem", "redwood"]
    r = client.get("/organisations", params={"role": "recycler"})
    assert ids(r) == ["gem", "redwood"] and r.headers["x-total-count"] == "2"
    assert ids(client.get("/organisations", params={"role": "recycler", "country": "US"})) == ["redwood"]
    assert ids(client.get("/organisations", params={"q": "jingmen"})) == ["gem"]
    r = client.get("/organisations", params={"limit": 2, "offset": 2})
    assert ids(r) == ["redwood"] and r.headers["x-total-count"] == "3"
    assert client.get("/organisations", params={"role": "wizard"}).status_code == 422


def test_admin_token_is_required_to_create_organisations_and_api_keys(client: TestClient) -> None:
    body = {"org_id": "x1", "name": "X", "country": "DE", "roles": ["recycler"]}
    r = client.post("/organisations", json=body)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert client.post("/organisations/gem/api-keys").status_code == 401
    assert client.post("/organisations", json=ORGS[0], headers=ADMIN).status_code == 409


def test_an_organisation_adds_signing_keys_only_for_itself_signed_by_its_key(client: TestClient) -> None:
    from batteryloop.orgs.core.keylog import registration, revocation, sign_statement

    key = client.post("/organisations/gem/api-keys", headers=ADMIN).json()["api_key"]
    first = Ed25519PrivateKey.generate()
    first_hex = first.public_key().public_bytes_raw().hex()
    r = client.post(
        "/organisations/gem/signing-keys", json={"public_key_hex": first_hex}, headers={"X-API-Key": key}
    )
    assert r.status_code == 422 and "must be signed" in r.json()["detail"]
    r = client.post("/organisations/gem/signing-keys", json={"public_key_hex": first_hex}, headers=ADMIN)
    assert r.status_code == 201  # the operator admits the first key
    first_id = r.json()["key_id"]
    public = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    statement = registration("gem", public, signer_org="gem", signer_key_id=first_id)
    body = {
        "public_key_hex": public.hex(),
        "signer_key_id": first_id,
        "signature_hex": sign_statement(statement, first).hex(),
    }
    r = client.post("/organisations/catl/signing-keys", json=body, headers={"X-API-Key": key})
    assert r.status_code == 403 and "gem may not add signing keys of catl" in r.json()["detail"]
    r = client.post("/organisations/gem/signing-keys", json=body, headers={"X-API-Key": key})
    assert r.status_code == 201 and r.json()["public_key_hex"] == public.hex()
    revoke = revocation("gem", first_id, signer_org="gem", signer_key_id=first_id)
    r = client.post(
        f"/organisations/gem/signing-keys/{first_id}/revoke",
        json={"signer_key_id": first_id, "signature_hex": sign_statement(revoke, first).hex()},
        headers={"X-API-Key": key},
    )
    assert r.status_code == 201 and r.json()["signed_by"] == f"gem/{first_id}"
    listed = client.get("/organisations/gem/signing-keys").json()
    assert [(k["key_id"], k["status"]) for k in listed] == [
        (first_id, "revoked"),
        (statement.key_id, "valid"),
    ]
    r = client.post(f"/organisations/gem/signing-keys/{first_id}/revoke", json={}, headers=ADMIN)
    assert r.status_code == 422 and "already revoked" in r.json()["detail"]


def test_api_keys_are_listed_rotated_and_revoked_over_http(client: TestClient) -> None:
    secret = client.post("/organisations/gem/api-keys", headers=ADMIN).json()["api_key"]
    own = {"X-API-Key": secret}
    (row,) = client.get("/organisations/gem/api-keys", headers=own).json()
    assert client.get("/organisations/catl/api-keys", headers=own).status_code == 403
    assert client.get("/organisations/gem/api-keys").status_code == 401
    rotated = client.post(f"/organisations/gem/api-keys/{row['api_key_id']}/rotate", headers=own)
    assert rotated.status_code == 201 and rotated.json()["revoked"]["revoked_at"] is not None
    assert client.get("/organisations/gem/api-keys", headers=own).status_code == 401  # the old key is dead
    new = {"X-API-Key": rotated.json()["issued"]["api_key"]}
    assert len(client.get("/organisations/gem/api-keys", headers=new).json()) == 2
    trail = client.get("/audit", headers=new).json()
    assert [(a["actor"], a["action"]) for a in trail][-3:] == [
        ("operator", "api_key.issue"),
        ("gem", "api_key.issue"),
        ("gem", "api_key.revoke"),
    ]
    assert {a["org_id"] for a in trail} == {"gem"}
    assert client.get("/audit", params={"org_id": "catl"}, headers=new).status_code == 403
