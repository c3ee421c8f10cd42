"""plan_batches: per-actor batches that keep every stream's order and every cross-stream dependency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import pytest

from batteryloop.domain import ValidationError
from batteryloop.domain.lifecycle import EventType, UnitStatus
from batteryloop.fleet import Fleet, FleetEvent, plan_batches

E = EventType
Fold = Callable[[Iterable[FleetEvent]], dict[str, UnitStatus]]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _ev(i: int, bid: str, et: EventType, actor: str, **payload: object) -> FleetEvent:
    return FleetEvent(bid, et, T0 + timedelta(minutes=i), actor, dict(payload))


def _ids(batches: list[tuple[str, list[FleetEvent]]]) -> list[tuple[str, list[str]]]:
    return [(actor, [f"{e.battery_id}:{e.event_type.value}" for e in evs]) for actor, evs in batches]


def test_handover_flushes_the_senders_batch_first() -> None:
    events = [
        _ev(0, "b1", E.BATTERY_MANUFACTURED, "A", level="pack", chemistry="LFP", category="ev"),
        _ev(1, "b1", E.CUSTODY_HANDED_OVER, "A", to_org="B"),
        _ev(2, "b2", E.BATTERY_MANUFACTURED, "A", level="pack", chemistry="LFP", category="ev"),
        _ev(3, "b1", E.CUSTODY_ACCEPTED, "B"),
        _ev(4, "b2", E.BATTERY_PLACED_ON_MARKET, "A", country="DE"),
        _ev(5, "b1", E.BATTERY_PLACED_ON_MARKET, "B", country="DE"),
    ]
    assert _ids(list(plan_batches(events))) == [
        ("A", ["b1:BatteryManufactured", "b1:CustodyHandedOver", "b2:BatteryManufactured"]),
        ("B", ["b1:CustodyAccepted", "b1:BatteryPlacedOnMarket"]),
        ("A", ["b2:BatteryPlacedOnMarket"]),
    ]


def test_integration_waits_for_the_parent_in_another_batch() -> None:
    events = [
        _ev(0, "pack", E.BATTERY_MANUFACTURED, "P", level="pack", chemistry="LFP", category="ev"),
        _ev(1, "mod", E.BATTERY_MANUFACTURED, "M", level="module", chemistry="LFP", category="ev"),
        _ev(2, "mod", E.BATTERY_INTEGRATED, "M", parent_id="pack"),
    ]
    batches = _ids(list(plan_batches(events)))
    assert batches[0] == ("P", ["pack:BatteryManufactured"])
    assert batches[1] == ("M", ["mod:BatteryManufactured", "mod:BatteryIntegrated"])


def test_an_integrated_unit_waits_for_its_roots_custody() -> None:
    events = [
        _ev(0, "pack", E.BATTERY_MANUFACTURED, "A", level="pack", chemistry="LFP", category="ev"),
        _ev(1, "mod", E.BATTERY_MANUFACTURED, "A", level="module", chemistry="LFP", category="ev"),
        _ev(2, "mod", E.BATTERY_INTEGRATED, "A", parent_id="pack"),
        _ev(3, "other", E.BATTERY_MANUFACTURED, "D", level="pack", chemistry="LFP", category="ev"),
        _ev(4, "pack", E.CUSTODY_HANDED_OVER, "A", to_org="D"),
        _ev(5, "pack", E.CUSTODY_ACCEPTED, "D"),
        _ev(6, "mod", E.BATTERY_DETACHED, "D"),
        _ev(7, "pack", E.BATTERY_DISMANTLED, "D"),
    ]
    # D's batch was opened (event 3) before anything else is pending; the detach of the module joins it
    # because the module's own last event (A's) is flushed and its root's custody event is D's own.
    assert _ids(list(plan_batches(events))) == [
        (
            "A",
            [
                "pack:BatteryManufactured",
                "mod:BatteryManufactured",
                "mod:BatteryIntegrated",
                "pack:CustodyHandedOver",
            ],
        ),
        (
            "D",
            [
                "other:BatteryManufactured",
                "pack:CustodyAccepted",
                "mod:BatteryDetached",
                "pack:BatteryDismantled",
            ],
        ),
    ]


def test_a_units_event_flushes_the_batch_holding_its_roots_last_event() -> None:
    events = [
        _ev(0, "pack", E.BATTERY_MANUFACTURED, "A", level="pack", chemistry="LFP", category="ev"),
        _ev(1, "mod", E.BATTERY_MANUFACTURED, "A", level="module", chemistry="LFP", category="ev"),
        _ev(2, "mod", E.BATTERY_INTEGRATED, "A", parent_id="pack"),
        _ev(3, "other", E.BATTERY_MANUFACTURED, "X", level="pack", chemistry="LFP", category="ev"),
        _ev(4, "pack", E.CUSTODY_HANDED_OVER, "A", to_org="D"),
        _ev(5, "pack", E.CUSTODY_ACCEPTED, "D"),
        _ev(6, "mod", E.NEGATIVE_EVENT_REPORTED, "X", kind="accident"),
    ]
    # the module's own stream is flushed with A's batch, but its root's last event sits in D's pending batch:
    # D must be flushed before X's batch (opened earlier, at event 3) can carry the module's event
    actors = [actor for actor, _ in plan_batches(events)]
    assert actors == ["A", "D", "X"]


def test_max_batch_splits_and_bad_size_rejected() -> None:
    events = [
        _ev(i, f"b{i}", E.BATTERY_MANUFACTURED, "A", level="pack", chemistry="LFP", category="ev")
        for i in range(25)
    ]
    sizes = [len(evs) for _, evs in plan_batches(events, max_batch=10)]
    assert sizes == [10, 10, 5]
    with pytest.raises(ValidationError, match="max_batch"):
        list(plan_batches(events, max_batch=0))


def test_fleet_batches_replay_legally_and_in_stream_order(fleet_now: Fleet, fold: Fold) -> None:
    batches = list(plan_batches(fleet_now.events, max_batch=10_000))
    replayed = [e for _, evs in batches for e in evs]
    assert len(replayed) == len(fleet_now.events)
    assert all(len(evs) <= 10_000 and {e.actor for e in evs} == {actor} for actor, evs in batches)

    def by_stream(events: list[FleetEvent]) -> dict[str, list[FleetEvent]]:
        out: dict[str, list[FleetEvent]] = defaultdict(list)
        for e in events:
            out[e.battery_id].append(e)
        return out

    assert by_stream(replayed) == by_stream(fleet_now.events)
    fold(replayed)  # custody, parents and lifecycle all hold in batch order


def test_fleet_batches_are_large(fleet_now: Fleet) -> None:
    batches = list(plan_batches(fleet_now.events))
    sizes = [len(evs) for _, evs in batches]
    assert len(batches) < len(fleet_now.events) / 8  # this fleet averages about 10 events per batch
    in_large = sum(s for s in sizes if s >= 100)
    assert in_large > 0.35 * len(fleet_now.events)  # about half the events; more in bigger fleets
    assert max(sizes) > 1000
