"""Side-by-side comparisons: one line in several markets, several routes for one feedstock, and chemistry mixes
(e.g. the LFP share of the intake rising from 30 % to 90 %)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core.decks import PricingBasis
from batteryloop.recycling.core.economics import EconomicsResult, known_regions
from batteryloop.recycling.core.flowsheet import run_flowsheet
from batteryloop.recycling.core.flowsheet_types import Feedstock, FeedstockComponent, FlowsheetResult
from batteryloop.recycling.core.params import ParameterSet
from batteryloop.recycling.core.sanity import checked_economics

RECOVERY_SHOWN = ("Li", "Ni", "Co", "Cu")


@dataclass(frozen=True)
class Comparison:
    """Results that differ in one dimension (``dimension``: region, route or mix), in the order asked."""

    dimension: str
    labels: tuple[str, ...]
    results: tuple[EconomicsResult, ...]
    flowsheets: tuple[FlowsheetResult, ...]
    unverified: tuple[str, ...] = ()  # paths of the unverified values the comparison read
    pricing: PricingBasis | None = None  # price deck and market-terms dates (set by the service)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The pricing basis's warnings, then each row's own (scale, feed, dominance), named by its label."""
        own = () if self.pricing is None else self.pricing.warnings
        rows = (
            f"{label}: {w}" for label, r in zip(self.labels, self.results, strict=True) for w in r.warnings
        )
        return tuple(dict.fromkeys((*own, *rows)))

    def rows(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for label, res in zip(self.labels, self.results, strict=True):
            row: dict[str, Any] = {
                "label": label,
                self.dimension: label,  # for "route" this is then the plain route; "label" keeps route/level
                "region": res.region,
                "market": res.market,
                "route": res.route,
                "product_level": res.product_level,
                "revenue_usd_per_t": res.total_revenue_usd_per_t,
                "cost_usd_per_t": res.total_cost_usd_per_t,
                "margin_usd_per_t": res.margin_usd_per_t,
                "feedstock_usd_per_t": res.cost_usd_per_t["feedstock"],
                "gate_fee_usd_per_t": res.revenue_usd_per_t["gate_fee"],
                "total_capital_usd": res.capital_usd["total_capital_usd"],
                "npv_usd": res.npv_usd,
                "irr": res.irr,
                "payback_yr": res.payback_yr,
                "max_closure_error": res.max_closure_error,
                "warnings": list(res.warnings),
            }
            for element in RECOVERY_SHOWN:
                row[f"recovery_{element}"] = res.element_recovery.get(element)
            out.append(row)
        return out

    def best(self) -> tuple[str, EconomicsResult]:
        """The label and result with the highest NPV."""
        i = max(range(len(self.results)), key=lambda k: self.results[k].npv_usd)
        return self.labels[i], self.results[i]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "rows": self.rows(),
            "pricing": None if self.pricing is None else self.pricing.to_dict(),
            "warnings": list(self.warnings),
        }


def compare_markets(
    flowsheet: FlowsheetResult,
    *,
    feedstock: Feedstock,
    params: ParameterSet,
    regions: Sequence[str] | None = None,
    annual_feed_t: float | None = None,
) -> Comparison:
    """The same line (same flowsheet, same size) built in each region."""
    chosen = list(regions) if regions else known_regions(params)
    results = tuple(
        checked_economics(
            flowsheet, feedstock=feedstock, region=r, params=params, annual_feed_t=annual_feed_t
        )
        for r in chosen
    )
    return Comparison("region", tuple(chosen), results, tuple(flowsheet for _ in chosen))


def compare_routes(
    feedstock: Feedstock,
    *,
    routes: Sequence[str | tuple[str, str | None]],
    region: str,
    params: ParameterSet,
    annual_feed_t: float | None = None,
) -> Comparison:
    """Several routes (``"hydro"`` or ``("hydro", "precursor")``) for one feedstock in one region."""
    if not routes:
        raise ValidationError("compare_routes needs at least one route")
    labels: list[str] = []
    results: list[EconomicsResult] = []
    flowsheets: list[FlowsheetResult] = []
    for item in routes:
        route, level = (item, None) if isinstance(item, str) else item
        flowsheet = run_flowsheet(feedstock, route=route, product_level=level, params=params)
        flowsheets.append(flowsheet)
        results.append(
            checked_economics(
                flowsheet, feedstock=feedstock, region=region, params=params, annual_feed_t=annual_feed_t
            )
        )
        labels.append(f"{flowsheet.route}/{flowsheet.product_level}")
    return Comparison("route", tuple(labels), tuple(results), tuple(flowsheets))


def lfp_share_mixes(
    shares: Sequence[float],
    *,
    other_chemistry: str = "NMC811",
    form: str = "pack",
    annual_mass_t: float = 10_000.0,
) -> list[Feedstock]:
    """Feedstocks with LFP at each share and ``other_chemistry`` making up the rest."""
    mixes: list[Feedstock] = []
    for share in shares:
        if not 0.0 <= share <= 1.0:
            raise ValidationError(f"LFP share must be in 0..1, got {share}")
        components = tuple(
            c
            for c in (
                FeedstockComponent(form, "LFP", share),
                FeedstockComponent(form, other_chemistry, 1.0 - share),
            )
            if c.mass_share > 0.0
        )
        mixes.append(Feedstock(components=components, annual_mass_t=annual_mass_t))
    return mixes


def compare_mixes(
    mixes: Sequence[Feedstock],
    *,
    route: str,
    region: str,
    params: ParameterSet,
    product_level: str | None = None,
    labels: Sequence[str] | None = None,
) -> Comparison:
    """One route and region, several feedstock mixes (labels default to the mix written out)."""
    if not mixes:
        raise ValidationError("compare_mixes needs at least one feedstock")
    if labels is not None and len(labels) != len(mixes):
        raise ValidationError(f"{len(labels)} labels for {len(mixes)} mixes")
    results: list[EconomicsResult] = []
    flowsheets: list[FlowsheetResult] = []
    for mix in mixes:
        flowsheet = run_flowsheet(mix, route=route, product_level=product_level, params=params)
        flowsheets.append(flowsheet)
        results.append(checked_economics(flowsheet, feedstock=mix, region=region, params=params))
    names = tuple(labels) if labels is not None else tuple(_mix_label(m) for m in mixes)
    return Comparison("mix", names, tuple(results), tuple(flowsheets))


def _mix_label(feedstock: Feedstock) -> str:
    return " + ".join(f"{c.mass_share:.0%} {c.chemistry} {c.form}" for c in feedstock.components)
