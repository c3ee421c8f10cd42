"""Parameter sets: immutable maps of dotted path -> :class:`CitedValue`, loaded from TOML with ``extends``.

A set is a TOML file or a directory of TOML files (the file stem is then the first segment of every path; a
``set.toml`` may hold ``extends = "<sibling set>"`` and ``description``; a single file may hold
``extends = "<other file>"`` at its top). Two leaf styles share one walk:

* a table holding ``value`` is one cited value ``{value, unit, source, year, locator, low, high, note,
  quality}``;
* any other value inherits the citation (``source``, ``locator``, ``year``, ``quality``, ``unit``, ``note``)
  of the nearest enclosing table that names a ``source`` (a table's ``[meta]`` counts as the table's own).

Users layer override files or mappings on top (:func:`apply_overrides`). Reading a value inside
:meth:`ParameterSet.track` records it, so a computation can say which unverified values it used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, Self, TypeVar, cast

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.reference.files import read_data_file, read_toml
from batteryloop.reference.registry import CitationRegistry, citations
from batteryloop.reference.values import QUALITIES, CitedValue, Quality

T = TypeVar("T")
_R = TypeVar("_R")

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SET_FILE = "set.toml"
LEAF_KEYS = frozenset({"value", "unit", "source", "year", "note", "low", "high", "locator", "quality"})
_CONTEXT_KEYS = ("source", "locator", "year", "quality", "unit", "note")
_META_KEYS = frozenset({"extends", "description"})
_MAX_EXTENDS_DEPTH = 10

Coerce = Callable[[Any, str], Any]


def any_value(raw: Any, path: str) -> Any:
    """Accept any TOML value."""
    return raw


def number(raw: Any, path: str) -> float:
    """Accept an int or float (not a bool) as a float."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValidationError(f"parameter {path}: value must be a number, got {raw!r}")
    return float(raw)


@dataclass
class Usage:
    """The paths read from parameter sets inside one :meth:`ParameterSet.track` block."""

    params: dict[str, CitedValue[Any]] = field(default_factory=dict)

    def record(self, path: str, param: CitedValue[Any]) -> None:
        self.params[path] = param

    @property
    def paths(self) -> list[str]:
        return sorted(self.params)

    def unverified(self) -> dict[str, CitedValue[Any]]:
        """The values read that carry ``quality = "unverified"``, by path."""
        return {path: p for path, p in sorted(self.params.items()) if p.quality == "unverified"}

    def unverified_paths(self) -> list[str]:
        return list(self.unverified())


_USAGE: ContextVar[tuple[Usage, ...]] = ContextVar("batteryloop_parameter_usage", default=())


def _record(path: str, param: CitedValue[Any]) -> None:
    for usage in _USAGE.get():
        usage.record(path, param)


@contextmanager
def track_usage() -> Iterator[Usage]:
    """Record every value read from any parameter set in this block (nested blocks all record)."""
    usage = Usage()
    token = _USAGE.set((*_USAGE.get(), usage))
    try:
        yield usage
    finally:
        _USAGE.reset(token)


@dataclass(frozen=True)
class ParamDiff(Generic[T]):
    """One path that differs between two sets; ``None`` means the path is absent on that side."""

    path: str
    left: CitedValue[T] | None
    right: CitedValue[T] | None


@dataclass(frozen=True)
class ParameterSet(Generic[T]):
    """An immutable mapping of dotted path -> :class:`CitedValue` with its lineage."""

    name: str
    params: Mapping[str, CitedValue[T]]
    description: str = ""
    lineage: tuple[str, ...] = field(default_factory=tuple)  # base sets first, then override files
    # derived lookups (prefix index, memoised values and the paths they read); never part of equality
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def get(self, path: str) -> CitedValue[T]:
        try:
            param = self.params[path]
        except KeyError:
            raise NotFoundError(_missing_message(self, path)) from None
        _record(path, param)
        return param

    def value(self, path: str) -> T:
        return self.get(path).value

    def value_or(self, path: str, default: T) -> T:
        param = self.params.get(path)
        if param is None:
            return default
        _record(path, param)
        return param.value

    def has(self, path: str) -> bool:
        return path in self.params

    def items(self, prefix: str = "") -> Iterator[tuple[str, CitedValue[T]]]:
        """(path, value) pairs in path order, limited to paths under ``prefix`` when given."""
        for path in self._under(prefix):
            param = self.params[path]
            _record(path, param)
            yield path, param

    def children(self, prefix: str) -> dict[str, CitedValue[T]]:
        """Direct leaves under ``prefix``: {"cam": ..., "graphite": ...} for "composition.cell.NMC811"."""
        head = _prefix(prefix)
        out: dict[str, CitedValue[T]] = {}
        for path in self._under(prefix):
            if "." not in path[len(head) :]:
                out[path[len(head) :]] = param = self.params[path]
                _record(path, param)
        return out

    def groups(self, prefix: str) -> list[str]:
        """Names of the sub-tables directly under ``prefix`` (the chemistries under "composition.cell")."""
        key = f"groups:{prefix}"
        names = self._memo.get(key)
        if names is None:
            head = _prefix(prefix)
            found = {
                path[len(head) :].split(".", 1)[0] for path in self._under(prefix) if "." in path[len(head) :]
            }
            names = self._memo[key] = tuple(sorted(found))
        return list(names)

    def unverified(self, prefix: str = "") -> dict[str, CitedValue[T]]:
        """Every value of the set (under ``prefix``) whose quality is ``unverified``, by path."""
        return {p: self.params[p] for p in self._under(prefix) if self.params[p].quality == "unverified"}

    @contextmanager
    def track(self) -> Iterator[Usage]:
        """``with params.track() as used: result = model(params)``; then ``used.unverified_paths()``."""
        with track_usage() as usage:
            yield usage

    def memo(self, key: str, build: Callable[[], _R]) -> _R:
        """A value derived from this set, built once (the set is immutable).

        ``key`` starts with the namespace the value is derived from ("composition.chemistry"): a copy made by
        :meth:`override` keeps the value unless a path of that namespace changed. The values read to build it
        count as read again each time it is used.
        """
        entry = self._memo.get(key)
        if entry is None:
            with track_usage() as usage:
                built = build()
            entry = (built, tuple(usage.params.items()))
            self._memo[key] = entry
        for path, param in entry[1]:
            _record(path, param)
        return cast(_R, entry[0])

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

    def override(self, path: str, value: T, *, source: str = "user override") -> Self:
        """A copy with one value replaced (unit kept). Unknown paths are an error: use :meth:`with_param`."""
        old = self.params.get(path)
        if old is None:
            raise NotFoundError(_missing_message(self, path))
        new = replace(
            old,
            value=value,
            source=source,
            year=None,
            low=None,
            high=None,
            locator=None,
            quality="assumption",
        )
        return self._with({path: new}, f"override {path}")

    def with_param(self, path: str, param: CitedValue[T]) -> Self:
        """A copy with a full parameter added or replaced."""
        return self._with({path: param}, f"set {path}")

    def diff(self, other: ParameterSet[T]) -> list[ParamDiff[T]]:
        paths = sorted(set(self.params) | set(other.params))
        out: list[ParamDiff[T]] = []
        for path in paths:
            left, right = self.params.get(path), other.params.get(path)
            if left is None or right is None or left.value != right.value or left.unit != right.unit:
                out.append(ParamDiff(path, left, right))
        return out

    def layered(self, changes: Mapping[str, CitedValue[T]], step: str) -> Self:
        """A copy with ``changes`` applied and ``step`` appended to the lineage."""
        return self._with(changes, step)

    def _with(self, changes: Mapping[str, CitedValue[T]], step: str) -> Self:
        merged = dict(self.params)
        merged.update(changes)
        copy = type(self)(
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


# --------------------------------------------------------------------------------------------- loading


def load_set(
    location: str | Path,
    *,
    coerce: Coerce = any_value,
    overrides: Sequence[Path | str | Mapping[str, Any]] = (),
    registry: CitationRegistry | None = None,
    require_unit: bool = False,
) -> ParameterSet[Any]:
    """Load a set (a TOML file or a directory of them), following ``extends``, then apply ``overrides``.

    With ``require_unit`` every leaf table must name its unit; otherwise a missing unit is ``"-"``.
    """
    base = _load(Path(location).resolve(), coerce, registry or citations(), require_unit, depth=0)
    return apply_overrides(base, overrides, coerce=coerce) if overrides else base


def apply_overrides(
    base: ParameterSet[T],
    overrides: Sequence[Path | str | Mapping[str, Any]],
    *,
    coerce: Coerce = any_value,
    allow_new: bool = True,
    bare_source: Callable[[str, CitedValue[Any]], str] | None = None,
    keep_year: bool = False,
) -> ParameterSet[T]:
    """Layer override files (TOML/YAML) or mappings on ``base`` in order.

    An override leaf is a full table ``{value, unit, source, ...}`` or a bare value, which keeps the unit of
    the value it replaces and cites the override (``bare_source(origin, old)``, default: the origin) with
    ``quality = "assumption"``; a full table cites what it names.
    """
    result = base
    for item in overrides:
        if isinstance(item, Mapping):
            data, origin = item, "override mapping"
        else:
            data, origin = read_data_file(item), str(item)
        changes = parse_override_mapping(
            data,
            origin=origin,
            base=result.params,
            coerce=coerce,
            allow_new=allow_new,
            bare_source=bare_source,
            keep_year=keep_year,
        )
        result = result.layered(cast(Mapping[str, CitedValue[T]], changes), origin)
    return result


def parse_override_mapping(
    data: Mapping[str, Any],
    *,
    origin: str,
    base: Mapping[str, CitedValue[Any]],
    coerce: Coerce = any_value,
    allow_new: bool = True,
    bare_source: Callable[[str, CitedValue[Any]], str] | None = None,
    keep_year: bool = False,
) -> dict[str, CitedValue[Any]]:
    """Turn an override document (nested mapping) into values layered on ``base``."""
    out: dict[str, CitedValue[Any]] = {}
    for path, raw in _walk_overrides(data, "", base):
        old = base.get(path) or out.get(path)
        if old is None and not allow_new:
            raise ValidationError(f"{origin}: unknown key {path!r}")
        if isinstance(raw, Mapping) and "value" in raw:
            defaults: dict[str, Any] = {}
            if old is not None:
                defaults.update(unit=old.unit, year=old.year)
                if "source" not in raw:
                    defaults["source"] = bare_source(origin, old) if bare_source else origin
            out[path] = parse_leaf({**defaults, **raw}, path, origin, coerce)
        else:
            if old is None:
                raise ValidationError(
                    f"{origin}: {path} is not in the parameter set; a new parameter needs a full table "
                    "{value, unit, source, year}"
                )
            source = bare_source(origin, old) if bare_source else origin
            value = coerce(raw, path)
            year = old.year if keep_year else None
            out[path] = CitedValue(value=value, unit=old.unit, source=source, year=year, quality="assumption")
    return out


def parse_leaf(raw: Mapping[str, Any], path: str, origin: str, coerce: Coerce = any_value) -> CitedValue[Any]:
    """One ``{value, unit, source, ...}`` table as a cited value; errors name ``origin`` and ``path``."""
    unknown = set(raw) - LEAF_KEYS
    if unknown:
        raise ValidationError(f"{origin}: {path} has unknown keys {sorted(unknown)}")
    for key in ("unit", "source"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ValidationError(f"{origin}: {path} needs a non-empty '{key}'")
    year = raw.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        raise ValidationError(f"{origin}: {path} 'year' must be an integer")
    quality = raw.get("quality", "verified")
    if quality not in QUALITIES:
        raise ValidationError(
            f"{origin}: {path} 'quality' must be one of {', '.join(QUALITIES)}, got {quality!r}"
        )
    try:
        low = None if raw.get("low") is None else number(raw["low"], f"{path}.low")
        high = None if raw.get("high") is None else number(raw["high"], f"{path}.high")
        value = coerce(raw.get("value"), path)
    except ValidationError as exc:
        raise ValidationError(f"{origin}: {exc}") from None
    if low is not None and high is not None and low > high:
        raise ValidationError(f"{origin}: {path} has low {low} above high {high}")
    note, locator = raw.get("note"), raw.get("locator")
    return CitedValue(
        value=value,
        unit=str(raw["unit"]),
        source=str(raw["source"]),
        year=year,
        low=low,
        high=high,
        note=None if note is None else str(note),
        locator=None if locator is None else str(locator),
        quality=cast(Quality, quality),
    )


def parse_document(
    data: Mapping[str, Any],
    *,
    origin: str,
    prefix: str = "",
    coerce: Coerce = any_value,
    registry: CitationRegistry | None = None,
    strict: bool = False,
    require_unit: bool = False,
) -> dict[str, CitedValue[Any]]:
    """Every value of a data file as a cited value (see the module docstring for the two leaf styles).

    With a ``registry``, a value without an explicit quality takes the default quality of its source
    (``assumption`` for batteryloop's own assumptions); with ``strict`` every source must be a registry key
    (the packaged data; users' files may cite free text).
    """
    out: dict[str, CitedValue[Any]] = {}
    _walk_document(data, prefix, {}, out, origin, coerce, require_unit)
    if registry is not None:
        return {
            path: _with_registry_quality(p, path, origin, registry, strict=strict) for path, p in out.items()
        }
    return out


# --------------------------------------------------------------------------------------------- internals


def is_packaged(path: Path) -> bool:
    """Whether ``path`` is a data file shipped in the package (whose sources must all be registry keys)."""
    return path.resolve().is_relative_to(PACKAGE_ROOT)


def _prefix(prefix: str) -> str:
    return f"{prefix.rstrip('.')}." if prefix else ""


def _missing_message(pset: ParameterSet[Any], path: str) -> str:
    parent = path.rsplit(".", 1)[0] if "." in path else ""
    head = _prefix(parent)
    near = (
        sorted({p[len(head) :] for p in pset._under(parent) if "." not in p[len(head) :]}) if parent else []
    )
    hint = f"; known under {parent}: {', '.join(near[:20])}" if near else ""
    return f"parameter {path!r} is not in set {pset.name!r}{hint}"


def _load(
    location: Path, coerce: Coerce, registry: CitationRegistry, require_unit: bool, *, depth: int
) -> ParameterSet[Any]:
    if depth > _MAX_EXTENDS_DEPTH:
        raise ValidationError(f"parameter set {location.name}: 'extends' chain is too deep (a cycle?)")
    if location.is_dir():
        meta_file = location / SET_FILE
        meta = read_toml(meta_file) if meta_file.exists() else {}
        files = [(f, f.stem) for f in sorted(location.glob("*.toml")) if f.name != SET_FILE]
        name, origin_dir = location.name, location.parent
    elif location.is_file():
        meta = {k: v for k, v in read_toml(location).items() if k in _META_KEYS}
        files = [(location, "")]
        name, origin_dir, meta_file = location.stem, location.parent, location
    else:
        raise NotFoundError(f"parameter set {location} does not exist")
    params: dict[str, CitedValue[Any]] = {}
    lineage: list[str] = []
    parent = meta.get("extends")
    if parent is not None:
        if not isinstance(parent, str):
            raise ValidationError(f"{meta_file}: 'extends' must be a set name")
        parent_loc = (origin_dir / parent).resolve()
        if not parent_loc.exists():
            raise NotFoundError(f"{meta_file}: extends unknown set {parent!r}")
        base = _load(parent_loc, coerce, registry, require_unit, depth=depth + 1)
        params.update(base.params)
        lineage.extend(base.lineage)
    for file, stem in files:
        origin = f"{file.parent.name}/{file.name}"
        data = {k: v for k, v in read_toml(file).items() if not (stem == "" and k in _META_KEYS)}
        params.update(
            parse_document(
                data,
                origin=origin,
                prefix=stem,
                coerce=coerce,
                registry=registry,
                strict=is_packaged(file),
                require_unit=require_unit,
            )
        )
    lineage.append(name)
    return ParameterSet(
        name=name,
        params=MappingProxyType(params),
        description=str(meta.get("description", "")),
        lineage=tuple(lineage),
    )


def _with_registry_quality(
    param: CitedValue[Any], path: str, origin: str, registry: CitationRegistry, *, strict: bool
) -> CitedValue[Any]:
    if param.source not in registry:
        if strict:
            raise ValidationError(f"{origin}: {path} cites unknown source key {param.source!r}")
        return param
    default = registry.get(param.source).quality
    if default != "verified" and param.quality == "verified":
        return replace(param, quality=default)
    return param


def _walk_document(
    data: Mapping[str, Any],
    prefix: str,
    context: Mapping[str, Any],
    out: dict[str, CitedValue[Any]],
    origin: str,
    coerce: Coerce,
    require_unit: bool,
) -> None:
    here = dict(context)
    own = {k: data[k] for k in _CONTEXT_KEYS if k in data and not isinstance(data[k], Mapping)}
    citing = set(own)
    meta = data.get("meta")
    if isinstance(meta, Mapping):
        own = {**{k: meta[k] for k in _CONTEXT_KEYS if k in meta}, **own}
    if "source" in own:
        here = {k: v for k, v in context.items() if k not in ("locator", "note", "quality")}
    here.update(own)
    for key, item in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key in citing or (key == "meta" and isinstance(item, Mapping)):
            continue
        if isinstance(item, Mapping):
            if "value" in item:
                leaf = _inherit(item, here, default_unit=None if require_unit else "-")
                out[path] = parse_leaf(leaf, path, origin, coerce)
            else:
                _walk_document(item, path, here, out, origin, coerce, require_unit)
        elif isinstance(item, list | tuple) and item and all(isinstance(v, Mapping) for v in item):
            for index, row in enumerate(item):
                _walk_document(row, f"{path}.{index}", here, out, origin, coerce, require_unit)
        else:
            if "source" not in here:
                raise ValidationError(
                    f"{origin}: {path} has no source (no 'source' on it or any table above it)"
                )
            out[path] = parse_leaf(_inherit({"value": item}, here, default_unit="-"), path, origin, coerce)


def _inherit(
    leaf: Mapping[str, Any], context: Mapping[str, Any], *, default_unit: str | None
) -> dict[str, Any]:
    merged = {k: v for k, v in context.items() if k in ("source", "year", "locator", "quality", "unit")}
    if "source" in leaf:
        merged = {k: v for k, v in merged.items() if k not in ("locator", "quality")}
    merged.update(leaf)
    if not merged.get("unit") and default_unit is not None:
        merged["unit"] = default_unit
    return merged


def _walk_overrides(
    data: Mapping[str, Any], prefix: str, base: Mapping[str, CitedValue[Any]]
) -> Iterator[tuple[str, Any]]:
    """Yield (dotted path, leaf) where a leaf is a bare value, a table holding 'value', or a known path."""
    for key, item in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping) and "value" not in item and path not in base:
            yield from _walk_overrides(item, path, base)
        else:
            yield path, item
