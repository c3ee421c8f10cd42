"""A few SIGKILLs per ingestion path (CLI, Python bulk/service, HTTP to a uvicorn subprocess) on SQLite and
PostgreSQL through benchmarks/crash_harness.py: after each kill verify passes, every acknowledged batch is
stored whole and no batch in part; re-running the input stores every event exactly once. The benchmark run
(100+ kills per engine) is in BENCHMARKS.md."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from batteryloop.ledger import Ledger, sign_batch
from batteryloop.ledger.interchange import parse_ndjson
from batteryloop.orgs import KeyStore

HARNESS_FILE = Path(__file__).resolve().parents[3] / "benchmarks" / "crash_harness.py"
KILLS = 3


def _load_harness() -> ModuleType:
    name = "crash_harness"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HARNESS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


harness = _load_harness()


def _assert_survived(report: Any) -> None:
    assert report.kills == KILLS, report.failures
    assert report.failures == []
    assert (report.verify_failures, report.partial_batches, report.lost_acks) == (0, 0, 0)
    assert report.duplicates_after_kills == 0
    assert report.final_verify_ok
    assert report.exactly_once
    assert report.final_events == report.input_events == report.input_batches * 20
    assert report.acked_batches == report.input_batches
    assert report.ok


# Random delays: python calibrates its window (a forked client, cheap); cli and http, whose every round
# starts a process, take a fixed one: from the command's start (cli), from the server's first answer (http).
WINDOWS: dict[str, tuple[float, float] | None] = {"python": None, "cli": (0.0, 1.5), "http": (0.0, 0.3)}


def _campaign(target: Any, path: str, seed: int) -> Any:
    # two of three kills at targeted points of the write path, small rounds: about half a minute of CPU for
    # the three paths on two engines
    return harness.run_campaign(
        target,
        path=path,
        kills=KILLS,
        seed=seed,
        per_batch=20,
        round_batches=3,
        targeted=0.67,
        window_s=WINDOWS[path],
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", harness.PATHS)
def test_kills_on_sqlite(path: str, tmp_path: Path) -> None:
    _assert_survived(_campaign(harness.sqlite_target(tmp_path), path, seed=11))


@pytest.mark.slow
@pytest.mark.pg
@pytest.mark.parametrize("path", harness.PATHS)
def test_kills_on_postgres(path: str, tmp_path: Path, pg_ledger: Ledger, pg_url: str) -> None:
    pg_ledger.close()  # the fixture only emptied the database; the harness opens its own connections
    _assert_survived(_campaign(harness.Target("postgres", pg_url, tmp_path), path, seed=12))


def test_the_check_finds_a_partial_batch_a_lost_ack_and_a_duplicate(tmp_path: Path) -> None:
    """The harness's own check is not vacuous: a batch stored in two halves, an acknowledged batch that is
    missing and an event stored twice (under another idempotency key) are all reported."""
    target = harness.sqlite_target(tmp_path)
    harness.enrol(target)
    workload = harness.make_workload(3, 8)
    ledger = Ledger.open(target.url, create=False)
    _, key = KeyStore(target.keystore_dir).load(harness.ORG)

    def append(records: list[dict[str, Any]]) -> None:
        ledger.append(
            sign_batch(parse_ndjson(harness.ndjson(records).splitlines()), actor=harness.ORG, private_key=key)
        )

    append(workload[0])
    append(workload[1][:4])  # half of batch 1
    clean = harness.check_ledger(target, workload, {0})
    assert clean.verify_ok and clean.whole_batches == {0}
    assert clean.partial_batches == [1]
    assert not clean.ok

    (soh,) = [e for e in workload[2] if e["event_type"] == "StateOfHealthReported"]
    append([{**soh, "idempotency_key": "first"}])
    append([{**soh, "idempotency_key": "second"}])  # the same event a second time
    ledger.close()
    check = harness.check_ledger(target, workload, {0, 2})
    assert check.lost_acks == [2]
    assert check.duplicates == 1
    assert check.partial_batches == [1, 2]
    assert check.verify_ok


def test_the_ack_log_ignores_a_torn_last_line(tmp_path: Path) -> None:
    acks = harness.AckLog(tmp_path / "acks.log")
    acks.record([0, 1])
    with acks.path.open("a") as fh:
        fh.write("2")  # killed inside write(): no newline
    assert acks.read() == {0, 1}


def test_workload_batches_depend_on_earlier_batches() -> None:
    workload = harness.make_workload(4, 10)
    assert [len(b) for b in workload] == [10, 10, 10, 10]
    names = [(e["battery_id"], e["event_type"]) for b in workload for e in b]
    assert len(set(names)) == len(names) == 40
    first_batch_ids = {e["battery_id"] for e in workload[0]}
    later = {e["battery_id"] for b in workload[1:] for e in b if e["event_type"] != "BatteryManufactured"}
    assert first_batch_ids & later  # a battery made in batch 0 has later events in later batches


def _group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def _bulk_then_die(url: str, key_dir: str, record: str) -> None:
    """In a forked child of its own session: append_bulk with the prepare-ahead helper; at the first
    acknowledged batch, note the session's processes and SIGKILL only this process (as the OOM killer
    would), not the helper."""
    import os
    import signal

    from batteryloop.ledger import LedgerSettings

    os.setsid()
    ledger = Ledger.open(
        url, create=False, settings=LedgerSettings.from_file().with_(parallel_prepare_min_events=1)
    )
    _, key = KeyStore(key_dir).load(harness.ORG)
    batches = [
        sign_batch(parse_ndjson(harness.ndjson(b).splitlines()), actor=harness.ORG, private_key=key)
        for b in harness.make_workload(40, 20)
    ]

    def die(_n: int) -> None:
        Path(record).write_text(" ".join(map(str, _group_members(os.getpid()))))
        os.kill(os.getpid(), signal.SIGKILL)

    ledger.append_bulk(batches, progress=die)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")
def test_the_bulk_helper_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    """Regression: append_bulk's forked prepare-ahead helper waited for work for ever (on a pipe whose write
    end it holds itself) once the process that forked it was SIGKILLed, holding a copy of the input."""
    import multiprocessing
    import os
    import signal
    import time

    target = harness.sqlite_target(tmp_path)
    harness.enrol(target)
    record = tmp_path / "group.txt"
    proc = multiprocessing.get_context("fork").Process(
        target=_bulk_then_die, args=(target.url, str(target.keystore_dir), str(record))
    )
    proc.start()
    proc.join(120)
    assert proc.exitcode == -signal.SIGKILL
    assert proc.pid is not None
    members = [int(p) for p in record.read_text().split()]
    assert proc.pid in members and len(members) >= 2, members  # the helper was alive at the kill
    deadline = time.monotonic() + 10
    while _group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _group_members(proc.pid)
    if left:
        os.killpg(proc.pid, signal.SIGKILL)  # do not leave it behind, then fail
    assert left == []
