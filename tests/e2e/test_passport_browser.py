"""The passport page in a real browser (Debian chromium via Playwright), JavaScript disabled, per role.

Served by uvicorn in a thread on a free loopback port. Screenshots go to screenshots/ (git-ignored).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from support.browser import SHOTS, free_port, serving

pytestmark = pytest.mark.browser

BID = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000e001"
GTIN, SERIAL = "04012345000016", "E001"


@pytest.fixture(scope="module")
def site(tmp_path_factory, bl) -> Iterator[tuple[str, dict[str, str]]]:
    from batteryloop.app import create_app
    from batteryloop.config import Settings
    from batteryloop.domain import Chemistry
    from batteryloop.domain.lifecycle import EventType as E
    from batteryloop.domain.organisation import Role
    from batteryloop.ledger import Ledger

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = tmp_path_factory.mktemp("e2e")
    ledger = Ledger.open(f"sqlite:///{tmp / 'ledger.db'}")
    world = bl.build_world(ledger)
    owner = bl.add_actor(ledger, "fleetco", Role.OWNER)
    bl.add_actor(ledger, "kba", Role.AUTHORITY)
    unit = bl.pack_unit(
        BID,
        serial=SERIAL,
        chemistry=Chemistry.NMC811,
        model="Voltaro 77",
        mass_kg=480.0,
        rated_energy_kwh=77.0,
        rated_capacity_ah=210.0,
        nominal_voltage_v=367.0,
    )
    world.maker.append(
        *bl.with_passport(unit, seed=9, ledger=ledger),
        bl.ev(BID, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=2),
        bl.ev(BID, E.CUSTODY_HANDED_OVER, {"to_org": "fleetco"}, minutes=3),
    )
    owner.append(
        bl.ev(BID, E.CUSTODY_ACCEPTED, {}, minutes=4),
        bl.ev(BID, E.BATTERY_PUT_INTO_SERVICE, {}, minutes=5),
        bl.ev(
            BID, E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 94.0, "capacity_ah": 199.5, "cycles": 250}, minutes=6
        ),
        bl.ev(BID, E.NEGATIVE_EVENT_REPORTED, {"kind": "accident", "description": "kerb strike"}, minutes=7),
    )
    keys = {org: ledger.issue_api_key(org) for org in ("fleetco", "kba", "recycler")}
    app = create_app(
        settings=Settings(database_url=f"sqlite:///{tmp / 'x.db'}", resolver_domain=base), ledger=ledger
    )
    with serving(app, port):
        yield base, keys
    ledger.close()


def _context(browser):
    # a phone-sized viewport, no JavaScript: the page must work without it
    return browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)


def test_public_visitor_scans_the_qr_and_sees_the_public_tier(site, browser) -> None:
    import zxingcpp
    from PIL import Image

    base, _ = site
    ctx = _context(browser)
    page = ctx.new_page()
    response = page.goto(f"{base}/01/{GTIN}/21/{SERIAL}")
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Battery passport"
    for section in (
        "#identity",
        "#chemistry",
        "#carbon-footprint",
        "#recycled-content",
        "#hazardous-substances",
        "#safety-collection",
        "#lineage",
        "#qr",
    ):
        assert page.locator(section).count() == 1, section
    for hidden in (
        "#condition",
        "#materials",
        "#dismantling",
        "#test-reports",
        "#battery-status",
        "#safety-instructions",
    ):
        assert page.locator(hidden).count() == 0, hidden
    assert "kerb strike" not in page.content()
    # the page fits a phone: no horizontal scrolling of the body
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 392)"
        ".map(e => e.tagName + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 12)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 391, wide
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "passport-public.png"), full_page=True)
    # the QR code as the browser draws it decodes to this battery's Digital Link
    png = page.locator("#qr svg").screenshot()
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert result.text == f"{base}/01/{GTIN}/21/{SERIAL}"
    ctx.close()


ROLE_SECTIONS = {
    "fleetco": ({"#condition", "#battery-status"}, {"#materials", "#dismantling", "#test-reports"}),
    # registered as a recycler but holding no valid certification: spare parts, no dismantling manual
    "recycler": (
        {"#materials", "#dismantling", "#safety-instructions"},
        {"#condition", "#battery-status", "#test-reports"},
    ),
    "kba": ({"#materials", "#dismantling", "#test-reports"}, {"#condition", "#battery-status"}),
}


@pytest.mark.parametrize("org", list(ROLE_SECTIONS))
def test_signed_in_roles_see_their_tier(site, browser, org) -> None:
    base, keys = site
    shown, hidden = ROLE_SECTIONS[org]
    ctx = _context(browser)
    page = ctx.new_page()
    target = f"/passports/{BID}/page"
    page.goto(f"{base}/login?next={target}")
    page.fill("input[name=api_key]", keys[org])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")
    for section in shown:
        assert page.locator(section).count() == 1, (org, section)
    for section in hidden:
        assert page.locator(section).count() == 0, (org, section)
    assert page.locator(f'[data-audience="{"individual" if org == "fleetco" else "public"}"]').count() == 1
    # the dismantling manual (a stored document): authorities see it; recyclers need a valid certification
    manual = page.locator('a[href*="/documents/"]', has_text="Dismantling information")
    assert (manual.count() > 0) is (org == "kba"), org
    page.screenshot(path=str(SHOTS / f"passport-{org}.png"), full_page=True)
    ctx.close()


def test_unknown_battery_shows_a_clear_404(site, browser) -> None:
    base, _ = site
    ctx = _context(browser)
    page = ctx.new_page()
    response = page.goto(f"{base}/01/{GTIN}/21/UNKNOWN")
    assert response is not None and response.status == 404
    assert "No battery passport" in page.content() or "no battery passport" in page.content()
    ctx.close()
