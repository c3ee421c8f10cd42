"""Shared fleets (generated once per session) and a replay that re-folds streams through the domain rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import pytest

from batteryloop.domain.lifecycle import EventType, UnitStatus, apply, check_custody, check_payload
from batteryloop.fleet import Fleet, FleetEvent, generate_fleet


def replay(events: Iterable[FleetEvent]) -> dict[str, UnitStatus]:
    """Fold events in the given order exactly as a ledger would: custody by the root's custodian."""
    status: dict[str, UnitStatus] = {}
    for ev in events:
        st = status.get(ev.battery_id)
        if st is not None:
            root = st
            while root.parent_id is not None:
                assert root.parent_id in status, f"{ev} names a parent that was never registered"
                root = status[root.parent_id]
            check_custody(
                st, battery_id=ev.battery_id, event_type=ev.event_type, actor=ev.actor, holder=root.custodian
            )
        if ev.event_type is EventType.BATTERY_INTEGRATED:
            assert ev.payload["parent_id"] in status, "integrated into a unit not yet registered"
        check_payload(ev.battery_id, ev.event_type, ev.payload)
        status[ev.battery_id] = apply(
            st, battery_id=ev.battery_id, event_type=ev.event_type, actor=ev.actor, payload=ev.payload
        )
    return status


@pytest.fixture(scope="session")
def fold() -> Callable[[Iterable[FleetEvent]], dict[str, UnitStatus]]:
    return replay


@pytest.fixture(scope="session")
def fleet_now() -> Fleet:
    """The default horizon (2026-11-01): many batteries still in service."""
    return generate_fleet(seed=42, n_batteries=2500)


@pytest.fixture(scope="session")
def fleet_late() -> Fleet:
    """Run to 2040 so that nearly every battery has retired and taken its end-of-life route."""
    return generate_fleet(seed=7, n_batteries=1500, now=date(2040, 1, 1))
