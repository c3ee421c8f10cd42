"""The pre-aggregated group tables the producers' and regulators' reports read stay right through refreshes
whose new events touch batteries already folded (a retired battery later collected and recycled, a second
placing, a late retirement): the reports of a refreshed engine equal those of an engine that folds every
event at once, and the groups equal groups built from scratch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa

from batteryloop.compliance import service
from batteryloop.compliance.columnar import EVENT_SCHEMA, Warehouse
from batteryloop.compliance.epr_engine import _leaked_list, upload_event_types
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role

AS_OF = date(2026, 12, 1)
COUNTRIES = ("DE", "FR", "PL", "CN", "IT")
T0 = datetime(2019, 1, 1, 6, tzinfo=UTC)


def _orgs() -> list[Organisation]:
    permit = Certification(CertificationScheme.EU_PERMIT, "permit", date(2010, 1, 1))
    white = Certification(CertificationScheme.MIIT_WHITE_LIST, "white list", date(2010, 1, 1))
    lapsed = Certification(CertificationScheme.EU_PERMIT, "lapsed", date(2010, 1, 1), date(2022, 6, 30))
    # p2 is Chinese: its placings are traceability uploads under the CN pack
    producers = [
        Organisation(f"p{i}", f"P{i}", "CN" if i == 2 else "DE", frozenset({Role.VEHICLE_MAKER}))
        for i in range(3)
    ]
    return [
        *producers,
        Organisation("r0", "R0", "DE", frozenset({Role.RECYCLER}), (permit, white)),
        Organisation("r1", "R1", "CN", frozenset({Role.RECYCLER})),
        Organisation("r2", "R2", "FR", frozenset({Role.RECYCLER}), (lapsed,)),
    ]


class _Events:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, datetime, str, dict[str, Any]]] = []

    def add(self, battery: str, event: str, at: datetime, actor: str, payload: dict[str, Any]) -> None:
        self.rows.append((battery, event, at, actor, payload))

    def table(self, first_position: int) -> pa.Table:
        cols: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
        for k, (battery, event, at, actor, payload) in enumerate(self.rows):
            cols["position"].append(first_position + k)
            cols["battery_id"].append(battery)
            cols["event_type"].append(event)
            cols["occurred_at"].append(at)
            cols["recorded_at"].append(at + timedelta(days=k % 37))  # some uploads late
            cols["actor"].append(actor)
            cols["payload"].append(orjson.dumps(payload).decode())
        return pa.table(cols, schema=EVENT_SCHEMA)


def _lifecycle(ev: _Events, i: int, *, retire: bool) -> datetime:
    b, producer = f"b{i:03d}", f"p{i % 3}"
    made = {"category": ["ev", "portable", "lmt", "industrial"][i % 4], "chemistry": ["NMC811", "LFP"][i % 2]}
    if i % 11:
        made["mass_kg"] = 1 + (i % 7) * 0.25  # exact in binary: sums do not depend on their order
    placed = T0 + timedelta(days=5 * i, hours=i % 24)
    ev.add(b, "BatteryManufactured", placed - timedelta(days=20), producer, made)
    ev.add(b, "BatteryPlacedOnMarket", placed, producer, {"country": COUNTRIES[i % 5]})
    retired = placed + timedelta(days=900, hours=i % 13)
    if retire:
        ev.add(b, "BatteryRetired", retired, producer, {})
    return retired


def _ledgers() -> tuple[pa.Table, pa.Table]:
    """Folded first: 200 batteries, three in four retired, some accepted by a certified, an uncertified and a
    lapsed recycler. Then, as new events: existing batteries collected, accepted and recycled (some within the
    leakage window, some after it), accepted again years later, or retired only now; and 60 new ones. (A
    second event of a type whose first value the facts keep, e.g. a second placing, is left out: the fold
    keeps the least value of a slice, not the earliest, so a refresh and a full fold differ there before
    any group table is read.)"""
    first, delta = _Events(), _Events()
    retired: dict[int, datetime] = {}
    for i in range(200):
        retired[i] = _lifecycle(first, i, retire=i % 4 != 0)
        if i % 4 and i % 3 == 0:
            first.add(f"b{i:03d}", "CustodyAccepted", retired[i] + timedelta(days=30), "r0", {})
        if i % 12 == 7:  # exactly at the end of the 365-day window, or an hour or a day after it
            late = timedelta(days=365 + (i // 12) % 3 // 2, hours=(i // 12) % 3 % 2)
            first.add(f"b{i:03d}", "CustodyAccepted", retired[i] + late, "r0", {})
        if i % 4 and i % 5 == 1:
            first.add(
                f"b{i:03d}", "CustodyAccepted", retired[i] + timedelta(days=10), ["r1", "r2"][i % 2], {}
            )
    for i in range(200):
        b = f"b{i:03d}"
        if i % 4 == 1:
            at = retired[i] + timedelta(days=(i * 37) % 400, hours=i % 5)
            delta.add(b, "BatteryCollected", at, "r0", {})
            delta.add(b, "CustodyAccepted", at, "r0", {})
            delta.add(b, "BatteryRecycled", at + timedelta(days=40), "r0", {"mass_kg": 2.5})
        elif i % 4 == 0:
            delta.add(b, "BatteryRetired", retired[i], f"p{i % 3}", {})
            if i % 8 == 0:
                delta.add(b, "CustodyAccepted", retired[i] + timedelta(days=3), "r2", {})
        if i % 6 == 2:  # a second acceptance by the certified recycler, years later
            delta.add(b, "CustodyAccepted", retired[i] + timedelta(days=2000), "r0", {})
    for i in range(200, 260):
        _lifecycle(delta, i, retire=True)
    a = first.table(1)
    return a, delta.table(a.num_rows + 1)


def _engine() -> Warehouse:
    wh = Warehouse(upload_event_types=upload_event_types())
    wh.set_organisations(_orgs())
    return wh


def _reports(wh: Warehouse) -> list[service.EprReport]:
    return [
        service.epr_report(None, jurisdiction=code, year=year, as_of=AS_OF, warehouse=wh)
        for code in ("eu", "cn")
        for year in (2021, 2022, 2025)
    ]


def _groups(wh: Warehouse) -> list[list[tuple[Any, ...]]]:
    return [
        sorted(wh.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
        for t in (*sorted(wh._channel_groups.values()), "performance_groups")
    ]


def test_refresh_touching_folded_batteries_equals_the_full_fold() -> None:
    first, delta = _ledgers()
    refreshed = _engine()
    refreshed.ingest_arrow(first)
    before = _reports(refreshed)  # builds the group tables, which the refresh must then keep in step
    refreshed.ingest_arrow(delta)
    after = _reports(refreshed)

    full = _engine()
    full.ingest_arrow(pa.concat_tables([first, delta]))
    want = _reports(full)
    assert after == want
    assert _groups(refreshed) == _groups(full)
    assert len(refreshed._channel_groups) == 2  # the EU and CN schemes: two sets of eligible recyclers
    # the new events did change the figures of batteries folded before them
    for old, new in zip(before, after, strict=True):
        assert old.leakage != new.leakage
        assert old.take_back != new.take_back or not new.take_back
        assert old.collection != new.collection or not new.collection
    assert any(r.performance for r in after) and not any(r.performance for r in before)
    # the CN traceability summary and list of late uploads were kept and added to, not recomputed
    cn = after[-1]
    assert cn.late_uploads and cn.traceability != before[-1].traceability
    assert len(cn.late_uploads) > len(before[-1].late_uploads) > 0


def test_leakage_from_groups_equals_the_per_battery_join() -> None:
    """The leakage figures read from the groups (days to the first compliant contact, rounded up, against the
    window) against the per-battery join they replaced, with contacts exactly at, an hour after and a day after
    the end of the window."""
    first, delta = _ledgers()
    wh = _engine()
    wh.ingest_arrow(pa.concat_tables([first, delta]))
    for code in ("eu", "cn"):
        report = service.epr_report(None, jurisdiction=code, year=2025, as_of=AS_OF, warehouse=wh)
        groups = sorted(wh._channel_groups.values())[-1] if code == "cn" else "channel_groups_0"
        eligible = wh.channel_eligible(groups)
        w = report.window_days
        due = datetime(AS_OF.year, AS_OF.month, AS_OF.day) + timedelta(days=1)
        want = wh.query(
            f"""
WITH ok AS (
  SELECT c.battery_id, min(c.first_at) AS first_ok FROM contacts c JOIN {eligible} e ON e.org_id = c.org_id
  WHERE e.valid_from <= CAST(c.first_at AS DATE)
    AND (e.valid_until IS NULL OR CAST(c.first_at AS DATE) <= e.valid_until)
  GROUP BY c.battery_id)
SELECT f.market_country AS country, f.producer, year(f.retired_at) AS year, count(*) AS retired_units,
  count(*) FILTER (WHERE ok.first_ok <= f.retired_at + INTERVAL '{w} days') AS compliant_units
FROM facts f LEFT JOIN ok ON ok.battery_id = f.battery_id
WHERE f.retired_at + INTERVAL '{w} days' < ? AND f.market_country IN (SELECT unnest(?))
GROUP BY ALL ORDER BY 1, 2, 3""",
            [due, list(report.scope.countries)],
        )
        got = [{k: r[k] for k in want[0]} for r in report.leakage]
        assert got == want
        boundary = wh.query(
            "SELECT count(*) FILTER (WHERE ok_days = 365) AS at, count(*) FILTER (WHERE ok_days = 366) AS after "
            f"FROM {groups}"
        )[0]
        assert boundary["at"] > 0 and boundary["after"] > 0


def test_the_first_leaked_batteries_cut_at_the_day_of_the_limit() -> None:
    first, delta = _ledgers()
    wh = _engine()
    wh.ingest_arrow(pa.concat_tables([first, delta]))
    report = service.epr_report(None, jurisdiction="eu", year=2025, as_of=AS_OF, warehouse=wh)
    everyone = report.leaked
    assert 5 < len(everyone) < 1000
    groups = next(iter(wh._channel_groups.values()))
    window = report.window_days
    for limit in (1, 5, len(everyone) - 1, len(everyone), len(everyone) + 1):
        got = _leaked_list(wh, groups, report.scope, window, AS_OF - timedelta(days=window), limit)
        assert tuple(got) == everyone[:limit]
