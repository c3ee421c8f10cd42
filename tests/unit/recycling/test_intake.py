"""Intake from ledger events: which units count as a recycler's intake, by hand-built event streams."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.fleet.core.generator import FleetEvent
from batteryloop.recycling import load_parameter_set
from batteryloop.recycling.core.feedstock import feedstock_from_intake
from batteryloop.recycling.core.intake import (
    IntakeRecord,
    annualised_mass_t,
    intake_from_events,
    intake_of_stream,
    split_modelled,
    summarise_intake,
)

R = "recycler-r"
T0 = datetime(2030, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self, days: float = 1.0) -> datetime:
        self.t += timedelta(days=days)
        return self.t


def unit_payload(level: str, chemistry: str, mass_kg: float, energy_kwh: float = 10.0) -> dict[str, Any]:
    return {
        "level": level,
        "chemistry": chemistry,
        "category": "ev" if level != "system" else "stationary",
        "manufacturer_id": "maker",
        "model": f"{level}-{chemistry}",
        "mass_kg": mass_kg,
        "rated_energy_kwh": energy_kwh,
        "rated_capacity_ah": 100.0,
        "nominal_voltage_v": 350.0,
        "manufactured_on": "2029-06-01",
        "manufacturing_country": "CN",
    }


def ev(clock: Clock, bid: str, kind: E, actor: str, payload: dict[str, Any] | None = None) -> FleetEvent:
    return FleetEvent(bid, kind, clock(), actor, payload or {})


def pack_to_recycler(
    clock: Clock,
    pack: str,
    module: str | None = None,
    *,
    chemistry: str = "NMC811",
    mass_kg: float = 400.0,
    module_mass_kg: float = 50.0,
    recycler: str = R,
    treat: bool = True,
) -> list[FleetEvent]:
    """A pack (with one module inside) used, retired, collected, accepted by ``recycler`` and recycled."""
    out = [ev(clock, pack, E.BATTERY_MANUFACTURED, "maker", unit_payload("pack", chemistry, mass_kg))]
    if module:
        out += [
            ev(
                clock,
                module,
                E.BATTERY_MANUFACTURED,
                "maker",
                unit_payload("module", chemistry, module_mass_kg),
            ),
            ev(clock, module, E.BATTERY_INTEGRATED, "maker", {"parent_id": pack}),
        ]
    out += [
        ev(clock, pack, E.BATTERY_PLACED_ON_MARKET, "maker", {"country": "DE"}),
        ev(clock, pack, E.BATTERY_PUT_INTO_SERVICE, "maker"),
        ev(clock, pack, E.BATTERY_RETIRED, "maker"),
        ev(clock, pack, E.CUSTODY_HANDED_OVER, "maker", {"to_org": "collector"}),
        ev(clock, pack, E.CUSTODY_ACCEPTED, "collector"),
        ev(clock, pack, E.BATTERY_COLLECTED, "collector"),
        ev(clock, pack, E.CUSTODY_HANDED_OVER, "collector", {"to_org": recycler}),
        ev(clock, pack, E.CUSTODY_ACCEPTED, recycler),
        ev(clock, pack, E.BATTERY_GRADED, recycler, {"grade": "C", "soh_pct": 71.5}),
    ]
    if treat:
        out.append(ev(clock, pack, E.BATTERY_DISMANTLED, recycler))
        if module:
            out += [
                ev(clock, module, E.BATTERY_DETACHED, recycler, {"parent_id": pack}),
                ev(clock, module, E.BATTERY_RECYCLED, recycler),
            ]
        out.append(ev(clock, pack, E.BATTERY_RECYCLED, recycler))
    return out


def test_pack_counts_once_with_its_registered_mass_not_its_modules_again() -> None:
    clock = Clock()
    events = pack_to_recycler(clock, "P1", "M1", mass_kg=400.0, module_mass_kg=50.0)
    records = intake_from_events(events, recycler_id=R)
    assert [r.battery_id for r in records] == ["P1"]
    (record,) = records
    assert record.mass_kg == 400.0  # the detached module (50 kg) is inside these 400 kg
    assert record.form == "pack"
    assert record.state == "recycled"
    assert record.from_org == "collector"
    assert record.soh_pct == 71.5
    accepted = [e for e in events if e.event_type is E.CUSTODY_ACCEPTED and e.actor == R]
    assert record.received_at == accepted[0].occurred_at


def test_only_the_named_recycler_and_only_treated_or_held_units() -> None:
    clock = Clock()
    events = pack_to_recycler(clock, "P1") + pack_to_recycler(clock, "P2", recycler="other-recycler")
    assert [r.battery_id for r in intake_from_events(events, recycler_id=R)] == ["P1"]
    assert [r.battery_id for r in intake_from_events(events, recycler_id="other-recycler")] == ["P2"]
    # the collector held both only until it handed them on untreated: not its intake
    assert intake_from_events(events, recycler_id="collector") == []


def test_in_transit_to_the_recycler_is_not_yet_intake() -> None:
    clock = Clock()
    events = pack_to_recycler(clock, "P1")
    accepted = next(i for i, e in enumerate(events) if e.event_type is E.CUSTODY_ACCEPTED and e.actor == R)
    assert intake_of_stream(events[:accepted], recycler_id=R) is None
    graded = intake_of_stream(events[: accepted + 2], recycler_id=R)
    assert graded is not None
    assert graded.state == "graded"


def test_graded_then_passed_on_is_not_intake_but_dismantled_then_passed_on_is() -> None:
    clock = Clock()
    graded_only = [
        *pack_to_recycler(clock, "P1", treat=False),
        ev(clock, "P1", E.CUSTODY_HANDED_OVER, R, {"to_org": "second-life"}),
        ev(clock, "P1", E.CUSTODY_ACCEPTED, "second-life"),
    ]
    assert intake_of_stream(graded_only, recycler_id=R) is None
    dismantled = [
        *pack_to_recycler(clock, "P2", treat=False),
        ev(clock, "P2", E.BATTERY_DISMANTLED, R),
        ev(clock, "P2", E.CUSTODY_HANDED_OVER, R, {"to_org": "smelter"}),
        ev(clock, "P2", E.CUSTODY_ACCEPTED, "smelter"),
    ]
    record = intake_of_stream(dismantled, recycler_id=R)
    assert record is not None
    assert record.state == "dismantled"


def test_module_detached_elsewhere_and_delivered_counts_as_a_module() -> None:
    clock = Clock()
    events = [
        ev(clock, "P", E.BATTERY_MANUFACTURED, "maker", unit_payload("pack", "LFP", 300.0)),
        ev(clock, "M", E.BATTERY_MANUFACTURED, "maker", unit_payload("module", "LFP", 40.0)),
        ev(clock, "M", E.BATTERY_INTEGRATED, "maker", {"parent_id": "P"}),
        ev(clock, "P", E.BATTERY_PLACED_ON_MARKET, "maker", {"country": "DE"}),
        ev(clock, "P", E.BATTERY_PUT_INTO_SERVICE, "maker"),
        ev(clock, "P", E.BATTERY_RETIRED, "maker"),
        ev(clock, "M", E.BATTERY_DETACHED, "maker", {"parent_id": "P"}),
        ev(clock, "M", E.CUSTODY_HANDED_OVER, "maker", {"to_org": R}),
        ev(clock, "M", E.CUSTODY_ACCEPTED, R),
        ev(clock, "M", E.BATTERY_RECYCLED, R),
    ]
    records = intake_from_events(events, recycler_id=R)
    assert [(r.battery_id, r.form, r.mass_kg, r.from_org) for r in records] == [
        ("M", "module", 40.0, "maker")
    ]


def test_since_and_until_select_by_receipt_and_state_as_of_until() -> None:
    clock = Clock()
    events = pack_to_recycler(clock, "P1")
    received = next(e.occurred_at for e in events if e.event_type is E.CUSTODY_ACCEPTED and e.actor == R)
    assert intake_from_events(events, recycler_id=R, since=received + timedelta(seconds=1)) == []
    assert intake_from_events(events, recycler_id=R, until=received) == []  # until is exclusive
    (at_receipt,) = intake_from_events(
        events, recycler_id=R, since=received, until=received + timedelta(hours=1)
    )
    assert at_receipt.state == "collected"  # as of until it was not graded yet
    by_date = intake_from_events(events, recycler_id=R, since=date(2030, 1, 1), until=date(2031, 1, 1))
    assert [r.state for r in by_date] == ["recycled"]
    with pytest.raises(ValidationError, match="timezone-aware"):
        intake_from_events(events, recycler_id=R, since=datetime(2030, 1, 1))


def test_a_stream_must_start_with_registration() -> None:
    clock = Clock()
    events = pack_to_recycler(clock, "P1")
    with pytest.raises(ValidationError, match="BatteryManufactured"):
        intake_of_stream(events[1:], recycler_id=R)


def record(chemistry: str, form: str, mass_kg: float, day: int, energy_kwh: float = 0.0) -> IntakeRecord:
    return IntakeRecord(
        battery_id=f"{chemistry}-{form}-{day}",
        chemistry=chemistry,
        level=form,
        form=form,
        mass_kg=mass_kg,
        rated_energy_kwh=energy_kwh,
        received_at=T0 + timedelta(days=day),
        from_org=None,
        state="recycled",
    )


def test_summary_and_feedstock_shares_by_hand() -> None:
    records = [
        record("NMC811", "pack", 300.0, 0, 60.0),
        record("NMC811", "pack", 500.0, 10, 90.0),
        record("LFP", "pack", 200.0, 20, 25.0),
    ]
    groups = summarise_intake(records)
    assert [(g.chemistry, g.units, g.mass_t, g.energy_mwh) for g in groups] == [
        ("NMC811", 2, 0.8, 0.15),
        ("LFP", 1, 0.2, 0.025),
    ]
    feed = feedstock_from_intake([r.as_feed_record() for r in records])
    shares = {(c.chemistry, c.form): c.mass_share for c in feed.components}
    assert shares == pytest.approx({("LFP", "pack"): 0.2, ("NMC811", "pack"): 0.8})
    assert feed.annual_mass_t == pytest.approx(1.0)


def test_annualised_mass() -> None:
    records = [record("NMC811", "pack", 600.0, 0), record("LFP", "pack", 400.0, 30)]
    # a window under a year counts as a year
    assert annualised_mass_t(records) == pytest.approx(1.0)
    two_years = annualised_mass_t(
        records, since=date(2030, 1, 1), until=date(2031, 12, 31) + timedelta(days=1)
    )
    assert two_years == pytest.approx(1.0 / (730.0 / 365.25))
    with pytest.raises(ValidationError, match="empty"):
        annualised_mass_t([])


def test_units_the_set_cannot_model_are_set_aside_with_a_reason() -> None:
    params = load_parameter_set("everbatt2023")
    records = [
        record("NMC811", "pack", 300.0, 0),
        record("LMO", "pack", 250.0, 1),
        record("SIB", "cell", 1.0, 2),
    ]
    modelled, excluded = split_modelled(records, params)
    assert [r.chemistry for r in modelled] == ["NMC811"]
    reasons = {r.chemistry: reason for reason, rs in excluded.items() for r in rs}
    assert "no cell composition for LMO" in reasons["LMO"]
    assert "no cell composition for SIB" in reasons["SIB"]
    richer = load_parameter_set("batteryloop2025")
    _, excluded_2025 = split_modelled(records, richer)
    (reason,) = excluded_2025
    assert "no pack composition for LMO" in reason


def test_a_unit_the_recycler_builds_into_another_stops_counting() -> None:
    clock = Clock()
    events = [
        *pack_to_recycler(clock, "P1", treat=False),
        ev(clock, "S1", E.BATTERY_MANUFACTURED, R, unit_payload("system", "NMC811", 900.0)),
        ev(clock, "P1", E.BATTERY_INTEGRATED, R, {"parent_id": "S1"}),
    ]
    assert intake_from_events(events, recycler_id=R) == []  # the system is only 'manufactured' at R


def test_handed_on_and_back_counts_again_as_held() -> None:
    clock = Clock()
    events = [
        *pack_to_recycler(clock, "P1", treat=False),
        ev(clock, "P1", E.CUSTODY_HANDED_OVER, R, {"to_org": "tester"}),
        ev(clock, "P1", E.CUSTODY_ACCEPTED, "tester"),
        ev(clock, "P1", E.CUSTODY_HANDED_OVER, "tester", {"to_org": R}),
        ev(clock, "P1", E.CUSTODY_ACCEPTED, R),
        ev(clock, "P1", E.BATTERY_DISMANTLED, R),
    ]
    (record,) = intake_from_events(events, recycler_id=R)
    assert record.state == "dismantled"
    assert record.from_org == "collector"  # the first receipt
