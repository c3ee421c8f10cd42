"""The lifecycle state machine: legal paths, refusals that name battery, state and event, and custody."""

from __future__ import annotations

from typing import Any

import pytest

from batteryloop.domain.errors import CustodyError, IllegalTransitionError, ValidationError
from batteryloop.domain.lifecycle import (
    TERMINAL_STATES,
    TRANSITIONS,
    BatteryState,
    EventType,
    UnitStatus,
    apply,
    check_custody,
    check_payload,
)

E = EventType
S = BatteryState
REG = {"level": "pack", "chemistry": "LFP", "category": "ev"}


def run(steps: list[tuple[EventType, str, dict[str, Any]]]) -> UnitStatus:
    status: UnitStatus | None = None
    for event_type, actor, payload in steps:
        check_payload("b1", event_type, payload)
        status = apply(status, battery_id="b1", event_type=event_type, actor=actor, payload=payload)
    assert status is not None
    return status


def test_full_life_to_recycling() -> None:
    status = run(
        [
            (E.BATTERY_MANUFACTURED, "maker", REG),
            (E.BATTERY_PLACED_ON_MARKET, "maker", {"country": "DE"}),
            (E.BATTERY_PUT_INTO_SERVICE, "maker", {}),
            (E.STATE_OF_HEALTH_REPORTED, "maker", {"soh_pct": 91.5}),
            (E.BATTERY_RETIRED, "maker", {}),
            (E.CUSTODY_HANDED_OVER, "maker", {"to_org": "recycler"}),
            (E.CUSTODY_ACCEPTED, "recycler", {}),
            (E.BATTERY_DISMANTLED, "recycler", {}),
            (E.BATTERY_RECYCLED, "recycler", {}),
        ]
    )
    assert status.state is S.RECYCLED
    assert status.custodian == "recycler"
    assert status.soh_pct == 91.5
    assert status.version == 9


def test_handover_goes_in_transit_and_acceptance_restores_the_state() -> None:
    status = run(
        [
            (E.BATTERY_MANUFACTURED, "maker", REG),
            (E.BATTERY_PLACED_ON_MARKET, "maker", {"country": "CN"}),
            (E.BATTERY_PUT_INTO_SERVICE, "maker", {}),
            (E.BATTERY_RETIRED, "maker", {}),
            (E.BATTERY_COLLECTED, "maker", {}),
            (E.CUSTODY_HANDED_OVER, "maker", {"to_org": "dismantler"}),
        ]
    )
    assert status.state is S.IN_TRANSIT
    assert status.pending_custodian == "dismantler"
    assert status.custodian == "maker"
    accepted = apply(status, battery_id="b1", event_type=E.CUSTODY_ACCEPTED, actor="dismantler", payload={})
    assert accepted.state is S.COLLECTED
    assert accepted.custodian == "dismantler"
    assert accepted.pending_custodian is None


def test_illegal_transition_names_battery_state_and_event() -> None:
    status = run([(E.BATTERY_MANUFACTURED, "maker", REG)])
    with pytest.raises(IllegalTransitionError) as info:
        apply(status, battery_id="b1", event_type=E.BATTERY_RECYCLED, actor="maker", payload={})
    message = str(info.value)
    assert "b1" in message
    assert "manufactured" in message
    assert "BatteryRecycled" in message


def test_nothing_follows_a_terminal_state() -> None:
    status = run(
        [
            (E.BATTERY_MANUFACTURED, "maker", REG),
            (E.BATTERY_DISPOSED, "maker", {}),
        ]
    )
    for event_type in EventType:
        with pytest.raises(IllegalTransitionError):
            apply(
                status, battery_id="b1", event_type=event_type, actor="maker", payload={"successor_id": "x"}
            )


def test_unregistered_battery_accepts_only_registration() -> None:
    for event_type in EventType:
        if event_type is E.BATTERY_MANUFACTURED:
            continue
        with pytest.raises(IllegalTransitionError, match="not registered"):
            apply(None, battery_id="ghost", event_type=event_type, actor="x", payload={})


def test_terminal_states_have_no_outgoing_events() -> None:
    for event_type, (sources, _) in TRANSITIONS.items():
        assert not (sources & TERMINAL_STATES), event_type


def test_repurposing_names_its_successor() -> None:
    status = run(
        [
            (E.BATTERY_MANUFACTURED, "maker", REG),
            (E.BATTERY_PLACED_ON_MARKET, "maker", {"country": "FR"}),
            (E.BATTERY_PUT_INTO_SERVICE, "maker", {}),
            (E.BATTERY_RETIRED, "maker", {}),
            (E.BATTERY_GRADED, "maker", {"grade": "A", "soh_pct": 82.0}),
            (E.BATTERY_REPURPOSED, "maker", {"successor_id": "urn:uuid:new"}),
        ]
    )
    assert status.state is S.REPURPOSED
    assert status.successor_id == "urn:uuid:new"
    assert status.soh_pct == 82.0
    successor = apply(
        None,
        battery_id="urn:uuid:new",
        event_type=E.BATTERY_MANUFACTURED,
        actor="second-life",
        payload={**REG, "predecessor_id": "b1"},
    )
    assert successor.predecessor_id == "b1"


@pytest.mark.parametrize(
    ("event_type", "payload", "fragment"),
    [
        (E.BATTERY_MANUFACTURED, {"level": "pack", "chemistry": "LFP"}, "lacks 'category'"),
        (E.CUSTODY_HANDED_OVER, {"to_org": 7}, "wrong type"),
        (E.STATE_OF_HEALTH_REPORTED, {"soh_pct": True}, "wrong type"),
        (E.STATE_OF_HEALTH_REPORTED, {"soh_pct": -3}, "outside 0..200"),
    ],
)
def test_payload_checks_name_the_key(event_type: EventType, payload: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        check_payload("b1", event_type, payload)


class TestCustody:
    def status(self, **overrides: Any) -> UnitStatus:
        base = UnitStatus(
            battery_id="b1", state=S.IN_SERVICE, custodian="holder", manufacturer="maker", version=3
        )
        return UnitStatus(**{**{f: getattr(base, f) for f in base.__slots__}, **overrides})

    def test_holder_may_append(self) -> None:
        check_custody(
            self.status(), battery_id="b1", event_type=E.BATTERY_RETIRED, actor="holder", holder=None
        )

    def test_stranger_is_refused_with_names(self) -> None:
        with pytest.raises(CustodyError, match="stranger does not hold battery b1"):
            check_custody(
                self.status(), battery_id="b1", event_type=E.BATTERY_RETIRED, actor="stranger", holder=None
            )

    def test_manufacturer_may_add_passport_data_but_not_retire(self) -> None:
        check_custody(
            self.status(), battery_id="b1", event_type=E.PASSPORT_DATA_REGISTERED, actor="maker", holder=None
        )
        with pytest.raises(CustodyError):
            check_custody(
                self.status(), battery_id="b1", event_type=E.BATTERY_RETIRED, actor="maker", holder=None
            )

    def test_holder_of_the_root_holds_the_child(self) -> None:
        child = self.status(state=S.INTEGRATED, custodian="maker", parent_id="pack")
        check_custody(
            child, battery_id="b1", event_type=E.STATE_OF_HEALTH_REPORTED, actor="fleet", holder="fleet"
        )
        with pytest.raises(CustodyError):
            check_custody(
                child, battery_id="b1", event_type=E.STATE_OF_HEALTH_REPORTED, actor="maker", holder="fleet"
            )

    def test_only_the_named_receiver_accepts(self) -> None:
        moving = self.status(state=S.IN_TRANSIT, pending_custodian="recycler", resume_state=S.COLLECTED)
        check_custody(moving, battery_id="b1", event_type=E.CUSTODY_ACCEPTED, actor="recycler", holder=None)
        with pytest.raises(CustodyError, match="not in transit to holder"):
            check_custody(moving, battery_id="b1", event_type=E.CUSTODY_ACCEPTED, actor="holder", holder=None)
        with pytest.raises(CustodyError, match="in transit"):
            check_custody(moving, battery_id="b1", event_type=E.BATTERY_DISPOSED, actor="holder", holder=None)
