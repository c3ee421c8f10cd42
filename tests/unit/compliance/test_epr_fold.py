"""The per-event-type fold and the touched-rows refresh give the same facts as the single wide fold they
replaced (kept here as the reference), on a generated ledger with repeated and odd events; a first value is
the first event's in ledger order, so a refresh in any slices equals a fold of everything at once."""

from __future__ import annotations

import duckdb
import pytest

from batteryloop.compliance.columnar import Warehouse
from batteryloop.compliance.core import epr
from batteryloop.domain.errors import ValidationError


def _reference_facts_sql(source: str) -> str:
    def js(key: str) -> str:
        return f"json_extract_string(payload, '$.{key}')"

    def first(column: str, event: str) -> str:
        # the value of the first event of the type (ledger order) that carries one
        out = f"min_by({column}, position) FILTER (WHERE event_type = '{event}' AND {column} IS NOT NULL)"
        # times in UTC without a zone, as the fold keeps them (epr.DIALECTS["duckdb"].naive)
        return f"make_timestamp(epoch_us({out}))" if column == "occurred_at" else out

    return f"""
SELECT battery_id,
  {first("actor", "BatteryManufactured")} AS manufacturer,
  {first(js("category"), "BatteryManufactured")} AS category,
  {first(js("chemistry"), "BatteryManufactured")} AS chemistry,
  {first(js("level"), "BatteryManufactured")} AS level,
  {first(f"CAST({js('mass_kg')} AS DOUBLE)", "BatteryManufactured")} AS mass_kg,
  {first("actor", "BatteryPlacedOnMarket")} AS producer,
  {first(js("country"), "BatteryPlacedOnMarket")} AS market_country,
  {first("occurred_at", "BatteryPlacedOnMarket")} AS placed_at,
  {first("occurred_at", "BatteryRetired")} AS retired_at,
  {first("occurred_at", "BatteryCollected")} AS collected_at,
  {first("actor", "BatteryCollected")} AS collector,
  {first("occurred_at", "BatteryRecycled")} AS recycled_at,
  {first("actor", "BatteryRecycled")} AS recycler,
  {first(f"CAST({js('mass_kg')} AS DOUBLE)", "BatteryRecycled")} AS recycled_mass_kg,
  max_by(actor, position) FILTER (WHERE event_type IN ('BatteryManufactured', 'CustodyAccepted',
    'BatteryDetached')) AS last_custodian
FROM {source}
GROUP BY battery_id
"""


_TYPES = [
    "BatteryManufactured",
    "BatteryPlacedOnMarket",
    "BatteryPutIntoService",
    "StateOfHealthReported",
    "BatteryRetired",
    "BatteryCollected",
    "CustodyAccepted",
    "BatteryDetached",
    "BatteryRecycled",
]


def _ledger(con: duckdb.DuckDBPyConnection, n: int) -> None:
    """n pseudo-random events over 300 batteries in any order, with repeats and payloads with and without the
    keys the fold reads, but what every ledger holds: a battery's first event is its making, and making,
    placing on the market and recycling happen at most once per battery (``epr.ONCE_PER_BATTERY``; a later
    repeat is turned into a reading)."""
    types = "[" + ", ".join(f"'{t}'" for t in _TYPES) + "]"
    once = ", ".join(f"'{t}'" for t in epr.ONCE_PER_BATTERY)
    con.execute(
        f"""CREATE TABLE events AS
WITH raw AS (
SELECT CAST(i + 1 AS BIGINT) AS position, 'b' || ((i * 7919) % 300) AS battery_id,
  {types}[1 + ((i * 31 + i // 7) % {len(_TYPES)})] AS event_type,
  TIMESTAMPTZ '2020-01-01 00:00:00+00' + INTERVAL ((i * 13) % 2000) DAY AS occurred_at,
  TIMESTAMPTZ '2020-01-01 00:00:00+00' + INTERVAL ((i * 13) % 2000 + i % 9) DAY AS recorded_at,
  'o' || ((i * 17) % 11) AS actor,
  CASE i % 5 WHEN 0 THEN '{{}}'
    ELSE '{{"category":"c' || (i % 3) || '","chemistry":"k' || (i % 4) || '","level":"pack","mass_kg":'
      || ((i * 37) % 500) || ',"country":"C' || (i % 6) || '"}}' END AS payload
FROM range({n}) r(i)),
made AS (
  SELECT * REPLACE (CASE WHEN position = min(position) OVER (PARTITION BY battery_id) THEN 'BatteryManufactured'
    WHEN event_type = 'BatteryManufactured' THEN 'StateOfHealthReported' ELSE event_type END AS event_type)
  FROM raw)
SELECT * REPLACE (CASE WHEN event_type IN ({once})
    AND position > min(position) OVER (PARTITION BY battery_id, event_type) THEN 'StateOfHealthReported'
    ELSE event_type END AS event_type)
FROM made"""
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return sorted(con.execute(sql).fetchall(), key=repr)


def test_fold_equals_the_wide_fold() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _ledger(con, 5000)
    new = _rows(con, epr.facts_sql("events"))
    assert len(new) == 300
    assert new == _rows(con, _reference_facts_sql("events"))
    assert any(r[6] is not None and r[13] is not None for r in new)  # producers and recyclers were folded


def test_refresh_of_touched_batteries_equals_the_merge_of_whole_folds() -> None:
    """The engine's refresh (merge only the batteries the new events touch) against the previous refresh:
    the reference fold of each slice merged into the whole previous facts by a full outer join."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _ledger(con, 6000)
    wh = Warehouse(upload_event_types=("BatteryRetired",))
    events = con.sql("SELECT * FROM events ORDER BY position").to_arrow_table()
    slices = [(0, 2500), (2500, 1500), (4000, 1990), (5990, 10)]  # touching many, most and a few batteries
    for k, (start, length) in enumerate(slices):
        wh.ingest_arrow(events.slice(start, length))
        part = f"(SELECT * FROM events WHERE position > {start} AND position <= {start + length})"
        con.execute(f"CREATE TABLE part_{k} AS {_reference_facts_sql(part)}")
        if k == 0:
            con.execute("CREATE TABLE ref AS SELECT * FROM part_0")
        else:
            con.execute(f"CREATE OR REPLACE TABLE ref AS {epr.merge_facts_sql('ref', f'part_{k}')}")
    assert wh.position == 6000
    want = _rows(con, "SELECT * FROM ref")
    assert len(want) == 300
    assert _rows(wh.con, "SELECT * FROM facts") == want
    assert (
        wh.con.execute("SELECT count(*) FROM uploads").fetchone()
        == con.execute("SELECT count(*) FROM events WHERE event_type = 'BatteryRetired'").fetchone()
    )


def test_refresh_in_slices_equals_one_fold_of_everything() -> None:
    """Repeated events whose times run backwards (the generated ledger has both): a first value is the first
    event's in ledger order, which the refresh's merge keeps too, so slices give exactly the whole fold."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _ledger(con, 6000)
    events = con.sql("SELECT * FROM events ORDER BY position").to_arrow_table()
    whole = Warehouse(upload_event_types=())
    whole.ingest_arrow(events)
    sliced = Warehouse(upload_event_types=())
    for start, length in [(0, 1000), (1000, 2900), (3900, 2090), (5990, 10)]:
        sliced.ingest_arrow(events.slice(start, length))
    want = _rows(whole.con, "SELECT * FROM facts")
    assert len(want) == 300
    assert _rows(sliced.con, "SELECT * FROM facts") == want
    # the generated ledger does repeat a fact's event with an earlier time later on (what min() got wrong)
    assert (
        con.execute(
            "SELECT count(*) FROM events a JOIN events b ON a.battery_id = b.battery_id "
            "AND a.event_type = b.event_type AND a.event_type = 'BatteryCollected' "
            "AND a.position < b.position AND b.occurred_at < a.occurred_at AND a.actor <> b.actor"
        ).fetchone()[0]
        > 0
    )


def test_a_first_value_pairs_the_time_and_the_actor_of_one_event() -> None:
    """Hand-worked: battery x collected by o2 on 2024-05-10 (position 2), then again by o1 on 2024-03-01
    (position 3, recorded later with an earlier time). The fact is o2 on 2024-05-10 -- before, the smallest
    time (March) was paired with the smallest actor (o1), though they came from different reports. The
    maker's payload gives the mass and leaves the chemistry out, and the last custodian is the maker (no
    hand-over)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        """CREATE TABLE events AS SELECT * FROM (VALUES
  (1, 'x', 'BatteryManufactured', TIMESTAMPTZ '2020-01-01 00:00:00+00', 'm9', '{"mass_kg": 400}'),
  (2, 'x', 'BatteryCollected', TIMESTAMPTZ '2024-05-10 08:00:00+00', 'o2', '{}'),
  (3, 'x', 'BatteryCollected', TIMESTAMPTZ '2024-03-01 08:00:00+00', 'o1', '{}')
) v(position, battery_id, event_type, occurred_at, actor, payload)"""
    )
    row = con.execute(
        "SELECT manufacturer, chemistry, mass_kg, collector, CAST(collected_at AS VARCHAR), last_custodian "
        f"FROM ({epr.facts_sql('events')}) f"
    ).fetchall()
    assert row == [("m9", None, 400.0, "o2", "2024-05-10 08:00:00", "m9")]


def test_the_last_custodian_is_the_last_hand_over_or_the_maker() -> None:
    """Hand-worked: y is made by m1 and accepted by c1 then c2; z is made by m2 and never handed over; w has
    only an acceptance in this slice (a refresh: made earlier) and takes its acceptor, not a maker."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        """CREATE TABLE events AS SELECT * FROM (VALUES
  (1, 'y', 'BatteryManufactured', TIMESTAMPTZ '2020-01-01 00:00:00+00', 'm1', '{}'),
  (2, 'z', 'BatteryManufactured', TIMESTAMPTZ '2020-01-01 00:00:00+00', 'm2', '{}'),
  (3, 'y', 'CustodyAccepted', TIMESTAMPTZ '2021-01-01 00:00:00+00', 'c1', '{}'),
  (4, 'w', 'CustodyAccepted', TIMESTAMPTZ '2021-01-02 00:00:00+00', 'c3', '{}'),
  (5, 'y', 'CustodyAccepted', TIMESTAMPTZ '2020-06-01 00:00:00+00', 'c2', '{}')
) v(position, battery_id, event_type, occurred_at, actor, payload)"""
    )
    rows = con.execute(
        f"SELECT battery_id, manufacturer, last_custodian FROM ({epr.facts_sql('events')}) f ORDER BY 1"
    ).fetchall()
    assert rows == [("w", None, "c3"), ("y", "m1", "c2"), ("z", "m2", "m2")]


def test_events_that_repeat_a_once_per_battery_event_are_refused_and_nothing_is_folded() -> None:
    """Two exports of the same events (or any events no ledger holds): x made twice. The full fold and a
    refresh both refuse them with an error naming the event and a battery, and keep what they had."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        """CREATE TABLE events AS SELECT * FROM (VALUES
  (1, 'x', 'BatteryManufactured', TIMESTAMPTZ '2020-01-01 00:00:00+00', 'm9', '{"chemistry": "NMC"}'),
  (2, 'v', 'BatteryManufactured', TIMESTAMPTZ '2020-01-01 00:00:00+00', 'm9', '{"chemistry": "LFP"}'),
  (3, 'x', 'BatteryManufactured', TIMESTAMPTZ '2020-01-02 00:00:00+00', 'm1', '{"chemistry": "LFP"}')
) v(position, battery_id, event_type, occurred_at, actor, payload)"""
    )
    events = con.sql("SELECT *, occurred_at AS recorded_at FROM events ORDER BY position").to_arrow_table()
    fresh = Warehouse(upload_event_types=())
    with pytest.raises(ValidationError, match=r"3 BatteryManufactured events of 2 batteries \(battery 'x'"):
        fresh.ingest_arrow(events)
    assert (fresh.position, fresh.events, fresh.ready) == (0, 0, False)
    refreshed = Warehouse(upload_event_types=())
    refreshed.ingest_arrow(events.slice(0, 2))
    con.execute("UPDATE events SET battery_id = 'u', position = position + 10")  # u made twice in one delta
    con.execute("UPDATE events SET battery_id = 'v' WHERE position = 12")
    delta = con.sql("SELECT *, occurred_at AS recorded_at FROM events ORDER BY position").to_arrow_table()
    with pytest.raises(ValidationError, match=r"3 BatteryManufactured events of 2 batteries \(battery 'u'"):
        refreshed.ingest_arrow(delta)
    assert refreshed.position == 2
    assert refreshed.con.execute("SELECT battery_id, chemistry FROM facts ORDER BY 1").fetchall() == [
        ("v", "LFP"),
        ("x", "NMC"),
    ]


def test_each_once_per_battery_event_can_happen_only_once_by_the_state_machine() -> None:
    """The fold reads ``epr.ONCE_PER_BATTERY`` as one row per battery; the lifecycle's transitions must keep
    that true: after such an event, no state it is legal from can be reached again (a hand-over and its
    acceptance return a battery to the state it left, so they reach nothing new)."""
    from batteryloop.domain.lifecycle import TRANSITIONS, EventType

    def reachable(state: object) -> set[object]:
        seen, todo = {state}, [state]
        while todo:
            at = todo.pop()
            for legal, to in TRANSITIONS.values():
                if at in legal and to is not None and to not in seen:
                    seen.add(to)
                    todo.append(to)
        return seen

    for name in epr.ONCE_PER_BATTERY:
        legal, to = TRANSITIONS[EventType(name)]
        assert to is not None, name
        assert not (legal & reachable(to)), f"{name} could happen twice: {legal & reachable(to)}"
    assert TRANSITIONS[EventType.BATTERY_MANUFACTURED][0] == frozenset({None})  # and it opens the stream


def test_a_refresh_with_only_a_placement_or_only_readings() -> None:
    """Facts come from the made, custody, placed, retired, collected and recycled events only: a refresh that
    brings only a reading leaves the battery's facts as they were, one that brings only its placing on the
    market fills in the producer, the country and the day."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        """CREATE TABLE events AS SELECT * FROM (VALUES
  (1, 'x', 'BatteryManufactured', TIMESTAMPTZ '2024-01-01 00:00:00+00', 'm1', '{"chemistry": "NMC"}'),
  (2, 'x', 'StateOfHealthReported', TIMESTAMPTZ '2024-02-01 00:00:00+00', 'm1', '{"soh_pct": 99}'),
  (3, 'x', 'BatteryPlacedOnMarket', TIMESTAMPTZ '2024-03-01 00:00:00+00', 'p1', '{"country": "ES"}')
) v(position, battery_id, event_type, occurred_at, actor, payload)"""
    )
    events = con.sql("SELECT *, occurred_at AS recorded_at FROM events ORDER BY position").to_arrow_table()
    wh = Warehouse(upload_event_types=())
    facts = "SELECT manufacturer, chemistry, producer, market_country, CAST(placed_at AS VARCHAR), last_custodian FROM facts"
    wh.ingest_arrow(events.slice(0, 1))
    assert wh.con.execute(facts).fetchall() == [("m1", "NMC", None, None, None, "m1")]
    wh.ingest_arrow(events.slice(1, 1))
    assert wh.con.execute(facts).fetchall() == [("m1", "NMC", None, None, None, "m1")]
    wh.ingest_arrow(events.slice(2, 1))
    assert wh.con.execute(facts).fetchall() == [("m1", "NMC", "p1", "ES", "2024-03-01 00:00:00", "m1")]
    assert wh.position == 3
