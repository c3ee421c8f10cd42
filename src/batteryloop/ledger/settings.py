"""Ledger settings, read from ``defaults.toml`` next to this file or from the user's own TOML file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import ValidationError

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")


@dataclass(frozen=True, slots=True)
class LedgerSettings:
    max_payload_bytes: int
    max_batch_events: int
    read_chunk_events: int
    sqlite_synchronous: str
    verify_workers: int
    parallel_verify_min_events: int
    group_max_events: int
    group_max_batches: int
    parallel_prepare_min_events: int

    @classmethod
    def from_file(cls, path: Path | str | None = None) -> LedgerSettings:
        """Defaults, overridden by the keys present in ``path``."""
        data: dict[str, Any] = tomllib.loads(DEFAULTS_FILE.read_text("utf-8"))
        if path is not None:
            override = tomllib.loads(Path(path).read_text("utf-8"))
            unknown = set(override) - {f.name for f in fields(cls)}
            if unknown:
                raise ValidationError(f"{path}: unknown ledger settings {sorted(unknown)}")
            data.update(override)
        return cls(**data)

    def with_(self, **changes: Any) -> LedgerSettings:
        return replace(self, **changes)
