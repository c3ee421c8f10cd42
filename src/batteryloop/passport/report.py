"""Renderings of a passport view shared by the CLI, HTTP and pages: one code path per format.

``render(view, fmt)`` gives the bytes of ``json`` (the canonical passport, redacted), ``jsonld``,
``batterypass`` (BatteryPass v1.2: the seven modules with their aspect URNs) and ``catenax`` (Catena-X
battery_pass 6.1.0). ``links(view)`` gives the GS1 links a caller may follow, ``page_context(view)`` what the
HTML page shows, ``check_document(result)`` the JSON of an obligation check and ``render_document(ref)`` a
linked model document. Every passport rendering reads the view's redacted document only.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from batteryloop.passport.core.documents import DocumentRef
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

        return to_catenax(view.document)
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
            {"linkType": "gs1:instructions", "href": manual["url"], "title": "Dismantling information"}
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


def document_lines(ref: DocumentRef) -> list[str]:
    lines = [ref.title]
    if ref.manufacturer is not None:
        lines.append(f"Battery model {ref.model} by {ref.manufacturer}")
    lines.append("Published by this batteryloop installation for its synthetic demo fleet;")
    lines.append("an operator's own installation links the economic operator's document here.")
    return lines


def render_document(ref: DocumentRef) -> bytes:
    """The document ``ref`` in its own format (PDF, SVG, CSV or HTML)."""
    lines = document_lines(ref)
    suffix = ref.name[ref.name.rindex(".") :]
    if suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["document", "battery_model", "manufacturer", "note"])
        writer.writerow([ref.title, ref.model or "", ref.manufacturer or "", " ".join(lines[-2:])])
        return buffer.getvalue().encode("utf-8")
    if suffix == ".html":
        body = "".join(f"<p>{html.escape(line)}</p>" for line in lines[1:])
        title = html.escape(ref.title)
        page = f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title><h1>{title}</h1>{body}'
        return page.encode("utf-8")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.27, 11.69))  # A4 portrait, inches
    figure.text(0.08, 0.92, lines[0], fontsize=18, weight="bold")
    for i, line in enumerate(lines[1:]):
        figure.text(0.08, 0.87 - 0.03 * i, line, fontsize=10)
    out = io.BytesIO()
    fmt = "pdf" if suffix == ".pdf" else "svg"
    figure.savefig(out, format=fmt, metadata={"Title": ref.title} if fmt == "pdf" else None)
    return out.getvalue()
