"""HTML pages of the analytics capability (no JavaScript). Each handler parses the form, makes one service
call and renders through :mod:`batteryloop.analytics.report` and the templates.

  GET /analytics/triage                   the form (an example CSV filled in) and, with ``csv``, the decisions
                                          with a grade-distribution chart
  GET /analytics/triage/export.{fmt}      the decisions as csv or xlsx
  GET /analytics/forecast                 retirements per region with bands (chart and table)
  GET /analytics/forecast/export.{fmt}    the forecast as csv or xlsx

A domain error shows the form again with the message (422); the downloads answer problem+json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from batteryloop.analytics import report, service
from batteryloop.domain.errors import BatteryloopError, NotFoundError
from batteryloop.web import N_
from batteryloop.web import templates as make_templates

router = APIRouter(tags=["analytics pages"])
_templates = make_templates(Path(__file__).parent / "templates")
EXAMPLE_CSV = (Path(__file__).parent / "examples" / "triage_example.csv").read_text(encoding="utf-8")
ROUTE_LABELS = (N_("reuse"), N_("remanufacture"), N_("repurpose"), N_("recycle"))  # shown by the template
MAX_PAGE_ROWS = 500


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return _templates.TemplateResponse(request, name, {"org": None, **context}, status_code=status_code)


@router.get("/analytics/triage", response_class=HTMLResponse)
def triage_page(
    request: Request, csv: Annotated[str | None, Query(max_length=2_000_000)] = None
) -> HTMLResponse:
    text = csv if csv and csv.strip() else None
    context: dict[str, Any] = {"csv": text or EXAMPLE_CSV, "error": None, "summary": None}
    if text is None:
        return _page(request, "analytics_triage.html", context)
    try:
        outcome = service.triage_csv(text)
    except BatteryloopError as exc:
        return _page(request, "analytics_triage.html", {**context, "error": str(exc)}, status_code=422)
    chart = report.grade_chart(outcome)  # grade letters and chemistry codes only: the same in every language
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


METRIC_LABELS = {"units": N_("packs per year"), "gwh": N_("GWh per year"), "tonnes": N_("tonnes per year")}


@router.get("/analytics/forecast", response_class=HTMLResponse)
def forecast_page(
    request: Request,
    first_year: Annotated[int, Query(ge=2000, le=2100)] = 2020,
    last_year: Annotated[int, Query(ge=2000, le=2100)] = 2040,
    metric: Annotated[str, Query(pattern="^(units|gwh|tonnes)$")] = "gwh",
    scrap: bool = True,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "first_year": first_year,
        "last_year": last_year,
        "metric": metric,
        "metrics": METRIC_LABELS,
        "scrap": scrap,
        "error": None,
        "data": None,
    }
    try:
        outcome = service.forecast(
            None, source="defaults", first_year=first_year, last_year=last_year, scrap=scrap
        )
    except BatteryloopError as exc:
        return _page(request, "analytics_forecast.html", {**context, "error": str(exc)}, status_code=422)
    chart = report.forecast_chart(outcome, metric=metric)  # region codes and units: no words to translate
    return _page(
        request,
        "analytics_forecast.html",
        {
            **context,
            "data": report.forecast_to_dict(outcome, rows=False),
            "chart": chart,
            "unverified": outcome.unverified,
        },
    )


@router.get("/analytics/forecast/export.{fmt}")
def forecast_export(
    fmt: str,
    first_year: Annotated[int, Query(ge=2000, le=2100)] = 2020,
    last_year: Annotated[int, Query(ge=2000, le=2100)] = 2040,
    scrap: bool = True,
) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise NotFoundError(f"unknown export format {fmt!r}: use csv or xlsx")
    outcome = service.forecast(
        None, source="defaults", first_year=first_year, last_year=last_year, scrap=scrap
    )
    if fmt == "csv":
        return Response(report.forecast_to_csv(outcome), media_type="text/csv; charset=utf-8")
    headers = {"Content-Disposition": 'attachment; filename="retirements.xlsx"'}
    return Response(report.forecast_to_xlsx(outcome), media_type=report.XLSX_MEDIA, headers=headers)
