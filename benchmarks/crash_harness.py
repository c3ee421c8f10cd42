"""Crash harness: SIGKILL the writer at random points while it ingests, then check what survived.

    python benchmarks/crash_harness.py --engine sqlite|postgres --path cli|python|http --kills N --seed S
        [--per-batch 40] [--round-batches 6] [--targeted 0.25] [--json results.json]

Three ingestion paths, each in a process of its own session, killed with SIGKILL (its whole process group;
a targeted point kills only the process itself, as the OOM killer would):

- ``cli``: ``batteryloop events append FILE --batch-size B`` on the batches of one round; the client (this
  harness) records the round's batches as acknowledged once the command has exited 0.
- ``python``: a client forked from this process (batteryloop already imported) calling
  ``Ledger.append_bulk`` with its forked prepare-ahead helper (progress callback = one committed batch) or, on
  alternate rounds, ``service.append_events`` once per batch; it records each acknowledgement itself.
- ``http``: ``batteryloop serve`` (uvicorn) in a subprocess; this harness posts the batches alternately to
  ``POST /events`` and ``POST /events/bulk`` and records a batch when its 201 answer arrived; the server is
  killed while requests are in flight.

Acknowledgements go to an append-only ack log, flushed and fsynced before the client does anything else.

Each round starts at the first unacknowledged batch (a client resuming after a crash, so batches committed
but never acknowledged are sent again). The kill comes after a uniform random delay in [S, D]: D is the
duration of a first, unkilled round, S that of the same client re-sending one stored batch (its start-up), so
the delays cover the ingestion; for http both count from the server's first answer. A fraction ``--targeted`` of the rounds instead kills at a targeted
point of the write path (before the commit of the n-th transaction, after it, or right after the n-th batch's
rows were inserted, still uncommitted). Targeted points are installed by this harness in the killed process
(``_hooked`` / the forked client wrap ``WriteTx.commit`` and ``append_locked``): no test-only code in the product.

After every kill: ``verify`` must pass, every acknowledged batch must be stored whole, no batch may be
stored in part, no event twice. At the end the whole input is sent again from the first batch (the same
path, no kill): the ledger must then hold every input event exactly once (idempotent replay) and verify.

The reusable core (:func:`run_campaign`) is what ``tests/integration/ledger/test_crash_harness.py`` calls with
a few kills per path and engine.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ENGINES = ("sqlite", "postgres")
PATHS = ("cli", "python", "http")
POINTS = ("before_commit", "after_insert", "after_commit")
ORG = "crash-maker"
HANG_S = 120.0  # a client round that has not ended after this long is reported as hung
POINT_ENV = "BATTERYLOOP_CRASH_POINT"  # read by this harness's own _worker/_hooked entry points only
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
_STEPS = (  # (lag in pipeline steps, event type, payload): each battery's events, spread over batches
    (0, "BatteryManufactured", {"level": "pack", "chemistry": "LFP", "category": "ev", "mass_kg": 410.0}),
    (3, "BatteryPlacedOnMarket", {"country": "DE"}),
    (6, "BatteryPutIntoService", {}),
    (9, "StateOfHealthReported", {"soh_pct": 97.5}),
)


# --------------------------------------------------------------------------------------------- workload
def make_workload(n_batches: int, per_batch: int) -> list[list[dict[str, Any]]]:
    """``n_batches`` batches of ``per_batch`` events (NDJSON records without idempotency keys: the replay
    relies on the default key, the content hash). Batteries are pipelined so that a battery's events fall
    in different batches and a batch depends on earlier ones; (battery_id, event_type) names an event."""
    need = n_batches * per_batch
    flat: list[dict[str, Any]] = []
    step = 0
    while len(flat) < need:
        for lag, event_type, payload in _STEPS:
            index = step - lag
            if index >= 0:
                flat.append(
                    {
                        "battery_id": f"urn:uuid:{uuid.UUID(int=index + 1)}",
                        "event_type": event_type,
                        "occurred_at": (T0 + timedelta(minutes=index, days=lag)).isoformat(),
                        "payload": payload,
                    }
                )
        step += 1
    return [flat[i * per_batch : (i + 1) * per_batch] for i in range(n_batches)]


def ndjson(records: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)


# --------------------------------------------------------------------------------------------- ack log
class AckLog:
    """The client's durable record of acknowledged batches: one index per line, fsynced per write."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, batches: Sequence[int]) -> None:
        if not batches:
            return
        with self.path.open("a", encoding="ascii") as fh:
            fh.write("".join(f"{b}\n" for b in batches))
            fh.flush()
            os.fsync(fh.fileno())

    def read(self) -> set[int]:
        if not self.path.exists():
            return set()
        # a kill can tear the last line only if it lands inside write(): ignore a line without its newline
        text = self.path.read_text(encoding="ascii")
        return {int(line) for line in text.split("\n")[:-1] if line}


# --------------------------------------------------------------------------------------------- target
@dataclass
class Target:
    """The database under test, its working folder (key store, ack log, round files) and credentials."""

    engine: str
    url: str
    workdir: Path
    key_id: str = ""
    api_key: str = ""
    drop: Callable[[], None] | None = None

    @property
    def keystore_dir(self) -> Path:
        from batteryloop.orgs.keystore import keystore_dir_for

        path = keystore_dir_for(self.url)
        return path if path.is_absolute() else self.workdir / path


def sqlite_target(workdir: Path) -> Target:
    return Target("sqlite", f"sqlite:///{workdir.resolve() / 'crash.db'}", workdir)


def postgres_target(workdir: Path, base_url: str | None = None) -> Target:
    """A throwaway database ``bl_crash_<random>`` on the server of ``base_url`` (env
    BATTERYLOOP_TEST_PG_URL or the default), dropped by ``target.drop()``."""
    import psycopg

    base = base_url or os.environ.get("BATTERYLOOP_TEST_PG_URL", DEFAULT_PG_URL)
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    name = f"bl_crash_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as con:
        con.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return Target("postgres", base.rsplit("/", 1)[0] + "/" + name, workdir, drop=drop)


def enrol(target: Target) -> None:
    """Create the schema, register the organisation with a signing key in the CLI's key store, issue an
    API key."""
    from batteryloop.domain.organisation import Organisation, Role
    from batteryloop.ledger import Ledger
    from batteryloop.orgs import KeyStore
    from batteryloop.orgs import service as orgs_service

    ledger = Ledger.open(target.url, create=True)
    try:
        org = Organisation(ORG, "Crash Maker", "DE", frozenset({Role.BATTERY_MANUFACTURER}))
        enrolment = orgs_service.enrol(ledger, org, keystore=KeyStore(target.keystore_dir))
        target.key_id = enrolment.key_id
        target.api_key = ledger.issue_api_key(ORG)
    finally:
        ledger.close()


# --------------------------------------------------------------------------------------------- checks
@dataclass
class LedgerCheck:
    """What the ledger holds against the input and the ack log."""

    verify_ok: bool
    verify_detail: str
    events: int
    whole_batches: set[int]
    partial_batches: list[int]
    lost_acks: list[int]
    duplicates: int
    foreign: int  # stored events that are not in the input

    @property
    def ok(self) -> bool:
        return self.verify_ok and not (
            self.partial_batches or self.lost_acks or self.duplicates or self.foreign
        )


def check_ledger(
    target: Target, workload: Sequence[Sequence[dict[str, Any]]], acked: set[int]
) -> LedgerCheck:
    from batteryloop.ledger import Ledger

    where = {(e["battery_id"], e["event_type"]): b for b, batch in enumerate(workload) for e in batch}
    ledger = Ledger.open(target.url, create=False)
    try:
        report = ledger.verify(workers=1)
        seen: Counter[tuple[str, str]] = Counter(
            (e.battery_id, str(e.event_type)) for e in ledger.iter_events()
        )
    finally:
        ledger.close()
    per_batch: Counter[int] = Counter()
    foreign = 0
    for name, count in seen.items():
        if name in where:
            per_batch[where[name]] += 1
        else:
            foreign += count
    whole = {b for b, n in per_batch.items() if n == len(workload[b])}
    partial = sorted(b for b, n in per_batch.items() if 0 < n < len(workload[b]))
    broken = report.first_broken
    return LedgerCheck(
        verify_ok=report.ok,
        verify_detail="" if broken is None else str(broken),
        events=sum(seen.values()),
        whole_batches=whole,
        partial_batches=partial,
        lost_acks=sorted(acked - whole),
        duplicates=sum(n - 1 for n in seen.values() if n > 1),
        foreign=foreign,
    )


# --------------------------------------------------------------------------------------------- processes
def _child_env(point: str | None = None) -> dict[str, str]:
    import batteryloop

    src = str(Path(batteryloop.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env.pop(POINT_ENV, None)
    if point is not None:
        env[POINT_ENV] = point
    return env


def _spawn(argv: list[str], target: Target, point: str | None, **kw: Any) -> subprocess.Popen[bytes]:
    """A child in a session of its own, so that a kill reaches the helpers it forks (append_bulk's)."""
    return subprocess.Popen(argv, cwd=target.workdir, env=_child_env(point), start_new_session=True, **kw)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's process group (the child and whatever it forked) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _wait_or_kill(
    proc: subprocess.Popen[bytes], delay: float | None, limit: float = 600.0
) -> tuple[bool, str, str]:
    """Wait for the child; SIGKILL it after ``delay`` seconds if still running. (killed, stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=delay if delay is not None else limit)
        return False, out.decode(), err.decode()
    except subprocess.TimeoutExpired:
        _kill(proc)
        out, err = proc.communicate()
        return True, out.decode(), err.decode()


def _cli_command() -> list[str]:
    script = Path(sys.executable).with_name("batteryloop")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from batteryloop.cli_index import main; main()"]


def _hooked_command() -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "_hooked"]


# --------------------------------------------------------------------------------------------- kill points
def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install_kill_point(spec: str) -> None:
    """In the process to be killed: SIGKILL itself at ``point:n`` of the write path.

    ``before_commit:n`` / ``after_commit:n``: around the n-th ``WriteTx.commit`` (a batch or group of the
    ingest); ``after_insert:n``: right after the n-th batch's rows were inserted on an open write
    transaction (mid-group on the bulk path). Done by wrapping functions from outside, in this harness only.
    """
    from batteryloop.ledger.adapters import ingest, tx

    point, _, nth = spec.partition(":")
    target_n = int(nth)
    counter = itertools.count(1)
    if point in ("before_commit", "after_commit"):
        original_commit = tx.WriteTx.commit

        def commit(self: Any) -> None:
            n = next(counter)
            if point == "before_commit" and n == target_n:
                _die()
            original_commit(self)
            if point == "after_commit" and n == target_n:
                _die()

        tx.WriteTx.commit = commit  # type: ignore[method-assign]
    elif point == "after_insert":
        original_append = ingest.append_locked

        def append_locked(*args: Any, **kwargs: Any) -> Any:
            result, write = original_append(*args, **kwargs)
            if write is None:
                return result, write

            def write_then_maybe_die(*a: Any, **k: Any) -> Any:
                out = write(*a, **k)
                if next(counter) == target_n:
                    _die()
                return out

            return result, write_then_maybe_die

        ingest.append_locked = append_locked  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown kill point {spec!r}; use one of {POINTS} as point:n")


def _hooked_main(argv: list[str]) -> None:
    """``crash_harness.py _hooked ARGS``: the batteryloop CLI with ARGS, a kill point installed first."""
    spec = os.environ.get(POINT_ENV)
    if spec:
        install_kill_point(spec)
    from batteryloop.cli_index import main

    sys.argv = ["batteryloop", *argv]
    main()


def _worker_main(argv: list[str]) -> None:
    """``crash_harness.py _worker URL KEYS MODE ACKLOG FIRST RESULT FILE...``: the Python ingestion client.
    MODE bulk: ``Ledger.append_bulk`` over all batches, each acknowledged in the progress callback (called
    once per batch, in order, after its commit); MODE events: ``service.append_events`` per batch. Writes
    ``{"appended": n}`` to RESULT when done."""
    spec = os.environ.get(POINT_ENV)
    if spec:
        install_kill_point(spec)
    from batteryloop.ledger import Ledger, LedgerSettings, service, sign_batch
    from batteryloop.ledger.interchange import parse_ndjson
    from batteryloop.orgs import KeyStore

    url, key_dir, mode, ack_path, first, result_path, *files = argv
    acks = AckLog(Path(ack_path))
    # the forked prepare-ahead helper runs for small bulk loads too, so kills also hit that set-up
    settings = LedgerSettings.from_file().with_(parallel_prepare_min_events=1)
    ledger = Ledger.open(url, create=False, settings=settings)
    key_id, key = KeyStore(key_dir).load(ORG)
    batches = [parse_ndjson(Path(f).read_text(encoding="utf-8").splitlines()) for f in files]
    indices = iter(range(int(first), int(first) + len(batches)))
    appended = 0
    if mode == "bulk":
        signed = [sign_batch(b, actor=ORG, private_key=key) for b in batches]
        appended = ledger.append_bulk(signed, progress=lambda _n: acks.record([next(indices)]))
    else:
        caller = ledger.get_organisation(ORG)
        for events in batches:
            signature = sign_batch(events, actor=ORG, private_key=key).signature
            result = service.append_events(ledger, events, caller=caller, key_id=key_id, signature=signature)
            appended += result.appended
            acks.record([next(indices)])
    ledger.close()
    Path(result_path).write_text(json.dumps({"appended": appended}))


def _forked_worker(argv: list[str], point: str | None) -> None:
    """The forked child's entry: a session of its own (the kill takes its process group), then the worker."""
    import faulthandler

    os.setsid()
    faulthandler.dump_traceback_later(HANG_S, exit=True)  # a hang shows where, then counts as a failure
    os.environ.pop(POINT_ENV, None)
    if point is not None:
        os.environ[POINT_ENV] = point
    _worker_main(argv)


# --------------------------------------------------------------------------------------------- one round
@dataclass
class Round:
    """One client run over batches [first, first + count)."""

    killed: bool
    point: str | None
    seconds: float  # spawn (http: server ready) to exit or kill
    appended: int | None = None  # events the client was told were appended (when it finished)


def _round_files(
    target: Target, workload: Sequence[Sequence[dict[str, Any]]], first: int, count: int
) -> list[Path]:
    folder = target.workdir / "round"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    files = []
    for b in range(first, min(first + count, len(workload))):
        path = folder / f"{b:06d}.ndjson"
        path.write_text(ndjson(workload[b]), encoding="utf-8")
        files.append(path)
    return files


def round_cli(
    target: Target,
    workload: Sequence[Sequence[dict[str, Any]]],
    first: int,
    count: int,
    acks: AckLog,
    delay: float | None,
    point: str | None,
) -> Round:
    """``batteryloop events append`` over the round's batches in one file; acknowledged when it exits 0."""
    last = min(first + count, len(workload))
    path = target.workdir / "round.ndjson"
    path.write_text("".join(ndjson(workload[b]) for b in range(first, last)), encoding="utf-8")
    per_batch = len(workload[first])
    argv = ["events", "append", str(path), "--org", ORG, "--db", target.url, "--batch-size", str(per_batch)]
    command = (_hooked_command() if point else _cli_command()) + argv
    start = time.perf_counter()
    proc = _spawn(command, target, point, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed, out, err = _wait_or_kill(proc, delay)
    seconds = time.perf_counter() - start
    if killed:
        return Round(True, point, seconds)
    if proc.returncode != 0:
        if proc.returncode == -signal.SIGKILL:  # a targeted point fired
            return Round(True, point, seconds)
        raise RuntimeError(f"events append failed ({proc.returncode}): {err or out}")
    acks.record(list(range(first, last)))
    appended = int(out.split("appended ", 1)[1].split(" ", 1)[0])
    return Round(False, point, seconds, appended)


def round_python(
    target: Target,
    workload: Sequence[Sequence[dict[str, Any]]],
    first: int,
    count: int,
    acks: AckLog,
    delay: float | None,
    point: str | None,
    mode: str,
) -> Round:
    """The Python client forked from this process (batteryloop is imported already, so the kill's delay is
    spent ingesting, not importing): ``Ledger.append_bulk`` or ``service.append_events``."""
    import multiprocessing

    import batteryloop.ledger.interchange
    import batteryloop.ledger.service  # noqa: F401  (imported once here, not in every child)

    files = _round_files(target, workload, first, count)
    result = target.workdir / "worker.json"
    result.unlink(missing_ok=True)
    argv = [target.url, str(target.keystore_dir), mode, str(acks.path), str(first), str(result)]
    start = time.perf_counter()
    proc = multiprocessing.get_context("fork").Process(
        target=_forked_worker, args=([*argv, *map(str, files)], point)
    )
    proc.start()
    assert proc.pid is not None
    proc.join(delay if delay is not None else HANG_S + 10)
    killed = proc.is_alive()
    if killed and delay is None:
        os.killpg(proc.pid, signal.SIGKILL)
        raise RuntimeError(f"the python client hung for {HANG_S + 10:.0f} s")
    if killed:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # killed before its setsid(): no group of its own yet
            os.kill(proc.pid, signal.SIGKILL)
        proc.join()
    seconds = time.perf_counter() - start
    exitcode = proc.exitcode
    proc.close()
    if killed or not result.exists():
        if killed or exitcode == -signal.SIGKILL:
            return Round(True, point, seconds)
        raise RuntimeError(f"the python client failed (exit {exitcode}; its traceback is above)")
    return Round(False, point, seconds, int(json.loads(result.read_text())["appended"]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``batteryloop serve`` in a subprocess of its own session."""

    def __init__(self, target: Target, point: str | None) -> None:
        self.port = _free_port()
        argv = ["serve", "--db", target.url, "--host", "127.0.0.1", "--port", str(self.port)]
        command = (_hooked_command() if point else _cli_command()) + argv
        self.log = target.workdir / "server.log"
        with self.log.open("ab") as log:  # the child keeps its own descriptor
            self.proc = _spawn(command, target, point, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                err = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the server exited ({self.proc.returncode}): {err}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                _kill(self.proc)
                raise RuntimeError("the server did not answer /health within 60 s")
            time.sleep(0.05)

    def kill(self) -> None:
        _kill(self.proc)


def round_http(
    target: Target,
    workload: Sequence[Sequence[dict[str, Any]]],
    first: int,
    count: int,
    acks: AckLog,
    delay: float | None,
    point: str | None,
) -> Round:
    """Post the round's batches one by one (even batches to /events, odd ones to /events/bulk); a timer
    kills the server ``delay`` seconds after it answered /health."""
    import threading

    from batteryloop.ledger import sign_batch
    from batteryloop.ledger.interchange import parse_ndjson
    from batteryloop.orgs import KeyStore

    _, key = KeyStore(target.keystore_dir).load(ORG)
    server = Server(target, point)
    timer = threading.Timer(delay, server.kill) if delay is not None else None
    start = time.perf_counter()
    if timer is not None:
        timer.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    appended = 0
    killed = False
    try:
        for b in range(first, min(first + count, len(workload))):
            body_text = ndjson(workload[b])
            signature = sign_batch(parse_ndjson(body_text.splitlines()), actor=ORG, private_key=key).signature
            headers = {"X-API-Key": target.api_key}
            if b % 2 == 0:
                body = json.dumps(
                    {"key_id": target.key_id, "signature": signature.hex(), "events": workload[b]}
                )
                path, headers["Content-Type"] = "/events", "application/json"
            else:
                body = body_text
                path, headers["X-Key-Id"], headers["X-Signature"] = (
                    "/events/bulk",
                    target.key_id,
                    signature.hex(),
                )
                headers["Content-Type"] = "application/x-ndjson"
            try:
                conn.request("POST", path, body=body.encode(), headers=headers)
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException):
                killed = True
                break
            if response.status != 201:
                raise RuntimeError(f"POST {path} answered {response.status}: {answer[:500]!r}")
            acks.record([b])
            appended += int(json.loads(answer)["appended"])
    finally:
        conn.close()
        if timer is not None:
            timer.cancel()
    seconds = time.perf_counter() - start
    if server.proc.poll() is not None:  # killed by the timer or a targeted point
        killed = True
        server.proc.wait()
    else:
        server.kill()
    return Round(killed, point, seconds, None if killed else appended)


# --------------------------------------------------------------------------------------------- campaign
@dataclass
class KillRecord:
    round: int
    point: str  # "random" or the targeted point:n
    delay_s: float | None
    acked_in_round: int
    committed_unacked: int  # batches stored whole but never acknowledged (killed between commit and ack)
    verify_ok: bool
    partial: int
    lost_acks: int


@dataclass
class CampaignReport:
    engine: str
    path: str
    seed: int
    kills_requested: int
    kills: int = 0
    kills_random: int = 0
    kills_targeted: dict[str, int] = field(default_factory=dict)
    rounds: int = 0
    rounds_unkilled: int = 0
    window_s: tuple[float, float] = (0.0, 0.0)  # the random delays' range
    input_batches: int = 0
    input_events: int = 0
    acked_batches: int = 0
    committed_unacked_at_kill: int = 0
    kills_with_progress: int = 0  # kills after which the round had committed at least one new batch
    verify_failures: int = 0
    partial_batches: int = 0
    lost_acks: int = 0
    duplicates_after_kills: int = 0
    rerun_appended: int = 0
    final_events: int = 0
    final_duplicates: int = 0
    final_verify_ok: bool = False
    exactly_once: bool = False
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    kill_log: list[KillRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.failures
            and self.kills >= self.kills_requested
            and self.verify_failures == 0
            and self.partial_batches == 0
            and self.lost_acks == 0
            and self.duplicates_after_kills == 0
            and self.final_verify_ok
            and self.exactly_once
        )


def _run_round(
    path: str,
    target: Target,
    workload: Sequence[Sequence[dict[str, Any]]],
    first: int,
    count: int,
    acks: AckLog,
    delay: float | None,
    point: str | None,
    index: int,
) -> Round:
    if path == "cli":
        return round_cli(target, workload, first, count, acks, delay, point)
    if path == "python":
        return round_python(
            target, workload, first, count, acks, delay, point, "bulk" if index % 2 == 0 else "events"
        )
    return round_http(target, workload, first, count, acks, delay, point)


def _first_unacked(acked: set[int], n: int) -> int:
    return next((b for b in range(n) if b not in acked), n)


def run_campaign(
    target: Target,
    *,
    path: str,
    kills: int,
    seed: int,
    per_batch: int = 40,
    round_batches: int = 6,
    targeted: float = 0.25,
    window_s: tuple[float, float] | None = None,
    max_rounds: int | None = None,
    log: Callable[[str], None] | None = None,
) -> CampaignReport:
    """Enrol ``target``, then kill ``path``'s writer ``kills`` times (checking after each kill), then re-run
    the whole input and check that it is stored exactly once. ``window_s``: the random delays'
    range in seconds (default: calibrated, from the time the client takes to re-send one stored batch to the
    time it takes for a full round; for http both from the moment the server answers).
    """
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; use one of {PATHS}")
    rng = random.Random(seed)
    report = CampaignReport(target.engine, path, seed, kills)
    started = time.perf_counter()
    enrol(target)
    n_batches = (3 * kills + 4) * round_batches  # rounds the kill misses use up input too
    workload = make_workload(n_batches, per_batch)
    report.input_batches, report.input_events = n_batches, n_batches * per_batch
    acks = AckLog(target.workdir / "acks.log")
    max_rounds = max_rounds or 4 * kills + 8
    window = window_s
    if window is None:  # calibrate: a full round, then the same client re-sending one stored batch
        full = _run_round(path, target, workload, 0, round_batches, acks, None, None, 1)
        idle = _run_round(path, target, workload, 0, 1, acks, None, None, 1) if path != "http" else None
        report.rounds, report.rounds_unkilled = 2 - (idle is None), 2 - (idle is None)
        window = (min(idle.seconds, full.seconds) if idle else 0.0, full.seconds)
    report.window_s = (round(window[0], 4), round(window[1], 4))
    say = log or (lambda _m: None)
    before = check_ledger(target, workload, acks.read())
    while report.kills < kills and report.rounds < max_rounds:
        acked = acks.read()
        first = _first_unacked(acked, n_batches)
        if first >= n_batches:
            report.failures.append("the input ran out before the kills were done; raise --round-batches")
            break
        point = None
        delay: float | None = rng.uniform(*window)
        if rng.random() < targeted:
            point = f"{rng.choice(POINTS)}:{rng.randint(1, round_batches)}"
            delay = None
        index = report.rounds
        outcome = _run_round(path, target, workload, first, round_batches, acks, delay, point, index)
        report.rounds += 1
        if not outcome.killed:
            report.rounds_unkilled += 1
            continue
        acked = acks.read()
        check = check_ledger(target, workload, acked)
        new_whole = check.whole_batches - before.whole_batches
        this_round = set(range(first, first + round_batches))
        record = KillRecord(
            round=index,
            point=point or "random",
            delay_s=None if point else round(delay or 0.0, 4),
            acked_in_round=len(acked & this_round),
            committed_unacked=len((check.whole_batches - acked) & this_round),
            verify_ok=check.verify_ok,
            partial=len(check.partial_batches),
            lost_acks=len(check.lost_acks),
        )
        report.kill_log.append(record)
        report.kills += 1
        if point:
            name = point.split(":")[0]
            report.kills_targeted[name] = report.kills_targeted.get(name, 0) + 1
        else:
            report.kills_random += 1
        report.committed_unacked_at_kill += record.committed_unacked
        report.kills_with_progress += bool(new_whole)
        report.verify_failures += not check.verify_ok
        report.partial_batches += len(check.partial_batches)
        report.lost_acks += len(check.lost_acks)
        report.duplicates_after_kills += check.duplicates + check.foreign
        if not check.ok:
            report.failures.append(
                f"after kill {report.kills} (round {index}, {record.point}): verify "
                f"{'ok' if check.verify_ok else 'FAILED ' + check.verify_detail}, partial {check.partial_batches}, "
                f"lost acks {check.lost_acks}, duplicates {check.duplicates}, foreign {check.foreign}"
            )
        say(
            f"kill {report.kills:3d} {record.point:16s} delay {record.delay_s} acked {record.acked_in_round} "
            f"committed-unacked {record.committed_unacked} verify {'ok' if check.verify_ok else 'FAIL'}"
        )
        before = check
    # the same input again, from its first batch, to the end, without a kill: exactly once
    stored_before = check_ledger(target, workload, acks.read()).events
    final_round = _run_round(path, target, workload, 0, n_batches, acks, None, None, 0)
    report.rounds += 1
    report.acked_batches = len(acks.read())
    final = check_ledger(target, workload, acks.read())
    report.rerun_appended = final_round.appended or 0
    report.final_events = final.events
    report.final_duplicates = final.duplicates + final.foreign
    report.final_verify_ok = final.verify_ok
    report.exactly_once = (
        not final_round.killed
        and final.events == report.input_events
        and final.duplicates == 0
        and final.foreign == 0
        and not final.partial_batches
        and len(final.whole_batches) == n_batches
        and report.rerun_appended == report.input_events - stored_before
    )
    if not report.exactly_once:
        report.failures.append(
            f"re-run: stored {final.events} of {report.input_events} events, {final.duplicates} duplicates, "
            f"appended {report.rerun_appended} (expected {report.input_events - stored_before})"
        )
    report.seconds = round(time.perf_counter() - started, 2)
    return report


@dataclass
class _Workspace:
    target: Target
    folder: Path


def open_target(engine: str, base: Path, pg_url: str | None = None) -> Target:
    """A fresh database of ``engine`` with its working folder under ``base``."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {ENGINES}")
    base.mkdir(parents=True, exist_ok=True)
    return sqlite_target(base) if engine == "sqlite" else postgres_target(base, pg_url)


def campaign(engine: str, path: str, *, base: Path | None = None, **options: Any) -> CampaignReport:
    """:func:`run_campaign` on a fresh database of ``engine`` (a temporary folder unless ``base``)."""
    folder = Path(tempfile.mkdtemp(prefix=f"crash-{engine}-{path}-", dir=base))
    target = open_target(engine, folder, options.pop("pg_url", None))
    try:
        return run_campaign(target, path=path, **options)
    finally:
        if target.drop is not None:
            target.drop()
        shutil.rmtree(folder, ignore_errors=True)


def _summary(report: CampaignReport) -> dict[str, Any]:
    data = asdict(report)
    data.pop("kill_log")
    data["ok"] = report.ok
    return data


def _iter_paths(value: str) -> Iterator[str]:
    yield from PATHS if value == "all" else value.split(",")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "_worker":
        _worker_main(args[1:])
        return 0
    if args and args[0] == "_hooked":
        _hooked_main(args[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=ENGINES, required=True)
    parser.add_argument("--path", default="all", help="cli, python, http, a comma list or all")
    parser.add_argument("--kills", type=int, default=10, help="kills per path")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-batch", type=int, default=40, help="events per signed batch")
    parser.add_argument("--round-batches", type=int, default=6, help="batches a client sends per run")
    parser.add_argument("--targeted", type=float, default=0.25, help="share of kills at targeted points")
    parser.add_argument("--json", type=Path, help="write the reports (with every kill) here")
    parser.add_argument("--verbose", action="store_true")
    opts = parser.parse_args(args)
    reports = []
    for path in _iter_paths(opts.path):
        report = campaign(
            opts.engine,
            path,
            kills=opts.kills,
            seed=opts.seed,
            per_batch=opts.per_batch,
            round_batches=opts.round_batches,
            targeted=opts.targeted,
            log=print if opts.verbose else None,
        )
        reports.append(report)
        print(json.dumps(_summary(report)))
    if opts.json:
        opts.json.write_text(json.dumps([asdict(r) | {"ok": r.ok} for r in reports], indent=1, default=str))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
