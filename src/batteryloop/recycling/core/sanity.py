"""Sanity at the edges: what a result must say about itself before anyone reads its numbers.

Three checks, each a plain sentence every face shows beside the figures (``EconomicsResult.warnings``):

- **scale**: the plant is smaller than the minimum economic scale of its route (``checks.min_economic_t_per_yr``);
  the sentence gives the share of the cost that is fixed (capital, labour, overhead) at that size.
- **feed**: the route recovers less than ``checks.thresholds.min_recovered_value_share`` of the feed's contained
  Li, Ni, Co and Mn value (at the model's prices; copper and aluminium any shredder recovers): the route cannot really take this feed.
- **dominance**: setting one unverified value (``quality = "unverified"``) to zero moves the margin by more than
  ``checks.thresholds.unverified_dominance_share`` of the revenue or cost: the result rests on that one value.
  All unverified values are tried in one vectorised evaluation.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from batteryloop.recycling.core.economics import (
    LI_TO_LI2CO3,
    EconomicModel,
    EconomicsResult,
    build_model,
    result_from_model,
)
from batteryloop.recycling.core.flowsheet_types import Feedstock, FlowsheetResult
from batteryloop.recycling.core.params import ParameterSet

_FIXED_COSTS = (
    "cost.labour",
    "cost.supervision_laboratory",
    "cost.maintenance_supplies",
    "cost.overhead_administration",
    "cost.taxes_insurance_rent",
    "cost.depreciation",
    "cost.financing",
)
_STRUCTURAL = (
    "units_per_item",
    "unit_capacity_share",
    "cepci_equipment_year",
    "cepci_cost_year",
    ".b",
    ".adj",
)
_VALUED = ("Li", "Ni", "Co", "Mn")  # the critical metals a battery is recycled for
MAX_DOMINANCE_WARNINGS = 3


def sanity_warnings(
    model: EconomicModel, flowsheet: FlowsheetResult, params: ParameterSet
) -> tuple[str, ...]:
    """The scale, feed and dominance warnings of one plant (empty when it passes all three)."""
    out = model.evaluate()
    return (
        *_scale(model, out, params),
        *_feed(model, flowsheet, params),
        *_dominance(model, out, params),
    )


def checked_economics(
    flowsheet: FlowsheetResult,
    *,
    feedstock: Feedstock,
    region: str,
    params: ParameterSet,
    annual_feed_t: float | None = None,
) -> EconomicsResult:
    """Plant economics of ``flowsheet`` (as :func:`~batteryloop.recycling.core.economics.run_economics`) with the
    sanity warnings added to the result's own, so every row of a comparison says what a single run says."""
    model = build_model(
        flowsheet, feedstock=feedstock, region=region, params=params, annual_feed_t=annual_feed_t
    )
    return with_sanity(result_from_model(model, flowsheet), model, flowsheet, params)


def with_sanity(
    economics: EconomicsResult, model: EconomicModel, flowsheet: FlowsheetResult, params: ParameterSet
) -> EconomicsResult:
    """``economics`` with the sanity warnings (scale, feed, unverified dominance) of its model added."""
    extra = sanity_warnings(model, flowsheet, params)
    return replace(economics, warnings=(*economics.warnings, *extra)) if extra else economics


def _threshold(params: ParameterSet, path: str) -> float:
    """A check's threshold, read without recording it as a value the result rests on (it only decides whether a
    warning is shown; the warning names it)."""
    return float(params.params[path].value)


def _scale(model: EconomicModel, out: dict[str, np.ndarray], params: ParameterSet) -> list[str]:
    path = f"checks.min_economic_t_per_yr.{model.route}"
    if not params.has(path):
        return []
    minimum = _threshold(params, path)
    if model.annual_feed_t >= minimum:
        return []
    total = float(out["total_cost"])
    fixed = sum(float(out[k]) for k in _FIXED_COSTS)
    share = fixed / total if total > 0 else 0.0
    return [
        f"plant of {model.annual_feed_t:,.2f} t/yr is below the minimum economic scale of the {model.route} route "
        f"({minimum:,.0f} t/yr, {path}): fixed costs are {share:.0%} of the cost per tonne and the equipment "
        "curves are extrapolated far below the plants they were fitted on; size the plant for more feed "
        "(--throughput-t) before reading its margin"
    ]


def _feed(model: EconomicModel, flowsheet: FlowsheetResult, params: ParameterSet) -> list[str]:
    threshold = _threshold(params, "checks.thresholds.min_recovered_value_share")

    def reference(key: str) -> float:  # the feed's contained value is priced at the reference prices
        for path in (f"prices.reference.{key}", f"prices.{key}"):
            if path in model.base:
                return float(model.base[path])
            if params.has(path):
                return _threshold(params, path)
        return 0.0

    price = {"Li": reference("Li2CO3") * LI_TO_LI2CO3, **{e: reference(e) for e in _VALUED if e != "Li"}}
    contained = {e: flowsheet.feed_elements_kg.get(e, 0.0) * price[e] for e in _VALUED}
    total = sum(contained.values())
    if total <= 0.0:
        return []
    recovered = sum(v * flowsheet.element_recovery.get(e, 0.0) for e, v in contained.items())
    if recovered / total >= threshold:
        return []
    lost = [
        e
        for e, v in sorted(contained.items(), key=lambda kv: -kv[1])
        if v > 0 and not flowsheet.element_recovery.get(e)
    ]
    return [
        f"the {model.route}/{model.product_level} route recovers only {recovered / total:.0%} of the feed's contained "
        f"Li, Ni, Co, Mn value (threshold {threshold:.0%}, checks.thresholds.min_recovered_value_share)"
        + (f"; not recovered: {', '.join(lost)}" if lost else "")
        + ": this route cannot really take this feed"
    ]


def _dominance(model: EconomicModel, out: dict[str, np.ndarray], params: ParameterSet) -> list[str]:
    threshold = _threshold(params, "checks.thresholds.unverified_dominance_share")
    paths = [
        path
        for path, param in model.sources.items()
        if param.quality == "unverified" and model.base[path] != 0.0 and not path.endswith(_STRUCTURAL)
    ]
    if not paths:
        return []
    scale = max(abs(float(out["total_revenue"])), abs(float(out["total_cost"])))
    if scale <= 0.0:
        return []
    rows = len(paths)
    values = {}
    for i, path in enumerate(paths):
        column = np.full(rows, model.base[path])
        column[i] = 0.0
        values[path] = column
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.broadcast_to(model.evaluate(values)["margin"], (rows,))
    shares = np.abs(margin - float(out["margin"])) / scale
    shares = np.where(np.isfinite(shares), shares, np.inf)
    order = np.argsort(-shares)
    warnings = []
    for i in order[:MAX_DOMINANCE_WARNINGS]:
        if shares[i] <= threshold:
            break
        path = paths[i]
        param = model.sources[path]
        warnings.append(
            f"{shares[i]:.0%} of the revenue or cost rests on {path} = {param.value:g} {param.unit}, an unverified "
            f"value ({param.source}); check it before relying on this result"
        )
    return warnings
