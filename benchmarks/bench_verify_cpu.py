"""Verify of two source trees in CPU time, in one run: the load of a shared machine does not matter.

    python benchmarks/bench_verify_cpu.py --base <checkout of afae7b2> --head . [--events 100000] [--rounds 5]

Each tree builds its own ledger once (``Ledger.append_bulk`` of the same synthetic events as
``bench_ab.py``, signed 10,000-event batches; each tree with its own schema, so neither opens the other's file).
Then, ``--rounds`` times, alternating which tree goes first, a fresh process whose ``PYTHONPATH`` is that tree's
``src`` opens its ledger and runs ``Ledger.verify(workers=1)``: one process does all the work, so its CPU time
(``time.process_time``: user + system of that process) is the whole cost, whatever else the machine runs. The
result is events per CPU-second, the median per tree and the ratio head/base (higher is faster).

Writes benchmarks/results/verify_cpu.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

RESULTS = Path(__file__).with_name("results") / "verify_cpu.json"


def worker_build(n_events: int, path: Path) -> None:
    """Runs inside the tree under test: the ledger that tree verifies."""
    from bench_ab import _events, _open

    from batteryloop.ledger import sign_batch

    per_battery = 10
    ledger, key = _open(path)
    events = [e for i in range(n_events // per_battery) for e in _events(i, per_battery)]
    batches = [
        sign_batch(events[s : s + 10_000], actor="bench-maker", private_key=key)
        for s in range(0, len(events), 10_000)
    ]
    ledger.append_bulk(batches)
    ledger.close()


def worker_verify(path: Path, out: Path) -> None:
    from batteryloop.ledger import Ledger

    ledger = Ledger.open(f"sqlite:///{path}", create=False)
    ledger.verify(workers=1)  # warm: the file's pages in the OS cache, imports done
    c = time.process_time()
    w = time.perf_counter()
    report = ledger.verify(workers=1)
    cpu = time.process_time() - c
    wall = time.perf_counter() - w
    assert report.ok, report
    ledger.close()
    out.write_text(json.dumps({"events": report.events_checked, "cpu_s": cpu, "wall_s": wall}))


def worker_repeat(path: Path, times: int) -> None:
    """Open the ledger and verify it ``times`` times (callgrind: the difference of two counts is one verify)."""
    from batteryloop.ledger import Ledger

    ledger = Ledger.open(f"sqlite:///{path}", create=False)
    for _ in range(times):
        assert ledger.verify(workers=1).ok
    ledger.close()


def instructions(tree: Path, path: Path) -> int:
    """Instructions of one ``verify(workers=1)`` by callgrind: verify twice minus verify once."""
    env = {"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin"}
    counts = []
    for times in (1, 2):
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
             "_repeat", str(path), str(times)],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        counts.append(int(run.stderr.rsplit("Collected :", 1)[1].split()[0]))
    return counts[1] - counts[0]


def _run(tree: Path, *args: str) -> None:
    env = {"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, __file__, *args], env=env, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--head", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument(
        "--callgrind-events", type=int, default=0, help="also count one verify of a ledger this size"
    )
    args = ap.parse_args()
    trees = {"base": args.base.resolve(), "head": args.head.resolve()}
    samples: dict[str, list[float]] = {"base": [], "head": []}
    walls: dict[str, list[float]] = {"base": [], "head": []}
    with tempfile.TemporaryDirectory() as tmp:
        dbs = {name: Path(tmp) / f"{name}.db" for name in trees}
        for name, tree in trees.items():
            _run(tree, "_build", str(args.events), str(dbs[name]))
        for r in range(args.rounds):
            order = ["base", "head"] if r % 2 == 0 else ["head", "base"]
            for name in order:
                out = Path(tmp) / "out.json"
                _run(trees[name], "_verify", str(dbs[name]), str(out))
                got = json.loads(out.read_text())
                samples[name].append(got["events"] / got["cpu_s"])
                walls[name].append(got["events"] / got["wall_s"])
                print(f"round {r} {name}: {samples[name][-1]:,.0f} events/CPU-s", flush=True)
        instr: dict[str, int] = {}
        if args.callgrind_events:
            for name, tree in trees.items():
                small = Path(tmp) / f"{name}-small.db"
                _run(tree, "_build", str(args.callgrind_events), str(small))
                instr[name] = instructions(tree, small)
                print(
                    f"{name}: {instr[name]:,} instructions per verify of {args.callgrind_events} events",
                    flush=True,
                )
    med = {name: statistics.median(v) for name, v in samples.items()}
    result = {
        "command": " ".join(sys.argv),
        "events": args.events,
        "rounds": args.rounds,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "events_per_cpu_s": samples,
        "events_per_wall_s": walls,
        "median_events_per_cpu_s": med,
        "ratio_head_over_base": med["head"] / med["base"],
    }
    if instr:
        result["callgrind_events"] = args.callgrind_events
        result["instructions_per_verify"] = instr
        result["instructions_per_event"] = {k: v / args.callgrind_events for k, v in instr.items()}
        result["throughput_ratio_by_instructions"] = instr["base"] / instr["head"]
        print(f"by instructions: head/base throughput {result['throughput_ratio_by_instructions']:.3f}")
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"verify, events per CPU-second: base {med['base']:,.0f}, head {med['head']:,.0f}, "
        f"head/base {result['ratio_head_over_base']:.3f}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_build":
        worker_build(int(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_repeat":
        worker_repeat(Path(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_verify":
        worker_verify(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
