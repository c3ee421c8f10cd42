"""The battery lifecycle state machine.

Every battery unit has one stream of events. ``BatteryState`` is where the unit is in its life; each
``EventType`` is legal only from certain states (``TRANSITIONS``). The fold (:func:`apply`) is pure and is
the single place these rules live: the ledger uses it on append and on rebuild, the fleet generator uses it
to stay legal, the passport reads the status it yields.

Custody hand-over is two steps: ``CustodyHandedOver`` puts the unit ``in_transit`` with a named receiver;
``CustodyAccepted`` by that receiver puts it back into the state it had before the hand-over.
Reuse, repurposing and remanufacturing end the original identity and name its successor, whose stream
opens with ``BatteryManufactured`` carrying ``predecessor_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from batteryloop.domain.errors import CustodyError, IllegalTransitionError, ValidationError


class BatteryState(StrEnum):
    MANUFACTURED = "manufactured"
    INTEGRATED = "integrated"  # assembled into a parent unit (cell in module, module in pack, pack in system)
    PLACED_ON_MARKET = "placed_on_market"
    IN_SERVICE = "in_service"
    RETIRED = "retired"  # removed from its first use
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    GRADED = "graded"  # tested and graded for reuse or recycling
    REUSED = "reused"  # identity ended, successor issued
    REPURPOSED = "repurposed"  # identity ended, successor issued
    REMANUFACTURED = "remanufactured"  # identity ended, successor issued
    DISMANTLED = "dismantled"
    RECYCLED = "recycled"  # terminal: the passport ceases
    DISPOSED = "disposed"  # terminal


TERMINAL_STATES = frozenset(
    {
        BatteryState.RECYCLED,
        BatteryState.DISPOSED,
        BatteryState.REUSED,
        BatteryState.REPURPOSED,
        BatteryState.REMANUFACTURED,
    }
)


class EventType(StrEnum):
    BATTERY_MANUFACTURED = "BatteryManufactured"
    BATTERY_INTEGRATED = "BatteryIntegrated"
    BATTERY_DETACHED = "BatteryDetached"
    BATTERY_PLACED_ON_MARKET = "BatteryPlacedOnMarket"
    BATTERY_PUT_INTO_SERVICE = "BatteryPutIntoService"
    STATE_OF_HEALTH_REPORTED = "StateOfHealthReported"
    NEGATIVE_EVENT_REPORTED = "NegativeEventReported"
    BATTERY_REPAIRED = "BatteryRepaired"
    PASSPORT_DATA_REGISTERED = "PassportDataRegistered"
    BATTERY_RETIRED = "BatteryRetired"
    BATTERY_COLLECTED = "BatteryCollected"
    CUSTODY_HANDED_OVER = "CustodyHandedOver"
    CUSTODY_ACCEPTED = "CustodyAccepted"
    BATTERY_GRADED = "BatteryGraded"
    BATTERY_REUSED = "BatteryReused"
    BATTERY_REPURPOSED = "BatteryRepurposed"
    BATTERY_REMANUFACTURED = "BatteryRemanufactured"
    BATTERY_DISMANTLED = "BatteryDismantled"
    BATTERY_RECYCLED = "BatteryRecycled"
    BATTERY_DISPOSED = "BatteryDisposed"
    RECYCLING_LOT_RECEIVED = "RecyclingLotReceived"  # the recycler puts the unit into an input lot
    RECYCLING_LOT_PRODUCED = "RecyclingLotProduced"  # an output lot (fraction) made from the unit's input lot
    ACCESS_GRANTED = "AccessGranted"  # the holder opens the individual-battery data to a named organisation
    ACCESS_REVOKED = "AccessRevoked"


S = BatteryState
E = EventType
_LIVE = frozenset(BatteryState) - TERMINAL_STATES
_HELD = _LIVE - {S.IN_TRANSIT, S.INTEGRATED}
_HANDOVER_FROM = frozenset(
    {S.MANUFACTURED, S.PLACED_ON_MARKET, S.RETIRED, S.COLLECTED, S.GRADED, S.DISMANTLED, S.IN_SERVICE}
)

_AT_RECYCLER = frozenset({S.RETIRED, S.COLLECTED, S.GRADED, S.DISMANTLED})

# event type -> (states it is legal from, state it leads to; None = unchanged / computed)
TRANSITIONS: Mapping[EventType, tuple[frozenset[BatteryState | None], BatteryState | None]] = {
    E.BATTERY_MANUFACTURED: (frozenset({None}), S.MANUFACTURED),
    E.BATTERY_INTEGRATED: (frozenset({S.MANUFACTURED, S.COLLECTED, S.GRADED}), S.INTEGRATED),
    E.BATTERY_DETACHED: (frozenset({S.INTEGRATED}), S.COLLECTED),
    E.BATTERY_PLACED_ON_MARKET: (frozenset({S.MANUFACTURED}), S.PLACED_ON_MARKET),
    E.BATTERY_PUT_INTO_SERVICE: (frozenset({S.PLACED_ON_MARKET}), S.IN_SERVICE),
    E.STATE_OF_HEALTH_REPORTED: (frozenset(_LIVE - {S.IN_TRANSIT}), None),
    E.NEGATIVE_EVENT_REPORTED: (frozenset(_LIVE), None),
    E.BATTERY_REPAIRED: (frozenset({S.IN_SERVICE}), None),
    E.PASSPORT_DATA_REGISTERED: (frozenset(_LIVE), None),
    E.BATTERY_RETIRED: (frozenset({S.IN_SERVICE, S.PLACED_ON_MARKET}), S.RETIRED),
    E.BATTERY_COLLECTED: (frozenset({S.RETIRED}), S.COLLECTED),
    E.CUSTODY_HANDED_OVER: (_HANDOVER_FROM, S.IN_TRANSIT),
    E.CUSTODY_ACCEPTED: (frozenset({S.IN_TRANSIT}), None),
    E.BATTERY_GRADED: (frozenset({S.COLLECTED, S.RETIRED, S.GRADED}), S.GRADED),
    E.BATTERY_REUSED: (frozenset({S.GRADED}), S.REUSED),
    E.BATTERY_REPURPOSED: (frozenset({S.GRADED}), S.REPURPOSED),
    E.BATTERY_REMANUFACTURED: (frozenset({S.GRADED}), S.REMANUFACTURED),
    E.BATTERY_DISMANTLED: (frozenset({S.COLLECTED, S.GRADED, S.RETIRED}), S.DISMANTLED),
    E.BATTERY_RECYCLED: (frozenset({S.COLLECTED, S.GRADED, S.DISMANTLED, S.RETIRED}), S.RECYCLED),
    E.BATTERY_DISPOSED: (frozenset(_HELD), S.DISPOSED),
    # recyclers' lots (compliance): recorded while the recycler holds the unit, before BatteryRecycled
    E.RECYCLING_LOT_RECEIVED: (_AT_RECYCLER, None),
    E.RECYCLING_LOT_PRODUCED: (_AT_RECYCLER, None),
    E.ACCESS_GRANTED: (frozenset(_HELD), None),
    E.ACCESS_REVOKED: (frozenset(_HELD), None),
}

# Events that only the current custodian may append (all but these): the manufacturer may always add
# static passport data for units it made; the named receiver accepts a hand-over.
MANUFACTURER_MAY_APPEND = frozenset({E.PASSPORT_DATA_REGISTERED})

# Payload keys each event type must carry (the ledger checks presence and type on append).
REQUIRED_PAYLOAD: Mapping[EventType, Mapping[str, type | tuple[type, ...]]] = {
    E.BATTERY_MANUFACTURED: {"level": str, "chemistry": str, "category": str},
    E.BATTERY_INTEGRATED: {"parent_id": str},
    E.BATTERY_PLACED_ON_MARKET: {"country": str},
    E.STATE_OF_HEALTH_REPORTED: {"soh_pct": (int, float)},
    E.NEGATIVE_EVENT_REPORTED: {"kind": str},
    E.CUSTODY_HANDED_OVER: {"to_org": str},
    E.BATTERY_GRADED: {"grade": str},
    E.BATTERY_REUSED: {"successor_id": str},
    E.BATTERY_REPURPOSED: {"successor_id": str},
    E.BATTERY_REMANUFACTURED: {"successor_id": str},
    E.RECYCLING_LOT_RECEIVED: {
        "lot_id": str,
        "mass_kg": (int, float),
        "chemistry_group": str,
        "received_on": str,
    },
    E.RECYCLING_LOT_PRODUCED: {
        "lot_id": str,
        "input_lot_id": str,
        "fraction": str,
        "mass_kg": (int, float),
        "produced_on": str,
    },
    E.ACCESS_GRANTED: {"grantee": str, "valid_from": str, "valid_until": str},
    E.ACCESS_REVOKED: {"grantee": str},
}


@dataclass(slots=True, unsafe_hash=True)
class UnitStatus:
    """What the fold of one battery's events says now. The projection stores exactly this.

    A value: nothing assigns to its fields once built (``apply`` returns a new one). It is not declared
    ``frozen`` only because a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``,
    several times slower than plain assignment, and one is built per event on the ledger's write path.
    """

    battery_id: str
    state: BatteryState
    custodian: str
    manufacturer: str
    parent_id: str | None = None
    pending_custodian: str | None = None
    resume_state: BatteryState | None = None
    soh_pct: float | None = None
    predecessor_id: str | None = None
    successor_id: str | None = None
    version: int = 0


def check_payload(battery_id: str, event_type: EventType, payload: Mapping[str, Any]) -> None:
    """Raise ValidationError naming the first missing or mistyped required payload key."""
    required = REQUIRED_PAYLOAD.get(event_type)
    if not required:
        return
    for key, kind in required.items():
        value = payload.get(key)
        if value is None:
            raise ValidationError(f"{event_type} for battery {battery_id}: payload lacks {key!r}")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValidationError(
                f"{event_type} for battery {battery_id}: payload {key!r} has the wrong type "
                f"({type(value).__name__})"
            )
    if event_type is E.STATE_OF_HEALTH_REPORTED:
        soh = float(payload["soh_pct"])
        if not 0.0 <= soh <= 200.0:
            raise ValidationError(f"battery {battery_id}: soh_pct {soh} is outside 0..200")


def allowed_from(event_type: EventType) -> frozenset[BatteryState | None]:
    return TRANSITIONS[event_type][0]


def apply(
    status: UnitStatus | None,
    *,
    battery_id: str,
    event_type: EventType,
    actor: str,
    payload: Mapping[str, Any],
) -> UnitStatus:
    """Return the status after ``event_type``; raise IllegalTransitionError if it is not allowed.

    This checks the lifecycle only. Custody (who may append) is :func:`check_custody`'s job, because it
    needs the custodian of the root of the unit's tree, which the fold of one stream does not know.
    """
    state = status.state if status is not None else None
    sources, target = TRANSITIONS[event_type]
    if state not in sources:
        raise IllegalTransitionError(battery_id, state, event_type)
    if status is None:
        return UnitStatus(
            battery_id=battery_id,
            state=S.MANUFACTURED,
            custodian=actor,
            manufacturer=actor,
            predecessor_id=payload.get("predecessor_id"),
            version=1,
        )
    version = status.version + 1
    # each branch builds the new status positionally (field order of UnitStatus): the same result as
    # dataclasses.replace, which costs twice as much on the ledger's hot path
    s = status
    if event_type is E.STATE_OF_HEALTH_REPORTED:
        return UnitStatus(
            s.battery_id, s.state, s.custodian, s.manufacturer, s.parent_id, s.pending_custodian,
            s.resume_state, float(payload["soh_pct"]), s.predecessor_id, s.successor_id, version,
        )  # fmt: skip
    if event_type is E.CUSTODY_HANDED_OVER:
        return UnitStatus(
            s.battery_id, S.IN_TRANSIT, s.custodian, s.manufacturer, s.parent_id, str(payload["to_org"]),
            s.state, s.soh_pct, s.predecessor_id, s.successor_id, version,
        )  # fmt: skip
    if event_type is E.CUSTODY_ACCEPTED:
        assert s.resume_state is not None
        return UnitStatus(
            s.battery_id, s.resume_state, s.pending_custodian or actor, s.manufacturer, s.parent_id, None,
            None, s.soh_pct, s.predecessor_id, s.successor_id, version,
        )  # fmt: skip
    if event_type is E.BATTERY_INTEGRATED:
        return UnitStatus(
            s.battery_id, S.INTEGRATED, s.custodian, s.manufacturer, str(payload["parent_id"]),
            s.pending_custodian, s.resume_state, s.soh_pct, s.predecessor_id, s.successor_id, version,
        )  # fmt: skip
    if event_type is E.BATTERY_DETACHED:
        return UnitStatus(
            s.battery_id, S.COLLECTED, actor, s.manufacturer, None, s.pending_custodian, s.resume_state,
            s.soh_pct, s.predecessor_id, s.successor_id, version,
        )  # fmt: skip
    if event_type in (E.BATTERY_REUSED, E.BATTERY_REPURPOSED, E.BATTERY_REMANUFACTURED):
        assert target is not None
        return UnitStatus(
            s.battery_id, target, s.custodian, s.manufacturer, s.parent_id, s.pending_custodian,
            s.resume_state, s.soh_pct, s.predecessor_id, str(payload["successor_id"]), version,
        )  # fmt: skip
    soh_pct = s.soh_pct
    if event_type is E.BATTERY_GRADED and "soh_pct" in payload:
        target, soh_pct = S.GRADED, float(payload["soh_pct"])
    return UnitStatus(
        s.battery_id, target if target is not None else s.state, s.custodian, s.manufacturer, s.parent_id,
        s.pending_custodian, s.resume_state, soh_pct, s.predecessor_id, s.successor_id, version,
    )  # fmt: skip


def check_custody(
    status: UnitStatus | None,
    *,
    battery_id: str,
    event_type: EventType,
    actor: str,
    holder: str | None,
) -> None:
    """Raise CustodyError unless ``actor`` may append ``event_type`` to this battery.

    ``holder`` is the custodian of the root of the unit's tree (the unit itself when it has no parent): an
    organisation holding a pack holds its modules and cells. The messages name neither the holder nor the
    receiver: the refused organisation learns nothing of another's custody.
    """
    if status is None:
        return  # registration: the registering organisation becomes manufacturer and custodian
    if event_type is E.CUSTODY_ACCEPTED:
        if actor != status.pending_custodian:
            raise CustodyError(f"battery {battery_id} is not in transit to {actor}; {actor} cannot accept it")
        return
    if event_type in MANUFACTURER_MAY_APPEND and actor == status.manufacturer:
        return
    if status.state is S.IN_TRANSIT:
        raise CustodyError(
            f"battery {battery_id} is in transit; {actor} cannot append {event_type} until the receiver "
            "accepts it"
        )
    if actor != (holder or status.custodian):
        raise CustodyError(f"{actor} does not hold battery {battery_id}; it may not append {event_type}")
