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
    "CHANNEL_GROUP_KEYS",
    "DIALECTS",
    "FACT_COLUMNS",
    "PERFORMANCE_GROUP_KEYS",
    "WEEKDAYS",
    "WorkCalendar",
    "applicable_target",
    "channel_groups_sql",
    "collection_rate",
    "facts_sql",
    "lot_inputs_sql",
    "lot_outputs_sql",
    "lot_summary_sql",
    "lot_suspects_sql",
    "merge_facts_sql",
    "merge_groups_sql",
    "missing_intakes_sql",
    "performance_groups_sql",
    "steps_sql",
    "working_days_between",
]


@dataclass(frozen=True, slots=True)
class Dialect:
    json_text: str  # fn(payload_json, '$.key') -> text
    # fn(payload_json, ['$.a', '$.b', ...]) -> list of texts, the document parsed once (None: one call per key)
    json_texts: str | None
    epoch_day: str  # fn(timestamp) -> days since 1970-01-01 (UTC)
    naive: str  # fn(timestamp with time zone) -> timestamp without, in UTC (cheap year(), dates, intervals)
    micros: str  # fn(timestamp without time zone) -> microseconds since 1970-01-01
    naive_literal: str  # 'YYYY-MM-DD HH:MM:SS' -> a literal timestamp without time zone
    plus_days: str  # fn(timestamp without time zone, whole days) -> that many days later
    # the structs of ``fields`` (a list of :attr:`struct_field`) of the rows where ``cond`` holds, as a list
    # ordered by the first field, empty (not NULL) when there are none
    struct_list: str
    struct_field: str  # one named field of struct_list's structs


DIALECTS: Mapping[str, Dialect] = {
    "duckdb": Dialect(
        json_text="json_extract_string({col}, '$.{key}')",
        json_texts="json_extract_string({col}, [{paths}])",
        epoch_day="CAST(floor(epoch({col}) / 86400) AS BIGINT)",
        naive="make_timestamp(epoch_us({col}))",
        micros="epoch_us({col})",
        naive_literal="TIMESTAMP '{value}'",
        plus_days="{col} + INTERVAL ({days}) DAY",
        struct_list="coalesce(list(struct_pack({fields}) ORDER BY {first}) FILTER (WHERE {cond}), [])",
        struct_field="{name} := {name}",
    ),
    # Spark (checked on 4.3 by scripts/spark_check.py): unix_timestamp() truncates to whole seconds toward
    # zero (a time half a second before a midnight before 1970 fell on the next day), and CAST(... AS
    # TIMESTAMP) keeps the session's zone (TIMESTAMP_LTZ); both go through the exact microseconds instead, and
    # micros of a time without a zone is a difference of two of them (unix_micros would read it in the session's zone).
    "spark": Dialect(
        json_text="get_json_object({col}, '$.{key}')",
        json_texts=None,
        epoch_day="CAST(floor(unix_micros({col}) / 86400000000) AS BIGINT)",
        naive="timestampadd(MICROSECOND, unix_micros({col}), TIMESTAMP_NTZ '1970-01-01 00:00:00')",
        micros="timestampdiff(MICROSECOND, TIMESTAMP_NTZ '1970-01-01 00:00:00', {col})",
        naive_literal="TIMESTAMP_NTZ '{value}'",
        plus_days="timestampadd(DAY, {days}, {col})",
        # collect_list over no rows is [] already; array_sort orders structs by their first field
        struct_list="array_sort(collect_list(named_struct({fields})) FILTER (WHERE {cond}))",
        struct_field="'{name}', {name}",
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
# Events the ledger's state machine admits at most once per battery (lifecycle.TRANSITIONS: making only opens a
# stream, placing on the market only follows making, recycling ends the identity; tests/unit/compliance/
# test_epr_fold.py derives this from the table). facts_sql reads each as one row per battery, not an aggregate,
# and the fold refuses events that repeat one of them (:func:`once_event_counts_sql`): they are not a ledger's.
ONCE_PER_BATTERY = ("BatteryManufactured", "BatteryPlacedOnMarket", "BatteryRecycled")
# A battery's custodian: its maker (making opens the stream, before every other event), then whoever last
# accepted it or detached it from its host
_HANDOVER_CUSTODY_EVENTS = ("CustodyAccepted", "BatteryDetached")
# the events a battery's facts come from besides the once-per-battery ones: a battery's facts change only when
# one of these or of those is folded, so the others (readings, service, lots...) are not read at all
_FACT_EVENTS = (
    *_HANDOVER_CUSTODY_EVENTS,
    "BatteryRetired",
    "BatteryCollected",
)

# Per-battery facts: "first" columns keep the value of the first event in ledger order that carries one
# (the older side of a merge wins), "last" columns the latest (the newer side wins). Merging two folds of
# consecutive event ranges therefore equals the fold of the whole range, even when an event type repeats with
# an earlier time; the time and the actor of one fact come from the same event.
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
}


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _payload_fields(d: Dialect, keys: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Top-level payload fields as text: (a select-list item for an inner query, the expression of each key in
    the query around it). With a list form (DuckDB) each payload is parsed once for all keys, not once per
    key: the recyclers' lot events carry a dozen fields, and parsing was most of their fold."""
    if d.json_texts is None:
        items = ", ".join(f"{d.json_text.format(col='payload', key=k)} AS _pf_{k}" for k in keys)
        return items, {k: f"_pf_{k}" for k in keys}
    paths = ", ".join(f"'$.{k}'" for k in keys)
    return f"{d.json_texts.format(col='payload', paths=paths)} AS _pf", {
        k: f"_pf[{i}]" for i, k in enumerate(keys, start=1)
    }


def facts_sql(source: str, *, dialect: str = "duckdb") -> str:
    """One row per battery from the events in relation ``source`` (columns of the ledger's Parquet export).

    Payload fields are read only from the few events that carry them (made, placed, recycled). Those three
    happen at most once per battery (:data:`ONCE_PER_BATTERY`), so each is read as rows, not aggregated; one
    aggregate covers hand-overs of custody, retirement and collection (:data:`_FACT_EVENTS`), and the four are
    joined in full, so a battery with any of them (in a refresh) has its row. The last custodian is the last
    hand-over's, else the maker's. Times are kept as UTC timestamps without a zone, so years and dates are
    cheap. Events that repeat a once-per-battery event would give a battery two rows:
    the fold checks for them (:func:`once_event_counts_sql`).
    """
    d = DIALECTS[dialect]

    def js(key: str) -> str:
        return d.json_text.format(col="payload", key=key)

    def naive(col: str) -> str:
        return d.naive.format(col=col)

    def first(column: str, event: str) -> str:
        # the value of the battery's first event of the type (in ledger order): what the refresh's merge keeps
        # (merge_facts_sql: the older facts first), so a full fold and a refresh agree
        return f"min_by({column}, position) FILTER (WHERE event_type = '{event}')"

    made_items, made = _payload_fields(d, ("category", "chemistry", "level", "mass_kg"))
    return f"""
WITH a AS (
  SELECT battery_id,
    {first("occurred_at", "BatteryRetired")} AS retired_at,
    {first("occurred_at", "BatteryCollected")} AS collected_at,
    {first("actor", "BatteryCollected")} AS collector,
    max_by(actor, position) FILTER (WHERE event_type IN ({_in(_HANDOVER_CUSTODY_EVENTS)})) AS last_custodian
  FROM {source} WHERE event_type IN ({_in(_FACT_EVENTS)})
  GROUP BY battery_id),
m AS (
  SELECT battery_id, actor AS manufacturer, {made["category"]} AS category, {made["chemistry"]} AS chemistry,
    {made["level"]} AS level, CAST({made["mass_kg"]} AS DOUBLE) AS mass_kg
  FROM (SELECT battery_id, actor, {made_items}
    FROM {source} WHERE event_type = 'BatteryManufactured') made_json),
p AS (
  SELECT battery_id, actor AS producer, {js("country")} AS market_country, occurred_at AS placed_at
  FROM {source} WHERE event_type = 'BatteryPlacedOnMarket'),
r AS (
  SELECT battery_id, occurred_at AS recycled_at, actor AS recycler,
    CAST({js("mass_kg")} AS DOUBLE) AS recycled_mass_kg
  FROM {source} WHERE event_type = 'BatteryRecycled')
SELECT coalesce(m.battery_id, a.battery_id, p.battery_id, r.battery_id) AS battery_id, m.manufacturer,
  m.category, m.chemistry, m.level, m.mass_kg, p.producer, p.market_country,
  {naive("p.placed_at")} AS placed_at, {naive("a.retired_at")} AS retired_at,
  {naive("a.collected_at")} AS collected_at, a.collector, {naive("r.recycled_at")} AS recycled_at,
  r.recycler, r.recycled_mass_kg, coalesce(a.last_custodian, m.manufacturer) AS last_custodian
FROM m FULL JOIN a ON a.battery_id = m.battery_id
  FULL JOIN p ON p.battery_id = coalesce(m.battery_id, a.battery_id)
  FULL JOIN r ON r.battery_id = coalesce(m.battery_id, a.battery_id, p.battery_id)
"""


def once_event_counts_sql(source: str) -> str:
    """Per once-per-battery event type (:data:`ONCE_PER_BATTERY`) of relation ``source``: its events and the
    batteries they name. More events than batteries means events no ledger holds, which the fold refuses."""
    return f"""
SELECT event_type, count(*) AS events, count(DISTINCT battery_id) AS batteries FROM {source}
WHERE event_type IN ({_in(ONCE_PER_BATTERY)})
GROUP BY event_type ORDER BY event_type
"""


def contacts_sql(source: str, actors: str, *, dialect: str = "duckdb") -> str:
    """(battery, organisation, first time it had the battery in hand) for organisations in relation ``actors``
    (column ``org_id``): the candidates of a compliant channel."""
    naive = DIALECTS[dialect].naive.format(col="min(e.occurred_at)")
    return f"""
SELECT e.battery_id, e.actor AS org_id, {naive} AS first_at
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
SELECT battery_id, position, event_type, actor, {d.naive.format(col="occurred_at")} AS occurred_at,
  {d.naive.format(col="recorded_at")} AS recorded_at,
  {weekdays_before("recorded_at")} - {weekdays_before("occurred_at")} AS lag_working_days
FROM {source}
WHERE event_type IN ({types})
"""


# Events the missing-intake rule follows: a hand-over naming its receiver, the receiver's acceptance, and the
# recycler's own reports of the intake (a lot or the recycling itself).
HANDOVER_EVENTS = ("CustodyHandedOver", "CustodyAccepted")
INTAKE_REPORT_EVENTS = ("RecyclingLotReceived", "BatteryRecycled")


def steps_sql(source: str, *, dialect: str = "duckdb") -> str:
    """Hand-overs (with their receiver), acceptances and intake reports: what the missing-intake rule of the
    traceability deadlines reads (an acceptance by a recycler after a hand-over to it, with no intake report
    after it within the deadline)."""
    d = DIALECTS[dialect]
    return f"""
SELECT battery_id, position, event_type, actor, occurred_at,
  if(event_type = 'CustodyHandedOver', {d.json_text.format(col="payload", key="to_org")}, NULL) AS to_org
FROM {source}
WHERE event_type IN ({_in(HANDOVER_EVENTS + INTAKE_REPORT_EVENTS)})
"""


# the fields of a late upload in upload_sums_sql's list, position first (the list's order)
_LATE_FIELDS = (
    "position",
    "battery_id",
    "event_type",
    "occurred_at",
    "recorded_at",
    "lag_working_days",
    "deadline_working_days",
)


def bound_uploads_sql(
    uploads: str,
    roles: str,
    deadlines: str,
    orgs: str,
    adjust: str | None = None,
    *,
    effective: date,
    adjust_until: date | None = None,
    dialect: str = "duckdb",
) -> str:
    """The uploads (rows of ``uploads_sql``) bound by a traceability deadline from day ``effective`` on, one
    row per upload with the tightest deadline that binds it: ``deadlines`` (rule, role, event_type,
    working_days) by the actor's roles (``roles``: org_id, role), and the actor's country (``orgs``: org_id,
    country; an actor without one is left out). With a working-day calendar, ``adjust`` (day, cum: the
    cumulative correction up to each day through ``adjust_until``) corrects the lag in weekdays the fold
    computed: holidays on weekdays out, working weekends in (0 before the table's first day, its last value
    after ``adjust_until``)."""
    d = DIALECTS[dialect]
    lag, joins = "u.lag_working_days", ""
    if adjust is not None and adjust_until is not None:
        last = adjust_until.isoformat()
        final = f"(SELECT cum FROM {adjust} WHERE day = DATE '{last}')"

        def cum(alias: str, col: str) -> str:  # the adjustment up to the row's day (0 before the table)
            return f"coalesce({alias}.cum, CASE WHEN CAST(u.{col} AS DATE) > DATE '{last}' THEN {final} ELSE 0 END)"

        lag = f"({lag} + {cum('ar', 'recorded_at')} - {cum('ao', 'occurred_at')})"
        joins = (
            f"\n  LEFT JOIN {adjust} ar ON ar.day = CAST(u.recorded_at AS DATE)"
            f"\n  LEFT JOIN {adjust} ao ON ao.day = CAST(u.occurred_at AS DATE)"
        )
    since = d.naive_literal.format(value=f"{effective.isoformat()} 00:00:00")
    return f"""
WITH od AS (
  SELECT r.org_id, d.event_type, min(d.working_days) AS deadline_working_days, min(d.rule) AS rule
  FROM {roles} r JOIN {deadlines} d ON d.role = r.role GROUP BY r.org_id, d.event_type)
SELECT u.battery_id, u.position, u.event_type, u.actor, o.country, u.occurred_at, u.recorded_at,
  {lag} AS lag_working_days, od.deadline_working_days, od.rule
FROM {uploads} u JOIN od ON od.org_id = u.actor AND od.event_type = u.event_type
  JOIN {orgs} o ON o.org_id = u.actor{joins}
WHERE u.occurred_at >= {since}
"""


def upload_sums_sql(bound: str, *, dialect: str = "duckdb") -> str:
    """The uploads of ``bound`` (rows of :func:`bound_uploads_sql`) summed per actor, country and rule: how many,
    how many late (a lag above the deadline), the longest lag, the deadline, and the late ones in ledger order
    (``late_uploads``, structs of :data:`_LATE_FIELDS`)."""
    d = DIALECTS[dialect]
    late = "lag_working_days > deadline_working_days"
    fields = ", ".join(d.struct_field.format(name=f) for f in _LATE_FIELDS)
    late_list = d.struct_list.format(fields=fields, first=_LATE_FIELDS[0], cond=late)
    return f"""
SELECT actor, country, rule, count(*) AS uploads, count(*) FILTER (WHERE {late}) AS late,
  max(lag_working_days) AS max_lag_working_days, min(deadline_working_days) AS deadline_working_days,
  {late_list} AS late_uploads
FROM {bound} GROUP BY actor, country, rule
"""


def leaked_batteries_sql(
    facts: str,
    contacts: str,
    eligible: str,
    *,
    window_days: int,
    retired_before: date,
    limit: int,
    dialect: str = "duckdb",
) -> str:
    """The first ``limit`` batteries of ``facts`` (by retirement, then id) retired before day
    ``retired_before`` that no organisation of ``eligible`` (org_id, valid_from, valid_until) had in hand,
    while eligible, within ``window_days`` days of the retirement (``contacts``: first time each organisation
    had a battery): the leaked batteries, with their producer, market, category, chemistry, mass, day retired
    and last custodian. Only the batteries retired before that day are joined to their contacts."""
    d = DIALECTS[dialect]
    before = d.naive_literal.format(value=f"{retired_before.isoformat()} 00:00:00")
    due = d.plus_days.format(col="f.retired_at", days=int(window_days))
    return f"""
WITH f AS (
  SELECT * FROM {facts} f WHERE f.retired_at IS NOT NULL AND f.retired_at < {before}),
ok AS (
  SELECT c.battery_id, min(c.first_at) AS first_ok FROM {contacts} c
  JOIN {eligible} e ON e.org_id = c.org_id
  WHERE c.battery_id IN (SELECT battery_id FROM f) AND e.valid_from <= CAST(c.first_at AS DATE)
    AND (e.valid_until IS NULL OR CAST(c.first_at AS DATE) <= e.valid_until)
  GROUP BY c.battery_id)
SELECT f.battery_id, f.producer, f.market_country AS country, f.category, f.chemistry, f.mass_kg,
  CAST(f.retired_at AS DATE) AS retired_on, f.last_custodian
FROM f LEFT JOIN ok ON ok.battery_id = f.battery_id
WHERE NOT (ok.first_ok IS NOT NULL AND ok.first_ok <= {due})
ORDER BY f.retired_at, f.battery_id LIMIT {int(limit)}
"""


def missing_intakes_sql(steps: str) -> str:
    """Acceptances by an organisation right after a hand-over to it (the last hand-over of the battery before
    the acceptance names it) with no intake report of the same organisation on the battery after it: the latest
    such acceptance per (battery, organisation)."""
    return f"""
WITH acc AS (
  SELECT a.battery_id, a.actor, a.position, a.occurred_at,
    (SELECT max_by(h.to_org, h.position) FROM {steps} h
     WHERE h.battery_id = a.battery_id AND h.event_type = 'CustodyHandedOver' AND h.position < a.position)
      AS handed_to
  FROM {steps} a WHERE a.event_type = 'CustodyAccepted'),
last_acc AS (
  SELECT battery_id, actor, max(position) AS position, max_by(occurred_at, position) AS occurred_at
  FROM acc WHERE handed_to = actor GROUP BY battery_id, actor)
SELECT l.battery_id, l.actor, l.position, l.occurred_at FROM last_acc l
WHERE NOT EXISTS (
  SELECT 1 FROM {steps} r WHERE r.battery_id = l.battery_id AND r.actor = l.actor
    AND r.event_type IN ({_in(INTAKE_REPORT_EVENTS)}) AND r.position > l.position)
"""


def lot_inputs_sql(source: str, elements: Sequence[str], *, dialect: str = "duckdb") -> str:
    """One row per ``RecyclingLotReceived``: the battery, its input lot, recycler, mass, chemistry group, day
    received and the declared element masses (``<el>_kg``, NULL when not declared)."""
    d = DIALECTS[dialect]

    items, js = _payload_fields(
        d,
        (
            "lot_id",
            "mass_kg",
            "chemistry_group",
            "received_on",
            "electrode_powder_kg",
            *(f"{el}_kg" for el in elements),
        ),
    )
    els = "".join(f",\n  TRY_CAST({js[f'{el}_kg']} AS DOUBLE) AS {el}_kg" for el in elements)
    return f"""
SELECT position, battery_id, recycler, {js["lot_id"]} AS lot_id,
  CAST({js["mass_kg"]} AS DOUBLE) AS mass_kg, {js["chemistry_group"]} AS chemistry_group,
  CAST({js["received_on"]} AS DATE) AS received_on,
  TRY_CAST({js["electrode_powder_kg"]} AS DOUBLE) AS electrode_powder_kg{els}
FROM (SELECT position, battery_id, actor AS recycler, {items}
  FROM {source} WHERE event_type = 'RecyclingLotReceived') received
"""


def lot_outputs_sql(source: str, elements: Sequence[str], *, dialect: str = "duckdb") -> str:
    """One row per ``RecyclingLotProduced``: the output lot, the input lot it was made from, recycler, the
    battery whose stream records it, fraction, mass, day, whether counted as recycled, buyer, model and the
    element masses."""
    d = DIALECTS[dialect]

    items, js = _payload_fields(
        d,
        (
            "lot_id",
            "input_lot_id",
            "fraction",
            "mass_kg",
            "produced_on",
            "counted_as_recycled",
            "buyer",
            "for_model",
            *(f"{el}_kg" for el in elements),
        ),
    )
    els = "".join(f",\n  TRY_CAST({js[f'{el}_kg']} AS DOUBLE) AS {el}_kg" for el in elements)
    return f"""
SELECT position, battery_id, recycler, {js["lot_id"]} AS lot_id, {js["input_lot_id"]} AS input_lot_id,
  {js["fraction"]} AS fraction, CAST({js["mass_kg"]} AS DOUBLE) AS mass_kg,
  CAST({js["produced_on"]} AS DATE) AS produced_on,
  coalesce({js["counted_as_recycled"]} = 'true', false) AS counted_as_recycled,
  {js["buyer"]} AS buyer, {js["for_model"]} AS for_model{els}
FROM (SELECT position, battery_id, actor AS recycler, {items}
  FROM {source} WHERE event_type = 'RecyclingLotProduced') produced
"""


# Ordered list aggregate (the batteries of a lot in ledger order) and list aggregate, the lot functions whose
# text differs: Spark's array_agg (collect_list) drops NULLs, DuckDB's keeps them, so Spark collects one-field
# structs (never NULL) and unwraps them.
_ORDERED_LIST = {
    "duckdb": "array_agg({col} ORDER BY {key})",
    "spark": "transform(array_sort(array_agg(struct({key}, {col}))), x -> x.{col})",
}
_LIST = {
    "duckdb": "array_agg({col})",
    "spark": "transform(array_agg(struct({col})), x -> x.{col})",
}
# How close to a limit a summed lot may come before its recycler's lots are checked row by row (math.fsum in
# Python): SQL sums round differently from fsum, by far less than this.
_SUSPECT_MARGIN = 1e-7
_HUGE = 1e300  # |value| above this, or NaN (which compares greater than any number): checked row by row


def lot_summary_sql(lot_in: str, elements: Sequence[str], *, dialect: str = "duckdb") -> str:
    """One row per input lot of the ``lot_in`` rows (per recycler and lot id): chemistry group, first day
    received, the batteries in ledger order, and the values the lot's masses are summed from (mass, each
    element and electrode powder; an element's or the powder's list is NULL unless every battery of the lot
    declares it). The lists, not their SQL sums, are returned so that the sums are math.fsum's, exactly as
    when the lot is built row by row."""
    if dialect not in _ORDERED_LIST:
        raise ValidationError(f"unknown SQL dialect {dialect!r}; known: {', '.join(sorted(_ORDERED_LIST))}")
    batteries = _ORDERED_LIST[dialect].format(col="battery_id", key="position")

    def listed(col: str) -> str:
        return _LIST[dialect].format(col=col)

    cols = "".join(
        f",\n  CASE WHEN count({c}) = count(*) THEN {listed(c)} ELSE NULL END AS {c}s"
        for c in (*(f"{el}_kg" for el in elements), "electrode_powder_kg")
    )
    return f"""
SELECT recycler, lot_id, min(chemistry_group) AS chemistry_group, min(received_on) AS received_on,
  {batteries} AS batteries, {listed("mass_kg")} AS mass_kgs{cols}
FROM {lot_in}
GROUP BY recycler, lot_id
"""


def lot_suspects_sql(lot_in: str, lot_out: str, elements: Sequence[str]) -> str:
    """The recyclers whose lots may not be consistent and are checked row by row (``recyclers.build_lots``,
    which names the first inconsistency): a battery received twice or into two lots, an output lot recorded
    twice, an output lot naming a lot the recycler has no inputs in or recorded on a battery outside it, a lot
    of several chemistry groups, a missing lot id, mass, group or day, a negative or non-finite value, and
    outputs within a margin of outweighing their inputs (in mass or in a declared element). A superset of the
    inconsistent ones: the row-by-row check decides. Every recycler is checked within its own lots."""
    vals = ("mass_kg", *(f"{el}_kg" for el in elements))
    bad_in = " OR ".join(f"{v} < 0 OR abs({v}) > {_HUGE}" for v in (*vals, "electrode_powder_kg"))
    bad_out = " OR ".join(f"{v} < 0 OR abs({v}) > {_HUGE}" for v in vals)
    i_els = "".join(f", count({el}_kg) AS n_{el}, sum({el}_kg) AS {el}_kg" for el in elements)
    o_els = "".join(f", sum(coalesce({el}_kg, 0)) AS {el}_kg" for el in elements)
    m = _SUSPECT_MARGIN
    over = " OR ".join(
        [f"o.mass_kg > i.mass_kg * (1 + 1e-9) - {m} * (i.mass_kg + o.mass_kg + 1)"]
        + [
            f"(i.n_{el} = i.n AND o.{el}_kg > i.{el}_kg * (1 + 1e-9) + 1e-9 - {m} * (i.{el}_kg + o.{el}_kg + 1))"
            for el in elements
        ]
    )
    return f"""
WITH i AS (
  SELECT recycler, lot_id, count(*) AS n, count(DISTINCT chemistry_group) AS n_groups,
    sum(mass_kg) AS mass_kg{i_els}
  FROM {lot_in} GROUP BY recycler, lot_id),
o AS (
  SELECT recycler, input_lot_id, sum(mass_kg) AS mass_kg{o_els}
  FROM {lot_out} GROUP BY recycler, input_lot_id)
SELECT recycler FROM {lot_in}
WHERE lot_id IS NULL OR mass_kg IS NULL OR chemistry_group IS NULL OR received_on IS NULL OR {bad_in}
UNION SELECT recycler FROM {lot_out}
WHERE lot_id IS NULL OR input_lot_id IS NULL OR mass_kg IS NULL OR {bad_out}
UNION SELECT recycler FROM {lot_in} GROUP BY recycler, battery_id HAVING count(*) > 1
UNION SELECT recycler FROM {lot_out} GROUP BY recycler, lot_id HAVING count(*) > 1
UNION SELECT o.recycler FROM {lot_out} o
WHERE NOT EXISTS (
  SELECT 1 FROM {lot_in} x
  WHERE x.recycler = o.recycler AND x.lot_id = o.input_lot_id AND x.battery_id = o.battery_id)
UNION SELECT recycler FROM i WHERE n_groups > 1
UNION SELECT i.recycler FROM i JOIN o ON o.recycler = i.recycler AND o.input_lot_id = i.lot_id
WHERE {over}
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


# Pre-aggregated facts. The producers' and regulators' figures (placed on market, registration gaps, collection,
# take-back, leakage) filter and sum batteries only by these keys, so they read a few thousand group rows instead
# of one row per battery. Days, not times, are kept: a time is before midnight of day D exactly when its date is
# before D, and a first compliant contact is within a window of w whole days after retirement exactly when the
# days to it, rounded up, are at most w.
CHANNEL_GROUP_KEYS = (
    "producer",
    "market_country",
    "category",
    "chemistry",
    "placed_day",
    "collected_year",
    "retired_day",
    "has_ok",
    "ok_days",
)
PERFORMANCE_GROUP_KEYS = ("recycler", "recycled_year", "chemistry")
_DAY_US = 86_400_000_000


def channel_groups_sql(facts: str, contacts: str, eligible: str, *, dialect: str = "duckdb") -> str:
    """Batteries of ``facts`` counted per :data:`CHANNEL_GROUP_KEYS`: units, units with a mass, summed mass.
    ``has_ok`` / ``ok_days``: whether the battery has a first contact (in ``contacts``) with an organisation of
    ``eligible`` (org_id, valid_from, valid_until: certified on the day of the contact), and the days from its
    retirement to that contact rounded up (NULL without either)."""
    us = DIALECTS[dialect].micros
    keys = ", ".join(CHANNEL_GROUP_KEYS)
    return f"""
WITH ok AS (
  SELECT c.battery_id, min(c.first_at) AS first_ok FROM {contacts} c JOIN {eligible} e ON e.org_id = c.org_id
  WHERE e.valid_from <= CAST(c.first_at AS DATE)
    AND (e.valid_until IS NULL OR CAST(c.first_at AS DATE) <= e.valid_until)
  GROUP BY c.battery_id),
b AS (
  SELECT f.producer, f.market_country, f.category, f.chemistry, CAST(f.placed_at AS DATE) AS placed_day,
    year(f.collected_at) AS collected_year, CAST(f.retired_at AS DATE) AS retired_day,
    ok.first_ok IS NOT NULL AS has_ok,
    CAST(ceil(({us.format(col="ok.first_ok")} - {us.format(col="f.retired_at")}) / {_DAY_US}.0) AS BIGINT)
      AS ok_days,
    f.mass_kg
  FROM {facts} f LEFT JOIN ok ON ok.battery_id = f.battery_id)
SELECT {keys}, CAST(count(*) AS BIGINT) AS units, CAST(count(mass_kg) AS BIGINT) AS units_with_mass,
  sum(mass_kg) AS mass_kg
FROM b GROUP BY {keys}
"""


def performance_groups_sql(facts: str) -> str:
    """Recycled batteries of ``facts`` per :data:`PERFORMANCE_GROUP_KEYS`: units and processed mass (the
    recycled mass, else the battery's)."""
    keys = ", ".join(PERFORMANCE_GROUP_KEYS)
    return f"""
SELECT recycler, year(recycled_at) AS recycled_year, chemistry, CAST(count(*) AS BIGINT) AS units,
  CAST(count(coalesce(recycled_mass_kg, mass_kg)) AS BIGINT) AS units_with_mass,
  sum(coalesce(recycled_mass_kg, mass_kg)) AS mass_kg
FROM {facts} WHERE recycled_at IS NOT NULL GROUP BY {keys}
"""


def merge_groups_sql(groups: str, removed: str, added: str, keys: Sequence[str]) -> str:
    """Group table ``groups`` without the rows of ``removed`` and with those of ``added`` (the same shape:
    keys, units, units_with_mass, mass_kg): what a refresh does to the touched batteries' groups (their rows
    before it out, after it in). Groups left with no battery go; a group whose batteries have no mass keeps
    a NULL mass."""
    k = ", ".join(keys)
    return f"""
SELECT {k}, CAST(sum(units) AS BIGINT) AS units, CAST(sum(units_with_mass) AS BIGINT) AS units_with_mass,
  CASE WHEN sum(units_with_mass) > 0 THEN sum(mass_kg) END AS mass_kg
FROM (
  SELECT {k}, units, units_with_mass, mass_kg FROM {groups}
  UNION ALL SELECT {k}, -units, -units_with_mass, -mass_kg FROM {removed}
  UNION ALL SELECT {k}, units, units_with_mass, mass_kg FROM {added}) x
GROUP BY {k} HAVING sum(units) <> 0
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


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """The days on which a jurisdiction's working days differ from Monday to Friday: weekdays off (public
    holidays and days off in lieu) and weekend days worked (the make-up days of China's holiday arrangements,
    调休). ``name`` says where the days come from; ``years`` which years they cover (outside them, Monday to
    Friday)."""

    name: str
    days_off: frozenset[date] = frozenset()
    days_on: frozenset[date] = frozenset()
    years: tuple[int, int] | None = None  # first and last year covered

    def __post_init__(self) -> None:
        odd_off = sorted(d for d in self.days_off if d.weekday() >= 5)
        odd_on = sorted(d for d in self.days_on if d.weekday() < 5)
        if odd_off or odd_on:
            raise ValidationError(
                f"calendar {self.name}: days off must be weekdays ({odd_off[:3]}) and days worked must be "
                f"Saturdays or Sundays ({odd_on[:3]})"
            )

    def adjustment(self, start: date, end: date) -> int:
        """Weekend days worked minus weekdays off in (start, end]."""
        return sum(1 for d in self.days_on if start < d <= end) - sum(
            1 for d in self.days_off if start < d <= end
        )

    def cumulative(self, first: date, last: date) -> list[tuple[date, int]]:
        """Every day of [first, last] with the adjustment of all days up to it (from ``first``): the dense
        table a query joins the dates of its rows to, so that working days are weekdays plus differences."""
        changes = {d: 1 for d in self.days_on if first <= d <= last}
        changes.update({d: -1 for d in self.days_off if first <= d <= last})
        out: list[tuple[date, int]] = []
        running = 0
        for n in range(first.toordinal(), last.toordinal() + 1):
            day = date.fromordinal(n)
            running += changes.get(day, 0)
            out.append((day, running))
        return out


WEEKDAYS = WorkCalendar("Monday to Friday")


def working_days_between(start: date, end: date, calendar: WorkCalendar = WEEKDAYS) -> int:
    """Working days in (start, end] (Monday to Friday, corrected by ``calendar``); negative when end is
    before start."""
    if end < start:
        return -working_days_between(end, start, calendar)

    def before(day: date) -> int:  # weekdays from a Monday long ago up to (not including) day
        m = day.toordinal() - date(1, 1, 1).toordinal()  # 0001-01-01 was a Monday
        return 5 * (m // 7) + min(m % 7, 5)

    weekdays = before(date.fromordinal(end.toordinal() + 1)) - before(date.fromordinal(start.toordinal() + 1))
    return weekdays + calendar.adjustment(start, end)
