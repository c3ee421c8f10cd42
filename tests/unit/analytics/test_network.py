"""Collection network: the MILP optimum equals a brute-force search over every opening plan (each plan's
flows solved as an LP), infeasible instances say why, and the costs add up."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog

from batteryloop.analytics import service
from batteryloop.analytics.core.network import (
    NetworkProblem,
    Point,
    Site,
    distances_km,
    solve,
    synthetic_problem,
)
from batteryloop.domain.errors import ValidationError


def brute_force(problem: NetworkProblem) -> float:
    """Every plan of opening years (never, or from year t on) for every site; flows by LP for each plan."""
    P, S, H, T = len(problem.points), len(problem.spokes), len(problem.hubs), len(problem.years)
    vol = problem.volumes()
    d_ps = distances_km(problem.points, problem.spokes, problem.road_factor)
    d_sh = distances_km(problem.spokes, problem.hubs, problem.road_factor)
    best = np.inf
    choices = range(T + 1)  # opening year index; T = never
    for plan in itertools.product(choices, repeat=S + H):
        open_s = np.array([[t >= plan[s] for t in range(T)] for s in range(S)])
        open_h = np.array([[t >= plan[S + h] for t in range(T)] for h in range(H)])
        fixed = sum(problem.spokes[s].fixed_cost_usd_per_year * open_s[s].sum() for s in range(S))
        fixed += sum(problem.hubs[h].fixed_cost_usd_per_year * open_h[h].sum() for h in range(H))
        fixed += sum(problem.spokes[s].opening_cost_usd for s in range(S) if plan[s] < T)
        fixed += sum(problem.hubs[h].opening_cost_usd for h in range(H) if plan[S + h] < T)
        total = fixed
        feasible = True
        for t in range(T):
            nx, nz = P * S, S * H
            c = np.concatenate(
                [
                    (
                        np.asarray([s.variable_cost_usd_per_t for s in problem.spokes])[None, :]
                        + problem.hazmat_usd_per_t_km * d_ps
                    ).ravel(),
                    (
                        np.asarray([h.variable_cost_usd_per_t for h in problem.hubs])[None, :]
                        + problem.output_usd_per_t_km * d_sh
                    ).ravel(),
                ]
            )
            a_eq, b_eq, a_ub, b_ub = [], [], [], []
            for i in range(P):
                row = np.zeros(nx + nz)
                row[i * S : (i + 1) * S] = 1
                a_eq.append(row)
                b_eq.append(vol[i, t])
            for s in range(S):
                row = np.zeros(nx + nz)
                row[[i * S + s for i in range(P)]] = 1
                a_ub.append(row)
                b_ub.append(problem.spokes[s].capacity_t_per_year if open_s[s, t] else 0.0)
                row2 = np.zeros(nx + nz)
                row2[nx + s * H : nx + (s + 1) * H] = 1
                row2[[i * S + s for i in range(P)]] = -problem.spoke_output_ratio
                a_eq.append(row2)
                b_eq.append(0.0)
            for h in range(H):
                row = np.zeros(nx + nz)
                row[[nx + s * H + h for s in range(S)]] = 1
                a_ub.append(row)
                b_ub.append(problem.hubs[h].capacity_t_per_year if open_h[h, t] else 0.0)
            res = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, None))
            if res.status != 0:
                feasible = False
                break
            total += res.fun
        if feasible:
            best = min(best, total)
    return float(best)


def small(seed: int, years: tuple[int, ...] = (2026, 2027)) -> NetworkProblem:
    rng = np.random.default_rng(seed)
    growth = np.linspace(1.0, 1.8, len(years))
    points = tuple(
        Point(
            f"P{i}",
            float(rng.uniform(48, 52)),
            float(rng.uniform(6, 12)),
            tuple(float(v) for v in rng.uniform(200, 900) * growth),
        )
        for i in range(3)
    )
    total = sum(p.volumes_t[-1] for p in points)
    spokes = tuple(
        Site(
            f"S{k}",
            "spoke",
            float(rng.uniform(48, 52)),
            float(rng.uniform(6, 12)),
            float(total * rng.uniform(0.45, 0.9)),
            float(rng.uniform(1e5, 4e5)),
            float(rng.uniform(100, 200)),
            float(rng.uniform(1e5, 6e5)),
        )
        for k in range(3)
    )
    hubs = tuple(
        Site(
            f"H{k}",
            "hub",
            float(rng.uniform(48, 52)),
            float(rng.uniform(6, 12)),
            float(total * 0.4 * rng.uniform(0.55, 1.1)),
            float(rng.uniform(3e5, 8e5)),
            float(rng.uniform(300, 600)),
            float(rng.uniform(5e5, 2e6)),
        )
        for k in range(2)
    )
    return NetworkProblem(years, points, spokes, hubs, 0.114, 0.06, 0.4, 1.3)


@pytest.mark.parametrize("strengthen", [True, False])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_milp_optimum_equals_brute_force(seed: int, strengthen: bool) -> None:
    problem = small(seed)
    expected = brute_force(problem)
    solution = solve(problem, mip_rel_gap=1e-9, strengthen=strengthen)
    assert solution.proven_optimal
    assert solution.total_cost_usd == pytest.approx(expected, rel=1e-6)
    assert solution.cost_breakdown()["total_usd"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_default_gap_stays_within_one_per_cent_of_brute_force(seed: int) -> None:
    problem = small(seed)
    expected = brute_force(problem)
    solution = solve(problem)  # mip_rel_gap 1 %: the first network from the root LP may be accepted
    assert solution.proven_optimal and solution.mip_gap <= 0.01 + 1e-9
    assert expected - 1e-6 * expected <= solution.total_cost_usd <= expected * 1.01 + 1e-6


def test_identical_sites_are_ordered_and_the_optimum_kept() -> None:
    problem = small(2)
    twin = problem.spokes[0]
    spokes = (*problem.spokes, Site("S-twin", "spoke", twin.lat, twin.lon, twin.capacity_t_per_year,
              twin.fixed_cost_usd_per_year, twin.variable_cost_usd_per_t, twin.opening_cost_usd))  # fmt: skip
    doubled = NetworkProblem(problem.years, problem.points, spokes, problem.hubs, 0.114, 0.06, 0.4, 1.3)
    plain = solve(doubled, mip_rel_gap=1e-9, strengthen=False)
    ordered = solve(doubled, mip_rel_gap=1e-9)
    assert ordered.total_cost_usd == pytest.approx(plain.total_cost_usd, rel=1e-6)
    # the twin never opens before (or without) the first of the pair
    assert (ordered.spoke_open[-1] <= ordered.spoke_open[0]).all()


def test_sites_opened_stay_open_and_capacities_hold() -> None:
    problem = small(7, years=(2026, 2028, 2030))
    sol = solve(problem, mip_rel_gap=1e-9)
    assert (np.diff(sol.spoke_open.astype(int), axis=1) >= 0).all()
    assert (np.diff(sol.hub_open.astype(int), axis=1) >= 0).all()
    np.testing.assert_allclose(sol.x.sum(axis=1), problem.volumes(), rtol=1e-6)
    for _kind, _site, _year, used, cap, share in sol.utilisation():
        assert used <= cap * (1 + 1e-6)
        if share is None:
            assert used == pytest.approx(0.0, abs=1e-6)
    assert sol.cost_per_t() == pytest.approx(sol.total_cost_usd / problem.volumes().sum())


def test_one_point_one_spoke_one_hub_by_hand() -> None:
    """100 t at the spoke's own place; spoke 10 km road from the hub (same latitude).
    Cost = spoke fixed 1,000 + opening 500 + 100 t x 20 USD/t + 40 t on x (30 USD/t + 10 km x 0.06)
         + hub fixed 2,000 + opening 700."""
    lat = 50.0
    dlon = 10.0 / (111.19492664455873 * np.cos(np.radians(lat)))  # 10 km along the parallel (approximately)
    point = Point("P", lat, 8.0, (100.0,))
    spoke = Site("S", "spoke", lat, 8.0, 500.0, 1000.0, 20.0, 500.0)
    hub = Site("H", "hub", lat, 8.0 + dlon, 500.0, 2000.0, 30.0, 700.0)
    problem = NetworkProblem((2026,), (point,), (spoke,), (hub,), 0.114, 0.06, 0.4, 1.0)
    sol = solve(problem)
    km = float(sol.d_sh[0, 0])
    assert km == pytest.approx(10.0, rel=2e-3)
    assert sol.total_cost_usd == pytest.approx(1000 + 500 + 100 * 20 + 40 * (30 + km * 0.06) + 2000 + 700)


def test_infeasible_capacity_says_which_year() -> None:
    problem = small(1)
    tight = NetworkProblem(
        problem.years,
        problem.points,
        tuple(
            Site(s.id, s.kind, s.lat, s.lon, 10.0, s.fixed_cost_usd_per_year, s.variable_cost_usd_per_t)
            for s in problem.spokes
        ),
        problem.hubs,
        0.114,
        0.06,
        0.4,
        1.3,
    )
    with pytest.raises(
        ValidationError,
        match=r"infeasible: year 2026: .* t to collect, but all candidate spokes together take 30 t/yr",
    ):
        solve(tight)


def test_infeasible_reach_names_the_point() -> None:
    p = small(2)
    far = NetworkProblem(p.years, p.points, p.spokes, p.hubs, 0.114, 0.06, 0.4, 1.3, max_km=1.0)
    with pytest.raises(ValidationError, match=r"infeasible: point P0 has no spoke within 1 km"):
        solve(far)


def test_infeasible_hub_capacity() -> None:
    p = small(3)
    hubs = tuple(Site(h.id, h.kind, h.lat, h.lon, 1.0, 0.0, 0.0) for h in p.hubs)
    with pytest.raises(ValidationError, match="all candidate hubs together take 2 t/yr"):
        solve(NetworkProblem(p.years, p.points, p.spokes, hubs, 0.114, 0.06, 0.4, 1.3))


NETWORK: dict[str, Any] = {
    "years": [2026],
    "points": [{"id": "A", "lat": 50.0, "lon": 8.0, "volumes_t": [100]}],
    "spokes": [
        {
            "id": "S",
            "lat": 50.1,
            "lon": 8.1,
            "capacity_t_per_year": 500,
            "fixed_cost_usd_per_year": 1000,
            "variable_cost_usd_per_t": 20,
        }
    ],
    "hubs": [
        {
            "id": "H",
            "lat": 50.5,
            "lon": 8.5,
            "capacity_t_per_year": 500,
            "fixed_cost_usd_per_year": 2000,
            "variable_cost_usd_per_t": 30,
        }
    ],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"years": []}, "years must be a non-empty list"),
        ({"points": []}, "non-empty list 'points'"),
        ({"colour": "red"}, "unknown network key"),
        (
            {"points": [{"id": "A", "lat": 50.0, "lon": 8.0, "volumes_t": [100, 200]}]},
            "point A: 2 volumes for 1 years",
        ),
        ({"points": [{"id": "A", "lat": 95.0, "lon": 8.0, "volumes_t": [100]}]}, "latitude 95.0"),
        (
            {"points": [{"id": "A", "lat": 50.0, "lon": 8.0, "volumes_t": [-1]}]},
            "volumes must be finite and not negative",
        ),
        ({"spokes": [{"id": "S", "lat": 50.1, "lon": 8.1}]}, r"spokes\[0\]: capacity_t_per_year is missing"),
        ({"hubs": [{**NETWORK["hubs"][0], "id": "A"}]}, "ids must be unique; repeated: A"),
        ({"road_factor": 0.5}, "road_factor must be at least 1"),
    ],
)
def test_bad_network_documents(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        service.design_network({**NETWORK, **change})


def test_cited_defaults_fill_what_the_document_leaves_out() -> None:
    problem, _ = service.network_problem(NETWORK)
    assert problem.hazmat_usd_per_t_km == pytest.approx(0.114)
    assert problem.road_factor == pytest.approx(1.3)
    outcome = service.design_network({**NETWORK, "hazmat_usd_per_t_km": 0.2})
    assert outcome.solution.problem.hazmat_usd_per_t_km == 0.2
    assert "network:process.spoke_output_ratio" in outcome.unverified


def test_synthetic_instance_solves() -> None:
    sol = solve(synthetic_problem(15, 4, 2, seed=3))
    assert sol.collected_t == pytest.approx(float(sol.problem.volumes().sum()), rel=1e-6)
    assert sol.spoke_open[:, -1].any() and sol.hub_open[:, -1].any()


def test_a_point_whose_reachable_spokes_are_too_small_is_named() -> None:
    points = (Point("P1", 50.0, 8.01, (500.0,)), Point("P2", 50.0, 12.01, (100.0,)))
    spokes = (
        Site("A", "spoke", 50.0, 8.0, 100.0, 1e5, 100.0, 0.0),
        Site("B", "spoke", 50.0, 12.0, 10_000.0, 1e5, 100.0, 0.0),
    )
    hubs = (Site("H", "hub", 50.0, 10.0, 10_000.0, 1e6, 300.0, 0.0),)
    # all spokes together take 10,100 t for 600 t, but P1 reaches only A (100 t) within 50 km
    problem = NetworkProblem((2026,), points, spokes, hubs, 0.114, 0.06, 0.4, 1.3, max_km=50.0)
    with pytest.raises(
        ValidationError,
        match="infeasible: year 2026: point P1 has 500 t to collect, but the spokes it can reach take 100 t/yr",
    ):
        solve(problem)
    wider = NetworkProblem((2026,), points, spokes, hubs, 0.114, 0.06, 0.4, 1.3, max_km=500.0)
    assert solve(wider, mip_rel_gap=1e-9).x[0, 1, 0] >= 400.0 - 1e-6  # P1 now also ships to B
