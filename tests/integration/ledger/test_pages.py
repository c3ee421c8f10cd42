"""The web shell: look-up by any identifier, the battery timeline, sign-in; read rules enforced server-side."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.demo import run_demo
from batteryloop.domain.lifecycle import EventType
from batteryloop.ledger import Ledger
from support.web import login_form, set_cookies


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Ledger]]:
    path: Path = tmp_path_factory.mktemp("shell") / "shell.db"
    settings = Settings(database_url=f"sqlite:///{path}", resolver_domain="https://id.example.test")
    run_demo(settings=settings, n_batteries=25, seed=5, replace=True, console=Console(file=io.StringIO()))
    ledger = Ledger.open(settings.database_url)
    with TestClient(create_app(settings=settings, ledger=ledger)) as client:
        yield client, ledger
    ledger.close()


def _first(ledger: Ledger, predicate: Any) -> Any:
    for event in ledger.iter_events():
        if predicate(event):
            return event
    raise AssertionError("no event matches")


def test_home_shows_the_ledger_summary(shell: tuple[TestClient, Ledger]) -> None:
    client, ledger = shell
    r = client.get("/")
    assert r.status_code == 200
    assert "Battery look-up" in r.text
    assert f"{ledger.counts().events:,}" in r.text


def test_lookup_by_uuid_gbt_code_and_gs1_link(shell: tuple[TestClient, Ledger]) -> None:
    client, ledger = shell
    reg = _first(
        ledger,
        lambda e: e.event_type is EventType.BATTERY_MANUFACTURED and "gbt_code" in e.payload,
    )
    r = client.get("/lookup", params={"q": reg.battery_id}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/ui/batteries/{quote(reg.battery_id, safe=':')}"
    r = client.get("/lookup", params={"q": reg.payload["gbt_code"].lower()}, follow_redirects=False)
    assert r.status_code == 303
    assert reg.battery_id in r.headers["location"]

    eu = _first(ledger, lambda e: e.event_type is EventType.BATTERY_MANUFACTURED and "gtin" in e.payload)
    link = f"https://id.example.test/01/{eu.payload['gtin']}/21/{eu.payload['serial']}"
    r = client.get("/lookup", params={"q": link}, follow_redirects=False)
    assert r.status_code == 303
    assert eu.battery_id in r.headers["location"]


def test_lookup_errors_are_clear(shell: tuple[TestClient, Ledger]) -> None:
    client, _ = shell
    r = client.get("/lookup", params={"q": "ABCXE"})
    assert r.status_code == 422
    assert "must be 24 characters" in r.text
    r = client.get("/lookup", params={"q": "X12XCPM27KLPCLX2M2382320"})
    assert r.status_code == 422
    assert "position 4" in r.text
    r = client.get("/lookup", params={"q": "urn:uuid:00000000-0000-7000-8000-000000000000"})
    assert r.status_code == 404
    assert "not registered" in r.text


def test_timeline_needs_a_key_of_an_organisation_that_held_the_battery(
    shell: tuple[TestClient, Ledger],
) -> None:
    client, ledger = shell
    accepted = _first(ledger, lambda e: e.event_type is EventType.CUSTODY_ACCEPTED)
    battery_id = accepted.battery_id
    page = f"/ui/batteries/{quote(battery_id, safe=':')}"

    anonymous = client.get(page, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].endswith("/page")

    holder_key = ledger.issue_api_key(accepted.actor)
    r = client.get(page, headers={"X-API-Key": holder_key})
    assert r.status_code == 200
    assert "Timeline" in r.text
    assert "CustodyAccepted" in r.text
    assert "intact" in r.text

    held = {e.actor for e in ledger.read_stream(battery_id)}
    stranger = next(
        o.org_id for o in ledger.list_organisations() if o.org_id not in held and "authority" not in o.roles
    )
    stranger_key = ledger.issue_api_key(stranger)
    r = client.get(page, headers={"X-API-Key": stranger_key}, follow_redirects=False)
    # not an error page: the passport page shows what the stranger may read of the battery, and why
    assert r.status_code == 303 and r.headers["location"].endswith("/page")
    r = client.get(page, headers={"X-API-Key": stranger_key})
    assert "CustodyAccepted" not in r.text and "Not yours to see" not in r.text


def test_sign_in_sets_an_http_only_cookie(shell: tuple[TestClient, Ledger]) -> None:
    client, ledger = shell
    token = login_form(client)
    bad = client.post(
        "/login", data={"api_key": "nope", "next": "/", "csrf_token": token}, follow_redirects=False
    )
    assert bad.status_code == 401
    org = ledger.list_organisations()[0].org_id
    key = ledger.issue_api_key(org)
    good = client.post(
        "/login", data={"api_key": key, "next": "//evil.example", "csrf_token": token}, follow_redirects=False
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/"
    cookie = set_cookies(good)["bl_session"]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"].lower() == "lax"
    assert key not in good.headers["set-cookie"]
    client.cookies.clear()


def test_the_holder_of_a_pack_sees_the_individual_tier_of_its_modules(
    shell: tuple[TestClient, Ledger],
) -> None:
    client, ledger = shell
    module = _first(
        ledger,
        lambda e: (
            e.event_type is EventType.BATTERY_INTEGRATED
            and ledger.battery(e.payload["parent_id"]).status.custodian != e.actor
            # still inside that pack, and its own projection names another custodian than the pack's holder
            and ledger.status(e.battery_id).parent_id == e.payload["parent_id"]
            and ledger.status(e.battery_id).custodian
            != ledger.battery(e.payload["parent_id"]).status.custodian
        ),
    )
    pack = ledger.battery(module.payload["parent_id"]).status
    assert ledger.status(module.battery_id).custodian != pack.custodian  # the projection keeps the maker
    holder_key = ledger.issue_api_key(pack.custodian)
    path = f"/passports/{quote(module.battery_id, safe=':')}"
    assert "condition" in client.get(path, headers={"X-API-Key": holder_key}).json()
    assert "condition" not in client.get(path).json()


def test_battery_finder_pages_filters_and_applies_the_read_rule(shell: tuple[TestClient, Ledger]) -> None:
    client, ledger = shell
    client.cookies.clear()  # signed out, whichever test ran before on this client
    assert client.get("/ui/batteries", follow_redirects=False).headers["location"].startswith("/login")
    authority = next(o.org_id for o in ledger.list_organisations() if "authority" in o.roles)
    headers = {"X-API-Key": ledger.issue_api_key(authority)}
    total = ledger.counts().batteries
    assert total > 50
    first = client.get("/ui/batteries", headers=headers)
    assert first.status_code == 200
    assert f"Batteries 1 to 50 of {total}" in first.text
    assert 'rel="next" href="/ui/batteries?offset=50"' in first.text and 'rel="prev"' not in first.text
    second = client.get("/ui/batteries", params={"offset": 50}, headers=headers)
    assert f"Batteries 51 to {min(total, 100)} of {total}" in second.text and 'rel="prev"' in second.text
    every = sorted(r.status.battery_id for r in ledger.batteries(limit=10_000))
    assert every[0] in first.text and every[0] not in second.text and every[50] in second.text

    lfp = client.get("/ui/batteries", params={"chemistry": "LFP", "state": "in_service"}, headers=headers)
    rows = [
        r for r in ledger.batteries(limit=10_000) if r.chemistry == "LFP" and r.status.state == "in_service"
    ]
    assert f"of {len(rows)}" in lfp.text or (not rows and "No battery" in lfp.text)

    holder = ledger.batteries(limit=1)[0].status.custodian
    mine = client.get("/ui/batteries", headers={"X-API-Key": ledger.issue_api_key(holder)})
    held = [r for r in ledger.batteries(limit=10_000) if r.status.custodian == holder]
    assert f"of {len(held)}" in mine.text
    refused = client.get(
        "/ui/batteries",
        params={"organisation": authority},
        headers={"X-API-Key": ledger.issue_api_key(holder)},
    )
    assert refused.status_code == 403
    assert client.get("/ui/batteries", params={"state": "melted"}, headers=headers).status_code == 422
