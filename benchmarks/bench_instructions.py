"""Instructions per passport request, two source trees, counted by valgrind's callgrind.

Wall-clock A/B runs on a shared 2-core machine swing by 10 % between runs; instruction counts do not depend on
what else the machine is doing. Each tree serves ``GET /passports/{id}`` (public tier, JSON) from the same
SQLite ledger through the real ASGI app (``create_app``: routing, middleware, exception handlers, the
threadpool hop) called in-process through the ASGI interface, in three runs: 1 request (start-up and
imports), 1 + 200 (every battery's first view: ledger read, build, render) and 1 + 600 (then two views of each
from the rendered cache). Differences of the totals give the instructions of one request of each kind.

    python benchmarks/bench_instructions.py --base /path/to/old/tree --head .

The ledger is built by ``bench_passport.prepare_ledger`` (200 batteries with passport data, the same seed)
by each tree for itself, since a newer tree may migrate the schema past what the older can open. Needs valgrind (Debian package ``valgrind``). Prints JSON; ``--results`` writes it to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BATTERIES = 200
RUNS = (
    1,
    1 + BATTERIES,
    1 + 3 * BATTERIES,
)  # start-up only; + every battery once; + every battery twice more


def worker(db_url: str, ids_file: str, n: int) -> None:
    """Runs inside the tree under test: ``n`` public passport requests through the whole ASGI app."""
    import asyncio

    from batteryloop.config import Settings

    try:
        from batteryloop.app import create_app
    except ImportError:
        from batteryloop.api.app import create_app  # type: ignore[no-redef,import-not-found]

    ids = json.loads(Path(ids_file).read_text())
    options: dict[str, object] = {}
    try:  # trees with the HTTP edge: one in-process client asks 601 times, past the per-address burst
        from batteryloop.config import WebSettings

        options["web"] = WebSettings.from_mapping(
            {"rate_per_address_per_s": 1_000_000.0, "rate_burst_per_address": 1_000_000}
        )
    except ImportError:
        pass
    app = create_app(
        settings=Settings(database_url=db_url, resolver_domain="https://id.batteryloop.example", **options)  # type: ignore[arg-type]
    )

    async def get(path: str) -> int:
        """One request through the ASGI interface itself, as a server would make it (no client library)."""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bench"), (b"accept", b"application/json")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        status = 0

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])  # type: ignore[call-overload]

        await app(scope, receive, send)
        return status

    async def run() -> None:
        async with app.router.lifespan_context(app):
            for i in range(n):
                path = f"/passports/{ids[i % len(ids)]}"
                if (status := await get(path)) != 200:
                    raise RuntimeError(f"{status} for {path}")

    asyncio.run(run())


def instructions(tree: Path, db: Path, ids: Path, n: int, out_dir: Path) -> int:
    out = out_dir / f"callgrind.{tree.name}.{n}"
    env = {
        **os.environ,
        "PYTHONPATH": str(tree / "src"),
        "PYTHONHASHSEED": "0",
    }
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "_worker",
            f"sqlite:///{db}",
            str(ids),
            str(n),
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(errors="replace"), flags=re.M)
    if match is None:
        raise RuntimeError(f"no totals in {out}")
    return int(match.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--head", type=Path, default=Path("."))
    ap.add_argument("--results", type=Path)
    args = ap.parse_args()
    head, base = args.head.resolve(), args.base.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ids = work / "ids.json"
        dbs = {name: work / f"passports-{name}.db" for name in ("base", "head")}
        for name, tree in (("base", base), ("head", head)):  # each tree builds its own (schemas may differ)
            code = (
                "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[3]); "
                "from bench_passport import prepare_ledger; "
                "open(sys.argv[2], 'w').write(json.dumps(prepare_ledger(Path(sys.argv[1]), BATTERIES)))"
            ).replace("BATTERIES", str(BATTERIES))
            subprocess.run(
                [sys.executable, "-c", code, str(dbs[name]), str(ids), str(Path(__file__).parent)],
                env={**os.environ, "PYTHONPATH": str(tree / "src")},
                check=True,
            )
        result: dict[str, object] = {"batteries": BATTERIES, "requests": list(RUNS)}
        per: dict[str, tuple[float, float]] = {}
        for name, tree in (("base", base), ("head", head)):
            start, warm, hot = (instructions(tree, dbs[name], ids, n, work) for n in RUNS)
            first = (warm - start) / (RUNS[1] - RUNS[0])  # each battery's first view: build + render
            again = (hot - warm) / (RUNS[2] - RUNS[1])  # views served from the rendered cache
            per[name] = (first, again)
            result[name] = {
                "tree": str(tree),
                "totals": [start, warm, hot],
                "first_view_instructions": round(first),
                "cached_view_instructions": round(again),
            }
        result["head_over_base_first_view"] = round(per["head"][0] / per["base"][0], 3)
        result["head_over_base_cached_view"] = round(per["head"][1] / per["base"][1], 3)
    text = json.dumps(result, indent=2)
    print(text)
    if args.results:
        args.results.write_text(text + "\n")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "_worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
