"""The composition roots: the CLI mounts every capability from one list and imports one only to run it; the
app includes every capability's router from one list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batteryloop import cli
from batteryloop.app import ROUTERS, create_app
from batteryloop.config import Settings

SRC = Path(cli.__file__).parent.parent


def loaded_after(*argv: str) -> set[str]:
    """The batteryloop modules (and heavy libraries) a fresh interpreter has imported after ``argv``."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)) + '\\n'))\n"
        f"sys.argv = ['batteryloop', *{list(argv)!r}]\n"
        "from batteryloop.cli import app\n"
        "app()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return set(done.stderr.rsplit("MODULES ", 1)[1].split())


def test_help_imports_no_capability() -> None:
    modules = loaded_after("--help")
    capabilities = {
        "batteryloop.ledger",
        "batteryloop.orgs",
        "batteryloop.passport",
        "batteryloop.recycling",
        "batteryloop.fleet",
        "batteryloop.params",
    }
    assert not modules & capabilities
    assert not modules & {"sqlalchemy", "fastapi", "pydantic", "numpy", "cryptography"}


def test_a_command_imports_only_its_capability() -> None:
    modules = loaded_after("org", "--help")
    assert "batteryloop.orgs.cli" in modules
    assert not modules & {"batteryloop.passport", "batteryloop.recycling", "batteryloop.ledger.cli"}


@pytest.mark.parametrize("mount", cli.MOUNTS, ids=lambda m: m.name)
def test_each_mount_loads_and_is_listed_with_its_own_help(mount: cli.Mount) -> None:
    command = cli.load(mount)
    assert (command.help or "").strip().splitlines()[0] == mount.help


def test_every_mount_answers_help() -> None:
    runner = CliRunner()
    out = runner.invoke(cli.app, ["--help"]).output
    for mount in cli.MOUNTS:
        assert mount.name in out
        result = runner.invoke(cli.app, [mount.name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_app_includes_every_capability(tmp_path: Path) -> None:
    app = create_app(settings=Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}"))
    assert len(ROUTERS) == 14
    paths = app.openapi()["paths"]
    for path in (
        "/organisations",
        "/batteries",
        "/verify",
        "/passports/{battery_id}",
        "/passports/{battery_id}/page",
        "/recycling/run",
        "/params",
        "/citations/{key}",
        "/log/checkpoint",
        "/log/proof/inclusion",
        "/log/proof/consistency",
        "/documents",
        "/documents/{sha256}",
    ):
        assert path in paths, path
    with TestClient(app) as client:
        assert client.get("/ui/batteries", follow_redirects=False).status_code == 303
        assert client.get("/recycling").status_code == 200
        assert client.get("/static/site.css").status_code == 200
        assert client.get("/params").status_code == 200


def test_app_serves_its_api_docs_without_a_cdn(tmp_path: Path) -> None:
    app = create_app(settings=Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}"))
    with TestClient(app) as client:
        for page in ("/docs", "/redoc"):
            response = client.get(page)
            assert response.status_code == 200, page
            assert "cdn.jsdelivr.net" not in response.text and "fonts.googleapis.com" not in response.text
        docs = client.get("/docs").text
        assert "/_apidocs/swagger-ui-bundle.js" in docs
        assert client.get("/_apidocs/swagger-ui-bundle.js").status_code == 200
        assert client.get("/openapi.json").json()["info"]["title"] == "batteryloop"


def test_serve_links_to_its_public_address(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import uvicorn

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    monkeypatch.delenv("BATTERYLOOP_RESOLVER_DOMAIN", raising=False)
    monkeypatch.delenv("BATTERYLOOP_PUBLIC_BASE_URL", raising=False)
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    runner = CliRunner()
    assert runner.invoke(cli.app, ["serve", "--port", "9123", "--db", db]).exit_code == 0
    assert (
        runner.invoke(
            cli.app, ["serve", "--public-url", "https://batteries.example.org/", "--db", db]
        ).exit_code
        == 0
    )
    monkeypatch.setenv("BATTERYLOOP_RESOLVER_DOMAIN", "https://resolver.example.net")
    assert runner.invoke(cli.app, ["serve", "--port", "9124", "--db", db]).exit_code == 0
    monkeypatch.delenv("BATTERYLOOP_RESOLVER_DOMAIN")
    monkeypatch.setenv("BATTERYLOOP_PUBLIC_BASE_URL", "https://public.example.com")
    assert runner.invoke(cli.app, ["serve", "--port", "9125", "--db", db]).exit_code == 0
    domains = [app.state.settings.resolver_domain for app, _ in served]
    assert domains == [
        "http://127.0.0.1:9123",
        "https://batteries.example.org",
        "https://resolver.example.net",
        "https://public.example.com",
    ]
    assert [app.state.settings.public_base_url for app, _ in served] == domains
    # forwarded headers are honoured by the app's edge, from web.trusted_proxies only (docs/security.md)
    assert served[0][1]["port"] == 9123 and served[0][1]["proxy_headers"] is False


def test_the_faces_open_the_ledger_with_the_settings_ledger_section(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from batteryloop.ledger.cli import open_ledger

    monkeypatch.setenv("BATTERYLOOP_LEDGER_READ_CHUNK_EVENTS", "7")
    db = f"sqlite:///{tmp_path / 'faces.db'}"
    ledger = open_ledger(db, create=True)
    try:
        assert ledger.settings.read_chunk_events == 7
    finally:
        ledger.close()
    settings = Settings.load(environ={}, overrides={"database_url": db})
    app = create_app(settings=Settings(database_url=db, ledger=settings.ledger.with_(read_chunk_events=11)))
    with TestClient(app):
        assert app.state.ledger.settings.read_chunk_events == 11
