"""Access grants to the individual-battery data: the use cases, the same for Python, the CLI and HTTP.

A grant is an ``AccessGranted`` event in the battery's stream (:mod:`batteryloop.domain.grants` has the
rules and the fold); a revocation an ``AccessRevoked`` one. Only the holder may append either (the ledger's
custody rule), and the ledger refuses a grant whose dates are wrong, whose span is too long, whose end has
passed or whose grantee is not registered, on every append path (``POST /events`` included). The passport
(:meth:`batteryloop.passport.service.PassportService.view`) adds the individual tier for a grantee whose
grant is in force today, on the server.

Writing: :func:`grant_access` / :func:`revoke_access` sign with the holder's key from the local key store
(the CLI); :func:`submit_grant_batch` appends a batch the holder signed itself (HTTP: the server never
holds a private key), after checking it is exactly one grant or revocation of this battery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.grants import Grant, fold_grants
from batteryloop.domain.lifecycle import EventType
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.domain.validation import check_identifier
from batteryloop.ledger import EventIn, KeyStore, Ledger, sign_batch

__all__ = [
    "GrantList",
    "GrantsLedger",
    "grant_access",
    "grant_event",
    "list_grants",
    "read_grants",
    "revoke_access",
    "revoke_event",
    "submit_grant_batch",
]

# who, besides the holder and the grantee itself, may list a battery's grants
_SEE_ALL_ROLES = frozenset({Role.AUTHORITY, Role.NOTIFIED_BODY})


class GrantsLedger(Protocol):
    def read_stream(self, battery_id: str) -> Any: ...
    def battery(self, battery_id: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class GrantList:
    """The grants of one battery the caller may see, with each one's status on ``on``."""

    battery_id: str
    on: date
    grants: tuple[Grant, ...]

    def status(self, grant: Grant) -> str:
        return grant.status_on(self.on)


def read_grants(ledger: GrantsLedger, battery_id: str) -> tuple[Grant, ...]:
    """Every grant recorded in the stream of ``battery_id`` (NotFoundError when it is not registered)."""
    ledger.battery(battery_id)
    return fold_grants(ledger.read_stream(battery_id))


def _holder(ledger: GrantsLedger, battery_id: str) -> str:
    status = ledger.battery(battery_id).status
    seen = {status.battery_id}
    while status.parent_id is not None and status.parent_id not in seen:
        seen.add(status.parent_id)
        status = ledger.battery(status.parent_id).status
    return str(status.custodian)


def list_grants(
    ledger: GrantsLedger, battery_id: str, *, caller: Organisation | None, on: date | None = None
) -> GrantList:
    """The grants of ``battery_id``: all of them for its holder, its manufacturer and authorities; a
    grantee's own for the grantee; PermissionError for anyone else (grants name organisations)."""
    day = on or datetime.now(UTC).date()
    grants = read_grants(ledger, battery_id)
    if caller is None:
        raise PermissionError(f"sign in to list the access grants of battery {battery_id}")
    status = ledger.battery(battery_id).status
    sees_all = caller.org_id in (_holder(ledger, battery_id), status.manufacturer) or bool(
        caller.roles & _SEE_ALL_ROLES
    )
    if not sees_all:
        grants = tuple(g for g in grants if g.grantee == caller.org_id)
        if not grants:
            raise PermissionError(f"{caller.org_id} may not list the access grants of battery {battery_id}")
    return GrantList(battery_id=battery_id, on=day, grants=grants)


def grant_event(
    battery_id: str,
    *,
    grantee: str,
    valid_until: date,
    valid_from: date | None = None,
    purpose: str | None = None,
    occurred_at: datetime | None = None,
) -> EventIn:
    """The ``AccessGranted`` event a holder signs (``valid_from`` default: today, UTC)."""
    moment = occurred_at or datetime.now(UTC)
    payload: dict[str, Any] = {
        "grantee": check_identifier("grantee", grantee),
        "valid_from": (valid_from or moment.date()).isoformat(),
        "valid_until": valid_until.isoformat(),
    }
    if purpose:
        payload["purpose"] = purpose
    return EventIn(battery_id, EventType.ACCESS_GRANTED, moment, payload)


def revoke_event(battery_id: str, *, grantee: str, occurred_at: datetime | None = None) -> EventIn:
    """The ``AccessRevoked`` event a holder signs."""
    return EventIn(
        battery_id,
        EventType.ACCESS_REVOKED,
        occurred_at or datetime.now(UTC),
        {"grantee": check_identifier("grantee", grantee)},
    )


def _latest(ledger: GrantsLedger, battery_id: str, grantee: str) -> Grant:
    found = [g for g in read_grants(ledger, battery_id) if g.grantee == grantee]
    if not found:
        raise NotFoundError(f"battery {battery_id}: no access grant to {grantee} is recorded")
    return found[-1]


def _has_live_grant(ledger: GrantsLedger, battery_id: str, grantee: str) -> None:
    today = datetime.now(UTC).date()
    live = [
        g
        for g in read_grants(ledger, battery_id)
        if g.grantee == grantee and g.revoked_at is None and g.valid_until >= today
    ]
    if not live:
        raise NotFoundError(f"battery {battery_id}: {grantee} holds no access grant to revoke")


def grant_access(
    ledger: Ledger,
    battery_id: str,
    *,
    org: str,
    keystore: KeyStore,
    grantee: str,
    valid_until: date,
    valid_from: date | None = None,
    purpose: str | None = None,
) -> Grant:
    """``org`` (the holder) gives ``grantee`` access to the individual data of ``battery_id``, signed with
    ``org``'s newest key in ``keystore``; the ledger applies every rule (holder, dates, grantee)."""
    event = grant_event(
        battery_id, grantee=grantee, valid_until=valid_until, valid_from=valid_from, purpose=purpose
    )
    _, private_key = keystore.load(org)
    ledger.append(sign_batch([event], actor=org, private_key=private_key))
    return _latest(ledger, battery_id, grantee)


def revoke_access(ledger: Ledger, battery_id: str, *, org: str, keystore: KeyStore, grantee: str) -> Grant:
    """``org`` (the holder) ends ``grantee``'s access to ``battery_id`` now."""
    _has_live_grant(ledger, battery_id, grantee)
    _, private_key = keystore.load(org)
    ledger.append(sign_batch([revoke_event(battery_id, grantee=grantee)], actor=org, private_key=private_key))
    return _latest(ledger, battery_id, grantee)


def submit_grant_batch(
    ledger: Ledger,
    battery_id: str,
    events: Sequence[EventIn],
    *,
    caller: Organisation,
    key_id: str,
    signature: bytes,
    kind: EventType,
    grantee: str | None = None,
) -> Grant:
    """Append a batch ``caller`` signed that holds exactly one ``kind`` event (``AccessGranted`` or
    ``AccessRevoked``) of ``battery_id`` (for ``grantee`` when given), and return the grant it made or
    ended. Anything else in the batch is a ValidationError and nothing is written."""
    if kind not in (EventType.ACCESS_GRANTED, EventType.ACCESS_REVOKED):
        raise ValidationError(f"{kind} is not an access grant event")
    if len(events) != 1:
        raise ValidationError(f"the batch must hold exactly one {kind} event, it holds {len(events)}")
    event = events[0]
    if event.event_type != kind:
        raise ValidationError(f"the batch must hold one {kind} event, not {event.event_type}")
    if event.battery_id != battery_id:
        raise ValidationError(f"the {kind} event names battery {event.battery_id}, not {battery_id}")
    named = event.payload.get("grantee")
    if grantee is not None and named != grantee:
        raise ValidationError(f"the {kind} event names grantee {named!r}, not {grantee!r}")
    if kind is EventType.ACCESS_REVOKED and isinstance(named, str):
        _has_live_grant(ledger, battery_id, named)
    ledger.append_events(list(events), actor=caller.org_id, key_id=key_id, signature=signature)
    return _latest(ledger, battery_id, str(named))
