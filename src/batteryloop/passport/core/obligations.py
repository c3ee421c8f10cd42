"""The obligation matrix: which passport attributes are mandatory for which category from which date.

Rows live in ``data/obligations.toml`` (each with its legal basis, source and year). Dates that depend on a
delegated or implementing act are "date X or N months after the act enters into force, whichever is later";
the act dates are configuration (``[acts]``), and a row whose act is not known to be in force does not
apply yet. A row's ``quality`` (default: its source's, from the citation registry) says whether its date was
checked against the legal text; a check names the rows it rests on whose date was not.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from batteryloop.domain.chemistry import BatteryCategory
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.passport.core.model import Passport
from batteryloop.reference.files import read_toml
from batteryloop.reference.registry import citations
from batteryloop.reference.values import QUALITIES, Quality


@dataclass(frozen=True, slots=True)
class Obligation:
    path: str
    categories: frozenset[BatteryCategory]
    fixed_from: date
    basis: str
    source: str
    year: int
    act: str | None = None
    offset_months: int = 0
    allow_empty: bool = False
    quality: Quality = "verified"  # of the row's date
    applies_to: str = "all"  # "all", "originals" or "successors" (a battery with a predecessor, Art. 77(7))


@dataclass(frozen=True, slots=True)
class MissingAttribute:
    """A mandatory attribute the passport lacks on the day checked."""

    path: str
    basis: str
    applies_from: date
    quality: Quality = "verified"  # of the date it applies from

    def __str__(self) -> str:
        return f"{self.path}: mandatory since {self.applies_from.isoformat()} ({self.basis})"


@dataclass(frozen=True, slots=True)
class ObligationMatrix:
    rows: tuple[Obligation, ...]
    scope_categories: frozenset[BatteryCategory]
    scope_from: date
    industrial_min_energy_kwh: float
    acts_in_force: Mapping[str, date | None]

    def effective_from(self, row: Obligation) -> date | None:
        """The day ``row`` starts to apply (None: its act is not known to be in force)."""
        start = max(row.fixed_from, self.scope_from)
        if row.act is None:
            return start
        in_force = self.acts_in_force.get(row.act)
        if in_force is None:
            return None
        return max(start, add_months(in_force, row.offset_months))

    def passport_required(
        self, category: BatteryCategory | None, rated_energy_kwh: float | None, on: date
    ) -> bool:
        """Art. 77(1): does a battery of this category and energy need a passport on ``on``? (No when the
        category is unknown; an industrial battery of unknown energy is taken as above the threshold.)"""
        if category is None or category not in self.scope_categories or on < self.scope_from:
            return False
        return not (
            category.is_industrial
            and rated_energy_kwh is not None
            and rated_energy_kwh <= self.industrial_min_energy_kwh
        )

    def with_acts(self, **in_force: date | None) -> ObligationMatrix:
        """A copy with some acts' entry-into-force dates set (e.g. once a delegated act is adopted)."""
        unknown = set(in_force) - set(self.acts_in_force)
        if unknown:
            raise ValidationError(f"unknown act(s) {sorted(unknown)}; known: {sorted(self.acts_in_force)}")
        return ObligationMatrix(
            rows=self.rows,
            scope_categories=self.scope_categories,
            scope_from=self.scope_from,
            industrial_min_energy_kwh=self.industrial_min_energy_kwh,
            acts_in_force={**self.acts_in_force, **in_force},
        )


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


APPLIES_TO = ("all", "originals", "successors")


def _applies_to(row: Mapping[str, Any], origin: str) -> str:
    value = str(row.get("applies_to", "all"))
    if value not in APPLIES_TO:
        raise ValidationError(
            f"{origin}: row {row['path']!r} has applies_to {value!r}; one of {', '.join(APPLIES_TO)}"
        )
    return value


def _parse(data: Mapping[str, Any], origin: str) -> ObligationMatrix:
    try:
        scope = data["scope"]
        acts = {
            name: (date.fromisoformat(a["in_force"]) if a.get("in_force") else None)
            for name, a in data.get("acts", {}).items()
        }
        rows = []
        for row in data["row"]:
            act = row.get("act")
            if act is not None and act not in acts:
                raise ValidationError(f"{origin}: row {row['path']!r} names unknown act {act!r}")
            quality = row.get("quality") or _source_quality(str(row["source"]))
            if quality not in QUALITIES:
                raise ValidationError(
                    f"{origin}: row {row['path']!r} has quality {quality!r}; one of {', '.join(QUALITIES)}"
                )
            rows.append(
                Obligation(
                    path=str(row["path"]),
                    categories=frozenset(BatteryCategory(c) for c in row["categories"]),
                    fixed_from=date.fromisoformat(str(row["from"])),
                    basis=str(row["basis"]),
                    source=str(row["source"]),
                    year=int(row["year"]),
                    act=act,
                    offset_months=int(row.get("offset_months", 0)),
                    allow_empty=bool(row.get("allow_empty", False)),
                    quality=quality,
                    applies_to=_applies_to(row, origin),
                )
            )
        return ObligationMatrix(
            rows=tuple(rows),
            scope_categories=frozenset(BatteryCategory(c) for c in scope["categories"]),
            scope_from=date.fromisoformat(str(scope["from"])),
            industrial_min_energy_kwh=float(scope["industrial_min_energy_kwh"]),
            acts_in_force=acts,
        )
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(f"{origin}: malformed obligation matrix ({exc!r})") from exc


def _source_quality(source: str) -> Quality:
    registry = citations()
    return registry.get(source).quality if source in registry else "verified"


OBLIGATIONS_FILE = Path(__file__).parent.parent / "data" / "obligations.toml"


@cache
def default_matrix() -> ObligationMatrix:
    return _parse(read_toml(OBLIGATIONS_FILE), "passport/data/obligations.toml")


def load_matrix(path: str | Path) -> ObligationMatrix:
    try:
        data = read_toml(path)
    except (NotFoundError, ValidationError) as exc:
        raise ValidationError(f"obligation matrix {path}: {exc}") from exc
    return _parse(data, str(path))


def _present(document: Mapping[str, Any], path: str, *, allow_empty: bool) -> bool:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, Mapping) or node.get(part) is None:
            return False
        node = node[part]
    if allow_empty:
        return True
    return node not in ("", [], {}, ())


def check_passport(
    passport: Passport, *, on: date, matrix: ObligationMatrix | None = None
) -> list[MissingAttribute]:
    """The mandatory attributes ``passport`` lacks on day ``on`` (empty when complete or not in scope)."""
    matrix = matrix or default_matrix()
    ident = passport.identity
    if not matrix.passport_required(ident.category, ident.rated_energy_kwh, on):
        return []
    document = passport.model_dump(mode="json")
    missing: list[MissingAttribute] = []
    kind = "originals" if passport.lifecycle.predecessor_id is None else "successors"
    for row in matrix.rows:
        if ident.category not in row.categories or row.applies_to not in ("all", kind):
            continue
        start = matrix.effective_from(row)
        if start is None or on < start:
            continue
        if not _present(document, row.path, allow_empty=row.allow_empty):
            missing.append(
                MissingAttribute(path=row.path, basis=row.basis, applies_from=start, quality=row.quality)
            )
    return missing


def unverified_dates(passport: Passport, *, on: date, matrix: ObligationMatrix | None = None) -> list[str]:
    """The attributes whose obligation row for this passport's category has an unverified date, sorted.

    A check rests on every row of the category, the ones not in force yet included (that they do not apply
    yet depends on their date); none when the battery needs no passport on ``on``.
    """
    matrix = matrix or default_matrix()
    ident = passport.identity
    if not matrix.passport_required(ident.category, ident.rated_energy_kwh, on):
        return []
    return sorted(
        {row.path for row in matrix.rows if ident.category in row.categories and row.quality == "unverified"}
    )
