"""An app with the analytics routers and problem+json, and a Typer app with the analytics commands."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from batteryloop.analytics.endpoints import router
from batteryloop.analytics.pages import router as pages_router
from batteryloop.ledger import Ledger
from batteryloop.web import problems

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EXAMPLES = Path(__file__).parents[3] / "src" / "batteryloop" / "analytics" / "examples"


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    app.include_router(pages_router)
    app.state.ledger = ledger
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def triage_file(tmp_path: Path) -> Path:
    path = tmp_path / "batteries.csv"
    path.write_text((EXAMPLES / "triage_example.csv").read_text(encoding="utf-8"), encoding="utf-8")
    return path
