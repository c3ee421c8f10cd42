"""Certifications of organisations: recorded and withdrawn by the operator, listed by anyone, the same from
Python, the CLI and HTTP; and the passport's dismantling information follows them (tier tests)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.organisation import Certification, CertificationScheme, CertifiedActivity
from batteryloop.ledger import Ledger
from batteryloop.orgs import OrgStore
from batteryloop.orgs.certifications import certifications_document, certify, list_certifications, uncertify
from batteryloop.orgs.cli import org_app

ADMIN = {"X-Admin-Token": "s3cret-admin"}
RESOLVER = "https://id.batteryloop.test"
BID = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000e001"
TODAY = date.today()
PERMIT = Certification(
    CertificationScheme.EU_PERMIT,
    "DE-NW-2025-0042",
    TODAY - timedelta(days=100),
    TODAY + timedelta(days=265),
    activity=CertifiedActivity.RECYCLING,
    authority="Bezirksregierung Arnsberg",
)


def test_certify_list_and_withdraw_in_python(ledger, bl) -> None:
    bl.build_world(ledger)
    stored = certify(ledger, "recycler", cert=PERMIT)
    assert stored.cert_id is not None and stored.authority == "Bezirksregierung Arnsberg"
    listed = list_certifications(ledger, "recycler")
    assert [(c.reference, listed.status(c)) for c in listed.certifications] == [("DE-NW-2025-0042", "active")]
    assert ledger.get_organisation("recycler").certified_on(TODAY, activities={"recycling"})
    with pytest.raises(PermissionError):
        certify(ledger, "recycler", cert=PERMIT, caller=ledger.get_organisation("maker"))
    with pytest.raises(ValidationError, match="before valid from"):
        certify(
            ledger,
            "recycler",
            cert=Certification(CertificationScheme.EU_PERMIT, "X", TODAY, TODAY - timedelta(days=1)),
        )
    with pytest.raises(ValidationError, match="certification authority"):
        certify(
            ledger,
            "recycler",
            cert=Certification(CertificationScheme.EU_PERMIT, "X", TODAY, authority="a\nb"),
        )
    with pytest.raises(NotFoundError):
        certify(ledger, "nobody", cert=PERMIT)
    ended = uncertify(ledger, "recycler", cert_id=stored.cert_id)
    assert ended.withdrawn_at is not None
    assert not ledger.get_organisation("recycler").certified_on(TODAY, activities={"recycling"})
    with pytest.raises(ValidationError, match="already withdrawn"):
        uncertify(ledger, "recycler", cert_id=stored.cert_id)
    with pytest.raises(NotFoundError):
        uncertify(ledger, "recycler", cert_id=9999)
    actions = [a.action for a in ledger.audit_trail(org_id="recycler")]
    assert actions[-2:] == ["certification.add", "certification.withdraw"]


@pytest.fixture
def site(tmp_path: Path, bl):
    url = f"sqlite:///{tmp_path / 'certs.db'}"
    ledger = Ledger.open(url)
    world = bl.build_world(ledger)
    unit = bl.pack_unit(BID, serial="E001")
    world.maker.append(*bl.with_passport(unit, seed=4, resolver_domain=RESOLVER))
    keys = {org: ledger.issue_api_key(org) for org in ("recycler", "dealer", "maker")}
    app = create_app(
        settings=Settings(database_url=url, admin_token="s3cret-admin", resolver_domain=RESOLVER),
        ledger=ledger,
    )
    with TestClient(app) as client:
        yield client, keys, ledger, url
    ledger.close()


BODY = {
    "scheme": "eu_permit",
    "number": "DE-NW-2025-0042",
    "authority": "Bezirksregierung Arnsberg",
    "activity": "recycling",
    "valid_from": (TODAY - timedelta(days=100)).isoformat(),
    "valid_until": (TODAY + timedelta(days=265)).isoformat(),
}


def _dismantling(client: TestClient, key: str) -> bool:
    doc = client.get(f"/passports/{BID}", headers={"X-API-Key": key}).json()
    return "dismantling_documents" in doc.get("circularity", {})


def test_http_certification_opens_and_withdrawal_closes_the_dismantling_information(site) -> None:
    client, keys, ledger, _ = site
    recycler = keys["recycler"]
    assert not _dismantling(client, recycler)  # registered as a recycler only
    assert client.post("/organisations/recycler/certifications", json=BODY).status_code == 401
    assert (
        client.post(
            "/organisations/recycler/certifications", json=BODY, headers={"X-API-Key": recycler}
        ).status_code
        == 401
    )
    r = client.post("/organisations/recycler/certifications", json=BODY, headers=ADMIN)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["number"], made["authority"], made["activity"], made["status"]) == (
        "DE-NW-2025-0042",
        "Bezirksregierung Arnsberg",
        "recycling",
        "active",
    )
    assert _dismantling(client, recycler)
    bad = {**BODY, "valid_until": (TODAY - timedelta(days=200)).isoformat()}
    assert client.post("/organisations/recycler/certifications", json=bad, headers=ADMIN).status_code == 422
    listed = client.get("/organisations/recycler/certifications")
    assert listed.status_code == 200
    assert listed.json() == certifications_document(list_certifications(ledger, "recycler"))
    # a repairer certification does not open what a recycling one does
    repair = {**BODY, "activity": "repair", "number": "R-1"}
    assert (
        client.post("/organisations/recycler/certifications", json=repair, headers=ADMIN).status_code == 201
    )
    r = client.delete(f"/organisations/recycler/certifications/{made['id']}", headers=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert not _dismantling(client, recycler)
    # an expired certification is not enough either
    old = {**BODY, "valid_from": "2020-01-01", "valid_until": (TODAY - timedelta(days=1)).isoformat()}
    assert client.post("/organisations/recycler/certifications", json=old, headers=ADMIN).status_code == 201
    assert not _dismantling(client, recycler)
    # the repairer with a repair certification gets it
    assert not _dismantling(client, keys["dealer"])
    assert client.post("/organisations/dealer/certifications", json=repair, headers=ADMIN).status_code == 201
    assert _dismantling(client, keys["dealer"])
    assert _dismantling(client, keys["maker"])  # the manufacturer answers for its own battery


def test_cli_certify_certs_uncertify_agree_with_http(site) -> None:
    client, _, _, url = site
    runner = CliRunner()
    args = [
        "certify", "recycler", "--scheme", "eu_permit", "--number", "DE-NW-2025-0042",
        "--authority", "Bezirksregierung Arnsberg", "--activity", "recycling",
        "--from", BODY["valid_from"], "--until", BODY["valid_until"], "--db", url, "--json",
    ]  # fmt: skip
    made = runner.invoke(org_app, args)
    assert made.exit_code == 0, made.output
    cert_id = json.loads(made.output)["id"]
    listed = runner.invoke(org_app, ["certs", "recycler", "--db", url, "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == client.get("/organisations/recycler/certifications").json()
    table = runner.invoke(org_app, ["certs", "recycler", "--db", url])
    assert table.exit_code == 0 and "active" in table.output
    gone = runner.invoke(org_app, ["uncertify", "recycler", str(cert_id), "--db", url, "--json"])
    assert gone.exit_code == 0 and json.loads(gone.output)["status"] == "withdrawn"
    bad = runner.invoke(org_app, [*args[:-3], "--until", "2000-01-01", "--db", url])
    assert bad.exit_code == 2 and "before valid from" in bad.output
    store = OrgStore.open(url, create=False)
    assert not store.get_organisation("recycler").certified_on(TODAY, activities={"recycling"})
