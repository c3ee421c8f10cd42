"""The model documents a passport links to (manuals, studies, declarations), and who may fetch each.

A passport's document URLs live under ``{public base URL}/passport-docs/``: ``{manufacturer}/{model}/{name}``
for a battery model's documents and ``end-of-life/{name}`` for the take-back pages every battery shares.
Each document belongs to the passport field that links to it, so it is served to exactly the Annex XIII
audiences that may see that field (:data:`DOCUMENT_FIELDS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from batteryloop.domain.errors import NotFoundError

DOCUMENTS_PATH = "passport-docs"
SHARED_FOLDER = "end-of-life"

# document file name -> (passport field linking to it, title)
DOCUMENT_FIELDS: Mapping[str, tuple[str, str]] = {
    "carbon-footprint-study.pdf": ("carbon_footprint.study_url", "Carbon footprint study"),
    "dismantling.pdf": ("circularity.dismantling_documents", "Dismantling manual"),
    "removal.pdf": ("circularity.dismantling_documents", "Removal manual"),
    "exploded-view.svg": ("circularity.dismantling_documents", "Exploded view"),
    "bom.csv": ("circularity.dismantling_documents", "Bill of material"),
    "cycle-life-test.pdf": ("rated_performance.lifetime_reference_test_url", "Cycle-life reference test"),
    "eu-declaration-of-conformity.pdf": (
        "labels.declaration_of_conformity_url",
        "EU declaration of conformity",
    ),
    "safety-instructions.pdf": ("safety.safety_instructions_url", "Safety instructions"),
    "test-report.pdf": ("test_reports.result_of_test_report_url", "Results of test reports"),
    "due-diligence-report.pdf": ("due_diligence.report_url", "Due diligence report"),
    "due-diligence-assurance.pdf": ("due_diligence.third_party_assurance_url", "Third-party assurance"),
}
SHARED_FIELDS: Mapping[str, tuple[str, str]] = {
    "waste-prevention.html": ("end_of_life.waste_prevention_url", "Waste prevention"),
    "separate-collection.html": ("end_of_life.separate_collection_url", "Separate collection"),
    "collection-points.html": ("end_of_life.collection_information_url", "Collection points"),
}
MEDIA_TYPES: Mapping[str, str] = {
    ".pdf": "application/pdf",
    ".svg": "image/svg+xml",
    ".csv": "text/csv; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """One document: its file name, the passport field linking to it, its title, and the battery model it
    belongs to (None for the shared end-of-life pages)."""

    name: str
    field: str
    title: str
    manufacturer: str | None
    model: str | None

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.name[self.name.rindex(".") :]]


def parse_document_path(path: str) -> DocumentRef:
    """The document at ``path`` (the part after ``/passport-docs/``); NotFoundError when there is none."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if len(parts) == 2 and parts[0] == SHARED_FOLDER and parts[1] in SHARED_FIELDS:
        field, title = SHARED_FIELDS[parts[1]]
        return DocumentRef(parts[1], field, title, None, None)
    # {manufacturer}/{model}/{name}; the carbon footprint study sits one folder deeper (docs/)
    if len(parts) in (3, 4) and all(parts) and (len(parts) == 3 or parts[2] == "docs"):
        name = parts[-1]
        if name in DOCUMENT_FIELDS and (len(parts) == 3) != (name == "carbon-footprint-study.pdf"):
            field, title = DOCUMENT_FIELDS[name]
            return DocumentRef(name, field, title, parts[0], parts[1])
    raise NotFoundError(f"no passport document at /{DOCUMENTS_PATH}/{path}")
