"""The passport's dynamic data (Annex XIII(4)), derived from the events that report them (pure).

A ``StateOfHealthReported`` event reports the state of health and, optionally, measured capacity, energy,
cycles, throughput, power and internal resistance. What a report does not measure is derived from what it
does, so that the values a reader sees agree with each other, and every value carries the time of the report
it came from:

- remaining capacity = reference capacity x SOH (when not measured); capacity fade = 1 - remaining /
  reference capacity; remaining energy = reference energy x SOH (when not measured);
- full cycles and energy throughput only grow: a report below the previous value is kept out and flagged;
  full cycles missing but throughput given: throughput / reference energy (equivalent full cycles);
- power fade = 1 - remaining / original power at the same state of charge when power is measured, else from
  the pack's internal resistance increase (power at fixed voltage limits scales as 1 / resistance);
- the reference of an original battery is its rated capacity and energy; of a re-rated successor, the
  original battery's rated values its ``rerating`` section gives, and the successor starts from the values
  measured at re-rating (never from a new battery's 100 %).

:func:`invariants` states what must hold of any passport's dynamic data; the tests assert it on generated
fleets, and :data:`LIMITS` (``data/dynamic.toml``, each with source and year) holds its tolerances.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

from batteryloop.passport.core.model import (
    BatteryCondition,
    Component,
    ComponentReading,
    Passport,
    PowerReading,
    RatedPerformance,
    Reading,
    Rerating,
    TemperatureExposure,
)
from batteryloop.reference.files import read_toml, thaw

LIMITS_FILE = Path(__file__).parent.parent / "data" / "dynamic.toml"


@dataclass(frozen=True, slots=True)
class Limits:
    """Tolerances and physical bounds of the dynamic data (``data/dynamic.toml``)."""

    fade_vs_soh_pp: float
    max_soh_pct: float
    max_over_reference: float
    throughput_per_cycle_low: float
    throughput_per_cycle_high: float


@cache
def limits() -> Limits:
    data = thaw(read_toml(LIMITS_FILE))
    return Limits(**{name: float(data[name]["value"]) for name in Limits.__slots__})


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Reference:
    """What the state of health is relative to: rated capacity and energy, and the original power."""

    capacity_ah: float | None
    energy_kwh: float | None
    power_at_soc_pct: float | None = None
    power_w: float | None = None


def reference_of(
    rated_capacity_ah: float | None,
    rated_energy_kwh: float | None,
    rated: RatedPerformance | None,
    rerating: Rerating | None,
) -> Reference:
    """An original battery's rated values; a re-rated successor's original rated values."""
    if rerating is not None:
        return Reference(rerating.original_rated_capacity_ah, rerating.original_rated_energy_kwh)
    power_soc = power = None
    if rated is not None:
        top = max(rated.original_power_capability, key=lambda p: p.at_soc_pct)
        power_soc, power = top.at_soc_pct, top.power_w
    return Reference(rated_capacity_ah, rated_energy_kwh, power_soc, power)


def _fade(capacity: float, reference: float) -> float:
    return round(max(0.0, 100.0 * (1.0 - capacity / reference)), 6)


def _power_fade_from_resistance(increase_pct: float) -> float:
    return round(100.0 * increase_pct / (100.0 + increase_pct), 6)


def baseline(
    reference: Reference, rated: RatedPerformance | None, *, made: date, rerating: Rerating | None
) -> BatteryCondition:
    """The dynamic data before any report: a new battery's values as placed on the market (Annex XIII(4)(a)),
    dated at manufacture; or a successor's values measured at re-rating, dated then. A successor without a
    re-rating gets no state of health at all rather than a new battery's."""
    if rerating is not None:
        at = _start_of(rerating.rerated_on)
        increase = rerating.internal_resistance_increase_pct
        return BatteryCondition(
            state_of_certified_energy_pct=Reading(value=rerating.soh_pct, last_update=at),
            capacity_fade_pct=Reading(
                value=_fade(rerating.capacity_ah, rerating.original_rated_capacity_ah), last_update=at
            ),
            remaining_capacity_ah=Reading(value=rerating.capacity_ah, last_update=at),
            remaining_energy_kwh=Reading(value=rerating.energy_kwh, last_update=at),
            full_cycles=Reading(value=0.0, last_update=at),
            energy_throughput_kwh=Reading(value=0.0, last_update=at),
            capacity_throughput_ah=Reading(value=0.0, last_update=at),
            remaining_power_capability=(
                PowerReading(at_soc_pct=_top_soc(rated), power_w=rerating.power_w, last_update=at)
                if rerating.power_w is not None
                else None
            ),
            power_fade_pct=(
                Reading(value=_power_fade_from_resistance(increase), last_update=at)
                if increase is not None
                else None
            ),
            internal_resistance_increase_pct=(
                (ComponentReading(component=Component.PACK, value=increase, last_update=at),)
                if increase is not None
                else ()
            ),
        )
    at = _start_of(made)
    base = BatteryCondition(
        state_of_certified_energy_pct=Reading(value=100.0, last_update=at),
        capacity_fade_pct=Reading(value=0.0, last_update=at),
        remaining_capacity_ah=(
            Reading(value=reference.capacity_ah, last_update=at)
            if reference.capacity_ah is not None
            else None
        ),
        remaining_energy_kwh=(
            Reading(value=reference.energy_kwh, last_update=at) if reference.energy_kwh is not None else None
        ),
        full_cycles=Reading(value=0.0, last_update=at),
        energy_throughput_kwh=Reading(value=0.0, last_update=at),
        capacity_throughput_ah=Reading(value=0.0, last_update=at),
        temperature=TemperatureExposure(
            extreme_high_h=0.0,
            extreme_low_h=0.0,
            extreme_high_charging_h=0.0,
            extreme_low_charging_h=0.0,
            last_update=at,
        ),
        power_fade_pct=Reading(value=0.0, last_update=at),
        internal_resistance_increase_pct=(
            ComponentReading(component=Component.PACK, value=0.0, last_update=at),
        ),
    )
    if rated is None:
        return base
    top = max(rated.original_power_capability, key=lambda p: p.at_soc_pct)
    components = sorted({r.component for r in rated.initial_internal_resistance} | {Component.PACK})
    return base.model_copy(
        update={
            "internal_resistance_increase_pct": tuple(
                ComponentReading(component=c, value=0.0, last_update=at) for c in components
            ),
            "state_of_charge_pct": Reading(value=rated.shipping_state_of_charge_pct, last_update=at),
            "self_discharge_rate_pct_per_month": Reading(
                value=rated.initial_self_discharge_pct_per_month, last_update=at
            ),
            "self_discharge_evolution_pct": Reading(value=0.0, last_update=at),
            "remaining_round_trip_efficiency_pct": Reading(
                value=rated.round_trip_efficiency_pct, last_update=at
            ),
            "remaining_power_capability": PowerReading(
                at_soc_pct=top.at_soc_pct, power_w=top.power_w, last_update=at
            ),
        }
    )


def _top_soc(rated: RatedPerformance | None) -> float:
    if rated is None:
        return 100.0
    return max(p.at_soc_pct for p in rated.original_power_capability)


def apply_report(
    condition: BatteryCondition,
    payload: Mapping[str, Any],
    at: datetime,
    reference: Reference,
    rated: RatedPerformance | None,
) -> tuple[BatteryCondition, list[tuple[str, str]]]:
    """The condition after one ``StateOfHealthReported`` payload (with ``soh_pct``), and the problems found
    as ``(field, reason)``: a value that would break monotonicity is kept out."""
    problems: list[tuple[str, str]] = []

    def reading(value: float | None) -> Reading | None:
        return None if value is None else Reading(value=float(value), last_update=at)

    def num(key: str) -> float | None:
        value = payload.get(key)
        return None if value is None else float(value)

    soh = float(payload["soh_pct"])
    update: dict[str, Any] = {"state_of_certified_energy_pct": reading(soh)}
    capacity = num("capacity_ah")
    if capacity is None and reference.capacity_ah is not None:
        capacity = round(reference.capacity_ah * soh / 100.0, 6)
    if capacity is not None:
        update["remaining_capacity_ah"] = reading(capacity)
        if reference.capacity_ah is not None:
            fade = _fade(capacity, reference.capacity_ah)
            update["capacity_fade_pct"] = reading(fade)
            if abs(fade - max(0.0, 100.0 - soh)) > limits().fade_vs_soh_pp:
                problems.append(
                    (
                        "capacity_ah",
                        f"capacity fade {fade:.1f} % disagrees with state of health {soh:.1f} % "
                        f"(more than {limits().fade_vs_soh_pp} percentage points)",
                    )
                )
    energy = num("remaining_energy_kwh")
    if energy is None and reference.energy_kwh is not None:
        energy = round(reference.energy_kwh * soh / 100.0, 6)
    if energy is not None:
        update["remaining_energy_kwh"] = reading(energy)

    throughput = num("energy_throughput_kwh")
    cycles = num("cycles")
    if cycles is None and throughput is not None and reference.energy_kwh:
        cycles = round(throughput / reference.energy_kwh, 3)
    for key, target, value in (
        ("cycles", "full_cycles", cycles),
        ("energy_throughput_kwh", "energy_throughput_kwh", throughput),
        ("capacity_throughput_ah", "capacity_throughput_ah", num("capacity_throughput_ah")),
    ):
        if value is None:
            continue
        before: Reading | None = getattr(condition, target)
        if before is not None and value < before.value:
            problems.append((key, f"{value:g} is below the previous report's {before.value:g}: kept out"))
            continue
        update[target] = reading(value)

    for key, target in (
        ("soc_pct", "state_of_charge_pct"),
        ("self_discharge_pct_per_month", "self_discharge_rate_pct_per_month"),
        ("round_trip_efficiency_pct", "remaining_round_trip_efficiency_pct"),
    ):
        value = num(key)
        if value is not None:
            update[target] = reading(value)
    discharge = num("self_discharge_pct_per_month")
    if discharge is not None and rated is not None and rated.initial_self_discharge_pct_per_month > 0:
        ratio = discharge / rated.initial_self_discharge_pct_per_month
        update["self_discharge_evolution_pct"] = reading(round(100.0 * (ratio - 1.0), 6))

    increases = {r.component: r for r in condition.internal_resistance_increase_pct}
    for key, component in (
        ("internal_resistance_increase_pct", Component.PACK),
        ("module_internal_resistance_increase_pct", Component.MODULE),
        ("cell_internal_resistance_increase_pct", Component.CELL),
    ):
        value = num(key)
        if value is not None:
            increases[component] = ComponentReading(component=component, value=value, last_update=at)
    if increases:
        update["internal_resistance_increase_pct"] = tuple(increases[c] for c in sorted(increases))

    power = num("remaining_power_w")
    pack_increase = num("internal_resistance_increase_pct")
    if power is not None:
        at_soc = num("remaining_power_at_soc_pct")
        if at_soc is None and condition.remaining_power_capability is not None:
            at_soc = condition.remaining_power_capability.at_soc_pct
        at_soc = at_soc if at_soc is not None else 100.0
        update["remaining_power_capability"] = PowerReading(at_soc_pct=at_soc, power_w=power, last_update=at)
        if reference.power_w and reference.power_at_soc_pct == at_soc:
            update["power_fade_pct"] = reading(round(max(0.0, 100.0 * (1.0 - power / reference.power_w)), 6))
        elif pack_increase is not None:
            update["power_fade_pct"] = reading(_power_fade_from_resistance(pack_increase))
    elif pack_increase is not None:
        fade = _power_fade_from_resistance(pack_increase)
        update["power_fade_pct"] = reading(fade)
        if reference.power_w is not None and reference.power_at_soc_pct is not None:
            update["remaining_power_capability"] = PowerReading(
                at_soc_pct=reference.power_at_soc_pct,
                power_w=round(reference.power_w * (1.0 - fade / 100.0), 3),
                last_update=at,
            )

    temp_keys = (
        ("extreme_high_temp_h", "extreme_high_h"),
        ("extreme_low_temp_h", "extreme_low_h"),
        ("extreme_high_temp_charging_h", "extreme_high_charging_h"),
        ("extreme_low_temp_charging_h", "extreme_low_charging_h"),
    )
    if any(payload.get(k) is not None for k, _ in temp_keys):
        old = condition.temperature
        values = {f: (getattr(old, f) if old is not None else 0.0) for _, f in temp_keys}
        for key, target in temp_keys:
            if payload.get(key) is not None:
                values[target] = float(payload[key])
        update["temperature"] = TemperatureExposure(**values, last_update=at)
    return condition.model_copy(update={k: v for k, v in update.items() if v is not None}), problems


def invariants(passport: Passport) -> list[str]:
    """What must hold of a passport's dynamic data, as sentences naming the field; empty when all holds.

    Fade = 1 - SOH within the tolerance; remaining capacity and energy within physical bounds of the
    reference; cycles, throughput, fades and resistance increases non-negative; throughput per full cycle
    plausible; every value dated no earlier than the battery (or its re-rating) and no later than the last
    event; a successor's state of health is its re-rating's, not a new battery's 100 %.
    """
    lim = limits()
    c = passport.condition
    ident = passport.identity
    out: list[str] = []
    ref = reference_of(
        ident.rated_capacity_ah, ident.rated_energy_kwh, passport.rated_performance, passport.rerating
    )
    soh = c.state_of_certified_energy_pct
    fade = c.capacity_fade_pct
    if passport.lifecycle.predecessor_id is not None:
        if passport.rerating is None and soh is not None:
            out.append("condition.state_of_certified_energy_pct: a successor without a re-rating shows a SOH")
        if (
            passport.rerating is not None
            and passport.rerating.original_passport_id != passport.lifecycle.predecessor_id
        ):
            out.append("rerating.original_passport_id: not the passport's predecessor")
    if soh is not None and not 0.0 <= soh.value <= lim.max_soh_pct:
        out.append(f"condition.state_of_certified_energy_pct: {soh.value} outside 0..{lim.max_soh_pct}")
    if (
        soh is not None
        and fade is not None
        and abs(fade.value - max(0.0, 100.0 - soh.value)) > lim.fade_vs_soh_pp
    ):
        out.append(f"condition.capacity_fade_pct: {fade.value} is not 100 - SOH ({soh.value})")
    if fade is not None and not 0.0 <= fade.value <= 100.0:
        out.append(f"condition.capacity_fade_pct: {fade.value} outside 0..100")
    for name, bound in (("remaining_capacity_ah", ref.capacity_ah), ("remaining_energy_kwh", ref.energy_kwh)):
        value = getattr(c, name)
        if value is not None and (
            value.value < 0 or (bound is not None and value.value > bound * lim.max_over_reference)
        ):
            out.append(f"condition.{name}: {value.value} outside 0..{lim.max_over_reference} x {bound}")
    for name in ("full_cycles", "energy_throughput_kwh", "capacity_throughput_ah"):
        value = getattr(c, name)
        if value is not None and value.value < 0:
            out.append(f"condition.{name}: negative ({value.value})")
    cycles, throughput = c.full_cycles, c.energy_throughput_kwh
    if cycles is not None and throughput is not None and cycles.value > 0 and ref.energy_kwh:
        per_cycle = throughput.value / (cycles.value * ref.energy_kwh)
        if not lim.throughput_per_cycle_low <= per_cycle <= lim.throughput_per_cycle_high:
            out.append(
                f"condition.energy_throughput_kwh: {per_cycle:.2f} x reference energy per full cycle, outside "
                f"{lim.throughput_per_cycle_low}..{lim.throughput_per_cycle_high}"
            )
    unused = cycles is None or cycles.value <= 0 or throughput is None or throughput.value <= 0
    if soh is not None and soh.value < 100.0 - lim.fade_vs_soh_pp and passport.rerating is None and unused:
        out.append("condition.full_cycles: the battery aged without any use reported")
    if c.power_fade_pct is not None and not 0.0 <= c.power_fade_pct.value <= 100.0:
        out.append(f"condition.power_fade_pct: {c.power_fade_pct.value} outside 0..100")
    for r in c.internal_resistance_increase_pct:
        if r.value < 0:
            out.append(f"condition.internal_resistance_increase_pct.{r.component}: negative ({r.value})")
    first = ident.manufactured_on
    if passport.rerating is not None:
        first = passport.rerating.rerated_on
    last = passport.lifecycle.last_update
    for name in BatteryCondition.model_fields:
        value = getattr(c, name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            moment = getattr(item, "last_update", None)
            if moment is None:
                continue
            if first is not None and moment.date() < first:
                out.append(f"condition.{name}: updated {moment.date()} before {first}")
            if last is not None and moment > last:
                out.append(f"condition.{name}: updated {moment} after the last event {last}")
    return out
