"""The ledger as a transparency log (RFC 6962/9162 model): signed tree heads, inclusion and consistency proofs,
published heads, proof bundles and their stand-alone verifier. The tree itself is the ledger's
(:mod:`batteryloop.ledger.core.merkle`, grown in each append's transaction); this capability is its faces."""

from batteryloop.transparency.service import (
    ConsistencyView,
    HeadView,
    InclusionView,
    PublishResult,
    bundle,
    checkpoint,
    head,
    keys,
    prove_consistency,
    prove_inclusion,
    publish,
    verify_passport,
)

__all__ = [
    "ConsistencyView",
    "HeadView",
    "InclusionView",
    "PublishResult",
    "bundle",
    "checkpoint",
    "head",
    "keys",
    "prove_consistency",
    "prove_inclusion",
    "publish",
    "verify_passport",
]
