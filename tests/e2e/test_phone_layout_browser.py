"""Phone layout at 390 px in a real browser (Debian chromium via Playwright), English and Chinese: the passport
and recycling pages never scroll sideways and no number (with its unit) is broken across two lines.

A number is split when the browser lays its characters out on more than one line: every run of digits with
its separators and its unit is measured with a DOM Range (``getClientRects``), on every text of the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from support.browser import SHOTS, free_port, serving

pytestmark = pytest.mark.browser

BID = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000f390"
PHONE_WIDTH_PX = 390
RECYCLING = "mix=NMC811:0.7,+LFP:0.3&route=hydro&region=ES&draws=200"

# a number (digits with group and decimal separators, narrow or no-break spaces) and the unit after it
SPLIT_NUMBERS_JS = r"""
() => {
  const re = /\d[\d.,\u00a0\u202f']*\d(?:[ \u00a0\u202f]?(?:kg|kWh|Ah|V|W|%|°C|t|h|km|USD|EUR|CNY|MWh|GWh|kt|g|mg|ppm)(?![A-Za-z]))?/g;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const split = [];
  let node;
  while ((node = walker.nextNode())) {
    const parent = node.parentElement;
    if (!parent || parent.closest('svg, script, style, code, summary, details:not([open])')) continue;
    const style = getComputedStyle(parent);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    for (const m of node.data.matchAll(re)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) split.push(m[0] + ' in <' + parent.tagName.toLowerCase() + '>');
    }
  }
  return split.slice(0, 20);
}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, bl: Any) -> Iterator[tuple[str, dict[str, str]]]:
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

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = tmp_path_factory.mktemp("e2e-phone")
    ledger = Ledger.open(f"sqlite:///{tmp / 'ledger.db'}")
    world = bl.build_world(ledger)
    permit = Certification(
        CertificationScheme.EU_PERMIT,
        "DE-NW-2025-004217",
        date.today() - timedelta(days=30),
        date.today() + timedelta(days=300),
        activity=CertifiedActivity.RECYCLING,
        authority="Bezirksregierung Arnsberg, Dezernat 52 Abfallwirtschaft",
    )
    ledger.register_organisation(
        Organisation("certrec", "Kreislauf Recycling GmbH", "DE", frozenset({Role.RECYCLER}), (permit,))
    )
    unit = bl.pack_unit(BID, serial="F390", mass_kg=512.375, rated_energy_kwh=82.125)
    world.maker.append(
        *bl.with_passport(unit, seed=7, resolver_domain=base),
        bl.ev(BID, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=2),
        bl.ev(BID, E.BATTERY_PUT_INTO_SERVICE, {}, minutes=3),
        bl.ev(BID, E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 87.25, "capacity_ah": 191.875}, minutes=4),
    )
    keys = {org: ledger.issue_api_key(org) for org in ("certrec", "maker")}
    app = create_app(
        settings=Settings(database_url=f"sqlite:///{tmp / 'x.db'}", resolver_domain=base), ledger=ledger
    )
    with serving(app, port):
        yield base, keys
    ledger.close()


PAGES = {
    "passport-public": (f"/passports/{BID}/page", None),
    "passport-recycler": (f"/passports/{BID}/page", "certrec"),
    "passport-maker": (f"/passports/{BID}/page", "maker"),
    "recycling-form": ("/recycling", "certrec"),
    "recycling-results": (f"/recycling/results?{RECYCLING}", "certrec"),
    "recycling-quote": (f"/recycling/quote?{RECYCLING}&lot_mass_kg=12500&target_margin=0.1", None),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", list(PAGES))
def test_pages_fit_a_phone_and_keep_numbers_whole(site, browser, name: str, lang: str) -> None:
    base, keys = site
    path, org = PAGES[name]
    headers = {"X-API-Key": keys[org]} if org else {}
    ctx = browser.new_context(
        viewport={"width": PHONE_WIDTH_PX, "height": 844}, extra_http_headers=headers, device_scale_factor=1
    )
    page = ctx.new_page()
    sep = "&" if "?" in path else "?"
    response = page.goto(f"{base}{path}{sep}lang={lang}", timeout=120_000)
    assert response is not None and response.status == 200, (name, lang)
    wide = page.evaluate(
        f"[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > {PHONE_WIDTH_PX + 1}"
        " && !e.closest('.scroll')).map(e => e.tagName + '.' + e.className + '#' + e.id + ':' "
        "+ Math.round(e.getBoundingClientRect().right)).slice(0, 12)"
    )
    width = page.evaluate("document.scrollingElement.scrollWidth")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"phone-{name}-{lang}.png"), full_page=True)
    assert width <= PHONE_WIDTH_PX, (name, lang, width, wide)
    split = page.evaluate(SPLIT_NUMBERS_JS)
    assert split == [], (name, lang, split)
    if org:
        assert page.locator("header.site form.signout").count() == 1, (name, lang)
    ctx.close()
