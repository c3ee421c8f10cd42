"""The organisation registry's storage: functions on a SQLAlchemy connection whose caller owns the
transaction (the Ledger facade, which shares it with appends), and :class:`OrgStore`, the registry on an
engine for callers that need organisations without a ledger.

Database errors become domain errors here (a lost registration race is a ConflictError).
"""

from __future__ import annotations

import hmac
import json
import secrets
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from batteryloop.db.schema import api_keys, certifications, organisations
from batteryloop.domain.errors import ConflictError, NotFoundError, ValidationError
from batteryloop.domain.organisation import (
    Certification,
    CertificationScheme,
    CertifiedActivity,
    Organisation,
    Role,
)
from batteryloop.domain.payloads import PayloadField
from batteryloop.domain.validation import check_organisation, compile_field
from batteryloop.orgs.adapters import keylog
from batteryloop.orgs.core.keylog import (
    OPERATOR,
    KeyEntry,
    KeyState,
    KeyStatement,
    registration,
    sign_statement,
)
from batteryloop.orgs.core.keys import API_KEY_PREFIX, hash_api_key, key_id_for, public_key_bytes
from batteryloop.orgs.keystore import KeyStore, keystore_dir_for


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _validate(org: Organisation) -> None:
    if org.org_id.startswith("_"):
        raise ValidationError(f"organisation id {org.org_id!r}: ids starting with '_' are reserved")
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
        insert_certification(conn, org_id=org.org_id, cert=cert)


def insert_certification(conn: Connection, *, org_id: str, cert: Certification) -> int:
    """Insert one certification of ``org_id`` (validated by the caller); its row id."""
    result = conn.execute(
        insert(certifications).values(
            org_id=org_id,
            scheme=cert.scheme.value,
            reference=cert.reference,
            valid_from=cert.valid_from.isoformat(),
            valid_until=cert.valid_until.isoformat() if cert.valid_until else None,
            activity=cert.activity.value if cert.activity is not None else None,
            authority=cert.authority,
        )
    )
    key = result.inserted_primary_key
    return int(key[0]) if key is not None else 0


_ONE_LINE = compile_field(PayloadField(str, "one line of text"))


def add_certification(conn: Connection, *, org_id: str, cert: Certification) -> Certification:
    """Add a certification to a registered organisation; the stored certification (with its id)."""
    org = get_organisation(conn, org_id=org_id)
    check_organisation(
        org.org_id, org.name, org.country, [(cert.reference, cert.valid_from, cert.valid_until)]
    )
    if cert.authority is not None:
        problem = _ONE_LINE(cert.authority) or (None if cert.authority.strip() else "must not be blank")
        if problem is not None:
            raise ValidationError(f"organisation {org_id}: certification authority {problem}")
    if cert.valid_until is not None and cert.valid_until < cert.valid_from:
        raise ValidationError(
            f"organisation {org_id}: certification valid until {cert.valid_until} is before valid from "
            f"{cert.valid_from}"
        )
    cert_id = insert_certification(conn, org_id=org_id, cert=cert)
    return next(c for c in get_organisation(conn, org_id=org_id).certifications if c.cert_id == cert_id)


def withdraw_certification(conn: Connection, *, org_id: str, cert_id: int) -> Certification:
    """Mark certification ``cert_id`` of ``org_id`` withdrawn now (the row stays: what was certified when)."""
    found = [c for c in get_organisation(conn, org_id=org_id).certifications if c.cert_id == cert_id]
    if not found:
        raise NotFoundError(f"organisation {org_id} has no certification {cert_id}")
    if found[0].withdrawn_at is not None:
        raise ValidationError(
            f"certification {cert_id} of {org_id} was already withdrawn on {found[0].withdrawn_at}"
        )
    conn.execute(
        update(certifications)
        .where(certifications.c.id == cert_id, certifications.c.org_id == org_id)
        .values(withdrawn_at=_now())
    )
    return next(c for c in get_organisation(conn, org_id=org_id).certifications if c.cert_id == cert_id)


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
                activity=CertifiedActivity(c.activity) if c.activity else None,
                authority=c.authority,
                cert_id=int(c.id),
                withdrawn_at=c.withdrawn_at,
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


def _cert_subject(cert: Certification) -> str:
    return f"{cert.cert_id} {cert.scheme}:{cert.reference}"


def get_organisation(conn: Connection, *, org_id: str) -> Organisation:
    found = _load(conn, [org_id])
    if not found:
        raise NotFoundError(f"no organisation {org_id!r} is registered")
    return found[0]


def list_organisations(conn: Connection) -> list[Organisation]:
    return _load(conn, None)


def issue_api_key(conn: Connection, *, org_id: str, actor: str = "operator") -> str:
    """Create an API key for ``org_id``; the secret is returned once and stored only as its sha256."""
    get_organisation(conn, org_id=org_id)
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    digest = hash_api_key(secret)
    conn.execute(
        insert(api_keys).values(key_hash=digest, org_id=org_id, prefix=secret[:8], created_at=_now())
    )
    keylog.audit(
        conn, actor=actor, action="api_key.issue", org_id=org_id, subject=keylog.api_key_id_of(digest)
    )
    return secret


def authenticate(conn: Connection, *, api_key: str) -> Organisation:
    """The organisation owning ``api_key``; NotFoundError (without echoing the key) otherwise."""
    digest = hash_api_key(api_key)
    row = conn.execute(
        select(api_keys.c.key_hash, api_keys.c.org_id).where(
            api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None)
        )
    ).first()
    if row is None or not hmac.compare_digest(str(row.key_hash), digest):
        raise NotFoundError("the API key is not valid")
    return get_organisation(conn, org_id=str(row.org_id))


class RegistryOps:
    """The registry's methods, each its own transaction on the connection ``_registry_conn`` gives: shared by
    :class:`OrgStore` and the ledger's facade (which satisfy the ``OrgRegistry`` protocol of the service)."""

    def _registry_conn(self, *, write: bool) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _keystore_root(self) -> Path:
        raise NotImplementedError

    def register_organisation(self, org: Organisation) -> None:
        with self._registry_conn(write=True) as conn:
            register_organisation(conn, org=org)
            keylog.audit(
                conn, actor="operator", action="organisation.register", org_id=org.org_id, subject=org.name
            )

    def add_certification(self, org_id: str, cert: Certification, *, actor: str) -> Certification:
        with self._registry_conn(write=True) as conn:
            stored = add_certification(conn, org_id=org_id, cert=cert)
            keylog.audit(
                conn, actor=actor, action="certification.add", org_id=org_id, subject=_cert_subject(stored)
            )
            return stored

    def withdraw_certification(self, org_id: str, cert_id: int, *, actor: str) -> Certification:
        with self._registry_conn(write=True) as conn:
            ended = withdraw_certification(conn, org_id=org_id, cert_id=cert_id)
            keylog.audit(
                conn,
                actor=actor,
                action="certification.withdraw",
                org_id=org_id,
                subject=_cert_subject(ended),
            )
            return ended

    def get_organisation(self, org_id: str) -> Organisation:
        with self._registry_conn(write=False) as conn:
            return get_organisation(conn, org_id=org_id)

    def list_organisations(self) -> list[Organisation]:
        with self._registry_conn(write=False) as conn:
            return list_organisations(conn)

    def issue_api_key(self, org_id: str, *, actor: str = "operator") -> str:
        with self._registry_conn(write=True) as conn:
            return issue_api_key(conn, org_id=org_id, actor=actor)

    def authenticate(self, api_key: str) -> Organisation:
        with self._registry_conn(write=False) as conn:
            return authenticate(conn, api_key=api_key)

    def list_api_keys(self, org_id: str) -> list[keylog.ApiKeyRow]:
        with self._registry_conn(write=False) as conn:
            get_organisation(conn, org_id=org_id)
            return keylog.list_api_keys(conn, org_id=org_id)

    def revoke_api_key(self, org_id: str, api_key_id: str, *, actor: str) -> keylog.ApiKeyRow:
        with self._registry_conn(write=True) as conn:
            return keylog.revoke_api_key(conn, org_id=org_id, api_key_id=api_key_id, actor=actor)

    def record_key_statement(self, statement: KeyStatement, signature: bytes, *, actor: str) -> KeyEntry:
        """Append a signed registration or revocation to the key log (checked under the write lock)."""
        with self._registry_conn(write=True) as conn:
            keylog.lock_writer(conn)  # first: a read before it would pin an older snapshot in SQLite
            if statement.org_id != OPERATOR:
                get_organisation(conn, org_id=statement.org_id)
            entry = keylog.record_statement(conn, statement, signature, actor=actor)
            self._cover_key_entry(conn)
            return entry

    def _cover_key_entry(self, conn: Connection) -> None:
        """Called inside a key entry's transaction, under the write lock, after the entry is written. Here:
        nothing, so the entry is covered by the next signed tree head (the next append signs one, and so does
        ``batteryloop log checkpoint``). The ledger's facade signs a head at once (``Ledger``)."""

    def key_entries(self, *, org_id: str | None = None) -> list[KeyEntry]:
        with self._registry_conn(write=False) as conn:
            return keylog.load_entries(conn, org_id)

    def key_state(self) -> KeyState:
        with self._registry_conn(write=False) as conn:
            return keylog.key_state(conn)

    def audit_trail(self, *, org_id: str | None = None) -> list[keylog.AuditRow]:
        with self._registry_conn(write=False) as conn:
            return keylog.list_audit(conn, org_id=org_id)

    def operator_key(self) -> Ed25519PrivateKey:
        """The operator's private key from the key store next to the database, created and registered (the
        key log's self-signed first entry) if the log has no operator key yet."""
        store = KeyStore(self._keystore_root())
        try:
            _, key = store.load(OPERATOR)
        except NotFoundError:
            _, key = store.generate_key(OPERATOR)
        self.ensure_operator(key)
        return key

    def ensure_operator(self, key: Ed25519PrivateKey) -> str:
        """Register ``key`` as the operator's if the log has no operator key; ValidationError if the log's
        operator keys do not include it. Returns its key id."""
        public = public_key_bytes(key)
        key_id = key_id_for(public)
        state = self.key_state()
        operators = state.valid_keys(OPERATOR)
        if any(k.key_id == key_id for k in operators):
            return key_id
        if operators or any(k.org_id == OPERATOR for k in state.keys.values()):
            raise ValidationError(f"key {key_id} is not a valid operator key of this ledger")
        statement = registration(OPERATOR, public, signer_org=OPERATOR, signer_key_id=key_id)
        self.record_key_statement(statement, sign_statement(statement, key), actor="operator")
        return key_id

    def add_signing_key(
        self, org_id: str, public_key: bytes, *, operator_key: Ed25519PrivateKey | None = None
    ) -> str:
        """The operator admits ``public_key`` as a signing key of ``org_id`` (allowed while the organisation
        has no valid key); a key already registered to ``org_id`` is returned as is. ``operator_key``: the
        operator's key (default: the key store next to the database)."""
        if len(public_key) != 32:
            raise ValidationError(f"an Ed25519 public key has 32 bytes, got {len(public_key)}")
        self.get_organisation(org_id)
        key_id = key_id_for(public_key)
        known = self.key_state().keys.get(key_id)
        if known is not None:
            if known.org_id != org_id:
                raise ConflictError(f"signing key {key_id} is registered to another organisation")
            if not known.revoked:
                return key_id
        operator = operator_key if operator_key is not None else self.operator_key()
        signer = self.ensure_operator(operator)
        statement = registration(org_id, public_key, signer_org=OPERATOR, signer_key_id=signer)
        self.record_key_statement(statement, sign_statement(statement, operator), actor="operator")
        return key_id


class OrgStore(RegistryOps):
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

    def _registry_conn(self, *, write: bool) -> AbstractContextManager[Connection]:
        return self.engine.begin() if write else self.engine.connect()

    def _keystore_root(self) -> Path:
        return keystore_dir_for(self.engine.url.render_as_string(hide_password=True))
