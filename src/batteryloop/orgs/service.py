"""Use cases of the organisation registry, the same for Python, the CLI and HTTP.

Each takes an open registry (anything shaped like :class:`OrgRegistry`: the Ledger, or an
:class:`~batteryloop.orgs.adapters.OrgStore`), typed inputs and keyword-only options; returns frozen results;
raises domain errors; applies the registry's policy (an organisation adds signing keys only for itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from batteryloop.domain.organisation import Organisation, Role
from batteryloop.orgs.core.keys import public_key_bytes

if TYPE_CHECKING:
    from batteryloop.orgs.keystore import KeyStore

__all__ = [
    "ApiKeyIssued",
    "Enrolment",
    "OrgRegistry",
    "OrganisationPage",
    "SessionStore",
    "SignedIn",
    "SigningKeyAdded",
    "add_signing_key",
    "authenticate",
    "enrol",
    "get_organisation",
    "issue_api_key",
    "list_organisations",
    "new_signing_key",
    "register_organisation",
    "session_caller",
    "sign_in",
    "sign_out",
]


class OrgRegistry(Protocol):
    """Where organisations are kept. Each call is its own transaction."""

    def register_organisation(self, org: Organisation) -> None: ...
    def get_organisation(self, org_id: str) -> Organisation: ...
    def list_organisations(self) -> list[Organisation]: ...
    def add_signing_key(self, org_id: str, public_key: bytes) -> str: ...
    def issue_api_key(self, org_id: str) -> str: ...
    def authenticate(self, api_key: str) -> Organisation: ...


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


def issue_api_key(registry: OrgRegistry, org_id: str) -> ApiKeyIssued:
    return ApiKeyIssued(org_id=org_id, api_key=registry.issue_api_key(org_id))


def add_signing_key(
    registry: OrgRegistry, org_id: str, *, public_key: bytes, caller: Organisation | None
) -> SigningKeyAdded:
    """Register a raw Ed25519 public key for ``org_id``. An organisation adds keys only for itself;
    ``caller`` None is the operator of the registry (CLI, Python), who may add keys for anyone."""
    if caller is not None and caller.org_id != org_id:
        raise PermissionError(f"{caller.org_id} may not add signing keys for {org_id}")
    key_id = registry.add_signing_key(org_id, public_key)
    return SigningKeyAdded(org_id=org_id, key_id=key_id, public_key_hex=public_key.hex())


def authenticate(registry: OrgRegistry, api_key: str) -> Organisation:
    return registry.authenticate(api_key)


def new_signing_key(registry: OrgRegistry, org_id: str, *, keystore: KeyStore) -> SigningKeyAdded:
    """Generate a key pair for ``org_id``, keep the private key in ``keystore``, register the public key."""
    registry.get_organisation(org_id)
    _, private_key = keystore.generate_key(org_id)
    return add_signing_key(registry, org_id, public_key=public_key_bytes(private_key), caller=None)


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
