"""The one cited-value type: a number (or table) with its unit, source key, locator and quality."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, get_args

T = TypeVar("T")

Quality = Literal["verified", "unverified", "assumption"]
QUALITIES: tuple[Quality, ...] = get_args(Quality)


@dataclass(frozen=True)
class CitedValue(Generic[T]):
    """One cited value.

    ``source`` is a key of the citation registry (:mod:`batteryloop.reference.registry`) for shipped data, or
    the name of the user's file for overrides; ``locator`` says where in the source (table, page, clause).
    ``quality`` is ``verified`` (read from the cited source), ``unverified`` (not checked against a primary
    source: every output that uses it must say so) or ``assumption`` (batteryloop's or the user's own choice).
    """

    value: T
    unit: str
    source: str
    year: int | None = None
    low: float | None = None
    high: float | None = None
    note: str | None = None
    locator: str | None = None
    quality: Quality = "verified"

    @property
    def unverified(self) -> bool:
        return self.quality == "unverified"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "unit": self.unit,
            "source": self.source,
            "year": self.year,
            "quality": self.quality,
        }
        for key in ("locator", "low", "high", "note"):
            item = getattr(self, key)
            if item is not None:
                out[key] = item
        return out


UNVERIFIED_MARK = "UNVERIFIED"


def unverified_line(paths: Sequence[str]) -> str:
    """The one line every output that uses unverified values prints (empty when there are none)."""
    if not paths:
        return ""
    return (
        f"{len(paths)} value(s) marked {UNVERIFIED_MARK} were not checked against a primary source: "
        + ", ".join(paths[:8])
        + (", ..." if len(paths) > 8 else "")
    )
