"""Every passport of a generated demo fleet builds and exports validly (the demo loader's path)."""

from __future__ import annotations

from collections import defaultdict

from batteryloop.domain.lifecycle import EventType as E
from batteryloop.fleet import FleetConfig, generate_fleet
from batteryloop.passport.core.batterypass import split_issues, to_batterypass, validate_batterypass
from batteryloop.passport.core.build import build_passport
from batteryloop.passport.core.catenax import to_catenax
from batteryloop.passport.core.json_schemas import SchemaName, validate
from batteryloop.passport.core.model import BatteryStatus
from batteryloop.passport.core.obligations import check_passport
from batteryloop.passport.core.synthetic import PASSPORT_CATEGORIES, synthetic_passport_data


def test_every_demo_battery_passport_validates() -> None:
    fleet = generate_fleet(
        seed=3, n_batteries=60, config=FleetConfig(passport_payload=synthetic_passport_data)
    )
    streams = defaultdict(list)
    for event in fleet.events:
        streams[event.battery_id].append(event)
    registered = [
        bid for bid, evs in streams.items() if any(e.event_type == E.PASSPORT_DATA_REGISTERED for e in evs)
    ]
    assert len(registered) >= 60
    statuses = set()
    for bid in registered:
        events = streams[bid]
        predecessor = events[0].payload.get("predecessor_id")
        passport = build_passport(
            events, predecessor_events=streams.get(predecessor, ()) if predecessor else ()
        )
        assert passport.identity.category in PASSPORT_CATEGORIES
        statuses.add(passport.lifecycle.status)
        unexpected, _documented = split_issues(validate_batterypass(to_batterypass(passport)))
        assert unexpected == [], (bid, unexpected)
        assert validate(SchemaName.CATENAX_BATTERY_PASS, to_catenax(passport)) == [], bid
        if not passport.lifecycle.ceased:
            on = max(passport.identity.manufactured_on, passport.lifecycle.last_update.date())
            missing = {m.path for m in check_passport(passport, on=on)}
            assert missing <= {"circularity.recycled_content"}, (bid, missing)
    assert BatteryStatus.ORIGINAL in statuses
