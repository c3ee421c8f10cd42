"""HTML pages of the analytics capability (no JavaScript). Each handler parses the form, makes one service
call and renders through :mod:`batteryloop.analytics.report` and the templates.

  GET /analytics/triage                   the form (an example CSV filled in) and, with ``csv``, the decisions
                                          with a grade-distribution chart
  POST /analytics/triage/upload           the same for a CSV file uploaded (or pasted) in a form: large inputs
  GET /analytics/triage/export.{fmt}      the decisions as csv or xlsx
  POST /analytics/triage/export.{fmt}     the same for a posted CSV (the upload's download buttons)
  GET /analytics/network                  the network form with the example instance and its plan: a map-like
                                          view of points, spokes, hubs and flows, utilisation, cost per tonne
  POST /analytics/network/plan            the plan of a network posted in the form (TOML or JSON, or a file)
  GET|POST /analytics/network/export.{fmt}  the plan's flows (csv) or workbook (xlsx); GET: the example
  GET /analytics/forecast                 retirements per region with bands (chart and table)
  GET /analytics/forecast/export.{fmt}    the forecast as csv or xlsx

A domain error shows the form again with the message (422); the downloads answer problem+json. The posted
forms compute and store nothing, so they carry no CSRF token (nothing a cross-site post could change).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from batteryloop.analytics import report, service
from batteryloop.domain.errors import BatteryloopError, NotFoundError, ValidationError
from batteryloop.web import N_
from batteryloop.web import templates as make_templates

router = APIRouter(tags=["analytics pages"])
_templates = make_templates(Path(__file__).parent / "templates")
EXAMPLE_CSV = (Path(__file__).parent / "examples" / "triage_example.csv").read_text(encoding="utf-8")
EXAMPLE_NETWORK = (Path(__file__).parent / "examples" / "network_example.toml").read_text(encoding="utf-8")
PAGE_TIME_LIMIT_S = 30.0  # a page waits at most this long for the solver (the API and CLI take a limit)
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


async def _posted_text(file: UploadFile | None, text: str | None, *, name: str) -> str | None:
    """The uploaded file's text if one was chosen, else the pasted text (None when both are empty)."""
    if file is not None and file.filename:
        raw = await file.read()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(f"{name}: the file is not UTF-8 text") from None
    return text if text and text.strip() else None


def _triage_result(request: Request, text: str, *, uploaded: bool) -> HTMLResponse:
    context: dict[str, Any] = {"csv": text, "error": None, "summary": None, "uploaded": uploaded}
    try:
        outcome = service.triage_csv(text)
    except BatteryloopError as exc:
        shown = text if len(text) <= 200_000 else EXAMPLE_CSV
        return _page(
            request, "analytics_triage.html", {**context, "csv": shown, "error": str(exc)}, status_code=422
        )
    rows = report.triage_rows(outcome)
    return _page(
        request,
        "analytics_triage.html",
        {
            **context,
            "csv": text if not uploaded else "",
            "posted_csv": text if uploaded else None,
            "summary": report.triage_summary(outcome),
            "chart": report.grade_chart(outcome),
            "rows": rows[:MAX_PAGE_ROWS],
            "more_rows": max(0, len(rows) - MAX_PAGE_ROWS),
            "unverified": outcome.unverified,
        },
    )


@router.post("/analytics/triage/upload", response_class=HTMLResponse)
async def triage_upload(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    csv: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """A triage CSV too large for a link: uploaded as a file (or pasted) and posted."""
    try:
        text = await _posted_text(file, csv, name="file")
    except BatteryloopError as exc:
        context = {"csv": EXAMPLE_CSV, "error": str(exc), "summary": None}
        return _page(request, "analytics_triage.html", context, status_code=422)
    if text is None:
        context = {
            "csv": EXAMPLE_CSV,
            "notice": N_("Choose a CSV file or paste the test results."),
            "summary": None,
        }
        return _page(request, "analytics_triage.html", context, status_code=422)
    return _triage_result(request, text, uploaded=True)


def _triage_download(fmt: str, text: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise NotFoundError(f"unknown export format {fmt!r}: use csv or xlsx")
    outcome = service.triage_csv(text)
    if fmt == "csv":
        return Response(report.triage_to_csv(outcome), media_type="text/csv; charset=utf-8")
    headers = {"Content-Disposition": 'attachment; filename="triage.xlsx"'}
    return Response(report.triage_to_xlsx(outcome), media_type=report.XLSX_MEDIA, headers=headers)


@router.get("/analytics/triage/export.{fmt}")
def triage_export(fmt: str, csv: Annotated[str, Query(min_length=1, max_length=2_000_000)]) -> Response:
    return _triage_download(fmt, csv)


@router.post("/analytics/triage/export.{fmt}")
def triage_export_posted(fmt: str, csv: Annotated[str, Form(min_length=1)]) -> Response:
    return _triage_download(fmt, csv)


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


# ---------------------------------------------------------------------------------- collection network


def _network_page(request: Request, text: str, *, status_code: int = 200) -> HTMLResponse:
    context: dict[str, Any] = {"network": text, "error": None, "data": None}
    try:
        outcome = service.design_network(service.parse_network_text(text), time_limit_s=PAGE_TIME_LIMIT_S)
    except BatteryloopError as exc:
        return _page(request, "analytics_network.html", {**context, "error": str(exc)}, status_code=422)
    return _page(
        request,
        "analytics_network.html",
        {
            **context,
            "data": report.network_to_dict(outcome),
            "sites": report.network_site_rows(outcome),
            "map": report.network_map(outcome),
            "last_year": outcome.solution.problem.years[-1],
            "unverified": outcome.unverified,
        },
        status_code=status_code,
    )


@router.get("/analytics/network", response_class=HTMLResponse)
def network_page(request: Request) -> HTMLResponse:
    """The form with the example instance (five German cities) and its plan."""
    return _network_page(request, EXAMPLE_NETWORK)


@router.post("/analytics/network/plan", response_class=HTMLResponse)
async def network_plan_page(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    network: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    try:
        text = await _posted_text(file, network, name="file")
    except BatteryloopError as exc:
        context = {"network": EXAMPLE_NETWORK, "error": str(exc), "data": None}
        return _page(request, "analytics_network.html", context, status_code=422)
    if text is None:
        context = {"network": EXAMPLE_NETWORK, "notice": N_("Give a network (TOML or JSON)."), "data": None}
        return _page(request, "analytics_network.html", context, status_code=422)
    return _network_page(request, text)


def _network_download(fmt: str, text: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise NotFoundError(f"unknown export format {fmt!r}: use csv or xlsx")
    outcome = service.design_network(service.parse_network_text(text), time_limit_s=PAGE_TIME_LIMIT_S)
    if fmt == "csv":
        return Response(report.network_to_csv(outcome), media_type="text/csv; charset=utf-8")
    headers = {"Content-Disposition": 'attachment; filename="network.xlsx"'}
    return Response(report.network_to_xlsx(outcome), media_type=report.XLSX_MEDIA, headers=headers)


@router.get("/analytics/network/export.{fmt}")
def network_export_example(fmt: str) -> Response:
    return _network_download(fmt, EXAMPLE_NETWORK)


@router.post("/analytics/network/export.{fmt}")
def network_export(fmt: str, network: Annotated[str, Form(min_length=1)]) -> Response:
    return _network_download(fmt, network)
