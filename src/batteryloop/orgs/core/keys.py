"""Identifiers of an organisation's keys.

A signing key is a raw 32-byte Ed25519 public key whose id is a fingerprint: the first 32 hex digits of its
sha256. API keys are random 256-bit secrets shown once; only their sha256 is stored (a fast hash is enough
for high-entropy secrets: there is nothing to brute-force).
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

API_KEY_PREFIX = "bl_"


def key_id_for(public_key: bytes) -> str:
    """The key id of a raw 32-byte Ed25519 public key: first 32 hex digits of its sha256."""
    return hashlib.sha256(public_key).hexdigest()[:32]


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key of an Ed25519 private key."""
    return private_key.public_key().public_bytes_raw()


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()
