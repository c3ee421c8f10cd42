"""Import path kept for the organisations slice and benchmarks: the code lives in ``ledger.core.integrity``."""

from batteryloop.ledger.core.integrity import (
    EventIn,
    SignedBatch,
    key_id_for,
    merkle_root,
    public_key_bytes,
    sign_batch,
)

__all__ = ["EventIn", "SignedBatch", "key_id_for", "merkle_root", "public_key_bytes", "sign_batch"]
