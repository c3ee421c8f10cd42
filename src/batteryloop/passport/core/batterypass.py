"""BatteryPass data model v1.2 (seven modules): export from, and import into, the canonical passport.

An export is an envelope ``{module name: module document}`` with the seven modules
(GeneralProductInformation, CarbonFootprint, Circularity, MaterialComposition, PerformanceAndDurability 1.2.1,
Labeling, SupplyChainDueDiligence). :func:`to_batterypass` works on a passport *document* (the JSON form of a
:class:`~batteryloop.passport.core.model.Passport`, possibly already redacted by
:func:`batteryloop.passport.access.redact`): a section the caller may not see is simply absent, so it is
absent from the export too. A redacted export is therefore partial and does not validate; an export of the
whole passport does, except for the documented deviations below.

Where the published schemas contradict themselves or the regulation (reference §1.4), we keep to the
regulation and list the schema error we then expect (:data:`KNOWN_DEVIATIONS`):

- ``batteryPassportIdentifier`` pattern ``^urn:[a-z0-9]+:[a-z0-9]+$`` rejects ``urn:uuid:`` with hyphens: we
  write the UUID as 32 hex digits (``urn:uuid:0190...``), a lossless mapping, so no error remains;
- ``emailAddress`` pattern ``^[w.-]+@[w.-]+.[A-Za-z]{2,}$`` lost its backslashes and rejects real addresses
  such as ``info@example.com``; the field is optional, so we leave it out rather than emit a failing value;
- ``warrentyPeriod`` is an xsd gMonth (``--MM``) although the model's unit is month (generator artefact): a
  warranty of up to 12 months is written ``--MM``; longer ones as an ISO 8601 duration ``P96M`` (expected
  ``pattern`` error);
- ``puttingIntoService`` is required although a battery not yet in service has no such date (DIN DKE SPEC
  99100 marks it optional; upstream issue #20): left out (expected ``required`` error);
- ``batteryCategory`` has no ``portable`` or ``sli``: written as is (expected ``enum`` error), since those
  categories need no passport anyway;
- ``recycledMaterial``'s enum lists each value twice (invalid under the draft-04 metaschema's
  ``uniqueItems``, which ``check_schema`` does not catch); it does not change what validates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from batteryloop.domain.errors import ValidationError
from batteryloop.passport.core.json_schemas import BATTERYPASS_MODULES, SchemaIssue, SchemaName, validate
from batteryloop.passport.core.links import links_to_refs
from batteryloop.passport.core.model import Passport

S = SchemaName
_UUID_HYPHENATED = re.compile(
    r"^urn:uuid:([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$", re.IGNORECASE
)
_UUID_COMPACT = re.compile(r"^urn:uuid:([0-9a-f]{32})$")
_GMONTH = re.compile(r"^--(0[1-9]|1[0-2])$")
_DURATION_MONTHS = re.compile(r"^P(\d+)M$")


@dataclass(frozen=True, slots=True)
class Deviation:
    """A schema error we expect on purpose, and why."""

    schema: SchemaName
    path: str
    validator: str
    message_contains: str
    reason: str

    def matches(self, issue: SchemaIssue) -> bool:
        return (
            issue.schema == self.schema
            and issue.path == self.path
            and issue.validator == self.validator
            and self.message_contains in issue.message
        )


KNOWN_DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        S.GENERAL_PRODUCT_INFORMATION,
        "$.warrentyPeriod",
        "pattern",
        "does not match",
        "warrentyPeriod is an xsd gMonth ('--MM') though its unit is month; warranties over 12 months are "
        "written as an ISO 8601 duration 'PnM'",
    ),
    Deviation(
        S.GENERAL_PRODUCT_INFORMATION,
        "$",
        "required",
        "'puttingIntoService' is a required property",
        "a battery not yet put into service has no putting-into-service date (DIN DKE SPEC 99100: optional)",
    ),
    Deviation(
        S.GENERAL_PRODUCT_INFORMATION,
        "$.batteryCategory",
        "enum",
        "is not one of",
        "the schema has no 'portable' or 'sli' category (Art. 3(1) categories); such batteries need no passport",
    ),
)


def split_issues(issues: Sequence[SchemaIssue]) -> tuple[list[SchemaIssue], list[SchemaIssue]]:
    """(unexpected, documented) schema issues."""
    unexpected: list[SchemaIssue] = []
    documented: list[SchemaIssue] = []
    for issue in issues:
        (documented if any(d.matches(issue) for d in KNOWN_DEVIATIONS) else unexpected).append(issue)
    return unexpected, documented


def validate_batterypass(document: Mapping[str, Any]) -> list[SchemaIssue]:
    """Every schema issue of each module in an export envelope (missing modules are issues too)."""
    issues: list[SchemaIssue] = []
    for module in BATTERYPASS_MODULES:
        if module.value not in document:
            issues.append(SchemaIssue(module, "$", "required", f"module {module.value} is missing"))
            continue
        issues.extend(validate(module, document[module.value]))
    return issues


# ------------------------------------------------------------------------------------------ helpers


def _timestamp(value: Any) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def _date_time(day: Any) -> str:
    return f"{date.fromisoformat(str(day)).isoformat()}T00:00:00Z"


def _parse_moment(text: str) -> str:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).isoformat()


def passport_id_to_batterypass(passport_id: str) -> str:
    """``urn:uuid:8-4-4-4-12`` -> ``urn:uuid:<32 hex>`` (the form the schema's pattern accepts)."""
    m = _UUID_HYPHENATED.match(passport_id)
    return f"urn:uuid:{''.join(m.groups()).lower()}" if m else passport_id


def passport_id_from_batterypass(identifier: str) -> str:
    m = _UUID_COMPACT.match(identifier)
    if not m:
        return identifier
    h = m.group(1)
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def warranty_to_batterypass(months: int) -> str:
    return f"--{months:02d}" if 1 <= months <= 12 else f"P{months}M"


def warranty_from_batterypass(text: str, path: str) -> int:
    m = _GMONTH.match(text) or _DURATION_MONTHS.match(text)
    if not m:
        raise ValidationError(f"{path}: warranty period must be '--MM' or 'PnM'")
    return int(m.group(1))


def _address(a: Mapping[str, Any]) -> dict[str, Any]:
    return {"addressCountry": a["country"], "postalCode": a["postal_code"], "streetAddress": a["street"]}


def _contact(c: Mapping[str, Any]) -> dict[str, Any]:
    out = {"contactName": c["name"], "postalAddress": _address(c["address"]), "identifier": c["identifier"]}
    if c.get("web"):
        out["webAddress"] = c["web"]
    return out  # emailAddress left out: see the module docstring


def _reading(r: Mapping[str, Any] | None, key: str) -> dict[str, Any] | None:
    if r is None:
        return None
    return {key: r["value"], "lastUpdate": _timestamp(r["last_update"])}


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


# ------------------------------------------------------------------------------------------ export


def to_batterypass(doc: Mapping[str, Any] | Passport) -> dict[str, dict[str, Any]]:
    """The BatteryPass v1.2 envelope of a passport document (``Passport.model_dump(mode="json")`` or a
    redacted one). Only what the document holds is exported."""
    if isinstance(doc, Passport):
        doc = doc.model_dump(mode="json")
    ident: Mapping[str, Any] = doc.get("identity") or {}
    life: Mapping[str, Any] = doc.get("lifecycle") or {}
    out: dict[str, dict[str, Any]] = {}

    gpi: dict[str, Any] = {}
    _put(gpi, "productIdentifier", ident.get("product_identifier"))
    if doc.get("passport_id"):
        gpi["batteryPassportIdentifier"] = passport_id_to_batterypass(doc["passport_id"])
    _put(gpi, "batteryCategory", ident.get("category"))
    if doc.get("manufacturer"):
        gpi["manufacturerInformation"] = _contact(doc["manufacturer"])
    if ident.get("manufactured_on"):
        gpi["manufacturingDate"] = _date_time(ident["manufactured_on"])
    _put(gpi, "batteryStatus", life.get("status"))
    _put(gpi, "batteryMass", ident.get("mass_kg"))
    if doc.get("manufacturing_place"):
        gpi["manufacturingPlace"] = _address(doc["manufacturing_place"])
    if doc.get("operator"):
        gpi["operatorInformation"] = _contact(doc["operator"])
    if life.get("put_into_service_on"):
        gpi["puttingIntoService"] = _date_time(life["put_into_service_on"])
    if doc.get("warranty_months"):
        gpi["warrentyPeriod"] = warranty_to_batterypass(int(doc["warranty_months"]))
    out[S.GENERAL_PRODUCT_INFORMATION.value] = gpi

    cf = doc.get("carbon_footprint")
    if cf:
        module: dict[str, Any] = {
            "batteryCarbonFootprint": cf["total_kg_co2e_per_kwh"],
            "carbonFootprintPerLifecycleStage": [
                {"lifecycleStage": s["stage"], "carbonFootprint": s["kg_co2e_per_kwh"]}
                for s in cf["per_stage"]
            ],
            "carbonFootprintPerformanceClass": cf["performance_class"],
            "carbonFootprintStudy": cf["study_url"],
        }
        _put(module, "absoluteCarbonFootprint", cf.get("absolute_kg_co2e"))
        out[S.CARBON_FOOTPRINT.value] = module

    circ = doc.get("circularity") or {}
    circ_out: dict[str, Any] = {}
    if "dismantling_documents" in circ:
        circ_out["dismantlingAndRemovalInformation"] = [
            {"documentType": d["document_type"], "mimeType": d["mime_type"], "documentURL": d["url"]}
            for d in circ["dismantling_documents"]
        ]
    if "spare_part_sources" in circ:
        sources = []
        for s in circ["spare_part_sources"]:
            sup = s["supplier"]
            entry: dict[str, Any] = {
                "nameOfSupplier": sup["name"],
                "addressOfSupplier": _address(sup["address"]),
                "components": [
                    {"partName": p["part_name"], "partNumber": p["part_number"]} for p in s["parts"]
                ],
            }
            _put(entry, "emailAddressOfSupplier", sup.get("email"))
            _put(entry, "supplierWebAddress", sup.get("web"))
            sources.append(entry)
        circ_out["sparePartSources"] = sources
    if "recycled_content" in circ:
        circ_out["recycledContent"] = [
            {
                "preConsumerShare": r["pre_consumer_pct"],
                "recycledMaterial": r["material"],
                "postConsumerShare": r["post_consumer_pct"],
            }
            for r in circ["recycled_content"]
        ]
    _put(circ_out, "renewableContent", circ.get("renewable_content_pct"))
    safety = doc.get("safety") or {}
    if safety:
        measures: dict[str, Any] = {}
        _put(measures, "safetyInstructions", safety.get("safety_instructions_url"))
        if "extinguishing_agents" in safety:
            measures["extinguishingAgent"] = list(safety["extinguishing_agents"])
        circ_out["safetyMeasures"] = measures
    eol = doc.get("end_of_life")
    if eol:
        circ_out["endOfLifeInformation"] = {
            "wastePrevention": eol["waste_prevention_url"],
            "separateCollection": eol["separate_collection_url"],
            "informationOnCollection": eol["collection_information_url"],
        }
    if circ_out:
        out[S.CIRCULARITY.value] = circ_out

    mc: dict[str, Any] = {}
    if ident.get("chemistry"):
        mc["batteryChemistry"] = {
            "shortName": ident["chemistry"],
            "clearName": ident.get("chemistry_clear_name", ident["chemistry"]),
        }
    comp = doc.get("composition") or {}
    if "materials" in comp:
        mc["batteryMaterials"] = [
            {
                "batteryMaterialLocation": {"componentName": m["component"]},
                "batteryMaterialIdentifier": m["cas"],
                "batteryMaterialName": m["name"],
                "batteryMaterialMass": m["mass_kg"],
                "isCriticalRawMaterial": m["critical_raw_material"],
            }
            for m in comp["materials"]
        ]
    if "hazardous_substances" in comp:
        mc["hazardousSubstances"] = [
            {
                "hazardousSubstanceClass": h["hazard_class"],
                "hazardousSubstanceName": h["name"],
                "hazardousSubstanceConcentration": h["concentration_pct"],
                "hazardousSubstanceImpact": list(h["impacts"]),
                "hazardousSubstanceLocation": {"componentName": h["component"]},
                "hazardousSubstanceIdentifier": h["cas"],
            }
            for h in comp["hazardous_substances"]
        ]
    out[S.MATERIAL_COMPOSITION.value] = mc

    perf: dict[str, Any] = {}
    rated = doc.get("rated_performance")
    if rated:
        tech: dict[str, Any] = {
            "originalPowerCapability": [
                {"atSoC": p["at_soc_pct"], "powerCapabilityAt": p["power_w"]}
                for p in rated["original_power_capability"]
            ],
            "ratedMaximumPower": rated["rated_maximum_power_w"],
            "powerCapabilityRatio": rated["power_capability_ratio"],
            "expectedNumberOfCycles": rated["expected_lifetime_cycles"],
            "initialSelfDischarge": rated["initial_self_discharge_pct_per_month"],
            "roundtripEfficiency": rated["round_trip_efficiency_pct"],
            "initialInternalResistance": [
                {"ohmicResistance": r["ohm"], "batteryComponent": r["component"]}
                for r in rated["initial_internal_resistance"]
            ],
            "expectedLifetime": rated["expected_lifetime_years"],
            "minimumVoltage": rated["minimum_voltage_v"],
            "maximumVoltage": rated["maximum_voltage_v"],
            "capacityThresholdForExhaustion": rated["capacity_threshold_for_exhaustion_pct"],
            "lifetimeReferenceTest": rated["lifetime_reference_test_url"],
            "cRateLifeCycleTest": rated["c_rate_life_cycle_test"],
            "temperatureRangeIdleState": {
                "minimum": rated["idle_temperature_min_c"],
                "maximum": rated["idle_temperature_max_c"],
            },
            "roundTripEfficiencyat50PerCentCycleLife": rated["round_trip_efficiency_at_50pct_cycle_life_pct"],
            "roundTripEfficiencyFade": rated["round_trip_efficiency_fade_pct"],
            "powerFade": rated["power_fade_pct"],
        }
        _put(tech, "cRate", rated.get("c_rate"))
        _put(tech, "ratedEnergy", ident.get("rated_energy_kwh"))
        _put(tech, "ratedCapacity", ident.get("rated_capacity_ah"))
        _put(tech, "nominalVoltage", ident.get("nominal_voltage_v"))
        perf["batteryTechicalProperties"] = tech
    cond = doc.get("condition")
    if cond:
        perf["batteryCondition"] = _condition_out(cond)
    if perf:
        out[S.PERFORMANCE.value] = perf

    labels = doc.get("labels")
    lab: dict[str, Any] = {}
    if labels:
        lab["declarationOfConformity"] = labels["declaration_of_conformity_url"]
        lab["labels"] = [
            {
                "labelingSymbol": label["symbol_url"],
                "labelingMeaning": {label.get("language", "en"): label["meaning"]},
                "labelingSubject": label["subject"],
            }
            for label in labels["labels"]
        ]
    reports = doc.get("test_reports")
    if reports:
        lab["resultOfTestReport"] = reports["result_of_test_report_url"]
    if lab:
        out[S.LABELS.value] = lab

    dd = doc.get("due_diligence")
    if dd:
        module = {"supplyChainDueDiligenceReport": dd["report_url"]}
        _put(module, "thirdPartyAussurances", dd.get("third_party_assurance_url"))
        _put(module, "supplyChainIndicies", dd.get("supply_chain_index"))
        out[S.SUPPLY_CHAIN_DUE_DILIGENCE.value] = module
    return out


_CONDITION_READINGS: tuple[tuple[str, str, str], ...] = (
    # canonical field, BatteryPass object, BatteryPass value key
    ("energy_throughput_kwh", "energyThroughput", "energyThroughputValue"),
    ("capacity_throughput_ah", "capacityThroughput", "capacityThroughputValue"),
    ("full_cycles", "numberOfFullCycles", "numberOfFullCyclesValue"),
    ("state_of_certified_energy_pct", "stateOfCertifiedEnergy", "stateOfCertifiedEnergyValue"),
    ("capacity_fade_pct", "capacityFade", "capacityFadeValue"),
    ("remaining_energy_kwh", "remainingEnergy", "remainingEnergyValue"),
    ("remaining_capacity_ah", "remainingCapacity", "remainingCapacityValue"),
    ("self_discharge_evolution_pct", "evolutionOfSelfDischarge", "evolutionOfSelfDischargeValue"),
    ("self_discharge_rate_pct_per_month", "currentSelfDischargingRate", "currentSelfDischargingRateValue"),
    (
        "remaining_round_trip_efficiency_pct",
        "remainingRoundTripEnergyEfficiency",
        "remainingRoundTripEnergyEfficiencyValue",
    ),
    ("state_of_charge_pct", "stateOfCharge", "stateOfChargeValue"),
)


def _condition_out(cond: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, key, value_key in _CONDITION_READINGS:
        _put(out, key, _reading(cond.get(field), value_key))
    rpc = cond.get("remaining_power_capability")
    if rpc:
        stamp = _timestamp(rpc["last_update"])
        out["remainingPowerCapability"] = {
            "remainingPowerCapabilityValue": {
                "atSoC": rpc["at_soc_pct"],
                "powerCapabilityAt": rpc["power_w"],
                "rPCLastUpdated": stamp,
            },
            "lastUpdate": stamp,
        }
    out["negativeEvents"] = [
        {
            "negativeEvent": f"{e['kind']}: {e['description']}" if e.get("description") else e["kind"],
            "lastUpdate": _timestamp(e["occurred_at"]),
        }
        for e in cond.get("negative_events", ())
    ]
    temp = cond.get("temperature")
    if temp:
        out["temperatureInformation"] = {
            "timeExtremeHighTemp": temp["extreme_high_h"],
            "timeExtremeLowTemp": temp["extreme_low_h"],
            "timeExtremeHighTempCharging": temp["extreme_high_charging_h"],
            "timeExtremeLowTempCharging": temp["extreme_low_charging_h"],
            "lastUpdate": _timestamp(temp["last_update"]),
        }
    out["internalResistanceIncrease"] = [
        {
            "internalResistanceIncreaseValue": r["value"],
            "lastUpdate": _timestamp(r["last_update"]),
            "batteryComponent": r["component"],
        }
        for r in cond.get("internal_resistance_increase_pct", ())
    ]
    return out


# ------------------------------------------------------------------------------------------ import


class _Reader:
    """Reads a BatteryPass envelope; every missing or malformed value raises naming its JSON path."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.doc = document

    def get(self, *path: str | int, optional: bool = False) -> Any:
        node: Any = self.doc
        for i, part in enumerate(path):
            ok = (isinstance(part, int) and isinstance(node, list) and -len(node) <= part < len(node)) or (
                isinstance(part, str) and isinstance(node, Mapping) and part in node
            )
            if not ok:
                if optional:
                    return None
                raise ValidationError(f"{_path(path[: i + 1])}: missing")
            node = node[part]
        return node


def _path(parts: Sequence[str | int]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def from_batterypass(document: Mapping[str, Any]) -> Passport:
    """Import a BatteryPass v1.2 envelope (the seven modules) into the canonical passport.

    Schema errors other than :data:`KNOWN_DEVIATIONS` are refused with a ValidationError that lists each
    JSON path (``$.MaterialComposition.batteryMaterials[0].batteryMaterialIdentifier``) and the rule broken.
    """
    if not isinstance(document, Mapping):
        raise ValidationError("$: a BatteryPass document must be a JSON object of modules")
    unexpected, _documented = split_issues(validate_batterypass(document))
    if unexpected:
        shown = "; ".join(
            f"$.{i.schema.value}{i.path[1:]}: {i.validator} ({_short(i)})" for i in unexpected[:20]
        )
        more = f" (and {len(unexpected) - 20} more)" if len(unexpected) > 20 else ""
        raise ValidationError(f"BatteryPass document does not validate: {shown}{more}")
    r = _Reader(document)
    gpi, cf_m, circ_m, mc_m, perf_m, lab_m, dd_m = (m.value for m in BATTERYPASS_MODULES)

    def contact(*path: str) -> dict[str, Any] | None:
        c = r.get(*path, optional=True)
        if c is None:
            return None
        out = {
            "name": c["contactName"],
            "identifier": c["identifier"],
            "address": address(*path, "postalAddress"),
        }
        if c.get("webAddress"):
            out["web"] = c["webAddress"]
        return out

    def address(*path: str | int) -> dict[str, Any]:
        return {
            "street": r.get(*path, "streetAddress"),
            "postal_code": r.get(*path, "postalCode"),
            "country": r.get(*path, "addressCountry"),
        }

    tech = r.get(perf_m, "batteryTechicalProperties")
    chemistry_short = r.get(mc_m, "batteryChemistry", "shortName")
    manufacturer = contact(gpi, "manufacturerInformation")
    assert manufacturer is not None
    data: dict[str, Any] = {
        "passport_id": passport_id_from_batterypass(r.get(gpi, "batteryPassportIdentifier")),
        "identity": {
            "battery_id": passport_id_from_batterypass(r.get(gpi, "batteryPassportIdentifier")),
            "product_identifier": r.get(gpi, "productIdentifier"),
            "category": r.get(gpi, "batteryCategory"),
            "chemistry": chemistry_short,
            "chemistry_clear_name": r.get(mc_m, "batteryChemistry", "clearName"),
            "manufacturer_id": manufacturer["identifier"],
            "manufactured_on": r.get(gpi, "manufacturingDate")[:10],
            "manufacturing_country": r.get(gpi, "manufacturingPlace", "addressCountry"),
            "mass_kg": r.get(gpi, "batteryMass"),
            "rated_capacity_ah": tech["ratedCapacity"],
            "rated_energy_kwh": tech["ratedEnergy"],
            "nominal_voltage_v": tech["nominalVoltage"],
        },
        "manufacturer": manufacturer,
        "operator": contact(gpi, "operatorInformation"),
        "manufacturing_place": address(gpi, "manufacturingPlace"),
        "warranty_months": warranty_from_batterypass(r.get(gpi, "warrentyPeriod"), f"$.{gpi}.warrentyPeriod"),
        "lifecycle": {
            "status": r.get(gpi, "batteryStatus"),
            "put_into_service_on": (r.get(gpi, "puttingIntoService", optional=True) or "")[:10] or None,
        },
    }
    try:
        from batteryloop.domain.identity import GS1DigitalLink

        link = GS1DigitalLink.parse(data["identity"]["product_identifier"])
        data["identity"]["gtin"], data["identity"]["serial"] = link.gtin, link.serial
    except ValueError:
        pass  # not a Digital Link: the product identifier is the battery id itself

    cf = r.get(cf_m)
    data["carbon_footprint"] = {
        "total_kg_co2e_per_kwh": cf["batteryCarbonFootprint"],
        "per_stage": [
            {"stage": s["lifecycleStage"], "kg_co2e_per_kwh": s["carbonFootprint"]}
            for s in cf["carbonFootprintPerLifecycleStage"]
        ],
        "performance_class": cf["carbonFootprintPerformanceClass"],
        "study_url": cf["carbonFootprintStudy"],
        "absolute_kg_co2e": cf.get("absoluteCarbonFootprint"),
    }
    circ = r.get(circ_m)
    data["circularity"] = {
        "dismantling_documents": [
            {"document_type": d["documentType"], "mime_type": d["mimeType"], "url": d["documentURL"]}
            for d in circ["dismantlingAndRemovalInformation"]
        ],
        "spare_part_sources": [
            {
                "supplier": {
                    "name": s["nameOfSupplier"],
                    "identifier": s["nameOfSupplier"],
                    "address": address(circ_m, "sparePartSources", i, "addressOfSupplier"),
                    "email": s["emailAddressOfSupplier"],
                    "web": s["supplierWebAddress"],
                },
                "parts": [
                    {"part_name": c["partName"], "part_number": c["partNumber"]} for c in s["components"]
                ],
            }
            for i, s in enumerate(circ["sparePartSources"])
        ],
        "recycled_content": [
            {
                "material": c["recycledMaterial"],
                "pre_consumer_pct": c["preConsumerShare"],
                "post_consumer_pct": c["postConsumerShare"],
            }
            for c in circ["recycledContent"]
        ],
        "renewable_content_pct": circ["renewableContent"],
    }
    data["safety"] = {
        "safety_instructions_url": circ["safetyMeasures"]["safetyInstructions"],
        "extinguishing_agents": circ["safetyMeasures"]["extinguishingAgent"],
    }
    eol = circ["endOfLifeInformation"]
    data["end_of_life"] = {
        "waste_prevention_url": eol["wastePrevention"],
        "separate_collection_url": eol["separateCollection"],
        "collection_information_url": eol["informationOnCollection"],
    }
    mc = r.get(mc_m)
    data["composition"] = {
        "materials": [
            {
                "name": m["batteryMaterialName"],
                "cas": m["batteryMaterialIdentifier"],
                "mass_kg": m["batteryMaterialMass"],
                "component": m["batteryMaterialLocation"]["componentName"],
                "critical_raw_material": m["isCriticalRawMaterial"],
            }
            for m in mc["batteryMaterials"]
        ],
        "hazardous_substances": [
            {
                "name": h["hazardousSubstanceName"],
                "cas": h["hazardousSubstanceIdentifier"],
                "hazard_class": h["hazardousSubstanceClass"],
                "concentration_pct": h["hazardousSubstanceConcentration"],
                "impacts": h["hazardousSubstanceImpact"],
                "component": h["hazardousSubstanceLocation"]["componentName"],
            }
            for h in mc["hazardousSubstances"]
        ],
    }
    # BatteryPass has no remainder: the battery mass (General Product Information) less the itemised materials
    battery_mass = data["identity"].get("mass_kg")
    if battery_mass is not None:
        itemised = sum(float(m["mass_kg"]) for m in data["composition"]["materials"])
        data["composition"]["battery_mass_kg"] = battery_mass
        data["composition"]["remainder_kg"] = max(0.0, round(float(battery_mass) - itemised, 4))
    data["critical_raw_materials"] = sorted(
        {m["name"] for m in data["composition"]["materials"] if m["critical_raw_material"]}
    )
    data["rated_performance"] = {
        "original_power_capability": [
            {"at_soc_pct": p["atSoC"], "power_w": p["powerCapabilityAt"]}
            for p in tech["originalPowerCapability"]
        ],
        "rated_maximum_power_w": tech["ratedMaximumPower"],
        "power_capability_ratio": tech["powerCapabilityRatio"],
        "expected_lifetime_cycles": tech["expectedNumberOfCycles"],
        "expected_lifetime_years": tech["expectedLifetime"],
        "initial_self_discharge_pct_per_month": tech["initialSelfDischarge"],
        "round_trip_efficiency_pct": tech["roundtripEfficiency"],
        "round_trip_efficiency_at_50pct_cycle_life_pct": tech["roundTripEfficiencyat50PerCentCycleLife"],
        "round_trip_efficiency_fade_pct": tech["roundTripEfficiencyFade"],
        "power_fade_pct": tech["powerFade"],
        "initial_internal_resistance": [
            {"component": x["batteryComponent"], "ohm": x["ohmicResistance"]}
            for x in tech["initialInternalResistance"]
        ],
        "minimum_voltage_v": tech["minimumVoltage"],
        "maximum_voltage_v": tech["maximumVoltage"],
        "capacity_threshold_for_exhaustion_pct": tech["capacityThresholdForExhaustion"],
        "lifetime_reference_test_url": tech["lifetimeReferenceTest"],
        "c_rate_life_cycle_test": tech["cRateLifeCycleTest"],
        "c_rate": tech.get("cRate"),
        "idle_temperature_min_c": tech["temperatureRangeIdleState"]["minimum"],
        "idle_temperature_max_c": tech["temperatureRangeIdleState"]["maximum"],
        # not part of BatteryPass: the stateOfCharge reading at placing on the market is the best source
        "shipping_state_of_charge_pct": r.get(
            perf_m, "batteryCondition", "stateOfCharge", "stateOfChargeValue"
        ),
    }
    data["condition"] = _condition_in(r.get(perf_m, "batteryCondition"))
    lab = r.get(lab_m)
    data["labels"] = {
        "declaration_of_conformity_url": lab["declarationOfConformity"],
        "labels": [
            {
                "subject": label["labelingSubject"],
                "symbol_url": label["labelingSymbol"],
                "language": next(iter(label["labelingMeaning"]), "en"),
                "meaning": next(iter(label["labelingMeaning"].values()), ""),
            }
            for label in lab["labels"]
        ],
    }
    data["test_reports"] = {"result_of_test_report_url": lab["resultOfTestReport"]}
    dd = r.get(dd_m)
    data["due_diligence"] = {
        "report_url": dd["supplyChainDueDiligenceReport"],
        "third_party_assurance_url": dd.get("thirdPartyAussurances"),
        "supply_chain_index": dd.get("supplyChainIndicies"),
    }
    try:
        # a link to a platform document (``.../documents/<sha256>``) goes back to its host-free reference
        return Passport.model_validate(links_to_refs(data))
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{_path([str(p) if not isinstance(p, int) else p for p in e['loc']])}: {e['msg']}"
            for e in exc.errors()[:20]
        )
        raise ValidationError(f"BatteryPass document maps to an invalid passport: {problems}") from exc


def _short(issue: SchemaIssue) -> str:
    """The rule broken, without echoing the offending value (it may be restricted data)."""
    if issue.validator == "required":
        return issue.message
    return {
        "pattern": "does not match the pattern",
        "enum": "not an allowed value",
        "type": "wrong type",
    }.get(issue.validator, f"violates '{issue.validator}'")


def _condition_in(cond: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, key, value_key in _CONDITION_READINGS:
        if key in cond:
            out[field] = {
                "value": cond[key][value_key],
                "last_update": _parse_moment(cond[key]["lastUpdate"]),
            }
    if "remainingPowerCapability" in cond:
        rpc = cond["remainingPowerCapability"]
        out["remaining_power_capability"] = {
            "at_soc_pct": rpc["remainingPowerCapabilityValue"]["atSoC"],
            "power_w": rpc["remainingPowerCapabilityValue"]["powerCapabilityAt"],
            "last_update": _parse_moment(rpc["lastUpdate"]),
        }
    events = []
    for e in cond.get("negativeEvents", ()):
        kind, _, description = str(e["negativeEvent"]).partition(": ")
        events.append(
            {"kind": kind, "description": description, "occurred_at": _parse_moment(e["lastUpdate"])}
        )
    out["negative_events"] = events
    if "temperatureInformation" in cond:
        t = cond["temperatureInformation"]
        out["temperature"] = {
            "extreme_high_h": t["timeExtremeHighTemp"],
            "extreme_low_h": t["timeExtremeLowTemp"],
            "extreme_high_charging_h": t["timeExtremeHighTempCharging"],
            "extreme_low_charging_h": t["timeExtremeLowTempCharging"],
            "last_update": _parse_moment(t["lastUpdate"]),
        }
    out["internal_resistance_increase_pct"] = [
        {
            "component": x["batteryComponent"],
            "value": x["internalResistanceIncreaseValue"],
            "last_update": _parse_moment(x["lastUpdate"]),
        }
        for x in cond.get("internalResistanceIncrease", ())
    ]
    return out
