"""The three holes an attacker reproduced, each closed: an API key alone registering a signing key, keys that
could not be revoked, and a key row inserted into the database (with a batch signed by it) passing verify.

Each test here failed on the tree before the key log (run once against /work/main, noted in BENCHMARKS.md's
"keys" section and the report).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.domain.errors import SignatureError
from batteryloop.ledger import Ledger
from batteryloop.orgs import key_id_for, public_key_bytes

ADMIN = {"X-Admin-Token": "s3cret-admin"}


def _bypass_key_checks(ledger: Ledger, public_key: bytes) -> None:
    """An attacker who writes rows past the ingest's key checks (as direct database access would)."""

    class Trusting:
        state = ledger._ingest.signers.state  # what the signed heads' key log line is read from

        def public_key(self, *_: Any) -> bytes:
            return public_key

        def check_current(self, *_: Any) -> None:
            return None

        def is_current(self, *_: Any) -> bool:
            return True

    if hasattr(ledger._ingest, "signers"):
        ledger._ingest.signers = Trusting()  # type: ignore[assignment]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Ledger]]:
    url = f"sqlite:///{tmp_path / 'holes.db'}"
    ledger = Ledger.open(url)
    with TestClient(
        create_app(settings=Settings(database_url=url, admin_token="s3cret-admin"), ledger=ledger)
    ) as c:
        body = {"org_id": "maker", "name": "Maker", "country": "DE", "roles": ["battery_manufacturer"]}
        assert c.post("/organisations", json=body, headers=ADMIN).status_code == 201
        yield c, ledger
    ledger.close()


def test_an_api_key_alone_cannot_register_a_signing_key(client: tuple[TestClient, Ledger], bl: Any) -> None:
    c, ledger = client
    first = Ed25519PrivateKey.generate()
    ledger.add_signing_key("maker", public_key_bytes(first))  # the operator admits the first key
    api_key = c.post("/organisations/maker/api-keys", headers=ADMIN).json()["api_key"]
    stolen = Ed25519PrivateKey.generate()
    body = {"public_key_hex": public_key_bytes(stolen).hex()}
    r = c.post("/organisations/maker/signing-keys", json=body, headers={"X-API-Key": api_key})
    assert r.status_code == 422, r.text
    assert "must be signed by a valid key" in r.json()["detail"]
    # a signature by the attacker's own key over the entry is no better
    forged = {
        **body,
        "signer_key_id": key_id_for(public_key_bytes(stolen)),
        "signature_hex": stolen.sign(b"anything").hex(),
    }
    r = c.post("/organisations/maker/signing-keys", json=forged, headers={"X-API-Key": api_key})
    assert r.status_code == 401 and "is not a valid key of maker" in r.json()["detail"], r.text
    batch = bl.Actor("maker", stolen, ledger).sign([bl.manufactured("p1")])
    with pytest.raises(SignatureError, match="unknown key"):
        ledger.append(batch)
    assert ledger.verify().ok


def test_signing_and_api_keys_can_be_revoked(any_ledger: Ledger, bl: Any) -> None:
    from batteryloop.orgs import service

    ledger = any_ledger

    maker = bl.add_actor(ledger, "maker")
    maker.append(bl.manufactured("p1"))
    issued = service.issue_api_key(ledger, "maker")
    assert ledger.authenticate(issued.api_key).org_id == "maker"
    (row,) = service.list_api_keys(ledger, "maker")
    service.revoke_api_key(ledger, "maker", api_key_id=row.api_key_id)
    with pytest.raises(LookupError):
        ledger.authenticate(issued.api_key)
    key_id = key_id_for(public_key_bytes(maker.key))
    revoked = service.revoke_signing_key_as_operator(
        ledger, "maker", key_id=key_id, operator_key=bl.OPERATOR_KEY
    )
    assert revoked.after_position == 1
    with pytest.raises(SignatureError, match="revoked"):
        maker.append(bl.manufactured("p2"))
    assert ledger.counts().events == 1 and ledger.verify().ok


def test_an_inserted_key_row_is_refused_on_write(ledger: Ledger, bl: Any) -> None:
    bl.add_actor(ledger, "maker")
    intruder = Ed25519PrivateKey.generate()
    public = public_key_bytes(intruder)
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO signing_keys (key_id, org_id, public_key, created_at) VALUES (?, ?, ?, ?)",
            (key_id_for(public), "maker", public, "2026-01-01T00:00:00Z"),
        )
    with pytest.raises(SignatureError, match="unknown key"):
        ledger.append(bl.Actor("maker", intruder, ledger).sign([bl.manufactured("p1")]))
    report = ledger.verify()
    assert not report.ok and "not in the signed key log" in report.first_broken.reason


def test_an_inserted_key_row_and_a_batch_signed_with_it_fail_verify(ledger: Ledger, bl: Any) -> None:
    maker = bl.add_actor(ledger, "maker")
    maker.append(bl.manufactured("p1"))
    intruder = Ed25519PrivateKey.generate()
    public = public_key_bytes(intruder)
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO signing_keys (key_id, org_id, public_key, created_at) VALUES (?, ?, ?, ?)",
            (key_id_for(public), "maker", public, "2026-01-01T00:00:00Z"),
        )
    _bypass_key_checks(ledger, public)
    ledger.append(bl.Actor("maker", intruder, ledger).sign([bl.manufactured("p2")]))
    report = ledger.verify()
    assert not report.ok
    assert report.first_broken.position == 2
    assert "not registered to maker in the signed key log" in report.first_broken.reason


def test_a_batch_signed_with_a_revoked_key_fails_verify(any_ledger: Ledger, bl: Any) -> None:
    ledger = any_ledger
    maker = bl.add_actor(ledger, "maker")
    new_key = bl.add_key(maker)
    maker.append(bl.manufactured("p1"))
    bl.revoke_key(maker, maker.key, signer=new_key)
    with pytest.raises(SignatureError, match="revoked"):
        maker.append(bl.manufactured("p2"))
    _bypass_key_checks(ledger, public_key_bytes(maker.key))
    maker.append(bl.manufactured("p2"))
    report = ledger.verify()
    assert not report.ok and report.first_broken.position == 2
    assert "not valid at position 2" in report.first_broken.reason
    assert "revoked after position 1" in report.first_broken.reason
