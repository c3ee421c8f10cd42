"""The caller's dependencies moved to :mod:`batteryloop.orgs.deps` and the ledger's to
:mod:`batteryloop.ledger.deps`; the names are kept here for faces that still import them from this module."""

from batteryloop.ledger.deps import LedgerDep, get_ledger
from batteryloop.orgs.deps import (
    COOKIE_NAME,
    OptionalOrgDep,
    OrgDep,
    SettingsDep,
    current_org,
    current_org_optional,
    get_settings,
    require_admin,
)

__all__ = [
    "COOKIE_NAME",
    "LedgerDep",
    "OptionalOrgDep",
    "OrgDep",
    "SettingsDep",
    "current_org",
    "current_org_optional",
    "get_ledger",
    "get_settings",
    "require_admin",
]
