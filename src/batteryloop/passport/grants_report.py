"""The one rendering of access grants, shared by the CLI (``--json`` and the table) and HTTP."""

from __future__ import annotations

from typing import Any

from batteryloop.domain.grants import Grant
from batteryloop.passport.grants import GrantList


def grant_dict(grant: Grant, *, status: str) -> dict[str, Any]:
    return {
        "battery_id": grant.battery_id,
        "grantee": grant.grantee,
        "granted_by": grant.granted_by,
        "valid_from": grant.valid_from.isoformat(),
        "valid_until": grant.valid_until.isoformat(),
        "purpose": grant.purpose,
        "granted_at": grant.granted_at,
        "revoked_at": grant.revoked_at,
        "revoked_by": grant.revoked_by,
        "status": status,
    }


def grants_document(result: GrantList) -> dict[str, Any]:
    """``{"battery_id", "on", "grants": [...]}``: every grant the caller may see, with its status on ``on``."""
    return {
        "battery_id": result.battery_id,
        "on": result.on.isoformat(),
        "grants": [grant_dict(g, status=result.status(g)) for g in result.grants],
    }
