"""Renderings of a passport view shared by the CLI, HTTP and pages: one code path per format.

``render(view, fmt)`` gives the bytes of ``json`` (the canonical passport, redacted), ``jsonld``,
``batterypass`` (BatteryPass v1.2: the seven modules with their aspect URNs) and ``catenax`` (Catena-X
battery_pass 6.1.0). ``links(view)`` gives the GS1 links a caller may follow, ``page_context(view)`` what the
HTML page shows and ``check_document(result)`` the JSON of an obligation check. Every passport rendering reads the view's redacted document only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from batteryloop.passport.core.json_schemas import SchemaName, aspect_urn
from batteryloop.passport.service import FORMATS, CheckResult, PassportView
from batteryloop.web.i18n import N_

JSON = "application/json"
JSONLD = "application/ld+json"

MEDIA_TYPES: Mapping[str, str] = {fmt: JSONLD if fmt == "jsonld" else JSON for fmt in FORMATS}

# GS1 link type -> (where in the redacted document, title). Absent from the document = not offered.
LINK_TYPES: Mapping[str, tuple[tuple[str, ...], str]] = {
    "gs1:sustainabilityInfo": (("carbon_footprint", "study_url"), N_("Carbon footprint study")),
    "gs1:recyclingInfo": (
        ("end_of_life", "collection_information_url"),
        N_("Separate collection and take-back"),
    ),
    "gs1:certificationInfo": (
        ("labels", "declaration_of_conformity_url"),
        N_("EU declaration of conformity"),
    ),
    "gs1:safetyInfo": (("safety", "safety_instructions_url"), N_("Safety instructions")),
}


# The words a page shows for the codes a passport stores (English msgids; the catalogues translate them).
# A code missing here is shown as stored. Category names follow Art. 3(1) of Regulation (EU) 2023/1542,
# carbon-footprint stages its Annex II, hazard classes the CLP Regulation (EC) 1272/2008.
WORDS: Mapping[str, Mapping[str, str]] = {
    "category": {
        "portable": N_("portable battery"),
        "lmt": N_("LMT battery (light means of transport)"),
        "sli": N_("SLI battery (starting, lighting, ignition)"),
        "ev": N_("electric-vehicle battery"),
        "industrial": N_("industrial battery"),
        "stationary": N_("stationary energy storage (industrial battery)"),
    },
    "level": {
        "cell": N_("cell"),
        "module": N_("module"),
        "pack": N_("battery pack"),
        "system": N_("battery system"),
    },
    "status": {
        "Original": N_("original"),
        "Repurposed": N_("repurposed"),
        "Reused": N_("reused"),
        "Remanufactured": N_("remanufactured"),
        "Waste": N_("waste"),
    },
    "state": {
        "manufactured": N_("manufactured"),
        "integrated": N_("built into a larger unit"),
        "placed_on_market": N_("placed on the market"),
        "in_service": N_("in service"),
        "retired": N_("retired"),
        "collected": N_("collected"),
        "in_transit": N_("in transit"),
        "graded": N_("tested and graded"),
        "reused": N_("reused"),
        "repurposed": N_("repurposed"),
        "remanufactured": N_("remanufactured"),
        "dismantled": N_("dismantled"),
        "recycled": N_("recycled"),
        "disposed": N_("disposed of"),
    },
    "decision": {
        "reuse": N_("reuse in the same application"),
        "remanufacture": N_("remanufacture (replace the weak modules)"),
        "repurpose": N_("repurpose for a second life (e.g. stationary storage)"),
        "recycle": N_("recycle"),
    },
    "measured": {
        "dcir_mohm": N_("DC internal resistance (mΩ)"),
        "dcir_bol_mohm": N_("DC internal resistance at beginning of life (mΩ)"),
        "dcir_increase_pct": N_("internal resistance increase (%%)"),
        "self_discharge_mv_per_day": N_("self-discharge (mV per day)"),
        "capacity_spread_pct": N_("capacity spread (%%)"),
        "voltage_spread_mv": N_("voltage spread (mV)"),
        "insulation_ohm_per_v": N_("insulation resistance (Ω/V)"),
        "negative_events": N_("negative events"),
        "visual_damage": N_("visual damage"),
        "history": N_("usage history available"),
        "age_years": N_("age (years)"),
    },
    "stage": {
        "RawMaterialExtraction": N_("raw material acquisition and pre-processing"),
        "MainProduction": N_("main product production"),
        "Distribution": N_("distribution"),
        "Recycling": N_("end of life and recycling"),
    },
    "hazard": {
        "AcuteToxicity": N_("acute toxicity"),
        "SkinCorrosionOrIrritation": N_("skin corrosion or irritation"),
        "EyeDamageOrIrritation": N_("serious eye damage or eye irritation"),
    },
    "label": {
        "SeparateCollection": N_("separate collection"),
        "HazardousMaterial": N_("hazardous substances"),
        "CarbonFootPrint": N_("carbon footprint"),
        "ExtinguishingAgent": N_("extinguishing agent"),
    },
    # what each Art. 13 label symbol means (the producer's own wording is shown too, in its language)
    "label_meaning": {
        "SeparateCollection": N_("collect separately; do not dispose of with household waste"),
        "HazardousMaterial": N_("contains hazardous substances, listed on this page"),
        "CarbonFootPrint": N_("the carbon footprint and its performance class"),
        "ExtinguishingAgent": N_("the agents to put out a fire of this battery"),
    },
    "document": {
        "BillOfMaterial": N_("bill of materials"),
        "Model3D": N_("3D model"),
        "DismantlingManual": N_("dismantling manual"),
        "RemovalManual": N_("removal manual"),
        "OtherManual": N_("other manual"),
        "Drawing": N_("drawing"),
    },
    "material": {
        "Aluminium": N_("aluminium"),
        "Cobalt": N_("cobalt"),
        "Copper": N_("copper"),
        "Dimethyl carbonate": N_("dimethyl carbonate"),
        "Ethylene carbonate": N_("ethylene carbonate"),
        "Graphite": N_("graphite"),
        "Iron": N_("iron"),
        "Lead": N_("lead"),
        "Lithium": N_("lithium"),
        "Lithium hexafluorophosphate": N_("lithium hexafluorophosphate"),
        "Sodium hexafluorophosphate": N_("sodium hexafluorophosphate"),
        "Manganese": N_("manganese"),
        "Nickel": N_("nickel"),
        "Phosphorus": N_("phosphorus"),
        "Sodium": N_("sodium"),
        "Titanium": N_("titanium"),
    },
    "component": {  # the one vocabulary of domain.passport_data.BatteryComponent, and the unit levels
        "anode": N_("anode"),
        "anode_current_collector": N_("anode current collector"),
        "cathode": N_("cathode"),
        "cathode_current_collector": N_("cathode current collector"),
        "electrolyte": N_("electrolyte"),
        "separator": N_("separator"),
        "housing": N_("housing"),
        "electronics": N_("electronics (battery management system, wiring)"),
        "thermal_management": N_("thermal management"),
        "pack": N_("pack"),
        "module": N_("module"),
        "cell": N_("cell"),
    },
    "chemistry": {
        "NMC111": N_("lithium nickel manganese cobalt oxide (1:1:1)"),
        "NMC532": N_("lithium nickel manganese cobalt oxide (5:3:2)"),
        "NMC622": N_("lithium nickel manganese cobalt oxide (6:2:2)"),
        "NMC811": N_("lithium nickel manganese cobalt oxide (8:1:1)"),
        "NCA": N_("lithium nickel cobalt aluminium oxide"),
        "LFP": N_("lithium iron phosphate"),
        "LMFP": N_("lithium manganese iron phosphate"),
        "LMO": N_("lithium manganese oxide"),
        "LCO": N_("lithium cobalt oxide"),
        "LTO": N_("lithium titanate (anode)"),
        "SIB": N_("sodium-ion"),
        "SSB": N_("solid-state lithium"),
        "SSSB": N_("semi-solid-state lithium"),
        "OTHER": N_("other chemistry"),
    },
    # hazard statements (CLP Annex III wording) and extinguishing agents as the demo data states them
    "impact": {
        "acute toxicity if swallowed": N_("toxic if swallowed"),
        "releases hydrogen fluoride on contact with water": N_(
            "releases hydrogen fluoride on contact with water"
        ),
        "causes serious eye irritation": N_("causes serious eye irritation"),
        "causes severe skin burns": N_("causes severe skin burns"),
    },
    "agent": {
        "water (copious, for cooling)": N_("water (in large amounts, for cooling)"),
        "foam": N_("foam"),
        "carbon dioxide": N_("carbon dioxide"),
        "dry powder": N_("dry powder"),
    },
    "part": {
        "battery management system": N_("battery management system"),
        "module": N_("module"),
        "high-voltage connector": N_("high-voltage connector"),
        "housing": N_("housing"),
    },
    "mime": {  # file formats by their usual names
        "application/pdf": N_("PDF file"),
        "text/html": N_("web page"),
        "text/plain": N_("text"),
        "text/csv": N_("CSV table"),
        "image/svg+xml": N_("SVG image"),
        "image/png": N_("PNG image"),
        "image/jpeg": N_("JPEG image"),
    },
    "role": {  # batteryloop.domain.organisation.Role
        "cell_manufacturer": N_("cell manufacturer"),
        "battery_manufacturer": N_("battery manufacturer"),
        "vehicle_maker": N_("vehicle maker"),
        "importer": N_("importer"),
        "dealer_repairer": N_("dealer or repairer"),
        "dismantler": N_("dismantler"),
        "collection_point": N_("collection point"),
        "second_life_operator": N_("second-life operator"),
        "recycler": N_("recycler"),
        "producer_responsibility_organisation": N_("producer responsibility organisation"),
        "authority": N_("authority"),
        "notified_body": N_("notified body"),
        "owner": N_("owner or operator"),
    },
    "negative_event": {
        "accident": N_("accident"),
        "deep_discharge": N_("deep discharge"),
        "thermal_event": N_("thermal event"),
        "water_ingress": N_("water ingress"),
        "overcharge": N_("overcharge"),
    },
}


def to_jsonld(document: Mapping[str, Any], *, uri: str) -> dict[str, Any]:
    """A JSON-LD rendering of a (redacted) passport document: schema.org/GS1 terms for the identity,
    the batteryloop vocabulary for the rest."""
    ident = document.get("identity") or {}
    out: dict[str, Any] = {
        "@context": {
            "@vocab": "https://w3id.org/batteryloop/passport/v1#",
            "schema": "https://schema.org/",
            "gs1": "https://gs1.org/voc/",
            "name": "schema:name",
        },
        "@id": uri,
        "@type": ["gs1:Product", "BatteryPassport"],
    }
    if ident.get("gtin"):
        out["gs1:gtin"] = ident["gtin"]
    if ident.get("serial"):
        out["gs1:serialNumber"] = ident["serial"]
    if ident.get("model"):
        out["schema:model"] = ident["model"]
    out.update(document)
    return out


def content(view: PassportView, fmt: str) -> dict[str, Any]:
    """The JSON object of ``view`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return view.document
    if fmt == "jsonld":
        return to_jsonld(view.document, uri=view.uri)
    if fmt == "batterypass":
        from batteryloop.passport.core.batterypass import to_batterypass

        exported = to_batterypass(view.document)
        return {"aspects": {m: aspect_urn(SchemaName(m)) for m in exported}, **exported}
    if fmt == "catenax":
        from batteryloop.passport.core.catenax import to_catenax

        return to_catenax(view.document, withheld=view.withheld)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def render(view: PassportView, fmt: str, *, pretty: bool = False) -> bytes:
    """The bytes of ``view`` in ``fmt`` (UTF-8 JSON; ``pretty``: indented, for people)."""
    option = orjson.OPT_INDENT_2 if pretty else 0
    return orjson.dumps(content(view, fmt), option=option)


def filename(battery_id: str, fmt: str) -> str:
    """A file name for one battery's export, safe on every file system (``:`` and ``/`` replaced)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in battery_id)
    return f"{safe}.{fmt}.json"


QR_MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def qr_image(view: PassportView, kind: str) -> bytes:
    """The QR code of a passport's URI (its GS1 Digital Link, or its page) as SVG or PNG: the bytes
    ``passport qr`` writes and ``/passports/{id}/qr.svg|png`` serves. The URI is public (Annex VI), so the
    view of any audience gives the same code."""
    from batteryloop.passport.core.qr import qr_png, qr_svg

    if kind == "svg":
        return qr_svg(view.uri, title=f"Battery passport {view.battery_id}").encode("utf-8")
    if kind == "png":
        return qr_png(view.uri)
    raise ValueError(f"unknown QR image kind {kind!r}: use svg or png")


def check_document(result: CheckResult) -> dict[str, Any]:
    return {
        "battery_id": result.battery_id,
        "on": result.on.isoformat(),
        "complete": result.complete,
        "missing": [
            {
                "path": m.path,
                "mandatory_since": m.applies_from.isoformat(),
                "basis": m.basis,
                "date_quality": m.quality,
            }
            for m in result.missing
        ],
        "unverified": list(result.unverified),
    }


def check_unverified_line(result: CheckResult) -> str:
    """The one line naming the obligation dates the check rests on that are unverified (empty when none)."""
    if not result.unverified:
        return ""
    return (
        f"{len(result.unverified)} obligation date(s) marked UNVERIFIED were not checked against the legal text: "
        + ", ".join(result.unverified)
    )


def page_url(battery_id: str, *, base_url: str = "") -> str:
    return f"{base_url}/passports/{quote(battery_id, safe=':')}/page"


def dig(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = document
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def links(view: PassportView, *, base_url: str = "") -> list[dict[str, str]]:
    """The GS1 links this caller may follow (targets taken from the redacted document only); the page and
    the data are addressed under ``base_url`` (the installation's public base URL; empty: relative)."""
    page = page_url(view.battery_id, base_url=base_url)
    found = [{"linkType": "gs1:pip", "href": page, "title": "Battery passport (HTML)"}]
    found.append(
        {
            "linkType": "gs1:masterData",
            "href": f"{base_url}/passports/{quote(view.battery_id, safe=':')}",
            "title": "Passport data (JSON)",
        }
    )
    for link_type, (path, title) in LINK_TYPES.items():
        target = dig(view.document, path)
        if target:
            found.append({"linkType": link_type, "href": str(target), "title": title})
    docs = dig(view.document, ("circularity", "dismantling_documents"))
    if docs:
        manual = next((d for d in docs if d["document_type"] == "DismantlingManual"), docs[0])
        found.append(
            {"linkType": "gs1:instructions", "href": manual["url"], "title": N_("Dismantling information")}
        )
    return found


def page_context(view: PassportView, *, base_url: str = "") -> dict[str, Any]:
    """What ``passport.html`` shows of ``view`` (the caller's organisation is added by the page)."""
    from batteryloop.passport.core.qr import qr_svg

    return {
        "p": view.document,
        "audiences": sorted(view.audiences),
        "uri": view.uri,
        "battery_id": view.battery_id,
        "qr": qr_svg(view.uri, scale=4, title="QR code of this battery passport"),
        "links": links(view, base_url=base_url),
        "words": WORDS,
    }
