"""The reference router mounted on a bare FastAPI app; Python = CLI --json = HTTP for every use case."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batteryloop.params import report
from batteryloop.params.cli import params_app
from batteryloop.params.endpoints import router
from batteryloop.reference import service


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def cli_json(*args: str) -> object:
    result = CliRunner().invoke(params_app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_list_params(client: TestClient) -> None:
    response = client.get("/params")
    assert response.status_code == 200
    names = [row["name"] for row in response.json()]
    assert {"everbatt2023", "fleet", "passport-access", "gbt34014", "ledger"} <= set(names)


def test_show_params_with_prefix_and_unverified_filter(client: TestClient) -> None:
    body = client.get("/params/everbatt2023", params={"prefix": "regions.ES", "unverified": "true"}).json()
    assert body
    assert all(path.startswith("regions.ES.") for path in body)
    assert {leaf["quality"] for leaf in body.values()} == {"unverified"}


def test_unknown_names_are_404(client: TestClient) -> None:
    assert client.get("/params/everbatt1999").status_code == 404
    assert client.get("/params/everbatt2023", params={"prefix": "nothing"}).status_code == 404
    assert client.get("/citations/nobody").status_code == 404
    assert client.get("/citations", params={"used_by": "nothing"}).status_code == 404


def test_citations(client: TestClient) -> None:
    body = client.get("/citations/EB23xl").json()
    assert body["publisher"] == "Argonne National Laboratory"
    assert body["url"].startswith("https://")
    used = {c["key"] for c in client.get("/citations", params={"used_by": "passport-obligations"}).json()}
    assert used == {"EU-2023-1542", "EU-2025-1561"}


def test_parity_list(client: TestClient) -> None:
    python = report.sets_json(service.list_sets())
    assert client.get("/params").json() == python == cli_json("list")


def test_parity_show(client: TestClient) -> None:
    python = report.view_json(service.show("fleet", prefix="ageing"))
    assert client.get("/params/fleet", params={"prefix": "ageing"}).json() == python
    assert cli_json("show", "fleet", "--prefix", "ageing") == python


def test_parity_cite(client: TestClient) -> None:
    python = report.citation_json(service.cite("Peters2016"))
    assert client.get("/citations/Peters2016").json() == python == cli_json("cite", "Peters2016")


def test_parity_citations_used_by(client: TestClient) -> None:
    python = report.citations_json(service.list_citations(used_by="gbt34014"))
    http = client.get("/citations", params={"used_by": "gbt34014"}).json()
    assert http == python == cli_json("list", "--citations", "--used-by", "gbt34014")
