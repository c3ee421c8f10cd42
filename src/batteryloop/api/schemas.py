"""Pydantic request and response bodies of the JSON API (XCreate / XRead naming)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from batteryloop.domain.organisation import CertificationScheme, Role


class CertificationIn(BaseModel):
    scheme: CertificationScheme
    reference: str
    valid_from: date
    valid_until: date | None = None


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    roles: list[Role] = Field(min_length=1)
    certifications: list[CertificationIn] = []


class OrganisationRead(BaseModel):
    org_id: str
    name: str
    country: str
    roles: list[str]
    certifications: list[CertificationIn]


class SigningKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    public_key_hex: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="raw 32-byte Ed25519 public key")


class SigningKeyRead(BaseModel):
    key_id: str
    public_key_hex: str


class ApiKeyRead(BaseModel):
    org_id: str
    api_key: str = Field(description="shown once; the server keeps only its hash")


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    battery_id: str
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any] = {}
    idempotency_key: str | None = None
    schema_version: int = 1


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key_id: str
    signature: str = Field(description="Ed25519 signature of the batch's Merkle root, base64 or hex")
    events: list[EventCreate] = Field(min_length=1)
    expected_versions: dict[str, int] | None = None


class AppendRead(BaseModel):
    batch_id: str
    appended: int
    duplicates: int
    first_position: int | None
    last_position: int | None
    merkle_root: str


class EventRead(BaseModel):
    position: int
    event_id: str
    battery_id: str
    stream_seq: int
    event_type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    payload: dict[str, Any]
    payload_hash: str
    prev_hash: str
    event_hash: str


class BatteryRead(BaseModel):
    battery_id: str
    state: str
    custodian: str
    manufacturer: str
    parent_id: str | None
    pending_custodian: str | None
    soh_pct: float | None
    predecessor_id: str | None
    successor_id: str | None
    version: int


class BatteryListRead(BaseModel):
    custodian: str
    batteries: list[BatteryRead]


class CustodyLinkRead(BaseModel):
    org: str
    start: datetime
    end: datetime | None


class TreeNodeRead(BaseModel):
    battery_id: str
    level: str | None
    children: list[TreeNodeRead]


class TraceRead(BaseModel):
    battery: BatteryRead
    chain_ok: bool
    ancestors: list[str]
    descendants: list[TreeNodeRead]
    custody: list[CustodyLinkRead]
    history: list[EventRead]


class VerifyRead(BaseModel):
    ok: bool
    events_checked: int
    batches_checked: int
    first_broken: dict[str, Any] | None
