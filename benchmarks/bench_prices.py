"""Price decks and grades: does a scenario still run in <= 5 ms?

    python benchmarks/bench_prices.py [--runs 300] [--baseline /work/main/src]

CPU times (``time.process_time``: the machine is shared, and wall time there measures the queue), on one machine in
one run (medians of ``--runs``): the core chain of one scenario (flowsheet + plant
economics, parameter set loaded) in this tree and, in a subprocess, in the ``--baseline`` source tree (the ratio is
the cost of grading products and reading reference prices); the same chain on the market2025 deck; the service's
``run_scenario`` (flowsheet, economics, carbon, pricing basis and its warnings) and ``quote`` with the market
terms applied. Prints a BENCHMARKS.md section.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

TARGET_S = 0.005
CORE = """
import json, statistics, sys, time
from batteryloop.recycling.core.economics import run_economics
from batteryloop.recycling.core.feedstock import simple_feedstock
from batteryloop.recycling.core.flowsheet import run_flowsheet
from batteryloop.recycling.core.params import load_parameter_set
params = load_parameter_set("everbatt2023")
feed = simple_feedstock({"NMC811": 0.7, "LFP": 0.3}, form="pack", annual_mass_t=20_000.0)
def one():
    fs = run_flowsheet(feed, route="hydro", product_level="salts", params=params)
    return run_economics(fs, feedstock=feed, region="DE", params=params)
one()
out = []
for _ in range(int(sys.argv[1])):
    t0 = time.process_time(); one(); out.append(time.process_time() - t0)
print(json.dumps(statistics.median(out)))
"""


def _median(fn: Callable[[], object], n: int) -> float:
    fn()
    out = []
    for _ in range(n):
        t0 = time.process_time()
        fn()
        out.append(time.process_time() - t0)
    return statistics.median(out)


def _core_in(src: str, runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(
        [sys.executable, "-c", CORE, str(runs)], env=env, capture_output=True, text=True, check=True
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--baseline", default="/work/main/src", help="source tree to compare the core chain with")
    args = ap.parse_args(argv)

    from batteryloop.recycling import service
    from batteryloop.recycling.core.decks import apply_deck
    from batteryloop.recycling.core.economics import run_economics
    from batteryloop.recycling.core.feedstock import simple_feedstock
    from batteryloop.recycling.core.flowsheet import run_flowsheet
    from batteryloop.recycling.core.params import load_parameter_set
    from batteryloop.recycling.core.scenario import Scenario

    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    core_here = _core_in(os.path.abspath(here), args.runs)
    core_base = _core_in(args.baseline, args.runs)

    params = apply_deck(load_parameter_set("everbatt2023"), "market2025")
    feed = simple_feedstock({"NMC811": 0.7, "LFP": 0.3}, form="pack", annual_mass_t=20_000.0)

    def core_deck() -> object:
        fs = run_flowsheet(feed, route="hydro", product_level="salts", params=params)
        return run_economics(fs, feedstock=feed, region="DE", params=params)

    scenario = Scenario(
        name="bench", feedstock=feed, route="hydro", product_level="salts", region="DE", params=params
    )
    run = _median(lambda: service.run_scenario(scenario), args.runs)
    quote = _median(lambda: service.quote(scenario, lot_mass_kg=20_000), args.runs)
    deck = _median(core_deck, args.runs)

    rows = [
        ("core chain, everbatt2023 (baseline tree)", core_base, 1.0),
        ("core chain, everbatt2023 (this tree)", core_here, core_here / core_base),
        ("core chain, market2025 deck", deck, deck / core_base),
        ("service run_scenario (+ carbon, pricing basis), market2025", run, run / core_base),
        ("service quote (+ terms applied, pricing basis), market2025", quote, quote / core_base),
    ]
    print(f"## prices — `python benchmarks/bench_prices.py --runs {args.runs} --baseline {args.baseline}`\n")
    print(
        f"70 % NMC811 + 30 % LFP packs, 20,000 t/yr, hydro/salts, Germany; CPU-time medians of {args.runs} runs, one run.\n"
    )
    print("| what | median CPU (ms) | ratio to baseline core chain |")
    print("|---|---|---|")
    for name, t, ratio in rows:
        print(f"| {name} | {t * 1000:.2f} | {ratio:.2f}x |")
    worst = max(core_here, deck)
    print(
        f"\nTarget: a scenario <= {TARGET_S * 1000:.0f} ms: {'met' if worst <= TARGET_S else 'NOT met'} ({worst * 1000:.2f} ms)."
    )
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
