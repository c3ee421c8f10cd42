"""A small signed SQLite ledger of a synthetic fleet, loaded the way `batteryloop demo` loads one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.fleet import Fleet, generate_fleet, plan_batches
from batteryloop.fleet.service import to_event_in
from batteryloop.ledger import Ledger, SignedBatch, sign_batch

FLEET_SEED = 11
FLEET_SIZE = 150
FLEET_NOW = date(2040, 1, 1)  # late enough that a good share of the fleet has reached recyclers


@pytest.fixture(scope="session")
def fleet() -> Fleet:
    return generate_fleet(seed=FLEET_SEED, n_batteries=FLEET_SIZE, now=FLEET_NOW)


@pytest.fixture(scope="session")
def ledger_url(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("intake") / "fleet.db"
    url = f"sqlite:///{path}"
    ledger = Ledger.open(url, create=True)
    keys: dict[str, Ed25519PrivateKey] = {}
    for org in fleet.organisations:
        ledger.register_organisation(org)
        key = Ed25519PrivateKey.generate()
        ledger.add_signing_key(org.org_id, key.public_key().public_bytes_raw())
        keys[org.org_id] = key

    def batches() -> Iterator[SignedBatch]:
        for actor, chunk in plan_batches(fleet.events):
            yield sign_batch([to_event_in(e) for e in chunk], actor=actor, private_key=keys[actor])

    ledger.append_bulk(batches())
    ledger.close()
    return url


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    opened = Ledger.open(ledger_url, create=False)
    yield opened
    opened.close()
