"""The documents of the synthetic demo passports: each a real file (HTML page, SVG drawing or symbol, CSV),
made deterministically from the battery model, and linked from the passport by its content hash.

The synthetic passport data links these by reference (``sha256:<hex>``, :mod:`batteryloop.domain.documents`);
the demo stores the same bytes in the platform's document store, so every link of a demo passport resolves
under whatever public base URL the server runs with. Each document names the passport field that links it,
so the store can serve it to exactly that field's Annex XIII audiences.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from batteryloop.domain.documents import ref_of

HTML = "text/html; charset=utf-8"
SVG = "image/svg+xml"
CSV = "text/csv; charset=utf-8"


@dataclass(frozen=True, slots=True)
class DemoDocument:
    """One document: what it is, the passport field linking it, its media type, file name and bytes."""

    key: str
    title: str
    field: str
    media_type: str
    filename: str
    content: bytes

    @property
    def ref(self) -> str:
        return ref_of(self.content)

    @property
    def mime(self) -> str:
        """The media type without parameters (as a passport's ``mime_type`` states it)."""
        return self.media_type.split(";", 1)[0]


# key -> (title, passport field linking it, what the page says it holds)
MODEL_DOCUMENTS: Mapping[str, tuple[str, str, str]] = {
    "carbon_footprint_study": (
        "Carbon footprint study",
        "carbon_footprint.study_url",
        "The study behind the carbon footprint declaration (Art. 7(1)), per life-cycle stage.",
    ),
    "dismantling": (
        "Dismantling manual",
        "circularity.dismantling_documents",
        "How to take the battery apart safely, step by step (Annex XIII(2)(b)).",
    ),
    "removal": (
        "Removal manual",
        "circularity.dismantling_documents",
        "How to remove the battery from the vehicle or appliance (Annex XIII(2)(b)).",
    ),
    "cycle_life_test": (
        "Cycle-life reference test",
        "rated_performance.lifetime_reference_test_url",
        "The reference test behind the expected lifetime in cycles (Annex XIII(1)(k)).",
    ),
    "declaration_of_conformity": (
        "EU declaration of conformity",
        "labels.declaration_of_conformity_url",
        "The EU declaration of conformity (Art. 18, Annex IX).",
    ),
    "safety_instructions": (
        "Safety instructions",
        "safety.safety_instructions_url",
        "Safety measures for handling, storage and transport (Annex XIII(2)(d)).",
    ),
    "test_report": (
        "Results of test reports",
        "test_reports.result_of_test_report_url",
        "Results of the test reports proving compliance (Annex XIII(3)).",
    ),
    "due_diligence_report": (
        "Due diligence report",
        "due_diligence.report_url",
        "The supply-chain due diligence report (Art. 52(3)).",
    ),
    "due_diligence_assurance": (
        "Third-party assurance",
        "due_diligence.third_party_assurance_url",
        "The notified body's third-party verification of the due diligence policy (Art. 48).",
    ),
}
SHARED_DOCUMENTS: Mapping[str, tuple[str, str, str]] = {
    "waste_prevention": (
        "Waste prevention",
        "end_of_life.waste_prevention_url",
        "How end users help prevent battery waste (Art. 74(1)(a)).",
    ),
    "separate_collection": (
        "Separate collection",
        "end_of_life.separate_collection_url",
        "Why waste batteries are collected separately and how (Art. 74(1)(b)).",
    ),
    "collection_points": (
        "Collection points",
        "end_of_life.collection_information_url",
        "Where waste batteries are taken back free of charge (Art. 74(1)(c)).",
    ),
}


def _page(title: str, lines: list[str]) -> bytes:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    text = html.escape(title)
    page = (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{text}</title></head>'
        f"<body><h1>{text}</h1>{body}</body></html>\n"
    )
    return page.encode("utf-8")


_NOTE = (
    "A synthetic document of the batteryloop demo fleet, stored in the platform's document store and linked "
    "from the passport by its SHA-256 hash; a producer's own passport links its real document here."
)


def _exploded_view(manufacturer: str, model: str) -> bytes:
    title = html.escape(f"Exploded view: {model} ({manufacturer})")
    boxes = "".join(
        f'<rect x="{20 + 70 * i}" y="{60 + 12 * i}" width="60" height="90" fill="#dde" stroke="#334"/>'
        f'<text x="{50 + 70 * i}" y="{170 + 12 * i}" font-size="11" text-anchor="middle">module {i + 1}</text>'
        for i in range(4)
    )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="230" viewBox="0 0 320 230">'
        f'<title>{title}</title><text x="10" y="24" font-size="14">{title}</text>'
        '<rect x="10" y="40" width="300" height="180" fill="none" stroke="#334" stroke-dasharray="4 3"/>'
        f"{boxes}</svg>\n"
    )
    return svg.encode("utf-8")


def _bill_of_material(manufacturer: str, model: str, code: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["battery_model", "manufacturer", "part_name", "part_number", "quantity"])
    for part, number, quantity in (
        ("battery management system", f"{code}-BMS-01", 1),
        ("module", f"{code}-MOD-01", 4),
        ("high-voltage connector", f"{code}-HVC-01", 1),
        ("housing", f"{code}-HSG-01", 1),
    ):
        writer.writerow([model, manufacturer, part, number, quantity])
    return out.getvalue().encode("utf-8")


def model_code(model: str) -> str:
    """The part-number prefix of a battery model (its first eight letters and digits, upper case)."""
    return "".join(c for c in model.upper() if c.isalnum())[:8] or "MODEL"


@lru_cache(maxsize=256)
def model_documents(manufacturer_id: str, model: str) -> dict[str, DemoDocument]:
    """The documents of one battery model, by key (:data:`MODEL_DOCUMENTS` plus ``exploded_view`` and
    ``bill_of_material``)."""
    docs: dict[str, DemoDocument] = {}
    for key, (title, field, about) in MODEL_DOCUMENTS.items():
        content = _page(title, [f"Battery model {model} by {manufacturer_id}.", about, _NOTE])
        docs[key] = DemoDocument(key, title, field, HTML, f"{key.replace('_', '-')}.html", content)
    dismantling = "circularity.dismantling_documents"
    docs["exploded_view"] = DemoDocument(
        "exploded_view",
        "Exploded view",
        dismantling,
        SVG,
        "exploded-view.svg",
        _exploded_view(manufacturer_id, model),
    )
    docs["bill_of_material"] = DemoDocument(
        "bill_of_material",
        "Bill of material",
        dismantling,
        CSV,
        "bill-of-material.csv",
        _bill_of_material(manufacturer_id, model, model_code(model)),
    )
    return docs


def _symbol(title: str, drawing: str) -> bytes:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        f"<title>{html.escape(title)}</title>{drawing}</svg>\n"
    )
    return svg.encode("utf-8")


# The label symbols (Art. 13): drawn here, so the demo links real images. Annex VI Part B gives the crossed-out
# wheeled bin; the carbon-footprint and hazard marks are plain demo pictograms.
_SYMBOLS: Mapping[str, tuple[str, str]] = {
    "label_separate_collection": (
        "Crossed-out wheeled bin",
        '<path d="M18 16h28l-3 34H21z" fill="none" stroke="#000" stroke-width="3"/>'
        '<path d="M15 16h34M28 11h8" stroke="#000" stroke-width="3"/>'
        '<circle cx="24" cy="53" r="3"/><circle cx="42" cy="53" r="3"/>'
        '<path d="M10 8l44 50M54 8L10 58" stroke="#000" stroke-width="3"/>',
    ),
    "label_carbon_footprint": (
        "Carbon footprint",
        '<circle cx="32" cy="32" r="28" fill="none" stroke="#000" stroke-width="3"/>'
        '<text x="32" y="38" font-size="16" font-family="sans-serif" text-anchor="middle">CO2</text>',
    ),
    "label_hazardous": (
        "Hazardous substances",
        '<path d="M32 4l28 28-28 28L4 32z" fill="none" stroke="#c00" stroke-width="4"/>'
        '<path d="M32 18v20" stroke="#000" stroke-width="5"/><circle cx="32" cy="46" r="3"/>',
    ),
}


@lru_cache(maxsize=1)
def shared_documents() -> dict[str, DemoDocument]:
    """The documents every demo battery shares: the end-of-life pages and the label symbols."""
    docs = {
        key: DemoDocument(
            key, title, field, HTML, f"{key.replace('_', '-')}.html", _page(title, [about, _NOTE])
        )
        for key, (title, field, about) in SHARED_DOCUMENTS.items()
    }
    for key, (title, drawing) in _SYMBOLS.items():
        docs[key] = DemoDocument(
            key, title, "labels", SVG, f"{key.replace('_', '-')}.svg", _symbol(title, drawing)
        )
    return docs


def documents_for(manufacturer_id: str, model: str) -> dict[str, DemoDocument]:
    """Every document a demo passport of this battery model links, by key."""
    return {**shared_documents(), **model_documents(manufacturer_id, model)}
