"""Battery chemistries, EU categories and the unit hierarchy."""

from __future__ import annotations

from enum import StrEnum


class Chemistry(StrEnum):
    """Cell chemistry. Values are stable identifiers used in payloads and reference data."""

    NMC111 = "NMC111"
    NMC532 = "NMC532"
    NMC622 = "NMC622"
    NMC811 = "NMC811"
    NCA = "NCA"
    LFP = "LFP"
    LMFP = "LMFP"
    LMO = "LMO"
    LCO = "LCO"
    LTO = "LTO"
    SODIUM_ION = "SIB"
    SOLID_STATE = "SSB"
    SEMI_SOLID_STATE = "SSSB"
    OTHER = "OTHER"

    @property
    def is_nickel_based(self) -> bool:
        return self in _NICKEL_BASED

    @property
    def clear_name(self) -> str:
        return _CLEAR_NAMES[self]


_NICKEL_BASED = frozenset(
    {Chemistry.NMC111, Chemistry.NMC532, Chemistry.NMC622, Chemistry.NMC811, Chemistry.NCA}
)

_CLEAR_NAMES: dict[Chemistry, str] = {
    Chemistry.NMC111: "lithium nickel manganese cobalt oxide (1:1:1)",
    Chemistry.NMC532: "lithium nickel manganese cobalt oxide (5:3:2)",
    Chemistry.NMC622: "lithium nickel manganese cobalt oxide (6:2:2)",
    Chemistry.NMC811: "lithium nickel manganese cobalt oxide (8:1:1)",
    Chemistry.NCA: "lithium nickel cobalt aluminium oxide",
    Chemistry.LFP: "lithium iron phosphate",
    Chemistry.LMFP: "lithium manganese iron phosphate",
    Chemistry.LMO: "lithium manganese oxide",
    Chemistry.LCO: "lithium cobalt oxide",
    Chemistry.LTO: "lithium titanate (anode)",
    Chemistry.SODIUM_ION: "sodium-ion",
    Chemistry.SOLID_STATE: "solid-state lithium",
    Chemistry.SEMI_SOLID_STATE: "semi-solid-state lithium",
    Chemistry.OTHER: "other",
}


class BatteryCategory(StrEnum):
    """EU Battery Regulation (EU) 2023/1542 Art. 3(1) categories.

    Stationary storage is an industrial battery (Art. 3(1)(13)); it is kept apart because the passport
    and carbon-footprint duties treat "industrial with exclusively external storage" separately.
    """

    PORTABLE = "portable"
    LMT = "lmt"
    SLI = "sli"
    EV = "ev"
    INDUSTRIAL = "industrial"
    STATIONARY = "stationary"

    @property
    def is_industrial(self) -> bool:
        return self in (BatteryCategory.INDUSTRIAL, BatteryCategory.STATIONARY)


class UnitLevel(StrEnum):
    """Where a unit sits in the hierarchy: cell -> module -> pack -> system."""

    CELL = "cell"
    MODULE = "module"
    PACK = "pack"
    SYSTEM = "system"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def may_contain(self, child: UnitLevel) -> bool:
        """A pack holds modules or cells (cell-to-pack); a system holds packs; a module holds cells."""
        return child.rank < self.rank and not (self is UnitLevel.MODULE and child is not UnitLevel.CELL)


_RANK = {UnitLevel.CELL: 0, UnitLevel.MODULE: 1, UnitLevel.PACK: 2, UnitLevel.SYSTEM: 3}
