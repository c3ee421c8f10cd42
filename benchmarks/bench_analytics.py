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
from batteryloop.analytics.core import params
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


def _baseline_from_codes(labels, region, application, chemistry, year, kwh, kg):  # type: ignore[no-untyped-def]
    """The aggregation as it was before 2026-12-03 (one pass of full-length int64 temporaries): the
    baseline measured in the same run."""
    nr, na, nc = len(labels["region"]), len(labels["application"]), len(labels["chemistry"])
    for codes, count in ((region, nr), (application, na), (chemistry, nc)):
        assert codes.min() >= 0 and codes.max() < count
    y0 = int(year.min())
    ny = int(year.max()) - y0 + 1
    key = ((region.astype(np.int64) * na + application) * nc + chemistry) * ny + (year - y0)
    size = nr * na * nc * ny
    units = np.bincount(key, minlength=size).astype(np.float64)
    kwh_sum = np.bincount(key, weights=np.asarray(kwh, dtype=np.float64), minlength=size)
    kg_sum = np.bincount(key, weights=np.asarray(kg, dtype=np.float64), minlength=size)
    keep = np.flatnonzero(units > 0)
    y_g, rest = keep % ny, keep // ny
    c_g, rest = rest % nc, rest // nc
    a_g, r_g = rest % na, rest // na
    return Cohorts(
        region=np.asarray(labels["region"])[r_g],
        application=np.asarray(labels["application"])[a_g],
        chemistry=np.asarray(labels["chemistry"])[c_g],
        year=(y_g + y0).astype(np.int64),
        units=units[keep],
        kwh=kwh_sum[keep],
        kg=kg_sum[keep],
    )


def bench_forecast(n: int, repeats: int) -> dict[str, object]:
    """Baseline (old aggregation) and head (chunked aggregation) alternating, each run a fresh call on the
    same 10 M-battery arrays, then the survival forecast of the cohorts; medians of wall and CPU."""
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
    args = (labels, region, application, chemistry, year, kwh, kg)

    def head() -> object:
        cohorts = Cohorts.from_codes(
            labels=labels, region=region, application=application, chemistry=chemistry,
            year=year, kwh=kwh, kg=kg,
        )  # fmt: skip
        return service.forecast_cohorts(cohorts, first_year=2020, last_year=2045, draws=200, seed=0)

    def base() -> object:
        cohorts = _baseline_from_codes(*args)
        return service.forecast_cohorts(cohorts, first_year=2020, last_year=2045, draws=200, seed=0)

    runs: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in ("base", "head")}
    outs = {}
    for _ in range(repeats):
        for name, fn in (("base", base), ("head", head)):
            t0, c0 = time.perf_counter(), time.process_time()
            outs[name] = fn()
            runs[name]["wall"].append(time.perf_counter() - t0)
            runs[name]["cpu"].append(time.process_time() - c0)
    totals = {k: float(o.forecast.totals("gwh")["central"].sum()) for k, o in outs.items()}  # type: ignore[attr-defined]
    assert abs(totals["base"] - totals["head"]) <= 1e-9 * totals["base"], totals
    med = {k: {m: statistics.median(v) for m, v in r.items()} for k, r in runs.items()}
    CPU.append(med["head"]["cpu"])
    return {"batteries": n, "seconds": med["head"]["wall"], "medians": med, "runs": runs,
            "gwh_retired_2020_2045": totals["head"]}  # fmt: skip


def bench_network(gap: float) -> dict[str, object]:
    """Baseline (plain formulation, the old gap 1e-4) and head (valid inequalities, first network from the
    root LP, the shipped gap), one run each (the slow one), plus head at the old gap for the proof's cost."""
    problem = synthetic_problem(200, 20, 10, seed=1)
    out: dict[str, object] = {"points": 200, "sites": 30, "years": len(problem.years)}
    for name, kwargs in (
        ("base_gap_1e-4", {"strengthen": False, "mip_rel_gap": 1e-4}),
        ("head_gap_shipped", {"strengthen": True, "mip_rel_gap": gap}),
        ("head_gap_1e-4", {"strengthen": True, "mip_rel_gap": 1e-4}),
    ):
        t0, c0 = time.perf_counter(), time.process_time()
        sol = solve(problem, time_limit_s=55.0, **kwargs)  # type: ignore[arg-type]
        out[name] = {
            "wall": time.perf_counter() - t0,
            "cpu": time.process_time() - c0,
            "load_1min": os.getloadavg()[0],
            "proven_within_gap": sol.proven_optimal,
            "mip_gap": sol.mip_gap,
            "total_cost_usd": sol.total_cost_usd,
            "cost_usd_per_t": sol.cost_per_t(),
            "links_added": sol.links_added,
            "mip_rel_gap": kwargs["mip_rel_gap"],
        }
    head = out["head_gap_shipped"]
    CPU.append(head["cpu"])  # type: ignore[index]
    out["seconds"] = head["wall"]  # type: ignore[index]
    out["proven_optimal"] = head["proven_within_gap"]  # type: ignore[index]
    out["mip_gap"] = head["mip_gap"]  # type: ignore[index]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--triage", type=int, default=1_000_000)
    parser.add_argument("--batteries", type=int, default=10_000_000)
    args = parser.parse_args()
    parser_gap = float(params.load("network").value("solver.mip_rel_gap"))
    load_start = os.getloadavg()[0]
    tri = bench_triage(args.triage, args.repeats)
    fc = bench_forecast(args.batteries, args.repeats)
    net = bench_network(parser_gap)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    results = {
        "triage": tri,
        "forecast": fc,
        "network": net,
        "cpu_seconds": CPU,
        "python": platform.python_version(),
        "load_1min": load,
        "load_1min_at_start": load_start,
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
    print(
        f"\nrouting of the 1 M: {tri['routes']}; machine load (1 min) {load_start:.1f} at start, {load:.1f} at end"
    )
    print("forecast medians:", json.dumps(fc["medians"]))
    for name in ("base_gap_1e-4", "head_gap_shipped", "head_gap_1e-4"):
        print(f"network {name}:", json.dumps(net[name]))


if __name__ == "__main__":
    main()
