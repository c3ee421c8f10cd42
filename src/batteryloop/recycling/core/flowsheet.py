"""Flowsheet: routes built from unit operations, with an element-wise mass balance per operation.

Every operation takes its feed (materials or elements), adds reagents, and sends each species to named outputs
(products, intermediates passed to the next operation, losses, emissions) by the split fractions of the parameter
set. What a rule does not place goes to the operation's residue (feed matter) or effluent (reagent matter).
The balance of each operation is then checked element by element on both sides: a stream that takes more than
came in (a product needing more counter-ion than the reagents supplied, a share above 1) shows up as a closure
error, and a run whose error exceeds 0.1 % is refused. Element recoveries are read off the products at the end.

Bookkeeping basis: one tonne (1,000 kg) of feedstock as received. Reagent matter is tracked as one lump
(``reagents``); oxygen taken from air for combustion as ``air``; process water is not part of the balance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core.feedstock import CHARGED_FORMS, form_makeup, validate_feedstock
from batteryloop.recycling.core.flowsheet_types import Feedstock, FlowsheetResult, UnitOperationBalance
from batteryloop.recycling.core.grades import product_grades
from batteryloop.recycling.core.materials import (
    AIR_SPECIES,
    COMPOUND_FORMULAS,
    REAGENTS_SPECIES,
    Chemistry,
    Stream,
    add_into,
    cam_chemistry,
    material_class,
    resolve_chemistry,
    total,
)
from batteryloop.recycling.core.params import ParameterSet

FEED_BASIS_KG = 1000.0
MAX_CLOSURE_ERROR = 0.001
GAL_TO_KG_WATER = 3.78541
MJ_PER_KWH = 3.6

ROUTES: dict[str, tuple[str, ...]] = {
    "black_mass_only": ("black_mass", "high_grade_black_mass"),
    "hydro": ("salts", "precursor"),
    "pyro": ("salts", "alloy"),
    "direct": ("cathode",),
    "lfp_selective": ("salts",),
}
ROUTE_ALIASES: dict[str, tuple[str, str | None]] = {
    "hydro_salts": ("hydro", "salts"),
    "hydro_precursor": ("hydro", "precursor"),
    "mechanical": ("black_mass_only", None),
    "pyro_hydro": ("pyro", "salts"),
}
PRODUCT_LEVELS = ("black_mass", "high_grade_black_mass", "salts", "precursor", "alloy", "cathode")
LITHIUM_PRODUCTS = ("Li2CO3", "LiOH")

_VOLATILE = frozenset({"C", "H", "O", "N"})
_ORGANIC_CLASSES = frozenset({"graphite", "carbon_black", "binder", "electrolyte", "plastics"})
_EPS = 1e-9

PRODUCT_KIND = "product"
INTERMEDIATE = "intermediate"
LOSS = "loss"
EMISSION = "emission"


@dataclass(slots=True)
class _Output:
    kind: str
    stream: Stream = field(default_factory=dict)


class _Run:
    """State of one flowsheet run."""

    def __init__(self, params: ParameterSet, chem: Chemistry) -> None:
        self.params = params
        self.chem = chem
        self.consumables: dict[str, float] = {}
        self.balances: list[UnitOperationBalance] = []
        self.products: dict[str, Stream] = {}
        self.process_co2_kg = 0.0
        self.notes: list[str] = []

    def consume(self, key: str, amount: float) -> None:
        if amount:
            self.consumables[key] = self.consumables.get(key, 0.0) + amount


class _Op:
    """One unit operation being balanced."""

    def __init__(self, run: _Run, name: str, feed: Mapping[str, float], *, residue: str) -> None:
        self.run = run
        self.name = name
        self.feed: Stream = {k: v for k, v in feed.items() if v}
        self.feed_elements = run.chem.to_elements(self.feed)
        self.residue = residue
        self.reagents: dict[str, float] = {}
        self.air_kg = 0.0
        self.outputs: dict[str, _Output] = {}
        self.stored_kwh = 0.0

    # ---- routing
    def send(self, output: str, kind: str, species: str, kg: float) -> None:
        if kg == 0.0:
            return
        out = self.outputs.setdefault(output, _Output(kind))
        out.stream[species] = out.stream.get(species, 0.0) + kg

    def send_stream(self, output: str, kind: str, stream: Mapping[str, float], factor: float = 1.0) -> None:
        for species, kg in stream.items():
            self.send(output, kind, species, kg * factor)

    def compound(self, output: str, kind: str, payload: Mapping[str, float], compound_kg: float) -> None:
        """A product whose payload elements come from the feed and the rest of its mass from the reagents."""
        for element, kg in payload.items():
            self.send(output, kind, element, kg)
        self.send(output, kind, REAGENTS_SPECIES, compound_kg - total(payload))

    def output_mass(self, name: str) -> float:
        out = self.outputs.get(name)
        return 0.0 if out is None else total(out.stream)

    def reagent(self, name: str, kg: float) -> None:
        if kg <= 0:
            return
        self.reagents[name] = self.reagents.get(name, 0.0) + kg
        self.run.consume(name, kg)

    # ---- combustion of organic matter (thermal pre-treatment, smelting)
    def burn(self, stream: Mapping[str, float], *, dust_share: float) -> float:
        """Burn ``stream`` (materials or elements): C, H, O to flue gas, the rest and a dust share to flue dust.

        Returns the CO2 formed (kg), which is a direct process emission.
        """
        chem = self.run.chem
        elements = chem.to_elements(stream)
        gas: Stream = {}
        for element, kg in elements.items():
            if element in _VOLATILE:
                self.send("flue_dust", LOSS, element, kg * dust_share)
                gas[element] = kg * (1.0 - dust_share)
            else:
                self.send("flue_dust", LOSS, element, kg)
        m_c, m_o, m_h = chem.atomic_mass["C"], chem.atomic_mass["O"], chem.atomic_mass["H"]
        carbon, hydrogen, oxygen = gas.get("C", 0.0), gas.get("H", 0.0), gas.get("O", 0.0)
        o_for_co2 = carbon * 2.0 * m_o / m_c
        o_for_h2o = hydrogen * m_o / (2.0 * m_h)
        own_to_co2 = min(oxygen, o_for_co2)
        own_to_h2o = min(oxygen - own_to_co2, o_for_h2o)
        spare_o = oxygen - own_to_co2 - own_to_h2o
        air_co2, air_h2o = o_for_co2 - own_to_co2, o_for_h2o - own_to_h2o
        self.air_kg += air_co2 + air_h2o
        self.send_stream("CO2", EMISSION, {"C": carbon, "O": own_to_co2, AIR_SPECIES: air_co2})
        self.send_stream("H2O", EMISSION, {"H": hydrogen, "O": own_to_h2o + spare_o, AIR_SPECIES: air_h2o})
        if gas.get("N", 0.0):
            self.send("N2", EMISSION, "N", gas["N"])
        co2 = carbon + own_to_co2 + air_co2
        self.run.process_co2_kg += co2
        return co2

    # ---- inventories (reagents, energy) from the parameter set
    def apply_inventory(self) -> None:
        params, chem = self.run.params, self.run.chem
        prefix = f"inventories.{self.name}."
        feed_kg = total(self.feed)
        for path, param in params.items(f"inventories.{self.name}"):
            tail = path[len(prefix) :]
            if "." not in tail:
                raise ValidationError(f"{path}: expected inventories.<operation>.<input>.<basis>")
            item, basis = tail.split(".", 1)
            if item == "labour_h":
                continue  # read by the dismantling operation itself
            if basis == "per_kg_feed":
                base = feed_kg
            elif basis == "per_kg_plant_feed":
                base = FEED_BASIS_KG
            elif basis == "per_kwh_stored":
                base = self.stored_kwh
            elif basis == "per_kg_cam":
                base = sum(kg for s, kg in self.feed.items() if material_class(s) == "cam")
            elif basis == "per_kg_graphite":
                base = self.feed.get("graphite", 0.0)
            elif basis.startswith("mol_per_mol_"):
                element = basis[len("mol_per_mol_") :]
                if item not in COMPOUND_FORMULAS:
                    raise ValidationError(
                        f"{path}: a molar ratio needs a reagent with a formula, not {item!r}"
                    )
                moles = self.feed_elements.get(element, 0.0) / chem.atomic_mass[element]
                base = moles * chem.compound_mass(item)
            elif basis.startswith("per_kg_"):
                what = basis[len("per_kg_") :]
                if what in chem.atomic_mass:
                    base = self.feed_elements.get(what, 0.0)
                elif what in self.outputs:
                    base = self.output_mass(what)
                elif what in COMPOUND_FORMULAS or what in ("precursor",):
                    base = 0.0  # the operation did not make that product in this run
                else:
                    raise ValidationError(f"{path}: unknown basis {basis!r}")
            else:
                raise ValidationError(f"{path}: unknown basis {basis!r}")
            amount = param.value * base
            self._add_input(item, amount, path)

    def _add_input(self, item: str, amount: float, path: str) -> None:
        if item == "electricity_mj":
            self.run.consume("electricity_kwh", amount / MJ_PER_KWH)
        elif item in ("electricity_kwh", "natural_gas_mj", "diesel_mj", "water_kg"):
            self.run.consume(item, amount)
        elif item == "water_gal":
            self.run.consume("water_kg", amount * GAL_TO_KG_WATER)
        elif item in COMPOUND_FORMULAS:
            self.reagent(item, amount)
        else:
            raise ValidationError(f"{path}: unknown input {item!r}")

    # ---- closing the balance
    def close(self) -> dict[str, _Output]:
        chem = self.run.chem
        inputs: Stream = dict(self.feed_elements)
        reagent_kg = sum(self.reagents.values())
        if reagent_kg:
            inputs[REAGENTS_SPECIES] = inputs.get(REAGENTS_SPECIES, 0.0) + reagent_kg
        if self.air_kg:
            inputs[AIR_SPECIES] = inputs.get(AIR_SPECIES, 0.0) + self.air_kg
        # inert blanket gas leaves with the off-gas
        if self.reagents.get("N2"):
            self.send("N2", EMISSION, REAGENTS_SPECIES, self.reagents["N2"])
        placed: Stream = {}
        for out in self.outputs.values():
            add_into(placed, chem.to_elements(out.stream))
        for species, kg_in in inputs.items():
            rest = kg_in - placed.get(species, 0.0)
            if rest > _EPS * max(1.0, kg_in):
                if species == REAGENTS_SPECIES:
                    self.send("wastewater", LOSS, species, rest)
                elif species == AIR_SPECIES:
                    self.send("off_gas", EMISSION, species, rest)
                else:
                    self.send(self.residue, LOSS, species, rest)
        out_elements: Stream = {}
        for out in self.outputs.values():
            add_into(out_elements, chem.to_elements(out.stream))
        mismatch = sum(
            abs(inputs.get(s, 0.0) - out_elements.get(s, 0.0)) for s in set(inputs) | set(out_elements)
        )
        mass_in = total(inputs)
        closure = mismatch / mass_in if mass_in > 0 else 0.0
        worst = ""
        if closure > MAX_CLOSURE_ERROR:
            worst = max(
                set(inputs) | set(out_elements),
                key=lambda s: abs(inputs.get(s, 0.0) - out_elements.get(s, 0.0)),
            )
            raise ValidationError(
                f"mass balance of {self.name} does not close: error {closure:.4%} > 0.1 %; "
                f"worst species {worst!r}: in {inputs.get(worst, 0.0):.4f} kg, out {out_elements.get(worst, 0.0):.4f} kg "
                "(check the split fractions and reagent ratios of the parameter set)"
            )
        reported_inputs: Stream = dict(self.feed_elements)
        for name, kg in self.reagents.items():
            reported_inputs[f"reagent:{name}"] = kg
        if self.air_kg:
            reported_inputs["air_O2"] = self.air_kg
        by_kind: dict[str, dict[str, float]] = {PRODUCT_KIND: {}, INTERMEDIATE: {}, LOSS: {}, EMISSION: {}}
        for name, out in self.outputs.items():
            by_kind[out.kind][name] = by_kind[out.kind].get(name, 0.0) + total(out.stream)
        products = {**by_kind[PRODUCT_KIND], **by_kind[INTERMEDIATE]}
        self.run.balances.append(
            UnitOperationBalance(
                name=self.name,
                inputs_kg=MappingProxyType(reported_inputs),
                products_kg=MappingProxyType(products),
                losses_kg=MappingProxyType(by_kind[LOSS]),
                emissions_kg=MappingProxyType(by_kind[EMISSION]),
                closure_error=closure,
                elements_in_kg=MappingProxyType(inputs),
                elements_out_kg=MappingProxyType(out_elements),
            )
        )
        for name, out in self.outputs.items():
            if out.kind == PRODUCT_KIND:
                add_into(self.run.products.setdefault(name, {}), out.stream)
        return self.outputs


# ------------------------------------------------------------------------------------------------- routes


def resolve_route(route: str, product_level: str | None) -> tuple[str, str]:
    """Validate a route and product level; aliases such as 'hydro_salts' are expanded."""
    if route in ROUTE_ALIASES:
        alias_route, alias_level = ROUTE_ALIASES[route]
        if product_level is not None and alias_level is not None and product_level != alias_level:
            raise ValidationError(
                f"route {route!r} implies product level {alias_level!r}, got {product_level!r}"
            )
        route, product_level = alias_route, product_level or alias_level
    if route not in ROUTES:
        known = sorted([*ROUTES, *ROUTE_ALIASES])
        raise ValidationError(f"unknown route {route!r}; expected one of {', '.join(known)}")
    levels = ROUTES[route]
    if product_level is None:
        return route, levels[0]
    if product_level not in levels:
        raise ValidationError(
            f"route {route!r} cannot make product level {product_level!r}; it makes {', '.join(levels)}"
        )
    return route, product_level


def run_flowsheet(
    feedstock: Feedstock,
    *,
    route: str,
    product_level: str | None = None,
    params: ParameterSet,
    lithium_product: str = "Li2CO3",
) -> FlowsheetResult:
    """Run one route on one tonne of the feedstock and return products, consumables and balances."""
    route, level = resolve_route(route, product_level)
    if lithium_product not in LITHIUM_PRODUCTS:
        raise ValidationError(
            f"lithium_product must be one of {', '.join(LITHIUM_PRODUCTS)}, got {lithium_product!r}"
        )
    validate_feedstock(feedstock, params)
    run = _Run(params, resolve_chemistry(params))

    to_dismantle: Stream = {}
    cells: Stream = {}
    black_mass_feed: Stream = {}
    feed_all: Stream = {}
    stored_kwh = 0.0
    feed_energy_kwh = 0.0
    for comp in feedstock.components:
        if comp.mass_share == 0:
            continue
        makeup = form_makeup(params, comp.form, comp.chemistry)
        kg = comp.mass_share * FEED_BASIS_KG
        target = (
            to_dismantle
            if comp.form in ("pack", "module")
            else black_mass_feed
            if comp.form == "black_mass"
            else cells
        )
        add_into(target, makeup.materials, kg)
        add_into(feed_all, makeup.materials, kg)
        feed_energy_kwh += kg * makeup.energy_kwh_per_kg
        if comp.form in CHARGED_FORMS:
            stored_kwh += kg * makeup.energy_kwh_per_kg * comp.state_of_charge_pct / 100.0

    cam_chems = sorted({c for s in feed_all if (c := cam_chemistry(s)) is not None})
    if route == "direct" and len(cam_chems) != 1:
        raise ValidationError(
            f"direct recycling needs one cathode chemistry in the feed, got {', '.join(cam_chems)}"
        )
    if route == "lfp_selective" and cam_chems != ["LFP"]:
        raise ValidationError(
            f"the LFP selective-leaching route takes LFP feed only, got {', '.join(cam_chems)}"
        )

    if stored_kwh > 0:
        to_dismantle, cells = _discharge(run, to_dismantle, cells, stored_kwh)
    if to_dismantle:
        add_into(cells, _dismantle(run, to_dismantle, feedstock))

    if route == "pyro":
        _pyro(run, cells, black_mass_feed, level)
    else:
        black_mass = _preprocess(run, cells) if cells else {}
        add_into(black_mass, black_mass_feed)
        if route == "black_mass_only":
            if level == "black_mass":
                run.products.setdefault("black_mass", {})
                add_into(run.products["black_mass"], black_mass)
                if not cells:
                    run.notes.append("black mass in, black mass out: the feed is resold as is")
            else:
                _refine_black_mass(run, black_mass)
        elif route == "hydro":
            _hydro(run, black_mass, level, lithium_product)
        elif route == "direct":
            _direct(run, black_mass, cam_chems[0])
        else:
            _lfp_selective(run, black_mass, lithium_product)

    chemistries = [c.chemistry for c in feedstock.components if c.mass_share > 0]
    return _result(run, route, level, feed_all, feed_energy_kwh, chemistries)


# --------------------------------------------------------------------------------------- unit operations


def _discharge(run: _Run, packs: Stream, cells: Stream, stored_kwh: float) -> tuple[Stream, Stream]:
    op = _Op(run, "discharge", _merged(packs, cells), residue="discharge_residue")
    op.stored_kwh = stored_kwh
    op.send_stream("discharged_packs", INTERMEDIATE, packs)
    op.send_stream("discharged_cells", INTERMEDIATE, cells)
    op.apply_inventory()
    op.close()
    return dict(packs), dict(cells)


def _merged(a: Mapping[str, float], b: Mapping[str, float]) -> Stream:
    out = dict(a)
    add_into(out, b)
    return out


def _dismantle(run: _Run, feed: Stream, feedstock: Feedstock) -> Stream:
    params = run.params
    op = _Op(run, "dismantling", feed, residue="dismantling_residue")
    product_of = {"hw_aluminium": "Al", "hw_copper": "Cu", "hw_steel": "steel", "hw_plastics": "plastics"}
    rule_of = {
        "hw_aluminium": "aluminium",
        "hw_copper": "copper",
        "hw_steel": "steel",
        "hw_plastics": "plastics",
    }
    cells: Stream = {}
    for species, kg in feed.items():
        if species == "coolant":
            op.send("coolant", LOSS, species, kg)
        elif species == "electronics":
            op.send(
                "electronics", PRODUCT_KIND, species, kg * params.value("recovery.dismantling.electronics")
            )
        elif species in product_of:
            share = params.value(f"recovery.dismantling.{rule_of[species]}")
            op.send(product_of[species], PRODUCT_KIND, species, kg * share)
        else:
            cells[species] = kg
    op.send_stream("cells", INTERMEDIATE, cells)
    op.apply_inventory()
    # manual labour: hours per pack (removal, pack -> modules, modules -> cells); modules need the last step only
    hours = 0.0
    prefix = "inventories.dismantling.labour_h."
    removal = params.value_or(prefix + "pack_removal_per_pack", 0.0)
    to_modules = params.value_or(prefix + "pack_to_modules_per_pack", 0.0)
    to_cells = params.value_or(prefix + "modules_to_cells_per_pack", 0.0)
    for comp in feedstock.components:
        if comp.form not in ("pack", "module") or comp.mass_share == 0:
            continue
        pack_kg = params.value(f"composition.pack.{comp.chemistry}.pack_mass_kg")
        kg = comp.mass_share * FEED_BASIS_KG
        if comp.form == "pack":
            hours += kg / pack_kg * (removal + to_modules + to_cells)
        else:
            module_share = params.value(f"composition.pack.{comp.chemistry}.module_share")
            hours += kg / (pack_kg * module_share) * to_cells
    run.consume("dismantling_labour_h", hours)
    op.close()
    return cells


def _preprocess(run: _Run, cells: Stream) -> Stream:
    """Shredding (thermal treatment burns organics) then mechanical separation. Returns the black mass."""
    params = run.params
    shred = _Op(run, "shredding", cells, residue="shredder_residue")
    electrolyte_kept = params.value("recovery.shredding.electrolyte_recovered")
    plastics_kept = params.value("recovery.shredding.plastics_recovered")
    binder_kept = params.value("recovery.shredding.binder_to_solids")
    _check_share("recovery.shredding.electrolyte_recovered", electrolyte_kept)
    _check_share("recovery.shredding.plastics_recovered", plastics_kept)
    _check_share("recovery.shredding.binder_to_solids", binder_kept)
    burned: Stream = {}
    solids: Stream = {}
    for species, kg in cells.items():
        cls = material_class(species)
        if cls == "electrolyte":
            shred.send("electrolyte", PRODUCT_KIND, species, kg * electrolyte_kept)
            burned[species] = kg * (1.0 - electrolyte_kept)
        elif cls == "plastics":
            solids[species] = kg * plastics_kept
            burned[species] = kg * (1.0 - plastics_kept)
        elif cls == "binder":
            solids[species] = kg * binder_kept
            burned[species] = kg * (1.0 - binder_kept)
        else:
            solids[species] = kg
    shred.burn(burned, dust_share=params.value("recovery.shredding.flue_dust_share"))
    shred.send_stream("shredded_solids", INTERMEDIATE, solids)
    shred.apply_inventory()
    shred.close()

    sep = _Op(run, "separation", solids, residue="separation_residue")
    black_mass: Stream = {}
    product_of = {"cu": "Cu", "al": "Al", "steel": "steel", "plastics": "plastics"}
    for species, kg in solids.items():
        cls = material_class(species)
        to_bm = params.value_or(f"recovery.separation.to_black_mass.{cls}", 0.0)
        to_product = params.value_or(f"recovery.separation.to_product.{cls}", 0.0)
        if to_bm + to_product > 1.0 + _EPS:
            raise ValidationError(
                f"recovery.separation: shares of {cls} to black mass ({to_bm}) and product ({to_product}) exceed 1"
            )
        black_mass[species] = kg * to_bm
        if cls in product_of:
            sep.send(product_of[cls], PRODUCT_KIND, species, kg * to_product)
    sep.send_stream("black_mass", INTERMEDIATE, black_mass)
    sep.apply_inventory()
    sep.close()
    return {k: v for k, v in black_mass.items() if v}


def _refine_black_mass(run: _Run, black_mass: Stream) -> None:
    params = run.params
    op = _Op(run, "black_mass_refining", black_mass, residue="black_mass_fines")
    cam_yield = params.value("recovery.black_mass_refining.cam")
    froth = params.value("recovery.black_mass_refining.graphite_to_froth")
    cu_out = params.value("recovery.black_mass_refining.cu_removed")
    al_out = params.value("recovery.black_mass_refining.al_removed")
    for species, kg in black_mass.items():
        cls = material_class(species)
        if cls == "cam":
            op.send("high_grade_black_mass", PRODUCT_KIND, species, kg * cam_yield)
        elif cls == "graphite":
            op.send("graphite", PRODUCT_KIND, species, kg * froth)
            op.send("high_grade_black_mass", PRODUCT_KIND, species, kg * (1.0 - froth))
        elif cls == "cu":
            op.send("high_grade_black_mass", PRODUCT_KIND, species, kg * (1.0 - cu_out))
        elif cls == "al":
            op.send("high_grade_black_mass", PRODUCT_KIND, species, kg * (1.0 - al_out))
        else:
            op.send("high_grade_black_mass", PRODUCT_KIND, species, kg)
    op.apply_inventory()
    op.close()


def _hydro(run: _Run, black_mass: Stream, level: str, lithium_product: str) -> None:
    params, chem = run.params, run.chem
    leach = _Op(run, "leaching", black_mass, residue="leach_residue")
    graphite_yield = params.value("recovery.hydro.leach.graphite")
    _check_share("recovery.hydro.leach.graphite", graphite_yield)
    graphite_kg = black_mass.get("graphite", 0.0)
    leach.send("graphite", PRODUCT_KIND, "graphite", graphite_kg * graphite_yield)
    liquor: Stream = {}
    for element, kg in leach.feed_elements.items():
        # oxygen and hydrogen of dissolved oxides and binders end up as water in the liquor
        default = 1.0 if element in ("O", "H") else 0.0
        share = params.value_or(f"recovery.hydro.leach.{element}", default)
        _check_share(f"recovery.hydro.leach.{element}", share)
        if element == "F":
            continue  # fixed by lime as CaF2 in the leach residue
        if element == "C":
            continue  # graphite, carbon black and binder stay solid
        liquor[element] = kg * share
    leach.send_stream("leach_liquor", INTERMEDIATE, liquor)
    leach.apply_inventory()
    reagent_kg = sum(leach.reagents.values())
    leach.send("leach_liquor", INTERMEDIATE, REAGENTS_SPECIES, reagent_kg)
    leach.close()
    liquor = _intermediate(leach, "leach_liquor")

    if level == "salts":
        op = _Op(run, "solvent_extraction", liquor, residue="impurity_cake")
        for element, salt in (("Ni", "NiSO4"), ("Co", "CoSO4"), ("Mn", "MnSO4")):
            kg = liquor.get(element, 0.0) * params.value(f"recovery.hydro.yield.{element}")
            if kg > 0:
                op.compound(salt, PRODUCT_KIND, {element: kg}, kg / chem.mass_fractions(salt)[element])
    else:
        op = _Op(run, "precursor_coprecipitation", liquor, residue="impurity_cake")
        payload: Stream = {}
        hydroxide_kg = 0.0
        m_oh = chem.compound_mass("OH")
        for element in ("Ni", "Co", "Mn"):
            kg = liquor.get(element, 0.0) * params.value(f"recovery.hydro.precursor_yield.{element}")
            if kg > 0:
                payload[element] = kg
                hydroxide_kg += kg + 2.0 * kg / chem.atomic_mass[element] * m_oh
        if payload:
            op.compound("precursor", PRODUCT_KIND, payload, hydroxide_kg)
    # lithium, sodium and the rest of the reagents pass on to lithium recovery
    raffinate: Stream = {el: liquor[el] for el in ("Li", "Na", "O", "H") if liquor.get(el)}
    op.send_stream("raffinate", INTERMEDIATE, raffinate)
    op.apply_inventory()
    reagents_in = liquor.get(REAGENTS_SPECIES, 0.0) + sum(op.reagents.values())
    used = sum(out.stream.get(REAGENTS_SPECIES, 0.0) for out in op.outputs.values())
    op.send("raffinate", INTERMEDIATE, REAGENTS_SPECIES, max(0.0, reagents_in - used))
    op.close()
    raffinate = _intermediate(op, "raffinate")
    _lithium_recovery(run, raffinate, "recovery.hydro.yield.Li", lithium_product)


def _lithium_recovery(run: _Run, liquor: Stream, yield_path: str, lithium_product: str) -> None:
    params, chem = run.params, run.chem
    op = _Op(run, "precipitation", liquor, residue="wastewater")
    li_kg = liquor.get("Li", 0.0) * params.value(yield_path)
    kind = PRODUCT_KIND if lithium_product == "Li2CO3" else INTERMEDIATE
    if li_kg > 0:
        op.compound("Li2CO3", kind, {"Li": li_kg}, li_kg / chem.mass_fractions("Li2CO3")["Li"])
    op.apply_inventory()
    op.close()
    if lithium_product == "LiOH" and li_kg > 0:
        carbonate = _intermediate(op, "Li2CO3")
        conv = _Op(run, "lioh_conversion", carbonate, residue="caco3_residue")
        li_out = carbonate.get("Li", 0.0) * params.value("recovery.hydro.yield.lioh_conversion")
        conv.compound("LiOH", PRODUCT_KIND, {"Li": li_out}, li_out / chem.mass_fractions("LiOH")["Li"])
        conv.apply_inventory()
        conv.close()


def _pyro(run: _Run, cells: Stream, black_mass_feed: Stream, level: str) -> None:
    params, chem = run.params, run.chem
    feed = dict(cells)
    add_into(feed, black_mass_feed)
    smelt = _Op(run, "smelting", feed, residue="slag")
    organics = {s: kg for s, kg in feed.items() if material_class(s) in _ORGANIC_CLASSES}
    smelt.burn(organics, dust_share=params.value("recovery.pyro.flue_dust_share"))
    metals = run.chem.to_elements({s: kg for s, kg in feed.items() if s not in organics})
    alloy_kind = PRODUCT_KIND if level == "alloy" else INTERMEDIATE
    for element, kg in metals.items():
        share = params.value_or(f"recovery.pyro.to_alloy.{element}", 0.0)
        _check_share(f"recovery.pyro.to_alloy.{element}", share)
        smelt.send("alloy", alloy_kind, element, kg * share)
    smelt.apply_inventory()
    limestone = smelt.reagents.get("limestone", 0.0)
    calcination_co2 = limestone * params.value("emission_factors.process.co2_per_kg_limestone")
    smelt.send("CO2_calcination", EMISSION, REAGENTS_SPECIES, calcination_co2)
    run.process_co2_kg += calcination_co2
    # flux (CaO, SiO2) reports to the slag, not to wastewater
    flux = sum(smelt.reagents.values()) - calcination_co2 - smelt.reagents.get("N2", 0.0)
    slag_li = params.value("recovery.pyro.slag_li_recovery")
    _check_share("recovery.pyro.slag_li_recovery", slag_li)
    slag_kind = INTERMEDIATE if slag_li > 0 else LOSS
    smelt.send("slag", slag_kind, REAGENTS_SPECIES, flux)
    placed: Stream = {}
    for out in smelt.outputs.values():
        add_into(placed, chem.to_elements(out.stream))
    for element, kg in smelt.feed_elements.items():
        rest = kg - placed.get(element, 0.0)
        if rest > _EPS:
            smelt.send("slag", slag_kind, element, rest)
    smelt.close()
    if slag_li > 0:
        slag = _intermediate(smelt, "slag")
        treat = _Op(run, "slag_treatment", slag, residue="treated_slag")
        li_kg = slag.get("Li", 0.0) * slag_li
        treat.compound("Li2CO3", PRODUCT_KIND, {"Li": li_kg}, li_kg / chem.mass_fractions("Li2CO3")["Li"])
        treat.apply_inventory()
        treat.close()
    else:
        run.notes.append("pyro: lithium, manganese and aluminium are lost to slag (no slag treatment)")
    if level == "salts":
        alloy = _intermediate(smelt, "alloy")
        refine = _Op(run, "alloy_refining", alloy, residue="refining_residue")
        # EverBatt values the refined pyro output per kg of metal in the salt ("Co2+ in salt"), so the products
        # are reported on that basis: kg of Ni and Co contained in the salts
        for element in ("Ni", "Co"):
            kg = alloy.get(element, 0.0) * params.value(f"recovery.pyro.refining.{element}")
            refine.send(element, PRODUCT_KIND, element, kg)
        refine.send(
            "Cu", PRODUCT_KIND, "Cu", alloy.get("Cu", 0.0) * params.value("recovery.pyro.refining.Cu")
        )
        refine.apply_inventory()
        refine.close()


def _direct(run: _Run, black_mass: Stream, chemistry: str) -> None:
    params = run.params
    op = _Op(run, "relithiation", black_mass, residue="direct_residue")
    cam_yield = params.value("recovery.direct.cam")
    graphite_yield = params.value("recovery.direct.graphite")
    _check_share("recovery.direct.cam", cam_yield)
    _check_share("recovery.direct.graphite", graphite_yield)
    for species, kg in black_mass.items():
        cls = material_class(species)
        if cls == "cam":
            op.send(f"CAM_{chemistry}", PRODUCT_KIND, species, kg * cam_yield)
        elif species == "graphite":
            op.send("graphite", PRODUCT_KIND, species, kg * graphite_yield)
    op.apply_inventory()
    op.close()


def _lfp_selective(run: _Run, black_mass: Stream, lithium_product: str) -> None:
    params, chem = run.params, run.chem
    op = _Op(run, "lfp_selective_leaching", black_mass, residue="leach_residue")
    li_share = params.value("recovery.lfp_selective.Li")
    fe_share = params.value("recovery.lfp_selective.FePO4")
    graphite_share = params.value("recovery.lfp_selective.graphite")
    for path, share in (("Li", li_share), ("FePO4", fe_share), ("graphite", graphite_share)):
        _check_share(f"recovery.lfp_selective.{path}", share)
    cam_kg = black_mass.get("cam_LFP", 0.0)
    cam_el = chem.material_elements["cam_LFP"]
    fe_kg = cam_kg * cam_el["Fe"] * fe_share
    fe_mol = fe_kg / chem.atomic_mass["Fe"]
    payload = {"Fe": fe_kg, "P": fe_mol * chem.atomic_mass["P"], "O": 4.0 * fe_mol * chem.atomic_mass["O"]}
    op.compound("FePO4", PRODUCT_KIND, payload, fe_mol * chem.compound_mass("FePO4"))
    op.send("graphite", PRODUCT_KIND, "graphite", black_mass.get("graphite", 0.0) * graphite_share)
    li_kg = op.feed_elements.get("Li", 0.0) * li_share
    op.send("li_liquor", INTERMEDIATE, "Li", li_kg)
    op.apply_inventory()
    op.send(
        "li_liquor",
        INTERMEDIATE,
        REAGENTS_SPECIES,
        sum(op.reagents.values()) - (op.output_mass("FePO4") - total(payload)),
    )
    op.close()
    _lithium_recovery(
        run, _intermediate(op, "li_liquor"), "recovery.lfp_selective.Li_precipitation", lithium_product
    )


# ---------------------------------------------------------------------------------------------- results


def _intermediate(op: _Op, name: str) -> Stream:
    out = op.outputs.get(name)
    return {} if out is None else dict(out.stream)


def _check_share(path: str, share: float) -> None:
    if not 0.0 <= share <= 1.0:
        raise ValidationError(f"{path} must be a share between 0 and 1, got {share}")


def _result(
    run: _Run, route: str, level: str, feed_all: Stream, feed_energy_kwh: float, chemistries: list[str]
) -> FlowsheetResult:
    chem = run.chem
    feed_elements = chem.to_elements(feed_all)
    products_kg: dict[str, float] = {}
    product_elements: dict[str, Mapping[str, float]] = {}
    recovered: Stream = {}
    for name, stream in sorted(run.products.items()):
        mass = total(stream)
        if mass <= 0:
            continue
        products_kg[name] = mass
        elements = {
            el: kg for el, kg in chem.to_elements(stream).items() if el not in (REAGENTS_SPECIES, AIR_SPECIES)
        }
        product_elements[name] = MappingProxyType(elements)
        add_into(recovered, elements)
    recovery = {
        el: min(1.0, recovered.get(el, 0.0) / kg) for el, kg in sorted(feed_elements.items()) if kg > 0
    }
    return FlowsheetResult(
        route=route,
        product_level=level,
        feed_elements_kg=MappingProxyType(dict(sorted(feed_elements.items()))),
        products_kg=MappingProxyType(products_kg),
        element_recovery=MappingProxyType(recovery),
        consumables=MappingProxyType(dict(sorted(run.consumables.items()))),
        process_emissions_kg_co2e=run.process_co2_kg,
        operations=tuple(run.balances),
        max_closure_error=max((b.closure_error for b in run.balances), default=0.0),
        product_elements_kg=MappingProxyType(product_elements),
        feed_energy_kwh=feed_energy_kwh,
        feed_mass_kg=FEED_BASIS_KG,
        params_set=run.params.name,
        notes=tuple(run.notes),
        product_grades=MappingProxyType(product_grades(route, products_kg, chemistries=chemistries)),
    )
