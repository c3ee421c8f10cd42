"""No link of a demo passport page answers 404, in a real browser (Debian chromium via Playwright), in English
and Chinese, for the public and for signed-in organisations.

The demo ledger is written under the default public base URL; the server runs under another one (its own
loopback port), so the test also shows that every link follows the configured base URL rather than the
address the data was registered under. Every ``a[href]`` and ``img[src]`` of the platform is fetched with the
browser's own session; the only other links are the manufacturer's e-mail and web address.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from support.browser import SHOTS, free_port, serving

pytestmark = pytest.mark.browser

PAGES = 4  # demo passports opened per language and role


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str], dict[str, str]]]:
    from rich.console import Console

    from batteryloop.app import create_app
    from batteryloop.config import DEFAULT_PUBLIC_BASE_URL, Settings, WebSettings
    from batteryloop.demo import run_demo
    from batteryloop.domain.organisation import Role
    from batteryloop.ledger import Ledger
    from batteryloop.passport.service import PassportService

    tmp: Path = tmp_path_factory.mktemp("e2e-demo-links")
    url = f"sqlite:///{tmp / 'demo.db'}"
    run_demo(
        settings=Settings(database_url=url, resolver_domain=DEFAULT_PUBLIC_BASE_URL),
        n_batteries=25,
        seed=12,
        replace=True,
        console=Console(file=io.StringIO()),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    assert base != DEFAULT_PUBLIC_BASE_URL
    ledger = Ledger.open(url)
    service = PassportService(ledger, resolver_domain=base)
    chosen: list[str] = []
    for row in ledger.batteries(limit=10_000):
        if row.level not in ("pack", "system") or len(chosen) == PAGES:
            continue
        try:
            document = service.view(row.status.battery_id).document
        except Exception:  # ceased: not a page the public can open
            continue
        if document.get("carbon_footprint"):  # passport data registered: documents and labels linked
            chosen.append(row.status.battery_id)
    assert len(chosen) == PAGES
    orgs = {
        role: next(o.org_id for o in ledger.list_organisations() if role in o.roles)
        for role in (Role.RECYCLER, Role.AUTHORITY)
    }
    keys = {role.value: ledger.issue_api_key(org) for role, org in orgs.items()}
    # one browser follows every link of every page as fast as it can: the per-address limit is not under test here
    web = WebSettings.from_mapping(
        {"rate_per_address_per_s": 1_000_000.0, "rate_burst_per_address": 1_000_000}
    )
    app = create_app(settings=Settings(database_url=url, resolver_domain=base, web=web), ledger=ledger)
    with serving(app, port):
        yield base, chosen, keys
    ledger.close()


def _links(page: Any) -> list[str]:
    found: list[str] = page.evaluate(
        "[...document.querySelectorAll('a[href]')].map(a => a.href)"
        ".concat([...document.querySelectorAll('img[src]')].map(i => i.src))"
    )
    return sorted(set(found))


@pytest.mark.parametrize("role", [None, "recycler", "authority"])
@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_no_link_of_a_demo_passport_page_answers_404(demo_site, browser, lang, role) -> None:
    base, battery_ids, keys = demo_site
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = ctx.new_page()
    if role is not None:
        page.goto(f"{base}/login")
        page.fill("input[name=api_key]", keys[role])
        page.click("button[type=submit]")
        page.wait_for_load_state()
    checked: dict[str, int] = {}
    documents = 0
    for battery_id in battery_ids:
        response = page.goto(f"{base}/passports/{battery_id}/page?lang={lang}")
        assert response is not None and response.status == 200
        # every label symbol is drawn (a broken image has no natural width)
        widths = page.evaluate("[...document.querySelectorAll('img.label-symbol')].map(i => i.naturalWidth)")
        assert widths and all(w > 0 for w in widths), widths
        for href in _links(page):
            if href.startswith("mailto:"):
                continue
            origin = f"{urlsplit(href).scheme}://{urlsplit(href).netloc}"
            if origin != base:
                # the manufacturer's own web address: theirs to serve, not this platform's
                assert urlsplit(href).netloc.endswith(".example"), href
                continue
            if href not in checked:
                answer = ctx.request.get(href, max_redirects=5)
                checked[href] = answer.status
            documents += "/documents/" in href
            assert checked[href] != 404 and checked[href] < 400, (href, checked[href], lang, role)
    assert documents >= PAGES * 8  # label symbols, studies, declarations, end-of-life pages, ...
    if role == "recycler":  # dismantling information is served to recyclers, not to the public
        assert page.locator("#dismantling a").count() >= 1
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"demo-passport-{lang}-{role or 'public'}.png"), full_page=True)
    ctx.close()
