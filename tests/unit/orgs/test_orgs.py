"""Organisations, certifications, signing keys and hashed API keys."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from batteryloop.domain.errors import ConflictError, NotFoundError, ValidationError
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role
from batteryloop.ledger import Ledger
from batteryloop.orgs import hash_api_key, key_id_for, public_key_bytes

RECYCLER = Organisation(
    "gem-jingmen",
    "GEM Jingmen",
    "CN",
    frozenset({Role.RECYCLER, Role.DISMANTLER}),
    (
        Certification(CertificationScheme.MIIT_WHITE_LIST, "MIIT-2018-01", date(2018, 9, 1)),
        Certification(CertificationScheme.EU_PERMIT, "P-77", date(2024, 1, 1), date(2028, 12, 31)),
    ),
)


def test_register_and_read_back(ledger: Ledger) -> None:
    ledger.register_organisation(RECYCLER)
    assert ledger.get_organisation("gem-jingmen") == RECYCLER
    assert [o.org_id for o in ledger.list_organisations()] == ["gem-jingmen"]
    assert ledger.get_organisation("gem-jingmen").certified_on(
        date(2026, 1, 1), CertificationScheme.EU_PERMIT
    )


def test_duplicate_and_unknown(ledger: Ledger) -> None:
    ledger.register_organisation(RECYCLER)
    with pytest.raises(ConflictError, match="already registered"):
        ledger.register_organisation(RECYCLER)
    with pytest.raises(NotFoundError, match="no organisation 'nope'"):
        ledger.get_organisation("nope")


@pytest.mark.parametrize(
    ("org_id", "country", "message"),
    [
        ("has space", "DE", "must not contain spaces"),
        ("", "DE", "must not be empty"),
        ("a\x00b", "DE", "control or invisible"),
        ("o" * 300, "DE", "over the limit of 256"),
        ("ok", "Germany", "ISO 3166"),
    ],
)
def test_invalid_organisations(ledger: Ledger, org_id: str, country: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ledger.register_organisation(Organisation(org_id, "Name", country, frozenset({Role.OWNER})))
    assert ledger.list_organisations() == []


def test_signing_keys(ledger: Ledger) -> None:
    ledger.register_organisation(RECYCLER)
    pub = public_key_bytes(Ed25519PrivateKey.generate())
    key_id = ledger.add_signing_key("gem-jingmen", pub)
    assert key_id == key_id_for(pub) == key_id_for(pub)
    assert ledger.add_signing_key("gem-jingmen", pub) == key_id  # idempotent
    with pytest.raises(ValidationError, match="holds a valid signing key"):  # later keys: signed by gem's
        ledger.add_signing_key("gem-jingmen", public_key_bytes(Ed25519PrivateKey.generate()))
    ledger.register_organisation(Organisation("other", "Other", "DE", frozenset({Role.OWNER})))
    with pytest.raises(ValidationError, match="reserved"):
        ledger.register_organisation(Organisation("_operator", "Operator", "DE", frozenset({Role.OWNER})))
    with pytest.raises(ConflictError, match="another organisation"):
        ledger.add_signing_key("other", pub)
    with pytest.raises(ValidationError, match="32 bytes"):
        ledger.add_signing_key("gem-jingmen", b"short")
    with pytest.raises(NotFoundError):
        ledger.add_signing_key("nobody", pub)


def test_api_keys_are_stored_hashed(ledger: Ledger) -> None:
    ledger.register_organisation(RECYCLER)
    secret = ledger.issue_api_key("gem-jingmen")
    assert secret.startswith("bl_")
    assert len(secret) > 40
    assert ledger.authenticate(secret).org_id == "gem-jingmen"
    with ledger.engine.connect() as conn:
        stored: Any = conn.execute(text("SELECT key_hash, prefix FROM api_keys")).one()
    assert stored.key_hash == hash_api_key(secret)
    assert secret not in stored.key_hash
    assert ledger.issue_api_key("gem-jingmen") != secret
    with pytest.raises(NotFoundError, match="not valid"):
        ledger.authenticate(secret + "x")
    with pytest.raises(NotFoundError):
        ledger.issue_api_key("nobody")
