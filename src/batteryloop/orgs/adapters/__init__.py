"""The organisation registry's storage (SQL on a SQLAlchemy connection or engine, and the key log)."""

from batteryloop.orgs.adapters.keylog import SignerCache, verify_keys
from batteryloop.orgs.adapters.registry import (
    OrgStore,
    RegistryOps,
    authenticate,
    get_organisation,
    issue_api_key,
    list_organisations,
    register_organisation,
)

__all__ = [
    "OrgStore",
    "RegistryOps",
    "SignerCache",
    "authenticate",
    "get_organisation",
    "issue_api_key",
    "list_organisations",
    "register_organisation",
    "verify_keys",
]
