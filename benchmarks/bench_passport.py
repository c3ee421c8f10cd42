"""Passport benchmarks: building passports in bulk, and serving the public passport JSON over HTTP.

    python benchmarks/bench_passport.py [--build-n 100000] [--serve-seconds 5] [--connections 32]
                                        [--skip-build] [--skip-serve]

build: demo event streams (BatteryManufactured + PassportDataRegistered from ``synthetic_passport_data`` +
placed on market, put into service, a state-of-health report, a negative event) are generated in chunks; only
``build_passport`` is timed (the generation time is reported separately). Passports are not kept, as a bulk
export would stream them.

serve: a SQLite ledger with 200 demo batteries; uvicorn (one worker, access log off) runs the real app in a
SECOND process; this process drives it over loopback with keep-alive HTTP/1.1 connections (asyncio, raw
sockets). Measured in the same run: GET /passports/{id} (anonymous = public tier, cycling over the 200
batteries) and a minimal FastAPI endpoint returning {"ok": true} mounted in the same app. The result is the
passport rate and its ratio to the minimal rate.

Prints a table and writes benchmarks/results/passport.json.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from batteryloop.domain import BatteryCategory, BatteryUnit, Chemistry, UnitLevel
from batteryloop.passport.core.build import PlainEvent, build_passport
from batteryloop.passport.core.synthetic import synthetic_passport_data

RESULTS = Path(__file__).with_name("results") / "passport.json"
RESOLVER = "https://id.batteryloop.example"
CATEGORIES = (BatteryCategory.EV, BatteryCategory.EV, BatteryCategory.LMT, BatteryCategory.STATIONARY)
CHEMS = (Chemistry.NMC811, Chemistry.LFP, Chemistry.NMC622, Chemistry.NCA, Chemistry.LFP)
T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


def demo_unit(i: int) -> BatteryUnit:
    category = CATEGORIES[i % len(CATEGORIES)]
    energy = {"ev": 60.0 + i % 40, "lmt": 0.5 + (i % 5) * 0.1, "stationary": 100.0 + i % 50}[category.value]
    voltage = 48.0 if category is BatteryCategory.LMT else 400.0
    return BatteryUnit(
        battery_id=f"urn:uuid:01934b2e-7c1a-7def-8abc-{i:012x}",
        level=UnitLevel.SYSTEM if category is BatteryCategory.STATIONARY else UnitLevel.PACK,
        chemistry=CHEMS[i % len(CHEMS)],
        category=category,
        manufacturer_id=f"maker-{i % 7}",
        model=f"Model {i % 13}",
        mass_kg=energy * 6.0,
        rated_energy_kwh=energy,
        rated_capacity_ah=round(energy * 1000.0 / voltage, 2),
        nominal_voltage_v=voltage,
        manufactured_on=date(2027, 1 + i % 12, 1 + i % 28),
        manufacturing_country=("DE", "PL", "HU", "CN", "KR")[i % 5],
        gtin="04012345000016",
        serial=f"S{i:08d}",
    )


# Trees before the passport's links were made at read time wrote the resolver's links into the payload, so
# their synthetic_passport_data takes the resolver domain; newer trees take no such argument. The benchmark
# runs against both (bench_instructions.py: a base and a head tree).
_PAYLOAD_OPTIONS = (
    {"resolver_domain": RESOLVER}
    if "resolver_domain" in inspect.signature(synthetic_passport_data).parameters
    else {}
)


def demo_stream(i: int) -> list[PlainEvent]:
    unit = demo_unit(i)
    bid = unit.battery_id
    t = T0 + timedelta(minutes=i)
    return [
        PlainEvent(bid, "BatteryManufactured", t, unit.to_payload()),
        PlainEvent(
            bid, "PassportDataRegistered", t, synthetic_passport_data(unit, seed=1, **_PAYLOAD_OPTIONS)
        ),
        PlainEvent(bid, "BatteryPlacedOnMarket", t + timedelta(days=30), {"country": "DE"}),
        PlainEvent(bid, "BatteryPutIntoService", t + timedelta(days=40), {}),
        PlainEvent(
            bid,
            "StateOfHealthReported",
            t + timedelta(days=400),
            {"soh_pct": 97.0 - i % 9, "capacity_ah": unit.rated_capacity_ah * 0.95, "cycles": 150 + i % 300},
        ),
        PlainEvent(bid, "NegativeEventReported", t + timedelta(days=500), {"kind": "deep_discharge"}),
    ]


def bench_build(n: int, chunk: int = 5000) -> dict[str, float]:
    generate_s = build_s = 0.0
    checksum = 0
    for start in range(0, n, chunk):
        t0 = time.perf_counter()
        streams = [demo_stream(i) for i in range(start, min(n, start + chunk))]
        t1 = time.perf_counter()
        for events in streams:
            checksum += build_passport(events, resolver_domain=RESOLVER).lifecycle.version
        build_s += time.perf_counter() - t1
        generate_s += t1 - t0
    assert checksum == 6 * n, checksum
    return {
        "passports": n,
        "build_s": round(build_s, 2),
        "per_passport_us": round(build_s / n * 1e6, 1),
        "passports_per_s": round(n / build_s),
        "stream_generation_s": round(generate_s, 2),
        "under_60_s": build_s < 60.0,
    }


# ------------------------------------------------------------------------------------------ serving


def prepare_ledger(path: Path, n: int) -> list[str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from batteryloop.domain.organisation import Organisation, Role
    from batteryloop.ledger import EventIn, Ledger, sign_batch

    ledger = Ledger.open(f"sqlite:///{path}", create=True)
    makers = sorted({demo_unit(i).manufacturer_id for i in range(n)})
    keys = {}
    for org in makers:
        ledger.register_organisation(
            Organisation(org, org.title(), "DE", frozenset({Role.BATTERY_MANUFACTURER}))
        )
        keys[org] = Ed25519PrivateKey.generate()
        # the raw public key straight from cryptography: bench_ab runs this in older source trees too
        ledger.add_signing_key(org, keys[org].public_key().public_bytes_raw())
    ids = []
    for i in range(n):
        unit = demo_unit(i)
        events = [
            EventIn(e.battery_id, e.event_type, e.occurred_at, dict(e.payload))  # type: ignore[arg-type]
            for e in demo_stream(i)
        ]
        org = unit.manufacturer_id
        ledger.append(sign_batch(events, actor=org, private_key=keys[org]))
        ids.append(unit.battery_id)
    ledger.close()
    return ids


def serve(db_url: str, port: int) -> None:  # runs in the server process
    import uvicorn
    from fastapi import FastAPI

    from batteryloop.app import create_app
    from batteryloop.config import Settings

    app: FastAPI = create_app(settings=Settings(database_url=db_url, resolver_domain=RESOLVER))

    @app.get("/bench/minimal")
    def minimal() -> dict[str, bool]:
        return {"ok": True}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _drive(port: int, paths: list[str], seconds: float, connections: int) -> tuple[int, int, float]:
    """Keep-alive GET load: returns (ok responses, other responses, elapsed seconds)."""
    ok = bad = 0
    stop = time.perf_counter() + seconds
    requests = [
        f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode() for p in paths
    ]

    async def worker(offset: int) -> None:
        nonlocal ok, bad
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        try:
            while time.perf_counter() < stop:
                writer.write(requests[i % len(requests)])
                i += connections
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                if status == 200:
                    ok += 1
                else:
                    bad += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(connections)))
    return ok, bad, time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_serve(seconds: float, connections: int, batteries: int = 200) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        ids = prepare_ledger(db, batteries)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, __file__, "_serve", f"sqlite:///{db}", str(port)],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the passport server did not start") from None
                    time.sleep(0.1)
            passport_paths = [f"/passports/{bid}" for bid in ids]
            asyncio.run(_drive(port, passport_paths, 1.0, connections))  # warm-up: fills the passport cache
            asyncio.run(_drive(port, ["/bench/minimal"], 0.5, connections))
            results = {}
            for name, paths in (("minimal", ["/bench/minimal"]), ("passport", passport_paths)):
                ok, bad, elapsed = asyncio.run(_drive(port, paths, seconds, connections))
                if bad:
                    raise RuntimeError(f"{name}: {bad} responses were not 200")
                results[name] = ok / elapsed
        finally:
            server.terminate()
            server.wait(timeout=10)
    return {
        "connections": connections,
        "seconds": seconds,
        "batteries": batteries,
        "minimal_req_per_s": round(results["minimal"]),
        "passport_req_per_s": round(results["passport"]),
        "ratio_passport_to_minimal": round(results["passport"] / results["minimal"], 3),
        "at_least_1000_req_per_s": results["passport"] >= 1000.0,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-n", type=int, default=100_000)
    parser.add_argument("--serve-seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-serve", action="store_true")
    args = parser.parse_args(argv)
    out: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if not args.skip_serve:
        out["serve"] = bench_serve(args.serve_seconds, args.connections)
        print("serve:", json.dumps(out["serve"]))
    if not args.skip_build:
        out["build"] = bench_build(args.build_n)
        print("build:", json.dumps(out["build"]))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        main()
