"""Analytics use cases: triage of tested batteries, retirement forecast, collection-network design.

Typed inputs, options keyword-only, frozen results, domain errors. Each result lists the unverified cited
values it rests on (``unverified``), as ``set:path``. Nothing here prints, formats or opens a database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from batteryloop.analytics.core import params
from batteryloop.analytics.core.forecast import (
    Cohorts,
    Forecast,
    LedgerCohortBuilder,
    default_cohorts,
    forecast_params,
    run_forecast,
)
from batteryloop.analytics.core.network import NetworkProblem, NetworkSolution, problem_from_mapping, solve
from batteryloop.analytics.core.soh import FadeFit
from batteryloop.analytics.core.triage import TriageBatch, TriageProfile, TriageResult, read_csv, triage
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import EventType

if TYPE_CHECKING:
    from batteryloop.ledger import RecordedEvent

Overrides = Sequence[Path | Mapping[str, Any]]

__all__ = [
    "EventSource",
    "ForecastOutcome",
    "NetworkOutcome",
    "SohEstimate",
    "TriageOutcome",
    "design_network",
    "estimate_soh_csv",
    "fade_model_error",
    "fit_fade_csv",
    "forecast",
    "forecast_cohorts",
    "ledger_cohorts",
    "load_profile",
    "network_problem",
    "read_network_file",
    "triage_batch",
    "triage_csv",
]


def _unverified(name: str, pset: params.ParameterSet) -> tuple[str, ...]:
    return tuple(f"{name}:{path}" for path in pset.unverified())


# ----------------------------------------------------------------------------------------------- triage


@dataclass(frozen=True)
class TriageOutcome:
    """The decisions of a batch and the unverified profile values they rest on."""

    result: TriageResult
    unverified: tuple[str, ...]


def load_profile(*, overrides: Overrides = ()) -> tuple[TriageProfile, tuple[str, ...]]:
    """The packaged grading profile with ``overrides`` (files or mappings) layered on top."""
    pset = params.load("triage", overrides=overrides)
    return TriageProfile.from_values(params.values(pset)), _unverified("triage", pset)


def triage_batch(batch: TriageBatch, *, overrides: Overrides = ()) -> TriageOutcome:
    """Grade and route every battery of ``batch`` (see :mod:`batteryloop.analytics.core.triage`)."""
    profile, unverified = load_profile(overrides=overrides)
    return TriageOutcome(triage(batch, profile), unverified)


def triage_csv(text: str, *, overrides: Overrides = ()) -> TriageOutcome:
    """:func:`triage_batch` of a CSV document (header row; columns as ``core.triage.COLUMNS``)."""
    return triage_batch(read_csv(text), overrides=overrides)


# ------------------------------------------------------------------------------------ retirement forecast

SOURCES: tuple[str, ...] = ("defaults", "ledger", "both")
MAX_DRAWS = 5000


class EventSource(Protocol):
    """What the forecast reads of ``batteryloop.ledger.Ledger``: its events in position order."""

    def iter_events(
        self, *, after_position: int = 0, batch_size: int | None = None
    ) -> Iterator[RecordedEvent]: ...


@dataclass(frozen=True)
class ForecastOutcome:
    """Retirements with bands, the sources used, and what the ledger could not count."""

    forecast: Forecast
    sources: tuple[str, ...]
    ledger_units: int
    ledger_missing_energy: int
    unverified: tuple[str, ...]


def ledger_cohorts(ledger: EventSource, *, overrides: Overrides = ()) -> tuple[Cohorts, int]:
    """Packs and systems placed on the market, from the ledger's events, and how many had no rated energy."""
    pset = params.load("forecast", overrides=overrides)
    builder = LedgerCohortBuilder(
        country_region=dict(pset.value("ledger.country_region")),
        bus_min_kwh=float(pset.value("ledger.bus_min_kwh")),
    )
    for event in ledger.iter_events():
        if event.event_type is EventType.BATTERY_MANUFACTURED:
            builder.manufactured(event.battery_id, event.payload)
        elif event.event_type is EventType.BATTERY_PLACED_ON_MARKET:
            builder.placed(event.battery_id, event.occurred_at.year, event.payload)
    return builder.cohorts(), builder.missing_energy


def forecast_cohorts(
    cohorts: Cohorts,
    *,
    first_year: int = 2020,
    last_year: int = 2040,
    draws: int = 200,
    seed: int = 0,
    scrap: bool = True,
    overrides: Overrides = (),
) -> ForecastOutcome:
    """Retirements of given cohorts (e.g. aggregated from a register of batteries)."""
    _check_years(first_year, last_year, draws)
    pset = params.load("forecast", overrides=overrides)
    with pset.track() as used:
        fp = forecast_params(params.values(pset), low_high=_ranges(pset))
    result = run_forecast(
        cohorts, fp, years=range(first_year, last_year + 1), draws=draws, seed=seed, scrap=scrap
    )
    unverified = tuple(f"forecast:{p}" for p in used.unverified_paths())
    return ForecastOutcome(result, ("cohorts",), int(cohorts.units.sum()), 0, unverified)


def forecast(
    ledger: EventSource | None,
    *,
    source: str = "defaults",
    first_year: int = 2020,
    last_year: int = 2040,
    draws: int = 200,
    seed: int = 0,
    scrap: bool = True,
    overrides: Overrides = (),
) -> ForecastOutcome:
    """Retired batteries per region, year and chemistry, in units, GWh and tonnes, with low/central/high bands.

    ``source``: ``defaults`` (the cited sales series), ``ledger`` (packs placed on the market recorded in
    ``ledger``) or ``both`` (their sum: use it when the ledger holds batteries the default series do not)."""
    if source not in SOURCES:
        raise ValidationError(f"unknown source {source!r}: use one of {', '.join(SOURCES)}")
    if source != "defaults" and ledger is None:
        raise ValidationError(f"source {source!r} needs a ledger")
    _check_years(first_year, last_year, draws)
    pset = params.load("forecast", overrides=overrides)
    parts: list[Cohorts] = []
    ledger_units = missing = 0
    with pset.track() as used:
        values = params.values(pset) if source != "ledger" else {}
        if source in ("defaults", "both"):
            parts.append(default_cohorts(values, first_year=2012, last_year=last_year))
        if source in ("ledger", "both"):
            assert ledger is not None
            recorded, missing = ledger_cohorts(ledger, overrides=overrides)
            ledger_units = int(recorded.units.sum())
            if ledger_units == 0 and source == "ledger":
                raise ValidationError(
                    "the ledger holds no pack or system placed on the market: nothing to forecast"
                )
            parts.append(recorded)
        fp = forecast_params(params.values(pset), low_high=_ranges(pset))
    cohorts = Cohorts.concat(parts)
    result = run_forecast(
        cohorts, fp, years=range(first_year, last_year + 1), draws=draws, seed=seed, scrap=scrap
    )
    unverified = tuple(f"forecast:{p}" for p in used.unverified_paths())
    sources = ("defaults", "ledger") if source == "both" else (source,)
    return ForecastOutcome(result, sources, ledger_units, missing, unverified)


def _check_years(first_year: int, last_year: int, draws: int) -> None:
    if not 2000 <= first_year <= last_year <= 2100:
        raise ValidationError(f"forecast years {first_year}-{last_year}: give 2000 <= first <= last <= 2100")
    if not 10 <= draws <= MAX_DRAWS:
        raise ValidationError(f"draws must be between 10 and {MAX_DRAWS}, got {draws}")


def _ranges(pset: params.ParameterSet) -> dict[str, tuple[float | None, float | None]]:
    return {path: (p.low, p.high) for path, p in pset.items()}


# ---------------------------------------------------------------------------------- collection network


@dataclass(frozen=True)
class NetworkOutcome:
    solution: NetworkSolution
    unverified: tuple[str, ...]


def network_problem(
    data: Mapping[str, Any], *, overrides: Overrides = ()
) -> tuple[NetworkProblem, params.ParameterSet]:
    """An instance from a parsed network document, with the cited defaults for what it leaves out."""
    pset = params.load("network", overrides=overrides)
    defaults = {
        "hazmat_usd_per_t_km": float(pset.value("transport.hazmat_usd_per_t_km")),
        "onward_usd_per_t_km": float(pset.value("transport.onward_usd_per_t_km")),
        "road_factor": float(pset.value("transport.road_factor")),
        "spoke_output_ratio": float(pset.value("process.spoke_output_ratio")),
    }
    return problem_from_mapping(data, defaults), pset


def read_network_file(path: Path) -> dict[str, Any]:
    """A network document from a ``.toml`` or ``.json`` file."""
    import json
    import tomllib

    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValidationError(f"{path}: the network must be a JSON object")
            return data
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{path} is not valid {suffix[1:].upper()}: {exc}") from exc
    raise ValidationError(f"{path}: a network file must be .toml or .json")


def design_network(
    data: Mapping[str, Any], *, time_limit_s: float | None = None, overrides: Overrides = ()
) -> NetworkOutcome:
    """Choose spoke and hub sites and flows at least total cost over the years (MILP, HiGHS); a
    :class:`ValidationError` says why when no network can serve the volumes."""
    problem, pset = network_problem(data, overrides=overrides)
    limit = float(pset.value("solver.time_limit_s")) if time_limit_s is None else time_limit_s
    if not 0 < limit <= 3600:
        raise ValidationError(f"time limit must be between 0 and 3600 s, got {limit}")
    solution = solve(problem, time_limit_s=limit, mip_rel_gap=float(pset.value("solver.mip_rel_gap")))
    used = (
        "transport.hazmat_usd_per_t_km",
        "transport.onward_usd_per_t_km",
        "transport.road_factor",
        "process.spoke_output_ratio",
    )
    unverified = tuple(f"network:{p}" for p in used if pset.get(p).quality == "unverified")
    return NetworkOutcome(solution, unverified)


# ------------------------------------------------------------------------------- SOH and remaining life


@dataclass(frozen=True)
class SohEstimate:
    capacity_ah: float
    soh_pct: float
    rated_ah: float
    samples: int


def _numeric_csv(text: str, columns: tuple[str, str]) -> tuple[list[float], list[float]]:
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValidationError(
            f"the CSV needs the columns {', '.join(columns)}; missing: {', '.join(missing)}"
        )
    first: list[float] = []
    second: list[float] = []
    for number, row in enumerate(reader, start=2):
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        try:
            first.append(float(clean[columns[0]]))
            second.append(float(clean[columns[1]]))
        except ValueError:
            raise ValidationError(
                f"CSV line {number}: {columns[0]} and {columns[1]} must be numbers"
            ) from None
    return first, second


def estimate_soh_csv(text: str, *, rated_ah: float) -> SohEstimate:
    """Capacity (coulomb counting) and SOH of one full discharge given as CSV ``time_s,current_a``."""
    from batteryloop.analytics.core.soh import soh_from_discharge

    time_s, current_a = _numeric_csv(text, ("time_s", "current_a"))
    capacity, soh = soh_from_discharge(time_s, current_a, rated_ah=rated_ah)
    return SohEstimate(capacity, soh, rated_ah, len(time_s))


def fit_fade_csv(text: str, *, eol_pct: float = 80.0) -> FadeFit:
    """The power-law fade model fitted to CSV ``cycles,soh_pct``, with the remaining useful life."""
    from batteryloop.analytics.core.soh import fit_fade

    cycles, soh = _numeric_csv(text, ("cycles", "soh_pct"))
    return fit_fade(cycles, soh, eol_pct=eol_pct)


def fade_model_error(
    *, cells: int = 200, observed_share: float = 0.3, eol_pct: float = 80.0, seed: int = 0
) -> dict[str, float]:
    """Error of the end-of-life projection on synthetic ageing data: fit the first ``observed_share`` of
    each cell's observations, compare the projected end-of-life cycle with the true one."""
    import numpy as np

    from batteryloop.analytics.core.soh import fit_fade, synthetic_ageing

    if not 0 < observed_share <= 1:
        raise ValidationError(f"observed_share must be in (0, 1], got {observed_share}")
    errors = []
    for cell in synthetic_ageing(cells, seed=seed):
        k = max(3, int(observed_share * cell.cycles.shape[0]))
        fit = fit_fade(cell.cycles[:k], cell.soh_pct[:k], eol_pct=eol_pct)
        true = cell.true_eol_cycle(eol_pct)
        errors.append((fit.eol_cycle - true, true))
    err = np.asarray(errors)
    return {
        "cells": float(cells),
        "mae_cycles": float(np.mean(np.abs(err[:, 0]))),
        "mape_pct": float(np.mean(np.abs(err[:, 0]) / err[:, 1]) * 100),
        "median_ape_pct": float(np.median(np.abs(err[:, 0]) / err[:, 1]) * 100),
    }
