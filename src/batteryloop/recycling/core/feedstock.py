"""Feedstock: validation, material make-up per form, and a feedstock from a recycler's real intake.

A feedstock is a mix of components (form x chemistry) by mass share. Each form is turned into feed materials
per kg using the parameter set: a cell is its bill of materials; a module adds module hardware; a pack adds
module and pack hardware; electrode scrap is the electrode part of the cell; black mass is what the set's own
preprocessing rules make from a cell of that chemistry.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from batteryloop.domain.battery import BatteryUnit
from batteryloop.domain.chemistry import Chemistry as ChemistryCode
from batteryloop.domain.chemistry import UnitLevel
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.flowsheet_types import Feedstock, FeedstockComponent
from batteryloop.recycling.core.materials import Stream, add_into, cam_species, material_class
from batteryloop.recycling.core.params import ParameterSet

FORMS = ("pack", "module", "cell", "production_scrap", "electrode_scrap", "black_mass")
CHARGED_FORMS = frozenset({"pack", "module", "cell", "production_scrap"})
HARDWARE_MATERIALS = {
    "aluminium": "hw_aluminium",
    "copper": "hw_copper",
    "steel": "hw_steel",
    "plastics": "hw_plastics",
    "electronics": "electronics",
    "coolant": "coolant",
}
_ELECTRODE_CLASSES = frozenset({"cam", "graphite", "carbon_black", "binder", "cu", "al"})
_BOM_NON_MATERIAL = frozenset({"mass_kg", "energy_kwh"})
_SHARE_TOLERANCE = 1e-6
_BOM_TOLERANCE = 0.01


def validate_feedstock(feedstock: Feedstock, params: ParameterSet | None = None) -> None:
    """Raise ValidationError/NotFoundError naming what is wrong; with ``params``, check the set covers it."""
    if not feedstock.components:
        raise ValidationError("feedstock has no components")
    if not math.isfinite(feedstock.annual_mass_t) or feedstock.annual_mass_t <= 0:
        raise ValidationError(
            f"feedstock annual_mass_t must be a positive number, got {feedstock.annual_mass_t}"
        )
    known = {c.value for c in ChemistryCode}
    for index, comp in enumerate(feedstock.components):
        where = f"feedstock component {index + 1} ({comp.form} {comp.chemistry})"
        if comp.form not in FORMS:
            raise ValidationError(f"{where}: unknown form {comp.form!r}; expected one of {', '.join(FORMS)}")
        if comp.chemistry not in known:
            raise ValidationError(
                f"{where}: unknown chemistry {comp.chemistry!r}; expected one of {', '.join(sorted(known))}"
            )
        if not math.isfinite(comp.mass_share) or comp.mass_share < 0:
            raise ValidationError(f"{where}: mass_share must be >= 0, got {comp.mass_share}")
        if not 0.0 <= comp.state_of_charge_pct <= 100.0:
            raise ValidationError(
                f"{where}: state_of_charge_pct must be 0..100, got {comp.state_of_charge_pct}"
            )
        if params is not None:
            _require_chemistry(params, comp.chemistry)
            if comp.form in ("pack", "module"):
                _require(params, f"composition.pack.{comp.chemistry}.cell_share", comp.form)
    share_sum = sum(c.mass_share for c in feedstock.components)
    if abs(share_sum - 1.0) > _SHARE_TOLERANCE:
        raise ValidationError(f"feedstock mass shares sum to {share_sum:.6f}, they must sum to 1")


def feedstock_from_intake(
    records: Iterable[tuple[str, str, float]] | Iterable[Mapping[str, object]],
    *,
    annual_mass_t: float | None = None,
    state_of_charge_pct: float = 0.0,
) -> Feedstock:
    """Aggregate intake records (chemistry, form, mass_kg) into a feedstock.

    ``records`` are tuples ``(chemistry, form, mass_kg)`` or mappings with those keys (and optionally
    ``state_of_charge_pct``), as the ledger gives for what a recycler received. Shares are by mass; the state of
    charge of a group is the mass-weighted mean (``state_of_charge_pct`` where a record gives none).
    ``annual_mass_t`` defaults to the total mass received.
    """
    totals: dict[tuple[str, str], float] = {}
    charge: dict[tuple[str, str], float] = {}
    for index, record in enumerate(records):
        soc: object = state_of_charge_pct
        if isinstance(record, Mapping):
            try:
                chemistry, form, mass = record["chemistry"], record["form"], record["mass_kg"]
            except KeyError as exc:
                raise ValidationError(f"intake record {index + 1} lacks {exc.args[0]!r}") from None
            soc = record.get("state_of_charge_pct", state_of_charge_pct)
        else:
            if len(record) != 3:
                raise ValidationError(f"intake record {index + 1} must be (chemistry, form, mass_kg)")
            chemistry, form, mass = record
        if not _is_number(mass) or not math.isfinite(float(mass)) or float(mass) < 0:
            raise ValidationError(f"intake record {index + 1}: mass_kg must be a number >= 0, got {mass!r}")
        if not _is_number(soc):
            raise ValidationError(
                f"intake record {index + 1}: state_of_charge_pct must be a number, got {soc!r}"
            )
        key = (str(chemistry), str(form))
        kg = float(mass)
        totals[key] = totals.get(key, 0.0) + kg
        charge[key] = charge.get(key, 0.0) + kg * float(soc)  # type: ignore[arg-type]
    grand = sum(totals.values())
    if grand <= 0:
        raise ValidationError("intake has no mass: cannot build a feedstock")
    keys = sorted(totals)
    shares = [totals[k] / grand for k in keys]
    shares[-1] += 1.0 - sum(shares)  # shares are normalised; make them sum to exactly 1
    components = tuple(
        FeedstockComponent(
            form=form,
            chemistry=chem,
            mass_share=share,
            state_of_charge_pct=charge[(chem, form)] / totals[(chem, form)] if totals[(chem, form)] else 0.0,
        )
        for (chem, form), share in zip(keys, shares, strict=True)
    )
    feedstock = Feedstock(
        components=components, annual_mass_t=annual_mass_t if annual_mass_t else grand / 1000.0
    )
    validate_feedstock(feedstock)
    return feedstock


def intake_records_from_units(units: Iterable[BatteryUnit]) -> list[tuple[str, str, float]]:
    """(chemistry, form, mass_kg) records from registered battery units (systems are treated as packs).

    The service layer reads the units a recycler holds from the ledger and passes them here.
    """
    form_of = {
        UnitLevel.CELL: "cell",
        UnitLevel.MODULE: "module",
        UnitLevel.PACK: "pack",
        UnitLevel.SYSTEM: "pack",
    }
    return [(unit.chemistry.value, form_of[unit.level], unit.mass_kg) for unit in units]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def simple_feedstock(
    mix: Mapping[str, float] | Sequence[tuple[str, str, float]],
    *,
    form: str = "pack",
    annual_mass_t: float = 10_000.0,
    state_of_charge_pct: float = 0.0,
) -> Feedstock:
    """{chemistry: share} (one form) or [(form, chemistry, share)] -> a validated Feedstock."""
    items = [(form, c, s) for c, s in mix.items()] if isinstance(mix, Mapping) else list(mix)
    feedstock = Feedstock(
        components=tuple(FeedstockComponent(f, c, s, state_of_charge_pct) for f, c, s in items),
        annual_mass_t=annual_mass_t,
    )
    validate_feedstock(feedstock)
    return feedstock


@dataclass(frozen=True, slots=True)
class FormMakeup:
    """Feed materials (kg per kg of the form) and the nominal energy stored per kg."""

    materials: Mapping[str, float]
    energy_kwh_per_kg: float


def cell_bom(params: ParameterSet, chemistry: str) -> Stream:
    """Cell materials, kg per kg cell (normalised; the source table's rounding must stay within 1 %)."""
    leaves = params.children(f"composition.cell.{chemistry}")
    bom: Stream = {}
    for name, param in leaves.items():
        if name in _BOM_NON_MATERIAL:
            continue
        species = cam_species(chemistry) if name == "cam" else name
        bom[species] = param.value
    if not bom:
        _require_chemistry(params, chemistry)
    total_share = sum(bom.values())
    if abs(total_share - 1.0) > _BOM_TOLERANCE:
        raise ValidationError(
            f"composition.cell.{chemistry}: mass fractions sum to {total_share:.4f}, expected 1 (+-0.01)"
        )
    return {k: v / total_share for k, v in bom.items()}


def cell_energy_kwh_per_kg(params: ParameterSet, chemistry: str) -> float:
    energy = params.value(f"composition.cell.{chemistry}.energy_kwh")
    mass = params.value(f"composition.cell.{chemistry}.mass_kg")
    return energy / mass


def hardware_makeup(params: ParameterSet, table: str) -> Stream:
    leaves = params.children(f"composition.{table}")
    if not leaves:
        raise NotFoundError(f"parameter set {params.name!r} has no composition.{table} table")
    out: Stream = {}
    for name, param in leaves.items():
        if name not in HARDWARE_MATERIALS:
            raise ValidationError(f"composition.{table}.{name}: unknown hardware material")
        out[HARDWARE_MATERIALS[name]] = param.value
    total_share = sum(out.values())
    return {k: v / total_share for k, v in out.items()}


def form_makeup(params: ParameterSet, form: str, chemistry: str) -> FormMakeup:
    """Materials per kg of one feedstock form."""
    _require_chemistry(params, chemistry)
    bom = cell_bom(params, chemistry)
    kwh_per_kg_cell = cell_energy_kwh_per_kg(params, chemistry)
    if form in ("cell", "production_scrap"):
        return FormMakeup(bom, kwh_per_kg_cell)
    if form == "electrode_scrap":
        electrode = {k: v for k, v in bom.items() if material_class(k) in _ELECTRODE_CLASSES}
        share = sum(electrode.values())
        return FormMakeup({k: v / share for k, v in electrode.items()}, 0.0)
    if form == "black_mass":
        return FormMakeup(black_mass_makeup(params, bom), 0.0)
    cell_share = _require(params, f"composition.pack.{chemistry}.cell_share", form)
    module_share = _require(params, f"composition.pack.{chemistry}.module_share", form)
    if not 0 < cell_share <= module_share <= 1:
        raise ValidationError(
            f"composition.pack.{chemistry}: need 0 < cell_share <= module_share <= 1, got {cell_share}, {module_share}"
        )
    out: Stream = {}
    if form == "module":
        cells = cell_share / module_share
        add_into(out, bom, cells)
        add_into(out, hardware_makeup(params, "module_hardware"), 1.0 - cells)
        return FormMakeup(out, kwh_per_kg_cell * cells)
    if form == "pack":
        add_into(out, bom, cell_share)
        add_into(out, hardware_makeup(params, "module_hardware"), module_share - cell_share)
        add_into(out, hardware_makeup(params, "pack_hardware"), 1.0 - module_share)
        return FormMakeup(out, kwh_per_kg_cell * cell_share)
    raise ValidationError(f"unknown form {form!r}; expected one of {', '.join(FORMS)}")


def black_mass_makeup(params: ParameterSet, bom: Mapping[str, float]) -> Stream:
    """Black mass made from a cell by the set's shredding and separation rules, per kg of black mass."""
    binder_kept = params.value("recovery.shredding.binder_to_solids")
    out: Stream = {}
    for species, kg in bom.items():
        cls = material_class(species)
        kept = binder_kept if cls == "binder" else 1.0
        share = params.value_or(f"recovery.separation.to_black_mass.{cls}", 0.0)
        if kg * kept * share > 0:
            out[species] = kg * kept * share
    mass = sum(out.values())
    if mass <= 0:
        raise ValidationError("the separation rules of the parameter set put nothing into black mass")
    return {k: v / mass for k, v in out.items()}


def _require_chemistry(params: ParameterSet, chemistry: str) -> None:
    known = params.groups("composition.cell")
    if chemistry not in known:
        raise NotFoundError(
            f"parameter set {params.name!r} has no cell composition for {chemistry!r}; "
            f"it covers {', '.join(known)}"
        )


def _require(params: ParameterSet, path: str, form: str) -> float:
    if not params.has(path):
        raise NotFoundError(
            f"parameter set {params.name!r} has no {path}: it cannot model {form}s of that chemistry "
            "(EverBatt 2019 is cell-level only)"
        )
    return params.value(path)
