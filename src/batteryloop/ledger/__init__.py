"""The tamper-evident ledger: append-only, hash-chained per battery, Merkle-signed per batch."""

from batteryloop.ledger.canonical import canonical_json
from batteryloop.ledger.envelope import (
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
from batteryloop.ledger.integrity import EventIn, SignedBatch, merkle_root, sign_batch
from batteryloop.ledger.keystore import KeyStore, generate_key, keystore_dir_for
from batteryloop.ledger.service import Ledger
from batteryloop.ledger.settings import LedgerSettings

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
