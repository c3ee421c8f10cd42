"""The batch rules as one pure fold: the ledger's append path and the fleet generator both decide with it.

:func:`decide` is one step: the status of a unit before an event, the event, and what the rules need to
know of the rest of the world (the units of the tree, the registered organisations, the codes already
taken) in; the unit's new status out, or a domain error naming the first rule the event breaks. The rules,
in the order they are checked:

1. a hand-over names a registered receiver, or the unit would stay in transit for ever, and an access
   grant a registered grantee (NotFoundError);
2. the payload carries the keys its event type requires and every field it carries passes its rule
   (:func:`batteryloop.domain.validation.check_event_payload`; ValidationError);
3. only ``BatteryManufactured`` opens a stream (NotFoundError);
4. custody: the actor holds the unit, i.e. the root of its tree (CustodyError, :func:`check_custody`); a
   unit whose parent (or an ancestor) is in transit is held by no one, like the unit in transit itself:
   nobody, neither the sender nor the receiver, may append to it (integrate, detach, report, retire ...)
   until the receiver accepts; only its manufacturer's passport data goes on (CustodyError);
5. the lifecycle state machine allows the event (IllegalTransitionError, :func:`apply`);
6. a registration's identifier codes are unique per scheme (ConflictError);
7. an integration names a registered parent that is neither the unit nor one of its descendants, that is not
   in transit (nor inside a unit in transit), and that the actor holds too (CustodyError): integrating a
   unit into a pack needs custody of both.

:func:`fold` applies :func:`decide` to a sequence of events over plain dictionaries and returns the new
state and the decisions; it is the reference the ledger's storage-backed loop is tested against. Units
are reached through the ``unit`` look-up only, so a caller can serve them from memory or from its store.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from batteryloop.domain.errors import ConflictError, CustodyError, NotFoundError, ValidationError
from batteryloop.domain.lifecycle import (
    MANUFACTURER_MAY_APPEND,
    BatteryState,
    EventType,
    UnitStatus,
    apply,
    check_custody,
)
from batteryloop.domain.validation import check_event_payload

GBT_SCHEME = "gbt34014"
GS1_SCHEME = "gs1"  # code = "<GTIN-14>/<serial>", the key of a GS1 Digital Link
SCHEME_NAMES = {GBT_SCHEME: "GB/T 34014", GS1_SCHEME: "GTIN + serial"}

UnitLookup = Callable[[str], UnitStatus | None]
Code = tuple[str, str]  # (scheme, canonical code)

_MANUFACTURED = EventType.BATTERY_MANUFACTURED
_INTEGRATED = EventType.BATTERY_INTEGRATED
_HANDED_OVER = EventType.CUSTODY_HANDED_OVER
_DETACHED = EventType.BATTERY_DETACHED
_MOVES_IN_TREE = frozenset({_INTEGRATED, _DETACHED})
_GRANTED = EventType.ACCESS_GRANTED


def unit_codes(battery_id: str, payload: Mapping[str, Any]) -> list[Code]:
    """The unique identifier codes a BatteryManufactured payload registers, validated and canonical."""
    found: list[Code] = []
    if "gbt_code" in payload:
        from batteryloop.domain.identity import GBT34014Code

        code = payload["gbt_code"]
        if not isinstance(code, str):
            raise ValidationError(f"battery {battery_id}: gbt_code must be a string")
        found.append((GBT_SCHEME, str(GBT34014Code.parse(code).text)))
    gtin, serial = payload.get("gtin"), payload.get("serial")
    if gtin is not None and serial is not None:
        from batteryloop.domain.identity import validate_gtin14

        if not isinstance(gtin, str) or not isinstance(serial, str) or not serial:
            raise ValidationError(f"battery {battery_id}: gtin and serial must be non-empty strings")
        found.append((GS1_SCHEME, f"{validate_gtin14(gtin)}/{serial}"))
    return found


def declared_codes(payload: Mapping[str, Any]) -> list[Code]:
    """The codes a BatteryManufactured payload declares, taken as written: for a producer whose codes are
    canonical by construction (the fleet generator), which saves :func:`unit_codes`' parse."""
    found: list[Code] = []
    if payload.get("gbt_code") is not None:
        found.append((GBT_SCHEME, str(payload["gbt_code"])))
    gtin, serial = payload.get("gtin"), payload.get("serial")
    if gtin is not None and serial is not None:
        found.append((GS1_SCHEME, f"{gtin}/{serial}"))
    return found


def receiver_of(event_type: EventType, payload: Mapping[str, Any]) -> str | None:
    """The organisation a hand-over names as receiver, or an access grant as grantee (None for any other
    event): it must be registered."""
    if event_type is _HANDED_OVER and payload.get("to_org") is not None:
        return str(payload["to_org"])
    if event_type is _GRANTED and payload.get("grantee") is not None:
        return str(payload["grantee"])
    return None


def root_custodian(status: UnitStatus, unit: UnitLookup) -> str:
    """The custodian of the root of the unit's tree: holding a pack means holding its modules and cells."""
    return holder_on_path(status, unit)[0]


def holder_on_path(status: UnitStatus, unit: UnitLookup) -> tuple[str, str | None]:
    """One walk from a unit (inside another) to the root of its tree: the root's custodian, and the first
    ancestor in transit (handed over, not yet accepted) or None."""
    seen = {status.battery_id}
    current = status
    moving: str | None = None
    while current.parent_id is not None:
        if current.parent_id in seen:
            break
        seen.add(current.parent_id)
        parent = unit(current.parent_id)
        if parent is None:
            break
        current = parent
        if moving is None and current.state is BatteryState.IN_TRANSIT:
            moving = current.battery_id
    return current.custodian, moving


def in_transit_on_path(status: UnitStatus, unit: UnitLookup, *, include_self: bool) -> str | None:
    """The id of the first unit on the way from ``status`` to the root of its tree that is in transit (handed
    over, not yet accepted), or None. ``include_self``: whether the unit itself counts."""
    seen = {status.battery_id}
    current: UnitStatus | None = status if include_self else None
    if current is None and status.parent_id is not None:
        current = unit(status.parent_id)
    while current is not None:
        if current.state is BatteryState.IN_TRANSIT:
            return current.battery_id
        if current.parent_id is None or current.parent_id in seen:
            return None
        seen.add(current.parent_id)
        current = unit(current.parent_id)
    return None


def check_parent_custody(battery_id: str, parent_id: str, actor: str, unit: UnitLookup) -> None:
    """Integration needs the parent too: it is held by ``actor`` and not in transit (custody rule)."""
    parent = unit(parent_id)
    if parent is None:
        raise NotFoundError(f"battery {battery_id}: parent {parent_id} is not registered")
    moving = in_transit_on_path(parent, unit, include_self=True)
    if moving is not None:
        raise CustodyError(
            f"battery {battery_id} cannot be integrated into {parent_id}: {moving} is in transit (handed over, "
            "not yet accepted) and held by no one until the receiver accepts it"
        )
    if root_custodian(parent, unit) != actor:
        raise CustodyError(
            f"{actor} does not hold {parent_id}: integrating battery {battery_id} into a unit needs custody "
            "of that unit too"
        )


def check_parent(battery_id: str, parent_id: str, unit: UnitLookup) -> None:
    """Raise unless ``parent_id`` is registered and is neither the unit itself nor one of its descendants."""
    if parent_id == battery_id:
        raise ValidationError(f"battery {battery_id} cannot be integrated into itself")
    parent = unit(parent_id)
    if parent is None:
        raise NotFoundError(f"battery {battery_id}: parent {parent_id} is not registered")
    seen = {parent_id}
    current = parent
    while current.parent_id is not None and current.parent_id not in seen:
        if current.parent_id == battery_id:
            raise ValidationError(
                f"battery {battery_id} cannot be integrated into its own descendant {parent_id}"
            )
        seen.add(current.parent_id)
        nxt = unit(current.parent_id)
        if nxt is None:
            break
        current = nxt


def decide(
    status: UnitStatus | None,
    battery_id: str,
    event_type: EventType,
    actor: str,
    payload: Mapping[str, Any],
    unit: UnitLookup,
    organisations: Container[str] | None,
    taken_codes: MutableMapping[Code, str] | None,
    codes: Sequence[Code] | None = None,
    payload_checked: bool = False,
) -> UnitStatus:
    """The unit's status after the event, or the domain error of the first rule it breaks.

    ``status``: the unit's status before (None if it has no stream yet); ``unit``: the status of any other
    unit (parents, ancestors). ``organisations``: the registered organisations, or None where receivers are
    not checked. ``taken_codes``: (scheme, code) -> battery id of every code registered so far, or None
    where codes are not checked; the event's codes are added to it. ``codes``: the event's codes when the
    caller parsed them already (:func:`unit_codes`). ``payload_checked``: the payload check already passed.
    Positional, because the ledger calls this once per event on its write path.
    """
    if (event_type is _HANDED_OVER or event_type is _GRANTED) and organisations is not None:
        receiver = receiver_of(event_type, payload)
        if receiver is not None and receiver not in organisations:
            if event_type is _GRANTED:
                raise NotFoundError(f"access cannot be granted to unregistered organisation {receiver!r}")
            raise NotFoundError(f"custody cannot be handed over to unregistered organisation {receiver!r}")
    if not payload_checked:
        check_event_payload(battery_id, event_type, payload)
    if status is None:
        if event_type is not _MANUFACTURED:
            raise NotFoundError(
                f"battery {battery_id} is not registered: {event_type} needs a BatteryManufactured first"
            )
    else:
        holder: str | None = None
        if status.parent_id is not None:
            holder, moving = holder_on_path(status, unit)
            if moving is not None and not (
                event_type in MANUFACTURER_MAY_APPEND and actor == status.manufacturer
            ):
                what = (
                    ("detach" if event_type is _DETACHED else "integrate")
                    if event_type in _MOVES_IN_TREE
                    else f"append {event_type} to"
                )
                raise CustodyError(
                    f"battery {battery_id}: {moving} is in transit (handed over, not yet accepted); no one may "
                    f"{what} its units until the receiver accepts it"
                )
        check_custody(status, battery_id=battery_id, event_type=event_type, actor=actor, holder=holder)
    new = apply(status, battery_id=battery_id, event_type=event_type, actor=actor, payload=payload)
    if event_type is _MANUFACTURED:
        if taken_codes is not None:
            for scheme, code in unit_codes(battery_id, payload) if codes is None else codes:
                owner = taken_codes.get((scheme, code))
                if owner is not None:
                    raise ConflictError(
                        f"battery {battery_id}: {SCHEME_NAMES[scheme]} code {code} is already assigned "
                        f"to {owner}"
                    )
                taken_codes[(scheme, code)] = battery_id
    elif event_type is _INTEGRATED:
        check_parent(battery_id, str(payload["parent_id"]), unit)
        check_parent_custody(battery_id, str(payload["parent_id"]), actor, unit)
    return new


class Event(NamedTuple):
    """What the rules see of one event."""

    battery_id: str
    event_type: EventType
    actor: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class World:
    """What the rules know: every unit's status, the registered organisations, the codes taken."""

    units: Mapping[str, UnitStatus] = field(default_factory=dict)
    organisations: frozenset[str] = frozenset()
    codes: Mapping[Code, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Folded:
    """The world after a fold, and what was decided: each event's new status and the codes it registered."""

    world: World
    statuses: tuple[UnitStatus, ...]
    codes: tuple[tuple[int, str, str], ...]  # (index of the event, scheme, code)


def fold(world: World, events: Sequence[Event]) -> Folded:
    """Decide every event in order against ``world``; all or nothing (the first broken rule raises).

    The identifier codes of every registration are parsed first, as the ledger does before it decides.
    """
    parsed = {
        index: unit_codes(ev.battery_id, ev.payload)
        for index, ev in enumerate(events)
        if ev.event_type is _MANUFACTURED
    }
    units = dict(world.units)
    taken = dict(world.codes)
    statuses: list[UnitStatus] = []
    registered: list[tuple[int, str, str]] = []
    for index, (bid, event_type, actor, payload) in enumerate(events):
        codes = parsed.get(index)
        new = decide(
            units.get(bid), bid, event_type, actor, payload, units.get, world.organisations, taken, codes
        )
        units[bid] = new
        statuses.append(new)
        registered.extend((index, scheme, code) for scheme, code in codes or ())
    return Folded(World(units, world.organisations, taken), tuple(statuses), tuple(registered))
