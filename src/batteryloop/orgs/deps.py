"""FastAPI dependencies of the organisation registry: the registry, the settings and the calling organisation.

The caller is identified by an API key in the `X-API-Key` header, an `Authorization: Bearer <key>` header
or (for the web pages) the server-side session whose random id the `bl_session` cookie holds (set by the
/login form; see ``batteryloop.web.sessions``). Keys and session ids are stored hashed. A session signs in
only safe requests (GET, HEAD, OPTIONS): a state-changing API call needs a key, and a page's form post checks
its CSRF token itself.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from batteryloop.config import Settings
from batteryloop.domain.errors import NotFoundError
from batteryloop.domain.organisation import Organisation
from batteryloop.orgs.adapters.sessions import SessionStore
from batteryloop.orgs.service import OrgRegistry, authenticate, session_caller
from batteryloop.web.problems import AuthError
from batteryloop.web.sessions import SAFE_METHODS, session_id_of

__all__ = [
    "COOKIE_NAME",
    "OptionalOrgDep",
    "OrgDep",
    "RegistryDep",
    "SessionsDep",
    "SettingsDep",
    "admin_required",
    "current_org",
    "current_org_optional",
    "get_registry",
    "get_sessions",
    "get_settings",
    "require_admin",
]

COOKIE_NAME = "bl_session"


def get_registry(request: Request) -> OrgRegistry:
    """The application's registry (the ledger it serves keeps the organisations)."""
    registry: OrgRegistry = request.app.state.ledger
    return registry


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_sessions(request: Request) -> SessionStore:
    """The web sessions, kept in the served ledger's database."""
    sessions: SessionStore | None = getattr(request.app.state, "sessions", None)
    if sessions is None:
        sessions = SessionStore(request.app.state.ledger.engine)
        request.app.state.sessions = sessions
    return sessions


def _presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


def current_org_optional(request: Request) -> Organisation | None:
    """The calling organisation, or None for an anonymous (public) caller. A wrong key is an error; an
    unknown, ended or expired session is anonymous (the person signs in again)."""
    key = _presented_key(request)
    if not key:
        session_id = session_id_of(request)
        if session_id is None or request.method not in SAFE_METHODS:
            return None
        return session_caller(get_registry(request), session_id, sessions=get_sessions(request))
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


# FastAPI runs a plain ``def`` dependency in its thread pool. Those that only read app.state or headers are
# wrapped as ``async`` so that they cost a request no hop between threads; those that read the database
# (the caller's key or session) stay ``def``, off the event loop.


async def _registry(request: Request) -> OrgRegistry:
    return get_registry(request)


async def _settings(request: Request) -> Settings:
    return get_settings(request)


async def _sessions(request: Request) -> SessionStore:
    return get_sessions(request)


async def admin_required(request: Request) -> None:
    """:func:`require_admin` as a route dependency."""
    require_admin(request)


RegistryDep = Annotated[OrgRegistry, Depends(_registry)]
OrgDep = Annotated[Organisation, Depends(current_org)]
OptionalOrgDep = Annotated[Organisation | None, Depends(current_org_optional)]
SettingsDep = Annotated[Settings, Depends(_settings)]
SessionsDep = Annotated[SessionStore, Depends(_sessions)]
