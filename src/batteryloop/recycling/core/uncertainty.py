"""Uncertainty: vectorised Monte Carlo over prices and key parameters, and one-at-a-time sensitivity (tornado).

Ranges come from the parameter set: a parameter with ``low``/``high`` (a cited price history or a stated assumption)
is drawn from a triangular distribution (low, value, high). Parameters without a range may be included at
+- ``finance.uncertainty.default_relative_spread``.

With a :class:`~batteryloop.recycling.core.market.MarketStructure` (the service always passes one) the draws respect
the market: metal prices and payables are drawn through a Gaussian copula with the set's correlation matrix
(``correlation.toml``), each keeping its triangular marginal, and feedstock terms that cannot coexist (a payable on
the lot and a gate fee for it) are drawn as regimes (``regimes.toml``). Without one, every draw is independent.

Everything is evaluated in one NumPy pass through :meth:`EconomicModel.evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core.economics import EconomicModel
from batteryloop.recycling.core.market import MarketStructure, draw_market

FloatArray = NDArray[np.float64]

# Structural parameters: conventions of the cost method, not uncertain quantities.
_STRUCTURAL_SUFFIXES = (
    "units_per_item",
    "unit_capacity_share",
    "cepci_equipment_year",
    "cepci_cost_year",
    ".b",
    ".adj",
)


@dataclass(frozen=True, slots=True)
class ParameterRange:
    path: str
    low: float
    base: float
    high: float
    unit: str
    cited: bool  # True when low/high come from the parameter set, False when from the default spread


def parameter_ranges(model: EconomicModel, *, include_uncited: bool = True) -> list[ParameterRange]:
    """Ranges of every uncertain parameter the model reads, cited ones first."""
    cited: list[ParameterRange] = []
    uncited: list[ParameterRange] = []
    spread = model.default_relative_spread
    for path in sorted(model.base):
        if path.endswith(_STRUCTURAL_SUFFIXES):
            continue
        param = model.sources[path]
        base = model.base[path]
        if param.low is not None and param.high is not None:
            if param.high > param.low:
                cited.append(ParameterRange(path, param.low, base, param.high, param.unit, True))
        elif include_uncited and base != 0.0 and spread > 0.0:
            low, high = sorted((base * (1.0 - spread), base * (1.0 + spread)))
            uncited.append(ParameterRange(path, low, base, high, param.unit, False))
    return cited + uncited


BANDS = (10.0, 50.0, 90.0)  # P10 / P50 / P90


@dataclass(frozen=True)
class MonteCarloResult:
    draws: int
    seed: int | None
    margin_usd_per_t: FloatArray
    npv_usd: FloatArray
    varied: tuple[ParameterRange, ...]
    correlated: bool = False  # drawn through the set's correlation matrix and regimes
    factors: tuple[str, ...] = ()  # the correlated market factors that were drawn
    regime_shares: dict[str, float] = field(
        default_factory=dict
    )  # market-terms row -> share of gate-fee draws
    samples: dict[str, FloatArray] = field(default_factory=dict)  # drawn values of the market parameters

    @property
    def probability_of_loss(self) -> float:
        """Share of draws with a negative margin per tonne (EverBatt cost view)."""
        return float(np.mean(self.margin_usd_per_t < 0.0))

    @property
    def probability_npv_negative(self) -> float:
        return float(np.mean(self.npv_usd < 0.0))

    def percentiles(self, qs: Sequence[float] = BANDS) -> dict[str, float]:
        values = np.percentile(self.margin_usd_per_t, list(qs))
        return {f"p{q:g}": float(v) for q, v in zip(qs, values, strict=True)}

    def npv_percentiles(self, qs: Sequence[float] = BANDS) -> dict[str, float]:
        values = np.percentile(self.npv_usd, list(qs))
        return {f"p{q:g}": float(v) for q, v in zip(qs, values, strict=True)}

    def summary(self) -> dict[str, object]:
        return {
            "draws": self.draws,
            "seed": self.seed,
            "correlated": self.correlated,
            "correlated_factors": list(self.factors),
            "margin_usd_per_t_mean": float(np.mean(self.margin_usd_per_t)),
            "margin_usd_per_t_std": float(np.std(self.margin_usd_per_t)),
            "margin_usd_per_t_percentiles": self.percentiles(),
            "probability_of_loss": self.probability_of_loss,
            "npv_usd_mean": float(np.mean(self.npv_usd)),
            "npv_usd_percentiles": self.npv_percentiles(),
            "probability_npv_negative": self.probability_npv_negative,
            "gate_fee_regime_shares": dict(self.regime_shares),
            "varied_parameters": [r.path for r in self.varied],
        }


def monte_carlo(
    model: EconomicModel,
    *,
    draws: int = 10_000,
    seed: int | None = None,
    include_uncited: bool = False,
    paths: Sequence[str] | None = None,
    market: MarketStructure | None = None,
) -> MonteCarloResult:
    """Draw every ranged parameter (triangular low/value/high) ``draws`` times and evaluate in one pass.

    By default only parameters with a range in the parameter set are drawn (prices, regional costs, key factors);
    ``include_uncited`` adds the rest at +- the default spread; ``paths`` restricts the draw to the given paths.
    ``market`` correlates the market factors and draws feedstock terms as regimes (see the module docstring).
    """
    if draws < 1:
        raise ValidationError(f"Monte Carlo needs at least one draw, got {draws}")
    ranges = _select(model, paths, include_uncited)
    rng = np.random.default_rng(seed)
    drawn = draw_market(
        model,
        [(r.path, r.low, min(max(r.base, r.low), r.high), r.high) for r in ranges],
        draws=draws,
        rng=rng,
        market=market,
    )
    out = model.evaluate(drawn.values)
    margin = np.broadcast_to(out["margin"], (draws,)).astype(np.float64)
    npv = np.broadcast_to(out["npv_usd"], (draws,)).astype(np.float64)
    return MonteCarloResult(
        draws,
        seed,
        margin,
        npv,
        tuple(ranges),
        correlated=market is not None,
        factors=drawn.factors,
        regime_shares=drawn.regime_shares,
        samples=drawn.samples,
    )


@dataclass(frozen=True, slots=True)
class SensitivityBar:
    path: str
    unit: str
    low: float
    base: float
    high: float
    margin_at_low: float  # USD per tonne of feed
    margin_at_high: float
    cited: bool

    @property
    def swing(self) -> float:
        return abs(self.margin_at_high - self.margin_at_low)


@dataclass(frozen=True)
class SensitivityResult:
    base_margin_usd_per_t: float
    bars: tuple[SensitivityBar, ...]  # sorted by swing, largest first

    def top(self, n: int = 10) -> tuple[SensitivityBar, ...]:
        return self.bars[:n]


def sensitivity(
    model: EconomicModel,
    *,
    paths: Sequence[str] | None = None,
    include_uncited: bool = True,
    max_params: int | None = None,
) -> SensitivityResult:
    """One-at-a-time sensitivity of the margin per tonne: each parameter at its low and its high, others at base.

    All 2k cases are evaluated in one vectorised pass. Bars are sorted by swing; ``max_params`` keeps the largest.
    """
    ranges = _select(model, paths, include_uncited)
    base_margin = float(model.evaluate()["margin"])
    if not ranges:
        return SensitivityResult(base_margin, ())
    rows = 2 * len(ranges)
    values: dict[str, FloatArray] = {}
    for i, item in enumerate(ranges):
        column = np.full(rows, item.base)
        column[2 * i] = item.low
        column[2 * i + 1] = item.high
        values[item.path] = column
    margin = np.broadcast_to(model.evaluate(values)["margin"], (rows,))
    bars = [
        SensitivityBar(
            item.path,
            item.unit,
            item.low,
            item.base,
            item.high,
            float(margin[2 * i]),
            float(margin[2 * i + 1]),
            item.cited,
        )
        for i, item in enumerate(ranges)
    ]
    bars.sort(key=lambda bar: bar.swing, reverse=True)
    if max_params is not None:
        bars = bars[:max_params]
    return SensitivityResult(base_margin, tuple(bars))


def _select(model: EconomicModel, paths: Sequence[str] | None, include_uncited: bool) -> list[ParameterRange]:
    if paths is None:
        return parameter_ranges(model, include_uncited=include_uncited)
    known = {r.path: r for r in parameter_ranges(model, include_uncited=True)}
    missing = [p for p in paths if p not in known]
    if missing:
        raise ValidationError(
            f"no uncertainty range for {', '.join(missing)} (not used by this model, structural, or zero with no range)"
        )
    return [known[p] for p in paths]
