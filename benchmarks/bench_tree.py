"""Inclusion-proof latency of the global Merkle tree on a 10-million-event SQLite ledger.

    python benchmarks/bench_tree.py [--events 10000000] [--samples 2000] [--path /tmp/batteryloop-tree-10m.db]

The ledger's tree tables are built directly, not through the full ingest (10M events through ``append_bulk``
take about 6 minutes at ~27k events/s, more than this benchmark needs): the schema comes from the migrations;
``events`` gets N rows with synthetic stored event hashes (random 32-byte digests, minimal payloads), and
``tree_nodes`` the nodes of level >= 4 computed by the very code the append path runs
(:meth:`batteryloop.ledger.core.merkle.Frontier.extend`); one operator-signed head at N goes in ``tree_heads``.
The proofs read exactly these tables, so their latency is what a real 10M ledger gives (its event rows are wider,
which matters only for the <= 16 event hashes a proof reads by position range).

Measured: ``transparency.service.prove_inclusion`` (the service call: head look-up, leaf, nodes, folding) for
random positions, p50/p99; then ``GET /log/proof/inclusion`` on the real app under uvicorn (a second process)
over one keep-alive connection, p50/p99, with other random positions in each round. Before measuring, the
database file is read once (``--cold`` skips it), so every round finds the file's pages in the OS cache: before
that, a first round read its pages from the disk and later rounds, asking for the same positions, did not.
Every 100th proof is verified against the signed head. With
``--wrk`` (and ``wrk`` installed: ``apt-get install wrk``), the same server then answers ``wrk`` for
``--wrk-seconds`` (one thread, one keep-alive connection, a random position per request, latency
percentiles from wrk's own histogram): a client in C, so the figure holds less of the client's own time than
Python's ``http.client`` (which parses every response's headers with the email package). Writes
benchmarks/results/tree.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.db import make_engine, upgrade
from batteryloop.ledger.core.checkpoint import sign_checkpoint
from batteryloop.ledger.core.merkle import Frontier, leaf_hash, verify_inclusion

RESULTS = Path(__file__).with_name("results") / "tree.json"
MIN_STORED_LEVEL = 4
CHUNK = 100_000
INSERT_EVENTS = (
    "INSERT INTO events (position, event_id, battery_id, stream_seq, event_type, schema_version, occurred_at, "
    "payload, idempotency_key, idem_digest, prev_hash, event_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _collect(out: list[tuple[int, int, bytes]]) -> Callable[[int, int, bytes], None]:
    return lambda end, level, h: out.append((end, level, h))


def build(path: Path, n: int) -> dict[str, float]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    cur = conn.cursor()
    for table in ("events", "tree_nodes", "tree_heads"):  # append-only guards are irrelevant to a bulk build
        cur.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        cur.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    rng = random.Random(20261202)
    frontier = Frontier(0, {})
    started = time.perf_counter()
    cur.execute("BEGIN")
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        digests = [rng.randbytes(32) for _ in range(m)]
        rows = [
            (
                start + i + 1,
                f"e{start + i + 1:012d}",  # ascending keys: every index is appended to, as in a real ledger
                f"b{(start + i) // 5:010d}",
                (start + i) % 5 + 1,
                "StateOfHealthReported",
                1,
                "2025-01-01T00:00:00.000000Z",
                "{}",
                None,
                (start + i + 1).to_bytes(16, "big"),
                bytes(32),
                d,
            )
            for i, d in enumerate(digests)
        ]
        cur.executemany(INSERT_EVENTS, rows)
        nodes: list[tuple[int, int, bytes]] = []
        frontier.extend(digests, _collect(nodes), MIN_STORED_LEVEL)
        cur.executemany("INSERT INTO tree_nodes VALUES (?,?,?)", nodes)
    key = Ed25519PrivateKey.generate()
    origin = "batteryloop.local/ledger"
    cp = sign_checkpoint(origin, n, frontier.root(), name=origin, private_key=key)
    cur.execute(
        "INSERT INTO tree_heads (tree_size, key_count, root_hash, origin, note, signed_at) VALUES (?,?,?,?,?,?)",
        (n, 0, cp.root, origin, cp.note, "2026-12-02T00:00:00Z"),
    )
    cur.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    from batteryloop.orgs import KeyStore, keystore_dir_for

    KeyStore(keystore_dir_for(f"sqlite:///{path}")).save("_operator", key)
    return {"events": n, "build_s": round(elapsed, 1), "db_bytes": path.stat().st_size}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_service(path: Path, samples: int) -> dict[str, float]:
    from batteryloop.ledger import Ledger
    from batteryloop.transparency import service

    ledger = Ledger.open(f"sqlite:///{path}", create=False)
    size = ledger.tree.head().size
    rng = random.Random(7)
    positions = [rng.randint(1, size) for _ in range(samples)]
    for p in positions[:50]:  # warm the page cache and the connection pool
        service.prove_inclusion(ledger, p)
    times = []
    cpu = []  # CPU time of the same calls: what a proof costs, whatever else the machine runs
    for k, p in enumerate(positions):
        c = time.process_time()
        t = time.perf_counter()
        view = service.prove_inclusion(ledger, p)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        if k % 100 == 0:
            verify_inclusion(
                p - 1,
                view.tree_size,
                leaf_hash(bytes.fromhex(view.event_hash)),
                [bytes.fromhex(x) for x in view.proof],
                bytes.fromhex(view.root_hash),
            )
    ledger.close()
    return {"samples": samples, "p50_ms": round(_pct(times, 0.5), 3), "p99_ms": round(_pct(times, 0.99), 3),
            "mean_ms": round(statistics.fmean(times), 3), "cpu_p50_ms": round(_pct(cpu, 0.5), 3),
            "cpu_p99_ms": round(_pct(cpu, 0.99), 3), "loadavg": os.getloadavg()}  # fmt: skip


_WRK_SCRIPT = """
math.randomseed(17)
request = function()
  return wrk.format("GET", "/log/proof/inclusion?position=" .. math.random(1, %d))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %%d %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests,
    e.status + e.read + e.connect + e.timeout + e.write, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
"""


def bench_wrk(port: int, size: int, seconds: float) -> dict[str, Any]:
    """``wrk`` against the running server: one thread, one connection, random positions."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_WRK_SCRIPT % size)
        script = f.name
    try:
        out = subprocess.run(
            ["wrk", "-t1", "-c1", f"-d{int(seconds)}s", "-s", script, f"http://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    line = next(x for x in out.splitlines() if x.startswith("WRK ")).split()
    result: dict[str, Any] = {
        "requests": int(line[1]),
        "errors": int(line[2]),  # any status other than 2xx/3xx counts (wrk's errors.status)
        "p50_ms": float(line[4]),
        "p99_ms": float(line[5]),
        "mean_ms": float(line[6]),
    }
    if result["errors"]:
        raise SystemExit(f"wrk saw {result['errors']} errors:\n{out}")
    result["loadavg"] = os.getloadavg()
    return result


_WARM_UP = 500


def warm_file(path: Path) -> float:
    """Read the database file once, so that every measure finds its pages in the OS cache (as a server that has
    been answering for a while does); returns the seconds it took."""
    started = time.perf_counter()
    with path.open("rb") as f:
        while f.read(8 << 20):
            pass
    return round(time.perf_counter() - started, 2)


def bench_http(
    path: Path, samples: int, server: str = "auto", wrk_seconds: float = 0.0, seed: int = 11
) -> dict[str, Any]:
    """``server``: uvicorn's HTTP parser and event loop, ``auto`` (what ``batteryloop serve`` uses: httptools and
    uvloop when installed), or ``pure`` (h11 and asyncio, uvicorn's fallbacks without them)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "BATTERYLOOP_DATABASE_URL": f"sqlite:///{path}",
        # one client asks as fast as it can: the per-address limit (20/s by default) would answer 429
        "BATTERYLOOP_WEB_RATE_PER_ADDRESS_PER_S": "1000000",
        "BATTERYLOOP_WEB_RATE_BURST_PER_ADDRESS": "1000000",
    }
    code = (
        "import uvicorn; from batteryloop.app import create_app; "
        f"uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning'"
        + (", http='h11', loop='asyncio')" if server == "pure" else ")")
    )
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.time() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/health")
                conn.getresponse().read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        rng = random.Random(seed)
        conn.request("GET", "/log/head")
        size = json.loads(conn.getresponse().read())["tree_size"]
        # a new server warms up first (its connection's page cache, the app's first calls): _WARM_UP proofs of
        # other positions, not measured
        warm = [rng.randint(1, size) for _ in range(_WARM_UP)]
        positions = [rng.randint(1, size) for _ in range(samples)]
        times = []
        for k, p in enumerate([*warm, *positions]):
            t = time.perf_counter()
            conn.request("GET", f"/log/proof/inclusion?position={p}")
            response = conn.getresponse()
            body = response.read()
            if k >= _WARM_UP:
                times.append((time.perf_counter() - t) * 1000)
            assert response.status == 200, body
        result: dict[str, Any] = {"samples": samples, "p50_ms": round(_pct(times, 0.5), 3), "p99_ms": round(_pct(times, 0.99), 3),
                "mean_ms": round(statistics.fmean(times), 3), "loadavg": os.getloadavg()}  # fmt: skip
        if wrk_seconds:
            conn.close()
            result["wrk"] = bench_wrk(port, size, wrk_seconds)
        return result
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--path", default="/tmp/batteryloop-tree-10m.db")
    ap.add_argument("--reuse", action="store_true", help="keep an existing file of the right size")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument(
        "--servers",
        default="auto",
        help="comma-separated uvicorn set-ups measured in alternating rounds: auto (httptools + uvloop when "
        "installed) and/or pure (h11 + asyncio)",
    )
    ap.add_argument("--rounds", type=int, default=1, help="HTTP rounds per server set-up, alternating")
    ap.add_argument(
        "--wrk",
        action="store_true",
        help="after each HTTP round, measure the same server with wrk as the client",
    )
    ap.add_argument("--wrk-seconds", type=float, default=10.0)
    ap.add_argument(
        "--cold",
        action="store_true",
        help="do not read the database file into the OS cache first (the first proofs then wait on the disk)",
    )
    args = ap.parse_args()
    path = Path(args.path)
    results: dict[str, object] = {}
    if not (args.reuse and path.exists()):
        results["build"] = build(path, args.events)
        print("build", results["build"], flush=True)
    if not args.cold:
        results["warm_file_s"] = warm_file(path)
    results["service"] = bench_service(path, args.samples)
    print("service", results["service"], flush=True)
    servers = args.servers.split(",")
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for r in range(args.rounds):
        for name in servers if r % 2 == 0 else servers[::-1]:
            rounds[name].append(
                bench_http(path, args.samples, name, args.wrk_seconds if args.wrk else 0.0, seed=11 + r)
            )
            print("http", name, rounds[name][-1], flush=True)
    for name, runs in rounds.items():
        results["http" if name == "auto" else f"http_{name}"] = {
            "runs": runs,
            "median_p50_ms": statistics.median(run["p50_ms"] for run in runs),
            "median_p99_ms": statistics.median(run["p99_ms"] for run in runs),
        }
        if args.wrk:
            results["http" if name == "auto" else f"http_{name}"]["wrk_median_p99_ms"] = statistics.median(  # type: ignore[index]
                run["wrk"]["p99_ms"] for run in runs
            )
    args.results.parent.mkdir(exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
