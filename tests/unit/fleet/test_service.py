"""generate_into_ledger: the fleet's organisations, keys and signed batches reach the ledger."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.domain.errors import ValidationError
from batteryloop.fleet.service import generate_into_ledger
from batteryloop.ledger.core.integrity import verify_root_signature


class MemoryLedger:
    def __init__(self) -> None:
        self.orgs: list[str] = []
        self.public_keys: dict[str, bytes] = {}
        self.batches: list[Any] = []

    def register_organisation(self, org: Any) -> None:
        self.orgs.append(org.org_id)

    def add_signing_key(self, org_id: str, public_key: bytes) -> str:
        self.public_keys[org_id] = public_key
        return org_id

    def append_bulk(self, batches_in: Any, progress: Any = None) -> int:
        n = 0
        for batch in batches_in:
            self.batches.append(batch)
            n += len(batch.events)
            if progress is not None:
                progress(len(batch.events))
        return n


class MemoryKeys:
    def generate_key(self, org_id: str) -> tuple[str, Ed25519PrivateKey]:
        return org_id, Ed25519PrivateKey.generate()


def test_every_event_is_appended_in_batches_signed_by_registered_organisations() -> None:
    ledger = MemoryLedger()
    progressed: list[int] = []
    loaded = generate_into_ledger(ledger, MemoryKeys(), seed=3, n_batteries=8, progress=progressed.append)
    fleet = loaded.fleet
    assert loaded.events_appended == len(fleet.events) == sum(progressed)
    assert sorted(ledger.orgs) == sorted(o.org_id for o in fleet.organisations)
    for batch in ledger.batches:
        assert batch.actor in ledger.public_keys
        verify_root_signature(batch.merkle_root, batch.signature, ledger.public_keys[batch.actor])
    assert loaded.generate_seconds >= 0.0 and loaded.append_seconds >= 0.0


def test_at_least_one_battery() -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        generate_into_ledger(MemoryLedger(), MemoryKeys(), seed=1, n_batteries=0)
