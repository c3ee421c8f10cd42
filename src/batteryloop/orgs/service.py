"""Use cases of the organisation registry, the same for Python, the CLI and HTTP.

Each takes an open registry (anything shaped like :class:`OrgRegistry`: the Ledger, or an
:class:`~batteryloop.orgs.adapters.OrgStore`), typed inputs and keyword-only options; returns frozen results;
raises domain errors; applies the registry's policy: an organisation manages only its own keys, its first
signing key is admitted by the operator and every later one must be signed by one of its valid keys (an API
key alone registers nothing), and every signing-key change is a signed entry of the key log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.organisation import Certification, Organisation, Role
from batteryloop.domain.registration import ProducerRegistration
from batteryloop.orgs.adapters.keylog import ApiKeyRow, AuditRow
from batteryloop.orgs.core.keylog import (
    OPERATOR,
    KeyEntry,
    KeyRecord,
    KeyState,
    KeyStatement,
    registration,
    revocation,
    sign_statement,
)
from batteryloop.orgs.core.keys import public_key_bytes

if TYPE_CHECKING:
    from batteryloop.orgs.keystore import KeyStore

__all__ = [
    "ApiKeyIssued",
    "ApiKeyRotated",
    "Enrolment",
    "OrgRegistry",
    "OrganisationPage",
    "SessionStore",
    "SignedIn",
    "SigningKeyAdded",
    "SigningKeyInfo",
    "SigningKeyRevoked",
    "SigningKeyRotated",
    "admit_signing_key",
    "audit_trail",
    "authenticate",
    "enrol",
    "get_organisation",
    "issue_api_key",
    "list_api_keys",
    "list_organisations",
    "list_signing_keys",
    "new_signing_key",
    "producer_registrations",
    "register_organisation",
    "register_producer",
    "register_signing_key",
    "revoke_api_key",
    "revoke_local_key",
    "revoke_signing_key",
    "revoke_signing_key_as_operator",
    "rotate_api_key",
    "rotate_signing_key",
    "session_caller",
    "sign_in",
    "sign_out",
]


class OrgRegistry(Protocol):
    """Where organisations and their keys are kept. Each call is its own transaction."""

    def register_organisation(self, org: Organisation) -> None: ...
    def get_organisation(self, org_id: str) -> Organisation: ...
    def list_organisations(self) -> list[Organisation]: ...
    def add_certification(self, org_id: str, cert: Certification, *, actor: str) -> Certification: ...
    def withdraw_certification(self, org_id: str, cert_id: int, *, actor: str) -> Certification: ...
    def add_signing_key(
        self, org_id: str, public_key: bytes, *, operator_key: Ed25519PrivateKey | None = None
    ) -> str: ...
    def issue_api_key(self, org_id: str, *, actor: str = "operator") -> str: ...
    def authenticate(self, api_key: str) -> Organisation: ...
    def list_api_keys(self, org_id: str) -> list[ApiKeyRow]: ...
    def revoke_api_key(self, org_id: str, api_key_id: str, *, actor: str) -> ApiKeyRow: ...
    def record_key_statement(self, statement: KeyStatement, signature: bytes, *, actor: str) -> KeyEntry: ...
    def key_entries(self, *, org_id: str | None = None) -> list[KeyEntry]: ...
    def key_state(self) -> KeyState: ...
    def audit_trail(self, *, org_id: str | None = None) -> list[AuditRow]: ...
    def operator_key(self) -> Ed25519PrivateKey: ...
    def ensure_operator(self, key: Ed25519PrivateKey) -> str: ...


@dataclass(frozen=True, slots=True)
class OrganisationPage:
    """One page of a filtered listing: ``total`` organisations match, ``items`` start at ``offset``."""

    items: tuple[Organisation, ...]
    total: int
    limit: int | None
    offset: int

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.items)
        return end if end < self.total else None


@dataclass(frozen=True, slots=True)
class ApiKeyIssued:
    org_id: str
    api_key: str  # shown once; the registry keeps only its hash


@dataclass(frozen=True, slots=True)
class SigningKeyAdded:
    org_id: str
    key_id: str
    public_key_hex: str


@dataclass(frozen=True, slots=True)
class Enrolment:
    """An organisation registered together with a signing key whose private half is in a local key store."""

    organisation: Organisation
    key_id: str
    keystore_root: str


def _matches(org: Organisation, *, role: Role | None, country: str | None, text: str | None) -> bool:
    if role is not None and role not in org.roles:
        return False
    if country is not None and org.country != country.upper():
        return False
    if text:
        needle = text.casefold()
        return needle in org.org_id.casefold() or needle in org.name.casefold()
    return True


def list_organisations(
    registry: OrgRegistry,
    *,
    role: Role | None = None,
    country: str | None = None,
    text: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> OrganisationPage:
    """Organisations by id, filtered by role, ISO country and a text found in the id or the name."""
    found = [o for o in registry.list_organisations() if _matches(o, role=role, country=country, text=text)]
    end = None if limit is None else offset + limit
    return OrganisationPage(items=tuple(found[offset:end]), total=len(found), limit=limit, offset=offset)


def get_organisation(registry: OrgRegistry, org_id: str) -> Organisation:
    return registry.get_organisation(org_id)


def register_organisation(registry: OrgRegistry, org: Organisation) -> Organisation:
    """Register ``org``; ConflictError if its id is taken, ValidationError if it is malformed."""
    registry.register_organisation(org)
    return org


def _who(caller: Organisation | None) -> str:
    return "operator" if caller is None else caller.org_id


def _own(caller: Organisation | None, org_id: str, what: str) -> None:
    """An organisation manages only its own keys; ``caller`` None is the operator, who may manage anyone's."""
    if caller is not None and caller.org_id != org_id:
        raise PermissionError(f"{caller.org_id} may not {what} of {org_id}")


def issue_api_key(registry: OrgRegistry, org_id: str, *, caller: Organisation | None = None) -> ApiKeyIssued:
    """A new API key for ``org_id`` (shown once). Only the operator issues API keys."""
    if caller is not None:
        raise PermissionError(f"{caller.org_id} may not issue API keys: the operator does")
    return ApiKeyIssued(org_id=org_id, api_key=registry.issue_api_key(org_id, actor=_who(caller)))


@dataclass(frozen=True, slots=True)
class SigningKeyInfo:
    """One signing key as the signed key log establishes it."""

    org_id: str
    key_id: str
    public_key_hex: str
    registered_seq: int
    valid_after_position: int
    signed_by: str
    revoked_seq: int | None
    revoked_after_position: int | None

    @property
    def status(self) -> str:
        return "revoked" if self.revoked_seq is not None else "valid"

    @classmethod
    def of(cls, record: KeyRecord) -> SigningKeyInfo:
        return cls(
            org_id=record.org_id,
            key_id=record.key_id,
            public_key_hex=record.public_key.hex(),
            registered_seq=record.registered_seq,
            valid_after_position=record.registered_after,
            signed_by=record.signer,
            revoked_seq=record.revoked_seq,
            revoked_after_position=record.revoked_after,
        )


@dataclass(frozen=True, slots=True)
class SigningKeyRevoked:
    org_id: str
    key_id: str
    seq: int
    after_position: int
    signed_by: str


@dataclass(frozen=True, slots=True)
class SigningKeyRotated:
    added: SigningKeyAdded
    revoked: SigningKeyRevoked


@dataclass(frozen=True, slots=True)
class ApiKeyRotated:
    issued: ApiKeyIssued
    revoked: ApiKeyRow


def list_signing_keys(registry: OrgRegistry, org_id: str) -> tuple[SigningKeyInfo, ...]:
    """Every signing key of ``org_id`` in the order the key log registered them, valid or revoked."""
    registry.get_organisation(org_id)
    records = [k for k in registry.key_state().keys.values() if k.org_id == org_id]
    return tuple(SigningKeyInfo.of(k) for k in sorted(records, key=lambda k: k.registered_seq))


def register_signing_key(
    registry: OrgRegistry,
    org_id: str,
    *,
    public_key: bytes,
    signer_key_id: str,
    signature: bytes,
    caller: Organisation | None,
) -> SigningKeyAdded:
    """Register ``public_key`` for ``org_id`` with a signature by a valid key of ``org_id`` over the key
    entry (``registration(...).message()`` of :mod:`batteryloop.orgs.core.keylog`). An API key alone cannot
    do it: the organisation's current signing key must sign."""
    _own(caller, org_id, "add signing keys")
    if len(public_key) != 32:
        raise ValidationError(f"an Ed25519 public key has 32 bytes, got {len(public_key)}")
    statement = registration(org_id, public_key, signer_org=org_id, signer_key_id=signer_key_id)
    registry.record_key_statement(statement, signature, actor=_who(caller))
    return SigningKeyAdded(org_id=org_id, key_id=statement.key_id, public_key_hex=public_key.hex())


def admit_signing_key(
    registry: OrgRegistry,
    org_id: str,
    *,
    public_key: bytes,
    operator_key: Ed25519PrivateKey | None = None,
    caller: Organisation | None = None,
) -> SigningKeyAdded:
    """The operator admits ``org_id``'s first key (or a key after all its keys were revoked), signing the
    entry with the operator's key (default: the one in the key store next to the database)."""
    if caller is not None:
        raise PermissionError(f"{caller.org_id} may not admit signing keys: the operator does")
    key_id = registry.add_signing_key(org_id, public_key, operator_key=operator_key)
    return SigningKeyAdded(org_id=org_id, key_id=key_id, public_key_hex=public_key.hex())


def revoke_signing_key(
    registry: OrgRegistry,
    org_id: str,
    *,
    key_id: str,
    signer_key_id: str,
    signature: bytes,
    caller: Organisation | None,
) -> SigningKeyRevoked:
    """Revoke ``key_id`` of ``org_id`` with a signature by a valid key of ``org_id`` (itself included) over
    the entry ``revocation(...)``; batches after this point are refused."""
    _own(caller, org_id, "revoke signing keys")
    statement = revocation(org_id, key_id, signer_org=org_id, signer_key_id=signer_key_id)
    entry = registry.record_key_statement(statement, signature, actor=_who(caller))
    return SigningKeyRevoked(org_id, key_id, entry.seq, entry.after_position, f"{org_id}/{signer_key_id}")


def revoke_signing_key_as_operator(
    registry: OrgRegistry,
    org_id: str,
    *,
    key_id: str,
    operator_key: Ed25519PrivateKey | None = None,
    caller: Organisation | None = None,
) -> SigningKeyRevoked:
    """The operator revokes ``key_id`` of ``org_id`` (a leaked key whose organisation cannot act)."""
    if caller is not None:
        raise PermissionError(f"{caller.org_id} may not revoke keys as the operator")
    operator = operator_key if operator_key is not None else registry.operator_key()
    signer = registry.ensure_operator(operator)
    statement = revocation(org_id, key_id, signer_org=OPERATOR, signer_key_id=signer)
    entry = registry.record_key_statement(statement, sign_statement(statement, operator), actor="operator")
    return SigningKeyRevoked(org_id, key_id, entry.seq, entry.after_position, f"{OPERATOR}/{signer}")


def _valid_local_key(registry: OrgRegistry, org_id: str, keystore: KeyStore) -> tuple[str, Ed25519PrivateKey]:
    """The newest key of ``org_id`` in ``keystore`` that the key log holds valid."""
    valid = {k.key_id for k in registry.key_state().valid_keys(org_id)}
    for key_id in reversed(keystore.key_ids_by_age(org_id)):
        if key_id in valid:
            return keystore.load(org_id, key_id)
    raise NotFoundError(f"no valid signing key of {org_id} in the key store {keystore.root}")


def new_signing_key(
    registry: OrgRegistry, org_id: str, *, keystore: KeyStore, operator: bool = False
) -> SigningKeyAdded:
    """Generate a key pair for ``org_id`` in ``keystore`` and register its public key: signed by the newest
    valid key of ``org_id`` in the key store, or admitted by the operator if ``org_id`` has no valid key
    (``operator`` asks for the operator's admission explicitly)."""
    registry.get_organisation(org_id)
    has_valid = bool(registry.key_state().valid_keys(org_id))
    signer = None if operator or not has_valid else _valid_local_key(registry, org_id, keystore)
    key_id, private_key = keystore.generate_key(org_id)
    public = public_key_bytes(private_key)
    try:
        if signer is None:
            return admit_signing_key(registry, org_id, public_key=public)
        statement = registration(org_id, public, signer_org=org_id, signer_key_id=signer[0])
        return register_signing_key(
            registry,
            org_id,
            public_key=public,
            signer_key_id=signer[0],
            signature=sign_statement(statement, signer[1]),
            caller=None,
        )
    except BaseException:
        keystore.retire(org_id, key_id)
        raise


def revoke_local_key(
    registry: OrgRegistry, org_id: str, *, key_id: str, keystore: KeyStore, operator: bool = False
) -> SigningKeyRevoked:
    """Revoke ``key_id`` of ``org_id``, signed by another valid key of ``org_id`` in ``keystore`` (the key
    itself if there is no other) or, with ``operator``, by the operator; its private key is set aside."""
    if operator:
        revoked = revoke_signing_key_as_operator(registry, org_id, key_id=key_id)
    else:
        registry.get_organisation(org_id)
        valid = {k.key_id for k in registry.key_state().valid_keys(org_id)}
        local = [k for k in keystore.key_ids_by_age(org_id) if k in valid]
        others = [k for k in local if k != key_id]
        if not local:
            raise NotFoundError(f"no valid signing key of {org_id} in the key store {keystore.root}")
        signer_id, signer_key = keystore.load(org_id, (others or local)[-1])
        statement = revocation(org_id, key_id, signer_org=org_id, signer_key_id=signer_id)
        revoked = revoke_signing_key(
            registry,
            org_id,
            key_id=key_id,
            signer_key_id=signer_id,
            signature=sign_statement(statement, signer_key),
            caller=None,
        )
    keystore.retire(org_id, key_id)
    return revoked


def rotate_signing_key(
    registry: OrgRegistry, org_id: str, *, keystore: KeyStore, old_key_id: str | None = None
) -> SigningKeyRotated:
    """A new key signed by the old one, then the old one revoked (default old key: the newest valid one in
    the key store)."""
    old_id = old_key_id or _valid_local_key(registry, org_id, keystore)[0]
    added = new_signing_key(registry, org_id, keystore=keystore)
    revoked = revoke_local_key(registry, org_id, key_id=old_id, keystore=keystore)
    return SigningKeyRotated(added, revoked)


def list_api_keys(
    registry: OrgRegistry, org_id: str, *, caller: Organisation | None = None
) -> tuple[ApiKeyRow, ...]:
    """``org_id``'s API keys (ids, prefixes, dates; never the secrets), for the operator or the org itself."""
    _own(caller, org_id, "list the API keys")
    return tuple(registry.list_api_keys(org_id))


def revoke_api_key(
    registry: OrgRegistry, org_id: str, *, api_key_id: str, caller: Organisation | None = None
) -> ApiKeyRow:
    """Revoke one API key of ``org_id``; from now on it authenticates nobody."""
    _own(caller, org_id, "revoke the API keys")
    return registry.revoke_api_key(org_id, api_key_id, actor=_who(caller))


def rotate_api_key(
    registry: OrgRegistry, org_id: str, *, api_key_id: str, caller: Organisation | None = None
) -> ApiKeyRotated:
    """Issue a new API key for ``org_id`` and revoke ``api_key_id`` (the organisation may rotate its own)."""
    _own(caller, org_id, "rotate the API keys")
    known = {k.api_key_id: k for k in registry.list_api_keys(org_id)}
    if api_key_id not in known:
        raise NotFoundError(f"{org_id} has no API key {api_key_id!r}")
    if known[api_key_id].revoked_at is not None:
        raise ValidationError(f"API key {api_key_id} of {org_id} is already revoked")
    issued = ApiKeyIssued(org_id=org_id, api_key=registry.issue_api_key(org_id, actor=_who(caller)))
    return ApiKeyRotated(issued, registry.revoke_api_key(org_id, api_key_id, actor=_who(caller)))


def audit_trail(
    registry: OrgRegistry, *, org_id: str | None = None, caller: Organisation | None = None
) -> tuple[AuditRow, ...]:
    """The administrative actions (who did what when), oldest first; the operator sees all, an organisation
    its own."""
    if caller is not None:
        if org_id not in (None, caller.org_id):
            raise PermissionError(f"{caller.org_id} may not read the audit trail of {org_id}")
        org_id = caller.org_id
    return tuple(registry.audit_trail(org_id=org_id))


def authenticate(registry: OrgRegistry, api_key: str) -> Organisation:
    return registry.authenticate(api_key)


def enrol(registry: OrgRegistry, org: Organisation, *, keystore: KeyStore) -> Enrolment:
    """Register ``org`` and give it a signing key kept in the local ``keystore``."""
    register_organisation(registry, org)
    added = new_signing_key(registry, org.org_id, keystore=keystore)
    return Enrolment(organisation=org, key_id=added.key_id, keystore_root=str(keystore.root))


class SessionStore(Protocol):
    """Where web sessions are kept (``orgs.adapters.sessions.SessionStore``): only a hash of each id."""

    def start(self, org_id: str, *, ttl_s: int) -> str: ...
    def org_of(self, session_id: str) -> str | None: ...
    def end(self, session_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new web session: its id (for the cookie only; the store keeps a hash), the organisation, its lifetime."""

    session_id: str
    org: Organisation
    ttl_s: int


def sign_in(registry: OrgRegistry, api_key: str, *, sessions: SessionStore, ttl_s: int) -> SignedIn:
    """Check ``api_key`` and start a session for its organisation (NotFoundError for a wrong key)."""
    org = registry.authenticate(api_key.strip())
    return SignedIn(sessions.start(org.org_id, ttl_s=ttl_s), org, ttl_s)


def session_caller(registry: OrgRegistry, session_id: str, *, sessions: SessionStore) -> Organisation | None:
    """The organisation of a live session; None when the session is unknown, ended or expired."""
    org_id = sessions.org_of(session_id)
    return None if org_id is None else registry.get_organisation(org_id)


def sign_out(session_id: str, *, sessions: SessionStore) -> bool:
    """End the session on the server (the cookie alone no longer signs anyone in); True if it was live."""
    return sessions.end(session_id)


# --- the register of producers (compliance: producers and regulators) ------------------------------------


def register_producer(
    registry: OrgRegistry, registration: ProducerRegistration, *, caller: Organisation | None = None
) -> ProducerRegistration:
    """Add ``registration`` to the register of producers (it supersedes the producer's earlier one in that
    country). The producer and its PRO must be registered organisations, the PRO with the PRO role; a caller
    may register itself, a producer it represents as PRO, or anyone when it is an authority (None: operator)."""
    from batteryloop.domain.registration import check_registration
    from batteryloop.orgs.adapters import producers

    check_registration(registration)
    registry.get_organisation(registration.producer)  # NotFoundError names it
    if registration.pro is not None:
        pro = registry.get_organisation(registration.pro)
        if Role.PRO not in pro.roles:
            raise ValidationError(f"pro {registration.pro!r} is not a producer responsibility organisation")
    if (
        caller is not None
        and Role.AUTHORITY not in caller.roles
        and caller.org_id not in (registration.producer, registration.pro)
    ):
        raise PermissionError(
            f"{caller.org_id} may register only itself or producers it represents as their PRO"
        )
    producers.add_registration(registry, registration)  # type: ignore[arg-type]
    return registration


def producer_registrations(
    registry: OrgRegistry, *, producer: str | None = None, country: str | None = None
) -> tuple[ProducerRegistration, ...]:
    """The registrations in force, optionally of one producer and/or in one country."""
    from batteryloop.orgs.adapters import producers

    return tuple(
        r
        for r in producers.current_registrations(registry)  # type: ignore[arg-type]
        if (producer is None or r.producer == producer) and (country is None or r.country == country)
    )
