"""Request and response bodies of the organisation endpoints (XCreate / XRead naming)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role
from batteryloop.orgs.service import ApiKeyIssued, SigningKeyAdded

__all__ = [
    "ApiKeyRead",
    "CertificationIn",
    "OrganisationCreate",
    "OrganisationRead",
    "SigningKeyCreate",
    "SigningKeyRead",
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


class SigningKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    public_key_hex: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="raw 32-byte Ed25519 public key")

    def to_input(self) -> bytes:
        return bytes.fromhex(self.public_key_hex)


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
