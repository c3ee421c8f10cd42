"""``lifecycle.apply`` builds statuses positionally for speed; it must equal the ``dataclasses.replace``
formulation it replaced (kept here verbatim as the reference) on every status and event."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.domain.errors import IllegalTransitionError
from batteryloop.domain.lifecycle import TRANSITIONS, BatteryState, EventType, UnitStatus, apply

S, E = BatteryState, EventType


def reference_apply(
    status: UnitStatus | None, *, battery_id: str, event_type: EventType, actor: str, payload: Any
) -> UnitStatus:
    state = status.state if status is not None else None
    sources, target = TRANSITIONS[event_type]
    if state not in sources:
        raise IllegalTransitionError(battery_id, state, event_type)
    if status is None:
        return UnitStatus(
            battery_id=battery_id,
            state=S.MANUFACTURED,
            custodian=actor,
            manufacturer=actor,
            predecessor_id=payload.get("predecessor_id"),
            version=1,
        )
    version = status.version + 1
    if event_type is E.CUSTODY_HANDED_OVER:
        return replace(
            status,
            state=S.IN_TRANSIT,
            pending_custodian=str(payload["to_org"]),
            resume_state=status.state,
            version=version,
        )
    if event_type is E.CUSTODY_ACCEPTED:
        assert status.resume_state is not None
        return replace(
            status,
            state=status.resume_state,
            custodian=status.pending_custodian or actor,
            pending_custodian=None,
            resume_state=None,
            version=version,
        )
    if event_type is E.STATE_OF_HEALTH_REPORTED:
        return replace(status, soh_pct=float(payload["soh_pct"]), version=version)
    if event_type is E.BATTERY_INTEGRATED:
        return replace(status, state=S.INTEGRATED, parent_id=str(payload["parent_id"]), version=version)
    if event_type is E.BATTERY_DETACHED:
        return replace(status, state=S.COLLECTED, parent_id=None, custodian=actor, version=version)
    if event_type in (E.BATTERY_REUSED, E.BATTERY_REPURPOSED, E.BATTERY_REMANUFACTURED):
        assert target is not None
        return replace(status, state=target, successor_id=str(payload["successor_id"]), version=version)
    if event_type is E.BATTERY_GRADED and "soh_pct" in payload:
        return replace(status, state=S.GRADED, soh_pct=float(payload["soh_pct"]), version=version)
    return replace(status, state=target if target is not None else status.state, version=version)


ORGS = st.sampled_from(["maker", "dealer", "recycler"])
OPT_ID = st.none() | st.sampled_from(["p1", "p2", "m1"])
statuses = st.builds(
    UnitStatus,
    battery_id=st.sampled_from(["b1", "b2"]),
    state=st.sampled_from(list(S)),
    custodian=ORGS,
    manufacturer=ORGS,
    parent_id=OPT_ID,
    pending_custodian=st.none() | ORGS,
    resume_state=st.none() | st.sampled_from(list(S)),
    soh_pct=st.none() | st.floats(0, 200),
    predecessor_id=OPT_ID,
    successor_id=OPT_ID,
    version=st.integers(1, 10_000),
)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "soh_pct": st.floats(0, 200) | st.integers(0, 200),
        "to_org": ORGS,
        "parent_id": st.sampled_from(["p1", "p9"]),
        "successor_id": st.sampled_from(["s1", "s2"]),
        "predecessor_id": OPT_ID,
    },
)


def outcome(fn: Any, status: UnitStatus | None, event_type: EventType, actor: str, payload: Any) -> Any:
    try:
        return fn(status, battery_id="b1", event_type=event_type, actor=actor, payload=payload)
    except (IllegalTransitionError, KeyError, AssertionError) as exc:
        return type(exc)


@settings(max_examples=600, deadline=None)
@given(st.none() | statuses, st.sampled_from(list(E)), ORGS, payloads)
def test_apply_equals_the_replace_formulation(
    status: UnitStatus | None, event_type: EventType, actor: str, payload: dict[str, Any]
) -> None:
    assert outcome(apply, status, event_type, actor, payload) == outcome(
        reference_apply, status, event_type, actor, payload
    )


def test_a_legal_sequence_folds_identically() -> None:
    events: list[tuple[EventType, str, dict[str, Any]]] = [
        (E.BATTERY_MANUFACTURED, "maker", {"predecessor_id": "old"}),
        (E.BATTERY_PLACED_ON_MARKET, "maker", {}),
        (E.CUSTODY_HANDED_OVER, "maker", {"to_org": "dealer"}),
        (E.CUSTODY_ACCEPTED, "dealer", {}),
        (E.STATE_OF_HEALTH_REPORTED, "dealer", {"soh_pct": 91}),
    ]
    a: UnitStatus | None = None
    b: UnitStatus | None = None
    for event_type, actor, payload in events:
        a = apply(a, battery_id="b1", event_type=event_type, actor=actor, payload=payload)
        b = reference_apply(b, battery_id="b1", event_type=event_type, actor=actor, payload=payload)
        assert a == b
    assert a is not None and a.custodian == "dealer" and a.soh_pct == 91.0 and a.version == 5
