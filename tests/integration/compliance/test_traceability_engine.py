"""The one traceability rule of the capability (MIIT 2018 deadlines), on the columnar engine: late uploads and
accepted intakes a recycler never reported, hand-worked in working days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from batteryloop.compliance import epr_engine
from batteryloop.compliance.calendars import work_calendar
from batteryloop.compliance.columnar import Warehouse, events_to_arrow
from batteryloop.compliance.core.epr import working_days_between
from batteryloop.compliance.core.rules import load_pack
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.organisation import Organisation, Role

CN = load_pack("cn")
MONDAY = date(2026, 3, 2)


@dataclass
class Ev:
    position: int
    battery_id: str
    event_type: str
    actor: str
    occurred: date
    recorded: date
    payload: dict[str, Any]

    @property
    def occurred_at(self) -> datetime:
        return datetime(self.occurred.year, self.occurred.month, self.occurred.day, 9, tzinfo=UTC)

    @property
    def recorded_at(self) -> datetime:
        return datetime(self.recorded.year, self.recorded.month, self.recorded.day, 9, tzinfo=UTC)


def warehouse() -> Warehouse:
    m = MONDAY
    events = [
        # China's working days: 2 March to 14 April 2026 holds 31 weekdays, one of them Qingming's Monday
        # (6 April, a public holiday): 30 working days, on time; one day more is late
        Ev(1, "b1", "RecyclingLotReceived", "rec", m, date(2026, 4, 14), {}),  # 30 working days: on time
        Ev(2, "b2", "RecyclingLotReceived", "rec", m, date(2026, 4, 15), {}),  # 31: late
        Ev(3, "b3", "CustodyHandedOver", "maker", m, m, {"to_org": "rec"}),
        Ev(4, "b3", "CustodyAccepted", "rec", m, m, {}),  # never reported as received
        Ev(5, "b4", "CustodyHandedOver", "maker", m, m, {"to_org": "rec"}),
        Ev(6, "b4", "CustodyAccepted", "rec", m, m, {}),
        Ev(7, "b4", "BatteryRecycled", "rec", m, m, {}),  # reported
        Ev(8, "b5", "CustodyHandedOver", "maker", m, m, {"to_org": "other"}),
        Ev(9, "b5", "CustodyAccepted", "rec", m, m, {}),  # not handed to rec: not its intake to report
    ]
    wh = Warehouse(upload_event_types=epr_engine.upload_event_types())
    wh.set_organisations(
        [
            Organisation("rec", "Rec", "CN", frozenset({Role.RECYCLER})),
            Organisation("maker", "Maker", "CN", frozenset({Role.BATTERY_MANUFACTURER})),
        ]
    )
    wh.ingest_arrow(events_to_arrow(events))
    return wh


def test_a_report_after_31_working_days_is_late_and_an_unreported_intake_is_missing() -> None:
    assert working_days_between(MONDAY, date(2026, 4, 14)) == 31  # Monday to Friday
    assert working_days_between(MONDAY, date(2026, 4, 14), work_calendar("CN", [2026])) == 30
    wh = warehouse()
    found = epr_engine.traceability_findings(wh, CN, as_of=date(2026, 4, 15))
    assert [(f.status, f.battery_id, f.working_days, f.deadline_working_days, f.position) for f in found] == [
        ("late", "b2", 31, 30, 2),
        ("missing", "b3", 31, 30, 4),
    ]
    assert "Art. 15" in found[0].locator and found[1].event_type == "RecyclingLotReceived"
    assert [f.status for f in epr_engine.traceability_findings(wh, CN, as_of=date(2026, 4, 14))] == ["late"]
    assert epr_engine.traceability_findings(wh, CN, as_of=date(2026, 4, 15), actors=("maker",)) == ()
    assert epr_engine.traceability_findings(wh, CN, as_of=date(2026, 4, 15), countries=("DE",)) == ()


def test_working_days_follow_chinas_holidays_and_make_up_weekends() -> None:
    """Spring Festival 2025, by hand: from Friday 24 January to Monday 10 February there are 11 weekdays, but
    28 January to 4 February are public holidays (6 of them weekdays) and Sunday 26 January and Saturday 8
    February are working days (调休): 11 - 6 + 2 = 7 working days. The columnar engine (SQL) and the Python
    rule agree, and a pack without a calendar counts Monday to Friday."""
    cn_2025 = work_calendar("CN", [2025])
    start, end = date(2025, 1, 24), date(2025, 2, 10)
    assert working_days_between(start, end) == 11
    assert working_days_between(start, end, cn_2025) == 7
    assert working_days_between(end, start, cn_2025) == -7
    events = [Ev(1, "b9", "RecyclingLotReceived", "rec", start, end, {})]
    wh = Warehouse(upload_event_types=epr_engine.upload_event_types())
    wh.set_organisations([Organisation("rec", "Rec", "CN", frozenset({Role.RECYCLER}))])
    wh.ingest_arrow(events_to_arrow(events))
    # a pack with a 6-working-day deadline for recyclers: 7 working days is late by one
    for days, late in ((7, []), (6, [(7, 6)])):
        pack = load_pack("cn", overrides=[{"traceability": {"recycling": {"working_days": {"value": days}}}}])
        found = epr_engine.traceability_findings(wh, pack, as_of=end)
        assert [(f.working_days, f.deadline_working_days) for f in found] == late


def test_an_unknown_calendar_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="no public-holiday calendar for country 'XX'"):
        work_calendar("XX", [2025])


def test_a_calendar_must_hold_weekdays_off_and_weekend_days_worked() -> None:
    from batteryloop.compliance.core.epr import WorkCalendar

    with pytest.raises(ValidationError, match="days off must be weekdays"):
        WorkCalendar("bad", days_off=frozenset({date(2025, 2, 8)}))  # a Saturday


def test_a_pack_without_deadlines_is_an_error() -> None:
    with pytest.raises(NotFoundError, match="no traceability rules"):
        epr_engine.traceability_findings(warehouse(), load_pack("eu"), as_of=MONDAY)


def test_the_epr_report_and_every_recyclers_findings_agree_across_a_change_of_roles_and_a_refresh() -> None:
    """The EPR report's late list and the recyclers' findings are read from one table of bound uploads per
    pack and one of unreported intakes; both follow the organisations' roles and a refresh, and each answer
    equals the per-actor query on a fresh warehouse."""
    from batteryloop.compliance import service

    as_of = date(2026, 4, 15)

    def seen(wh: Warehouse) -> tuple[list[int], list[tuple[str, int]], list[tuple[str, int]]]:
        report = service.epr_report(None, jurisdiction="cn", year=2026, as_of=as_of, warehouse=wh)
        book = [  # the first actor gets its own query, the second one the book of every actor
            (f.status, f.position)
            for actor in ("maker", "rec")
            for f in epr_engine.actor_traceability_findings(wh, CN, as_of=as_of, actor=actor)
        ]
        direct = [(f.status, f.position) for f in epr_engine.traceability_findings(wh, CN, as_of=as_of)]
        return [int(r["position"]) for r in report.late_uploads], book, direct

    wh = warehouse()
    assert seen(wh) == ([2], [("late", 2), ("missing", 4)], [("late", 2), ("missing", 4)])
    # "rec" is no longer a recycler: no deadline binds its reports, and no intake of its is due
    wh.set_organisations(
        [
            Organisation("rec", "Rec", "CN", frozenset({Role.SECOND_LIFE_OPERATOR})),
            Organisation("maker", "Maker", "CN", frozenset({Role.BATTERY_MANUFACTURER})),
        ]
    )
    assert seen(wh) == ([], [], [])
    wh.set_organisations(
        [
            Organisation("rec", "Rec", "CN", frozenset({Role.RECYCLER})),
            Organisation("maker", "Maker", "CN", frozenset({Role.BATTERY_MANUFACTURER})),
        ]
    )
    assert seen(wh) == ([2], [("late", 2), ("missing", 4)], [("late", 2), ("missing", 4)])
    # a refresh: b3's intake is reported at last (late), and a new late report of b6
    wh.ingest_arrow(
        events_to_arrow(
            [
                Ev(10, "b3", "RecyclingLotReceived", "rec", MONDAY, date(2026, 4, 15), {}),
                Ev(11, "b6", "RecyclingLotReceived", "rec", MONDAY, date(2026, 4, 14), {}),
            ]
        )
    )
    want = ([2, 10], [("late", 2), ("late", 10)], [("late", 2), ("late", 10)])
    assert seen(wh) == want
