"""The HTTP edge end to end: body limits before authentication, rate limits, security headers, server-side
sessions with CSRF-checked forms, and reads served while a bulk upload runs."""

from __future__ import annotations

import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from batteryloop import config
from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.ledger import Ledger, sign_batch
from support.browser import free_port, serving
from support.web import csrf_of, login_form, set_cookies, sign_in

BASE = "https://id.example.test"


def _settings(db: Path, *, base: str = BASE, **web: Any) -> Settings:
    if not web:  # the defaults (so the tests also run, and fail, on a tree without WebSettings)
        return Settings(database_url=f"sqlite:///{db}", resolver_domain=base)
    web_settings = config.WebSettings.from_mapping(web)
    return Settings(database_url=f"sqlite:///{db}", resolver_domain=base, web=web_settings)


@pytest.fixture
def site(tmp_path: Path, bl: Any) -> Iterator[tuple[TestClient, Ledger, Any]]:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'edge.db'}")
    world = bl.build_world(ledger)
    with TestClient(create_app(settings=_settings(tmp_path / "edge.db"), ledger=ledger)) as client:
        yield client, ledger, world
    ledger.close()


# ------------------------------------------------------------------------------------------- body limits


def test_an_oversize_body_without_a_key_is_413_before_it_is_read(site: Any) -> None:
    client, _, _ = site
    body = b"[" + b"0," * (600 * 1024) + b"0]"  # 1.2 MB: over the anonymous 1 MiB limit
    r = client.post("/events", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert "1048576 bytes" in r.json()["detail"]


def test_a_streamed_body_is_counted_and_cut_off(site: Any) -> None:
    client, _, _ = site

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b" " * 32768  # 2 MiB in all, without a Content-Length

    r = client.post("/events", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["title"] == "Payload too large"
    assert "content-length" not in {k.lower() for k in r.request.headers}


def test_the_bulk_route_allows_more_only_to_a_request_with_a_credential(site: Any) -> None:
    client, ledger, _ = site
    body = b"x" * (2 * 1024 * 1024)
    anonymous = client.post("/events/bulk", content=body)
    assert anonymous.status_code == 413
    keyed = client.post(
        "/events/bulk", content=body, headers={"X-API-Key": ledger.issue_api_key("maker"), "X-Key-Id": "k"}
    )
    assert keyed.status_code != 413  # read, then refused on its merits (a bad signature header)
    assert keyed.status_code < 500


# ------------------------------------------------------------------------------------------- rate limits


def test_rate_limit_per_client_address_is_429_with_retry_after(tmp_path: Path) -> None:
    # a slow refill (one token per 100 s), so that a slow machine cannot refill a token between the requests
    settings = _settings(tmp_path / "r.db", rate_per_address_per_s=0.01, rate_burst_per_address=3)
    with TestClient(create_app(settings=settings)) as client:
        assert [client.get("/health").status_code for _ in range(3)] == [200, 200, 200]
        r = client.get("/health")
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert 90 <= int(r.headers["retry-after"]) <= 100  # one token at 0.01/s, less the time since
        assert "client address" in r.json()["detail"]
        # a forwarded address from a peer that is not a trusted proxy changes nothing
        assert client.get("/health", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429


def test_rate_limit_per_key_counts_each_key(tmp_path: Path, bl: Any) -> None:
    settings = _settings(tmp_path / "k.db", rate_per_key_per_s=0.01, rate_burst_per_key=2)
    ledger = Ledger.open(settings.database_url)
    bl.build_world(ledger)
    first, second = ledger.issue_api_key("maker"), ledger.issue_api_key("recycler")
    with TestClient(create_app(settings=settings, ledger=ledger)) as client:
        codes = [client.get("/batteries", headers={"X-API-Key": first}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert client.get("/batteries", headers={"X-API-Key": second}).status_code == 200
        assert client.get("/health").status_code == 200  # without a key only the address counts
    ledger.close()


def test_a_trusted_proxy_forwards_the_client_address(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path / "p.db", rate_per_address_per_s=0.1, rate_burst_per_address=1, trusted_proxies=["10.0.0.1"]
    )
    with TestClient(create_app(settings=settings), client=("10.0.0.1", 4000)) as client:
        for address in ("198.51.100.1", "198.51.100.2"):
            assert client.get("/health", headers={"X-Forwarded-For": address}).status_code == 200
        assert client.get("/health", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429
    with TestClient(create_app(settings=settings), client=("10.0.0.2", 4000)) as client:  # not trusted
        assert client.get("/health", headers={"X-Forwarded-For": "198.51.100.3"}).status_code == 200
        assert client.get("/health", headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 429


# ---------------------------------------------------------------------------------------- headers


def test_security_headers_on_pages_api_and_errors(site: Any) -> None:
    client, _, _ = site
    for path in ("/", "/login", "/health", "/openapi.json", "/no/such/page"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert r.headers["x-frame-options"] == "DENY", path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], path
    big = client.post("/events", content=b"x" * (2 * 1024 * 1024))
    assert big.status_code == 413 and big.headers["x-content-type-options"] == "nosniff"


def test_the_api_docs_allow_their_own_inline_script_by_hash_only(site: Any) -> None:
    client, _, _ = site
    r = client.get("/docs")
    assert r.status_code == 200
    script = r.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    assert "'sha256-" in script and "unsafe-inline" not in script


# ---------------------------------------------------------------------------------------- sessions


def test_the_session_cookie_holds_a_random_id_not_the_key(site: Any) -> None:
    client, ledger, _ = site
    key = ledger.issue_api_key("maker")
    token = login_form(client)
    r = client.post("/login", data={"api_key": key, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    cookie = set_cookies(r)["bl_session"]
    assert key not in r.headers["set-cookie"] and len(cookie.value) >= 43
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"].lower() == "lax"
    assert int(cookie["max-age"]) == 8 * 3600
    with ledger.engine.connect() as conn:  # stored hashed
        from sqlalchemy import select

        from batteryloop.db.schema import web_sessions

        stored = [row.session_hash for row in conn.execute(select(web_sessions))]
    assert cookie.value not in stored and len(stored) == 1


def test_the_cookie_is_not_secure_on_plain_http_but_is_behind_a_trusted_https_proxy(
    tmp_path: Path, bl: Any
) -> None:
    settings = _settings(tmp_path / "h.db", base="http://127.0.0.1:8000", trusted_proxies=["10.0.0.1"])
    ledger = Ledger.open(settings.database_url)
    bl.build_world(ledger)
    key = ledger.issue_api_key("maker")
    for peer, proto, secure in (
        ("127.0.0.1", "https", False),
        ("10.0.0.1", "http", False),
        ("10.0.0.1", "https", True),
    ):
        with TestClient(create_app(settings=settings, ledger=ledger), client=(peer, 1)) as client:
            headers = {"X-Forwarded-Proto": proto, "X-Forwarded-For": "198.51.100.7"}
            token = login_form(client, **headers)
            r = client.post(
                "/login", data={"api_key": key, "csrf_token": token}, headers=headers, follow_redirects=False
            )
            assert r.status_code == 303
            assert bool(set_cookies(r)["bl_session"]["secure"]) is secure, (peer, proto)
    ledger.close()


def test_sign_out_ends_the_session_on_the_server(site: Any) -> None:
    client, ledger, _ = site
    session = sign_in(client, ledger.issue_api_key("maker"))
    assert client.get("/ui/batteries", follow_redirects=False).status_code == 200
    page = client.get("/")
    assert "signed in" in page.text
    r = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set("bl_session", session)  # a copy of the cookie kept by someone
    again = client.get("/ui/batteries", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_a_session_does_not_authorise_state_changing_api_calls(site: Any) -> None:
    client, ledger, _ = site
    sign_in(client, ledger.issue_api_key("maker"))
    assert client.get("/batteries").status_code == 200  # a read, for the signed-in person's pages
    r = client.post("/events", json={"events": [], "key_id": "k", "signature": "00"})
    assert r.status_code == 401


@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_sign_in_without_the_right_csrf_token_is_403(site: Any, token: str | None) -> None:
    client, ledger, _ = site
    login_form(client)
    data = {"api_key": ledger.issue_api_key("maker")}
    if token is not None:
        data["csrf_token"] = token
    r = client.post("/login", data=data, follow_redirects=False)
    assert r.status_code == 403
    assert "bl_session" not in r.headers.get("set-cookie", "")


def test_sign_out_without_the_right_csrf_token_is_403_and_keeps_the_session(site: Any) -> None:
    client, ledger, _ = site
    sign_in(client, ledger.issue_api_key("maker"))
    for data in ({}, {"csrf_token": "wrong"}):
        assert client.post("/logout", data=data, follow_redirects=False).status_code == 403
    assert client.get("/ui/batteries", follow_redirects=False).status_code == 200


def test_a_token_of_another_session_is_refused(site: Any) -> None:
    client, ledger, _ = site
    sign_in(client, ledger.issue_api_key("maker"))
    theirs = csrf_of(client.get("/").text)
    sign_in(client, ledger.issue_api_key("maker"))  # a new session
    assert client.post("/logout", data={"csrf_token": theirs}, follow_redirects=False).status_code == 403


# ---------------------------------------------------------------------------------- bulk off the loop


class _SlowLedger:
    """The real ledger whose appends wait until the test lets them go (a bulk upload in flight)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.entered = threading.Event()
        self.release = threading.Event()

    def append_events(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        self.release.wait(timeout=30)
        return self._ledger.append_events(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


def test_a_read_is_served_while_a_bulk_upload_is_in_flight(tmp_path: Path, bl: Any) -> None:
    settings = _settings(tmp_path / "b.db", base="http://127.0.0.1")
    ledger = Ledger.open(settings.database_url)
    world = bl.build_world(ledger)
    key = ledger.issue_api_key("maker")
    events = [bl.manufactured(f"urn:uuid:bulk-{i}") for i in range(20)]
    batch = sign_batch(events, actor="maker", private_key=world.maker.key)
    key_id = ledger.add_signing_key("maker", world.maker.key.public_key().public_bytes_raw())
    body = b"\n".join(
        orjson.dumps(
            {
                "battery_id": e.battery_id,
                "event_type": str(e.event_type),
                "occurred_at": e.occurred_at.isoformat(),
                "payload": dict(e.payload),
            }
        )
        for e in events
    )
    slow = _SlowLedger(ledger)
    port = free_port()
    result: dict[str, Any] = {}
    with serving(create_app(settings=settings, ledger=slow), port):
        base = f"http://127.0.0.1:{port}"
        headers = {"X-API-Key": key, "X-Key-Id": key_id, "X-Signature": batch.signature.hex()}

        def upload() -> None:
            request = urllib.request.Request(f"{base}/events/bulk", data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=60) as response:
                result["bulk"] = (response.status, orjson.loads(response.read()))

        uploader = threading.Thread(target=upload)
        uploader.start()
        try:
            assert slow.entered.wait(timeout=20), "the bulk upload never reached the ledger"
            started = time.monotonic()
            with urllib.request.urlopen(
                f"{base}/health", timeout=5
            ) as read:  # today's code: the loop is blocked
                assert read.status == 200
            assert time.monotonic() - started < 2.0
            assert "bulk" not in result  # the upload was still in flight
        finally:
            slow.release.set()
            uploader.join(timeout=60)
    assert result["bulk"][0] == 201
    assert result["bulk"][1]["appended"] == 20
    assert ledger.counts().events == 20 + 0
    ledger.close()


def test_web_settings_are_read_from_the_environment() -> None:
    web = Settings.load(
        environ={
            "BATTERYLOOP_WEB_RATE_BURST_PER_ADDRESS": "7",
            "BATTERYLOOP_WEB_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1",
            "BATTERYLOOP_WEB_BODY_LIMITS_BYTES": "/events/bulk=2048",
        }
    ).web
    assert web.rate_burst_per_address == 7
    assert web.trusted_proxies == ("10.0.0.0/8", "192.0.2.1")
    assert web.body_limit("/events/bulk", credentialed=True) == 2048
    assert web.body_limit("/events/bulk", credentialed=False) == web.max_body_bytes == 1048576
    assert replace(web, bulk_workers=2).bulk_workers == 2


def test_the_served_app_sets_the_thread_switch_interval_and_restores_it(tmp_path: Path) -> None:
    """While the app is served (its lifespan), worker threads hand the GIL back to the event loop after
    web.switch_interval_ms (default 0.5 ms, CPython's own is 5 ms); when it stops, the interpreter's interval
    is what it was."""
    before = sys.getswitchinterval()
    assert config.WebSettings.from_mapping({}).switch_interval_ms == 0.5
    with TestClient(create_app(settings=_settings(tmp_path / "s.db", switch_interval_ms=0.25))) as client:
        assert sys.getswitchinterval() == pytest.approx(0.00025)
        assert client.get("/health").status_code == 200
    assert sys.getswitchinterval() == before


# ------------------------------------------------------------------------------------------- localized titles


def test_edge_problem_titles_follow_accept_language(tmp_path: Path) -> None:
    """400, 413, 422 and 429 from the edge carry their title in the language asked for, as the app's own
    problems do (before: English whatever the request asked)."""
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    settings = _settings(tmp_path / "l.db", rate_per_address_per_s=0.01, rate_burst_per_address=6)
    with TestClient(create_app(settings=settings)) as client:
        big = b"[" + b"0," * (600 * 1024) + b"0]"
        r = client.post("/events", content=big, headers={**zh, "Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["title"] == "请求体过大"
        assert r.headers["content-language"] == "zh-Hans"
        r = client.post("/events", content=big, headers={"Accept-Language": "en"})
        assert r.status_code == 413 and r.json()["title"] == "Payload too large"
        r = client.post("/events", content=b"{}", headers={**zh, "Content-Length": "ten"})
        assert r.status_code == 400 and r.json()["title"] == "请求有误"
        r = client.get("/batteries/a%00b/trace", headers=zh)
        assert r.status_code == 422 and r.json()["title"] == "输入无效", r.text
        for _ in range(6):
            client.get("/health")
        r = client.get("/health", headers=zh)
        assert r.status_code == 429 and r.json()["title"] == "请求过于频繁"
        assert r.headers["content-language"] == "zh-Hans" and "retry" in r.json()["detail"]
        assert client.get("/health").json()["title"] == "Too many requests"
