"""Ledger settings, read from ``defaults.toml`` next to this file or from the user's own TOML file.

The whole package's settings (:class:`batteryloop.config.Settings`) carry these as their ``ledger`` section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import ValidationError
from batteryloop.reference.files import read_toml

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")
# the citation of the defaults file; not settings
_CITATION_KEYS = frozenset({"source", "locator", "year", "quality", "note"})


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
        return cls.from_mapping(read_toml(path) if path is not None else {}, origin=str(path))

    @classmethod
    def from_mapping(cls, override: Mapping[str, Any], *, origin: str = "ledger settings") -> LedgerSettings:
        """Defaults, overridden by the keys of ``override`` (each checked against the default's type)."""
        data = {k: v for k, v in read_toml(DEFAULTS_FILE).items() if k not in _CITATION_KEYS}
        names = {f.name for f in fields(cls)}
        unknown = set(override) - names
        if unknown:
            raise ValidationError(f"{origin}: unknown ledger settings {sorted(unknown)}")
        for key, value in override.items():
            expected = type(data[key])
            if isinstance(value, bool) or not isinstance(value, expected):
                raise ValidationError(
                    f"{origin}: ledger setting {key} must be {expected.__name__}, got {value!r}"
                )
        data.update(override)
        return cls(**data)

    def with_(self, **changes: Any) -> LedgerSettings:
        return replace(self, **changes)
