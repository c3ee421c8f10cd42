"""HTTP routes of access grants to the individual-battery data (``AccessGranted`` / ``AccessRevoked``).

- ``GET /passports/{battery_id}/grants``: the grants the caller may see (holder, manufacturer, authorities:
  all; a grantee: its own), each with its status today (``?on=`` another day).
- ``POST /passports/{battery_id}/grants``: a batch the holder signed (the body of ``POST /events``) holding
  one ``AccessGranted`` event of this battery; 201 with the grant.
- ``DELETE /passports/{battery_id}/grants/{grantee}``: the same, holding one ``AccessRevoked`` event for
  ``grantee``; 200 with the ended grant.

The server never holds a private key, so the holder signs (as for ``POST /events``, which accepts the same
events and applies the same rules). A state change needs an API key, never a session cookie.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from batteryloop.domain.errors import SignatureError
from batteryloop.domain.lifecycle import EventType
from batteryloop.ledger import EventIn
from batteryloop.ledger.deps import LedgerDep
from batteryloop.orgs.deps import OrgDep
from batteryloop.passport.grants import list_grants, submit_grant_batch
from batteryloop.passport.grants_report import grant_dict, grants_document

router = APIRouter(tags=["passport"])


class SignedEventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    battery_id: str
    event_type: EventType
    occurred_at: datetime
    payload: dict[str, Any] = {}
    idempotency_key: str | None = None
    schema_version: int = 1


class GrantBatchCreate(BaseModel):
    """The body of ``POST /events`` restricted to what a grant needs: one event, signed by the holder."""

    model_config = ConfigDict(extra="forbid")
    key_id: str
    signature: str = Field(description="Ed25519 signature of the batch's Merkle root, base64 or hex")
    events: list[SignedEventCreate] = Field(min_length=1)

    def to_input(self) -> list[EventIn]:
        return [
            EventIn(
                battery_id=e.battery_id,
                event_type=e.event_type,
                occurred_at=e.occurred_at,
                payload=e.payload,
                idempotency_key=e.idempotency_key,
                schema_version=e.schema_version,
            )
            for e in self.events
        ]

    def signature_bytes(self) -> bytes:
        text = self.signature.strip()
        try:
            if len(text) == 128:
                return bytes.fromhex(text)
            return base64.b64decode(
                text + "=" * (-len(text) % 4),
                altchars=b"-_" if "-" in text or "_" in text else None,
                validate=True,
            )
        except (binascii.Error, ValueError):
            raise SignatureError("the signature is neither base64 nor hex") from None


@router.get("/passports/{battery_id}/grants")
def get_grants(
    battery_id: str,
    ledger: LedgerDep,
    caller: OrgDep,
    on: Annotated[date | None, Query(description="Day the status is given for (default: today)")] = None,
) -> dict[str, Any]:
    """The access grants of a battery the caller may see, and the status of each."""
    return grants_document(list_grants(ledger, battery_id, caller=caller, on=on))


def _submit(
    ledger: Any, battery_id: str, body: GrantBatchCreate, caller: Any, kind: EventType, grantee: str | None
) -> dict[str, Any]:
    made = submit_grant_batch(
        ledger,
        battery_id,
        body.to_input(),
        caller=caller,
        key_id=body.key_id,
        signature=body.signature_bytes(),
        kind=kind,
        grantee=grantee,
    )
    return grant_dict(made, status=made.status_on(date.today()))


@router.post("/passports/{battery_id}/grants", status_code=201)
def post_grant(battery_id: str, body: GrantBatchCreate, ledger: LedgerDep, caller: OrgDep) -> dict[str, Any]:
    """Record a grant the holder signed: one AccessGranted event of this battery."""
    return _submit(ledger, battery_id, body, caller, EventType.ACCESS_GRANTED, None)


@router.delete("/passports/{battery_id}/grants/{grantee}")
def delete_grant(
    battery_id: str, grantee: str, body: GrantBatchCreate, ledger: LedgerDep, caller: OrgDep
) -> dict[str, Any]:
    """End a grant now: one AccessRevoked event for ``grantee``, signed by the holder."""
    return _submit(ledger, battery_id, body, caller, EventType.ACCESS_REVOKED, grantee)
