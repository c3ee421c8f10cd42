"""The events stored by earlier versions that today's input rules would refuse (``batteryloop ledger check``).

Pure: it folds :class:`~batteryloop.ledger.core.envelope.RecordedEvent` s through
:func:`batteryloop.domain.validation.stored_event_issues`. Nothing is changed: the ledger is append-only and
signed, so a refused value stays stored; reads leave it out and flag it (the passport's ``data_issues``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from batteryloop.domain.validation import stored_event_issues
from batteryloop.ledger.core.envelope import RecordedEvent


@dataclass(frozen=True, slots=True)
class StoredIssue:
    """One refused field of one stored event: where (position, battery, event type), which field, why."""

    position: int
    battery_id: str
    event_type: str
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class StoredCheckReport:
    """``events_checked`` events read; ``events_refused`` of them hold at least one refused field;
    ``issues`` lists the first ``limit`` refused fields in position order (``truncated`` if there are more)."""

    events_checked: int
    events_refused: int
    issues: tuple[StoredIssue, ...]
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.events_refused == 0


def check_stored(events: Iterable[RecordedEvent], *, limit: int = 1000) -> StoredCheckReport:
    """Check every event of ``events`` against today's rules; list at most ``limit`` issues."""
    checked = refused = 0
    issues: list[StoredIssue] = []
    truncated = False
    for event in events:
        checked += 1
        found = stored_event_issues(event.battery_id, event.event_type, event.occurred_at, event.payload)
        if not found:
            continue
        refused += 1
        for issue in found:
            if len(issues) >= limit:
                truncated = True
                break
            issues.append(
                StoredIssue(
                    event.position, event.battery_id, str(event.event_type), issue.field, issue.reason
                )
            )
    return StoredCheckReport(checked, refused, tuple(issues), truncated)
