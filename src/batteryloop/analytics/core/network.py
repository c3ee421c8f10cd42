"""Collection network design: which spoke (pre-treatment) and hub (refining) sites to open, year by year, and
how retired batteries flow to them, at least total cost. A mixed-integer linear programme solved by HiGHS
(:func:`scipy.optimize.milp`).

Per year t, with points i, spokes s and hubs h::

    minimise  sum_t [ sum_s F_s y_st + sum_h F_h w_ht                               (fixed cost while open)
                      + sum_is (V_s + c_haz * d_is) x_ist + sum_sh (V_h + c_out * d_sh) z_sht ]
              + sum_s O_s y_s,last + sum_h O_h w_h,last                             (one-off opening cost)
    s.t.      sum_s x_ist = volume_it                       every point's batteries are collected
              sum_i x_ist <= K_s y_st                       spoke capacity, only if open
              sum_h z_sht = r * sum_i x_ist                 the spoke's output (share r of its input) goes on
              sum_s z_sht <= K_h w_ht                       hub capacity, only if open
              y_s,t-1 <= y_st,  w_h,t-1 <= w_ht             a site opened stays open
              x_ist = 0 where d_is > max_km                 (optional reach)

Distances are great-circle kilometres times a road circuity factor. Opening costs telescope: a site open in
the last year was opened exactly once. Before solving, :func:`diagnose` names the first reason an instance
cannot be feasible (a year whose volume exceeds every spoke's capacity together, a point out of reach, a point
whose reachable spokes together are too small).

Tightening (``solve(strengthen=True)``, the default; each row is valid for every integer solution, so the
optimum is unchanged, which the brute-force tests check for both formulations):

    sum_s K_s y_st >= V_t,  sum_h K_h w_ht >= r V_t      cover rows: the open sites take the year's volume
    z_sht <= min(K_h, r K_s) w_ht                        every spoke-to-hub flow linked to its hub
    y_a,t >= y_b,t                                       of two identical candidate sites, a opens first
    0 <= x_ist <= min(V_it, K_s)                         flow bounds
    x_ist <= min(V_it, K_s) y_st                         strong links, added only where the root LP breaks
                                                         them (``CUT_ROUNDS`` rounds; ~700 of 12,000 rows at
                                                         200 x 20 x 3)

A first network is then built from the root LP: roundings (open what it opens above a share, then the largest
shares until the capacity covers each year; flows by LP) and the MILP restricted to the sites the LP leaves
undecided (sites it opens fully stay open, sites it leaves closed stay closed), the best of them kept. When it is within ``mip_rel_gap`` of the LP bound it is
returned as proven; otherwise HiGHS solves the MILP, and the first network is kept if HiGHS finds nothing
better in its time. ``scipy.optimize.milp`` takes no starting solution, so this is the warm start we have.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from batteryloop.domain.errors import ValidationError

EARTH_RADIUS_KM = 6371.0088
CUT_ROUNDS = 6
"""Rounds of the root LP that add violated point-to-spoke linking rows before the MILP."""
CUT_SHARE = 0.25
"""Share of the time limit the root rounds may use."""
ROUNDING_THRESHOLDS = (0.9, 0.5)
FIX_SHARE = 0.01
"""A site the root LP opens below this share stays closed, above 1 - this share open, in the restricted
MILP that gives the first network."""
"""A site the root LP opens above one of these shares is opened in the first network (one LP each)."""


@dataclass(frozen=True, slots=True)
class Point:
    id: str
    lat: float
    lon: float
    volumes_t: tuple[float, ...]  # one per year


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    kind: str  # "spoke" or "hub"
    lat: float
    lon: float
    capacity_t_per_year: float
    fixed_cost_usd_per_year: float
    variable_cost_usd_per_t: float
    opening_cost_usd: float = 0.0


@dataclass(frozen=True)
class NetworkProblem:
    years: tuple[int, ...]
    points: tuple[Point, ...]
    spokes: tuple[Site, ...]
    hubs: tuple[Site, ...]
    hazmat_usd_per_t_km: float
    output_usd_per_t_km: float
    spoke_output_ratio: float
    road_factor: float
    max_km: float | None = None

    def __post_init__(self) -> None:
        if not self.years:
            raise ValidationError("give at least one year")
        if list(self.years) != sorted(set(self.years)):
            raise ValidationError("years must be increasing and distinct")
        if not self.points:
            raise ValidationError("give at least one collection point")
        if not self.spokes:
            raise ValidationError("give at least one candidate spoke site")
        if not self.hubs:
            raise ValidationError("give at least one candidate hub site")
        ids = [p.id for p in self.points] + [s.id for s in self.spokes] + [h.id for h in self.hubs]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValidationError(f"ids must be unique; repeated: {', '.join(dup)}")
        for p in self.points:
            _check_coords(p.id, p.lat, p.lon)
            if len(p.volumes_t) != len(self.years):
                raise ValidationError(f"point {p.id}: {len(p.volumes_t)} volumes for {len(self.years)} years")
            if any(v < 0 or not np.isfinite(v) for v in p.volumes_t):
                raise ValidationError(f"point {p.id}: volumes must be finite and not negative")
        for s in (*self.spokes, *self.hubs):
            _check_coords(s.id, s.lat, s.lon)
            for name in (
                "capacity_t_per_year",
                "fixed_cost_usd_per_year",
                "variable_cost_usd_per_t",
                "opening_cost_usd",
            ):
                value = getattr(s, name)
                if value < 0 or not np.isfinite(value):
                    raise ValidationError(
                        f"{s.kind} {s.id}: {name} must be finite and not negative, got {value}"
                    )
        for name in ("hazmat_usd_per_t_km", "output_usd_per_t_km", "spoke_output_ratio"):
            if getattr(self, name) < 0:
                raise ValidationError(f"{name} must not be negative")
        if self.road_factor < 1:
            raise ValidationError(f"road_factor must be at least 1, got {self.road_factor}")
        if self.max_km is not None and self.max_km <= 0:
            raise ValidationError(f"max_km must be positive, got {self.max_km}")

    def volumes(self) -> NDArray[np.float64]:
        """(points, years) tonnes."""
        return np.asarray([p.volumes_t for p in self.points], dtype=np.float64)


def _check_coords(ident: str, lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError(f"{ident}: latitude {lat} / longitude {lon} out of range")


def distances_km(
    a: Sequence[Point | Site], b: Sequence[Point | Site], road_factor: float
) -> NDArray[np.float64]:
    """Great-circle (haversine) distance times the road circuity factor, (len(a), len(b))."""
    lat1 = np.radians([x.lat for x in a])[:, None]
    lon1 = np.radians([x.lon for x in a])[:, None]
    lat2 = np.radians([x.lat for x in b])[None, :]
    lon2 = np.radians([x.lon for x in b])[None, :]
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    out: NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))) * road_factor
    return out


def diagnose(problem: NetworkProblem) -> str | None:
    """The first reason the instance is infeasible whatever is opened, or None."""
    vol = problem.volumes()
    d_ps = distances_km(problem.points, problem.spokes, problem.road_factor)
    if problem.max_km is not None:
        reach = d_ps <= problem.max_km
        for i, p in enumerate(problem.points):
            if not reach[i].any() and vol[i].sum() > 0:
                nearest = float(d_ps[i].min())
                return (
                    f"point {p.id} has no spoke within {problem.max_km:g} km (nearest {nearest:.0f} km): "
                    "add a candidate spoke or raise max_km"
                )
    spoke_cap = sum(s.capacity_t_per_year for s in problem.spokes)
    hub_cap = sum(h.capacity_t_per_year for h in problem.hubs)
    for t, year in enumerate(problem.years):
        total = float(vol[:, t].sum())
        if total > spoke_cap * (1 + 1e-9):
            return (
                f"year {year}: {total:,.0f} t to collect, but all candidate spokes together take "
                f"{spoke_cap:,.0f} t/yr: add spoke capacity"
            )
        out = total * problem.spoke_output_ratio
        if out > hub_cap * (1 + 1e-9):
            return (
                f"year {year}: the spokes send {out:,.0f} t on, but all candidate hubs together take "
                f"{hub_cap:,.0f} t/yr: add hub capacity"
            )
    cap = np.asarray([s.capacity_t_per_year for s in problem.spokes])
    reach_all = np.ones_like(d_ps, dtype=bool) if problem.max_km is None else d_ps <= problem.max_km
    for t, year in enumerate(problem.years):
        for i, p in enumerate(problem.points):
            within = float(cap[reach_all[i]].sum())
            if vol[i, t] > within * (1 + 1e-9):
                return (
                    f"year {year}: point {p.id} has {vol[i, t]:,.0f} t to collect, but the spokes it can reach "
                    f"take {within:,.0f} t/yr together: add spoke capacity near it or raise max_km"
                )
    return None


@dataclass(frozen=True)
class NetworkSolution:
    """The optimum: sites open per year, flows, utilisation and costs (USD, undiscounted)."""

    problem: NetworkProblem
    spoke_open: NDArray[np.bool_]  # (spokes, years)
    hub_open: NDArray[np.bool_]  # (hubs, years)
    x: NDArray[np.float64]  # (points, spokes, years) tonnes
    z: NDArray[np.float64]  # (spokes, hubs, years) tonnes
    d_ps: NDArray[np.float64]
    d_sh: NDArray[np.float64]
    total_cost_usd: float
    mip_gap: float
    proven_optimal: bool  # optimal within the relative gap the solver was given
    links_added: int = 0  # point-to-spoke linking rows added by the root rounds

    def cost_breakdown(self) -> dict[str, float]:
        p = self.problem
        fixed = sum(
            s.fixed_cost_usd_per_year * self.spoke_open[k].sum() for k, s in enumerate(p.spokes)
        ) + sum(h.fixed_cost_usd_per_year * self.hub_open[k].sum() for k, h in enumerate(p.hubs))
        opening = sum(s.opening_cost_usd for k, s in enumerate(p.spokes) if self.spoke_open[k, -1]) + sum(
            h.opening_cost_usd for k, h in enumerate(p.hubs) if self.hub_open[k, -1]
        )
        var_s = np.asarray([s.variable_cost_usd_per_t for s in p.spokes])
        var_h = np.asarray([h.variable_cost_usd_per_t for h in p.hubs])
        variable = float((self.x.sum(axis=(0, 2)) * var_s).sum() + (self.z.sum(axis=(0, 2)) * var_h).sum())
        transport_in = float((self.x * self.d_ps[:, :, None]).sum() * p.hazmat_usd_per_t_km)
        transport_out = float((self.z * self.d_sh[:, :, None]).sum() * p.output_usd_per_t_km)
        return {
            "fixed_usd": float(fixed),
            "opening_usd": float(opening),
            "processing_usd": variable,
            "hazmat_transport_usd": transport_in,
            "onward_transport_usd": transport_out,
            "total_usd": float(fixed + opening + variable + transport_in + transport_out),
        }

    @property
    def collected_t(self) -> float:
        return float(self.x.sum())

    def cost_per_t(self) -> float:
        collected = self.collected_t
        return self.total_cost_usd / collected if collected > 0 else 0.0

    def utilisation(self) -> list[tuple[str, str, int, float, float, float | None]]:
        """(kind, site, year, throughput t, capacity t, utilisation or None when closed)."""
        out: list[tuple[str, str, int, float, float, float | None]] = []
        for kind, sites, opened, flow in (
            ("spoke", self.problem.spokes, self.spoke_open, self.x.sum(axis=0)),
            ("hub", self.problem.hubs, self.hub_open, self.z.sum(axis=0)),
        ):
            for k, site in enumerate(sites):
                for t, year in enumerate(self.problem.years):
                    used = float(flow[k, t])
                    cap = site.capacity_t_per_year
                    share = used / cap if opened[k, t] and cap > 0 else None
                    out.append((kind, site.id, year, used, cap, share))
        return out


def solve(
    problem: NetworkProblem,
    *,
    time_limit_s: float = 55.0,
    mip_rel_gap: float = 1e-2,
    strengthen: bool = True,
) -> NetworkSolution:
    """The least-cost network; :class:`ValidationError` saying why when no network can serve the volumes.

    ``strengthen`` (default) adds the valid inequalities (a)-(d) below and the first network (e); without
    it the plain formulation goes to HiGHS (the benchmark's baseline). ``mip_rel_gap``: HiGHS stops when
    the best network is proven within this share of the optimum (``data/network.toml`` says why 1 %)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    why = diagnose(problem)
    if why is not None:
        raise ValidationError(f"infeasible: {why}")
    P, S, H, T = len(problem.points), len(problem.spokes), len(problem.hubs), len(problem.years)
    vol = problem.volumes()
    d_ps = distances_km(problem.points, problem.spokes, problem.road_factor)
    d_sh = distances_km(problem.spokes, problem.hubs, problem.road_factor)
    # variable layout: x (P,S,T) | z (S,H,T) | y (S,T) | w (H,T)
    nx, nz, ny, nw = P * S * T, S * H * T, S * T, H * T
    ox, oz, oy, ow = 0, nx, nx + nz, nx + nz + ny
    n = ow + nw

    def ix(
        i: NDArray[np.int64] | int, s: NDArray[np.int64] | int, t: NDArray[np.int64] | int
    ) -> NDArray[np.int64]:
        return np.asarray(ox + (np.asarray(i) * S + s) * T + t)

    def iz(
        s: NDArray[np.int64] | int, h: NDArray[np.int64] | int, t: NDArray[np.int64] | int
    ) -> NDArray[np.int64]:
        return np.asarray(oz + (np.asarray(s) * H + h) * T + t)

    def iy(s: NDArray[np.int64] | int, t: NDArray[np.int64] | int) -> NDArray[np.int64]:
        return np.asarray(oy + np.asarray(s) * T + t)

    def iw(h: NDArray[np.int64] | int, t: NDArray[np.int64] | int) -> NDArray[np.int64]:
        return np.asarray(ow + np.asarray(h) * T + t)

    var_s = np.asarray([s.variable_cost_usd_per_t for s in problem.spokes])
    var_h = np.asarray([h.variable_cost_usd_per_t for h in problem.hubs])
    c = np.zeros(n)
    c[ox:oz] = np.repeat((var_s[None, :] + problem.hazmat_usd_per_t_km * d_ps).ravel(), T)
    c[oz:oy] = np.repeat((var_h[None, :] + problem.output_usd_per_t_km * d_sh).ravel(), T)
    c[oy:ow] = np.repeat([s.fixed_cost_usd_per_year for s in problem.spokes], T)
    c[ow:] = np.repeat([h.fixed_cost_usd_per_year for h in problem.hubs], T)
    c[iy(np.arange(S), T - 1)] += [s.opening_cost_usd for s in problem.spokes]
    c[iw(np.arange(H), T - 1)] += [h.opening_cost_usd for h in problem.hubs]

    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    vals: list[NDArray[np.float64]] = []
    lo: list[NDArray[np.float64]] = []
    hi: list[NDArray[np.float64]] = []
    r0 = 0

    def add(
        r: NDArray[np.int64],
        col: NDArray[np.int64],
        v: NDArray[np.float64] | float,
        nrows: int,
        low: NDArray[np.float64],
        high: NDArray[np.float64],
    ) -> None:
        nonlocal r0
        rows.append(np.asarray(r, dtype=np.int64).ravel() + r0)
        cols.append(np.asarray(col, dtype=np.int64).ravel())
        vals.append(np.broadcast_to(np.asarray(v, dtype=np.float64), np.asarray(col).shape).ravel())
        lo.append(np.asarray(low, dtype=np.float64))
        hi.append(np.asarray(high, dtype=np.float64))
        r0 += nrows

    Ig, Sg, Tg = np.meshgrid(np.arange(P), np.arange(S), np.arange(T), indexing="ij")
    # demand: row per (i, t)
    add(Ig * T + Tg, ix(Ig, Sg, Tg), 1.0, P * T, vol.ravel(), vol.ravel())
    # spoke capacity: sum_i x - K y <= 0, row per (s, t)
    cap_s = np.asarray([s.capacity_t_per_year for s in problem.spokes])
    Sy, Ty = np.meshgrid(np.arange(S), np.arange(T), indexing="ij")
    add(
        np.concatenate([(Sg * T + Tg).ravel(), (Sy * T + Ty).ravel()]),
        np.concatenate([ix(Ig, Sg, Tg).ravel(), iy(Sy, Ty).ravel()]),
        np.concatenate([np.ones(nx), -np.repeat(cap_s, T)]),
        S * T,
        np.full(S * T, -np.inf),
        np.zeros(S * T),
    )
    # spoke output: sum_h z - r sum_i x = 0, row per (s, t)
    S2, H2, T2 = np.meshgrid(np.arange(S), np.arange(H), np.arange(T), indexing="ij")
    add(
        np.concatenate([(S2 * T + T2).ravel(), (Sg * T + Tg).ravel()]),
        np.concatenate([iz(S2, H2, T2).ravel(), ix(Ig, Sg, Tg).ravel()]),
        np.concatenate([np.ones(nz), np.full(nx, -problem.spoke_output_ratio)]),
        S * T,
        np.zeros(S * T),
        np.zeros(S * T),
    )
    # hub capacity: sum_s z - K w <= 0, row per (h, t)
    cap_h = np.asarray([h.capacity_t_per_year for h in problem.hubs])
    Hw, Tw = np.meshgrid(np.arange(H), np.arange(T), indexing="ij")
    add(
        np.concatenate([(H2 * T + T2).ravel(), (Hw * T + Tw).ravel()]),
        np.concatenate([iz(S2, H2, T2).ravel(), iw(Hw, Tw).ravel()]),
        np.concatenate([np.ones(nz), -np.repeat(cap_h, T)]),
        H * T,
        np.full(H * T, -np.inf),
        np.zeros(H * T),
    )
    # sites stay open: y_t-1 - y_t <= 0
    if T > 1:
        Sm, Tm = np.meshgrid(np.arange(S), np.arange(1, T), indexing="ij")
        k = np.arange(S * (T - 1)).reshape(S, T - 1)
        add(
            np.concatenate([k.ravel(), k.ravel()]),
            np.concatenate([iy(Sm, Tm - 1).ravel(), iy(Sm, Tm).ravel()]),
            np.concatenate([np.ones(k.size), -np.ones(k.size)]),
            k.size,
            np.full(k.size, -np.inf),
            np.zeros(k.size),
        )
        Hm, Tm2 = np.meshgrid(np.arange(H), np.arange(1, T), indexing="ij")
        k2 = np.arange(H * (T - 1)).reshape(H, T - 1)
        add(
            np.concatenate([k2.ravel(), k2.ravel()]),
            np.concatenate([iw(Hm, Tm2 - 1).ravel(), iw(Hm, Tm2).ravel()]),
            np.concatenate([np.ones(k2.size), -np.ones(k2.size)]),
            k2.size,
            np.full(k2.size, -np.inf),
            np.zeros(k2.size),
        )
    # ---- valid inequalities (tightening; none cuts off an integer solution) --------------------------
    total_t = vol.sum(axis=0)
    if strengthen:
        # (a) cover rows: the sites open in a year can take that year's whole volume, sum_s K_s y_st >= V_t and
        #     sum_h K_h w_ht >= r V_t. The relaxation otherwise opens a sliver of every cheap site.
        add(
            np.repeat(np.arange(T), S),
            iy(np.tile(np.arange(S), T), np.repeat(np.arange(T), S)),
            np.tile(cap_s, T),
            T,
            total_t,
            np.full(T, np.inf),
        )
        add(
            np.repeat(np.arange(T), H),
            iw(np.tile(np.arange(H), T), np.repeat(np.arange(T), H)),
            np.tile(cap_h, T),
            T,
            total_t * problem.spoke_output_ratio,
            np.full(T, np.inf),
        )
        # (b) every spoke-to-hub flow is linked to its hub: z_sht <= min(K_h, r K_s) w_ht (S x H x T rows,
        #     few: 600 at 20 x 10 x 3)
        u_z = np.minimum(cap_h[None, :], problem.spoke_output_ratio * cap_s[:, None])  # (S, H)
        kz = np.arange(S * H * T)
        add(
            np.concatenate([kz, kz]),
            np.concatenate([iz(S2, H2, T2).ravel(), iw(H2, T2).ravel()]),
            np.concatenate([np.ones(kz.size), -np.repeat(u_z.ravel(), T)]),
            kz.size,
            np.full(kz.size, -np.inf),
            np.zeros(kz.size),
        )
        # (c) symmetry: of two candidate sites identical in every respect, the first opens first
        for sites, index in ((problem.spokes, iy), (problem.hubs, iw)):
            seen: dict[tuple[float, ...], int] = {}
            for j, site in enumerate(sites):
                twin = (site.lat, site.lon, site.capacity_t_per_year, site.fixed_cost_usd_per_year,
                        site.variable_cost_usd_per_t, site.opening_cost_usd)  # fmt: skip
                if twin in seen:
                    first = seen[twin]
                    add(
                        np.concatenate([np.arange(T), np.arange(T)]),
                        np.concatenate([index(j, np.arange(T)), index(first, np.arange(T))]),
                        np.concatenate([np.ones(T), -np.ones(T)]),
                        T,
                        np.full(T, -np.inf),
                        np.zeros(T),
                    )
                else:
                    seen[twin] = j

    upper = np.full(n, np.inf)
    upper[oy:] = 1.0
    # a flow never exceeds the point's volume nor the spoke's capacity
    u_x = np.minimum(vol[:, None, :], cap_s[None, :, None])  # (P, S, T)
    if strengthen:
        upper[ox:oz] = u_x.ravel()
    if problem.max_km is not None:
        far = np.repeat((d_ps > problem.max_km).ravel(), T)
        upper[ox:oz][far] = 0.0
    integrality = np.zeros(n)
    integrality[oy:] = 1
    scale = 1.0 / max(1.0, float(np.abs(c).max()))  # HiGHS works best with costs near 1

    # (d) the strong point-to-spoke links x_ist <= min(V_it, K_s) y_st, added only where the relaxation
    #     breaks them: a few rounds of the root LP (P x S x T = 12,000 rows at 200 x 20 x 3 would slow
    #     every node; the rounds add the few hundred that bind)
    started = time.perf_counter()
    added = 0
    have = np.zeros(nx, dtype=bool)
    lp_x: NDArray[np.float64] | None = None
    lp_bound = -np.inf
    for _ in range(CUT_ROUNDS if strengthen else 0):
        if time.perf_counter() - started > CUT_SHARE * time_limit_s:
            break
        A = coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r0, n)
        ).tocsr()
        lp = milp(
            c * scale,
            constraints=LinearConstraint(A, np.concatenate(lo), np.concatenate(hi)),
            bounds=Bounds(np.zeros(n), upper),
            options={"time_limit": max(1.0, CUT_SHARE * time_limit_s)},
        )
        if lp.x is None:
            break
        lp_x, lp_bound = lp.x, float(lp.fun)
        xv = lp.x[ox:oz]
        yv = np.repeat(lp.x[oy:ow].reshape(S, T)[None, :, :], P, axis=0).ravel()
        violated = np.flatnonzero((xv - u_x.ravel() * yv > 1e-6 * np.maximum(u_x.ravel(), 1.0)) & ~have)
        if violated.size == 0:
            break
        have[violated] = True
        vi, vs, vt = np.unravel_index(violated, (P, S, T))
        kk = np.arange(violated.size)
        add(
            np.concatenate([kk, kk]),
            np.concatenate([ix(vi, vs, vt), iy(vs, vt)]),
            np.concatenate([np.ones(kk.size), -u_x[vi, vs, vt]]),
            kk.size,
            np.full(kk.size, -np.inf),
            np.zeros(kk.size),
        )
        added += int(violated.size)

    A = coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r0, n)
    ).tocsr()
    constraints = LinearConstraint(A, np.concatenate(lo), np.concatenate(hi))

    def solution(xv: NDArray[np.float64], cost: float, gap: float, proven: bool) -> NetworkSolution:
        return NetworkSolution(
            problem=problem,
            spoke_open=xv[oy:ow].reshape(S, T) > 0.5,
            hub_open=xv[ow:].reshape(H, T) > 0.5,
            x=np.clip(xv[ox:oz].reshape(P, S, T), 0.0, None),
            z=np.clip(xv[oz:oy].reshape(S, H, T), 0.0, None),
            d_ps=d_ps,
            d_sh=d_sh,
            total_cost_usd=cost / scale,
            mip_gap=gap,
            proven_optimal=proven,
            links_added=added,
        )

    # (e) a first network from the root LP: open what the LP opens (above a threshold, kept open in later
    #     years), flows by LP. When its cost is within ``mip_rel_gap`` of the LP bound it is proven good
    #     enough and the MILP is not needed; otherwise it is kept in case the MILP finds nothing better.
    incumbent: tuple[NDArray[np.float64], float] | None = None
    if lp_x is not None:
        y_lp, w_lp = lp_x[oy:ow].reshape(S, T), lp_x[ow:].reshape(H, T)
        for threshold in ROUNDING_THRESHOLDS:
            opened = np.concatenate(
                [
                    _cover(y_lp, cap_s, total_t, threshold),
                    _cover(w_lp, cap_h, total_t * problem.spoke_output_ratio, threshold),
                ]
            ).ravel()
            low, high = np.zeros(n), upper.copy()
            low[oy:] = high[oy:] = opened.astype(np.float64)
            fixed = milp(
                c * scale,
                constraints=constraints,
                bounds=Bounds(low, high),
                options={"time_limit": max(1.0, CUT_SHARE * time_limit_s)},
            )
            if fixed.status == 0 and fixed.x is not None and (incumbent is None or fixed.fun < incumbent[1]):
                incumbent = (fixed.x, float(fixed.fun))
        # and the MILP restricted to the sites the LP leaves undecided: sites it opens fully stay open, sites
        # it leaves closed stay closed (few binaries, so HiGHS settles it quickly)
        shares = lp_x[oy:]
        low, high = np.zeros(n), upper.copy()
        low[oy:] = (shares >= 1 - FIX_SHARE).astype(np.float64)
        high[oy:] = (shares > FIX_SHARE).astype(np.float64)
        if incumbent is not None:
            high[oy:] = np.maximum(high[oy:], incumbent[0][oy:] > 0.5)  # keep the first network reachable
        restricted = milp(
            c * scale,
            constraints=constraints,
            integrality=integrality,
            bounds=Bounds(low, high),
            options={"time_limit": max(1.0, CUT_SHARE * time_limit_s), "mip_rel_gap": mip_rel_gap / 10},
        )
        if restricted.x is not None and (incumbent is None or restricted.fun < incumbent[1]):
            incumbent = (restricted.x, float(restricted.fun))
        if incumbent is not None:
            gap = (incumbent[1] - lp_bound) / max(abs(incumbent[1]), 1e-12)
            if gap <= mip_rel_gap:
                return solution(incumbent[0], incumbent[1], max(gap, 0.0), True)

    remaining = max(1.0, time_limit_s - (time.perf_counter() - started))
    res = milp(
        c * scale,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(np.zeros(n), upper),
        options={"time_limit": remaining, "mip_rel_gap": mip_rel_gap},
    )
    if res.status == 2:
        raise ValidationError(
            "infeasible: no choice of sites serves every point's volume within the capacities and reach given"
        )
    mip_gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    if incumbent is not None and (res.x is None or incumbent[1] < float(res.fun)):
        bound = max(lp_bound, float(getattr(res, "mip_dual_bound", lp_bound) or lp_bound))
        gap = max(0.0, (incumbent[1] - bound) / max(abs(incumbent[1]), 1e-12))
        return solution(incumbent[0], incumbent[1], gap, gap <= mip_rel_gap)
    if res.x is None:
        raise ValidationError(f"the solver stopped without a network: {res.message}")
    return solution(res.x, float(res.fun), mip_gap, res.status == 0)


def _cover(
    share: NDArray[np.float64], capacity: NDArray[np.float64], need: NDArray[np.float64], threshold: float
) -> NDArray[np.bool_]:
    """Sites to open per year (sites x years) from the LP's opening shares: every site above ``threshold``,
    then the largest shares until the capacity covers the year's need; a site open stays open."""
    opened = share > threshold
    for t in range(share.shape[1]):
        for j in np.argsort(-share[:, t], kind="stable"):
            if capacity[opened[:, t]].sum() >= need[t] * (1 + 1e-9):
                break
            if share[j, t] > 1e-9:
                opened[j, t] = True
    out: NDArray[np.bool_] = np.maximum.accumulate(opened, axis=1)
    return out


def synthetic_problem(
    n_points: int, n_spokes: int, n_hubs: int, *, years: Sequence[int] = (2026, 2028, 2030), seed: int = 0
) -> NetworkProblem:
    """A seeded instance over a 1,000 km square around central Europe (for benchmarks and examples)."""
    rng = np.random.default_rng(seed)

    def coords(k: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return rng.uniform(45.0, 54.0, k), rng.uniform(2.0, 16.0, k)

    T = len(years)
    growth = np.linspace(1.0, 2.0, T)
    plat, plon = coords(n_points)
    base = rng.lognormal(np.log(300.0), 0.8, n_points)
    points = tuple(
        Point(f"P{i}", float(plat[i]), float(plon[i]), tuple(float(v) for v in base[i] * growth))
        for i in range(n_points)
    )
    total = float(base.sum() * growth[-1])
    slat, slon = coords(n_spokes)
    spokes = tuple(
        Site(
            f"S{k}",
            "spoke",
            float(slat[k]),
            float(slon[k]),
            float(total / n_spokes * 3.0),
            float(rng.uniform(0.8e6, 1.5e6)),
            float(rng.uniform(150, 250)),
            float(rng.uniform(2e6, 4e6)),
        )
        for k in range(n_spokes)
    )
    hlat, hlon = coords(n_hubs)
    hubs = tuple(
        Site(
            f"H{k}",
            "hub",
            float(hlat[k]),
            float(hlon[k]),
            float(total * 0.4 / n_hubs * 2.5),
            float(rng.uniform(5e6, 9e6)),
            float(rng.uniform(400, 700)),
            float(rng.uniform(1e7, 2e7)),
        )
        for k in range(n_hubs)
    )
    return NetworkProblem(tuple(years), points, spokes, hubs, 0.114, 0.06, 0.4, 1.3)


def problem_from_mapping(data: Mapping[str, Any], defaults: Mapping[str, float]) -> NetworkProblem:
    """An instance from a parsed TOML/JSON document: ``years``, ``[[points]]`` (id, lat, lon, volumes_t),
    ``[[spokes]]`` and ``[[hubs]]`` (id, lat, lon, capacity_t_per_year, fixed_cost_usd_per_year,
    variable_cost_usd_per_t, opening_cost_usd), optional ``max_km`` and any of the ``defaults`` keys."""

    def num(raw: Any, where: str) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValidationError(f"{where} must be a number, got {raw!r}")
        return float(raw)

    def items(key: str) -> list[Mapping[str, Any]]:
        raw = data.get(key)
        if not isinstance(raw, list | tuple) or not raw:
            raise ValidationError(f"the network needs a non-empty list {key!r}")
        for k, item in enumerate(raw):
            if not isinstance(item, Mapping):
                raise ValidationError(f"{key}[{k}] must be a table")
        return list(raw)

    def need(item: Mapping[str, Any], name: str, where: str) -> Any:
        if name not in item:
            raise ValidationError(f"{where}: {name} is missing")
        return item[name]

    unknown = set(data) - {"years", "points", "spokes", "hubs", "max_km", *defaults}
    if unknown:
        raise ValidationError(f"unknown network key(s): {', '.join(sorted(unknown))}")
    years_raw = data.get("years")
    if (
        not isinstance(years_raw, list | tuple)
        or not years_raw
        or not all(isinstance(y, int) and not isinstance(y, bool) for y in years_raw)
    ):
        raise ValidationError("years must be a non-empty list of whole years")
    points = []
    for k, item in enumerate(items("points")):
        where = f"points[{k}]"
        vols = need(item, "volumes_t", where)
        if not isinstance(vols, list | tuple):
            raise ValidationError(f"{where}: volumes_t must be a list, one per year")
        points.append(
            Point(
                str(need(item, "id", where)),
                num(need(item, "lat", where), f"{where}.lat"),
                num(need(item, "lon", where), f"{where}.lon"),
                tuple(num(v, f"{where}.volumes_t") for v in vols),
            )
        )
    sites: dict[str, list[Site]] = {"spokes": [], "hubs": []}
    for key, kind in (("spokes", "spoke"), ("hubs", "hub")):
        for k, item in enumerate(items(key)):
            where = f"{key}[{k}]"
            sites[key].append(
                Site(
                    str(need(item, "id", where)),
                    kind,
                    num(need(item, "lat", where), f"{where}.lat"),
                    num(need(item, "lon", where), f"{where}.lon"),
                    num(need(item, "capacity_t_per_year", where), f"{where}.capacity_t_per_year"),
                    num(need(item, "fixed_cost_usd_per_year", where), f"{where}.fixed_cost_usd_per_year"),
                    num(need(item, "variable_cost_usd_per_t", where), f"{where}.variable_cost_usd_per_t"),
                    num(item.get("opening_cost_usd", 0.0), f"{where}.opening_cost_usd"),
                )
            )
    settings = {k: num(data.get(k, v), k) for k, v in defaults.items()}
    max_km = data.get("max_km")
    return NetworkProblem(
        years=tuple(int(y) for y in years_raw),
        points=tuple(points),
        spokes=tuple(sites["spokes"]),
        hubs=tuple(sites["hubs"]),
        hazmat_usd_per_t_km=settings["hazmat_usd_per_t_km"],
        output_usd_per_t_km=settings["onward_usd_per_t_km"],
        spoke_output_ratio=settings["spoke_output_ratio"],
        road_factor=settings["road_factor"],
        max_km=None if max_km is None else num(max_km, "max_km"),
    )
