"""Checking a served passport against verified events, without the database. Pure.

A passport is a projection of its battery's events: :func:`rebuild` folds the events of a proof bundle
(:mod:`batteryloop.ledger.core.bundle`, each event as the bundle holds it) into the full passport document with
the same code the server uses; :func:`served_mismatch` says where a served document (any access tier: a tier
only leaves parts out) differs from it. A field the events do not give, or a value they give differently, is
a mismatch: the served passport was not made from these events (edited in transit or by the server).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from batteryloop.domain.errors import ValidationError
from batteryloop.passport.core.build import PlainEvent, build_passport

_LINK_PATH = "/01/"  # a GS1 Digital Link product identifier: <resolver domain>/01/<gtin>/21/<serial>


def resolver_of(served: Mapping[str, Any]) -> str | None:
    """The resolver domain a served passport's product identifier was made with (None for a plain id)."""
    identity = served.get("identity")
    identifier = identity.get("product_identifier") if isinstance(identity, Mapping) else None
    if isinstance(identifier, str) and identifier.startswith("https://") and _LINK_PATH in identifier:
        return identifier.split(_LINK_PATH, 1)[0]
    return None


def rebuild(events: Sequence[Mapping[str, Any]], *, resolver_domain: str | None = None) -> dict[str, Any]:
    """The full passport document of a battery from its events as a proof bundle holds them."""
    plain = []
    for e in events:
        try:
            occurred = datetime.fromisoformat(str(e["occurred_at"]))
        except (KeyError, ValueError):
            raise ValidationError(
                f"event at position {e.get('position')}: occurred_at is not a date"
            ) from None
        plain.append(PlainEvent(str(e["battery_id"]), str(e["event_type"]), occurred, dict(e["payload"])))
    passport = build_passport(plain, resolver_domain=resolver_domain)
    return passport.model_dump(mode="json")


def served_mismatch(served: Any, rebuilt: Any, path: str = "") -> str | None:
    """The first path where ``served`` is not a part of ``rebuilt`` (a dict may leave keys out, as an access
    tier does; any other value must be equal), or None."""
    if isinstance(served, Mapping):
        if not isinstance(rebuilt, Mapping):
            return path or "(document)"
        for key, value in served.items():
            here = f"{path}.{key}" if path else str(key)
            if key not in rebuilt:
                return f"{here} (not given by the events)"
            found = served_mismatch(value, rebuilt[key], here)
            if found is not None:
                return found
        return None
    return None if served == rebuilt else path or "(document)"
