"""Run the compliance engine's SQL on Spark and on DuckDB over the same Parquet files and compare the results.

Usage::

    python scripts/spark_check.py LEDGER.parquet [MORE.parquet ...] [--channel-actors r1,r2] [--split POSITION]
        [--master local[2]] [--show 5] [--only facts_sql]

``LEDGER.parquet`` is a ledger export (``batteryloop export ledger.parquet``) or files in its columns (the
benchmark's ``build()`` / ``build_lots()`` in ``benchmarks/bench_compliance.py``); only ``position``,
``battery_id``, ``event_type``, ``occurred_at``, ``recorded_at``, ``actor`` and ``payload`` are read.

Every public ``*_sql`` function of :mod:`batteryloop.compliance.core.epr` is discovered from the module (so SQL
added later is checked too) and called twice, with ``dialect="spark"`` and ``dialect="duckdb"`` (functions
without a ``dialect`` parameter give one text for both). Arguments are bound by parameter name (``_bind``):
``source`` is the events, ``actors`` the channel organisations, ``event_types`` the traceability upload types of
the packaged rule packs, ``elements`` the lot elements; ``steps``, ``lot_in`` and ``lot_out`` are the results of
``steps_sql``, ``lot_inputs_sql`` and ``lot_outputs_sql`` kept as tables on each engine (each engine reads its
own), ``old`` and ``new`` the facts of the events up to ``--split`` and after it, ``facts`` and ``contacts`` those
of every event, ``eligible`` some of the channel organisations with certification windows (``eligible_rows``),
and ``merge_groups_sql`` merges the channel groups of the older half, less themselves, with those of every
event (``DERIVED`` lists the tables); ``uploads`` are the uploads of every event, and the deadline statements
(``bound_uploads_sql``, ``upload_sums_sql``) read the small tables of ``trace_rows`` (roles, countries, deadlines
and a working-day correction, the same on both engines) from ``TRACE_EFFECTIVE`` on. A function with a parameter
that has no binding and no default stops the check with exit 2, naming it: add a binding for it here.

Each statement runs on a local SparkSession (``spark.sql.session.timeZone`` UTC) over the Parquet files and on
DuckDB (``TimeZone`` UTC) over the same files; the results are compared row for row after sorting: the same
column names in the same order, the same number of rows, and equal values (floats to a relative or absolute
1e-9, timestamps with a zone as UTC instants, a value's kind -- integer, float, text, date, timestamp with or
without a zone, list -- must match; lists in order, but for the columns of ``UNORDERED_LISTS``, which are
compared as multisets).

Exit status: 0 when every statement gives the same result on both engines, 1 with a diff of the first
differing rows of each statement otherwise, 2 when the check cannot run (a missing file, an unbound parameter, no pyspark, no JVM).
Wall and CPU time of each engine are printed (CPU: this process for DuckDB; the JVM's process tree, read from
/proc, plus this process for Spark); ``--repeat`` runs both engines several times and prints medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from batteryloop.compliance.core import epr
from batteryloop.compliance.epr_engine import upload_event_types
from batteryloop.domain.payloads import LOT_ELEMENTS

_EVENT_COLUMNS = "position, battery_id, event_type, occurred_at, recorded_at, actor, payload"
_TOL = 1e-9

# Tables derived on each engine before the statements run (each engine reads its own): name -> (function, its
# relations where they differ from the default bindings). ``events_old`` and ``events_new`` (the events up to
# --split and after it), ``channel_orgs`` and ``eligible`` (:func:`eligible_rows`) are made by the engines.
DERIVED: dict[str, tuple[str, dict[str, str]]] = {
    "facts_old": ("facts_sql", {"source": "events_old"}),
    "facts_new": ("facts_sql", {"source": "events_new"}),
    "facts": ("facts_sql", {}),
    "contacts": ("contacts_sql", {}),
    "steps": ("steps_sql", {}),
    "lot_in": ("lot_inputs_sql", {}),
    "lot_out": ("lot_outputs_sql", {}),
    "groups_old": ("channel_groups_sql", {"facts": "facts_old"}),
    "groups_all": ("channel_groups_sql", {}),
    "uploads": ("uploads_sql", {}),
    "bound_uploads": ("bound_uploads_sql", {}),
}

# Per function: list columns whose order carries no meaning (the lot's values are summed with math.fsum),
# compared as multisets. Every other list column is compared in order.
UNORDERED_LISTS: dict[str, Callable[[str], bool]] = {
    "lot_summary_sql": lambda column: column != "batteries",
}


@dataclass
class Context:
    channel_actors: tuple[str, ...]
    upload_types: tuple[str, ...]
    elements: tuple[str, ...]


def _bind(name: str, param: inspect.Parameter, ctx: Context, dialect: str) -> Any:
    """The argument for parameter ``param`` of ``epr.<name>``."""
    values: dict[str, Any] = {
        "source": "events",
        "actors": "channel_orgs",
        "event_types": ctx.upload_types,
        "elements": ctx.elements,
        "steps": "steps",
        "lot_in": "lot_in",
        "lot_out": "lot_out",
        "old": "facts_old",
        "new": "facts_new",
        "facts": "facts",
        "contacts": "contacts",
        "eligible": "eligible",
        # merge_groups_sql: the groups of the older half, less themselves, plus the groups of every event
        "groups": "groups_old",
        "removed": "groups_old",
        "added": "groups_all",
        "keys": epr.CHANNEL_GROUP_KEYS,
        # bound_uploads_sql / upload_sums_sql: the deadline tables of trace_rows and the uploads of every event
        "uploads": "uploads",
        "roles": "org_roles",
        "deadlines": "deadlines",
        "orgs": "orgs",
        "adjust": "workday_adjust",
        "effective": TRACE_EFFECTIVE,
        "adjust_until": ADJUST_UNTIL,
        "bound": "bound_uploads",
        # leaked_batteries_sql: batteries retired before mid-1972 not in eligible hands within 3 days
        "window_days": 3,
        "retired_before": dt.date(1972, 6, 1),
        "limit": 1000,
        "dialect": dialect,
    }
    if param.name in values:
        return values[param.name]
    if param.default is not inspect.Parameter.empty:
        return param.default
    raise LookupError(
        f"epr.{name} has parameter {param.name!r}, which scripts/spark_check.py cannot bind: "
        "add it to _bind (and to DERIVED if it names a relation)"
    )


def sql_functions() -> dict[str, Callable[..., str]]:
    """The public SQL builders of core/epr.py: functions defined there whose names end in ``_sql``."""
    return {
        name: fn
        for name, fn in inspect.getmembers(epr, inspect.isfunction)
        if name.endswith("_sql") and not name.startswith("_") and fn.__module__ == epr.__name__
    }


def statement(name: str, fn: Callable[..., str], ctx: Context, dialect: str, **fixed: str) -> str:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        value = fixed[param.name] if param.name in fixed else _bind(name, param, ctx, dialect)
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    return fn(*args, **kwargs)


# ----------------------------------------------------------------------------------------------- engines


def _tree_cpu(root: int) -> float:
    """User + system CPU seconds of process ``root`` and its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(p for p, parent in parents.items() if parent == pid)
    return total


def eligible_rows(channel: Sequence[str]) -> list[tuple[str, dt.date, dt.date | None]]:
    """Organisations eligible as compliant channels (org_id, valid_from, valid_until) for channel_groups_sql:
    of the channel organisations, one in three is not eligible, the others are certified from 1969 on without
    end, or from mid-2015 to the end of 2019 (contacts before, in and after the window)."""
    out: list[tuple[str, dt.date, dt.date | None]] = []
    for i, org in enumerate(channel):
        if i % 3 == 0:
            out.append((org, dt.date(1969, 6, 1), None))
        elif i % 3 == 1:
            out.append((org, dt.date(2015, 6, 1), dt.date(2019, 12, 31)))
    return out


TRACE_EFFECTIVE = dt.date(1969, 12, 20)  # deadlines apply from this day (uploads before it are not bound)
ADJUST_UNTIL = dt.date(1971, 6, 30)  # the working-day corrections run to this day, later days take its value
# name -> (DuckDB columns, Spark schema) of the tables the deadline statements read (rows: trace_rows)
TRACE_TABLES = {
    "org_roles": ("org_id VARCHAR, role VARCHAR", "org_id STRING, role STRING"),
    "orgs": ("org_id VARCHAR, country VARCHAR", "org_id STRING, country STRING"),
    "deadlines": (
        "rule VARCHAR, role VARCHAR, event_type VARCHAR, working_days INTEGER, article VARCHAR",
        "rule STRING, role STRING, event_type STRING, working_days INT, article STRING",
    ),
    "workday_adjust": ("day DATE, cum INTEGER", "day DATE, cum INT"),
}


def trace_rows(channel: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of :data:`TRACE_TABLES` for the channel organisations: recyclers and collectors (every third one
    both, so the tightest of two deadlines binds), a country for each but the last (whose uploads are then
    left out), deadlines per role and event, and a working-day correction that runs up and down from before
    the deadlines apply to past the middle of the sample's events."""
    roles: list[tuple[Any, ...]] = []
    for i, org in enumerate(channel):
        roles.append((org, "recycler" if i % 2 == 0 else "collector"))
        if i % 3 == 0:
            roles.append((org, "collector" if i % 2 == 0 else "recycler"))
    orgs = [
        (org, ("DE", "CN", "FR")[i % 3])
        for i, org in enumerate(channel[:-1] if len(channel) > 1 else channel)
    ]
    deadlines = [
        ("recycling", "recycler", "CustodyAccepted", 5, "Art. 1"),
        ("recycling", "recycler", "BatteryRecycled", 1, "Art. 1"),  # recorded 2 days later: often late
        ("recycling", "recycler", "RecyclingLotReceived", 0, "Art. 1"),  # 3 days later: late on working days
        ("collection", "collector", "CustodyAccepted", 2, "Art. 2"),
        ("collection", "collector", "BatteryCollected", 4, "Art. 2"),
    ]
    first = dt.date(1969, 12, 15)
    days = (ADJUST_UNTIL - first).days + 1
    adjust = [(first + dt.timedelta(days=k), k // 9 - k // 31) for k in range(days)]
    return {"org_roles": roles, "orgs": orgs, "deadlines": deadlines, "workday_adjust": adjust}


class DuckEngine:
    name = "duckdb"

    def __init__(self, files: Sequence[Path], split: int, channel: Sequence[str]) -> None:
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        paths = ", ".join(f"'{p.as_posix()}'" for p in files)
        self.con.execute(f"CREATE VIEW events AS SELECT {_EVENT_COLUMNS} FROM read_parquet([{paths}])")
        self.con.execute(f"CREATE VIEW events_old AS SELECT * FROM events WHERE position <= {split}")
        self.con.execute(f"CREATE VIEW events_new AS SELECT * FROM events WHERE position > {split}")
        self.con.execute("CREATE TABLE channel_orgs (org_id VARCHAR)")
        if channel:
            self.con.executemany("INSERT INTO channel_orgs VALUES (?)", [(a,) for a in channel])
        self.con.execute("CREATE TABLE eligible (org_id VARCHAR, valid_from DATE, valid_until DATE)")
        if eligible_rows(channel):
            self.con.executemany("INSERT INTO eligible VALUES (?, ?, ?)", eligible_rows(channel))
        for name, rows in trace_rows(channel).items():
            self.con.execute(f"CREATE TABLE {name} ({TRACE_TABLES[name][0]})")
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                self.con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)

    def keep(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE TABLE {name} AS {sql}")

    def run(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def cpu(self) -> float:
        return time.process_time()

    def close(self) -> None:
        self.con.close()


class SparkEngine:
    name = "spark"

    def __init__(self, files: Sequence[Path], split: int, channel: Sequence[str], master: str) -> None:
        from pyspark.sql import SparkSession

        self.spark = (
            SparkSession.builder.master(master)
            .appName("batteryloop-spark-check")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.driver.memory", "2g")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")
        gateway = self.spark.sparkContext._gateway
        proc = getattr(gateway, "proc", None)
        self.jvm_pid = int(proc.pid) if proc is not None else None
        df = self.spark.read.parquet(*(p.resolve().as_uri() for p in files))
        df.selectExpr(*_EVENT_COLUMNS.split(", ")).createOrReplaceTempView("events")
        self.spark.sql(f"SELECT * FROM events WHERE position <= {split}").createOrReplaceTempView(
            "events_old"
        )
        self.spark.sql(f"SELECT * FROM events WHERE position > {split}").createOrReplaceTempView("events_new")
        rows = [(a,) for a in channel] or [("",)]
        orgs = self.spark.createDataFrame(rows, "org_id STRING")
        (orgs if channel else orgs.limit(0)).createOrReplaceTempView("channel_orgs")
        schema = "org_id STRING, valid_from DATE, valid_until DATE"
        elig = self.spark.createDataFrame(eligible_rows(channel) or [("", None, None)], schema)
        (elig if eligible_rows(channel) else elig.limit(0)).createOrReplaceTempView("eligible")
        for name, rows in trace_rows(channel).items():
            self.spark.createDataFrame(rows, TRACE_TABLES[name][1]).createOrReplaceTempView(name)

    def keep(self, name: str, sql: str) -> None:
        self.spark.sql(f"CACHE TABLE {name} AS {sql}")

    def run(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

    def cpu(self) -> float:
        jvm = _tree_cpu(self.jvm_pid) if self.jvm_pid else 0.0
        return jvm + time.process_time()

    def close(self) -> None:
        self.spark.stop()


# ----------------------------------------------------------------------------------------------- compare


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def _norm(value: Any) -> Any:
    """A value with its kind: UTC instants for timestamps, tuples for lists."""
    if value is None:
        return None
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # an instant: compared in UTC, but not equal to a time without a zone
            return ("timestamptz", value.astimezone(dt.UTC).replace(tzinfo=None))
        return ("timestamp", value)
    if isinstance(value, dt.date):
        return ("date", value)
    if isinstance(value, list | tuple):
        return ("list", tuple(_norm(v) for v in value))
    if isinstance(value, dict):
        return ("struct", tuple((k, _norm(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def _sort_key(value: Any) -> Any:
    """Sortable form of a normalised value; floats to 9 significant digits so that the order does not hang on
    the last bits the two engines may round differently."""
    if value is None:
        return (0,)
    kind, v = value
    if kind == "float":
        return (1, kind, float(f"{v:.9g}") if math.isfinite(v) else str(v))
    if kind in ("list", "struct"):
        return (1, kind, tuple(_sort_key(x) for x in v))
    return (1, kind, v)


def result(table: pa.Table, unordered: Callable[[str], bool] | None) -> Result:
    cols = table.column_names
    data = [table.column(c).to_pylist() for c in cols]
    rows = []
    for row in zip(*data, strict=True):
        out = []
        for c, v in zip(cols, row, strict=True):
            n = _norm(v)
            if n is not None and n[0] == "list" and unordered is not None and unordered(c):
                n = ("list", tuple(sorted(n[1], key=_sort_key)))
            out.append(n)
        rows.append(tuple(out))
    rows.sort(key=lambda r: tuple(_sort_key(v) for v in r))
    return Result(cols, rows)


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if a[0] != b[0]:
        return False
    if a[0] == "float":
        x, y = a[1], b[1]
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return x == y or math.isclose(x, y, rel_tol=_TOL, abs_tol=_TOL)
    if a[0] in ("list", "struct"):
        return len(a[1]) == len(b[1]) and all(_equal(x, y) for x, y in zip(a[1], b[1], strict=True))
    return bool(a == b)


def _show(row: tuple[Any, ...]) -> str:
    def one(v: Any) -> str:
        if v is None:
            return "NULL"
        kind, x = v
        if kind in ("list", "struct"):
            return "[" + ", ".join(one(y) if kind == "list" else f"{y[0]}={one(y[1])}" for y in x) + "]"
        if kind == "timestamptz":
            return f"{x}+00:00"
        return f"{x!r}" if kind in ("str", "float") else f"{x}"

    return "(" + ", ".join(one(v) for v in row) + ")"


def diff(spark: Result, duck: Result, show: int) -> list[str]:
    """Lines describing how the Spark result differs from the DuckDB one (empty when equal)."""
    if spark.columns != duck.columns:
        return [f"  columns differ: spark {spark.columns}, duckdb {duck.columns}"]
    out = []
    if len(spark.rows) != len(duck.rows):
        out.append(f"  row counts differ: spark {len(spark.rows)}, duckdb {len(duck.rows)}")
    bad = 0
    for i, (s, d) in enumerate(zip(spark.rows, duck.rows, strict=False)):
        if len(s) == len(d) and all(_equal(x, y) for x, y in zip(s, d, strict=True)):
            continue
        bad += 1
        if bad <= show:
            cols = [c for c, x, y in zip(spark.columns, s, d, strict=True) if not _equal(x, y)]
            out.append(f"  sorted row {i}: columns {', '.join(cols)} differ")
            out.append(f"    spark  {_show(s)}")
            out.append(f"    duckdb {_show(d)}")
    if bad:
        out.append(f"  {bad} of {min(len(spark.rows), len(duck.rows))} sorted rows differ")
    return out


# ----------------------------------------------------------------------------------------------- driver


@dataclass
class Run:
    results: dict[str, Result] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    wall: float = 0.0
    cpu: float = 0.0


def plan(
    ctx: Context, dialect: str, only: set[str] | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(derived tables to keep, statements to compare) as (name, SQL) for ``dialect``."""
    fns = sql_functions()
    kept = []
    for name, (fn_name, relations) in DERIVED.items():
        kept.append((name, statement(fn_name, fns[fn_name], ctx, dialect, **relations)))
    checks = [
        (name, statement(name, fn, ctx, dialect))
        for name, fn in sorted(fns.items())
        if only is None or name in only
    ]
    return kept, checks


def execute(engine: Any, ctx: Context, only: set[str] | None) -> Run:
    """Every statement on ``engine``; the time is the engine's (results handed over as Arrow tables), the
    conversion to Python rows for the comparison comes after it."""
    run = Run()
    kept, checks = plan(ctx, engine.name, only)
    tables: dict[str, pa.Table] = {}
    w0, c0 = time.perf_counter(), engine.cpu()
    for name, sql in kept:
        try:
            engine.keep(name, sql)
        except Exception as exc:  # the engine's own message is the finding
            run.errors[f"(table {name})"] = _first_line(exc)
    for name, sql in checks:
        try:
            tables[name] = engine.run(sql)
        except Exception as exc:
            run.errors[name] = _first_line(exc)
    run.wall, run.cpu = time.perf_counter() - w0, engine.cpu() - c0
    for name, table in tables.items():
        run.results[name] = result(table, UNORDERED_LISTS.get(name))
    return run


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [line for line in text.splitlines() if line.strip()]
    return f"{type(exc).__name__}: " + " | ".join(lines[:3])


def _channel_actors(files: Sequence[Path]) -> tuple[str, ...]:
    """Default channel organisations: every actor that recorded a channel event (custody, treatment)."""
    con = duckdb.connect()
    paths = ", ".join(f"'{p.as_posix()}'" for p in files)
    types = ", ".join(f"'{t}'" for t in epr.CHANNEL_EVENTS)
    rows = con.execute(
        f"SELECT DISTINCT actor FROM read_parquet([{paths}]) WHERE event_type IN ({types}) ORDER BY actor"
    ).fetchall()
    con.close()
    return tuple(str(r[0]) for r in rows)


def _median_split(files: Sequence[Path]) -> int:
    con = duckdb.connect()
    paths = ", ".join(f"'{p.as_posix()}'" for p in files)
    row = con.execute(f"SELECT CAST(median(position) AS BIGINT) FROM read_parquet([{paths}])").fetchone()
    con.close()
    return int(row[0]) if row and row[0] is not None else 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path, help="ledger Parquet export(s) (batteryloop export)")
    ap.add_argument(
        "--channel-actors",
        help="comma-separated organisations for contacts_sql (default: every actor that recorded a channel event)",
    )
    ap.add_argument(
        "--split",
        type=int,
        help="merge_facts_sql merges the facts of events up to this position with those after it "
        "(default: the median position)",
    )
    ap.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    ap.add_argument("--only", help="comma-separated function names to compare (default: all)")
    ap.add_argument("--show", type=int, default=5, help="differing rows shown per statement (default 5)")
    ap.add_argument("--repeat", type=int, default=1, help="run both engines this many times; medians printed")
    args = ap.parse_args(argv)

    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        print(f"error: Parquet file {missing[0]} does not exist", file=sys.stderr)
        return 2
    channel = (
        tuple(a for a in args.channel_actors.split(",") if a)
        if args.channel_actors is not None
        else _channel_actors(args.files)
    )
    ctx = Context(channel, upload_event_types(), tuple(LOT_ELEMENTS))
    only = set(args.only.split(",")) if args.only else None
    try:
        names = [name for name, _ in plan(ctx, "duckdb", only)[1]]
        plan(ctx, "spark", only)
    except LookupError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if only and (unknown := only - set(sql_functions())):
        print(f"error: no SQL function {sorted(unknown)[0]!r} in core/epr.py", file=sys.stderr)
        return 2
    split = args.split if args.split is not None else _median_split(args.files)
    print(f"load average {os.getloadavg()}")
    print(f"statements: {', '.join(names)}; channel organisations: {len(channel)}; merge split at {split}")

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        spark = SparkEngine(args.files, split, channel, args.master)
    except ImportError as exc:
        print(f"error: pyspark is not importable ({exc}); pip install pyspark", file=sys.stderr)
        return 2
    except Exception as exc:  # the JVM did not start (no Java 17, no memory): say so, not a diff
        print(f"error: cannot start a local Spark session: {_first_line(exc)}", file=sys.stderr)
        return 2
    start_wall = time.perf_counter() - t0
    start_cpu = spark.cpu() - c0
    from pyspark import __version__ as pyspark_version

    print(
        f"spark {spark.spark.version} (pyspark {pyspark_version}), master {args.master}; session start: "
        f"wall {start_wall:.1f} s, CPU {start_cpu:.1f} s"
    )
    runs: dict[str, list[Run]] = {"duckdb": [], "spark": []}
    try:
        for i in range(args.repeat):
            duck = DuckEngine(args.files, split, channel)
            runs["duckdb"].append(execute(duck, ctx, only))
            duck.close()
            if i:
                for name in reversed(DERIVED):  # kept again from the Parquet files, as on the first run
                    spark.spark.sql(f"UNCACHE TABLE IF EXISTS {name}")
                    spark.spark.catalog.dropTempView(name)
            runs["spark"].append(execute(spark, ctx, only))
            if i + 1 < args.repeat:  # only the last run's rows are compared
                runs["duckdb"][-1].results.clear()
                runs["spark"][-1].results.clear()
    finally:
        spark.close()

    for engine, rs in runs.items():
        wall = statistics.median(r.wall for r in rs)
        cpu = statistics.median(r.cpu for r in rs)
        print(
            f"{engine}: every statement (derived tables included), median of {len(rs)}: "
            f"wall {wall:.2f} s, CPU {cpu:.2f} s"
        )
    print(f"load average {os.getloadavg()}")

    s_run, d_run = runs["spark"][-1], runs["duckdb"][-1]
    failed = 0
    for label, err in {**s_run.errors}.items():
        if label.startswith("(table"):
            print(f"FAIL {label}: spark rejected it: {err}")
            failed += 1
    for label, err in d_run.errors.items():
        if label.startswith("(table"):
            print(f"FAIL {label}: duckdb rejected it: {err}")
            failed += 1
    for name in names:
        lines: list[str] = []
        if name in s_run.errors:
            lines.append(f"  spark rejected it: {s_run.errors[name]}")
        if name in d_run.errors:
            lines.append(f"  duckdb rejected it: {d_run.errors[name]}")
        if not lines:
            lines = diff(s_run.results[name], d_run.results[name], args.show)
        if lines:
            failed += 1
            print(f"FAIL {name}")
            print("\n".join(lines))
        else:
            print(f"ok   {name}: {len(d_run.results[name].rows)} rows equal")
    if failed:
        print(f"{failed} statement(s) differ between Spark and DuckDB")
        return 1
    print(f"all {len(names)} statements give equal results on Spark and DuckDB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
