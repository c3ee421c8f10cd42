"""`batteryloop org ...`: registration with a local signing key, listing as a fitted table, JSON and CSV, and
the parity of the listing with Python and HTTP."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batteryloop import clikit
from batteryloop.app import create_app
from batteryloop.cli import app
from batteryloop.config import Settings
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role
from batteryloop.ledger import Ledger
from batteryloop.orgs import OrgStore, service
from batteryloop.orgs.core import public_key_bytes
from batteryloop.orgs.keystore import KeyStore, keystore_dir_for
from batteryloop.orgs.schemas import OrganisationRead

runner = CliRunner()
LONG_NAME = "Guangdong Brunp Recycling Technology Company Limited, Foshan Lishui Industrial Park Branch"


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'orgs.db'}"
    invoke(
        "org",
        "add",
        "catl-ningde",
        "--name",
        "CATL Ningde",
        "--country",
        "cn",
        "--role",
        "battery_manufacturer",
        "--db",
        url,
    )
    invoke(
        "org", "add", "brunp-foshan-lishui-industrial-park", "--name", LONG_NAME, "--country", "CN",
        "--role", "recycler", "--role", "dismantler",
        "--cert", "miit_white_list:MIIT-2018-GUANGDONG-0001-BRUNP:2018-09-01:2028-08-31",
        "--cert", "eu_permit:EU-PERMIT-FOSHAN-LISHUI-0042:2024-01-01",
        "--db", url,
    )  # fmt: skip
    return url


def test_add_registers_the_organisation_and_keeps_its_private_key(db: str) -> None:
    store = OrgStore.open(db, create=False)
    key_id, private_key = KeyStore(keystore_dir_for(db)).load("catl-ningde")
    (listed_key,) = service.list_signing_keys(store, "catl-ningde")
    assert (listed_key.key_id, listed_key.public_key_hex) == (key_id, public_key_bytes(private_key).hex())
    assert listed_key.signed_by.startswith("_operator/")  # the first key: admitted by the operator
    assert store.get_organisation("catl-ningde").country == "CN"
    assert key_id in invoke("org", "keys", "catl-ningde", "--db", db).replace("\n", "").replace(
        "│", ""
    ).replace(" ", "")
    out = invoke("org", "keys", "catl-ningde", "--api-key", "--db", db)
    secret = out.split("stored hashed): ")[1].split()[0]
    assert store.authenticate(secret).org_id == "catl-ningde"
    listed = json.loads(invoke("org", "keys", "catl-ningde", "--json", "--db", db))
    assert listed == [{"key_id": key_id}]
    assert invoke("org", "keys", "catl-ningde", "--csv", "--db", db).splitlines() == ["key_id", key_id]
    result = runner.invoke(
        app, ["org", "add", "catl-ningde", "--name", "X", "--country", "CN", "--role", "recycler", "--db", db]
    )
    assert (
        result.exit_code == 2
        and result.output.strip().startswith("error:")
        and "already registered" in result.output
    )


def test_list_fits_80_columns_without_cutting_cells(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    clikit.console.cache_clear()
    try:
        out = invoke("org", "list", "--db", db)
    finally:
        clikit.console.cache_clear()
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in out
    cells = "".join(line.split("│")[1].strip() for line in lines if line.count("│") > 2)
    assert "brunp-foshan-lishui-industrial-park" in cells


def test_list_as_json_and_csv_with_filters(db: str) -> None:
    listed = json.loads(invoke("org", "list", "--json", "--role", "recycler", "--db", db))
    assert [o["org_id"] for o in listed] == ["brunp-foshan-lishui-industrial-park"]
    assert listed[0]["name"] == LONG_NAME and len(listed[0]["certifications"]) == 2
    rows = list(csv.DictReader(io.StringIO(invoke("org", "list", "--csv", "--db", db))))
    assert [r["org_id"] for r in rows] == ["brunp-foshan-lishui-industrial-park", "catl-ningde"]
    assert rows[0]["roles"] == "dismantler, recycler"
    assert [
        r["org_id"]
        for r in csv.DictReader(io.StringIO(invoke("org", "list", "--csv", "--search", "ningde", "--db", db)))
    ] == ["catl-ningde"]
    result = runner.invoke(app, ["org", "list", "--json", "--csv", "--db", db])
    assert result.exit_code == 2 and "choose one of --json and --csv" in result.output


def test_parity_list_organisations(db: str) -> None:
    ledger = Ledger.open(db)
    page = service.list_organisations(ledger, role=Role.BATTERY_MANUFACTURER, country="CN")
    expected = [OrganisationRead.from_result(o).model_dump(mode="json") for o in page.items]
    assert [o["org_id"] for o in expected] == ["catl-ningde"]
    by_cli = json.loads(
        invoke("org", "list", "--role", "battery_manufacturer", "--country", "cn", "--json", "--db", db)
    )
    with TestClient(create_app(settings=Settings(database_url=db), ledger=ledger)) as client:
        r = client.get("/organisations", params={"role": "battery_manufacturer", "country": "cn"})
    ledger.close()
    assert by_cli == r.json() == expected


def test_listing_without_a_database_creates_none(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    result = runner.invoke(app, ["org", "list", "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 2 and "no database at" in result.output and "Traceback" not in result.output
    assert not missing.exists()


def test_parity_register_organisation(tmp_path: Path) -> None:
    """The same organisation registered from Python, `org add` and POST /organisations reads back alike."""
    cert = "miit_white_list:MIIT-2018-01:2018-09-01:2028-08-31"
    body = {
        "org_id": "gem-jingmen",
        "name": "GEM Jingmen",
        "country": "CN",
        "roles": ["dismantler", "recycler"],
        "certifications": [
            {
                "scheme": "miit_white_list",
                "reference": "MIIT-2018-01",
                "valid_from": "2018-09-01",
                "valid_until": "2028-08-31",
            }
        ],
    }
    read = []
    for face in ("python", "cli", "http"):
        url = f"sqlite:///{tmp_path / face}.db"
        if face == "cli":
            invoke(
                "org", "add", "gem-jingmen", "--name", "GEM Jingmen", "--country", "CN",
                "--role", "recycler", "--role", "dismantler", "--cert", cert, "--db", url,
            )  # fmt: skip
            ledger = Ledger.open(url)
        else:
            ledger = Ledger.open(url)
            if face == "python":
                gem = Organisation(
                    "gem-jingmen",
                    "GEM Jingmen",
                    "CN",
                    frozenset({Role.RECYCLER, Role.DISMANTLER}),
                    (
                        Certification(
                            CertificationScheme.MIIT_WHITE_LIST,
                            "MIIT-2018-01",
                            date(2018, 9, 1),
                            date(2028, 8, 31),
                        ),
                    ),
                )
                service.register_organisation(ledger, gem)
            else:
                settings = Settings(database_url=url, admin_token="t")
                with TestClient(create_app(settings=settings, ledger=ledger)) as client:
                    r = client.post("/organisations", json=body, headers={"X-Admin-Token": "t"})
                    assert r.status_code == 201, r.text
        read.append(ledger.get_organisation("gem-jingmen"))
        ledger.close()
    assert read[0] == read[1] == read[2]
    assert len(read[0].certifications) == 1 and read[0].roles == {Role.RECYCLER, Role.DISMANTLER}


def test_key_and_apikey_commands_rotate_revoke_list_and_audit(db: str) -> None:
    store = OrgStore.open(db, create=False)
    keystore = KeyStore(keystore_dir_for(db))
    first, _ = keystore.load("catl-ningde")
    out = invoke("org", "key", "rotate", "catl-ningde", "--db", db)
    (new,) = [k.key_id for k in service.list_signing_keys(store, "catl-ningde") if k.status == "valid"]
    assert f"signing key {new} registered; {first} revoked after position 0" in out.replace("\n", " ")
    listed = json.loads(invoke("org", "key", "list", "catl-ningde", "--json", "--db", db))
    assert [(k["key_id"], k["status"]) for k in listed] == [(first, "revoked"), (new, "valid")]
    assert listed[1]["signed_by"] == f"catl-ningde/{first}"
    result = runner.invoke(app, ["org", "key", "revoke", "catl-ningde", first, "--db", db])
    assert result.exit_code == 2 and "already revoked" in result.stderr
    added = invoke("org", "key", "add", "catl-ningde", "--db", db)
    assert "registered for catl-ningde" in added
    invoke("org", "apikey", "issue", "catl-ningde", "--db", db)
    (api,) = json.loads(invoke("org", "apikey", "list", "catl-ningde", "--json", "--db", db))
    out = invoke("org", "apikey", "rotate", "catl-ningde", api["api_key_id"], "--db", db)
    secret = out.split("stored hashed): ")[1].split()[0]
    assert store.authenticate(secret).org_id == "catl-ningde"
    rows = json.loads(invoke("org", "apikey", "list", "catl-ningde", "--json", "--db", db))
    assert [r["revoked_at"] is not None for r in rows] == [True, False]
    result = runner.invoke(app, ["org", "apikey", "revoke", "catl-ningde", "nope", "--db", db])
    assert result.exit_code == 2 and "has no API key 'nope'" in result.stderr
    trail = json.loads(invoke("org", "audit", "--org", "catl-ningde", "--json", "--db", db))
    assert [a["action"] for a in trail] == [
        "organisation.register",
        "signing_key.register",
        "signing_key.register",
        "signing_key.revoke",
        "signing_key.register",
        "api_key.issue",
        "api_key.issue",
        "api_key.revoke",
    ]
    assert {a["actor"] for a in trail} == {"operator"}


def test_parity_signing_keys_and_audit(db: str) -> None:
    """Python, CLI --json and HTTP give the same key listing and audit trail."""
    from batteryloop.orgs.schemas import AuditRead, SigningKeyInfoRead

    store = OrgStore.open(db, create=False)
    python_keys = [
        SigningKeyInfoRead.from_result(k).model_dump(mode="json")
        for k in service.list_signing_keys(store, "catl-ningde")
    ]
    python_audit = [AuditRead.from_result(a).model_dump(mode="json") for a in service.audit_trail(store)]
    cli_keys = json.loads(invoke("org", "key", "list", "catl-ningde", "--json", "--db", db))
    cli_audit = json.loads(invoke("org", "audit", "--json", "--db", db))
    ledger = Ledger.open(db, create=False)
    try:
        settings = Settings(database_url=db, admin_token="t0ken")
        with TestClient(create_app(settings=settings, ledger=ledger)) as client:
            http_keys = client.get("/organisations/catl-ningde/signing-keys").json()
            http_audit = client.get("/audit", headers={"X-Admin-Token": "t0ken"}).json()
    finally:
        ledger.close()
    assert python_keys == cli_keys == http_keys and len(python_keys) == 1
    assert python_audit == cli_audit == http_audit and len(python_audit) == 5
