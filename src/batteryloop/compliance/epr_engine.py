"""Producers' and regulators' reports over the columnar engine: scope (who sees what), the report queries
over the folded facts, and the recycling model's factors for the performance ranking.

Called by :mod:`batteryloop.compliance.service` (``epr_report``, ``figure_batteries``), which holds the
public result types.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa

from batteryloop.compliance import service
from batteryloop.compliance.calendars import work_calendar
from batteryloop.compliance.columnar import Warehouse, events_to_arrow
from batteryloop.compliance.core import epr, recyclers, rules
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.domain.registration import ProducerRegistration

_WAREHOUSES: weakref.WeakKeyDictionary[Any, Warehouse] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_METALS = ("Li", "Ni", "Co", "Mn", "Cu", "Al")


# ------------------------------------------------------------------------------------------ rules


def upload_event_types() -> tuple[str, ...]:
    """Every event type any packaged pack treats as a traceability upload."""
    out: set[str] = set()
    for code in rules.jurisdictions():
        pack = rules.load_pack(code)
        for path, value in pack.items("traceability"):
            if path.endswith(".events"):
                out.update(value.value)
    return tuple(sorted(out))


def _pack(code: str, overrides: Sequence[Path | Mapping[str, Any]]) -> rules.RulePack:
    pack = rules.load_pack(code, overrides=overrides)
    if not pack.has("scope.countries"):
        raise ValidationError(f"rule pack {code!r} has no scope.countries: it cannot scope producer reports")
    return pack


def _cite(pack: rules.RulePack, path: str, used: dict[str, str]) -> Any:
    value = pack.get(path)
    used[path] = f"{value.source} {value.locator or ''}".strip()
    return value.value


def _targets(pack: rules.RulePack, category: str, used: dict[str, str]) -> dict[int, float]:
    out: dict[int, float] = {}
    for path, _ in pack.items(f"collection.{category}."):
        leaf = path.rsplit(".", 1)[1]
        if leaf.startswith("y") and leaf[1:].isdigit():
            out[int(leaf[1:])] = float(_cite(pack, path, used))
    return out


# ------------------------------------------------------------------------------------------ scope


def scope_for(
    pack: rules.RulePack,
    code: str,
    caller: Organisation | None,
    registrations: Sequence[ProducerRegistration],
    producer: str | None,
) -> service.ReportScope:
    countries = tuple(pack.value("scope.countries"))
    producers: tuple[str, ...] | None = None
    enterprises: tuple[str, ...] | None = None
    viewer, org = "operator", None
    if caller is not None:
        org = caller.org_id
        if Role.AUTHORITY in caller.roles:
            viewer = "authority"
            if caller.country == code.upper() or (caller.country == "EU" and code == "eu"):
                pass  # the whole pack
            elif caller.country in countries:
                countries = (caller.country,)
            else:
                raise PermissionError(
                    f"authority {caller.org_id} ({caller.country}) has no jurisdiction under the {code} pack "
                    f"({', '.join(countries)})"
                )
        elif Role.PRO in caller.roles:
            viewer = "pro"
            producers = tuple(sorted({r.producer for r in registrations if r.pro == caller.org_id} | {org}))
            enterprises = (org,)
        else:
            viewer = "producer"
            producers = (org,)
            enterprises = (org,)
    if producer is not None:
        if producers is not None and producer not in producers:
            raise PermissionError(f"{org} may not read the obligations of {producer}")
        if not any(r.producer == producer and r.country in countries for r in registrations):
            raise NotFoundError(
                f"producer {producer!r} has no registration in the {code} register of producers "
                f"({', '.join(countries)}); register it first (batteryloop compliance register)"
            )
        producers = (producer,)
    return service.ReportScope(
        jurisdiction=code,
        viewer=viewer,
        viewer_org=org,
        countries=countries,
        producers=producers,
        enterprises=enterprises,
    )


def _where(scope: service.ReportScope, alias: str = "f") -> tuple[str, list[Any]]:
    clauses = [f"{alias}.market_country IN (SELECT unnest(?))"]
    params: list[Any] = [list(scope.countries)]
    if scope.producers is not None:
        clauses.append(f"{alias}.producer IN (SELECT unnest(?))")
        params.append(list(scope.producers))
    return " AND ".join(clauses), params


# ------------------------------------------------------------------------------------------ the engine


def warehouse_for(ledger: Any, parquet: Sequence[Path], warehouse: Warehouse | None) -> Warehouse:
    """The warehouse to read: the one given, a fresh one over Parquet files, or the ledger's own (kept
    between calls and refreshed with the events appended since)."""
    if warehouse is not None:
        wh = warehouse
    elif parquet:
        wh = Warehouse(upload_event_types=upload_event_types())
    else:
        if ledger is None:
            raise ValidationError("give a ledger or Parquet files to report on")
        with _LOCK:
            cached = _WAREHOUSES.get(ledger)
            if cached is None or cached.stale:
                cached = Warehouse(upload_event_types=upload_event_types())
                _WAREHOUSES[ledger] = cached
            wh = cached
    if ledger is not None:
        with wh.lock:
            wh.set_organisations(ledger.list_organisations())
            if wh.stale:
                wh = Warehouse(upload_event_types=upload_event_types())
                wh.set_organisations(ledger.list_organisations())
                if warehouse is None and not parquet:
                    _WAREHOUSES[ledger] = wh
    with wh.lock:
        if parquet:
            wh.ingest_parquet(parquet)
        if ledger is not None and not parquet:
            while True:
                chunk = list(_take(ledger.iter_events(after_position=wh.position), 200_000))
                if not chunk:
                    break
                wh.ingest_arrow(events_to_arrow(chunk))
        if not wh.ready:
            wh.ingest_arrow(events_to_arrow(()))
    return wh


def warehouse_at(ledger: Any, at_position: int | None) -> Warehouse:
    """The ledger's warehouse (cached, refreshed) at its head, or a fresh one folded up to ``at_position``."""
    if at_position is None:
        return warehouse_for(ledger, (), None)
    wh = Warehouse(upload_event_types=upload_event_types())
    wh.set_organisations(ledger.list_organisations())
    with wh.lock:
        while wh.position < at_position:
            chunk = [
                e
                for e in _take(ledger.iter_events(after_position=wh.position), 200_000)
                if e.position <= at_position
            ]
            if not chunk:
                break
            wh.ingest_arrow(events_to_arrow(chunk))
        if not wh.ready:
            wh.ingest_arrow(events_to_arrow(()))
    return wh


def recycler_lots(
    wh: Warehouse, recycler: str
) -> tuple[tuple[recyclers.InputItem, ...], tuple[recyclers.OutputLot, ...]]:
    """``recycler``'s lot events from the warehouse's ``lot_in`` / ``lot_out`` tables, in ledger order."""
    els = tuple(recyclers.ELEMENT_NAMES)
    with wh.lock:
        ins = wh.con.execute(
            f"SELECT battery_id, lot_id, mass_kg, chemistry_group, received_on, electrode_powder_kg, position, "
            f"{', '.join(f'{el}_kg' for el in els)} FROM lot_in WHERE recycler = ? ORDER BY position",
            [recycler],
        ).fetchall()
        outs = wh.con.execute(
            f"SELECT {_output_lot_columns(els)} FROM lot_out WHERE recycler = ? ORDER BY position",
            [recycler],
        ).fetchall()
    inputs = tuple(
        recyclers.InputItem(
            battery_id=r[0],
            lot_id=r[1],
            recycler=recycler,
            mass_kg=r[2],
            chemistry_group=r[3],
            received_on=r[4],
            elements_kg={el: v for el, v in zip(els, r[7:], strict=True) if v is not None},
            electrode_powder_kg=r[5],
            position=int(r[6]),
        )
        for r in ins
    )
    outputs = tuple(_output_lot(r, recycler, els) for r in outs)
    return inputs, outputs


def _output_lot_columns(els: Sequence[str]) -> str:
    """The ``lot_out`` columns :func:`_output_lot` reads, in its order."""
    return (
        "lot_id, input_lot_id, battery_id, fraction, mass_kg, produced_on, counted_as_recycled, buyer, "
        f"for_model, position, {', '.join(f'{el}_kg' for el in els)}"
    )


def _output_lot(r: Sequence[Any], recycler: str, els: Sequence[str]) -> recyclers.OutputLot:
    """An output lot from a row of :func:`_output_lot_columns`."""
    return recyclers.OutputLot(
        lot_id=r[0],
        input_lot_id=r[1],
        recycler=recycler,
        battery_id=r[2],
        fraction=r[3],
        mass_kg=r[4],
        produced_on=r[5],
        counted_as_recycled=bool(r[6]),
        buyer=r[7],
        for_model=r[8],
        elements_kg={el: v for el, v in zip(els, r[10:], strict=True) if v is not None},
        position=int(r[9]),
    )


def recycler_input_lots(wh: Warehouse, recycler: str) -> tuple[recyclers.InputLot, ...]:
    """``recycler``'s input lots with their outputs, as ``recyclers.build_lots`` makes them from
    :func:`recycler_lots`, sorted by day received and lot id; MassBalanceError on an inconsistency.

    The lots are aggregated in SQL (``epr.lot_summary_sql``: one row per lot, not per battery) and kept on the
    warehouse until its next refresh. The first report at a folded state aggregates its recycler's lots only
    (a single report costs no more than its own lots); the next recycler's report aggregates every recycler's
    at once, so the reports of a set (every recycler, EU and CN) share one pass; a refresh then aggregates
    again only the recyclers with new lot events. A recycler whose lots the consistency query flags
    (``epr.lot_suspects_sql``) is built row by row instead, which raises the same error as before or, at a
    limit, passes."""
    book = _lot_book(wh, recycler)
    if recycler in book.suspects:
        inputs, outputs = recycler_lots(wh, recycler)
        return recyclers.build_lots(inputs, outputs).of(recycler)
    return book.lots.get(recycler, ())


@dataclass(frozen=True)
class _LotBook:
    key: tuple[int, int]  # (position, events) of the warehouse it was built from
    covers: frozenset[str] | None  # the recyclers aggregated; None: every recycler
    suspects: frozenset[str]
    lots: Mapping[str, tuple[recyclers.InputLot, ...]]


def _lot_book(wh: Warehouse, recycler: str) -> _LotBook:
    """The aggregated lots at the warehouse's folded state that include ``recycler``'s (see
    :func:`recycler_input_lots`). A recycler's lots and checks read its own lot rows only, so lots kept from an
    earlier state stay right for every recycler without new lot events."""
    with wh.lock:
        key = (wh.position, wh.events)
        cached = wh.derived.get("recycler_lots")
        book: _LotBook | None = None
        if isinstance(cached, _LotBook) and cached.key == key:
            if cached.covers is None or recycler in cached.covers:
                return cached
            book = _aggregate_lots(wh, key, None, None)  # a second recycler at this state: all of them
        elif isinstance(cached, _LotBook) and cached.covers is None and cached.key[0] <= wh.position:
            touched = frozenset(
                str(r[0])
                for r in wh.con.execute(
                    "SELECT recycler FROM lot_in WHERE position > ? "
                    "UNION SELECT recycler FROM lot_out WHERE position > ?",
                    [cached.key[0], cached.key[0]],
                ).fetchall()
            )
            book = _aggregate_lots(wh, key, touched, cached)
        else:
            book = _aggregate_lots(wh, key, frozenset({recycler}), None)
        wh.derived["recycler_lots"] = book
        return book


def _aggregate_lots(
    wh: Warehouse, key: tuple[int, int], scope: frozenset[str] | None, kept: _LotBook | None
) -> _LotBook:
    """The lots of the recyclers of ``scope`` (None: all), with those of ``kept`` (a book of every recycler
    at an earlier state) for the recyclers outside ``scope``."""
    if scope is not None and not scope and kept is not None:
        return _LotBook(key, kept.covers, kept.suspects, kept.lots)
    con = wh.con
    lot_in, lot_out = "lot_in", "lot_out"
    if scope is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE lot_scope (recycler VARCHAR)")
        if scope:
            con.executemany("INSERT INTO lot_scope VALUES (?)", [(r,) for r in sorted(scope)])
        for table in ("lot_in", "lot_out"):
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {table}_scope AS SELECT * FROM {table} "
                "WHERE recycler IN (SELECT recycler FROM lot_scope)"
            )
        lot_in, lot_out = "lot_in_scope", "lot_out_scope"
    els = tuple(recyclers.ELEMENT_NAMES)
    suspects = frozenset(
        str(r[0]) for r in con.execute(epr.lot_suspects_sql(lot_in, lot_out, els)).fetchall()
    )
    lots = _columns(wh, epr.lot_summary_sql(lot_in, els))
    outs = con.execute(
        f"SELECT recycler, {_output_lot_columns(els)} "
        f"FROM {lot_out} WHERE recycler NOT IN (SELECT unnest(?)) ORDER BY position",
        [sorted(suspects)],
    ).fetchall()
    built = _assemble_lots(lots, outs, els, suspects)
    if kept is None or scope is None:
        return _LotBook(key, scope, suspects, built)
    return _LotBook(
        key,
        kept.covers,
        (kept.suspects - scope) | suspects,
        {r: v for r, v in kept.lots.items() if r not in scope} | built,
    )


_Listed = tuple[list[int], list[Any], list[bool]]  # a list column: offsets, values, which rows are NULL


def _columns(wh: Warehouse, sql: str) -> tuple[dict[str, list[Any]], dict[str, _Listed]]:
    """The result of ``sql`` column by column, through Arrow: a scalar column as a list, a list column as its
    offsets, flat values and NULL rows (the values of row i are ``values[offsets[i]:offsets[i + 1]]``), which
    costs far less than a Python list per row. Returns (scalar columns, list columns) by name."""
    table = wh.con.sql(sql).to_arrow_table()
    scalars: dict[str, list[Any]] = {}
    listed: dict[str, _Listed] = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if pa.types.is_list(col.type):
            listed[name] = (col.offsets.to_pylist(), col.values.to_pylist(), col.is_null().to_pylist())
        else:
            scalars[name] = col.to_pylist()
    return scalars, listed


def _assemble_lots(
    lots: tuple[Mapping[str, list[Any]], Mapping[str, _Listed]],
    outs: Sequence[Any],
    els: tuple[str, ...],
    suspects: frozenset[str],
) -> dict[str, tuple[recyclers.InputLot, ...]]:
    """Input lots from the columns of the lot summary (``epr.lot_summary_sql``, one row per lot) and their
    outputs (rows of ``lot_out`` in ledger order), per recycler but the ``suspects``, summed with math.fsum as
    ``recyclers.build_lots`` does."""
    fsum = math.fsum
    by_lot: dict[tuple[str, str], list[recyclers.OutputLot]] = {}
    for r in outs:
        by_lot.setdefault((r[0], r[2]), []).append(_output_lot(r[1:], r[0], els))  # r[0]: the recycler
    scalar, listed = lots
    recycler_col, lot_col = scalar["recycler"], scalar["lot_id"]
    group_col, day_col = scalar["chemistry_group"], scalar["received_on"]
    b_off, b_val, _ = listed["batteries"]
    m_off, m_val, _ = listed["mass_kgs"]  # never NULL: a lot with a NULL mass is a suspect
    summed = [listed[f"{c}s"] for c in (*(f"{el}_kg" for el in els), "electrode_powder_kg")]
    by_recycler: dict[str, list[recyclers.InputLot]] = {}
    for i, recycler in enumerate(recycler_col):
        if recycler in suspects:
            continue
        lot_id = lot_col[i]
        sums = [None if null[i] else fsum(vals[off[i] : off[i + 1]]) for off, vals, null in summed]
        by_recycler.setdefault(recycler, []).append(
            recyclers.InputLot(
                lot_id=lot_id,
                recycler=recycler,
                chemistry_group=group_col[i],
                received_on=day_col[i],
                mass_kg=fsum(m_val[m_off[i] : m_off[i + 1]]),
                batteries=tuple(b_val[b_off[i] : b_off[i + 1]]),
                elements_kg=dict(zip(els, sums[:-1], strict=True)),
                electrode_powder_kg=sums[-1],
                outputs=tuple(by_lot.get((recycler, lot_id), ())),
            )
        )
    out = {}
    for recycler, members in by_recycler.items():
        members.sort(key=lambda lot: (lot.received_on, lot.lot_id))
        out[recycler] = tuple(members)
    return out


def _take(it: Any, n: int) -> Any:
    for i, item in enumerate(it):
        yield item
        if i + 1 >= n:
            return


def _point(ledger: Any, wh: Warehouse, parquet: Sequence[Path]) -> service.LedgerPoint:
    source = "parquet: " + ", ".join(str(p) for p in parquet) if parquet else "ledger"
    head = None
    if ledger is not None and hasattr(ledger, "tree"):
        head = ledger.tree.latest()
    if head is None or head.checkpoint is None:
        return service.LedgerPoint(position=wh.position, events=wh.events, source=source)
    return service.LedgerPoint(
        position=wh.position,
        events=wh.events,
        source=source,
        signed_size=head.size,
        signed_root=head.root.hex(),
        signed_at=head.signed_at,
        checkpoint=head.checkpoint.note,
    )


def _registrations(ledger: Any) -> tuple[ProducerRegistration, ...]:
    if ledger is None:
        return ()
    return service.producer_registrations(ledger)


def build_report(
    ledger: Any,
    *,
    jurisdiction: str,
    year: int | None,
    as_of: date | None,
    caller: Organisation | None,
    producer: str | None,
    overrides: Sequence[Path | Mapping[str, Any]],
    parquet: Sequence[Path],
    warehouse: Warehouse | None,
    registrations: Sequence[ProducerRegistration] | None = None,
) -> service.EprReport:
    pack = _pack(jurisdiction, overrides)
    regs = tuple(registrations) if registrations is not None else _registrations(ledger)
    scope = scope_for(pack, jurisdiction, caller, regs, producer)
    day = as_of or datetime.now(UTC).date()
    year = year if year is not None else day.year - 1
    if not 1900 <= year <= 2100:
        raise ValidationError(f"year {year} is outside 1900-2100")
    wh = warehouse_for(ledger, parquet, warehouse)
    with wh.lock:
        wh.set_registrations(regs)
        return _compute(wh, pack, scope, year=year, day=day, point=_point(ledger, wh, parquet), regs=regs)


def _compute(
    wh: Warehouse,
    pack: rules.RulePack,
    scope: service.ReportScope,
    *,
    year: int,
    day: date,
    point: service.LedgerPoint,
    regs: Sequence[ProducerRegistration],
) -> service.EprReport:
    used: dict[str, str] = {}
    notes: list[str] = []
    window = int(_cite(pack, "epr.leakage_window_days", used))
    if window < 1:
        raise ValidationError(f"epr.leakage_window_days must be at least 1, got {window}")

    # The figures below read the pre-aggregated groups of the facts (``g``: per producer, country, category,
    # chemistry, day placed, year collected, day retired, days to the first compliant contact), not the
    # batteries; a time is before midnight of day + 1 exactly when its day is at most day.
    roles = tuple(_cite(pack, "epr.channel_roles", used))
    recycler_scheme = str(_cite(pack, "epr.recycler_scheme", used))
    second_scheme = str(_cite(pack, "epr.second_life_scheme", used))
    groups = wh.channel_groups(_eligible(wh, roles, recycler_scheme, second_scheme))
    where, params = _where(scope, "g")
    placed = wh.query(
        f"""
SELECT g.producer, g.market_country AS country, g.category, year(g.placed_day) AS year,
  sum(g.units) AS units, coalesce(sum(g.mass_kg), 0) AS mass_kg,
  sum(g.units - g.units_with_mass) AS units_without_mass
FROM {groups} g WHERE g.placed_day IS NOT NULL AND g.placed_day <= ? AND {where}
GROUP BY ALL ORDER BY 1, 2, 3, 4""",
        [day, *params],
    )
    unregistered = wh.query(
        f"""
SELECT g.producer, g.market_country AS country, g.category, g.chemistry,
  sum(g.units) AS units, coalesce(sum(g.mass_kg), 0) AS mass_kg
FROM {groups} g
WHERE g.placed_day IS NOT NULL AND g.placed_day <= ? AND {where}
  AND NOT EXISTS (SELECT 1 FROM regs r WHERE r.producer = g.producer AND r.country = g.market_country
                  AND r.category = g.category AND r.chemistry = g.chemistry
                  AND r.registered_on <= g.placed_day)
GROUP BY ALL ORDER BY 1, 2, 3, 4""",
        [day, *params],
    )

    # Collection (Annex XI): collected in the year over the average placed in the preceding years.
    years_back = (
        int(_cite(pack, "collection.preceding_years", used)) if pack.has("collection.preceding_years") else 3
    )
    take_back_categories = (
        tuple(_cite(pack, "collection.take_back_categories", used))
        if pack.has("collection.take_back_categories")
        else ()
    )
    placed_cols = ", ".join(
        f"coalesce(sum(g.mass_kg) FILTER (WHERE year(g.placed_day) = {year - k}), 0) AS placed_{k}"
        for k in range(1, years_back + 1)
    )
    raw = wh.query(
        f"""
SELECT g.producer, g.market_country AS country, g.category,
  coalesce(sum(g.mass_kg) FILTER (WHERE g.collected_year = {year}), 0) AS collected_kg,
  coalesce(sum(g.units) FILTER (WHERE g.collected_year = {year}), 0) AS collected_units, {placed_cols}
FROM {groups} g WHERE g.placed_day IS NOT NULL AND {where}
GROUP BY ALL ORDER BY 1, 2, 3""",
        params,
    )
    collection = []
    target_cache: dict[str, dict[int, float]] = {}
    for r in raw:
        by_year = {year - k: float(r[f"placed_{k}"]) for k in range(1, years_back + 1)}
        if not r["collected_kg"] and not any(by_year.values()):
            continue
        cat = r["category"]
        if cat not in target_cache:
            target_cache[cat] = (
                _targets(pack, cat, used)
                if pack.has(f"collection.{cat}") or any(True for _ in pack.items(f"collection.{cat}."))
                else {}
            )
        rate = epr.collection_rate(float(r["collected_kg"]), by_year, year=year, years=years_back)
        target = epr.applicable_target(target_cache[cat], year)
        collection.append(
            {
                "producer": r["producer"],
                "country": r["country"],
                "category": cat,
                "year": year,
                "collected_kg": float(r["collected_kg"]),
                "collected_units": int(r["collected_units"]),
                "placed_avg_kg": sum(by_year.values()) / years_back,
                **{f"placed_{y}_kg": v for y, v in sorted(by_year.items())},
                "rate": rate,
                "target": target[1] if target else None,
                "target_year": target[0] if target else None,
                "meets_target": None if target is None or rate is None else rate >= target[1],
                "take_back": cat in take_back_categories,
            }
        )

    # Compliant channels: the first contact of a channel organisation, certified on that day when the pack
    # names a scheme for its role; compliant when it came within the window (whole days, rounded up).
    take_back = wh.query(
        f"""
SELECT g.producer, g.market_country AS country, g.category,
  sum(g.units) AS retired_units, coalesce(sum(g.mass_kg), 0) AS retired_kg,
  coalesce(sum(g.units) FILTER (WHERE g.collected_year IS NULL AND NOT g.has_ok), 0) AS not_taken_back_units,
  coalesce(sum(g.mass_kg) FILTER (WHERE g.collected_year IS NULL AND NOT g.has_ok), 0) AS not_taken_back_kg
FROM {groups} g
WHERE g.retired_day IS NOT NULL AND g.retired_day <= ? AND g.category IN (SELECT unnest(?)) AND {where}
GROUP BY ALL ORDER BY 1, 2, 3""",
        [day, list(take_back_categories) or [""], *params],
    )

    # Batteries due for the leakage check: retired more than the window before the end of ``day``.
    due_day = day - timedelta(days=window)
    compliant = f"coalesce(g.ok_days <= {window}, false)"
    leakage = wh.query(
        f"""
SELECT g.market_country AS country, g.producer, year(g.retired_day) AS year,
  sum(g.units) AS retired_units, coalesce(sum(g.mass_kg), 0) AS retired_kg,
  coalesce(sum(g.units) FILTER (WHERE {compliant}), 0) AS compliant_units,
  coalesce(sum(g.mass_kg) FILTER (WHERE {compliant}), 0) AS compliant_kg
FROM {groups} g WHERE g.retired_day IS NOT NULL AND g.retired_day <= ? AND {where}
GROUP BY ALL ORDER BY 1, 2, 3""",
        [due_day, *params],
    )
    for r in leakage:
        r["compliant_share"] = r["compliant_kg"] / r["retired_kg"] if r["retired_kg"] else None
        r["leaked_kg"] = r["retired_kg"] - r["compliant_kg"]
        r["leaked_units"] = r["retired_units"] - r["compliant_units"]
    leaked = _leaked_list(wh, groups, scope, window, due_day, 1000)
    if len(leaked) == 1000:
        notes.append("the list of leaked batteries shows the first 1000; export the figure for all")

    performance, regions = _performance(wh, pack, scope, used, notes)
    traceability, late = _traceability(wh, pack, scope, used)
    visible_regs = tuple(
        r
        for r in regs
        if r.country in scope.countries and (scope.producers is None or r.producer in scope.producers)
    )
    return service.EprReport(
        scope=scope,
        point=point,
        year=year,
        as_of=day,
        window_days=window,
        placed=tuple(placed),
        unregistered=tuple(unregistered),
        collection=tuple(collection),
        take_back=tuple(take_back),
        leakage=tuple(leakage),
        leaked=tuple(leaked),
        performance=tuple(performance),
        regions=tuple(regions),
        traceability=tuple(traceability),
        late_uploads=tuple(late),
        registrations=visible_regs,
        sources=dict(sorted(used.items())),
        notes=tuple(notes),
    )


def _leaked_list(
    wh: Warehouse, groups: str, scope: service.ReportScope, window: int, due_day: date, limit: int
) -> list[dict[str, Any]]:
    """The first ``limit`` leaked batteries (by retirement, then id) of the scope: the groups say up to which
    day of retirement they lie, so only the batteries retired by then are read and joined to their contacts."""
    where, params = _where(scope, "g")
    cut = wh.con.execute(
        f"""
SELECT min(retired_day) FILTER (WHERE upto >= ?), max(upto) FROM (
  SELECT retired_day, sum(sum(units)) OVER (ORDER BY retired_day) AS upto FROM {groups} g
  WHERE g.retired_day IS NOT NULL AND g.retired_day <= ? AND NOT coalesce(g.ok_days <= {window}, false)
    AND {where}
  GROUP BY retired_day) x""",
        [limit, due_day, *params],
    ).fetchall()[0]
    if not cut[1]:
        return []
    last = cut[0] if cut[0] is not None else due_day
    fwhere, fparams = _where(scope)
    sql = epr.leaked_batteries_sql(
        f"(SELECT * FROM facts f WHERE {fwhere})",
        "contacts",
        wh.channel_eligible(groups),
        window_days=window,
        retired_before=last + timedelta(days=1),
        limit=limit,
    )
    return wh.query(sql, fparams)


def _eligible(
    wh: Warehouse, roles: Sequence[str], recycler_scheme: str, second_scheme: str
) -> list[tuple[str, date, date | None]]:
    """The organisations eligible as a compliant channel (see :func:`_make_ok`), with the days they were."""
    _make_ok(wh, roles, recycler_scheme, second_scheme, ok=False)
    return [(str(r[0]), r[1], r[2]) for r in wh.con.execute("SELECT * FROM eligible").fetchall()]


def _make_ok(
    wh: Warehouse, roles: Sequence[str], recycler_scheme: str, second_scheme: str, *, ok: bool = True
) -> None:
    """Temp table ``ok``: per battery, the first contact of a channel organisation that was eligible on that
    day (its role is a channel role and, when the pack names a scheme for the role, it held a valid
    certification of that scheme)."""
    wh.con.execute(
        """CREATE OR REPLACE TEMP TABLE eligible AS
  SELECT r.org_id, k.valid_from, k.valid_until FROM org_roles r
  JOIN certs k ON k.org_id = r.org_id
    AND k.scheme = CASE r.role WHEN 'recycler' THEN ? ELSE ? END
  WHERE r.role IN (SELECT unnest(?)) AND (CASE r.role WHEN 'recycler' THEN ? ELSE ? END) <> ''
  UNION ALL
  SELECT r.org_id, DATE '0001-01-01', NULL FROM org_roles r
  WHERE r.role IN (SELECT unnest(?)) AND (CASE r.role WHEN 'recycler' THEN ? ELSE ? END) = ''""",
        [
            recycler_scheme,
            second_scheme,
            list(roles),
            recycler_scheme,
            second_scheme,
            list(roles),
            recycler_scheme,
            second_scheme,
        ],
    )
    if not ok:
        return
    wh.con.execute(
        """CREATE OR REPLACE TEMP TABLE ok AS
  SELECT c.battery_id, min(c.first_at) AS first_ok FROM contacts c JOIN eligible e ON e.org_id = c.org_id
  WHERE e.valid_from <= CAST(c.first_at AS DATE)
    AND (e.valid_until IS NULL OR CAST(c.first_at AS DATE) <= e.valid_until)
  GROUP BY c.battery_id"""
    )


# ------------------------------------------------------------------------------------------ performance


@cache
def model_factors(
    chemistry: str, region: str, route: str, parameter_set: str
) -> tuple[float, float, float] | None:
    """(metal recovery, avoided kg CO2e per t, net kg CO2e per t) of one tonne of ``chemistry`` packs through
    the recycling model's ``route``, or None when the model cannot take that chemistry."""
    from batteryloop.recycling import carbon_footprint, load_parameter_set, run_flowsheet, simple_feedstock
    from batteryloop.recycling.core.carbon import grid_regions

    params = load_parameter_set(parameter_set)
    try:
        feed = simple_feedstock({chemistry: 1.0}, form="pack", annual_mass_t=10_000)
        flow = run_flowsheet(feed, route=route, product_level="salts", params=params)
    except (ValidationError, NotFoundError, KeyError, ValueError):
        return None
    grid = region if region in grid_regions(params) else "WORLD"
    carbon = carbon_footprint(flow, params=params, region=grid)
    feed_kg = sum(flow.feed_elements_kg.get(m, 0.0) for m in _METALS)
    recovered = sum(flow.feed_elements_kg.get(m, 0.0) * flow.element_recovery.get(m, 0.0) for m in _METALS)
    recovery = recovered / feed_kg if feed_kg > 0 else 0.0
    return recovery, carbon.avoided_kg_co2e_per_t, carbon.net_kg_co2e_per_t


def _performance(
    wh: Warehouse,
    pack: rules.RulePack,
    scope: service.ReportScope,
    used: dict[str, str],
    notes: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    route = str(_cite(pack, "epr.performance_route", used))
    pset = str(_cite(pack, "epr.performance_parameter_set", used))
    params: list[Any] = [list(scope.countries)]
    extra = ""
    if scope.enterprises is not None:
        extra = " AND f.recycler IN (SELECT unnest(?))"
        params.append(list(scope.enterprises))
    rows = wh.query(
        f"""
SELECT f.recycler AS enterprise, o.country AS region, f.recycled_year AS year, f.chemistry,
  sum(f.units) AS units, coalesce(sum(f.mass_kg), 0) AS mass_kg
FROM {wh.performance_groups()} f JOIN orgs o ON o.org_id = f.recycler
WHERE o.country IN (SELECT unnest(?)){extra}
GROUP BY ALL ORDER BY 1, 2, 3, 4""",
        params,
    )
    acc: dict[tuple[str, str, int], dict[str, float]] = {}
    unmodelled: set[str] = set()
    for r in rows:
        key = (r["enterprise"], r["region"], int(r["year"]))
        a = acc.setdefault(
            key, {"units": 0, "t": 0.0, "modelled_t": 0.0, "recovered_t": 0.0, "avoided_t": 0.0, "net_t": 0.0}
        )
        t = float(r["mass_kg"]) / 1000.0
        a["units"] += int(r["units"])
        a["t"] += t
        factors = model_factors(str(r["chemistry"]), str(r["region"]), route, pset)
        if factors is None:
            unmodelled.add(str(r["chemistry"]))
            continue
        rec, avoided, net = factors
        a["modelled_t"] += t
        a["recovered_t"] += t * rec
        a["avoided_t"] += t * avoided / 1000.0
        a["net_t"] += t * net / 1000.0
    if unmodelled:
        notes.append(
            "the recycling model has no route for "
            + ", ".join(sorted(unmodelled))
            + ": their tonnes count as processed but earn no recovery or avoided CO2e"
        )
    out: list[dict[str, Any]] = [
        {
            "enterprise": e,
            "region": reg,
            "year": y,
            "units": int(a["units"]),
            "processed_t": a["t"],
            "recovery": a["recovered_t"] / a["modelled_t"] if a["modelled_t"] else None,
            "avoided_t_co2e": a["avoided_t"],
            "net_t_co2e": a["net_t"],
        }
        for (e, reg, y), a in acc.items()
    ]
    _rank(out, "enterprise")
    by_region: dict[tuple[str, int], dict[str, float]] = {}
    for r in out:
        b = by_region.setdefault(
            (r["region"], r["year"]), {"units": 0, "t": 0.0, "rec": 0.0, "mod": 0.0, "av": 0.0, "net": 0.0}
        )
        b["units"] += r["units"]
        b["t"] += r["processed_t"]
        b["av"] += r["avoided_t_co2e"]
        b["net"] += r["net_t_co2e"]
        if r["recovery"] is not None:
            modelled = r["processed_t"]  # recovery is over the modelled tonnes; weight by processed
            b["rec"] += r["recovery"] * modelled
            b["mod"] += modelled
    regions: list[dict[str, Any]] = [
        {
            "region": reg,
            "year": y,
            "units": int(b["units"]),
            "processed_t": b["t"],
            "recovery": b["rec"] / b["mod"] if b["mod"] else None,
            "avoided_t_co2e": b["av"],
            "net_t_co2e": b["net"],
        }
        for (reg, y), b in by_region.items()
    ]
    _rank(regions, "region")
    return out, regions


def _rank(rows: list[dict[str, Any]], key: str) -> None:
    """Rank within each year by avoided CO2e (then tonnes); year-on-year change against the same key."""
    prev = {(r[key], r["year"]): r for r in rows}
    for r in rows:
        before = prev.get((r[key], r["year"] - 1))
        r["processed_t_change"] = (
            (r["processed_t"] - before["processed_t"]) / before["processed_t"]
            if before and before["processed_t"]
            else None
        )
        r["avoided_t_co2e_change"] = (
            (r["avoided_t_co2e"] - before["avoided_t_co2e"]) / before["avoided_t_co2e"]
            if before and before["avoided_t_co2e"]
            else None
        )
    rows.sort(key=lambda r: (-r["year"], -r["avoided_t_co2e"], -r["processed_t"], r[key]))
    rank, year = 0, None
    for r in rows:
        rank = rank + 1 if r["year"] == year else 1
        year = r["year"]
        r["rank"] = rank


# ------------------------------------------------------------------------------------------ traceability


class _Deadlines(NamedTuple):
    effective: datetime  # the date the deadlines apply from
    found: dict[
        str, tuple[int, str, str, frozenset[str]]
    ]  # per actor rule: working days, source, article, roles
    calendar: epr.WorkCalendar  # whose working days (Monday to Friday unless the pack names a calendar)


def _deadlines(wh: Warehouse, pack: rules.RulePack, used: dict[str, str]) -> _Deadlines | None:
    """Load the pack's traceability deadlines into the temp table ``deadlines`` and, when the pack names a
    working-day calendar (``traceability.calendar``), its days into ``workday_adjust``; None when the pack has
    no deadlines."""
    if not pack.has("traceability.effective_from"):
        return None
    effective = date.fromisoformat(str(_cite(pack, "traceability.effective_from", used)))
    calendar = epr.WEEKDAYS
    if pack.has("traceability.calendar"):
        code = str(_cite(pack, "traceability.calendar", used))
        latest = wh.con.execute("SELECT max(recorded_at) FROM uploads").fetchall()[0][0]
        last_year = max(date.today().year, latest.year if latest is not None else 0) + 1
        calendar = work_calendar(code, range(effective.year, last_year + 1))
        days = calendar.cumulative(effective, date(last_year, 12, 31))
        table = pa.table({"day": [d for d, _ in days], "cum": [c for _, c in days]})
        wh.con.register("workday_rows", table)
        try:
            wh.con.execute("CREATE OR REPLACE TEMP TABLE workday_adjust AS SELECT day, cum FROM workday_rows")
        finally:
            wh.con.unregister("workday_rows")
    rows = []
    found: dict[str, tuple[int, str, str, frozenset[str]]] = {}
    for group in pack.groups("traceability"):
        base = f"traceability.{group}"
        if not pack.has(f"{base}.working_days"):
            continue
        wd = int(_cite(pack, f"{base}.working_days", used))
        cited = pack.get(f"{base}.working_days")
        roles = frozenset(str(r) for r in _cite(pack, f"{base}.roles", used))
        found[group] = (wd, cited.source, cited.locator or "", roles)
        for role in sorted(roles):
            for event in _cite(pack, f"{base}.events", used):
                rows.append((group, role, str(event), wd, cited.locator or ""))
    wh.con.execute(
        "CREATE OR REPLACE TEMP TABLE deadlines (rule VARCHAR, role VARCHAR, event_type VARCHAR, "
        "working_days INTEGER, article VARCHAR)"
    )
    if rows:
        wh.con.executemany("INSERT INTO deadlines VALUES (?, ?, ?, ?, ?)", rows)
    return _Deadlines(datetime(effective.year, effective.month, effective.day, tzinfo=UTC), found, calendar)


def _uploads_cte(
    effective: datetime,
    countries: Sequence[str] | None,
    actors: Sequence[str] | None,
    calendar: epr.WorkCalendar = epr.WEEKDAYS,
    after_position: int = 0,
) -> tuple[str, list[Any]]:
    """``WITH g AS (...)``: the uploads bound by a deadline (``epr.bound_uploads_sql`` over the warehouse's
    ``uploads``, the ``deadlines`` and ``workday_adjust`` of :func:`_deadlines`, ``org_roles`` and ``orgs``),
    optionally only actors of ``countries``, the ``actors`` named and uploads after ``after_position``; with
    its parameters."""
    until = date(calendar.years[1], 12, 31) if calendar.years is not None else None
    bound = epr.bound_uploads_sql(
        "uploads",
        "org_roles",
        "deadlines",
        "orgs",
        "workday_adjust" if until is not None else None,
        effective=effective.date(),
        adjust_until=until,
    )
    extra, params = _actor_filter(countries, actors)
    if after_position:
        extra += " AND position > ?"
        params.append(after_position)
    return f"WITH g AS (SELECT * FROM ({bound}) bound WHERE TRUE{extra})", params


def _org_key(wh: Warehouse) -> tuple[Any, ...]:
    """The organisations' countries and roles (set apart from the events), as part of a derived table's key."""
    rows = wh.con.execute(
        "SELECT (SELECT count(*) FROM orgs), (SELECT sum(hash(org_id, country)) FROM orgs), "
        "(SELECT count(*) FROM org_roles), (SELECT sum(hash(org_id, role)) FROM org_roles)"
    ).fetchall()  # not fetchone(): DuckDB keeps a result open until fetched to the end
    return tuple(rows[0])


def _bound_uploads(wh: Warehouse, pack: rules.RulePack, loaded: _Deadlines, orgs: tuple[Any, ...]) -> str:
    """The temp table of the uploads bound by one of ``pack``'s deadlines (``_uploads_cte``, every actor and
    country) at the warehouse's folded state, summed per actor, country and rule with the late ones listed
    (``epr.upload_sums_sql``: ``late_uploads``, a list of structs); returns its name. The EPR report's summary and late list and the
    recyclers' late uploads are all read from it, so a set of reports computes each upload's deadline and lag
    once per pack. Uploads are only ever added and an upload's lag and deadline do not change with later
    events, so a refresh inserts the sums of the uploads after the position the table was built at (a key
    may then have several rows: readers sum them)."""
    tables = wh.derived.setdefault("bound_uploads", {})
    key = (pack.name, repr(list(pack.items("traceability"))))
    kept = tables.get(key)  # (organisations, position, table)
    if kept is not None and kept[0] == orgs and kept[1] == wh.position:
        return str(kept[2])
    name = kept[2] if kept is not None else f"bound_uploads_{len(tables)}"
    if kept is not None and kept[0] == orgs and kept[1] < wh.position:
        after, verb = kept[1], f"INSERT INTO {name}"
    else:
        after, verb = 0, f"CREATE OR REPLACE TEMP TABLE {name} AS"
    base_sql, params = _uploads_cte(loaded.effective, None, None, loaded.calendar, after_position=after)
    wh.con.execute(f"{verb} {base_sql} {epr.upload_sums_sql('g')}", params)
    tables[key] = (orgs, wh.position, name)
    return name


def _late_uploads_sql(table: str, where: str) -> str:
    """The late uploads of a :func:`_bound_uploads` table whose rows match ``where``, one row each
    (:data:`_LATE_COLUMNS`)."""
    return f"""SELECT battery_id, position, event_type, actor, rule, CAST(occurred_at AS DATE) AS occurred_on,
  CAST(recorded_at AS DATE) AS recorded_on, lag_working_days, deadline_working_days
FROM (SELECT actor, rule, unnest(late_uploads, recursive := true) FROM {table} WHERE {where})"""


def _actor_filter(
    countries: Sequence[str] | None,
    actors: Sequence[str] | None,
    *,
    country: str = "country",
    actor: str = "actor",
) -> tuple[str, list[Any]]:
    """``AND`` clauses keeping the rows whose ``country`` and ``actor`` columns are among ``countries`` and
    ``actors`` (None: any), and their parameters."""
    sql, params = "", []
    if countries is not None:
        sql += f" AND {country} IN (SELECT unnest(?))"
        params.append(list(countries))
    if actors is not None:
        sql += f" AND {actor} IN (SELECT unnest(?))"
        params.append(list(actors))
    return sql, params


def _traceability(
    wh: Warehouse, pack: rules.RulePack, scope: service.ReportScope, used: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The summary of the uploads bound by a deadline (per actor, country and rule) and the first 1,000 late
    ones, in the report's scope."""
    loaded = _deadlines(wh, pack, used)
    if loaded is None:
        return [], []
    table = _bound_uploads(wh, pack, loaded, _org_key(wh))
    extra, params = _actor_filter(scope.countries, scope.enterprises)
    where = f"TRUE{extra}"
    summary = wh.query(
        f"""
SELECT actor, country, rule, CAST(sum(uploads) AS BIGINT) AS uploads, CAST(sum(late) AS BIGINT) AS late,
  max(max_lag_working_days) AS max_lag_working_days, min(deadline_working_days) AS deadline_working_days
FROM {table} WHERE {where} GROUP BY actor, country, rule ORDER BY late DESC, actor, rule""",
        params,
    )
    late = wh.query(f"{_late_uploads_sql(table, where)} ORDER BY position LIMIT 1000", params)
    return summary, late


MISSING_INTAKE_RULE = "recycling"  # the actor rule whose deadline also binds reporting an accepted intake
_LATE_COLUMNS = """battery_id, position, event_type, actor, rule, CAST(occurred_at AS DATE) AS occurred_on,
  CAST(recorded_at AS DATE) AS recorded_on, lag_working_days, deadline_working_days"""


def _unreported_intakes(wh: Warehouse) -> str:
    """The temp table of accepted intakes never reported as received (``epr.missing_intakes_sql``, every actor)
    at the warehouse's folded state, built once per state and read by every pack and actor; returns its name."""
    state = (wh.position, wh.events)
    if wh.derived.get("unreported_intakes") != state:
        wh.con.execute(
            f"CREATE OR REPLACE TEMP TABLE unreported_intakes AS {epr.missing_intakes_sql('steps')}"
        )
        wh.derived["unreported_intakes"] = state
    return "unreported_intakes"


def _missing_query(
    intakes: str,
    roles: frozenset[str],
    effective: datetime,
    countries: Sequence[str] | None,
    actors: Sequence[str] | None,
) -> tuple[str, list[Any]]:
    """The accepted intakes of table ``intakes`` (:func:`_unreported_intakes`) by organisations of ``roles``
    since ``effective``, optionally of ``countries`` and ``actors`` only; in ledger order."""
    extra, scoped = _actor_filter(countries, actors, country="o.country", actor="x.actor")
    params: list[Any] = [sorted(roles), effective, *scoped]
    return (
        f"""SELECT x.battery_id, x.actor, x.position, CAST(x.occurred_at AS DATE) AS occurred_on
FROM {intakes} x JOIN orgs o ON o.org_id = x.actor
WHERE EXISTS (SELECT 1 FROM org_roles r WHERE r.org_id = x.actor AND r.role IN (SELECT unnest(?)))
  AND x.occurred_at >= ?{extra}
ORDER BY x.position""",
        params,
    )


def _findings(
    late: Sequence[Mapping[str, Any]],
    missing: Sequence[Mapping[str, Any]],
    found: Mapping[str, tuple[int, str, str, frozenset[str]]],
    as_of: date,
    calendar: epr.WorkCalendar,
) -> tuple[recyclers.TraceabilityFinding, ...]:
    """The late uploads, then the accepted intakes still unreported by ``as_of`` beyond the deadline."""
    out = [
        recyclers.TraceabilityFinding(
            "late",
            str(r["actor"]),
            str(r["rule"]),
            str(r["battery_id"]),
            str(r["event_type"]),
            r["occurred_on"],
            r["recorded_on"],
            int(r["lag_working_days"]),
            int(r["deadline_working_days"]),
            found[str(r["rule"])][1],
            found[str(r["rule"])][2],
            int(r["position"]),
        )
        for r in late
    ]
    if missing:
        days, source, locator, _ = found[MISSING_INTAKE_RULE]
        for r in missing:
            taken = epr.working_days_between(r["occurred_on"], as_of, calendar)
            if taken > days:
                out.append(
                    recyclers.TraceabilityFinding(
                        "missing",
                        str(r["actor"]),
                        MISSING_INTAKE_RULE,
                        str(r["battery_id"]),
                        "RecyclingLotReceived",
                        r["occurred_on"],
                        None,
                        taken,
                        days,
                        source,
                        locator,
                        int(r["position"]),
                    )
                )
    return tuple(out)


def traceability_findings(
    wh: Warehouse,
    pack: rules.RulePack,
    *,
    as_of: date,
    countries: Sequence[str] | None = None,
    actors: Sequence[str] | None = None,
) -> tuple[recyclers.TraceabilityFinding, ...]:
    """Every upload later than its actor's deadline (``traceability.<rule>``, from ``effective_from``), then
    every battery a recycler accepted after a hand-over to it and has not reported as received
    (``RecyclingLotReceived`` or ``BatteryRecycled``) within the ``recycling`` deadline by ``as_of``: the one
    traceability rule of the capability (EPR report, recycler report, ``/compliance/traceability``)."""
    if next(iter(pack.items("traceability")), None) is None:
        raise NotFoundError(f"jurisdiction {pack.name} has no traceability rules (traceability.*)")
    used: dict[str, str] = {}
    with wh.lock:
        loaded = _deadlines(wh, pack, used)
        if loaded is None:
            return ()
        effective, found, calendar = loaded
        base_sql, params = _uploads_cte(effective, countries, actors, calendar)
        late = wh.query(
            f"""{base_sql}
SELECT {_LATE_COLUMNS}
FROM g WHERE lag_working_days > deadline_working_days ORDER BY position""",
            params,
        )
        missing: list[dict[str, Any]] = []
        if MISSING_INTAKE_RULE in found:
            sql, mparams = _missing_query(
                _unreported_intakes(wh), found[MISSING_INTAKE_RULE][3], effective, countries, actors
            )
            missing = wh.query(sql, mparams)
    return _findings(late, missing, found, as_of, calendar)


@dataclass(frozen=True)
class _TraceBook:
    key: tuple[Any, ...]  # (position, events, organisations, pack name, the pack's traceability rules)
    first_actor: str  # the actor of the first report at this key, answered by the per-actor query
    built: bool = False  # the findings of every actor are in trace_late_all / trace_missing_all
    found: Mapping[str, tuple[int, str, str, frozenset[str]]] | None = None  # None: the pack has no deadlines
    calendar: epr.WorkCalendar = epr.WEEKDAYS


def actor_traceability_findings(
    wh: Warehouse, pack: rules.RulePack, *, as_of: date, actor: str
) -> tuple[recyclers.TraceabilityFinding, ...]:
    """``traceability_findings(wh, pack, as_of=as_of, actors=(actor,))``. The first actor asked at a folded
    state of the warehouse and pack gets that query; from the second one on, the late uploads and unreported
    intakes of every actor are computed once (temp tables ``trace_late_all``, ``trace_missing_all``) and
    filtered per actor, so the reports of every recycler share one scan of the uploads."""
    if next(iter(pack.items("traceability")), None) is None:
        raise NotFoundError(f"jurisdiction {pack.name} has no traceability rules (traceability.*)")
    with wh.lock:
        orgs = _org_key(wh)
        key = (wh.position, wh.events, orgs, pack.name, repr(list(pack.items("traceability"))))
        book = wh.derived.get("traceability")
        if not (isinstance(book, _TraceBook) and book.key == key):
            wh.derived["traceability"] = _TraceBook(key, actor)
            book = None
        elif not book.built and book.first_actor != actor:
            book = _trace_book(wh, pack, key, book.first_actor, orgs)
            wh.derived["traceability"] = book
        if book is not None and book.built:
            found = book.found
            if found is None:
                return ()
            late = wh.query("SELECT * FROM trace_late_all WHERE actor = ? ORDER BY position", [actor])
            missing = (
                wh.query("SELECT * FROM trace_missing_all WHERE actor = ? ORDER BY position", [actor])
                if MISSING_INTAKE_RULE in found
                else []
            )
            return _findings(late, missing, found, as_of, book.calendar)
    return traceability_findings(wh, pack, as_of=as_of, actors=(actor,))


def _trace_book(
    wh: Warehouse, pack: rules.RulePack, key: tuple[Any, ...], first: str, orgs: tuple[Any, ...]
) -> _TraceBook:
    loaded = _deadlines(wh, pack, {})
    if loaded is None:
        return _TraceBook(key, first, built=True)
    effective, found, calendar = loaded
    table = _bound_uploads(wh, pack, loaded, orgs)
    wh.con.execute(f"CREATE OR REPLACE TEMP TABLE trace_late_all AS {_late_uploads_sql(table, 'TRUE')}")
    if MISSING_INTAKE_RULE in found:
        sql, mparams = _missing_query(
            _unreported_intakes(wh), found[MISSING_INTAKE_RULE][3], effective, None, None
        )
        wh.con.execute(f"CREATE OR REPLACE TEMP TABLE trace_missing_all AS {sql}", mparams)
    return _TraceBook(key, first, built=True, found=found, calendar=calendar)


# ------------------------------------------------------------------------------------------ figures


def figure_batteries(
    ledger: Any,
    *,
    jurisdiction: str,
    figure: str,
    caller: Organisation | None,
    producer: str | None,
    country: str | None,
    category: str | None,
    year: int | None,
    as_of: date | None,
    limit: int,
    overrides: Sequence[Path | Mapping[str, Any]],
    parquet: Sequence[Path],
    warehouse: Warehouse | None = None,
    registrations: Sequence[ProducerRegistration] | None = None,
) -> tuple[Mapping[str, Any], ...]:
    if figure not in service.FIGURES:
        raise ValidationError(f"figure {figure!r} is not one of {', '.join(service.FIGURES)}")
    if not 1 <= limit <= 100_000:
        raise ValidationError(f"limit must be between 1 and 100000, got {limit}")
    pack = _pack(jurisdiction, overrides)
    regs = tuple(registrations) if registrations is not None else _registrations(ledger)
    scope = scope_for(pack, jurisdiction, caller, regs, None)
    if producer is not None:
        if scope.producers is not None and producer not in scope.producers:
            raise PermissionError(f"{scope.viewer_org} may not read the batteries of {producer}")
        scope = service.ReportScope(**{**scope.__dict__, "producers": (producer,)})
    if country is not None:
        if country not in scope.countries:
            raise PermissionError(f"country {country} is outside this view ({', '.join(scope.countries)})")
        scope = service.ReportScope(**{**scope.__dict__, "countries": (country,)})
    day = as_of or datetime.now(UTC).date()
    as_of_ts = datetime(day.year, day.month, day.day) + timedelta(days=1)  # UTC, as the facts
    wh = warehouse_for(ledger, parquet, warehouse)
    used: dict[str, str] = {}
    window = int(_cite(pack, "epr.leakage_window_days", used))
    where, params = _where(scope)
    cond: list[str] = []
    cparams: list[Any] = []
    if category is not None:
        cond.append("f.category = ?")
        cparams.append(category)
    year_col = {
        "placed": "f.placed_at",
        "collected": "f.collected_at",
        "not_taken_back": "f.retired_at",
        "leaked": "f.retired_at",
        "compliant": "f.retired_at",
        "processed": "f.recycled_at",
    }[figure]
    if year is not None:
        cond.append(f"year({year_col}) = ?")
        cparams.append(year)
    roles = tuple(_cite(pack, "epr.channel_roles", used))
    rs, ss = str(_cite(pack, "epr.recycler_scheme", used)), str(_cite(pack, "epr.second_life_scheme", used))
    figure_cond = {
        "placed": "f.placed_at IS NOT NULL AND f.placed_at < ?",
        "collected": "f.collected_at IS NOT NULL AND f.collected_at < ?",
        "not_taken_back": "f.retired_at IS NOT NULL AND f.retired_at < ? AND f.collected_at IS NULL AND ok.first_ok IS NULL",
        "leaked": f"f.retired_at + INTERVAL '{window} days' < ? AND NOT coalesce(ok.first_ok <= f.retired_at + INTERVAL '{window} days', false)",
        "compliant": f"f.retired_at + INTERVAL '{window} days' < ? AND ok.first_ok <= f.retired_at + INTERVAL '{window} days'",
        "processed": "f.recycled_at IS NOT NULL AND f.recycled_at < ?",
    }[figure]
    sql = f"""
SELECT f.battery_id, f.producer, f.market_country AS country, f.category, f.chemistry, f.mass_kg,
  CAST(f.placed_at AS DATE) AS placed_on, CAST(f.retired_at AS DATE) AS retired_on,
  CAST(f.collected_at AS DATE) AS collected_on, CAST(ok.first_ok AS DATE) AS channel_on,
  CAST(f.recycled_at AS DATE) AS recycled_on, f.recycler, f.last_custodian
FROM facts f LEFT JOIN ok ON ok.battery_id = f.battery_id
WHERE {figure_cond} AND {where}{"".join(" AND " + c for c in cond)}
ORDER BY f.battery_id LIMIT {int(limit)}"""
    with wh.lock:
        _make_ok(wh, roles, rs, ss)
        return tuple(wh.query(sql, [as_of_ts, *params, *cparams]))
