"""Rate limits shared by two app instances ("worker processes") through Redis, over HTTP (starlette's
TestClient, an httpx client): each instance runs in its own event loop with its own Redis connections, as two
worker processes would, and the burst is shared between them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batteryloop.app import create_app
from batteryloop.config import Settings, WebSettings
from batteryloop.ledger import Ledger

pytestmark = pytest.mark.redis


def _settings(db: Path, **web: Any) -> Settings:
    return Settings(database_url=f"sqlite:///{db}", web=WebSettings.from_mapping(web))


def test_two_app_instances_share_the_address_bucket(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    settings = _settings(
        tmp_path / "r.db",
        rate_store=redis_url,
        rate_store_prefix=redis_prefix,
        rate_per_address_per_s=0.01,
        rate_burst_per_address=4,
    )
    with TestClient(create_app(settings=settings)) as one, TestClient(create_app(settings=settings)) as two:
        codes = [(one, two)[i % 2].get("/health").status_code for i in range(4)]
        assert codes == [200, 200, 200, 200]
        refused = one.get("/health")
        assert refused.status_code == 429
        assert 90 <= int(refused.headers["retry-after"]) <= 100  # one token at 0.01/s
        assert "client address" in refused.json()["detail"]
        assert two.get("/health").status_code == 429  # the other worker knows it too


def test_two_app_instances_share_the_key_bucket(
    tmp_path: Path, redis_url: str, redis_prefix: str, bl: Any
) -> None:
    settings = _settings(
        tmp_path / "k.db",
        rate_store=redis_url,
        rate_store_prefix=redis_prefix,
        rate_per_key_per_s=0.01,
        rate_burst_per_key=2,
    )
    ledger = Ledger.open(settings.database_url)
    bl.build_world(ledger)
    first, second = ledger.issue_api_key("maker"), ledger.issue_api_key("recycler")
    app_one, app_two = (
        create_app(settings=settings, ledger=ledger),
        create_app(settings=settings, ledger=ledger),
    )
    with TestClient(app_one) as one, TestClient(app_two) as two:
        codes = [c.get("/batteries", headers={"X-API-Key": first}).status_code for c in (one, two, one)]
        assert codes == [200, 200, 429]
        assert "API key" in two.get("/batteries", headers={"X-API-Key": first}).json()["detail"]
        assert two.get("/batteries", headers={"X-API-Key": second}).status_code == 200
    ledger.close()
