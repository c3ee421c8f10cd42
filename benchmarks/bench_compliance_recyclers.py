"""CPU time of a recycler's compliance report against a plain scan of the same ledger (the baseline).

Builds a SQLite ledger of N batteries (made, placed, retired, handed to a recycler, accepted, each put into a
lot of 20, one output lot per input lot), then measures with ``time.process_time`` (median of ``--repeat``):
the baseline, a scan of every event through ``Ledger.iter_events``; and ``service.recycler_report`` under the
EU and the Chinese rule packs, which scan the same events and build the lots. Usage:
``python benchmarks/bench_compliance_recyclers.py [--batteries 2000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.compliance import service
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.ledger import EventIn, Ledger, sign_batch
from batteryloop.orgs import public_key_bytes

T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def build(path: Path, batteries: int) -> Ledger:
    ledger = Ledger.open(f"sqlite:///{path}")
    operator = Ed25519PrivateKey.generate()
    keys = {}
    for org, role in (("maker", Role.BATTERY_MANUFACTURER), ("recycler", Role.RECYCLER)):
        ledger.register_organisation(Organisation(org, org.title(), "DE", frozenset({role})))
        keys[org] = Ed25519PrivateKey.generate()
        ledger.add_signing_key(org, public_key_bytes(keys[org]), operator_key=operator)

    def ev(b: str, t: E, p: dict[str, object] | None = None, d: int = 0) -> EventIn:
        return EventIn(b, t, T + timedelta(days=d), p or {}, None)

    for start in range(0, batteries, 500):
        ids = [f"b{i}" for i in range(start, min(start + 500, batteries))]
        made = [
            e
            for b in ids
            for e in (
                ev(
                    b,
                    E.BATTERY_MANUFACTURED,
                    {
                        "level": "pack",
                        "chemistry": "NMC622",
                        "category": "ev",
                        "model": "M1",
                        "mass_kg": 500.0,
                    },
                ),
                ev(b, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}),
                ev(b, E.BATTERY_RETIRED),
                ev(b, E.CUSTODY_HANDED_OVER, {"to_org": "recycler"}),
            )
        ]
        ledger.append(sign_batch(made, actor="maker", private_key=keys["maker"]))
        received = [ev(b, E.CUSTODY_ACCEPTED) for b in ids]
        for b in ids:
            lot = f"L{int(b[1:]) // 20}"
            received.append(
                ev(
                    b,
                    E.RECYCLING_LOT_RECEIVED,
                    {
                        "lot_id": lot,
                        "mass_kg": 500.0,
                        "chemistry_group": "lithium",
                        "received_on": "2026-03-03",
                        "li_kg": 10.0,
                    },
                    1,
                )
            )
        for b in ids:
            if int(b[1:]) % 20 == 0:
                lot = f"L{int(b[1:]) // 20}"
                received.append(
                    ev(
                        b,
                        E.RECYCLING_LOT_PRODUCED,
                        {
                            "lot_id": f"O{lot}",
                            "input_lot_id": lot,
                            "fraction": "black_mass",
                            "mass_kg": 6600.0,
                            "produced_on": "2026-03-20",
                            "counted_as_recycled": True,
                            "li_kg": 180.0,
                        },
                        8,
                    )
                )
        ledger.append(sign_batch(received, actor="recycler", private_key=keys["recycler"]))
    return ledger


def median_cpu(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.process_time() - start)
    return statistics.median(times)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batteries", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = build(Path(tmp) / "l.db", args.batteries)
        events = ledger.counts().events
        scan = median_cpu(lambda: sum(1 for _ in ledger.iter_events()), args.repeat)
        eu = median_cpu(
            lambda: service.recycler_report(ledger, recycler="recycler", jurisdiction="eu"), args.repeat
        )
        cn = median_cpu(
            lambda: service.recycler_report(ledger, recycler="recycler", jurisdiction="cn"), args.repeat
        )
        report = service.recycler_report(ledger, recycler="recycler", jurisdiction="eu")
        print(f"events {events}; efficiency {report.efficiency[0].efficiency_pct:.1f} %")
        print(f"baseline scan   {scan * 1000:8.1f} ms CPU")
        print(f"report eu       {eu * 1000:8.1f} ms CPU  ({eu / scan:.2f}x the scan)")
        print(f"report cn       {cn * 1000:8.1f} ms CPU  ({cn / scan:.2f}x the scan)")
        ledger.close()


if __name__ == "__main__":
    main(sys.argv[1:])
