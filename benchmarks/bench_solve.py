"""Break-even solve and correlated Monte Carlo benchmarks (helper `solve`).

    python benchmarks/bench_solve.py [--runs 50] [--draws 100000] [--repeats 5]

Targets: one scenario (flowsheet + economics + sanity warnings) <= 5 ms; one solve <= 100 ms; 100,000 correlated
Monte Carlo draws (Gaussian copula + regimes) <= 2 s. Scenario: 70 % NMC811 + 30 % LFP packs, 20,000 t/yr, hydro
to salts, Spain (a market where the LFP row allows a payable or a gate fee, so regimes are drawn), everbatt2023.
Medians of one run on this machine; the parameter set is loaded once, as in a server.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from batteryloop.recycling.core.economics import build_model, result_from_model
from batteryloop.recycling.core.feedstock import simple_feedstock
from batteryloop.recycling.core.flowsheet import run_flowsheet
from batteryloop.recycling.core.market import load_market
from batteryloop.recycling.core.params import load_parameter_set
from batteryloop.recycling.core.sanity import sanity_warnings
from batteryloop.recycling.core.solve import solve
from batteryloop.recycling.core.uncertainty import monte_carlo

CPU: dict[int, list[float]] = {}  # id of a wall-time list -> the CPU times of the same calls


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall times of ``runs`` calls; their CPU times (time.process_time, what a loaded machine cannot inflate
    much) are kept beside them, see :func:`cpu_ms`."""
    out: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        out.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[id(out)] = cpu
    return out


def cpu_ms(wall: list[float]) -> float:
    return statistics.median(CPU[id(wall)]) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--draws", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    params = load_parameter_set("everbatt2023")
    feed = simple_feedstock({"NMC811": 0.7, "LFP": 0.3}, form="pack", annual_mass_t=20_000)

    def scenario() -> object:
        flowsheet = run_flowsheet(feed, route="hydro", product_level="salts", params=params)
        model = build_model(flowsheet, feedstock=feed, region="ES", params=params)
        return result_from_model(model, flowsheet), sanity_warnings(model, flowsheet, params)

    flowsheet = run_flowsheet(feed, route="hydro", product_level="salts", params=params)
    model = build_model(flowsheet, feedstock=feed, region="ES", params=params)

    def plain() -> object:
        flowsheet = run_flowsheet(feed, route="hydro", product_level="salts", params=params)
        return result_from_model(
            build_model(flowsheet, feedstock=feed, region="ES", params=params), flowsheet
        )

    scenario_t: list[float] = []
    plain_t_: list[float] = []
    scenario_cpu: list[float] = []
    plain_cpu: list[float] = []
    for _ in range(args.runs):  # interleaved, so both see the same load
        one = timed(scenario, 1)
        scenario_t += one
        scenario_cpu += CPU[id(one)]
        other = timed(plain, 1)
        plain_t_ += other
        plain_cpu += CPU[id(other)]
    with_w, without = statistics.median(scenario_t), statistics.median(plain_t_)
    print(
        f"one scenario (flowsheet + economics + warnings): median {with_w * 1e3:.2f} ms wall, "
        f"{statistics.median(scenario_cpu) * 1e3:.2f} ms CPU; without the warnings {without * 1e3:.2f} ms wall, "
        f"{statistics.median(plain_cpu) * 1e3:.2f} ms CPU (ratio {with_w / without:.2f}x)"
    )
    for lever, target, value in (
        ("gate_fee", "margin", None),
        ("subsidy", "irr", 0.12),
        ("price:Li", "npv", None),
        ("throughput", "margin", None),
    ):
        times = timed(
            lambda lever=lever, target=target, value=value: solve(
                model, params=params, lever=lever, target=target, target_value=value
            ),
            args.runs,
        )
        r = solve(model, params=params, lever=lever, target=target, target_value=value)
        print(
            f"solve {lever} -> {target}: median {statistics.median(times) * 1e3:.2f} ms wall, "
            f"{cpu_ms(times):.2f} ms CPU "
            f"(value {r.value:,.4g} {r.unit}, {r.iterations} brentq iterations, {r.function_calls} evaluations)"
        )
    market = load_market(params, model)
    mc_t = timed(lambda: monte_carlo(model, draws=args.draws, seed=1, market=market), args.repeats)
    plain_t = timed(lambda: monte_carlo(model, draws=args.draws, seed=1), args.repeats)
    mc = monte_carlo(model, draws=args.draws, seed=1, market=market)
    print(
        f"Monte Carlo {args.draws:,} correlated draws over {len(mc.varied)} parameters, {len(mc.factors)} factors, "
        f"{len(mc.regime_shares)} regime rows: median {statistics.median(mc_t):.3f} s wall, {cpu_ms(mc_t) / 1e3:.3f} s CPU; "
        f"independent draws "
        f"{statistics.median(plain_t):.3f} s (ratio {statistics.median(mc_t) / statistics.median(plain_t):.2f}x); "
        f"P(loss) {mc.probability_of_loss:.1%}"
    )


if __name__ == "__main__":
    main()
