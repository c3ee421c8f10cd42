"""Stateful test of the lifecycle state machine (hypothesis RuleBasedStateMachine).

The machine drives ``apply`` and ``check_custody`` with arbitrary events and actors and checks, after every
step, invariants stated independently of the transition table: versions count accepted events, terminal states
absorb, a unit is in transit exactly when it has a pending receiver, hand-over then acceptance restores the
state and moves custody, integration sets the parent, identity-ending events name a successor.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from batteryloop.domain.errors import CustodyError, IllegalTransitionError
from batteryloop.domain.lifecycle import (
    REQUIRED_PAYLOAD,
    TERMINAL_STATES,
    BatteryState,
    EventType,
    UnitStatus,
    apply,
    check_custody,
)

ORGS = ("maker", "dealer", "recycler")
ENDINGS = {
    EventType.BATTERY_REUSED: BatteryState.REUSED,
    EventType.BATTERY_REPURPOSED: BatteryState.REPURPOSED,
    EventType.BATTERY_REMANUFACTURED: BatteryState.REMANUFACTURED,
}


def payload(event_type: EventType, n: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "level": "pack",
        "chemistry": "LFP",
        "category": "ev",
        "parent_id": "parent-1",
        "country": "DE",
        "soh_pct": 70.0 + n,
        "kind": "fire",
        "to_org": ORGS[n % 3],
        "grade": "A",
        "successor_id": f"next-{n}",
        "lot_id": f"lot-{n}",
        "input_lot_id": f"lot-{n}",
        "mass_kg": 100.0 + n,
        "chemistry_group": "lithium",
        "received_on": "2026-03-02",
        "produced_on": "2026-03-09",
        "fraction": "black_mass",
        "grantee": ORGS[n % 3],
        "valid_from": "2025-01-01",
        "valid_until": "2025-06-30",
    }
    return {k: values[k] for k in REQUIRED_PAYLOAD.get(event_type, {})}


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.status: UnitStatus | None = None
        self.accepted = 0

    @precondition(lambda self: self.status is None)
    @rule(actor=st.sampled_from(ORGS))
    def register(self, actor: str) -> None:
        self.status = apply(
            None,
            battery_id="u1",
            event_type=EventType.BATTERY_MANUFACTURED,
            actor=actor,
            payload=payload(EventType.BATTERY_MANUFACTURED, 0),
        )
        self.accepted = 1
        assert (self.status.state, self.status.custodian, self.status.manufacturer) == (
            BatteryState.MANUFACTURED,
            actor,
            actor,
        )

    @precondition(lambda self: self.status is not None)
    @rule(event_type=st.sampled_from(list(EventType)), actor=st.sampled_from(ORGS), n=st.integers(0, 20))
    def event(self, event_type: EventType, actor: str, n: int) -> None:
        before = self.status
        assert before is not None
        try:
            check_custody(before, battery_id="u1", event_type=event_type, actor=actor, holder=None)
            after = apply(
                before, battery_id="u1", event_type=event_type, actor=actor, payload=payload(event_type, n)
            )
        except (IllegalTransitionError, CustodyError):
            return  # refused: nothing changes (the invariants below still hold for the old status)
        assert before.state not in TERMINAL_STATES, f"{event_type} accepted after the terminal {before.state}"
        assert event_type is not EventType.BATTERY_MANUFACTURED, "registered twice"
        self.accepted += 1
        self.status = after
        if before.state is BatteryState.IN_TRANSIT:
            # in transit only the named receiver may act, by accepting; the manufacturer may add passport data
            assert (event_type is EventType.CUSTODY_ACCEPTED and actor == before.pending_custodian) or (
                event_type is EventType.PASSPORT_DATA_REGISTERED and actor == before.manufacturer
            )
        if event_type is EventType.CUSTODY_HANDED_OVER:
            assert after.state is BatteryState.IN_TRANSIT
            assert after.resume_state == before.state
            assert after.custodian == before.custodian
        if event_type is EventType.CUSTODY_ACCEPTED:
            assert actor == before.pending_custodian
            assert (after.state, after.custodian) == (before.resume_state, actor)
        if event_type is EventType.STATE_OF_HEALTH_REPORTED:
            assert after.soh_pct == 70.0 + n
        if event_type is EventType.BATTERY_INTEGRATED:
            assert (after.state, after.parent_id) == (BatteryState.INTEGRATED, "parent-1")
        if event_type in ENDINGS:
            assert (after.state, after.successor_id) == (ENDINGS[event_type], f"next-{n}")
        if event_type not in (EventType.CUSTODY_ACCEPTED, EventType.BATTERY_DETACHED):
            assert after.custodian == before.custodian  # custody moves only by acceptance or detachment
        assert after.manufacturer == before.manufacturer

    @invariant()
    def consistent(self) -> None:
        s = self.status
        if s is None:
            return
        assert s.version == self.accepted
        assert (s.state is BatteryState.IN_TRANSIT) == (s.pending_custodian is not None)
        assert (s.state is BatteryState.IN_TRANSIT) == (s.resume_state is not None)
        assert (s.state is BatteryState.INTEGRATED) == (s.parent_id is not None)
        assert (s.state in ENDINGS.values()) == (s.successor_id is not None)
        assert s.resume_state is not BatteryState.IN_TRANSIT


Lifecycle.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestLifecycleStateMachine = Lifecycle.TestCase
