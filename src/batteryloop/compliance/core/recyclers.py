"""Recyclers' compliance, computed from their lots: recycling efficiency and material recovery (Annex XII of
Regulation (EU) 2023/1542 by the method of Delegated Regulation (EU) 2025/606), the Chinese white-list
conditions (2019 and 2024 editions) and recycled content per battery model (Art. 8); the result type of late
or missing traceability reports (MIIT 2018), which the columnar engine computes (``epr_engine.traceability_findings``). Pure: the service reads the ledger and passes plain records in.

The mass balance is lot-based. An input lot is the set of ``RecyclingLotReceived`` events naming it (one per
battery); its output lots are the ``RecyclingLotProduced`` events naming it as ``input_lot_id``. A lot counts in
the year it was first received into (inputs and outputs alike, so a year's figures are the mass balance of the
lots of that year); a lot with no output yet is *open* and left out of the rates (listed apart). Recycling
efficiency of a chemistry group and year = mass of the output lots counted as recycled / mass of the input lots
x 100. Material recovery of an element = its mass in the output lots counted as recycled / its mass in the input
lots x 100, over the lots whose every battery declares that element (the others are listed as not assessable).
Outputs heavier than their inputs, a battery in two lots, an output lot naming an unknown input lot, a
battery of another lot or another recycler's lot are errors, not numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from typing import Any

from batteryloop.compliance.core.rules import RulePack
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.payloads import LOT_ELEMENTS

__all__ = [
    "ELEMENT_NAMES",
    "BatteryMade",
    "Efficiency",
    "InputItem",
    "InputLot",
    "LotBook",
    "MassBalanceError",
    "OutputLot",
    "Recovery",
    "RecycledContent",
    "TraceabilityFinding",
    "WhiteListCheck",
    "build_lots",
    "efficiency",
    "recovery",
    "recycled_content",
    "target_for_year",
    "white_list",
]

ELEMENT_NAMES: Mapping[str, str] = LOT_ELEMENTS
"""Element symbol (lower case) -> name, as the lots' ``<el>_kg`` fields and the rule packs name them."""
_SYMBOL = {name: el for el, name in LOT_ELEMENTS.items()}
POWDER = "electrode_powder"
_TOLERANCE = 1e-9


class MassBalanceError(ValidationError):
    """The lots in the ledger do not balance (outputs heavier than inputs, or lots that contradict each other)."""


@dataclass(frozen=True, slots=True)
class InputItem:
    """One ``RecyclingLotReceived``: a battery entering an input lot."""

    battery_id: str
    lot_id: str
    recycler: str
    mass_kg: float
    chemistry_group: str
    received_on: date
    elements_kg: Mapping[str, float] = field(default_factory=dict)
    electrode_powder_kg: float | None = None
    position: int = 0


@dataclass(frozen=True, slots=True)
class OutputLot:
    """One ``RecyclingLotProduced``: an output fraction made from an input lot."""

    lot_id: str
    input_lot_id: str
    recycler: str
    battery_id: str  # the unit of the input lot whose stream records it
    fraction: str
    mass_kg: float
    produced_on: date
    counted_as_recycled: bool = False
    buyer: str | None = None
    for_model: str | None = None
    elements_kg: Mapping[str, float] = field(default_factory=dict)
    position: int = 0


@dataclass(frozen=True, slots=True)
class InputLot:
    lot_id: str
    recycler: str
    chemistry_group: str
    received_on: date
    mass_kg: float
    batteries: tuple[str, ...]
    elements_kg: Mapping[str, float | None]  # None: not every battery declares the element
    electrode_powder_kg: float | None
    outputs: tuple[OutputLot, ...]

    @property
    def year(self) -> int:
        return self.received_on.year

    @property
    def output_kg(self) -> float:
        return math.fsum(o.mass_kg for o in self.outputs)

    @property
    def recycled_kg(self) -> float:
        return math.fsum(o.mass_kg for o in self.outputs if o.counted_as_recycled)

    def recovered_kg(self, element: str) -> float:
        return math.fsum(o.elements_kg.get(element, 0.0) for o in self.outputs if o.counted_as_recycled)


@dataclass(frozen=True, slots=True)
class LotBook:
    """Every input lot with its outputs, checked for consistency."""

    lots: tuple[InputLot, ...]

    def of(self, recycler: str | None) -> tuple[InputLot, ...]:
        return tuple(lot for lot in self.lots if recycler is None or lot.recycler == recycler)


def build_lots(inputs: Iterable[InputItem], outputs: Iterable[OutputLot]) -> LotBook:
    """Group the lot events into input lots with their outputs; MassBalanceError on any inconsistency."""
    items: dict[str, list[InputItem]] = {}
    lot_of_battery: dict[str, str] = {}
    for item in inputs:
        seen = lot_of_battery.get(item.battery_id)
        if seen is not None and seen != item.lot_id:
            raise MassBalanceError(
                f"battery {item.battery_id} was received into two input lots ({seen} and {item.lot_id}): "
                "its mass would count twice"
            )
        if seen == item.lot_id:
            raise MassBalanceError(
                f"battery {item.battery_id} was received into input lot {item.lot_id} twice"
            )
        lot_of_battery[item.battery_id] = item.lot_id
        items.setdefault(item.lot_id, []).append(item)
    outs: dict[str, list[OutputLot]] = {}
    out_ids: set[str] = set()
    for out in outputs:
        if out.lot_id in out_ids:
            raise MassBalanceError(f"output lot {out.lot_id} is recorded twice")
        out_ids.add(out.lot_id)
        members = items.get(out.input_lot_id)
        if members is None:
            raise MassBalanceError(
                f"output lot {out.lot_id} names input lot {out.input_lot_id}, which has no inputs"
            )
        if lot_of_battery.get(out.battery_id) != out.input_lot_id:
            raise MassBalanceError(
                f"output lot {out.lot_id} is recorded on battery {out.battery_id}, which is not in input lot "
                f"{out.input_lot_id}"
            )
        if members[0].recycler != out.recycler:
            raise MassBalanceError(
                f"output lot {out.lot_id} was recorded by {out.recycler}, but input lot {out.input_lot_id} is "
                f"{members[0].recycler}'s"
            )
        outs.setdefault(out.input_lot_id, []).append(out)
    lots = [_input_lot(lot_id, members, tuple(outs.get(lot_id, ()))) for lot_id, members in items.items()]
    lots.sort(key=lambda lot: (lot.received_on, lot.lot_id))
    return LotBook(tuple(lots))


def _input_lot(lot_id: str, members: Sequence[InputItem], outputs: tuple[OutputLot, ...]) -> InputLot:
    recyclers = {m.recycler for m in members}
    if len(recyclers) > 1:
        raise MassBalanceError(
            f"input lot {lot_id} was received by several recyclers: {', '.join(sorted(recyclers))}"
        )
    groups = {m.chemistry_group for m in members}
    if len(groups) > 1:
        raise MassBalanceError(
            f"input lot {lot_id} mixes chemistry groups ({', '.join(sorted(groups))}); the efficiency is computed "
            "per group: record one lot per group"
        )
    mass = math.fsum(m.mass_kg for m in members)
    elements: dict[str, float | None] = {}
    for el in ELEMENT_NAMES:
        values = [m.elements_kg.get(el) for m in members]
        elements[el] = (
            None if any(v is None for v in values) else math.fsum(v for v in values if v is not None)
        )
    powders = [m.electrode_powder_kg for m in members]
    powder = None if any(p is None for p in powders) else math.fsum(p for p in powders if p is not None)
    out_kg = math.fsum(o.mass_kg for o in outputs)
    if out_kg > mass * (1 + _TOLERANCE):
        raise MassBalanceError(
            f"inconsistent mass balance: the output lots of input lot {lot_id} weigh {out_kg:g} kg, more than "
            f"its {mass:g} kg of inputs ({', '.join(o.lot_id for o in outputs)})"
        )
    for el, declared in elements.items():
        out_el = math.fsum(o.elements_kg.get(el, 0.0) for o in outputs)
        if declared is not None and out_el > declared * (1 + _TOLERANCE) + _TOLERANCE:
            raise MassBalanceError(
                f"inconsistent mass balance: the output lots of input lot {lot_id} hold {out_el:g} kg of "
                f"{ELEMENT_NAMES[el]}, more than the {declared:g} kg its batteries declare"
            )
    return InputLot(
        lot_id=lot_id,
        recycler=members[0].recycler,
        chemistry_group=members[0].chemistry_group,
        received_on=min(m.received_on for m in members),
        mass_kg=mass,
        batteries=tuple(m.battery_id for m in members),
        elements_kg=elements,
        electrode_powder_kg=powder,
        outputs=outputs,
    )


# ----------------------------------------------------------------------------------------------- targets


@dataclass(frozen=True, slots=True)
class Target:
    value: float
    path: str
    source: str
    locator: str
    quality: str


def target_for_year(pack: RulePack, prefix: str, year: int, *, key: str = "by_") -> Target | None:
    """The stage of ``prefix`` (``recycling.efficiency.lithium``) that applies to calendar ``year``: the latest
    ``by_YYYY`` with YYYY <= year (a target "by 31 December YYYY" binds year YYYY and later); None before the
    first stage."""
    best: tuple[int, str] | None = None
    for name in pack.children(prefix):
        if not name.startswith(key):
            continue
        try:
            stage = int(name[len(key) : len(key) + 4])
        except ValueError:
            continue
        if stage <= year and (best is None or stage > best[0]):
            best = (stage, name)
    if best is None:
        return None
    path = f"{prefix}.{best[1]}"
    cited = pack.get(path)
    return Target(float(cited.value), path, cited.source, cited.locator or "", cited.quality)


def _status(value: float | None, target: Target | None, *, maximum: bool = False) -> str:
    if value is None:
        return "not_assessable"
    if target is None:
        return "no_target"
    ok = value <= target.value if maximum else value >= target.value
    return "meets" if ok else "below" if not maximum else "above"


# --------------------------------------------------------------------------------------------- efficiency


@dataclass(frozen=True, slots=True)
class Efficiency:
    chemistry_group: str
    year: int
    input_kg: float
    recycled_kg: float
    efficiency_pct: float
    target: Target | None
    status: str
    lots: tuple[str, ...]
    batteries: tuple[str, ...]


def efficiency(
    lots: Sequence[InputLot], pack: RulePack, *, year: int | None = None
) -> tuple[Efficiency, ...]:
    """Recycling efficiency per chemistry group and year of the closed lots, against the pack's targets."""
    if not _has(pack, "recycling.efficiency"):
        raise NotFoundError(
            f"jurisdiction {pack.name} has no recycling-efficiency rules (recycling.efficiency)"
        )
    groups: dict[tuple[str, int], list[InputLot]] = {}
    for lot in lots:
        if lot.outputs and (year is None or lot.year == year):
            groups.setdefault((lot.chemistry_group, lot.year), []).append(lot)
    out = []
    for (group, yr), members in sorted(groups.items()):
        inp = math.fsum(lot.mass_kg for lot in members)
        rec = math.fsum(lot.recycled_kg for lot in members)
        pct = 100.0 * rec / inp
        target = target_for_year(pack, f"recycling.efficiency.{group}", yr)
        out.append(
            Efficiency(
                group,
                yr,
                inp,
                rec,
                pct,
                target,
                _status(pct, target),
                tuple(lot.lot_id for lot in members),
                tuple(chain.from_iterable(lot.batteries for lot in members)),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Recovery:
    element: str  # name: cobalt, copper, lead, lithium, nickel
    year: int
    input_kg: float
    recovered_kg: float
    recovery_pct: float | None
    target: Target | None
    status: str
    lots: tuple[str, ...]
    not_assessable: tuple[str, ...]  # closed lots whose batteries do not all declare the element


def recovery(lots: Sequence[InputLot], pack: RulePack, *, year: int | None = None) -> tuple[Recovery, ...]:
    """Material recovery per element of the pack's targets and year, over the closed lots declaring it."""
    if not _has(pack, "recycling.recovery"):
        raise NotFoundError(f"jurisdiction {pack.name} has no material-recovery rules (recycling.recovery)")
    names = pack.groups("recycling.recovery")
    years = sorted({lot.year for lot in lots if lot.outputs and (year is None or lot.year == year)})
    out = []
    for yr in years:
        closed = [lot for lot in lots if lot.outputs and lot.year == yr]
        for name in names:
            el = _SYMBOL.get(name)
            if el is None:
                raise ValidationError(f"rule recycling.recovery.{name}: unknown element {name!r}")
            known = [lot for lot in closed if lot.elements_kg.get(el) is not None]
            unknown = tuple(lot.lot_id for lot in closed if lot.elements_kg.get(el) is None)
            inp = math.fsum(lot.elements_kg[el] or 0.0 for lot in known)
            rec = math.fsum(lot.recovered_kg(el) for lot in known)
            if inp <= 0 and not unknown:
                continue  # the element is in none of this year's batteries
            pct = 100.0 * rec / inp if inp > 0 else None
            target = target_for_year(pack, f"recycling.recovery.{name}", yr)
            out.append(
                Recovery(
                    name,
                    yr,
                    inp,
                    rec,
                    pct,
                    target,
                    _status(pct, target),
                    tuple(lot.lot_id for lot in known),
                    unknown,
                )
            )
    return tuple(out)


# ------------------------------------------------------------------------------------------------ white list


@dataclass(frozen=True, slots=True)
class WhiteListCheck:
    edition: str
    condition: str
    value_pct: float | None
    limit: Target
    kind: str  # "min" | "max"
    status: str
    lots: tuple[str, ...]


def _ratio(num: float, den: float) -> float | None:
    return 100.0 * num / den if den > 0 else None


def white_list(
    lots: Sequence[InputLot], pack: RulePack, *, year: int | None = None
) -> tuple[WhiteListCheck, ...]:
    """Every edition's conditions of the pack (``whitelist.edition_*``) checked over the recycler's closed lots."""
    editions = [g for g in pack.groups("whitelist") if g.startswith("edition_")]
    if not editions:
        raise NotFoundError(f"jurisdiction {pack.name} has no white-list conditions (whitelist.edition_*)")
    closed = [lot for lot in lots if lot.outputs and (year is None or lot.year == year)]
    ids = tuple(lot.lot_id for lot in closed)

    def recovery_of(els: Sequence[str]) -> tuple[float | None, tuple[str, ...]]:
        known = [lot for lot in closed if all(lot.elements_kg.get(e) is not None for e in els)]
        inp = math.fsum(lot.elements_kg[e] or 0.0 for lot in known for e in els)
        rec = math.fsum(lot.recovered_kg(e) for lot in known for e in els)
        return _ratio(rec, inp), tuple(lot.lot_id for lot in known)

    powder_lots = [lot for lot in closed if lot.electrode_powder_kg is not None]
    powder_out = [o for lot in closed for o in lot.outputs if o.fraction == POWDER]
    powder_mass = math.fsum(o.mass_kg for o in powder_out)
    values: dict[str, tuple[float | None, tuple[str, ...]]] = {
        "nickel_cobalt_manganese_recovery_min": recovery_of(("ni", "co", "mn")),
        "lithium_recovery_min": recovery_of(("li",)),
        "electrode_powder_recovery_min": (
            _ratio(
                math.fsum(o.mass_kg for lot in powder_lots for o in lot.outputs if o.fraction == POWDER),
                math.fsum(lot.electrode_powder_kg or 0.0 for lot in powder_lots),
            ),
            tuple(lot.lot_id for lot in powder_lots),
        ),
        "aluminium_impurity_max": (
            _ratio(math.fsum(o.elements_kg.get("al", 0.0) for o in powder_out), powder_mass),
            tuple(o.lot_id for o in powder_out),
        ),
        "copper_impurity_max": (
            _ratio(math.fsum(o.elements_kg.get("cu", 0.0) for o in powder_out), powder_mass),
            tuple(o.lot_id for o in powder_out),
        ),
    }
    out = []
    for edition in editions:
        for name, cited in pack.children(f"whitelist.{edition}").items():
            if name not in values:
                continue
            value, used = values[name]
            limit = Target(
                float(cited.value),
                f"whitelist.{edition}.{name}",
                cited.source,
                cited.locator or "",
                cited.quality,
            )
            kind = "max" if name.endswith("_max") else "min"
            status = _status(value, limit, maximum=kind == "max")
            out.append(
                WhiteListCheck(
                    edition.removeprefix("edition_"), name, value, limit, kind, status, used or ids
                )
            )
    return tuple(out)


# ---------------------------------------------------------------------------------------- recycled content


@dataclass(frozen=True, slots=True)
class BatteryMade:
    """A ``BatteryManufactured`` the recycled-content check needs."""

    battery_id: str
    manufacturer: str
    model: str
    category: str
    chemistry: str
    mass_kg: float
    year: int


@dataclass(frozen=True, slots=True)
class RecycledContent:
    producer: str
    model: str
    year: int
    element: str
    batteries: int
    content_kg: float  # the element in the model's batteries of the year (composition of the chemistry)
    recycled_kg: float  # the element in the output lots bought for the model that year, counted as recycled
    share_pct: float
    minimum_2031: Target | None
    minimum_2036: Target | None
    applicable: Target | None  # the minimum in force in that year, if any
    status: str
    lots: tuple[str, ...]
    battery_ids: tuple[str, ...]


def recycled_content(
    made: Iterable[BatteryMade],
    outputs: Iterable[OutputLot],
    pack: RulePack,
    composition: Mapping[str, Mapping[str, float]],
    *,
    producer: str | None = None,
) -> tuple[RecycledContent, ...]:
    """Recycled-content share per producer, battery model, year and element of Art. 8, backed by the output
    lots its recyclers sold for that model (buyer = producer, ``for_model`` = model, counted as recycled, in
    the year they were produced). ``composition``: chemistry -> element name -> kg per kg of battery."""
    if not _has(pack, "recycled_content.minimum"):
        raise NotFoundError(
            f"jurisdiction {pack.name} has no recycled-content rules (recycled_content.minimum)"
        )
    scope = set(pack.value("recycled_content.scope")) if pack.has("recycled_content.scope") else None
    elements = pack.groups("recycled_content.minimum")
    groups: dict[tuple[str, str, int], list[BatteryMade]] = {}
    for b in made:
        if (producer is None or b.manufacturer == producer) and (scope is None or b.category in scope):
            groups.setdefault((b.manufacturer, b.model, b.year), []).append(b)
    bought: dict[tuple[str, str, int], list[OutputLot]] = {}
    for o in outputs:
        if o.counted_as_recycled and o.buyer and o.for_model:
            bought.setdefault((o.buyer, o.for_model, o.produced_on.year), []).append(o)
    dates = {
        k: date.fromisoformat(str(pack.value(f"recycled_content.dates.{k}")))
        for k in ("from_2031", "from_2036")
    }
    out = []
    for (prod, model, yr), batteries in sorted(groups.items()):
        lots = bought.get((prod, model, yr), [])
        for name in elements:
            el = _SYMBOL[name]
            content = math.fsum(
                b.mass_kg * composition.get(b.chemistry, {}).get(name, 0.0) for b in batteries
            )
            if content <= 0:
                continue
            rec = math.fsum(o.elements_kg.get(el, 0.0) for o in lots)
            share = 100.0 * rec / content
            stages = {
                k: _cited(pack, f"recycled_content.minimum.{name}.{k}") for k in ("from_2031", "from_2036")
            }
            applicable = None
            for k in ("from_2031", "from_2036"):
                if dates[k] <= date(yr, 12, 31):
                    applicable = stages[k]
            status = _status(share, applicable) if applicable else "not_yet_applicable"
            out.append(
                RecycledContent(
                    prod,
                    model,
                    yr,
                    name,
                    len(batteries),
                    content,
                    rec,
                    share,
                    stages["from_2031"],
                    stages["from_2036"],
                    applicable,
                    status,
                    tuple(o.lot_id for o in lots if o.elements_kg.get(el, 0.0) > 0),
                    tuple(b.battery_id for b in batteries),
                )
            )
    return tuple(out)


def _has(pack: RulePack, prefix: str) -> bool:
    return next(iter(pack.items(prefix)), None) is not None


def _cited(pack: RulePack, path: str) -> Target | None:
    if not pack.has(path):
        return None
    cited = pack.get(path)
    return Target(float(cited.value), path, cited.source, cited.locator or "", cited.quality)


# -------------------------------------------------------------------------------------------- traceability


@dataclass(frozen=True, slots=True)
class TraceabilityFinding:
    status: str  # "late" | "missing"
    actor: str
    rule: str  # the actor rule of the pack (recycler, dismantler, ...)
    battery_id: str
    event_type: str
    occurred_on: date
    recorded_on: date | None
    working_days: int
    deadline_working_days: int
    source: str
    locator: str
    position: int


def as_float_map(payload: Mapping[str, Any]) -> dict[str, float]:
    """The ``<el>_kg`` fields of a lot payload as {element symbol: kg}."""
    return {
        el: float(payload[f"{el}_kg"])
        for el in ELEMENT_NAMES
        if isinstance(payload.get(f"{el}_kg"), int | float) and not isinstance(payload.get(f"{el}_kg"), bool)
    }
