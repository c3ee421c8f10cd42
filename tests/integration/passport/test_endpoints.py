"""Passport HTTP routes on the real app and a SQLite ledger: per role, exactly the allowed fields, in every format."""

from __future__ import annotations

import io
import warnings
from datetime import date, timedelta
from pathlib import Path

import pytest
import zxingcpp

with warnings.catch_warnings():  # starlette asks for httpx2 instead of httpx; the client works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
from PIL import Image

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Role
from batteryloop.passport.access import leaf_paths
from batteryloop.passport.core.batterypass import split_issues, validate_batterypass
from batteryloop.passport.core.json_schemas import SchemaName, validate
from support.annex_xiii import AUTHORITY_ONLY, DISMANTLING, INDIVIDUAL, MODEL_RESTRICTED, PUBLIC
from support.web import sign_in

RESOLVER = "https://id.batteryloop.test"
BID = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000b001"
GONE = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000b002"
GTIN, SERIAL = "04012345000016", "B001"

SECTIONS = PUBLIC | MODEL_RESTRICTED | INDIVIDUAL | AUTHORITY_ONLY


def sections(document: dict) -> set[str]:
    out = set()
    for path in leaf_paths(document):
        out.add(next((s for s in SECTIONS if path == s or path.startswith(s + ".")), "UNLISTED:" + path))
    return out


@pytest.fixture(scope="module")
def env(bl, tmp_path_factory):
    from batteryloop.ledger import Ledger

    tmp_path: Path = tmp_path_factory.mktemp("passport-api")
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    world = bl.build_world(ledger)
    owner = bl.add_actor(ledger, "fleetco", Role.OWNER)
    bl.add_actor(ledger, "kba", Role.AUTHORITY)
    bl.add_actor(ledger, "other-owner", Role.OWNER)
    _certified_recycler(ledger)
    for bid, serial in ((BID, SERIAL), (GONE, "B002")):
        unit = bl.pack_unit(bid, serial=serial)
        world.maker.append(
            *bl.with_passport(unit, seed=2, ledger=ledger),
            bl.ev(bid, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=2),
            bl.ev(bid, E.CUSTODY_HANDED_OVER, {"to_org": "fleetco"}, minutes=3),
        )
        owner.append(
            bl.ev(bid, E.CUSTODY_ACCEPTED, {}, minutes=4),
            bl.ev(bid, E.BATTERY_PUT_INTO_SERVICE, {}, minutes=5),
            bl.ev(
                bid,
                E.STATE_OF_HEALTH_REPORTED,
                {"soh_pct": 93.0, "capacity_ah": 209.0, "cycles": 310},
                minutes=6,
            ),
            bl.ev(
                bid, E.NEGATIVE_EVENT_REPORTED, {"kind": "accident", "description": "side impact"}, minutes=7
            ),
        )
    owner.append(
        bl.ev(GONE, E.BATTERY_RETIRED, {}, minutes=8),
        bl.ev(GONE, E.BATTERY_COLLECTED, {}, minutes=9),
        bl.ev(GONE, E.BATTERY_RECYCLED, {}, minutes=10),
    )
    keys = {
        org: ledger.issue_api_key(org)
        for org in ("fleetco", "kba", "recycler", "certrec", "other-owner", "maker")
    }
    app = create_app(
        settings=Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", resolver_domain=RESOLVER),
        ledger=ledger,
    )
    yield TestClient(app), keys
    ledger.close()


def _certified_recycler(ledger) -> None:
    """A recycler holding an EU treatment permit valid today (the world's "recycler" holds none)."""
    from batteryloop.domain.organisation import (
        Certification,
        CertificationScheme,
        CertifiedActivity,
        Organisation,
    )

    cert = Certification(
        CertificationScheme.EU_PERMIT,
        "DE-BY-2024-117",
        date(2024, 1, 1),
        date.today() + timedelta(days=365),
        activity=CertifiedActivity.RECYCLING,
        authority="Landesamt fuer Umwelt Bayern",
    )
    ledger.register_organisation(
        Organisation("certrec", "Certrec", "DE", frozenset({Role.RECYCLER}), (cert,))
    )


ROLE_EXPECTED = {
    None: PUBLIC,
    "other-owner": PUBLIC,  # an owner, but not of this battery
    "recycler": PUBLIC | (MODEL_RESTRICTED - DISMANTLING),  # registered as a recycler, not certified
    "certrec": PUBLIC | MODEL_RESTRICTED,  # a recycler with a valid permit
    "kba": PUBLIC | MODEL_RESTRICTED | {"test_reports"},
    "fleetco": PUBLIC | INDIVIDUAL,  # custodian of this battery
    "maker": PUBLIC | MODEL_RESTRICTED | INDIVIDUAL,  # manufacturer of this battery
}


@pytest.mark.parametrize("org", list(ROLE_EXPECTED))
def test_json_serves_exactly_the_allowed_fields_per_role(env, org) -> None:
    client, keys = env
    headers = {"X-API-Key": keys[org]} if org else {}
    r = client.get(f"/passports/{BID}", headers=headers)
    assert r.status_code == 200, r.text
    assert sections(r.json()) == ROLE_EXPECTED[org]
    assert "X-API-Key" in r.headers["vary"]


def _digest(key: str) -> str:
    """The hash (the address) of one of the documents the test battery's passport links."""
    from batteryloop.passport.core.documents import documents_for

    return documents_for("maker", "NMC 82")[key].ref.removeprefix("sha256:")


RESTRICTED_MARKERS = {
    _digest("test_report"): {"kba"},
    _digest("dismantling"): {"certrec", "kba", "maker"},
    "side impact": {"fleetco", "maker"},
    "Lithium hexafluorophosphate": set(ROLE_EXPECTED) - {None},  # public hazardous substance: everyone
}


@pytest.mark.parametrize("org", list(ROLE_EXPECTED))
@pytest.mark.parametrize("fmt", ["page", "json", "batterypass", "catenax", "jsonld"])
def test_restricted_values_appear_only_for_entitled_roles_in_every_format(env, org, fmt) -> None:
    client, keys = env
    headers = {"X-API-Key": keys[org]} if org else {}
    url = f"/passports/{BID}/page" if fmt == "page" else f"/passports/{BID}?format={fmt}"
    r = client.get(url, headers=headers)
    assert r.status_code == 200
    for marker, allowed in RESTRICTED_MARKERS.items():
        if marker == "Lithium hexafluorophosphate":
            assert (
                marker.lower() in r.text.lower()
            )  # the page writes it in words: "lithium hexafluorophosphate"
            continue
        assert (marker in r.text) == (org in allowed), (marker, org, fmt)


def test_full_exports_validate_for_a_caller_seeing_all_tiers_at_once(env) -> None:
    from batteryloop.passport.core.batterypass import to_batterypass
    from batteryloop.passport.core.build import passport_from_source
    from batteryloop.passport.core.catenax import to_catenax

    client, _ = env
    passport = passport_from_source(client.app.state.ledger, BID, resolver_domain=RESOLVER)
    unexpected, _ = split_issues(validate_batterypass(to_batterypass(passport)))
    assert unexpected == []
    assert validate(SchemaName.CATENAX_BATTERY_PASS, to_catenax(passport)) == []


def test_public_html_page_shows_the_public_tier(env) -> None:
    client, keys = env
    r = client.get(f"/passports/{BID}/page")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    text = r.text
    for expected in (
        "NMC622",
        "220.0 Ah",
        "372.0",
        "Class ",
        "Recycled and renewable content",
        "Hazardous substances",
        "Separate collection",
        "<svg",
        "active",
        "legitimate interest in this battery",
    ):
        assert expected in text, expected
    assert "<script" not in text
    assert 'id="condition"' not in text and 'id="materials"' not in text and 'id="battery-status"' not in text
    sign_in(client, keys["fleetco"])
    try:
        owner = client.get(f"/passports/{BID}/page")
    finally:
        client.cookies.clear()
    assert 'id="condition"' in owner.text and 'id="materials"' not in owner.text
    assert "<td>original (in service)</td>" in owner.text and "accident" in owner.text


def test_the_page_shows_every_public_item_of_the_json_in_words(env) -> None:
    """Annex XIII's public items that the JSON holds are on the page, in words and with units, in English
    and in Chinese; stored codes (categories, stages, hazard classes, label subjects) are not shown raw."""
    import re

    client, _ = env
    public = client.get(f"/passports/{BID}").json()
    rp = public["rated_performance"]
    for lang, words in (
        (
            "en",
            (
                "electric-vehicle battery",
                "battery pack",
                "raw material acquisition and pre-processing",
                "acute toxicity",
                "Capacity threshold for exhaustion",
                "Initial internal resistance",
                "Original power capability",
                "Labels and symbols",
                "C-rate",
            ),
        ),
        (
            "zh-CN",
            (
                "电动汽车电池",
                "电池包",
                "原材料获取与预处理",
                "急性毒性",
                "容量耗尽阈值",
                "初始内阻",
                "初始功率能力",
            ),
        ),
    ):
        page = client.get(f"/passports/{BID}/page", headers={"Accept-Language": lang})
        assert page.status_code == 200
        text = re.sub(r"<[^>]+>", " ", page.text)
        for expected in words:
            assert expected in text, (lang, expected)
        for code in ("RawMaterialExtraction", "MainProduction", "AcuteToxicity", "SeparateCollection"):
            assert re.search(rf">\s*{code}\s*<", page.text) is None, (lang, code)
        manufacturer = public["manufacturer"]
        assert f'href="mailto:{manufacturer["email"]}"' in page.text and manufacturer["web"] in page.text
        for label in public["labels"]["labels"]:
            assert f'src="{label["symbol_url"]}"' in page.text
        assert f"{rp['capacity_threshold_for_exhaustion_pct']:.1f}" in text
        assert f"{rp['c_rate']:.1f} C" in text
        ohm = rp["initial_internal_resistance"][0]["ohm"] * 1000
        assert f"{ohm:,.1f} mΩ" in text
    # numbers break only between words, never inside one (the browser test checks the phone layout)
    assert "td.num { overflow-wrap: normal; }" in page.text


def test_resolver_content_negotiation_and_link_types(env) -> None:
    client, keys = env
    path = f"/01/{GTIN}/21/{SERIAL}"
    html = client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert html.status_code == 200 and "<h1>Battery passport</h1>" in html.text
    assert 'rel="linkset"' in html.headers["link"]
    data = client.get(path, headers={"Accept": "application/json"})
    assert data.json()["passport_id"] == BID and "condition" not in data.json()
    ld = client.get(path, headers={"Accept": "application/ld+json"})
    assert ld.headers["content-type"] == "application/ld+json"
    assert ld.json()["@id"] == f"{RESOLVER}{path}" and ld.json()["gs1:gtin"] == GTIN
    doc = client.get(path, params={"linkType": "gs1:certificationInfo"}, follow_redirects=False)
    assert doc.status_code == 307 and doc.headers["location"] == (
        f"{RESOLVER}/documents/{_digest('declaration_of_conformity')}"
    )
    hidden = client.get(path, params={"linkType": "gs1:safetyInfo"}, follow_redirects=False)
    assert hidden.status_code == 404 and "safety-instructions" not in hidden.text
    shown = client.get(
        path,
        params={"linkType": "gs1:safetyInfo"},
        headers={"X-API-Key": keys["recycler"]},
        follow_redirects=False,
    )
    assert shown.status_code == 307 and shown.headers["location"] == (
        f"{RESOLVER}/documents/{_digest('safety_instructions')}"
    )
    linkset = client.get(path, params={"linkType": "linkset"})
    assert linkset.headers["content-type"] == "application/linkset+json"
    rels = set(linkset.json()["linkset"][0]) - {"anchor"}
    assert "https://gs1.org/voc/pip" in rels and "https://gs1.org/voc/safetyInfo" not in rels


def test_bad_and_unknown_identifiers(env) -> None:
    client, _ = env
    r = client.get("/passports/urn:uuid:00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    assert (
        r.json()["detail"]
        == "no battery passport for identifier urn:uuid:00000000-0000-0000-0000-000000000000"
    )
    assert client.get("/passports/urn:uuid:nope/page").status_code == 404
    unknown = client.get(f"/01/{GTIN}/21/NOPE", headers={"Accept": "application/json"})
    assert unknown.status_code == 404 and "serial NOPE" in unknown.json()["detail"]
    bad = client.get("/01/04012345000017/21/X", headers={"Accept": "application/json"})
    assert bad.status_code == 400 and "check digit" in bad.json()["detail"].lower()
    fmt = client.get(f"/passports/{BID}?format=xml")
    assert fmt.status_code == 422 and "unknown format 'xml'" in fmt.json()["detail"]
    no_code = client.get(f"/passports/{BID}/traction-battery-code")
    assert (
        no_code.status_code == 404 and no_code.json()["detail"] == f"battery {BID} carries no GB/T 34014 code"
    )
    wrong_key = client.get(f"/passports/{BID}", headers={"X-API-Key": "not-a-key"})
    assert wrong_key.status_code == 401 and "NMC" not in wrong_key.text


def test_ceased_passport_is_gone_for_all_but_authorities(env) -> None:
    client, keys = env
    public = client.get(f"/passports/{GONE}")
    assert public.status_code == 410 and "Art. 77(8)" in public.json()["detail"]
    assert "NMC" not in public.text
    owner = client.get(f"/passports/{GONE}", headers={"X-API-Key": keys["fleetco"]})
    assert owner.status_code == 410
    authority = client.get(f"/passports/{GONE}", headers={"X-API-Key": keys["kba"]})
    assert authority.status_code == 200 and authority.json()["lifecycle"]["ceased"] is True
    page = client.get(f"/passports/{GONE}/page", headers={"X-API-Key": keys["kba"]})
    assert 'id="ceased"' in page.text


def test_qr_codes_decode_to_the_digital_link(env) -> None:
    client, _ = env
    png = client.get(f"/passports/{BID}/qr.png")
    assert png.headers["content-type"] == "image/png"
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert result.text == f"{RESOLVER}/01/{GTIN}/21/{SERIAL}"
    svg = client.get(f"/passports/{BID}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.startswith("<svg")


@pytest.mark.parametrize("org", [None, "recycler", "kba", "fleetco"])
def test_every_link_on_a_rendered_passport_answers_200(env, org) -> None:
    import re

    client, keys = env
    headers = {"X-API-Key": keys[org]} if org else {}
    page = client.get(f"/passports/{BID}/page", headers=headers)
    assert page.status_code == 200
    hrefs = set(re.findall(r'(?:href|src)="([^"#][^"]*)"', page.text))
    documents = {h for h in hrefs if "/documents/" in h}
    # the label symbols and every linked document, served by the document store under the public base URL
    assert len(documents) >= 8 and all(h.startswith(RESOLVER + "/documents/") for h in documents)
    # the manufacturer's own contact (mail address, web site) is theirs to serve, not this platform's
    contact = {h for h in hrefs if h.startswith("mailto:") or h.startswith("https://maker.example")}
    assert contact == {"mailto:passport@maker.example", "https://maker.example"}
    for href in sorted(hrefs - contact):
        answer = client.get(href.replace("&amp;", "&"), headers=headers, follow_redirects=True)
        assert answer.status_code == 200, (href, answer.status_code)


def test_restricted_model_documents_are_served_to_their_audience_only(env) -> None:
    from batteryloop.passport.core.documents import documents_for

    client, keys = env
    docs = documents_for("maker", "NMC 82")
    url = f"{RESOLVER}/documents/{docs['dismantling'].ref.removeprefix('sha256:')}"
    assert client.get(url).status_code == 404  # legitimate interest only: its existence is not revealed
    # registered as a recycler is not enough for the dismantling manual: a valid certification is
    assert client.get(url, headers={"X-API-Key": keys["recycler"]}).status_code == 404
    shown = client.get(url, headers={"X-API-Key": keys["certrec"]})
    assert shown.status_code == 200 and shown.headers["content-type"] == "text/html; charset=utf-8"
    assert shown.content == docs["dismantling"].content
    assert shown.headers["content-security-policy"].startswith("sandbox")
    public = client.get(f"{RESOLVER}/documents/{docs['label_hazardous'].ref.removeprefix('sha256:')}")
    assert public.status_code == 200 and public.headers["content-type"] == "image/svg+xml"
    assert client.get(f"{RESOLVER}/documents/{'0' * 64}").status_code == 404


def test_catenax_export_marks_what_the_caller_may_not_see(env) -> None:
    client, keys = env
    public = client.get(f"/passports/{BID}?format=catenax").json()
    assert "/performance/dynamic" in public["x-batteryloop-withheld"]
    assert public["performance"]["x-batteryloop-withheld"] == ["dynamic"]
    assert public["handling"]["applicable"] is True  # spare parts exist, withheld from the public
    owner = client.get(f"/passports/{BID}?format=catenax", headers={"X-API-Key": keys["fleetco"]}).json()
    assert "dynamic" in owner["performance"] and "/performance/dynamic" not in owner["x-batteryloop-withheld"]
