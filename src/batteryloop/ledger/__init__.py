"""The tamper-evident ledger: append-only, hash-chained per battery, Merkle-signed per batch."""

from batteryloop.config import LedgerSettings
from batteryloop.ledger.core.canonical import canonical_json
from batteryloop.ledger.core.envelope import (
    AppendResult,
    BatteryRow,
    BrokenEvent,
    CustodySpan,
    LedgerCounts,
    RecordedEvent,
    Trace,
    TreeNode,
    VerifyReport,
)
from batteryloop.ledger.core.integrity import EventIn, SignedBatch, merkle_root
from batteryloop.ledger.service import Ledger, sign_batch
from batteryloop.orgs import KeyStore, generate_key, keystore_dir_for

__all__ = [
    "AppendResult",
    "BatteryRow",
    "BrokenEvent",
    "CustodySpan",
    "EventIn",
    "KeyStore",
    "Ledger",
    "LedgerCounts",
    "LedgerSettings",
    "RecordedEvent",
    "SignedBatch",
    "Trace",
    "TreeNode",
    "VerifyReport",
    "canonical_json",
    "generate_key",
    "keystore_dir_for",
    "merkle_root",
    "sign_batch",
]
