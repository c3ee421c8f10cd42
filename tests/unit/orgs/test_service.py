"""The organisation use cases on an in-memory registry: filters, paging and the signing-key rule."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.domain.errors import ConflictError, NotFoundError
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role
from batteryloop.orgs import service
from batteryloop.orgs.core.keys import hash_api_key, key_id_for, public_key_bytes
from batteryloop.orgs.keystore import KeyStore


class MemoryRegistry:
    """An OrgRegistry kept in dictionaries."""

    def __init__(self) -> None:
        self.orgs: dict[str, Organisation] = {}
        self.keys: dict[str, tuple[str, bytes]] = {}
        self.api_keys: dict[str, str] = {}

    def register_organisation(self, org: Organisation) -> None:
        if org.org_id in self.orgs:
            raise ConflictError(f"organisation {org.org_id!r} is already registered")
        self.orgs[org.org_id] = org

    def get_organisation(self, org_id: str) -> Organisation:
        if org_id not in self.orgs:
            raise NotFoundError(f"no organisation {org_id!r} is registered")
        return self.orgs[org_id]

    def list_organisations(self) -> list[Organisation]:
        return [self.orgs[k] for k in sorted(self.orgs)]

    def add_signing_key(self, org_id: str, public_key: bytes) -> str:
        self.get_organisation(org_id)
        self.keys[key_id_for(public_key)] = (org_id, public_key)
        return key_id_for(public_key)

    def issue_api_key(self, org_id: str) -> str:
        self.get_organisation(org_id)
        secret = f"bl_secret_{len(self.api_keys)}"
        self.api_keys[hash_api_key(secret)] = org_id
        return secret

    def authenticate(self, api_key: str) -> Organisation:
        org_id = self.api_keys.get(hash_api_key(api_key))
        if org_id is None:
            raise NotFoundError("the API key is not valid")
        return self.orgs[org_id]


def org(org_id: str, name: str, country: str, *roles: Role) -> Organisation:
    return Organisation(org_id, name, country, frozenset(roles))


@pytest.fixture
def registry() -> MemoryRegistry:
    reg = MemoryRegistry()
    for o in (
        org("catl", "CATL Ningde", "CN", Role.CELL_MANUFACTURER, Role.BATTERY_MANUFACTURER),
        org("gem", "GEM Jingmen", "CN", Role.RECYCLER),
        org("redwood", "Redwood Materials", "US", Role.RECYCLER),
        org("kba", "Kraftfahrt-Bundesamt", "DE", Role.AUTHORITY),
    ):
        service.register_organisation(reg, o)
    return reg


def test_list_filters_by_role_country_and_text(registry: MemoryRegistry) -> None:
    ids = lambda page: [o.org_id for o in page.items]  # noqa: E731
    assert ids(service.list_organisations(registry, role=Role.RECYCLER)) == ["gem", "redwood"]
    assert ids(service.list_organisations(registry, role=Role.RECYCLER, country="us")) == ["redwood"]
    assert ids(service.list_organisations(registry, text="NINGDE")) == ["catl"]
    assert ids(service.list_organisations(registry, text="kba")) == ["kba"]
    assert service.list_organisations(registry, country="FR").total == 0


def test_list_pages(registry: MemoryRegistry) -> None:
    first = service.list_organisations(registry, limit=3)
    assert [o.org_id for o in first.items] == ["catl", "gem", "kba"]
    assert (first.total, first.next_offset) == (4, 3)
    last = service.list_organisations(registry, limit=3, offset=first.next_offset or 0)
    assert [o.org_id for o in last.items] == ["redwood"] and last.next_offset is None


def test_an_organisation_adds_signing_keys_only_for_itself(registry: MemoryRegistry) -> None:
    public = public_key_bytes(Ed25519PrivateKey.generate())
    catl = registry.get_organisation("catl")
    with pytest.raises(PermissionError, match="catl may not add signing keys for gem"):
        service.add_signing_key(registry, "gem", public_key=public, caller=catl)
    assert registry.keys == {}
    added = service.add_signing_key(registry, "catl", public_key=public, caller=catl)
    assert added.key_id == key_id_for(public) and added.public_key_hex == public.hex()
    operator = service.add_signing_key(
        registry, "gem", public_key=public_key_bytes(Ed25519PrivateKey.generate()), caller=None
    )
    assert registry.keys[operator.key_id][0] == "gem"


def test_enrol_keeps_the_private_key_and_registers_the_public_one(
    registry: MemoryRegistry, tmp_path: Path
) -> None:
    store = KeyStore(tmp_path / "keys")
    cert = Certification(CertificationScheme.MIIT_WHITE_LIST, "MIIT-1", date(2024, 1, 1))
    new = Organisation("brunp", "Brunp", "CN", frozenset({Role.RECYCLER}), (cert,))
    enrolment = service.enrol(registry, new, keystore=store)
    assert registry.get_organisation("brunp") == new
    key_id, private_key = store.load("brunp")
    assert enrolment.key_id == key_id == key_id_for(public_key_bytes(private_key))
    assert registry.keys[key_id] == ("brunp", public_key_bytes(private_key))
    with pytest.raises(ConflictError):
        service.enrol(registry, new, keystore=store)


def test_api_keys_authenticate_their_organisation(registry: MemoryRegistry) -> None:
    issued = service.issue_api_key(registry, "gem")
    assert service.authenticate(registry, issued.api_key).org_id == "gem"
    with pytest.raises(NotFoundError):
        service.authenticate(registry, "bl_wrong")
    with pytest.raises(NotFoundError):
        service.issue_api_key(registry, "nobody")
