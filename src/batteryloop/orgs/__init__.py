"""Organisations, their certifications, Ed25519 signing keys and API keys (stored hashed)."""

from batteryloop.orgs.service import (
    add_signing_key,
    authenticate,
    get_organisation,
    hash_api_key,
    issue_api_key,
    list_organisations,
    register_organisation,
    signing_key,
)

__all__ = [
    "add_signing_key",
    "authenticate",
    "get_organisation",
    "hash_api_key",
    "issue_api_key",
    "list_organisations",
    "register_organisation",
    "signing_key",
]
