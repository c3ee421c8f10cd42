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
