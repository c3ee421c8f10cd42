"""Renderings of analytics results shared by the CLI, HTTP and pages: dicts (JSON), CSV, XLSX and SVG charts.

The HTTP response and the CLI's ``--json`` are both :func:`triage_to_dict` (and friends), so they agree.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from batteryloop.analytics.core.triage import GRADES, ROUTES, Check
from batteryloop.analytics.service import TriageOutcome
from batteryloop.domain.errors import ValidationError

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ROUTE_COLOURS = {"reuse": "#2e7d32", "remanufacture": "#1565c0", "repurpose": "#f9a825", "recycle": "#c62828"}


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def _check_dict(check: Check) -> dict[str, Any]:
    return {
        "route": check.route,
        "name": check.name,
        "value": check.value,
        "op": check.op,
        "limit": check.limit,
        "unit": check.unit,
        "passed": check.passed,
    }


# ----------------------------------------------------------------------------------------------- triage

TRIAGE_COLUMNS: tuple[str, ...] = (
    "id",
    "chemistry",
    "family",
    "level",
    "grade",
    "route",
    "soh_pct",
    "dcir_increase_pct",
    "reason",
)


def triage_rows(outcome: TriageOutcome) -> list[tuple[Any, ...]]:
    """One row per battery, in input order (:data:`TRIAGE_COLUMNS`)."""
    r = outcome.result
    b = r.batch
    grades, routes = r.grades(), r.routes()
    return [
        (
            str(b.ids[i]),
            str(b.chemistry[i]),
            str(r.family[i]),
            str(b.level[i]),
            str(grades[i]),
            str(routes[i]),
            round(float(b.values["soh_pct"][i]), 6),
            round(float(r.dcir_increase_pct[i]), 6),
            r.reason(i),
        )
        for i in range(len(r))
    ]


def triage_summary(outcome: TriageOutcome) -> dict[str, Any]:
    r = outcome.result
    counts = r.counts()
    return {
        "batteries": len(r),
        "routes": counts,
        "grades": {g: counts[route] for g, route in zip(GRADES, ROUTES, strict=True)},
        "by_family": r.counts_by(r.family),
        "by_level": r.counts_by(r.batch.level),
        "unverified": list(outcome.unverified),
    }


def triage_to_dict(outcome: TriageOutcome, *, checks: bool = True) -> dict[str, Any]:
    """Summary and one item per battery with its reason and (``checks``) every threshold applied."""
    items = []
    for i, row in enumerate(triage_rows(outcome)):
        item = dict(zip(TRIAGE_COLUMNS, row, strict=True))
        if checks:
            item["checks"] = [_check_dict(c) for c in outcome.result.explain(i)]
        items.append(item)
    return {**triage_summary(outcome), "items": items}


def triage_to_csv(outcome: TriageOutcome) -> str:
    return _csv(TRIAGE_COLUMNS, triage_rows(outcome))


def triage_checks_rows(outcome: TriageOutcome) -> list[tuple[Any, ...]]:
    r = outcome.result
    return [
        (str(r.batch.ids[i]), c.route, c.name, c.value, c.op, c.limit, c.unit, c.passed)
        for i in range(len(r))
        for c in r.explain(i)
    ]


def triage_to_xlsx(outcome: TriageOutcome) -> bytes:
    """A workbook: Decisions, Checks (every threshold of every battery), Summary, Unverified."""
    summary = triage_summary(outcome)
    sheets: list[tuple[str, Sequence[str], Iterable[Sequence[Any]]]] = [
        ("Decisions", TRIAGE_COLUMNS, triage_rows(outcome)),
        (
            "Checks",
            ("id", "route", "check", "value", "op", "limit", "unit", "passed"),
            triage_checks_rows(outcome),
        ),
        (
            "Summary",
            ("route", "grade", "batteries"),
            [(route, g, summary["routes"][route]) for g, route in zip(GRADES, ROUTES, strict=True)],
        ),
        ("Unverified", ("set:path",), [(p,) for p in outcome.unverified]),
    ]
    return workbook(sheets)


def workbook(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """An XLSX workbook of named sheets, each a bold header row and its rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for title, header, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([_xlsx_cell(v) for v in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


# ----------------------------------------------------------------------------------------------- charts


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _svg(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue().decode("utf-8")
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", text, flags=re.DOTALL)


def grade_chart(
    outcome: TriageOutcome, *, labels: Sequence[str] = ROUTES, ylabel: str = "batteries", legend: str = "family"
) -> str:
    """Inline SVG: batteries per grade, stacked by chemistry family (``labels``: the route names shown)."""
    if len(labels) != len(ROUTES):
        raise ValidationError(f"grade_chart needs {len(ROUTES)} labels")
    by_family = outcome.result.counts_by(outcome.result.family)
    fig = _figure(6.5, 3.6)
    ax = fig.add_subplot()
    x = list(range(len(ROUTES)))
    bottom = [0] * len(ROUTES)
    hatches = ["", "//", "..", "xx", "\\\\"]
    for k, (family, counts) in enumerate(by_family.items()):
        heights = [counts[route] for route in ROUTES]
        ax.bar(
            x,
            heights,
            bottom=bottom,
            color=[_ROUTE_COLOURS[r] for r in ROUTES],
            edgecolor="white",
            hatch=hatches[k % len(hatches)],
            label=family,
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_xticks(x, [f"{g}\n{label}" for g, label in zip(GRADES, labels, strict=True)])
    ax.set_ylabel(ylabel)
    ax.legend(title=legend, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)
