"""The organisation registry's storage (SQL on a SQLAlchemy connection or engine)."""

from batteryloop.orgs.adapters.registry import (
    OrgStore,
    add_signing_key,
    authenticate,
    get_organisation,
    issue_api_key,
    list_organisations,
    register_organisation,
    signing_key,
)

__all__ = [
    "OrgStore",
    "add_signing_key",
    "authenticate",
    "get_organisation",
    "issue_api_key",
    "list_organisations",
    "register_organisation",
    "signing_key",
]
