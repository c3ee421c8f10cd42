"""The web pages' session cookie and CSRF tokens.

A person signs in once with an API key; the server answers with a random session id (``orgs`` keeps only its
hash, with the organisation and the expiry). The cookie holding it is ``HttpOnly`` (no script reads it),
``SameSite=Lax`` (not sent on cross-site form posts) and ``Secure`` whenever the site is reached over HTTPS:
the configured public base URL is ``https://`` or the request came over HTTPS (directly, or per
``X-Forwarded-Proto`` from a trusted proxy, which the edge's proxy middleware turns into the request scheme).

Every state-changing form carries a CSRF token checked on POST (a synchroniser token):

* signed in: an HMAC of the session id (``batteryloop/csrf/v1``), so the token is bound to the session, is not
  stored anywhere and dies with it; a cross-site page can neither read the cookie nor compute the token;
* not yet signed in (the sign-in form): double submit, the token is a random value also held in the
  ``bl_csrf`` cookie (HttpOnly, SameSite=Lax), so a cross-site page cannot post someone into its own account.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "CsrfError",
    "check_csrf",
    "clear_session_cookie",
    "csrf_token",
    "is_https",
    "remember_csrf_cookie",
    "session_id_of",
    "set_session_cookie",
]

SESSION_COOKIE = "bl_session"
CSRF_COOKIE = "bl_csrf"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CSRF_LABEL = b"batteryloop/csrf/v1"
_NEW_CSRF = "batteryloop.csrf_new"


class CsrfError(PermissionError):
    """A state-changing form post without the right CSRF token (HTTP 403)."""


def session_id_of(request: Request) -> str | None:
    value = request.cookies.get(SESSION_COOKIE, "").strip()
    return value or None


def is_https(request: Request, public_base_url: str) -> bool:
    """Whether cookies must be ``Secure``: the public URL is https or this request came over HTTPS."""
    return public_base_url.lower().startswith("https://") or request.url.scheme == "https"


def _bound(session_id: str) -> str:
    return hmac.new(session_id.encode("utf-8"), _CSRF_LABEL, hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token a form rendered for ``request`` carries. Without a session, a double-submit token: the
    ``bl_csrf`` cookie's value, or a new one that :func:`remember_csrf_cookie` sets on the response."""
    session_id = session_id_of(request)
    if session_id:
        return _bound(session_id)
    current = request.cookies.get(CSRF_COOKIE, "").strip()
    if current:
        return current
    fresh = request.scope.get(_NEW_CSRF)
    if not isinstance(fresh, str):
        fresh = secrets.token_urlsafe(32)
        request.scope[_NEW_CSRF] = fresh
    return fresh


def remember_csrf_cookie(request: Request, response: Response, *, secure: bool) -> None:
    """Set the double-submit cookie if rendering the page made a new token."""
    fresh = request.scope.get(_NEW_CSRF)
    if isinstance(fresh, str):
        response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="lax", secure=secure, path="/")


def check_csrf(request: Request, presented: str | None) -> None:
    """CsrfError unless ``presented`` is the token of this request's session (or its double-submit cookie)."""
    if not presented:
        raise CsrfError("the form has no CSRF token; reload the page and send it again")
    session_id = session_id_of(request)
    expected = _bound(session_id) if session_id else request.cookies.get(CSRF_COOKIE, "").strip()
    if not expected or not hmac.compare_digest(expected.encode(), presented.strip().encode()):
        raise CsrfError("the form's CSRF token is wrong or stale; reload the page and send it again")


def set_session_cookie(response: Response, session_id: str, *, max_age_s: int, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=max_age_s, httponly=True, samesite="lax", secure=secure, path="/"
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure, path="/")
