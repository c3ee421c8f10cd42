"""HTTP endpoints of the organisation registry. Creating organisations and API keys needs the
administrator token; an organisation adds signing keys only for itself (checked by the service)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from batteryloop.domain.organisation import Role
from batteryloop.orgs import service
from batteryloop.orgs.deps import OrgDep, RegistryDep, require_admin
from batteryloop.orgs.schemas import (
    ApiKeyRead,
    OrganisationCreate,
    OrganisationRead,
    SigningKeyCreate,
    SigningKeyRead,
)

__all__ = ["router"]

router = APIRouter(tags=["organisations"])


@router.get("/organisations", response_model=list[OrganisationRead])
def list_organisations(
    registry: RegistryDep,
    response: Response,
    role: Role | None = None,
    country: str | None = Query(default=None, pattern=r"^[A-Za-z]{2}$"),
    q: str | None = Query(default=None, description="text in the organisation's id or name"),
    limit: int | None = Query(default=None, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> list[OrganisationRead]:
    """Registered organisations, filtered by role, country and text; the total is in `X-Total-Count`."""
    page = service.list_organisations(
        registry, role=role, country=country, text=q, limit=limit, offset=offset
    )
    response.headers["X-Total-Count"] = str(page.total)
    return [OrganisationRead.from_result(o) for o in page.items]


@router.post(
    "/organisations",
    response_model=OrganisationRead,
    status_code=201,
    dependencies=[Depends(require_admin)],
)
def create_organisation(body: OrganisationCreate, registry: RegistryDep) -> OrganisationRead:
    return OrganisationRead.from_result(service.register_organisation(registry, body.to_input()))


@router.post(
    "/organisations/{org_id}/api-keys",
    response_model=ApiKeyRead,
    status_code=201,
    dependencies=[Depends(require_admin)],
)
def issue_api_key(org_id: str, registry: RegistryDep) -> ApiKeyRead:
    return ApiKeyRead.from_result(service.issue_api_key(registry, org_id))


@router.post("/organisations/{org_id}/signing-keys", response_model=SigningKeyRead, status_code=201)
def add_signing_key(
    org_id: str, body: SigningKeyCreate, registry: RegistryDep, caller: OrgDep
) -> SigningKeyRead:
    added = service.add_signing_key(registry, org_id, public_key=body.to_input(), caller=caller)
    return SigningKeyRead.from_result(added)
