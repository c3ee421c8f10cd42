"""The document store through its three faces (Python, CLI, HTTP): the same record and bytes from each, the
checks on what is stored, the access tiers, and a document that cannot change silently."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.documents import add_document, get_document
from batteryloop.documents.cli import document_app
from batteryloop.domain.errors import NotFoundError, StorageError, ValidationError
from batteryloop.domain.organisation import Role
from batteryloop.ledger import Ledger

BASE = "https://passports.example.org"
PDF = b"%PDF-1.4\n% a tiny document for the tests\n%%EOF\n"


@pytest.fixture
def env(tmp_path: Path, bl):
    url = f"sqlite:///{tmp_path / 'docs.db'}"
    ledger = Ledger.open(url)
    bl.build_world(ledger)
    bl.add_actor(ledger, "rec", Role.RECYCLER)
    keys = {org: ledger.issue_api_key(org) for org in ("maker", "rec")}
    app = create_app(settings=Settings(database_url=url, resolver_domain=BASE), ledger=ledger)
    yield ledger, url, TestClient(app, base_url=BASE), keys
    ledger.close()


def test_python_cli_and_http_store_and_serve_the_same_document(env, tmp_path: Path, monkeypatch) -> None:
    ledger, url, client, keys = env
    digest = hashlib.sha256(PDF).hexdigest()
    # HTTP: an organisation uploads; the answer names the reference a passport links and its URL
    posted = client.post(
        "/documents?filename=manual.pdf",
        content=PDF,
        headers={"X-API-Key": keys["maker"], "Content-Type": "application/pdf"},
    )
    assert posted.status_code == 201, posted.text
    record = posted.json()
    assert record["sha256"] == digest and record["ref"] == f"sha256:{digest}"
    assert record["url"] == f"{BASE}/documents/{digest}" and record["uploaded_by"] == "maker"
    # the same bytes again: the first record stays (200, not created)
    again = client.post(
        "/documents", content=PDF, headers={"X-API-Key": keys["rec"], "Content-Type": "application/pdf"}
    )
    assert again.status_code == 200 and again.json()["uploaded_by"] == "maker"
    # Python and the CLI see the same record and bytes
    python = add_document(ledger, PDF, media_type="application/pdf", uploaded_by="maker")
    assert python.sha256 == digest and not python.created
    monkeypatch.setenv("BATTERYLOOP_PUBLIC_BASE_URL", BASE)
    shown = CliRunner().invoke(document_app, ["show", digest, "--db", url, "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == {**record, "created": False}
    out = tmp_path / "back.pdf"
    got = CliRunner().invoke(document_app, ["get", f"sha256:{digest}", "--db", url, "-o", str(out)])
    assert got.exit_code == 0, got.output
    served = client.get(f"/documents/{digest}")
    assert served.status_code == 200 and served.headers["content-type"] == "application/pdf"
    assert served.content == out.read_bytes() == get_document(ledger, digest).content == PDF
    assert served.headers["content-disposition"] == 'inline; filename="manual.pdf"'
    assert served.headers["x-content-type-options"] == "nosniff"
    # the CLI stores a file for an organisation and prints the same record HTTP gives
    svg = tmp_path / "symbol.svg"
    svg.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    added = CliRunner().invoke(document_app, ["add", str(svg), "--org", "maker", "--db", url, "--json"])
    assert added.exit_code == 0, added.output
    cli_record = json.loads(added.output)
    assert cli_record["media_type"] == "image/svg+xml" and cli_record["created"] is True
    assert client.get(f"/documents/{cli_record['sha256']}/record").json() == {**cli_record, "created": False}


def test_uploads_are_checked_and_a_refused_one_writes_nothing(env, tmp_path: Path) -> None:
    ledger, url, client, keys = env
    anonymous = client.post("/documents", content=PDF, headers={"Content-Type": "application/pdf"})
    assert anonymous.status_code == 401
    headers = {"X-API-Key": keys["maker"]}
    exe = client.post(
        "/documents", content=b"MZ\x90\x00", headers={**headers, "Content-Type": "application/x-msdownload"}
    )
    assert exe.status_code == 422 and "media_type" in exe.json()["detail"]
    empty = client.post("/documents", content=b"", headers={**headers, "Content-Type": "application/pdf"})
    assert empty.status_code == 422 and "content" in empty.json()["detail"]
    tier = client.post(
        "/documents?tier=secret", content=PDF, headers={**headers, "Content-Type": "application/pdf"}
    )
    assert tier.status_code == 422 and "tier" in tier.json()["detail"]
    latin = client.post(
        "/documents", content=b"x", headers={**headers, "Content-Type": "text/plain; charset=latin-1"}
    )
    assert latin.status_code == 422
    from batteryloop.documents.core.rules import DocumentLimits

    with pytest.raises(ValidationError, match="content: 11 bytes is more than the limit of 10 bytes"):
        add_document(
            ledger,
            b"x" * 11,
            media_type="text/plain",
            uploaded_by="maker",
            limits=DocumentLimits(10, frozenset({"text/plain"})),
        )
    with pytest.raises(NotFoundError, match="nobody"):
        add_document(ledger, PDF, media_type="application/pdf", uploaded_by="nobody")
    bad = CliRunner().invoke(
        document_app, ["add", str(tmp_path / "missing.pdf"), "--org", "maker", "--db", url]
    )
    assert bad.exit_code == 2 and "missing.pdf" in bad.output
    assert ledger.documents.list() == []
    # the edge refuses a body above the route's limit before the route reads it
    big = client.post(
        "/documents",
        content=b"x" * (16 * 1024 * 1024 + 1),
        headers={**headers, "Content-Type": "application/pdf"},
    )
    assert big.status_code == 413


def test_restricted_documents_are_served_to_their_audience_and_uploader_only(env) -> None:
    ledger, _, client, keys = env
    record = add_document(
        ledger, PDF, media_type="application/pdf", uploaded_by="maker", tier="legitimate_interest"
    )
    path = f"/documents/{record.sha256}"
    assert client.get(path).status_code == 404  # the public: it does not exist
    assert client.get(f"{path}/record").status_code == 404
    assert client.get(path, headers={"X-API-Key": keys["rec"]}).content == PDF  # a recycler
    mine = client.get(path, headers={"X-API-Key": keys["maker"]})
    assert mine.status_code == 200 and mine.headers["cache-control"] == "private, no-store"
    with pytest.raises(NotFoundError):
        get_document(ledger, record.sha256)  # the public through Python, too
    assert get_document(ledger, record.sha256, operator=True).content == PDF
    assert client.get("/documents/not-a-hash").status_code == 422


def test_a_stored_document_cannot_change_silently(env) -> None:
    ledger, _, client, _ = env
    record = add_document(ledger, PDF, media_type="application/pdf", uploaded_by="maker")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), ledger.engine.begin() as conn:
        conn.execute(sa.text("UPDATE documents SET content = :c"), {"c": b"forged"})
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), ledger.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM documents"))
    # with the trigger dropped (a writer with full rights), the altered bytes are refused, never served
    with ledger.engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER documents_no_update"))
        conn.execute(sa.text("UPDATE documents SET content = :c"), {"c": b"forged"})
    with pytest.raises(StorageError, match="do not match their hash"):
        get_document(ledger, record.sha256)
    assert client.get(f"/documents/{record.sha256}").status_code == 503
