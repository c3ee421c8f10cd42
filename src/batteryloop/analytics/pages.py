"""HTML pages of the analytics capability (no JavaScript). Each handler parses the form, makes one service
call and renders through :mod:`batteryloop.analytics.report` and the templates.

  GET /analytics/triage                   the form (an example CSV filled in) and, with ``csv``, the decisions
                                          with a grade-distribution chart
  GET /analytics/triage/export.{fmt}      the decisions as csv or xlsx

A domain error shows the form again with the message (422); the downloads answer problem+json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from batteryloop.analytics import report, service
from batteryloop.domain.errors import BatteryloopError, NotFoundError
from batteryloop.web import N_, templates as make_templates, translator

router = APIRouter(tags=["analytics pages"])
_templates = make_templates(Path(__file__).parent / "templates")
EXAMPLE_CSV = (Path(__file__).parent / "examples" / "triage_example.csv").read_text(encoding="utf-8")
ROUTE_LABELS = (N_("reuse"), N_("remanufacture"), N_("repurpose"), N_("recycle"))
MAX_PAGE_ROWS = 500


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return _templates.TemplateResponse(request, name, {"org": None, **context}, status_code=status_code)


@router.get("/analytics/triage", response_class=HTMLResponse)
def triage_page(request: Request, csv: Annotated[str | None, Query(max_length=2_000_000)] = None) -> HTMLResponse:
    text = csv if csv and csv.strip() else None
    context: dict[str, Any] = {"csv": text or EXAMPLE_CSV, "error": None, "summary": None}
    if text is None:
        return _page(request, "analytics_triage.html", context)
    try:
        outcome = service.triage_csv(text)
    except BatteryloopError as exc:
        return _page(request, "analytics_triage.html", {**context, "error": str(exc)}, status_code=422)
    gettext = translator(request).gettext
    chart = report.grade_chart(
        outcome,
        labels=[gettext(label) for label in ROUTE_LABELS],
        ylabel=gettext("batteries"),
        legend=gettext("family"),
    )
    rows = report.triage_rows(outcome)
    return _page(
        request,
        "analytics_triage.html",
        {
            **context,
            "summary": report.triage_summary(outcome),
            "chart": chart,
            "rows": rows[:MAX_PAGE_ROWS],
            "more_rows": max(0, len(rows) - MAX_PAGE_ROWS),
            "unverified": outcome.unverified,
        },
    )


@router.get("/analytics/triage/export.{fmt}")
def triage_export(fmt: str, csv: Annotated[str, Query(min_length=1, max_length=2_000_000)]) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise NotFoundError(f"unknown export format {fmt!r}: use csv or xlsx")
    outcome = service.triage_csv(csv)
    if fmt == "csv":
        return Response(report.triage_to_csv(outcome), media_type="text/csv; charset=utf-8")
    headers = {"Content-Disposition": 'attachment; filename="triage.xlsx"'}
    return Response(report.triage_to_xlsx(outcome), media_type=report.XLSX_MEDIA, headers=headers)
