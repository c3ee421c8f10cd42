"""The ledger's use cases and their read policy (``ledger.access``): who reads a trace, what a listing
shows each caller, filters, paging and input errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.lifecycle import BatteryState, UnitStatus
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.ledger import BatteryRow, CustodySpan, Ledger, Trace, TreeNode, service
from batteryloop.ledger.access import check_may_verify, check_trace_readable, listing_scope

T = datetime(2025, 1, 1, tzinfo=UTC)


def org(org_id: str, *roles: Role) -> Organisation:
    return Organisation(org_id, org_id.title(), "DE", frozenset(roles or {Role.RECYCLER}))


def trace_of(manufacturer: str, *custodians: str) -> Trace:
    status = UnitStatus("urn:uuid:b", BatteryState.IN_SERVICE, custodians[-1], manufacturer)
    return Trace(
        status=status,
        row=BatteryRow(status, "00", 1, "LFP", "ev", "pack"),
        ancestors=(),
        descendants=TreeNode("urn:uuid:b", "pack", "in_service"),
        custody=tuple(CustodySpan(c, T, None) for c in custodians),
        history=(),
        chain_ok=True,
    )


def test_a_trace_is_read_by_its_custodians_its_maker_authorities_and_the_operator() -> None:
    trace = trace_of("maker", "maker", "dealer", "recycler")
    for reader in (
        org("maker"),
        org("dealer"),
        org("recycler"),
        org("kba", Role.AUTHORITY),
        org("tuv", Role.NOTIFIED_BODY),
        None,
    ):
        check_trace_readable(trace, reader)
    with pytest.raises(PermissionError, match="stranger has never held battery urn:uuid:b"):
        check_trace_readable(trace, org("stranger"))


def test_listing_scope() -> None:
    maker = org("maker", Role.BATTERY_MANUFACTURER)
    assert listing_scope(maker, holder=None, organisation=None) == ("maker", None)
    assert listing_scope(maker, holder=None, organisation="maker") == (None, "maker")
    assert listing_scope(org("kba", Role.AUTHORITY), holder="x", organisation=None) == ("x", None)
    assert listing_scope(None, holder=None, organisation=None) == (None, None)
    with pytest.raises(PermissionError, match="only the batteries it holds"):
        listing_scope(maker, holder="dealer", organisation=None)
    with pytest.raises(PermissionError, match="only its own batteries"):
        listing_scope(maker, holder=None, organisation="dealer")


def test_only_authorities_notified_bodies_and_the_operator_verify() -> None:
    check_may_verify(None)
    check_may_verify(org("kba", Role.AUTHORITY))
    with pytest.raises(PermissionError):
        check_may_verify(org("maker", Role.BATTERY_MANUFACTURER))


@pytest.fixture
def fleet(ledger: Ledger, bl: Any) -> Ledger:
    world = bl.build_world(ledger)
    world.maker.append(
        bl.manufactured("urn:uuid:p1"),
        bl.manufactured("urn:uuid:p2", chemistry="NMC811"),
        bl.manufactured("urn:uuid:p3"),
        bl.ev("urn:uuid:p1", E.BATTERY_PLACED_ON_MARKET, {"country": "FR"}, minutes=1),
        bl.ev("urn:uuid:p1", E.BATTERY_PUT_INTO_SERVICE, minutes=2),
        bl.ev("urn:uuid:p1", E.BATTERY_RETIRED, minutes=3),
        bl.ev("urn:uuid:p1", E.CUSTODY_HANDED_OVER, {"to_org": "recycler"}, minutes=4),
    )
    world.recycler.append(bl.ev("urn:uuid:p1", E.CUSTODY_ACCEPTED, minutes=5))
    return ledger


def ids(page: service.BatteryPage) -> list[str]:
    return [r.status.battery_id for r in page.items]


def test_list_batteries_filters(fleet: Ledger) -> None:
    assert ids(service.list_batteries(fleet)) == ["urn:uuid:p1", "urn:uuid:p2", "urn:uuid:p3"]
    assert ids(service.list_batteries(fleet, chemistry="nmc811")) == ["urn:uuid:p2"]
    assert ids(service.list_batteries(fleet, state="manufactured", chemistry="LFP")) == ["urn:uuid:p3"]
    assert ids(service.list_batteries(fleet, holder="recycler")) == ["urn:uuid:p1"]
    assert ids(service.list_batteries(fleet, organisation="maker")) == ids(service.list_batteries(fleet))
    assert ids(service.list_batteries(fleet, code="urn:uuid:p")) == [
        "urn:uuid:p1",
        "urn:uuid:p2",
        "urn:uuid:p3",
    ]
    assert ids(service.list_batteries(fleet, code="urn:uuid:p2")) == ["urn:uuid:p2"]
    assert ids(service.list_batteries(fleet, code="%")) == []  # a LIKE wildcard is taken literally


def test_list_batteries_applies_the_policy(fleet: Ledger) -> None:
    recycler = fleet.get_organisation("recycler")
    maker = fleet.get_organisation("maker")
    assert ids(service.list_batteries(fleet, caller=recycler)) == ["urn:uuid:p1"]
    assert ids(service.list_batteries(fleet, caller=maker)) == ["urn:uuid:p2", "urn:uuid:p3"]
    made = service.list_batteries(fleet, caller=maker, organisation="maker")
    assert ids(made) == ["urn:uuid:p1", "urn:uuid:p2", "urn:uuid:p3"]
    with pytest.raises(PermissionError):
        service.list_batteries(fleet, caller=recycler, holder="maker")


def test_list_batteries_pages(fleet: Ledger) -> None:
    first = service.list_batteries(fleet, limit=2)
    assert (ids(first), first.total, first.next_offset) == (["urn:uuid:p1", "urn:uuid:p2"], 3, 2)
    last = service.list_batteries(fleet, limit=2, offset=2)
    assert (ids(last), last.next_offset) == (["urn:uuid:p3"], None)
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"state": "melted"}):
        with pytest.raises(ValidationError):
            service.list_batteries(fleet, **bad)


def test_trace_for_applies_the_read_rule(fleet: Ledger) -> None:
    recycler = fleet.get_organisation("recycler")
    assert service.trace_for(fleet, "urn:uuid:p1", caller=recycler).status.custodian == "recycler"
    with pytest.raises(PermissionError):
        service.trace_for(fleet, "urn:uuid:p2", caller=recycler)
    with pytest.raises(NotFoundError):
        service.trace_for(fleet, "urn:uuid:nope")


def test_verify_use_case(fleet: Ledger) -> None:
    report = service.verify(fleet)
    assert report.ok and report.events_checked == 8
    with pytest.raises(PermissionError):
        service.verify(fleet, caller=fleet.get_organisation("maker"))


def test_export_checks_its_target_before_writing(fleet: Ledger, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        service.export_events(fleet, tmp_path / "missing" / "out.ndjson")
    with pytest.raises(ValidationError, match="unknown export format"):
        service.export_events(fleet, tmp_path / "out.csv", fmt="csv")
    summary = service.export_events(fleet, tmp_path / "out.ndjson")
    assert summary.events == 8 and len((tmp_path / "out.ndjson").read_text().splitlines()) == 8


def test_append_file_of_a_missing_file(fleet: Ledger, tmp_path: Path) -> None:
    from batteryloop.orgs.keystore import KeyStore

    with pytest.raises(NotFoundError, match="no such file"):
        service.append_file(fleet, tmp_path / "none.ndjson", org="maker", keystore=KeyStore(tmp_path))
