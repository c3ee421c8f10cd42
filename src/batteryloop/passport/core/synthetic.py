"""Synthetic, plausible passport data for demo batteries (deterministic per seed and battery).

Every number comes from ``data/synthetic_defaults.toml`` (each block cites its source and year); the seed
only picks values inside the ranges given there. The result is a complete ``PassportDataRegistered``
payload (JSON types) that validates against :class:`batteryloop.passport.core.model.PassportDataRegistered`.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Protocol, cast

from batteryloop.domain.battery import BatteryUnit
from batteryloop.domain.chemistry import BatteryCategory, Chemistry
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.passport.core.documents import documents_for, model_code
from batteryloop.reference.files import read_toml, thaw

PASSPORT_CATEGORIES = frozenset(
    {BatteryCategory.EV, BatteryCategory.LMT, BatteryCategory.INDUSTRIAL, BatteryCategory.STATIONARY}
)
_PHOSPHATE = frozenset({Chemistry.LFP, Chemistry.LMFP})
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


SYNTHETIC_DEFAULTS_FILE = Path(__file__).parent.parent / "data" / "synthetic_defaults.toml"


@cache
def _default_defaults() -> dict[str, Any]:
    return cast(dict[str, Any], thaw(read_toml(SYNTHETIC_DEFAULTS_FILE)))


def load_synthetic_defaults(path: str | Path | None = None) -> dict[str, Any]:
    """The packaged defaults, or a user's file with the same layout."""
    if path is None:
        return _default_defaults()
    try:
        return cast(dict[str, Any], thaw(read_toml(path)))
    except (NotFoundError, ValidationError) as exc:
        raise ValidationError(f"synthetic defaults file {path}: {exc}") from exc


def catenax_id(prefix: str, key: str) -> str:
    """A deterministic, well-formed demo Catena-X BPN (``BPNL``/``BPNA`` + 12 characters) for ``key``."""
    digest = hashlib.sha256(f"{prefix}:{key}".encode()).digest()
    return prefix + "".join(_ALNUM[b % len(_ALNUM)] for b in digest[:12])


def _family(chemistry: Chemistry) -> str:
    if chemistry.is_nickel_based or chemistry in (Chemistry.SOLID_STATE, Chemistry.SEMI_SOLID_STATE):
        return "nickel"
    if chemistry in _PHOSPHATE:
        return "phosphate"
    return "other"


def _performance_class(value: float, bands: list[list[Any]]) -> str:
    for upper, label in bands:
        if value < float(upper):
            return str(label)
    return str(bands[-1][1])


RECYCLING_STAGE = "Recycling"


class RecyclingStageModel(Protocol):
    """Gate-to-gate recycling emissions (kg CO2e per kWh of pack) of one tonne of single-chemistry feed through
    ``route`` (the recycling capability's model; the composition root passes it in)."""

    def __call__(
        self,
        chemistry: str,
        *,
        route: str,
        params_set: str,
        grid_region: str,
        form: str,
        annual_mass_t: float,
    ) -> float: ...


def recycling_stage_kg_co2e_per_kwh(
    chemistry: Chemistry, *, model: RecyclingStageModel, defaults: Mapping[str, Any] | None = None
) -> float | None:
    """The Recycling stage of ``chemistry`` from ``model`` with the settings in the defaults'
    ``[carbon_footprint.recycling_stage]``, or None when that block names no route for ``chemistry`` (the
    caller falls back to the cited stage share)."""
    d = defaults if defaults is not None else _default_defaults()
    config = d["carbon_footprint"].get("recycling_stage")
    if config is None:
        return None
    route = config["routes"].get(chemistry.value)
    if route is None:
        return None
    per_kwh = model(
        chemistry.value,
        route=str(route),
        params_set=str(config["params_set"]),
        grid_region=str(config["grid_region"]),
        form=str(config["form"]),
        annual_mass_t=float(config["annual_mass_t"]),
    )
    if per_kwh < 0.0:
        raise ValidationError(
            f"recycling stage for {chemistry} via {route!r}: negative emissions ({per_kwh})"
        )
    return per_kwh


def _carbon_stages(
    total: float, chemistry: Chemistry, cf: Mapping[str, Any], model: RecyclingStageModel | None
) -> list[dict[str, Any]]:
    """Per-stage footprint summing to ``total``: Recycling from ``model`` where it can, the rest by stage
    share (all by stage share without a model)."""
    shares = {stage: float(share) for stage, share in cf["stage_share"].items()}
    recycling = (
        None
        if model is None
        else recycling_stage_kg_co2e_per_kwh(chemistry, model=model, defaults={"carbon_footprint": cf})
    )
    if recycling is None or RECYCLING_STAGE not in shares:
        return [
            {"stage": stage, "kg_co2e_per_kwh": round(total * share, 3)} for stage, share in shares.items()
        ]
    if recycling > total:
        raise ValidationError(
            f"{chemistry}: modelled recycling stage {recycling:.2f} kg CO2e/kWh exceeds the declared total {total}"
        )
    rest = sum(share for stage, share in shares.items() if stage != RECYCLING_STAGE)
    return [
        {
            "stage": stage,
            "kg_co2e_per_kwh": round(
                recycling if stage == RECYCLING_STAGE else (total - recycling) * share / rest, 3
            ),
        }
        for stage, share in shares.items()
    ]


def synthetic_passport_data(
    unit: BatteryUnit,
    *,
    seed: int,
    defaults: Mapping[str, Any] | None = None,
    manufacturer_name: str | None = None,
    recycling_stage: RecyclingStageModel | None = None,
) -> dict[str, Any]:
    """A complete PassportDataRegistered payload for a demo ``unit`` (same seed and unit -> same payload).

    ``manufacturer_name`` is the registered organisation's name (the demo passes it from the organisation
    registry); without it a name is derived from the manufacturer id. ``recycling_stage`` computes the
    carbon footprint's Recycling stage (the demo passes the recycling model's); without it the stage takes its
    cited share of the total. Documents and label symbols are linked by their content hash
    (:func:`batteryloop.passport.core.documents.documents_for` gives their bytes, for the document store), so
    the payload names no host.
    """
    d = defaults if defaults is not None else _default_defaults()
    if unit.category not in PASSPORT_CATEGORIES:
        raise ValidationError(
            f"battery {unit.battery_id}: category {unit.category} needs no battery passport "
            "(Art. 77(1): EV, LMT and industrial batteries above 2 kWh)"
        )
    rng = random.Random(f"{seed}:{unit.battery_id}")
    cat = unit.category.value
    family = _family(unit.chemistry)
    docs = documents_for(unit.manufacturer_id, unit.model)

    # --- operators
    country = unit.manufacturing_country
    manufacturer = {
        "name": manufacturer_name or unit.manufacturer_id.replace("-", " ").title(),
        "identifier": unit.manufacturer_id,
        "address": {
            "street": f"Industrial Park {rng.randint(1, 199)}",
            "postal_code": f"{rng.randint(10000, 99999)}",
            "country": country,
        },
        "email": f"passport@{unit.manufacturer_id.lower()}.example",
        "web": f"https://{unit.manufacturer_id.lower()}.example",
        "bpnl": catenax_id("BPNL", unit.manufacturer_id),
    }
    site = unit.manufacturing_site or f"{unit.manufacturer_id} plant {country}"
    place = {"street": site, "postal_code": f"{rng.randint(10000, 99999)}", "country": country}

    # --- carbon footprint (the Recycling stage from the recycling model where the chemistry is modelled)
    cf = d["carbon_footprint"]
    base = float(cf["kg_co2e_per_kwh"][unit.chemistry.value])
    spread = float(cf["spread"])
    total = round(base * (1.0 + rng.uniform(-spread, spread)), 2)
    stages = _carbon_stages(total, unit.chemistry, cf, recycling_stage)
    carbon = {
        "total_kg_co2e_per_kwh": total,
        "per_stage": stages,
        "performance_class": _performance_class(total, cf["classes"]["bands"]),
        "study_url": docs["carbon_footprint_study"].ref,
        "absolute_kg_co2e": round(total * unit.rated_energy_kwh, 1),
        "manufacturing_plant_bpna": catenax_id("BPNA", site),
    }

    # --- composition
    mats = d["materials"]
    rows = [*mats["cathode"][unit.chemistry.value], *mats["common"]]
    if unit.chemistry is Chemistry.SODIUM_ION:
        rows = [r for r in rows if r[0] != "Lithium hexafluorophosphate"]
    by_name: dict[str, dict[str, Any]] = {}
    for name, cas, kg_per_kwh, component, critical in rows:
        mass = round(float(kg_per_kwh) * unit.rated_energy_kwh * rng.uniform(*mats["jitter"]), 4)
        if name in by_name:
            by_name[name]["mass_kg"] = round(by_name[name]["mass_kg"] + mass, 4)
            continue
        by_name[name] = {
            "name": name,
            "cas": cas,
            "mass_kg": mass,
            "component": component,
            "critical_raw_material": bool(critical),
        }
    declared = sum(m["mass_kg"] for m in by_name.values())
    ceiling = float(mats["max_itemised_share"]) * unit.mass_kg
    if declared > ceiling:
        scale = ceiling / declared
        for m in by_name.values():
            m["mass_kg"] = round(m["mass_kg"] * scale, 4)
        declared = sum(m["mass_kg"] for m in by_name.values())
    remainder = round(unit.mass_kg - declared, 4)
    hazard_rows = d["hazardous"]["sodium" if unit.chemistry is Chemistry.SODIUM_ION else "lithium"]
    hazardous = [
        {
            "name": name,
            "cas": cas,
            "hazard_class": hazard_class,
            "concentration_pct": round(float(pct) * rng.uniform(*d["hazardous"]["jitter"]), 3),
            "impacts": list(impacts),
            "component": component,
        }
        for name, cas, hazard_class, pct, impacts, component in hazard_rows
    ]

    # --- circularity
    rc = d["recycled_content"]
    present = {row[0] for row in rows}
    recycled = [
        {
            "material": material,
            "pre_consumer_pct": round(rng.uniform(*rc["pre_consumer_pct"]), 2),
            "post_consumer_pct": round(rng.uniform(*rc["post_consumer_pct"]), 2),
        }
        for material in ("Cobalt", "Nickel", "Lithium", "Lead")
        if material in present
    ]
    parts_supplier = {
        "name": f"{manufacturer['name']} Service Parts",
        "identifier": f"{unit.manufacturer_id}-parts",
        "address": manufacturer["address"],
        "email": f"parts@{unit.manufacturer_id.lower()}.example",
        "web": f"https://parts.{unit.manufacturer_id.lower()}.example",
    }
    code = model_code(unit.model)
    circularity = {
        "dismantling_documents": [
            {"document_type": kind, "mime_type": docs[key].mime, "url": docs[key].ref}
            for kind, key in (
                ("DismantlingManual", "dismantling"),
                ("RemovalManual", "removal"),
                ("Drawing", "exploded_view"),
                ("BillOfMaterial", "bill_of_material"),
            )
        ],
        "spare_part_sources": [
            {
                "supplier": parts_supplier,
                "parts": [
                    {"part_name": "battery management system", "part_number": f"{code}-BMS-01"},
                    {"part_name": "module", "part_number": f"{code}-MOD-01"},
                    {"part_name": "high-voltage connector", "part_number": f"{code}-HVC-01"},
                ],
            }
        ],
        "recycled_content": recycled,
        "renewable_content_pct": round(rng.uniform(*rc["renewable_content_pct"]), 2),
    }

    # --- rated performance
    p = d["performance"]
    power_80 = unit.rated_energy_kwh * 1000.0 * float(p["power_c_rate"][cat])
    power_20 = power_80 * float(p["power_ratio_20_to_80"])
    pack_ohm = float(p["resistance_k"]) * unit.nominal_voltage_v / unit.rated_capacity_ah
    rated = {
        "original_power_capability": [
            {"at_soc_pct": 80.0, "power_w": round(power_80, 1)},
            {"at_soc_pct": 20.0, "power_w": round(power_20, 1)},
        ],
        "rated_maximum_power_w": round(power_80, 1),
        "power_capability_ratio": round(power_20 / power_80, 4),
        "expected_lifetime_cycles": int(p["expected_cycles"][family]),
        "expected_lifetime_years": int(p["expected_years"][cat]),
        "initial_self_discharge_pct_per_month": float(p["self_discharge_pct_per_month"]),
        "round_trip_efficiency_pct": float(p["round_trip_efficiency_pct"]),
        "round_trip_efficiency_at_50pct_cycle_life_pct": float(p["round_trip_efficiency_at_50pct_life_pct"]),
        "round_trip_efficiency_fade_pct": float(p["round_trip_efficiency_fade_pct"]),
        "power_fade_pct": float(p["power_fade_pct"]),
        "initial_internal_resistance": [
            {"component": "pack", "ohm": round(pack_ohm, 5)},
            {"component": "cell", "ohm": float(p["cell_resistance_ohm"][family])},
        ],
        "minimum_voltage_v": round(unit.nominal_voltage_v * float(p["voltage_min_ratio"][family]), 2),
        "maximum_voltage_v": round(unit.nominal_voltage_v * float(p["voltage_max_ratio"][family]), 2),
        "capacity_threshold_for_exhaustion_pct": float(p["capacity_threshold_for_exhaustion_pct"][cat]),
        "lifetime_reference_test_url": docs["cycle_life_test"].ref,
        "c_rate_life_cycle_test": float(p["c_rate_life_cycle_test"][cat]),
        "c_rate": float(p["power_c_rate"][cat]),
        "idle_temperature_min_c": float(p["idle_temperature_c"][0]),
        "idle_temperature_max_c": float(p["idle_temperature_c"][1]),
        "shipping_state_of_charge_pct": float(p["shipping_state_of_charge_pct"]),
        "round_trip_efficiency_depth_of_discharge_pct": float(p["test_depth_of_discharge_pct"]),
        "life_cycle_test_temperature_c": float(p["test_temperature_c"]),
        "life_cycle_test_depth_of_discharge_pct": float(p["test_depth_of_discharge_pct"]),
    }

    labels: dict[str, Any] = {
        "declaration_of_conformity_url": docs["declaration_of_conformity"].ref,
        "declaration_of_conformity_id": f"DoC-{code}-{unit.manufactured_on.year}",
        "labels": [
            {
                "subject": "SeparateCollection",
                "symbol_url": docs["label_separate_collection"].ref,
                "meaning": "Collect separately; do not dispose of with household waste (Art. 13(3), Annex VI Part B)",
            },
            {
                "subject": "CarbonFootPrint",
                "symbol_url": docs["label_carbon_footprint"].ref,
                "meaning": f"Carbon footprint performance class {carbon['performance_class']} (Art. 7(2))",
            },
            {
                "subject": "HazardousMaterial",
                "symbol_url": docs["label_hazardous"].ref,
                "meaning": "Contains hazardous electrolyte; see hazardous substances",
            },
        ],
    }
    successor = unit.predecessor_id is not None
    if successor:  # the carbon footprint is the original's declaration, one link away (Art. 77(7))
        labels["labels"] = [x for x in labels["labels"] if x["subject"] != "CarbonFootPrint"]
    payload: dict[str, Any] = {
        "manufacturer": manufacturer,
        "operator": manufacturer,
        "manufacturing_place": place,
        "warranty_months": int(d["warranty_months"]["second_life" if successor else cat]),
        "carbon_footprint": carbon,
        "circularity": circularity,
        "end_of_life": {
            "waste_prevention_url": docs["waste_prevention"].ref,
            "separate_collection_url": docs["separate_collection"].ref,
            "collection_information_url": docs["collection_points"].ref,
        },
        "safety": {
            "safety_instructions_url": docs["safety_instructions"].ref,
            "extinguishing_agents": list(d["safety"]["extinguishing_agents"]),
            "fire_class": str(d["safety"]["fire_class"]),
        },
        "composition": {
            "materials": list(by_name.values()),
            "hazardous_substances": hazardous,
            "battery_mass_kg": unit.mass_kg,
            "remainder_kg": max(0.0, remainder),
        },
        "rated_performance": rated,
        "labels": labels,
        "test_reports": {"result_of_test_report_url": docs["test_report"].ref},
        "due_diligence": {
            "report_url": docs["due_diligence_report"].ref,
            "third_party_assurance_url": docs["due_diligence_assurance"].ref,
            "supply_chain_index": round(rng.uniform(*d["due_diligence"]["supply_chain_index"]), 3),
        },
    }
    if successor:
        del payload["carbon_footprint"]
    return payload
