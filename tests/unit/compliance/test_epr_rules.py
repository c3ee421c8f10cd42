"""Hand-worked cases for the pure producers' rules: Annex XI collection rate, targets in force, working days
(the Python rule and the SQL formula agree), and registration checks that name the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from batteryloop.compliance.core import epr
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.registration import ProducerRegistration, check_registration


def test_collection_rate_averages_the_three_preceding_years() -> None:
    # 2025: collected 130 kg; placed 2022..2024: 100, 200, 300 kg -> 130 / 200
    assert epr.collection_rate(
        130.0, {2022: 100.0, 2023: 200.0, 2024: 300.0}, year=2025, years=3
    ) == pytest.approx(0.65)
    # the reporting year's own placings do not count (Annex XI, unlike Directive 2006/66/EC)
    assert epr.collection_rate(130.0, {2025: 1e9, 2024: 600.0}, year=2025, years=3) == pytest.approx(0.65)
    assert epr.collection_rate(10.0, {}, year=2025, years=3) is None
    with pytest.raises(ValidationError, match="negative"):
        epr.collection_rate(-1.0, {2024: 1.0}, year=2025, years=3)


def test_the_target_in_force_is_the_latest_due() -> None:
    portable = {2023: 0.45, 2027: 0.63, 2030: 0.73}
    assert epr.applicable_target(portable, 2022) is None
    assert epr.applicable_target(portable, 2026) == (2023, 0.45)
    assert epr.applicable_target(portable, 2027) == (2027, 0.63)
    assert epr.applicable_target(portable, 2035) == (2030, 0.73)


def test_working_days() -> None:
    friday, monday = date(2026, 11, 27), date(2026, 11, 30)
    assert epr.working_days_between(friday, monday) == 1
    assert epr.working_days_between(monday, monday + timedelta(days=14)) == 10
    assert epr.working_days_between(monday, friday) == -1


def test_sql_working_days_equal_python() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    start = datetime(2024, 12, 20, 9, tzinfo=UTC)
    rows = [(i, start + timedelta(days=i % 9), start + timedelta(days=i % 9 + i // 9)) for i in range(300)]
    con.execute(
        "CREATE TABLE e (position BIGINT, battery_id VARCHAR, event_type VARCHAR, actor VARCHAR, "
        "occurred_at TIMESTAMPTZ, recorded_at TIMESTAMPTZ, payload VARCHAR)"
    )
    con.executemany("INSERT INTO e VALUES (?, 'b', 'BatteryRecycled', 'r', ?, ?, '{}')", rows)
    got = dict(
        con.execute(
            f"SELECT position, lag_working_days FROM ({epr.uploads_sql('e', ['BatteryRecycled'])})"
        ).fetchall()
    )
    for i, occurred, recorded in rows:
        assert got[i] == epr.working_days_between(occurred.date(), recorded.date()), (occurred, recorded)


def _reg(**kw: object) -> ProducerRegistration:
    fields: dict[str, object] = {
        "producer": "maker",
        "country": "DE",
        "brands": ("M",),
        "categories": ("ev",),
        "chemistries": ("LFP",),
        "registered_on": date(2024, 1, 1),
    }
    fields.update(kw)
    return ProducerRegistration(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"country": "Germany"}, "country 'Germany'"),
        ({"brands": ()}, "brands"),
        ({"categories": ("car",)}, "category 'car'"),
        ({"chemistries": ("XYZ",)}, "chemistry 'XYZ'"),
        ({"pro": "maker"}, "pro must be another organisation"),
    ],
)
def test_registration_errors_name_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        check_registration(_reg(**change))


def test_fold_merge_equals_one_fold() -> None:
    """Folding two consecutive event ranges and merging equals folding the whole range."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE e (position BIGINT, battery_id VARCHAR, event_type VARCHAR, actor VARCHAR, "
        "occurred_at TIMESTAMPTZ, recorded_at TIMESTAMPTZ, payload VARCHAR)"
    )
    t = datetime(2024, 1, 1, tzinfo=UTC)
    events = [
        (
            1,
            "a",
            "BatteryManufactured",
            "m",
            t,
            t,
            '{"category":"ev","chemistry":"LFP","level":"pack","mass_kg":400}',
        ),
        (2, "a", "BatteryPlacedOnMarket", "m", t, t, '{"country":"DE"}'),
        (3, "a", "BatteryRetired", "m", t + timedelta(days=300), t, "{}"),
        (4, "a", "CustodyAccepted", "r", t + timedelta(days=310), t, "{}"),
        (
            5,
            "b",
            "BatteryManufactured",
            "m",
            t,
            t,
            '{"category":"portable","chemistry":"LFP","level":"pack"}',
        ),
        (6, "a", "BatteryRecycled", "r", t + timedelta(days=320), t, '{"mass_kg":390}'),
    ]
    con.executemany("INSERT INTO e VALUES (?, ?, ?, ?, ?, ?, ?)", events)
    whole = con.execute(f"SELECT * FROM ({epr.facts_sql('e')}) ORDER BY battery_id").fetchall()
    con.execute(f"CREATE TABLE f1 AS {epr.facts_sql('(SELECT * FROM e WHERE position <= 3)')}")
    con.execute(f"CREATE TABLE f2 AS {epr.facts_sql('(SELECT * FROM e WHERE position > 3)')}")
    merged = con.execute(f"SELECT * FROM ({epr.merge_facts_sql('f1', 'f2')}) ORDER BY battery_id").fetchall()
    assert merged == whole
    a = dict(
        zip(
            [d[0] for d in con.execute(f"SELECT * FROM ({epr.facts_sql('e')}) LIMIT 0").description],
            whole[0],
            strict=True,
        )
    )
    assert (a["producer"], a["market_country"], a["mass_kg"], a["last_custodian"], a["recycled_mass_kg"]) == (
        "m",
        "DE",
        400.0,
        "r",
        390.0,
    )
