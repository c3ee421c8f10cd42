"""CPU time of one request through the whole ASGI app, two source trees in one run (the edge's cost).

    python benchmarks/bench_edge_cpu.py --base <old tree> --head . [--requests 3000] [--rounds 5]

``GET /health`` (the cheapest route: what it costs is mostly the app's own layers, middleware included) is
called in-process through the ASGI interface, as a server would (no client library), ``--requests`` times per
process after 200 warm-up requests; the CPU time of the process (``time.process_time``) over the requests,
divided by their number, is one request's cost whatever else the machine runs. Rounds alternate which tree
goes first, each in a fresh process whose ``PYTHONPATH`` is that tree's ``src``; medians and the ratio
head/base. Writes benchmarks/results/edge_cpu.json.
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

RESULTS = Path(__file__).with_name("results") / "edge_cpu.json"


def worker(db: str, n: int) -> None:
    import asyncio

    from batteryloop.app import create_app
    from batteryloop.config import Settings

    app = create_app(settings=Settings(database_url=f"sqlite:///{db}"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/health",
        "raw_path": b"/health",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"accept", b"application/json")],
        "server": ("127.0.0.1", 8000),
    }

    async def get(i: int) -> int:
        status = 0

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])  # type: ignore[call-overload]

        # a new client address per request: the per-address rate limit is taken, never exhausted
        await app(
            {**scope, "client": (f"10.0.{i // 250 % 250}.{i % 250}", 50000), "state": {}}, receive, send
        )
        return status

    async def run() -> float:
        async with app.router.lifespan_context(app):
            for i in range(200):
                assert await get(i) == 200
            c = time.process_time()
            for i in range(n):
                if (status := await get(i)) != 200:
                    raise RuntimeError(f"status {status}")
            return time.process_time() - c

    print(json.dumps({"cpu_us_per_request": asyncio.run(run()) / n * 1e6}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--head", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args()
    trees = {"base": args.base.resolve(), "head": args.head.resolve()}
    samples: dict[str, list[float]] = {"base": [], "head": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in ["base", "head"] if r % 2 == 0 else ["head", "base"]:
                env = {"PYTHONPATH": str(trees[name] / "src"), "PATH": "/usr/bin:/bin"}
                run = subprocess.run(
                    [sys.executable, __file__, "_worker", f"{tmp}/{name}.db", str(args.requests)],
                    env=env, check=True, capture_output=True, text=True,
                )  # fmt: skip
                samples[name].append(json.loads(run.stdout.strip().splitlines()[-1])["cpu_us_per_request"])
                print(f"round {r} {name}: {samples[name][-1]:.1f} µs CPU per request", flush=True)
    med = {k: statistics.median(v) for k, v in samples.items()}
    result = {
        "command": " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "cpu_us_per_request": samples,
        "median_cpu_us_per_request": med,
        "ratio_head_over_base": med["head"] / med["base"],
    }
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"GET /health CPU per request: base {med['base']:.1f} µs, head {med['head']:.1f} µs, "
        f"head/base {result['ratio_head_over_base']:.3f}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker(sys.argv[2], int(sys.argv[3]))
    else:
        main()
