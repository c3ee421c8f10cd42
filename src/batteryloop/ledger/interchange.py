"""Reading and writing ledger events in bulk: NDJSON and CSV in, NDJSON and Parquet out.

One event per line. NDJSON lines are objects with ``battery_id``, ``event_type``, ``occurred_at`` (ISO 8601
with a time zone), ``payload`` (object) and optionally ``idempotency_key`` and ``schema_version``. CSV files
have the same columns, ``payload`` holding a JSON object. A malformed line raises :class:`LineError` naming
its line number; nothing of the file is appended then.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import EventType

if TYPE_CHECKING:
    from batteryloop.ledger import EventIn, RecordedEvent

REQUIRED_FIELDS = ("battery_id", "event_type", "occurred_at", "payload")
MAX_LINE_BYTES = 256 * 1024


class LineError(ValidationError):
    """A line of a bulk file that cannot be read; ``line`` is 1-based."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


def event_from_mapping(record: Mapping[str, Any], *, line: int) -> EventIn:
    from batteryloop.ledger import EventIn

    missing = [f for f in REQUIRED_FIELDS if record.get(f) in (None, "")]
    if missing:
        raise LineError(line, f"missing field(s) {', '.join(missing)}")
    try:
        event_type = EventType(record["event_type"])
    except ValueError:
        raise LineError(line, f"unknown event_type {record['event_type']!r}") from None
    raw_time = record["occurred_at"]
    try:
        occurred_at = datetime.fromisoformat(str(raw_time).replace("Z", "+00:00"))
    except ValueError:
        raise LineError(line, f"occurred_at {raw_time!r} is not an ISO 8601 date-time") from None
    if occurred_at.tzinfo is None:
        raise LineError(line, f"occurred_at {raw_time!r} has no time zone")
    payload = record["payload"]
    if isinstance(payload, str):
        try:
            payload = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise LineError(line, f"payload is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise LineError(line, "payload must be a JSON object")
    key = record.get("idempotency_key") or None
    try:
        schema_version = int(record.get("schema_version") or 1)
    except (TypeError, ValueError):
        raise LineError(line, f"schema_version {record.get('schema_version')!r} is not an integer") from None
    return EventIn(
        battery_id=str(record["battery_id"]),
        event_type=event_type,
        occurred_at=occurred_at,
        payload=payload,
        idempotency_key=str(key) if key is not None else None,
        schema_version=schema_version,
    )


def parse_ndjson(lines: Iterable[bytes | str]) -> list[EventIn]:
    events: list[EventIn] = []
    for number, raw in enumerate(lines, start=1):
        text = raw if isinstance(raw, bytes) else raw.encode()
        if not text.strip():
            continue
        if len(text) > MAX_LINE_BYTES:
            raise LineError(number, f"line is {len(text)} bytes, more than {MAX_LINE_BYTES}")
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise LineError(number, f"not valid JSON ({exc})") from None
        if not isinstance(record, dict):
            raise LineError(number, "each line must be a JSON object")
        events.append(event_from_mapping(record, line=number))
    return events


def parse_csv(text: str) -> list[EventIn]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    absent = [f for f in REQUIRED_FIELDS if f not in header]
    if absent:
        raise LineError(1, f"CSV header lacks column(s) {', '.join(absent)}")
    # line 1 is the header, so data row i sits on line i + 1
    return [event_from_mapping(row, line=reader.line_num) for row in reader]


def read_events_file(path: Path, *, fmt: str | None = None) -> list[EventIn]:
    kind = fmt or ("csv" if path.suffix.lower() == ".csv" else "ndjson")
    if kind == "csv":
        return parse_csv(path.read_text(encoding="utf-8"))
    if kind == "ndjson":
        with path.open("rb") as handle:
            return parse_ndjson(handle)
    raise ValidationError(f"unknown format {kind!r}: use ndjson or csv")


def recorded_to_dict(event: RecordedEvent) -> dict[str, Any]:
    return {
        "position": event.position,
        "event_id": event.event_id,
        "battery_id": event.battery_id,
        "stream_seq": event.stream_seq,
        "event_type": str(event.event_type),
        "schema_version": event.schema_version,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "actor": event.actor,
        "payload": event.payload,
        "payload_hash": event.payload_hash,
        "prev_hash": event.prev_hash,
        "event_hash": event.event_hash,
        "idempotency_key": event.idempotency_key,
        "batch_id": event.batch_id,
    }


def ndjson_lines(events: Iterable[RecordedEvent]) -> Iterator[bytes]:
    """Each event as one NDJSON line (with its newline): the bytes a file export and an HTTP export share."""
    for event in events:
        yield orjson.dumps(recorded_to_dict(event)) + b"\n"


def write_ndjson(events: Iterable[RecordedEvent], path: Path) -> int:
    count = 0
    with path.open("wb") as out:
        for line in ndjson_lines(events):
            out.write(line)
            count += 1
    return count


def _chunks(events: Iterable[RecordedEvent], size: int) -> Iterator[list[RecordedEvent]]:
    chunk: list[RecordedEvent] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_parquet(events: Iterable[RecordedEvent], path: Path, *, row_group: int = 100_000) -> int:
    """Columnar export for analytics (DuckDB, Polars, Spark); payload kept as canonical JSON text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("position", pa.int64()),
            ("event_id", pa.string()),
            ("battery_id", pa.string()),
            ("stream_seq", pa.int64()),
            ("event_type", pa.string()),
            ("schema_version", pa.int32()),
            ("occurred_at", pa.timestamp("us", tz="UTC")),
            ("recorded_at", pa.timestamp("us", tz="UTC")),
            ("actor", pa.string()),
            ("payload", pa.string()),
            ("payload_hash", pa.string()),
            ("prev_hash", pa.string()),
            ("event_hash", pa.string()),
            ("batch_id", pa.string()),
        ]
    )
    count = 0
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:
        for chunk in _chunks(events, row_group):
            columns = {
                "position": [e.position for e in chunk],
                "event_id": [e.event_id for e in chunk],
                "battery_id": [e.battery_id for e in chunk],
                "stream_seq": [e.stream_seq for e in chunk],
                "event_type": [str(e.event_type) for e in chunk],
                "schema_version": [e.schema_version for e in chunk],
                "occurred_at": [e.occurred_at for e in chunk],
                "recorded_at": [e.recorded_at for e in chunk],
                "actor": [e.actor for e in chunk],
                "payload": [orjson.dumps(e.payload, option=orjson.OPT_SORT_KEYS).decode() for e in chunk],
                "payload_hash": [e.payload_hash for e in chunk],
                "prev_hash": [e.prev_hash for e in chunk],
                "event_hash": [e.event_hash for e in chunk],
                "batch_id": [str(e.batch_id) for e in chunk],
            }
            writer.write_table(pa.table(columns, schema=schema))
            count += len(chunk)
    return count
