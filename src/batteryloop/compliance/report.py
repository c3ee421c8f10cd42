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

from collections.abc import Mapping  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from html import escape  # noqa: E402

from batteryloop.compliance.core import recyclers  # noqa: E402


def point_to_dict(point: service.LedgerPoint | None) -> dict[str, Any] | None:
    """The ledger position a report was computed at, the Merkle root there and the latest signed head."""
    if point is None:
        return None
    return {
        "position": point.position,
        "root": point.root_hex,
        "as_of": None if point.as_of is None else point.as_of.isoformat(),
        "events": point.events,
        "source": point.source,
        "signed_tree_head": None
        if point.signed_size is None
        else {
            "size": point.signed_size,
            "root": point.signed_root,
            "signed_at": point.signed_at,
            "checkpoint": point.checkpoint,
        },
    }


def _target(target: recyclers.Target | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {
        "value_pct": target.value,
        "rule": target.path,
        "source": target.source,
        "locator": target.locator,
        "quality": target.quality,
    }


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def lot_to_dict(lot: recyclers.InputLot) -> dict[str, Any]:
    return {
        "lot_id": lot.lot_id,
        "recycler": lot.recycler,
        "chemistry_group": lot.chemistry_group,
        "received_on": lot.received_on.isoformat(),
        "year": lot.year,
        "mass_kg": _r(lot.mass_kg),
        "batteries": list(lot.batteries),
        "elements_kg": {
            recyclers.ELEMENT_NAMES[el]: _r(v) for el, v in lot.elements_kg.items() if v is not None
        },
        "electrode_powder_kg": _r(lot.electrode_powder_kg),
        "open": not lot.outputs,
        "outputs": [
            {
                "lot_id": o.lot_id,
                "fraction": o.fraction,
                "mass_kg": _r(o.mass_kg),
                "produced_on": o.produced_on.isoformat(),
                "counted_as_recycled": o.counted_as_recycled,
                "buyer": o.buyer,
                "for_model": o.for_model,
                "battery_id": o.battery_id,
                "elements_kg": {recyclers.ELEMENT_NAMES[el]: _r(v) for el, v in o.elements_kg.items()},
            }
            for o in lot.outputs
        ],
    }


def finding_to_dict(f: recyclers.TraceabilityFinding) -> dict[str, Any]:
    return {
        "status": f.status,
        "actor": f.actor,
        "rule": f.rule,
        "battery_id": f.battery_id,
        "event_type": f.event_type,
        "occurred_on": f.occurred_on.isoformat(),
        "recorded_on": None if f.recorded_on is None else f.recorded_on.isoformat(),
        "working_days": f.working_days,
        "deadline_working_days": f.deadline_working_days,
        "source": f.source,
        "locator": f.locator,
        "position": f.position,
    }


def recycler_report_to_dict(report: service.RecyclerReport) -> dict[str, Any]:
    """The whole report as JSON: every figure with its target (rule, source, article) and the lots behind it."""
    return {
        "recycler": report.recycler,
        "jurisdiction": report.jurisdiction,
        "year": report.year,
        "ledger": point_to_dict(report.point),
        "rules": list(report.lineage),
        "efficiency": [
            {
                "chemistry_group": e.chemistry_group,
                "year": e.year,
                "input_kg": _r(e.input_kg),
                "recycled_kg": _r(e.recycled_kg),
                "efficiency_pct": _r(e.efficiency_pct),
                "target": _target(e.target),
                "status": e.status,
                "lots": list(e.lots),
                "batteries": list(e.batteries),
            }
            for e in report.efficiency
        ],
        "recovery": [
            {
                "element": r.element,
                "year": r.year,
                "input_kg": _r(r.input_kg),
                "recovered_kg": _r(r.recovered_kg),
                "recovery_pct": _r(r.recovery_pct),
                "target": _target(r.target),
                "status": r.status,
                "lots": list(r.lots),
                "not_assessable_lots": list(r.not_assessable),
            }
            for r in report.recovery
        ],
        "white_list": [
            {
                "edition": w.edition,
                "condition": w.condition,
                "value_pct": _r(w.value_pct),
                "limit": _target(w.limit),
                "kind": w.kind,
                "status": w.status,
                "lots": list(w.lots),
            }
            for w in report.white_list
        ],
        "traceability": [finding_to_dict(f) for f in report.traceability],
        "open_lots": list(report.open_lots),
        "lots": [lot_to_dict(lot) for lot in report.lots],
        "notes": list(report.notes),
    }


RECYCLER_COLUMNS = (
    "section",
    "subject",
    "year",
    "value_pct",
    "target_pct",
    "status",
    "rule",
    "source",
    "locator",
    "lots",
)


def recycler_rows(report: service.RecyclerReport) -> list[dict[str, Any]]:
    """One flat row per figure (CSV, XLSX, the CLI's table), each naming its lots."""
    rows: list[dict[str, Any]] = []

    def add(
        section: str,
        subject: str,
        year: int | str,
        value: float | None,
        target: recyclers.Target | None,
        status: str,
        lots: tuple[str, ...],
    ) -> None:
        rows.append(
            {
                "section": section,
                "subject": subject,
                "year": year,
                "value_pct": _r(value, 3),
                "target_pct": None if target is None else target.value,
                "status": status,
                "rule": "" if target is None else target.path,
                "source": "" if target is None else target.source,
                "locator": "" if target is None else target.locator,
                "lots": " ".join(lots),
            }
        )

    for e in report.efficiency:
        add("recycling_efficiency", e.chemistry_group, e.year, e.efficiency_pct, e.target, e.status, e.lots)
    for r in report.recovery:
        add("material_recovery", r.element, r.year, r.recovery_pct, r.target, r.status, r.lots)
    for w in report.white_list:
        add(f"white_list_{w.edition}", w.condition, report.year or "", w.value_pct, w.limit, w.status, w.lots)
    for f in report.traceability:
        rows.append(
            {
                "section": f"traceability_{f.status}",
                "subject": f"{f.battery_id} {f.event_type}",
                "year": f.occurred_on.year,
                "value_pct": None,
                "target_pct": None,
                "status": f"{f.working_days} of {f.deadline_working_days} working days",
                "rule": f"traceability.{f.rule}",
                "source": f.source,
                "locator": f.locator,
                "lots": "",
            }
        )
    return rows


def rows_to_csv(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, header: Sequence[str] = ()
) -> str:
    """CSV text; ``header`` lines (the ledger position) go first as ``# `` comments."""
    buffer = io.StringIO()
    for line in header:
        buffer.write(f"# {line}\n")
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    return buffer.getvalue()


def position_lines(point: service.LedgerPoint | None) -> list[str]:
    if point is None:
        return ["computed from the recycling model's expected lots (no ledger)"]
    lines = [f"ledger position {point.position}, Merkle root {point.root_hex}"]
    if point.signed_size is not None:
        lines.append(f"latest signed tree head: size {point.signed_size}, signed at {point.signed_at}")
    else:
        lines.append("no signed tree head at or before this position")
    return lines


def recycler_csv(report: service.RecyclerReport) -> str:
    header = [
        f"recycler {report.recycler}, jurisdiction {report.jurisdiction}",
        *position_lines(report.point),
    ]
    return rows_to_csv(recycler_rows(report), RECYCLER_COLUMNS, header=header)


def recycler_xlsx(report: service.RecyclerReport) -> bytes:
    """A workbook: the figures, the lots (one row per output lot) and the ledger position."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "figures"
    sheet.append(list(RECYCLER_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in recycler_rows(report):
        sheet.append([row[c] for c in RECYCLER_COLUMNS])
    lots = book.create_sheet("lots")
    lot_columns = [
        "input_lot",
        "chemistry_group",
        "received_on",
        "input_kg",
        "batteries",
        "output_lot",
        "fraction",
        "output_kg",
        "counted_as_recycled",
        "buyer",
    ]
    lots.append(lot_columns)
    for lot in report.lots:
        for o in lot.outputs or (None,):
            lots.append(
                [
                    lot.lot_id,
                    lot.chemistry_group,
                    lot.received_on.isoformat(),
                    lot.mass_kg,
                    " ".join(lot.batteries),
                    o and o.lot_id,
                    o and o.fraction,
                    o and o.mass_kg,
                    o and o.counted_as_recycled,
                    o and o.buyer,
                ]
            )
    meta = book.create_sheet("ledger")
    meta.append(["recycler", report.recycler])
    meta.append(["jurisdiction", report.jurisdiction])
    for line in position_lines(report.point):
        meta.append([line])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -------------------------------------------------------------------------------------------------- charts

_STATUS_COLOUR = {
    "meets": "#2e7d32",
    "below": "#c62828",
    "above": "#c62828",
    "no_target": "#546e7a",
    "not_assessable": "#9e9e9e",
    "not_yet_applicable": "#546e7a",
}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    target: float | None
    status: str
    href: str
    kind: str = "min"


def bars_svg(bars: Sequence[Bar], *, title: str, scale_max: float = 100.0) -> str:
    """A horizontal bar chart (0..``scale_max`` %) as inline SVG: one bar per figure, the target as a tick,
    each bar a link to the lots behind it. Plain SVG, no script; readable printed in black and white (values
    are written out)."""
    width, label_w, row_h, top = 640, 210, 28, 30
    plot_w = width - label_w - 70
    height = top + row_h * max(len(bars), 1) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" class="chart" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, bar in enumerate(bars):
        y = top + i * row_h
        value = 0.0 if bar.value is None else max(0.0, min(bar.value, scale_max))
        w = plot_w * value / scale_max
        colour = _STATUS_COLOUR.get(bar.status, "#546e7a")
        shown = "n/a" if bar.value is None else f"{bar.value:.1f} %"
        parts.append(f'<a href="{escape(bar.href)}"><g class="bar {escape(bar.status)}">')
        parts.append(f'<text x="0" y="{y + 17}" font-size="12">{escape(bar.label)}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" fill="{colour}"/>'
        )
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 17}" font-size="12">{shown}</text>')
        parts.append("</g></a>")
        if bar.target is not None:
            x = label_w + plot_w * min(bar.target, scale_max) / scale_max
            sign = "≤" if bar.kind == "max" else "≥"
            parts.append(
                f'<line x1="{x:.1f}" y1="{y + 1}" x2="{x:.1f}" y2="{y + row_h - 3}" stroke="#000" stroke-width="2">'
                f"<title>target {sign} {bar.target:g} %</title></line>"
            )
    axis_y = top + row_h * max(len(bars), 1) + 4
    parts.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + plot_w}" y2="{axis_y}" stroke="#777"/>')
    for tick in (0, 25, 50, 75, 100):
        x = label_w + plot_w * tick * scale_max / 100 / scale_max
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle">{tick * scale_max / 100:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_SHORT_CONDITIONS = {
    "nickel_cobalt_manganese_recovery_min": "Ni+Co+Mn recovery",
    "lithium_recovery_min": "Li recovery",
    "electrode_powder_recovery_min": "powder recovery",
    "aluminium_impurity_max": "Al in powder",
    "copper_impurity_max": "Cu in powder",
}

CHART_TITLES = {
    "efficiency": "Recycling efficiency (%)",
    "recovery": "Material recovery (%)",
    "white_list": "White-list conditions (%)",
}


def recycler_charts(
    report: service.RecyclerReport, *, lots_href: str = "#lot-", titles: Mapping[str, str] = CHART_TITLES
) -> list[str]:
    """The report's charts (efficiency, recovery, white list), each bar linking to its first lot's row;
    ``titles`` in the page's language."""

    def href(lots: Sequence[str]) -> str:
        return f"{lots_href}{lots[0]}" if lots else "#lots"

    charts = []
    if report.efficiency:
        charts.append(
            bars_svg(
                [
                    Bar(
                        f"{e.chemistry_group} {e.year}",
                        e.efficiency_pct,
                        None if e.target is None else e.target.value,
                        e.status,
                        href(e.lots),
                    )
                    for e in report.efficiency
                ],
                title=titles["efficiency"],
            )
        )
    if report.recovery:
        charts.append(
            bars_svg(
                [
                    Bar(
                        f"{r.element} {r.year}",
                        r.recovery_pct,
                        None if r.target is None else r.target.value,
                        r.status,
                        href(r.lots or r.not_assessable),
                    )
                    for r in report.recovery
                ],
                title=titles["recovery"],
            )
        )
    if report.white_list:
        charts.append(
            bars_svg(
                [
                    Bar(
                        f"{w.edition} {_SHORT_CONDITIONS.get(w.condition, w.condition)}",
                        w.value_pct,
                        w.limit.value,
                        w.status,
                        href(w.lots),
                        w.kind,
                    )
                    for w in report.white_list
                ],
                title=titles["white_list"],
            )
        )
    return charts


def recycled_content_to_dict(view: service.RecycledContentReport) -> dict[str, Any]:
    return {
        "jurisdiction": view.jurisdiction,
        "producer": view.producer,
        "ledger": point_to_dict(view.point),
        "composition_set": view.composition_set,
        "rows": [
            {
                "producer": r.producer,
                "model": r.model,
                "year": r.year,
                "element": r.element,
                "batteries": r.batteries,
                "content_kg": _r(r.content_kg),
                "recycled_kg": _r(r.recycled_kg),
                "share_pct": _r(r.share_pct),
                "minimum_2031": _target(r.minimum_2031),
                "minimum_2036": _target(r.minimum_2036),
                "applicable": _target(r.applicable),
                "status": r.status,
                "lots": list(r.lots),
                "battery_ids": list(r.battery_ids),
            }
            for r in view.rows
        ],
    }


def traceability_to_dict(
    point: service.LedgerPoint, findings: Sequence[recyclers.TraceabilityFinding]
) -> dict[str, Any]:
    return {"ledger": point_to_dict(point), "findings": [finding_to_dict(f) for f in findings]}


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
        "ledger": point_to_dict(report.point),
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
        ("signed checkpoint tree size", p.signed_size),
        ("signed checkpoint root", p.signed_root),
        ("signed at", p.signed_at),
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
