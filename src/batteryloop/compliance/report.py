"""Renderings of compliance results shared by the CLI, the HTTP API and the pages (JSON dicts, CSV, XLSX)."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from batteryloop.compliance import service
from batteryloop.compliance.core import rules
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.registration import ProducerRegistration
from batteryloop.reference.files import thaw


def pack_summary_to_dict(summary: rules.PackSummary) -> dict[str, Any]:
    return {"code": summary.code, "description": summary.description, "rules": summary.rules}


def rules_to_dict(view: service.RulesView) -> dict[str, Any]:
    return {
        "jurisdiction": view.code,
        "description": view.description,
        "lineage": list(view.lineage),
        "rules": [{"path": path, **thaw(dict(value))} for path, value in view.rules],
    }


# --- recyclers -------------------------------------------------------------------------------------------


# --- producers and regulators ----------------------------------------------------------------------------

EPR_SECTIONS = (
    "placed",
    "unregistered",
    "collection",
    "take_back",
    "leakage",
    "leaked",
    "performance",
    "regions",
    "traceability",
    "late_uploads",
)


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _rows(rows: Any) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in r.items()} for r in rows]


def point_to_dict(point: service.LedgerPoint) -> dict[str, Any]:
    return {
        "position": point.position,
        "events": point.events,
        "source": point.source,
        "checkpoint": None
        if point.checkpoint_size is None
        else {
            "tree_size": point.checkpoint_size,
            "root_hash": point.checkpoint_root,
            "signed_at": point.checkpoint_signed_at,
            "note": point.checkpoint_note,
        },
    }


def registration_to_dict(reg: ProducerRegistration) -> dict[str, Any]:
    return {
        "producer": reg.producer,
        "country": reg.country,
        "brands": list(reg.brands),
        "categories": list(reg.categories),
        "chemistries": list(reg.chemistries),
        "pro": reg.pro,
        "individually": reg.individually,
        "reference": reg.reference,
        "registered_on": reg.registered_on.isoformat(),
    }


def epr_report_to_dict(report: service.EprReport) -> dict[str, Any]:
    """The one dict rendering of a producers' and regulators' report (CLI --json, HTTP body, pages)."""
    s = report.scope
    return {
        "jurisdiction": s.jurisdiction,
        "scope": {
            "viewer": s.viewer,
            "organisation": s.viewer_org,
            "countries": list(s.countries),
            "producers": None if s.producers is None else list(s.producers),
        },
        "ledger_point": point_to_dict(report.point),
        "year": report.year,
        "as_of": report.as_of.isoformat(),
        "leakage_window_days": report.window_days,
        **{name: _rows(getattr(report, name)) for name in EPR_SECTIONS},
        "registrations": [registration_to_dict(r) for r in report.registrations],
        "rules": dict(report.sources),
        "notes": list(report.notes),
    }


def _about(report: service.EprReport) -> list[tuple[str, Any]]:
    p = report.point
    return [
        ("jurisdiction", report.scope.jurisdiction),
        ("viewer", f"{report.scope.viewer} {report.scope.viewer_org or ''}".strip()),
        ("countries", " ".join(report.scope.countries)),
        ("ledger position", p.position),
        ("source", p.source),
        ("signed checkpoint tree size", p.checkpoint_size),
        ("signed checkpoint root", p.checkpoint_root),
        ("signed at", p.checkpoint_signed_at),
        ("reporting year", report.year),
        ("as of", report.as_of.isoformat()),
        ("leakage window (days)", report.window_days),
    ]


def epr_section_csv(report: service.EprReport, section: str) -> str:
    """One section as CSV, preceded by comment lines naming the ledger point it was computed at."""
    if section not in EPR_SECTIONS:
        raise ValidationError(f"section {section!r} is not one of {', '.join(EPR_SECTIONS)}")
    rows = _rows(getattr(report, section))
    out = io.StringIO()
    for key, value in _about(report):
        out.write(f"# {key}: {'' if value is None else value}\n")
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def epr_report_xlsx(report: service.EprReport) -> bytes:
    """The whole report as a workbook: an ``about`` sheet with the ledger point, then one sheet per section."""
    from openpyxl import Workbook

    wb = Workbook()
    about = wb.active
    assert about is not None
    about.title = "about"
    for key, value in _about(report):
        about.append([key, value])
    for rule, source in report.sources.items():
        about.append([rule, source])
    for section in EPR_SECTIONS:
        ws = wb.create_sheet(section)
        rows = _rows(getattr(report, section))
        if rows:
            ws.append(list(rows[0]))
            for r in rows:
                ws.append([_cell(v) for v in r.values()])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, int | float | str) else str(value)


def svg_bars(bars: Sequence[tuple[str, float, str | None]], *, width: int = 560, unit: str = "") -> str:
    """A horizontal bar chart as inline SVG: (label, value, link) per bar; each bar links to its batteries.
    Labels are codes (producers, countries, years), so the chart needs no translation."""
    if not bars:
        return ""
    top = max((v for _, v, _ in bars), default=0.0) or 1.0
    row, label_w = 22, 170
    height = row * len(bars) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart">'
    ]
    for i, (label, value, link) in enumerate(bars):
        y = i * row + 2
        w = max(1.0, (width - label_w - 90) * value / top) if value > 0 else 0.0
        bar = (
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="#2f6f9f"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + row - 10}" font-size="12">{value:,.3g}{html.escape(unit)}</text>'
        )
        if link:
            bar = f'<a href="{html.escape(link)}">{bar}</a>'
        parts.append(f'<text x="0" y="{y + row - 10}" font-size="12">{html.escape(label[:28])}</text>{bar}')
    parts.append("</svg>")
    return "".join(parts)


def figure_rows_to_list(rows: Any) -> list[dict[str, Any]]:
    """The batteries behind a figure as plain rows (dates as ISO text)."""
    return _rows(rows)
