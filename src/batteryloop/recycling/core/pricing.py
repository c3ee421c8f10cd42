"""Quotes for a lot of batteries or black mass.

A quote states, for the lot: the contained metal value (element kg x price), the value a route recovers from it
(product revenue at prices and payables), what the region's market convention would pay for it (feedstock payables
x contained value), and the price the recycler can pay (resource market) or the fee it must charge (subsidy market)
to earn ``target_margin`` (a share of its revenue) after processing cost.

With R = revenue per tonne (products, subsidies, production credits), C = processing cost per tonne (everything but
feedstock) and m = target margin:
  price it can pay    P = (1 - m) R - C            when that is >= 0
  fee it must charge  F = (C - (1 - m) R) / (1 - m)   otherwise (the fee is revenue too, so it carries margin)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core.decks import PricingBasis, pricing_basis
from batteryloop.recycling.core.economics import (
    LI_TO_LI2CO3,
    MARKET_TERMS,
    PAID_ELEMENTS,
    REFERENCE_PREFIX,
    VALUED_ELEMENTS,
    EconomicModel,
    build_model,
    market_of,
)
from batteryloop.recycling.core.flowsheet import ROUTES, run_flowsheet
from batteryloop.recycling.core.flowsheet_types import Feedstock, FlowsheetResult
from batteryloop.recycling.core.params import ParameterSet
from batteryloop.recycling.core.sanity import sanity_warnings


@dataclass(frozen=True)
class AppliedTerms:
    """One market-terms row applied to a share of the lot: payables per contained element and the gate fee."""

    row: str  # market_terms.<region>.<family>.<form class>
    mass_share: float
    payables: dict[str, float]  # element -> share of its contained value paid (Ni, Co, Cu: payable_ni_co; Li)
    gate_fee_usd_per_t: float  # per tonne of this row's feed
    sources: dict[str, str]  # term -> "source (year)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "mass_share": self.mass_share,
            "payables": self.payables,
            "gate_fee_usd_per_t": self.gate_fee_usd_per_t,
            "sources": self.sources,
        }


@dataclass(frozen=True)
class Quote:
    lot_mass_kg: float
    region: str
    market: str
    route: str
    product_level: str
    target_margin: float
    contained_kg: dict[str, float]
    contained_value_usd: dict[str, float]
    recoverable_value_usd: dict[str, float]
    market_payable_value_usd: float  # what the market's payables (share of contained value) would pay
    processing_cost_usd: float
    revenue_usd: float
    price_usd: float  # >= 0: the most the recycler can pay for the lot
    fee_usd: float  # >= 0: the least the recycler must charge for the lot
    element_recovery: dict[str, float]
    market_gate_fee_usd: float = 0.0  # what the market's gate fees would charge the owner (market_terms)
    terms: tuple[AppliedTerms, ...] = ()  # the market-terms rows applied, with payables per element and fees
    reference_prices_usd_per_kg: dict[str, float] = field(default_factory=dict)  # contained value basis
    product_grades: dict[str, str] = field(default_factory=dict)
    pricing: PricingBasis | None = None
    warnings: tuple[str, ...] = ()

    @property
    def market_net_usd(self) -> float:
        """What the market terms settle for the lot: > 0 the recycler pays the owner, < 0 it charges the owner."""
        return self.market_payable_value_usd - self.market_gate_fee_usd

    @property
    def market_settlement(self) -> str:
        net = self.market_net_usd
        return "recycler_pays" if net > 0.0 else "recycler_charges" if net < 0.0 else "nothing_changes_hands"

    @property
    def settlement(self) -> str:
        """At the target margin: 'recycler_pays' (it can pay up to price_usd) or 'recycler_charges' (fee_usd)."""
        return "recycler_charges" if self.fee_usd > 0.0 else "recycler_pays"

    @property
    def contained_value_total_usd(self) -> float:
        return sum(self.contained_value_usd.values())

    @property
    def recoverable_value_total_usd(self) -> float:
        return sum(self.recoverable_value_usd.values())

    @property
    def lot_t(self) -> float:
        return self.lot_mass_kg / 1000.0

    @property
    def price_usd_per_t(self) -> float:
        return self.price_usd / self.lot_t

    @property
    def fee_usd_per_t(self) -> float:
        return self.fee_usd / self.lot_t

    @property
    def price_share_of_contained_value(self) -> float:
        total = self.contained_value_total_usd
        return self.price_usd / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "lot_mass_kg": self.lot_mass_kg,
            "region": self.region,
            "market": self.market,
            "route": self.route,
            "product_level": self.product_level,
            "target_margin": self.target_margin,
            "contained_kg": self.contained_kg,
            "contained_value_usd": self.contained_value_usd,
            "contained_value_total_usd": self.contained_value_total_usd,
            "recoverable_value_usd": self.recoverable_value_usd,
            "recoverable_value_total_usd": self.recoverable_value_total_usd,
            "market_payable_value_usd": self.market_payable_value_usd,
            "market_gate_fee_usd": self.market_gate_fee_usd,
            "processing_cost_usd": self.processing_cost_usd,
            "revenue_usd": self.revenue_usd,
            "price_usd": self.price_usd,
            "price_usd_per_t": self.price_usd_per_t,
            "price_share_of_contained_value": self.price_share_of_contained_value,
            "fee_usd": self.fee_usd,
            "fee_usd_per_t": self.fee_usd_per_t,
            "element_recovery": self.element_recovery,
            "terms": [t.to_dict() for t in self.terms],
            "reference_prices_usd_per_kg": self.reference_prices_usd_per_kg,
            "product_grades": self.product_grades,
            "market_net_usd": self.market_net_usd,
            "market_net_usd_per_t": self.market_net_usd / self.lot_t,
            "market_settlement": self.market_settlement,
            "settlement": self.settlement,
            "pricing": None if self.pricing is None else self.pricing.to_dict(),
            "warnings": list(self.warnings),
        }


def quote(
    flowsheet: FlowsheetResult,
    *,
    feedstock: Feedstock,
    lot_mass_kg: float,
    region: str,
    params: ParameterSet,
    target_margin: float = 0.1,
    annual_feed_t: float | None = None,
) -> Quote:
    """Quote a lot of ``lot_mass_kg`` processed by ``flowsheet`` in a plant of the feedstock's (or given) size."""
    if not lot_mass_kg > 0.0:
        raise ValidationError(f"lot mass must be positive, got {lot_mass_kg} kg")
    if not 0.0 <= target_margin < 1.0:
        raise ValidationError(f"target margin is a share of revenue in [0, 1), got {target_margin}")
    model = build_model(
        flowsheet, feedstock=feedstock, region=region, params=params, annual_feed_t=annual_feed_t
    )
    out = model.evaluate()
    lot_t = lot_mass_kg / 1000.0
    prices = {
        "Li": model.base[f"{REFERENCE_PREFIX}Li2CO3"] * LI_TO_LI2CO3,
        **{e: model.base[f"{REFERENCE_PREFIX}{e}"] for e in VALUED_ELEMENTS if e != "Li"},
    }
    contained_kg = {e: flowsheet.feed_elements_kg.get(e, 0.0) * lot_t for e in VALUED_ELEMENTS}
    contained_value = {e: contained_kg[e] * prices[e] for e in VALUED_ELEMENTS}
    payable = float(out["cost.feedstock_payables"]) * lot_t
    market_fee = float(out["revenue.gate_fee"]) * lot_t
    recoverable = {p.name: float(out[f"revenue.{p.name}"]) * lot_t for p in model.products}
    revenue_per_t = float(out["revenue_products"] + out["revenue.subsidy"] + out["revenue.production_credit"])
    cost_per_t = float(out["cost.processing_total"])
    pay_per_t = (1.0 - target_margin) * revenue_per_t - cost_per_t
    if pay_per_t >= 0.0:
        price, fee = pay_per_t * lot_t, 0.0
    else:
        price, fee = 0.0, -pay_per_t / (1.0 - target_margin) * lot_t
    terms = tuple(_applied(model, t.prefix, t.mass_share) for t in model.feed_terms)
    basis = pricing_basis(
        params,
        terms_paths=[p for p in model.sources if p.startswith("market_terms.")],
        price_paths=[p for p in model.sources if p.startswith("prices.")],
    )
    return Quote(
        lot_mass_kg=float(lot_mass_kg),
        region=region,
        market=market_of(model, out),
        route=flowsheet.route,
        product_level=flowsheet.product_level,
        target_margin=target_margin,
        contained_kg=contained_kg,
        contained_value_usd=contained_value,
        recoverable_value_usd=recoverable,
        market_payable_value_usd=payable,
        processing_cost_usd=cost_per_t * lot_t,
        revenue_usd=revenue_per_t * lot_t,
        price_usd=price,
        fee_usd=fee,
        element_recovery=dict(flowsheet.element_recovery),
        market_gate_fee_usd=market_fee,
        terms=terms,
        reference_prices_usd_per_kg=prices,
        product_grades=dict(flowsheet.product_grades),
        pricing=basis,
        warnings=(*model.warnings, *sanity_warnings(model, flowsheet, params), *basis.warnings),
    )


def _applied(model: EconomicModel, prefix: str, mass_share: float) -> AppliedTerms:
    ni_co = model.base[f"{prefix}.payable_ni_co"]
    payables = dict.fromkeys(PAID_ELEMENTS, ni_co)
    payables["Li"] = model.base[f"{prefix}.payable_li"]
    sources = {}
    for name in MARKET_TERMS:
        param = model.sources[f"{prefix}.{name}"]
        sources[name] = f"{param.source} ({param.year})" if param.year else param.source
    return AppliedTerms(
        row=prefix,
        mass_share=mass_share,
        payables=payables,
        gate_fee_usd_per_t=model.base[f"{prefix}.gate_fee_usd_per_t"],
        sources=sources,
    )


@dataclass(frozen=True)
class RouteQuotes:
    """A lot quoted through every route that can take it; ``skipped`` says why the others cannot."""

    quotes: tuple[Quote, ...]  # best (highest price, then lowest fee) first
    skipped: dict[str, str]
    unverified: tuple[str, ...] = ()  # paths of the unverified values the quotes read

    def to_dict(self) -> dict[str, Any]:
        return {"quotes": [q.to_dict() for q in self.quotes], "skipped": self.skipped}

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w for q in self.quotes for w in q.warnings))


def quote_routes(
    feedstock: Feedstock,
    *,
    lot_mass_kg: float,
    region: str,
    params: ParameterSet,
    target_margin: float = 0.1,
    routes: Sequence[tuple[str, str | None]] | None = None,
) -> RouteQuotes:
    """Recoverable value and price/fee of the lot by route (every route and product level unless ``routes``)."""
    chosen = list(routes) if routes else [(r, level) for r, levels in ROUTES.items() for level in levels]
    quotes: list[Quote] = []
    skipped: dict[str, str] = {}
    for route, level in chosen:
        try:
            flowsheet = run_flowsheet(feedstock, route=route, product_level=level, params=params)
        except ValidationError as exc:  # the route cannot take this feed (e.g. direct recycling of a mix)
            skipped[f"{route}/{level or 'default'}"] = str(exc)
            continue
        quotes.append(
            quote(
                flowsheet,
                feedstock=feedstock,
                lot_mass_kg=lot_mass_kg,
                region=region,
                params=params,
                target_margin=target_margin,
            )
        )
    quotes.sort(key=lambda q: q.price_usd - q.fee_usd, reverse=True)
    return RouteQuotes(tuple(quotes), skipped)
