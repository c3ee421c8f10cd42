"""For tests of the web pages: the CSRF token of a rendered form and signing in through the /login form."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def set_cookies(response: Any) -> dict[str, Any]:
    """The cookies a response sets, by name, with their attributes (``SimpleCookie`` morsels)."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return dict(jar)


def login_form(client: Any, **headers: str) -> str:
    """Open the sign-in form; keep its double-submit cookie in the client (also when it is ``Secure`` and the
    test client speaks plain HTTP); return the form's CSRF token."""
    page = client.get("/login", headers=headers)
    cookie = set_cookies(page).get("bl_csrf")
    if cookie is not None:
        client.cookies.set("bl_csrf", cookie.value)
    return csrf_of(page.text)


def sign_in(client: Any, api_key: str) -> str:
    """Sign in through the form; keep the session cookie in the client; return the session id."""
    token = login_form(client)
    response = client.post(
        "/login", data={"api_key": api_key, "next": "/", "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    session = set_cookies(response)["bl_session"].value
    client.cookies.set("bl_session", session)
    return session
