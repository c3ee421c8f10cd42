"""Pages for people: a signed-in organisation looking up a battery it does not hold is shown the tier it may
read and why (never "Not yours to see"); every page's header shows who is signed in; en and zh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import (
    Certification,
    CertificationScheme,
    CertifiedActivity,
    Organisation,
    Role,
)
from batteryloop.ledger import Ledger
from batteryloop.passport.grants import grant_event
from support.web import sign_in

RESOLVER = "https://id.batteryloop.test"
BID = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000f001"
TODAY = datetime.now(UTC).date()


@pytest.fixture(scope="module")
def site(bl, tmp_path_factory):
    tmp_path: Path = tmp_path_factory.mktemp("access-pages")
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    world = bl.build_world(ledger)
    buyer = bl.add_actor(ledger, "buyer", Role.SECOND_LIFE_OPERATOR)
    permit = Certification(
        CertificationScheme.EU_PERMIT, "DE-NW-0042", TODAY - timedelta(days=30), TODAY + timedelta(days=300),
        activity=CertifiedActivity.RECYCLING, authority="Bezirksregierung Arnsberg",
    )  # fmt: skip
    ledger.register_organisation(
        Organisation("certrec", "Certified Recycling GmbH", "DE", frozenset({Role.RECYCLER}), (permit,))
    )
    unit = bl.pack_unit(BID, serial="F001")
    world.maker.append(
        *bl.with_passport(unit, seed=6, resolver_domain=RESOLVER),
        bl.ev(BID, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=2),
        bl.ev(BID, E.BATTERY_PUT_INTO_SERVICE, {}, minutes=3),
        bl.ev(BID, E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 87.0}, minutes=4),
        bl.ev(BID, E.CUSTODY_HANDED_OVER, {"to_org": "dealer"}, minutes=5),
    )
    world.dealer.append(bl.ev(BID, E.CUSTODY_ACCEPTED, {}, minutes=6))
    world.dealer.append(grant_event(BID, grantee="buyer", valid_until=TODAY + timedelta(days=20)))
    del buyer
    keys = {o: ledger.issue_api_key(o) for o in ("recycler", "certrec", "buyer", "dealer", "maker")}
    app = create_app(
        settings=Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", resolver_domain=RESOLVER),
        ledger=ledger,
    )
    yield app, keys
    ledger.close()


def _client(site, org: str | None) -> TestClient:
    app, keys = site
    client = TestClient(app)
    if org is not None:
        sign_in(client, keys[org])
    return client


def _kinds(html: str) -> set[str]:
    import re

    section = html[html.index('id="access-why"') :]
    section = section[: section.index("</details>")]
    return set(re.findall(r'data-reason="(\w+)" data-kind="(\w+)"', section))


def test_a_recycler_not_holding_the_battery_is_shown_its_tier_not_an_error(site) -> None:
    client = _client(site, "recycler")
    r = client.get(f"/ui/batteries/{BID}", follow_redirects=True)
    assert r.status_code == 200, r.text
    assert "Not yours to see" not in r.text
    assert "What you are shown, and why" in r.text
    kinds = _kinds(r.text)
    assert ("legitimate_interest", "role") in kinds
    assert ("certified_treatment", "not_certified") in kinds  # registered as a recycler, not certified
    assert ("individual", "not_yours") in kinds
    assert 'id="materials"' in r.text and 'id="condition"' not in r.text
    lookup = client.get("/lookup", params={"q": BID}, follow_redirects=True)
    assert lookup.status_code == 200 and "What you are shown, and why" in lookup.text


def test_the_reasons_name_the_certification_and_the_grant(site) -> None:
    page = _client(site, "certrec").get(f"/passports/{BID}/page").text
    assert ("certified_treatment", "certified") in _kinds(page)
    assert "DE-NW-0042" in page and "Bezirksregierung Arnsberg" in page
    page = _client(site, "buyer").get(f"/passports/{BID}/page").text
    assert ("individual", "grant") in _kinds(page) and 'id="condition"' in page
    page = _client(site, "dealer").get(f"/passports/{BID}/page").text
    assert ("individual", "holder") in _kinds(page)
    zh = _client(site, "buyer").get(f"/passports/{BID}/page", params={"lang": "zh"}).text
    assert "您看到的内容及原因" in zh and "What you are shown, and why" not in zh
    # the role is named in words, in the page's language, not as its code
    zh = _client(site, "recycler").get(f"/passports/{BID}/page", params={"lang": "zh"}).text
    assert "再生利用企业" in zh and "role is recycler" not in zh
    en = _client(site, "recycler").get(f"/passports/{BID}/page").text
    assert "your organisation's role is recycler." in en.replace("&#39;", "'")


PAGES = ["/", "/recycling", f"/passports/{BID}/page", "/analytics/triage", "/login"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_shows_who_is_signed_in(site, path, lang) -> None:
    client = _client(site, "certrec")
    r = client.get(path, params={"lang": lang})
    assert r.status_code == 200, (path, r.status_code)
    header = r.text[r.text.index("<header") : r.text.index("</header>")]
    assert "Certified Recycling GmbH" in header, (path, header)
    assert 'action="/logout"' in header
    assert 'href="/login"' not in header
    anonymous = TestClient(site[0]).get(path, params={"lang": lang})
    header = anonymous.text[anonymous.text.index("<header") : anonymous.text.index("</header>")]
    assert 'href="/login"' in header and "Certified Recycling GmbH" not in header
