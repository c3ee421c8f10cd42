"""The full set of compliance reports on two source trees, alternating, in one run.

    python benchmarks/bench_compliance_ab.py --base <checkout of the old commit> --head . [--rounds 3]
        [--dir /work/tmp_compepr] [--events 10000000]

Each round runs, for each tree (base first in even rounds, head first in odd ones), a fresh process whose
``PYTHONPATH`` is that tree's ``src``: it folds the export of :mod:`bench_compliance` (``--recyclers`` files,
built there first if missing) into a fresh engine and computes the full set: the EPR reports of both packs,
then every recycler's report under both. Wall and CPU time (the process and its DuckDB threads) per run, the
medians per tree and the ratio head/base. The machine may change speed within minutes; alternating gives
both trees the same phases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_WORKER = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {bench!r})
import bench_compliance as bc
files = [Path({base!r}), Path({lots!r})]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
wh = bc.fresh()
w, c = time.perf_counter(), cpu()
rows = bc.full_set(wh, files)
lots = bc.recycler_reports(wh)
print(json.dumps({{"wall_s": time.perf_counter() - w, "cpu_s": cpu() - c, "rows": rows, "lots": lots}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--head", type=Path, default=Path("."))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/work/tmp_compepr"))
    ap.add_argument("--events", type=int, default=10_000_000)
    args = ap.parse_args()
    bench = Path(__file__).resolve().parent
    base_file = args.dir / f"ledger_{args.events}.parquet"
    lots_file = args.dir / f"lots_{args.events}.parquet"
    if not (base_file.exists() and lots_file.exists()):
        raise SystemExit(
            f"build the export first: python benchmarks/bench_compliance.py --recyclers --dir {args.dir}"
        )
    code = _WORKER.format(bench=str(bench), base=str(base_file), lots=str(lots_file))
    trees = {"base": args.base.resolve(), "head": args.head.resolve()}
    runs: dict[str, list[dict[str, float]]] = {"base": [], "head": []}
    for r in range(args.rounds):
        for name in ("base", "head") if r % 2 == 0 else ("head", "base"):
            env = {**os.environ, "PYTHONPATH": str(trees[name] / "src")}
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(name, runs[name][-1], flush=True)
    if {r["rows"] for r in runs["base"]} != {r["rows"] for r in runs["head"]}:
        print("warning: the trees report different numbers of rows")
    med = {n: {k: statistics.median(r[k] for r in runs[n]) for k in ("wall_s", "cpu_s")} for n in runs}
    for n in runs:
        print(f"{n}: wall {med[n]['wall_s']:.2f} s, CPU {med[n]['cpu_s']:.2f} s (medians of {args.rounds})")
    print(
        f"head/base: wall {med['head']['wall_s'] / med['base']['wall_s']:.3f}, "
        f"CPU {med['head']['cpu_s'] / med['base']['cpu_s']:.3f}"
    )


if __name__ == "__main__":
    main()
