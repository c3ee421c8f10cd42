"""The event file formats moved to :mod:`batteryloop.ledger.interchange`; the names are kept here for code
that imports them from this module."""

from batteryloop.ledger.interchange import (
    MAX_LINE_BYTES,
    REQUIRED_FIELDS,
    LineError,
    event_from_mapping,
    parse_csv,
    parse_ndjson,
    read_events_file,
    recorded_to_dict,
    write_ndjson,
    write_parquet,
)

__all__ = [
    "MAX_LINE_BYTES",
    "REQUIRED_FIELDS",
    "LineError",
    "event_from_mapping",
    "parse_csv",
    "parse_ndjson",
    "read_events_file",
    "recorded_to_dict",
    "write_ndjson",
    "write_parquet",
]
