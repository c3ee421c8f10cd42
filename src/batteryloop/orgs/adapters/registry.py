"""The organisation registry's storage: functions on a SQLAlchemy connection whose caller owns the
transaction (the Ledger facade, which shares it with appends), and :class:`OrgStore`, the registry on an
engine for callers that need organisations without a ledger.

Database errors become domain errors here (a lost registration race is a ConflictError).
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from batteryloop.db.schema import api_keys, certifications, organisations, signing_keys
from batteryloop.domain.errors import ConflictError, NotFoundError, ValidationError
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role
from batteryloop.domain.validation import check_organisation
from batteryloop.orgs.core.keys import API_KEY_PREFIX, hash_api_key, key_id_for


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _validate(org: Organisation) -> None:
    check_organisation(
        org.org_id,
        org.name,
        org.country,
        [(c.reference, c.valid_from, c.valid_until) for c in org.certifications],
    )
    if not org.org_id or not org.org_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValidationError(
            f"organisation id {org.org_id!r} must be non-empty letters, digits, '-', '_' or '.'"
        )
    if len(org.country) != 2 or not org.country.isalpha() or not org.country.isupper():
        raise ValidationError(f"organisation {org.org_id}: country {org.country!r} is not ISO 3166-1 alpha-2")
    if not org.name.strip():
        raise ValidationError(f"organisation {org.org_id}: name is empty")


def register_organisation(conn: Connection, *, org: Organisation) -> None:
    """Insert ``org`` and its certifications; ConflictError if the id is taken."""
    _validate(org)
    exists = conn.execute(select(organisations.c.org_id).where(organisations.c.org_id == org.org_id)).first()
    if exists is not None:
        raise ConflictError(f"organisation {org.org_id!r} is already registered")
    try:
        conn.execute(
            insert(organisations).values(
                org_id=org.org_id,
                name=org.name,
                country=org.country,
                roles=json.dumps(sorted(r.value for r in org.roles)),
                created_at=_now(),
            )
        )
    except IntegrityError as exc:  # a concurrent registration won the race
        raise ConflictError(f"organisation {org.org_id!r} is already registered") from exc
    for cert in org.certifications:
        conn.execute(
            insert(certifications).values(
                org_id=org.org_id,
                scheme=cert.scheme.value,
                reference=cert.reference,
                valid_from=cert.valid_from.isoformat(),
                valid_until=cert.valid_until.isoformat() if cert.valid_until else None,
            )
        )


def _load(conn: Connection, org_ids: list[str] | None) -> list[Organisation]:
    query = select(organisations).order_by(organisations.c.org_id)
    if org_ids is not None:
        query = query.where(organisations.c.org_id.in_(org_ids))
    rows = conn.execute(query).all()
    certs: dict[str, list[Certification]] = {}
    cquery = select(certifications).order_by(certifications.c.id)
    if org_ids is not None:
        cquery = cquery.where(certifications.c.org_id.in_(org_ids))
    for c in conn.execute(cquery):
        certs.setdefault(c.org_id, []).append(
            Certification(
                scheme=CertificationScheme(c.scheme),
                reference=c.reference,
                valid_from=date.fromisoformat(c.valid_from),
                valid_until=date.fromisoformat(c.valid_until) if c.valid_until else None,
            )
        )
    return [
        Organisation(
            org_id=r.org_id,
            name=r.name,
            country=r.country,
            roles=frozenset(Role(v) for v in json.loads(r.roles)),
            certifications=tuple(certs.get(r.org_id, ())),
        )
        for r in rows
    ]


def get_organisation(conn: Connection, *, org_id: str) -> Organisation:
    found = _load(conn, [org_id])
    if not found:
        raise NotFoundError(f"no organisation {org_id!r} is registered")
    return found[0]


def list_organisations(conn: Connection) -> list[Organisation]:
    return _load(conn, None)


def add_signing_key(conn: Connection, *, org_id: str, public_key: bytes) -> str:
    """Register a raw 32-byte Ed25519 public key for ``org_id``; return its key id."""
    get_organisation(conn, org_id=org_id)
    if len(public_key) != 32:
        raise ValidationError(f"an Ed25519 public key has 32 bytes, got {len(public_key)}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise ValidationError(f"not an Ed25519 public key: {exc}") from exc
    key_id = key_id_for(public_key)
    row = conn.execute(select(signing_keys.c.org_id).where(signing_keys.c.key_id == key_id)).first()
    if row is not None:
        if row.org_id != org_id:
            raise ConflictError(f"signing key {key_id} is registered to another organisation")
        return key_id
    conn.execute(
        insert(signing_keys).values(key_id=key_id, org_id=org_id, public_key=public_key, created_at=_now())
    )
    return key_id


def signing_key(conn: Connection, *, key_id: str) -> tuple[str, bytes]:
    """Return (org_id, raw public key) of a registered key; NotFoundError if unknown."""
    row = conn.execute(
        select(signing_keys.c.org_id, signing_keys.c.public_key).where(signing_keys.c.key_id == key_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no signing key {key_id!r} is registered")
    return str(row.org_id), bytes(row.public_key)


def issue_api_key(conn: Connection, *, org_id: str) -> str:
    """Create an API key for ``org_id``; the secret is returned once and stored only as its sha256."""
    get_organisation(conn, org_id=org_id)
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(api_keys).values(
            key_hash=hash_api_key(secret), org_id=org_id, prefix=secret[:8], created_at=_now()
        )
    )
    return secret


def authenticate(conn: Connection, *, api_key: str) -> Organisation:
    """The organisation owning ``api_key``; NotFoundError (without echoing the key) otherwise."""
    digest = hash_api_key(api_key)
    row = conn.execute(
        select(api_keys.c.key_hash, api_keys.c.org_id).where(api_keys.c.key_hash == digest)
    ).first()
    if row is None or not hmac.compare_digest(str(row.key_hash), digest):
        raise NotFoundError("the API key is not valid")
    return get_organisation(conn, org_id=str(row.org_id))


class OrgStore:
    """The organisation registry on its own engine, one transaction per call (the ``OrgRegistry`` of
    :mod:`batteryloop.orgs.service`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, create: bool) -> OrgStore:
        """The registry of the database at ``url``; ``create`` migrates it to the newest schema first, else
        a database that is missing or not at the newest schema is a NotFoundError."""
        from batteryloop.db.engine import make_engine
        from batteryloop.db.migrate import current_revision, head_revision, upgrade

        engine = make_engine(url)
        if create:
            upgrade(engine)
        elif current_revision(engine) != head_revision(engine):
            engine.dispose()
            raise NotFoundError(f"no ledger database at {url} (or its schema is not at the latest migration)")
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def register_organisation(self, org: Organisation) -> None:
        with self.engine.begin() as conn:
            register_organisation(conn, org=org)

    def get_organisation(self, org_id: str) -> Organisation:
        with self.engine.connect() as conn:
            return get_organisation(conn, org_id=org_id)

    def list_organisations(self) -> list[Organisation]:
        with self.engine.connect() as conn:
            return list_organisations(conn)

    def add_signing_key(self, org_id: str, public_key: bytes) -> str:
        with self.engine.begin() as conn:
            return add_signing_key(conn, org_id=org_id, public_key=public_key)

    def issue_api_key(self, org_id: str) -> str:
        with self.engine.begin() as conn:
            return issue_api_key(conn, org_id=org_id)

    def authenticate(self, api_key: str) -> Organisation:
        with self.engine.connect() as conn:
            return authenticate(conn, api_key=api_key)
