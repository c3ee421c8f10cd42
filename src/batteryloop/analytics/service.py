"""Analytics use cases: triage of tested batteries, retirement forecast, collection-network design.

Typed inputs, options keyword-only, frozen results, domain errors. Each result lists the unverified cited
values it rests on (``unverified``), as ``set:path``. Nothing here prints, formats or opens a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batteryloop.analytics.core import params
from batteryloop.analytics.core.triage import TriageBatch, TriageProfile, TriageResult, read_csv, triage

Overrides = Sequence[Path | Mapping[str, Any]]

__all__ = [
    "TriageOutcome",
    "load_profile",
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
