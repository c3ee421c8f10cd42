"""The organisation use cases on a SQLite registry: filters, paging, the signing-key rules, rotation and
revocation of signing and API keys, and the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.domain.errors import ConflictError, NotFoundError, SignatureError, ValidationError
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role
from batteryloop.orgs import OrgStore, service
from batteryloop.orgs.core.keylog import registration, sign_statement
from batteryloop.orgs.core.keys import key_id_for, public_key_bytes
from batteryloop.orgs.keystore import KeyStore


def org(org_id: str, name: str, country: str, *roles: Role) -> Organisation:
    return Organisation(org_id, name, country, frozenset(roles))


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[OrgStore]:
    reg = OrgStore.open(f"sqlite:///{tmp_path / 'registry.db'}", create=True)
    for o in (
        org("catl", "CATL Ningde", "CN", Role.CELL_MANUFACTURER, Role.BATTERY_MANUFACTURER),
        org("gem", "GEM Jingmen", "CN", Role.RECYCLER),
        org("redwood", "Redwood Materials", "US", Role.RECYCLER),
        org("kba", "Kraftfahrt-Bundesamt", "DE", Role.AUTHORITY),
    ):
        service.register_organisation(reg, o)
    yield reg
    reg.close()


def test_list_filters_by_role_country_and_text(registry: OrgStore) -> None:
    ids = lambda page: [o.org_id for o in page.items]  # noqa: E731
    assert ids(service.list_organisations(registry, role=Role.RECYCLER)) == ["gem", "redwood"]
    assert ids(service.list_organisations(registry, role=Role.RECYCLER, country="us")) == ["redwood"]
    assert ids(service.list_organisations(registry, text="NINGDE")) == ["catl"]
    assert ids(service.list_organisations(registry, text="kba")) == ["kba"]
    assert service.list_organisations(registry, country="FR").total == 0


def test_list_pages(registry: OrgStore) -> None:
    first = service.list_organisations(registry, limit=3)
    assert [o.org_id for o in first.items] == ["catl", "gem", "kba"]
    assert (first.total, first.next_offset) == (4, 3)
    last = service.list_organisations(registry, limit=3, offset=first.next_offset or 0)
    assert [o.org_id for o in last.items] == ["redwood"] and last.next_offset is None


def test_an_organisation_adds_signing_keys_only_for_itself_and_only_signed(registry: OrgStore) -> None:
    first = Ed25519PrivateKey.generate()
    admitted = service.admit_signing_key(registry, "catl", public_key=public_key_bytes(first))
    assert admitted.key_id == key_id_for(public_key_bytes(first))
    public = public_key_bytes(Ed25519PrivateKey.generate())
    catl = registry.get_organisation("catl")
    statement = registration("gem", public, signer_org="gem", signer_key_id=admitted.key_id)
    with pytest.raises(PermissionError, match="catl may not add signing keys of gem"):
        service.register_signing_key(
            registry,
            "gem",
            public_key=public,
            signer_key_id=admitted.key_id,
            signature=sign_statement(statement, first),
            caller=catl,
        )
    statement = registration("catl", public, signer_org="catl", signer_key_id=admitted.key_id)
    with pytest.raises(SignatureError, match="does not verify"):
        service.register_signing_key(
            registry,
            "catl",
            public_key=public,
            signer_key_id=admitted.key_id,
            signature=b"\0" * 64,
            caller=catl,
        )
    added = service.register_signing_key(
        registry,
        "catl",
        public_key=public,
        signer_key_id=admitted.key_id,
        signature=sign_statement(statement, first),
        caller=catl,
    )
    assert added.key_id == key_id_for(public) and added.public_key_hex == public.hex()
    with pytest.raises(PermissionError, match="catl may not admit"):
        service.admit_signing_key(
            registry, "gem", public_key=public_key_bytes(Ed25519PrivateKey.generate()), caller=catl
        )
    with pytest.raises(ValidationError, match="holds a valid signing key"):
        service.admit_signing_key(registry, "catl", public_key=public_key_bytes(Ed25519PrivateKey.generate()))
    listed = service.list_signing_keys(registry, "catl")
    assert [(k.key_id, k.status, k.signed_by.split("/")[0]) for k in listed] == [
        (admitted.key_id, "valid", "_operator"),
        (added.key_id, "valid", "catl"),
    ]
    assert [a.action for a in service.audit_trail(registry, org_id="catl")] == [
        "organisation.register",
        "signing_key.register",
        "signing_key.register",
    ]


def test_rotation_and_revocation_with_a_key_store(registry: OrgStore, tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    first = service.new_signing_key(registry, "gem", keystore=store)
    rotated = service.rotate_signing_key(registry, "gem", keystore=store)
    assert (
        rotated.revoked.key_id == first.key_id and rotated.revoked.signed_by == f"gem/{rotated.added.key_id}"
    )
    assert store.load("gem")[0] == rotated.added.key_id  # the revoked private key is set aside
    assert {k.key_id: k.status for k in service.list_signing_keys(registry, "gem")} == {
        first.key_id: "revoked",
        rotated.added.key_id: "valid",
    }
    with pytest.raises(ValidationError, match="already revoked"):
        service.revoke_signing_key_as_operator(registry, "gem", key_id=first.key_id)
    operator = service.revoke_local_key(
        registry, "gem", key_id=rotated.added.key_id, keystore=store, operator=True
    )
    assert operator.signed_by.startswith("_operator/")
    readmitted = service.new_signing_key(registry, "gem", keystore=store)  # no valid key: the operator admits
    assert service.list_signing_keys(registry, "gem")[-1].signed_by.startswith("_operator/")
    assert readmitted.key_id not in (first.key_id, rotated.added.key_id)


def test_api_keys_are_listed_rotated_and_revoked(registry: OrgStore) -> None:
    gem = registry.get_organisation("gem")
    issued = service.issue_api_key(registry, "gem")
    (row,) = service.list_api_keys(registry, "gem", caller=gem)
    assert row.prefix == issued.api_key[:8] and row.revoked_at is None
    with pytest.raises(PermissionError):
        service.list_api_keys(registry, "gem", caller=registry.get_organisation("catl"))
    with pytest.raises(PermissionError):
        service.issue_api_key(registry, "gem", caller=gem)
    rotated = service.rotate_api_key(registry, "gem", api_key_id=row.api_key_id, caller=gem)
    assert rotated.revoked.revoked_at is not None
    with pytest.raises(NotFoundError):
        service.authenticate(registry, issued.api_key)
    assert service.authenticate(registry, rotated.issued.api_key).org_id == "gem"
    with pytest.raises(ValidationError, match="already revoked"):
        service.revoke_api_key(registry, "gem", api_key_id=row.api_key_id)
    with pytest.raises(NotFoundError, match="no API key"):
        service.revoke_api_key(registry, "gem", api_key_id="0" * 16)
    trail = service.audit_trail(registry, caller=gem)
    assert [(a.actor, a.action) for a in trail] == [
        ("operator", "organisation.register"),
        ("operator", "api_key.issue"),
        ("gem", "api_key.issue"),
        ("gem", "api_key.revoke"),
    ]
    with pytest.raises(PermissionError):
        service.audit_trail(registry, org_id="catl", caller=gem)


def test_enrol_keeps_the_private_key_and_registers_the_public_one(registry: OrgStore, tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    cert = Certification(CertificationScheme.MIIT_WHITE_LIST, "MIIT-1", date(2024, 1, 1))
    new = Organisation("brunp", "Brunp", "CN", frozenset({Role.RECYCLER}), (cert,))
    enrolment = service.enrol(registry, new, keystore=store)
    assert registry.get_organisation("brunp") == new
    key_id, private_key = store.load("brunp")
    assert enrolment.key_id == key_id == key_id_for(public_key_bytes(private_key))
    assert [k.public_key_hex for k in service.list_signing_keys(registry, "brunp")] == [
        public_key_bytes(private_key).hex()
    ]
    with pytest.raises(ConflictError):
        service.enrol(registry, new, keystore=store)


def test_api_keys_authenticate_their_organisation(registry: OrgStore) -> None:
    issued = service.issue_api_key(registry, "gem")
    assert service.authenticate(registry, issued.api_key).org_id == "gem"
    with pytest.raises(NotFoundError):
        service.authenticate(registry, "bl_wrong")
    with pytest.raises(NotFoundError):
        service.issue_api_key(registry, "nobody")
