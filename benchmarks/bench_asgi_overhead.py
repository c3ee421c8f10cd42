"""Where an inclusion proof's time goes inside the server process: the app's own layers, without sockets.

    python benchmarks/bench_asgi_overhead.py [--path /work/tmp_v/tree10m.db] [--requests 1000] [--rounds 3]

On the ledger :mod:`bench_tree` builds (``--path``), in one process and one event loop, alternating in every
round: ``GET /health`` through the whole ASGI app (edge middleware, routing, a response: the fixed cost of a
request), ``GET /log/proof/inclusion`` through the whole ASGI app (the same, plus query parsing, the threadpool
hop of a ``def`` endpoint and the proof), and the service call ``transparency.service.prove_inclusion`` alone.
The difference between the second and the sum of the other two is what neither accounts for: mostly the hop to
the worker thread and back. p50 / p99 per measure; the median of the rounds is printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from typing import Any


def _scope(path: str, query: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 5555),
        "server": ("127.0.0.1", 8000),
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(path: str, requests: int, rounds: int) -> None:
    os.environ["BATTERYLOOP_DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["BATTERYLOOP_WEB_RATE_PER_ADDRESS_PER_S"] = "1000000"
    os.environ["BATTERYLOOP_WEB_RATE_BURST_PER_ADDRESS"] = "1000000"
    from batteryloop.app import create_app
    from batteryloop.transparency import service

    app = create_app()

    async def call(path: str, query: str = "") -> None:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(_scope(path, query), receive, send)
        if sent[0]["status"] != 200:
            raise SystemExit(f"{path}?{query} answered {sent[0]['status']}")

    async with app.router.lifespan_context(app):
        ledger = app.state.ledger
        size = service.head(ledger, signed=True).size
        rng = random.Random(11)
        for _ in range(100):  # warm: imports, caches, the file's pages
            await call("/log/proof/inclusion", f"position={rng.randint(1, size)}")
        summary: dict[str, list[tuple[float, float]]] = {"health": [], "proof": [], "service": []}
        for r in range(rounds):
            names = list(summary) if r % 2 == 0 else list(summary)[::-1]
            for name in names:
                times = []
                for _ in range(requests):
                    position = rng.randint(1, size)
                    t = time.perf_counter()
                    if name == "health":
                        await call("/health")
                    elif name == "proof":
                        await call("/log/proof/inclusion", f"position={position}")
                    else:
                        service.prove_inclusion(ledger, position, size=None)
                    times.append((time.perf_counter() - t) * 1000)
                summary[name].append((_pct(times, 0.5), _pct(times, 0.99)))
                print(
                    f"round {r} {name}: p50 {summary[name][-1][0]:.3f} ms, p99 {summary[name][-1][1]:.3f} ms"
                )
        for name, runs in summary.items():
            p50 = statistics.median(x[0] for x in runs)
            p99 = statistics.median(x[1] for x in runs)
            print(f"median of {rounds} rounds, {name}: p50 {p50:.3f} ms, p99 {p99:.3f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", default="/work/tmp_v/tree10m.db")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    asyncio.run(_run(args.path, args.requests, args.rounds))


if __name__ == "__main__":
    main()
