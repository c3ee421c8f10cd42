"""Before/after benchmark of two source trees in one run: ingest, verify, trace and the passport endpoint.

    python benchmarks/bench_ab.py --base ../old-checkout --head . [--rounds 5] [--events 200000]

Each round runs every measure once for each tree, alternating the order (base first in even rounds, head first
in odd ones), each in a fresh process whose ``PYTHONPATH`` is that tree's ``src``. The result is the median per
tree and the ratio head/base. Only the public API that both trees share is used (``batteryloop.ledger``), so the
script measures the code as a user calls it.

- ingest: ``Ledger.append_bulk`` of N synthetic events (register, place on market, put into service, SoH
  reports) in signed 10,000-event batches into a fresh SQLite file (synchronous=FULL).
- verify: ``Ledger.verify(workers=2)`` of that file.
- trace: ``Ledger.trace`` of 2,000 random batteries of that file (p50, p99).
- passport: GET /passports/{id} (public tier) on the real app under uvicorn in a second process, 32 keep-alive
  connections for ``--serve-seconds``; one ledger of 200 demo batteries built once and served by each tree.
- cli_help: wall time of ``batteryloop --help`` in a fresh interpreter, through what the console script
  calls (the median of 7 per round).

Writes benchmarks/results/ab.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results") / "ab.json"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
CHEMS = ("LFP", "NMC811", "NMC622", "NCA")
ORG = "bench-maker"


def _events(index: int, per_battery: int) -> list[Any]:
    from batteryloop.ledger import EventIn

    bid = f"urn:uuid:{uuid.UUID(int=index + 1)}"
    t = T0 + timedelta(minutes=index)
    out = [
        EventIn(
            bid,
            "BatteryManufactured",  # type: ignore[arg-type]
            t,
            {"level": "pack", "chemistry": CHEMS[index % 4], "category": "ev", "mass_kg": 450.5},
        ),
        EventIn(bid, "BatteryPlacedOnMarket", t + timedelta(days=3), {"country": "DE"}),  # type: ignore[arg-type]
        EventIn(bid, "BatteryPutIntoService", t + timedelta(days=9), {}),  # type: ignore[arg-type]
    ]
    for k in range(per_battery - 3):
        out.append(
            EventIn(
                bid,
                "StateOfHealthReported",  # type: ignore[arg-type]
                t + timedelta(days=30 * (k + 1)),
                {"soh_pct": 99.0 - k * 0.5},
            )
        )
    return out


def _open(path: Path) -> tuple[Any, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from batteryloop.domain.organisation import Organisation, Role
    from batteryloop.ledger import Ledger

    ledger = Ledger.open(f"sqlite:///{path}", create=True)
    ledger.register_organisation(Organisation(ORG, "Bench", "DE", frozenset({Role.BATTERY_MANUFACTURER})))
    key = Ed25519PrivateKey.generate()
    ledger.add_signing_key(ORG, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    return ledger, key


def worker_ledger(n_events: int, out: Path) -> None:
    """Runs inside the tree under test."""
    from batteryloop.ledger import Ledger, sign_batch

    per_battery = 10
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ab.db"
        ledger, key = _open(path)
        events = [e for i in range(n_events // per_battery) for e in _events(i, per_battery)]
        batches = [
            sign_batch(events[s : s + 10_000], actor=ORG, private_key=key)
            for s in range(0, len(events), 10_000)
        ]
        t = time.perf_counter()
        appended = ledger.append_bulk(batches)
        ingest = appended / (time.perf_counter() - t)
        ledger.close()

        ledger = Ledger.open(f"sqlite:///{path}", create=False)
        t = time.perf_counter()
        report = ledger.verify(workers=2)
        verify = report.events_checked / (time.perf_counter() - t)
        assert report.ok, report
        rng = random.Random(7)
        ids = [f"urn:uuid:{uuid.UUID(int=rng.randrange(n_events // per_battery) + 1)}" for _ in range(2000)]
        for bid in ids[:50]:
            ledger.trace(bid)
        times = []
        for bid in ids:
            t = time.perf_counter()
            ledger.trace(bid)
            times.append(time.perf_counter() - t)
        ledger.close()
    times.sort()
    out.write_text(
        json.dumps(
            {
                "ingest_events_per_s": ingest,
                "verify_events_per_s": verify,
                "trace_p50_ms": times[len(times) // 2] * 1e3,
                "trace_p99_ms": times[int(len(times) * 0.99) - 1] * 1e3,
            }
        )
    )


def worker_passport_db(path: Path, ids_out: Path) -> None:
    """Builds the served ledger (inside the head tree, once; both trees share the schema): 200 batteries with passport data."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_passport import prepare_ledger

    ids_out.write_text(json.dumps(prepare_ledger(path, 200)))


def worker_serve(db_url: str, port: int) -> None:
    import uvicorn

    from batteryloop.config import Settings

    try:
        from batteryloop.app import create_app
    except ImportError:
        from batteryloop.api.app import create_app  # type: ignore[no-redef,import-not-found]

    app = create_app(settings=Settings(database_url=db_url, resolver_domain="https://id.batteryloop.example"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _drive(port: int, paths: list[str], seconds: float, connections: int) -> float:
    ok = 0
    stop = time.perf_counter() + seconds
    requests = [
        f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode() for p in paths
    ]

    async def one(offset: int) -> None:
        nonlocal ok
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        try:
            while time.perf_counter() < stop:
                writer.write(requests[i % len(requests)])
                i += connections
                head = await reader.readuntil(b"\r\n\r\n")
                if int(head[9:12]) != 200:
                    raise RuntimeError(f"{head[:12]!r} for {paths[i % len(paths)]}")
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        await reader.readexactly(int(line[15:]))
                ok += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(connections)))
    return ok / (time.perf_counter() - started)


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONUNBUFFERED": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_rate(tree: Path, db: Path, ids: list[str], seconds: float) -> float:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "_serve", f"sqlite:///{db}", str(port)], env=_env(tree)
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the server of {tree} did not start") from None
                time.sleep(0.1)
        paths = [f"/passports/{bid}" for bid in ids]
        asyncio.run(_drive(port, paths, 1.0, 32))
        return asyncio.run(_drive(port, paths, seconds, 32))
    finally:
        server.terminate()
        server.wait(timeout=10)


def cli_help_ms(tree: Path, times: int = 7) -> float:
    code = (  # what the console script runs: batteryloop.cli_index:main, or the Typer app in older trees
        "import sys; sys.argv = ['batteryloop', '--help']\n"
        "try:\n    from batteryloop.cli_index import main\n"
        "except ImportError:\n    from batteryloop.cli import app as main\n"
        "main()"
    )
    walls = []
    for _ in range(times):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=_env(tree), check=True, stdout=subprocess.DEVNULL)
        walls.append((time.perf_counter() - t) * 1e3)
    return statistics.median(walls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--head", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--serve-seconds", type=float, default=4.0)
    ap.add_argument("--skip-ledger", action="store_true", help="only the passport endpoint and the CLI start")
    ap.add_argument(
        "--skip-passport", action="store_true", help="no passport endpoint (trees of two schemas)"
    )
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args()
    trees = {"base": args.base.resolve(), "head": args.head.resolve()}
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        db, ids_file = Path(tmp) / "passports.db", Path(tmp) / "ids.json"
        subprocess.run(
            [sys.executable, __file__, "_passport_db", str(db), str(ids_file)],
            env=_env(trees["head"]),
            check=True,
        )
        ids = json.loads(ids_file.read_text())
        for r in range(args.rounds):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for name in order:
                got: dict[str, float] = {}
                if not args.skip_ledger:
                    out = Path(tmp) / f"{name}-{r}.json"
                    subprocess.run(
                        [sys.executable, __file__, "_ledger", str(args.events), str(out)],
                        env=_env(trees[name]),
                        check=True,
                    )
                    got = json.loads(out.read_text())
                if (
                    not args.skip_passport
                ):  # a tree that migrates the schema cannot serve the other's database
                    got["passport_req_per_s"] = serve_rate(trees[name], db, ids, args.serve_seconds)
                got["cli_help_ms"] = cli_help_ms(trees[name])
                for k, v in got.items():
                    samples[name].setdefault(k, []).append(v)
                print(f"round {r} {name}: " + ", ".join(f"{k}={v:,.2f}" for k, v in got.items()), flush=True)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": args.events,
        "rounds": args.rounds,
        "trees": {k: str(v) for k, v in trees.items()},
        "samples": samples,
        "median": {n: {k: statistics.median(v) for k, v in s.items()} for n, s in samples.items()},
    }
    result["ratio_head_to_base"] = {
        k: result["median"]["head"][k] / result["median"]["base"][k] for k in result["median"]["base"]
    }
    args.results.parent.mkdir(exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{'measure':<24}{'base':>14}{'head':>14}{'head/base':>11}")
    for k, ratio in result["ratio_head_to_base"].items():
        b, h = result["median"]["base"][k], result["median"]["head"][k]
        print(f"{k:<24}{b:>14,.2f}{h:>14,.2f}{ratio:>10.3f}x")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "_ledger":
        worker_ledger(int(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) >= 2 and sys.argv[1] == "_passport_db":
        worker_passport_db(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) >= 2 and sys.argv[1] == "_serve":
        worker_serve(sys.argv[2], int(sys.argv[3]))
    else:
        main()
