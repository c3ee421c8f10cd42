"""Certifications of organisations (recycling, repair, dismantling permits): the use cases, the same for
Python, the CLI and HTTP.

A certification names its scheme, its number (``reference``), the authority that issued it, the activity it
covers and its validity. The passport serves the dismantling information (Annex XIII(2)(c)) only to a
recycler, repairer or dismantler holding one valid today for its activity (``passport/data/access.toml``,
``[certified]``); being registered with the role is not enough. Only the operator certifies and withdraws;
a withdrawal keeps the row (``withdrawn_at``) and both are in the administrative audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from batteryloop.domain.organisation import Certification, Organisation

__all__ = ["CertificationList", "CertificationRegistry", "certify", "list_certifications", "uncertify"]


class CertificationRegistry(Protocol):
    def get_organisation(self, org_id: str) -> Organisation: ...
    def add_certification(self, org_id: str, cert: Certification, *, actor: str) -> Certification: ...
    def withdraw_certification(self, org_id: str, cert_id: int, *, actor: str) -> Certification: ...


@dataclass(frozen=True, slots=True)
class CertificationList:
    """An organisation's certifications, each with whether it is in force on ``on``."""

    org_id: str
    on: date
    certifications: tuple[Certification, ...]

    def status(self, cert: Certification) -> str:
        """``active``, ``withdrawn``, ``expired`` or ``pending`` on ``on``."""
        if cert.withdrawn_at is not None:
            return "withdrawn"
        if cert.valid_until is not None and self.on > cert.valid_until:
            return "expired"
        if self.on < cert.valid_from:
            return "pending"
        return "active"


def _operator_only(caller: Organisation | None, what: str) -> None:
    if caller is not None:
        raise PermissionError(f"{caller.org_id} may not {what}: the operator does")


def certify(
    registry: CertificationRegistry, org_id: str, *, cert: Certification, caller: Organisation | None = None
) -> Certification:
    """Record a certification of ``org_id`` (operator only); the stored one, with its id."""
    _operator_only(caller, "certify organisations")
    return registry.add_certification(org_id, cert, actor="operator")


def uncertify(
    registry: CertificationRegistry, org_id: str, *, cert_id: int, caller: Organisation | None = None
) -> Certification:
    """Withdraw certification ``cert_id`` of ``org_id`` now (operator only)."""
    _operator_only(caller, "withdraw certifications")
    return registry.withdraw_certification(org_id, cert_id, actor="operator")


def list_certifications(
    registry: CertificationRegistry, org_id: str, *, on: date | None = None
) -> CertificationList:
    """Every certification of ``org_id`` (public, as the registry's organisation listing is)."""
    org = registry.get_organisation(org_id)
    return CertificationList(org_id=org_id, on=on or date.today(), certifications=org.certifications)


def certification_dict(cert: Certification, *, status: str) -> dict[str, object]:
    """The one rendering of a certification, for the CLI's ``--json`` and HTTP."""
    return {
        "id": cert.cert_id,
        "scheme": str(cert.scheme),
        "number": cert.reference,
        "authority": cert.authority,
        "activity": str(cert.covers) if cert.covers is not None else None,
        "valid_from": cert.valid_from.isoformat(),
        "valid_until": cert.valid_until.isoformat() if cert.valid_until else None,
        "withdrawn_at": cert.withdrawn_at,
        "status": status,
    }


def certifications_document(result: CertificationList) -> dict[str, object]:
    return {
        "org_id": result.org_id,
        "on": result.on.isoformat(),
        "certifications": [certification_dict(c, status=result.status(c)) for c in result.certifications],
    }
