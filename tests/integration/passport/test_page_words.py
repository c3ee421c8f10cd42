"""The passport page shows every public Annex XIII item the passport holds, in words, in English and Chinese:
no stored code ("ev", "RawMaterialExtraction", "AcuteToxicity", "in_service", a media type) reaches a reader,
and what the demo data states in English has Chinese words."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.domain import Chemistry
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Role
from batteryloop.passport.report import WORDS

RESOLVER = "https://id.batteryloop.test"
UNITS = {  # one battery per family of the demo data: nickel, phosphate, sodium-ion
    "urn:uuid:01934b2e-7c1a-7def-8abc-00000000f001": (Chemistry.NMC811, "F001"),
    "urn:uuid:01934b2e-7c1a-7def-8abc-00000000f002": (Chemistry.LFP, "F002"),
    "urn:uuid:01934b2e-7c1a-7def-8abc-00000000f003": (Chemistry.SODIUM_ION, "F003"),
}
# codes a stored passport holds that a reader must see in words
CODE_KINDS = ("category", "level", "status", "state", "stage", "hazard", "label", "document", "mime")


@pytest.fixture(scope="module")
def site(bl, tmp_path_factory):
    from batteryloop.ledger import Ledger

    tmp: Path = tmp_path_factory.mktemp("page-words")
    ledger = Ledger.open(f"sqlite:///{tmp / 'ledger.db'}")
    world = bl.build_world(ledger)
    bl.add_actor(ledger, "kba", Role.AUTHORITY)
    for bid, (chemistry, serial) in UNITS.items():
        unit = bl.pack_unit(bid, serial=serial, chemistry=chemistry, model=f"Pack {chemistry.value}")
        world.maker.append(
            *bl.with_passport(unit, seed=5, ledger=ledger),
            bl.ev(bid, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=2),
        )
    keys = {org: ledger.issue_api_key(org) for org in ("maker", "kba")}
    app = create_app(
        settings=Settings(database_url=f"sqlite:///{tmp / 'unused.db'}", resolver_domain=RESOLVER),
        ledger=ledger,
    )
    yield TestClient(app), keys
    ledger.close()


def _visible_text(page: str) -> str:
    """What a reader sees: the page without markup, styles, the QR drawing and <code> identifiers."""
    body = page[page.index("<main") :]
    for pattern in (r"<style.*?</style>", r"<svg.*?</svg>", r"<code>.*?</code>"):
        body = re.sub(pattern, " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
@pytest.mark.parametrize("org", [None, "maker", "kba"])
def test_no_stored_code_reaches_the_reader(site, lang, org) -> None:
    client, keys = site
    headers = {"X-API-Key": keys[org]} if org else {}
    for bid in UNITS:
        page = client.get(f"/passports/{bid}/page", params={"lang": lang}, headers=headers)
        assert page.status_code == 200
        text = _visible_text(page.text)
        for kind in CODE_KINDS:
            for code, english in WORDS[kind].items():
                if lang == "en" and code.lower() in english.lower():
                    continue  # the English word is the code itself ("cell", "reused")
                assert not re.search(rf"(?<![\w/-]){re.escape(code)}(?![\w/-])", text), (
                    kind,
                    code,
                    lang,
                    org,
                )
        if lang == "zh_Hans":  # what the data states in English is shown in Chinese
            for kind in ("material", "component", "impact", "agent", "part", "label_meaning", "chemistry"):
                for english in WORDS[kind].values():
                    assert english not in text, (kind, english, org)


def test_every_public_annex_xiii_item_is_on_the_page_with_its_unit(site) -> None:
    client, _ = site
    bid = next(iter(UNITS))
    data = client.get(f"/passports/{bid}").json()
    rated = data["rated_performance"]
    for lang in ("en", "zh_Hans"):
        page = client.get(f"/passports/{bid}/page", params={"lang": lang}).text
        for anchor in (
            'id="manufacturer"',  # name, address, identifier, e-mail and web address
            'id="power"',  # original power capability (kW, at states of charge)
            'id="power-ratio"',
            'id="internal-resistance"',  # mΩ per component
            'id="exhaustion"',  # capacity threshold for exhaustion (% of rated capacity)
            'id="c-rate"',
            'id="shipping-soc"',
            'id="labels"',
            'id="due-diligence"',
            'id="carbon-footprint"',
            'id="recycled-content"',
            'id="hazardous-substances"',
        ):
            assert anchor in page, (anchor, lang)
        assert f'href="mailto:{data["manufacturer"]["email"]}"' in page
        assert data["manufacturer"]["identifier"] in page
        # every label symbol is shown as an image, with its meaning in words
        symbols = re.findall(r'<img class="label-symbol" src="([^"]+)" alt="([^"]+)"', page)
        assert [s for s, _ in symbols] == [label["symbol_url"] for label in data["labels"]["labels"]]
        assert all(alt for _, alt in symbols)
        text = _visible_text(page)
        assert f"{rated['c_rate']:.1f} C" in text
        assert "mΩ" in text and " kW" in text and " kWh" in text and " Ah" in text and " V" in text
    en = _visible_text(client.get(f"/passports/{bid}/page", params={"lang": "en"}).text)
    assert "Capacity threshold for exhaustion" in en and "70.0 % of rated capacity" in en
    assert "Germany" in en  # countries in words
    zh = _visible_text(client.get(f"/passports/{bid}/page", params={"lang": "zh_Hans"}).text)
    assert "容量耗尽阈值" in zh and "德国" in zh and "镍钴锰酸锂" in zh


def test_the_words_cover_every_code_the_demo_data_uses() -> None:
    """Each name the synthetic passports state (materials, components, hazards, agents, spare parts,
    chemistries) has words, so a new entry in the data file cannot reach a page as a raw English string."""
    from batteryloop.passport.core.synthetic import load_synthetic_defaults

    d = load_synthetic_defaults()
    rows = [*d["materials"]["common"], *(r for rs in d["materials"]["cathode"].values() for r in rs)]
    hazards = [*d["hazardous"]["lithium"], *d["hazardous"]["sodium"]]
    assert {r[0] for r in rows} | {h[0] for h in hazards} <= set(WORDS["material"])
    assert {r[3] for r in rows} | {h[5] for h in hazards} <= set(WORDS["component"])
    assert {h[2] for h in hazards} <= set(WORDS["hazard"])
    assert {i for h in hazards for i in h[4]} <= set(WORDS["impact"])
    assert set(d["safety"]["extinguishing_agents"]) <= set(WORDS["agent"])
    assert set(d["materials"]["cathode"]) <= set(WORDS["chemistry"])
    assert {"battery management system", "module", "high-voltage connector"} <= set(WORDS["part"])
