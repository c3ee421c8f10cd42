"""Catena-X exports: ``io.catenax.battery.battery_pass`` 6.1.0 and ``io.catenax.traction_battery_code`` 2.0.0.

:func:`to_catenax` maps a passport document (``Passport.model_dump(mode="json")`` or a redacted one) to the
single Catena-X aspect. Where the schema forces a value the regulation does not define, we write the most
neutral truthful value and say so here:

- ``metadata.predecessor`` is required: an original battery gets the nil UUID
  ``urn:uuid:00000000-0000-0000-0000-000000000000`` (as the model's own sample payload does);
- ``metadata.expirationDate`` is required although a passport does not expire; it ends by recycling
  (Art. 77(8)): a ceased passport carries its ceasing date, a live one ``9999-12-31`` (open-ended);
- ``materials.active`` requires nickel, lithium, cobalt and lead blocks and ``materials.hazardous``
  cadmium, mercury and lead blocks for every battery: a material that is not in the declared composition
  is written with concentration 0 and location ``not present``;
- ``identification.category`` has no ``stationary``: a stationary storage battery is ``industrial``
  (Art. 3(1)(13)).

Withheld is not absent. A field the passport holds but the caller may not see (Annex XIII tiers) is left out
and marked: the object that would hold it lists the key under ``x-batteryloop-withheld``, and the document
lists the JSON Pointer of every withheld field under a top-level ``x-batteryloop-withheld`` (the schema allows
extra keys, so a full export still validates, and a redacted one breaks only the ``required`` rules of the
withheld fields). Nothing withheld is given a value the schema would accept but that says something else
(``handling.applicable`` is true when spare-part sources exist but are withheld; ``metadata.version`` is not
invented).

Numbers are written at their declared precision: values computed here (a recycled share as pre- plus
post-consumer content, a remaining resistance) are rounded to 15 significant digits, the precision of a
double, so binary noise such as ``17.619999999999997`` never reaches the export.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from batteryloop.domain.errors import ValidationError
from batteryloop.passport.core.model import Passport

NIL_UUID = "urn:uuid:00000000-0000-0000-0000-000000000000"
OPEN_ENDED = "9999-12-31"
_CATEGORY = {
    "ev": "EV",
    "lmt": "LMT",
    "industrial": "industrial",
    "stationary": "industrial",
    "portable": "portable",
    "sli": "SLI",
}
_STATUS = {
    "Original": "original",
    "Repurposed": "repurposed",
    "Reused": "re-used",
    "Remanufactured": "remanufactured",
    "Waste": "waste",
}
_PURPOSE = {
    "ev": "traction battery of an electric vehicle",
    "lmt": "traction battery of a light means of transport",
    "industrial": "industrial battery",
    "stationary": "stationary energy storage",
    "portable": "portable battery",
    "sli": "starting, lighting and ignition",
}
_ACTIVE = {"nickel": "Nickel", "lithium": "Lithium", "cobalt": "Cobalt"}
_HAZARDOUS_METALS = {"cadmium": "Cadmium", "mercury": "Mercury", "lead": "Lead"}


WITHHELD = "x-batteryloop-withheld"
# canonical field (passport/data/access.toml) -> the JSON Pointers of the Catena-X fields it fills
WITHHELD_AT: Mapping[str, tuple[str, ...]] = {
    "condition": ("/performance/dynamic",),
    "composition.materials": ("/materials/active", "/materials/composition"),
    "circularity.dismantling_documents": ("/safety/dismantling", "/safety/removalFromAppliance"),
    "circularity.spare_part_sources": ("/handling/content/sparePart",),
    "safety.safety_instructions_url": ("/safety/safetyMeasures",),
    "test_reports": ("/conformity/resultOfTestReport",),
    "lifecycle.status": ("/sustainability/status",),
    "lifecycle.placed_on_market_on": ("/commercial/placedOnMarket",),
    "lifecycle.put_into_service_on": ("/operation/intoServiceDate",),
    "lifecycle.version": ("/metadata/version",),
    "lifecycle.last_update": ("/metadata/lastModification",),
}


def _tidy(value: Any) -> Any:
    """``value`` with every float rounded to 15 significant digits (no binary noise)."""
    if isinstance(value, float):
        return float(f"{value:.15g}")
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value


def _mark_withheld(out: dict[str, Any], withheld: Iterable[str]) -> None:
    """Leave out and mark every Catena-X field the withheld canonical fields fill."""
    pointers = sorted({p for field in withheld for p in WITHHELD_AT.get(field, ())})
    for pointer in pointers:
        *parents, key = pointer.strip("/").split("/")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node.pop(key, None)
        marks = node.setdefault(WITHHELD, [])
        if key not in marks:
            marks.append(key)
    if pointers:
        out[WITHHELD] = pointers


def _doc(header: str, url: str) -> dict[str, str]:
    return {"contentType": "URL", "header": header[:100], "content": url}


def _ts(value: Any) -> str:
    moment = datetime.fromisoformat(str(value))
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value: Any) -> str:
    return str(value)[:10]


def _reading(r: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if r is None else {"value": r["value"], "time": _ts(r["last_update"])}


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != {}:
        out[key] = value


def to_catenax(doc: Mapping[str, Any] | Passport, *, withheld: Iterable[str] = ()) -> dict[str, Any]:
    """The Catena-X battery_pass 6.1.0 aspect of a passport document (only what the document holds).

    ``withheld``: the canonical fields (dotted paths) the passport holds but the document was redacted of
    (``PassportView.withheld``); they are marked as withheld, not left to look absent."""
    withheld = tuple(withheld)
    if isinstance(doc, Passport):
        doc = doc.model_dump(mode="json")
    ident: Mapping[str, Any] = doc.get("identity") or {}
    life: Mapping[str, Any] = doc.get("lifecycle") or {}
    manufacturer: Mapping[str, Any] = doc.get("manufacturer") or {}
    operator: Mapping[str, Any] = doc.get("operator") or manufacturer
    cf: Mapping[str, Any] = doc.get("carbon_footprint") or {}
    rated: Mapping[str, Any] = doc.get("rated_performance") or {}
    cond: Mapping[str, Any] = doc.get("condition") or {}
    circ: Mapping[str, Any] = doc.get("circularity") or {}
    comp: Mapping[str, Any] = doc.get("composition") or {}
    safety: Mapping[str, Any] = doc.get("safety") or {}
    labels: Mapping[str, Any] = doc.get("labels") or {}
    out: dict[str, Any] = {"specVersion": "urn:samm:io.catenax.battery.battery_pass:6.1.0"}

    # identification
    if ident:
        codes = [{"key": "EU unique identifier", "value": ident["battery_id"]}]
        if ident.get("gtin"):
            codes.append({"key": "GTIN", "value": ident["gtin"]})
        if ident.get("gbt_code"):
            codes.append({"key": "GB/T 34014", "value": ident["gbt_code"]})
        model = ident.get("model") or ident["battery_id"]
        out["identification"] = {
            "category": _CATEGORY[ident["category"]],
            "idDmc": ident["product_identifier"],
            "chemistry": f"{ident['chemistry']} ({ident['chemistry_clear_name']})",
            "identification": {
                "serial": [{"key": "partInstanceId", "value": ident.get("serial") or ident["battery_id"]}],
                "type": {"manufacturerPartId": model, "nameAtManufacturer": model},
                "codes": codes,
                "dataCarrier": {"carrierType": "QR", "carrierLayout": "GS1 Digital Link URI"},
                "classification": [
                    {
                        "classificationStandard": "Regulation (EU) 2023/1542 Art. 3(1)",
                        "classificationID": ident["category"],
                        "classificationDescription": "battery category",
                    }
                ],
            },
        }

    # operation
    if ident:
        maker: dict[str, Any] = {"manufacturingDate": _day(ident["manufactured_on"])}
        _put(maker, "manufacturer", manufacturer.get("bpnl"))
        if cf.get("manufacturing_plant_bpna"):
            maker["facility"] = [{"facility": cf["manufacturing_plant_bpna"]}]
        operation: dict[str, Any] = {"manufacturer": maker}
        if life.get("put_into_service_on"):
            operation["intoServiceDate"] = _day(life["put_into_service_on"])
        out["operation"] = operation
        characteristics: dict[str, Any] = {
            "physicalDimension": {"weight": {"value": ident["mass_kg"], "unit": "unit:kilogram"}}
        }
        if doc.get("warranty_months"):
            characteristics["warranty"] = {"lifeValue": doc["warranty_months"], "lifeUnit": "unit:month"}
        out["characteristics"] = characteristics

    # sustainability
    sustainability: dict[str, Any] = {}
    eol = doc.get("end_of_life")
    if eol:
        sustainability["documents"] = {
            "separateCollection": [_doc("Separate collection", eol["separate_collection_url"])],
            "wastePrevention": [
                _doc("Waste prevention", eol["waste_prevention_url"]),
                _doc("Collection points", eol["collection_information_url"]),
            ],
        }
    if cf:
        plant = [{"facility": cf["manufacturing_plant_bpna"]}] if cf.get("manufacturing_plant_bpna") else []
        declaration = [_doc("Carbon footprint declaration", cf["study_url"])]
        rulebook = [_doc("Carbon footprint study", cf["study_url"])]
        entries = [
            {
                "value": cf["total_kg_co2e_per_kwh"],
                "rulebook": rulebook,
                "lifecycle": "total (Art. 7(1))",
                "unit": "kg CO2e/kWh",
                "type": "Climate Change Total",
                "performanceClass": cf["performance_class"],
                "manufacturingPlant": plant,
                "declaration": declaration,
            }
        ]
        for stage in cf["per_stage"]:
            entries.append(
                {
                    "value": stage["kg_co2e_per_kwh"],
                    "rulebook": rulebook,
                    "lifecycle": stage["stage"],
                    "unit": "kg CO2e/kWh",
                    "type": "Climate Change Total",
                    "manufacturingPlant": plant,
                    "declaration": declaration,
                }
            )
        sustainability["carbonFootprint"] = entries
    if life.get("status"):
        sustainability["status"] = _STATUS[life["status"]]
    if sustainability:
        out["sustainability"] = sustainability

    # materials
    if comp or circ:
        out["materials"] = _materials(ident, comp, circ)

    # performance
    performance: dict[str, Any] = {}
    if rated and ident:
        performance["rated"] = _rated(ident, rated)
    if cond:
        performance["dynamic"] = _dynamic(cond, rated)
    if performance:
        out["performance"] = performance

    # conformity
    conformity: dict[str, Any] = {}
    if labels:
        _put(conformity, "declarationOfConformityId", labels.get("declaration_of_conformity_id"))
        conformity["declarationOfConformity"] = [
            _doc("EU declaration of conformity", labels["declaration_of_conformity_url"])
        ]
    if doc.get("test_reports"):
        conformity["resultOfTestReport"] = [
            _doc("Results of test reports", doc["test_reports"]["result_of_test_report_url"])
        ]
    dd = doc.get("due_diligence")
    if dd:
        conformity["dueDiligencePolicy"] = [_doc("Supply-chain due diligence report", dd["report_url"])]
        conformity["thirdPartyAssurance"] = (
            [_doc("Third-party assurance", dd["third_party_assurance_url"])]
            if dd.get("third_party_assurance_url")
            else []
        )
    if conformity:
        out["conformity"] = conformity

    # safety
    safety_out: dict[str, Any] = {}
    if safety.get("extinguishing_agents"):
        safety_out["usableExtinguishAgent"] = [
            {"media": agent, "fireClass": safety.get("fire_class") or "unspecified"}
            for agent in safety["extinguishing_agents"]
        ]
    if safety.get("safety_instructions_url"):
        safety_out["safetyMeasures"] = [_doc("Safety instructions", safety["safety_instructions_url"])]
    if labels:
        safety_out["meaningOfLabels"] = [
            _doc(label["meaning"], label["symbol_url"]) for label in labels["labels"]
        ]
    if "dismantling_documents" in circ:
        docs = circ["dismantling_documents"]
        safety_out["dismantling"] = [_doc(d["document_type"], d["url"]) for d in docs]
        removal = [_doc(d["document_type"], d["url"]) for d in docs if d["document_type"] == "RemovalManual"]
        if removal:
            safety_out["removalFromAppliance"] = removal
    if safety_out:
        out["safety"] = safety_out

    # metadata
    if doc.get("passport_id"):
        last = life.get("last_update")
        metadata: dict[str, Any] = {}
        if "version" in life:
            metadata["version"] = str(life["version"])
        metadata |= {
            "status": "expired" if life.get("ceased") else "approved",
            "expirationDate": _day(life["ceased_on"]) if life.get("ceased_on") else OPEN_ENDED,
            "issueDate": _day(ident["manufactured_on"]) if ident else OPEN_ENDED,
            "passportIdentifier": doc["passport_id"],
            "predecessor": life.get("predecessor_id") or NIL_UUID,
            "backupReference": ident.get("product_identifier", doc["passport_id"]),
        }
        _put(metadata, "economicOperatorId", operator.get("bpnl"))
        if last:
            metadata["lastModification"] = _day(last)
        out["metadata"] = metadata

    # commercial and handling
    if ident:
        commercial: dict[str, Any] = {"purpose": [_PURPOSE[ident["category"]]]}
        if life.get("placed_on_market_on"):
            commercial["placedOnMarket"] = _day(life["placed_on_market_on"])
        out["commercial"] = commercial
    if "spare_part_sources" in circ or manufacturer:
        parts = [
            {"manufacturerPartId": p["part_number"], "nameAtManufacturer": p["part_name"]}
            for s in circ.get("spare_part_sources", ())
            for p in s["parts"]
        ]
        content: dict[str, Any] = {"sparePart": parts}
        content["producer"] = [{"id": manufacturer["bpnl"]}] if manufacturer.get("bpnl") else []
        applicable = bool(parts) or "circularity.spare_part_sources" in withheld
        out["handling"] = {"content": content, "applicable": applicable}
    _mark_withheld(out, withheld)
    tidy: dict[str, Any] = _tidy(out)
    return tidy


def _materials(ident: Mapping[str, Any], comp: Mapping[str, Any], circ: Mapping[str, Any]) -> dict[str, Any]:
    mass_kg = float(ident.get("mass_kg") or 0.0)
    recycled = {
        r["material"]: float(r["pre_consumer_pct"]) + float(r["post_consumer_pct"])
        for r in circ.get("recycled_content", ())
    }
    materials = {m["name"]: m for m in comp.get("materials", ())}
    hazardous = {h["name"]: h for h in comp.get("hazardous_substances", ())}

    def share_pct(m: Mapping[str, Any]) -> float:
        return round(100.0 * float(m["mass_kg"]) / mass_kg, 6) if mass_kg > 0 else 0.0

    def active(name: str) -> dict[str, Any]:
        m = materials.get(name)
        return {
            "location": m["component"] if m else "not present",
            "recycled": min(100.0, recycled.get(name, 0.0)),
            "documentation": [],
            "critical": bool(m["critical_raw_material"]) if m else False,
        }

    lead = materials.get("Lead")
    lead_block = {
        **active("Lead"),
        "impactOfSubstances": [],
        "concentration": share_pct(lead) if lead else 0.0,
        "materialUnit": "unit:percent",
    }
    out: dict[str, Any] = {}
    if materials:
        out["active"] = {
            **{key: active(name) for key, name in _ACTIVE.items()},
            "lead": lead_block,
            "other": [
                {
                    "location": m["component"],
                    "recycled": 0.0,
                    "documentation": [],
                    "critical": bool(m["critical_raw_material"]),
                    "materialIdentification": [{"id": m["cas"], "type": "CAS", "name": m["name"]}],
                }
                for name, m in materials.items()
                if name not in (*_ACTIVE.values(), "Lead")
            ],
        }
        out["composition"] = [
            {
                "id": [{"id": m["cas"], "type": "CAS", "name": m["name"]}],
                "concentration": share_pct(m),
                "unit": "unit:percent",
                "critical": bool(m["critical_raw_material"]),
                "documentation": [],
                "recycled": min(100.0, recycled.get(m["name"], 0.0)),
                "location": m["component"],
                "renewable": 0.0,
            }
            for m in materials.values()
        ]
    if "hazardous_substances" in comp:

        def metal(name: str) -> dict[str, Any]:
            h = hazardous.get(name)
            return {
                "impactOfSubstances": [_doc(i, "urn:impact:" + name.lower()) for i in h["impacts"]]
                if h
                else [],
                "concentration": float(h["concentration_pct"]) if h else 0.0,
                "location": h["component"] if h else "not present",
                "materialUnit": "unit:percent",
                "critical": False,
                "documentation": [],
            }

        out["hazardous"] = {
            "cadmium": metal("Cadmium"),
            "mercury": metal("Mercury"),
            "lead": {**metal("Lead"), "recycled": min(100.0, recycled.get("Lead", 0.0))},
            "other": [
                {
                    "impactOfSubstances": [_doc(i[:100], "urn:hazard:" + h["cas"]) for i in h["impacts"]],
                    "materialUnit": "unit:percent",
                    "concentration": float(h["concentration_pct"]),
                    "materialIdentification": [{"id": h["cas"], "type": "CAS", "name": h["name"]}],
                    "documentation": [],
                    "critical": False,
                    "location": h["component"],
                }
                for name, h in hazardous.items()
                if name not in _HAZARDOUS_METALS.values()
            ],
        }
    return out


def _rated(ident: Mapping[str, Any], rated: Mapping[str, Any]) -> dict[str, Any]:
    power = {round(float(p["at_soc_pct"])): p["power_w"] for p in rated["original_power_capability"]}
    resistance = {r["component"]: r["ohm"] for r in rated["initial_internal_resistance"]}
    rte: dict[str, Any] = {
        "initial": rated["round_trip_efficiency_pct"],
        "50PercentLife": rated["round_trip_efficiency_at_50pct_cycle_life_pct"],
    }
    _put(rte, "depthOfDischarge", rated.get("round_trip_efficiency_depth_of_discharge_pct"))
    res: dict[str, Any] = {}
    for component in ("cell", "module", "pack"):
        _put(res, component, resistance.get(component))
    pw: dict[str, Any] = {"value": rated["rated_maximum_power_w"]}
    _put(pw, "at20SoC", power.get(20))
    _put(pw, "at80SoC", power.get(80))
    cycle_test: dict[str, Any] = {
        "cycles": rated["expected_lifetime_cycles"],
        "appliedChargeRate": rated["c_rate_life_cycle_test"],
        "appliedDischargeRate": rated["c_rate_life_cycle_test"],
    }
    _put(cycle_test, "temperature", rated.get("life_cycle_test_temperature_c"))
    _put(cycle_test, "depthOfDischarge", rated.get("life_cycle_test_depth_of_discharge_pct"))
    return {
        "voltage": {
            "min": rated["minimum_voltage_v"],
            "max": rated["maximum_voltage_v"],
            "nominal": ident["nominal_voltage_v"],
        },
        "roundTripEfficiency": rte,
        "energy": {"value": ident["rated_energy_kwh"]},
        "resistance": res,
        "power": pw,
        "capacity": {
            "value": ident["rated_capacity_ah"],
            "thresholdExhaustion": rated["capacity_threshold_for_exhaustion_pct"],
        },
        "temperature": {"lower": rated["idle_temperature_min_c"], "upper": rated["idle_temperature_max_c"]},
        "selfDischargingRate": rated["initial_self_discharge_pct_per_month"],
        "lifetime": {
            "expectedYears": rated["expected_lifetime_years"],
            "report": [_doc("Cycle-life reference test", rated["lifetime_reference_test_url"])],
            "cycleLifeTesting": cycle_test,
        },
    }


def _dynamic(cond: Mapping[str, Any], rated: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "stateOfCharge", _reading(cond.get("state_of_charge_pct")))
    _put(out, "fullCycles", _reading(cond.get("full_cycles")))
    if cond.get("self_discharge_rate_pct_per_month"):
        out["selfDischargingRate"] = cond["self_discharge_rate_pct_per_month"]["value"]
    rpc = cond.get("remaining_power_capability")
    if rpc and rated:
        original = {float(p["at_soc_pct"]): float(p["power_w"]) for p in rated["original_power_capability"]}
        base = original.get(float(rpc["at_soc_pct"]))
        if base:
            fade = max(0.0, round(100.0 * (1.0 - float(rpc["power_w"]) / base), 6))
            stamp = _ts(rpc["last_update"])
            out["power"] = {
                "fade": {"value": fade, "time": stamp},
                "remaining": {"value": rpc["power_w"], "time": stamp},
            }
    capacity: dict[str, Any] = {}
    _put(capacity, "fade", _reading(cond.get("capacity_fade_pct")))
    _put(capacity, "throughput", _reading(cond.get("capacity_throughput_ah")))
    _put(capacity, "capacity", _reading(cond.get("remaining_capacity_ah")))
    _put(out, "capacity", capacity)
    rte = cond.get("remaining_round_trip_efficiency_pct")
    if rte and rated:
        stamp = _ts(rte["last_update"])
        fade = max(0.0, round(float(rated["round_trip_efficiency_pct"]) - float(rte["value"]), 6))
        out["roundTripEfficiency"] = {
            "fade": {"value": fade, "time": stamp},
            "remaining": {"value": rte["value"], "time": stamp},
        }
    increases = {r["component"]: r for r in cond.get("internal_resistance_increase_pct", ())}
    if increases and rated:
        initial = {r["component"]: float(r["ohm"]) for r in rated["initial_internal_resistance"]}
        inc: dict[str, Any] = {}
        rem: dict[str, Any] = {}
        for component, r in increases.items():
            stamp = _ts(r["last_update"])
            inc[component] = {"value": r["value"], "time": stamp}
            if component in initial:
                value = round(initial[component] * (1.0 + float(r["value"]) / 100.0), 9)
                rem[component] = {"value": value, "time": stamp}
        out["resistance"] = {"increase": inc, "remaining": rem}
    energy: dict[str, Any] = {}
    _put(energy, "soce", _reading(cond.get("state_of_certified_energy_pct")))
    _put(energy, "remaining", _reading(cond.get("remaining_energy_kwh")))
    _put(energy, "throughput", _reading(cond.get("energy_throughput_kwh")))
    _put(out, "energy", energy)
    events = cond.get("negative_events")
    if events is not None:
        out["negativeEvents"] = [
            {
                "contentType": "text/plain",
                "header": f"{e['kind']} at {_ts(e['occurred_at'])}"[:100],
                "content": e.get("description") or e["kind"],
            }
            for e in events
        ]
    return out


# ------------------------------------------------------------------ traction battery code (GB/T 34014)


@dataclass(frozen=True, slots=True)
class CodeNode:
    """A unit in the pack -> module -> cell tree with its GB/T 34014 code."""

    code: str
    level: str  # "pack" | "module" | "cell"
    children: tuple[CodeNode, ...] = field(default_factory=tuple)


def build_code_tree(root_id: str, *, units: Mapping[str, tuple[str | None, str, str | None]]) -> CodeNode:
    """The code tree under ``root_id`` from ``units``: battery_id -> (gbt_code, level, parent_id).

    A system (which GB/T 34014 does not code) is not allowed as the root; units without a code are skipped
    (their coded children are attached to the nearest coded ancestor).
    """
    children: dict[str, list[str]] = {}
    for battery_id, (_code, _level, parent) in units.items():
        if parent is not None:
            children.setdefault(parent, []).append(battery_id)
    if root_id not in units:
        raise ValidationError(f"battery {root_id} is not among the units given")

    def nodes(battery_id: str) -> list[CodeNode]:
        code, level, _parent = units[battery_id]
        below = [n for child in sorted(children.get(battery_id, ())) for n in nodes(child)]
        if code is None or level not in ("pack", "module", "cell"):
            return below
        return [CodeNode(code=code, level=level, children=tuple(below))]

    found = nodes(root_id)
    if len(found) != 1 or found[0].code != units[root_id][0]:
        raise ValidationError(f"battery {root_id} carries no GB/T 34014 code")
    return found[0]


class TreeSource(Protocol):
    """What :func:`code_tree_from_source` needs of ``batteryloop.ledger.Ledger``."""

    def read_stream(self, battery_id: str) -> Sequence[Any]: ...
    def children(self, battery_id: str) -> list[str]: ...


def code_tree_from_source(source: TreeSource, battery_id: str) -> CodeNode:
    """The GB/T 34014 code tree under ``battery_id`` as the ledger records it (current parent links)."""
    units: dict[str, tuple[str | None, str, str | None]] = {}
    pending: list[tuple[str, str | None]] = [(battery_id, None)]
    while pending:
        current, parent = pending.pop()
        stream = source.read_stream(current)
        payload = stream[0].payload if stream else {}
        units[current] = (payload.get("gbt_code"), str(payload.get("level", "")), parent)
        pending.extend((child, current) for child in source.children(current))
    return build_code_tree(battery_id, units=units)


def to_traction_battery_code(node: CodeNode) -> dict[str, Any]:
    """The Catena-X traction_battery_code 2.0.0 document of a code tree."""
    out: dict[str, Any] = {"productType": node.level, "tractionBatteryCode": node.code}
    if node.children:
        out["subcomponents"] = [_sub(c) for c in node.children]
    return out


def _sub(node: CodeNode) -> dict[str, Any]:
    return to_traction_battery_code(node)


def codes_in(tree: Mapping[str, Any]) -> Sequence[str]:
    """All codes of a traction_battery_code document, depth first."""
    found = [str(tree["tractionBatteryCode"])]
    for sub in tree.get("subcomponents", ()):
        found.extend(codes_in(sub))
    return found
