"""The analytics capability's cited data (``data/*.toml``), loaded by the reference kernel.

``triage.toml`` holds the grading profile, ``forecast.toml`` the retirement-forecast defaults and
``network.toml`` the collection-network cost defaults. A user's override file (same layout, partial) is
layered on top with :func:`load`; a bare number in an override keeps the unit of the value it replaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import NotFoundError
from batteryloop.reference import params as kernel

DATA_DIR = Path(__file__).parent.parent / "data"
SETS: tuple[str, ...] = ("triage", "forecast", "network")

ParameterSet = kernel.ParameterSet[Any]

__all__ = ["DATA_DIR", "SETS", "ParameterSet", "load", "values"]


def load(name: str, *, overrides: Sequence[Path | Mapping[str, Any]] = ()) -> ParameterSet:
    """The packaged set ``name`` (one of :data:`SETS`) with ``overrides`` applied in order."""
    if name not in SETS:
        raise NotFoundError(f"unknown analytics data set {name!r}; known: {', '.join(SETS)}")
    base = _packaged(name)
    if not overrides:
        return base
    layers = [o if isinstance(o, Mapping) else Path(o) for o in overrides]
    return kernel.apply_overrides(base, layers, allow_new=False)


@cache
def _packaged(name: str) -> ParameterSet:
    return kernel.load_set(DATA_DIR / f"{name}.toml")


def values(pset: ParameterSet) -> dict[str, Any]:
    """``{dotted.path: value}`` of a set (reads are tracked, so a result can list its unverified values)."""
    return {path: pset.value(path) for path, _ in pset.items()}
