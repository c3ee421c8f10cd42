"""Use cases of the reference data: list the data sets, show one, diff two, cite a source.

Every capability's shipped data is a named data set here (the recycling parameter sets, the fleet defaults,
the passport tables, the GB/T 34014 tables, the ledger defaults); a user's set directory or TOML file is
accepted wherever a name is. Results are frozen; rendering is :mod:`batteryloop.params.report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import NotFoundError
from batteryloop.reference import params as kernel
from batteryloop.reference.files import read_toml
from batteryloop.reference.registry import Citation, citations
from batteryloop.reference.values import CitedValue

_ROOT = kernel.PACKAGE_ROOT
_RECYCLING_SETS = _ROOT / "recycling" / "data"


@dataclass(frozen=True, slots=True)
class DataSet:
    """A packaged data set: its name, the capability that uses it and where it lives in the package."""

    name: str
    capability: str
    location: Path
    description: str

    @property
    def package_path(self) -> str:
        return self.location.relative_to(_ROOT).as_posix()


_FILES: tuple[tuple[str, str, str, str], ...] = (
    ("fleet", "fleet", "fleet/data/fleet_defaults.toml", "Synthetic fleet generator defaults"),
    ("organisations", "fleet", "fleet/data/organisations.toml", "Synthetic organisations of the fleet"),
    (
        "passport-access",
        "passport",
        "passport/data/access.toml",
        "Annex XIII access tiers of passport fields",
    ),
    (
        "passport-obligations",
        "passport",
        "passport/data/obligations.toml",
        "Mandatory passport attributes by category and date",
    ),
    ("passport-synthetic", "passport", "passport/data/synthetic_defaults.toml", "Demo passport value ranges"),
    ("gbt34014", "domain", "domain/data/gbt34014.toml", "GB/T 34014-2017 battery code character tables"),
    ("ledger", "ledger", "ledger/defaults.toml", "Ledger engineering limits"),
    (
        "analytics-triage",
        "analytics",
        "analytics/data/triage.toml",
        "Triage grading profiles (reuse, repurpose, recycle)",
    ),
    ("analytics-forecast", "analytics", "analytics/data/forecast.toml", "Retirement forecast defaults"),
    ("analytics-network", "analytics", "analytics/data/network.toml", "Collection network cost defaults"),
)


@dataclass(frozen=True, slots=True)
class DataSetSummary:
    name: str
    capability: str
    package_path: str
    description: str
    values: int
    unverified: int
    assumptions: int


@dataclass(frozen=True, slots=True)
class ParamsView:
    """The values of one set (under a prefix), with which of them are unverified."""

    name: str
    description: str
    lineage: tuple[str, ...]
    params: tuple[tuple[str, CitedValue[Any]], ...]

    @property
    def unverified(self) -> tuple[str, ...]:
        return tuple(path for path, p in self.params if p.quality == "unverified")


@dataclass(frozen=True, slots=True)
class ParamsDiffView:
    left: str
    right: str
    rows: tuple[kernel.ParamDiff[Any], ...]


@cache
def packaged_sets() -> tuple[DataSet, ...]:
    """Every data set shipped in the package, recycling sets first."""
    out = [
        DataSet(
            name=d.name,
            capability="recycling",
            location=d,
            description=str(read_toml(d / kernel.SET_FILE).get("description", "")),
        )
        for d in sorted(_RECYCLING_SETS.iterdir())
        if (d / kernel.SET_FILE).is_file()
    ]
    out.extend(DataSet(name, cap, _ROOT / rel, desc) for name, cap, rel, desc in _FILES)
    return tuple(out)


def find_set(name: str) -> DataSet:
    for item in packaged_sets():
        if item.name == name:
            return item
    known = ", ".join(s.name for s in packaged_sets())
    raise NotFoundError(
        f"unknown parameter set {name!r}; known data sets: {known} (or a set directory or TOML file)"
    )


def load(name: str, *, overrides: Sequence[Path] = ()) -> kernel.ParameterSet[Any]:
    """A packaged set by name, or a user's set directory or TOML file, with override files applied."""
    candidate = Path(name)
    location = candidate if ("/" in name or candidate.suffix == ".toml") and candidate.exists() else None
    if location is None:
        location = find_set(name).location
    return _load(location.resolve(), tuple(Path(p) for p in overrides))


@cache
def _load_packaged(location: Path) -> kernel.ParameterSet[Any]:
    return kernel.load_set(location)


def _load(location: Path, overrides: tuple[Path, ...]) -> kernel.ParameterSet[Any]:
    base = _load_packaged(location) if kernel.is_packaged(location) else kernel.load_set(location)
    if not overrides:
        return base
    return kernel.apply_overrides(base, list(overrides))


def list_sets() -> tuple[DataSetSummary, ...]:
    """Every packaged data set with its number of values, unverified values and assumptions."""
    out = []
    for item in packaged_sets():
        pset = _load_packaged(item.location)
        qualities = [p.quality for p in pset.params.values()]
        out.append(
            DataSetSummary(
                name=item.name,
                capability=item.capability,
                package_path=item.package_path,
                description=item.description,
                values=len(pset),
                unverified=qualities.count("unverified"),
                assumptions=qualities.count("assumption"),
            )
        )
    return tuple(out)


def unverified_values(names: Sequence[str]) -> tuple[str, ...]:
    """``set:path`` of every value marked unverified in the packaged data sets ``names`` (sets in the order
    given, paths sorted): what an output resting on those whole sets must name."""
    out: list[str] = []
    for name in names:
        pset = _load_packaged(find_set(name).location)
        out.extend(f"{name}:{path}" for path, p in sorted(pset.params.items()) if p.quality == "unverified")
    return tuple(out)


def show(
    name: str,
    *,
    prefix: str = "",
    overrides: Sequence[Path] = (),
    unverified_only: bool = False,
) -> ParamsView:
    """The values of set ``name`` under ``prefix`` (only the unverified ones with ``unverified_only``)."""
    pset = load(name, overrides=overrides)
    head = prefix.rstrip(".")
    items = sorted(pset.params.items())
    if head:
        items = [(p, v) for p, v in items if p == head or p.startswith(f"{head}.")]
        if not items:
            raise NotFoundError(f"no values under {prefix!r} in set {pset.name!r}")
    if unverified_only:
        items = [(p, v) for p, v in items if v.quality == "unverified"]
    packaged = next((s for s in packaged_sets() if s.name == name), None)
    description = pset.description or (packaged.description if packaged else "")
    return ParamsView(
        name=packaged.name if packaged else pset.name,
        description=description,
        lineage=pset.lineage,
        params=tuple(items),
    )


def diff(left: str, right: str, *, prefix: str = "") -> ParamsDiffView:
    """The values that differ between two sets (under ``prefix``)."""
    a, b = load(left), load(right)
    head = f"{prefix.rstrip('.')}." if prefix else ""
    rows = tuple(d for d in a.diff(b) if d.path.startswith(head))
    return ParamsDiffView(left=left, right=right, rows=rows)


def cite(key: str) -> Citation:
    """The full citation of a source key."""
    return citations().get(key)


def list_citations(*, used_by: str | None = None) -> tuple[Citation, ...]:
    """Every registry entry, or those a data set cites."""
    registry = citations()
    if used_by is None:
        return tuple(registry.get(k) for k in registry)
    keys = {p.source for p in load(used_by).params.values()}
    return tuple(registry.get(k) for k in sorted(keys) if k in registry)
