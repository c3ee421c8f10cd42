"""Producers' and regulators' rules, pure: the collection rate of Annex XI, the applicable target, working
days, and the SQL that folds ledger events into per-battery facts.

The SQL is written once, in the subset DuckDB and Spark SQL share (``FILTER (WHERE ...)`` aggregates,
``max_by``, ``least``, ``floor``, ``year``, ``CASE``); the few functions whose names differ are placeholders
filled from a :data:`DIALECTS` entry, so the same text runs on DuckDB over a Parquet export on one machine
and on Spark over the same Parquet files across machines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from batteryloop.domain.errors import ValidationError

__all__ = [
    "CHANNEL_EVENTS",
    "DIALECTS",
    "FACT_COLUMNS",
    "applicable_target",
    "collection_rate",
    "facts_sql",
    "merge_facts_sql",
    "working_days_between",
]


@dataclass(frozen=True, slots=True)
class Dialect:
    json_text: str  # fn(payload_json, '$.key') -> text
    epoch_day: str  # fn(timestamp) -> days since 1970-01-01 (UTC)


DIALECTS: Mapping[str, Dialect] = {
    "duckdb": Dialect(
        json_text="json_extract_string({col}, '$.{key}')",
        epoch_day="CAST(floor(epoch({col}) / 86400) AS BIGINT)",
    ),
    "spark": Dialect(
        json_text="get_json_object({col}, '$.{key}')",
        epoch_day="CAST(floor(unix_timestamp({col}) / 86400) AS BIGINT)",
    ),
}

# Events by which an organisation shows it has the battery in hand (custody, treatment, end of identity).
CHANNEL_EVENTS = (
    "CustodyAccepted",
    "BatteryCollected",
    "BatteryGraded",
    "BatteryDismantled",
    "BatteryRecycled",
    "BatteryRepurposed",
    "BatteryReused",
    "BatteryRemanufactured",
)
_CUSTODY_EVENTS = ("BatteryManufactured", "CustodyAccepted", "BatteryDetached")

# Per-battery facts: "first" columns keep the earliest value (the older side of a merge wins), "last"
# columns the latest (the newer side wins). Merging two folds of consecutive event ranges therefore equals
# the fold of the whole range.
FACT_COLUMNS: Mapping[str, str] = {
    "manufacturer": "first",
    "category": "first",
    "chemistry": "first",
    "level": "first",
    "mass_kg": "first",
    "producer": "first",
    "market_country": "first",
    "placed_at": "first",
    "retired_at": "first",
    "collected_at": "first",
    "collector": "first",
    "recycled_at": "first",
    "recycler": "first",
    "recycled_mass_kg": "first",
    "last_custodian": "last",
    "last_position": "last",
}


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def facts_sql(source: str, *, dialect: str = "duckdb") -> str:
    """One row per battery from the events in relation ``source`` (columns of the ledger's Parquet export).

    Each event type that carries facts is aggregated on its own rows (a battery has one or a few of each),
    then joined to the one pass over every event that keeps the last custodian and position: the same
    ``min`` per column as one wide ``FILTER`` aggregate over all events, at about two thirds of its cost,
    because each narrow aggregate keeps a few states per battery instead of sixteen."""
    d = DIALECTS[dialect]

    def js(key: str) -> str:
        return d.json_text.format(col="payload", key=key)

    def part(name: str, event: str, columns: Sequence[tuple[str, str]]) -> str:
        cols = ", ".join(f"min({expr}) AS {col}" for col, expr in columns)
        return (
            f"{name} AS (SELECT battery_id, {cols} FROM {source} "
            f"WHERE event_type = '{event}' GROUP BY battery_id)"
        )

    mass = f"CAST({js('mass_kg')} AS DOUBLE)"
    parts = [
        part(
            "fm",
            "BatteryManufactured",
            [
                ("manufacturer", "actor"),
                ("category", js("category")),
                ("chemistry", js("chemistry")),
                ("level", js("level")),
                ("mass_kg", mass),
            ],
        ),
        part(
            "fp",
            "BatteryPlacedOnMarket",
            [("producer", "actor"), ("market_country", js("country")), ("placed_at", "occurred_at")],
        ),
        part("fr", "BatteryRetired", [("retired_at", "occurred_at")]),
        part("fc", "BatteryCollected", [("collected_at", "occurred_at"), ("collector", "actor")]),
        part(
            "fy",
            "BatteryRecycled",
            [("recycled_at", "occurred_at"), ("recycler", "actor"), ("recycled_mass_kg", mass)],
        ),
        f"""fl AS (SELECT battery_id,
    max_by(actor, position) FILTER (WHERE event_type IN ({_in(_CUSTODY_EVENTS)})) AS last_custodian,
    max(position) AS last_position
  FROM {source} GROUP BY battery_id)""",
    ]
    return f"""
WITH {", ".join(parts)}
SELECT fl.battery_id, fm.manufacturer, fm.category, fm.chemistry, fm.level, fm.mass_kg, fp.producer,
  fp.market_country, fp.placed_at, fr.retired_at, fc.collected_at, fc.collector, fy.recycled_at, fy.recycler,
  fy.recycled_mass_kg, fl.last_custodian, fl.last_position
FROM fl
  LEFT JOIN fm ON fm.battery_id = fl.battery_id
  LEFT JOIN fp ON fp.battery_id = fl.battery_id
  LEFT JOIN fr ON fr.battery_id = fl.battery_id
  LEFT JOIN fc ON fc.battery_id = fl.battery_id
  LEFT JOIN fy ON fy.battery_id = fl.battery_id
"""


def contacts_sql(source: str, actors: str) -> str:
    """(battery, organisation, first time it had the battery in hand) for organisations in relation ``actors``
    (column ``org_id``): the candidates of a compliant channel."""
    return f"""
SELECT e.battery_id, e.actor AS org_id, min(e.occurred_at) AS first_at
FROM {source} e JOIN {actors} a ON e.actor = a.org_id
WHERE e.event_type IN ({_in(CHANNEL_EVENTS)})
GROUP BY e.battery_id, e.actor
"""


def uploads_sql(source: str, event_types: Sequence[str], *, dialect: str = "duckdb") -> str:
    """Events that stand for traceability uploads, with the working days between occurrence and recording."""
    d = DIALECTS[dialect]

    # Weekdays in [Monday0, Monday0 + m): 5 * (m div 7) + least(m mod 7, 5). 1970-01-01 was a Thursday, so
    # day n is m = n + 69996 days after a Monday (70000 = 7 * 10000 keeps m positive back to 1778).
    def weekdays_before(col: str) -> str:
        m = f"({d.epoch_day.format(col=col)} + 1 + 69996)"
        return f"(5 * CAST(floor({m} / 7) AS BIGINT) + least({m} % 7, 5))"

    types = _in(event_types) if event_types else "''"
    return f"""
SELECT battery_id, position, event_type, actor, occurred_at, recorded_at,
  {weekdays_before("recorded_at")} - {weekdays_before("occurred_at")} AS lag_working_days
FROM {source}
WHERE event_type IN ({types})
"""


def merge_facts_sql(old: str, new: str) -> str:
    """Facts of ``old`` (earlier events) merged with facts of ``new`` (later events) per :data:`FACT_COLUMNS`."""
    cols = []
    for name, rule in FACT_COLUMNS.items():
        a, b = (f"o.{name}", f"n.{name}") if rule == "first" else (f"n.{name}", f"o.{name}")
        cols.append(f"coalesce({a}, {b}) AS {name}")
    return f"""
SELECT coalesce(o.battery_id, n.battery_id) AS battery_id, {", ".join(cols)}
FROM {old} o FULL OUTER JOIN {new} n ON o.battery_id = n.battery_id
"""


# ------------------------------------------------------------------------------------------ pure rules


def collection_rate(
    collected_kg: float, placed_kg_by_year: Mapping[int, float], *, year: int, years: int
) -> float | None:
    """Annex XI: the mass collected in ``year`` over the average mass placed on the market in the ``years``
    calendar years before it (a year without placings counts as zero). None when nothing was placed."""
    if years < 1:
        raise ValidationError(f"preceding years must be at least 1, got {years}")
    if collected_kg < 0:
        raise ValidationError(f"collected mass must not be negative, got {collected_kg} kg")
    average = sum(placed_kg_by_year.get(year - k, 0.0) for k in range(1, years + 1)) / years
    return collected_kg / average if average > 0 else None


def applicable_target(targets: Mapping[int, float], year: int) -> tuple[int, float] | None:
    """The target in force for reporting ``year``: the one due by the end of the latest year <= ``year``."""
    due = [y for y in targets if y <= year]
    return (max(due), targets[max(due)]) if due else None


def working_days_between(start: date, end: date) -> int:
    """Monday-to-Friday days in (start, end]; negative when end is before start."""
    if end < start:
        return -working_days_between(end, start)

    def before(day: date) -> int:  # weekdays from a Monday long ago up to (not including) day
        m = day.toordinal() - date(1, 1, 1).toordinal()  # 0001-01-01 was a Monday
        return 5 * (m // 7) + min(m % 7, 5)

    return before(date.fromordinal(end.toordinal() + 1)) - before(date.fromordinal(start.toordinal() + 1))
