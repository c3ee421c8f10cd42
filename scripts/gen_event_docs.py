"""Generate docs/events.md, the user's reference of the event file format, from the code's own definitions.

Sources: the NDJSON/CSV line fields (``batteryloop.ledger.interchange``), the lifecycle transitions and the payload
keys the ledger requires (``batteryloop.domain.lifecycle``), the meaning of each event type and payload key
(``batteryloop.domain.payloads``) and the sections of the static passport data
(``batteryloop.passport.core.model.PassportDataRegistered``).

Usage: ``python scripts/gen_event_docs.py`` rewrites docs/events.md; ``--check`` exits 1 if it is out of date.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

from batteryloop.domain.lifecycle import (
    MANUFACTURER_MAY_APPEND,
    REQUIRED_PAYLOAD,
    TRANSITIONS,
    BatteryState,
    EventType,
)
from batteryloop.domain.payloads import EVENTS, Kind, PayloadField
from batteryloop.domain.validation import EARLIEST_DATE, FORMS, IDENTIFIER_CHARS, LATEST_DATE
from batteryloop.ledger.interchange import REQUIRED_FIELDS

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / "events.md"
EXAMPLE = "src/batteryloop/ledger/examples/events.ndjson"

_BOUNDS = (("ge", "at least"), ("gt", "more than"), ("le", "at most"), ("lt", "less than"))
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


def json_type(kind: Kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if set(kinds) == {int, float}:
        return "number"
    return " or ".join(_JSON_TYPES[k] for k in kinds)


def rule(field: PayloadField) -> str:
    """The check a field gets on append (domain/validation.py), in words."""
    if field.kind is bool:
        return "true or false"
    if field.kind is str:
        return "one of the values listed" if field.values else FORMS[field.form]
    low = "> 0" if field.positive else (f"≥ {field.low:g}" if field.low is not None else "")
    high = f"≤ {field.high:g}" if field.high is not None else ""
    return " and ".join(p for p in (low, high) if p) or "any finite number"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _states(states: frozenset[BatteryState | None]) -> str:
    if states == frozenset({None}):
        return "(new unit)"
    live = frozenset(BatteryState) - {s for s in states if s is not None}
    named = sorted(s.value for s in states if s is not None)
    if len(named) > 8:
        return "any state except " + ", ".join(f"`{s.value}`" for s in sorted(live, key=lambda s: s.value))
    return ", ".join(f"`{s}`" for s in named)


def _target(event_type: EventType) -> str:
    target = TRANSITIONS[event_type][1]
    if target is not None:
        return f"`{target.value}`"
    if event_type is EventType.CUSTODY_ACCEPTED:
        return "the state before the hand-over"
    return "unchanged"


def check_consistency() -> list[str]:
    """Problems between the described payloads and what the ledger enforces (empty when they agree)."""
    problems = []
    for event_type in EventType:
        spec = EVENTS.get(event_type)
        if spec is None:
            problems.append(f"{event_type}: not described in batteryloop.domain.payloads.EVENTS")
            continue
        for key, kind in REQUIRED_PAYLOAD.get(event_type, {}).items():
            described = spec.fields.get(key)
            if described is None:
                problems.append(f"{event_type}: required key {key!r} is not described")
            elif json_type(described.kind) != json_type(kind):
                problems.append(
                    f"{event_type}: {key!r} is described as {json_type(described.kind)}, "
                    f"the ledger checks {json_type(kind)}"
                )
    return problems


def _section_rows() -> list[str]:
    from batteryloop.domain.passport_data import PassportDataRegistered

    rows = []
    for name, info in PassportDataRegistered.model_fields.items():
        annotation: Any = info.annotation
        inner = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
        target = inner[0]
        if inspect.isclass(target) and issubclass(target, BaseModel):
            kind = f"object ({target.__name__})"
            meaning = inspect.cleandoc(target.__doc__ or "").split("\n\n")[0].replace("\n", " ")
            if not meaning:
                meaning = "keys " + ", ".join(f"`{k}`" for k in target.model_fields)
        elif get_args(target):
            kind = "string"
            meaning = "one of " + ", ".join(f"`{v}`" for v in get_args(target))
        else:
            kind = _JSON_TYPES.get(target, getattr(target, "__name__", str(target)))
            bounds = [
                f"{label} {getattr(m, attr)}"
                for m in info.metadata
                for attr, label in _BOUNDS
                if hasattr(m, attr)
            ]
            meaning = info.description or ", ".join(bounds)
        rows.append(f"| `{name}` | {kind} | {_cell(meaning)} |")
    return rows


def render() -> str:
    problems = check_consistency()
    if problems:
        raise SystemExit("payload descriptions disagree with the ledger:\n" + "\n".join(problems))
    out = [
        "# Event file format",
        "",
        "<!-- Generated by scripts/gen_event_docs.py from the code's definitions; do not edit by hand. -->",
        "",
        "`batteryloop events append FILE --org ORG` appends the events of an NDJSON file (one JSON object per",
        "line, `.ndjson`/`.jsonl`) or a CSV file (the same columns, `payload` holding a JSON object). The whole",
        "file is read and checked before anything is written; the organisation signs every batch with its key.",
        f"A small valid file ships with the package: `{EXAMPLE}`.",
        "",
        "## Line fields",
        "",
        "| field | required | meaning |",
        "|---|---|---|",
    ]
    line_fields = {
        "battery_id": "the unit's id, e.g. an EU unique identifier `urn:uuid:...` (an identifier, below)",
        "event_type": "one of the event types below",
        "occurred_at": "when it happened: ISO 8601 date-time with a time zone (`Z` or an offset), from "
        f"{EARLIEST_DATE} to {LATEST_DATE}",
        "payload": "a JSON object; its keys depend on the event type (below)",
        "idempotency_key": "a key of your own (an identifier): an event your organisation appends again with "
        "the same key is skipped; keys are per organisation",
        "schema_version": "payload schema version (integer, default 1)",
    }
    for name, meaning in line_fields.items():
        out.append(f"| `{name}` | {'yes' if name in REQUIRED_FIELDS else 'no'} | {meaning} |")
    missing = set(REQUIRED_FIELDS) - set(line_fields)
    if missing:
        raise SystemExit(f"line fields not described: {sorted(missing)}")
    out += [
        "",
        f"An **identifier** (battery ids, organisation ids, idempotency keys, codes) has 1 to {IDENTIFIER_CHARS}",
        "characters, no spaces and no control or invisible characters (zero-width, bidirectional overrides).",
        "",
        "## Event types",
        "",
        "Each unit's stream opens with `BatteryManufactured`; every other event is legal only from the states",
        "listed. Only the unit's current holder (the custodian of the root of its tree) may append, except",
        "`CustodyAccepted` (the named receiver) and "
        + ", ".join(f"`{e}`" for e in sorted(MANUFACTURER_MAY_APPEND))
        + " (also the manufacturer). A unit in transit, or inside a unit in transit, is held by no one: only",
        "its manufacturer's passport data may be appended to it until the receiver accepts.",
        "",
        "| event type | legal from | leads to | meaning |",
        "|---|---|---|---|",
    ]
    for event_type in EventType:
        sources, _ = TRANSITIONS[event_type]
        out.append(
            f"| `{event_type}` | {_states(sources)} | {_target(event_type)} | "
            f"{_cell(EVENTS[event_type].meaning)} |"
        )
    out += [
        "",
        "## Payloads",
        "",
        "Every key below is checked on append, before anything is written: required keys must be present and",
        "not null, and every key given must be of the type shown and pass its rule (a batch with one refused",
        "field is refused whole, the error names the event, the battery and the field). The other keys are",
        "optional; those noted (passport) are needed to build the unit's battery passport. A payload may carry",
        "further keys of your own: they are stored, hashed and signed with the event as given.",
    ]
    for event_type in EventType:
        spec = EVENTS[event_type]
        required = REQUIRED_PAYLOAD.get(event_type, {})
        out += ["", f"### {event_type}", ""]
        if spec.open_payload_note:
            out.append(spec.open_payload_note)
        if not spec.fields and not spec.open_payload_note:
            out.append("No payload keys (an empty object `{}`).")
            continue
        if spec.fields:
            out += ["| key | required | type | rule | meaning |", "|---|---|---|---|---|"]
            for name, described in sorted(spec.fields.items(), key=lambda kv: kv[0] not in required):
                meaning = described.meaning
                if described.values:
                    meaning += ": " + ", ".join(f"`{v}`" for v in described.values)
                flag = "yes" if name in required else "no"
                out.append(
                    f"| `{name}` | {flag} | {json_type(described.kind)} | {_cell(rule(described))} | "
                    f"{_cell(meaning)} |"
                )
        if event_type is EventType.PASSPORT_DATA_REGISTERED:
            out += ["", "| key | type | meaning |", "|---|---|---|", *_section_rows()]
    out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(REPO)} is out of date: run python scripts/gen_event_docs.py")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
