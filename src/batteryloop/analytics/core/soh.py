"""State of health from a discharge curve, and remaining useful life from a fitted fade model.

* Capacity by coulomb counting: the discharge current integrated over time (trapezoids), in Ah; SOH is that
  capacity over the rated capacity.
* Fade model: the empirical power law ``SOH(n) = 100 - a * n**z`` in equivalent full cycles n (the form of
  the cycle-ageing term of empirical models such as NREL's BLAST-Lite, z about 0.5-1), fitted by bounded least
  squares (:func:`scipy.optimize.curve_fit`). Remaining useful life: the cycles from the last observation
  until the fitted curve reaches the end-of-life SOH.
* :func:`synthetic_ageing` draws cells from that law with measurement noise, so the estimators' errors can be
  measured against a known truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from batteryloop.domain.errors import ValidationError


def _array(values: object, name: str) -> NDArray[np.float64]:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be numbers") from None
    if arr.ndim != 1:
        raise ValidationError(f"{name} must be a list of numbers")
    if not np.isfinite(arr).all():
        raise ValidationError(f"{name} holds a missing or non-finite value")
    return arr


def capacity_ah(time_s: object, current_a: object) -> float:
    """Discharged charge in Ah (current positive while discharging), by the trapezoid rule."""
    t, i = _array(time_s, "time_s"), _array(current_a, "current_a")
    if t.shape != i.shape:
        raise ValidationError(f"time_s has {t.shape[0]} samples, current_a {i.shape[0]}")
    if t.shape[0] < 2:
        raise ValidationError("a discharge curve needs at least two samples")
    if (np.diff(t) <= 0).any():
        k = int(np.argmax(np.diff(t) <= 0))
        raise ValidationError(
            f"time_s must increase: sample {k + 2} ({t[k + 1]:g} s) is not after {t[k]:g} s"
        )
    charge_as = float(np.sum((i[1:] + i[:-1]) * np.diff(t)) / 2.0)
    if charge_as <= 0:
        raise ValidationError("no discharge in the curve: the current must be positive while discharging")
    return charge_as / 3600.0


def soh_from_discharge(time_s: object, current_a: object, *, rated_ah: float) -> tuple[float, float]:
    """(capacity in Ah, SOH in %) of a full discharge."""
    if not rated_ah > 0:
        raise ValidationError(f"rated capacity must be above zero, got {rated_ah}")
    cap = capacity_ah(time_s, current_a)
    return cap, 100.0 * cap / rated_ah


@dataclass(frozen=True, slots=True)
class FadeFit:
    """``SOH(n) = 100 - a * n**z``, its end of life and the remaining useful life after ``last_cycle``."""

    a: float
    z: float
    rmse_pct: float
    eol_pct: float
    last_cycle: float
    eol_cycle: float

    @property
    def rul_cycles(self) -> float:
        return max(0.0, self.eol_cycle - self.last_cycle)

    def soh(self, cycles: NDArray[np.float64] | float) -> NDArray[np.float64]:
        return np.asarray(100.0 - self.a * np.power(np.asarray(cycles, dtype=np.float64), self.z))


def fit_fade(cycles: object, soh_pct: object, *, eol_pct: float = 80.0) -> FadeFit:
    """Fit the power law to (cycles, SOH) and project the end of life at ``eol_pct``."""
    from scipy.optimize import curve_fit

    n, s = _array(cycles, "cycles"), _array(soh_pct, "soh_pct")
    if n.shape != s.shape:
        raise ValidationError(f"cycles has {n.shape[0]} values, soh_pct {s.shape[0]}")
    if n.shape[0] < 3:
        raise ValidationError("a fade fit needs at least three observations")
    if (n < 0).any():
        raise ValidationError("cycles must not be negative")
    if ((s <= 0) | (s > 120)).any():
        raise ValidationError("soh_pct must be above 0 and at most 120 %")
    if not 0 < eol_pct < 100:
        raise ValidationError(f"end-of-life SOH must be between 0 and 100 %, got {eol_pct}")
    if np.ptp(n) == 0:
        raise ValidationError("the observations must span more than one cycle count")

    def model(x: NDArray[np.float64], a: float, z: float) -> NDArray[np.float64]:
        return np.asarray(100.0 - a * np.power(x, z))

    fade = np.clip(100.0 - s, 1e-6, None)
    pos = n > 0
    z0 = 0.6
    a0 = float(np.median(fade[pos] / np.power(n[pos], z0))) if pos.any() else 0.01
    try:
        (a, z), _ = curve_fit(
            model, n, s, p0=(max(a0, 1e-6), z0), bounds=([1e-9, 0.05], [1e3, 2.0]), maxfev=20000
        )
    except RuntimeError as exc:
        raise ValidationError(f"the fade model did not converge: {exc}") from exc
    rmse = float(np.sqrt(np.mean((model(n, a, z) - s) ** 2)))
    eol_cycle = float(((100.0 - eol_pct) / a) ** (1.0 / z))
    return FadeFit(float(a), float(z), rmse, eol_pct, float(n.max()), eol_cycle)


@dataclass(frozen=True)
class SyntheticCell:
    a: float
    z: float
    cycles: NDArray[np.float64]
    soh_pct: NDArray[np.float64]  # measured, with noise

    def true_eol_cycle(self, eol_pct: float) -> float:
        return float(((100.0 - eol_pct) / self.a) ** (1.0 / self.z))


def synthetic_ageing(
    n_cells: int, *, max_cycles: int = 3000, every: int = 50, noise_pct: float = 0.3, seed: int = 0
) -> list[SyntheticCell]:
    """Cells ageing by ``100 - a n^z`` (z drawn in 0.5-0.9, a such that 80 % falls between 800 and 3,000
    cycles), observed every ``every`` cycles with Gaussian noise of ``noise_pct`` SOH points."""
    rng = np.random.default_rng(seed)
    cells = []
    for _ in range(n_cells):
        z = float(rng.uniform(0.5, 0.9))
        eol = float(rng.uniform(800, 3000))
        a = 20.0 / eol**z
        cycles = np.arange(every, max_cycles + 1, every, dtype=np.float64)
        soh = 100.0 - a * cycles**z + rng.normal(0.0, noise_pct, cycles.shape[0])
        cells.append(SyntheticCell(a, z, cycles, soh))
    return cells


def synthetic_discharge(
    rated_ah: float,
    soh_pct: float,
    *,
    current_a: float,
    dt_s: float = 1.0,
    noise_a: float = 0.0,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A constant-current full discharge of a cell holding ``soh_pct`` of ``rated_ah``, sampled every ``dt_s``
    with current noise, as (time_s, current_a)."""
    rng = np.random.default_rng(seed)
    duration = rated_ah * soh_pct / 100.0 / current_a * 3600.0
    t = np.arange(0.0, duration + dt_s / 2, dt_s)
    t[-1] = duration
    i = current_a + rng.normal(0.0, noise_a, t.shape[0])
    return t, i
