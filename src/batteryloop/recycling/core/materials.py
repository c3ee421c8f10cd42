"""Materials, formulas and element bookkeeping for the flowsheet.

A stream is a mapping species -> kg. A species is a material of the feed (``cam_NMC811``, ``graphite``, ``cu``,
``lipf6``, ``hw_steel`` ...), an element symbol (``Ni``), a pseudo-material that is never broken down
(``electronics``, ``coolant``), the lumped mass of reagents that entered the plant (``reagents``) or oxygen taken
from the air for combustion (``air``). Formulas are chemistry, not tunable data; atomic masses and cathode element
fractions come from the parameter set (``composition.atomic_mass``, ``composition.cam``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.params import ParameterSet

Stream = dict[str, float]

REAGENTS_SPECIES = "reagents"
AIR_SPECIES = "air"
PSEUDO_SPECIES = frozenset({"electronics", "coolant"})

# Feed materials that are not cathode active material, with their formula (or None for pseudo-materials).
MATERIAL_FORMULAS: dict[str, str] = {
    "graphite": "C",
    "hard_carbon": "C",  # sodium-ion anode
    "carbon_black": "C",
    "pvdf": "C2H2F2",
    "anode_binder": "C4H6",  # SBR/CMC approximated as polybutadiene
    "cu": "Cu",
    "al": "Al",
    "steel": "Fe",
    "lipf6": "LiPF6",
    "napf6": "NaPF6",
    "ec": "C3H4O3",
    "dmc": "C3H6O3",
    "pp": "C3H6",
    "pe": "C2H4",
    "pet": "C10H8O4",
    "hw_aluminium": "Al",
    "hw_copper": "Cu",
    "hw_steel": "Fe",
    "hw_plastics": "C3H6",  # insulation and interconnect panels approximated as polypropylene
}

# Grouping of feed materials used by the separation rules.
MATERIAL_CLASS: dict[str, str] = {
    "graphite": "graphite",
    "hard_carbon": "graphite",
    "carbon_black": "carbon_black",
    "pvdf": "binder",
    "anode_binder": "binder",
    "cu": "cu",
    "al": "al",
    "steel": "steel",
    "lipf6": "electrolyte",
    "napf6": "electrolyte",
    "ec": "electrolyte",
    "dmc": "electrolyte",
    "pp": "plastics",
    "pe": "plastics",
    "pet": "plastics",
    "hw_aluminium": "hardware",
    "hw_copper": "hardware",
    "hw_steel": "hardware",
    "hw_plastics": "hardware",
    "electronics": "hardware",
    "coolant": "hardware",
}

# Reagents and products the flowsheet makes or consumes (anhydrous basis).
COMPOUND_FORMULAS: dict[str, str] = {
    "H2SO4": "H2SO4",
    "H2O2": "H2O2",
    "NaOH": "NaOH",
    "Na2CO3": "Na2CO3",
    "lime": "CaO",
    "limestone": "CaCO3",
    "sand": "SiO2",
    "N2": "N2",
    "LiOH": "LiOH",
    "NH4OH": "NH5O",
    "HCl": "HCl",
    "Li2CO3": "Li2CO3",
    "NiSO4": "NiSO4",
    "CoSO4": "CoSO4",
    "MnSO4": "MnSO4",
    "FePO4": "FePO4",
    "CO2": "CO2",
    "H2O": "H2O",
    "O2": "O2",
    "OH": "OH",
}

_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*\.?\d*)")


def parse_formula(formula: str) -> dict[str, float]:
    """'C3H4O3' -> {'C': 3, 'H': 4, 'O': 3}. No brackets: write hydrates out."""
    return dict(_parsed(formula))


@functools.lru_cache(maxsize=1024)
def _parsed(formula: str) -> tuple[tuple[str, float], ...]:
    counts: dict[str, float] = {}
    pos = 0
    for match in _TOKEN.finditer(formula):
        if match.start() != pos:
            raise ValidationError(f"cannot parse formula {formula!r} at {formula[pos:]!r}")
        element, number = match.group(1), match.group(2)
        counts[element] = counts.get(element, 0.0) + (float(number) if number else 1.0)
        pos = match.end()
    if pos != len(formula) or not counts:
        raise ValidationError(f"cannot parse formula {formula!r}")
    return tuple(counts.items())


@dataclass(frozen=True, slots=True)
class Chemistry:
    """Element data resolved from one parameter set."""

    atomic_mass: Mapping[str, float]
    cam_elements: Mapping[str, Mapping[str, float]]  # chemistry -> element -> kg/kg CAM
    material_elements: Mapping[str, Mapping[str, float]]  # material -> element -> kg/kg

    def molar_mass(self, formula: str) -> float:
        total = 0.0
        for element, count in parse_formula(formula).items():
            total += self._mass_of(element) * count
        return total

    def compound_mass(self, name: str) -> float:
        return self.molar_mass(COMPOUND_FORMULAS[name])

    def mass_fractions(self, formula: str) -> dict[str, float]:
        counts = parse_formula(formula)
        total = self.molar_mass(formula)
        return {el: self._mass_of(el) * n / total for el, n in counts.items()}

    def elements_of(self, species: str) -> Mapping[str, float] | None:
        """kg element per kg species for a material; None for elements, pseudo-materials and lumps."""
        return self.material_elements.get(species)

    def to_elements(self, stream: Mapping[str, float]) -> Stream:
        out: Stream = {}
        for species, kg in stream.items():
            if kg == 0.0:
                continue
            fractions = self.material_elements.get(species)
            if fractions is None:
                out[species] = out.get(species, 0.0) + kg
            else:
                for element, share in fractions.items():
                    out[element] = out.get(element, 0.0) + kg * share
        return out

    def _mass_of(self, element: str) -> float:
        try:
            return self.atomic_mass[element]
        except KeyError:
            raise NotFoundError(
                f"no atomic mass for {element!r} in composition.atomic_mass of the parameter set"
            ) from None


def resolve_chemistry(params: ParameterSet) -> Chemistry:
    """Element data of a set (built once per set)."""
    return params.memo("composition.chemistry", lambda: _resolve_chemistry(params))


def _resolve_chemistry(params: ParameterSet) -> Chemistry:
    atomic = {name: p.value for name, p in params.children("composition.atomic_mass").items()}
    if not atomic:
        raise NotFoundError(f"parameter set {params.name!r} has no composition.atomic_mass table")
    cams: dict[str, dict[str, float]] = {}
    for chem in params.groups("composition.cam"):
        fractions = {el: p.value for el, p in params.children(f"composition.cam.{chem}").items()}
        total = sum(fractions.values())
        if abs(total - 1.0) > 0.01:
            raise ValidationError(
                f"composition.cam.{chem}: element fractions sum to {total:.4f}, expected 1 (+-0.01)"
            )
        cams[chem] = {el: v / total for el, v in fractions.items()}
    chemistry = Chemistry(atomic_mass=atomic, cam_elements=cams, material_elements={})
    materials: dict[str, Mapping[str, float]] = {
        name: chemistry.mass_fractions(formula) for name, formula in MATERIAL_FORMULAS.items()
    }
    for chem, fractions in cams.items():
        materials[cam_species(chem)] = fractions
    return Chemistry(atomic_mass=atomic, cam_elements=cams, material_elements=materials)


def cam_species(chemistry: str) -> str:
    return f"cam_{chemistry}"


def cam_chemistry(species: str) -> str | None:
    return species[4:] if species.startswith("cam_") else None


def material_class(species: str) -> str:
    if species.startswith("cam_"):
        return "cam"
    return MATERIAL_CLASS.get(species, "other")


def add_into(target: Stream, source: Mapping[str, float], factor: float = 1.0) -> None:
    for key, kg in source.items():
        if kg:
            target[key] = target.get(key, 0.0) + kg * factor


def total(stream: Mapping[str, float]) -> float:
    return sum(stream.values())


def merge(streams: Iterable[Mapping[str, float]]) -> Stream:
    out: Stream = {}
    for stream in streams:
        add_into(out, stream)
    return out
