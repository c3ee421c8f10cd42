"""Discounted cash flow maths: NPV, IRR, payback (scalar and vectorised).

Cash flows are yearly, ``cash_flows[0]`` falls at t = 0 (the investment, negative), ``cash_flows[k]`` at the end of
year k. The vectorised helpers work on the constant-annuity plant profile used by the Monte Carlo: an investment at
t = 0, the same cash flow every year for ``years`` years and a terminal inflow (working capital back) in the last year.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from batteryloop.domain.errors import ValidationError

FloatArray = NDArray[np.float64]

_IRR_LOW = -0.99  # a rate of -100 % has no discount factor; IRR is searched above it
_IRR_HIGH = 10.0  # 1,000 % a year: any plant above that is reported as such, not searched further
_BISECTION_STEPS = 60  # (10.99 / 2**60) is far below any rate anyone reads


def npv(rate: float, cash_flows: Sequence[float]) -> float:
    """Net present value at ``rate`` per year of yearly cash flows starting at t = 0."""
    if rate <= -1.0:
        raise ValidationError(f"discount rate must be above -100 %, got {rate}")
    return float(sum(cf / (1.0 + rate) ** t for t, cf in enumerate(cash_flows)))


def irr(cash_flows: Sequence[float]) -> float | None:
    """Internal rate of return, or None when the cash flows never change sign in the searched range."""
    if len(cash_flows) < 2:
        raise ValidationError("IRR needs at least two cash flows")
    from scipy.optimize import brentq  # imported here: scipy.optimize is slow to import and only IRR needs it

    low, high = npv(_IRR_LOW, cash_flows), npv(_IRR_HIGH, cash_flows)
    if math.isnan(low) or math.isnan(high) or low * high > 0:
        return None
    return float(brentq(lambda r: npv(r, cash_flows), _IRR_LOW, _IRR_HIGH, xtol=1e-12, maxiter=200))


def payback_years(cash_flows: Sequence[float]) -> float | None:
    """Undiscounted payback: the (interpolated) time at which the cumulative cash flow turns non-negative."""
    cumulative = 0.0
    for year, cf in enumerate(cash_flows):
        before = cumulative
        cumulative += cf
        if cumulative >= 0.0 and year > 0:
            if before >= 0.0:
                return float(year - 1)
            return year - 1 + (-before / cf)
    return None


def annuity_factor(rate: ArrayLike, years: int) -> FloatArray:
    """Present value of 1 a year for ``years`` years: (1 - (1+r)^-n) / r, and n where r = 0."""
    r = np.asarray(rate, dtype=np.float64)
    safe = np.where(np.abs(r) < 1e-12, 1.0, r)
    factor = (1.0 - (1.0 + safe) ** (-years)) / safe
    return np.where(np.abs(r) < 1e-12, float(years), factor)


def npv_annuity(
    *,
    rate: ArrayLike,
    investment: ArrayLike,
    annual_cash_flow: ArrayLike,
    years: int,
    terminal: ArrayLike = 0.0,
) -> FloatArray:
    """NPV of -investment at t = 0, ``annual_cash_flow`` in years 1..n and ``terminal`` at year n."""
    r = np.asarray(rate, dtype=np.float64)
    return np.asarray(
        -np.asarray(investment, dtype=np.float64)
        + np.asarray(annual_cash_flow, dtype=np.float64) * annuity_factor(r, years)
        + np.asarray(terminal, dtype=np.float64) * (1.0 + r) ** (-years),
        dtype=np.float64,
    )


def irr_annuity(
    *, investment: ArrayLike, annual_cash_flow: ArrayLike, years: int, terminal: ArrayLike = 0.0
) -> FloatArray:
    """Vectorised IRR of the annuity profile by bisection; NaN where there is no root in (-99 %, 1000 %)."""
    inv = np.asarray(investment, dtype=np.float64)
    cf = np.asarray(annual_cash_flow, dtype=np.float64)
    term = np.asarray(terminal, dtype=np.float64)
    shape = np.broadcast(inv, cf, term).shape
    low = np.full(shape, _IRR_LOW)
    high = np.full(shape, _IRR_HIGH)

    def f(r: FloatArray) -> FloatArray:
        return npv_annuity(rate=r, investment=inv, annual_cash_flow=cf, years=years, terminal=term)

    f_low, f_high = f(low), f(high)
    valid = (f_low * f_high) <= 0.0
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (low + high)
        f_mid = f(mid)
        same = (f_mid * f_low) > 0.0
        low = np.where(same, mid, low)
        f_low = np.where(same, f_mid, f_low)
        high = np.where(same, high, mid)
    return np.where(valid, 0.5 * (low + high), np.nan)
