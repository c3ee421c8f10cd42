"""The recyclers' lot masses the writer checks every lot batch against: per (recycler, input lot id), the mass
received (``RecyclingLotReceived``) and the mass of the output lots made from it (``RecyclingLotProduced``).

Outputs heavier than their input lot are refused on every write path (``POST /events``, the CLI, the Python
append, bulk files), not only by the reports: :func:`check_lot_batch` runs inside :func:`append_locked` under
the write lock, before anything is written, for batches that hold lot events only (others pay nothing).

The masses are folded from the stored events once per process (a scan of the lot events) and then caught up
by position on each lot batch, reading through the write transaction's cursor. Rows read through that cursor
may belong to a group not yet committed, so the writer drops the fold whenever it rolls back
(``StreamCache.reset``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import EventType

__all__ = ["LOT_TOLERANCE", "LotMasses", "check_lot_batch"]

LOT_TOLERANCE = 1e-9  # relative, as the recyclers' mass balance (compliance.core.recyclers)
_IN = EventType.RECYCLING_LOT_RECEIVED
_OUT = EventType.RECYCLING_LOT_PRODUCED
_LOT_TYPES = (_IN.value, _OUT.value)


class LotMasses:
    """(recycler, input lot id) -> [received kg, produced kg], folded from the events up to ``position``."""

    def __init__(self) -> None:
        self.masses: dict[tuple[str, str], list[float]] = {}
        self.position = 0

    def reset(self) -> None:
        self.masses.clear()
        self.position = 0

    def add(self, actor: str, event_type: str, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        mass = payload.get("mass_kg")
        if not isinstance(mass, int | float) or isinstance(mass, bool):
            return
        if event_type == _IN.value:
            lot, side = payload.get("lot_id"), 0
        elif event_type == _OUT.value:
            lot, side = payload.get("input_lot_id"), 1
        else:
            return
        if isinstance(lot, str):
            self.masses.setdefault((actor, lot), [0.0, 0.0])[side] += float(mass)

    def catch_up(self, cur: Any, sql: Any, head: int) -> None:
        """Fold the lot events stored after ``position`` (up to ``head``), reading their actors from the
        batches that hold them."""
        if head <= self.position:
            return
        cur.execute("SELECT max(position) FROM events")
        stored = cur.fetchone()[0]  # a speculative head may run ahead of the rows stored so far
        head = min(head, int(stored or 0))
        if head <= self.position:
            return
        cur.execute(
            sql.q(
                "SELECT position, event_type, payload FROM events WHERE position > ? AND position <= ? "
                "AND event_type IN (?, ?) ORDER BY position"
            ),
            (self.position, head, *_LOT_TYPES),
        )
        rows = cur.fetchall()
        if rows:
            cur.execute(
                sql.q(
                    "SELECT first_position, last_position, actor FROM batches WHERE last_position > ? "
                    "AND first_position <= ? ORDER BY first_position"
                ),
                (self.position, head),
            )
            spans = cur.fetchall()
            i = 0
            for position, event_type, payload in rows:
                while i < len(spans) and int(spans[i][1]) < int(position):
                    i += 1
                if i == len(spans) or int(spans[i][0]) > int(position):
                    continue  # not covered by a batch: cannot happen in a consistent ledger
                self.add(str(spans[i][2]), str(event_type), orjson.loads(payload))
        self.position = head


def check_lot_batch(
    masses: LotMasses, cur: Any, sql: Any, head: int, actor: str, lot_events: Sequence[tuple[str, Any]]
) -> None:
    """ValidationError if, with the batch's lot events (``(event type, payload)`` pairs of ``actor``), the
    output lots made from any of ``actor``'s input lots would weigh more than the batteries received into it.
    Nothing is folded from the batch itself (the catch-up of the next lot batch reads it once stored)."""
    masses.catch_up(cur, sql, head)
    batch = LotMasses()
    for event_type, payload in lot_events:
        batch.add(actor, event_type, payload)
    for (who, lot), (received, produced) in sorted(batch.masses.items()):
        if produced <= 0:
            continue
        before = masses.masses.get((who, lot), [0.0, 0.0])
        total_in = math.fsum((before[0], received))
        total_out = math.fsum((before[1], produced))
        if total_out > total_in * (1 + LOT_TOLERANCE):
            raise ValidationError(
                f"inconsistent mass balance: output lots of input lot {lot} would weigh {total_out:g} kg, more "
                f"than the {total_in:g} kg of batteries {who} received into it "
                f"({before[1]:g} kg already produced, {produced:g} kg in this batch); nothing was written"
            )
