"""Recycling model benchmarks: one scenario, a 100,000-draw Monte Carlo, a 30-parameter sensitivity analysis.

    python benchmarks/bench_recycling.py [--runs 200] [--draws 100000] [--repeats 5]

Targets (issue 4): one scenario <= 5 ms; 100,000 Monte Carlo draws <= 2 s; sensitivity of 30 parameters <= 1 s.
"One scenario" is the full chain a user asks for: flowsheet (element-wise balances of every unit operation) +
plant economics (capital, operating cost, cash flows, NPV, IRR, payback), parameter set already loaded.
Prints a BENCHMARKS.md section and writes benchmarks/results/recycling.json. Times are medians (best for the
one-off runs) on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from batteryloop.recycling.core.economics import build_model, result_from_model, run_economics
from batteryloop.recycling.core.feedstock import simple_feedstock
from batteryloop.recycling.core.flowsheet import run_flowsheet
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.uncertainty import monte_carlo, parameter_ranges, sensitivity

RESULTS = Path(__file__).with_name("results") / "recycling.json"
SCENARIO_TEXT = "70% NMC811 + 30% LFP packs, 20,000 t/yr, hydro/salts, Germany, everbatt2023"
TARGETS_S = {"scenario": 0.005, "monte_carlo_100k": 2.0, "sensitivity_30": 1.0}


def _times(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200, help="scenario runs (median reported)")
    ap.add_argument("--draws", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5, help="Monte Carlo and sensitivity repeats")
    args = ap.parse_args(argv)

    params = load_parameter_set("everbatt2023")
    feedstock = simple_feedstock({"NMC811": 0.7, "LFP": 0.3}, form="pack", annual_mass_t=20_000.0)

    def scenario() -> object:
        flowsheet = run_flowsheet(feedstock, route="hydro", product_level="salts", params=params)
        return run_economics(flowsheet, feedstock=feedstock, region="DE", params=params)

    scenario()  # warm caches (parameter set, imports)
    scenario_s = _times(scenario, args.runs)
    flowsheet = run_flowsheet(feedstock, route="hydro", product_level="salts", params=params)
    economics_s = _times(
        lambda: run_economics(flowsheet, feedstock=feedstock, region="DE", params=params), args.runs
    )
    model = build_model(flowsheet, feedstock=feedstock, region="DE", params=params)
    base = result_from_model(model, flowsheet)

    cited = parameter_ranges(model, include_uncited=False)
    everything = parameter_ranges(model, include_uncited=True)
    mc_cited_s = _times(lambda: monte_carlo(model, draws=args.draws, seed=1), args.repeats)
    mc_all_s = _times(
        lambda: monte_carlo(model, draws=args.draws, seed=1, include_uncited=True), args.repeats
    )
    mc = monte_carlo(model, draws=args.draws, seed=1, include_uncited=True)
    paths30 = [r.path for r in everything[:30]]
    sens30_s = _times(lambda: sensitivity(model, paths=paths30), args.repeats)
    sens_all_s = _times(lambda: sensitivity(model), args.repeats)

    results: dict[str, object] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "numpy": np.__version__},
        "scenario": {
            "feedstock": SCENARIO_TEXT,
            "operations": len(flowsheet.operations),
            "margin_usd_per_t": base.margin_usd_per_t,
            "max_closure_error": flowsheet.max_closure_error,
        },
        "scenario_ms_median": statistics.median(scenario_s) * 1e3,
        "scenario_ms_p95": float(np.percentile(scenario_s, 95)) * 1e3,
        "economics_only_ms_median": statistics.median(economics_s) * 1e3,
        "monte_carlo_draws": args.draws,
        "monte_carlo_cited_params": len(cited),
        "monte_carlo_cited_s_median": statistics.median(mc_cited_s),
        "monte_carlo_all_params": len(everything),
        "monte_carlo_all_s_median": statistics.median(mc_all_s),
        "monte_carlo_probability_of_loss": mc.probability_of_loss,
        "sensitivity_30_s_median": statistics.median(sens30_s),
        "sensitivity_all_params": len(everything),
        "sensitivity_all_s_median": statistics.median(sens_all_s),
        "targets_s": TARGETS_S,
    }
    checks = {
        "scenario": statistics.median(scenario_s) <= TARGETS_S["scenario"],
        "monte_carlo_100k": statistics.median(mc_all_s) <= TARGETS_S["monte_carlo_100k"],
        "sensitivity_30": statistics.median(sens30_s) <= TARGETS_S["sensitivity_30"],
    }
    results["meets_targets"] = checks
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    ok = {True: "yes", False: "NO"}
    print("## Recycling model (benchmarks/bench_recycling.py)\n")
    print(f"Machine: Python {platform.python_version()}, {os.cpu_count()} CPUs, NumPy {np.__version__}.")
    print(f"Scenario: {SCENARIO_TEXT}, {len(flowsheet.operations)} unit operations.\n")
    print("| measure | value | target | met |")
    print("|---|---|---|---|")
    print(
        f"| one scenario (flowsheet + economics), median of {args.runs} | "
        f"{results['scenario_ms_median']:.2f} ms (p95 {results['scenario_ms_p95']:.2f} ms) | <= 5 ms | "
        f"{ok[checks['scenario']]} |"
    )
    print(f"| economics only, median | {results['economics_only_ms_median']:.2f} ms | - | - |")
    print(
        f"| Monte Carlo {args.draws:,} draws, {len(everything)} parameters | "
        f"{results['monte_carlo_all_s_median']:.3f} s | <= 2 s | {ok[checks['monte_carlo_100k']]} |"
    )
    print(
        f"| Monte Carlo {args.draws:,} draws, {len(cited)} cited-range parameters | "
        f"{results['monte_carlo_cited_s_median']:.3f} s | - | - |"
    )
    print(
        f"| sensitivity, 30 parameters (60 cases) | {statistics.median(sens30_s) * 1e3:.2f} ms | <= 1 s | "
        f"{ok[checks['sensitivity_30']]} |"
    )
    print(
        f"| sensitivity, all {len(everything)} parameters | {statistics.median(sens_all_s) * 1e3:.2f} ms | - | - |"
    )
    print(f"\nwritten {RESULTS}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
