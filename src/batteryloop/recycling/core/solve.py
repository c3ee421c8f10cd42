"""Break-even and targets: the value of one lever at which a plant reaches zero margin, zero NPV or a target IRR.

A *lever* is one quantity a negotiator or a policy can move (:data:`LEVERS`): the gate fee on every feed row, the
subsidy per tonne, the capital grant, the payable the recycler pays for its feed (Ni/Co or Li), the payable it is
paid for black mass, a metal price (every price of that metal's factor moves in proportion, so lithium moves
Li2CO3, crude Li2CO3 and LiOH together) or the plant's throughput. A *target* is the margin per tonne (EverBatt
cost view), the NPV, or the IRR: an IRR of r is reached where the NPV at discount rate r is zero.

The method: the metric is evaluated on a grid over the bounds in one vectorised pass (throughput: a geometric grid,
one model per point, since the plant is resized), which brackets every sign change and tells whether the metric
is monotonic in the lever; :func:`scipy.optimize.brentq` then finds the root inside the bracket nearest the
lever's current value. No sign change in the bounds, a lever that does not move the metric, or bad bounds are a
``ValidationError`` that says what the metric does over the range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, cast

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core import finance
from batteryloop.recycling.core.economics import EconomicModel
from batteryloop.recycling.core.market import FACTOR_PRICES
from batteryloop.recycling.core.params import ParameterSet

FloatArray = NDArray[np.float64]
Target = Literal["margin", "npv", "irr"]
TARGETS: tuple[Target, ...] = ("margin", "npv", "irr")
TARGET_UNITS = {"margin": "USD/t feed", "npv": "USD", "irr": "1/yr"}
PRICE_LEVERS = tuple(f"price:{element}" for element in FACTOR_PRICES)
LEVERS = (
    "gate_fee",
    "subsidy",
    "capex_grant",
    "payable_ni_co",
    "payable_li",
    "sale_payable_ni_co",
    "sale_payable_li",
    *PRICE_LEVERS,
    "throughput",
)
# the checks.solve.<name>_low/_high bounds each lever reads (price bounds are factors of the base price)
_BOUNDS = {
    "gate_fee": "gate_fee",
    "subsidy": "subsidy",
    "capex_grant": "capex_grant",
    "payable_ni_co": "payable",
    "payable_li": "payable",
    "sale_payable_ni_co": "payable",
    "sale_payable_li": "payable",
    "throughput": "throughput",
}
XTOL_RELATIVE = 1e-10  # brentq tolerance relative to the bracket width (numerical, not a model default)
MAX_IRR_TARGET = 10.0  # 1,000 % a year: beyond it the annuity factor underflows (numerical bound)


@dataclass(frozen=True, slots=True)
class SolveResult:
    lever: str
    unit: str
    target: Target
    target_value: float  # the margin (USD/t), NPV (USD) or IRR (1/yr) to reach
    value: float  # the lever's value that reaches it
    base_value: float  # the lever's value in the scenario
    achieved: float  # the metric at ``value`` (IRR: the IRR of the cash flows there)
    base_metric: float  # the metric in the scenario (IRR: None -> NaN when the flows have none)
    low: float
    high: float
    bracket: tuple[float, float]
    iterations: int
    function_calls: int
    monotonic: bool
    crossings: int
    paths: tuple[str, ...]  # the parameters the lever sets
    notes: tuple[str, ...] = ()

    @property
    def change(self) -> float:
        return self.value - self.base_value

    def to_dict(self) -> dict[str, object]:
        return {
            "lever": self.lever,
            "unit": self.unit,
            "target": self.target,
            "target_value": self.target_value,
            "target_unit": TARGET_UNITS[self.target],
            "value": self.value,
            "base_value": self.base_value,
            "change": self.change,
            "achieved": self.achieved,
            "base_metric": None if not np.isfinite(self.base_metric) else self.base_metric,
            "bounds": [self.low, self.high],
            "bracket": list(self.bracket),
            "iterations": self.iterations,
            "function_calls": self.function_calls,
            "monotonic": self.monotonic,
            "crossings": self.crossings,
            "paths": list(self.paths),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class _Lever:
    name: str
    unit: str
    paths: tuple[str, ...]
    base: float
    apply: Callable[[FloatArray], dict[str, FloatArray]]


def solve(
    model: EconomicModel,
    *,
    params: ParameterSet,
    lever: str,
    target: str = "margin",
    target_value: float | None = None,
    low: float | None = None,
    high: float | None = None,
) -> SolveResult:
    """The value of ``lever`` in [low, high] at which ``target`` reaches ``target_value`` (default 0; IRR: required)."""
    if target not in TARGETS:
        raise ValidationError(f"unknown target {target!r}; targets are {', '.join(TARGETS)}")
    goal = _goal(target, target_value)
    spec = _lever(model, lever)
    lo, hi = _bounds(model, params, spec, low, high)
    n = int(params.value("checks.solve.grid_points"))

    def metric(x: FloatArray) -> FloatArray:
        return _metric(model, spec, np.asarray(x, dtype=np.float64), target, goal)

    grid = np.geomspace(lo, hi, n) if lever == "throughput" else np.linspace(lo, hi, n)
    values = metric(grid)
    f = values - (0.0 if target == "irr" else goal)
    finite = np.isfinite(f)
    if not finite.all():
        raise ValidationError(f"the {target} is not finite for {lever} = {grid[~finite][0]:g} {spec.unit}")
    scale = max(1.0, float(np.max(np.abs(values))))
    if float(np.ptp(f)) <= 1e-12 * scale:
        raise ValidationError(
            f"{lever} does not move the {'NPV' if target != 'margin' else 'margin'} (it stays at {float(values[0]):,.6g} "
            f"{_metric_unit(target)} from {lo:g} to {hi:g} {spec.unit})"
        )
    steps = np.diff(f)
    tol = 1e-9 * scale
    monotonic = bool(np.all(steps >= -tol) or np.all(steps <= tol))
    crossing = np.nonzero(np.sign(f[:-1]) * np.sign(f[1:]) <= 0.0)[0]
    if crossing.size == 0:
        raise ValidationError(
            f"no {lever} between {lo:g} and {hi:g} {spec.unit} reaches {_what(target, goal)}: over that range the "
            f"{'NPV at ' + format(goal, '.1%') if target == 'irr' else target} runs from {float(values.min()):,.6g} "
            f"to {float(values.max()):,.6g} {_metric_unit(target)}; widen the bounds or choose another lever"
        )
    nearest = crossing[np.argmin(np.abs(grid[crossing] - spec.base))]
    a, b = float(grid[nearest]), float(grid[nearest + 1])
    notes: list[str] = []
    if not monotonic:
        notes.append(
            f"the {target} is not monotonic in {lever} over [{lo:g}, {hi:g}]; the crossing nearest the current "
            f"value is reported"
        )
    if crossing.size > 1:
        notes.append(
            f"{crossing.size} crossings in the bounds; the one nearest the current value is reported"
        )

    def scalar(x: float) -> float:
        return float(metric(np.asarray([x]))[0]) - (0.0 if target == "irr" else goal)

    if f[nearest] == 0.0:
        root, iterations, calls = a, 0, 0
    elif f[nearest + 1] == 0.0:
        root, iterations, calls = b, 0, 0
    else:
        root, info = brentq(scalar, a, b, xtol=XTOL_RELATIVE * max(abs(b - a), 1e-300), full_output=True)
        iterations, calls = int(info.iterations), int(info.function_calls)
    achieved = _achieved(model, spec, float(root), target, goal)
    base_metric = _achieved(model, spec, spec.base, target, goal)
    return SolveResult(
        lever=lever,
        unit=spec.unit,
        target=target,
        target_value=goal,
        value=float(root),
        base_value=spec.base,
        achieved=achieved,
        base_metric=base_metric,
        low=lo,
        high=hi,
        bracket=(a, b),
        iterations=iterations,
        function_calls=calls + n,
        monotonic=monotonic,
        crossings=int(crossing.size),
        paths=spec.paths,
        notes=tuple(notes),
    )


def _goal(target: str, target_value: float | None) -> float:
    if target == "irr":
        if target_value is None:
            raise ValidationError("a target IRR needs a value, e.g. 0.12 for 12 % a year")
        if not -1.0 < target_value <= MAX_IRR_TARGET:
            raise ValidationError(
                f"target IRR must lie in (-100 %, {MAX_IRR_TARGET:.0%}], got {target_value}"
            )
        return float(target_value)
    value = 0.0 if target_value is None else float(target_value)
    if not np.isfinite(value):
        raise ValidationError(f"target {target} must be a finite number, got {target_value}")
    return value


def _what(target: str, goal: float) -> str:
    if target == "irr":
        return f"an IRR of {goal:.1%}"
    if goal == 0.0:
        return "zero margin" if target == "margin" else "zero NPV"
    return f"a {target} of {goal:,.6g} {_metric_unit(target)}"


def _metric_unit(target: str) -> str:
    return "USD" if target in ("npv", "irr") else "USD/t feed"


def _lever(model: EconomicModel, lever: str) -> _Lever:
    rows = [t.prefix for t in model.feed_terms]

    def setter(paths: tuple[str, ...]) -> Callable[[FloatArray], dict[str, FloatArray]]:
        return lambda x: dict.fromkeys(paths, x)

    def mean_of(paths: tuple[str, ...]) -> float:
        shares = {t.prefix: t.mass_share for t in model.feed_terms}
        weights = [shares.get(p.rsplit(".", 1)[0], 1.0) for p in paths]
        return float(sum(w * model.base[p] for w, p in zip(weights, paths, strict=True)) / sum(weights))

    if lever == "gate_fee":
        paths = tuple(f"{r}.gate_fee_usd_per_t" for r in rows)
        return _Lever(lever, "USD/t feed", paths, mean_of(paths), setter(paths))
    if lever in ("payable_ni_co", "payable_li"):
        paths = tuple(f"{r}.{lever}" for r in rows)
        return _Lever(lever, "share of contained value", paths, mean_of(paths), setter(paths))
    if lever in ("subsidy", "capex_grant", "sale_payable_ni_co", "sale_payable_li"):
        name = {
            "subsidy": "subsidy_usd_per_t",
            "capex_grant": "capex_grant_share",
            "sale_payable_ni_co": "black_mass_payable_ni_co",
            "sale_payable_li": "black_mass_payable_li",
        }[lever]
        unit = {"subsidy": "USD/t feed", "capex_grant": "share of total capital"}.get(
            lever, "share of contained value"
        )
        paths = (model.r(name),)
        return _Lever(lever, unit, paths, model.base[paths[0]], setter(paths))
    if lever in PRICE_LEVERS:
        element = lever.split(":", 1)[1]
        paths = tuple(p for p in FACTOR_PRICES[element] if p in model.base)
        lead = paths[0]
        base = model.base[lead]
        if base <= 0.0:
            raise ValidationError(
                f"{lead} is {base:g}: a price lever needs a positive base price to scale from"
            )
        ratios = {p: model.base[p] / base for p in paths}
        return _Lever(
            lever,
            model.sources[lead].unit,
            paths,
            base,
            lambda x: {p: x * ratio for p, ratio in ratios.items()},
        )
    if lever == "throughput":
        return _Lever(lever, "t/yr", (), model.annual_feed_t, lambda x: {})
    raise ValidationError(f"unknown lever {lever!r}; levers are {', '.join(LEVERS)}")


def _bounds(
    model: EconomicModel, params: ParameterSet, spec: _Lever, low: float | None, high: float | None
) -> tuple[float, float]:
    if spec.name in PRICE_LEVERS:
        default_lo = spec.base * params.value("checks.solve.price_low_factor")
        default_hi = spec.base * params.value("checks.solve.price_high_factor")
    else:
        key = _BOUNDS[spec.name]
        default_lo = params.value(f"checks.solve.{key}_low")
        default_hi = params.value(f"checks.solve.{key}_high")
    lo = float(default_lo if low is None else low)
    hi = float(default_hi if high is None else high)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValidationError(f"bounds of {spec.name} must be finite numbers, got [{lo}, {hi}]")
    if not lo < hi:
        raise ValidationError(f"bounds of {spec.name}: low {lo:g} must be below high {hi:g}")
    if spec.name == "throughput" and lo <= 0.0:
        raise ValidationError(f"bounds of throughput must be positive t/yr, got low {lo:g}")
    if spec.name == "capex_grant" and not (lo >= 0.0 and hi <= 1.0):
        raise ValidationError(f"a capital grant is a share of capital in [0, 1], got [{lo:g}, {hi:g}]")
    if (spec.name in PRICE_LEVERS or "payable" in spec.name) and lo < 0.0:
        raise ValidationError(f"bounds of {spec.name}: a price or payable cannot be negative, got low {lo:g}")
    return lo, hi


def resized(model: EconomicModel, annual_feed_t: float) -> EconomicModel:
    """The same plant sized for ``annual_feed_t`` (equipment capacities scale with the feed rate)."""
    factor = annual_feed_t / model.annual_feed_t
    return replace(
        model,
        annual_feed_t=annual_feed_t,
        equipment=tuple(replace(e, capacity_t_per_h=e.capacity_t_per_h * factor) for e in model.equipment),
    )


def _metric(model: EconomicModel, spec: _Lever, x: FloatArray, target: str, goal: float) -> FloatArray:
    extra = {"finance.discount_rate": goal} if target == "irr" else {}
    key = "margin" if target == "margin" else "npv_usd"
    if spec.name == "throughput":
        # evaluate() is NumPy throughout, so the plant is resized for every grid point in one pass
        out = resized(model, cast(float, x)).evaluate(extra)
    else:
        out = model.evaluate({**spec.apply(x), **extra})
    return np.broadcast_to(np.asarray(out[key], dtype=np.float64), x.shape).copy()


def _achieved(model: EconomicModel, spec: _Lever, x: float, target: str, goal: float) -> float:
    if target != "irr":
        return float(_metric(model, spec, np.asarray([x]), target, goal)[0])
    plant = resized(model, x) if spec.name == "throughput" else model
    out = plant.evaluate(spec.apply(np.asarray(x)) if spec.name != "throughput" else None)
    flows = [-float(out["cash.investment_usd"])] + [
        float(out["cash.annual_cash_flow_usd"])
    ] * plant.plant_life_yr
    flows[-1] += float(out["capex.working_capital_usd"])
    irr = finance.irr(flows)
    return float("nan") if irr is None else float(irr)
