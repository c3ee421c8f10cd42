"""The pages in Simplified Chinese in a real browser (Debian chromium via Playwright) on a phone, no JavaScript.

The browser's own language picks Chinese; the switch in the header turns English on for the next pages.
Served by uvicorn in a thread on a free loopback port. Screenshots go to screenshots/ (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.browser import SHOTS, free_port, serving

pytestmark = pytest.mark.browser

BID = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000f001"
GTIN, SERIAL = "04012345000016", "F001"
PHONE_WIDTH_PX = 390


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, bl: Any) -> Iterator[str]:
    from batteryloop.app import create_app
    from batteryloop.config import Settings
    from batteryloop.domain import Chemistry
    from batteryloop.ledger import Ledger

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = tmp_path_factory.mktemp("e2e-i18n")
    ledger = Ledger.open(f"sqlite:///{tmp / 'ledger.db'}")
    world = bl.build_world(ledger)
    unit = bl.pack_unit(
        BID,
        serial=SERIAL,
        chemistry=Chemistry.LFP,
        model="Voltaro 60",
        mass_kg=395.0,
        rated_energy_kwh=60.0,
        rated_capacity_ah=180.0,
        nominal_voltage_v=332.8,
        manufacturing_country="CN",
    )
    world.maker.append(
        *bl.with_passport(unit, seed=4, ledger=ledger),
    )
    app = create_app(
        settings=Settings(database_url=f"sqlite:///{tmp / 'x.db'}", resolver_domain=base), ledger=ledger
    )
    with serving(app, port):
        yield base
    ledger.close()


def _fits_a_phone(page: Any) -> None:
    wide = page.evaluate(
        f"[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > {PHONE_WIDTH_PX + 2})"
        ".map(e => e.tagName + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 12)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH_PX + 1, wide


@pytest.mark.parametrize(
    ("path", "heading"),
    [("/", "电池查询"), (f"/passports/{BID}/page", "电池护照"), ("/recycling", "回收工厂模型")],
)
def test_a_chinese_browser_gets_chinese_pages_that_fit_a_phone(
    site: str, browser: Any, path: str, heading: str
) -> None:
    ctx = browser.new_context(
        viewport={"width": PHONE_WIDTH_PX, "height": 844}, java_script_enabled=False, locale="zh-CN"
    )
    page = ctx.new_page()
    response = page.goto(f"{site}{path}")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator("h1").inner_text() == heading
    _fits_a_phone(page)
    SHOTS.mkdir(exist_ok=True)
    name = path.strip("/").split("/")[0] or "home"
    page.screenshot(path=str(SHOTS / f"zh-{name}.png"), full_page=True)
    ctx.close()


def test_the_switch_turns_english_on_for_the_next_pages(site: str, browser: Any) -> None:
    ctx = browser.new_context(
        viewport={"width": PHONE_WIDTH_PX, "height": 844}, java_script_enabled=False, locale="zh-CN"
    )
    page = ctx.new_page()
    page.goto(f"{site}/passports/{BID}/page")
    assert page.locator("h1").inner_text() == "电池护照"
    page.click("header nav.lang a[lang=en]")
    assert page.locator("h1").inner_text() == "Battery passport"
    assert page.locator("html").get_attribute("lang") == "en"
    page.click("header a[href='/recycling']")
    assert page.locator("h1").inner_text() == "Recycling plant model"
    page.click("header nav.lang a[lang=zh-Hans]")
    assert page.locator("h1").inner_text() == "回收工厂模型"
    ctx.close()
