"""An app with the compliance routers and problem+json, and a Typer app with the compliance commands."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
import typer
from fastapi import FastAPI

from batteryloop.compliance.cli import compliance_app
from batteryloop.compliance.endpoints import router
from batteryloop.ledger import Ledger
from batteryloop.web import problems

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    app.state.ledger = ledger
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(compliance_app, name="compliance")
    return app
