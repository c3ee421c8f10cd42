"""Access grants: a holder gives a named organisation time-limited access to the individual-battery data.

Annex XIII(4) of Regulation (EU) 2023/1542 opens the individual battery's data (state of health, usage,
negative events) to "persons with a legitimate interest" in it. A prospective second-life buyer is one, but
only because the holder says so: the holder appends ``AccessGranted`` (grantee, valid_from, valid_until) to
the battery's stream, and ``AccessRevoked`` ends it early. Both are ordinary ledger events: signed, hash-
chained, and appended by the current holder only (the custody rule of :mod:`batteryloop.domain.lifecycle`).

Rules, checked on every append path (:mod:`batteryloop.domain.validation` calls :func:`grant_problem`):

- ``valid_from`` < ``valid_until``, both dates in the plausible window, the span at most
  ``data/grants.toml`` ``span.max_days``;
- ``valid_until`` is not before the day the ledger records the grant (:func:`check_grant_current`, called
  by the ledger's write path with its own clock, so a replay or rebuild of old events is not refused).

:func:`fold_grants` reads a stream's events into the grants in force: a later grant to the same
organisation replaces the earlier one; a revocation ends it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import EventType

GRANTS_FILE = Path(__file__).parent / "data" / "grants.toml"
_LIMITS = tomllib.loads(GRANTS_FILE.read_text(encoding="utf-8"))
MAX_GRANT_DAYS: int = int(_LIMITS["span"]["max_days"])

GRANT_EVENTS = frozenset({EventType.ACCESS_GRANTED, EventType.ACCESS_REVOKED})


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if type(value) is str else None
    except ValueError:
        return None


def grant_problem(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, why) for the first cross-field rule an ``AccessGranted`` payload breaks, or None.

    The fields' own forms (dates, identifier) are checked before, by their :class:`PayloadField` rules."""
    start, end = _day(payload.get("valid_from")), _day(payload.get("valid_until"))
    if start is None or end is None:
        return None  # the field rules name the malformed one
    if not start < end:
        return "valid_until", f"is {end.isoformat()}, must be after valid_from {start.isoformat()}"
    span = (end - start).days
    if span > MAX_GRANT_DAYS:
        return (
            "valid_until",
            f"is {span} days after valid_from, over the limit of {MAX_GRANT_DAYS} days (domain/data/grants.toml)",
        )
    return None


def check_grant_current(battery_id: str, payload: Mapping[str, Any], *, today: date) -> None:
    """Raise ValidationError if the grant has already ended on ``today`` (the ledger's recording day)."""
    end = _day(payload.get("valid_until"))
    if end is not None and end < today:
        raise ValidationError(
            f"{EventType.ACCESS_GRANTED} for battery {battery_id}: payload field 'valid_until' is "
            f"{end.isoformat()}, already past on {today.isoformat()}"
        )


@dataclass(frozen=True, slots=True)
class Grant:
    """One grant as the stream records it; ``revoked_at`` is the time of the revocation that ended it."""

    battery_id: str
    grantee: str
    granted_by: str
    valid_from: date
    valid_until: date
    granted_at: str
    purpose: str | None = None
    revoked_at: str | None = None
    revoked_by: str | None = None

    def active_on(self, day: date) -> bool:
        return self.revoked_at is None and self.valid_from <= day <= self.valid_until

    def status_on(self, day: date) -> str:
        """``active``, ``revoked``, ``expired`` or ``pending`` (not yet begun) on ``day``."""
        if self.revoked_at is not None:
            return "revoked"
        if day > self.valid_until:
            return "expired"
        if day < self.valid_from:
            return "pending"
        return "active"


def fold_grants(events: Iterable[Any]) -> tuple[Grant, ...]:
    """Every grant of one stream, oldest first (replaced ones included, each ended by what replaced it).

    ``events`` are recorded events (``battery_id``, ``event_type``, ``actor``, ``occurred_at``, ``payload``)
    of one battery in stream order."""
    out: list[Grant] = []
    current: dict[str, int] = {}  # grantee -> index in out of its live grant
    for event in events:
        kind = event.event_type
        if kind != EventType.ACCESS_GRANTED and kind != EventType.ACCESS_REVOKED:
            continue
        payload = event.payload
        grantee = payload.get("grantee")
        if type(grantee) is not str:
            continue
        at = _when(event)
        live = current.pop(grantee, None)
        if live is not None:
            out[live] = _ended(out[live], at, str(event.actor))
        if kind == EventType.ACCESS_GRANTED:
            start, end = _day(payload.get("valid_from")), _day(payload.get("valid_until"))
            if start is None or end is None or grant_problem(payload) is not None:
                continue  # stored by an earlier version that did not check it: grants nothing
            purpose = payload.get("purpose")
            current[grantee] = len(out)
            out.append(
                Grant(
                    battery_id=str(event.battery_id),
                    grantee=grantee,
                    granted_by=str(event.actor),
                    valid_from=start,
                    valid_until=end,
                    granted_at=at,
                    purpose=purpose if isinstance(purpose, str) else None,
                )
            )
    return tuple(out)


def _when(event: Any) -> str:
    moment = event.occurred_at
    return moment.isoformat() if hasattr(moment, "isoformat") else str(moment)


def _ended(grant: Grant, at: str, by: str) -> Grant:
    return Grant(
        battery_id=grant.battery_id,
        grantee=grant.grantee,
        granted_by=grant.granted_by,
        valid_from=grant.valid_from,
        valid_until=grant.valid_until,
        granted_at=grant.granted_at,
        purpose=grant.purpose,
        revoked_at=at,
        revoked_by=by,
    )


def active_grantees(grants: Iterable[Grant], *, on: date) -> frozenset[str]:
    """The organisations whose grant is in force on ``on``."""
    return frozenset(g.grantee for g in grants if g.active_on(on))
