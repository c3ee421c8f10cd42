"""Cited parameter sets for the recycling model, loaded by the reference kernel (:mod:`batteryloop.reference`).

A parameter set is a directory of TOML files (``composition.toml``, ``recovery.toml``, ``prices.toml``).
The file stem is the first segment of every dotted path (``prices.Li2CO3``,
``regions.ES.electricity_usd_per_kwh``) and every leaf is a table ``{value, unit, source, year}`` with optional
``locator``, ``quality``, ``note``, ``low`` and ``high`` (an uncertainty range); ``source`` is a key of the
citation registry. A ``set.toml`` may hold ``extends = "other_set"`` (inherit, then override) and a
``description``. Users layer their own TOML or YAML files on top with :func:`load_parameter_set`; an override
file's top-level keys are namespaces (``composition``, ``prices``) and an override leaf is either a full table
or a bare number (which keeps the unit of the value it replaces).

``with params.track() as used: ...`` records the values a computation reads; ``used.unverified_paths()``
lists those not checked against a primary source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import NotFoundError
from batteryloop.reference import params as kernel
from batteryloop.reference.values import CitedValue

DATA_DIR = Path(__file__).parent.parent / "data"
DEFAULT_SET = "everbatt2023"
_SET_FILE = kernel.SET_FILE

Param = CitedValue[float]
ParamDiff = kernel.ParamDiff[float]
ParameterSet = kernel.ParameterSet[float]

__all__ = [
    "DATA_DIR",
    "DEFAULT_SET",
    "Param",
    "ParamDiff",
    "ParameterSet",
    "available_parameter_sets",
    "load_parameter_set",
    "parse_override_mapping",
]


def available_parameter_sets() -> list[str]:
    """Names of the packaged sets."""
    return sorted(p.name for p in DATA_DIR.iterdir() if p.is_dir() and (p / _SET_FILE).exists())


def load_parameter_set(
    name_or_dir: str | Path = DEFAULT_SET, *, overrides: Sequence[Path] = (), deck: str | None = None
) -> ParameterSet:
    """Load a packaged set by name (or a set directory), price it at ``deck`` (a packaged price deck, see
    :mod:`batteryloop.recycling.core.decks`), then apply override files in order."""
    base = _load_cached(_resolve_set_dir(name_or_dir))
    if deck is not None:
        from batteryloop.recycling.core.decks import apply_deck  # decks loads sets through this module

        base = apply_deck(base, deck)
    if not overrides:
        return base
    return kernel.apply_overrides(base, [Path(p) for p in overrides], coerce=kernel.number)


def parse_override_mapping(
    data: Mapping[str, Any], *, origin: str, base: Mapping[str, Param]
) -> dict[str, Param]:
    """Turn an override document (nested mapping) into params layered on ``base``."""
    return kernel.parse_override_mapping(data, origin=origin, base=base, coerce=kernel.number)


def _resolve_set_dir(name_or_dir: str | Path) -> Path:
    candidate = Path(name_or_dir)
    if candidate.is_dir():
        return candidate.resolve()
    packaged = DATA_DIR / str(name_or_dir)
    if isinstance(name_or_dir, str) and "/" not in name_or_dir and packaged.is_dir():
        return packaged.resolve()
    raise NotFoundError(
        f"unknown parameter set {str(name_or_dir)!r}; packaged sets: {', '.join(available_parameter_sets())}"
    )


@lru_cache(maxsize=32)
def _load_cached(set_dir: Path) -> ParameterSet:
    return kernel.load_set(set_dir, coerce=kernel.number, require_unit=True)
