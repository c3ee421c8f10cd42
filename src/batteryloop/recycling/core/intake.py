"""A recycler's real intake, read from the ledger's events.

The intake of recycler ``R`` is every unit ``R`` took custody of (``CustodyAccepted`` by ``R``, or registered by
``R`` with ``BatteryManufactured``) while the unit was top-level, and that reached ``collected``, ``graded``,
``dismantled`` or ``recycled`` while ``R`` held it. Rules that keep the tonnage honest:

- only top-level units count: the modules and cells inside an accepted pack travel with it (the pack's registered
  mass already contains them); when ``R`` later detaches them they are not counted again. A unit that ``R``
  integrates into another unit stops counting (its parent carries its mass);
- a unit ``R`` passed on to another organisation while it was only collected or graded is not ``R``'s intake
  (it was not treated there); one ``R`` dismantled or recycled stays ``R``'s intake;
- ``since`` (inclusive) and ``until`` (exclusive) select by the time ``R`` took custody; events at or after
  ``until`` are ignored, so the state is the state as of ``until``. A ``date`` means midnight UTC.

The functions read only the objects they are given (any object with ``iter_events()`` and ``read_stream(id)``,
such as :class:`batteryloop.ledger.Ledger`); this module imports no database code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

from batteryloop.domain.battery import BatteryUnit
from batteryloop.domain.chemistry import UnitLevel
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import BatteryState, EventType, UnitStatus, apply
from batteryloop.recycling.core.params import ParameterSet

E = EventType
S = BatteryState

INTAKE_STATES = frozenset({S.COLLECTED, S.GRADED, S.DISMANTLED, S.RECYCLED})
TREATED_STATES = frozenset({S.DISMANTLED, S.RECYCLED})
FORM_OF_LEVEL: Mapping[UnitLevel, str] = {
    UnitLevel.CELL: "cell",
    UnitLevel.MODULE: "module",
    UnitLevel.PACK: "pack",
    UnitLevel.SYSTEM: "pack",  # a stationary system is treated as a pack (its packs and modules are inside)
}
_CUSTODY_GAINED = frozenset({E.CUSTODY_ACCEPTED, E.BATTERY_MANUFACTURED})


class LedgerEvent(Protocol):
    """What intake needs of an event (both ``RecordedEvent`` and ``FleetEvent`` have it)."""

    @property
    def battery_id(self) -> str: ...
    @property
    def event_type(self) -> EventType: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...


class EventSource(Protocol):
    """What intake needs of a ledger (``batteryloop.ledger.Ledger`` has it)."""

    def iter_events(self) -> Iterator[Any]: ...

    def read_stream(self, battery_id: str) -> Sequence[Any]: ...


@dataclass(frozen=True, slots=True)
class IntakeRecord:
    """One unit a recycler received: what it is, how heavy, where it came from and what became of it."""

    battery_id: str
    chemistry: str
    level: str  # cell | module | pack | system (as registered)
    form: str  # the feedstock form: cell | module | pack (systems are packs)
    mass_kg: float
    rated_energy_kwh: float
    received_at: datetime
    from_org: str | None  # who handed it over (None when the recycler registered it)
    state: str  # the state it reached at the recycler (as of ``until``)
    soh_pct: float | None = None

    def as_feed_record(self) -> dict[str, object]:
        """The (chemistry, form, mass_kg) mapping :func:`feedstock_from_intake` aggregates."""
        return {"chemistry": self.chemistry, "form": self.form, "mass_kg": self.mass_kg}


@dataclass(frozen=True, slots=True)
class IntakeGroup:
    """Intake summed by chemistry and form."""

    chemistry: str
    form: str
    units: int
    mass_t: float
    energy_mwh: float


def _instant(value: date | datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError(f"{name} must be timezone-aware (UTC), got {value.isoformat()}")
        return value
    return datetime.combine(value, time(0, 0), tzinfo=UTC)


def intake_of_stream(
    events: Iterable[LedgerEvent],
    *,
    recycler_id: str,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> IntakeRecord | None:
    """The intake record of one battery's stream (in stream order), or None if it is not the recycler's intake."""
    start, end = _instant(since, "since"), _instant(until, "until")
    status: UnitStatus | None = None
    unit: BatteryUnit | None = None
    received_at: datetime | None = None
    from_org: str | None = None
    last_giver: str | None = None
    counted = False  # the recycler took custody of it as a top-level unit inside the window
    held_state: BatteryState | None = None  # state reached while the recycler held it
    passed_on = False
    integrated_while_held = False
    soh: float | None = None
    for event in events:
        if end is not None and event.occurred_at >= end:
            break
        if status is None and event.event_type is not E.BATTERY_MANUFACTURED:
            raise ValidationError(
                f"battery {event.battery_id}: stream does not start with BatteryManufactured"
            )
        if event.event_type is E.BATTERY_MANUFACTURED:
            unit = BatteryUnit.from_payload(event.battery_id, event.payload)
        if event.event_type is E.CUSTODY_HANDED_OVER:
            last_giver = event.actor
        before = status
        status = apply(
            status,
            battery_id=event.battery_id,
            event_type=event.event_type,
            actor=event.actor,
            payload=event.payload,
        )
        if "soh_pct" in event.payload and isinstance(event.payload["soh_pct"], int | float):
            soh = float(event.payload["soh_pct"])
        gained = (
            event.event_type in _CUSTODY_GAINED
            and event.actor == recycler_id
            and status.custodian == recycler_id
            and status.parent_id is None
        )
        if gained and not counted and (start is None or event.occurred_at >= start):
            counted = True
            received_at = event.occurred_at
            from_org = last_giver if event.event_type is E.CUSTODY_ACCEPTED else None
            passed_on = False
            integrated_while_held = False
        if not counted:
            continue
        if event.event_type is E.CUSTODY_ACCEPTED:
            passed_on = event.actor != recycler_id  # handed on, or back again
            if passed_on:
                continue
        if status.custodian != recycler_id or passed_on:
            continue
        if event.event_type is E.BATTERY_INTEGRATED:
            integrated_while_held = True
        if status.state is not S.IN_TRANSIT:
            held_state = status.state
        elif before is not None and before.state is not S.IN_TRANSIT:
            held_state = before.state
    if not counted or unit is None or held_state is None or integrated_while_held:
        return None
    if held_state not in INTAKE_STATES:
        return None
    if passed_on and held_state not in TREATED_STATES:
        return None
    assert received_at is not None
    return IntakeRecord(
        battery_id=unit.battery_id,
        chemistry=unit.chemistry.value,
        level=unit.level.value,
        form=FORM_OF_LEVEL[unit.level],
        mass_kg=unit.mass_kg,
        rated_energy_kwh=unit.rated_energy_kwh,
        received_at=received_at,
        from_org=from_org,
        state=held_state.value,
        soh_pct=soh,
    )


def intake_from_events(
    events: Iterable[LedgerEvent],
    *,
    recycler_id: str,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> list[IntakeRecord]:
    """Intake from events in ledger order (all batteries mixed), e.g. a generated fleet's events."""
    streams: dict[str, list[LedgerEvent]] = defaultdict(list)
    candidates: set[str] = set()
    for event in events:
        streams[event.battery_id].append(event)
        if event.actor == recycler_id and event.event_type in _CUSTODY_GAINED:
            candidates.add(event.battery_id)
    records = (
        intake_of_stream(streams[bid], recycler_id=recycler_id, since=since, until=until)
        for bid in candidates
    )
    return _sorted([r for r in records if r is not None])


def intake_from_ledger(
    ledger: EventSource,
    *,
    recycler_id: str,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> list[IntakeRecord]:
    """The units ``recycler_id`` accepted (or registered) and collected, graded, dismantled or recycled.

    One pass over ``ledger.iter_events()`` finds the batteries the recycler took custody of; each candidate's
    stream is then read with ``ledger.read_stream`` and folded with the lifecycle rules. Sorted by receipt time.
    """
    if not recycler_id:
        raise ValidationError("recycler_id must name an organisation")
    candidates: dict[str, None] = {}
    for event in ledger.iter_events():
        if event.actor == recycler_id and event.event_type in _CUSTODY_GAINED:
            candidates.setdefault(event.battery_id, None)
    records = (
        intake_of_stream(ledger.read_stream(bid), recycler_id=recycler_id, since=since, until=until)
        for bid in candidates
    )
    return _sorted([r for r in records if r is not None])


def _sorted(records: list[IntakeRecord]) -> list[IntakeRecord]:
    return sorted(records, key=lambda r: (r.received_at, r.battery_id))


def summarise_intake(records: Iterable[IntakeRecord]) -> list[IntakeGroup]:
    """Units, tonnes and MWh by (chemistry, form), heaviest first."""
    units: dict[tuple[str, str], int] = defaultdict(int)
    mass: dict[tuple[str, str], float] = defaultdict(float)
    energy: dict[tuple[str, str], float] = defaultdict(float)
    for r in records:
        key = (r.chemistry, r.form)
        units[key] += 1
        mass[key] += r.mass_kg
        energy[key] += r.rated_energy_kwh
    groups = [
        IntakeGroup(
            chemistry=c,
            form=f,
            units=units[(c, f)],
            mass_t=mass[(c, f)] / 1000.0,
            energy_mwh=energy[(c, f)] / 1000.0,
        )
        for c, f in units
    ]
    return sorted(groups, key=lambda g: (-g.mass_t, g.chemistry, g.form))


def unmodelled_reason(params: ParameterSet, chemistry: str, form: str) -> str | None:
    """Why ``params`` cannot model this (chemistry, form), or None if it can."""
    if chemistry not in params.groups("composition.cell"):
        return f"parameter set {params.name!r} has no cell composition for {chemistry}"
    if form in ("pack", "module") and not params.has(f"composition.pack.{chemistry}.cell_share"):
        return f"parameter set {params.name!r} has no pack composition for {chemistry} (composition.pack.{chemistry})"
    return None


def split_modelled(
    records: Iterable[IntakeRecord], params: ParameterSet
) -> tuple[list[IntakeRecord], dict[str, list[IntakeRecord]]]:
    """(records the set can model, {reason: records it cannot}) - nothing is dropped silently."""
    modelled: list[IntakeRecord] = []
    excluded: dict[str, list[IntakeRecord]] = defaultdict(list)
    for r in records:
        reason = unmodelled_reason(params, r.chemistry, r.form)
        if reason is None:
            modelled.append(r)
        else:
            excluded[reason].append(r)
    return modelled, dict(excluded)


def annualised_mass_t(
    records: Sequence[IntakeRecord],
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> float:
    """Tonnes per year received: total mass over the window (``since``..``until``, else first..last receipt).

    A window shorter than one year counts as one year (a plant is sized on a year of feed, not on a burst).
    """
    if not records:
        raise ValidationError("the intake is empty: no tonnage to size a plant on")
    start = _instant(since, "since") or min(r.received_at for r in records)
    end = _instant(until, "until") or max(r.received_at for r in records)
    years = max((end - start).total_seconds() / (365.25 * 86_400), 1.0)
    return sum(r.mass_kg for r in records) / 1000.0 / years
