"""The recyclers' reports after an incremental refresh, over the 10-million-event export of
``bench_compliance.py`` and its lot file:

    python benchmarks/bench_recycler_refresh.py [--events 10000000] [--delta 100000] [--dir /work/tmp_compepr]
        [--delta-dir DIR]

Folds the lifecycle export and the lot file, computes the 40 recycler reports (20 recyclers x EU, CN)
untimed, then folds ``--delta`` new lifecycle events (new batteries, no lot events; built once in
``--delta-dir``, positions after the lot file's) and times the 40 reports again. Before that, one report
alone (recycler r1, EU, then CN) on an engine folded just before, as at an earlier ledger position. CPU time is
``getrusage(RUSAGE_SELF)`` user + system (the process and every DuckDB thread)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_compliance as bc

from batteryloop.compliance import service


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--delta", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=Path("/work/tmp_compepr"))
    ap.add_argument("--delta-dir", type=Path, default=None)
    args = ap.parse_args()
    n_bat = args.events // 8
    base = args.dir / f"ledger_{args.events}.parquet"
    lots = args.dir / f"lots_{args.events}.parquet"
    for p in (base, lots):
        if not p.exists():
            raise SystemExit(f"{p} does not exist: run bench_compliance.py --recyclers first")
    for code in ("eu", "cn"):
        one = bc.fresh()
        one.ingest_parquet([base, lots])
        w, c, _ = bc.timed(
            lambda one=one, code=code: service.recycler_report(
                None, recycler="r1", jurisdiction=code, warehouse=one, as_of=bc.AS_OF
            )
        )
        print(f"one {code.upper()} report alone on a freshly folded engine: wall {w:.2f} s, CPU {c:.2f} s")
        del one
    fresh = bc.fresh()
    fresh.ingest_parquet([base, lots])
    top = fresh.position
    ddir = args.delta_dir or args.dir
    ddir.mkdir(parents=True, exist_ok=True)
    delta = ddir / f"delta_after_lots_{args.events}_{args.delta}.parquet"
    if not delta.exists():
        bc.build(delta, first_battery=2 * n_bat, batteries=args.delta // 8, first_position=top + 1)
    print(f"load average {os.getloadavg()}")
    w, c, _ = bc.timed(lambda: bc.recycler_reports(fresh))
    print(f"40 recycler reports on the folded engine: wall {w:.2f} s, CPU {c:.2f} s")
    w, c, _ = bc.timed(lambda: fresh.ingest_parquet([base, lots, delta]))
    print(
        f"refresh: fold {args.delta:,} new events: wall {w:.2f} s, CPU {c:.2f} s (position {fresh.position:,})"
    )
    w, c, n = bc.timed(lambda: bc.recycler_reports(fresh))
    print(f"40 recycler reports after the refresh: wall {w:.2f} s, CPU {c:.2f} s; lots reported {n}")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
