"""Group a global event list into per-organisation batches (each batch is signed by one organisation).

Causality is kept: an event may join actor A's pending batch only if every event it depends on is already
flushed or sits in A's pending batch; otherwise the batch holding that dependency is flushed first. Since the
same rule applied when that batch was filled, a pending batch depends only on flushed batches and itself, so
flushing it alone is always safe.

An event depends on the last earlier event of:
- its own stream;
- the stream of every ancestor of its unit (custody of an integrated unit is the root's custody);
- for ``BatteryIntegrated``, the new parent and the parent's ancestors;
- for ``BatteryManufactured`` with ``predecessor_id``, the predecessor.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import EventType
from batteryloop.fleet.core.generator import FleetEvent

E = EventType


def _chain(start: str | None, parent_of: dict[str, str]) -> Iterator[str]:
    seen = 0
    node = start
    while node is not None:
        yield node
        node = parent_of.get(node)
        seen += 1
        if seen > 64:
            raise ValidationError(f"unit tree above {start} is deeper than 64 levels (a cycle?)")


def plan_batches(
    events: Iterable[FleetEvent], *, max_batch: int = 10_000
) -> Iterator[tuple[str, list[FleetEvent]]]:
    """Yield ``(actor org_id, events)`` batches; replaying them in order respects every dependency."""
    if max_batch < 1:
        raise ValidationError(f"max_batch must be >= 1, got {max_batch}")
    pending: dict[str, list[FleetEvent]] = {}
    opened_at: dict[str, int] = {}  # actor -> index of its pending batch's first event (final flush order)
    generation: dict[str, int] = {}
    last_in: dict[str, tuple[str, int]] = {}  # battery_id -> (actor, generation) of its last event
    parent_of: dict[str, str] = {}

    def flush(actor: str) -> tuple[str, list[FleetEvent]]:
        batch = pending.pop(actor)
        opened_at.pop(actor, None)
        generation[actor] = generation.get(actor, 0) + 1
        return actor, batch

    for i, ev in enumerate(events):
        actor = ev.actor
        payload: dict[str, Any] = ev.payload
        deps = list(_chain(ev.battery_id, parent_of))
        if ev.event_type is E.BATTERY_INTEGRATED:
            deps.extend(_chain(str(payload["parent_id"]), parent_of))
        elif ev.event_type is E.BATTERY_MANUFACTURED and payload.get("predecessor_id"):
            deps.append(str(payload["predecessor_id"]))
        for dep in deps:
            loc = last_in.get(dep)
            if loc is None:
                continue
            holder, gen = loc
            if holder != actor and holder in pending and generation.get(holder, 0) == gen:
                yield flush(holder)
        if actor not in pending:
            pending[actor] = []
            opened_at[actor] = i
        pending[actor].append(ev)
        last_in[ev.battery_id] = (actor, generation.get(actor, 0))
        if ev.event_type is E.BATTERY_INTEGRATED:
            parent_of[ev.battery_id] = str(payload["parent_id"])
        elif ev.event_type is E.BATTERY_DETACHED:
            parent_of.pop(ev.battery_id, None)
        if len(pending[actor]) >= max_batch:
            yield flush(actor)
    for actor in sorted(pending, key=lambda a: opened_at[a]):
        yield flush(actor)
