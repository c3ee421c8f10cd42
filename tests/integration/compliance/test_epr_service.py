"""Producers' and regulators' figures on the hand-worked world of ``support/epr_world.py``."""

from __future__ import annotations

from typing import Any

import pytest

from batteryloop.compliance import service
from batteryloop.domain.errors import NotFoundError
from batteryloop.ledger import Ledger
from support import epr_world as w


@pytest.fixture
def epr(ledger: Ledger) -> dict[str, w.Org]:
    return w.build(ledger)


def _report(ledger: Ledger, **kw: Any) -> service.EprReport:
    return service.epr_report(ledger, jurisdiction="eu", year=2025, as_of=w.AS_OF, **kw)


def test_collection_rate_by_annex_xi(ledger: Ledger, epr: dict[str, w.Org]) -> None:
    report = _report(ledger)
    (row,) = [r for r in report.collection if r["category"] == "portable"]
    assert row["collected_kg"] == pytest.approx(130.0)
    assert row["placed_avg_kg"] == pytest.approx(200.0)
    assert row["rate"] == pytest.approx(0.65)
    assert (row["target"], row["target_year"], row["meets_target"]) == (0.45, 2023, True)
    assert "collection.portable.y2023" in report.sources


def test_leakage_and_take_back(ledger: Ledger, epr: dict[str, w.Org]) -> None:
    report = _report(ledger)
    # p24b (portable, retired 2025, collected by the maker only) never reached a channel either
    assert {(r["year"], r["leaked_units"]) for r in report.leakage} == {(2024, 2), (2025, 1)}
    (leak,) = [r for r in report.leakage if r["year"] == 2024]
    assert (leak["country"], leak["producer"], leak["year"]) == ("DE", "maker", 2024)
    assert leak["retired_kg"] == pytest.approx(1500.0)
    assert leak["compliant_kg"] == pytest.approx(450.0)
    assert leak["compliant_share"] == pytest.approx(0.30)
    assert {(r["battery_id"], r["last_custodian"]) for r in report.leaked} == {
        ("e2", "rogue"),
        ("e3", "maker"),
        ("p24b", "maker"),
    }
    (ev_row,) = [r for r in report.take_back if r["category"] == "ev"]
    assert (ev_row["not_taken_back_units"], ev_row["not_taken_back_kg"]) == (3, pytest.approx(1450.0))
    # the longer the window, the later a battery counts as leaked: 1500 days keeps every retirement open on 2026-12-01
    longer = _report(ledger, overrides=[{"epr": {"leakage_window_days": {"value": 1500}}}])
    assert longer.leakage == () and longer.window_days == 1500


def test_placed_on_market_and_registration(ledger: Ledger, epr: dict[str, w.Org]) -> None:
    report = _report(ledger)
    placed = {
        (r["producer"], r["country"], r["category"], r["year"]): (r["units"], r["mass_kg"])
        for r in report.placed
    }
    assert placed[("maker", "DE", "portable", 2024)] == (2, pytest.approx(300.0))
    assert placed[("maker", "DE", "ev", 2023)] == (4, pytest.approx(1900.0))
    assert placed[("other", "FR", "ev", 2024)] == (1, pytest.approx(300.0))
    unregistered = {(r["producer"], r["country"], r["category"]) for r in report.unregistered}
    assert unregistered == {("maker", "DE", "lmt"), ("other", "FR", "ev")}


def test_performance_comes_from_the_recycling_model(ledger: Ledger, epr: dict[str, w.Org]) -> None:
    (row,) = _report(ledger).performance
    assert (row["enterprise"], row["region"], row["year"], row["rank"]) == ("recycler", "DE", 2024, 1)
    assert row["processed_t"] == pytest.approx(0.45)
    from batteryloop.compliance.epr_engine import model_factors

    factors = model_factors("NMC811", "DE", "hydro", "batteryloop2025")
    assert factors is not None
    assert row["avoided_t_co2e"] == pytest.approx(0.45 * factors[1] / 1000)
    assert 0 < row["recovery"] <= 1


def test_roles_decide_what_is_seen(ledger: Ledger, epr: dict[str, w.Org]) -> None:
    def org(org_id: str) -> Any:
        return ledger.get_organisation(org_id)

    mine = _report(ledger, caller=org("maker"))
    assert {r["producer"] for r in mine.placed} == {"maker"}
    assert mine.performance == ()  # maker recycles nothing
    by_pro = _report(ledger, caller=org("pro"))
    assert {r["producer"] for r in by_pro.placed} == {"maker"}
    de = _report(ledger, caller=org("authority-de"))
    assert {r["country"] for r in de.placed} == {"DE"}
    fr = _report(ledger, caller=org("authority-fr"))
    assert {r["producer"] for r in fr.placed} == {"other"}
    with pytest.raises(PermissionError):
        _report(ledger, caller=org("other"), producer="maker")


def test_clear_errors(ledger: Ledger, epr: dict[str, w.Org]) -> None:
    with pytest.raises(NotFoundError, match="unknown jurisdiction 'xx'"):
        service.epr_report(ledger, jurisdiction="xx")
    with pytest.raises(NotFoundError, match="'other' has no registration in the eu register"):
        _report(ledger, producer="other")


def test_every_figure_lists_its_batteries(ledger: Ledger, epr: dict[str, w.Org]) -> None:
    def ids(figure: str, **kw: Any) -> set[str]:
        rows = service.figure_batteries(ledger, jurisdiction="eu", figure=figure, as_of=w.AS_OF, **kw)
        return {r["battery_id"] for r in rows}

    assert ids("leaked") == {"e2", "e3", "p24b"}
    assert ids("leaked", year=2024) == {"e2", "e3"}
    assert ids("compliant") == {"e1"}
    assert ids("not_taken_back", category="ev") == {"e2", "e3", "e4"}
    assert ids("collected", year=2025) == {"p24b"}
    assert ids("placed", producer="maker", category="portable", year=2024) == {"p24a", "p24b"}
    assert ids("processed") == {"e1"}


def test_report_states_its_ledger_position(ledger: Ledger, epr: dict[str, w.Org]) -> None:
    report = _report(ledger)
    assert report.point.position == ledger.counts().events
    head = ledger.sign_tree_head()
    again = _report(ledger)
    assert again.point.signed_size == head.size
    assert again.point.signed_root == head.root.hex()


def test_china_traceability_deadlines(ledger: Ledger) -> None:
    """A vehicle maker records its placing 100 days late (15 working days allowed, Art. 9); a white-listed
    recycler records its intake ~50 working days late (30 allowed, Art. 15) and its recycling on time."""
    from datetime import UTC, datetime, timedelta

    from batteryloop.compliance.calendars import work_calendar
    from batteryloop.compliance.core.epr import working_days_between
    from batteryloop.domain.lifecycle import EventType as T
    from batteryloop.domain.organisation import Certification, CertificationScheme, Role

    key = ledger.operator_key()
    white = Certification(CertificationScheme.MIIT_WHITE_LIST, "WL-1", w.date(2020, 1, 1))
    maker = w.add(ledger, key, "cn-maker", Role.VEHICLE_MAKER, "CN")
    recycler = w.add(ledger, key, "cn-recycler", Role.RECYCLER, "CN", (white,))
    now = datetime.now(UTC).replace(microsecond=0)
    placed, accepted, recycled = now - timedelta(days=100), now - timedelta(days=70), now - timedelta(days=7)
    maker.append(
        w.made("c1", placed - timedelta(days=5), "ev", 400.0, "LFP"),
        w.ev("c1", T.BATTERY_PLACED_ON_MARKET, placed, {"country": "CN"}),
        w.ev("c1", T.BATTERY_RETIRED, accepted - timedelta(days=2)),
        w.ev("c1", T.CUSTODY_HANDED_OVER, accepted - timedelta(days=1), {"to_org": "cn-recycler"}),
    )
    recycler.append(w.ev("c1", T.CUSTODY_ACCEPTED, accepted), w.ev("c1", T.BATTERY_RECYCLED, recycled))
    report = service.epr_report(ledger, jurisdiction="cn", as_of=now.date())
    late = {(r["event_type"], r["actor"], r["deadline_working_days"]) for r in report.late_uploads}
    assert late == {("BatteryPlacedOnMarket", "cn-maker", 15), ("CustodyAccepted", "cn-recycler", 30)}
    (row,) = [r for r in report.late_uploads if r["event_type"] == "CustodyAccepted"]
    assert row["lag_working_days"] == working_days_between(
        accepted.date(), now.date(), work_calendar("CN", range(2018, now.year + 2))
    )
    summary = {(r["actor"], r["rule"]): (r["uploads"], r["late"]) for r in report.traceability}
    assert summary[("cn-recycler", "recycling")] == (2, 1)
    assert "traceability.recycling.working_days" in report.sources
    # the EU pack has no traceability deadlines: nothing is flagged there
    assert service.epr_report(ledger, jurisdiction="eu", as_of=now.date()).late_uploads == ()


def test_registrations_and_figures_on_every_engine(any_ledger: Ledger) -> None:
    """The producer register (its own table) and the figures read from it are the same on SQLite and on
    PostgreSQL."""
    w.build(any_ledger)
    report = _report(any_ledger)
    assert {r.producer for r in report.registrations} >= {"maker"}
    (row,) = [r for r in report.collection if r["category"] == "portable"]
    assert row["rate"] == pytest.approx(0.65)
    (leak,) = [r for r in report.leakage if r["year"] == 2024]
    assert leak["compliant_share"] == pytest.approx(0.30)
