"""The batch fold: each rule refuses with its domain error, and folding is the same in one go or in parts."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.domain.errors import (
    BatteryloopError,
    ConflictError,
    CustodyError,
    IllegalTransitionError,
    NotFoundError,
    ValidationError,
)
from batteryloop.domain.fold import (
    GBT_SCHEME,
    GS1_SCHEME,
    Event,
    World,
    decide,
    fold,
    root_custodian,
    unit_codes,
)
from batteryloop.domain.lifecycle import REQUIRED_PAYLOAD, TRANSITIONS, BatteryState, EventType
from batteryloop.fleet.core.generator import generate_fleet

E = EventType
ORGS = frozenset({"maker", "dealer", "recycler"})
WORLD = World(organisations=ORGS)
GBT_PACK = "X1ZPBA1ABC1234B2V0000042"  # hand-checked in tests/unit/domain/test_identity.py
GTIN = "09506000134352"


def reg(bid: str, actor: str = "maker", **extra: Any) -> Event:
    return Event(
        bid, E.BATTERY_MANUFACTURED, actor, {"level": "pack", "chemistry": "LFP", "category": "ev", **extra}
    )


def ev(bid: str, event_type: EventType, actor: str = "maker", **payload: Any) -> Event:
    return Event(bid, event_type, actor, payload)


def test_a_legal_batch_folds_to_the_new_state_and_registers_its_codes() -> None:
    folded = fold(
        WORLD,
        [
            reg("p1", gbt_code=GBT_PACK, gtin=GTIN, serial="S1"),
            reg("m1"),
            ev("m1", E.BATTERY_INTEGRATED, parent_id="p1"),
            ev("p1", E.CUSTODY_HANDED_OVER, to_org="dealer"),
            ev("p1", E.CUSTODY_ACCEPTED, "dealer"),
        ],
    )
    units = folded.world.units
    assert units["p1"].custodian == "dealer" and units["p1"].version == 3
    assert units["m1"].state is BatteryState.INTEGRATED and units["m1"].parent_id == "p1"
    assert folded.codes == ((0, GBT_SCHEME, GBT_PACK), (0, GS1_SCHEME, f"{GTIN}/S1"))
    assert folded.world.codes == {(GBT_SCHEME, GBT_PACK): "p1", (GS1_SCHEME, f"{GTIN}/S1"): "p1"}
    assert [s.battery_id for s in folded.statuses] == ["p1", "m1", "m1", "p1", "p1"]
    assert WORLD.units == {}  # the input world is left alone


@pytest.mark.parametrize(
    ("events", "error", "message"),
    [
        (
            [reg("p1"), ev("p1", E.CUSTODY_HANDED_OVER, to_org="ghost")],
            NotFoundError,
            "unregistered organisation 'ghost'",
        ),
        ([ev("p1", E.STATE_OF_HEALTH_REPORTED, soh_pct=90.0)], NotFoundError, "p1 is not registered"),
        ([reg("p1"), ev("p1", E.STATE_OF_HEALTH_REPORTED)], ValidationError, "lacks 'soh_pct'"),
        (
            [reg("p1"), ev("p1", E.BATTERY_PLACED_ON_MARKET, "dealer", country="DE")],
            CustodyError,
            "does not hold",
        ),
        ([reg("p1"), ev("p1", E.BATTERY_RECYCLED)], IllegalTransitionError, "is manufactured"),
        (
            [reg("p1", gtin=GTIN, serial="S"), reg("p2", gtin=GTIN, serial="S")],
            ConflictError,
            "already assigned to p1",
        ),
        ([reg("p1"), ev("p1", E.BATTERY_INTEGRATED, parent_id="p1")], ValidationError, "into itself"),
        ([reg("p1"), ev("p1", E.BATTERY_INTEGRATED, parent_id="nowhere")], NotFoundError, "parent nowhere"),
        (
            [
                reg("p1"),
                reg("m1"),
                ev("m1", E.BATTERY_INTEGRATED, parent_id="p1"),
                ev("p1", E.BATTERY_INTEGRATED, parent_id="m1"),
            ],
            ValidationError,
            "its own descendant m1",
        ),
    ],
)
def test_each_rule_refuses_with_its_domain_error(
    events: list[Event], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        fold(WORLD, events)


def test_custody_of_an_integrated_unit_is_the_custody_of_its_root() -> None:
    world = fold(
        WORLD,
        [
            reg("p1"),
            reg("m1"),
            ev("m1", E.BATTERY_INTEGRATED, parent_id="p1"),
            ev("p1", E.CUSTODY_HANDED_OVER, to_org="dealer"),
            ev("p1", E.CUSTODY_ACCEPTED, "dealer"),
        ],
    ).world
    report = ev("m1", E.STATE_OF_HEALTH_REPORTED, "dealer", soh_pct=95.0)
    assert fold(world, [report]).world.units["m1"].soh_pct == 95.0  # the dealer holds the pack, so the module
    with pytest.raises(CustodyError, match="maker does not hold battery m1; it may not append"):
        fold(
            world, [report._replace(actor="maker")]
        )  # the maker still is m1's own custodian, but not its holder


def test_codes_are_checked_against_the_codes_already_taken() -> None:
    assert unit_codes("p1", {"gbt_code": GBT_PACK}) == [(GBT_SCHEME, GBT_PACK)]
    world = World(organisations=ORGS, codes={(GBT_SCHEME, GBT_PACK): "elsewhere"})
    with pytest.raises(ConflictError, match=r"GB/T 34014 code .* already assigned to elsewhere"):
        fold(world, [reg("p1", gbt_code=GBT_PACK)])
    with pytest.raises(ValidationError, match="gtin and serial"):
        fold(WORLD, [reg("p1", gtin=GTIN, serial="")])


def test_without_organisations_or_codes_a_step_checks_neither() -> None:
    status = decide(
        None,
        "p1",
        E.BATTERY_MANUFACTURED,
        "maker",
        reg("p1", gtin=GTIN, serial="S").payload,
        {}.get,
        None,
        None,
    )
    moved = decide(status, "p1", E.CUSTODY_HANDED_OVER, "maker", {"to_org": "ghost"}, {}.get, None, None)
    assert moved.pending_custodian == "ghost"


def test_every_event_of_a_generated_fleet_passes_the_fold() -> None:
    fleet = generate_fleet(seed=3, n_batteries=40)
    world = World(organisations=frozenset(o.org_id for o in fleet.organisations))
    folded = fold(world, [Event(e.battery_id, e.event_type, e.actor, e.payload) for e in fleet.events])
    assert len(folded.statuses) == len(fleet.events)
    assert {b.battery_id for b in fleet.batteries} <= set(folded.world.units)


BATTERIES = ("b0", "b1", "b2")
TO_ORGS = (*sorted(ORGS), "ghost")


def payload_for(event_type: EventType, n: int, battery: str) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for key in REQUIRED_PAYLOAD.get(event_type, {}):
        payload[key] = {
            "to_org": TO_ORGS[n % len(TO_ORGS)],
            "parent_id": BATTERIES[n % len(BATTERIES)],
            "soh_pct": 60 + n * 3.5,
            "successor_id": f"{battery}-next",
            "level": "pack",
            "chemistry": "NMC811",
            "category": "ev",
            "mass_kg": 100.0 + n,
            "chemistry_group": "lithium",
            "received_on": "2026-03-02",
            "produced_on": "2026-03-09",
        }.get(key, f"v{n}")
    if event_type is E.BATTERY_MANUFACTURED and n % 2:
        payload.update(gtin=GTIN, serial=f"S{n % 3}")
    return payload


# the three batteries are registered by the maker, so that drawn sequences get somewhere
REGISTERED = fold(WORLD, [reg(b) for b in BATTERIES]).world


@st.composite
def steered(draw: st.DrawFn, world: World = REGISTERED) -> list[Event]:
    """Events that are mostly legal (an allowed event type, by the unit's holder) and sometimes not."""
    out: list[Event] = []
    units = dict(world.units)
    for _ in range(draw(st.integers(0, 10))):
        bid = draw(st.sampled_from(BATTERIES))
        status = units[bid]
        legal = sorted(et for et, (sources, _target) in TRANSITIONS.items() if status.state in sources)
        et = draw(st.sampled_from(legal) if legal and draw(st.integers(0, 9)) else st.sampled_from(list(E)))
        holder = status.pending_custodian if et is E.CUSTODY_ACCEPTED else root_custodian(status, units.get)
        actor = draw(st.sampled_from([holder or "maker"] * 20 + sorted(ORGS)))
        event = Event(bid, et, actor, payload_for(et, draw(st.integers(0, 7)), bid))
        with contextlib.suppress(BatteryloopError):
            units[bid] = decide(status, *event, units.get, ORGS, None)
        out.append(event)
    return out


def outcome(world: World, batch: list[Event]) -> World | tuple[type[BatteryloopError], str]:
    try:
        return fold(world, batch).world
    except BatteryloopError as exc:
        return type(exc), str(exc)


@settings(max_examples=300, deadline=None)
@given(steered(), st.integers(0, 10))
def test_folding_in_one_go_equals_folding_in_two_parts(batch: list[Event], split: int) -> None:
    """A batch is all or nothing, and splitting it changes nothing: the fold is a fold."""
    first, second = batch[:split], batch[split:]
    whole = outcome(REGISTERED, batch)
    head = outcome(REGISTERED, first)
    if not isinstance(head, World):
        assert not isinstance(whole, World) and whole[0] is head[0]
        return
    assert outcome(head, second) == whole
