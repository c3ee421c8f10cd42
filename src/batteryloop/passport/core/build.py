"""Build the canonical passport from a battery's ledger events (pure: no database).

The builder folds one battery's stream in order. It needs only what :class:`LedgerEvent` describes, so a
``batteryloop.ledger`` ``RecordedEvent``, a test double or a fleet-generator event all work.

Sources of each part:

- identity: the ``BatteryManufactured`` payload (:class:`batteryloop.domain.battery.BatteryUnit`);
- static sections: ``PassportDataRegistered`` payloads (:class:`PassportDataRegistered`), later sections
  replacing earlier ones;
- the baseline of the dynamic data: the rated values at placing on the market (Annex XIII(4)(a)), dated at
  manufacture; then ``StateOfHealthReported`` / ``NegativeEventReported`` update it;
- status: Original, or the kind of successor (Repurposed / Reused / Remanufactured) when the unit has a
  predecessor; Waste from ``BatteryRetired`` / ``BatteryCollected`` on (a battery taken out of use and
  collected is waste until a successor identity is issued); ``BatteryRecycled`` ends the passport
  (Art. 77(8), ``ceased``), which stays readable for authorities.

``StateOfHealthReported`` payload keys read (all optional but ``soh_pct``): ``soh_pct``, ``capacity_ah``,
``cycles``, ``remaining_energy_kwh``, ``energy_throughput_kwh``, ``capacity_throughput_ah``, ``soc_pct``,
``self_discharge_pct_per_month``, ``round_trip_efficiency_pct``, ``remaining_power_w`` (with
``remaining_power_at_soc_pct``), ``internal_resistance_increase_pct`` (pack; ``module_...`` and ``cell_...``
for the other levels) and the temperature
exposure hours ``extreme_high_temp_h``, ``extreme_low_temp_h``, ``extreme_high_temp_charging_h``,
``extreme_low_temp_charging_h``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

from pydantic import ValidationError as PydanticValidationError

from batteryloop.domain.battery import BatteryUnit
from batteryloop.domain.chemistry import BatteryCategory, Chemistry, UnitLevel
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.lifecycle import EventType
from batteryloop.domain.validation import Issue, clean_payload
from batteryloop.passport.core import dynamic
from batteryloop.passport.core.model import (
    STATIC_SECTIONS,
    BatteryCondition,
    BatteryStatus,
    DataIssue,
    Grading,
    Identity,
    Lifecycle,
    Measured,
    NegativeEvent,
    Passport,
    PassportDataRegistered,
    RatedPerformance,
)

E = EventType


class LedgerEvent(Protocol):
    """The part of a recorded ledger event the passport needs."""

    @property
    def battery_id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


class StreamSource(Protocol):
    """Anything that reads one battery's stream (``batteryloop.ledger.Ledger`` does)."""

    def read_stream(self, battery_id: str) -> Sequence[LedgerEvent]: ...


@dataclass(frozen=True, slots=True)
class PlainEvent:
    """A minimal :class:`LedgerEvent` (tests, generators, imports)."""

    battery_id: str
    event_type: str
    occurred_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


_SUCCESSION: Mapping[str, BatteryStatus] = {
    E.BATTERY_REPURPOSED: BatteryStatus.REPURPOSED,
    E.BATTERY_REUSED: BatteryStatus.REUSED,
    E.BATTERY_REMANUFACTURED: BatteryStatus.REMANUFACTURED,
}
_WASTE_EVENTS = frozenset({E.BATTERY_RETIRED, E.BATTERY_COLLECTED, E.BATTERY_DISMANTLED, E.BATTERY_DISPOSED})
_STATE_AFTER: Mapping[str, str] = {
    E.BATTERY_MANUFACTURED: "manufactured",
    E.BATTERY_INTEGRATED: "integrated",
    E.BATTERY_DETACHED: "collected",
    E.BATTERY_PLACED_ON_MARKET: "placed_on_market",
    E.BATTERY_PUT_INTO_SERVICE: "in_service",
    E.BATTERY_RETIRED: "retired",
    E.BATTERY_COLLECTED: "collected",
    E.BATTERY_GRADED: "graded",
    E.BATTERY_REUSED: "reused",
    E.BATTERY_REPURPOSED: "repurposed",
    E.BATTERY_REMANUFACTURED: "remanufactured",
    E.BATTERY_DISMANTLED: "dismantled",
    E.BATTERY_RECYCLED: "recycled",
    E.BATTERY_DISPOSED: "disposed",
}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RegisteredUnit:
    """What the builder reads of a unit's registration: a :class:`BatteryUnit`'s fields, None where the
    stored value was left out because today's rules refuse it."""

    battery_id: str
    level: UnitLevel | None = None
    chemistry: Chemistry | None = None
    category: BatteryCategory | None = None
    manufacturer_id: str | None = None
    model: str | None = None
    mass_kg: float | None = None
    rated_energy_kwh: float | None = None
    rated_capacity_ah: float | None = None
    nominal_voltage_v: float | None = None
    manufactured_on: date | None = None
    manufacturing_country: str | None = None
    gbt_code: str | None = None
    gtin: str | None = None
    serial: str | None = None
    predecessor_id: str | None = None

    @classmethod
    def of(cls, battery_id: str, payload: Mapping[str, Any], dropped: set[str]) -> RegisteredUnit:
        """From a registration payload whose refused fields (``dropped``) were removed already: a complete
        registration goes through :class:`BatteryUnit` (a field never given is a ValidationError, as before);
        one with refused fields keeps what is left."""
        if not dropped & _UNIT_FIELDS:
            unit = BatteryUnit.from_payload(battery_id, payload)
            return cls(**{name: getattr(unit, name) for name in cls.__slots__})

        def num(key: str) -> float | None:
            value = payload.get(key)
            return float(value) if value is not None else None

        def text(key: str) -> str | None:
            value = payload.get(key)
            return str(value) if value is not None else None

        day = payload.get("manufactured_on")
        return cls(
            battery_id=battery_id,
            level=UnitLevel(payload["level"]) if "level" in payload else None,
            chemistry=Chemistry(payload["chemistry"]) if "chemistry" in payload else None,
            category=BatteryCategory(payload["category"]) if "category" in payload else None,
            manufacturer_id=text("manufacturer_id"),
            model=text("model"),
            mass_kg=num("mass_kg"),
            rated_energy_kwh=num("rated_energy_kwh"),
            rated_capacity_ah=num("rated_capacity_ah"),
            nominal_voltage_v=num("nominal_voltage_v"),
            manufactured_on=date.fromisoformat(day) if day is not None else None,
            manufacturing_country=text("manufacturing_country"),
            gbt_code=text("gbt_code"),
            gtin=text("gtin"),
            serial=text("serial"),
            predecessor_id=text("predecessor_id"),
        )


_UNIT_FIELDS = frozenset(
    {
        "level",
        "chemistry",
        "category",
        "manufacturer_id",
        "model",
        "mass_kg",
        "rated_energy_kwh",
        "rated_capacity_ah",
        "nominal_voltage_v",
        "manufactured_on",
        "manufacturing_country",
    }
)


def _position(event: LedgerEvent) -> int | None:
    position = getattr(event, "position", None)
    return position if isinstance(position, int) else None


def _flagged(event: LedgerEvent, issues: Sequence[Issue]) -> list[DataIssue]:
    return [
        DataIssue(
            position=_position(event),
            event_type=str(event.event_type),
            field=issue.field,
            reason=issue.reason,
        )
        for issue in issues
    ]


def cleaned(event: LedgerEvent, flags: list[DataIssue]) -> Mapping[str, Any]:
    """``event``'s payload without the fields today's rules refuse; each one left out is added to ``flags``."""
    try:
        kind = EventType(event.event_type)
    except ValueError:
        return event.payload
    payload, issues = clean_payload(kind, event.payload)
    if issues:
        flags.extend(_flagged(event, issues))
    return payload


def merge_registrations(payloads: Iterable[Mapping[str, Any]], *, battery_id: str) -> PassportDataRegistered:
    """Validate each PassportDataRegistered payload and merge them in order (later sections win)."""
    merged: dict[str, Any] = {}
    for index, payload in enumerate(payloads):
        try:
            data = PassportDataRegistered.model_validate(payload)
        except PydanticValidationError as exc:
            raise ValidationError(
                f"PassportDataRegistered #{index + 1} for battery {battery_id}: "
                + "; ".join(_pydantic_issue(err) for err in exc.errors())
            ) from exc
        for name in data.model_fields_set:
            merged[name] = getattr(data, name)
    return PassportDataRegistered(**merged)


def _pydantic_issue(err: Mapping[str, Any]) -> str:
    """A pydantic error as ``$.path: message``, without the offending value (it may be restricted)."""
    path = "$"
    for part in err.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return f"{path}: {err.get('msg', 'invalid')}"


def baseline_condition(
    rated: RatedPerformance | None, unit: RegisteredUnit, *, since: date | None = None
) -> BatteryCondition:
    """Dynamic data as at placing on the market (Annex XIII(4)(a)), dated at manufacture (``since`` when the
    date of manufacture was left out): :func:`batteryloop.passport.core.dynamic.baseline` of an original."""
    made = unit.manufactured_on or since
    assert made is not None
    reference = dynamic.reference_of(unit.rated_capacity_ah, unit.rated_energy_kwh, rated, None)
    return dynamic.baseline(reference, rated, made=made, rerating=None)


GRADING_MEASURED: tuple[str, ...] = (
    "dcir_mohm",
    "dcir_bol_mohm",
    "dcir_increase_pct",
    "self_discharge_mv_per_day",
    "capacity_spread_pct",
    "voltage_spread_mv",
    "insulation_ohm_per_v",
    "negative_events",
    "visual_damage",
    "history",
    "age_years",
)
"""``BatteryGraded`` payload keys shown as measured values, in this order (``soh_pct`` has its own field)."""


def _grading(payload: Mapping[str, Any], at: datetime) -> Grading:
    """The battery condition's grading from a (cleaned) ``BatteryGraded`` payload."""

    def text(key: str) -> str | None:
        value = payload.get(key)
        return str(value) if value is not None else None

    decision = payload.get("decision", payload.get("route"))
    reasons = str(payload.get("reasons") or "")
    soh = payload.get("soh_pct")
    return Grading(
        grade=str(payload["grade"]),
        decision=str(decision) if decision is not None else None,
        graded_at=at,
        soh_pct=float(soh) if isinstance(soh, int | float) and not isinstance(soh, bool) else None,
        tested_level=text("tested_level"),
        summary=text("summary"),
        reasons=tuple(line for line in reasons.splitlines() if line.strip()),
        measured=tuple(
            Measured(name=key, value=payload[key])
            for key in GRADING_MEASURED
            if isinstance(payload.get(key), int | float | bool)
        ),
        profile=text("profile"),
    )


def build_passport(
    events: Sequence[LedgerEvent],
    *,
    predecessor_events: Sequence[LedgerEvent] = (),
    resolver_domain: str | None = None,
) -> Passport:
    """Fold one battery's events (in stream order) into its passport.

    With ``resolver_domain``, a unit that has a GTIN and serial gets its GS1 Digital Link URI as product
    identifier; otherwise the product identifier is the EU unique identifier (battery id).

    ``predecessor_events`` is the stream of the battery this one succeeds (when its BatteryManufactured
    names a ``predecessor_id``): it tells whether this unit was repurposed, reused or remanufactured.
    """
    if not events:
        raise NotFoundError("no events: the battery is not registered")
    first = events[0]
    battery_id = first.battery_id
    if first.event_type != E.BATTERY_MANUFACTURED:
        raise ValidationError(f"battery {battery_id}: the stream does not open with BatteryManufactured")
    flags: list[DataIssue] = []
    registration = cleaned(first, flags)
    unit = RegisteredUnit.of(battery_id, registration, {f.field.split(".", 1)[0] for f in flags})

    registrations = [cleaned(e, flags) for e in events if e.event_type == E.PASSPORT_DATA_REGISTERED]
    static = merge_registrations(registrations, battery_id=battery_id)
    rerating = static.rerating if unit.predecessor_id is not None else None
    if unit.predecessor_id is not None and rerating is None:
        flags.append(
            DataIssue(
                event_type=E.PASSPORT_DATA_REGISTERED,
                field="rerating",
                reason="a successor needs its own re-rating; the original's ratings are not carried over",
            )
        )
    reference = dynamic.reference_of(
        unit.rated_capacity_ah, unit.rated_energy_kwh, static.rated_performance, rerating
    )
    made = unit.manufactured_on or _utc(first.occurred_at).date()
    condition = dynamic.baseline(reference, static.rated_performance, made=made, rerating=rerating)
    if unit.predecessor_id is not None and rerating is None:
        condition = BatteryCondition()

    status = BatteryStatus.ORIGINAL
    if unit.predecessor_id is not None:
        status = _successor_status(unit.predecessor_id, predecessor_events, static.origin, battery_id)
    state = "manufactured"
    placed_on: date | None = None
    in_service_on: date | None = None
    successor_id: str | None = None
    ceased_on: date | None = None
    negative: list[NegativeEvent] = []
    grading: Grading | None = None
    last = _utc(first.occurred_at)

    for event in events[1:]:
        kind = event.event_type
        at = _utc(event.occurred_at)
        last = max(last, at)
        payload = cleaned(event, flags)
        if kind in _STATE_AFTER:
            state = _STATE_AFTER[kind]
        if kind == E.STATE_OF_HEALTH_REPORTED and payload.get("soh_pct") is not None:
            condition, problems = dynamic.apply_report(
                condition, payload, at, reference, static.rated_performance
            )
            flags.extend(
                DataIssue(
                    position=_position(event), event_type=str(event.event_type), field=name, reason=reason
                )
                for name, reason in problems
            )
        elif kind == E.NEGATIVE_EVENT_REPORTED:
            negative.append(
                NegativeEvent(
                    kind=str(payload.get("kind", "")),
                    occurred_at=at,
                    description=str(payload.get("description", "")),
                )
            )
        elif kind == E.BATTERY_GRADED and payload.get("grade") is not None:
            grading = _grading(payload, at)
        elif kind == E.BATTERY_PLACED_ON_MARKET:
            placed_on = at.date()
        elif kind == E.BATTERY_PUT_INTO_SERVICE:
            in_service_on = at.date()
        elif kind in _WASTE_EVENTS:
            status = BatteryStatus.WASTE
        elif kind in _SUCCESSION and payload.get("successor_id") is not None:
            successor_id = str(payload["successor_id"])
        elif kind == E.BATTERY_RECYCLED:
            status = BatteryStatus.WASTE
            ceased_on = at.date()
    if negative:
        condition = condition.model_copy(update={"negative_events": tuple(negative)})
    if grading is not None:
        condition = condition.model_copy(update={"grading": grading})

    composition = static.composition
    critical = (
        tuple(sorted({m.name for m in composition.materials if m.critical_raw_material}))
        if composition is not None
        else ()
    )
    identity = Identity(
        battery_id=battery_id,
        product_identifier=product_identifier(unit, resolver_domain=resolver_domain),
        gtin=unit.gtin,
        serial=unit.serial,
        model=unit.model,
        level=unit.level,
        category=unit.category,
        chemistry=unit.chemistry,
        chemistry_clear_name=unit.chemistry.clear_name if unit.chemistry is not None else None,
        manufacturer_id=unit.manufacturer_id,
        manufactured_on=unit.manufactured_on,
        manufacturing_country=unit.manufacturing_country,
        mass_kg=unit.mass_kg,
        rated_capacity_ah=unit.rated_capacity_ah,
        rated_energy_kwh=unit.rated_energy_kwh,
        nominal_voltage_v=unit.nominal_voltage_v,
        gbt_code=unit.gbt_code,
    )
    sections = {name: getattr(static, name) for name in STATIC_SECTIONS}
    return Passport(
        passport_id=battery_id,
        identity=identity,
        critical_raw_materials=critical,
        condition=condition,
        lifecycle=Lifecycle(
            status=status,
            state=state,
            placed_on_market_on=placed_on,
            put_into_service_on=in_service_on,
            predecessor_id=unit.predecessor_id,
            successor_id=successor_id,
            ceased=ceased_on is not None,
            ceased_on=ceased_on,
            version=len(events),
            last_update=last,
        ),
        **sections,
        data_issues=tuple(flags),
    )


def passport_from_source(
    source: StreamSource, battery_id: str, *, resolver_domain: str | None = None
) -> Passport:
    """Read ``battery_id``'s stream (and its predecessor's, when it has one) and build its passport.

    Raises NotFoundError naming the identifier when the battery is not registered.
    """
    events = source.read_stream(battery_id)
    if not events:
        raise NotFoundError(f"battery {battery_id} is not registered")
    predecessor = events[0].payload.get("predecessor_id")
    predecessor_events: Sequence[LedgerEvent] = ()
    if predecessor:
        try:
            predecessor_events = source.read_stream(str(predecessor))
        except NotFoundError:
            predecessor_events = ()
    return build_passport(events, predecessor_events=predecessor_events, resolver_domain=resolver_domain)


def _successor_status(
    predecessor_id: str,
    predecessor_events: Sequence[LedgerEvent],
    origin: str | None,
    battery_id: str,
) -> BatteryStatus:
    for event in reversed(predecessor_events):
        if event.event_type in _SUCCESSION:
            if event.payload.get("successor_id") not in (None, battery_id):
                raise ValidationError(
                    f"battery {battery_id} names predecessor {predecessor_id}, but that battery's "
                    f"successor is {event.payload.get('successor_id')}"
                )
            return _SUCCESSION[event.event_type]
    if origin is not None:
        return BatteryStatus(origin)
    raise ValidationError(
        f"battery {battery_id} succeeds {predecessor_id}: pass that battery's events (or register an "
        "'origin') to tell whether it was repurposed, reused or remanufactured"
    )


def product_identifier(unit: RegisteredUnit | BatteryUnit, *, resolver_domain: str | None) -> str:
    """The unit's GS1 Digital Link URI under ``resolver_domain`` when it has a GTIN and serial, else its id."""
    if resolver_domain is None or unit.gtin is None or unit.serial is None:
        return unit.battery_id
    from batteryloop.domain.identity import GS1DigitalLink

    return GS1DigitalLink(unit.gtin, unit.serial).uri(resolver_domain)
