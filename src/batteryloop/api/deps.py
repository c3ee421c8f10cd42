"""Request dependencies: the ledger, the settings and the calling organisation.

The caller is identified by an API key in the `X-API-Key` header, an `Authorization: Bearer <key>` header
or (for the web pages) the `bl_api_key` cookie set by the /login form. Keys are stored hashed by the ledger.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from batteryloop.api.problems import AuthError
from batteryloop.config import Settings
from batteryloop.domain.errors import NotFoundError
from batteryloop.domain.organisation import Organisation

if TYPE_CHECKING:
    from batteryloop.ledger import Ledger

COOKIE_NAME = "bl_api_key"


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


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
        return get_ledger(request).authenticate(key)
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


LedgerDep = Annotated["Ledger", Depends(get_ledger)]
OrgDep = Annotated[Organisation, Depends(current_org)]
OptionalOrgDep = Annotated[Organisation | None, Depends(current_org_optional)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
