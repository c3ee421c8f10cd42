"""Use cases of the compliance capability: rule packs, recyclers' lots and targets, producers' obligations,
leakage and performance. Services take an open ledger (or pure inputs) and keyword-only options, return frozen
results and raise domain errors; they never print, format or parse a URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batteryloop.compliance.core import rules

__all__ = ["RulesView", "list_rule_packs", "rule_pack"]


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
