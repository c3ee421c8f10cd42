"""HTTP routes of organisations' certifications (served by the registry's router).

- ``GET /organisations/{org_id}/certifications``: every certification with its status today (``?on=``).
- ``POST /organisations/{org_id}/certifications``: record one (administrator token); 201.
- ``DELETE /organisations/{org_id}/certifications/{cert_id}``: withdraw it now (administrator token).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from batteryloop.domain.organisation import Certification, CertificationScheme, CertifiedActivity
from batteryloop.orgs.certifications import (
    certification_dict,
    certifications_document,
    certify,
    list_certifications,
    uncertify,
)
from batteryloop.orgs.deps import RegistryDep, admin_required

router = APIRouter(tags=["organisations"])


class CertificationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scheme: CertificationScheme
    number: str = Field(description="the certificate's or permit's number")
    authority: str = Field(description="the body that issued it")
    activity: CertifiedActivity
    valid_from: date
    valid_until: date | None = None

    def to_input(self) -> Certification:
        return Certification(
            scheme=self.scheme,
            reference=self.number,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            activity=self.activity,
            authority=self.authority,
        )


@router.get("/organisations/{org_id}/certifications")
def get_certifications(
    org_id: str,
    registry: RegistryDep,
    on: Annotated[date | None, Query(description="Day the status is given for (default: today)")] = None,
) -> dict[str, Any]:
    """An organisation's certifications (number, authority, activity, validity) and whether each is in force."""
    return certifications_document(list_certifications(registry, org_id, on=on))


@router.post(
    "/organisations/{org_id}/certifications", status_code=201, dependencies=[Depends(admin_required)]
)
def post_certification(org_id: str, body: CertificationCreate, registry: RegistryDep) -> dict[str, Any]:
    """Record a certification of the organisation (administrator token)."""
    stored = certify(registry, org_id, cert=body.to_input())
    return certification_dict(stored, status=list_certifications(registry, org_id).status(stored))


@router.delete("/organisations/{org_id}/certifications/{cert_id}", dependencies=[Depends(admin_required)])
def delete_certification(org_id: str, cert_id: int, registry: RegistryDep) -> dict[str, Any]:
    """Withdraw a certification now (administrator token); the record stays, marked withdrawn."""
    ended = uncertify(registry, org_id, cert_id=cert_id)
    return certification_dict(ended, status="withdrawn")
