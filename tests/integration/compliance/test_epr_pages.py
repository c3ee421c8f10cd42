"""The producers' and regulators' pages: English and Chinese, charts as inline SVG whose bars link to the
batteries behind them, the ledger position stated, and roles deciding what is shown."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.ledger import Ledger
from support import epr_world as w

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def site(ledger: Ledger, tmp_path: Path) -> Iterator[TestClient]:
    w.build(ledger)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}")
    with TestClient(create_app(settings=settings, ledger=ledger)) as client:
        yield client


def test_producer_page_and_printable_report(ledger: Ledger, site: TestClient) -> None:
    headers = {"X-API-Key": ledger.issue_api_key("maker")}
    page = site.get("/ui/compliance/producer?year=2025&as_of=2026-12-01", headers=headers)
    assert page.status_code == 200, page.text
    body = page.text
    assert "Obligations of maker" in body and "<svg" in body
    assert f"ledger position {ledger.counts().events}" in body
    assert "/ui/compliance/batteries?" in body and "figure=leaked" in body
    assert "x1" not in body  # another producer's battery
    printable = site.get("/ui/compliance/producer?year=2025&as_of=2026-12-01&print=1", headers=headers)
    assert printable.status_code == 200 and "Printable report" not in printable.text
    zh = site.get("/ui/compliance/producer?year=2025&as_of=2026-12-01&lang=zh-Hans", headers=headers)
    assert "回收" in zh.text or "生产者" in zh.text


def test_regulator_page_and_figure_list(ledger: Ledger, site: TestClient) -> None:
    headers = {"X-API-Key": ledger.issue_api_key("authority-de")}
    page = site.get("/ui/compliance/regulator?year=2025&as_of=2026-12-01", headers=headers)
    assert page.status_code == 200, page.text
    assert "recycler" in page.text  # the performance ranking
    listing = site.get("/ui/compliance/batteries?figure=leaked&year=2024&as_of=2026-12-01", headers=headers)
    assert listing.status_code == 200
    assert "e2" in listing.text and "rogue" in listing.text
    other = {"X-API-Key": ledger.issue_api_key("other")}
    denied = site.get("/ui/compliance/producer?producer=maker", headers=other)
    assert denied.status_code == 403
    assert site.get("/ui/compliance/regulator", follow_redirects=False).status_code == 303
