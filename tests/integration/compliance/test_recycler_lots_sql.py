"""The recyclers' lots aggregated per input lot in SQL (``epr_engine.recycler_input_lots``) equal the lots
built row by row (``recyclers.build_lots`` over ``epr_engine.recycler_lots``), recycler by recycler, including
the error each inconsistent recycler gets; the traceability findings read per actor from the findings of every
actor equal the per-actor query; both are recomputed after a refresh."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from batteryloop.compliance import epr_engine
from batteryloop.compliance.columnar import Warehouse, events_to_arrow
from batteryloop.compliance.core import recyclers
from batteryloop.compliance.core.rules import load_pack
from batteryloop.domain.organisation import Organisation, Role

T = datetime(2024, 3, 4, 9, tzinfo=UTC)


@dataclass
class Ev:
    position: int
    battery_id: str
    event_type: str
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    payload: dict[str, Any]


class Events:
    def __init__(self) -> None:
        self.rows: list[Ev] = []

    def add(self, bid: str, et: str, actor: str, payload: dict[str, Any], day: int = 0, lag: int = 0) -> None:
        t = T + timedelta(days=day)
        self.rows.append(Ev(len(self.rows) + 1, bid, et, actor, t, t + timedelta(days=lag), payload))

    def received(self, actor: str, lot: str, bid: str, mass: float, **extra: Any) -> None:
        p = {"lot_id": lot, "mass_kg": mass, "chemistry_group": "lithium", "received_on": "2024-03-04"}
        self.add(bid, "RecyclingLotReceived", actor, p | extra, lag=50)

    def produced(self, actor: str, lot: str, inp: str, bid: str, mass: float, **extra: Any) -> None:
        p = {"lot_id": lot, "input_lot_id": inp, "fraction": "black_mass", "mass_kg": mass}
        self.add(bid, "RecyclingLotProduced", actor, p | {"produced_on": "2024-05-06"} | extra, day=60)


def ledger() -> tuple[Events, list[str]]:
    e = Events()
    # good: two lots (one open), an element declared by every battery and one not, powder, 0.1 + 0.2 sums
    e.received("good", "L2", "g1", 0.1, li_kg=0.01, ni_kg=0.02, electrode_powder_kg=0.03)
    e.received("good", "L2", "g2", 0.2, li_kg=0.02, electrode_powder_kg=0.06)
    e.received("good", "L1", "g3", 100.0, li_kg=2.0)
    e.produced("good", "O1", "L2", "g2", 0.3, counted_as_recycled=True, li_kg=0.03)  # exactly balanced
    e.produced("good", "O2", "L2", "g1", 0.0, fraction="electrode_powder", al_kg=0.0)
    # another recycler using the same lot ids and a battery of good's lot: its own lots, no error
    e.received("same_ids", "L2", "s1", 5.0)
    e.received("same_ids", "L2", "g1", 7.0)
    e.produced("same_ids", "O1", "L2", "s1", 4.0, counted_as_recycled=True)
    # each of these has one inconsistency
    e.received("heavier", "A", "h1", 10.0)
    e.produced("heavier", "A-o", "A", "h1", 10.000001)
    e.received("two_lots", "A", "t1", 10.0)
    e.received("two_lots", "B", "t1", 10.0)
    e.received("twice", "A", "w1", 10.0)
    e.received("twice", "A", "w1", 10.0)
    e.received("unknown", "A", "u1", 10.0)
    e.produced("unknown", "A-o", "Z", "u1", 1.0)
    e.received("out_twice", "A", "o1", 10.0)
    e.produced("out_twice", "A-o", "A", "o1", 1.0)
    e.produced("out_twice", "A-o", "A", "o1", 1.0)
    e.received("foreign", "A", "f1", 10.0)
    e.received("foreign", "B", "f2", 10.0)
    e.produced("foreign", "A-o", "A", "f2", 1.0)
    e.received("mixed", "A", "m1", 10.0)
    e.received("mixed", "A", "m2", 10.0, chemistry_group="lead_acid")
    e.received("element", "A", "e1", 10.0, li_kg=0.2)
    e.produced("element", "A-o", "A", "e1", 5.0, li_kg=0.3)
    # a hand-over accepted and never reported as received
    e.add("x1", "CustodyHandedOver", "maker", {"to_org": "good"})
    e.add("x1", "CustodyAccepted", "good", {}, day=1)
    names = sorted({r.actor for r in e.rows} - {"maker"})
    return e, names


def warehouse(events: list[Ev], names: list[str]) -> Warehouse:
    wh = Warehouse(upload_event_types=epr_engine.upload_event_types())
    orgs = [Organisation(n, n, "CN", frozenset({Role.RECYCLER})) for n in names]
    wh.set_organisations(
        [*orgs, Organisation("maker", "Maker", "CN", frozenset({Role.BATTERY_MANUFACTURER}))]
    )
    for ev in events:
        ev.payload = json.loads(json.dumps(ev.payload))
    wh.ingest_arrow(events_to_arrow(events))
    return wh


def rowwise(wh: Warehouse, name: str) -> tuple[recyclers.InputLot, ...] | str:
    try:
        return recyclers.build_lots(*epr_engine.recycler_lots(wh, name)).of(name)
    except recyclers.MassBalanceError as exc:
        return str(exc)


def aggregated(wh: Warehouse, name: str) -> tuple[recyclers.InputLot, ...] | str:
    try:
        return epr_engine.recycler_input_lots(wh, name)
    except recyclers.MassBalanceError as exc:
        return str(exc)


def test_lots_aggregated_in_sql_equal_the_row_by_row_build() -> None:
    e, names = ledger()
    wh = warehouse(e.rows, names)
    errors = {}
    for name in [*names, "nobody"]:
        got = aggregated(wh, name)
        assert got == rowwise(wh, name), name
        if isinstance(got, str):
            errors[name] = got
    assert sorted(errors) == [
        "element",
        "foreign",
        "heavier",
        "mixed",
        "out_twice",
        "twice",
        "two_lots",
        "unknown",
    ]
    assert "more than its 10 kg of inputs" in errors["heavier"]
    good = aggregated(wh, "good")
    assert not isinstance(good, str)
    assert [lot.lot_id for lot in good] == ["L1", "L2"]
    l2 = good[1]
    assert l2.batteries == ("g1", "g2") and l2.mass_kg == 0.1 + 0.2 == 0.30000000000000004
    assert l2.elements_kg["li"] == pytest.approx(0.03) and l2.elements_kg["ni"] is None
    assert l2.electrode_powder_kg == pytest.approx(0.09) and [o.lot_id for o in l2.outputs] == ["O1", "O2"]
    assert good[0].outputs == () and good[0].elements_kg["li"] == 2.0
    same = aggregated(wh, "same_ids")
    assert not isinstance(same, str) and same[0].batteries == ("s1", "g1") and same[0].mass_kg == 12.0


def test_the_lots_and_findings_are_recomputed_after_a_refresh() -> None:
    e, names = ledger()
    wh = warehouse(e.rows[:2], names)
    first = aggregated(wh, "good")
    assert not isinstance(first, str) and [(lot.batteries, lot.outputs) for lot in first] == [
        (("g1", "g2"), ())
    ]
    wh.ingest_arrow(events_to_arrow(e.rows[2:]))
    after = aggregated(wh, "good")
    assert after == rowwise(wh, "good")
    assert not isinstance(after, str) and [len(lot.outputs) for lot in after] == [0, 2]


def test_after_a_refresh_only_the_recyclers_with_new_lot_events_change_and_all_equal_the_row_by_row_build() -> (
    None
):
    e, names = ledger()
    for cut in range(1, len(e.rows), 3):
        wh = warehouse(e.rows[:cut], names)
        before = {name: aggregated(wh, name) for name in names}
        touched = {r.actor for r in e.rows[cut:]}
        wh.ingest_arrow(events_to_arrow(e.rows[cut:]))
        for name in names:
            got = aggregated(wh, name)
            assert got == rowwise(wh, name), (cut, name)
            if name not in touched:
                assert got == before[name], (cut, name)


def test_findings_per_actor_equal_the_per_actor_query() -> None:
    e, names = ledger()
    wh = warehouse(e.rows, names)
    cn = load_pack("cn")
    day = date(2024, 12, 2)
    total = 0
    for name in [*names, "maker"]:
        got = epr_engine.actor_traceability_findings(wh, cn, as_of=day, actor=name)
        assert got == epr_engine.traceability_findings(wh, cn, as_of=day, actors=(name,)), name
        total += len(got)
    statuses = {f.status for f in epr_engine.actor_traceability_findings(wh, cn, as_of=day, actor="good")}
    assert statuses == {"late", "missing"} and total > 2
    wh.ingest_arrow(events_to_arrow([Ev(len(e.rows) + 1, "x1", "RecyclingLotReceived", "good", T, T, {})]))
    for name in ["good", *names, "good"]:  # the first actor by its own query, the others from every actor's
        after = epr_engine.actor_traceability_findings(wh, cn, as_of=day, actor=name)
        assert after == epr_engine.traceability_findings(wh, cn, as_of=day, actors=(name,)), name
    assert "missing" not in {f.status for f in after} and after
