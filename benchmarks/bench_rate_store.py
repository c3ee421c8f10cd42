"""What the shared rate-limit store adds to a request: ``GET /health`` through the whole ASGI app, in process,
with the buckets in memory and in Redis (and, with ``--base``, an older tree's in-memory buckets), one run.

    python benchmarks/bench_rate_store.py --base <old tree> --redis redis://127.0.0.1:6379/0 \
        [--requests 3000] [--rounds 5]

As ``bench_edge_cpu.py``: ``--requests`` calls per process after 200 warm-up calls, a new client address per
call (the address bucket is taken, never exhausted; in Redis each call creates its key, the worst case), each
configuration in a fresh process whose ``PYTHONPATH`` is its tree's ``src``, rounds alternating the order.
Per request: CPU time of the process (``time.process_time``) and wall time (``time.perf_counter``) over the
calls, divided by their number; medians over the rounds. The Redis keys of a run (own prefix) are deleted
after it. Writes benchmarks/results/rate_store.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

RESULTS = Path(__file__).with_name("results") / "rate_store.json"


def worker(db: str, n: int, store: str) -> None:
    import asyncio

    from batteryloop.app import create_app
    from batteryloop.config import Settings

    prefix = f"bl-bench:{uuid.uuid4().hex}:"
    if store == "memory":
        settings = Settings(database_url=f"sqlite:///{db}")  # the defaults: runs on a tree without rate_store
    else:
        from batteryloop.config import WebSettings

        web = WebSettings.from_mapping({"rate_store": store, "rate_store_prefix": prefix})
        settings = Settings(database_url=f"sqlite:///{db}", web=web)
    app = create_app(settings=settings)
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

        await app(
            {**scope, "client": (f"10.{i // 62500 % 250}.{i // 250 % 250}.{i % 250}", 50000), "state": {}},
            receive,
            send,
        )
        return status

    async def run() -> tuple[float, float]:
        async with app.router.lifespan_context(app):
            for i in range(200):
                assert await get(i) == 200
            c, w = time.process_time(), time.perf_counter()
            for i in range(200, 200 + n):
                if (status := await get(i)) != 200:
                    raise RuntimeError(f"status {status}")
            cpu, wall = time.process_time() - c, time.perf_counter() - w
        edge = app.middleware_stack
        while edge is not None and type(edge).__name__ != "EdgeMiddleware":
            edge = getattr(edge, "app", None)
        shared = getattr(edge, "shared", None)
        if store != "memory":
            if shared is None or shared.down_until is not None:
                raise RuntimeError("the Redis store was not used (or fell back to memory)")
            await shared.aclose()
        return cpu, wall

    cpu, wall = asyncio.run(run())
    if store != "memory":
        import redis

        with redis.Redis.from_url(store) as client:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            for i in range(0, len(keys), 1000):
                client.delete(*keys[i : i + 1000])
    print(json.dumps({"cpu_us": cpu / n * 1e6, "wall_us": wall / n * 1e6}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, help="an older tree, measured with its in-memory buckets")
    ap.add_argument("--head", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args()
    configs = {
        "head-memory": (args.head.resolve(), "memory"),
        "head-redis": (args.head.resolve(), args.redis),
    }
    if args.base is not None:
        configs = {"base-memory": (args.base.resolve(), "memory"), **configs}
    samples: dict[str, dict[str, list[float]]] = {k: {"cpu_us": [], "wall_us": []} for k in configs}
    names = list(configs)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                tree, store = configs[name]
                env = {"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin"}
                run = subprocess.run(
                    [sys.executable, __file__, "_worker", f"{tmp}/{name}-{r}.db", str(args.requests), store],
                    env=env, check=True, capture_output=True, text=True,
                )  # fmt: skip
                out = json.loads(run.stdout.strip().splitlines()[-1])
                for k in ("cpu_us", "wall_us"):
                    samples[name][k].append(out[k])
                print(
                    f"round {r} {name}: {out['cpu_us']:.1f} µs CPU, {out['wall_us']:.1f} µs wall", flush=True
                )
    med = {name: {k: statistics.median(v) for k, v in s.items()} for name, s in samples.items()}
    result = {
        "command": " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "per_request_us": samples,
        "median_per_request_us": med,
        "redis_minus_memory_us": {
            k: med["head-redis"][k] - med["head-memory"][k] for k in ("cpu_us", "wall_us")
        },
    }
    if "base-memory" in med:
        result["head_memory_over_base"] = {
            k: med["head-memory"][k] / med["base-memory"][k] for k in ("cpu_us", "wall_us")
        }
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    for name, m in med.items():
        print(f"{name}: median {m['cpu_us']:.1f} µs CPU, {m['wall_us']:.1f} µs wall per request")
    print("Redis store adds", {k: round(v, 1) for k, v in result["redis_minus_memory_us"].items()}, "µs")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
