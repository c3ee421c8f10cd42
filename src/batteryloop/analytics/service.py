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
    check_regions,
    default_cohorts,
    forecast_params,
    run_forecast,
)
from batteryloop.analytics.core.network import NetworkProblem, NetworkSolution, problem_from_mapping, solve
from batteryloop.analytics.core.soh import FadeFit
from batteryloop.analytics.core.triage import (
    GRADES,
    ROUTES,
    TriageBatch,
    TriageProfile,
    TriageResult,
    read_csv,
    triage,
)
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import EventType
from batteryloop.ledger import EventIn

if TYPE_CHECKING:
    from datetime import datetime

    from batteryloop.ledger import AppendResult, KeyStore, RecordedEvent

Overrides = Sequence[Path | Mapping[str, Any]]

__all__ = [
    "EventSource",
    "ForecastOutcome",
    "GradingBatch",
    "GradingWriter",
    "NetworkOutcome",
    "SohEstimate",
    "TriageOutcome",
    "design_network",
    "estimate_soh_csv",
    "fade_model_error",
    "fit_fade_csv",
    "forecast",
    "forecast_cohorts",
    "grading_batch",
    "ledger_cohorts",
    "load_profile",
    "network_problem",
    "parse_network_text",
    "prepare_grading_csv",
    "read_network_file",
    "record_grading",
    "record_grading_csv",
    "record_grading_locally",
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
    profile: str = ""


def load_profile(*, overrides: Overrides = ()) -> tuple[TriageProfile, tuple[str, ...]]:
    """The packaged grading profile with ``overrides`` (files or mappings) layered on top."""
    pset = params.load("triage", overrides=overrides)
    return TriageProfile.from_values(params.values(pset)), _unverified("triage", pset)


def triage_batch(batch: TriageBatch, *, overrides: Overrides = ()) -> TriageOutcome:
    """Grade and route every battery of ``batch`` (see :mod:`batteryloop.analytics.core.triage`)."""
    profile, unverified = load_profile(overrides=overrides)
    pset = params.load("triage", overrides=overrides)
    label = pset.description + (" (with overrides)" if overrides else "")
    return TriageOutcome(triage(batch, profile), unverified, label)


def triage_csv(text: str, *, overrides: Overrides = ()) -> TriageOutcome:
    """:func:`triage_batch` of a CSV document (header row; columns as ``core.triage.COLUMNS``)."""
    return triage_batch(read_csv(text), overrides=overrides)


# -------------------------------------------------------------------------- gradings written to the ledger

MAX_RECORDED = 10_000
"""Batteries one recorded grading may hold: it is one signed, atomic batch."""

_MEASURED_KEYS: tuple[str, ...] = (
    "dcir_mohm",
    "dcir_bol_mohm",
    "self_discharge_mv_per_day",
    "capacity_spread_pct",
    "voltage_spread_mv",
    "insulation_ohm_per_v",
    "negative_events",
    "age_years",
)


@dataclass(frozen=True)
class GradingBatch:
    """The ``BatteryGraded`` events of a triage, one per battery, and the Merkle root ``actor`` signs for
    them (``POST /analytics/triage/events`` recomputes both from the same CSV, profile and time)."""

    outcome: TriageOutcome
    events: tuple[EventIn, ...]
    actor: str
    merkle_root: str


class GradingWriter(Protocol):
    """What recording a grading needs of ``batteryloop.ledger.Ledger``."""

    def append_events(
        self,
        events: Sequence[EventIn],
        *,
        actor: str,
        key_id: str,
        signature: bytes,
        expected_versions: Mapping[str, int] | None = None,
    ) -> AppendResult: ...


def _graded_payload(outcome: TriageOutcome, i: int) -> dict[str, Any]:
    import math

    r = outcome.result
    b = r.batch
    route_index = int(r.route_index[i])
    payload: dict[str, Any] = {
        "grade": GRADES[route_index],
        "decision": ROUTES[route_index],
        "route": ROUTES[route_index],
        "soh_pct": float(b.values["soh_pct"][i]),
        "tested_level": str(b.level[i]),
        "dcir_increase_pct": round(float(r.dcir_increase_pct[i]), 6),
        "visual_damage": bool(b.visual_damage[i]),
        "history": bool(b.history[i]),
        "summary": r.reason(i),
        "reasons": "\n".join(check.text() for check in r.explain(i)),
    }
    for key in _MEASURED_KEYS:
        value = float(b.values[key][i])
        if not math.isnan(value):
            payload[key] = int(value) if key == "negative_events" else value
    if outcome.profile:
        payload["profile"] = outcome.profile
    return payload


def grading_batch(outcome: TriageOutcome, *, actor: str, occurred_at: datetime) -> GradingBatch:
    """One ``BatteryGraded`` event per battery of ``outcome`` (``id`` is the ledger's battery id), at
    ``occurred_at``, and the Merkle root ``actor`` signs. Each event carries an idempotency key derived
    from its content, so sending the same grading twice records it once."""
    import hashlib
    import json

    from batteryloop.ledger.service import batch_root

    if occurred_at.tzinfo is None:
        raise ValidationError("occurred_at must carry a time zone")
    n = len(outcome.result)
    if n > MAX_RECORDED:
        raise ValidationError(
            f"a recorded grading holds at most {MAX_RECORDED:,} batteries (one atomic batch); this one has {n:,}"
        )
    events = []
    for i in range(n):
        battery_id = str(outcome.result.batch.ids[i])
        payload = _graded_payload(outcome, i)
        digest = hashlib.sha256(
            json.dumps([battery_id, occurred_at.isoformat(), payload], sort_keys=True).encode()
        ).hexdigest()[:32]
        events.append(EventIn(battery_id, EventType.BATTERY_GRADED, occurred_at, payload, f"graded-{digest}"))
    evs = tuple(events)
    return GradingBatch(outcome, evs, actor, batch_root(evs, actor=actor))


def record_grading(
    ledger: GradingWriter, batch: GradingBatch, *, key_id: str, signature: bytes
) -> AppendResult:
    """Append the gradings as one signed batch: every event or none (an unknown battery, one the actor does
    not hold, or one not collected or retired refuses the whole batch)."""
    return ledger.append_events(list(batch.events), actor=batch.actor, key_id=key_id, signature=signature)


def prepare_grading_csv(
    text: str, *, actor: str, occurred_at: datetime, overrides: Overrides = ()
) -> GradingBatch:
    """:func:`grading_batch` of a triage CSV: what ``actor`` signs to record it."""
    return grading_batch(triage_csv(text, overrides=overrides), actor=actor, occurred_at=occurred_at)


def record_grading_csv(
    ledger: GradingWriter,
    text: str,
    *,
    actor: str,
    occurred_at: datetime,
    key_id: str,
    signature: bytes,
    overrides: Overrides = (),
) -> AppendResult:
    """Grade a triage CSV and append its gradings signed by ``actor`` (the signature is over the root that
    :func:`prepare_grading_csv` returned for the same CSV, profile, actor and time)."""
    batch = prepare_grading_csv(text, actor=actor, occurred_at=occurred_at, overrides=overrides)
    return record_grading(ledger, batch, key_id=key_id, signature=signature)


def record_grading_locally(ledger: GradingWriter, batch: GradingBatch, *, keystore: KeyStore) -> AppendResult:
    """:func:`record_grading` signed with the actor's newest key in a local ``keystore`` (the CLI)."""
    from batteryloop.ledger import sign_batch

    _, private_key = keystore.load(batch.actor)
    signed = sign_batch(batch.events, actor=batch.actor, private_key=private_key)
    return record_grading(ledger, batch, key_id=signed.key_id, signature=signed.signature)


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
    country_region = {str(k): str(v) for k, v in dict(pset.value("ledger.country_region")).items()}
    check_regions(sorted(set(country_region.values())), field="ledger.country_region")
    builder = LedgerCohortBuilder(
        country_region=country_region,
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


def parse_network_text(text: str) -> dict[str, Any]:
    """A network document given as text: JSON when it starts with ``{``, TOML otherwise."""
    import json
    import tomllib

    body = text.strip()
    if not body:
        raise ValidationError("network: the document is empty; give years, points, spokes and hubs")
    try:
        if body.startswith("{"):
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValidationError("network: the JSON document must be an object")
            return data
        return tomllib.loads(body)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"network: not valid JSON: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"network: not valid TOML: {exc}") from exc


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
