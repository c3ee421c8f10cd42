"""A recycler's real intake read from a signed SQLite ledger of a synthetic fleet."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Role
from batteryloop.fleet import Fleet
from batteryloop.ledger import Ledger
from batteryloop.recycling.core.intake import intake_from_events, intake_from_ledger


def recyclers(fleet: Fleet) -> list[str]:
    return sorted(o.org_id for o in fleet.organisations if Role.RECYCLER in o.roles)


def accepted_by(fleet: Fleet, org: str) -> set[str]:
    return {e.battery_id for e in fleet.events if e.event_type is E.CUSTODY_ACCEPTED and e.actor == org}


def registered_mass(fleet: Fleet) -> dict[str, float]:
    return {
        e.battery_id: float(e.payload["mass_kg"])
        for e in fleet.events
        if e.event_type is E.BATTERY_MANUFACTURED
    }


def test_intake_of_every_recycler_is_what_it_accepted_counted_once(fleet: Fleet, ledger: Ledger) -> None:
    mass = registered_mass(fleet)
    children: dict[str, list[str]] = defaultdict(list)
    for e in fleet.events:
        if e.event_type is E.BATTERY_INTEGRATED:
            children[e.payload["parent_id"]].append(e.battery_id)

    def tree_mass(bid: str) -> float:
        return mass[bid] + sum(tree_mass(c) for c in set(children[bid]))

    seen_any = 0
    for org in recyclers(fleet):
        records = intake_from_ledger(ledger, recycler_id=org)
        # in the generated fleet a recycler only ever accepts top-level units, and keeps them
        assert {r.battery_id for r in records} == accepted_by(fleet, org), org
        assert all(r.level in ("pack", "system") for r in records)
        total = sum(r.mass_kg for r in records)
        assert total == pytest.approx(sum(mass[r.battery_id] for r in records))
        if records:
            seen_any += 1
            # modules and cells inside the packs were detached and recycled too, but are not counted again
            assert sum(tree_mass(r.battery_id) for r in records) > total
        # the ledger path and the in-memory event path agree
        assert records == intake_from_events(fleet.events, recycler_id=org)
    assert seen_any >= 5


def test_a_collection_point_that_passes_packs_on_has_no_intake_of_them(fleet: Fleet, ledger: Ledger) -> None:
    collectors = [o.org_id for o in fleet.organisations if Role.COLLECTION_POINT in o.roles]
    for org in collectors:
        passed_on = {
            e.battery_id for e in fleet.events if e.event_type is E.CUSTODY_HANDED_OVER and e.actor == org
        }
        records = intake_from_ledger(ledger, recycler_id=org)
        assert not {r.battery_id for r in records} & passed_on


def test_window_selects_by_receipt(fleet: Fleet, ledger: Ledger) -> None:
    org = "no-fjord-recycling"
    everything = intake_from_ledger(ledger, recycler_id=org)
    window = intake_from_ledger(ledger, recycler_id=org, since=date(2033, 1, 1), until=date(2037, 1, 1))
    assert 0 < len(window) < len(everything)
    assert all(date(2033, 1, 1) <= r.received_at.date() < date(2037, 1, 1) for r in window)
    assert {r.battery_id for r in window} <= {r.battery_id for r in everything}
