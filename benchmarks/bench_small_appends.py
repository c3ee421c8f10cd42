#!/usr/bin/env python
"""CPU time of N small appends (one event per signed batch) on a fresh SQLite ledger, with the operator key in
the keystore (heads signed at the default cadence). The per-append cost of the key log in the signed heads (one
look-up of the newest head per append) shows most with one-event batches.

    PYTHONPATH=<tree>/src python benchmarks/bench_small_appends.py 1500   # prints CPU seconds
"""

import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.domain.organisation import Organisation, Role
from batteryloop.ledger import EventIn, Ledger, sign_batch
from batteryloop.orgs import public_key_bytes

n = int(sys.argv[1])
d = tempfile.mkdtemp()
ledger = Ledger.open(f"sqlite:///{d}/b.db")
ledger.operator_key()  # created and registered, in the keystore: the tree writer signs heads
ledger.register_organisation(Organisation("maker", "Maker", "DE", frozenset({Role.BATTERY_MANUFACTURER})))
key = Ed25519PrivateKey.generate()
ledger.add_signing_key("maker", public_key_bytes(key))
t0 = datetime(2025, 1, 1, tzinfo=UTC)
batches = [
    sign_batch(
        [
            EventIn(
                f"urn:uuid:{uuid.UUID(int=i + 1)}",
                "BatteryManufactured",
                t0 + timedelta(minutes=i),
                {"level": "pack", "chemistry": "LFP", "category": "ev"},
            )
        ],
        actor="maker",
        private_key=key,
    )
    for i in range(n)
]
start = time.process_time()
for b in batches:
    ledger.append(b)
cpu = time.process_time() - start
assert ledger.verify().ok
print(f"{cpu:.4f}")
