"""Measure fleet generation and batch planning throughput.

    /work/venv/bin/python benchmarks/bench_fleet.py --batteries 20000
    /work/venv/bin/python benchmarks/bench_fleet.py --batteries 200000 --stream   # bounded memory

Prints events/s for generation (every event checked by the domain rules while generated) and for
plan_batches. Numbers depend on the machine; run it alone.
"""

from __future__ import annotations

import argparse
import time
from statistics import mean

from batteryloop.fleet import generate_fleet, iter_fleet_chunks, plan_batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batteries", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stream", action="store_true", help="chunked generation, events not kept")
    parser.add_argument("--chunk", type=int, default=20_000)
    args = parser.parse_args()

    if args.stream:
        n_events = 0
        t0 = time.perf_counter()
        for events, _ in iter_fleet_chunks(seed=args.seed, n_batteries=args.batteries, chunk_size=args.chunk):
            n_events += len(events)
        dt = time.perf_counter() - t0
        print(
            f"streamed {args.batteries:,} batteries, {n_events:,} events in {dt:.1f} s: {n_events / dt:,.0f} events/s"
        )
        return

    t0, c0 = time.perf_counter(), time.process_time()
    fleet = generate_fleet(seed=args.seed, n_batteries=args.batteries)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(fleet.events)
    print(
        f"generated {args.batteries:,} batteries, {n:,} events in {dt:.2f} s wall ({n / dt:,.0f} events/s), "
        f"{cpu:.2f} s CPU ({n / cpu:,.0f} events per CPU-second)"
    )
    t0 = time.perf_counter()
    sizes = [len(evs) for _, evs in plan_batches(fleet.events)]
    dt = time.perf_counter() - t0
    large = sum(s for s in sizes if s >= 100) / n
    print(
        f"planned {len(sizes):,} batches in {dt:.2f} s ({n / dt:,.0f} events/s); mean size {mean(sizes):.1f}, "
        f"max {max(sizes):,}, share of events in batches of >= 100: {large:.0%}"
    )


if __name__ == "__main__":
    main()
