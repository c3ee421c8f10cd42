"""Organisations, their certifications, Ed25519 signing keys (in a signed key log) and API keys (stored hashed).

The package names the registry's storage functions on a connection (the Ledger facade calls them inside
its own transactions); the use cases for Python, CLI and HTTP callers are in :mod:`batteryloop.orgs.service`.
"""

from batteryloop.orgs.adapters import (
    OrgStore,
    RegistryOps,
    SignerCache,
    authenticate,
    get_organisation,
    issue_api_key,
    list_organisations,
    register_organisation,
    verify_keys,
)
from batteryloop.orgs.core.keylog import OPERATOR
from batteryloop.orgs.core.keys import hash_api_key, key_id_for, public_key_bytes
from batteryloop.orgs.keystore import KeyStore, generate_key, keystore_dir_for

__all__ = [
    "OPERATOR",
    "KeyStore",
    "OrgStore",
    "RegistryOps",
    "SignerCache",
    "authenticate",
    "generate_key",
    "get_organisation",
    "hash_api_key",
    "issue_api_key",
    "key_id_for",
    "keystore_dir_for",
    "list_organisations",
    "public_key_bytes",
    "register_organisation",
    "verify_keys",
]
