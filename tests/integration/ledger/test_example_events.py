"""The shipped example event file parses, and appends to a real ledger as its documentation says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import batteryloop.ledger
from batteryloop.domain.lifecycle import BatteryState, EventType
from batteryloop.ledger import Ledger
from batteryloop.ledger.interchange import read_events_file
from batteryloop.passport.core.build import build_passport

EXAMPLE = Path(batteryloop.ledger.__file__).parent / "examples" / "events.ndjson"
PACK = "urn:uuid:0190f5c2-7d6e-7000-8000-00000000e001"
MODULE = "urn:uuid:0190f5c2-7d6e-7000-8000-00000000e002"


def test_the_example_file_is_documented_and_parses() -> None:
    events = read_events_file(EXAMPLE)
    assert len(events) == 9
    assert {e.event_type for e in events} >= {
        EventType.BATTERY_MANUFACTURED,
        EventType.STATE_OF_HEALTH_REPORTED,
    }
    docs = (Path(__file__).resolve().parents[3] / "docs" / "events.md").read_text(encoding="utf-8")
    assert "src/batteryloop/ledger/examples/events.ndjson" in docs


def test_the_example_file_appends_and_replays_idempotently(ledger: Ledger, bl: Any) -> None:
    maker = bl.add_actor(ledger, "example-maker")
    events = read_events_file(EXAMPLE)

    result = maker.append(*events)
    assert (result.appended, result.duplicates) == (9, 0)
    assert ledger.status(PACK).state is BatteryState.IN_SERVICE
    assert ledger.status(MODULE).state is BatteryState.INTEGRATED
    assert ledger.children(PACK) == [MODULE]
    assert ledger.verify().ok

    again = maker.append(*read_events_file(EXAMPLE))
    assert (again.appended, again.duplicates) == (0, 9)


def test_the_example_pack_has_a_passport(ledger: Ledger, bl: Any) -> None:
    bl.add_actor(ledger, "example-maker").append(*read_events_file(EXAMPLE))
    passport = build_passport(ledger.read_stream(PACK))
    assert passport.model_dump(mode="json")["condition"]["state_of_certified_energy_pct"]["value"] == 96.8
