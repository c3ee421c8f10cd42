"""Reuse / remanufacture / repurpose / recycle triage of tested batteries, vectorised over NumPy arrays.

Each battery (pack, module or cell) carries its measurements (:data:`MEASUREMENTS`); a grading profile
(:class:`TriageProfile`, cited data in ``data/triage.toml``) gives per chemistry family the limits. Decision,
checked in this order, the first route whose every check passes wins:

* safety gates (visual damage, insulation, self-discharge, negative events): any failure -> recycle (grade D);
* reuse in the same application (grade A): history, SOH, DCIR rise, capacity and voltage spread within the
  reuse limits;
* remanufacture (grade B): a pack at reuse health whose spread exceeds the reuse limits but stays within the
  remanufacture limits (replace the weak modules);
* repurpose, e.g. stationary storage (grade C): chemistry allows it, history, age, SOH, DCIR rise and spread
  within the repurpose limits;
* otherwise recycle (grade D).

Every check is kept as a boolean array, so :meth:`TriageResult.explain` says for one battery, threshold by
threshold, why it got its decision; the batch itself never builds a string per battery.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from batteryloop.domain.chemistry import Chemistry
from batteryloop.domain.errors import ValidationError

ROUTES: tuple[str, ...] = ("reuse", "remanufacture", "repurpose", "recycle")
GRADES: tuple[str, ...] = ("A", "B", "C", "D")
LEVELS: tuple[str, ...] = ("cell", "module", "pack", "system")
MAX_SOH_PCT = 120.0

# Columns of a triage CSV: name -> (unit, required). Spreads are not measured on a single cell.
MEASUREMENTS: dict[str, str] = {
    "soh_pct": "%",
    "dcir_mohm": "mOhm",
    "dcir_bol_mohm": "mOhm",
    "self_discharge_mv_per_day": "mV/day",
    "capacity_spread_pct": "%",
    "voltage_spread_mv": "mV",
    "insulation_ohm_per_v": "ohm/V",
    "negative_events": "events",
}
FLAGS: tuple[str, ...] = ("visual_damage", "history")
OPTIONAL: tuple[str, ...] = ("age_years",)
SPREADS: tuple[str, ...] = ("capacity_spread_pct", "voltage_spread_mv")
COLUMNS: tuple[str, ...] = ("id", "chemistry", "level", *MEASUREMENTS, *FLAGS, *OPTIONAL)

_FAMILY_LIMITS: tuple[str, ...] = (
    "reuse_min_soh_pct",
    "repurpose_min_soh_pct",
    "reuse_max_dcir_increase_pct",
    "repurpose_max_dcir_increase_pct",
    "reuse_max_capacity_spread_pct",
    "repurpose_max_capacity_spread_pct",
    "remanufacture_max_capacity_spread_pct",
    "reuse_max_voltage_spread_mv",
    "repurpose_max_voltage_spread_mv",
    "remanufacture_max_voltage_spread_mv",
)
_SPREAD_CHECKS = (
    ("capacity_spread_pct", "capacity_spread", "%"),
    ("voltage_spread_mv", "voltage_spread", "mV"),
)
_TRUE = frozenset({"1", "true", "yes", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "n", "f"})


@dataclass(frozen=True, slots=True)
class FamilyLimits:
    """The limits of one chemistry family (every number in the unit its name says)."""

    family: str
    limits: Mapping[str, float]
    repurpose_allowed: bool
    remanufacture_levels: frozenset[str]

    def __getitem__(self, name: str) -> float:
        return self.limits[name]


@dataclass(frozen=True, slots=True)
class TriageProfile:
    """A grading profile: chemistry -> family, safety gates and the limits of every family."""

    families: Mapping[str, str]
    safety: Mapping[str, float]
    history_required: bool
    limits: Mapping[str, FamilyLimits]

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> TriageProfile:
        """From ``{dotted.path: value}`` as the parameter set holds it; errors name the missing path."""

        def need(path: str) -> Any:
            if path not in values:
                raise ValidationError(f"triage profile: {path} is missing")
            return values[path]

        families = {str(k): str(v) for k, v in dict(need("families")).items()}
        for chem in families:
            if chem not in Chemistry.__members__.values():
                raise ValidationError(f"triage profile: families names unknown chemistry {chem!r}")
        safety = {
            name: _number(need(f"safety.{name}"), f"safety.{name}")
            for name in (
                "min_insulation_ohm_per_v",
                "max_self_discharge_mv_per_day",
                "max_negative_events",
                "max_age_for_second_life_years",
            )
        }
        limits: dict[str, FamilyLimits] = {}
        for family in sorted(set(families.values())):
            prefix = f"profiles.{family}."
            numbers = {name: _number(need(prefix + name), prefix + name) for name in _FAMILY_LIMITS}
            levels = frozenset(str(v) for v in need(prefix + "remanufacture_levels"))
            unknown = levels - set(LEVELS)
            if unknown:
                raise ValidationError(f"triage profile: {prefix}remanufacture_levels has {sorted(unknown)}")
            limits[family] = FamilyLimits(family, numbers, bool(need(prefix + "repurpose_allowed")), levels)
        return cls(families, safety, bool(need("safety.history_required")), limits)

    def family_of(self, chemistry: str) -> str:
        try:
            return self.families[chemistry]
        except KeyError:
            raise ValidationError(
                f"no grading profile for chemistry {chemistry!r}: profiles cover "
                f"{', '.join(sorted(self.families))}"
            ) from None


def _number(raw: Any, path: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValidationError(f"triage profile: {path} must be a number, got {raw!r}")
    return float(raw)


@dataclass(frozen=True)
class TriageBatch:
    """Columns of a batch: ``ids``, ``chemistry`` and ``level`` as string arrays, measurements as floats
    (NaN where a spread is not measured on a cell, or the optional age is not given), flags as booleans."""

    ids: NDArray[np.str_]
    chemistry: NDArray[np.str_]
    level: NDArray[np.str_]
    values: Mapping[str, NDArray[np.float64]]
    visual_damage: NDArray[np.bool_]
    history: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def from_columns(cls, columns: Mapping[str, Sequence[Any] | NDArray[Any]]) -> TriageBatch:
        """Check and convert columns (lists or arrays); errors name the column and the first bad row."""
        for name in ("id", "chemistry", "level", *MEASUREMENTS, *FLAGS):
            if name not in columns:
                raise ValidationError(f"missing column {name!r}: a triage needs {', '.join(COLUMNS[:-1])}")
        ids = np.asarray(columns["id"], dtype=str)
        n = ids.shape[0]
        if n == 0:
            raise ValidationError("no batteries to triage")
        for name, col in columns.items():
            if name in COLUMNS and len(col) != n:
                raise ValidationError(f"column {name!r} has {len(col)} rows, 'id' has {n}")
        chemistry = np.asarray(columns["chemistry"], dtype=str)
        level = np.char.lower(np.asarray(columns["level"], dtype=str))
        bad = ~np.isin(level, LEVELS)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValidationError(
                f"row {i + 1} ({ids[i]}): unknown level {str(level[i])!r}; use {', '.join(LEVELS)}"
            )
        is_cell = level == "cell"
        values: dict[str, NDArray[np.float64]] = {}
        for name in (*MEASUREMENTS, *OPTIONAL):
            if name not in columns:
                values[name] = np.full(n, np.nan)
                continue
            values[name] = _floats(columns[name], name, ids)
        for name in MEASUREMENTS:
            col = values[name]
            missing = np.isnan(col) & ~(is_cell if name in SPREADS else False)
            if missing.any():
                i = int(np.argmax(missing))
                where = "" if name not in SPREADS else " (spreads may be empty only for cells)"
                raise ValidationError(f"row {i + 1} ({ids[i]}): {name} is missing{where}")
            negative = col < 0
            if negative.any():
                i = int(np.argmax(negative))
                raise ValidationError(f"row {i + 1} ({ids[i]}): {name} is negative ({col[i]:g})")
        for name in ("dcir_mohm", "dcir_bol_mohm"):
            zero = values[name] == 0
            if zero.any():
                i = int(np.argmax(zero))
                raise ValidationError(f"row {i + 1} ({ids[i]}): {name} must be above zero")
        soh = values["soh_pct"]
        out = (soh <= 0) | (soh > MAX_SOH_PCT)
        if out.any():
            i = int(np.argmax(out))
            raise ValidationError(
                f"row {i + 1} ({ids[i]}): soh_pct {soh[i]:g} is outside 0-{MAX_SOH_PCT:g} %"
            )
        age = values["age_years"]
        if (age < 0).any():
            i = int(np.argmax(age < 0))
            raise ValidationError(f"row {i + 1} ({ids[i]}): age_years is negative ({age[i]:g})")
        events = values["negative_events"]
        if (events != np.floor(events)).any():
            i = int(np.argmax(events != np.floor(events)))
            raise ValidationError(f"row {i + 1} ({ids[i]}): negative_events must be a whole number")
        return cls(
            ids=ids,
            chemistry=chemistry,
            level=level,
            values=values,
            visual_damage=_flags(columns["visual_damage"], "visual_damage", ids),
            history=_flags(columns["history"], "history", ids),
        )


def _floats(col: Sequence[Any] | NDArray[Any], name: str, ids: NDArray[np.str_]) -> NDArray[np.float64]:
    arr = np.asarray(col)
    if arr.dtype.kind in "fiu":
        return arr.astype(np.float64)
    out = np.empty(arr.shape[0])
    for i, raw in enumerate(arr.tolist()):
        text = "" if raw is None else str(raw).strip()
        if text == "":
            out[i] = np.nan
            continue
        try:
            out[i] = float(text)
        except ValueError:
            raise ValidationError(f"row {i + 1} ({ids[i]}): {name} {text!r} is not a number") from None
        if not np.isfinite(out[i]):
            raise ValidationError(f"row {i + 1} ({ids[i]}): {name} {text!r} is not a finite number")
    return out


def _flags(col: Sequence[Any] | NDArray[Any], name: str, ids: NDArray[np.str_]) -> NDArray[np.bool_]:
    arr = np.asarray(col)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind in "iu":
        if not np.isin(arr, (0, 1)).all():
            i = int(np.argmax(~np.isin(arr, (0, 1))))
            raise ValidationError(f"row {i + 1} ({ids[i]}): {name} must be true or false")
        return arr.astype(bool)
    out = np.empty(arr.shape[0], dtype=bool)
    for i, raw in enumerate(arr.tolist()):
        text = str(raw).strip().lower()
        if text in _TRUE:
            out[i] = True
        elif text in _FALSE:
            out[i] = False
        else:
            what = "is missing" if text in ("", "none", "nan") else f"{raw!r} is not true or false"
            raise ValidationError(f"row {i + 1} ({ids[i]}): {name} {what}")
    return out


def read_csv(text: str) -> TriageBatch:
    """A triage batch from CSV text with a header row (:data:`COLUMNS`; ``age_years`` optional)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValidationError("the CSV is empty: give a header row and one row per battery") from None
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise ValidationError(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    rows = [r for r in reader if any(cell.strip() for cell in r)]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValidationError(f"CSV line {number} has {len(row)} fields, the header has {len(header)}")
    columns = {h: [r[j].strip() for r in rows] for j, h in enumerate(header)}
    return TriageBatch.from_columns(columns)


@dataclass(frozen=True, slots=True)
class Check:
    """One threshold applied to one battery: ``value op limit`` and whether it passed."""

    route: str
    name: str
    value: float | bool | str | None
    op: str
    limit: float | bool | str | None
    unit: str
    passed: bool

    def text(self) -> str:
        verdict = "pass" if self.passed else "FAIL"
        unit = f" {self.unit}" if self.unit else ""
        return f"[{self.route}] {self.name} {_fmt(self.value)} {self.op} {_fmt(self.limit)}{unit}: {verdict}"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if np.isnan(value) else f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class TriageResult:
    """Decisions of a batch: route and grade index per battery, every check as a boolean array."""

    batch: TriageBatch
    profile: TriageProfile
    family: NDArray[np.str_]
    dcir_increase_pct: NDArray[np.float64]
    route_index: NDArray[np.int8]
    checks: Mapping[str, NDArray[np.bool_]] = field(repr=False)
    limits: Mapping[str, NDArray[np.float64]] = field(repr=False)

    def __len__(self) -> int:
        return len(self.batch)

    def routes(self) -> NDArray[np.str_]:
        return np.asarray(ROUTES)[self.route_index]

    def grades(self) -> NDArray[np.str_]:
        return np.asarray(GRADES)[self.route_index]

    def counts(self) -> dict[str, int]:
        """Batteries per route, every route present."""
        counted = np.bincount(self.route_index, minlength=len(ROUTES))
        return {route: int(n) for route, n in zip(ROUTES, counted, strict=True)}

    def counts_by(self, key: NDArray[np.str_]) -> dict[str, dict[str, int]]:
        """Batteries per route within each value of ``key`` (e.g. the family or level array)."""
        out: dict[str, dict[str, int]] = {}
        for value in sorted(set(key.tolist())):
            sel = self.route_index[key == value]
            counted = np.bincount(sel, minlength=len(ROUTES))
            out[str(value)] = {r: int(n) for r, n in zip(ROUTES, counted, strict=True)}
        return out

    def explain(self, i: int) -> list[Check]:
        """Every threshold applied to battery ``i``, in decision order (safety, reuse, remanufacture,
        repurpose)."""
        b, v, lim, ok = self.batch, self.batch.values, self.limits, self.checks
        spread_na = b.level[i] == "cell"
        out = [
            Check(
                "safety", "visual_damage", bool(b.visual_damage[i]), "==", False, "", bool(ok["visual"][i])
            ),
            Check(
                "safety",
                "insulation_ohm_per_v",
                float(v["insulation_ohm_per_v"][i]),
                ">=",
                self.profile.safety["min_insulation_ohm_per_v"],
                "ohm/V",
                bool(ok["insulation"][i]),
            ),
            Check(
                "safety",
                "self_discharge_mv_per_day",
                float(v["self_discharge_mv_per_day"][i]),
                "<=",
                self.profile.safety["max_self_discharge_mv_per_day"],
                "mV/day",
                bool(ok["self_discharge"][i]),
            ),
            Check(
                "safety",
                "negative_events",
                float(v["negative_events"][i]),
                "<=",
                self.profile.safety["max_negative_events"],
                "",
                bool(ok["events"][i]),
            ),
        ]
        if self.profile.history_required:
            out.append(
                Check("second life", "history", bool(b.history[i]), "==", True, "", bool(ok["history"][i]))
            )
        for route in ("reuse", "remanufacture", "repurpose"):
            if route == "remanufacture":
                out.append(
                    Check(
                        route,
                        "level",
                        str(b.level[i]),
                        "in",
                        "/".join(sorted(self.profile.limits[str(self.family[i])].remanufacture_levels)),
                        "",
                        bool(ok["reman_level"][i]),
                    )
                )
            if route == "repurpose":
                out.append(
                    Check(
                        route,
                        "repurpose_allowed",
                        str(self.family[i]),
                        "is",
                        "allowed",
                        "",
                        bool(ok["repurpose_allowed"][i]),
                    )
                )
                out.append(
                    Check(
                        route,
                        "age_years",
                        float(v["age_years"][i]),
                        "<=",
                        self.profile.safety["max_age_for_second_life_years"],
                        "years",
                        bool(ok["age"][i]),
                    )
                )
            soh_route = "reuse" if route == "remanufacture" else route
            out.append(
                Check(
                    route,
                    "soh_pct",
                    float(v["soh_pct"][i]),
                    ">=",
                    float(lim[f"{soh_route}_min_soh_pct"][i]),
                    "%",
                    bool(ok[f"{soh_route}_soh"][i]),
                )
            )
            if route != "remanufacture":
                out.append(
                    Check(
                        route,
                        "dcir_increase_pct",
                        round(float(self.dcir_increase_pct[i]), 6),
                        "<=",
                        float(lim[f"{route}_max_dcir_increase_pct"][i]),
                        "%",
                        bool(ok[f"{route}_dcir"][i]),
                    )
                )
            for spread, stem, unit in _SPREAD_CHECKS:
                out.append(
                    Check(
                        route,
                        spread,
                        "n/a (cell)" if spread_na else float(v[spread][i]),
                        "<=",
                        float(lim[f"{route}_max_{spread}"][i]),
                        unit,
                        bool(ok[f"{route}_{stem}"][i]),
                    )
                )
        return out

    def reason(self, i: int) -> str:
        """One line: the route taken and the thresholds that decided it."""
        route = ROUTES[int(self.route_index[i])]
        checks = self.explain(i)
        failed = [c for c in checks if not c.passed]
        safety_failed = [c for c in failed if c.route == "safety"]
        if safety_failed:
            return "recycle: safety gate failed: " + "; ".join(_short(c) for c in safety_failed)
        order = ("reuse", "remanufacture", "repurpose")
        parts: list[str] = []
        for candidate in order:
            if candidate == route:
                parts.append(f"{candidate}: every {candidate} check passed")
                break
            blocking = [c for c in failed if c.route in (candidate, "second life")]
            parts.append(f"not {candidate}: " + ", ".join(_short(c) for c in blocking))
        if route == "recycle":
            parts.append("recycle")
        return "; ".join(parts)


def _short(check: Check) -> str:
    unit = f" {check.unit}" if check.unit else ""
    negated = {">=": "<", "<=": ">", "==": "!=", "in": "not in", "is": "is not"}[check.op]
    return f"{check.name} {_fmt(check.value)} {negated} {_fmt(check.limit)}{unit}"


def triage(batch: TriageBatch, profile: TriageProfile) -> TriageResult:
    """Decide every battery of ``batch`` under ``profile`` (vectorised: one pass of array operations)."""
    chem_values = np.unique(batch.chemistry)
    family_names = sorted(profile.limits)
    unknown = [str(c) for c in chem_values if str(c) not in profile.families]
    if unknown:
        i = int(np.argmax(np.isin(batch.chemistry, unknown)))
        known = Chemistry.__members__.values()
        what = "is not a chemistry code" if str(batch.chemistry[i]) not in known else "has no grading profile"
        raise ValidationError(
            f"row {i + 1} ({batch.ids[i]}): chemistry {str(batch.chemistry[i])!r} {what}; the profile covers "
            f"{', '.join(sorted(profile.families))}"
        )
    family_of_chem = {str(c): profile.family_of(str(c)) for c in chem_values}
    chem_index = np.searchsorted(chem_values, batch.chemistry)
    fam_idx_of_chem = np.array([family_names.index(family_of_chem[str(c)]) for c in chem_values])
    fam_idx = fam_idx_of_chem[chem_index]
    family = np.asarray(family_names)[fam_idx]

    limits: dict[str, NDArray[np.float64]] = {}
    for name in _FAMILY_LIMITS:
        table = np.array([profile.limits[f][name] for f in family_names])
        limits[name] = table[fam_idx]
    allowed = np.array([profile.limits[f].repurpose_allowed for f in family_names])[fam_idx]
    level_idx = np.searchsorted(np.asarray(sorted(LEVELS)), batch.level)
    sorted_levels = sorted(LEVELS)
    reman_table = np.array(
        [[lv in profile.limits[f].remanufacture_levels for lv in sorted_levels] for f in family_names]
    )
    reman_level = reman_table[fam_idx, level_idx]

    v = batch.values
    soh = v["soh_pct"]
    dcir_increase = np.round(
        (v["dcir_mohm"] / v["dcir_bol_mohm"] - 1.0) * 100.0, 9
    )  # no float noise at a limit
    is_cell = batch.level == "cell"
    cap_spread = np.where(is_cell, 0.0, v["capacity_spread_pct"])
    volt_spread = np.where(is_cell, 0.0, v["voltage_spread_mv"])
    safety = profile.safety

    checks: dict[str, NDArray[np.bool_]] = {
        "visual": ~batch.visual_damage,
        "insulation": v["insulation_ohm_per_v"] >= safety["min_insulation_ohm_per_v"],
        "self_discharge": v["self_discharge_mv_per_day"] <= safety["max_self_discharge_mv_per_day"],
        "events": v["negative_events"] <= safety["max_negative_events"],
        "history": batch.history if profile.history_required else np.ones(len(batch), dtype=bool),
        "age": ~(v["age_years"] > safety["max_age_for_second_life_years"]),
        "repurpose_allowed": allowed,
        "reman_level": reman_level,
        "reuse_soh": soh >= limits["reuse_min_soh_pct"],
        "repurpose_soh": soh >= limits["repurpose_min_soh_pct"],
        "reuse_dcir": dcir_increase <= limits["reuse_max_dcir_increase_pct"],
        "repurpose_dcir": dcir_increase <= limits["repurpose_max_dcir_increase_pct"],
    }
    for route in ("reuse", "remanufacture", "repurpose"):
        checks[f"{route}_capacity_spread"] = cap_spread <= limits[f"{route}_max_capacity_spread_pct"]
        checks[f"{route}_voltage_spread"] = volt_spread <= limits[f"{route}_max_voltage_spread_mv"]

    safe = checks["visual"] & checks["insulation"] & checks["self_discharge"] & checks["events"]
    eligible = safe & checks["history"]
    reuse = (
        eligible
        & checks["reuse_soh"]
        & checks["reuse_dcir"]
        & checks["reuse_capacity_spread"]
        & checks["reuse_voltage_spread"]
    )
    reman = (
        eligible
        & checks["reman_level"]
        & checks["reuse_soh"]
        & checks["remanufacture_capacity_spread"]
        & checks["remanufacture_voltage_spread"]
    )
    repurpose = (
        eligible
        & checks["repurpose_allowed"]
        & checks["age"]
        & checks["repurpose_soh"]
        & checks["repurpose_dcir"]
        & checks["repurpose_capacity_spread"]
        & checks["repurpose_voltage_spread"]
    )
    route_index = np.select([reuse, reman, repurpose], [0, 1, 2], default=3).astype(np.int8)
    return TriageResult(
        batch=batch,
        profile=profile,
        family=family,
        dcir_increase_pct=dcir_increase,
        route_index=route_index,
        checks=checks,
        limits=limits,
    )


def synthetic_batch(
    n: int, *, seed: int = 0, chemistries: Iterable[str] = ("LFP", "NMC622", "NCA")
) -> TriageBatch:
    """``n`` plausible retired batteries (for benchmarks and the demo page), seeded.

    SOH is drawn from a three-parameter Weibull around 70-80 % (the used-cell capacity shape of Zhang et al.,
    RSC Adv. 2022), the other measurements from simple spreads around typical values.
    """
    rng = np.random.default_rng(seed)
    chems = np.asarray(list(chemistries))
    soh = np.clip(100.0 - (12.0 + rng.weibull(2.5, n) * 18.0), 30.0, 100.0)
    bol = rng.uniform(0.5, 2.0, n)
    values = {
        "soh_pct": soh,
        "dcir_bol_mohm": bol,
        "dcir_mohm": bol * (1.0 + (100.0 - soh) / 100.0 * rng.uniform(0.8, 4.0, n)),
        "self_discharge_mv_per_day": rng.gamma(2.0, 0.35, n),
        "capacity_spread_pct": rng.gamma(2.0, 1.6, n),
        "voltage_spread_mv": rng.gamma(2.0, 9.0, n),
        "insulation_ohm_per_v": rng.lognormal(np.log(500.0), 0.6, n),
        "negative_events": (rng.random(n) < 0.03).astype(np.float64),
        "age_years": rng.uniform(4.0, 14.0, n),
    }
    level = rng.choice(np.asarray(["pack", "module", "cell"]), n, p=[0.5, 0.35, 0.15])
    for name in SPREADS:
        values[name] = np.where(level == "cell", np.nan, values[name])
    return TriageBatch(
        ids=np.char.add("B", np.arange(n).astype(str)),
        chemistry=chems[rng.integers(0, chems.shape[0], n)],
        level=level,
        values=values,
        visual_damage=rng.random(n) < 0.02,
        history=rng.random(n) < 0.9,
    )
