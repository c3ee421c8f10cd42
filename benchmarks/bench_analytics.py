"""Analytics benchmarks: batch triage of 1 million batteries, a retirement forecast over 10 million batteries,
and a 200-point x 30-site collection network.

    python benchmarks/bench_analytics.py [--repeats 5] [--triage 1000000] [--batteries 10000000]

Targets: triage of 1 M batteries <= 10 s; forecast over 10 M batteries <= 5 s (cohort aggregation of the 10 M
per-battery arrays included, parameter draws for the bands included); 200 points x 30 sites (20 spokes,
10 hubs, 3 years) <= 60 s. Prints a BENCHMARKS.md section and writes benchmarks/results/analytics.json.
Times are medians over ``--repeats`` runs (the network: one run, it is the slow one); the inputs are built
before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from batteryloop.analytics import service
from batteryloop.analytics.core.forecast import Cohorts
from batteryloop.analytics.core.network import solve, synthetic_problem
from batteryloop.analytics.core.triage import synthetic_batch, triage

RESULTS = Path(__file__).with_name("results") / "analytics.json"
TARGETS_S = {"triage_1m": 10.0, "forecast_10m": 5.0, "network_200x30": 60.0}


CPU: list[float] = []


def _median(fn: object, repeats: int) -> tuple[float, object]:
    """Median wall seconds over ``repeats`` runs; the median CPU seconds of the process go to ``CPU``."""
    times, cpu, out = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU.append(statistics.median(cpu))
    return statistics.median(times), out


def bench_triage(n: int, repeats: int) -> dict[str, object]:
    batch = synthetic_batch(n, seed=1)
    profile, _ = service.load_profile()
    seconds, result = _median(lambda: triage(batch, profile), repeats)
    return {"batteries": n, "seconds": seconds, "routes": result.counts()}  # type: ignore[attr-defined]


def bench_forecast(n: int, repeats: int) -> dict[str, object]:
    rng = np.random.default_rng(2)
    labels = {
        "region": ["CN", "EU", "US", "SEA"],
        "application": ["car", "bus", "storage"],
        "chemistry": ["LFP", "NMC622", "NMC811", "NCA"],
    }
    region = rng.choice(4, n, p=[0.6, 0.2, 0.12, 0.08]).astype(np.int8)
    application = rng.choice(3, n, p=[0.93, 0.02, 0.05]).astype(np.int8)
    chemistry = rng.choice(4, n, p=[0.5, 0.2, 0.2, 0.1]).astype(np.int8)
    year = rng.integers(2012, 2026, n)
    kwh = rng.lognormal(np.log(55.0), 0.3, n)
    kg = kwh * rng.uniform(5.0, 7.0, n)

    def run() -> object:
        cohorts = Cohorts.from_codes(
            labels=labels,
            region=region,
            application=application,
            chemistry=chemistry,
            year=year,
            kwh=kwh,
            kg=kg,
        )
        return service.forecast_cohorts(cohorts, first_year=2020, last_year=2045, draws=200, seed=0)

    seconds, outcome = _median(run, repeats)
    total = float(outcome.forecast.totals("gwh")["central"].sum())  # type: ignore[attr-defined]
    return {"batteries": n, "seconds": seconds, "gwh_retired_2020_2045": total}


def bench_network() -> dict[str, object]:
    problem = synthetic_problem(200, 20, 10, seed=1)
    t0, c0 = time.perf_counter(), time.process_time()
    sol = solve(problem, time_limit_s=55.0, mip_rel_gap=1e-4)
    seconds = time.perf_counter() - t0
    CPU.append(time.process_time() - c0)
    return {
        "points": 200,
        "sites": 30,
        "years": len(problem.years),
        "seconds": seconds,
        "proven_optimal": sol.proven_optimal,
        "mip_gap": sol.mip_gap,
        "cost_usd_per_t": sol.cost_per_t(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--triage", type=int, default=1_000_000)
    parser.add_argument("--batteries", type=int, default=10_000_000)
    args = parser.parse_args()
    tri = bench_triage(args.triage, args.repeats)
    fc = bench_forecast(args.batteries, max(1, args.repeats // 2))
    net = bench_network()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    results = {
        "triage": tri,
        "forecast": fc,
        "network": net,
        "cpu_seconds": CPU,
        "python": platform.python_version(),
        "load_1min": load,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    rows = [
        (
            f"batch triage, {tri['batteries']:,} batteries (median of {args.repeats})",
            tri["seconds"],
            TARGETS_S["triage_1m"],
        ),
        (
            f"retirement forecast over {fc['batteries']:,} batteries, 200 draws (median)",
            fc["seconds"],
            TARGETS_S["forecast_10m"],
        ),
        (
            f"network 200 points x 30 sites x 3 years ({'optimal' if net['proven_optimal'] else 'gap ' + format(net['mip_gap'], '.2%')})",
            net["seconds"],
            TARGETS_S["network_200x30"],
        ),
    ]
    print("| measure | wall | CPU of this process | target | wall / target | met (wall) |")
    print("|---|---|---|---|---|---|")
    for (label, seconds, target), cpu in zip(rows, CPU, strict=True):
        s = float(seconds)  # type: ignore[arg-type]
        met = "yes" if s <= target else "no"
        print(f"| {label} | **{s:.2f} s** | {cpu:.2f} s | <= {target:g} s | {s / target:.2f} | {met} |")
    print(f"\nrouting of the 1 M: {tri['routes']}; machine load (1 min) {load:.1f}")


if __name__ == "__main__":
    main()
