"""Fleet benchmarks: in-memory generation, batch planning, and bounded-memory streamed generation.

    python benchmarks/bench_fleet.py [--batteries 20000] [--stream-batteries 60000] [--seed 1]

Every event is checked by the domain rules (check_custody, check_payload, apply) while it is generated.
Reports wall time and CPU time (the machine may be shared: events per CPU-second is the stabler figure) and
writes benchmarks/results/fleet.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path
from statistics import mean, median
from typing import Any

from batteryloop.fleet import generate_fleet, iter_fleet_chunks, plan_batches

RESULTS = Path(__file__).parent / "results" / "fleet.json"


def _rate(n: int, seconds: float) -> int:
    return round(n / seconds) if seconds > 0 else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batteries", type=int, default=20_000)
    parser.add_argument("--stream-batteries", type=int, default=60_000, help="0 to skip")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    out: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine()}

    t0, c0 = time.perf_counter(), time.process_time()
    fleet = generate_fleet(seed=args.seed, n_batteries=args.batteries)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(fleet.events)
    out["generate"] = {
        "batteries": args.batteries,
        "events": n,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "events_per_s": _rate(n, wall),
        "events_per_cpu_s": _rate(n, cpu),
    }
    print(
        f"generate: {n:,} events, {wall:.1f} s wall ({_rate(n, wall):,}/s), {cpu:.1f} s CPU ({_rate(n, cpu):,}/s)"
    )

    t0, c0 = time.perf_counter(), time.process_time()
    sizes = [len(evs) for _, evs in plan_batches(fleet.events)]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out["plan_batches"] = {
        "batches": len(sizes),
        "mean_size": round(mean(sizes), 1),
        "median_size": median(sizes),
        "max_size": max(sizes),
        "share_of_events_in_batches_ge_100": round(sum(s for s in sizes if s >= 100) / n, 3),
        "events_per_cpu_s": _rate(n, cpu),
    }
    print(f"plan_batches: {json.dumps(out['plan_batches'])}")
    del fleet

    if args.stream_batteries:
        n_events = 0
        t0, c0 = time.perf_counter(), time.process_time()
        for events, _ in iter_fleet_chunks(seed=args.seed, n_batteries=args.stream_batteries):
            n_events += len(events)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["stream"] = {
            "batteries": args.stream_batteries,
            "events": n_events,
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "events_per_s": _rate(n_events, wall),
            "events_per_cpu_s": _rate(n_events, cpu),
            "peak_rss_mb_whole_run": round(peak_mb),
        }
        print(f"stream: {json.dumps(out['stream'])}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
