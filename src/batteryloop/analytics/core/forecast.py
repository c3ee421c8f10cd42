"""Retirement forecast: batteries leaving service per region, year and chemistry, in units, GWh and tonnes.

Product-component survival method (Busch et al.): the outflow of year t is
``sum over cohorts v of placed(v) * f_a(t - v)``, where ``placed(v)`` counts the packs an application ``a``
(car, bus, storage) put on the market in year ``v`` and ``f_a`` is the probability that a pack retires at that
age (a Weibull, packs placed mid-year: ``f(age) = F(age + 0.5) - F(age - 0.5)``). Energy and mass follow the
cohort's pack size and kg per kWh. Production scrap is a separate stream: a share of the energy produced each
year, attributed to the producing region.

Bands: the survival scales, pack sizes, kg per kWh and scrap share are drawn (triangular between their cited
low, central and high) ``draws`` times; the low/high band is the 5th/95th percentile, the central line uses
the central values. Everything is array arithmetic: cohorts are aggregated first, so the cost does not
grow with the number of batteries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from batteryloop.domain.errors import ValidationError

REGIONS: tuple[str, ...] = ("CN", "EU", "US", "SEA", "other")
APPLICATIONS: tuple[str, ...] = ("car", "bus", "storage")
STREAMS: tuple[str, ...] = (*APPLICATIONS, "scrap")
METRICS: tuple[str, ...] = ("units", "gwh", "tonnes")
CHUNK = 1 << 20
"""Batteries aggregated per pass of :meth:`Cohorts.from_codes` (8 MiB of int64 key: cache-sized)."""


def check_regions(regions: Sequence[str], *, field: str) -> None:
    """ValidationError naming ``field`` and the first region that is not one of :data:`REGIONS`."""
    for region in regions:
        if region not in REGIONS:
            raise ValidationError(
                f"{field}: unknown region {str(region)!r}; the forecast knows {', '.join(REGIONS)}"
            )


@dataclass(frozen=True)
class Cohorts:
    """Packs placed on the market, aggregated: arrays of equal length, one entry per (region, application,
    chemistry, year) group, with its number of packs, total kWh and total kg."""

    region: NDArray[np.str_]
    application: NDArray[np.str_]
    chemistry: NDArray[np.str_]
    year: NDArray[np.int64]
    units: NDArray[np.float64]
    kwh: NDArray[np.float64]
    kg: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.year.shape[0])

    @classmethod
    def aggregate(
        cls,
        *,
        region: NDArray[Any],
        application: NDArray[Any],
        chemistry: NDArray[Any],
        year: NDArray[Any],
        kwh: NDArray[Any],
        kg: NDArray[Any],
        units: NDArray[Any] | None = None,
    ) -> Cohorts:
        """Group per-battery (or per-row) arrays into cohorts (one ``np.unique`` and three bincounts)."""
        n = len(year)
        if not (len(region) == len(application) == len(chemistry) == len(kwh) == len(kg) == n):
            raise ValidationError("cohort arrays must have the same length")
        units_arr = np.ones(n) if units is None else np.asarray(units, dtype=np.float64)
        kwh_arr, kg_arr = np.asarray(kwh, dtype=np.float64), np.asarray(kg, dtype=np.float64)
        if n and (kwh_arr < 0).any() | (kg_arr < 0).any() | (units_arr < 0).any():
            raise ValidationError("cohort units, kWh and kg must not be negative")
        bad_app = ~np.isin(application, APPLICATIONS)
        if bad_app.any():
            raise ValidationError(f"unknown application {str(np.asarray(application)[bad_app][0])!r}")
        check_regions(np.unique(np.asarray(region, dtype=str)).tolist(), field="region")
        if n == 0:
            empty_s = np.asarray([], dtype=str)
            empty_f = np.asarray([], dtype=np.float64)
            return cls(empty_s, empty_s, empty_s, np.asarray([], dtype=np.int64), empty_f, empty_f, empty_f)
        r_vals, r_idx = np.unique(np.asarray(region, dtype=str), return_inverse=True)
        a_vals, a_idx = np.unique(np.asarray(application, dtype=str), return_inverse=True)
        c_vals, c_idx = np.unique(np.asarray(chemistry, dtype=str), return_inverse=True)
        years = np.asarray(year, dtype=np.int64)
        y0 = int(years.min())
        y_idx = years - y0
        ny = int(y_idx.max()) + 1
        key = ((r_idx * len(a_vals) + a_idx) * len(c_vals) + c_idx) * ny + y_idx
        groups, inverse = np.unique(key, return_inverse=True)
        size = groups.shape[0]
        y_g = groups % ny
        rest = groups // ny
        c_g = rest % len(c_vals)
        rest //= len(c_vals)
        a_g = rest % len(a_vals)
        r_g = rest // len(a_vals)
        return cls(
            region=r_vals[r_g],
            application=a_vals[a_g],
            chemistry=c_vals[c_g],
            year=y_g + y0,
            units=np.bincount(inverse, weights=units_arr, minlength=size).astype(np.float64),
            kwh=np.bincount(inverse, weights=kwh_arr, minlength=size).astype(np.float64),
            kg=np.bincount(inverse, weights=kg_arr, minlength=size).astype(np.float64),
        )

    @classmethod
    def from_codes(
        cls,
        *,
        labels: Mapping[str, Sequence[str]],
        region: NDArray[np.integer[Any]],
        application: NDArray[np.integer[Any]],
        chemistry: NDArray[np.integer[Any]],
        year: NDArray[np.integer[Any]],
        kwh: NDArray[Any],
        kg: NDArray[Any],
        first_year: int | None = None,
        last_year: int | None = None,
    ) -> Cohorts:
        """Group per-battery arrays given as category codes (``labels[name][code]``) into cohorts, for
        registers of millions: the dense (region, application, chemistry, year) key is built and counted
        with three ``np.bincount`` per chunk of :data:`CHUNK` batteries, so the temporaries stay small
        (cache-sized, no page faults for 80 MB scratch arrays) and the cost is one pass over the input.
        ``first_year``/``last_year`` bound the placing years (found from the data when not given); a
        battery outside them, or a code outside its labels, is an error naming the field."""
        n = len(year)
        if n == 0:
            raise ValidationError("no batteries to aggregate")
        for name, codes in (
            ("region", region),
            ("application", application),
            ("chemistry", chemistry),
            ("kwh", kwh),
            ("kg", kg),
        ):
            if len(codes) != n:
                raise ValidationError(f"{name} has {len(codes)} entries, year has {n}")
        bad = [a for a in labels["application"] if a not in APPLICATIONS]
        if bad:
            raise ValidationError(f"application: unknown application {bad[0]!r}")
        check_regions(labels["region"], field="region")
        nr, na, nc = len(labels["region"]), len(labels["application"]), len(labels["chemistry"])
        if first_year is None or last_year is None:
            y_lo, y_hi = int(year.min()), int(year.max())
            first_year = y_lo if first_year is None else first_year
            last_year = y_hi if last_year is None else last_year
        y0, ny = int(first_year), int(last_year) - int(first_year) + 1
        if ny < 1:
            raise ValidationError(f"year: first year {first_year} is after last year {last_year}")
        size = nr * na * nc * ny
        units = np.zeros(size)
        kwh_sum = np.zeros(size)
        kg_sum = np.zeros(size)
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            parts = (
                ("region", region[lo:hi], nr),
                ("application", application[lo:hi], na),
                ("chemistry", chemistry[lo:hi], nc),
                ("year", year[lo:hi] - y0, ny),
            )
            key = np.zeros(hi - lo, dtype=np.intp)
            for name, codes, count in parts:
                low, high = int(codes.min()), int(codes.max())
                if low < 0 or high >= count:
                    if name == "year":
                        raise ValidationError(f"year: placing years outside {y0}-{y0 + ny - 1}")
                    raise ValidationError(f"{name}: codes outside 0-{count - 1}")
                key *= count
                key += codes
            w_kwh = np.asarray(kwh[lo:hi], dtype=np.float64)
            w_kg = np.asarray(kg[lo:hi], dtype=np.float64)
            if (w_kwh < 0).any() or (w_kg < 0).any():
                raise ValidationError("kwh and kg must not be negative")
            units += np.bincount(key, minlength=size)
            kwh_sum += np.bincount(key, weights=w_kwh, minlength=size)
            kg_sum += np.bincount(key, weights=w_kg, minlength=size)
        keep = np.flatnonzero(units > 0)
        y_g, rest = keep % ny, keep // ny
        c_g, rest = rest % nc, rest // nc
        a_g, r_g = rest % na, rest // na
        return cls(
            region=np.asarray(labels["region"])[r_g],
            application=np.asarray(labels["application"])[a_g],
            chemistry=np.asarray(labels["chemistry"])[c_g],
            year=(y_g + y0).astype(np.int64),
            units=units[keep],
            kwh=kwh_sum[keep],
            kg=kg_sum[keep],
        )

    @classmethod
    def concat(cls, parts: Sequence[Cohorts]) -> Cohorts:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))


@dataclass(frozen=True, slots=True)
class Survival:
    """Weibull survival of one application: shape k, scale λ (years) and the range of λ for the bands."""

    shape: float
    scale: float
    scale_low: float
    scale_high: float


@dataclass(frozen=True)
class ForecastParams:
    survival: Mapping[str, Survival]
    scrap_share: tuple[float, float, float]  # low, central, high
    production_share: Mapping[str, float]
    kwh_uncertainty: float
    kg_factor_range: tuple[float, float]  # relative low/high of kg per kWh around the central value


@dataclass(frozen=True)
class Forecast:
    """Central outflow per (stream, region, chemistry, year) for every metric, and the low/high band of the
    total per (region, year) and metric."""

    years: NDArray[np.int64]
    rows: list[
        tuple[str, str, str, int, float, float, float]
    ]  # stream, region, chemistry, year, units, gwh, t
    bands: dict[str, dict[str, NDArray[np.float64]]]  # metric -> low|central|high -> (region, year) array
    regions: tuple[str, ...]
    draws: int

    def totals(self, metric: str) -> dict[str, NDArray[np.float64]]:
        """Low, central and high of the world total per year."""
        return {k: v.sum(axis=0) for k, v in self.bands[metric].items()}


def weibull_pdf_matrix(
    cohort_years: NDArray[np.int64], years: NDArray[np.int64], shape: float, scale: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``P[d, v, t]``: probability that a pack placed mid-year ``cohort_years[v]`` retires in ``years[t]``,
    for each scale ``scale[d]``."""
    age = years[None, :] - cohort_years[:, None]  # (V, T)
    upper = np.clip(age + 0.5, 0.0, None)
    lower = np.clip(age - 0.5, 0.0, None)
    s = np.asarray(scale, dtype=np.float64)[:, None, None]
    cdf_u = 1.0 - np.exp(-((upper[None] / s) ** shape))
    cdf_l = 1.0 - np.exp(-((lower[None] / s) ** shape))
    return np.where(age[None] >= 0, cdf_u - cdf_l, 0.0)


def _triangular(
    rng: np.random.Generator, low: float, mode: float, high: float, n: int
) -> NDArray[np.float64]:
    if high <= low:
        return np.full(n, mode)
    return rng.triangular(low, min(max(mode, low), high), high, n)


def run_forecast(
    cohorts: Cohorts,
    fp: ForecastParams,
    *,
    years: Sequence[int],
    draws: int = 200,
    seed: int = 0,
    scrap: bool = True,
) -> Forecast:
    """Retirements of ``cohorts`` in ``years`` (plus production scrap when ``scrap``), with bands."""
    yrs = np.asarray(list(years), dtype=np.int64)
    if yrs.size == 0:
        raise ValidationError("give at least one forecast year")
    if draws < 10:
        raise ValidationError(f"draws must be at least 10 for the bands, got {draws}")
    if len(cohorts) == 0:
        raise ValidationError("no cohorts to forecast: the source holds no batteries placed on the market")
    rng = np.random.default_rng(seed)
    regions = tuple(r for r in REGIONS if r in set(cohorts.region.tolist())) or ("other",)
    extra = sorted(set(cohorts.region.tolist()) - set(regions))
    regions = (*regions, *extra)
    region_idx = {r: i for i, r in enumerate(regions)}
    r_of = np.asarray([region_idx[str(r)] for r in cohorts.region])
    cohort_years = np.arange(int(cohorts.year.min()), int(max(cohorts.year.max(), yrs.max())) + 1)
    v_of = cohorts.year - cohort_years[0]
    nv, nt, nr = cohort_years.shape[0], yrs.shape[0], len(regions)

    kwh_u = fp.kwh_uncertainty
    kwh_factor = _triangular(rng, 1.0 - kwh_u, 1.0, 1.0 + kwh_u, draws)
    kg_factor = _triangular(rng, fp.kg_factor_range[0], 1.0, fp.kg_factor_range[1], draws)
    scrap_draw = _triangular(rng, *fp.scrap_share, draws)

    rows: list[tuple[str, str, str, int, float, float, float]] = []
    band_draws = {m: np.zeros((draws, nr, nt)) for m in METRICS}
    central_tot = {m: np.zeros((nr, nt)) for m in METRICS}
    for app in APPLICATIONS:
        sel = cohorts.application == app
        if not sel.any():
            continue
        sv = fp.survival[app]
        central_p = weibull_pdf_matrix(cohort_years, yrs, sv.shape, np.asarray([sv.scale]))[0]  # (V, T)
        scales = _triangular(rng, sv.scale_low, sv.scale, sv.scale_high, draws)
        p_draws = weibull_pdf_matrix(cohort_years, yrs, sv.shape, scales)  # (D, V, T)
        g = np.flatnonzero(sel)
        pairs = np.char.add(
            np.char.add(cohorts.region[g].astype(str), "\x1f"), cohorts.chemistry[g].astype(str)
        )
        keys, k_of = np.unique(pairs, return_inverse=True)
        placed_k = np.zeros((3, keys.shape[0], nv))
        for m, (weights, scale) in enumerate(((cohorts.units, 1.0), (cohorts.kwh, 1e6), (cohorts.kg, 1e3))):
            np.add.at(placed_k[m], (k_of, v_of[g]), weights[g] / scale)
        out_k = placed_k @ central_p  # (3, K, T)
        for k, key in enumerate(keys.tolist()):
            region, chem = key.split("\x1f")
            rows.extend(
                (
                    app,
                    region,
                    chem,
                    int(yrs[t]),
                    float(out_k[0, k, t]),
                    float(out_k[1, k, t]),
                    float(out_k[2, k, t]),
                )
                for t in range(nt)
            )
        for metric, weights in (
            ("units", cohorts.units),
            ("gwh", cohorts.kwh / 1e6),
            ("tonnes", cohorts.kg / 1e3),
        ):
            placed = np.zeros((nr, nv))
            np.add.at(placed, (r_of[g], v_of[g]), weights[g])
            central_tot[metric] += placed @ central_p
            out = np.einsum("rv,dvt->drt", placed, p_draws)
            if metric == "gwh":
                out *= kwh_factor[:, None, None]
            elif metric == "tonnes":
                out *= (kwh_factor * kg_factor)[:, None, None]
            band_draws[metric] += out

    if scrap:
        produced_gwh = np.zeros(nv)
        produced_t = np.zeros(nv)
        np.add.at(produced_gwh, v_of, cohorts.kwh / 1e6)
        np.add.at(produced_t, v_of, cohorts.kg / 1e3)
        year_pos = np.searchsorted(cohort_years, yrs)
        in_range = (yrs >= cohort_years[0]) & (yrs <= cohort_years[-1])
        gwh_year = np.where(in_range, produced_gwh[np.clip(year_pos, 0, nv - 1)], 0.0)
        t_year = np.where(in_range, produced_t[np.clip(year_pos, 0, nv - 1)], 0.0)
        share = np.asarray([fp.production_share.get(r, 0.0) for r in regions])
        central_scrap = fp.scrap_share[1]
        for r, region in enumerate(regions):
            if share[r] == 0:
                continue
            for t in range(nt):
                rows.append(
                    (
                        "scrap",
                        region,
                        "mixed",
                        int(yrs[t]),
                        0.0,
                        float(central_scrap * share[r] * gwh_year[t]),
                        float(central_scrap * share[r] * t_year[t]),
                    )
                )
        central_tot["gwh"] += central_scrap * share[:, None] * gwh_year[None, :]
        central_tot["tonnes"] += central_scrap * share[:, None] * t_year[None, :]
        band_draws["gwh"] += (
            (scrap_draw * kwh_factor)[:, None, None] * share[None, :, None] * gwh_year[None, None, :]
        )
        band_draws["tonnes"] += (
            (scrap_draw * kwh_factor * kg_factor)[:, None, None]
            * share[None, :, None]
            * t_year[None, None, :]
        )

    bands = {
        m: {
            "low": np.percentile(band_draws[m], 5, axis=0),
            "central": central_tot[m],
            "high": np.percentile(band_draws[m], 95, axis=0),
        }
        for m in METRICS
    }
    return Forecast(years=yrs, rows=rows, bands=bands, regions=regions, draws=draws)


# ------------------------------------------------------------------------------ default cohorts from data


def _series(anchors: Mapping[Any, Any], years: NDArray[np.int64]) -> NDArray[np.float64]:
    """Linear between anchor years, held flat outside them."""
    xs = np.asarray(sorted(int(k) for k in anchors), dtype=np.float64)
    ys = np.asarray([float(anchors[k]) for k in sorted(anchors, key=int)])
    out: NDArray[np.float64] = np.interp(years.astype(np.float64), xs, ys)
    return out


def _sales(
    series: Mapping[Any, Any], years: NDArray[np.int64], last: int, growth_pct: float
) -> NDArray[np.float64]:
    known = {int(k): float(v) for k, v in series.items()}
    out = np.zeros(years.shape[0])
    for i, y in enumerate(years.tolist()):
        if y in known:
            out[i] = known[y]
        elif y > last and last in known:
            out[i] = known[last] * (1.0 + growth_pct / 100.0) ** (y - last)
    return out


def default_cohorts(values: Mapping[str, Any], *, first_year: int, last_year: int) -> Cohorts:
    """Cohorts of the cited default series (cars, buses, storage) from ``first_year`` to ``last_year``."""
    years = np.arange(first_year, last_year + 1, dtype=np.int64)
    last = int(values["horizon.last_sales_year"])
    growth = values["sales.growth_after_last_year_pct"]
    lfp_share = values["chemistry.car_lfp_share"]
    nca_share = values["chemistry.car_nca_share"]
    car_kwh = values["pack.car_kwh"]
    kg_old, kg_new = float(values["pack.kg_per_kwh_before_2020"]), float(values["pack.kg_per_kwh_from_2020"])
    kg_per_kwh = np.where(years < 2020, kg_old, kg_new)
    bus_factor = float(values["pack.bus_kg_per_kwh_factor"])
    out_region: list[str] = []
    out_app: list[str] = []
    out_chem: list[str] = []
    out_year: list[NDArray[np.int64]] = []
    out_units: list[NDArray[np.float64]] = []
    out_kwh: list[NDArray[np.float64]] = []
    out_kg: list[NDArray[np.float64]] = []

    def add(
        region: str,
        app: str,
        chem: str,
        units: NDArray[np.float64],
        kwh: NDArray[np.float64],
        kg: NDArray[np.float64],
    ) -> None:
        out_region.extend([region] * years.shape[0])
        out_app.extend([app] * years.shape[0])
        out_chem.extend([chem] * years.shape[0])
        out_year.append(years)
        out_units.append(units)
        out_kwh.append(kwh)
        out_kg.append(kg)

    bus_world = _sales(values["sales.buses_world"], years, last, 0.0)
    for region in ("CN", "EU", "US", "SEA"):
        g = float(growth.get(region, 0.0))
        cars = _sales(values[f"sales.cars.{region}"], years, last, g)
        kwh_unit = _series(car_kwh[region], years)
        lfp = _series(lfp_share[region], years)
        nca = (1.0 - lfp) * float(nca_share[region])
        nmc = 1.0 - lfp - nca
        for chem, share in (("LFP", lfp), ("NMC", nmc), ("NCA", nca)):
            n = cars * share
            add(region, "car", chem, n, n * kwh_unit, n * kwh_unit * kg_per_kwh)
        buses = bus_world * float(values["sales.bus_region_share"][region])
        bus_kwh = float(values["pack.bus_kwh"][region])
        bus_lfp = float(values["chemistry.bus_lfp_share"][region])
        for chem, bus_share in (("LFP", bus_lfp), ("NMC", 1.0 - bus_lfp)):
            n = buses * bus_share
            add(region, "bus", chem, n, n * bus_kwh, n * bus_kwh * kg_per_kwh * bus_factor)
        storage_gwh = float(values["sales.storage_gwh"][region])
        if storage_gwh > 0:
            st_lfp = float(values["chemistry.storage_lfp_share"])
            kwh_year = np.full(years.shape[0], storage_gwh * 1e6)
            kg_st = float(values["pack.storage_kg_per_kwh"])
            for chem, st_share in (("LFP", st_lfp), ("NMC", 1.0 - st_lfp)):
                add(
                    region,
                    "storage",
                    chem,
                    np.zeros(years.shape[0]),
                    kwh_year * st_share,
                    kwh_year * st_share * kg_st,
                )
    return Cohorts(
        region=np.asarray(out_region),
        application=np.asarray(out_app),
        chemistry=np.asarray(out_chem),
        year=np.concatenate(out_year),
        units=np.concatenate(out_units),
        kwh=np.concatenate(out_kwh),
        kg=np.concatenate(out_kg),
    )


def forecast_params(
    values: Mapping[str, Any], *, low_high: Mapping[str, tuple[float | None, float | None]]
) -> ForecastParams:
    """The survival, scrap and uncertainty parameters from the data set (``low_high``: path -> (low, high))."""
    survival = {}
    for app in APPLICATIONS:
        raw = values[f"survival.{app}"]
        low, high = low_high.get(f"survival.{app}", (None, None))
        scale = float(raw["scale_years"])
        shape = float(raw["shape"])
        if shape <= 0 or scale <= 0:
            raise ValidationError(f"survival.{app}: shape and scale must be positive")
        survival[app] = Survival(
            shape, scale, float(low if low is not None else scale), float(high if high is not None else scale)
        )
    scrap_c = float(values["scrap.share_of_production"])
    s_low, s_high = low_high.get("scrap.share_of_production", (None, None))
    kg_c = float(values["pack.kg_per_kwh_from_2020"])
    k_low, k_high = low_high.get("pack.kg_per_kwh_from_2020", (None, None))
    return ForecastParams(
        survival=survival,
        scrap_share=(
            float(s_low if s_low is not None else scrap_c),
            scrap_c,
            float(s_high if s_high is not None else scrap_c),
        ),
        production_share={str(k): float(v) for k, v in values["scrap.production_share"].items()},
        kwh_uncertainty=float(values["pack.kwh_uncertainty"]),
        kg_factor_range=(
            float(k_low) / kg_c if k_low is not None else 1.0,
            float(k_high) / kg_c if k_high is not None else 1.0,
        ),
    )


# ------------------------------------------------------------------------------------- ledger cohorts


@dataclass
class LedgerCohortBuilder:
    """Collects placed-on-market packs from ledger events (fed in position order) and turns them into
    cohorts: a unit registered (``BatteryManufactured``) at level pack or system, of category ev, stationary or
    industrial, and then placed on the market (``BatteryPlacedOnMarket``) counts once, in the year and region
    of that event, with its rated energy and mass. Units without rated energy are counted as units only and
    listed in ``missing_energy``."""

    country_region: Mapping[str, str]
    bus_min_kwh: float
    registered: dict[str, tuple[str, str, float, float]] = field(default_factory=dict)
    region: list[str] = field(default_factory=list)
    application: list[str] = field(default_factory=list)
    chemistry: list[str] = field(default_factory=list)
    year: list[int] = field(default_factory=list)
    kwh: list[float] = field(default_factory=list)
    kg: list[float] = field(default_factory=list)
    missing_energy: int = 0
    skipped: int = 0

    def manufactured(self, battery_id: str, payload: Mapping[str, Any]) -> None:
        level, category = payload.get("level"), payload.get("category")
        if level not in ("pack", "system") or category not in ("ev", "stationary", "industrial"):
            return
        kwh = payload.get("rated_energy_kwh")
        mass = payload.get("mass_kg")
        if category == "ev":
            app = "bus" if isinstance(kwh, int | float) and kwh >= self.bus_min_kwh else "car"
        else:
            app = "storage"
        self.registered[battery_id] = (
            app,
            str(payload.get("chemistry", "OTHER")),
            float(kwh) if isinstance(kwh, int | float) else float("nan"),
            float(mass) if isinstance(mass, int | float) else float("nan"),
        )

    def placed(self, battery_id: str, year: int, payload: Mapping[str, Any]) -> None:
        unit = self.registered.pop(battery_id, None)
        if unit is None:
            self.skipped += 1
            return
        app, chem, kwh, kg = unit
        if np.isnan(kwh):
            self.missing_energy += 1
        self.region.append(self.country_region.get(str(payload.get("country", "")), "other"))
        self.application.append(app)
        self.chemistry.append(chem)
        self.year.append(year)
        self.kwh.append(0.0 if np.isnan(kwh) else kwh)
        self.kg.append(0.0 if np.isnan(kg) else kg)

    def cohorts(self) -> Cohorts:
        return Cohorts.aggregate(
            region=np.asarray(self.region, dtype=str),
            application=np.asarray(self.application, dtype=str),
            chemistry=np.asarray(self.chemistry, dtype=str),
            year=np.asarray(self.year, dtype=np.int64),
            kwh=np.asarray(self.kwh),
            kg=np.asarray(self.kg),
        )
