"""Request and response bodies of the organisation endpoints (XCreate / XRead naming)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role
from batteryloop.orgs.adapters.keylog import ApiKeyRow, AuditRow
from batteryloop.orgs.service import (
    ApiKeyIssued,
    ApiKeyRotated,
    SigningKeyAdded,
    SigningKeyInfo,
    SigningKeyRevoked,
)

__all__ = [
    "ApiKeyInfoRead",
    "ApiKeyRead",
    "ApiKeyRotatedRead",
    "AuditRead",
    "CertificationIn",
    "OrganisationCreate",
    "OrganisationRead",
    "SigningKeyCreate",
    "SigningKeyInfoRead",
    "SigningKeyRead",
    "SigningKeyRevoke",
    "SigningKeyRevokedRead",
]


class CertificationIn(BaseModel):
    scheme: CertificationScheme
    reference: str
    valid_from: date
    valid_until: date | None = None

    def to_input(self) -> Certification:
        return Certification(
            scheme=self.scheme,
            reference=self.reference,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )

    @classmethod
    def from_result(cls, cert: Certification) -> CertificationIn:
        return cls(
            scheme=cert.scheme,
            reference=cert.reference,
            valid_from=cert.valid_from,
            valid_until=cert.valid_until,
        )


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    roles: list[Role] = Field(min_length=1)
    certifications: list[CertificationIn] = []

    def to_input(self) -> Organisation:
        return Organisation(
            org_id=self.org_id,
            name=self.name,
            country=self.country,
            roles=frozenset(self.roles),
            certifications=tuple(c.to_input() for c in self.certifications),
        )


class OrganisationRead(BaseModel):
    org_id: str
    name: str
    country: str
    roles: list[str]
    certifications: list[CertificationIn]

    @classmethod
    def from_result(cls, org: Organisation) -> OrganisationRead:
        return cls(
            org_id=org.org_id,
            name=org.name,
            country=org.country,
            roles=sorted(str(r) for r in org.roles),
            certifications=[CertificationIn.from_result(c) for c in org.certifications],
        )


HEX_SIGNATURE = r"^[0-9a-fA-F]{128}$"
KEY_ID = r"^[0-9a-f]{32}$"


class SigningKeyCreate(BaseModel):
    """A new signing key, signed by a valid key of the organisation over the key-log entry
    ``batteryloop/key-entry/v1\\0`` + canonical JSON of ``{action: "register", key_id, org_id, public_key,
    signer_key_id, signer_org}`` (``orgs.core.keylog.registration(...).message()``). The operator (admin
    token) may leave the signature out to admit an organisation's first key."""

    model_config = ConfigDict(extra="forbid")
    public_key_hex: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="raw 32-byte Ed25519 public key")
    signer_key_id: str | None = Field(default=None, pattern=KEY_ID)
    signature_hex: str | None = Field(default=None, pattern=HEX_SIGNATURE)

    def to_input(self) -> bytes:
        return bytes.fromhex(self.public_key_hex)


class SigningKeyRevoke(BaseModel):
    """A revocation signed by a valid key of the organisation (``orgs.core.keylog.revocation(...)``); the
    operator (admin token) may leave the signature out."""

    model_config = ConfigDict(extra="forbid")
    signer_key_id: str | None = Field(default=None, pattern=KEY_ID)
    signature_hex: str | None = Field(default=None, pattern=HEX_SIGNATURE)


class SigningKeyInfoRead(BaseModel):
    org_id: str
    key_id: str
    public_key_hex: str
    status: str
    registered_seq: int
    valid_after_position: int
    signed_by: str
    revoked_seq: int | None
    revoked_after_position: int | None

    @classmethod
    def from_result(cls, info: SigningKeyInfo) -> SigningKeyInfoRead:
        return cls(
            org_id=info.org_id,
            key_id=info.key_id,
            public_key_hex=info.public_key_hex,
            status=info.status,
            registered_seq=info.registered_seq,
            valid_after_position=info.valid_after_position,
            signed_by=info.signed_by,
            revoked_seq=info.revoked_seq,
            revoked_after_position=info.revoked_after_position,
        )


class SigningKeyRevokedRead(BaseModel):
    org_id: str
    key_id: str
    seq: int
    after_position: int
    signed_by: str

    @classmethod
    def from_result(cls, revoked: SigningKeyRevoked) -> SigningKeyRevokedRead:
        return cls(
            org_id=revoked.org_id,
            key_id=revoked.key_id,
            seq=revoked.seq,
            after_position=revoked.after_position,
            signed_by=revoked.signed_by,
        )


class ApiKeyInfoRead(BaseModel):
    api_key_id: str
    org_id: str
    prefix: str
    created_at: str
    revoked_at: str | None

    @classmethod
    def from_result(cls, row: ApiKeyRow) -> ApiKeyInfoRead:
        return cls(
            api_key_id=row.api_key_id,
            org_id=row.org_id,
            prefix=row.prefix,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )


class AuditRead(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    org_id: str
    subject: str

    @classmethod
    def from_result(cls, row: AuditRow) -> AuditRead:
        return cls(
            seq=row.seq, at=row.at, actor=row.actor, action=row.action, org_id=row.org_id, subject=row.subject
        )


class SigningKeyRead(BaseModel):
    key_id: str
    public_key_hex: str

    @classmethod
    def from_result(cls, added: SigningKeyAdded) -> SigningKeyRead:
        return cls(key_id=added.key_id, public_key_hex=added.public_key_hex)


class ApiKeyRead(BaseModel):
    org_id: str
    api_key: str = Field(description="shown once; the server keeps only its hash")

    @classmethod
    def from_result(cls, issued: ApiKeyIssued) -> ApiKeyRead:
        return cls(org_id=issued.org_id, api_key=issued.api_key)


class ApiKeyRotatedRead(BaseModel):
    issued: ApiKeyRead
    revoked: ApiKeyInfoRead

    @classmethod
    def from_result(cls, rotated: ApiKeyRotated) -> ApiKeyRotatedRead:
        return cls(
            issued=ApiKeyRead.from_result(rotated.issued), revoked=ApiKeyInfoRead.from_result(rotated.revoked)
        )
