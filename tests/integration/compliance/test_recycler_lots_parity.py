"""The recycler report's lots, folded by the columnar engine, equal the row-by-row fold of the ledger
(``service.read_lots`` + ``recyclers.build_lots``) on a generated ledger: three recyclers, lots over two years,
declared and undeclared elements, outputs counted or not, and a report at an earlier position."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from batteryloop.compliance import report, service
from batteryloop.compliance.core import recyclers
from batteryloop.compliance.core.rules import load_pack
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Role
from batteryloop.ledger import EventIn, Ledger

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ev(battery: str, event_type: E, payload: dict[str, Any], days: int = 0) -> EventIn:
    return EventIn(battery, event_type, T + timedelta(days=days), payload, None)


def generate(ledger: Ledger, bl: Any, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    maker = bl.add_actor(ledger, "maker")
    names = ["r1", "r2", "r3"]
    actors = {n: bl.add_actor(ledger, n, Role.RECYCLER, "CN" if n == "r3" else "DE") for n in names}
    b = 0
    for lot in range(18):
        rec = names[lot % 3]
        members = []
        for _ in range(rnd.randint(1, 4)):
            b += 1
            bid = f"b{b}"
            members.append(bid)
            maker.append(
                ev(
                    bid,
                    E.BATTERY_MANUFACTURED,
                    {"level": "pack", "chemistry": "NMC622", "category": "ev", "mass_kg": 500.0},
                ),
                ev(bid, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}),
                ev(bid, E.BATTERY_RETIRED, {}),
                ev(bid, E.CUSTODY_HANDED_OVER, {"to_org": rec}),
            )
            actors[rec].append(ev(bid, E.CUSTODY_ACCEPTED, {}))
        group = "lithium" if lot % 4 else "lead_acid"
        year = 2026 + lot % 2
        declared = lot % 5 != 0
        ins, masses = [], []
        for bid in members:
            mass = round(rnd.uniform(100, 600), 3)
            masses.append(mass)
            p: dict[str, Any] = {
                "lot_id": f"L{lot}",
                "mass_kg": mass,
                "chemistry_group": group,
                "received_on": f"{year}-0{1 + lot % 9}-1{lot % 10}",
            }
            if declared:
                p |= {"li_kg": round(mass * 0.02, 4), "ni_kg": round(mass * 0.1, 4), "co_kg": 1.5}
                p["electrode_powder_kg"] = round(mass * 0.3, 3)
            ins.append(ev(bid, E.RECYCLING_LOT_RECEIVED, p, 1))
        actors[rec].append(*ins)
        if lot % 6 == 5:
            continue  # an open lot
        total = sum(masses)
        outs = [
            ev(
                members[0],
                E.RECYCLING_LOT_PRODUCED,
                {
                    "lot_id": f"O{lot}a",
                    "input_lot_id": f"L{lot}",
                    "fraction": "electrode_powder" if lot % 2 else "black_mass",
                    "mass_kg": round(total * rnd.uniform(0.3, 0.6), 3),
                    "produced_on": f"{year}-10-01",
                    "counted_as_recycled": True,
                    "li_kg": round(total * 0.015, 4) if declared else 0.0,
                    "al_kg": 0.5,
                    "buyer": "maker",
                    "for_model": "M1",
                },
                9,
            ),
            ev(
                members[-1],
                E.RECYCLING_LOT_PRODUCED,
                {
                    "lot_id": f"O{lot}b",
                    "input_lot_id": f"L{lot}",
                    "fraction": "slag",
                    "mass_kg": round(total * 0.1, 3),
                    "produced_on": f"{year}-10-02",
                    "counted_as_recycled": lot % 3 == 0,
                },
                9,
            ),
        ]
        actors[rec].append(*outs)
    return names


def rowwise(ledger: Ledger, recycler: str, at: int | None = None) -> tuple[recyclers.InputLot, ...]:
    snap = service.read_lots(ledger, at_position=at)
    return recyclers.build_lots(
        [i for i in snap.inputs if i.recycler == recycler],
        [o for o in snap.outputs if o.recycler == recycler],
    ).of(recycler)


def test_columnar_lots_equal_the_rowwise_fold(ledger: Ledger, bl: Any) -> None:
    names = generate(ledger, bl)
    eu, cn = load_pack("eu"), load_pack("cn")
    half = ledger.counts().events // 2
    for name in names:
        for at in (None, half):
            old = rowwise(ledger, name, at)
            assert old, name
            for pack in (eu, cn):
                new = service.recycler_report(ledger, recycler=name, jurisdiction=pack.name, at_position=at)
                assert new.lots == old
                assert (new.efficiency, new.recovery, new.white_list) == service._sections(old, pack, None)
                doc = report.recycler_report_to_dict(new)
                assert doc["ledger"]["position"] == (ledger.counts().events if at is None else at)
    assert date(2026, 1, 1) <= rowwise(ledger, "r1")[0].received_on
