"""First load of a recycling parameter set in a fresh interpreter, two source trees, alternating.

    python benchmarks/bench_first_load.py --base /path/to/old/tree --head . [--runs 7] [--set everbatt2023]

Each run starts Python with that tree's ``src`` on ``PYTHONPATH``, imports the loader and loads the set once
(parsing its TOML files, resolving ``extends`` and the citations); prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

CODE = (
    "import time; t = time.perf_counter(); "
    "from batteryloop.recycling.core.params import load_parameter_set; "
    "load_parameter_set({name!r}); print(time.perf_counter() - t)"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--head", type=Path, default=Path("."))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--set", default="everbatt2023")
    args = ap.parse_args()
    trees = {"base": args.base.resolve(), "head": args.head.resolve()}
    seconds: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.runs):
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(tree / "src")}
            out = subprocess.run(
                [sys.executable, "-c", CODE.format(name=args.set)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            seconds[name].append(float(out))
    medians = {name: statistics.median(v) for name, v in seconds.items()}
    for name, value in medians.items():
        print(f"{name}: median {value * 1e3:.0f} ms over {args.runs} runs ({trees[name]})")
    print(f"head/base: {medians['head'] / medians['base']:.2f}x")


if __name__ == "__main__":
    main()
