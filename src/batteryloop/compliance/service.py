"""Use cases of the compliance capability: rule packs, recyclers' lots and targets, producers' obligations,
leakage and performance. Services take an open ledger (or pure inputs) and keyword-only options, return frozen
results and raise domain errors; they never print, format or parse a URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from batteryloop.compliance.core import rules
from batteryloop.domain.organisation import Organisation
from batteryloop.domain.registration import ProducerRegistration

__all__ = [
    "FIGURES",
    "EprReport",
    "LedgerPoint",
    "ReportScope",
    "RulesView",
    "epr_report",
    "figure_batteries",
    "list_rule_packs",
    "producer_registrations",
    "register_producer",
    "rule_pack",
]


@dataclass(frozen=True)
class RulesView:
    """A jurisdiction's rule pack, every rule with its cited value."""

    code: str
    description: str
    lineage: tuple[str, ...]
    rules: tuple[tuple[str, Mapping[str, Any]], ...]


def list_rule_packs() -> tuple[rules.PackSummary, ...]:
    """The packaged jurisdictions, each with its description and number of rules."""
    return tuple(rules.summary(rules.load_pack(code)) for code in rules.jurisdictions())


def rule_pack(
    code: str, *, prefix: str = "", overrides: Sequence[Path | Mapping[str, Any]] = ()
) -> RulesView:
    """Jurisdiction ``code``'s rules (those under ``prefix`` when given), overrides applied."""
    pack = rules.load_pack(code, overrides=overrides)
    return RulesView(
        code=code,
        description=pack.description,
        lineage=pack.lineage,
        rules=tuple((path, value.as_dict()) for path, value in pack.items(prefix)),
    )


# --- recyclers: lots, recycling efficiency, material recovery, recycled content, white list -----------------


# --- producers and regulators: registrations, placed on market, collection, leakage, performance ----------

# Producers' obligations and regulators' views are computed by the columnar engine (``columnar.py``: DuckDB
# over the ledger's events or its Parquet export, folded into per-battery facts and refreshed incrementally).


@dataclass(frozen=True)
class LedgerPoint:
    """Where in the ledger a report was computed: the last event position folded, and the latest signed
    head of the global tree (size, root, time) when the ledger has one, so a regulator can reproduce it."""

    position: int
    events: int
    source: str
    checkpoint_size: int | None = None
    checkpoint_root: str | None = None
    checkpoint_signed_at: str | None = None
    checkpoint_note: str | None = None


@dataclass(frozen=True)
class ReportScope:
    """Who asked and what they may see: the countries (markets) and, for a producer, its own obligations."""

    jurisdiction: str
    viewer: str  # "operator", "authority", "pro", "producer"
    viewer_org: str | None
    countries: tuple[str, ...]
    producers: tuple[str, ...] | None  # None: every producer in the countries
    enterprises: tuple[str, ...] | None  # recyclers / actors in performance and traceability; None: all


@dataclass(frozen=True)
class EprReport:
    """The full set of producers' and regulators' figures at one ledger point.

    Every section is a tuple of plain rows (dicts of numbers and codes) in a fixed column order; each row's
    keys name what it counts, and :func:`figure_batteries` lists the batteries behind any figure.
    """

    scope: ReportScope
    point: LedgerPoint
    year: int
    as_of: date
    window_days: int
    placed: tuple[Mapping[str, Any], ...]
    unregistered: tuple[Mapping[str, Any], ...]
    collection: tuple[Mapping[str, Any], ...]
    take_back: tuple[Mapping[str, Any], ...]
    leakage: tuple[Mapping[str, Any], ...]
    leaked: tuple[Mapping[str, Any], ...]
    performance: tuple[Mapping[str, Any], ...]
    regions: tuple[Mapping[str, Any], ...]
    traceability: tuple[Mapping[str, Any], ...]
    late_uploads: tuple[Mapping[str, Any], ...]
    registrations: tuple[ProducerRegistration, ...]
    sources: Mapping[str, str]  # rule path -> "source locator" of every rule the report applied
    notes: tuple[str, ...] = ()


FIGURES = ("placed", "collected", "not_taken_back", "leaked", "compliant", "processed")


def register_producer(
    registry: Any, registration: ProducerRegistration, *, caller: Organisation | None = None
) -> ProducerRegistration:
    """Add a producer's registration to the register of producers (see :func:`orgs.service.register_producer`)."""
    from batteryloop.orgs import service as orgs

    return orgs.register_producer(registry, registration, caller=caller)


def producer_registrations(
    registry: Any, *, producer: str | None = None, country: str | None = None
) -> tuple[ProducerRegistration, ...]:
    from batteryloop.orgs import service as orgs

    return orgs.producer_registrations(registry, producer=producer, country=country)


def epr_report(
    ledger: Any,
    *,
    jurisdiction: str,
    year: int | None = None,
    as_of: date | None = None,
    caller: Organisation | None = None,
    producer: str | None = None,
    overrides: Sequence[Path | Mapping[str, Any]] = (),
    parquet: Sequence[Path] = (),
    warehouse: Any = None,
) -> EprReport:
    """Producers' obligations and the regulator's view for ``jurisdiction`` at the ledger's current position.

    ``year`` is the reporting year of the collection rates (default: the year before ``as_of``); ``as_of``
    (default: today) closes the leakage window. ``producer`` narrows to one producer, which must be registered
    in the jurisdiction. ``parquet``: read these Parquet exports instead of the ledger (``ledger`` may then be
    None, and the report names no checkpoint). ``caller`` decides what is visible: an authority its country
    (an authority of country ``EU`` the whole EU pack), a PRO the producers it represents, any other
    organisation its own obligations; None is the operator.
    """
    from batteryloop.compliance import epr_engine

    return epr_engine.build_report(
        ledger,
        jurisdiction=jurisdiction,
        year=year,
        as_of=as_of,
        caller=caller,
        producer=producer,
        overrides=overrides,
        parquet=parquet,
        warehouse=warehouse,
    )


def figure_batteries(
    ledger: Any,
    *,
    jurisdiction: str,
    figure: str,
    caller: Organisation | None = None,
    producer: str | None = None,
    country: str | None = None,
    category: str | None = None,
    year: int | None = None,
    as_of: date | None = None,
    limit: int = 1000,
    overrides: Sequence[Path | Mapping[str, Any]] = (),
    parquet: Sequence[Path] = (),
) -> tuple[Mapping[str, Any], ...]:
    """The batteries behind one figure of a report (``figure`` one of :data:`FIGURES`), in the caller's scope."""
    from batteryloop.compliance import epr_engine

    return epr_engine.figure_batteries(
        ledger,
        jurisdiction=jurisdiction,
        figure=figure,
        caller=caller,
        producer=producer,
        country=country,
        category=category,
        year=year,
        as_of=as_of,
        limit=limit,
        overrides=overrides,
        parquet=parquet,
    )
