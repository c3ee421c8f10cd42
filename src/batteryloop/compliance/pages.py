"""HTML pages of the compliance capability (no JavaScript). Each handler parses the request, makes one service
call and renders through :mod:`batteryloop.compliance.report` and the templates in ``templates/``.

Recyclers' pages live under ``/ui/compliance/recycler...``; producers' and regulators' under
``/ui/compliance/producer...`` and ``/ui/compliance/regulator...``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from batteryloop.compliance import report, service
from batteryloop.compliance.core import rules
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.ledger.deps import LedgerDep
from batteryloop.orgs.deps import OptionalOrgDep, current_org_optional
from batteryloop.web import templates as make_templates
from batteryloop.web.i18n import N_
from batteryloop.web.problems import AuthError

router = APIRouter(tags=["compliance pages"])
_templates = make_templates(Path(__file__).parent / "templates")


# --- recyclers -------------------------------------------------------------------------------------------


from fastapi import Query  # noqa: E402

from batteryloop.compliance import report as _report  # noqa: E402
from batteryloop.compliance import service as _service  # noqa: E402
from batteryloop.domain.errors import BatteryloopError  # noqa: E402
from batteryloop.web import translator  # noqa: E402


def _recycler_page(
    request: Request,
    recycler: str,
    ledger: Any,
    org: Any,
    *,
    jurisdiction: str,
    year: int | None,
    at_position: int | None,
    printable: bool,
) -> Response:
    if org is None:
        return RedirectResponse("/login", status_code=303)
    try:
        result = _service.recycler_report(
            ledger,
            recycler=recycler,
            jurisdiction=jurisdiction,
            year=year,
            caller=org,
            at_position=at_position,
        )
    except NotFoundError as exc:
        return _error(request, org, 404, N_("Not found"), str(exc))
    except PermissionError as exc:
        return _error(request, org, 403, N_("Not yours to see"), str(exc))
    except BatteryloopError as exc:
        return _error(request, org, 422, N_("The report cannot be computed"), str(exc))
    params = {"jurisdiction": jurisdiction, **({"year": year} if year else {})}
    params |= {
        "at_position": at_position
        if at_position is not None
        else (result.point.position if result.point else 0)
    }
    query = urlencode(params)
    return _templates.TemplateResponse(
        request,
        "recyclers_report.html",
        {
            "org": org,
            "report": _report.recycler_report_to_dict(result),
            "charts": _report.recycler_charts(result, titles=_chart_titles(request)),
            "query": query,
            "printable": printable,
        },
    )


def _chart_titles(request: Request) -> dict[str, str]:
    gettext = translator(request).gettext
    return {
        "efficiency": gettext("Recycling efficiency"),
        "recovery": gettext("Material recovery"),
        "white_list": gettext("White-list conditions"),
    }


def _error(request: Request, org: Any, status: int, title: str, detail: str) -> HTMLResponse:
    return _templates.TemplateResponse(
        request, "error.html", {"org": org, "title": title, "detail": detail}, status_code=status
    )


@router.get("/ui/compliance/recycler/{recycler}", response_class=HTMLResponse, response_model=None)
def recycler_page(
    request: Request,
    recycler: str,
    ledger: LedgerDep,
    org: OptionalOrgDep,
    jurisdiction: str = Query(default="eu"),
    year: int | None = Query(default=None, ge=1990, le=2100),
    at_position: int | None = Query(default=None, ge=0),
) -> Response:
    """A recycler's report: charts (each bar links to its lots), tables, lots, traceability, downloads."""
    return _recycler_page(
        request,
        recycler,
        ledger,
        org,
        jurisdiction=jurisdiction,
        year=year,
        at_position=at_position,
        printable=False,
    )


@router.get("/ui/compliance/recycler/{recycler}/print", response_class=HTMLResponse, response_model=None)
def recycler_print_page(
    request: Request,
    recycler: str,
    ledger: LedgerDep,
    org: OptionalOrgDep,
    jurisdiction: str = Query(default="eu"),
    year: int | None = Query(default=None, ge=1990, le=2100),
    at_position: int | None = Query(default=None, ge=0),
) -> Response:
    """The same report laid out for paper (print CSS, no navigation)."""
    return _recycler_page(
        request,
        recycler,
        ledger,
        org,
        jurisdiction=jurisdiction,
        year=year,
        at_position=at_position,
        printable=True,
    )


# --- producers and regulators ----------------------------------------------------------------------------
# GET /ui/compliance/producer    a producer's obligations (its own; a PRO's producers; an authority any);
#                                ``print=1`` is the printable report per producer
# GET /ui/compliance/regulator   a regulator's jurisdiction: every producer, leakage, performance, traceability
# GET /ui/compliance/batteries   the batteries behind one figure (each chart bar and table figure links here)


def _epr_render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    try:
        org = current_org_optional(request)
    except AuthError:
        org = None
    return _templates.TemplateResponse(request, name, {"org": org, **context}, status_code=status_code)


def _epr_error(request: Request, exc: Exception) -> HTMLResponse:
    status = 403 if isinstance(exc, PermissionError) else 404 if isinstance(exc, NotFoundError) else 422
    return _epr_render(
        request, "error.html", status_code=status, title=N_("Cannot show this report"), detail=str(exc)
    )


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"as_of {text!r} is not a date YYYY-MM-DD") from None


def _figure_url(jurisdiction: str, figure: str, as_of: str, **keys: Any) -> str:
    query = {"jurisdiction": jurisdiction, "figure": figure, **({"as_of": as_of} if as_of else {})}
    query.update({k: v for k, v in keys.items() if v is not None})
    return "/ui/compliance/batteries?" + urlencode(query)


def _epr_page(
    request: Request,
    ledger: Any,
    org: Organisation | None,
    *,
    mode: str,
    jurisdiction: str,
    year: int | None,
    as_of: str,
    producer: str,
    printable: bool,
) -> Response:
    if org is None:
        return RedirectResponse(f"/login?{urlencode({'next': str(request.url)})}", status_code=303)
    try:
        chosen = producer.strip() or None
        if (
            mode == "producer"
            and chosen is None
            and Role.AUTHORITY not in org.roles
            and Role.PRO not in org.roles
        ):
            chosen = org.org_id
        result = service.epr_report(
            ledger, jurisdiction=jurisdiction, year=year, as_of=_day(as_of), caller=org, producer=chosen
        )
    except (PermissionError, NotFoundError, ValidationError) as exc:
        return _epr_error(request, exc)
    doc = report.epr_report_to_dict(result)
    day = doc["as_of"]

    def link(figure: str, **keys: Any) -> str:
        return _figure_url(jurisdiction, figure, day, **keys)

    charts = {
        "collection": report.svg_bars(
            [
                (
                    f"{r['producer']} {r['country']} {r['category']}",
                    r["rate"] or 0.0,
                    link(
                        "collected",
                        producer=r["producer"],
                        country=r["country"],
                        category=r["category"],
                        year=r["year"],
                    ),
                )
                for r in doc["collection"]
                if r["rate"] is not None
            ][:30],
            unit="",
        ),
        "leakage": report.svg_bars(
            [
                (
                    f"{r['country']} {r['producer']} {r['year']}",
                    r["compliant_share"] or 0.0,
                    link("compliant", producer=r["producer"], country=r["country"], year=r["year"]),
                )
                for r in doc["leakage"]
            ][:30]
        ),
        "performance": report.svg_bars(
            [
                (f"{r['enterprise']} {r['year']}", r["avoided_t_co2e"], link("processed", year=r["year"]))
                for r in doc["performance"]
            ][:30],
            unit=" t",
        ),
    }
    query = {"jurisdiction": jurisdiction, "year": doc["year"], "as_of": day}
    if chosen:
        query["producer"] = chosen
    return _epr_render(
        request,
        "epr_report.html",
        mode=mode,
        doc=doc,
        charts=charts,
        link=link,
        printable=printable,
        jurisdictions=rules.jurisdictions(),
        producer=chosen or "",
        print_url=f"/ui/compliance/{mode}?" + urlencode({**query, "print": 1}),
        csv_url=f"/compliance/epr/{jurisdiction}?"
        + urlencode({**query, "format": "csv", "section": "collection"}),
        xlsx_url=f"/compliance/epr/{jurisdiction}?" + urlencode({**query, "format": "xlsx"}),
    )


@router.get("/ui/compliance/producer", response_class=HTMLResponse, response_model=None)
def producer_page(
    request: Request,
    ledger: LedgerDep,
    org: OptionalOrgDep,
    jurisdiction: str = "eu",
    year: int | None = None,
    as_of: str = "",
    producer: str = "",
    print: int = 0,
) -> Response:
    return _epr_page(
        request,
        ledger,
        org,
        mode="producer",
        jurisdiction=jurisdiction,
        year=year,
        as_of=as_of,
        producer=producer,
        printable=bool(print),
    )


@router.get("/ui/compliance/regulator", response_class=HTMLResponse, response_model=None)
def regulator_page(
    request: Request,
    ledger: LedgerDep,
    org: OptionalOrgDep,
    jurisdiction: str = "eu",
    year: int | None = None,
    as_of: str = "",
    print: int = 0,
) -> Response:
    return _epr_page(
        request,
        ledger,
        org,
        mode="regulator",
        jurisdiction=jurisdiction,
        year=year,
        as_of=as_of,
        producer="",
        printable=bool(print),
    )


@router.get("/ui/compliance/batteries", response_class=HTMLResponse, response_model=None)
def figure_page(
    request: Request,
    ledger: LedgerDep,
    org: OptionalOrgDep,
    figure: str,
    jurisdiction: str = "eu",
    producer: str = "",
    country: str = "",
    category: str = "",
    year: int | None = None,
    as_of: str = "",
) -> Response:
    if org is None:
        return RedirectResponse(f"/login?{urlencode({'next': str(request.url)})}", status_code=303)
    try:
        rows = service.figure_batteries(
            ledger,
            jurisdiction=jurisdiction,
            figure=figure,
            caller=org,
            producer=producer or None,
            country=country or None,
            category=category or None,
            year=year,
            as_of=_day(as_of),
        )
    except (PermissionError, NotFoundError, ValidationError) as exc:
        return _epr_error(request, exc)
    return _epr_render(
        request,
        "epr_batteries.html",
        figure=figure,
        jurisdiction=jurisdiction,
        rows=[
            {**r, "url": f"/ui/batteries/{quote(str(r['battery_id']), safe=':')}"}
            for r in report.figure_rows_to_list(rows)
        ],
    )
