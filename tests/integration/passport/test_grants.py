"""Access grants (AccessGranted / AccessRevoked) end to end: the ledger's rules on every append path, the
passport tier they open, and the same answer from Python, the CLI and HTTP."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.domain.errors import CustodyError, NotFoundError, ValidationError
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Role
from batteryloop.ledger import Ledger
from batteryloop.orgs import KeyStore, keystore_dir_for
from batteryloop.passport.access import Audience
from batteryloop.passport.cli import passport_app
from batteryloop.passport.grants import grant_event, list_grants, revoke_event
from batteryloop.passport.grants_report import grants_document
from batteryloop.passport.service import PassportService

RESOLVER = "https://id.batteryloop.test"
BID = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000d001"
TODAY = datetime.now(UTC).date()
SOON = TODAY + timedelta(days=30)


def _build(ledger: Ledger, bl):
    world = bl.build_world(ledger)
    buyer = bl.add_actor(ledger, "buyer", Role.SECOND_LIFE_OPERATOR)
    unit = bl.pack_unit(BID, serial="D001")
    world.maker.append(
        *bl.with_passport(unit, seed=3, resolver_domain=RESOLVER),
        bl.ev(BID, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=2),
        bl.ev(BID, E.BATTERY_PUT_INTO_SERVICE, {}, minutes=3),
        bl.ev(BID, E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 88.0}, minutes=4),
        bl.ev(BID, E.CUSTODY_HANDED_OVER, {"to_org": "dealer"}, minutes=5),
    )
    world.dealer.append(bl.ev(BID, E.CUSTODY_ACCEPTED, {}, minutes=6))
    return world, buyer


def _grant(**kw):
    return grant_event(BID, grantee=kw.pop("grantee", "buyer"), valid_until=kw.pop("valid_until", SOON), **kw)


def test_only_the_holder_grants_and_the_dates_are_checked_on_write(any_ledger, bl) -> None:
    ledger = any_ledger  # SQLite and PostgreSQL
    world, buyer = _build(ledger, bl)
    service = PassportService(ledger, resolver_domain=RESOLVER)
    buyer_org = ledger.get_organisation("buyer")
    assert Audience.INDIVIDUAL not in service.view(BID, caller=buyer_org).audiences
    before = ledger.battery(BID).last_position

    with pytest.raises(CustodyError, match="does not hold"):  # the manufacturer no longer holds it
        world.maker.append(_grant())
    with pytest.raises(CustodyError):  # nor may the grantee grant itself
        buyer.append(_grant())
    with pytest.raises(NotFoundError, match="unregistered organisation 'nobody'"):
        world.dealer.append(_grant(grantee="nobody"))
    with pytest.raises(ValidationError, match=r"'valid_until'.*must be after valid_from"):
        world.dealer.append(_grant(valid_from=SOON, valid_until=SOON))
    with pytest.raises(ValidationError, match=r"'valid_until'.*already past"):
        world.dealer.append(
            _grant(valid_from=TODAY - timedelta(days=10), valid_until=TODAY - timedelta(days=1))
        )
    with pytest.raises(ValidationError, match="over the limit of 366 days"):
        world.dealer.append(_grant(valid_until=TODAY + timedelta(days=400)))
    assert ledger.battery(BID).last_position == before  # nothing written

    world.dealer.append(_grant(purpose="prospective purchase"))
    view = service.view(BID, caller=buyer_org)
    assert Audience.INDIVIDUAL in view.audiences
    assert view.document["condition"]["state_of_certified_energy_pct"]["value"] == pytest.approx(88.0)
    assert "condition" not in service.view(BID, caller=ledger.get_organisation("recycler")).document

    world.dealer.append(revoke_event(BID, grantee="buyer"))
    assert Audience.INDIVIDUAL not in service.view(BID, caller=buyer_org).audiences
    listed = list_grants(ledger, BID, caller=ledger.get_organisation("dealer"))
    assert [(g.grantee, listed.status(g)) for g in listed.grants] == [("buyer", "revoked")]


def test_a_grant_not_yet_begun_opens_nothing_and_the_grantee_sees_only_its_own(ledger, bl) -> None:
    world, _ = _build(ledger, bl)
    world.dealer.append(_grant(valid_from=TODAY + timedelta(days=2), valid_until=SOON))
    world.dealer.append(_grant(grantee="recycler"))
    service = PassportService(ledger, resolver_domain=RESOLVER)
    assert Audience.INDIVIDUAL not in service.view(BID, caller=ledger.get_organisation("buyer")).audiences
    assert Audience.INDIVIDUAL in service.view(BID, caller=ledger.get_organisation("recycler")).audiences
    own = list_grants(ledger, BID, caller=ledger.get_organisation("buyer"))
    assert [(g.grantee, own.status(g)) for g in own.grants] == [("buyer", "pending")]
    bl.add_actor(ledger, "stranger", Role.OWNER)
    with pytest.raises(PermissionError):
        list_grants(ledger, BID, caller=ledger.get_organisation("stranger"))


def _signed_body(actor, event) -> dict:
    from batteryloop.ledger import EventIn

    assert isinstance(event, EventIn)
    batch = actor.sign([event])
    return {
        "key_id": batch.key_id,
        "signature": base64.b64encode(batch.signature).decode(),
        "events": [
            {
                "battery_id": event.battery_id,
                "event_type": str(event.event_type),
                "occurred_at": event.occurred_at.isoformat(),
                "payload": event.payload,
            }
        ],
    }


@pytest.fixture
def http(tmp_path: Path, bl):
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'grants.db'}")
    world, _ = _build(ledger, bl)
    keys = {org: ledger.issue_api_key(org) for org in ("dealer", "buyer", "maker", "recycler")}
    app = create_app(
        settings=Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", resolver_domain=RESOLVER),
        ledger=ledger,
    )
    yield TestClient(app), keys, world, ledger
    ledger.close()


def test_http_grants_and_the_generic_events_route_apply_the_same_rules(http) -> None:
    client, keys, world, ledger = http
    dealer = {"X-API-Key": keys["dealer"]}
    # POST /events refuses a bad grant as the grants route does, naming the field
    bad = _signed_body(world.dealer, _grant(valid_from=SOON, valid_until=SOON - timedelta(days=1)))
    r = client.post("/events", json=bad, headers=dealer)
    assert r.status_code == 422 and "valid_until" in r.json()["detail"], r.text
    r = client.post(f"/passports/{BID}/grants", json=bad, headers=dealer)
    assert r.status_code == 422 and "valid_until" in r.json()["detail"], r.text
    # a batch that is not one grant of this battery is refused
    other = _signed_body(world.dealer, revoke_event(BID, grantee="buyer"))
    assert client.post(f"/passports/{BID}/grants", json=other, headers=dealer).status_code == 422

    page = client.get(f"/passports/{BID}", headers={"X-API-Key": keys["buyer"]})
    assert "condition" not in page.json()
    r = client.post(f"/passports/{BID}/grants", json=_signed_body(world.dealer, _grant()), headers=dealer)
    assert r.status_code == 201, r.text
    assert (r.json()["grantee"], r.json()["status"]) == ("buyer", "active")
    page = client.get(f"/passports/{BID}", headers={"X-API-Key": keys["buyer"]})
    assert page.json()["condition"]["state_of_certified_energy_pct"]["value"] == pytest.approx(88.0)

    listed = client.get(f"/passports/{BID}/grants", headers=dealer)
    assert listed.status_code == 200
    python = grants_document(list_grants(ledger, BID, caller=ledger.get_organisation("dealer")))
    assert listed.json() == python
    assert client.get(f"/passports/{BID}/grants").status_code == 401
    assert client.get(f"/passports/{BID}/grants", headers={"X-API-Key": keys["recycler"]}).status_code == 403

    # only the holder: the buyer cannot revoke (nor grant); then the holder revokes
    as_buyer = _signed_body(world.dealer, revoke_event(BID, grantee="buyer"))
    assert client.request(
        "DELETE", f"/passports/{BID}/grants/buyer", json=as_buyer, headers={"X-API-Key": keys["buyer"]}
    ).status_code in (401, 403)
    r = client.request("DELETE", f"/passports/{BID}/grants/buyer", json=as_buyer, headers=dealer)
    assert r.status_code == 200 and r.json()["status"] == "revoked", r.text
    assert "condition" not in client.get(f"/passports/{BID}", headers={"X-API-Key": keys["buyer"]}).json()


def test_cli_grant_revoke_and_grants_agree_with_http(tmp_path: Path, bl) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ledger = Ledger.open(url)
    world, _ = _build(ledger, bl)
    KeyStore(keystore_dir_for(url)).save("dealer", world.dealer.key)
    ledger.close()
    runner = CliRunner()
    ok = runner.invoke(
        passport_app,
        ["grant", BID, "--to", "buyer", "--until", SOON.isoformat(), "--as", "dealer", "--db", url, "--json"],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["status"] == "active"
    refused = runner.invoke(
        passport_app, ["grant", BID, "--to", "buyer", "--until", "2020-01-01", "--as", "dealer", "--db", url]
    )
    assert refused.exit_code == 2 and "valid_until" in refused.output
    listed = runner.invoke(passport_app, ["grants", BID, "--as", "dealer", "--db", url, "--json"])
    assert listed.exit_code == 0, listed.output
    ledger = Ledger.open(url, create=False)
    python = grants_document(list_grants(ledger, BID, caller=ledger.get_organisation("dealer")))
    ledger.close()
    assert json.loads(listed.output) == python
    gone = runner.invoke(
        passport_app, ["revoke", BID, "--to", "buyer", "--as", "dealer", "--db", url, "--json"]
    )
    assert gone.exit_code == 0 and json.loads(gone.output)["status"] == "revoked", gone.output
    again = runner.invoke(passport_app, ["revoke", BID, "--to", "buyer", "--as", "dealer", "--db", url])
    assert again.exit_code == 2 and "no access grant to revoke" in again.output
