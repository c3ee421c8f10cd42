"""The market's structure for the Monte Carlo: which prices move together, and which feedstock terms exclude each other.

Correlation. Metal prices and payables are grouped into market *factors* (:data:`FACTORS`); every parameter of one
factor is drawn with the same rank (a salt follows its metal, every Li payable moves together), and the factors are
drawn through a Gaussian copula with the correlation matrix of the parameter set (``correlation.<a>.<b>``, pairs
not listed are uncorrelated). Each parameter keeps its own triangular (low, value, high) marginal: only the
dependence changes. The matrix is checked to be symmetric with entries in [-1, 1] and positive definite (its
Cholesky factor is what draws the normal scores), so a matrix that no market could produce is refused.

Regimes. A lot either is bought (payables on its contained Ni/Co and Li) or carries a gate fee, never both. For
every market-terms row of the model that allows both, the regime is drawn first with the set's probability of
the gate-fee regime (``regimes.gate_fee_probability.<family>.<form class>``); the other regime's terms are zero
in that draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.economics import EconomicModel
from batteryloop.recycling.core.params import ParameterSet

FloatArray = NDArray[np.float64]

# Market factors and the price parameters that follow each one (a classification, not a default).
FACTOR_PRICES: dict[str, tuple[str, ...]] = {
    "Li": ("prices.Li2CO3", "prices.Li2CO3_crude", "prices.LiOH", "prices.reference.Li2CO3"),
    "Ni": ("prices.Ni", "prices.NiSO4", "prices.reference.Ni"),
    "Co": ("prices.Co", "prices.CoSO4", "prices.reference.Co"),
    "Mn": ("prices.Mn", "prices.MnSO4", "prices.reference.Mn"),
    "Cu": ("prices.Cu", "prices.Cu_scrap", "prices.reference.Cu"),
    "Al": ("prices.Al", "prices.reference.Al"),
}
FACTORS = (*FACTOR_PRICES, "payable_li", "payable_ni_co")
_PRICE_FACTOR = {path: factor for factor, paths in FACTOR_PRICES.items() for path in paths}
PSD_TOLERANCE = 1e-10  # numerical tolerance of the eigenvalue check, not a model default


def factor_of(path: str) -> str | None:
    """The market factor a parameter follows, or None when it is drawn on its own."""
    if path in _PRICE_FACTOR:
        return _PRICE_FACTOR[path]
    if path.startswith("market_terms.") or path.startswith("regions."):
        if path.endswith("payable_li"):
            return "payable_li"
        if path.endswith("payable_ni_co"):
            return "payable_ni_co"
    if path.startswith("prices.payables."):
        return "payable_ni_co"
    return None


@dataclass(frozen=True)
class Correlation:
    """The correlation matrix of :data:`FACTORS` and the parameter paths it was read from."""

    factors: tuple[str, ...]
    matrix: FloatArray
    paths: tuple[str, ...]

    def sub(self, factors: Sequence[str]) -> FloatArray:
        idx = [self.factors.index(f) for f in factors]
        return self.matrix[np.ix_(idx, idx)]


def load_correlation(params: ParameterSet) -> Correlation:
    """Read ``correlation.<a>.<b>`` into a full matrix over :data:`FACTORS`; refuse anything but a valid one."""
    n = len(FACTORS)
    matrix = np.eye(n)
    paths: list[str] = []
    for a in params.groups("correlation"):
        for b in params.children(f"correlation.{a}"):
            path = f"correlation.{a}.{b}"
            for name in (a, b):
                if name not in FACTORS:
                    raise ValidationError(
                        f"{path}: unknown market factor {name!r}; factors are {', '.join(FACTORS)}"
                    )
            rho = float(params.value(path))
            if a == b:
                raise ValidationError(f"{path}: a factor's correlation with itself is 1 by definition")
            if not -1.0 <= rho <= 1.0:
                raise ValidationError(f"{path} = {rho}: a correlation must lie in [-1, 1]")
            i, j = FACTORS.index(a), FACTORS.index(b)
            if matrix[i, j] != 0.0:
                raise ValidationError(f"{path}: the pair {a}-{b} is given twice")
            matrix[i, j] = matrix[j, i] = rho
            paths.append(path)
    check_correlation(matrix, FACTORS)
    return Correlation(FACTORS, matrix, tuple(paths))


def check_correlation(matrix: FloatArray, names: Sequence[str]) -> None:
    """Symmetric, unit diagonal and positive definite, or a ValidationError naming the smallest eigenvalue."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (len(names), len(names)) or not np.allclose(m, m.T) or not np.allclose(np.diag(m), 1.0):
        raise ValidationError("a correlation matrix must be square, symmetric and have ones on its diagonal")
    smallest = float(np.linalg.eigvalsh(m).min())
    if smallest <= PSD_TOLERANCE:
        raise ValidationError(
            f"the correlation matrix of {', '.join(names)} is not positive definite (smallest eigenvalue "
            f"{smallest:.3g}): no market can have these correlations together"
        )


@dataclass(frozen=True)
class MarketStructure:
    """Correlation of the factors and the gate-fee probability of each two-regime market-terms row of a model."""

    correlation: Correlation
    gate_fee_probability: Mapping[str, float]  # market_terms prefix -> probability of the gate-fee regime


def load_market(params: ParameterSet, model: EconomicModel) -> MarketStructure:
    """The market structure of ``model`` under ``params`` (reads correlation.* and the regimes its rows need)."""
    correlation = load_correlation(params)
    probabilities: dict[str, float] = {}
    for terms in model.feed_terms:
        prefix = terms.prefix
        can_pay = any(_can_be_positive(model, f"{prefix}.{name}") for name in ("payable_li", "payable_ni_co"))
        if not (can_pay and _can_be_positive(model, f"{prefix}.gate_fee_usd_per_t")):
            continue
        family, form_class = prefix.split(".")[2:4]
        path = f"regimes.gate_fee_probability.{family}.{form_class}"
        if not params.has(path):
            raise NotFoundError(
                f"{prefix} allows both a payable and a gate fee, but parameter set {params.name!r} has no {path}"
            )
        p = float(params.value(path))
        if not 0.0 <= p <= 1.0:
            raise ValidationError(f"{path} = {p}: a probability must lie in [0, 1]")
        probabilities[prefix] = p
    return MarketStructure(correlation, probabilities)


def _can_be_positive(model: EconomicModel, path: str) -> bool:
    param = model.sources.get(path)
    if param is None:
        return False
    return param.value > 0.0 or (param.high is not None and param.high > 0.0)


@dataclass(frozen=True)
class MarketDraw:
    values: dict[str, FloatArray]
    factors: tuple[str, ...] = ()
    regime_shares: dict[str, float] = field(default_factory=dict)
    samples: dict[str, FloatArray] = field(default_factory=dict)  # market parameters, and "z:<factor>" scores


def draw_market(
    model: EconomicModel,
    specs: Sequence[tuple[str, float, float, float]],
    *,
    draws: int,
    rng: np.random.Generator,
    market: MarketStructure | None,
) -> MarketDraw:
    """Draw ``(path, low, mode, high)`` triangular parameters; correlated and by regime when ``market`` is given."""
    scores: dict[str, FloatArray] = {}
    factors: tuple[str, ...] = ()
    if market is not None:
        present = {factor_of(path) for path, *_ in specs}
        factors = tuple(f for f in FACTORS if f in present)
        if factors:
            chol = np.linalg.cholesky(market.correlation.sub(factors))
            z = chol @ rng.standard_normal((len(factors), draws))
            scores = {f: z[i] for i, f in enumerate(factors)}
    values: dict[str, FloatArray] = {}
    samples: dict[str, FloatArray] = {f"z:{f}": s for f, s in scores.items()}
    for path, low, mode, high in specs:
        factor = factor_of(path)
        u = ndtr(scores[factor]) if factor in scores else rng.random(draws)
        values[path] = triangular_ppf(u, low, mode, high)
        if factor is not None:
            samples[path] = values[path]
    shares: dict[str, float] = {}
    if market is not None:
        for prefix, probability in market.gate_fee_probability.items():
            fee_regime = rng.random(draws) < probability
            fee_path = f"{prefix}.gate_fee_usd_per_t"
            values[fee_path] = np.where(fee_regime, _column(model, values, fee_path, draws), 0.0)
            samples[fee_path] = values[fee_path]
            for name in ("payable_li", "payable_ni_co"):
                path = f"{prefix}.{name}"
                values[path] = np.where(fee_regime, 0.0, _column(model, values, path, draws))
                samples[path] = values[path]
            shares[prefix.split(".", 1)[1]] = float(np.mean(fee_regime))
    return MarketDraw(values, factors, shares, samples)


def _column(model: EconomicModel, values: Mapping[str, FloatArray], path: str, draws: int) -> FloatArray:
    drawn = values.get(path)
    return np.full(draws, model.base[path]) if drawn is None else drawn


def triangular_ppf(u: FloatArray, low: float, mode: float, high: float) -> FloatArray:
    """Inverse CDF of the triangular distribution (low, mode, high) at probabilities ``u``."""
    if high <= low:
        return np.full(np.shape(u), float(low))
    span = high - low
    cut = (mode - low) / span
    left = low + np.sqrt(u * span * (mode - low))
    right = high - np.sqrt((1.0 - u) * span * (high - mode))
    return np.asarray(np.where(u < cut, left, right), dtype=np.float64)
