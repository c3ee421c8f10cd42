"""The compliance engine's SQL (``compliance/core/epr.py``) gives the same results on Spark (``dialect="spark"``)
as on DuckDB over the same Parquet files: ``scripts/spark_check.py`` run on a small generated export.

The export has the events the SQL reads and the cases where the two engines part most easily: hand-overs
and acceptances, lots with a missing mass or an undeclared element (NULLs in aggregated lists), values that do
not parse, inconsistent lots, timestamps before 1970 a fraction of a second before midnight, weekend
recordings, non-ASCII actors and batteries, and events in two files (an export and a later one)."""

from __future__ import annotations

import importlib.util
import random
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batteryloop.compliance.columnar import EVENT_SCHEMA

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "spark_check.py"


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("spark_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["spark_check"] = module
    spec.loader.exec_module(module)
    return module


RECYCLERS = ("rec-a", "rec-b", "récup-ø")
COUNTRIES = ("DE", "FR", "CN", "PL")


def sample_events(batteries: int, seed: int = 7) -> list[dict[str, Any]]:
    """About 10 events per battery in ledger order."""
    rnd = random.Random(seed)
    rows: list[dict[str, Any]] = []
    t_base = datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)

    def add(bid: str, et: str, actor: str, t: datetime, payload: dict[str, Any], lag_s: float = 0) -> None:
        rows.append(
            {
                "position": len(rows) + 1,
                "battery_id": bid,
                "event_type": et,
                "occurred_at": t,
                "recorded_at": t + timedelta(seconds=lag_s),
                "actor": actor,
                "payload": orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode(),
            }
        )

    for b in range(batteries):
        bid = f"bat-{b}" if b % 7 else f"batterie-ü-{b}"
        maker = f"maker-{b % 5}"
        rec = RECYCLERS[b % len(RECYCLERS)]
        # some batteries live before 1970, half a second before a midnight
        t = t_base - timedelta(days=rnd.randrange(400)) if b % 9 == 0 else t_base + timedelta(days=b * 3)
        made: dict[str, Any] = {"category": ("ev", "portable", "lmt")[b % 3], "chemistry": "NMC811"}
        if b % 11:
            made |= {"level": "pack", "mass_kg": round(rnd.uniform(0.1, 600), 3)}
        add(bid, "BatteryManufactured", maker, t, made, lag_s=rnd.uniform(0, 9 * 86400))
        if b % 6:
            placed = {"country": COUNTRIES[b % 4]}
            add(
                bid,
                "BatteryPlacedOnMarket",
                f"prod-{b % 4}",
                t + timedelta(days=2),
                placed,
                lag_s=0.5 * (b % 2),  # before 1970: half a second before midnight, recorded at it
            )
        add(bid, "StateOfHealthReported", maker, t + timedelta(days=30), {"soh_pct": 91.5}, lag_s=86400 * 5.5)
        if b % 4 == 0:
            continue  # still in service
        add(bid, "BatteryRetired", maker, t + timedelta(days=400), {}, lag_s=rnd.uniform(0, 20 * 86400))
        to = rec if b % 5 else "someone-else"
        add(bid, "CustodyHandedOver", maker, t + timedelta(days=401), {"to_org": to})
        add(bid, "CustodyAccepted", rec, t + timedelta(days=402, microseconds=250_000), {})
        if b % 8 == 3:
            add(bid, "CustodyHandedOver", rec, t + timedelta(days=403), {"to_org": maker})
            add(bid, "CustodyAccepted", maker, t + timedelta(days=404), {})
            continue
        if b % 10 == 1:
            continue  # accepted, never reported as received
        add(bid, "BatteryCollected", rec, t + timedelta(days=402), {})
        mass = round(rnd.uniform(1, 500), 4)
        received: dict[str, Any] = {
            "chemistry_group": "lithium" if b % 13 else "lead_acid",
            "lot_id": f"L{b // 12}",
            "received_on": (t + timedelta(days=405)).date().isoformat(),
            "li_kg": mass * 0.02,
            "electrode_powder_kg": mass * 0.3,
        }
        if b % 17 != 2:
            received["mass_kg"] = mass
        if b % 3:
            received["ni_kg"] = mass * 0.1
        if b % 19 == 4:
            received["co_kg"] = "n/a"
        add(bid, "RecyclingLotReceived", rec, t + timedelta(days=405), received, lag_s=3 * 86400)
        if b % 23 == 5:  # received twice
            add(bid, "RecyclingLotReceived", rec, t + timedelta(days=406), received)
        if b % 12 == 1:  # one output per lot, recorded on one of its batteries
            counted = b % 24 == 1
            out = {
                "counted_as_recycled": counted,
                "fraction": "black_mass" if counted else "slag",
                "input_lot_id": f"L{b // 12}",
                "lot_id": f"O{b // 12}",
                "mass_kg": mass * (0.6 if b % 29 else 20),
                "produced_on": (t + timedelta(days=430)).date().isoformat(),
                "li_kg": mass * 0.01,
            }
            add(bid, "RecyclingLotProduced", rec, t + timedelta(days=430), out, lag_s=86400 * 1.25)
        add(bid, "BatteryRecycled", rec, t + timedelta(days=440), {"mass_kg": mass}, lag_s=86400 * 2)
    return rows


def write_export(directory: Path, batteries: int) -> list[Path]:
    """The events in two Parquet files in the export's columns (the first two thirds, then the rest)."""
    rows = sample_events(batteries)
    cut = len(rows) * 2 // 3
    paths = []
    for i, part in enumerate((rows[:cut], rows[cut:])):
        path = directory / f"events_{i}.parquet"
        table = pa.Table.from_pylist(part, schema=EVENT_SCHEMA)
        pq.write_table(table, path)
        paths.append(path)
    return paths


def test_the_comparison_tells_kinds_zones_rounding_and_list_order_apart() -> None:
    check = _script()
    t = datetime(1969, 12, 31, 23, 59, 59, 500_000)
    duck = pa.table({"a": [1, 2], "x": [0.1 + 0.2, 1e300], "t": [t, t], "l": [[1, None], [2, 3]]})

    def diff(spark: pa.Table, unordered: Any = None) -> list[str]:
        return list(check.diff(check.result(spark, unordered), check.result(duck, unordered), 5))

    assert (
        diff(pa.table({"a": [2, 1], "x": [1e300 * (1 + 1e-12), 0.3], "t": [t, t], "l": [[2, 3], [1, None]]}))
        == []
    )
    assert diff(pa.table({"a": [1, 2], "x": [0.3 + 1e-8, 1e300], "t": [t, t], "l": [[1, None], [2, 3]]}))
    assert diff(pa.table({"a": [1.0, 2.0], "x": [0.3, 1e300], "t": [t, t], "l": [[1, None], [2, 3]]}))
    zoned = pa.array([t, t], pa.timestamp("us", tz="UTC"))
    assert diff(pa.table({"a": [1, 2], "x": [0.3, 1e300], "t": zoned, "l": [[1, None], [2, 3]]}))
    swapped = pa.table({"a": [1, 2], "x": [0.3, 1e300], "t": [t, t], "l": [[None, 1], [2, 3]]})
    assert diff(swapped)
    assert diff(swapped, lambda column: column == "l") == []
    assert diff(pa.table({"a": [1, 2], "x": [0.3, 1e300], "t": [t, t], "l": [[1], [2, 3]]}))
    assert diff(pa.table({"a": [1], "x": [0.3], "t": [t], "l": [[1, None]]}))


def test_sql_added_to_epr_is_checked_and_an_unknown_parameter_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check = _script()

    def widgets_sql(source: str, widget: str, *, dialect: str = "duckdb") -> str:
        return f"SELECT {widget} FROM {source}"

    widgets_sql.__module__ = check.epr.__name__
    monkeypatch.setattr(check.epr, "widgets_sql", widgets_sql, raising=False)
    assert "widgets_sql" in check.sql_functions()
    ctx = check.Context(("r1",), ("BatteryRecycled",), ("li",))
    with pytest.raises(LookupError, match=r"epr.widgets_sql has parameter 'widget'"):
        check.plan(ctx, "spark", None)


@pytest.mark.spark
def test_every_epr_statement_gives_equal_results_on_spark_and_duckdb(tmp_path: Path) -> None:
    pytest.importorskip(
        "pyspark",
        reason="pyspark is not importable (pip install pyspark; Java 17 needed): Spark dialect not checked",
    )
    files = write_export(tmp_path, batteries=400)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, files)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    rows = {m[1]: int(m[2]) for m in re.finditer(r"^ok   (\w+): (\d+) rows equal$", done.stdout, re.M)}
    assert set(rows) == set(_script().sql_functions()), done.stdout
    assert all(n > 0 for n in rows.values()), rows  # the sample reaches every statement
