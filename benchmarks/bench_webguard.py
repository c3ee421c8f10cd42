"""The HTTP edge under load: passport read latency while a 50,000-event bulk upload runs, and what an
oversize body without a key costs the server, for two source trees in one run.

    python benchmarks/bench_webguard.py --base /work/main --head . [--rounds 3] [--events 50000]

For each tree and round, uvicorn (one worker) serves the real app in a SECOND process started with that tree's
``src`` first on PYTHONPATH, over a SQLite ledger holding 200 demo passports (``bench_passport``) and an
organisation with an API key and a signing key. This process drives it over loopback:

* quiet: 4 keep-alive connections read public passports (``GET /passports/{id}``) for ``--quiet-s`` seconds;
  the p50/p99 of each request's latency;
* upload: one signed NDJSON batch of ``--events`` BatteryManufactured events is posted to ``/events/bulk``
  while the same 4 connections keep reading; p50/p99/max of the reads that started during the upload, and the
  upload's own time;
* oversize: a 48 MiB JSON body is posted to ``POST /events`` without a key while one connection keeps reading;
  the answer's status and time, the server's peak RSS growth (``VmHWM`` from /proc) and the slowest read.

The rate limits are raised for the run (``BATTERYLOOP_WEB_RATE_BURST_*``): the load comes from one address.
Prints a table and writes benchmarks/results/webguard.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "webguard.json"
READ_CONNECTIONS = 4
OVERSIZE_BYTES = 48 * 1024 * 1024


# ------------------------------------------------------------------------------------- server process


def serve(db: Path, port: int, key_file: Path) -> None:
    """Prepare the ledger (200 passports, the uploader's org and keys) and serve it; runs in the tree's Python."""
    sys.path.insert(0, str(HERE))
    import uvicorn
    from bench_passport import RESOLVER, prepare_ledger

    from batteryloop.app import create_app
    from batteryloop.config import Settings
    from batteryloop.domain.organisation import Organisation, Role
    from batteryloop.ledger import Ledger

    ids = prepare_ledger(db, 200)
    ledger = Ledger.open(f"sqlite:///{db}")
    ledger.register_organisation(
        Organisation("bulkco", "Bulk Co", "DE", frozenset({Role.BATTERY_MANUFACTURER}))
    )
    key_id = ledger.add_signing_key("bulkco", bytes.fromhex(key_file.read_text().split()[0]))
    api_key = ledger.issue_api_key("bulkco")
    ledger.close()
    key_file.with_suffix(".out").write_text(json.dumps({"ids": ids, "api_key": api_key, "key_id": key_id}))
    app = create_app(settings=Settings.from_env(database_url=f"sqlite:///{db}", public_base_url=RESOLVER))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ------------------------------------------------------------------------------------------- driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def _read_while(port: int, paths: list[str], keep_going: Any, connections: int) -> list[float]:
    """Keep-alive passport reads until ``keep_going()`` is false; each request's latency in ms."""
    latencies: list[float] = []
    requests = [
        f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode() for p in paths
    ]

    async def worker(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        try:
            while keep_going():
                started = time.perf_counter()
                writer.write(requests[i % len(requests)])
                i += connections
                head = await reader.readuntil(b"\r\n\r\n")
                if int(head[9:12]) != 200:
                    raise RuntimeError(f"a passport read answered {head[:12]!r}")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                latencies.append((time.perf_counter() - started) * 1000.0)
        finally:
            writer.close()

    await asyncio.gather(*(worker(k) for k in range(connections)))
    return latencies


def _post(port: int, path: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, float]:
    """POST over a raw socket (the server may answer before the body is sent); (status, seconds)."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n{head}Connection: close\r\n\r\n"
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request.encode())
        try:
            view = memoryview(body)
            for at in range(0, len(body), 1 << 20):
                sock.sendall(view[at : at + (1 << 20)])
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the whole body was sent
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return int(answer[9:12] or 0), time.perf_counter() - started


def _ndjson_batch(n: int) -> tuple[bytes, Any]:
    """``n`` BatteryManufactured events as NDJSON and their batch signed by a fresh key."""
    import orjson
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from batteryloop.ledger import EventIn, sign_batch

    key = Ed25519PrivateKey.generate()
    t0 = datetime(2027, 6, 1, tzinfo=UTC)
    payload = {"level": "pack", "chemistry": "LFP", "category": "ev"}
    events = [
        EventIn(
            f"urn:uuid:0193b000-0000-7000-8000-{i:012x}",
            "BatteryManufactured",
            t0 + timedelta(seconds=i),
            payload,
        )  # type: ignore[arg-type]
        for i in range(n)
    ]
    batch = sign_batch(events, actor="bulkco", private_key=key)
    lines = [
        orjson.dumps(
            {
                "battery_id": e.battery_id,
                "event_type": "BatteryManufactured",
                "occurred_at": e.occurred_at.isoformat(),
                "payload": payload,
            }
        )
        for e in events
    ]
    return b"\n".join(lines), (key, batch.signature)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_tree(tree: Path, events: int, quiet_s: float) -> dict[str, Any]:
    body, (key, signature) = _ndjson_batch(events)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        key_file = Path(tmp) / "signer.hex"
        key_file.write_text(key.public_key().public_bytes_raw().hex())
        port = _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "PYTHONUNBUFFERED": "1",
            "BATTERYLOOP_WEB_RATE_BURST_PER_ADDRESS": "10000000",
            "BATTERYLOOP_WEB_RATE_BURST_PER_KEY": "10000000",
        }
        server = subprocess.Popen(
            [sys.executable, __file__, "_serve", str(db), str(port), str(key_file)], env=env, cwd=tmp
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError(f"the server of {tree} did not start") from None
                    time.sleep(0.1)
            info = json.loads(key_file.with_suffix(".out").read_text())
            paths = [f"/passports/{bid}" for bid in info["ids"]]
            stop = time.perf_counter() + 1.0
            asyncio.run(
                _read_while(port, paths, lambda: time.perf_counter() < stop, READ_CONNECTIONS)
            )  # warm-up

            stop = time.perf_counter() + quiet_s
            quiet = asyncio.run(
                _read_while(port, paths, lambda: time.perf_counter() < stop, READ_CONNECTIONS)
            )

            upload: dict[str, Any] = {}
            headers = {
                "X-API-Key": info["api_key"],
                "X-Key-Id": info["key_id"],
                "X-Signature": signature.hex(),
            }

            def do_upload() -> None:
                upload["status"], upload["s"] = _post(port, "/events/bulk", body, headers, timeout=600)

            uploader = threading.Thread(target=do_upload)
            uploader.start()
            during = asyncio.run(_read_while(port, paths, uploader.is_alive, READ_CONNECTIONS))
            uploader.join()
            if upload.get("status") != 201:
                raise RuntimeError(f"the bulk upload to {tree} answered {upload.get('status')}")

            big = b'{"events": [' + b'{"battery_id": "x"},' * (OVERSIZE_BYTES // 20) + b"{}]}"
            oversize: dict[str, Any] = {}
            rss_before = _peak_rss_kib(server.pid)

            def do_oversize() -> None:
                oversize["status"], oversize["s"] = _post(
                    port, "/events", big, {"Content-Type": "application/json"}, timeout=600
                )

            sender = threading.Thread(target=do_oversize)
            sender.start()
            until = time.perf_counter() + 0.5  # and at least half a second of reads
            reads = asyncio.run(
                _read_while(port, paths, lambda: sender.is_alive() or time.perf_counter() < until, 1)
            )
            sender.join()
            oversize["peak_rss_growth_mib"] = round((_peak_rss_kib(server.pid) - rss_before) / 1024, 1)
            oversize["slowest_read_ms"] = round(max(reads), 1) if reads else None
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {
        "quiet_reads": len(quiet),
        "quiet_p50_ms": round(_percentile(quiet, 0.5), 2),
        "quiet_p99_ms": round(_percentile(quiet, 0.99), 2),
        "upload_reads": len(during),
        "upload_p50_ms": round(_percentile(during, 0.5), 2),
        "upload_p99_ms": round(_percentile(during, 0.99), 2),
        "upload_max_ms": round(max(during), 1),
        "upload_s": round(upload["s"], 2),
        "oversize_status": oversize["status"],
        "oversize_s": round(oversize["s"], 3),
        "oversize_peak_rss_growth_mib": oversize["peak_rss_growth_mib"],
        "oversize_slowest_read_ms": oversize["slowest_read_ms"],
        "body_bytes": len(body),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="today's tree (e.g. /work/main)")
    parser.add_argument("--head", type=Path, default=HERE.parent)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--quiet-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
    for r in range(args.rounds):
        order = ("base", "head") if r % 2 == 0 else ("head", "base")
        for name in order:
            tree = args.base if name == "base" else args.head
            result = run_tree(tree.resolve(), args.events, args.quiet_s)
            runs[name].append(result)
            print(f"round {r + 1} {name}: {result}", flush=True)

    def median(name: str, field: str) -> float:
        return float(statistics.median(float(x[field]) for x in runs[name]))

    fields = (
        "quiet_p50_ms", "quiet_p99_ms", "upload_p50_ms", "upload_p99_ms", "upload_max_ms", "upload_s",
        "oversize_s", "oversize_peak_rss_growth_mib", "oversize_slowest_read_ms",
    )  # fmt: skip
    summary = {f: {"base": median("base", f), "head": median("head", f)} for f in fields}
    for f in fields:
        base, head = summary[f]["base"], summary[f]["head"]
        summary[f]["head_over_base"] = round(head / base, 3) if base else None
    print(f"\n{'median of ' + str(args.rounds) + ' rounds':32} {'base':>10} {'head':>10} {'head/base':>10}")
    for f in fields:
        s = summary[f]
        print(f"{f:32} {s['base']:>10} {s['head']:>10} {s['head_over_base']!s:>10}")
    for f in ("oversize_status",):
        print(f"{f:32} {[x[f] for x in runs['base']]!s:>10} {[x[f] for x in runs['head']]!s:>10}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps({"events": args.events, "rounds": args.rounds, "summary": summary, "runs": runs}, indent=2)
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
