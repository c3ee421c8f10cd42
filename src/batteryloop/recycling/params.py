"""Cited parameter sets for the recycling model.

A parameter set is a directory of TOML files (``composition.toml``, ``recovery.toml``, ``prices.toml``).
The file stem is the first segment of every dotted path (``prices.Li2CO3``,
``regions.ES.electricity_usd_per_kwh``) and every leaf is a table ``{value, unit, source, year}``
with optional ``note``, ``low`` and ``high`` (an uncertainty range). A ``set.toml`` may hold
``extends = "other_set"`` (inherit, then override) and a ``description``. Users layer their own TOML or YAML
files on top with :func:`load_parameter_set`; an override file's top-level keys are namespaces
(``composition``, ``prices``) and an override leaf is either a full table or a bare number (which keeps the unit of the value it replaces).

The only I/O here is reading the packaged data files and the override files the caller names.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, cast

import yaml

from batteryloop.domain.errors import NotFoundError, ValidationError

_T = TypeVar("_T")

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_SET = "everbatt2023"
_SET_FILE = "set.toml"
_LEAF_KEYS = frozenset({"value", "unit", "source", "year", "note", "low", "high"})
_MAX_EXTENDS_DEPTH = 10


@dataclass(frozen=True, slots=True)
class Param:
    """One cited number."""

    value: float
    unit: str
    source: str
    year: int | None = None
    low: float | None = None
    high: float | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "unit": self.unit,
            "source": self.source,
            "year": self.year,
        }
        for key in ("low", "high", "note"):
            item = getattr(self, key)
            if item is not None:
                out[key] = item
        return out


@dataclass(frozen=True, slots=True)
class ParamDiff:
    """One path that differs between two sets; ``None`` means the path is absent on that side."""

    path: str
    left: Param | None
    right: Param | None


@dataclass(frozen=True, slots=True)
class ParameterSet:
    """An immutable mapping of dotted path -> :class:`Param` with its lineage."""

    name: str
    params: Mapping[str, Param]
    description: str = ""
    lineage: tuple[str, ...] = field(default_factory=tuple)  # base sets first, then override files
    # derived lookups (prefix index, resolved chemistry), built on first use; never part of equality
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def get(self, path: str) -> Param:
        try:
            return self.params[path]
        except KeyError:
            raise NotFoundError(_missing_message(self, path)) from None

    def value(self, path: str) -> float:
        return self.get(path).value

    def value_or(self, path: str, default: float) -> float:
        param = self.params.get(path)
        return default if param is None else param.value

    def has(self, path: str) -> bool:
        return path in self.params

    def items(self, prefix: str = "") -> Iterator[tuple[str, Param]]:
        """(path, Param) pairs in path order, limited to paths under ``prefix`` when given."""
        for path in self._under(prefix):
            yield path, self.params[path]

    def children(self, prefix: str) -> dict[str, Param]:
        """Direct leaves under ``prefix``: {"cam": Param, "graphite": Param} for "composition.cell.NMC811"."""
        head = _prefix(prefix)
        return {
            path[len(head) :]: self.params[path]
            for path in self._under(prefix)
            if "." not in path[len(head) :]
        }

    def groups(self, prefix: str) -> list[str]:
        """Names of the sub-tables directly under ``prefix`` (the chemistries under "composition.cell")."""
        head = _prefix(prefix)
        names = {
            path[len(head) :].split(".", 1)[0] for path in self._under(prefix) if "." in path[len(head) :]
        }
        return sorted(names)

    def memo(self, key: str, build: Callable[[], _T]) -> _T:
        """A value derived from this set, built once (the set is immutable).

        ``key`` starts with the namespace the value is derived from ("composition.chemistry"): a copy made by
        :meth:`override` keeps the value unless a path of that namespace changed.
        """
        if key not in self._memo:
            self._memo[key] = build()
        return cast(_T, self._memo[key])

    def _under(self, prefix: str) -> list[str]:
        index: dict[str, list[str]] | None = self._memo.get("_prefix_index")
        if index is None:
            index = {}
            for path in sorted(self.params):
                parts = path.split(".")
                for depth in range(len(parts)):
                    index.setdefault(".".join(parts[:depth]), []).append(path)
            self._memo["_prefix_index"] = index
        return index.get(prefix.rstrip("."), [])

    def override(self, path: str, value: float, *, source: str = "user override") -> ParameterSet:
        """A copy with one value replaced (unit kept). Unknown paths are an error: use :meth:`with_param`."""
        old = self.get(path)
        new = replace(old, value=_number(value, path), source=source, year=None, low=None, high=None)
        return self._with({path: new}, f"override {path}")

    def with_param(self, path: str, param: Param) -> ParameterSet:
        """A copy with a full parameter added or replaced."""
        return self._with({path: param}, f"set {path}")

    def diff(self, other: ParameterSet) -> list[ParamDiff]:
        paths = sorted(set(self.params) | set(other.params))
        out: list[ParamDiff] = []
        for path in paths:
            left, right = self.params.get(path), other.params.get(path)
            if left is None or right is None or left.value != right.value or left.unit != right.unit:
                out.append(ParamDiff(path, left, right))
        return out

    def _with(self, changes: Mapping[str, Param], step: str) -> ParameterSet:
        merged = dict(self.params)
        merged.update(changes)
        copy = ParameterSet(
            name=self.name,
            params=MappingProxyType(merged),
            description=self.description,
            lineage=(*self.lineage, step),
        )
        if all(path in self.params for path in changes):
            # same paths: the prefix index still holds; derived values hold unless their namespace changed
            changed_roots = {path.split(".", 1)[0] for path in changes}
            for key, value in self._memo.items():
                if key == "_prefix_index" or key.split(".", 1)[0] not in changed_roots:
                    copy._memo[key] = value
        return copy

    def __len__(self) -> int:
        return len(self.params)


def available_parameter_sets() -> list[str]:
    """Names of the packaged sets."""
    return sorted(p.name for p in DATA_DIR.iterdir() if p.is_dir() and (p / _SET_FILE).exists())


def load_parameter_set(
    name_or_dir: str | Path = DEFAULT_SET, *, overrides: Sequence[Path] = ()
) -> ParameterSet:
    """Load a packaged set by name (or a set directory), then apply override files in order."""
    base = _load_cached(_resolve_set_dir(name_or_dir))
    if not overrides:
        return base
    params = dict(base.params)
    lineage = list(base.lineage)
    for path in overrides:
        _apply_override_file(params, Path(path))
        lineage.append(str(path))
    return ParameterSet(
        name=base.name, params=MappingProxyType(params), description=base.description, lineage=tuple(lineage)
    )


def parse_override_mapping(
    data: Mapping[str, Any], *, origin: str, base: Mapping[str, Param]
) -> dict[str, Param]:
    """Turn an override document (nested mapping) into params layered on ``base``."""
    out: dict[str, Param] = {}
    for path, raw in _walk(data, ""):
        if isinstance(raw, Mapping):
            out[path] = _leaf(raw, path, origin)
        else:
            old = base.get(path) or out.get(path)
            if old is None:
                raise ValidationError(
                    f"{origin}: {path} is not in the parameter set; a new parameter needs a full table "
                    "{value, unit, source, year}"
                )
            out[path] = Param(value=_number(raw, path), unit=old.unit, source=origin, year=None)
    return out


# --------------------------------------------------------------------------------------------- internals


def _prefix(prefix: str) -> str:
    return f"{prefix.rstrip('.')}." if prefix else ""


def _missing_message(pset: ParameterSet, path: str) -> str:
    parent = path.rsplit(".", 1)[0] if "." in path else ""
    near = sorted(pset.children(parent)) if parent else []
    hint = f"; known under {parent}: {', '.join(near[:20])}" if near else ""
    return f"parameter {path!r} is not in set {pset.name!r}{hint}"


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
    return _load_dir(set_dir, depth=0)


def _load_dir(set_dir: Path, *, depth: int) -> ParameterSet:
    if depth > _MAX_EXTENDS_DEPTH:
        raise ValidationError(f"parameter set {set_dir.name}: 'extends' chain is too deep (a cycle?)")
    meta: dict[str, Any] = {}
    meta_file = set_dir / _SET_FILE
    if meta_file.exists():
        meta = _read_toml(meta_file)
    params: dict[str, Param] = {}
    lineage: list[str] = []
    parent = meta.get("extends")
    if parent is not None:
        if not isinstance(parent, str):
            raise ValidationError(f"{meta_file}: 'extends' must be a set name")
        parent_dir = (set_dir.parent / parent).resolve()
        if not parent_dir.is_dir():
            raise NotFoundError(f"{meta_file}: extends unknown set {parent!r}")
        base = _load_dir(parent_dir, depth=depth + 1)
        params.update(base.params)
        lineage.extend(base.lineage)
    for file in sorted(set_dir.glob("*.toml")):
        if file.name == _SET_FILE:
            continue
        origin = f"{set_dir.name}/{file.name}"
        for path, raw in _walk(_read_toml(file), file.stem):
            if not isinstance(raw, Mapping):
                raise ValidationError(f"{origin}: {path} must be a table {{value, unit, source, year}}")
            params[path] = _leaf(raw, path, origin)
    lineage.append(set_dir.name)
    return ParameterSet(
        name=set_dir.name,
        params=MappingProxyType(params),
        description=str(meta.get("description", "")),
        lineage=tuple(lineage),
    )


def _apply_override_file(params: dict[str, Param], path: Path) -> None:
    if not path.is_file():
        raise NotFoundError(f"override file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        data = _read_toml(path)
    elif suffix in (".yaml", ".yml"):
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValidationError(f"override file {path} is not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, Mapping):
            raise ValidationError(f"override file {path} must hold a mapping at the top level")
        data = dict(loaded)
    else:
        raise ValidationError(f"override file {path} must be .toml, .yaml or .yml")
    params.update(parse_override_mapping(data, origin=str(path), base=params))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path} is not valid TOML: {exc}") from exc


def _walk(data: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    """Yield (dotted path, leaf) where a leaf is a number or a table holding 'value'."""
    for key, item in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping) and "value" not in item:
            yield from _walk(item, path)
        else:
            yield path, item


def _leaf(raw: Mapping[str, Any], path: str, origin: str) -> Param:
    unknown = set(raw) - _LEAF_KEYS
    if unknown:
        raise ValidationError(f"{origin}: {path} has unknown keys {sorted(unknown)}")
    for key in ("unit", "source"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ValidationError(f"{origin}: {path} needs a non-empty '{key}'")
    year = raw.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        raise ValidationError(f"{origin}: {path} 'year' must be an integer")
    low = None if raw.get("low") is None else _number(raw["low"], f"{path}.low")
    high = None if raw.get("high") is None else _number(raw["high"], f"{path}.high")
    value = _number(raw.get("value"), path)
    if low is not None and high is not None and low > high:
        raise ValidationError(f"{origin}: {path} has low {low} above high {high}")
    note = raw.get("note")
    return Param(
        value=value,
        unit=str(raw["unit"]),
        source=str(raw["source"]),
        year=year,
        low=low,
        high=high,
        note=None if note is None else str(note),
    )


def _number(raw: Any, path: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValidationError(f"parameter {path}: value must be a number, got {raw!r}")
    return float(raw)
