"""Rule packs: one per jurisdiction, a folder ``data/rules/<code>/`` of cited TOML files.

Each file of a pack is a section named after its stem (``recycling.toml`` -> ``recycling.*`` paths); every
leaf is a cited value ``{ value, unit?, source, year, locator, quality? }`` (the reference kernel's format),
so each target, threshold and deadline carries its article or clause and source. ``set.toml`` holds the
pack's ``description`` and may ``extends`` another pack (a member state extending the EU pack). A user's
override file (same layout, partial) is layered on top with :func:`load_pack`, e.g. to set a date that a
delegated act has not fixed yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import NotFoundError
from batteryloop.reference import params as kernel

RULES_DIR = Path(__file__).parent.parent / "data" / "rules"

RulePack = kernel.ParameterSet[Any]

__all__ = ["RULES_DIR", "PackSummary", "RulePack", "jurisdictions", "load_pack"]


@dataclass(frozen=True)
class PackSummary:
    code: str
    description: str
    rules: int


def jurisdictions() -> tuple[str, ...]:
    """Codes of the packaged rule packs (folder names), sorted."""
    return tuple(sorted(p.name for p in RULES_DIR.iterdir() if p.is_dir() and (p / kernel.SET_FILE).exists()))


def load_pack(code: str, *, overrides: Sequence[Path | Mapping[str, Any]] = ()) -> RulePack:
    """The packaged rule pack of jurisdiction ``code`` with ``overrides`` applied in order."""
    known = jurisdictions()
    if code not in known:
        raise NotFoundError(f"unknown jurisdiction {code!r}; rule packs: {', '.join(known)}")
    base = _packaged(code)
    if not overrides:
        return base
    layers = [o if isinstance(o, Mapping) else Path(o) for o in overrides]
    return kernel.apply_overrides(base, layers, allow_new=False)


@cache
def _packaged(code: str) -> RulePack:
    return kernel.load_set(RULES_DIR / code)


def summary(pack: RulePack) -> PackSummary:
    return PackSummary(code=pack.name, description=pack.description, rules=sum(1 for _ in pack.items()))
