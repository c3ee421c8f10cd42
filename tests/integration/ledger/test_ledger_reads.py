"""Reads, projection rebuild, bulk append and trace, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import pytest

from batteryloop.domain.errors import NotFoundError
from batteryloop.domain.lifecycle import BatteryState
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import Ledger


def fleet(world: Any, bl: Any) -> None:
    """A pack of two modules, handed to the dealer, graded and dismantled; one loose cell."""
    world.maker.append(
        bl.manufactured("pack"),
        bl.manufactured("m1", level="module"),
        bl.manufactured("m2", level="module"),
        bl.ev("m1", E.BATTERY_INTEGRATED, {"parent_id": "pack"}, minutes=1),
        bl.ev("m2", E.BATTERY_INTEGRATED, {"parent_id": "pack"}, minutes=1),
        bl.ev("pack", E.BATTERY_PLACED_ON_MARKET, {"country": "FR"}, minutes=2),
        bl.ev("pack", E.BATTERY_PUT_INTO_SERVICE, minutes=3),
    )
    world.maker.append(
        bl.ev("pack", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 81.0}, minutes=10),
        bl.ev("pack", E.BATTERY_RETIRED, minutes=11),
        bl.ev("pack", E.CUSTODY_HANDED_OVER, {"to_org": "recycler"}, minutes=12),
        bl.manufactured("cell-9", level="cell"),
    )
    world.recycler.append(
        bl.ev("pack", E.CUSTODY_ACCEPTED, minutes=13),
        bl.ev("pack", E.BATTERY_GRADED, {"grade": "recycle", "soh_pct": 79.5}, minutes=14),
        bl.ev("m1", E.BATTERY_DETACHED, minutes=15),
    )


def test_reads_trace_counts_and_rebuild(any_ledger: Ledger, bl: Any) -> None:
    world = bl.build_world(any_ledger)
    fleet(world, bl)
    led = world.ledger
    assert led.status("pack").state is BatteryState.GRADED
    assert led.status("pack").soh_pct == 79.5
    assert led.status("m1").custodian == "recycler"  # detached by the recycler, who held the pack
    assert led.children("pack") == ["m2"]

    trace = led.trace("m2")
    assert trace.chain_ok
    assert trace.ancestors == ("pack",)
    assert [e.event_type for e in trace.history] == [E.BATTERY_MANUFACTURED, E.BATTERY_INTEGRATED]
    pack = led.trace("pack")
    assert [n.battery_id for n in pack.descendants.children] == ["m2"]
    assert [(s.org, s.to_at is None) for s in pack.custody] == [("maker", False), ("recycler", True)]

    counts = led.counts()
    assert (counts.events, counts.batches, counts.batteries, counts.organisations) == (14, 3, 4, 3)
    assert counts.by_custodian == {"maker": 2, "recycler": 2}
    assert counts.by_chemistry_state[("LFP", "graded")] == 1
    # roots: the pack and the detached m1 (recycler), the loose cell-9 (maker); m2 sits in the pack and
    # keeps the maker as its projection custodian, but it is not a root
    assert counts.by_root_custodian == {"recycler": 2, "maker": 1}
    assert counts.root_units == 3

    positions = [e.position for e in led.iter_events(after_position=3, batch_size=4)]
    assert positions == list(range(4, 15))

    live = led.projection_rows()
    assert led.rebuild_projection() == 4
    assert led.projection_rows() == live
    report = led.verify()
    assert report.ok, report
    assert (report.events_checked, report.batches_checked) == (14, 3)
    assert led.verify(workers=3) == report  # three worker processes, one batch each
    seen: list[int] = []
    led.verify(progress=seen.append)
    assert seen == [7, 11, 14]  # cumulative events verified, batch by batch
    with pytest.raises(NotFoundError, match="battery ghost is not registered"):
        led.read_stream("ghost")
    with pytest.raises(NotFoundError):
        led.status("ghost")


def test_bulk_append_in_order_with_progress(any_ledger: Ledger, bl: Any) -> None:
    world = bl.build_world(any_ledger)
    batches = [
        world.maker.sign([bl.manufactured(f"p{i}") for i in range(start, start + 50)])
        for start in range(0, 200, 50)
    ]
    batches.append(
        world.maker.sign([bl.ev(f"p{i}", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 99.5}) for i in range(200)])
    )
    seen: list[int] = []
    assert world.ledger.append_bulk(batches, progress=seen.append) == 400
    assert seen == [50, 50, 50, 50, 200]
    assert world.ledger.append_bulk(batches) == 0  # replay
    assert world.ledger.counts().events == 400
    assert world.ledger.status("p150").version == 2
    assert world.ledger.verify().ok


def test_opening_a_missing_ledger_without_create_is_a_clear_error(tmp_path: Any) -> None:
    with pytest.raises(NotFoundError, match="no ledger at"):
        Ledger.open(f"sqlite:///{tmp_path / 'absent.db'}", create=False)
