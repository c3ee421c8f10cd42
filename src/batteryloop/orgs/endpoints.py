"""HTTP endpoints of the organisation registry. Creating organisations and API keys needs the
administrator token; an organisation manages only its own keys (checked by the service), and a signing key is
registered or revoked only with a signature by a valid key of the organisation or by the operator."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.orgs import service
from batteryloop.orgs.deps import RegistryDep, admin_required, current_org, require_admin
from batteryloop.orgs.schemas import (
    ApiKeyInfoRead,
    ApiKeyRead,
    ApiKeyRotatedRead,
    AuditRead,
    OrganisationCreate,
    OrganisationRead,
    SigningKeyCreate,
    SigningKeyInfoRead,
    SigningKeyRead,
    SigningKeyRevoke,
    SigningKeyRevokedRead,
)
from batteryloop.web.problems import AuthError

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
    dependencies=[Depends(admin_required)],
)
def create_organisation(body: OrganisationCreate, registry: RegistryDep) -> OrganisationRead:
    return OrganisationRead.from_result(service.register_organisation(registry, body.to_input()))


@router.post(
    "/organisations/{org_id}/api-keys",
    response_model=ApiKeyRead,
    status_code=201,
    dependencies=[Depends(admin_required)],
)
def issue_api_key(org_id: str, registry: RegistryDep) -> ApiKeyRead:
    return ApiKeyRead.from_result(service.issue_api_key(registry, org_id))


def _is_admin(request: Request) -> bool:
    try:
        require_admin(request)
    except AuthError:
        return False
    return True


def _caller_or_admin(request: Request) -> Organisation | None:
    """None for the operator (administrator token), else the organisation of the API key."""
    return None if _is_admin(request) else current_org(request)


@router.get("/organisations/{org_id}/signing-keys", response_model=list[SigningKeyInfoRead])
def list_signing_keys(org_id: str, registry: RegistryDep) -> list[SigningKeyInfoRead]:
    """The organisation's signing keys as the signed key log holds them (public: they verify its batches)."""
    return [SigningKeyInfoRead.from_result(k) for k in service.list_signing_keys(registry, org_id)]


@router.post("/organisations/{org_id}/signing-keys", response_model=SigningKeyRead, status_code=201)
def add_signing_key(
    org_id: str, body: SigningKeyCreate, registry: RegistryDep, request: Request
) -> SigningKeyRead:
    """Register a signing key: signed by a valid key of the organisation (its API key alone is not enough);
    with the administrator token and no signature, the operator admits the organisation's first key."""
    caller = _caller_or_admin(request)
    if body.signature_hex is None or body.signer_key_id is None:
        if caller is not None:
            raise ValidationError("a new signing key must be signed by a valid key of the organisation")
        added = service.admit_signing_key(registry, org_id, public_key=body.to_input())
    else:
        added = service.register_signing_key(
            registry,
            org_id,
            public_key=body.to_input(),
            signer_key_id=body.signer_key_id,
            signature=bytes.fromhex(body.signature_hex),
            caller=caller,
        )
    return SigningKeyRead.from_result(added)


@router.post(
    "/organisations/{org_id}/signing-keys/{key_id}/revoke",
    response_model=SigningKeyRevokedRead,
    status_code=201,
)
def revoke_signing_key(
    org_id: str, key_id: str, body: SigningKeyRevoke, registry: RegistryDep, request: Request
) -> SigningKeyRevokedRead:
    """Revoke a signing key: signed by a valid key of the organisation, or by the operator (admin token)."""
    caller = _caller_or_admin(request)
    if body.signature_hex is None or body.signer_key_id is None:
        if caller is not None:
            raise ValidationError("a revocation must be signed by a valid key of the organisation")
        revoked = service.revoke_signing_key_as_operator(registry, org_id, key_id=key_id)
    else:
        revoked = service.revoke_signing_key(
            registry,
            org_id,
            key_id=key_id,
            signer_key_id=body.signer_key_id,
            signature=bytes.fromhex(body.signature_hex),
            caller=caller,
        )
    return SigningKeyRevokedRead.from_result(revoked)


@router.get("/organisations/{org_id}/api-keys", response_model=list[ApiKeyInfoRead])
def list_api_keys(org_id: str, registry: RegistryDep, request: Request) -> list[ApiKeyInfoRead]:
    """The organisation's API keys (never the secrets): for the operator or the organisation itself."""
    caller = _caller_or_admin(request)
    return [ApiKeyInfoRead.from_result(r) for r in service.list_api_keys(registry, org_id, caller=caller)]


@router.post("/organisations/{org_id}/api-keys/{api_key_id}/revoke", response_model=ApiKeyInfoRead)
def revoke_api_key(org_id: str, api_key_id: str, registry: RegistryDep, request: Request) -> ApiKeyInfoRead:
    caller = _caller_or_admin(request)
    return ApiKeyInfoRead.from_result(
        service.revoke_api_key(registry, org_id, api_key_id=api_key_id, caller=caller)
    )


@router.post(
    "/organisations/{org_id}/api-keys/{api_key_id}/rotate", response_model=ApiKeyRotatedRead, status_code=201
)
def rotate_api_key(
    org_id: str, api_key_id: str, registry: RegistryDep, request: Request
) -> ApiKeyRotatedRead:
    caller = _caller_or_admin(request)
    return ApiKeyRotatedRead.from_result(
        service.rotate_api_key(registry, org_id, api_key_id=api_key_id, caller=caller)
    )


@router.get("/audit", response_model=list[AuditRead])
def audit_trail(
    registry: RegistryDep, request: Request, org_id: str | None = Query(default=None)
) -> list[AuditRead]:
    """Administrative actions, oldest first: all of them for the operator, its own for an organisation."""
    caller = _caller_or_admin(request)
    return [AuditRead.from_result(r) for r in service.audit_trail(registry, org_id=org_id, caller=caller)]


# certifications (/organisations/{org_id}/certifications) live in their own module, served by this router
from batteryloop.orgs.certifications_endpoints import router as _certifications_router  # noqa: E402

router.include_router(_certifications_router)
