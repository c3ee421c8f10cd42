"""FastAPI dependencies of the organisation registry: the registry, the settings and the calling organisation.

The caller is identified by an API key in the `X-API-Key` header, an `Authorization: Bearer <key>` header
or (for the web pages) the `bl_api_key` cookie set by the /login form. Keys are stored hashed.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from batteryloop.config import Settings
from batteryloop.domain.errors import NotFoundError
from batteryloop.domain.organisation import Organisation
from batteryloop.orgs.service import OrgRegistry, authenticate
from batteryloop.web.problems import AuthError

__all__ = [
    "COOKIE_NAME",
    "OptionalOrgDep",
    "OrgDep",
    "RegistryDep",
    "SettingsDep",
    "current_org",
    "current_org_optional",
    "get_registry",
    "get_settings",
    "require_admin",
]

COOKIE_NAME = "bl_api_key"


def get_registry(request: Request) -> OrgRegistry:
    """The application's registry (the ledger it serves keeps the organisations)."""
    registry: OrgRegistry = request.app.state.ledger
    return registry


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    cookie = request.cookies.get(COOKIE_NAME)
    return cookie.strip() if cookie else None


def current_org_optional(request: Request) -> Organisation | None:
    """The calling organisation, or None for an anonymous (public) caller. A wrong key is an error."""
    key = _presented_key(request)
    if not key:
        return None
    try:
        return authenticate(get_registry(request), key)
    except (NotFoundError, PermissionError) as exc:
        raise AuthError("the API key presented is not valid") from exc


def current_org(request: Request) -> Organisation:
    org = current_org_optional(request)
    if org is None:
        raise AuthError("this endpoint needs an API key (X-API-Key header)")
    return org


def require_admin(request: Request) -> None:
    token = get_settings(request).admin_token
    presented = request.headers.get("x-admin-token", "")
    if not token or not hmac.compare_digest(token.encode(), presented.encode()):
        raise AuthError("this endpoint needs the administrator token (X-Admin-Token header)")


RegistryDep = Annotated[OrgRegistry, Depends(get_registry)]
OrgDep = Annotated[Organisation, Depends(current_org)]
OptionalOrgDep = Annotated[Organisation | None, Depends(current_org_optional)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
