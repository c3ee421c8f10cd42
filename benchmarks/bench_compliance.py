"""Producers' and regulators' reports over a 10-million-event ledger export (Parquet), on DuckDB.

    python benchmarks/bench_compliance.py [--events 10000000] [--delta 100000] [--dir /work/tmp_compepr]

Builds (once, kept in ``--dir``) a Parquet export in the ledger's columns: 8 events per battery in the
lifecycle order (made, placed on market in one of 27 EU countries or China, in service, two state-of-health
readings, retired, then either accepted and recycled by one of 20 recyclers, 15 of them permitted/white-listed,
or, for one battery in five, two more readings and no channel), across 50 producers; recorded 0-39 days after
they occurred. Then measures, in one run:

- full: a fresh engine folds the whole export and computes the full set of reports (the EU pack and the China
  pack, operator view: placed on market, registration gaps, collection rates, take-back, leakage and its list,
  performance by enterprise and region with the recycling model's factors, traceability lateness);
- incremental: ``--delta`` new events (new batteries) in a second Parquet file, folded into the same engine and
  the full set of reports computed again.

Wall time and CPU time (``getrusage(RUSAGE_SELF)`` user + system: the process and all DuckDB threads) are reported; the baseline of the
incremental refresh is the full computation over the same (larger) export, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from datetime import date
from pathlib import Path

import duckdb

from batteryloop.compliance import service
from batteryloop.compliance.columnar import Warehouse
from batteryloop.compliance.epr_engine import upload_event_types
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role

COUNTRIES = [
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
    "CN",
]
AS_OF = date(2026, 12, 1)


def build(path: Path, *, first_battery: int, batteries: int, first_position: int) -> None:
    """8 events per battery, positions ``first_position`` + k * batteries + b (time order within a battery)."""
    countries = "[" + ", ".join(f"'{c}'" for c in COUNTRIES) + "]"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""
COPY (
WITH b AS (
  SELECT i AS b, 'bat-' || i AS battery_id, 'p' || (i % 50) AS producer, 'r' || (i % 20) AS recycler,
    {countries}[1 + (i % {len(COUNTRIES)})] AS country,
    ['ev', 'portable', 'lmt', 'industrial'][1 + (i % 4)] AS category,
    ['NMC811', 'LFP', 'NMC622'][1 + (i % 3)] AS chemistry,
    CASE i % 4 WHEN 0 THEN 400 + (i % 200) WHEN 1 THEN 1 + (i % 3) WHEN 2 THEN 3 + (i % 5) ELSE 800 END AS mass_kg,
    TIMESTAMPTZ '2015-01-01 08:00:00+00' + INTERVAL (i % 3000) DAY AS t0,
    (i % 5 = 0) AS leaks
  FROM range({first_battery}, {first_battery + batteries}) r(i)),
k AS (SELECT unnest(range(8)) AS k)
SELECT CAST({first_position} + k.k * {batteries} + (b.b - {first_battery}) AS BIGINT) AS position,
  b.battery_id,
  CASE k.k WHEN 0 THEN 'BatteryManufactured' WHEN 1 THEN 'BatteryPlacedOnMarket'
    WHEN 2 THEN 'BatteryPutIntoService' WHEN 3 THEN 'StateOfHealthReported' WHEN 4 THEN 'StateOfHealthReported'
    WHEN 5 THEN 'BatteryRetired'
    WHEN 6 THEN CASE WHEN b.leaks THEN 'StateOfHealthReported' ELSE 'CustodyAccepted' END
    ELSE CASE WHEN b.leaks THEN 'StateOfHealthReported' ELSE 'BatteryRecycled' END END AS event_type,
  b.t0 + INTERVAL (k.k * 120) DAY AS occurred_at,
  b.t0 + INTERVAL (k.k * 120 + (b.b % 40)) DAY AS recorded_at,
  CASE WHEN k.k >= 6 AND NOT b.leaks THEN b.recycler ELSE b.producer END AS actor,
  CASE k.k
    WHEN 0 THEN '{{"category":"' || b.category || '","chemistry":"' || b.chemistry || '","level":"pack","mass_kg":' || b.mass_kg || '}}'
    WHEN 1 THEN '{{"country":"' || b.country || '"}}'
    WHEN 3 THEN '{{"soh_pct":92}}' WHEN 4 THEN '{{"soh_pct":85}}'
    WHEN 7 THEN CASE WHEN b.leaks THEN '{{"soh_pct":80}}' ELSE '{{"mass_kg":' || b.mass_kg || '}}' END
    WHEN 6 THEN CASE WHEN b.leaks THEN '{{"soh_pct":81}}' ELSE '{{}}' END
    ELSE '{{}}' END AS payload
FROM b, k ORDER BY position
) TO '{path.as_posix()}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"""
    )
    con.close()


def build_lots(path: Path, *, batteries: int, first_position: int) -> int:
    """The recyclers' lot events of the first ``batteries`` batteries (those recycled: one in five leaks): one
    ``RecyclingLotReceived`` per battery into lot ``L<k>`` of its recycler (batteries k*1000 .. k*1000+999,
    50 per recycler and lot for the 16 recyclers that receive any; lithium group, 2 % lithium, 10 % nickel, 30 % electrode powder), then per
    lot 62 % black mass (counted as recycled, 80 % of the lithium) and 20 % slag (not counted). Returns the
    number of events."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""
COPY (
WITH b AS (
  SELECT i, 'bat-' || i AS battery_id, 'r' || (i % 20) AS recycler, 'L' || (i // 1000) AS lot_id,
    CASE i % 4 WHEN 0 THEN 400 + (i % 200) WHEN 1 THEN 1 + (i % 3) WHEN 2 THEN 3 + (i % 5) ELSE 800 END AS mass_kg,
    TIMESTAMPTZ '2015-01-01 08:00:00+00' + INTERVAL (i % 3000) DAY + INTERVAL 721 DAY AS t
  FROM range(0, {batteries}) r(i) WHERE i % 5 <> 0),
received AS (
  SELECT 0 AS kind, i AS k, battery_id, t, recycler,
    '{{"chemistry_group":"lithium","electrode_powder_kg":' || (mass_kg * 0.3) || ',"li_kg":' || (mass_kg * 0.02)
    || ',"lot_id":"' || lot_id || '","mass_kg":' || mass_kg || ',"ni_kg":' || (mass_kg * 0.1)
    || ',"received_on":"' || CAST(CAST(t AS DATE) AS VARCHAR) || '"}}' AS payload
  FROM b),
lots AS (
  SELECT recycler, lot_id, min(battery_id) AS battery_id, max(t) AS t, sum(mass_kg) AS mass_kg, min(i) AS i
  FROM b GROUP BY recycler, lot_id),
produced AS (
  SELECT 1 AS kind, i AS k, battery_id, t + INTERVAL 30 DAY AS t, recycler,
    '{{"counted_as_recycled":true,"fraction":"black_mass","input_lot_id":"' || lot_id || '","li_kg":'
    || (mass_kg * 0.016) || ',"lot_id":"' || lot_id || '-bm","mass_kg":' || (mass_kg * 0.62)
    || ',"produced_on":"' || CAST(CAST(t + INTERVAL 30 DAY AS DATE) AS VARCHAR) || '"}}' AS payload
  FROM lots
  UNION ALL
  SELECT 2, i, battery_id, t + INTERVAL 31 DAY, recycler,
    '{{"counted_as_recycled":false,"fraction":"slag","input_lot_id":"' || lot_id || '","lot_id":"' || lot_id
    || '-slag","mass_kg":' || (mass_kg * 0.2) || ',"produced_on":"'
    || CAST(CAST(t + INTERVAL 31 DAY AS DATE) AS VARCHAR) || '"}}'
  FROM lots),
allv AS (SELECT * FROM received UNION ALL SELECT * FROM produced)
SELECT CAST({first_position} - 1 + row_number() OVER (ORDER BY kind, k) AS BIGINT) AS position, battery_id,
  CASE kind WHEN 0 THEN 'RecyclingLotReceived' ELSE 'RecyclingLotProduced' END AS event_type,
  t AS occurred_at, t + INTERVAL 2 DAY AS recorded_at, recycler AS actor, payload
FROM allv ORDER BY position
) TO '{path.as_posix()}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"""
    )
    n = con.execute(f"SELECT count(*) FROM read_parquet('{path.as_posix()}')").fetchone()
    con.close()
    return int(n[0]) if n else 0


def recycler_reports(wh: Warehouse) -> int:
    """The report of every recycler under both packs (efficiency, recovery, white list, traceability);
    returns the number of lots reported."""
    lots = 0
    for code in ("eu", "cn"):
        for i in range(20):
            r = service.recycler_report(None, recycler=f"r{i}", jurisdiction=code, warehouse=wh, as_of=AS_OF)
            lots += len(r.lots)
    return lots


def organisations() -> list[Organisation]:
    permit = Certification(CertificationScheme.EU_PERMIT, "permit", date(2010, 1, 1))
    white = Certification(CertificationScheme.MIIT_WHITE_LIST, "white list", date(2010, 1, 1))
    orgs = [
        Organisation(f"p{i}", f"Producer {i}", COUNTRIES[i % len(COUNTRIES)], frozenset({Role.VEHICLE_MAKER}))
        for i in range(50)
    ]
    orgs += [
        Organisation(
            f"r{i}",
            f"Recycler {i}",
            COUNTRIES[(i * 3) % len(COUNTRIES)] if i % 4 else "CN",
            frozenset({Role.RECYCLER}),
            (permit, white) if i < 15 else (),
        )
        for i in range(20)
    ]
    return orgs


def full_set(wh: Warehouse, files: list[Path]) -> int:
    """Every report of both packs (operator view); returns the number of rows produced."""
    rows = 0
    for code in ("eu", "cn"):
        r = service.epr_report(None, jurisdiction=code, year=2025, as_of=AS_OF, parquet=files, warehouse=wh)
        rows += sum(
            len(getattr(r, s))
            for s in (
                "placed",
                "unregistered",
                "collection",
                "take_back",
                "leakage",
                "leaked",
                "performance",
                "regions",
                "traceability",
                "late_uploads",
            )
        )
    return rows


def fresh() -> Warehouse:
    wh = Warehouse(upload_event_types=upload_event_types())
    wh.set_organisations(organisations())
    return wh


def _rusage_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)  # the process and every DuckDB thread
    return r.ru_utime + r.ru_stime


def timed(fn: object) -> tuple[float, float, object]:
    w0, c0 = time.perf_counter(), _rusage_cpu()
    out = fn()  # type: ignore[operator]
    return time.perf_counter() - w0, _rusage_cpu() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--delta", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=Path("/work/tmp_compepr"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--recyclers",
        action="store_true",
        help="also fold the recyclers' lot events (a third Parquet file) and time every recycler's report",
    )
    args = ap.parse_args()
    if args.recyclers:
        recyclers_main(args)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    n_bat, d_bat = args.events // 8, args.delta // 8
    base = args.dir / f"ledger_{args.events}.parquet"
    delta = args.dir / f"delta_{args.events}_{args.delta}.parquet"
    if not base.exists():
        w, _c, _ = timed(lambda: build(base, first_battery=0, batteries=n_bat, first_position=1))
        print(f"built {base} in {w:.1f} s")
    if not delta.exists():
        build(delta, first_battery=n_bat, batteries=d_bat, first_position=n_bat * 8 + 1)

    print(f"load average {os.getloadavg()}")
    full, incr, full_big = [], [], []
    for _ in range(args.repeat):
        wh = fresh()
        full.append(timed(lambda wh=wh: full_set(wh, [base])))
        incr.append(timed(lambda wh=wh: full_set(wh, [base, delta])))
        assert wh.position == (n_bat + d_bat) * 8, wh.position
        big = fresh()
        full_big.append(timed(lambda big=big: full_set(big, [base, delta])))

    def med(xs: list[tuple[float, float, object]], i: int) -> float:
        return statistics.median(x[i] for x in xs)

    print(f"load average {os.getloadavg()}")
    print(f"events: {n_bat * 8:,} + delta {d_bat * 8:,}; report rows: {full[0][2]}")
    print(
        f"full set of reports (fold {n_bat * 8:,} events + EU and CN reports): wall {med(full, 0):.2f} s, CPU {med(full, 1):.2f} s"
    )
    print(
        f"incremental refresh after {d_bat * 8:,} new events + reports: wall {med(incr, 0):.2f} s, CPU {med(incr, 1):.2f} s"
    )
    print(
        f"baseline, full over {(n_bat + d_bat) * 8:,} events: wall {med(full_big, 0):.2f} s, CPU {med(full_big, 1):.2f} s; "
        f"incremental/full CPU ratio {med(incr, 1) / med(full_big, 1):.3f}"
    )


def recyclers_main(args: argparse.Namespace) -> None:
    """Full set including the recycler reports: fold base + lots, EPR reports of both packs, then the report of
    every recycler under both packs; the EPR-only full set over the same files is the baseline in the run."""
    args.dir.mkdir(parents=True, exist_ok=True)
    n_bat = args.events // 8
    base = args.dir / f"ledger_{args.events}.parquet"
    lots = args.dir / f"lots_{args.events}.parquet"
    if not base.exists():
        build(base, first_battery=0, batteries=n_bat, first_position=1)
    if not lots.exists():
        build_lots(lots, batteries=n_bat, first_position=n_bat * 8 + 1)
    files = [base, lots]
    con = duckdb.connect()
    total = int(con.execute(f"SELECT count(*) FROM read_parquet(['{base}', '{lots}'])").fetchall()[0][0])
    con.close()
    print(f"load average {os.getloadavg()}")
    epr_only, with_rec, rec_only, rec_again = [], [], [], []
    for _ in range(args.repeat):
        wh = fresh()
        epr_only.append(timed(lambda wh=wh: full_set(wh, files)))
        wh2 = fresh()

        def both(wh2: Warehouse = wh2) -> int:
            return full_set(wh2, files) + recycler_reports(wh2)

        with_rec.append(timed(both))
        # the recycler reports alone on an engine folded (untimed) just before, then once more on the same
        # engine: the second set may reuse what the first derived from the folded tables
        wh3 = fresh()
        wh3.ingest_parquet(files)
        rec_only.append(timed(lambda wh3=wh3: recycler_reports(wh3)))
        rec_again.append(timed(lambda wh3=wh3: recycler_reports(wh3)))

    def med(xs: list[tuple[float, float, object]], i: int) -> float:
        return statistics.median(x[i] for x in xs)

    print(
        f"events: {total:,} ({n_bat * 8:,} lifecycle + {total - n_bat * 8:,} lot events); repeats {args.repeat}"
    )
    print(
        f"EPR reports only (baseline, fold + EU and CN): wall {med(epr_only, 0):.2f} s, CPU {med(epr_only, 1):.2f} s"
    )
    print(
        f"full set incl. 40 recycler reports (20 recyclers x EU, CN): wall {med(with_rec, 0):.2f} s, "
        f"CPU {med(with_rec, 1):.2f} s; lots reported {rec_only[0][2]}"
    )
    print(
        f"40 recycler reports on the folded engine: wall {med(rec_only, 0):.2f} s, CPU {med(rec_only, 1):.2f} s; "
        f"full-with/EPR-only CPU ratio {med(with_rec, 1) / med(epr_only, 1):.3f}"
    )
    print(
        f"the same 40 reports again on that engine: wall {med(rec_again, 0):.2f} s, CPU {med(rec_again, 1):.2f} s"
    )
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
